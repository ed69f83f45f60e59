/* test_cleanse_readers.c - the cleanse readers (readers.c): tolerant CSV/TSV
 * (quotes, CRLF, BOM, header binding, every kind of dirt as a reject with
 * its reason and line), regex lines (the built-in combined log preset),
 * NDJSON with dotted paths, COPY text rows, files on disk (empty file) and
 * latin1 conversion. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanse/cleanse.h"

typedef struct T {
    Arena a;
    CleanseSpec *s;
    Diag err;
    Sb out, rej;
    CleanseStats st;
} T;

static int sink(void *ud, const CleanseReject *r)
{
    Sb *o = ud;
    sb_printf(o, "%lld|%s|%s|%.*s\n", (long long)r->line, r->column ? r->column : "-", r->reason,
              (int)r->raw_len, r->raw);
    return 0;
}

static void compile(T *t, const char *columns, const char *config)
{
    arena_init(&t->a, 0);
    memset(&t->err, 0, sizeof t->err);
    t->out = (Sb)SB_INIT;
    t->rej = (Sb)SB_INIT;
    YNode *root = NULL;
    Diag e = {0};
    ck_assert_int_eq(yaml_load(&t->a, "p.yml", columns, strlen(columns), &root, &e), 0);
    CleanseSource src = {0};
    src.model = "m";
    src.columns = root;
    src.yml_path = "p.yml";
    src.yml_text = columns;
    src.yml_len = strlen(columns);
    src.config_where = "m.sql";
    Value cfg = v_dict(&t->a);
    if (config)
        ck_assert_int_eq(yaml_load_value(&t->a, "cfg", config, strlen(config), &cfg, &e), 0);
    src.config = cfg.u.d;
    t->s = cleanse_compile(&t->a, &src, &t->err);
    if (!t->s)
        ck_abort_msg("compile: %s", t->err.message);
}

static int run(T *t, const char *data, size_t len)
{
    Cleanser *c = cleanser_new(t->s, sink, &t->rej);
    CleanseReader *r = cleanse_reader_new(c, &t->out, 0, NULL, NULL);
    int rc = cleanse_read_buffer(r, "f", data, len, &t->err);
    t->st = *cleanser_stats(c);
    cleanse_reader_free(r);
    cleanser_free(c);
    return rc;
}

static void done(T *t)
{
    cleanse_spec_free(t->s);
    sb_free(&t->out);
    sb_free(&t->rej);
    diag_clear(&t->err);
    arena_free(&t->a);
}

static const char *two = "- name: a\n  data_type: text\n- name: b\n  data_type: text\n";

static void csv(const char *cfg, const char *data, size_t len, const char *want, const char *want_rej)
{
    T t;
    compile(&t, two, cfg);
    ck_assert_int_eq(run(&t, data, len), 0);
    ck_assert_str_eq(sb_cstr(&t.out), want);
    ck_assert_str_eq(sb_cstr(&t.rej), want_rej);
    done(&t);
}
#define CSV(cfg, lit, want, rej) csv(cfg, lit, sizeof(lit) - 1, want, rej)

static const char *incsv = "{input: {path: x, format: csv}}";

START_TEST(t_csv_basic)
{
    CSV(incsv, "b,a\n1,2\n\"x,y\",\"he said \"\"hi\"\"\"\n", "2\t1\nhe said \"hi\"\tx,y\n", "");
    CSV(incsv, "\xEF\xBB\xBF" "a,b\r\n1,2\r\n\r\n3,\r\n", "1\t2\n3\t\n", "");
    CSV(incsv, "a,b\n\"multi\nline\",2\n3,4\n", "multi\\nline\t2\n3\t4\n", "");
    CSV(incsv, "a,b\n1,2", "1\t2\n", "");               /* no final newline: fine */
    CSV(incsv, "A , B\n1,2\n", "1\t2\n", "");           /* header names trimmed, case-insensitive */
    CSV("{input: {path: x, format: tsv}}", "a\tb\n1,5\t\"q\"\n", "1,5\tq\n", "");
    CSV("{input: {path: x, format: csv, delimiter: ';', quote: ''}}", "a;b\n\"1;2\n", "\"1\t2\n", "");
}
END_TEST

