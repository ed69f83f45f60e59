/* cmd_server.c - `cdbt server start|stop|status`: the managed local
 * PostgreSQL server of a `managed: true` target (src/exec/pgserver.h).
 *
 * Loads only dbt_project.yml and the profile (no node parsing), then asks
 * pgserver to start, stop or describe the cluster and prints the result with
 * a psql command line the user can paste.  Exit codes: start/stop 0 ok,
 * 2 error; status 0 running, 1 stopped, 2 error. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "../exec/pgserver.h"

static void shell_word(FILE *out, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!(( *p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/._-+=:@%,", *p)))
            plain = false;
    if (plain) {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

static void print_psql(const PgServerInfo *info)
{
    printf("  connect:          psql -h ");
    shell_word(stdout, info->sock_dir);
    printf(" -p %d -U ", info->port);
    shell_word(stdout, info->superuser);
    putchar(' ');
    shell_word(stdout, info->dbname);
    putchar('\n');
}

static void print_info(const PgServerInfo *info, const char *state)
{
    printf("Managed PostgreSQL server: %s\n", state);
    printf("  data directory:   %s\n", info->data_dir);
    printf("  socket directory: %s (port %d, no TCP listener)\n", info->sock_dir, info->port);
    if (info->running)
        printf("  pid:              %ld\n", info->pid);
    if (info->version[0])
        printf("  version:          %s\n", info->version);
    printf("  runs as:          %s\n", info->os_user);
    printf("  log:              %s\n", info->log_path);
    if (info->running)
        print_psql(info);
}

int cmd_server(Flags *f)
{
    Diag err = {0};
    const char *action = f->subcommand ? f->subcommand : "status";
    if (strcmp(action, "start") && strcmp(action, "stop") && strcmp(action, "status")) {
        fprintf(stderr, "error: unknown server action '%s' (expected start, stop or status)\n", action);
        return EXIT_PROJECT_ERROR;
    }
    ProjectOptions popt = {0};
    popt.project_dir = f->project_dir;
    popt.profiles_dir = f->profiles_dir;
    popt.profile = f->profile;
    popt.target = f->target;
    popt.target_path = f->target_path;
    popt.need_profile = true;
    Dbt *d = dbt_new(&(DbtOptions){.which = "server"});
    Project *p = project_load(&popt, dbt_renderer(d), &err);
    int rc = EXIT_PROJECT_ERROR;
    if (!p)
        goto fail;
    if (!pgserver_is_managed(p->profile_output)) {
        diag_set(&err, NULL, 0, 0, NULL,
                 "Target '%s' of profile '%s' is not a managed server: `cdbt server` needs `managed: true` in its profiles.yml output",
                 p->target_name ? p->target_name : "?", p->profile_name ? p->profile_name : "?");
        goto fail;
    }
    PgServerInfo info;
    if (!strcmp(action, "start")) {
        PgParams params;
        pg_params_from_profile(&params, p->profile_output, p->profile_name, p->target_name);
        if (pgserver_ensure(p->root, p->profile_output, &params, &info, &err) != 0)
            goto fail;
        print_info(&info, "running");
        rc = EXIT_OK;
    } else if (!strcmp(action, "stop")) {
        bool was = false;
        if (pgserver_stop(p->root, p->profile_output, &was, &err) != 0)
            goto fail;
        if (pgserver_locate(p->root, p->profile_output, &info, &err) != 0)
            goto fail;
        printf(was ? "Stopped the managed PostgreSQL server (%s)\n"
                   : "The managed PostgreSQL server was not running (%s)\n", info.data_dir);
        rc = EXIT_OK;
    } else {
        if (pgserver_status(p->root, p->profile_output, &info, &err) != 0)
            goto fail;
        print_info(&info, info.running ? "running" : info.initialized ? "stopped" : "not initialized");
        rc = info.running ? EXIT_OK : EXIT_NODE_FAILURE;
    }
    project_free(p);
    dbt_free(d);
    return rc;
fail:
    cli_print_diag(&err);
    diag_clear(&err);
    if (p)
        project_free(p);
    dbt_free(d);
    return EXIT_PROJECT_ERROR;
}
