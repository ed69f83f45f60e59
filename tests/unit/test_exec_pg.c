/* test_exec_pg.c - the PostgreSQL connection layer (pg.c), the relation
 * cache (relcache.c) and the managed local server (pgserver.c), against a
 * private cluster this suite starts through pgserver in a temp directory
 * (as root the server runs as the `postgres` user, like cdbt does). */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "exec/pg.h"
#include "exec/pgserver.h"
#include "exec/relcache.h"

static char g_root[256];
static Arena g_arena;
static VDict *g_profile;
static PgParams g_params;
static bool g_ready;
static char g_setup_error[2048];

static void suite_setup(void)
{
    snprintf(g_root, sizeof g_root, "/tmp/cdbt-ut-XXXXXX");
    if (!mkdtemp(g_root)) {
        snprintf(g_setup_error, sizeof g_setup_error, "mkdtemp failed");
        return;
    }
    chmod(g_root, 0755);                 /* the server user must reach the data dir */
    arena_init(&g_arena, 0);
    g_profile = v_dict(&g_arena).u.d;
    dict_setz(&g_arena, g_profile, "type", v_strz(&g_arena, "postgres"));
    dict_setz(&g_arena, g_profile, "managed", v_bool(true));
    dict_setz(&g_arena, g_profile, "dbname", v_strz(&g_arena, "ut_db"));
    dict_setz(&g_arena, g_profile, "schema", v_strz(&g_arena, "public"));
    pg_params_from_profile(&g_params, g_profile, "ut", "dev");
    Diag err = {0};
    if (pgserver_ensure(g_root, g_profile, &g_params, NULL, &err) != 0) {
        Sb s = SB_INIT;
        diag_format(&err, &s);
        snprintf(g_setup_error, sizeof g_setup_error, "%s", sb_cstr(&s));
        sb_free(&s);
        diag_clear(&err);
        return;
    }
    g_ready = true;
}

static void suite_teardown(void)
{
    Diag err = {0};
    if (g_root[0]) {
        pgserver_stop(g_root, g_profile, NULL, &err);
        fs_rm_rf(g_root);
    }
    diag_clear(&err);
    arena_free(&g_arena);
}

static PgConn *conn(void)
{
    ck_assert_msg(g_ready, "managed server did not start: %s", g_setup_error);
    Diag err = {0};
    PgConn *c = pg_connect(&g_params, &err);
    ck_assert_msg(c != NULL, "connect: %s", err.message ? err.message : "?");
    diag_clear(&err);
    return c;
}

static void exec_ok(PgConn *c, const char *sql)
{
    Diag err = {0};
    int rc = pg_exec(c, sql, NULL, NULL, 0, &err);
    ck_assert_msg(rc == 0, "%s: %s", sql, err.message ? err.message : "?");
    diag_clear(&err);
}

static char *scalar(PgConn *c, const char *sql)
{
    PgResult *r = NULL;
    Diag err = {0};
    ck_assert_msg(pg_exec(c, sql, &r, NULL, 0, &err) == 0, "%s: %s", sql, err.message ? err.message : "?");
    ck_assert_int_eq(r->nrows, 1);
    char *v = r->rows[0][0] ? strdup(r->rows[0][0]) : NULL;
    pg_result_free(r);
    diag_clear(&err);
    return v;
}

/* ------------------------------------------------------------------ */

START_TEST(params_from_profile)
{
    Arena a;
    arena_init(&a, 0);
    VDict *d = v_dict(&a).u.d;
    dict_setz(&a, d, "host", v_strz(&a, "db.example"));
    dict_setz(&a, d, "port", v_strz(&a, "6543"));
    dict_setz(&a, d, "user", v_int(42));
    dict_setz(&a, d, "pass", v_strz(&a, "s3cret"));
    dict_setz(&a, d, "database", v_strz(&a, "wh"));
    dict_setz(&a, d, "search_path", v_strz(&a, "a, b"));
    dict_setz(&a, d, "retries", v_int(3));
    PgParams p;
    pg_params_from_profile(&p, d, "prof", "tgt");
    ck_assert_str_eq(p.host, "db.example");
    ck_assert_int_eq(p.port, 6543);
    ck_assert_str_eq(p.user, "42");
    ck_assert_str_eq(p.password, "s3cret");
    ck_assert_str_eq(p.dbname, "wh");
    ck_assert_str_eq(p.search_path, "a, b");
    ck_assert_int_eq(p.retries, 3);
    ck_assert_int_eq(p.connect_timeout, 10);
    ck_assert(!p.managed);
    ck_assert_ptr_null(p.sslmode);
    /* an empty password is left to PGPASSWORD / .pgpass */
    dict_setz(&a, d, "password", v_strz(&a, ""));
    dict_setz(&a, d, "managed", v_bool(true));
    pg_params_from_profile(&p, d, "prof", "tgt");
    ck_assert_ptr_null(p.password);
    ck_assert(p.managed);
    arena_free(&a);
}
END_TEST

