/* cmd_run.c - `cdbt run`, `test`, `seed`, `snapshot`, `build`, `clone`: load and select like the
 * other commands, connect (starting the managed local server for a
 * `managed: true` target), hand the selection to the runner
 * (src/exec/runner.h) and print its progress the way dbt does: START / OK /
 * PASS / FAIL / WARN / ERROR / SKIP lines padded with dots to 80 columns,
 * the closing "Finished running ...", the error details and "Done. PASS=...".
 * Colour only on a terminal (or --use-colors); --log-format json prints one
 * JSON object per line instead.  Writes run_results.json and manifest.json.
 *
 * Exit codes (§12.5): 0 all good (warnings allowed), 1 a node errored /
 * failed / was skipped or --fail-fast stopped the run, 2 project or usage
 * error, connection failure, or interruption (SIGINT / SIGTERM). */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../base/json.h"
#include "../exec/pgserver.h"
#include "../exec/runner.h"
#include "../cache/cache.h"
#include "../base/clock.h"

#define PRINTER_WIDTH 80

/* The one piece of state a signal handler may touch. */
static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    g_interrupted = 1;
    signal(sig, SIG_DFL);   /* a second Ctrl-C ends the process at once */
}

typedef struct Out {
    const Flags *f;
    Session *s;
    bool json, color;
    bool quiet_nodes;            /* clone: no START / result line per node, as dbt's clone runner */
} Out;

static const char *const C_GREEN = "\033[32m", *const C_RED = "\033[31m", *const C_YELLOW = "\033[33m",
                  *const C_RESET = "\033[0m";

static void now_hms(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}


/* One JSON log line: {"info": {name, level, msg, ts, invocation_id, thread}, "data": {...}}. */
static void json_line(Out *o, const char *name, const char *level, const char *msg, const RunItem *it, int total)
{
    Sb sb = SB_INIT;
    JsonW w;
    json_init(&w, &sb, false);
    json_obj_begin(&w);
    dbt_json_log_info(&w, name, level, msg, o->s && o->s->dbt ? dbt_invocation_id(o->s->dbt) : NULL);
    json_key(&w, "data");
    json_obj_begin(&w);
    if (it) {
        Node *n = it->node;
        json_key(&w, "index");
        json_int(&w, it->index);
        json_key(&w, "total");
        json_int(&w, total);
        json_key(&w, "node_info");
        json_obj_begin(&w);
        json_key(&w, "unique_id");
        json_str(&w, n->unique_id);
        json_key(&w, "resource_type");
        json_str(&w, rt_name(n->rt));
        json_key(&w, "node_name");
        json_str(&w, n->name);
        json_key(&w, "node_path");
        json_str(&w, n->original_file_path);
        json_key(&w, "node_relation");
        json_str(&w, n->relation_name);
        json_key(&w, "node_status");
        json_str(&w, !strcmp(name, "NodeStart") ? "started" : runner_status_name(it->status));
        json_obj_end(&w);
        if (strcmp(name, "NodeStart") != 0) {
            json_key(&w, "status");
            json_str(&w, runner_status_name(it->status));
            json_key(&w, "execution_time");
            json_double(&w, it->exec_end > it->compile_start ? it->exec_end - it->compile_start : 0.0);
            json_key(&w, "message");
            json_str(&w, it->message);
            if (it->failures >= 0) {
                json_key(&w, "num_failures");
                json_int(&w, it->failures);
            }
        }
    }
    json_obj_end(&w);
    json_obj_end(&w);
    puts(sb_cstr(&sb));
    fflush(stdout);
    sb_free(&sb);
}

