/* test_exec_mat.c - the view / table / incremental / test executors against
 * a real throw-away PostgreSQL (started once per test case by
 * tests/e2e/pg_env.sh with its exit trap disabled, stopped in teardown).
 * Assertions are on database contents, the exact statements sent, run-result
 * fields and error locations. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "exec/exec.h"
#include "exec/matu.h"

static char pg_tmp[512], pg_bin[512];
static bool pg_ok;

static void server_start(void)
{
    FILE *f = popen("bash -c '. \"" CDBT_SOURCE_DIR "/tests/e2e/pg_env.sh\" >/dev/null; trap - EXIT; "
                    "echo \"$PG_TMP\"; echo \"$PG_BIN\"'", "r");
    pg_ok = false;
    if (!f)
        return;
    if (fgets(pg_tmp, sizeof pg_tmp, f) && fgets(pg_bin, sizeof pg_bin, f)) {
        pg_tmp[strcspn(pg_tmp, "\n")] = 0;
        pg_bin[strcspn(pg_bin, "\n")] = 0;
        pg_ok = pg_tmp[0] != 0;
    }
    pclose(f);
    if (pg_ok) {
        setenv("PGHOST", pg_tmp, 1);
        setenv("PGPORT", "5432", 1);
        setenv("PGUSER", "postgres", 1);
        setenv("PGDATABASE", "postgres", 1);
        unsetenv("PGPASSWORD");
        unsetenv("PGSERVICE");
    }
}

static void server_stop(void)
{
    if (!pg_ok)
        return;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "if [ \"$(id -u)\" = 0 ]; then runuser -u postgres -- '%s/pg_ctl' -D '%s/data' -m immediate -s stop; "
             "else '%s/pg_ctl' -D '%s/data' -m immediate -s stop; fi >/dev/null 2>&1; rm -rf '%s'",
             pg_bin, pg_tmp, pg_bin, pg_tmp, pg_tmp);
    if (system(cmd) != 0) {
        /* nothing more to do */
    }
}

/* ---------------------------------------------------------------- helpers */

typedef struct Ctx {
    Arena a;
    PgConn *conn;      /* executor connection */
    PgConn *q;         /* checking connection */
    RelCache *rc;
    ExecShared *sh;
} Ctx;

static Ctx C;

static PgConn *connect_(void)
{
    PgParams p;
    memset(&p, 0, sizeof p);
    Diag d = {0};
    PgConn *c = pg_connect(&p, &d);
    ck_assert_msg(c != NULL, "connect: %s", d.message ? d.message : "?");
    diag_clear(&d);
    return c;
}

static void q_exec(const char *sql)
{
    Diag d = {0};
    int rc = pg_exec(C.q, sql, NULL, NULL, 0, &d);
    ck_assert_msg(rc == 0, "%s: %s", sql, d.message ? d.message : "?");
    diag_clear(&d);
}

/* First column of every row joined with "," (NULL as "~"), rows joined with ";". */
static char *q_rows(const char *sql)
{
    Diag d = {0};
    PgResult *r = NULL;
    int rc = pg_exec(C.q, sql, &r, NULL, 0, &d);
    ck_assert_msg(rc == 0, "%s: %s", sql, d.message ? d.message : "?");
    diag_clear(&d);
    Sb s = SB_INIT;
    for (int i = 0; i < r->nrows; i++) {
        if (i)
            sb_putc(&s, ';');
        for (int c = 0; c < r->ncols; c++) {
            if (c)
                sb_putc(&s, ',');
            sb_puts(&s, r->rows[i][c] ? r->rows[i][c] : "~");
        }
    }
    pg_result_free(r);
    char *out = arena_strdup(&C.a, sb_cstr(&s));
    sb_free(&s);
    return out;
}

static const char *reltype(const char *schema, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "select case c.relkind when 'r' then 'table' when 'v' then 'view' else c.relkind::text end "
             "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
             "where n.nspname = '%s' and c.relname = '%s'", schema, name);
    return q_rows(sql);
}

static void setup(void)
{
    ck_assert_msg(pg_ok, "could not start a PostgreSQL server (tests/e2e/pg_env.sh)");
    arena_init(&C.a, 0);
    C.conn = connect_();
    C.q = connect_();
    C.rc = relcache_new();
    C.sh = exec_shared_new(NULL);
    q_exec("drop schema if exists s cascade; drop schema if exists s_dbt_test__audit cascade; create schema s");
    Diag d = {0};
    ck_assert(relcache_load_schema(C.rc, C.q, "s", &d) == 0);
    diag_clear(&d);
}

static void teardown(void)
{
    exec_shared_free(C.sh);
    relcache_free(C.rc);
    pg_close(C.conn);
    pg_close(C.q);
    arena_free(&C.a);
}

/* A model node named name in schema s with config pairs k1, v1, k2, v2, ...
 * (values: "true"/"false" become bools, "[a,b]" a list of strings, else strings). */
static Node *node(ResourceType rt, const char *name, ...)
{
    Node *n = ARENA_NEW(&C.a, Node);
    n->rt = rt;
    n->name = arena_strdup(&C.a, name);
    n->unique_id = arena_sprintf(&C.a, "%s.p.%s", rt == RT_TEST ? "test" : "model", name);
    n->original_file_path = arena_sprintf(&C.a, "models/%s.sql", name);
    n->compiled_path = arena_sprintf(&C.a, "target/compiled/p/models/%s.sql", name);
    n->database = "postgres";
    n->schema = rt == RT_TEST ? "s_dbt_test__audit" : "s";
    n->alias = n->name;
    n->relation_name = arena_sprintf(&C.a, "\"postgres\".\"%s\".\"%s\"", n->schema, name);
    n->config = v_dict(&C.a).u.d;
    va_list ap;
    va_start(ap, name);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        Value val;
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            val = v_bool(v[0] == 't');
        } else if (v[0] == '[') {
            val = v_list(&C.a, 4);
            const char *p = v + 1;
            while (*p && *p != ']') {
                size_t len = strcspn(p, ",]");
                list_append(&C.a, val.u.l, v_str(&C.a, p, len));
                p += len;
                if (*p == ',')
                    p++;
            }
        } else {
            val = v_strz(&C.a, v);
        }
        dict_setz(&C.a, n->config, k, val);
    }
    va_end(ap);
    return n;
}

typedef struct Run {
    NodeJob j;
    int rc;
} Run;

static Run *job(Node *n, const char *sql)
{
    Run *r = ARENA_NEW(&C.a, Run);
    memset(&r->j, 0, sizeof r->j);
    r->j.node = n;
    r->j.conn = C.conn;
    r->j.rc = C.rc;
    r->j.sh = C.sh;
    r->j.sql = sql;
    arena_init(&r->j.arena, 0);
    return r;
}

static void job_free(Run *r)
{
    sb_free(&r->j.sent);
    diag_clear(&r->j.err);
    arena_free(&r->j.arena);
}

static char *errtext(NodeJob *j)
{
    Sb s = SB_INIT;
    diag_format(&j->err, &s);
    char *out = arena_strdup(&C.a, sb_cstr(&s));
    sb_free(&s);
    return out;
}

/* Run n's executor on sql; returns the job (caller frees with job_free). */
static Run *run(Node *n, const char *sql)
{
    Run *r = job(n, sql);
    Diag d = {0};
    MatFn fn = exec_materialization(n, &d);
    ck_assert_msg(fn != NULL, "%s", d.message ? d.message : "?");
    diag_clear(&d);
    r->rc = fn(&r->j);
    return r;
}

static void run_ok(Node *n, const char *sql)
{
    Run *r = run(n, sql);
    ck_assert_msg(r->rc == 0, "%s failed: %s", n->name, errtext(&r->j));
    job_free(r);
}

/* ---------------------------------------------------------------- view / table */