START_TEST(connect_failure_names_profile_target_host_port)
{
    PgParams p;
    pg_params_from_profile(&p, NULL, "warehouse", "dev");
    p.host = "/nonexistent-cdbt-dir";
    p.port = 5999;
    Diag err = {0};
    PgConn *c = pg_connect(&p, &err);
    ck_assert_ptr_null(c);
    const char *want = "Could not connect to PostgreSQL (profile 'warehouse', target 'dev', "
                       "host /nonexistent-cdbt-dir, port 5999): connection to server on socket "
                       "\"/nonexistent-cdbt-dir/.s.PGSQL.5999\" failed: No such file or directory";
    ck_assert_msg(!strncmp(err.message, want, strlen(want)), "got: %s", err.message);
    diag_clear(&err);
}
END_TEST

START_TEST(exec_rows_tags_and_types)
{
    PgConn *c = conn();
    char tag[64];
    Diag err = {0};
    ck_assert_int_eq(pg_exec(c, "create table ex1(a int, b text)", NULL, tag, sizeof tag, &err), 0);
    ck_assert_str_eq(tag, "CREATE TABLE");
    PgResult *r = NULL;
    ck_assert_int_eq(pg_exec(c, "insert into ex1 values (1, 'x'), (2, null)", &r, tag, sizeof tag, &err), 0);
    ck_assert_str_eq(tag, "INSERT 0 2");
    ck_assert_str_eq(r->status, "INSERT 0 2");
    ck_assert_int_eq(r->rows_affected, 2);
    pg_result_free(r);
    /* several statements: the last one's rows and tag */
    ck_assert_int_eq(pg_exec(c, "update ex1 set b = 'y' where a = 2; select a, b from ex1 order by a", &r, tag,
                             sizeof tag, &err), 0);
    ck_assert_str_eq(tag, "SELECT 2");
    ck_assert_int_eq(r->nrows, 2);
    ck_assert_int_eq(r->ncols, 2);
    ck_assert_str_eq(r->colnames[0], "a");
    ck_assert_str_eq(r->colnames[1], "b");
    ck_assert_uint_eq(r->coltypes[0], 23);   /* int4 */
    ck_assert_uint_eq(r->coltypes[1], 25);   /* text */
    ck_assert_str_eq(r->rows[0][0], "1");
    ck_assert_str_eq(r->rows[1][1], "y");
    ck_assert_int_eq(r->rows_affected, 2);
    pg_result_free(r);
    ck_assert_int_eq(pg_exec(c, "select null::text as n", &r, NULL, 0, &err), 0);
    ck_assert_ptr_null(r->rows[0][0]);
    pg_result_free(r);
    ck_assert_int_eq(pg_exec(c, "create table ex2 as select * from ex1", NULL, tag, sizeof tag, &err), 0);
    ck_assert_str_eq(tag, "SELECT 2");
    ck_assert_int_eq(pg_exec(c, "create view ex1v as select 1 as one", &r, tag, sizeof tag, &err), 0);
    ck_assert_str_eq(tag, "CREATE VIEW");
    ck_assert_int_eq(r->rows_affected, -1);
    pg_result_free(r);
    ck_assert_int_eq(pg_server_version(c) >= 100000, 1);
    pg_close(c);
    diag_clear(&err);
}
END_TEST