/* A console line "HH:MM:SS  msg" (text) or a JSON object. error lines survive --quiet. */
static void out_line(Out *o, const char *name, bool is_error, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void out_line(Out *o, const char *name, bool is_error, const char *fmt, ...)
{
    if (o->f->quiet && !is_error)
        return;
    Sb msg = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (o->json) {
        json_line(o, name, is_error ? "error" : "info", sb_cstr(&msg), NULL, 0);
    } else {
        char hms[16];
        now_hms(hms, sizeof hms);
        printf("%s  %s\n", hms, sb_cstr(&msg));
        fflush(stdout);
    }
    sb_free(&msg);
}

static const char *paint(Out *o, const char *color, const char *text, Sb *buf)
{
    sb_reset(buf);
    if (o->color)
        sb_printf(buf, "%s%s%s", color, text, C_RESET);
    else
        sb_puts(buf, text);
    return sb_cstr(buf);
}

/* dbt's print_fancy_output_line: "<i> of <n> <msg> " padded with dots to
 * 80 columns, then " [<status>[ in <t>s]]"; START lines (truncate) longer
 * than 77 columns are cut there and end in "...". */
static void fancy(Out *o, const char *name, const RunItem *it, int total, const char *msg, const char *status,
                  const char *color, double secs, bool is_error)
{
    if (o->f->quiet && !is_error)
        return;
    Sb line = SB_INIT, st = SB_INIT, col = SB_INIT;
    sb_printf(&line, "%d of %d %s ", it->index, total, msg);
    while (line.len < PRINTER_WIDTH)
        sb_putc(&line, '.');
    if (!strcmp(name, "NodeStart") && line.len > PRINTER_WIDTH - 3) {
        sb_truncate(&line, PRINTER_WIDTH - 3);
        sb_puts(&line, "...");
    }
    sb_printf(&st, "%s", status);
    sb_printf(&line, " [%s", color ? paint(o, color, sb_cstr(&st), &col) : sb_cstr(&st));
    if (secs >= 0)
        sb_printf(&line, " in %.2fs", secs);
    sb_putc(&line, ']');
    if (o->json) {
        json_line(o, name, is_error ? "error" : "info", sb_cstr(&line), it, total);
    } else {
        char hms[16];
        now_hms(hms, sizeof hms);
        printf("%s  %s\n", hms, sb_cstr(&line));
        fflush(stdout);
    }
    sb_free(&line);
    sb_free(&st);
    sb_free(&col);
}

static const char *rel_of(const RunItem *it, Sb *buf)
{
    Node *n = it->node;
    sb_reset(buf);
    sb_printf(buf, "%s.%s", n->schema ? n->schema : "", n->alias ? n->alias : n->name);
    return sb_cstr(buf);
}

static void ev_info(void *ud, const char *line)
{
    Out *o = ud;
    const char *name = !*line ? "Formatting" : !strncmp(line, "Concurrency:", 12) ? "ConcurrencyLine"
                     : !strncmp(line, "Running ", 8) ? "HooksRunning" : "Info";
    out_line(o, name, false, "%s", line);
}

static void ev_start(void *ud, const RunItem *it, int total)
{
    Out *o = ud;
    if (o->quiet_nodes)
        return;
    Sb msg = SB_INIT, rel = SB_INIT;
    Node *n = it->node;
    if (it->is_hook)
        sb_printf(&msg, "START hook: %s", n->name);
    else if (n->rt == RT_TEST)
        sb_printf(&msg, "START test %s", n->name);
    else if (n->rt == RT_UNIT_TEST && n->unit)
        sb_printf(&msg, "START unit_test %s::%s", n->unit->model, n->name);
    else
        sb_printf(&msg, "START %s %s", it->kind, rel_of(it, &rel));
    fancy(o, "NodeStart", it, total, sb_cstr(&msg), "RUN", NULL, -1, false);
    sb_free(&msg);
    sb_free(&rel);
}

/* dbt 1.9's LogStartBatch / LogBatchResult: "Batch <i> of <n> " before the
 * fancy line of the batch */
static void ev_batch(void *ud, const RunBatch *b)
{
    Out *o = ud;
    Sb msg = SB_INIT, rel = SB_INIT;
    const char *what = b->phase == 0 ? "START" : b->phase == 1 ? "OK created" : b->phase == 2 ? "ERROR creating" : "SKIP";
    sb_printf(&msg, "%s batch %s of %s", what, b->label, rel_of(b->model, &rel));
    bool err = b->phase == 2;
    if (o->f->quiet && !err)
        goto done;
    Sb line = SB_INIT, col = SB_INIT;
    sb_printf(&line, "Batch %d of %d %s ", b->index, b->total, sb_cstr(&msg));
    while (line.len < PRINTER_WIDTH + 6)
        sb_putc(&line, '.');
    const char *st = b->phase == 0 ? "RUN" : b->status ? b->status : "";
    const char *color = b->phase == 2 ? C_RED : b->phase == 3 ? C_YELLOW : b->phase == 1 ? C_GREEN : NULL;
    sb_printf(&line, " [%s", color ? paint(o, color, st, &col) : st);
    if (b->secs >= 0 && b->phase != 0)
        sb_printf(&line, " in %.2fs", b->secs);
    sb_putc(&line, ']');
    if (o->json) {
        json_line(o, b->phase == 0 ? "LogStartBatch" : "LogBatchResult", err ? "error" : "info", sb_cstr(&line), b->model,
                  b->total);
    } else {
        char hms[16];
        now_hms(hms, sizeof hms);
        printf("%s  %s\n", hms, sb_cstr(&line));
        fflush(stdout);
    }
    sb_free(&line);
    sb_free(&col);
done:
    sb_free(&msg);
    sb_free(&rel);
}

static void ev_done(void *ud, const RunItem *it, int total)
{
    Out *o = ud;
    if (o->quiet_nodes)
        return;
    Node *n = it->node;
    Sb msg = SB_INIT, rel = SB_INIT, status = SB_INIT;
    double secs = it->exec_end > 0 ? it->exec_end - it->compile_start : it->compile_end - it->compile_start;
    if (secs < 0)
        secs = 0;
    const char *color = C_GREEN;
    bool err = false;
    if (it->status == NS_SKIPPED) {
        if (it->is_hook)
            sb_printf(&msg, "SKIP hook: %s", n->name);
        else if (n->rt == RT_TEST)
            sb_printf(&msg, "SKIP test %s", n->name);
        else if (n->rt == RT_UNIT_TEST && n->unit)
            sb_printf(&msg, "SKIP unit_test %s::%s", n->unit->model, n->name);
        else
            sb_printf(&msg, "SKIP relation %s", rel_of(it, &rel));
        fancy(o, "SkippingDetails", it, total, sb_cstr(&msg), "SKIP", C_YELLOW, -1, false);
        goto done;
    }
    if (it->is_hook) {
        err = it->status == NS_ERROR;
        sb_printf(&msg, "%s hook: %s", err ? "ERROR" : "OK", n->name);
        sb_puts(&status, err ? "ERROR" : (it->message ? it->message : "OK"));
        color = err ? C_RED : C_GREEN;
    } else if (n->rt == RT_TEST || n->rt == RT_UNIT_TEST) {
        switch (it->status) {
        case NS_PASS: sb_puts(&status, "PASS"); break;
        case NS_WARN: sb_printf(&status, "WARN %lld", (long long)it->failures); color = C_YELLOW; break;
        case NS_FAIL: sb_printf(&status, "FAIL %lld", (long long)it->failures); color = C_RED; err = true; break;
        default: sb_puts(&status, "ERROR"); color = C_RED; err = true; break;
        }
        if (n->rt == RT_UNIT_TEST && n->unit)
            sb_printf(&msg, "%s %s::%s", sb_cstr(&status), n->unit->model, n->name);
        else
            sb_printf(&msg, "%s %s", sb_cstr(&status), n->name);
    } else if (it->status == NS_ERROR) {
        err = true;
        color = C_RED;
        sb_puts(&status, "ERROR");
        sb_printf(&msg, "ERROR %s %s %s", n->rt == RT_SEED ? "loading" : "creating", it->kind, rel_of(it, &rel));
    } else {
        if (it->status == NS_PARTIAL)
            color = C_YELLOW;
        sb_puts(&status, it->adapter_message ? it->adapter_message : (it->message ? it->message : "OK"));
        sb_printf(&msg, "OK %s %s %s", n->rt == RT_SEED ? "loaded" : n->rt == RT_SNAPSHOT ? "snapshotted" : "created",
                  it->kind, rel_of(it, &rel));
    }
    if (it->console_extra)
        sb_printf(&msg, " (%s)", it->console_extra);
    fancy(o, it->is_hook ? "LogHookEndLine" : (n->rt == RT_TEST || n->rt == RT_UNIT_TEST) ? "LogTestResult" : n->rt == RT_SEED ? "LogSeedResult"
                                                                                                   : "LogModelResult",
          it, total, sb_cstr(&msg), sb_cstr(&status), color, secs, err);
done:
    sb_free(&msg);
    sb_free(&rel);
    sb_free(&status);
}

/* "2 view models, 1 seed, 4 data tests, 1 hook" */
static void stat_line(RunnerResult *rr, Sb *out)
{
    const char *keys[64];
    int counts[64], nk = 0;
    Sb k = SB_INIT;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < rr->n; i++) {
            RunItem *it = &rr->items[i];
            if (it->is_hook != (pass == 1))
                continue;
            sb_reset(&k);
            Node *n = it->node;
            if (it->is_hook)
                sb_puts(&k, "hook");
            else if (n->rt == RT_MODEL) {
                Value *m = n->config ? dict_getz(n->config, "materialized") : NULL;
                sb_printf(&k, "%s model", m && m->type == V_STR ? m->u.s->s : "view");
            } else if (n->rt == RT_TEST)
                sb_puts(&k, "data test");
            else if (n->rt == RT_UNIT_TEST)
                sb_puts(&k, "unit test");
            else
                sb_puts(&k, rt_name(n->rt));
            int f = -1;
            for (int j = 0; j < nk; j++)
                if (!strcmp(keys[j], sb_cstr(&k)))
                    f = j;
            if (f < 0 && nk < 64) {
                keys[nk] = strdup(sb_cstr(&k));
                counts[nk++] = 1;
            } else if (f >= 0) {
                counts[f]++;
            }
        }
    for (int j = 0; j < nk; j++) {
        if (j)
            sb_puts(out, ", ");
        const char *key = keys[j];
        if (counts[j] == 1)
            sb_printf(out, "1 %s", key);
        else if (!strcmp(key, "analysis"))
            sb_printf(out, "%d analyses", counts[j]);
        else
            sb_printf(out, "%d %ss", counts[j], key);
        free((void *)keys[j]);
    }
    sb_free(&k);
}

