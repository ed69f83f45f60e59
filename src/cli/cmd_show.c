/* cmd_show.c - `cdbt show --select NODE | --inline SQL [--limit N] [--output json]`
 * (§12.1): compile the node (with the database bound, as a run would) or
 * the inline SQL, run `<sql>\nlimit <n>` (--limit, default 5; -1: every
 * row) in a transaction that is rolled back, and print the rows as a
 * table: "| col | ... |", numbers right-aligned, NULL empty, booleans
 * True/False; or with --output json {"node": ..., "show": [{col: value}]}.
 * Exit 1 when the query fails, 2 for project or usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "../base/json.h"
#include "../exec/pg.h"
#include "../exec/pgserver.h"
#include "../exec/runner.h"

enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_FLOAT4 = 700,
       OID_FLOAT8 = 701, OID_NUMERIC = 1700 };

static bool numeric(unsigned t)
{
    return t == OID_INT8 || t == OID_INT2 || t == OID_INT4 || t == OID_OID || t == OID_FLOAT4 || t == OID_FLOAT8 ||
           t == OID_NUMERIC;
}

static const char *cell(const PgResult *r, int row, int col)
{
    const char *v = r->rows[row][col];
    if (!v)
        return "";
    if (r->coltypes[col] == OID_BOOL)
        return v[0] == 't' ? "True" : "False";
    return v;
}

/* UTF-8 code points: the width of a cell for padding */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void print_table(const PgResult *r)
{
    size_t *w = calloc((size_t)r->ncols + 1, sizeof *w);
    for (int c = 0; c < r->ncols; c++) {
        w[c] = width(r->colnames[c]);
        for (int i = 0; i < r->nrows; i++) {
            size_t k = width(cell(r, i, c));
            if (k > w[c])
                w[c] = k;
        }
    }
    Sb out = SB_INIT;
    for (int row = -2; row < r->nrows; row++) {
        sb_putc(&out, '|');
        for (int c = 0; c < r->ncols; c++) {
            const char *v = row == -2 ? r->colnames[c] : row == -1 ? NULL : cell(r, row, c);
            sb_putc(&out, ' ');
            if (!v) {
                for (size_t k = 0; k < w[c]; k++)
                    sb_putc(&out, '-');
            } else {
                size_t pad = w[c] - width(v);
                bool right = row >= 0 && numeric(r->coltypes[c]);
                for (size_t k = 0; right && k < pad; k++)
                    sb_putc(&out, ' ');
                sb_puts(&out, v);
                for (size_t k = 0; !right && k < pad; k++)
                    sb_putc(&out, ' ');
            }
            sb_puts(&out, " |");
        }
        sb_putc(&out, '\n');
    }
    fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
    sb_free(&out);
    free(w);
}

static void print_json(const char *node, const PgResult *r)
{
    Sb out = SB_INIT;
    JsonW w;
    json_init(&w, &out, true);
    json_obj_begin(&w);
    json_key(&w, "node");
    json_str(&w, node);
    json_key(&w, "show");
    json_arr_begin(&w);
    for (int i = 0; i < r->nrows; i++) {
        json_obj_begin(&w);
        for (int c = 0; c < r->ncols; c++) {
            const char *v = r->rows[i][c];
            json_key(&w, r->colnames[c]);
            unsigned t = r->coltypes[c];
            if (!v)
                json_null(&w);
            else if (t == OID_BOOL)
                json_bool(&w, v[0] == 't');
            else if (numeric(t) && strcmp(v, "NaN") && strcmp(v, "Infinity") && strcmp(v, "-Infinity"))
                json_raw(&w, v);
            else
                json_str(&w, v);
        }
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    sb_putc(&out, '\n');
    fwrite(out.buf, 1, out.len, stdout);
    sb_free(&out);
}

int cmd_show(Flags *f)
{
    bool json = f->output && !strcmp(f->output, "json");
    if (f->output && !json && strcmp(f->output, "text")) {
        fprintf(stderr, "error: Invalid value for '--output': '%s' is not one of 'text', 'json'\n", f->output);
        return EXIT_PROJECT_ERROR;
    }
    int limit = 5;
    if (f->limit) {
        char *end;
        long l = strtol(f->limit, &end, 10);
        if (!*f->limit || *end || l < -1 || l > 1000000000) {
            fprintf(stderr, "error: Invalid value for '--limit': '%s' is not a valid integer (-1 for no limit)\n",
                    f->limit);
            return EXIT_PROJECT_ERROR;
        }
        limit = (int)l;
    }
    if (!f->inline_sql && !f->nselect) {
        fprintf(stderr, "error: Either --select or --inline must be passed to show\n");
        return EXIT_PROJECT_ERROR;
    }
    if (!json)
        console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    Session s;
    int rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Project *p = s.project;
    if (!json)
        console_found(f, p);
    static const int kShow[] = {RT_MODEL, RT_SNAPSHOT, RT_ANALYSIS, -1};   /* not the tests a model selects */
    Node **nodes = NULL;
    int nn = 0;
    if (!f->inline_sql) {
        bool *sel = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
        rc = session_select(&s, kShow, sel);
        if (rc != EXIT_OK) {
            session_close(&s);
            return rc;
        }
        nodes = arena_zalloc(&s.arena, sizeof *nodes * (size_t)(p->nnodes + 1));
        for (int k = 0; k < s.graph->n; k++) {
            int i = s.graph->topo[k];
            if (sel[i])
                nodes[nn++] = p->nodes[i];
        }
        if (!nn) {
            console_line(f, "Nothing to do. Try checking your model configs and model specification args");
            session_close(&s);
            return EXIT_OK;
        }
    }
    PgParams params;
    Diag err = {0};
    if (session_pg_params(&s, &params, &err) != 0) {
        cli_print_diag(&err);
        diag_clear(&err);
        session_close(&s);
        return EXIT_PROJECT_ERROR;
    }
    RunnerOptions ro;
    session_runner_options(&s, &params, &ro);
    if (!json) {
        console_line(f, "%s", "");
        console_line(f, "Concurrency: 1 threads (target='%s')", p->target_name ? p->target_name : "");
        console_line(f, "%s", "");
    }
    rc = EXIT_OK;
    for (int k = 0; k < (f->inline_sql ? 1 : nn) && rc == EXIT_OK; k++) {
        Node *n = f->inline_sql ? NULL : nodes[k];
        const char *sql = NULL;
        PgResult *res = NULL;
        if (runner_query(&ro, n, f->inline_sql, limit, &sql, &res, &err) != 0) {
            cli_print_diag(&err);
            diag_clear(&err);
            rc = EXIT_NODE_FAILURE;
            break;
        }
        if (!res) {
            rc = EXIT_NODE_FAILURE;
            break;
        }
        const char *name = n ? n->name : "inline_query";
        if (json) {
            print_json(name, res);
        } else {
            if (n)
                console_line(f, "Previewing node '%s':", name);
            else
                console_line(f, "Previewing inline node:");
            print_table(res);
        }
        pg_result_free(res);
    }
    session_close(&s);
    return rc;
}
