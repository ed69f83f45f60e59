/* cmd_source.c - `cdbt source freshness` (§11).
 *
 * For each selected source table with a `loaded_at_field` and a freshness
 * that sets `warn_after` or `error_after` ({count, period: minute|hour|
 * day}), runs dbt-postgres's collect_freshness query
 *     select max(<loaded_at_field>) as max_loaded_at, now() as snapshotted_at
 *     from <source relation> [where <filter>]
 * on one connection, in the order the sources were defined.  A value
 * without a time zone is taken as UTC; no rows count as year 1.  The age
 * (snapshotted_at - max_loaded_at, seconds) past error_after is `error`,
 * past warn_after `warn`, else `pass`; a failed query is `runtime error`.
 * Writes target/sources.json (or --output/-o) in dbt's sources/v3 layout.
 * Exit 1 when a source is in error (warnings exit 0), 2 for project or usage
 * errors or when the database cannot be reached. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../base/clock.h"
#include "../base/fs.h"
#include "../base/json.h"
#include "../exec/pg.h"
#include "../exec/pgserver.h"

#define WIDTH 80

typedef struct Fresh {
    Node *n;
    const char *name;            /* <source>.<table> */
    double warn_s, error_s;      /* seconds; <= 0: not set */
    const char *sql;
    const char *status;          /* pass | warn | error | runtime error */
    const char *error;           /* runtime error text */
    double max_loaded, snapshotted;      /* epoch seconds (UTC) */
    double started, compiled, exec_start, exec_end;
    const char *tag;
} Fresh;

/* seconds of {count, period}, or 0 when either is missing */
static double after_secs(VDict *fr, const char *key)
{
    Value *t = fr ? dict_getz(fr, key) : NULL;
    if (!t || t->type != V_DICT)
        return 0;
    Value *c = dict_getz(t->u.d, "count"), *p = dict_getz(t->u.d, "period");
    if (!c || !p || p->type != V_STR || (c->type != V_INT && c->type != V_FLOAT))
        return 0;
    double cnt = c->type == V_INT ? (double)c->u.i : c->u.f;
    const char *per = p->u.s->s;
    double unit = !strcmp(per, "minute") ? 60 : !strcmp(per, "hour") ? 3600 : !strcmp(per, "day") ? 86400 : 0;
    return cnt * unit;
}

/* A timestamp as PostgreSQL prints it ("YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]]"),
 * without an offset taken as UTC, to epoch seconds.  NULL: year 1. */
static bool parse_ts(const char *s, double *out)
{
    if (!s) {
        struct tm tm = {0};
        tm.tm_year = 1 - 1900;
        tm.tm_mday = 1;
        *out = (double)timegm(&tm);
        return true;
    }
    int Y, M, D, h = 0, m = 0, n = 0;
    if (sscanf(s, "%d-%d-%d%n", &Y, &M, &D, &n) < 3 || n < 8)
        return false;
    const char *p = s + n;
    double frac = 0;
    if (*p == ' ' || *p == 'T') {
        double sec = 0;
        int k = 0;
        if (sscanf(p + 1, "%d:%d:%lf%n", &h, &m, &sec, &k) < 3)
            return false;
        p += 1 + k;
        frac = sec;
    }
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    double t = (double)timegm(&tm) + frac;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
        if (sscanf(p + 1, "%d:%d:%d", &oh, &om, &os) < 1)
            return false;
        t -= sign * (oh * 3600.0 + om * 60.0 + os);
    } else if (*p && strncmp(p, " BC", 3) != 0) {
        return false;
    }
    *out = t;
    return true;
}

