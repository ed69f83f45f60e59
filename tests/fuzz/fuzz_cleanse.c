/* fuzz_cleanse.c - libFuzzer target for src/cleanse: the readers (csv, tsv,
 * regex lines, ndjson, COPY text rows) and the rule engine on arbitrary
 * bytes, and the spec compiler on arbitrary YAML.  The first byte picks the
 * mode; specs for the reader modes are compiled once.  Every output line
 * must have the spec's column count (tabs) and the counts must add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanse/cleanse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *cols_text =
    "- name: a\n  data_type: text\n  source: 1\n"
    "  rules: [trim, lower, collapse_spaces, {null_if: ['', '-']}, {replace: {old: 'x', new: 'yy'}},\n"
    "          {regex_replace: {pattern: '(\\d)(\\d)', replacement: '$2$1'}}, title,\n"
    "          {extract: {pattern: '^(\\w+)', on_fail: null}}, {max_length: 40}]\n"
    "- name: b\n  data_type: numeric(8,3)\n  source: 2\n"
    "  rules: [trim, {replace: {old: ',', new: ''}}, {numeric: {on_fail: null}}, {range: {min: -1000, max: 1000, on_fail: null}}]\n"
    "- name: c\n  data_type: timestamptz\n  source: 3\n"
    "  rules: [{timestamp: {formats: ['%Y-%m-%d %H:%M:%S%z', '%d/%b/%Y:%H:%M:%S %z', '%d/%m/%y %I:%M %p', '%Y-%m-%dT%H:%M:%S.%f'], on_fail: null}}]\n"
    "- name: d\n  data_type: boolean\n  source: 4\n  rules: [{boolean: {on_fail: default, default: false}}]\n"
    "- name: i\n  data_type: smallint\n  source: 1\n  rules: [{integer: {on_fail: null}}, {default: 0}]\n"
    "- name: dt\n  data_type: date\n  source: 3\n  rules: [{date: {formats: ['%Y-%m-%d', '%d/%m/%Y'], on_fail: null}}, {accepted_values: {values: ['2024-01-01'], on_fail: null}}]\n"
    "- name: k\n  data_type: text\n  rules: [{surrogate_key: [a, b, d]}]\n";

static const char *cols_named =
    "- name: a\n  data_type: text\n  source: x\n  rules: [trim, upper]\n"
    "- name: b\n  data_type: float\n  source: y.z\n  rules: [{float: {on_fail: null}}]\n"
    "- name: c\n  data_type: date\n  source: w\n  rules: [{date: {on_fail: null}}, not_null]\n";

static const char *cols_regex =
    "- name: a\n  data_type: text\n  source: x\n  rules: [trim, upper]\n"
    "- name: b\n  data_type: float\n  source: z\n  rules: [{float: {on_fail: null}}]\n"
    "- name: c\n  data_type: date\n  source: w\n  rules: [{date: {on_fail: null}}, not_null]\n";

static CleanseSpec *mk(Arena *a, const char *cols, const char *cfg)
{
    YNode *root = NULL;
    Diag e = {0};
    if (yaml_load(a, "f.yml", cols, strlen(cols), &root, &e) != 0)
        abort();
    Value c = v_dict(a);
    if (cfg && yaml_load_value(a, "cfg", cfg, strlen(cfg), &c, &e) != 0)
        abort();
    CleanseSource src = {0};
    src.model = "m";
    src.columns = root;
    src.yml_path = "f.yml";
    src.yml_text = cols;
    src.yml_len = strlen(cols);
    src.config = c.u.d;
    CleanseSpec *s = cleanse_compile(a, &src, &e);
    if (!s) {
        fprintf(stderr, "fuzz_cleanse: spec: %d:%d %s\n", e.line, e.col, e.message);
        abort();
    }
    return s;
}

static int sink(void *ud, const CleanseReject *r)
{
    (void)ud;
    if (!r->reason || r->raw_len > 65536)
        abort();
    return 0;
}

static void check_out(const Sb *out, int ncols)
{
    int tabs = 0;
    for (size_t i = 0; i < out->len; i++) {
        if (out->buf[i] == '\t')
            tabs++;
        else if (out->buf[i] == '\n') {
            if (tabs != ncols - 1)
                abort();
            tabs = 0;
        } else if (out->buf[i] == 0) {
            abort();
        }
    }
    if (tabs)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Arena a;
    static CleanseSpec *specs[5];
    if (!specs[0]) {
        arena_init(&a, 0);
        specs[0] = mk(&a, cols_text, "{input: {path: x, format: csv, header: false, max_field_bytes: 64}}");
        specs[1] = mk(&a, cols_text, "{input: {path: x, format: tsv, header: false}, unique_key: [a], dedupe: {keep: last, order_by: b}}");
        specs[2] = mk(&a, cols_regex, "{input: {path: x, format: regex, pattern: '^(?<x>[^ ]*) (?<w>[^ ]*)(?: (?<z>.*))?$'}}");
        specs[3] = mk(&a, cols_named, "{input: {path: x, format: ndjson}, unique_key: a}");
        specs[4] = mk(&a, cols_named, "{input: {path: x, format: csv, encoding: latin1}}");
    }
    if (size < 1)
        return 0;
    int mode = data[0] % 7;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (mode == 6) {
        /* arbitrary YAML as the columns list */
        Arena t;
        arena_init(&t, 0);
        char *text = arena_strndup(&t, buf, len);
        YNode *root = NULL;
        Diag e = {0};
        if (yaml_load(&t, "f.yml", text, len, &root, &e) == 0) {
            CleanseSource src = {0};
            src.model = "m";
            src.columns = root;
            src.yml_path = "f.yml";
            src.yml_text = text;
            src.yml_len = len;
            src.config = v_dict(&t).u.d;
            CleanseSpec *s = cleanse_compile(&t, &src, &e);
            if (s) {
                Sb out = SB_INIT;
                Cleanser *c = cleanser_new(s, sink, NULL);
                const char *names[] = {"a", "b", "c", "d", "e"};
                if (cleanser_bind_names(c, names, 5, "x", &e) == 0) {
                    CleanseReader *r = cleanse_reader_new(c, &out, 0, NULL, NULL);
                    cleanse_read_copy_line(r, "1\t x \t2024-02-29\ttrue\t\\N", 25);
                    cleanse_reader_free(r);
                }
                cleanser_free(c);
                cleanse_spec_free(s);
                sb_free(&out);
            }
        }
        diag_clear(&e);
        arena_free(&t);
        return 0;
    }
    CleanseSpec *s = specs[mode == 5 ? 0 : mode < 5 ? mode : 0];
    Sb out = SB_INIT;
    Cleanser *c = cleanser_new(s, sink, NULL);
    Diag e = {0};
    if (mode == 5) {
        const char *names[] = {"1", "2", "3", "4"};
        (void)names;
        CleanseReader *r = cleanse_reader_new(c, &out, 0, NULL, NULL);
        size_t i = 0;
        while (i < len) {
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t n = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
            cleanse_read_copy_line(r, buf + i, n);
            i += n;
        }
        cleanse_reader_free(r);
    } else {
        CleanseReader *r = cleanse_reader_new(c, &out, 0, NULL, NULL);
        cleanse_read_buffer(r, "f", buf, len, &e);
        cleanse_reader_free(r);
    }
    cleanser_finish(c, &out, 1 << 20, NULL, NULL);
    const CleanseStats *st = cleanser_stats(c);
    if (st->out + st->rejected + st->dups + st->skipped != st->in)
        abort();
    check_out(&out, s->ncols);
    cleanser_free(c);
    diag_clear(&e);
    sb_free(&out);
    return 0;
}
