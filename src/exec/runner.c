/* runner.c - the DAG walk of `cdbt run / test / seed / build` (§6.1-6.2,
 * §6.6, §12.4-12.5).
 *
 * Owns: connections (one for the main thread, used for schema creation, run
 * hooks and the introspection that compiling needs; one per worker), the
 * shared RelCache and ExecShared, schema creation, on-run-start/end hooks,
 * the dependency bookkeeping between the selected executable nodes (edges
 * pass through unselected and ephemeral nodes; in `build`, tests gate the
 * children of the nodes they test), the ready queue ordered by topological
 * position, compilation and hook rendering on the main thread just before a
 * node is dispatched, worker threads, skipping, --fail-fast, cancellation,
 * logs/cdbt.log and target/run/.
 *
 * Leaves to others: what a node's statements are (the executors of exec.h),
 * how a statement is sent (pg.c, exec_common.c), what the console looks like
 * (the caller, through RunnerEvents), run_results.json (src/cli). */
#include "runner.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include "../base/fs.h"
#include "../base/strmap.h"

#define LOG_BUF (64 * 1024)
#define LOG_FLUSH_SECS 0.1

typedef struct RJob {
    NodeJob job;                  /* first: the executor sees only this */
    int node;                     /* Project.nodes index */
    int index;
    MatFn fn;
    double compile_start, compile_end, exec_start, exec_end;
    int thread;
    int rc;
    char *run_rel;                /* target/run file written by the worker (malloc), relative when under the project */
    /* microbatch models: the batches ([start, end) pairs, malloc), the one
     * running, the outcome of those done (malloc), the first error */
    int64_t *mb; int mb_n, mb_i, mb_size;
    bool mb_incr;                 /* dbt's _is_incremental(): the table exists and no full refresh */
    int64_t *mb_ok, *mb_fail; int mb_nok, mb_nfail;
    double mb_batch_start, mb_exec_first;
    Diag mb_err;
    char mb_label[32];
} RJob;

typedef struct RNode {
    bool run;                     /* selected and executable */
    int *deps; int ndeps;         /* run nodes it waits for */
    int *kids; int nkids;         /* run nodes waiting for it */
    int pending;
    bool done;
    NodeStatus status;
} RNode;

struct Runner;
typedef struct Worker {
    struct Runner *r;
    int id;
    PgConn *conn;
    pthread_t th;
    bool started, busy;
} Worker;

typedef struct OpenRes { const char *const *const *rows; PgResult *res; } OpenRes;

typedef struct Runner {
    const RunnerOptions *o;
    Project *p;
    Graph *g;
    RunnerResult *res;
    Arena *a;                     /* = &res->arena (main thread only) */
    ExecShared *sh;
    RelCache *rc;
    PgConn *main;
    FILE *log;
    RNode *rn;
    int *pos;                     /* topological position per node */
    int *heap; int nheap;         /* ready run nodes, min-heap on pos */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    RJob **queue; int qlen, qcap; /* dispatched, not picked up yet (FIFO) */
    RJob **fin; int nfin, fincap; /* finished, not yet processed by main */
    bool quit;
    Worker *w; int nw;
    int ninflight, ndone, next_index;
    int itemcap;
    bool stop;                    /* fail-fast or interrupt: no more dispatching */
    double log_flushed;           /* wallclock() of the last flush of logs/cdbt.log */
    char *logbuf;                 /* its stdio buffer */
    OpenRes open[8];
    DbtDb db;
} Runner;

static void flush_log(Runner *r, bool force);