static void print_block(Out *o, const char *text, bool is_error)
{
    /* first line through the console, the rest as is (dbt prints a
     * multi-line message as one event) */
    if (o->f->quiet && !is_error)
        return;
    if (o->json) {
        json_line(o, is_error ? "RunResultError" : "RunResultWarning", is_error ? "error" : "warn", text, NULL, 0);
        return;
    }
    const char *nl = strchr(text, '\n');
    if (!nl) {
        out_line(o, "RunResultError", is_error, "%s", text);
        return;
    }
    out_line(o, "RunResultError", is_error, "%.*s", (int)(nl - text), text);
    fputs(nl + 1, stdout);
    fputc('\n', stdout);
}

static const char *compiled_rel(Session *s, Node *n)
{
    return n->compiled_path ? n->compiled_path : NULL;
    (void)s;
}

static void print_summary(Out *o, RunnerResult *rr)
{
    int pass = 0, warn = 0, error = 0, skip = 0, nerr = 0, nwarn = 0, npartial = 0;
    for (int i = 0; i < rr->n; i++) {
        RunItem *it = &rr->items[i];
        switch (it->status) {
        case NS_PARTIAL: error++; npartial++; break;
        case NS_SUCCESS: case NS_PASS: pass++; break;
        case NS_WARN: warn++; nwarn++; break;
        case NS_ERROR: case NS_FAIL: error++; nerr++; break;
        case NS_SKIPPED: skip++; if (it->message) nerr++; break;
        }
    }
    Sb st = SB_INIT, c = SB_INIT;
    stat_line(rr, &st);
    double t = rr->elapsed;
    int h = (int)(t / 3600), m = (int)((t - h * 3600) / 60);
    double sec = t - h * 3600 - m * 60;
    out_line(o, "Formatting", false, "%s", "");
    out_line(o, "FinishedRunningStats", false, "Finished running %s in %d hours %d minutes and %.2f seconds (%.2fs).",
             st.len ? sb_cstr(&st) : "0 nodes", h, m, sec, t);
    out_line(o, "Formatting", false, "%s", "");
    if (rr->interrupted)
        out_line(o, "EndOfRunSummary", true, "%s", paint(o, C_YELLOW, "Exited because of keyboard interrupt", &c));
    else if (nerr || npartial) {
        Sb m2 = SB_INIT;
        sb_printf(&m2, "Completed with %d error%s, %d partial success%s, and %d warning%s:", nerr, nerr == 1 ? "" : "s",
                  npartial, npartial == 1 ? "" : "es", nwarn, nwarn == 1 ? "" : "s");
        out_line(o, "EndOfRunSummary", true, "%s", paint(o, C_RED, sb_cstr(&m2), &c));
        sb_free(&m2);
    } else if (nwarn) {
        Sb m2 = SB_INIT;
        sb_printf(&m2, "Completed with %d warning%s:", nwarn, nwarn == 1 ? "" : "s");
        out_line(o, "EndOfRunSummary", false, "%s", paint(o, C_YELLOW, sb_cstr(&m2), &c));
        sb_free(&m2);
    } else {
        out_line(o, "EndOfRunSummary", false, "%s", paint(o, C_GREEN, "Completed successfully", &c));
    }
    for (int pass2 = 0; pass2 < 2; pass2++)
        for (int i = 0; i < rr->n; i++) {
            RunItem *it = &rr->items[i];
            Node *n = it->node;
            bool is_err = it->status == NS_ERROR || it->status == NS_FAIL || it->status == NS_PARTIAL ||
                          (it->status == NS_SKIPPED && it->message);
            bool is_warn = it->status == NS_WARN;
            if ((pass2 == 0 && !is_err) || (pass2 == 1 && !is_warn))
                continue;
            out_line(o, "Formatting", is_err, "%s", "");
            if (it->status == NS_FAIL || it->status == NS_WARN) {
                out_line(o, is_warn ? "RunResultWarning" : "RunResultFailure", is_err, "%s in %s %s (%s)",
                         is_warn ? "Warning" : "Failure", rt_name(n->rt), n->name,
                         n->original_file_path ? n->original_file_path : "");
                out_line(o, "RunResultError", is_err, "  %s", it->message ? it->message : "");
                const char *cp = compiled_rel(o->s, n);
                if (cp) {
                    out_line(o, "Formatting", is_err, "%s", "");
                    out_line(o, "SQLCompiledPath", is_err, "  compiled code at %s", cp);
                }
            } else if (it->status == NS_SKIPPED) {
                out_line(o, "RunResultError", true, "  %s", it->message);
            } else {
                Sb d = SB_INIT;
                sb_puts(&d, it->error_detail ? it->error_detail : (it->message ? it->message : "error"));
                if (it->run_path)
                    sb_printf(&d, "\n  compiled code at %s", it->run_path);
                else if (n->compiled_path && n->rt != RT_OPERATION)
                    sb_printf(&d, "\n  compiled code at %s", n->compiled_path);
                print_block(o, sb_cstr(&d), true);
                sb_free(&d);
            }
        }
    out_line(o, "Formatting", false, "%s", "");
    out_line(o, "StatsLine", nerr + npartial > 0, "Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d", pass, warn, error, skip, rr->n);
    sb_free(&st);
    sb_free(&c);
}

