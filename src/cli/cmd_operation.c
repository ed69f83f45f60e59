/* cmd_operation.c - `cdbt run-operation MACRO [--args '<YAML mapping>']`
 * (§12.1): call a macro of the project (or `package.macro`) with the args
 * as keyword arguments, with execute=true, no node and the target's
 * database (run_query, statement, adapter.*).  What the macro renders is
 * not run.  Nothing is committed for it (§15): statements run through
 * run_query are autocommitted, a transaction a `statement` block opened
 * stays uncommitted unless the macro calls adapter.commit() (or runs
 * `commit`), and is rolled back at the end.  Exit 0 on success, 1 when the
 * macro failed or does not exist, 2 for a project or usage error.  Writes
 * run_results.json with one entry (unique_id macro.<package>.<name>). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../exec/pg.h"
#include "../exec/pgserver.h"
#include "../exec/runner.h"
#include "../yaml/yaml.h"

/* A macro name as written: identifier, or package.identifier. */
static bool valid_name(const char *s)
{
    int parts = 0;
    const char *p = s;
    for (;;) {
        if (!(isalpha((unsigned char)*p) || *p == '_'))
            return false;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        parts++;
        if (*p == '\0')
            return parts <= 2;
        if (*p != '.')
            return false;
        p++;
    }
}

int cmd_run_operation(Flags *f)
{
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    const char *macro = f->subcommand;
    if (!macro) {
        fprintf(stderr, "error: Missing argument 'MACRO'.\nUsage: cdbt run-operation MACRO [--args '{key: value}']\n");
        return EXIT_PROJECT_ERROR;
    }
    if (!valid_name(macro)) {
        fprintf(stderr, "error: Invalid macro name '%s': expected name or package.name\n", macro);
        return EXIT_PROJECT_ERROR;
    }
    Session s;
    int rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Project *p = s.project;
    console_found(f, p);
    Diag err = {0};
    /* the keyword arguments */
    VDict *args = v_dict(&s.arena).u.d;
    if (f->op_args && *f->op_args) {
        Value v;
        if (yaml_load_value(&s.arena, "--args", f->op_args, strlen(f->op_args), &v, &err) != 0) {
            cli_print_diag(&err);
            diag_clear(&err);
            session_close(&s);
            return EXIT_PROJECT_ERROR;
        }
        if (v.type == V_DICT) {
            args = v.u.d;
        } else if (v.type != V_NONE) {
            fprintf(stderr, "error: The --args argument must be a YAML dictionary, but was of type '%s'\n",
                    value_type_name(v));
            session_close(&s);
            return EXIT_PROJECT_ERROR;
        }
    }
    const char *dot = strchr(macro, '.');
    const char *pkg = dot ? arena_strndup(&s.arena, macro, (size_t)(dot - macro)) : p->name;
    const char *name = dot ? dot + 1 : macro;
    NodeResult nr = {.status = "success", .failures = -1, .thread = 0};
    Node *n = ARENA_NEW(&s.arena, Node);
    n->index = -1;
    n->rt = RT_MACRO;
    n->name = name;
    n->package_name = pkg;
    n->unique_id = arena_sprintf(&s.arena, "macro.%s.%s", pkg, name);
    nr.node = n;
    nr.started_at = results_wallclock();

    /* the connection: the profile's target, or the managed local server */
    PgParams params;
    int orc = -1;
    if (session_pg_params(&s, &params, &err) == 0) {
        RunnerOptions ro;
        session_runner_options(&s, &params, &ro);
        VDict *extra = v_dict(&s.arena).u.d;
        dict_setz(&s.arena, extra, "__cdbt_operation_args", (Value){.type = V_DICT, .u.d = args});
        const char *text = arena_sprintf(&s.arena, "{%%- do %s(**__cdbt_operation_args) -%%}", macro);
        const char *out = NULL;
        orc = runner_operation(&ro, text, extra, &out, &err);
        if (orc != 0 && err.message) {
            /* an unknown macro: dbt's words */
            char undef[300];
            snprintf(undef, sizeof undef, "'%s' is undefined", dot ? pkg : name);
            if (strstr(err.message, undef)) {
                Diag d2 = {0};
                diag_set(&d2, NULL, 0, 0, NULL, "dbt could not find a macro with the name '%s' in %s", name,
                         dot ? arena_sprintf(&s.arena, "package '%s'", pkg) : "any package");
                diag_clear(&err);
                err = d2;
            }
        }
    }
    nr.compiled_at = nr.completed_at = results_wallclock();
    rc = EXIT_OK;
    if (orc != 0) {
        console_line(f, "Encountered an error while running operation: %s", err.message ? err.message : "?");
        cli_print_diag(&err);
        Sb msg = SB_INIT;
        diag_format(&err, &msg);
        nr.message = arena_strdup(&s.arena, sb_cstr(&msg));
        sb_free(&msg);
        diag_clear(&err);
        nr.status = "error";
        rc = EXIT_NODE_FAILURE;
    }
    if (!f->no_write_json) {
        RunResults res = {0};
        res.started_at = nr.started_at;
        results_add(&res, nr);
        const char *path = arena_sprintf(&s.arena, "%s/run_results.json", session_target_dir(&s));
        if (results_write(&s, &res, path, &err) != 0) {
            cli_print_diag(&err);
            diag_clear(&err);
            if (rc == EXIT_OK)
                rc = EXIT_PROJECT_ERROR;
        }
        results_free(&res);
    }
    session_close(&s);
    return rc;
}
