/* results.c - writing run_results.json in dbt's v6 shape (§13): per result
 * status, timing (compile / execute), thread_id, execution_time,
 * adapter_response, message, failures, compiled code, relation_name; and
 * the invocation's args. */
#include "results.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "../base/fs.h"
#include "../base/json.h"
#include "../base/clock.h"

double results_wallclock(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void results_add(RunResults *r, NodeResult nr)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->items = xrealloc(r->items, sizeof(NodeResult) * (size_t)r->cap);
    }
    r->items[r->n++] = nr;
}

void results_free(RunResults *r)
{
    free(r->items);
    memset(r, 0, sizeof *r);
}

static void iso(char *buf, size_t n, double t) { clock_iso_utc(t, buf, n); }

void results_metadata(JsonW *w, const char *schema_url, const char *invocation_id)
{
    char ts[64];
    json_key_lit(w, "metadata");
    json_obj_begin(w);
    json_key_lit(w, "dbt_schema_version");
    json_str(w, schema_url);
    json_key_lit(w, "dbt_version");
    json_str(w, "1.9.0");
    iso(ts, sizeof ts, results_wallclock());
    json_key_lit(w, "generated_at");
    json_str(w, ts);
    json_key_lit(w, "invocation_id");
    json_str(w, invocation_id);
    json_key_lit(w, "env");
    json_obj_begin(w);
    json_obj_end(w);
    json_obj_end(w);
}

/* clock_iso_utc(t) for the timing entries, which mostly fall within a few
 * whole seconds: "YYYY-MM-DDTHH:MM:SS" is formatted by clock_iso_utc once per
 * distinct second and reused; the ".ffffffZ" tail is computed here with
 * clock_iso_utc's own rounding (microseconds, half up, carrying into the
 * second).  Returns the length written to buf (>= 28 bytes). */
typedef struct IsoCache {
    bool valid;
    time_t sec;
    char head[32];
    size_t nhead;
} IsoCache;

static size_t iso_cached(IsoCache *c, double t, char *buf)
{
    time_t s = (time_t)t;
    long us = (long)((t - (double)s) * 1e6 + 0.5);
    if (us >= 1000000) {
        s++;
        us -= 1000000;
    }
    if (!(t >= 0 && t < 1e12) || us < 0) {   /* not a plain epoch: clock.c does it all */
        clock_iso_utc(t, buf, 64);
        return strlen(buf);
    }
    if (!c->valid || c->sec != s) {
        char full[64];
        clock_iso_utc((double)s, full, sizeof full);
        const char *dot = strrchr(full, '.');
        size_t nh = dot ? (size_t)(dot - full) : strlen(full);
        if (nh >= sizeof c->head) {
            clock_iso_utc(t, buf, 64);
            return strlen(buf);
        }
        memcpy(c->head, full, nh);
        c->nhead = nh;
        c->sec = s;
        c->valid = true;
    }
    char *p = buf;
    memcpy(p, c->head, c->nhead);
    p += c->nhead;
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + us % 10);
        us /= 10;
    }
    p += 6;
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}

static void write_timing(JsonW *w, IsoCache *c, const char *name, double start, double end)
{
    char ts[64];
    json_obj_begin(w);
    json_key_lit(w, "name");
    json_str(w, name);
    size_t n = iso_cached(c, start, ts);
    json_key_lit(w, "started_at");
    json_strn(w, ts, n);
    n = iso_cached(c, end, ts);
    json_key_lit(w, "completed_at");
    json_strn(w, ts, n);
    json_obj_end(w);
}

