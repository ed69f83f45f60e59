/* cmd_retry.c - `cdbt retry` (dbt 1.6+): run again, with the previous
 * invocation's flags, only the nodes that did not succeed last time.
 *
 * The previous invocation is <--state>/run_results.json, else the target
 * directory's.  Its `args.which` names the command (run, build, test, seed,
 * snapshot, compile, clone); the nodes whose status was error, fail, skipped
 * or runtime error are selected exactly (no indirect selection, no
 * --select/--exclude of that run), and its --vars, --full-refresh,
 * --fail-fast, --store-failures, --warn-error, --empty, --state,
 * --defer-state, --defer, --favor-state, --target and --threads apply again
 * unless this command line gives --target or --threads.  The retried run writes its own run_results.json, whose args
 * name the retried command, so a second `cdbt retry` retries what still
 * failed.  Nothing failed: "Nothing to do", exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "../base/json.h"
#include "../graph/graph.h"

static const char *str_member(VDict *d, const char *k)
{
    Value *v = d ? dict_getz(d, k) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

static bool bool_member(VDict *d, const char *k)
{
    Value *v = d ? dict_getz(d, k) : NULL;
    return v && v->type == V_BOOL && v->u.b;
}

static bool retryable(const char *status)
{
    return status && (!strcmp(status, "error") || !strcmp(status, "fail") || !strcmp(status, "skipped") ||
                      !strcmp(status, "runtime error") || !strcmp(status, "partial success"));
}

int cmd_retry(Flags *f)
{
    ProjectOptions lo = {0};
    lo.project_dir = f->project_dir;
    lo.profiles_dir = f->profiles_dir;
    lo.target_path = f->target_path;
    char *root = NULL, *target = NULL;
    const char *dir = f->state;
    if (!dir) {
        if (project_locate(&lo, &root, &target) != 0) {
            fprintf(stderr, "error: retry: no dbt_project.yml found (use --project-dir)\n");
            return EXIT_PROJECT_ERROR;
        }
        dir = target;
    }
    Arena a;
    arena_init(&a, 0);
    int rc = EXIT_PROJECT_ERROR;
    char path[4096], why[4400];
    snprintf(path, sizeof path, "%s/run_results.json", dir);
    Value rr;
    int r = graph_json_load(&a, path, &rr, why, sizeof why);
    VDict *top = r == 0 && rr.type == V_DICT ? rr.u.d : NULL;
    Value *av = top ? dict_getz(top, "args") : NULL;
    Value *resv = top ? dict_getz(top, "results") : NULL;
    VDict *args = av && av->type == V_DICT ? av->u.d : NULL;
    const char *which = str_member(args, "which");
    if (r == 1) {
        fprintf(stderr, "error: Could not find previous run in '%s' target directory\n", dir);
        goto done;
    }
    if (r < 0 || !args || !which || !resv || resv->type != V_LIST) {
        fprintf(stderr, "error: retry: %s is not a run_results.json cdbt can retry from%s%s\n", path,
                r < 0 ? ": " : "", r < 0 ? why : "");
        goto done;
    }
    static const char *const kRetryable[] = {"run", "build", "test", "seed", "snapshot", "compile", "clone", NULL};
    bool known = false;
    for (int i = 0; kRetryable[i]; i++)
        known |= strcmp(which, kRetryable[i]) == 0;
    if (!known) {
        fprintf(stderr, "error: retry: the previous command '%s' cannot be retried (run, build, test, seed, "
                        "snapshot, compile and clone can)\n", which);
        goto done;
    }
    /* the nodes to run again */
    VList *res = resv->u.l;
    const char **ids = arena_zalloc(&a, sizeof *ids * (res->len + 1));
    int nids = 0;
    for (size_t i = 0; i < res->len; i++) {
        VDict *e = res->items[i].type == V_DICT ? res->items[i].u.d : NULL;
        const char *uid = str_member(e, "unique_id"), *st = str_member(e, "status");
        if (uid && retryable(st) && strncmp(uid, "operation.", 10) != 0)
            ids[nids++] = uid;
    }
    /* the previous flags, this command line's --target / --threads first */
    Flags nf = *f;
    nf.command = which;
    nf.select = nf.exclude = NULL;
    nf.nselect = nf.nexclude = 0;
    nf.selector = NULL;
    nf.indirect_selection = NULL;
    /* the previous run's state and deferral (its --state was the state to
     * compare or defer to; this command's names where run_results.json is) */
    nf.state = str_member(args, "state");
    nf.defer_state = str_member(args, "defer_state");
    nf.defer = f->defer || bool_member(args, "defer");
    nf.favor_state = f->favor_state || bool_member(args, "favor_state");
    nf.only_ids = ids;
    nf.nonly_ids = nids;
    nf.full_refresh = f->full_refresh || bool_member(args, "full_refresh");
    nf.fail_fast = f->fail_fast || bool_member(args, "fail_fast");
    nf.store_failures = f->store_failures || bool_member(args, "store_failures");
    nf.warn_error = f->warn_error || bool_member(args, "warn_error");
    nf.empty = f->empty || bool_member(args, "empty");
    if (!f->target)
        nf.target = str_member(args, "target");
    Value *th = dict_getz(args, "threads");
    if (!f->threads && th && th->type == V_INT && th->u.i > 0)
        nf.threads = (int)th->u.i;
    Value *vars = dict_getz(args, "vars");
    if (!f->vars && vars && vars->type == V_DICT && vars->u.d->len) {
        /* JSON is YAML: the mapping as --vars text */
        Sb t = SB_INIT;
        JsonW w;
        json_init(&w, &t, false);
        value_to_json(&w, *vars);
        json_flush(&w);
        nf.vars = arena_strndup(&a, sb_cstr(&t), t.len);
        sb_free(&t);
    }
    console_line(f, "Retrying %d node%s of the previous '%s' (%s)", nids, nids == 1 ? "" : "s", which, path);
    rc = strcmp(which, "compile") == 0 ? cmd_compile(&nf) : cmd_run(&nf);
done:
    free(root);
    free(target);
    arena_free(&a);
    return rc;
}