START_TEST(t_csv_dirt)
{
    CSV(incsv, "a,b\n1,2,3\n4\n5,6\n", "5\t6\n",
        "2|-|wrong field count: expected 2, got 3|1,2,3\n3|-|wrong field count: expected 2, got 1|4\n");
    CSV(incsv, "a,b\n1,\"open\n2,3\n", "2\t3\n", "2|-|unterminated quote|1,\"open\n");
    CSV(incsv, "a,b\n1,2\n3,\"open", "1\t2\n", "3|-|truncated last line (unterminated quote)|3,\"open\n");
    CSV(incsv, "a,b\n1,2\n3", "1\t2\n", "3|-|truncated last line (1 of 2 fields)|3\n");
    CSV(incsv, "a,b\n1,\xff\xfe\n2,3\n", "2\t3\n", "2|-|invalid UTF-8|1,\xff\xfe\n");
    CSV(incsv, "a,b\n1,x\0y\n2,3\n", "2\t3\n", "2|-|NUL byte|1,x\n");
    CSV(incsv, "a,b\n\"a\"x,1\n", "", "2|-|text after a closing quote|\"a\"x,1\n");
    CSV("{input: {path: x, format: csv, max_field_bytes: 3}}", "a,b\n1234,1\n1,2\n", "1\t2\n",
        "2|-|field longer than 3 bytes|1234,1\n");
    CSV(incsv, "", "", "0|-|empty file|\n");
    CSV(incsv, " \n\n", "", "0|-|empty file|\n");
    CSV(incsv, "a,b\n", "", "");                        /* header only: no rows, no reject */
}
END_TEST

START_TEST(t_csv_missing_header_column)
{
    T t;
    compile(&t, two, incsv);
    ck_assert_int_eq(run(&t, "a,c\n1,2\n", 8), -1);
    ck_assert_str_eq(t.err.message, "cleanse model 'm': input field 'b' not found in f");
    done(&t);
}
END_TEST

START_TEST(t_csv_no_header_and_latin1)
{
    T t;
    compile(&t, "- name: a\n  data_type: text\n  source: 2\n- name: b\n  data_type: text\n  source: 1\n",
            "{input: {path: x, format: csv, header: false, encoding: latin1}}");
    const char data[] = "caf\xe9,1\n";
    ck_assert_int_eq(run(&t, data, sizeof data - 1), 0);
    ck_assert_str_eq(sb_cstr(&t.out), "1\tcaf\xc3\xa9\n");
    done(&t);
}
END_TEST