START_TEST(errors_carry_fields_and_position)
{
    PgConn *c = conn();
    Diag err = {0};
    ck_assert_int_eq(pg_exec(c, "select 1;\nselect nope from pg_class", NULL, NULL, 0, &err), -1);
    const PgError *e = pg_last_error(c);
    ck_assert_str_eq(e->sqlstate, "42703");
    ck_assert_str_eq(e->message, "column \"nope\" does not exist");
    ck_assert_int_eq(e->position, 18);       /* 1-based, in the whole query string */
    ck_assert_str_eq(err.message, "column \"nope\" does not exist");
    diag_clear(&err);

    exec_ok(c, "create table er1(a int primary key)");
    exec_ok(c, "insert into er1 values (1)");
    ck_assert_int_eq(pg_exec(c, "insert into er1 values (1)", NULL, NULL, 0, &err), -1);
    e = pg_last_error(c);
    ck_assert_str_eq(e->sqlstate, "23505");
    ck_assert_str_eq(e->detail, "Key (a)=(1) already exists.");
    ck_assert_int_eq(e->position, 0);
    Sb s = SB_INIT;
    diag_format(&err, &s);
    ck_assert_msg(strstr(sb_cstr(&s), "DETAIL:  Key (a)=(1) already exists.") != NULL, "%s", sb_cstr(&s));
    sb_free(&s);
    diag_clear(&err);

    ck_assert_int_eq(pg_exec(c, "select no_such_fn(1)", NULL, NULL, 0, &err), -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "42883");
    ck_assert_ptr_nonnull(pg_last_error(c)->hint);
    ck_assert_int_eq(pg_last_error(c)->position, 8);
    diag_clear(&err);

    /* the connection is still usable and the error is forgotten */
    char *v = scalar(c, "select 40 + 2");
    ck_assert_str_eq(v, "42");
    free(v);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "");
    pg_close(c);
}
END_TEST

START_TEST(transactions_tracked)
{
    PgConn *c = conn();
    Diag err = {0};
    ck_assert(!pg_in_transaction(c));
    ck_assert_int_eq(pg_commit(c, &err), 0);          /* no-op outside a transaction */
    ck_assert_int_eq(pg_begin(c, &err), 0);
    ck_assert(pg_in_transaction(c));
    ck_assert_int_eq(pg_begin(c, &err), 0);           /* no-op inside one */
    exec_ok(c, "create table tx1(a int)");
    pg_rollback(c);
    ck_assert(!pg_in_transaction(c));
    char *v = scalar(c, "select count(*) from pg_tables where tablename = 'tx1'");
    ck_assert_str_eq(v, "0");
    free(v);

    ck_assert_int_eq(pg_begin(c, &err), 0);
    exec_ok(c, "create table tx2(a int)");
    ck_assert_int_eq(pg_exec(c, "select 1/0", NULL, NULL, 0, &err), -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "22012");
    ck_assert(pg_in_transaction(c));                  /* failed, still open */
    pg_rollback(c);
    ck_assert(!pg_in_transaction(c));

    ck_assert_int_eq(pg_begin(c, &err), 0);
    exec_ok(c, "create table tx3(a int)");
    ck_assert_int_eq(pg_commit(c, &err), 0);
    ck_assert(!pg_in_transaction(c));
    pg_close(c);
    /* closing with an open transaction rolls it back */
    c = conn();
    ck_assert_int_eq(pg_begin(c, &err), 0);
    exec_ok(c, "create table tx4(a int)");
    pg_close(c);
    c = conn();
    v = scalar(c, "select string_agg(tablename, ',' order by tablename) from pg_tables where tablename like 'tx_'");
    ck_assert_str_eq(v, "tx3");
    free(v);
    pg_close(c);
    diag_clear(&err);
}
END_TEST

START_TEST(single_statement_lexing)
{
    ck_assert(pg_single_statement(""));
    ck_assert(pg_single_statement("select 1"));
    ck_assert(pg_single_statement("select 1;"));
    ck_assert(pg_single_statement("create view v as (\nselect 1\n);\n  -- done\n/* really */ "));
    ck_assert(!pg_single_statement("select 1; select 2"));
    ck_assert(!pg_single_statement("set x = 1;\ncreate view v as (select 1)"));
    ck_assert(!pg_single_statement("select 1;;"));
    /* ';' inside quotes, identifiers, comments and dollar quotes */
    ck_assert(pg_single_statement("select ';' as \"a;b\", 'it''s;' -- x; y\n"));
    ck_assert(pg_single_statement("select 1 /* a; /* nested; */ b; */ + 2"));
    ck_assert(pg_single_statement("select $$a;b$$, $t$ ;$$; $t$, $q$x$q$"));
    ck_assert(pg_single_statement("select a$b, $1 from t"));           /* not dollar quotes */
    ck_assert(!pg_single_statement("select $t$ ; $u$; select 1"));     /* unterminated $t$ */
    ck_assert(!pg_single_statement("select $$a$$; select 1"));
    /* unsure: backslashes (escape strings), unterminated quotes or comments */
    ck_assert(!pg_single_statement("select E'\\';' "));
    ck_assert(!pg_single_statement("select 'abc"));
    ck_assert(!pg_single_statement("select \"abc"));
    ck_assert(!pg_single_statement("select 1 /* open"));
}
END_TEST