static double wallclock(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

const char *runner_status_name(NodeStatus s)
{
    switch (s) {
    case NS_SUCCESS: return "success";
    case NS_ERROR: return "error";
    case NS_SKIPPED: return "skipped";
    case NS_PASS: return "pass";
    case NS_WARN: return "warn";
    case NS_FAIL: return "fail";
    case NS_PARTIAL: return "partial success";
    }
    return "error";
}

static void info(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(Runner *r, const char *fmt, ...)
{
    if (!r->o->ev.info)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->o->ev.info(r->o->ev.ud, buf);
}

/* ---------------------------------------------------------------- node kinds */

static const char *cfg_str(Node *n, const char *key)
{
    Value *v = n->config ? dict_getz(n->config, key) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

static bool cfg_true(Node *n, const char *key)
{
    Value *v = n->config ? dict_getz(n->config, key) : NULL;
    return v && v->type != V_NONE && value_truthy(*v);
}


static bool executable(Node *n)
{
    switch (n->rt) {
    case RT_MODEL: return !node_is_ephemeral(n);
    case RT_SEED: case RT_TEST: case RT_SNAPSHOT: case RT_UNIT_TEST: return true;
    default: return false;
    }
}

static bool relational(Node *n)
{
    return (n->rt == RT_MODEL && !node_is_ephemeral(n)) || n->rt == RT_SEED || n->rt == RT_SNAPSHOT;
}

static const char *kind_of(Runner *r, Node *n)
{
    switch (n->rt) {
    case RT_MODEL: {
        const char *m = cfg_str(n, "materialized");
        if (dbt_is_microbatch(n))
            m = "microbatch";
        return arena_sprintf(r->a, "sql %s model", m ? m : "view");
    }
    case RT_SEED: return "seed file";
    case RT_TEST: return "test";
    case RT_UNIT_TEST: return "unit_test";
    case RT_SNAPSHOT: return "snapshot";
    default: return rt_name(n->rt);
    }
}

/* ---------------------------------------------------------------- logging */

static void logf_main(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_main(Runner *r, const char *fmt, ...)
{
    if (!r->sh)
        return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    exec_log(r->sh, "main", "%s", buf);
}

/* Run sql on the main connection (autocommit unless a transaction is open). */
static int main_exec(Runner *r, const char *sql, PgResult **res, char *tag, size_t tagcap, Diag *err)
{
    if (r->sh)
        exec_log(r->sh, "main", "%s", sql);
    int rc = pg_exec(r->main, sql, res, tag, tagcap, err);
    if (rc != 0 && r->sh)
        exec_log(r->sh, "main", "error: %s", err->message ? err->message : "?");
    return rc;
}

/* ---------------------------------------------------------------- DbtDb on the main connection */

static int db_execute(void *ud, const char *sql, bool auto_begin, bool fetch, DbtDbTable *out, Diag *err)
{
    Runner *r = ud;
    PgResult *res = NULL;
    char tag[64] = "";
    if (auto_begin && !pg_in_transaction(r->main)) {
        logf_main(r, "BEGIN");
        if (pg_begin(r->main, err) != 0)
            return -1;
    }
    if (main_exec(r, sql, fetch ? &res : NULL, tag, sizeof tag, err) != 0)
        return -1;
    memset(out, 0, sizeof *out);
    out->rows_affected = -1;
    if (res) {
        out->nrows = res->nrows;
        out->ncols = res->ncols;
        out->colnames = res->colnames;
        out->coltypes = res->coltypes;
        out->rows = (const char *const *const *)res->rows;
        out->status = res->status;
        out->rows_affected = res->rows_affected;
        for (size_t i = 0; i < sizeof r->open / sizeof r->open[0]; i++)
            if (!r->open[i].res) {
                r->open[i].res = res;
                r->open[i].rows = out->rows;
                return 0;
            }
        /* more than 8 open results: keep the rows alive until the run ends is
         * not possible here; copy nothing and report no rows */
        pg_result_free(res);
        out->nrows = 0;
        out->rows = NULL;
        return 0;
    }
    out->status = arena_strdup(r->a, tag);
    /* rows affected from the tag's last number (INSERT 0 5, UPDATE 3, SELECT 2) */
    const char *sp = strrchr(tag, ' ');
    if (sp && sp[1] >= '0' && sp[1] <= '9')
        out->rows_affected = strtoll(sp + 1, NULL, 10);
    return 0;
}

static void db_release(void *ud, DbtDbTable *t)
{
    Runner *r = ud;
    if (!t->rows)
        return;
    for (size_t i = 0; i < sizeof r->open / sizeof r->open[0]; i++)
        if (r->open[i].res && r->open[i].rows == t->rows) {
            pg_result_free(r->open[i].res);
            r->open[i].res = NULL;
            r->open[i].rows = NULL;
        }
}

static const char *db_relation_type(void *ud, const char *database, const char *schema, const char *ident)
{
    Runner *r = ud;
    if (!relcache_schema_loaded(r->rc, schema)) {
        Diag err = {0};
        logf_main(r, "list relations of schema %s", schema);
        if (relcache_load_schema(r->rc, r->main, schema, &err) != 0)
            diag_clear(&err);
    }
    return relcache_type_name(relcache_get(r->rc, schema, ident));
}

static void db_relation_changed(void *ud, const char *schema, const char *ident, const char *new_ident)
{
    Runner *r = ud;
    if (new_ident)
        relcache_rename(r->rc, schema, ident, new_ident);
    else
        relcache_set(r->rc, schema, ident, REL_NONE);
}

static int db_commit(void *ud, Diag *err)
{
    Runner *r = ud;
    if (!pg_in_transaction(r->main))
        return 0;
    logf_main(r, "COMMIT");
    return pg_commit(r->main, err);
}

/* ---------------------------------------------------------------- dependencies */

static void add_int(int **arr, int *n, int v)
{
    for (int i = 0; i < *n; i++)
        if ((*arr)[i] == v)
            return;
    *arr = xrealloc(*arr, sizeof(int) * (size_t)(*n + 1));
    (*arr)[(*n)++] = v;
}

/* The run nodes a node waits for: the nearest selected executable ancestors,
 * through unselected and ephemeral nodes (dbt's subset graph keeps those
 * transitive edges). eff[i] holds them for non-run nodes (memoised). */
static void build_deps(Runner *r)
{
    Project *p = r->p;
    Graph *g = r->g;
    int n = p->nnodes;
    int **eff = xcalloc((size_t)n + 1, sizeof(int *));
    int *neff = xcalloc((size_t)n + 1, sizeof(int));
    for (int k = 0; k < g->n; k++) {
        int i = g->topo[k];
        int **dst = r->rn[i].run ? &r->rn[i].deps : &eff[i];
        int *ndst = r->rn[i].run ? &r->rn[i].ndeps : &neff[i];
        for (int j = 0; j < g->nparents[i]; j++) {
            int pa = g->parents[i][j];
            if (r->rn[pa].run)
                add_int(dst, ndst, pa);
            else
                for (int e = 0; e < neff[pa]; e++)
                    add_int(dst, ndst, eff[pa][e]);
        }
    }
    for (int i = 0; i < n; i++)
        free(eff[i]);
    free(eff);
    free(neff);
}

/* Is a an ancestor of b among run edges (a != b)? Upward DFS with a stamp. */
static bool run_ancestor(Runner *r, int a, int b, int *stamp, int mark, int *stack)
{
    int sp = 0;
    stack[sp++] = b;
    stamp[b] = mark;
    while (sp) {
        int x = stack[--sp];
        for (int j = 0; j < r->rn[x].ndeps; j++) {
            int pa = r->rn[x].deps[j];
            if (pa == a)
                return true;
            if (stamp[pa] != mark) {
                stamp[pa] = mark;
                stack[sp++] = pa;
            }
        }
    }
    return false;
}

/* build: every executable node also waits for the tests of its upstream
 * nodes (a test whose parents are all upstream of it), §12.4. */
static void add_test_gates(Runner *r)
{
    Project *p = r->p;
    int n = p->nnodes;
    /* children lists over the plain deps first */
    int **kids = xcalloc((size_t)n + 1, sizeof(int *));
    int *nkids = xcalloc((size_t)n + 1, sizeof(int));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < r->rn[i].ndeps; j++)
            add_int(&kids[r->rn[i].deps[j]], &nkids[r->rn[i].deps[j]], i);
    int *stamp = xcalloc((size_t)n + 1, sizeof(int));
    int *stack = xcalloc((size_t)n + 1, sizeof(int));
    int mark = 0;
    /* gates are collected first, then added, so tests see only plain edges */
    int *gt = NULL, *gc = NULL, ng = 0, capg = 0;
    for (int t = 0; t < n; t++) {
        if (!r->rn[t].run || p->nodes[t]->rt != RT_TEST || r->rn[t].ndeps == 0)
            continue;
        for (int d = 0; d < r->rn[t].ndeps; d++) {
            int pa = r->rn[t].deps[d];
            for (int k = 0; k < nkids[pa]; k++) {
                int c = kids[pa][k];
                if (c == t || p->nodes[c]->rt == RT_TEST)
                    continue;
                bool all = true;
                for (int e = 0; e < r->rn[t].ndeps && all; e++) {
                    int other = r->rn[t].deps[e];
                    if (other != pa)
                        all = run_ancestor(r, other, c, stamp, ++mark, stack);
                }
                if (!all)
                    continue;
                if (ng == capg) {
                    capg = capg ? capg * 2 : 64;
                    gt = xrealloc(gt, sizeof(int) * (size_t)capg);
                    gc = xrealloc(gc, sizeof(int) * (size_t)capg);
                }
                gt[ng] = t;
                gc[ng] = c;
                ng++;
            }
        }
    }
    for (int k = 0; k < ng; k++)
        add_int(&r->rn[gc[k]].deps, &r->rn[gc[k]].ndeps, gt[k]);
    free(gt);
    free(gc);
    for (int i = 0; i < n; i++)
        free(kids[i]);
    free(kids);
    free(nkids);
    free(stamp);
    free(stack);
}

/* build: a model's unit tests run before it (dbt 1.8): each waits for what
 * the model waits for, and the model waits for them, so a failing unit test
 * skips the model and everything downstream of it. */
static void unit_tests_first(Runner *r)
{
    Project *p = r->p;
    for (int u = 0; u < p->nnodes; u++) {
        if (!r->rn[u].run || p->nodes[u]->rt != RT_UNIT_TEST || r->g->nparents[u] < 1)
            continue;
        int m = r->g->parents[u][0];
        if (!r->rn[m].run)
            continue;
        free(r->rn[u].deps);
        r->rn[u].deps = NULL;
        r->rn[u].ndeps = 0;
        for (int k = 0; k < r->rn[m].ndeps; k++)
            if (p->nodes[r->rn[m].deps[k]]->rt != RT_UNIT_TEST)
                add_int(&r->rn[u].deps, &r->rn[u].ndeps, r->rn[m].deps[k]);
        add_int(&r->rn[m].deps, &r->rn[m].ndeps, u);
    }
}

/* ---------------------------------------------------------------- ready heap */

static void heap_push(Runner *r, int i)
{
    int k = r->nheap++;
    r->heap[k] = i;
    while (k > 0) {
        int up = (k - 1) / 2;
        if (r->pos[r->heap[up]] <= r->pos[r->heap[k]])
            break;
        int t = r->heap[up];
        r->heap[up] = r->heap[k];
        r->heap[k] = t;
        k = up;
    }
}

static int heap_pop(Runner *r)
{
    int top = r->heap[0];
    r->heap[0] = r->heap[--r->nheap];
    int k = 0;
    for (;;) {
        int l = 2 * k + 1, rr = l + 1, m = k;
        if (l < r->nheap && r->pos[r->heap[l]] < r->pos[r->heap[m]])
            m = l;
        if (rr < r->nheap && r->pos[r->heap[rr]] < r->pos[r->heap[m]])
            m = rr;
        if (m == k)
            break;
        int t = r->heap[m];
        r->heap[m] = r->heap[k];
        r->heap[k] = t;
        k = m;
    }
    return top;
}

/* ---------------------------------------------------------------- results */

static RunItem *new_item(Runner *r)
{
    RunnerResult *res = r->res;
    if (res->n == r->itemcap) {
        r->itemcap = r->itemcap ? r->itemcap * 2 : 16;
        res->items = xrealloc(res->items, sizeof(RunItem) * (size_t)r->itemcap);
    }
    RunItem *it = &res->items[res->n++];
    memset(it, 0, sizeof *it);
    it->rows_affected = -1;
    it->failures = -1;
    return it;
}

static void count_status(Runner *r, NodeStatus s)
{
    switch (s) {
    case NS_SUCCESS: case NS_PASS: r->res->npass++; break;
    case NS_WARN: r->res->nwarn++; break;
    case NS_ERROR: case NS_FAIL: case NS_PARTIAL: r->res->nerror++; break;
    case NS_SKIPPED: r->res->nskip++; break;
    }
}

/* The console's account of an error: an optional header line, then the
 * diagnostic in the house format (file:line:col, the offending line of the
 * compiled SQL, a caret, notes), every line indented by two spaces. */
static const char *error_detail(Runner *r, const char *header, const Diag *d)
{
    Sb f = SB_INIT, s = SB_INIT;
    Diag shown = *d;
    /* "Compilation Error in model x (path)\n  <message>": the first line
     * becomes the header, the diagnostic keeps the message itself */
    const char *m = d->message;
    const char *brk = m ? strstr(m, "\n  ") : NULL;
    if (!header && brk && (!strncmp(m, "Compilation Error", 17) || !strncmp(m, "Database Error", 14) ||
                           !strncmp(m, "Runtime Error", 13))) {
        header = arena_strndup(r->a, m, (size_t)(brk - m));
        shown.message = (char *)brk + 3;
    }
    diag_format(&shown, &f);
    if (header)
        sb_printf(&s, "  %s\n", header);
    const char *p = sb_cstr(&f);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        sb_puts(&s, "  ");
        sb_append(&s, p, n);
        sb_putc(&s, '\n');
        p += n + (nl ? 1 : 0);
    }
    while (s.len && s.buf[s.len - 1] == '\n')
        sb_truncate(&s, s.len - 1);
    const char *out = arena_strdup(r->a, sb_cstr(&s));
    sb_free(&f);
    sb_free(&s);
    return out;
}

static bool blocking(Runner *r, NodeStatus s)
{
    if (r->o->cmd == RUNNER_CLONE)
        return false;            /* dbt's clone: nodes are independent */
    if (s == NS_ERROR || s == NS_SKIPPED)
        return true;
    return r->o->cmd == RUNNER_BUILD && s == NS_FAIL;
}

static void complete(Runner *r, int i, NodeStatus s)
{
    RNode *n = &r->rn[i];
    n->done = true;
    n->status = s;
    r->ndone++;
    count_status(r, s);
    for (int k = 0; k < n->nkids; k++)
        if (--r->rn[n->kids[k]].pending == 0)
            heap_push(r, n->kids[k]);
}

static void emit_done(Runner *r, RunItem *it)
{
    if (r->o->ev.done)
        r->o->ev.done(r->o->ev.ud, it, r->res->total);
}

static void skip_node(Runner *r, int i, const char *why, bool ff)
{
    RunItem *it = new_item(r);
    Node *n = r->p->nodes[i];
    it->node = n;
    it->status = NS_SKIPPED;
    it->kind = kind_of(r, n);
    it->message = why;
    it->fail_fast_skip = ff;
    it->compile_start = it->compile_end = wallclock();
    if (!ff) {
        it->index = ++r->next_index;
        emit_done(r, it);
    }
    complete(r, i, NS_SKIPPED);
}

/* ---------------------------------------------------------------- preparing a job (main thread) */

static char *trimmed(Arena *a, const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return arena_strndup(a, s, n);
}

/* Render the node's pre-/post-hooks: entries are strings or {sql, transaction}. */
static int render_hooks(Runner *r, RJob *j, const char *key, const char ***out, bool **txn, int *nout, Diag *err)
{
    Node *n = r->p->nodes[j->node];
    Value *h = n->config ? dict_getz(n->config, key) : NULL;
    *nout = 0;
    if (!h || (h->type != V_LIST && h->type != V_STR && h->type != V_DICT))
        return 0;
    size_t cnt = h->type == V_LIST ? h->u.l->len : 1;
    *out = ARENA_ARRAY(&j->job.arena, const char *, cnt + 1);
    *txn = ARENA_ARRAY(&j->job.arena, bool, cnt + 1);
    for (size_t k = 0; k < cnt; k++) {
        Value e = h->type == V_LIST ? h->u.l->items[k] : *h;
        const char *sql = NULL;
        bool in_txn = true;
        if (e.type == V_STR) {
            sql = e.u.s->s;
        } else if (e.type == V_DICT) {
            Value *s = dict_getz(e.u.d, "sql");
            Value *t = dict_getz(e.u.d, "transaction");
            sql = s && s->type == V_STR ? s->u.s->s : NULL;
            if (t && t->type != V_NONE)
                in_txn = value_truthy(*t);
        }
        if (!sql)
            continue;
        const char *rendered;
        if (dbt_render_in_node(r->o->dbt, n, sql, &rendered, err) != 0)
            return -1;
        char *tsql = trimmed(&j->job.arena, rendered);
        if (!*tsql)
            continue;
        (*out)[*nout] = tsql;
        (*txn)[*nout] = in_txn;
        (*nout)++;
    }
    return 0;
}

/* A view in the cache may have been dropped since the cache was loaded:
 * rebuilding a table or view ends with `drop ... __dbt_backup cascade`,
 * which takes every view built on the old relation with it (§6.5).  Those
 * views are descendants, so they run later: on the worker, just before a
 * node whose relation is cached as a view and that has upstream nodes in
 * this run, one catalog lookup on the worker's connection corrects the
 * cache (not sent to target/run). */
static void verify_cached_view(Runner *r, PgConn *c, Node *n)
{
    if (!n->schema || !n->alias || !relational(n) || r->rn[n->index].ndeps == 0)
        return;
    RelType t = relcache_get(r->rc, n->schema, n->alias);
    if (t != REL_VIEW && t != REL_MATVIEW)
        return;
    Sb q = SB_INIT;
    sb_puts(&q, "select c.relkind from pg_catalog.pg_class c join pg_catalog.pg_namespace s on s.oid = c.relnamespace"
                " where s.nspname = ");
    pg_quote_literal(&q, n->schema);
    sb_puts(&q, " and c.relname = ");
    pg_quote_literal(&q, n->alias);
    PgResult *res = NULL;
    Diag err = {0};
    exec_log(r->sh, n->unique_id, "%s", sb_cstr(&q));
    if (pg_exec(c, sb_cstr(&q), &res, NULL, 0, &err) == 0 && res) {
        if (res->nrows == 0)
            relcache_set(r->rc, n->schema, n->alias, REL_NONE);
        else if (res->rows[0][0] && res->rows[0][0][0] == 'r')
            relcache_set(r->rc, n->schema, n->alias, REL_TABLE);
    }
    if (res)
        pg_result_free(res);
    diag_clear(&err);
    sb_free(&q);
}

/* The node's pre- and post-hooks, rendered into the job.  0, or -1 err set. */
static int prepare_hooks(Runner *r, RJob *j, Diag *err)
{
    return render_hooks(r, j, "pre-hook", &j->job.pre_hooks, &j->job.pre_in_txn, &j->job.npre, err) != 0 ||
                   render_hooks(r, j, "post-hook", &j->job.post_hooks, &j->job.post_in_txn, &j->job.npost, err) != 0
               ? -1
               : 0;
}

/* dbt's clone materialization on PostgreSQL (no zero-copy clones): 1 and a
 * "No-op" when the state has no relation for n or n's relation exists and
 * this is no full refresh (as dbt, an info line says which); else the view
 * materialization over `select * from <state relation>`. */
static int prepare_clone(Runner *r, RJob *j, Node *n, Diag *err)
{
    const char *from = r->o->clone_from ? strmap_getz((StrMap *)r->o->clone_from, n->unique_id) : NULL;
    if (!from) {
        info(r, "No relation found in state manifest for %s", n->unique_id);
        j->job.message = "No-op";
        return 1;
    }
    if (!r->o->full_refresh && relcache_get(r->rc, n->schema, n->alias ? n->alias : n->name) != REL_NONE) {
        info(r, "Relation %s already exists", n->relation_name ? n->relation_name : n->name);
        j->job.message = "No-op";
        return 1;
    }
    j->job.sql = arena_sprintf(&j->job.arena, "select * from %s", from);
    if (prepare_hooks(r, j, err) != 0)
        return -1;
    j->fn = mat_view;
    return 0;
}

/* Compile the node, render its hooks, find its executor.  0 ok; 1 nothing
 * to execute (clone's No-op); -1 err set. */
static int prepare(Runner *r, RJob *j, Diag *err)
{
    Node *n = r->p->nodes[j->node];
    j->compile_start = wallclock();
    int rc = -1;
    if (r->o->cmd == RUNNER_CLONE) {
        rc = prepare_clone(r, j, n, err);
        goto done;
    }
    if (n->rt != RT_SEED) {
        if (dbt_compile_node(r->o->dbt, n, err) != 0)
            goto done;
        j->job.sql = n->compiled_code;   /* target/compiled is written by the worker */
    }
    if (prepare_hooks(r, j, err) != 0)
        goto done;
    j->fn = exec_materialization(n, err);
    if (!j->fn)
        goto done;
    rc = 0;
done:
    /* statements run while compiling (statement blocks, run_query) commit
     * with the node, as dbt's would */
    if (pg_in_transaction(r->main)) {
        Diag cerr = {0};
        logf_main(r, "COMMIT");
        if (pg_commit(r->main, &cerr) != 0)
            diag_clear(&cerr);
    }
    j->compile_end = wallclock();
    return rc;
}

static RJob *new_job(Runner *r, int i)
{
    RJob *j = xcalloc(1, sizeof *j);
    j->node = i;
    arena_init(&j->job.arena, 0);
    j->job.node = r->p->nodes[i];
    j->job.rc = r->rc;
    j->job.sh = r->sh;
    j->job.full_refresh = r->o->full_refresh;
    j->job.mb_batch = -1;
    j->job.store_failures = r->o->store_failures;
    j->job.params = r->o->params;
    j->job.status = NS_SUCCESS;
    j->job.rows_affected = -1;
    j->job.failures = -1;
    return j;
}

static void free_job(RJob *j)
{
    free(j->mb);
    free(j->mb_ok);
    free(j->mb_fail);
    diag_clear(&j->mb_err);
    diag_clear(&j->job.err);
    sb_free(&j->job.sent);
    free(j->job.console_extra);
    free(j->run_rel);
    arena_free(&j->job.arena);
    free(j);
}

/* target/run/<pkg>/<original_file_path>[/<test path>]: written by the
 * worker (file writes in parallel); returns the path shown to the user
 * (relative to the project when under it), malloc'd, or NULL. */
static char *write_run_file(const Runner *r, const Node *n, const Sb *sent, const char *suffix)
{
    if (!sent->len)
        return NULL;
    Sb path = SB_INIT;
    sb_printf(&path, "%s/run/%s/%s", r->o->target_dir, n->package_name ? n->package_name : "",
              n->original_file_path ? n->original_file_path : n->name);
    if (suffix) {
        /* dbt's split_suffix: models/x.sql -> models/x_<batch>.sql */
        const char *slash = strrchr(sb_cstr(&path), '/');
        const char *dot = strrchr(sb_cstr(&path), '.');
        size_t cut = dot && (!slash || dot > slash) ? (size_t)(dot - sb_cstr(&path)) : path.len;
        char *ext = xstrdup(sb_cstr(&path) + cut);
        sb_truncate(&path, cut);
        sb_printf(&path, "_%s%s", suffix, ext);
        free(ext);
    }
    if (n->is_generic_test && n->path)
        sb_printf(&path, "/%s", n->path);
    else if (n->rt == RT_UNIT_TEST)
        sb_printf(&path, "/%s.sql", n->name);
    char *rel = NULL;
    /* in place: replacing thousands of files through temporary + rename
     * costs an inode allocation each (ext4 scans recently freed inodes) */
    if (fs_write_file_direct(sb_cstr(&path), sent->buf, sent->len) == 0) {
        size_t rl = strlen(r->p->root);
        const char *pp = sb_cstr(&path);
        rel = xstrdup(strncmp(pp, r->p->root, rl) == 0 && pp[rl] == '/' ? pp + rl + 1 : pp);
    }
    sb_free(&path);
    return rel;
}

/* A finished job -> RunItem, console, dependants. */
static void finish_job(Runner *r, RJob *j)
{
    Node *n = r->p->nodes[j->node];
    NodeJob *job = &j->job;
    RunItem *it = new_item(r);
    it->node = n;
    it->index = j->index;
    it->kind = kind_of(r, n);
    it->thread = j->thread;
    it->compile_start = j->compile_start;
    it->compile_end = j->compile_end;
    it->exec_start = j->exec_start;
    it->exec_end = j->exec_end;
    it->rows_affected = job->rows_affected;
    it->failures = job->failures;
    NodeStatus st = job->status;
    if (j->rc != 0 || job->err.set)
        st = NS_ERROR;
    if (st == NS_WARN && r->o->warn_error)
        st = NS_FAIL;
    it->status = st;
    it->run_path = j->run_rel ? arena_strdup(r->a, j->run_rel) : NULL;
    if (st == NS_ERROR) {
        Diag *d = &job->err;
        const char *m = d->message ? d->message : "unknown error";
        bool prefixed = !strncmp(m, "Database Error", 14) || !strncmp(m, "Compilation Error", 17) ||
                        !strncmp(m, "Runtime Error", 13);
        it->message = prefixed ? arena_strdup(r->a, m)
                               : arena_sprintf(r->a, "Database Error in %s %s (%s)\n  %s", rt_name(n->rt), n->name,
                                               n->original_file_path ? n->original_file_path : "", m);
        it->error_detail = error_detail(r, prefixed ? NULL : arena_sprintf(r->a, "Database Error in %s %s (%s)",
                                        rt_name(n->rt), n->name, n->original_file_path ? n->original_file_path : ""), d);
    } else {
        it->message = job->message ? arena_strdup(r->a, job->message) : NULL;
    }
    if (job->adapter_code || job->adapter_message || (job->message && n->rt != RT_TEST)) {
        const char *am = job->adapter_message ? job->adapter_message : job->message;
        it->adapter_message = am ? arena_strdup(r->a, am) : NULL;
        it->adapter_code = job->adapter_code ? arena_strdup(r->a, job->adapter_code) : NULL;
    }
    if (job->console_extra)
        it->console_extra = arena_strdup(r->a, job->console_extra);
    if (j->mb) {
        /* a microbatch model: one entry for all its batches */
        it->is_microbatch = true;
        it->nbatch_ok = j->mb_nok;
        it->nbatch_fail = j->mb_nfail;
        it->batch_ok = ARENA_ARRAY(r->a, int64_t, 2 * (size_t)j->mb_nok + 1);
        it->batch_fail = ARENA_ARRAY(r->a, int64_t, 2 * (size_t)j->mb_nfail + 1);
        if (j->mb_nok)
            memcpy(it->batch_ok, j->mb_ok, sizeof(int64_t) * 2 * (size_t)j->mb_nok);
        if (j->mb_nfail)
            memcpy(it->batch_fail, j->mb_fail, sizeof(int64_t) * 2 * (size_t)j->mb_nfail);
        it->adapter_message = it->adapter_code = NULL;
        it->rows_affected = -1;
        if (st == NS_PARTIAL && j->mb_err.set)
            it->error_detail = error_detail(r, NULL, &j->mb_err);
        it->message = st == NS_SUCCESS ? "SUCCESS" : st == NS_ERROR ? it->message
                    : arena_sprintf(r->a, "PARTIAL SUCCESS (%d/%d)", j->mb_nok, j->mb_nok + j->mb_nfail);
    }
    emit_done(r, it);
    complete(r, j->node, st);
    if (!r->stop && r->o->fail_fast && (st == NS_ERROR || st == NS_FAIL || st == NS_PARTIAL))
        r->stop = true;
}

static void compile_failed(Runner *r, RJob *j, Diag *err)
{
    Node *n = r->p->nodes[j->node];
    RunItem *it = new_item(r);
    it->node = n;
    it->index = ++r->next_index;
    it->kind = kind_of(r, n);
    it->status = NS_ERROR;
    it->compile_start = j->compile_start;
    it->compile_end = j->compile_end;
    const char *m = err->message ? err->message : "compilation failed";
    it->message = strncmp(m, "Compilation Error", 17) == 0
                      ? arena_strdup(r->a, m)
                      : arena_sprintf(r->a, "Compilation Error in %s %s (%s)\n  %s", rt_name(n->rt), n->name,
                                      n->original_file_path ? n->original_file_path : "", m);
    it->error_detail = error_detail(r, strncmp(m, "Compilation Error", 17) == 0 ? NULL
                                    : arena_sprintf(r->a, "Compilation Error in %s %s (%s)", rt_name(n->rt),
                                                    n->name, n->original_file_path ? n->original_file_path : ""), err);
    if (r->o->ev.start)
        r->o->ev.start(r->o->ev.ud, it, r->res->total);
    emit_done(r, it);
    complete(r, j->node, NS_ERROR);
    if (r->o->fail_fast)
        r->stop = true;
}

/* ---------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
    Worker *w = arg;
    Runner *r = w->r;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->quit && r->qlen == 0)
            pthread_cond_wait(&r->cv_work, &r->mu);
        if (r->qlen == 0)
            break;
        RJob *j = r->queue[0];
        memmove(r->queue, r->queue + 1, sizeof(RJob *) * (size_t)(r->qlen - 1));
        r->qlen--;
        w->busy = true;
        PgConn *conn = w->conn;
        pthread_mutex_unlock(&r->mu);

        if (!conn) {   /* lost earlier: reconnect */
            Diag cerr = {0};
            conn = pg_connect(r->o->params, &cerr);
            diag_clear(&cerr);
            pthread_mutex_lock(&r->mu);
            w->conn = conn;
            pthread_mutex_unlock(&r->mu);
        }
        j->thread = w->id;
        j->exec_start = wallclock();
        if (j->mb && j->mb_i == 0)
            j->mb_exec_first = j->exec_start;
        if (!conn) {
            diag_set(&j->job.err, NULL, 0, 0, NULL, "could not connect to the database");
            j->rc = -1;
        } else if (exec_cancelled(r->sh)) {
            diag_set(&j->job.err, NULL, 0, 0, NULL, "cancelled");
            j->rc = -1;
        } else {
            j->job.conn = conn;
            Diag werr = {0};
            if (j->job.node->compiled && dbt_write_compiled(r->o->dbt, j->job.node, &werr) != 0)
                diag_clear(&werr);        /* not fatal: the node still runs */
            verify_cached_view(r, conn, j->job.node);
            j->rc = j->fn(&j->job);
            if (j->rc != 0 && !j->job.err.set)
                diag_set(&j->job.err, NULL, 0, 0, NULL, "the node failed without a message");
        }
        j->exec_end = wallclock();
        j->run_rel = write_run_file(r, j->job.node, &j->job.sent, j->mb ? j->mb_label : NULL);
        if (conn && (j->rc != 0 || j->job.status == NS_ERROR)) {
            /* after an error dbt closes the connection: start the next node
             * on a fresh one (the server may also have dropped this one) */
            pthread_mutex_lock(&r->mu);
            w->conn = NULL;
            pthread_mutex_unlock(&r->mu);
            pg_close(conn);
            Diag cerr = {0};
            PgConn *fresh = exec_cancelled(r->sh) ? NULL : pg_connect(r->o->params, &cerr);
            diag_clear(&cerr);
            pthread_mutex_lock(&r->mu);
            w->conn = fresh;
            pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_lock(&r->mu);
        w->busy = false;
        if (r->nfin == r->fincap) {
            r->fincap = r->fincap ? r->fincap * 2 : 16;
            r->fin = xrealloc(r->fin, sizeof(RJob *) * (size_t)r->fincap);
        }
        r->fin[r->nfin++] = j;
        pthread_cond_signal(&r->cv_done);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void cancel_running(Runner *r)
{
    exec_shared_cancel(r->sh);
    pthread_mutex_lock(&r->mu);
    for (int k = 0; k < r->nw; k++)
        if (r->w[k].busy && r->w[k].conn)
            pg_cancel(r->w[k].conn);
    pthread_mutex_unlock(&r->mu);
}

/* ---------------------------------------------------------------- schemas and hooks */

static int create_schemas(Runner *r, Diag *err)
{
    Project *p = r->p;
    StrMap want;
    strmap_init(&want);
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!r->rn[i].run || !n->schema)
            continue;
        if (relational(n) || (n->rt == RT_TEST && (r->o->store_failures || cfg_true(n, "store_failures"))))
            strmap_put(&want, n->schema, strlen(n->schema), (void *)n->schema);
    }
    int rc = -1;
    PgResult *res = NULL;
    if (want.len == 0) {
        rc = 0;
        goto done;
    }
    if (main_exec(r, "select distinct nspname from pg_namespace", &res, NULL, 0, err) != 0)
        goto done;
    for (size_t k = 0; k < want.len; k++) {
        const char *s = want.entries[k].val;
        bool exists = false;
        for (int row = 0; row < res->nrows && !exists; row++)
            exists = res->rows[row][0] && !strcasecmp(res->rows[row][0], s);
        if (!exists) {
            Sb q = SB_INIT;
            sb_puts(&q, "create schema if not exists ");
            pg_quote_ident(&q, s);
            int qrc = main_exec(r, sb_cstr(&q), NULL, NULL, 0, err);
            sb_free(&q);
            if (qrc != 0)
                goto done;
        }
        if (relcache_load_schema(r->rc, r->main, s, err) != 0)
            goto done;
    }
    rc = 0;
done:
    if (res)
        pg_result_free(res);
    strmap_free(&want);
    return rc;
}

