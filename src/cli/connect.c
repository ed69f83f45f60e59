/* connect.c - what the commands that reach the database without the
 * runner's DAG share (debug, run-operation, show, source freshness): the
 * target's connection parameters, with libpq loaded and, for a `managed:
 * true` target, the local server started; and the runner options of a
 * session. */
#include <string.h>
#include "cli.h"
#include "../exec/pgserver.h"

int session_pg_params(Session *s, PgParams *params, Diag *err)
{
    Project *p = s->project;
    memset(params, 0, sizeof *params);
    pg_params_from_profile(params, p->profile_output, p->profile_name, p->target_name);
    const char *why = NULL;
    if (pq_load(&why) != 0) {
        diag_set(err, NULL, 0, 0, NULL, "%s", why ? why : "libpq cannot be loaded");
        return -1;
    }
    if (params->managed && pgserver_ensure(p->root, p->profile_output, params, NULL, err) != 0)
        return -1;
    return 0;
}

void session_runner_options(Session *s, PgParams *params, RunnerOptions *ro)
{
    Project *p = s->project;
    memset(ro, 0, sizeof *ro);
    ro->dbt = s->dbt;
    ro->project = p;
    ro->graph = s->graph;
    ro->params = params;
    ro->target_dir = session_target_dir(s);
    const char *lp = s->flags->log_path ? s->flags->log_path : p->log_path;
    ro->log_dir = lp && lp[0] != '/' ? arena_sprintf(&s->arena, "%s/%s", p->root, lp) : lp;
    ro->warn_error = s->flags->warn_error;
}