START_TEST(pipeline_results_errors_and_transactions)
{
    PgConn *c = conn();
    Diag err = {0};
    /* all succeed: one tag each; BEGIN .. COMMIT then an autocommit statement */
    PgPipeItem ok[] = {{.sql = "BEGIN"}, {.sql = "create table pp1(a int)"},
                       {.sql = "insert into pp1 values (1), (2)"}, {.sql = "COMMIT"},
                       {.sql = "create view pp1v as select a from pp1"}};
    ck_assert_int_eq(pg_exec_pipeline(c, ok, 5, &err), 0);
    const char *tags[] = {"BEGIN", "CREATE TABLE", "INSERT 0 2", "COMMIT", "CREATE VIEW"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(ok[i].status, 0);
        ck_assert_str_eq(ok[i].tag, tags[i]);
        ck_assert(ok[i].done_at > 0);
    }
    ck_assert(!pg_in_transaction(c));
    char *v = scalar(c, "select count(*) from pp1v");
    ck_assert_str_eq(v, "2");
    free(v);

    /* a failure inside BEGIN .. COMMIT: the rest is skipped, the transaction
     * stays open (failed) until rolled back, the position is the statement's */
    PgPipeItem bad[] = {{.sql = "BEGIN"}, {.sql = "drop view pp1v"},
                        {.sql = "select 1,\n  nope from pp1"}, {.sql = "COMMIT"},
                        {.sql = "drop table pp1 cascade"}};
    ck_assert_int_eq(pg_exec_pipeline(c, bad, 5, &err), -1);
    ck_assert_int_eq(bad[0].status, 0);
    ck_assert_int_eq(bad[1].status, 0);
    ck_assert_int_eq(bad[2].status, -1);
    ck_assert_int_eq(bad[3].status, 1);
    ck_assert_int_eq(bad[4].status, 1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "42703");
    ck_assert_int_eq(pg_last_error(c)->position, 13);   /* counted in "select 1,\n  nope" */
    ck_assert_str_eq(err.message, "column \"nope\" does not exist");
    diag_clear(&err);
    ck_assert(pg_in_transaction(c));
    pg_rollback(c);
    ck_assert(!pg_in_transaction(c));
    v = scalar(c, "select count(*) from pp1v");            /* the drop was rolled back */
    ck_assert_str_eq(v, "2");
    free(v);

    /* a failure after COMMIT: the transaction is committed, the statement
     * after the COMMIT is not */
    PgPipeItem late[] = {{.sql = "BEGIN"}, {.sql = "insert into pp1 values (3)"}, {.sql = "COMMIT"},
                         {.sql = "insert into pp1 values (4)"}, {.sql = "select 1/0"}};
    ck_assert_int_eq(pg_exec_pipeline(c, late, 5, &err), -1);
    ck_assert_int_eq(late[2].status, 0);
    ck_assert_int_eq(late[4].status, -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "22012");
    diag_clear(&err);
    ck_assert(!pg_in_transaction(c));
    v = scalar(c, "select string_agg(a::text, ',' order by a) from pp1");
    ck_assert_str_eq(v, "1,2,3");
    free(v);

    /* the connection is back to normal (not in pipeline mode) */
    exec_ok(c, "select 1; select 2");
    ck_assert_int_eq(pg_exec_pipeline(c, NULL, 0, &err), 0);

    /* the server goes away in the middle: an error, no hang */
    PgPipeItem lost[] = {{.sql = "BEGIN"}, {.sql = "select pg_terminate_backend(pg_backend_pid())"},
                         {.sql = "create table pp2(a int)"}, {.sql = "COMMIT"}};
    ck_assert_int_eq(pg_exec_pipeline(c, lost, 4, &err), -1);
    ck_assert_int_eq(lost[0].status, 0);
    ck_assert_int_eq(lost[1].status, -1);
    ck_assert_int_eq(lost[3].status, 1);
    ck_assert(err.message != NULL);
    diag_clear(&err);
    ck_assert(!pg_in_transaction(c));
    pg_close(c);
    c = conn();
    v = scalar(c, "select count(*) from pg_tables where tablename = 'pp2'");
    ck_assert_str_eq(v, "0");
    free(v);
    pg_close(c);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(copy_in_chunks_abort_and_errors)
{
    PgConn *c = conn();
    Diag err = {0};
    exec_ok(c, "create table ci(a int, b text)");
    ck_assert_int_eq(pg_copy_in_begin(c, "copy ci from stdin", &err), 0);
    const char *data = "1\tone\n2\t\\N\n3\tthree\n";
    /* chunks that split rows and fields */
    ck_assert_int_eq(pg_copy_in_put(c, data, 3, &err), 0);
    ck_assert_int_eq(pg_copy_in_put(c, data + 3, 7, &err), 0);
    ck_assert_int_eq(pg_copy_in_put(c, data + 10, strlen(data) - 10, &err), 0);
    int64_t rows = 0;
    ck_assert_int_eq(pg_copy_in_end(c, NULL, &rows, &err), 0);
    ck_assert_int_eq(rows, 3);
    char *v = scalar(c, "select string_agg(a || ':' || coalesce(b, 'NULL'), ',' order by a) from ci");
    ck_assert_str_eq(v, "1:one,2:NULL,3:three");
    free(v);

    /* abort: nothing of the aborted COPY stays */
    ck_assert_int_eq(pg_copy_in_begin(c, "copy ci from stdin", &err), 0);
    ck_assert_int_eq(pg_copy_in_put(c, "4\tfour\n", 7, &err), 0);
    ck_assert_int_eq(pg_copy_in_end(c, "malformed CSV at seeds/x.csv:3", &rows, &err), 0);
    ck_assert_int_eq(rows, -1);
    ck_assert_str_eq(pg_last_error(c)->message, "COPY from stdin failed: malformed CSV at seeds/x.csv:3");
    v = scalar(c, "select count(*) from ci");
    ck_assert_str_eq(v, "3");
    free(v);

    /* bad data: the server's error, connection still usable */
    ck_assert_int_eq(pg_copy_in_begin(c, "copy ci from stdin", &err), 0);
    ck_assert_int_eq(pg_copy_in_put(c, "x\ty\n", 4, &err), 0);
    ck_assert_int_eq(pg_copy_in_end(c, NULL, &rows, &err), -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "22P02");
    diag_clear(&err);
    v = scalar(c, "select count(*) from ci");
    ck_assert_str_eq(v, "3");
    free(v);

    /* not a COPY FROM STDIN */
    ck_assert_int_eq(pg_copy_in_begin(c, "select 1", &err), -1);
    ck_assert_str_eq(err.message, "statement is not a COPY ... FROM STDIN");
    diag_clear(&err);
    ck_assert_int_eq(pg_copy_in_begin(c, "copy nope from stdin", &err), -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "42P01");
    diag_clear(&err);
    ck_assert_int_eq(pg_copy_in_put(c, "1\n", 2, &err), -1);
    diag_clear(&err);

    /* a COPY inside pg_exec is refused without hanging the connection */
    ck_assert_int_eq(pg_exec(c, "copy ci from stdin", NULL, NULL, 0, &err), -1);
    diag_clear(&err);
    v = scalar(c, "select 1");
    ck_assert_str_eq(v, "1");
    free(v);
    pg_close(c);
}
END_TEST

typedef struct Lines {
    Sb all;
    int n, stop_after;
} Lines;

static int collect(void *ud, const char *line, size_t n)
{
    Lines *l = ud;
    sb_append(&l->all, line, n);
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

START_TEST(copy_out_lines_and_early_stop)
{
    PgConn *c = conn();
    Diag err = {0};
    Lines l = {SB_INIT, 0, 0};
    ck_assert_int_eq(pg_copy_out(c, "copy (select g, 'v' || g, null from generate_series(1, 3) g) to stdout",
                                 collect, &l, &err), 0);
    ck_assert_str_eq(sb_cstr(&l.all), "1\tv1\t\\N\n2\tv2\t\\N\n3\tv3\t\\N\n");
    ck_assert_int_eq(l.n, 3);
    sb_free(&l.all);

    Lines s = {SB_INIT, 0, 2};
    ck_assert_int_eq(pg_copy_out(c, "copy (select g from generate_series(1, 1000000) g) to stdout", collect, &s, &err), 0);
    ck_assert_int_ge(s.n, 2);
    ck_assert(!strncmp(sb_cstr(&s.all), "1\n2\n", 4));
    sb_free(&s.all);
    char *v = scalar(c, "select 7");
    ck_assert_str_eq(v, "7");
    free(v);

    Lines e = {SB_INIT, 0, 0};
    ck_assert_int_eq(pg_copy_out(c, "copy nope to stdout", collect, &e, &err), -1);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "42P01");
    ck_assert_int_eq(e.n, 0);
    sb_free(&e.all);
    diag_clear(&err);
    pg_close(c);
}
END_TEST

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    pg_cancel(arg);
    return NULL;
}