/* dbt-postgres' adapter response: code = the words of the status that are
 * not numbers; rows affected = the last number (INSERT 0 5 -> 5). */
static const char *tag_code(Runner *r, const char *tag, int64_t *rows)
{
    Sb code = SB_INIT;
    const char *p = tag;
    *rows = -1;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        bool num = true;
        while (*p && *p != ' ') {
            num = num && *p >= '0' && *p <= '9';
            p++;
        }
        if (p == w)
            break;
        if (num) {
            *rows = strtoll(w, NULL, 10);
        } else {
            if (code.len)
                sb_putc(&code, ' ');
            sb_append(&code, w, (size_t)(p - w));
        }
    }
    const char *out = arena_strdup(r->a, sb_cstr(&code));
    sb_free(&code);
    return out;
}

static Node *hook_node(Runner *r, const char *which, int k, const char *sql)
{
    Project *p = r->p;
    Node *n = ARENA_NEW(r->a, Node);
    n->index = -1;
    n->rt = RT_OPERATION;
    n->package_name = p->name;
    n->name = arena_sprintf(r->a, "%s-%s-%d", p->name, which, k);
    n->unique_id = arena_sprintf(r->a, "operation.%s.%s", p->name, n->name);
    n->path = arena_sprintf(r->a, "hooks/%s.sql", n->name);
    n->original_file_path = "./dbt_project.yml";
    n->compiled = sql != NULL;
    node_set_compiled_code(n, sql);
    return n;
}