START_TEST(view_create_and_replace)
{
    Node *n = node(RT_MODEL, "v1", "materialized", "view", NULL);
    Run *r = run(n, "select 1 as a");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_int_eq(r->j.status, NS_SUCCESS);
    ck_assert_str_eq(r->j.message, "CREATE VIEW");
    ck_assert_str_eq(r->j.adapter_code, "CREATE VIEW");
    ck_assert_int_eq(r->j.rows_affected, -1);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create view \"postgres\".\"s\".\"v1__dbt_tmp\" as (\nselect 1 as a\n);\n"
        "alter table \"postgres\".\"s\".\"v1__dbt_tmp\" rename to \"v1\";\n"
        "drop view if exists \"postgres\".\"s\".\"v1__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_int_eq(relcache_get(C.rc, "s", "v1"), REL_VIEW);
    r = run(n, "select 2 as a");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create view \"postgres\".\"s\".\"v1__dbt_tmp\" as (\nselect 2 as a\n);\n"
        "alter table \"postgres\".\"s\".\"v1\" rename to \"v1__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"v1__dbt_tmp\" rename to \"v1\";\n"
        "drop view if exists \"postgres\".\"s\".\"v1__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.v1"), "2");
    ck_assert_str_eq(q_rows("select count(*) from pg_class where relname like 'v1__dbt%'"), "0");
}
END_TEST

/* A temporary log for one job: the ExecShared writing it and the FILE. */
typedef struct TmpLog { char path[64]; FILE *f; ExecShared *sh; } TmpLog;

static void tmplog_open(TmpLog *l)
{
    snprintf(l->path, sizeof l->path, "/tmp/cdbt-mat-plog.XXXXXX");
    int fd = mkstemp(l->path);
    ck_assert_int_ge(fd, 0);
    l->f = fdopen(fd, "w+");
    l->sh = exec_shared_new(l->f);
}

/* The log's text so far (arena). */
static char *tmplog_text(TmpLog *l)
{
    fflush(l->f);
    rewind(l->f);
    Sb s = SB_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, l->f)) > 0)
        sb_append(&s, buf, n);
    char *out = arena_strdup(&C.a, sb_cstr(&s));
    sb_free(&s);
    return out;
}

static void tmplog_close(TmpLog *l)
{
    exec_shared_free(l->sh);
    fclose(l->f);
    unlink(l->path);
}

#define LOG_HAS(log, needle) ck_assert_msg(strstr((log), (needle)) != NULL, "log lacks [%s]:\n%s", (needle), (log))

START_TEST(view_rebuild_is_one_pipeline)
{
    Node *n = node(RT_MODEL, "pl", "materialized", "view", NULL);
    run_ok(n, "select ';' as a");
    TmpLog l;
    tmplog_open(&l);
    Run *r = job(n, "select ';x' as a");
    r->j.sh = l.sh;
    ck_assert_msg(mat_view(&r->j) == 0, "%s", errtext(&r->j));
    ck_assert_str_eq(r->j.message, "CREATE VIEW");
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create view \"postgres\".\"s\".\"pl__dbt_tmp\" as (\nselect ';x' as a\n);\n"
        "alter table \"postgres\".\"s\".\"pl\" rename to \"pl__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"pl__dbt_tmp\" rename to \"pl\";\n"
        "drop view if exists \"postgres\".\"s\".\"pl__dbt_backup\" cascade;\n");
    job_free(r);
    /* every statement of the rebuild in one round trip, in dbt's order */
    const char *log = tmplog_text(&l);
    LOG_HAS(log, "[model.p.pl] BEGIN [pipeline 1/6]\n");
    LOG_HAS(log, "[model.p.pl] SQL [pipeline 2/6]:\ncreate view \"postgres\".\"s\".\"pl__dbt_tmp\" as (\n");
    LOG_HAS(log, "[model.p.pl] SQL [pipeline 3/6]:\nalter table \"postgres\".\"s\".\"pl\" rename to \"pl__dbt_backup\"\n");
    LOG_HAS(log, "[model.p.pl] SQL [pipeline 4/6]:\nalter table \"postgres\".\"s\".\"pl__dbt_tmp\" rename to \"pl\"\n");
    LOG_HAS(log, "[model.p.pl] COMMIT [pipeline 5/6]\n");
    LOG_HAS(log, "[model.p.pl] SQL [pipeline 6/6]:\ndrop view if exists \"postgres\".\"s\".\"pl__dbt_backup\" cascade\n");
    LOG_HAS(log, "[model.p.pl] OK CREATE VIEW in ");
    LOG_HAS(log, "[model.p.pl] OK DROP VIEW in ");
    tmplog_close(&l);
    ck_assert_str_eq(q_rows("select a from s.pl"), ";x");
    ck_assert_int_eq(relcache_get(C.rc, "s", "pl"), REL_VIEW);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pl__dbt_backup"), REL_NONE);

    /* a create of several statements (sql_header) is sent on its own, the
     * rest is still pipelined around it, in the same order */
    Node *h = node(RT_MODEL, "plh", "materialized", "view", "sql_header", "set local work_mem = '8MB';", NULL);
    run_ok(h, "select 1 as a");
    tmplog_open(&l);
    r = job(h, "select 2 as a");
    r->j.sh = l.sh;
    ck_assert_msg(mat_view(&r->j) == 0, "%s", errtext(&r->j));
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "set local work_mem = '8MB';\ncreate view \"postgres\".\"s\".\"plh__dbt_tmp\" as (\nselect 2 as a\n);\n"
        "alter table \"postgres\".\"s\".\"plh\" rename to \"plh__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"plh__dbt_tmp\" rename to \"plh\";\n"
        "drop view if exists \"postgres\".\"s\".\"plh__dbt_backup\" cascade;\n");
    job_free(r);
    log = tmplog_text(&l);
    LOG_HAS(log, "[model.p.plh] BEGIN [pipeline 1/1]\n");
    LOG_HAS(log, "[model.p.plh] SQL:\nset local work_mem = '8MB';\ncreate view");
    LOG_HAS(log, "[model.p.plh] COMMIT [pipeline 3/4]\n");
    tmplog_close(&l);
    ck_assert_str_eq(q_rows("select a from s.plh"), "2");
}
END_TEST

START_TEST(view_pipeline_failures_keep_old_view)
{
    Node *n = node(RT_MODEL, "pf", "materialized", "view", NULL);
    run_ok(n, "select 1 as a");
    /* the create fails: the statements after it never ran and are not in
     * target/run; nothing changed in the database or the cache */
    TmpLog l;
    tmplog_open(&l);
    Run *r = job(n, "select 1 as a,\n  nope");
    r->j.sh = l.sh;
    ck_assert_int_eq(mat_view(&r->j), -1);
    ck_assert_int_eq(r->j.status, NS_ERROR);
    ck_assert_int_eq(r->j.err.line, 2);
    ck_assert_int_eq(r->j.err.col, 3);
    ck_assert_str_eq(sb_cstr(&r->j.sent), "create view \"postgres\".\"s\".\"pf__dbt_tmp\" as (\nselect 1 as a,\n  nope\n);\n");
    job_free(r);
    const char *log = tmplog_text(&l);
    LOG_HAS(log, "[model.p.pf] ERROR in ");
    LOG_HAS(log, "[model.p.pf] not executed [pipeline 3/6]: an earlier statement failed\n");
    LOG_HAS(log, "[model.p.pf] not executed [pipeline 6/6]: an earlier statement failed\n");
    LOG_HAS(log, "[model.p.pf] ROLLBACK\n");
    tmplog_close(&l);
    ck_assert_str_eq(q_rows("select a from s.pf"), "1");
    ck_assert_int_eq(relcache_get(C.rc, "s", "pf"), REL_VIEW);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pf__dbt_tmp"), REL_NONE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pf__dbt_backup"), REL_NONE);
    ck_assert_str_eq(q_rows("select count(*) from pg_class where relname like 'pf__dbt%'"), "0");

    /* a later statement fails (the cached view was dropped behind cdbt's
     * back, so the rename finds nothing): the create is rolled back and the
     * cache forgets the __dbt_tmp it had recorded */
    q_exec("drop view s.pf");
    r = run(n, "select 2 as a");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_msg(strstr(r->j.err.message, "does not exist") != NULL, "%s", r->j.err.message);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create view \"postgres\".\"s\".\"pf__dbt_tmp\" as (\nselect 2 as a\n);\n"
        "alter table \"postgres\".\"s\".\"pf\" rename to \"pf__dbt_backup\";\n");
    job_free(r);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pf__dbt_tmp"), REL_NONE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pf__dbt_backup"), REL_NONE);
    ck_assert_str_eq(q_rows("select count(*) from pg_class where relname like 'pf%'"), "0");

    /* a failure before anything was due (persist_docs refuses the
     * description): the queued statements are never sent */
    Node *d = node(RT_MODEL, "pd2", "materialized", "view", NULL);
    run_ok(d, "select 1 as a");
    Value pd = v_dict(&C.a);
    dict_setz(&C.a, pd.u.d, "relation", v_bool(true));
    dict_setz(&C.a, d->config, "persist_docs", pd);
    d->description = "bad $dbt_comment_literal_block$";
    r = run(d, "select 2 as a");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(sb_cstr(&r->j.sent), "");
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.pd2"), "1");
    ck_assert_int_eq(relcache_get(C.rc, "s", "pd2"), REL_VIEW);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pd2__dbt_tmp"), REL_NONE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "pd2__dbt_backup"), REL_NONE);
}
END_TEST