/* "2026-12-01T23:50:00.123456+00:00", as Python's isoformat() of an aware datetime */
static void iso_offset(double t, char buf[96])
{
    time_t sec = (time_t)floor(t);
    long us = lround((t - (double)sec) * 1e6);
    if (us >= 1000000) {
        sec++;
        us -= 1000000;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    char head[48];
    snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
    if (us)
        snprintf(buf, 96, "%s.%06ld+00:00", head, us);
    else
        snprintf(buf, 96, "%s+00:00", head);
}

static void line(const Flags *f, int i, int total, const char *msg, const char *status, bool err)
{
    if (f->quiet && !err)
        return;
    Sb l = SB_INIT;
    sb_printf(&l, "%d of %d %s ", i, total, msg);
    while (l.len < WIDTH)
        sb_putc(&l, '.');
    sb_printf(&l, " [%s]", status);
    console_line(f, "%s", sb_cstr(&l));
    sb_free(&l);
}

static void timing(JsonW *w, const char *name, double a, double b)
{
    char ts[64];
    json_obj_begin(w);
    json_key(w, "name");
    json_str(w, name);
    json_key(w, "started_at");
    clock_iso_utc(a, ts, sizeof ts);
    json_str(w, ts);
    json_key(w, "completed_at");
    clock_iso_utc(b, ts, sizeof ts);
    json_str(w, ts);
    json_obj_end(w);
}

static int write_sources_json(Session *s, Fresh *v, int n, double t0, const char *path, Diag *err)
{
    Sb out = SB_INIT;
    JsonW w;
    json_init(&w, &out, false);
    json_obj_begin(&w);
    results_metadata(&w, "https://schemas.getdbt.com/dbt/sources/v3.json", dbt_invocation_id(s->dbt));
    json_key(&w, "results");
    json_arr_begin(&w);
    for (int i = 0; i < n; i++) {
        Fresh *x = &v[i];
        json_obj_begin(&w);
        json_key(&w, "unique_id");
        json_str(&w, x->n->unique_id);
        if (!strcmp(x->status, "runtime error")) {
            json_key(&w, "error");
            json_str(&w, x->error);
            json_key(&w, "status");
            json_str(&w, x->status);
            json_obj_end(&w);
            continue;
        }
        char a[96], b[96];
        iso_offset(x->max_loaded, a);
        iso_offset(x->snapshotted, b);
        json_key(&w, "max_loaded_at");
        json_str(&w, a);
        json_key(&w, "snapshotted_at");
        json_str(&w, b);
        json_key(&w, "max_loaded_at_time_ago_in_s");
        json_double(&w, x->snapshotted - x->max_loaded);
        json_key(&w, "status");
        json_str(&w, x->status);
        json_key(&w, "criteria");
        json_obj_begin(&w);
        static const char *const keys[] = {"warn_after", "error_after"};
        for (int k = 0; k < 2; k++) {
            Value *t = x->n->freshness ? dict_getz(x->n->freshness, keys[k]) : NULL;
            Value *c = t && t->type == V_DICT ? dict_getz(t->u.d, "count") : NULL;
            Value *p = t && t->type == V_DICT ? dict_getz(t->u.d, "period") : NULL;
            json_key(&w, keys[k]);
            json_obj_begin(&w);
            json_key(&w, "count");
            value_to_json(&w, c ? *c : v_none());
            json_key(&w, "period");
            value_to_json(&w, p ? *p : v_none());
            json_obj_end(&w);
        }
        Value *flt = x->n->freshness ? dict_getz(x->n->freshness, "filter") : NULL;
        json_key(&w, "filter");
        value_to_json(&w, flt ? *flt : v_none());
        json_obj_end(&w);
        json_key(&w, "adapter_response");
        json_obj_begin(&w);
        json_key(&w, "_message");
        json_str(&w, x->tag ? x->tag : "SELECT 1");
        json_key(&w, "code");
        json_str(&w, "SELECT");
        json_key(&w, "rows_affected");
        json_int(&w, 1);
        json_obj_end(&w);
        json_key(&w, "timing");
        json_arr_begin(&w);
        timing(&w, "compile", x->started, x->compiled);
        timing(&w, "execute", x->exec_start, x->exec_end);
        json_arr_end(&w);
        json_key(&w, "thread_id");
        json_str(&w, "Thread-1");
        json_key(&w, "execution_time");
        json_double(&w, x->exec_end - x->started);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "elapsed_time");
    json_double(&w, results_wallclock() - t0);
    json_obj_end(&w);
    int rc = fs_write_file(path, out.buf, out.len);
    if (rc != 0)
        diag_set(err, path, 0, 0, NULL, "could not write %s", path);
    sb_free(&out);
    return rc;
}

int cmd_source(Flags *f)
{
    if (!f->subcommand || strcmp(f->subcommand, "freshness") != 0) {
        if (f->subcommand)
            fprintf(stderr, "error: No such command 'source %s'.\n", f->subcommand);
        else
            fprintf(stderr, "error: Missing command.\n");
        fprintf(stderr, "Usage: cdbt source freshness [OPTIONS]\n");
        return EXIT_PROJECT_ERROR;
    }
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    double t0 = results_wallclock();
    Session s;
    int rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Project *p = s.project;
    console_found(f, p);
    static const int kSources[] = {RT_SOURCE, -1};
    bool *sel = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
    rc = session_select(&s, kSources, sel);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Fresh *v = arena_zalloc(&s.arena, sizeof *v * (size_t)(p->nnodes + 1));
    int n = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *nd = p->nodes[i];
        if (!sel[i] || nd->rt != RT_SOURCE || !nd->freshness || !nd->loaded_at_field)
            continue;
        double ws = after_secs(nd->freshness, "warn_after"), es = after_secs(nd->freshness, "error_after");
        if (ws <= 0 && es <= 0)
            continue;
        Fresh *x = &v[n++];
        x->n = nd;
        x->name = arena_sprintf(&s.arena, "%s.%s", nd->source_name, nd->name);
        x->warn_s = ws;
        x->error_s = es;
        Value *flt = dict_getz(nd->freshness, "filter");
        x->sql = arena_sprintf(&s.arena,
                               "select\n      max(%s) as max_loaded_at,\n      now() as snapshotted_at\n    from %s\n%s%s",
                               nd->loaded_at_field, nd->relation_name,
                               flt && flt->type == V_STR && flt->u.s->len ? "    where " : "",
                               flt && flt->type == V_STR && flt->u.s->len ? flt->u.s->s : "");
    }
    /* -o as given (relative to the working directory, as dbt takes it) */
    const char *path = f->output && *f->output ? f->output
                                               : arena_sprintf(&s.arena, "%s/sources.json", session_target_dir(&s));
    Diag err = {0};
    if (n == 0) {
        console_line(f, "%s", "");
        console_line(f, "Nothing to do. Try checking your model configs and model specification args");
        rc = write_sources_json(&s, v, 0, t0, path, &err) == 0 ? EXIT_OK : EXIT_PROJECT_ERROR;
        if (rc != EXIT_OK)
            cli_print_diag(&err);
        diag_clear(&err);
        session_close(&s);
        return rc;
    }
    PgParams params;
    PgConn *c = session_pg_params(&s, &params, &err) == 0 ? pg_connect(&params, &err) : NULL;
    if (!c) {
        cli_print_diag(&err);
        diag_clear(&err);
        session_close(&s);
        return EXIT_PROJECT_ERROR;
    }
    console_line(f, "%s", "");
    console_line(f, "Concurrency: 1 threads (target='%s')", p->target_name ? p->target_name : "");
    console_line(f, "%s", "");
    int nerr = 0, nwarn = 0, npass = 0;
    for (int i = 0; i < n; i++) {
        Fresh *x = &v[i];
        char msg[512];
        snprintf(msg, sizeof msg, "START freshness of %s", x->name);
        line(f, i + 1, n, msg, "RUN", false);
        x->started = results_wallclock();
        x->compiled = x->exec_start = results_wallclock();
        PgResult *r = NULL;
        char tag[64] = "";
        Diag qe = {0};
        bool ok = pg_exec(c, x->sql, &r, tag, sizeof tag, &qe) == 0 && r && r->nrows == 1 && r->ncols == 2;
        x->exec_end = results_wallclock();
        x->tag = arena_strdup(&s.arena, tag[0] ? tag : "SELECT 1");
        if (ok && (!parse_ts(r->rows[0][0], &x->max_loaded) || !parse_ts(r->rows[0][1], &x->snapshotted))) {
            ok = false;
            diag_set(&qe, NULL, 0, 0, NULL, "cannot read the timestamps %s / %s", r->rows[0][0] ? r->rows[0][0] : "null",
                     r->rows[0][1] ? r->rows[0][1] : "null");
        }
        if (r)
            pg_result_free(r);
        double secs = x->exec_end - x->started;
        if (!ok) {
            x->status = "runtime error";
            x->error = arena_strdup(&s.arena, qe.message ? qe.message : "query failed");
            nerr++;
            snprintf(msg, sizeof msg, "ERROR freshness of %s", x->name);
            line(f, i + 1, n, msg, arena_sprintf(&s.arena, "ERROR in %.2fs", secs), true);
            Diag shown = {0};
            diag_set(&shown, x->n->original_file_path, 0, 0, NULL, "Runtime error in source %s: %s", x->name, x->error);
            cli_print_diag(&shown);
            diag_clear(&shown);
            diag_clear(&qe);
            continue;
        }
        diag_clear(&qe);
        double age = x->snapshotted - x->max_loaded;
        if (x->error_s > 0 && age > x->error_s) {
            x->status = "error";
            nerr++;
            snprintf(msg, sizeof msg, "ERROR STALE freshness of %s", x->name);
            line(f, i + 1, n, msg, arena_sprintf(&s.arena, "ERROR STALE in %.2fs", secs), true);
        } else if (x->warn_s > 0 && age > x->warn_s) {
            x->status = "warn";
            nwarn++;
            snprintf(msg, sizeof msg, "WARN freshness of %s", x->name);
            line(f, i + 1, n, msg, arena_sprintf(&s.arena, "WARN in %.2fs", secs), false);
        } else {
            x->status = "pass";
            npass++;
            snprintf(msg, sizeof msg, "PASS freshness of %s", x->name);
            line(f, i + 1, n, msg, arena_sprintf(&s.arena, "PASS in %.2fs", secs), false);
        }
    }
    pg_close(c);
    console_line(f, "%s", "");
    console_line(f, "Finished running %d source%s in %.2fs.", n, n == 1 ? "" : "s", results_wallclock() - t0);
    console_line(f, "Done. PASS=%d WARN=%d ERROR=%d SKIP=0 TOTAL=%d", npass, nwarn, nerr, n);
    rc = nerr ? EXIT_NODE_FAILURE : EXIT_OK;
    if (write_sources_json(&s, v, n, t0, path, &err) != 0) {
        cli_print_diag(&err);
        rc = EXIT_PROJECT_ERROR;
    }
    diag_clear(&err);
    session_close(&s);
    return rc;
}
