/* cmd_deps.c - `cdbt deps [--lock] [--upgrade]` (§12.1): install the
 * packages packages.yml (or dependencies.yml) declares into the
 * packages-install-path (default dbt_packages) and keep package-lock.yml,
 * as dbt-core 1.9 does; the work is src/deps.  Only dbt_project.yml is
 * loaded (no profile needed, no model files read).  Exit 0, or 2 for any
 * error (bad packages.yml, a failed clone, a hub package cdbt cannot
 * download). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "../base/fs.h"
#include "../deps/deps.h"

static void log_line(void *ud, int level, const char *msg)
{
    (void)level;
    console_line((const Flags *)ud, "%s", msg);
}

/* Is dir the project root, one of its ancestors, or one of its source paths? */
static bool unsafe_install_path(Project *p, const char *dir)
{
    size_t n = strlen(dir);
    if (!strncmp(p->root, dir, n) && (p->root[n] == '/' || p->root[n] == '\0' || !strcmp(dir, "/")))
        return true;
    const char **lists[] = {p->model_paths, p->seed_paths, p->macro_paths, p->test_paths, p->snapshot_paths,
                            p->analysis_paths};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (const char **q = lists[i]; q && *q; q++) {
            Sb s = SB_INIT;
            path_join(&s, p->root, *q);
            char *norm = path_normalize(sb_cstr(&s));
            bool same = !strcmp(norm, dir);
            free(norm);
            sb_free(&s);
            if (same)
                return true;
        }
    return false;
}

int cmd_deps(Flags *f)
{
    Session s;
    Diag err = {0};
    if (session_load_project_yml(&s, f, &err) != 0) {
        cli_print_diag(&err);
        diag_clear(&err);
        session_close(&s);
        return EXIT_PROJECT_ERROR;
    }
    Project *p = s.project;
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    const char *ip = "dbt_packages";
    Value *v = p->project_yml ? dict_getz(p->project_yml, "packages-install-path") : NULL;
    if (v && v->type != V_NONE) {
        if (v->type != V_STR || !v->u.s->len) {
            fprintf(stderr, "dbt_project.yml: error: Invalid value for 'packages-install-path' in dbt_project.yml: "
                            "expected a string\n");
            session_close(&s);
            return EXIT_PROJECT_ERROR;
        }
        ip = v->u.s->s;
    }
    Sb path = SB_INIT;
    if (ip[0] == '/')
        sb_puts(&path, ip);
    else
        path_join(&path, p->root, ip);
    char *install = path_normalize(sb_cstr(&path));
    sb_free(&path);
    int rc = EXIT_OK;
    if (unsafe_install_path(p, install)) {
        fprintf(stderr, "error: packages-install-path '%s' is the project directory, one of its parents or one of "
                        "its source paths; refusing to empty it\n", ip);
        rc = EXIT_PROJECT_ERROR;
    } else {
        DepsOptions o = {0};
        o.root = p->root;
        o.project_name = p->name;
        o.install_path = install;
        o.r = dbt_renderer(s.dbt);
        o.lock_only = f->deps_lock;
        o.upgrade = f->deps_upgrade;
        o.warn_error = f->warn_error;
        o.log = log_line;
        o.ud = f;
        if (deps_run(&o, &err) != 0) {
            cli_print_diag(&err);
            diag_clear(&err);
            rc = EXIT_PROJECT_ERROR;
        }
    }
    free(install);
    session_close(&s);
    return rc;
}