START_TEST(pipeline_autocommit_statements_stand_alone)
{
    /* Statements outside BEGIN .. COMMIT each commit on their own, as when
     * sent one by one: a later failure in the same flush must not take an
     * earlier autocommit statement with it. */
    Node *n = node(RT_MODEL, "ac", "materialized", "view", NULL);
    Run *r = job(n, "select 1");
    MatCtx m;
    ck_assert_int_eq(matu_init(&m, &r->j), 0);
    matu_pipeline(&m, true);
    ck_assert_int_eq(matu_sql(&m, "create table s.ac1(x int)", NULL, NULL, 0), 0);
    ck_assert_int_eq(matu_sql(&m, "create table s.ac2(x int)", NULL, NULL, 0), 0);
    ck_assert_int_eq(matu_sql(&m, "insert into s.ac2 values (1/0)", NULL, NULL, 0), 0);
    ck_assert_int_eq(matu_flush(&m), -1);
    ck_assert_str_eq(r->j.err.message, "division by zero");
    matu_fail(&m);
    job_free(r);
    ck_assert_str_eq(q_rows("select string_agg(relname, ',' order by relname) from pg_class "
                            "where relname in ('ac1', 'ac2')"), "ac1,ac2");
    /* inside BEGIN .. COMMIT they are one transaction, as when sent one by one */
    r = job(n, "select 1");
    ck_assert_int_eq(matu_init(&m, &r->j), 0);
    matu_pipeline(&m, true);
    ck_assert_int_eq(matu_begin(&m), 0);
    ck_assert(matu_in_txn(&m));
    ck_assert_int_eq(matu_sql(&m, "create table s.ac3(x int)", NULL, NULL, 0), 0);
    ck_assert_int_eq(matu_sql(&m, "insert into s.ac3 values (1/0)", NULL, NULL, 0), 0);
    ck_assert_int_eq(matu_commit(&m), 0);
    ck_assert(!matu_in_txn(&m));
    ck_assert_int_eq(matu_flush(&m), -1);
    matu_fail(&m);
    job_free(r);
    ck_assert_str_eq(q_rows("select count(*) from pg_class where relname = 'ac3'"), "0");
}
END_TEST

START_TEST(table_create_swap_and_type_switch)
{
    Node *t = node(RT_MODEL, "m", "materialized", "table", NULL);
    Run *r = run(t, "select g as id from generate_series(1,5) g");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_str_eq(r->j.message, "SELECT 5");
    ck_assert_str_eq(r->j.adapter_code, "SELECT");
    ck_assert_int_eq(r->j.rows_affected, 5);
    job_free(r);
    ck_assert_str_eq(reltype("s", "m"), "table");
    /* a dependent view (not from dbt) */
    q_exec("create view s.dep as select * from s.m");
    /* table -> view: old table renamed aside and dropped as a table, cascading */
    Node *v = node(RT_MODEL, "m", "materialized", "view", NULL);
    r = run(v, "select 7 as id");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create view \"postgres\".\"s\".\"m__dbt_tmp\" as (\nselect 7 as id\n);\n"
        "alter table \"postgres\".\"s\".\"m\" rename to \"m__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"m__dbt_tmp\" rename to \"m\";\n"
        "drop table if exists \"postgres\".\"s\".\"m__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_str_eq(reltype("s", "m"), "view");
    ck_assert_str_eq(reltype("s", "dep"), "");
    /* view -> table */
    r = run(t, "select 1 as id union all select 2");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create table \"postgres\".\"s\".\"m__dbt_tmp\" as (\nselect 1 as id union all select 2\n);\n"
        "alter table \"postgres\".\"s\".\"m\" rename to \"m__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"m__dbt_tmp\" rename to \"m\";\n"
        "drop view if exists \"postgres\".\"s\".\"m__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_str_eq(reltype("s", "m"), "table");
    ck_assert_str_eq(q_rows("select id from s.m order by id"), "1;2");
    ck_assert_int_eq(relcache_get(C.rc, "s", "m"), REL_TABLE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "m__dbt_backup"), REL_NONE);
}
END_TEST

START_TEST(failed_model_keeps_old_relation)
{
    Node *t = node(RT_MODEL, "keep", "materialized", "table", NULL);
    run_ok(t, "select 1 as a");
    Run *r = run(t, "select 1 as a,\n  nope as b\nfrom (select 1) x");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_int_eq(r->j.status, NS_ERROR);
    ck_assert_str_eq(errtext(&r->j),
        "target/compiled/p/models/keep.sql:2:3: error: column \"nope\" does not exist\n"
        "    2 |   nope as b\n"
        "      |   ^\n"
        "  note: compiled from models/keep.sql\n");
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.keep"), "1");
    ck_assert_int_eq(relcache_get(C.rc, "s", "keep"), REL_TABLE);
    ck_assert_str_eq(q_rows("select count(*) from pg_class where relname like 'keep__dbt%'"), "0");
    /* an error after the swap (inside post-hook) rolls everything back too */
    const char *post[] = {"select 1/0"};
    bool in[] = {true};
    r = job(t, "select 2 as a");
    r->j.post_hooks = post;
    r->j.post_in_txn = in;
    r->j.npost = 1;
    ck_assert_int_eq(mat_table(&r->j), -1);
    ck_assert_str_eq(r->j.err.message, "division by zero");
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.keep"), "1");
    ck_assert_int_eq(relcache_get(C.rc, "s", "keep"), REL_TABLE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "keep__dbt_backup"), REL_NONE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "keep__dbt_tmp"), REL_NONE);
    /* the same model as a view keeps the old view too */
    Node *v = node(RT_MODEL, "keepv", "materialized", "view", NULL);
    run_ok(v, "select 1 as a");
    r = run(v, "select nope");
    ck_assert_int_eq(r->rc, -1);
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.keepv"), "1");
}
END_TEST

START_TEST(connection_lost_mid_model)
{
    Node *t = node(RT_MODEL, "lost", "materialized", "table", NULL);
    run_ok(t, "select 1 as a");
    const char *post[] = {"select pg_terminate_backend(pg_backend_pid())"};
    bool in[] = {true};
    Run *r = job(t, "select 2 as a");
    r->j.post_hooks = post;
    r->j.post_in_txn = in;
    r->j.npost = 1;
    ck_assert_int_eq(mat_table(&r->j), -1);
    ck_assert_int_eq(r->j.status, NS_ERROR);
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.lost"), "1");
    ck_assert_int_eq(relcache_get(C.rc, "s", "lost"), REL_TABLE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "lost__dbt_tmp"), REL_NONE);
    ck_assert_int_eq(relcache_get(C.rc, "s", "lost__dbt_backup"), REL_NONE);
}
END_TEST