START_TEST(t_regex_combined)
{
    T t;
    compile(&t,
            "- name: ip\n  data_type: text\n  source: remote_addr\n"
            "- name: ts\n  data_type: timestamptz\n  source: time_local\n"
            "  rules: [{timestamp: {formats: ['%d/%b/%Y:%H:%M:%S %z']}}]\n"
            "- name: status\n  data_type: smallint\n"
            "- name: bytes\n  data_type: bigint\n  source: body_bytes_sent\n  rules: [{null_if: ['-']}]\n"
            "- name: path\n  data_type: text\n"
            "- name: ua\n  data_type: text\n  source: http_user_agent\n",
            "{input: {path: x, format: regex, preset: apache_combined}}");
    const char data[] =
        "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 \"http://x/\" \"Mozilla/4.08\"\n"
        "garbage line\n"
        "10.0.0.2 - - [01/Jan/2024:00:00:01 +0000] \"POST /api HTTP/1.1\" 404 - \"-\" \"curl/8\"\n"
        "10.0.0.3 - - [31/Feb/2024:00:00:01 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"\n";
    ck_assert_int_eq(run(&t, data, sizeof data - 1), 0);
    ck_assert_str_eq(sb_cstr(&t.out),
                     "127.0.0.1\t2000-10-10 13:55:36-07\t200\t2326\t/apache_pb.gif\tMozilla/4.08\n"
                     "10.0.0.2\t2024-01-01 00:00:01+00\t404\t\\N\t/api\tcurl/8\n");
    ck_assert_str_eq(sb_cstr(&t.rej), "2|-|no match|garbage line\n"
                                      "4|ts|impossible timestamp|10.0.0.3 - - [31/Feb/2024:00:00:01 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"\n");
    done(&t);
}
END_TEST

START_TEST(t_ndjson)
{
    T t;
    compile(&t,
            "- name: id\n  data_type: bigint\n"
            "- name: city\n  data_type: text\n  source: user.address.city\n"
            "- name: tags\n  data_type: text\n"
            "- name: ok\n  data_type: boolean\n",
            "{input: {path: x, format: ndjson}}");
    const char data[] =
        "{\"id\": 1, \"user\": {\"name\": \"a\", \"address\": {\"city\": \"K\\u00f6ln\\n\"}}, \"tags\": [1, 2], \"ok\": true}\n"
        "{\"id\": 2, \"user\": null, \"ok\": false}\n"
        "{\"id\": 3, \"user\": {\"address\": {\"city\": \"x\"}\n"
        "[1,2]\n"
        "\n"
        "{\"id\": \"x\"}\n"
        "{\"id\": 4";
    ck_assert_int_eq(run(&t, data, sizeof data - 1), 0);
    ck_assert_str_eq(sb_cstr(&t.out), "1\tK\xc3\xb6ln\\n\t[1, 2]\ttrue\n2\t\\N\t\\N\tfalse\n");
    ck_assert_str_eq(sb_cstr(&t.rej),
                     "3|-|invalid JSON|{\"id\": 3, \"user\": {\"address\": {\"city\": \"x\"}\n"
                     "4|-|invalid JSON|[1,2]\n"
                     "6|id|not an integer|{\"id\": \"x\"}\n"
                     "7|-|invalid JSON (truncated last line?)|{\"id\": 4\n");
    done(&t);
}
END_TEST

START_TEST(t_copy_text)
{
    T t;
    compile(&t, two, NULL);
    Cleanser *c = cleanser_new(t.s, sink, &t.rej);
    const char *names[] = {"b", "a"};
    ck_assert_int_eq(cleanser_bind_names(c, names, 2, "q", &t.err), 0);
    CleanseReader *r = cleanse_reader_new(c, &t.out, 0, NULL, NULL);
    ck_assert_int_eq(cleanse_read_copy_line(r, "x\\ty\\\\\t\\N\n", 10), 0);
    ck_assert_int_eq(cleanse_read_copy_line(r, "\\101\\x42\tz", 10), 0);
    ck_assert_str_eq(sb_cstr(&t.out), "\\N\tx\\ty\\\\\nz\tAB\n");
    cleanse_reader_free(r);
    cleanser_free(c);
    done(&t);
}
END_TEST

START_TEST(t_file_empty_and_missing)
{
    T t;
    compile(&t, two, incsv);
    char path[] = "/tmp/cdbt-cleanse-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    Cleanser *c = cleanser_new(t.s, sink, &t.rej);
    CleanseReader *r = cleanse_reader_new(c, &t.out, 0, NULL, NULL);
    ck_assert_int_eq(cleanse_read_file(r, path, "landing/empty.csv", &t.err), 0);
    ck_assert_str_eq(sb_cstr(&t.rej), "0|-|empty file|\n");
    ck_assert_str_eq(cleanser_source(c), "landing/empty.csv");
    unlink(path);
    ck_assert_int_eq(cleanse_read_file(r, path, "landing/gone.csv", &t.err), -1);
    ck_assert_ptr_nonnull(strstr(t.err.message, "cannot open landing/gone.csv"));
    cleanse_reader_free(r);
    cleanser_free(c);
    done(&t);
}
END_TEST

Suite *cleanse_readers_suite(void)
{
    Suite *s = suite_create("cleanse_readers");
    TCase *tc = tcase_create("readers");
    tcase_add_test(tc, t_csv_basic);
    tcase_add_test(tc, t_csv_dirt);
    tcase_add_test(tc, t_csv_missing_header_column);
    tcase_add_test(tc, t_csv_no_header_and_latin1);
    tcase_add_test(tc, t_regex_combined);
    tcase_add_test(tc, t_ndjson);
    tcase_add_test(tc, t_copy_text);
    tcase_add_test(tc, t_file_empty_and_missing);
    suite_add_tcase(s, tc);
    return s;
}