START_TEST(cancel_from_another_thread)
{
    PgConn *c = conn();
    Diag err = {0};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, c);
    ck_assert_int_eq(pg_exec(c, "select pg_sleep(60)", NULL, NULL, 0, &err), -1);
    pthread_join(th, NULL);
    ck_assert_str_eq(pg_last_error(c)->sqlstate, "57014");
    diag_clear(&err);
    char *v = scalar(c, "select 'alive'");
    ck_assert_str_eq(v, "alive");
    free(v);
    pg_close(c);
}
END_TEST

START_TEST(quoting)
{
    Sb s = SB_INIT;
    pg_quote_ident(&s, "we\"ird Name");
    ck_assert_str_eq(sb_cstr(&s), "\"we\"\"ird Name\"");
    sb_reset(&s);
    pg_quote_literal(&s, "it's \\ fine");
    ck_assert_str_eq(sb_cstr(&s), "'it''s \\ fine'");
    sb_free(&s);
}
END_TEST

START_TEST(relcache_lists_and_tracks)
{
    PgConn *c = conn();
    Diag err = {0};
    exec_ok(c, "create schema rcs; create table rcs.t(a int); create view rcs.v as select 1 as x;"
               "create materialized view rcs.m as select 1 as x; create table rcs.\"MiXed\"(a int);"
               "create schema rcs_other; create table rcs_other.t(a int)");
    RelCache *rc = relcache_new();
    ck_assert(!relcache_schema_loaded(rc, "rcs"));
    ck_assert_int_eq(relcache_load_schema(rc, c, "RCS", &err), 0);   /* ilike, as dbt */
    ck_assert(relcache_schema_loaded(rc, "rcs"));
    ck_assert(!relcache_schema_loaded(rc, "rcs_other"));
    ck_assert_int_eq(relcache_get(rc, "rcs", "t"), REL_TABLE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "v"), REL_VIEW);
    ck_assert_int_eq(relcache_get(rc, "rcs", "m"), REL_MATVIEW);
    ck_assert_int_eq(relcache_get(rc, "rcs", "MiXed"), REL_TABLE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "mixed"), REL_NONE);
    ck_assert_int_eq(relcache_get(rc, "rcs_other", "t"), REL_NONE);
    ck_assert_str_eq(relcache_type_name(relcache_get(rc, "rcs", "m")), "materialized_view");
    ck_assert_ptr_null(relcache_type_name(REL_NONE));

    relcache_set(rc, "rcs", "t__dbt_tmp", REL_TABLE);
    relcache_rename(rc, "rcs", "t", "t__dbt_backup");
    relcache_rename(rc, "rcs", "t__dbt_tmp", "t");
    ck_assert_int_eq(relcache_get(rc, "rcs", "t"), REL_TABLE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "t__dbt_tmp"), REL_NONE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "t__dbt_backup"), REL_TABLE);
    relcache_set(rc, "rcs", "t__dbt_backup", REL_NONE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "t__dbt_backup"), REL_NONE);
    relcache_rename(rc, "rcs", "absent", "x");                       /* nothing to move */
    ck_assert_int_eq(relcache_get(rc, "rcs", "x"), REL_NONE);

    ck_assert_int_eq(relcache_load_schema(rc, c, "rcs_other", &err), 0);
    relcache_drop_schema(rc, "rcs");
    ck_assert_int_eq(relcache_get(rc, "rcs", "v"), REL_NONE);
    ck_assert_int_eq(relcache_get(rc, "rcs", "MiXed"), REL_NONE);
    ck_assert_int_eq(relcache_get(rc, "rcs_other", "t"), REL_TABLE);
    relcache_free(rc);
    pg_close(c);
    diag_clear(&err);
}
END_TEST