START_TEST(error_position_utf8)
{
    /* the server counts characters, the Diag column counts bytes */
    Node *t = node(RT_MODEL, "u8", "materialized", "view", NULL);
    Run *r = run(t, "select '\xc3\xa9\xc3\xa9' as a,\n  '\xc3\xbc', nope");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_int_eq(r->j.err.line, 2);
    ck_assert_int_eq(r->j.err.col, 9);
    job_free(r);
}
END_TEST

/* Several executors at once on their own connections, one shared cache and log. */
typedef struct Worker { Run *r; pthread_t th; } Worker;

static void *worker_main(void *ud)
{
    Worker *w = ud;
    Diag d = {0};
    MatFn fn = exec_materialization(w->r->j.node, &d);
    diag_clear(&d);
    w->r->rc = fn ? fn(&w->r->j) : -1;
    return NULL;
}

START_TEST(concurrent_jobs)
{
    char path[] = "/tmp/cdbt-mat-log.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *log = fdopen(fd, "w+");
    ExecShared *sh = exec_shared_new(log);
    enum { N = 8 };
    Worker w[N];
    PgConn *conns[N];
    for (int i = 0; i < N; i++) {
        static const char *const mats[] = {"view", "table", "incremental"};
        char name[16];
        snprintf(name, sizeof name, "cc%d", i);
        Node *n = node(RT_MODEL, name, "materialized", mats[i % 3], NULL);
        conns[i] = connect_();
        w[i].r = job(n, arena_sprintf(&C.a, "select %d as a", i));
        w[i].r->j.conn = conns[i];
        w[i].r->j.sh = sh;
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
        for (int i = 0; i < N; i++) {
            pthread_join(w[i].th, NULL);
            ck_assert_msg(w[i].r->rc == 0, "%s", errtext(&w[i].r->j));
            sb_reset(&w[i].r->j.sent);
        }
    }
    for (int i = 0; i < N; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "select string_agg(a::text, ',') from s.cc%d", i);
        ck_assert_str_eq(q_rows(sql), i % 3 == 2 ? arena_sprintf(&C.a, "%d,%d", i, i) : arena_sprintf(&C.a, "%d", i));
        ck_assert_int_eq(relcache_get(C.rc, "s", arena_sprintf(&C.a, "cc%d", i)), i % 3 == 0 ? REL_VIEW : REL_TABLE);
        job_free(w[i].r);
        pg_close(conns[i]);
    }
    exec_shared_free(sh);
    /* every log line is whole: "<UTC time> [<who>] ..." or statement text */
    fflush(log);
    rewind(log);
    char line[512];
    int stamped = 0;
    while (fgets(line, sizeof line, log))
        if (strncmp(line, "20", 2) == 0 && strstr(line, "Z [model.p.cc"))
            stamped++;
    fclose(log);
    unlink(path);
    ck_assert_int_ge(stamped, N * 2 * 4);
}
END_TEST

START_TEST(error_position_in_wrapper)
{
    /* a position outside the model's code is shown in the statement sent */
    Node *t = node(RT_MODEL, "w", "materialized", "table", "sql_header", "set nope_x = ;", NULL);
    Run *r = run(t, "select 1 as a");
    ck_assert_int_eq(r->rc, -1);
    const char *e = errtext(&r->j);
    ck_assert_msg(strstr(e, "models/w.sql: error: syntax error at or near \";\"\n"
                            "  note: at line 1, column 14 of the statement sent:\n"
                            "      1 | set nope_x = ;\n") != NULL, "%s", e);
    job_free(r);
}
END_TEST

START_TEST(hooks_order_and_transactions)
{
    q_exec("create table s.log (i serial, what text)");
    const char *pre[] = {"insert into s.log (what) values ('pre_out')", "insert into s.log (what) values ('pre_in')"};
    bool pre_in[] = {false, true};
    const char *post[] = {"insert into s.log (what) values ('post_in')", "insert into s.log (what) values ('post_out')"};
    bool post_in[] = {true, false};
    Node *t = node(RT_MODEL, "h", "materialized", "table", NULL);
    Run *r = job(t, "select 1 as a");
    r->j.pre_hooks = pre; r->j.pre_in_txn = pre_in; r->j.npre = 2;
    r->j.post_hooks = post; r->j.post_in_txn = post_in; r->j.npost = 2;
    ck_assert_int_eq(mat_table(&r->j), 0);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "commit;\n"
        "insert into s.log (what) values ('pre_out');\n"
        "insert into s.log (what) values ('pre_in');\n"
        "create table \"postgres\".\"s\".\"h__dbt_tmp\" as (\nselect 1 as a\n);\n"
        "alter table \"postgres\".\"s\".\"h__dbt_tmp\" rename to \"h\";\n"
        "insert into s.log (what) values ('post_in');\n"
        "drop table if exists \"postgres\".\"s\".\"h__dbt_backup\" cascade;\n"
        "commit;\n"
        "insert into s.log (what) values ('post_out');\n");
    job_free(r);
    ck_assert_str_eq(q_rows("select what from s.log order by i"), "pre_out;pre_in;post_in;post_out");
    /* a failing model: inside pre-hook rolled back, outside pre-hook kept */
    q_exec("truncate s.log");
    r = job(t, "select nope");
    r->j.pre_hooks = pre; r->j.pre_in_txn = pre_in; r->j.npre = 2;
    ck_assert_int_eq(mat_table(&r->j), -1);
    job_free(r);
    ck_assert_str_eq(q_rows("select what from s.log order by i"), "pre_out");
}
END_TEST

START_TEST(unlogged_indexes_grants)
{
    q_exec("do $$ begin if not exists (select from pg_roles where rolname = 'reader') then create role reader; end if; "
           "if not exists (select from pg_roles where rolname = 'other') then create role other; end if; end $$");
    Node *t = node(RT_MODEL, "u", "materialized", "table", "unlogged", "true", NULL);
    /* indexes: [{columns: [a, b], unique: true}, {columns: [b], type: hash}] */
    Value ix = v_list(&C.a, 2);
    Value i1 = v_dict(&C.a), i2 = v_dict(&C.a);
    Value c1 = v_list(&C.a, 2), c2 = v_list(&C.a, 1);
    list_append(&C.a, c1.u.l, v_strz(&C.a, "a"));
    list_append(&C.a, c1.u.l, v_strz(&C.a, "b"));
    list_append(&C.a, c2.u.l, v_strz(&C.a, "b"));
    dict_setz(&C.a, i1.u.d, "columns", c1);
    dict_setz(&C.a, i1.u.d, "unique", v_bool(true));
    dict_setz(&C.a, i2.u.d, "columns", c2);
    dict_setz(&C.a, i2.u.d, "type", v_strz(&C.a, "hash"));
    list_append(&C.a, ix.u.l, i1);
    list_append(&C.a, ix.u.l, i2);
    dict_setz(&C.a, t->config, "indexes", ix);
    Value g = v_dict(&C.a), who = v_list(&C.a, 2);
    list_append(&C.a, who.u.l, v_strz(&C.a, "reader"));
    list_append(&C.a, who.u.l, v_strz(&C.a, "other"));
    dict_setz(&C.a, g.u.d, "select", who);
    dict_setz(&C.a, t->config, "grants", g);
    run_ok(t, "select 1 as a, 2 as b");
    ck_assert_str_eq(q_rows("select relpersistence from pg_class where relname = 'u'"), "u");
    ck_assert_str_eq(q_rows("select indisunique, am.amname from pg_index i join pg_class c on c.oid = i.indexrelid "
                            "join pg_am am on am.oid = c.relam where i.indrelid = 's.u'::regclass order by 2"),
                     "t,btree;f,hash");
    ck_assert_str_eq(q_rows("select grantee from information_schema.role_table_grants "
                            "where table_schema = 's' and table_name = 'u' and grantee <> current_user order by 1"),
                     "other;reader");
    /* incremental with grants: revoke only the difference */
    Node *inc = node(RT_MODEL, "gi", "materialized", "incremental", NULL);
    dict_setz(&C.a, inc->config, "grants", g);
    run_ok(inc, "select 1 as a");
    Value g2 = v_dict(&C.a), who2 = v_list(&C.a, 1);
    list_append(&C.a, who2.u.l, v_strz(&C.a, "reader"));
    dict_setz(&C.a, g2.u.d, "select", who2);
    dict_setz(&C.a, inc->config, "grants", g2);
    Run *r = run(inc, "select 2 as a");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "revoke SELECT on \"postgres\".\"s\".\"gi\" from other;\n") != NULL,
                  "%s", sb_cstr(&r->j.sent));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "grant select") == NULL, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(q_rows("select grantee from information_schema.role_table_grants "
                            "where table_schema = 's' and table_name = 'gi' and grantee <> current_user order by 1"),
                     "reader");
}
END_TEST