static Value results_value(Runner *r, Arena *a)
{
    Value l = v_list(a, (size_t)r->res->n);
    for (int i = 0; i < r->res->n; i++) {
        RunItem *it = &r->res->items[i];
        if (it->is_hook)
            continue;
        Value d = v_dict(a);
        Value nd = v_dict(a);
        Node *n = it->node;
        dict_setz(a, nd.u.d, "unique_id", v_strz(a, n->unique_id));
        dict_setz(a, nd.u.d, "name", v_strz(a, n->name));
        dict_setz(a, nd.u.d, "resource_type", v_strz(a, rt_name(n->rt)));
        dict_setz(a, nd.u.d, "schema", n->schema ? v_strz(a, n->schema) : v_none());
        dict_setz(a, nd.u.d, "database", n->database ? v_strz(a, n->database) : v_none());
        dict_setz(a, nd.u.d, "alias", n->alias ? v_strz(a, n->alias) : v_none());
        dict_setz(a, nd.u.d, "relation_name", n->relation_name ? v_strz(a, n->relation_name) : v_none());
        if (n->config) {
            Value c = {.type = V_DICT};
            c.u.d = n->config;
            dict_setz(a, nd.u.d, "config", c);
        }
        dict_setz(a, d.u.d, "node", nd);
        dict_setz(a, d.u.d, "unique_id", v_strz(a, n->unique_id));
        dict_setz(a, d.u.d, "status", v_strz(a, runner_status_name(it->status)));
        dict_setz(a, d.u.d, "message", it->message ? v_strz(a, it->message) : v_none());
        dict_setz(a, d.u.d, "failures", it->failures >= 0 ? v_int(it->failures) : v_none());
        dict_setz(a, d.u.d, "execution_time",
                  v_float(it->exec_end > it->exec_start ? it->exec_end - it->exec_start : 0.0));
        dict_setz(a, d.u.d, "thread_id", v_strz(a, arena_sprintf(a, "Thread-%d", it->thread ? it->thread : 1)));
        list_append(a, l.u.l, d);
    }
    return l;
}