/* "Thread-<n>" into buf; returns its length. */
static size_t thread_name(char *buf, int n)
{
    memcpy(buf, "Thread-", 7);
    char d[12];
    int k = 0;
    unsigned u = n > 0 ? (unsigned)n : 1u;
    do {
        d[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 7;
    while (k)
        buf[len++] = d[--k];
    buf[len] = '\0';
    return len;
}

static void write_flag_list(JsonW *w, const char *key, const char **v, int n)
{
    json_key(w, key);
    if (!n) {
        json_arr_begin(w);
        json_arr_end(w);
        return;
    }
    json_arr_begin(w);
    for (int i = 0; i < n; i++)
        json_str(w, v[i]);
    json_arr_end(w);
}

/* One entry of "results". */
static void write_result(JsonW *w, IsoCache *ic, const NodeResult *nr)
{
    char ts[64];
    Node *n = nr->node;
    json_obj_begin(w);
    json_key_lit(w, "status");
    json_str(w, nr->status);
    json_key_lit(w, "timing");
    json_arr_begin(w);
    if (nr->compiled_at > 0)
        write_timing(w, ic, "compile", nr->started_at, nr->compiled_at);
    if (nr->exec_completed_at > 0)
        write_timing(w, ic, "execute", nr->exec_started_at, nr->exec_completed_at);
    json_arr_end(w);
    json_key_lit(w, "thread_id");
    json_strn(w, ts, thread_name(ts, nr->thread));
    json_key_lit(w, "execution_time");
    json_double(w, nr->completed_at > nr->started_at ? nr->completed_at - nr->started_at : 0.0);
    json_key_lit(w, "adapter_response");
    json_obj_begin(w);
    if (nr->adapter_message) {
        json_key_lit(w, "_message");
        json_str(w, nr->adapter_message);
        json_key_lit(w, "code");
        json_str(w, nr->adapter_code ? nr->adapter_code : "");
        json_key_lit(w, "rows_affected");
        json_int(w, nr->rows_affected);
    }
    json_obj_end(w);
    json_key_lit(w, "message");
    json_str(w, nr->message);
    json_key_lit(w, "failures");
    if (nr->failures < 0)
        json_null(w);
    else
        json_int(w, nr->failures);
    json_key_lit(w, "unique_id");
    json_str(w, n->unique_id);
    json_key_lit(w, "compiled");
    json_bool(w, n->compiled);
    json_key_lit(w, "compiled_code");
    json_strn(w, n->compiled ? n->compiled_code : NULL, n->compiled ? node_compiled_len(n) : 0);
    json_key_lit(w, "relation_name");
    json_str(w, n->relation_name);
    json_key_lit(w, "batch_results");
    if (nr->batches) {
        json_obj_begin(w);
        for (int k = 0; k < 2; k++) {
            const int64_t *b = k ? nr->batches->fail : nr->batches->ok;
            int nb = k ? nr->batches->nfail : nr->batches->nok;
            json_key(w, k ? "failed" : "successful");
            json_arr_begin(w);
            for (int i = 0; i < nb; i++) {
                json_arr_begin(w);
                for (int e = 0; e < 2; e++) {
                    /* dbt serializes the aware datetimes with isoformat() */
                    char t[32];
                    dbt_mb_fmt(b[2 * i + e], t);
                    t[10] = 'T';
                    json_str(w, t);
                }
                json_arr_end(w);
            }
            json_arr_end(w);
        }
        json_obj_end(w);
    } else {
        json_null(w);
    }
    json_obj_end(w);
}

void results_entry_json(const NodeResult *nr, Sb *out)
{
    JsonW w;
    IsoCache ic = {0};
    json_init(&w, out, false);
    write_result(&w, &ic, nr);
}

int results_write(Session *s, RunResults *r, const char *path, Diag *err)
{
    Sb out = SB_INIT, tmp = SB_INIT;
    JsonW w;
    /* streamed to a temporary file in chunks (it holds every compiled_code), renamed over path */
    int fd = fs_atomic_open(path, &tmp);
    if (fd < 0) {
        diag_set(err, path, 0, 0, NULL, "could not write run results: %s", strerror(errno));
        sb_free(&tmp);
        return -1;
    }
    json_init(&w, &out, false);
    json_set_sink(&w, fd);
    json_obj_begin(&w);
    results_metadata(&w, "https://schemas.getdbt.com/dbt/run-results/v6.json", dbt_invocation_id(s->dbt));

    json_key_lit(&w, "results");
    json_arr_begin(&w);
    IsoCache ic = {0};
    for (int i = 0; i < r->n; i++) {
        /* the entry starts after the comma the writer puts before it */
        size_t at = json_offset(&w) + (i > 0);
        write_result(&w, &ic, &r->items[i]);
        /* compile pads each model's entry to its slot (json.h), where a
         * later compile of that model alone can rewrite it */
        if (r->pad_models && r->items[i].node->rt == RT_MODEL) {
            size_t len = json_pad_slot(&w, at);
            if (r->slots)
                r->slots[i] = (JsonSlot){(int64_t)at, (uint32_t)len};
        }
    }
    json_arr_end(&w);
    json_key_lit(&w, "elapsed_time");
    r->elapsed_offset = (long)json_offset(&w) - (long)strlen("\"elapsed_time\":");
    json_double(&w, results_wallclock() - r->started_at);

    Flags *f = s->flags;
    json_key_lit(&w, "args");
    json_obj_begin(&w);
    json_key_lit(&w, "which");
    json_str(&w, f->command);
    write_flag_list(&w, "select", f->select, f->nselect);
    write_flag_list(&w, "exclude", f->exclude, f->nexclude);
    json_key_lit(&w, "vars");
    if (s->cli_vars) {
        Value v = {.type = V_DICT};
        v.u.d = s->cli_vars;
        value_to_json(&w, v);
    } else {
        json_obj_begin(&w);
        json_obj_end(&w);
    }
    json_key_lit(&w, "full_refresh");
    json_bool(&w, f->full_refresh);
    json_key_lit(&w, "fail_fast");
    json_bool(&w, f->fail_fast);
    json_key_lit(&w, "store_failures");
    json_bool(&w, f->store_failures);
    json_key_lit(&w, "warn_error");
    json_bool(&w, f->warn_error);
    json_key_lit(&w, "empty");
    json_bool(&w, f->empty);
    /* state and deferral, as given: `retry` runs the command with them again */
    if (f->state) {
        json_key_lit(&w, "state");
        json_str(&w, f->state);
    }
    if (f->defer_state) {
        json_key_lit(&w, "defer_state");
        json_str(&w, f->defer_state);
    }
    if (f->defer) {
        json_key_lit(&w, "defer");
        json_bool(&w, true);
    }
    if (f->favor_state) {
        json_key_lit(&w, "favor_state");
        json_bool(&w, true);
    }
    json_key_lit(&w, "log_format");
    json_str(&w, f->log_format ? f->log_format : "default");
    json_key_lit(&w, "profiles_dir");
    json_str(&w, s->project->profiles_dir);
    json_key_lit(&w, "target_path");
    json_str(&w, s->project->target_path);
    json_key_lit(&w, "log_path");
    json_str(&w, s->project->log_path);
    json_key_lit(&w, "threads");
    json_int(&w, s->project->threads);
    json_key_lit(&w, "target");
    json_str(&w, s->project->target_name);
    json_key_lit(&w, "project_dir");
    json_str(&w, s->project->root);
    json_key_lit(&w, "invocation_command");
    json_str(&w, f->command);
    json_obj_end(&w);
    json_obj_end(&w);

    bool ok = json_flush(&w) == 0;
    int saved = errno;
    int rc = fs_atomic_commit(fd, sb_cstr(&tmp), path, ok);
    if (!ok)
        errno = saved;
    if (rc != 0)
        diag_set(err, path, 0, 0, NULL, "could not write run results: %s", strerror(errno));
    sb_free(&out);
    sb_free(&tmp);
    return rc;
}