START_TEST(persist_docs_comments)
{
    Node *t = node(RT_MODEL, "pd", "materialized", "table", NULL);
    t->description = "the orders";
    Value pd = v_dict(&C.a);
    dict_setz(&C.a, pd.u.d, "relation", v_bool(true));
    dict_setz(&C.a, pd.u.d, "columns", v_bool(true));
    dict_setz(&C.a, t->config, "persist_docs", pd);
    t->columns = v_dict(&C.a).u.d;
    Value c = v_dict(&C.a), gone = v_dict(&C.a);
    dict_setz(&C.a, c.u.d, "description", v_strz(&C.a, "the id's"));
    dict_setz(&C.a, gone.u.d, "description", v_strz(&C.a, "not there"));
    dict_setz(&C.a, t->columns, "id", c);
    dict_setz(&C.a, t->columns, "gone", gone);
    Run *r = run(t, "select 1 as id");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent),
        "comment on table \"postgres\".\"s\".\"pd\" is $dbt_comment_literal_block$the orders$dbt_comment_literal_block$;\n") != NULL,
        "%s", sb_cstr(&r->j.sent));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent),
        "comment on column \"postgres\".\"s\".\"pd\".id is $dbt_comment_literal_block$the id's$dbt_comment_literal_block$;\n") != NULL,
        "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(q_rows("select obj_description('s.pd'::regclass, 'pg_class'), col_description('s.pd'::regclass, 1)"),
                     "the orders,the id's");
    /* a view gets `comment on view` */
    Node *v = node(RT_MODEL, "pdv", "materialized", "view", NULL);
    v->description = "a view";
    dict_setz(&C.a, v->config, "persist_docs", pd);
    run_ok(v, "select 1 as id");
    ck_assert_str_eq(q_rows("select obj_description('s.pdv'::regclass, 'pg_class')"), "a view");
    /* the delimiter is refused and nothing changes */
    t->description = "bad $dbt_comment_literal_block$";
    r = run(t, "select 2 as id");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "Compilation Error in model pd (models/pd.sql)\n"
                                       "  The string '$dbt_comment_literal_block$' is not allowed in comments.");
    job_free(r);
    ck_assert_str_eq(q_rows("select id from s.pd"), "1");
}
END_TEST

START_TEST(query_comment_prefix)
{
    exec_shared_set_query_comment(C.sh, "prof", "dev");
    Node *t = node(RT_MODEL, "qc", "materialized", "table", NULL);
    Run *r = run(t, "select current_query() as q");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    /* target/run text has no comment */
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create table \"postgres\".\"s\".\"qc__dbt_tmp\" as (\nselect current_query() as q\n);\n"
        "alter table \"postgres\".\"s\".\"qc__dbt_tmp\" rename to \"qc\";\n"
        "drop table if exists \"postgres\".\"s\".\"qc__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_str_eq(q_rows("select split_part(q, E'\\n', 1) from s.qc"),
        "/* {\"app\": \"cdbt\", \"dbt_version\": \"" CDBT_VERSION "\", \"profile_name\": \"prof\", "
        "\"target_name\": \"dev\", \"node_id\": \"model.p.qc\"} */");
    /* error positions still point into the compiled code */
    r = run(t, "select 1 as a,\n  nope as b");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_int_eq(r->j.err.line, 2);
    ck_assert_int_eq(r->j.err.col, 3);
    job_free(r);
}
END_TEST

START_TEST(unloaded_schema_is_listed)
{
    q_exec("create table s.pre as select 1 as a");
    RelCache *fresh = relcache_new();
    Node *t = node(RT_MODEL, "pre", "materialized", "table", NULL);
    Run *r = job(t, "select 2 as a");
    r->j.rc = fresh;
    ck_assert_msg(mat_table(&r->j) == 0, "%s", errtext(&r->j));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "alter table \"postgres\".\"s\".\"pre\" rename to \"pre__dbt_backup\"") != NULL,
                  "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert(relcache_schema_loaded(fresh, "s"));
    relcache_free(fresh);
    ck_assert_str_eq(q_rows("select a from s.pre"), "2");
}
END_TEST

START_TEST(long_names_truncate)
{
    char name[64];
    memset(name, 'x', 60);
    name[60] = 0;
    Node *t = node(RT_MODEL, name, "materialized", "table", NULL);
    Run *r = run(t, "select 1 as a");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    char expect[256];
    /* 63 - len("__dbt_tmp") = 54 x's */
    snprintf(expect, sizeof expect, "create table \"postgres\".\"s\".\"%.54s__dbt_tmp\" as (", name);
    ck_assert_msg(strncmp(sb_cstr(&r->j.sent), expect, strlen(expect)) == 0, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    char too_long[80];
    memset(too_long, 'y', 64);
    too_long[64] = 0;
    t = node(RT_MODEL, too_long, "materialized", "view", NULL);
    r = run(t, "select 1");
    ck_assert_int_eq(r->rc, -1);
    char msg[400];
    snprintf(msg, sizeof msg, "Runtime Error in model %s (models/%s.sql)\n  Relation name '%s' is longer than 63 characters",
             too_long, too_long, too_long);
    ck_assert_str_eq(r->j.err.message, msg);
    job_free(r);
}
END_TEST

START_TEST(unknown_materialization)
{
    Node *t = node(RT_MODEL, "z", "materialized", "my_custom", NULL);
    Diag d = {0};
    ck_assert_ptr_null(exec_materialization(t, &d));
    ck_assert_str_eq(d.message, "No materialization 'my_custom' was found for adapter postgres! "
                                "(searched types 'default' and 'postgres')");
    diag_clear(&d);
    t = node(RT_MODEL, "z", "materialized", "materialized_view", NULL);
    ck_assert_ptr_eq(exec_materialization(t, &d), mat_matview);
    Node *e = node(RT_MODEL, "e", "materialized", "ephemeral", NULL);
    ck_assert_ptr_null(exec_materialization(e, &d));
    diag_clear(&d);
    /* cleanse models go to the executor registered by whoever links src/cleanse */
    Node *s = node(RT_MODEL, "cl", "materialized", "cleanse", NULL);
    Run *r = run(s, NULL);
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "cleanse executor not built (none registered for materialization 'cleanse')");
    job_free(r);
    exec_shared_register(C.sh, "cleanse", mat_view);
    r = run(s, "select 1 as a");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_str_eq(r->j.message, "CREATE VIEW");
    job_free(r);
}
END_TEST

START_TEST(cancelled_sends_nothing)
{
    Node *t = node(RT_MODEL, "c", "materialized", "table", NULL);
    exec_shared_cancel(C.sh);
    Run *r = run(t, "select 1 as a");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "cancelled");
    ck_assert_str_eq(sb_cstr(&r->j.sent), "");
    job_free(r);
    ck_assert_str_eq(reltype("s", "c"), "");
}
END_TEST