/* Last: restarts the server.  Reuse, status, kill -9 recovery, stop. */
START_TEST(managed_server_lifecycle)
{
    ck_assert_msg(g_ready, "managed server did not start: %s", g_setup_error);
    Diag err = {0};
    PgServerInfo a, b, st;
    PgParams p;
    pg_params_from_profile(&p, g_profile, "ut", "dev");
    ck_assert_int_eq(pgserver_ensure(g_root, g_profile, &p, &a, &err), 0);
    ck_assert(a.running);
    ck_assert_str_eq(p.host, a.sock_dir);
    ck_assert_str_eq(p.dbname, "ut_db");
    ck_assert(!strncmp(a.sock_dir, "/tmp/cdbt-", 10));
    ck_assert_int_lt((int)strlen(a.sock_dir), 60);
    Sb want = SB_INIT;
    sb_printf(&want, "%s/.cdbt/pgdata", g_root);
    ck_assert_str_eq(a.data_dir, sb_cstr(&want));
    sb_free(&want);
    ck_assert_int_eq(pgserver_ensure(g_root, g_profile, &p, &b, &err), 0);
    ck_assert_int_eq(a.pid, b.pid);                                    /* reused */

    PgConn *c = pg_connect(&p, &err);
    ck_assert_ptr_nonnull(c);
    char *v = scalar(c, "select current_database() || ' ' || current_setting('listen_addresses') || '|'");
    ck_assert_str_eq(v, "ut_db |");                                    /* no TCP listener */
    free(v);
    exec_ok(c, "create table survivor(a int); insert into survivor values (1)");
    pg_close(c);

    /* crash: kill -9 the postmaster; the next ensure recovers */
    ck_assert_int_eq(kill((pid_t)a.pid, SIGKILL), 0);
    ck_assert_int_eq(pgserver_status(g_root, g_profile, &st, &err), 0);
    ck_assert(!st.running);
    ck_assert_msg(pgserver_ensure(g_root, g_profile, &p, &b, &err) == 0, "%s", err.message ? err.message : "?");
    ck_assert(b.running);
    ck_assert_int_ne(a.pid, b.pid);
    c = pg_connect(&p, &err);
    ck_assert_ptr_nonnull(c);
    v = scalar(c, "select count(*) from survivor");
    ck_assert_str_eq(v, "1");
    free(v);
    pg_close(c);

    bool was = false;
    ck_assert_int_eq(pgserver_stop(g_root, g_profile, &was, &err), 0);
    ck_assert(was);
    ck_assert_int_eq(pgserver_status(g_root, g_profile, &st, &err), 0);
    ck_assert(!st.running);
    ck_assert(st.initialized);
    ck_assert_int_eq(pgserver_stop(g_root, g_profile, &was, &err), 0);
    ck_assert(!was);
    diag_clear(&err);
}
END_TEST

Suite *exec_pg_suite(void)
{
    Suite *s = suite_create("exec_pg");
    TCase *tc = tcase_create("pg");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, params_from_profile);
    tcase_add_test(tc, connect_failure_names_profile_target_host_port);
    tcase_add_test(tc, exec_rows_tags_and_types);
    tcase_add_test(tc, errors_carry_fields_and_position);
    tcase_add_test(tc, transactions_tracked);
    tcase_add_test(tc, single_statement_lexing);
    tcase_add_test(tc, pipeline_results_errors_and_transactions);
    tcase_add_test(tc, copy_in_chunks_abort_and_errors);
    tcase_add_test(tc, copy_out_lines_and_early_stop);
    tcase_add_test(tc, cancel_from_another_thread);
    tcase_add_test(tc, quoting);
    tcase_add_test(tc, relcache_lists_and_tracks);
    tcase_add_test(tc, managed_server_lifecycle);
    suite_add_tcase(s, tc);
    return s;
}