static void to_results(Session *s, RunnerResult *rr, RunResults *out)
{
    memset(out, 0, sizeof *out);
    out->started_at = rr->started_at;
    cache_batch(s->cache, true);         /* one transaction for all the results */
    for (int i = 0; i < rr->n; i++) {
        RunItem *it = &rr->items[i];
        NodeResult nr = {0};
        nr.node = it->node;
        nr.status = runner_status_name(it->status);
        nr.message = it->message;
        nr.failures = it->failures;
        nr.started_at = it->compile_start;
        nr.compiled_at = it->status == NS_SKIPPED ? 0 : it->compile_end;
        nr.exec_started_at = it->exec_start;
        nr.exec_completed_at = it->exec_end;
        nr.completed_at = it->exec_end > 0 ? it->exec_end : it->compile_end;
        nr.adapter_message = it->adapter_message;
        nr.adapter_code = it->adapter_code;
        nr.rows_affected = it->rows_affected;
        nr.thread = it->thread;
        if (it->is_microbatch) {
            BatchResults *br = arena_zalloc(&s->arena, sizeof *br);
            br->ok = it->batch_ok;
            br->nok = it->nbatch_ok;
            br->fail = it->batch_fail;
            br->nfail = it->nbatch_fail;
            nr.batches = br;
        }
        results_add(out, nr);
        /* the last status per node, for `--select result:<status>` without --state */
        if (s->cache && it->node)
            cache_record_result(s->cache, it->node->unique_id, nr.status, nr.started_at,
                                nr.completed_at > nr.started_at ? nr.completed_at - nr.started_at : 0,
                                nr.message);
    }
    cache_batch(s->cache, false);
}