/* ---------------------------------------------------------------- incremental */

START_TEST(incremental_append_and_full_refresh)
{
    Node *n = node(RT_MODEL, "inc", "materialized", "incremental", NULL);
    Run *r = run(n, "select 1 as id, 'a'::text as v");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create table \"postgres\".\"s\".\"inc\" as (\nselect 1 as id, 'a'::text as v\n);\n");
    ck_assert_str_eq(r->j.message, "SELECT 1");
    job_free(r);
    r = run(n, "select 2 as id, 'b'::text as v");
    ck_assert_int_eq(r->rc, 0);
    const char *sent = sb_cstr(&r->j.sent);
    ck_assert_msg(strstr(sent, "create temporary table \"inc__dbt_tmp") == sent, "%s", sent);
    ck_assert_msg(strstr(sent, "insert into \"postgres\".\"s\".\"inc\" (\"id\", \"v\")\n(\n    select \"id\", \"v\"\n    from \"inc__dbt_tmp")
                  != NULL, "%s", sent);
    ck_assert_str_eq(r->j.message, "INSERT 0 1");
    ck_assert_str_eq(r->j.adapter_code, "INSERT");
    ck_assert_int_eq(r->j.rows_affected, 1);
    job_free(r);
    ck_assert_str_eq(q_rows("select id, v from s.inc order by id"), "1,a;2,b");
    /* --full-refresh rebuilds through __dbt_tmp / __dbt_backup */
    r = job(n, "select 9 as id");
    r->j.full_refresh = true;
    ck_assert_int_eq(mat_incremental(&r->j), 0);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "create table \"postgres\".\"s\".\"inc__dbt_tmp\" as (\nselect 9 as id\n);\n"
        "alter table \"postgres\".\"s\".\"inc\" rename to \"inc__dbt_backup\";\n"
        "alter table \"postgres\".\"s\".\"inc__dbt_tmp\" rename to \"inc\";\n"
        "drop table if exists \"postgres\".\"s\".\"inc__dbt_backup\" cascade;\n");
    job_free(r);
    ck_assert_str_eq(q_rows("select * from s.inc"), "9");
    /* node config full_refresh: false wins over the flag */
    dict_setz(&C.a, n->config, "full_refresh", v_bool(false));
    r = job(n, "select 10 as id");
    r->j.full_refresh = true;
    ck_assert_int_eq(mat_incremental(&r->j), 0);
    job_free(r);
    ck_assert_str_eq(q_rows("select id from s.inc order by id"), "9;10");
    /* an existing view is replaced by a table (full refresh mode) */
    Node *v = node(RT_MODEL, "iv", "materialized", "view", NULL);
    run_ok(v, "select 1 as id");
    Node *iv = node(RT_MODEL, "iv", "materialized", "incremental", NULL);
    r = run(iv, "select 2 as id");
    ck_assert_int_eq(r->rc, 0);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "drop view if exists \"postgres\".\"s\".\"iv__dbt_backup\" cascade") != NULL,
                  "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(reltype("s", "iv"), "table");
    ck_assert_str_eq(q_rows("select id from s.iv"), "2");
}
END_TEST

START_TEST(incremental_delete_insert)
{
    Node *n = node(RT_MODEL, "di", "materialized", "incremental", "unique_key", "id", NULL);
    run_ok(n, "select * from (values (1, 'a'), (2, 'b')) t(id, v)");
    Run *r = run(n, "select * from (values (2, 'B'), (3, 'c')) t(id, v)");
    ck_assert_int_eq(r->rc, 0);
    const char *sent = sb_cstr(&r->j.sent);
    ck_assert_msg(strstr(sent, "delete from \"postgres\".\"s\".\"di\"\nwhere (\n    id) in (\n    select (id)\n    from \"di__dbt_tmp")
                  != NULL, "%s", sent);
    ck_assert_str_eq(r->j.message, "INSERT 0 2");
    job_free(r);
    ck_assert_str_eq(q_rows("select id, v from s.di order by id"), "1,a;2,B;3,c");
    /* idempotent: the same batch again adds no duplicates */
    run_ok(n, "select * from (values (2, 'B'), (3, 'c')) t(id, v)");
    ck_assert_str_eq(q_rows("select id, v from s.di order by id"), "1,a;2,B;3,c");
    /* list key + predicate */
    Node *l = node(RT_MODEL, "dl", "materialized", "incremental", "unique_key", "[k1,k2]",
                   "incremental_strategy", "delete+insert", "incremental_predicates", "[di.k1 > 0]", NULL);
    run_ok(l, "select * from (values (1, 1, 'a'), (1, 2, 'b'), (0, 1, 'z')) t(k1, k2, v)");
    /* predicates reference the target by its table name */
    l->relation_name = "\"postgres\".\"s\".\"dl\"";
    dict_setz(&C.a, l->config, "incremental_predicates", v_list(&C.a, 0));
    r = run(l, "select * from (values (1, 2, 'B'), (0, 1, 'Z')) t(k1, k2, v)");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    sent = sb_cstr(&r->j.sent);
    ck_assert_msg(strstr(sent, "delete from \"postgres\".\"s\".\"dl\"\nusing \"dl__dbt_tmp") != NULL, "%s", sent);
    ck_assert_msg(strstr(sent, ".k1 = \"postgres\".\"s\".\"dl\".k1 and\n") != NULL, "%s", sent);
    job_free(r);
    ck_assert_str_eq(q_rows("select k1, k2, v from s.dl order by 1, 2"), "0,1,Z;1,1,a;1,2,B");
    /* a predicate limits the delete */
    Value preds = v_list(&C.a, 1);
    list_append(&C.a, preds.u.l, v_strz(&C.a, "\"postgres\".\"s\".\"dl\".k1 > 0"));
    dict_setz(&C.a, l->config, "incremental_predicates", preds);
    run_ok(l, "select * from (values (1, 1, 'A'), (0, 1, 'Y')) t(k1, k2, v)");
    ck_assert_str_eq(q_rows("select k1, k2, v from s.dl order by 1, 2, 3"), "0,1,Y;0,1,Z;1,1,A;1,2,B");
}
END_TEST