/* on-run-start / on-run-end (§6.6): rendered without a node, run in
 * autocommit on the main connection; a failure skips the later hooks. */
static int run_hooks(Runner *r, const char *which, bool end)
{
    Project *p = r->p;
    Value *h = p->project_yml ? dict_getz(p->project_yml, which) : NULL;
    if (!h || (h->type != V_STR && h->type != V_LIST))
        return 0;
    int cnt = h->type == V_STR ? 1 : (int)h->u.l->len;
    int nreal = 0;
    for (int k = 0; k < cnt; k++) {
        Value e = h->type == V_STR ? *h : h->u.l->items[k];
        if (e.type == V_STR)
            nreal++;
    }
    if (!nreal)
        return 0;
    if (end)
        info(r, "%s", "");
    info(r, "Running %d %s hook%s", nreal, which, nreal == 1 ? "" : "s");
    VDict *extra = NULL;
    Arena ea;
    arena_init(&ea, 0);
    if (end) {
        extra = v_dict(&ea).u.d;
        Value schemas = v_list(&ea, 0), dbs = v_list(&ea, 0);
        StrMap seen;
        strmap_init(&seen);
        for (int i = 0; i < r->res->n; i++) {
            RunItem *it = &r->res->items[i];
            Node *n = it->node;
            if (it->is_hook || it->status != NS_SUCCESS || !relational(n) || !n->schema)
                continue;
            if (strmap_get(&seen, n->schema, strlen(n->schema)))
                continue;
            strmap_put(&seen, n->schema, strlen(n->schema), (void *)n->schema);
            list_append(&ea, schemas.u.l, v_strz(&ea, n->schema));
            Value t = v_tuple(&ea, 2);
            t.u.l->items[0] = n->database ? v_strz(&ea, n->database) : v_none();
            t.u.l->items[1] = v_strz(&ea, n->schema);
            list_append(&ea, dbs.u.l, t);
        }
        strmap_free(&seen);
        dict_setz(&ea, extra, "schemas", schemas);
        dict_setz(&ea, extra, "database_schemas", dbs);
        dict_setz(&ea, extra, "results", results_value(r, &ea));
    }
    int failed = 0, idx = 0;
    for (int k = 0; k < cnt; k++) {
        Value e = h->type == V_STR ? *h : h->u.l->items[k];
        if (e.type != V_STR)
            continue;
        RunItem *it = new_item(r);
        it->is_hook = true;
        it->index = ++idx;
        it->kind = "hook";
        it->compile_start = wallclock();
        const char *sql = NULL;
        Diag err = {0};
        it->node = hook_node(r, which, idx - 1, NULL);
        it->node->name = arena_sprintf(r->a, "%s.%s.%d", p->name, which, idx - 1);
        it->node->unique_id = arena_sprintf(r->a, "operation.%s.%s-%s-%d", p->name, p->name, which, idx - 1);
        if (failed) {
            it->status = NS_SKIPPED;
            it->compile_end = wallclock();
            if (r->o->ev.done)
                r->o->ev.done(r->o->ev.ud, it, nreal);
            continue;
        }
        if (r->o->ev.start)
            r->o->ev.start(r->o->ev.ud, it, nreal);
        int rc = dbt_render_hook(r->o->dbt, e.u.s->s, "dbt_project.yml", extra, &sql, &err);
        it->compile_end = it->exec_start = wallclock();
        char tag[64] = "OK";
        if (rc == 0) {
            sql = trimmed(r->a, sql);
            it->node->compiled = true;
            node_set_compiled_code(it->node, sql);
            if (*sql)
                rc = main_exec(r, sql, NULL, tag, sizeof tag, &err);
            if (rc == 0 && pg_in_transaction(r->main))
                rc = pg_commit(r->main, &err);
        }
        it->exec_end = wallclock();
        if (rc == 0) {
            it->status = NS_SUCCESS;
            it->message = arena_strdup(r->a, *tag ? tag : "OK");
            it->adapter_message = it->message;
            it->adapter_code = tag_code(r, it->message, &it->rows_affected);
        } else {
            pg_rollback(r->main);
            it->status = NS_ERROR;
            const char *m = err.message ? err.message : "hook failed";
            it->message = arena_sprintf(r->a, "Database Error in operation %s (./dbt_project.yml)\n  %s",
                                        it->node->name, m);
            it->error_detail = error_detail(r, arena_sprintf(r->a, "Database Error in operation %s (./dbt_project.yml)",
                                                             it->node->name), &err);
            r->res->nerror++;
            failed = 1;
        }
        diag_clear(&err);
        if (r->o->ev.done)
            r->o->ev.done(r->o->ev.ud, it, nreal);
    }
    if (!end)
        info(r, "%s", "");
    arena_free(&ea);
    return failed ? -1 : 0;
}