static const char *abs_under(Session *s, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/')
        return path;
    return arena_sprintf(&s->arena, "%s/%s", s->project->root, path);
}

int cmd_run(Flags *f)
{
    static const int kRun[] = {RT_MODEL, -1}, kTest[] = {RT_TEST, RT_UNIT_TEST, -1}, kSeed[] = {RT_SEED, -1},
                     kSnapshot[] = {RT_SNAPSHOT, -1}, kBuild[] = {RT_MODEL, RT_SEED, RT_TEST, RT_SNAPSHOT, RT_UNIT_TEST, -1},
                     kClone[] = {RT_MODEL, RT_SEED, RT_SNAPSHOT, -1};
    RunnerCommand cmd = !strcmp(f->command, "test") ? RUNNER_TEST : !strcmp(f->command, "seed") ? RUNNER_SEED
                      : !strcmp(f->command, "build") ? RUNNER_BUILD
                      : !strcmp(f->command, "snapshot") ? RUNNER_SNAPSHOT
                      : !strcmp(f->command, "clone") ? RUNNER_CLONE : RUNNER_RUN;
    const int *types = cmd == RUNNER_TEST ? kTest : cmd == RUNNER_SEED ? kSeed : cmd == RUNNER_BUILD ? kBuild
                     : cmd == RUNNER_SNAPSHOT ? kSnapshot : cmd == RUNNER_CLONE ? kClone : kRun;
    Out o = {0};
    o.f = f;
    o.quiet_nodes = cmd == RUNNER_CLONE;
    if (f->log_format && strcmp(f->log_format, "text") && strcmp(f->log_format, "default") &&
        strcmp(f->log_format, "json") && strcmp(f->log_format, "debug")) {
        fprintf(stderr, "error: Invalid value for '--log-format': '%s' is not one of 'text', 'debug', 'json', 'default'\n",
                f->log_format);
        return EXIT_PROJECT_ERROR;
    }
    o.json = f->log_format && !strcmp(f->log_format, "json");
    o.color = !o.json && (f->use_colors == 1 || (f->use_colors < 0 && isatty(STDOUT_FILENO)));

    Session s;
    out_line(&o, "MainReportVersion", false, "Running with cdbt=%s", CDBT_VERSION);
    int rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    o.s = &s;
    Project *p = s.project;
    char found[512];
    console_found_text(p, found, sizeof found);
    out_line(&o, "FoundStats", false, "Found %s", found);
    bool *sel = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
    rc = session_select(&s, types, sel);
    if (rc == EXIT_OK)
        rc = cmd == RUNNER_CLONE ? session_clone_sources(&s, sel) : session_defer(&s, sel);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    int nsel = 0;
    for (int i = 0; i < p->nnodes; i++)
        if (sel[i]) {
            Node *n = p->nodes[i];
            if (!node_is_ephemeral(n) && n->rt != RT_SOURCE && n->rt != RT_ANALYSIS)
                nsel++;
        }
    if (nsel == 0) {
        out_line(&o, "Formatting", false, "%s", "");
        out_line(&o, "NothingToDo", false, "Nothing to do. Try checking your model configs and model specification args");
        rc = session_write_manifest(&s);
        session_close(&s);
        return rc;
    }

    /* connection: the profile target, or the managed local server */
    Diag err = {0};
    PgParams params;
    memset(&params, 0, sizeof params);
    pg_params_from_profile(&params, p->profile_output, p->profile_name, p->target_name);
    if (params.managed && pgserver_ensure(p->root, p->profile_output, &params, NULL, &err) != 0) {
        cli_print_diag(&err);
        diag_clear(&err);
        session_close(&s);
        return EXIT_PROJECT_ERROR;
    }
    out_line(&o, "Formatting", false, "%s", "");

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    RunnerOptions ro;
    memset(&ro, 0, sizeof ro);
    ro.dbt = s.dbt;
    ro.project = p;
    ro.graph = s.graph;
    ro.selected = sel;
    ro.cmd = cmd;
    ro.threads = p->threads > 0 ? p->threads : 1;
    ro.full_refresh = f->full_refresh;
    ro.fail_fast = f->fail_fast;
    ro.store_failures = f->store_failures;
    ro.warn_error = f->warn_error;
    ro.params = &params;
    ro.target_dir = session_target_dir(&s);
    ro.log_dir = abs_under(&s, f->log_path ? f->log_path : p->log_path);
    ro.interrupted = &g_interrupted;
    ro.ev.ud = &o;
    ro.ev.info = ev_info;
    ro.ev.start = ev_start;
    ro.ev.done = ev_done;
    ro.ev.batch = ev_batch;
    ro.event_time_start = f->event_time_start ? &f->et_start : NULL;
    ro.event_time_end = f->event_time_end ? &f->et_end : NULL;
    static const RunnerExtraMat extra_mats[] = {{"cleanse", mat_cleanse}};   /* src/cleanse */
    ro.extra_mats = extra_mats;
    ro.nextra_mats = 1;
    ro.clone_from = s.clone_from;
    RunnerResult rr;
    int run_rc = runner_run(&ro, &rr, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (run_rc != 0) {
        cli_print_diag(&err);
        diag_clear(&err);
        runner_result_free(&rr);
        session_close(&s);
        return EXIT_PROJECT_ERROR;
    }
    print_summary(&o, &rr);

    int wrc = session_write_manifest(&s);
    if (!f->no_write_json) {
        RunResults res;
        to_results(&s, &rr, &res);
        const char *path = arena_sprintf(&s.arena, "%s/run_results.json", session_target_dir(&s));
        if (results_write(&s, &res, path, &err) != 0) {
            cli_print_diag(&err);
            diag_clear(&err);
            wrc = EXIT_PROJECT_ERROR;
        }
        results_free(&res);
    }
    bool failed = rr.stopped;
    for (int i = 0; i < rr.n; i++) {
        NodeStatus st = rr.items[i].status;
        if (st == NS_ERROR || st == NS_FAIL || st == NS_SKIPPED || st == NS_PARTIAL)
            failed = true;
    }
    rc = rr.interrupted ? EXIT_PROJECT_ERROR : failed ? EXIT_NODE_FAILURE : wrc;
    runner_result_free(&rr);
    session_close(&s);
    return rc;
}