START_TEST(incremental_merge)
{
    Diag d = {0};
    PgResult *res = NULL;
    pg_exec(C.q, "show server_version_num", &res, NULL, 0, &d);
    int ver = atoi(res->rows[0][0]);
    pg_result_free(res);
    diag_clear(&d);
    if (ver < 150000)
        return;
    Node *n = node(RT_MODEL, "mg", "materialized", "incremental", "incremental_strategy", "merge",
                   "unique_key", "id", NULL);
    run_ok(n, "select * from (values (1, 'a', 10), (2, 'b', 20)) t(id, v, w)");
    Run *r = run(n, "select * from (values (2, 'B', 21), (3, 'c', 30)) t(id, v, w)");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    const char *sent = sb_cstr(&r->j.sent);
    const char *m = strstr(sent, "merge into");
    ck_assert_ptr_nonnull(m);
    const char *tmp = strstr(sent, "\"mg__dbt_tmp");
    char tmpname[64];
    size_t tl = strcspn(tmp + 1, "\"");
    snprintf(tmpname, sizeof tmpname, "%.*s", (int)tl, tmp + 1);
    char expect[1024];
    snprintf(expect, sizeof expect,
             "merge into \"postgres\".\"s\".\"mg\" as DBT_INTERNAL_DEST\n"
             "    using \"%s\" as DBT_INTERNAL_SOURCE\n"
             "    on (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)\n"
             "when matched then update set\n"
             "    \"id\" = DBT_INTERNAL_SOURCE.\"id\", \"v\" = DBT_INTERNAL_SOURCE.\"v\", \"w\" = DBT_INTERNAL_SOURCE.\"w\"\n"
             "when not matched then insert\n"
             "    (\"id\", \"v\", \"w\")\n"
             "values\n"
             "    (\"id\", \"v\", \"w\")\n;\n", tmpname);
    ck_assert_str_eq(m, expect);
    ck_assert_str_eq(r->j.message, "MERGE 2");
    job_free(r);
    ck_assert_str_eq(q_rows("select id, v, w from s.mg order by id"), "1,a,10;2,B,21;3,c,30");
    /* merge_exclude_columns: w keeps its old value on update */
    dict_setz(&C.a, n->config, "merge_exclude_columns", v_strz(&C.a, "W"));
    run_ok(n, "select 3 as id, 'C' as v, 99 as w");
    ck_assert_str_eq(q_rows("select id, v, w from s.mg order by id"), "1,a,10;2,B,21;3,C,30");
    /* merge_update_columns: only v */
    dict_del(n->config, v_strz(&C.a, "merge_exclude_columns"), NULL);
    Value u = v_list(&C.a, 1);
    list_append(&C.a, u.u.l, v_strz(&C.a, "v"));
    dict_setz(&C.a, n->config, "merge_update_columns", u);
    run_ok(n, "select 1 as id, 'A' as v, 77 as w");
    ck_assert_str_eq(q_rows("select id, v, w from s.mg order by id"), "1,A,10;2,B,21;3,C,30");
    /* both set: error, table untouched */
    dict_setz(&C.a, n->config, "merge_exclude_columns", v_strz(&C.a, "w"));
    r = run(n, "select 1 as id, 'X' as v, 1 as w");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "Compilation Error in model mg (models/mg.sql)\n  Model cannot specify merge_update_columns and merge_exclude_columns. "
                                       "Please update model to use only one config");
    job_free(r);
    ck_assert_str_eq(q_rows("select id, v, w from s.mg order by id"), "1,A,10;2,B,21;3,C,30");
    /* list key and no key */
    Node *k2 = node(RT_MODEL, "mk", "materialized", "incremental", "incremental_strategy", "merge",
                    "unique_key", "[a,b]", NULL);
    run_ok(k2, "select 1 as a, 1 as b, 'x' as v");
    run_ok(k2, "select 1 as a, 1 as b, 'y' as v union all select 1, 2, 'z'");
    ck_assert_str_eq(q_rows("select a, b, v from s.mk order by 1, 2"), "1,1,y;1,2,z");
    Node *nk = node(RT_MODEL, "mn", "materialized", "incremental", "incremental_strategy", "merge", NULL);
    run_ok(nk, "select 1 as a");
    r = run(nk, "select 1 as a");
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "    on (FALSE)\n") != NULL, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(q_rows("select count(*) from s.mn"), "2");
}
END_TEST

START_TEST(incremental_schema_changes)
{
    /* ignore: new column dropped silently, missing column null */
    Node *n = node(RT_MODEL, "sc", "materialized", "incremental", NULL);
    run_ok(n, "select 1 as id, 'a'::varchar(3) as v");
    run_ok(n, "select 2 as id, 'bbbbb'::varchar(5) as v, 1 as extra");
    /* varchar widening happened regardless of on_schema_change */
    ck_assert_str_eq(q_rows("select data_type, character_maximum_length from information_schema.columns "
                            "where table_schema = 's' and table_name = 'sc' and column_name = 'v'"),
                     "character varying,5");
    ck_assert_str_eq(q_rows("select id, v from s.sc order by id"), "1,a;2,bbbbb");
    ck_assert_str_eq(q_rows("select count(*) from information_schema.columns where table_schema = 's' and table_name = 'sc'"), "2");
    /* fail */
    dict_setz(&C.a, n->config, "on_schema_change", v_strz(&C.a, "fail"));
    Run *r = run(n, "select 3 as id, 'c'::varchar(3) as v, 1 as extra");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message,
        "Compilation Error in model sc (models/sc.sql)\n"
        "  The source and target schemas on this incremental model are out of sync!\n"
        "  They can be reconciled in several ways:\n"
        "    - set the `on_schema_change` config to either append_new_columns or sync_all_columns, depending on your situation.\n"
        "    - Re-run the incremental model with `full_refresh: True` to update the target schema.\n"
        "    - update the schema manually and re-run the process.\n"
        "  \n"
        "  Additional troubleshooting context:\n"
        "     Source columns not in target: ['extra']\n"
        "     Target columns not in source: []\n"
        "     New column types: []");
    job_free(r);
    ck_assert_str_eq(q_rows("select count(*) from s.sc"), "2");
    /* append_new_columns */
    dict_setz(&C.a, n->config, "on_schema_change", v_strz(&C.a, "append_new_columns"));
    r = run(n, "select 3 as id, 1.5::numeric(4,2) as extra");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "alter table \"postgres\".\"s\".\"sc\"\n  add column extra numeric(4,2)\n;\n")
                  != NULL, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(q_rows("select id, v, extra from s.sc order by id"), "1,a,~;2,bbbbb,~;3,~,1.50");
    /* sync_all_columns: drop v, retype extra to text, add w */
    dict_setz(&C.a, n->config, "on_schema_change", v_strz(&C.a, "sync_all_columns"));
    r = run(n, "select 4 as id, 'x'::text as extra, true as w");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    const char *sent = sb_cstr(&r->j.sent);
    ck_assert_msg(strstr(sent, "alter table \"postgres\".\"s\".\"sc\"\n  add column w boolean\n,\n  drop column v\n;\n") != NULL,
                  "%s", sent);
    ck_assert_msg(strstr(sent, "alter table \"postgres\".\"s\".\"sc\" add column \"extra__dbt_alter\" text;\n"
                               "update \"postgres\".\"s\".\"sc\" set \"extra__dbt_alter\" = \"extra\";\n"
                               "alter table \"postgres\".\"s\".\"sc\" drop column \"extra\" cascade;\n"
                               "alter table \"postgres\".\"s\".\"sc\" rename column \"extra__dbt_alter\" to \"extra\";\n")
                  != NULL, "%s", sent);
    job_free(r);
    ck_assert_str_eq(q_rows("select column_name, data_type from information_schema.columns "
                            "where table_schema = 's' and table_name = 'sc' order by ordinal_position"),
                     "id,integer;w,boolean;extra,text");
    ck_assert_str_eq(q_rows("select id, extra, w from s.sc order by id"), "1,~,~;2,~,~;3,1.50,~;4,x,t");
}
END_TEST

START_TEST(incremental_bad_strategy)
{
    Node *n = node(RT_MODEL, "bs", "materialized", "incremental", "incremental_strategy", "insert_overwrite", NULL);
    run_ok(node(RT_MODEL, "bs", "materialized", "incremental", NULL), "select 1 as a");
    Run *r = run(n, "select 2 as a");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "Runtime Error in model bs (models/bs.sql)\n"
                                       "  The incremental strategy 'insert_overwrite' is not valid for this adapter");
    job_free(r);
    ck_assert_str_eq(q_rows("select a from s.bs"), "1");
}
END_TEST

/* ---------------------------------------------------------------- tests */