/* ---------------------------------------------------------------- the walk */

static bool interrupted(Runner *r)
{
    return r->o->interrupted && *r->o->interrupted;
}

static void enqueue(Runner *r, RJob *j)
{
    pthread_mutex_lock(&r->mu);
    if (r->qlen == r->qcap) {
        r->qcap = r->qcap ? r->qcap * 2 : 16;
        r->queue = xrealloc(r->queue, sizeof(RJob *) * (size_t)r->qcap);
    }
    r->queue[r->qlen++] = j;
    r->ninflight++;
    pthread_cond_signal(&r->cv_work);
    pthread_mutex_unlock(&r->mu);
}

/* ---------------------------------------------------------------- microbatch models
 *
 * dbt 1.9's MicrobatchModelRunner: the batches are planned when the model
 * is dispatched; each batch is compiled here on the main thread with its
 * window bound (dbt_set_batch), run by a worker as an incremental step
 * (mat_incremental), and reported; then the next one is compiled and
 * queued.  Batches run one after the other (concurrent_batches is not
 * honoured).  When the first batch fails the others are not run and count
 * as failed. */

static void mb_event(Runner *r, RJob *j, int phase, const char *status, double secs)
{
    if (!r->o->ev.batch)
        return;
    RunItem m;
    memset(&m, 0, sizeof m);
    m.node = r->p->nodes[j->node];
    m.index = j->index;
    m.kind = kind_of(r, m.node);
    RunBatch b = {&m, j->mb_i + 1, j->mb_n, j->mb_label, phase, status, secs};
    r->o->ev.batch(r->o->ev.ud, &b);
}

static void mb_record(RJob *j, bool ok)
{
    int64_t **arr = ok ? &j->mb_ok : &j->mb_fail;
    int *n = ok ? &j->mb_nok : &j->mb_nfail;
    *arr = xrealloc(*arr, sizeof(int64_t) * 2 * (size_t)(*n + 1));
    (*arr)[2 * *n] = j->mb[2 * j->mb_i];
    (*arr)[2 * *n + 1] = j->mb[2 * j->mb_i + 1];
    (*n)++;
}

static void mb_set_label(RJob *j)
{
    dbt_mb_label(j->mb[2 * j->mb_i], j->mb_size, j->mb_label);
}

/* dbt's get_batches: the window from --event-time-start/-end, `begin` (first
 * build, full refresh) or the lookback before now. */
static void mb_plan(Runner *r, RJob *j)
{
    Node *n = r->p->nodes[j->node];
    j->mb_size = dbt_mb_size(cfg_str(n, "batch_size"));
    if (j->mb_size < 0)
        j->mb_size = DBT_MB_DAY;   /* not reached: validated while parsing */
    int64_t begin = 0;
    if (dbt_mb_begin(n, &begin) != 0)
        begin = 0;
    int lookback = 1;
    Value *lb = n->config ? dict_getz(n->config, "lookback") : NULL;
    if (lb && (lb->type == V_INT || lb->type == V_BOOL))
        lookback = lb->type == V_INT ? (int)lb->u.i : lb->u.b;
    if (lookback < 0)
        lookback = 0;
    RelType t = n->schema && n->alias ? relcache_get(r->rc, n->schema, n->alias) : REL_NONE;
    Value *frc = n->config ? dict_getz(n->config, "full_refresh") : NULL;
    bool fr = frc && frc->type != V_NONE && frc->type != V_UNDEF ? value_truthy(*frc) : r->o->full_refresh;
    j->mb_incr = t == REL_TABLE && !fr;
    j->mb_n = dbt_mb_batches(j->mb_size, begin, lookback, j->mb_incr, r->o->event_time_start,
                             r->o->event_time_end, (int64_t)r->res->started_at, &j->mb);
    j->mb_i = 0;
}

static void mb_reset(RJob *j)
{
    diag_clear(&j->job.err);
    sb_reset(&j->job.sent);
    j->job.status = NS_SUCCESS;
    j->job.message = j->job.adapter_code = j->job.adapter_message = NULL;
    j->job.rows_affected = -1;
    free(j->job.console_extra);
    j->job.console_extra = NULL;
    j->rc = 0;
}

/* Compile batch mb_i with its window bound.  0, or -1 with err. */
static int mb_prepare(Runner *r, RJob *j, Diag *err)
{
    Node *n = r->p->nodes[j->node];
    char st[32], en[32], id[32];
    dbt_mb_fmt(j->mb[2 * j->mb_i], st);
    dbt_mb_fmt(j->mb[2 * j->mb_i + 1], en);
    dbt_mb_id(j->mb[2 * j->mb_i], j->mb_size, id);
    bool incr = j->mb_i > 0 || j->mb_incr;
    DbtBatch b = {n, id, st, en, incr};
    dbt_set_batch(r->o->dbt, &b);
    n->compiled = false;
    j->job.mb_batch = j->mb_i;
    j->job.mb_incremental = j->mb_i > 0;
    j->job.full_refresh = j->mb_i == 0 ? r->o->full_refresh : false;
    double cs = j->compile_start;
    int rc = prepare(r, j, err);
    if (j->mb_i > 0)
        j->compile_start = cs;   /* the model's compile timing starts with its first batch */
    dbt_set_batch(r->o->dbt, NULL);
    return rc;
}

static void mb_fail_rest(Runner *r, RJob *j)
{
    while (++j->mb_i < j->mb_n) {
        mb_set_label(j);
        mb_record(j, false);
        mb_event(r, j, 3, "SKIP", -1);
    }
}

/* Compile and queue the next batch from mb_i on (a batch that fails to
 * compile is recorded failed).  false when no batch is left to run. */
static bool mb_next(Runner *r, RJob *j)
{
    while (j->mb_i < j->mb_n) {
        if (r->stop) {
            j->mb_i--;
            mb_fail_rest(r, j);
            return false;
        }
        mb_reset(j);
        free(j->run_rel);   /* the model's entry keeps the last batch's file */
        j->run_rel = NULL;
        mb_set_label(j);
        mb_event(r, j, 0, NULL, -1);
        j->mb_batch_start = wallclock();
        Diag err = {0};
        if (mb_prepare(r, j, &err) == 0) {
            enqueue(r, j);
            return true;
        }
        if (!j->mb_err.set)
            j->mb_err = err;
        else
            diag_clear(&err);
        mb_record(j, false);
        mb_event(r, j, 2, "ERROR", wallclock() - j->mb_batch_start);
        if (j->mb_i == 0) {
            mb_fail_rest(r, j);
            return false;
        }
        j->mb_i++;
    }
    return false;
}

