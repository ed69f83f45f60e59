/* cmd_debug.c - `cdbt debug`: what dbt debug reports (§12.1).
 *
 * Versions and the OS, where profiles.yml and dbt_project.yml were found,
 * whether both load (the project's files are read as a run would, nothing
 * is rendered), the connection parameters of the target (never the
 * password) and a `select 1 as id` on it.  Exit 0 when every check passed,
 * 1 otherwise (dbt's code for failed checks).  `--config-dir` only prints
 * the directory profiles.yml is looked up in. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "cli.h"
#include "console.h"
#include "../base/fs.h"
#include "../exec/pg.h"
#include "../exec/pgserver.h"

/* The directory profiles.yml is looked up in (§1.1), before loading, made
 * absolute when it exists. */
static char *profiles_dir(const Flags *f)
{
    Arena a;
    arena_init(&a, 0);
    const char *d = project_profiles_dir(f->profiles_dir, &a);
    char buf[PATH_MAX];
    char *r = strdup(realpath(d, buf) ? buf : d);
    arena_free(&a);
    return r;
}

static const char *str_of(VDict *d, const char *key, char *buf, size_t cap)
{
    Value *v = d ? dict_getz(d, key) : NULL;
    if (!v || v->type == V_NONE || v->type == V_UNDEF)
        return "None";
    if (v->type == V_STR)
        return v->u.s->s;
    if (v->type == V_INT) {
        snprintf(buf, cap, "%lld", (long long)v->u.i);
        return buf;
    }
    if (v->type == V_BOOL)
        return v->u.b ? "True" : "False";
    return "...";
}

int cmd_debug(Flags *f)
{
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    char *pdir = profiles_dir(f);
    if (f->config_dir) {
        console_line(f, "To view your profiles.yml file, run:");
        console_line(f, "%s", "");
        console_line(f, "xdg-open %s", pdir);
        free(pdir);
        return EXIT_OK;
    }
    console_line(f, "cdbt version: %s", CDBT_VERSION);
    struct utsname u;
    if (uname(&u) == 0)
        console_line(f, "os info: %s-%s-%s", u.sysname, u.release, u.machine);
    console_line(f, "Using profiles dir at %s", pdir);
    console_line(f, "Using profiles.yml file at %s/profiles.yml", pdir);

    Session s;
    Diag err = {0};
    int failed = 0;
    Sb why = SB_INIT;
    bool loaded = session_load_project(&s, f, true, &err) == 0;
    char *root = NULL, *target = NULL;
    ProjectOptions lo = {0};
    lo.project_dir = f->project_dir;
    lo.target_path = f->target_path;
    if (loaded)
        console_line(f, "Using dbt_project.yml file at %s/dbt_project.yml", s.project->root);
    else if (project_locate(&lo, &root, &target) == 0)
        console_line(f, "Using dbt_project.yml file at %s/dbt_project.yml", root);
    console_line(f, "adapter type: postgres");
    console_line(f, "Configuration:");
    if (loaded) {
        console_line(f, "  profiles.yml file [OK found and valid]");
        console_line(f, "  dbt_project.yml file [OK found and valid]");
    } else {
        /* which file the error is in */
        bool prof = (err.file && strstr(err.file, "profiles.yml")) || (err.message && strstr(err.message, "profile"));
        console_line(f, "  profiles.yml file [%s]", prof ? "ERROR invalid" : "OK found and valid");
        console_line(f, "  dbt_project.yml file [%s]", prof ? "OK found and valid" : "ERROR invalid");
        failed++;
        sb_puts(&why, prof ? "Profile loading failed for the following reason:\n"
                           : "Project loading failed for the following reason:\n");
        diag_format(&err, &why);
        diag_clear(&err);
    }
    free(root);
    free(target);

    if (loaded) {
        Project *p = s.project;
        VDict *o = p->profile_output;
        char nb[32];
        console_line(f, "Connection:");
        static const char *const keys[] = {"host", "port", "user", "database", "schema", "connect_timeout",
                                           "role", "search_path", "keepalives_idle", "sslmode", "sslcert",
                                           "sslkey", "sslrootcert", "application_name", "retries"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            console_line(f, "  %s: %s", keys[k], str_of(o, keys[k], nb, sizeof nb));
        if (pgserver_is_managed(o))
            console_line(f, "  managed: True (cdbt runs the server: `cdbt server status`)");
        console_line(f, "Registered adapter: postgres");
        PgParams params;
        PgConn *c = NULL;
        if (session_pg_params(&s, &params, &err) == 0) {
            c = pg_connect(&params, &err);
            PgResult *r = NULL;
            if (c && pg_exec(c, "select 1 as id", &r, NULL, 0, &err) == 0) {
                pg_result_free(r);
                console_line(f, "  Connection test: [OK connection ok]");
            } else if (c) {
                pg_close(c);
                c = NULL;
            }
        }
        if (c) {
            pg_close(c);
        } else {
            console_line(f, "  Connection test: [ERROR]");
            failed++;
            if (why.len)
                sb_putc(&why, '\n');
            sb_puts(&why, "cdbt was unable to connect to the specified database.\n"
                          "The database returned the following error:\n\n  >");
            sb_puts(&why, err.message ? err.message : "unknown error");
            sb_putc(&why, '\n');
            diag_clear(&err);
        }
    }
    session_close(&s);
    free(pdir);
    console_line(f, "%s", "");
    if (!failed) {
        console_line(f, "All checks passed!");
        sb_free(&why);
        return EXIT_OK;
    }
    console_line(f, "%d check%s failed:", failed, failed == 1 ? "" : "s");
    /* the reasons go to stderr even with --quiet: they are the errors */
    fprintf(stderr, "%s%s", sb_cstr(&why), why.len && why.buf[why.len - 1] == '\n' ? "" : "\n");
    sb_free(&why);
    return EXIT_NODE_FAILURE;
}