START_TEST(test_statuses)
{
    q_exec("create table s.t as select * from (values (1), (2), (2), (null)) x(id)");
    const char *dup = "select id as unique_field, count(*) as n_records from s.t where id is not null "
                      "group by id having count(*) > 1";
    Node *u = node(RT_TEST, "unique_t_id", NULL);
    Run *r = run(u, dup);
    ck_assert_int_eq(r->rc, 0);
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_int_eq(r->j.failures, 1);
    ck_assert_str_eq(r->j.message, "Got 1 result, configured to fail if != 0");
    ck_assert_str_eq(r->j.adapter_message, "SELECT 1");
    ck_assert_str_eq(r->j.adapter_code, "SELECT");
    ck_assert_int_eq(r->j.rows_affected, 1);
    ck_assert_str_eq(sb_cstr(&r->j.sent),
        "select\n  count(*) as failures,\n  count(*) != 0 as should_warn,\n  count(*) != 0 as should_error\n"
        "from (\nselect id as unique_field, count(*) as n_records from s.t where id is not null group by id having count(*) > 1\n"
        ") dbt_internal_test;\n");
    job_free(r);
    /* not_null: passes with where, fails without */
    Node *nn = node(RT_TEST, "not_null_t_id", NULL);
    r = run(nn, "select id from s.t where id is null");
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_str_eq(r->j.message, "Got 1 result, configured to fail if != 0");
    job_free(r);
    r = run(nn, "select id from (select * from s.t where id > 0) dbt_subquery where id is null");
    ck_assert_int_eq(r->j.status, NS_PASS);
    ck_assert_int_eq(r->j.failures, 0);
    ck_assert_ptr_null(r->j.message);
    job_free(r);
    /* severity warn */
    Node *w = node(RT_TEST, "w", "severity", "warn", NULL);
    r = run(w, "select * from s.t");
    ck_assert_int_eq(r->j.status, NS_WARN);
    ck_assert_int_eq(r->j.failures, 4);
    ck_assert_str_eq(r->j.message, "Got 4 results, configured to warn if != 0");
    job_free(r);
    /* --warn-error turns it into a failure */
    exec_shared_set_warn_error(C.sh, true);
    r = run(w, "select * from s.t");
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_str_eq(r->j.message, "Got 4 results, configured to fail if != 0");
    job_free(r);
    exec_shared_set_warn_error(C.sh, false);
    /* error_if / warn_if thresholds */
    Node *th = node(RT_TEST, "th", "error_if", ">3", "warn_if", ">1", NULL);
    r = run(th, "select * from s.t");
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_str_eq(r->j.message, "Got 4 results, configured to fail if >3");
    job_free(r);
    r = run(th, "select * from s.t where id = 2");
    ck_assert_int_eq(r->j.status, NS_WARN);
    ck_assert_str_eq(r->j.message, "Got 2 results, configured to warn if >1");
    job_free(r);
    /* limit */
    Node *lim = node(RT_TEST, "lim", NULL);
    dict_setz(&C.a, lim->config, "limit", v_int(2));
    r = run(lim, "select * from s.t");
    ck_assert_int_eq(r->j.failures, 2);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "select * from s.t\nlimit 2\n) dbt_internal_test") != NULL, "%s",
                  sb_cstr(&r->j.sent));
    job_free(r);
    /* fail_calc */
    Node *fc = node(RT_TEST, "fc", "fail_calc", "coalesce(sum(id), 0)", NULL);
    r = run(fc, "select * from s.t");
    ck_assert_int_eq(r->j.failures, 5);
    ck_assert_str_eq(r->j.message, "Got 5 results, configured to fail if != 0");
    job_free(r);
    /* SQL error -> error status with location */
    r = run(nn, "select nope from s.t");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_int_eq(r->j.status, NS_ERROR);
    ck_assert_str_eq(errtext(&r->j),
        "target/compiled/p/models/not_null_t_id.sql:1:8: error: column \"nope\" does not exist\n"
        "    1 | select nope from s.t\n"
        "      |        ^\n"
        "  note: compiled from models/not_null_t_id.sql\n");
    job_free(r);
}
END_TEST

START_TEST(test_store_failures)
{
    q_exec("create table s.t2 as select * from (values (1), (null), (null)) x(id)");
    Node *nn = node(RT_TEST, "not_null_t2_id", "store_failures", "true", NULL);
    Run *r = run(nn, "select * from s.t2 where id is null");
    ck_assert_msg(r->rc == 0, "%s", errtext(&r->j));
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_int_eq(r->j.failures, 2);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent),
        "create table \"postgres\".\"s_dbt_test__audit\".\"not_null_t2_id\" as (\nselect * from s.t2 where id is null\n);\n") != NULL,
        "%s", sb_cstr(&r->j.sent));
    ck_assert_msg(strstr(sb_cstr(&r->j.sent),
        "from (\nselect *\nfrom \"postgres\".\"s_dbt_test__audit\".\"not_null_t2_id\"\n) dbt_internal_test") != NULL,
        "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(q_rows("select count(*) from s_dbt_test__audit.not_null_t2_id"), "2");
    /* rerun replaces the table; store_failures_as alone turns storing on */
    q_exec("delete from s.t2 where id is null and ctid = (select min(ctid) from s.t2 where id is null)");
    Node *v = node(RT_TEST, "not_null_t2_id", "store_failures_as", "view", NULL);
    r = job(v, "select * from s.t2 where id is null");
    ck_assert_int_eq(mat_test(&r->j), 0);
    ck_assert_int_eq(r->j.failures, 1);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "drop table if exists \"postgres\".\"s_dbt_test__audit\".\"not_null_t2_id\" cascade;\n"
                                              "create view") != NULL, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(reltype("s_dbt_test__audit", "not_null_t2_id"), "view");
    /* store_failures_as: ephemeral wins over store_failures and the flag */
    Node *eph = node(RT_TEST, "eph", "store_failures", "true", "store_failures_as", "ephemeral", NULL);
    r = job(eph, "select * from s.t2 where id is null");
    r->j.store_failures = true;
    ck_assert_int_eq(mat_test(&r->j), 0);
    ck_assert_int_eq(r->j.status, NS_FAIL);
    ck_assert_msg(strstr(sb_cstr(&r->j.sent), "create") == NULL, "%s", sb_cstr(&r->j.sent));
    job_free(r);
    ck_assert_str_eq(reltype("s_dbt_test__audit", "eph"), "");
    /* --store-failures alone stores as a table */
    Node *fl = node(RT_TEST, "fl", NULL);
    r = job(fl, "select * from s.t2 where id is null");
    r->j.store_failures = true;
    ck_assert_int_eq(mat_test(&r->j), 0);
    job_free(r);
    ck_assert_str_eq(reltype("s_dbt_test__audit", "fl"), "table");
    /* bad store_failures_as */
    Node *b = node(RT_TEST, "b", "store_failures", "true", "store_failures_as", "nope", NULL);
    r = run(b, "select 1");
    ck_assert_int_eq(r->rc, -1);
    ck_assert_str_eq(r->j.err.message, "Compilation Error in test b (models/b.sql)\n  'nope' is not a valid value for `store_failures_as`. "
                                       "Accepted values are: ['ephemeral', 'table', 'view']");
    job_free(r);
}
END_TEST

Suite *exec_mat_suite(void)
{
    Suite *s = suite_create("exec_mat");
    TCase *tc = tcase_create("materializations");
    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, view_create_and_replace);
    tcase_add_test(tc, view_rebuild_is_one_pipeline);
    tcase_add_test(tc, view_pipeline_failures_keep_old_view);
    tcase_add_test(tc, pipeline_autocommit_statements_stand_alone);
    tcase_add_test(tc, table_create_swap_and_type_switch);
    tcase_add_test(tc, failed_model_keeps_old_relation);
    tcase_add_test(tc, connection_lost_mid_model);
    tcase_add_test(tc, error_position_in_wrapper);
    tcase_add_test(tc, error_position_utf8);
    tcase_add_test(tc, concurrent_jobs);
    tcase_add_test(tc, hooks_order_and_transactions);
    tcase_add_test(tc, unlogged_indexes_grants);
    tcase_add_test(tc, persist_docs_comments);
    tcase_add_test(tc, query_comment_prefix);
    tcase_add_test(tc, unloaded_schema_is_listed);
    tcase_add_test(tc, long_names_truncate);
    tcase_add_test(tc, unknown_materialization);
    tcase_add_test(tc, cancelled_sends_nothing);
    tcase_add_test(tc, incremental_append_and_full_refresh);
    tcase_add_test(tc, incremental_delete_insert);
    tcase_add_test(tc, incremental_merge);
    tcase_add_test(tc, incremental_schema_changes);
    tcase_add_test(tc, incremental_bad_strategy);
    tcase_add_test(tc, test_statuses);
    tcase_add_test(tc, test_store_failures);
    suite_add_tcase(s, tc);
    return s;
}