/* After the last batch: the model's status and error. */
static void mb_conclude(RJob *j)
{
    mb_reset(j);
    if (j->mb_nfail == 0) {
        j->job.status = NS_SUCCESS;
    } else if (j->mb_nok == 0) {
        j->job.status = NS_ERROR;
        if (j->mb_err.set) {
            j->job.err = j->mb_err;
            memset(&j->mb_err, 0, sizeof j->mb_err);
        } else {
            diag_set(&j->job.err, NULL, 0, 0, NULL, "every batch failed");
        }
        j->rc = -1;
    } else {
        j->job.status = NS_PARTIAL;
    }
}

/* A batch came back from a worker: report it, then queue the next one.
 * true when the job is in flight again. */
static bool mb_batch_done(Runner *r, RJob *j)
{
    bool ok = j->rc == 0 && !j->job.err.set && j->job.status != NS_ERROR;
    mb_record(j, ok);
    if (!ok && !j->mb_err.set) {
        j->mb_err = j->job.err;
        memset(&j->job.err, 0, sizeof j->job.err);
        if (!j->mb_err.set)
            diag_set(&j->mb_err, NULL, 0, 0, NULL, "the batch failed without a message");
    }
    const char *msg = j->job.adapter_message ? j->job.adapter_message : j->job.message ? j->job.message : "OK";
    mb_event(r, j, ok ? 1 : 2, ok ? msg : "ERROR", j->exec_end - j->mb_batch_start);
    if (!ok && j->mb_i == 0) {
        mb_fail_rest(r, j);
    } else {
        j->mb_i++;
        if (mb_next(r, j))
            return true;
    }
    mb_conclude(j);
    return false;
}

static void process_finished(Runner *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->nfin;
    RJob **batch = NULL;
    if (n) {
        batch = xmalloc(sizeof(RJob *) * (size_t)n);
        memcpy(batch, r->fin, sizeof(RJob *) * (size_t)n);
        r->nfin = 0;
    }
    pthread_mutex_unlock(&r->mu);
    for (int k = 0; k < n; k++) {
        r->ninflight--;
        RJob *j = batch[k];
        if (j->mb) {
            double es = j->mb_exec_first;
            if (mb_batch_done(r, j))
                continue;
            j->exec_start = es;
        }
        finish_job(r, j);
        free_job(j);
    }
    free(batch);
}

static void wait_finished(Runner *r)
{
    pthread_mutex_lock(&r->mu);
    if (r->nfin == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv_done, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    process_finished(r);
    flush_log(r, false);
}

static void dispatch(Runner *r, int i)
{
    RNode *n = &r->rn[i];
    for (int k = 0; k < n->ndeps; k++)
        if (blocking(r, r->rn[n->deps[k]].status)) {
            skip_node(r, i, NULL, false);
            return;
        }
    RJob *j = new_job(r, i);
    Diag err = {0};
    Node *node = r->p->nodes[i];
    if ((r->o->cmd == RUNNER_RUN || r->o->cmd == RUNNER_BUILD) && dbt_is_microbatch(node)) {
        mb_plan(r, j);
        j->index = ++r->next_index;
        j->compile_start = wallclock();
        if (r->o->ev.start) {
            RunItem tmp;
            memset(&tmp, 0, sizeof tmp);
            tmp.node = node;
            tmp.index = j->index;
            tmp.kind = kind_of(r, node);
            r->o->ev.start(r->o->ev.ud, &tmp, r->res->total);
        }
        if (!mb_next(r, j)) {
            mb_conclude(j);
            j->compile_end = j->exec_end = wallclock();
            finish_job(r, j);
            free_job(j);
        }
        return;
    }
    int prc = prepare(r, j, &err);
    if (prc < 0) {
        compile_failed(r, j, &err);
        diag_clear(&err);
        free_job(j);
        return;
    }
    if (prc > 0) {               /* nothing to execute (clone: "No-op") */
        j->index = ++r->next_index;
        j->exec_start = j->exec_end = j->compile_end;
        finish_job(r, j);
        free_job(j);
        return;
    }
    j->index = ++r->next_index;
    if (r->o->ev.start) {
        RunItem tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.node = r->p->nodes[i];
        tmp.index = j->index;
        tmp.kind = kind_of(r, tmp.node);
        r->o->ev.start(r->o->ev.ud, &tmp, r->res->total);
    }
    enqueue(r, j);
}

static void walk(Runner *r)
{
    int total = r->res->total;
    bool cancelled = false;
    while (r->ndone < total) {
        if (interrupted(r) && !r->res->interrupted) {
            r->res->interrupted = true;
            r->stop = true;
        }
        if (r->stop && !cancelled) {
            cancel_running(r);
            cancelled = true;
            if (r->o->fail_fast && !r->res->interrupted)
                r->res->stopped = true;
        }
        while (!r->stop && r->ninflight < r->nw && r->nheap > 0)
            dispatch(r, heap_pop(r));
        if (r->stop && r->ninflight == 0)
            break;
        if (r->ninflight == 0 && r->nheap == 0)
            break;   /* nothing can become ready (should not happen) */
        if (r->ninflight > 0)
            wait_finished(r);
    }
    /* whatever never ran */
    const char *why = r->res->interrupted ? "Skipping due to interrupt" : "Skipping due to fail_fast";
    for (int k = 0; k < r->g->n; k++) {
        int i = r->g->topo[k];
        if (r->rn[i].run && !r->rn[i].done)
            skip_node(r, i, why, true);
    }
}

/* ---------------------------------------------------------------- entry */

/* The main connection and the workers' (nw), opened at the same time (each
 * costs the server a backend start).  On failure err holds the first
 * failure, the main connection's first; what did connect stays in r for the
 * cleanup. */
typedef struct ConnTask { const PgParams *params; PgConn *conn; Diag err; pthread_t th; bool started; } ConnTask;

static void *connect_task(void *ud)
{
    ConnTask *t = ud;
    t->conn = pg_connect(t->params, &t->err);
    return NULL;
}

static int connect_all(Runner *r, int nw, Diag *err)
{
    ConnTask *t = xcalloc((size_t)nw + 1, sizeof *t);
    for (int k = 0; k < nw; k++) {
        t[k].params = r->o->params;
        t[k].started = pthread_create(&t[k].th, NULL, connect_task, &t[k]) == 0;
    }
    r->main = pg_connect(r->o->params, err);
    int rc = r->main ? 0 : -1;
    for (int k = 0; k < nw; k++) {
        if (t[k].started)
            pthread_join(t[k].th, NULL);
        else
            connect_task(&t[k]);
        r->w[k].conn = t[k].conn;
        if (!t[k].conn && rc == 0) {
            *err = t[k].err;                /* moved */
            memset(&t[k].err, 0, sizeof t[k].err);
            rc = -1;
        }
        diag_clear(&t[k].err);
    }
    free(t);
    return rc;
}

static int open_log(Runner *r)
{
    if (!r->o->log_dir)
        return 0;
    if (fs_mkdir_p(r->o->log_dir) != 0)
        return 0;
    Sb path = SB_INIT;
    sb_printf(&path, "%s/cdbt.log", r->o->log_dir);
    r->log = fopen(sb_cstr(&path), "a");
    sb_free(&path);
    /* Lines are not flushed one by one (a write per line was most of the
     * log's cost): the main loop flushes at least every LOG_FLUSH_SECS. */
    if (r->log) {
        r->logbuf = xmalloc(LOG_BUF);
        setvbuf(r->log, r->logbuf, _IOFBF, LOG_BUF);
    }
    return 0;
}

/* Flush logs/cdbt.log if the last flush is older than LOG_FLUSH_SECS (main
 * thread; stdio locks the stream against the workers' exec_log). */
static void flush_log(Runner *r, bool force)
{
    if (!r->log)
        return;
    double now = wallclock();
    if (force || now - r->log_flushed >= LOG_FLUSH_SECS) {
        fflush(r->log);
        r->log_flushed = now;
    }
}

/* The log, the shared state (target dir, --warn-error, query comment) and
 * the relation cache: run, run-operation and show alike. */
static void shared_open(Runner *r)
{
    const RunnerOptions *o = r->o;
    open_log(r);
    r->sh = exec_shared_new(r->log);
    exec_shared_set_target_dir(r->sh, o->target_dir);
    exec_shared_set_warn_error(r->sh, o->warn_error);
    Value *qc = r->p->project_yml ? dict_getz(r->p->project_yml, "query-comment") : NULL;
    if (!qc || (qc->type != V_NONE && !(qc->type == V_STR && !qc->u.s->len)))
        exec_shared_set_query_comment(r->sh, r->p->profile_name, r->p->target_name);
    r->rc = relcache_new();
}

/* The main connection as the templates' database (DbtDb). */
static void bind_db(Runner *r)
{
    r->db.ud = r;
    r->db.execute = db_execute;
    r->db.release = db_release;
    r->db.relation_type = db_relation_type;
    r->db.commit = db_commit;
    r->db.relation_changed = db_relation_changed;
    dbt_set_db(r->o->dbt, &r->db);
}

int runner_run(const RunnerOptions *o, RunnerResult *out, Diag *err)
{
    memset(out, 0, sizeof *out);
    arena_init(&out->arena, 0);
    out->started_at = wallclock();
    Runner rr;
    Runner *r = &rr;
    memset(r, 0, sizeof *r);
    r->o = o;
    r->p = o->project;
    r->g = o->graph;
    r->res = out;
    r->a = &out->arena;
    int n = r->p->nnodes;
    int rc = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv_work, NULL);
    pthread_cond_init(&r->cv_done, NULL);
    r->rn = xcalloc((size_t)n + 1, sizeof(RNode));
    r->pos = xcalloc((size_t)n + 1, sizeof(int));
    r->heap = xcalloc((size_t)n + 1, sizeof(int));
    for (int k = 0; k < r->g->n; k++)
        r->pos[r->g->topo[k]] = k;
    for (int i = 0; i < n; i++)
        if (o->selected[i] && executable(r->p->nodes[i])) {
            r->rn[i].run = true;
            out->total++;
        }
    build_deps(r);
    if (o->cmd == RUNNER_BUILD) {
        add_test_gates(r);
        unit_tests_first(r);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < r->rn[i].ndeps; k++) {
            int pa = r->rn[i].deps[k];
            add_int(&r->rn[pa].kids, &r->rn[pa].nkids, i);
        }
    for (int i = 0; i < n; i++)
        r->rn[i].pending = r->rn[i].ndeps;

    shared_open(r);
    for (int k = 0; k < o->nextra_mats; k++)
        exec_shared_register(r->sh, o->extra_mats[k].name, o->extra_mats[k].fn);
    exec_log(r->sh, "main", "cdbt %s: %d nodes to execute, %d threads",
             o->cmd == RUNNER_RUN ? "run" : o->cmd == RUNNER_TEST ? "test" : o->cmd == RUNNER_SEED ? "seed"
             : o->cmd == RUNNER_SNAPSHOT ? "snapshot" : o->cmd == RUNNER_CLONE ? "clone" : "build",
             out->total, o->threads);

    r->nw = o->threads > 0 ? o->threads : 1;
    if (r->nw > out->total && out->total > 0)
        r->nw = out->total;
    r->w = xcalloc((size_t)r->nw, sizeof(Worker));
    for (int k = 0; k < r->nw; k++) {
        r->w[k].r = r;
        r->w[k].id = k + 1;
    }
    if (connect_all(r, out->total > 0 ? r->nw : 0, err) != 0)
        goto done;
    if (create_schemas(r, err) != 0)
        goto done;
    bind_db(r);

    info(r, "Concurrency: %d threads (target='%s')", o->threads > 0 ? o->threads : 1,
         r->p->target_name ? r->p->target_name : "");
    info(r, "%s", "");
    if (o->cmd != RUNNER_CLONE)
        run_hooks(r, "on-run-start", false);

    for (int k = 0; k < r->nw && out->total > 0; k++) {
        if (pthread_create(&r->w[k].th, NULL, worker_main, &r->w[k]) == 0)
            r->w[k].started = true;
    }
    for (int i = 0; i < n; i++)
        if (r->rn[i].run && r->rn[i].pending == 0)
            heap_push(r, i);
    walk(r);
    if (!out->interrupted && o->cmd != RUNNER_CLONE)
        run_hooks(r, "on-run-end", true);
    rc = 0;
done:
    if (r->w) {
        pthread_mutex_lock(&r->mu);
        r->quit = true;
        pthread_cond_broadcast(&r->cv_work);
        pthread_mutex_unlock(&r->mu);
        for (int k = 0; k < r->nw; k++) {
            if (r->w[k].started)
                pthread_join(r->w[k].th, NULL);
            if (r->w[k].conn)
                pg_close(r->w[k].conn);
        }
        free(r->w);
    }
    process_finished(r);   /* nothing should be left; frees stragglers */
    dbt_set_db(o->dbt, NULL);
    for (size_t k = 0; k < sizeof r->open / sizeof r->open[0]; k++)
        if (r->open[k].res)
            pg_result_free(r->open[k].res);
    if (r->main)
        pg_close(r->main);
    for (int i = 0; i < n; i++) {
        free(r->rn[i].deps);
        free(r->rn[i].kids);
    }
    free(r->rn);
    free(r->pos);
    free(r->heap);
    free(r->queue);
    free(r->fin);
    if (r->rc)
        relcache_free(r->rc);
    if (r->sh)
        exec_shared_free(r->sh);
    if (r->log)
        fclose(r->log);
    free(r->logbuf);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv_work);
    pthread_cond_destroy(&r->cv_done);
    out->elapsed = wallclock() - out->started_at;
    return rc;
}

/* One connection bound as the templates' database, without nodes to run:
 * `run-operation` and `show`.  solo_open sets up what the DbtDb callbacks
 * use (log, relation cache, the main connection); solo_close unbinds and
 * closes (an open transaction is rolled back). */
typedef struct Solo { Runner r; RunnerResult res; } Solo;

static int solo_open(Solo *so, const RunnerOptions *o, Diag *err)
{
    memset(so, 0, sizeof *so);
    Runner *r = &so->r;
    r->o = o;
    r->p = o->project;
    r->g = o->graph;
    arena_init(&so->res.arena, 0);
    r->res = &so->res;
    r->a = &so->res.arena;
    pthread_mutex_init(&r->mu, NULL);
    shared_open(r);
    r->main = pg_connect(o->params, err);
    if (!r->main)
        return -1;
    bind_db(r);
    return 0;
}

static void solo_close(Solo *so)
{
    Runner *r = &so->r;
    dbt_set_db(r->o->dbt, NULL);
    if (r->main && pg_in_transaction(r->main))
        logf_main(r, "ROLLBACK (not committed)");
    for (size_t k = 0; k < sizeof r->open / sizeof r->open[0]; k++)
        if (r->open[k].res)
            pg_result_free(r->open[k].res);
    if (r->main)
        pg_close(r->main);
    relcache_free(r->rc);
    exec_shared_free(r->sh);
    if (r->log)
        fclose(r->log);
    free(r->logbuf);
    pthread_mutex_destroy(&r->mu);
    arena_free(&so->res.arena);
}

/* `cdbt run-operation` (§12.1, §15): text rendered with execute=true and no
 * node, on one connection bound as the database of the templates; its
 * output is not run (the macro runs its own statements).  Nothing is
 * committed for it: run_query runs in autocommit, and a transaction a
 * `statement` block opened without adapter.commit() is rolled back when the
 * connection closes. */
int runner_operation(const RunnerOptions *o, const char *text, VDict *extra, const char **output, Diag *err)
{
    Solo so;
    int rc = solo_open(&so, o, err);
    if (rc == 0) {
        exec_log(so.r.sh, "main", "run-operation: %s", text);
        rc = dbt_render_hook(o->dbt, text, "run-operation", extra, output, err);
    }
    solo_close(&so);
    return rc;
}

/* `cdbt show` (§12.1): n compiled with the database bound (introspection,
 * is_incremental() as a run would see them), or inline_sql compiled as
 * dbt compiles --inline; then `<sql>\nlimit <limit>` (limit < 0: none) in
 * a transaction that is rolled back. */
int runner_query(const RunnerOptions *o, Node *n, const char *inline_sql, int limit, const char **sql_out,
                 PgResult **res, Diag *err)
{
    Solo so;
    *res = NULL;
    int rc = solo_open(&so, o, err);
    const char *sql = NULL;
    if (rc == 0)
        rc = n ? dbt_compile_node(o->dbt, n, err) : dbt_compile_inline(o->dbt, inline_sql, &sql, err);
    if (rc == 0) {
        if (n)
            sql = n->compiled_code ? n->compiled_code : "";
        *sql_out = sql;
        Sb q = SB_INIT;
        sb_puts(&q, sql);
        if (limit >= 0)
            sb_printf(&q, "\nlimit %d", limit);
        char tag[64];
        logf_main(&so.r, "BEGIN");
        rc = pg_begin(so.r.main, err);
        if (rc == 0)
            rc = main_exec(&so.r, sb_cstr(&q), res, tag, sizeof tag, err);
        sb_free(&q);
    }
    solo_close(&so);
    return rc;
}

void runner_result_free(RunnerResult *r)
{
    free(r->items);
    arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}
