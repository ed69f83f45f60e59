/* test_exec_csv.c - the seed CSV reader (csvread.c) and dbt's type inference
 * and value normalisation (seedtype.c): tokenising corners of Python's csv
 * excel dialect, header names, padding, exact located error messages, and
 * agate's Number / Date / DateTime / ISODateTime / Boolean / Text rules with
 * the integer-vs-float8 decision. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/sb.h"
#include "exec/csvread.h"
#include "exec/seedtype.h"

/* ---- helpers ---- */

/* All records of a CSV as "f1|f2|~" text per record ('~' = missing field),
 * records separated by "\n"; the header first, prefixed "H:". */
static char *dump(const char *csv, size_t len, char delim, Diag *err)
{
    CsvReader *r = csv_open_mem(csv, len, "seeds/x.csv", delim);
    Sb out = SB_INIT;
    const char *const *names;
    int nc;
    if (csv_header(r, &names, &nc, err) != 0) {
        csv_close(r);
        sb_free(&out);
        return NULL;
    }
    sb_puts(&out, "H:");
    for (int i = 0; i < nc; i++) {
        if (i)
            sb_putc(&out, '|');
        sb_puts(&out, names[i]);
    }
    CsvRecord rec;
    int k;
    while ((k = csv_next(r, &rec, err)) == 1) {
        sb_printf(&out, "\n%d:", rec.line);
        for (int i = 0; i < rec.n; i++) {
            if (i)
                sb_putc(&out, '|');
            if (rec.f[i]) {
                ck_assert_uint_eq(strlen(rec.f[i]), rec.len[i]);
                sb_puts(&out, rec.f[i]);
            } else
                sb_putc(&out, '~');
        }
    }
    csv_close(r);
    if (k < 0) {
        sb_free(&out);
        return NULL;
    }
    return sb_detach(&out);
}

static void check_csv(const char *csv, char delim, const char *want)
{
    Diag d = {0};
    char *got = dump(csv, strlen(csv), delim, &d);
    if (!got) {
        Sb s = SB_INIT;
        diag_format(&d, &s);
        ck_abort_msg("unexpected error: %s", sb_cstr(&s));
    }
    ck_assert_str_eq(got, want);
    free(got);
    diag_clear(&d);
}

static void check_csv_error(const char *csv, size_t len, const char *want)
{
    Diag d = {0};
    char *got = dump(csv, len, ',', &d);
    ck_assert_msg(got == NULL, "expected an error, got %s", got ? got : "");
    Sb s = SB_INIT;
    diag_format(&d, &s);
    ck_assert_str_eq(sb_cstr(&s), want);
    sb_free(&s);
    diag_clear(&d);
}

/* ---- reader ---- */

START_TEST(csv_basic_and_bom)
{
    check_csv("\xef\xbb\xbfid,name\n1,ann\n2,bob\n", ',', "H:id|name\n2:1|ann\n3:2|bob");
    /* no trailing newline, CRLF, lone CR */
    check_csv("a,b\r\n1,2\r3,4", ',', "H:a|b\n2:1|2\n3:3|4");
    /* no whitespace trimming */
    check_csv(" a , b\n 1 ,2 \n", ',', "H: a | b\n2: 1 |2 ");
}
END_TEST

START_TEST(csv_quotes)
{
    /* delimiter, doubled quotes, newline (CRLF read as \n) inside quotes */
    check_csv("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"l1\r\nl2\",z\n3,4\n", ',',
              "H:a|b\n2:x,y|say \"hi\"\n3:l1\nl2|z\n5:3|4");
    /* quote inside an unquoted field is literal; text after a closing quote is kept */
    check_csv("a,b\nx\"y,\"ab\"cd\n", ',', "H:a|b\n2:x\"y|abcd");
    /* quoted empty and unquoted empty fields */
    check_csv("a,b,c\n\"\",,\"\"\n", ',', "H:a|b|c\n2:||");
    /* a space before the quote: the quote is data */
    check_csv("a,b\n1, \"x\"\n", ',', "H:a|b\n2:1| \"x\"");
}
END_TEST

START_TEST(csv_header_names)
{
    check_csv(",a,,a,a\n", ',', "H:a|a_2|c|a_3|a_4");
    check_csv("x,x,x_2\n", ',', "H:x|x_2|x_2_2");
    char n[8];
    csv_letter_name(0, n);
    ck_assert_str_eq(n, "a");
    csv_letter_name(25, n);
    ck_assert_str_eq(n, "z");
    csv_letter_name(26, n);
    ck_assert_str_eq(n, "aa");
    csv_letter_name(27, n);
    ck_assert_str_eq(n, "bb");
    csv_letter_name(52, n);
    ck_assert_str_eq(n, "aaa");
}
END_TEST

START_TEST(csv_short_rows_and_blank_lines)
{
    check_csv("a,b,c\n1\n\n1,2\n", ',', "H:a|b|c\n2:1|~|~\n3:~|~|~\n4:1|2|~");
    /* a trailing blank line is a record of NULLs (as agate reads it) */
    check_csv("a\n1\n\n", ',', "H:a\n2:1\n3:~");
    /* header only */
    check_csv("a,b\n", ',', "H:a|b");
}
END_TEST

START_TEST(csv_delimiters)
{
    check_csv("a;b\n1,5;\"x;y\"\n", ';', "H:a|b\n2:1,5|x;y");
    check_csv("a\tb\n1\t2\n", '\t', "H:a|b\n2:1|2");
}
END_TEST

START_TEST(csv_errors)
{
    check_csv_error("a,b\n1,2\n3,4,5\n", 14,
                    "seeds/x.csv:3:5: error: Row 1 has 3 values, but Table only has 2 columns.\n"
                    "    3 | 3,4,5\n"
                    "      |     ^\n");
    /* a trailing delimiter makes one value too many */
    check_csv_error("a\n1,\n", 5,
                    "seeds/x.csv:2:3: error: Row 0 has 2 values, but Table only has 1 columns.\n"
                    "    2 | 1,\n"
                    "      |   ^\n");
    check_csv_error("a,b\n1,\"open\nmore\n", 17,
                    "seeds/x.csv:2:3: error: unterminated quoted field: end of file reached inside the quotes opened here\n"
                    "    2 | 1,\"open\n"
                    "      |   ^\n");
    check_csv_error("a,b\nx\xff,2\n", 9,
                    "seeds/x.csv:2:2: error: invalid UTF-8: can't decode byte 0xff (invalid start byte)\n"
                    "    2 | x\xff,2\n"
                    "      |  ^\n");
    check_csv_error("a,b\n\xc3(,2\n", 8,
                    "seeds/x.csv:2:1: error: invalid UTF-8: can't decode byte 0xc3 (invalid continuation byte)\n"
                    "    2 | \xc3(,2\n"
                    "      | ^\n");
    check_csv_error("a\n\xe2\x82", 4,
                    "seeds/x.csv:2:1: error: invalid UTF-8: can't decode byte 0xe2 (unexpected end of data)\n"
                    "    2 | \xe2\x82\n"
                    "      | ^\n");
    /* surrogates and overlongs are invalid as in Python */
    check_csv_error("a\n\xed\xa0\x80\n", 6,
                    "seeds/x.csv:2:1: error: invalid UTF-8: can't decode byte 0xed (invalid continuation byte)\n"
                    "    2 | \xed\xa0\x80\n"
                    "      | ^\n");
    check_csv_error("a\nx\0y\n", 6,
                    "seeds/x.csv:2:2: error: NUL byte in CSV data\n"
                    "    2 | x\n"
                    "      |  ^\n");
    check_csv_error("", 0, "seeds/x.csv: error: the CSV file is empty: a seed needs a header row\n");
}
END_TEST

START_TEST(csv_field_limit)
{
    size_t n = CSV_FIELD_LIMIT + 1;
    char *big = malloc(n + 8);
    memcpy(big, "a\n", 2);
    memset(big + 2, 'x', n);
    big[n + 2] = '\n';
    Diag d = {0};
    char *got = dump(big, n + 3, ',', &d);
    ck_assert_ptr_null(got);
    ck_assert_str_eq(d.message, "field larger than field limit (131072)");
    ck_assert_int_eq(d.line, 2);
    ck_assert_int_eq(d.col, CSV_FIELD_LIMIT + 1);
    diag_clear(&d);
    /* exactly at the limit is fine; multi-byte characters count once */
    Sb s = SB_INIT;
    sb_puts(&s, "a\n");
    for (int i = 0; i < CSV_FIELD_LIMIT; i++)
        sb_puts(&s, "\xc3\xa9");
    sb_puts(&s, "\n");
    got = dump(s.buf, s.len, ',', &d);
    ck_assert_ptr_nonnull(got);
    free(got);
    sb_free(&s);
    free(big);
}
END_TEST

/* The file reader gives the same records as the memory
 * reader, with CRLF, quotes and multi-byte characters across buffer edges;
 * rewind restarts; errors late in the file show their line via pread. */
START_TEST(csv_file_streaming)
{
    Sb s = SB_INIT;
    sb_puts(&s, "\xef\xbb\xbfid,txt,n\r\n");
    for (int i = 0; i < 6000; i++)
        sb_printf(&s, "%d,\"q\"\"%d\r\n\xe2\x82\xac\xc3\xa9\",%d.5\r\n", i, i, i);
    char path[] = "/tmp/cdbt_csv_test_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, s.buf, s.len), (int)s.len);
    close(fd);
    Diag d = {0};
    char *want = dump(s.buf, s.len, ',', &d);
    ck_assert_ptr_nonnull(want);
    CsvReader *r = csv_open_file(path, "seeds/big.csv", ',', &d);
    ck_assert_ptr_nonnull(r);
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names;
        int nc;
        ck_assert_int_eq(csv_header(r, &names, &nc, &d), 0);
        ck_assert_int_eq(nc, 3);
        ck_assert_str_eq(names[0], "id");
        CsvRecord rec;
        int rows = 0, k;
        while ((k = csv_next(r, &rec, &d)) == 1) {
            char buf[64];
            snprintf(buf, sizeof buf, "q\"%d\n\xe2\x82\xac\xc3\xa9", rows);
            ck_assert_str_eq(rec.f[1], buf);
            ck_assert_int_eq(rec.line, 2 + 2 * rows);
            ck_assert_int_eq(rec.index, rows);
            rows++;
        }
        ck_assert_int_eq(k, 0);
        ck_assert_int_eq(rows, 6000);
        ck_assert_int_eq(csv_rewind(r, &d), 0);
    }
    csv_close(r);
    free(want);
    /* an error far into the file */
    FILE *fp = fopen(path, "ab");
    fputs("1,2,3,4\r\n", fp);
    fclose(fp);
    r = csv_open_file(path, "seeds/big.csv", ',', &d);
    const char *const *names;
    int nc;
    ck_assert_int_eq(csv_header(r, &names, &nc, &d), 0);
    CsvRecord rec;
    int k;
    while ((k = csv_next(r, &rec, &d)) == 1)
        ;
    ck_assert_int_eq(k, -1);
    Sb f = SB_INIT;
    diag_format(&d, &f);
    ck_assert_str_eq(sb_cstr(&f), "seeds/big.csv:12002:7: error: Row 6000 has 4 values, but Table only has 3 columns.\n"
                                  "12002 | 1,2,3,4\n"
                                  "      |       ^\n");
    sb_free(&f);
    csv_close(r);
    diag_clear(&d);
    unlink(path);
    sb_free(&s);
    r = csv_open_file("/nonexistent/x.csv", "seeds/x.csv", ',', &d);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(d.file, "seeds/x.csv");
    diag_clear(&d);
}
END_TEST

/* Every record of an open reader as text, with the column csv_field_error
 * reports for one field of each record (cycling through the fields and the
 * "no field" case). */
static char *dump_reader(CsvReader *r)
{
    Sb out = SB_INIT;
    Diag d = {0};
    const char *const *names;
    int nc;
    ck_assert_int_eq(csv_header(r, &names, &nc, &d), 0);
    CsvRecord rec;
    int k;
    while ((k = csv_next(r, &rec, &d)) == 1) {
        sb_printf(&out, "%d/%lld:", rec.line, (long long)rec.index);
        for (int i = 0; i < rec.n; i++) {
            if (!rec.f[i]) {
                sb_puts(&out, "|~");
                continue;
            }
            ck_assert_uint_eq(strlen(rec.f[i]), rec.len[i]);
            sb_putc(&out, '|');
            if (rec.len[i] > 64)
                sb_printf(&out, "<%zu bytes %c>", rec.len[i], rec.f[i][rec.len[i] - 1]);
            else
                sb_append(&out, rec.f[i], rec.len[i]);
        }
        int fi = (int)(rec.index % (rec.n + 1)) - 1;
        Diag e = {0};
        csv_field_error(r, &rec, fi, &e, "x");
        sb_printf(&out, " @%d:%d\n", e.line, e.col);
        diag_clear(&e);
    }
    ck_assert_int_eq(k, 0);
    diag_clear(&d);
    return sb_detach(&out);
}

/* Records that cross the file reader's 1 MiB buffer at every kind of byte
 * (plain and quoted fields, doubled quotes, newlines inside quotes, CRLF,
 * lone CR, multi-byte characters, blank lines, short rows) and a record
 * larger than the buffer read the same from a file as from memory, with the
 * same lines and error columns. */
START_TEST(csv_file_buffer_edges)
{
    Sb s = SB_INIT;
    sb_puts(&s, "a,b,c,d\n");
    for (int i = 0; s.len < 3500000; i++) {
        switch (i % 9) {
        case 0: sb_printf(&s, "%d,plain %d,%d.25,2024-01-%02d\n", i, i, i, 1 + i % 28); break;
        case 1: sb_printf(&s, "%d,\"quoted, %d\",x,\"\"\r\n", i, i); break;
        case 2: sb_printf(&s, "%d,\"dq \"\"%d\"\"\",\"l1\r\nl2\",z\n", i, i); break;
        case 3: sb_printf(&s, "%d,caf\xc3\xa9 \xe2\x82\xac%d,\"\xf0\x9f\x98\x80\",\xe2\x82\xac\r", i, i); break;
        case 4: sb_printf(&s, "%d\n\n", i); break;
        case 5: sb_printf(&s, "%d,x\"y,\"ab\"cd,\n", i); break;
        case 6: sb_printf(&s, "%d,%*d,,\"\"\n", i, 1 + i % 200, i); break;
        case 7: sb_printf(&s, "%d,\"\xc3\xa9%d\xc3\xa9\",\"a\nb\",c\r\n", i, i); break;
        default: sb_printf(&s, "%d,y,z,w\n", i); break;
        }
        if (i == 7000) {                     /* one record larger than the buffer */
            sb_printf(&s, "%d", i);
            for (int f = 0; f < 3; f++) {
                sb_putc(&s, ',');
                for (int k = 0; k < 130000; k++)
                    sb_puts(&s, "\xe2\x82\xac");    /* 390,000 bytes */
            }
            sb_puts(&s, "\n");
        }
    }
    sb_puts(&s, "end,\"last\"");          /* no final newline */
    char path[] = "/tmp/cdbt_csv_edges_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, s.buf, s.len), (int)s.len);
    close(fd);
    CsvReader *m = csv_open_mem(s.buf, s.len, "seeds/e.csv", ',');
    char *want = dump_reader(m);
    csv_close(m);
    Diag d = {0};
    CsvReader *r = csv_open_file(path, "seeds/e.csv", ',', &d);
    ck_assert_ptr_nonnull(r);
    for (int pass = 0; pass < 2; pass++) {
        char *got = dump_reader(r);
        ck_assert_msg(strcmp(got, want) == 0, "file and memory readers differ (pass %d)", pass);
        free(got);
        ck_assert_int_eq(csv_rewind(r, &d), 0);
    }
    csv_close(r);
    ck_assert_ptr_nonnull(strstr(want, "|<390000 bytes \xac>"));
    ck_assert_ptr_nonnull(strstr(want, "|end|last|~|~ @"));
    free(want);
    unlink(path);
    sb_free(&s);
}
END_TEST

/* csv_field_error points at the field (its opening quote when quoted) for
 * plain records and for records with doubled quotes or quoted newlines. */
START_TEST(csv_field_positions)
{
    static const struct {
        const char *csv;
        int field, line, col;
    } cases[] = {
        {"a,b,c\n1,\"x\",33\n", 0, 2, 1},
        {"a,b,c\n1,\"x\",33\n", 1, 2, 3},
        {"a,b,c\n1,\"x\",33\n", 2, 2, 7},
        {"a,b,c\n1,\"x\",33\n", -1, 2, 1},
        {"a,b,c\n\n1,\"x\"\"y\",33\n", 2, 3, 10},
        {"a,b,c\n1,\"x\ny\",33\n", 2, 3, 4},
        {"a,b,c\r\n1,\xc3\xa9\xc3\xa9,33", 2, 2, 8},
        {"a,b,c\r1\r", 1, 2, 1},              /* a missing field: the record start */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CsvReader *r = csv_open_mem(cases[i].csv, strlen(cases[i].csv), "s.csv", ',');
        Diag d = {0};
        const char *const *names;
        int nc;
        CsvRecord rec;
        ck_assert_int_eq(csv_header(r, &names, &nc, &d), 0);
        int k;
        while ((k = csv_next(r, &rec, &d)) == 1 && rec.f[0] == NULL)
            ;                                   /* skip blank lines */
        ck_assert_int_eq(k, 1);
        csv_field_error(r, &rec, cases[i].field, &d, "bad");
        ck_assert_msg(d.line == cases[i].line && d.col == cases[i].col, "case %zu: got %d:%d, want %d:%d", i, d.line,
                      d.col, cases[i].line, cases[i].col);
        diag_clear(&d);
        csv_close(r);
    }
}
END_TEST

/* ---- type inference ---- */

/* Infer one column from values (NULL-terminated list; "~" = missing). */
static SeedTyper infer_col(const char *const *vals, bool forced)
{
    SeedTyper t;
    seedtype_init(&t, 1, &forced);
    for (int i = 0; vals[i]; i++) {
        const char *f[1] = {strcmp(vals[i], "~") == 0 ? NULL : vals[i]};
        size_t l[1] = {f[0] ? strlen(f[0]) : 0};
        seedtype_feed(&t, f, l, 1);
    }
    return t;
}

#define COL(...) ((const char *const[]){__VA_ARGS__, NULL})

static void check_type(const char *const *vals, const char *want_sql, SeedType want)
{
    SeedTyper t = infer_col(vals, false);
    ck_assert_msg(seedtype_result(&t, 0) == want, "first value '%s': got %s, want %s", vals[0],
                  seedtype_name(seedtype_result(&t, 0)), seedtype_name(want));
    ck_assert_str_eq(seedtype_sql(&t, 0), want_sql);
    seedtype_free(&t);
}

/* Normalised value of s as type t (NULL means SQL NULL expected). */
static void check_value(SeedType t, const char *s, const char *want)
{
    Sb out = SB_INIT;
    const char *why = NULL;
    int r = seedtype_value(&out, t, false, false, s, strlen(s), &why);
    if (!want)
        ck_assert_msg(r == 0, "'%s' should be NULL, got r=%d '%s'", s, r, sb_cstr(&out));
    else {
        ck_assert_msg(r == 1, "'%s' should load, got r=%d", s, r);
        ck_assert_str_eq(sb_cstr(&out), want);
    }
    sb_free(&out);
}

START_TEST(infer_numbers)
{
    check_type(COL("1", "2", "3"), "integer", SEED_NUMBER);
    check_type(COL("1,000", "$5", "50%", "-$5", "$-5", "+3", "1_000", "1e5", " 7 "), "integer", SEED_NUMBER);
    check_type(COL("1", "2.0", "3.00"), "integer", SEED_NUMBER);
    check_type(COL("1", "2.50"), "float8", SEED_NUMBER);
    check_type(COL("12.5%", "\xe2\x82\xac" "7"), "float8", SEED_NUMBER);
    check_type(COL("1e-3"), "float8", SEED_NUMBER);
    check_type(COL("NaN", "Infinity", "-inf", "1"), "integer", SEED_NUMBER);
    check_type(COL("007", "0042"), "integer", SEED_NUMBER);
    check_type(COL("29051_00040"), "integer", SEED_NUMBER);
    /* 30 significant digits round to 28 (Decimal context): integral again */
    check_type(COL("1.00000000000000000000000000001"), "integer", SEED_NUMBER);
    check_type(COL("", "null", " NULL ", "~"), "integer", SEED_NUMBER);
    check_type(COL("~"), "integer", SEED_NUMBER);
    /* Unicode whitespace is stripped like str.strip() */
    check_type(COL("\xc2\xa0" "5\xe3\x80\x80"), "integer", SEED_NUMBER);
    /* not numbers */
    check_type(COL("1", "abc"), "text", SEED_TEXT);
    check_type(COL("sNaN"), "text", SEED_TEXT);
    check_type(COL("1 0"), "text", SEED_TEXT);
    check_type(COL("$"), "text", SEED_TEXT);
    check_type(COL(",", "1"), "text", SEED_TEXT);
    check_type(COL("1e1000000"), "text", SEED_TEXT);           /* decimal.Overflow in Python */
    check_type(COL("0x10"), "text", SEED_TEXT);
}
END_TEST

START_TEST(number_values)
{
    check_value(SEED_NUMBER, "1,000", "1000");
    check_value(SEED_NUMBER, "$5", "5");
    check_value(SEED_NUMBER, "50%", "50");
    check_value(SEED_NUMBER, "-$5", "-5");
    check_value(SEED_NUMBER, "--5", "5");
    check_value(SEED_NUMBER, "1e3", "1000");
    check_value(SEED_NUMBER, "2.50", "2.5");
    check_value(SEED_NUMBER, "-0", "0");
    check_value(SEED_NUMBER, "-0.0", "0");
    check_value(SEED_NUMBER, "0.05", "0.05");
    check_value(SEED_NUMBER, ".5", "0.5");
    check_value(SEED_NUMBER, "5.", "5");
    check_value(SEED_NUMBER, "007", "7");
    check_value(SEED_NUMBER, "1__0", "10");
    check_value(SEED_NUMBER, "1.23456789012345678901234567890", "1.234567890123456789012345679");
    check_value(SEED_NUMBER, "99999999999999999999999999999", "100000000000000000000000000000");
    check_value(SEED_NUMBER, "1E-70", "1E-70");
    check_value(SEED_NUMBER, "NaN", "NaN");
    check_value(SEED_NUMBER, "Infinity", "NaN");
    check_value(SEED_NUMBER, "", NULL);
    check_value(SEED_NUMBER, "NuLl", NULL);
    SeedNum n;
    ck_assert_int_eq(seedtype_parse_number("1.2300", 6, &n), 1);
    ck_assert_str_eq(n.digits, "123");
    ck_assert_int_eq(n.exp, -2);
    ck_assert_int_eq(seedtype_parse_number("abc", 3, &n), -1);
    ck_assert_int_eq(seedtype_parse_number("  ", 2, &n), 0);
}
END_TEST

START_TEST(infer_dates)
{
    check_type(COL("2024-01-02", "2024-1-3", "2024-01- 4", ""), "date", SEED_DATE);
    check_type(COL("2024-02-30"), "text", SEED_TEXT);
    check_type(COL("2024-13-01"), "text", SEED_TEXT);
    check_type(COL("0000-01-01"), "text", SEED_TEXT);
    check_type(COL("2024-01-010"), "text", SEED_TEXT);
    check_type(COL("2024/01/02"), "text", SEED_TEXT);
    check_type(COL("2024"), "integer", SEED_NUMBER);
    check_value(SEED_DATE, " 2024-1-3 ", "2024-01-03");
    check_value(SEED_DATE, "null", NULL);

    check_type(COL("2024-01-02 03:04:05", "2024-1-2  3:4:5", "2024-01-02\t10:00:00"),
               "timestamp without time zone", SEED_DATETIME);
    check_type(COL("2024-01-02 24:00:00"), "text", SEED_TEXT);
    check_type(COL("2024-01-02 10:00:60"), "text", SEED_TEXT);
    check_type(COL("2024-01-02 10:00:00.5"), "text", SEED_TEXT);
    check_type(COL("2024-01-02 10:00"), "text", SEED_TEXT);
    check_type(COL("2024-01-02", "2024-01-02 10:00:00"), "text", SEED_TEXT);
    check_value(SEED_DATETIME, "2024-1-2 3:4:5", "2024-01-02 03:04:05");
}
END_TEST

START_TEST(infer_isodatetime)
{
    check_type(COL("2024-01-02T03:04:05", "2024-01-02T03:04:05.123+01:00", "2024-01-02T03:04:05Z"),
               "timestamp without time zone", SEED_ISODATETIME);
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05.123", "2024-01-02 03:04:05.123000");
    check_value(SEED_ISODATETIME, "20240102T030405", "2024-01-02 03:04:05");
    check_value(SEED_ISODATETIME, "2024-W01-1T00", "2024-01-01 00:00:00");
    check_value(SEED_ISODATETIME, "2021-W01-1T00", "2021-01-04 00:00:00");
    check_value(SEED_ISODATETIME, "2024-032T10:00", "2024-02-01 10:00:00");
    check_value(SEED_ISODATETIME, "2024-05T10", "2024-05-01 10:00:00");
    check_value(SEED_ISODATETIME, "2024-00-01T10", "2024-01-01 10:00:00");   /* month 00 -> default 1 (isodate) */
    check_value(SEED_ISODATETIME, "2024T10", "2024-01-01 10:00:00");
    check_value(SEED_ISODATETIME, "20T10", "2001-01-01 10:00:00");           /* century */
    check_value(SEED_ISODATETIME, "2024-01-02T10.5", "2024-01-02 10:30:00");
    check_value(SEED_ISODATETIME, "2024-01-02T10:30,5", "2024-01-02 10:30:30");
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05.1234565", "2024-01-02 03:04:05.123456");
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05.1234575", "2024-01-02 03:04:05.123458");
    /* isodate matches prefixes: trailing text is ignored */
    check_value(SEED_ISODATETIME, "2024-01-02xxT03:04:05junk", "2024-01-02 03:04:05");
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05+0530", "2024-01-02 03:04:05+05:30");
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05-02", "2024-01-02 03:04:05-02:00");
    check_value(SEED_ISODATETIME, "2024-01-02T03:04:05Z", "2024-01-02 03:04:05+00:00");
    /* UTC conversion across a day boundary */
    Sb out = SB_INIT;
    ck_assert_int_eq(seedtype_value(&out, SEED_ISODATETIME, false, true, "2024-01-01T00:30:00+01:00", 25, NULL), 1);
    ck_assert_str_eq(sb_cstr(&out), "2023-12-31 23:30:00");
    sb_free(&out);
    const char *why = NULL;
    ck_assert_int_eq(seedtype_value(&out, SEED_ISODATETIME, false, false, "2024-01-01T00:00:00+24:00", 25, &why), -1);
    ck_assert_ptr_nonnull(why);
    sb_free(&out);
    SeedTime tm;
    ck_assert_int_eq(seedtype_parse_isodatetime("2024-01-02T03:04:05+01:00", 25, &tm), 1);
    ck_assert(tm.aware);
    ck_assert_int_eq(tm.off_min, 60);
    /* not ISO */
    check_type(COL("2024-01-02 03:04:05Z"), "text", SEED_TEXT);          /* no T */
    check_type(COL("2024-01-02T3:04"), "text", SEED_TEXT);
    check_type(COL("2024-01-02T03:04T05"), "text", SEED_TEXT);           /* two T */
    check_type(COL("2024-01-02t03:04:05"), "text", SEED_TEXT);           /* lower-case t */
    check_type(COL("2024-01-02T24:00:00"), "text", SEED_TEXT);
    check_type(COL("2024-01-02T23:59:59.9999995"), "text", SEED_TEXT);   /* rounds to second 60 */
    check_type(COL("2024-02-30T10:00"), "text", SEED_TEXT);
    check_type(COL("0000-01-01T10:00"), "text", SEED_TEXT);
}
END_TEST

START_TEST(infer_booleans_and_text)
{
    check_type(COL("true", "FALSE", " True ", "t,rue", ",", ""), "boolean", SEED_BOOLEAN);
    check_type(COL("yes", "no"), "text", SEED_TEXT);
    check_type(COL("t", "f"), "text", SEED_TEXT);
    check_type(COL("1", "0"), "integer", SEED_NUMBER);
    check_value(SEED_BOOLEAN, "TRUE", "true");
    check_value(SEED_BOOLEAN, "fal,se", "false");
    check_value(SEED_BOOLEAN, ",", NULL);
    check_value(SEED_TEXT, "  spaced  ", "  spaced  ");
    check_value(SEED_TEXT, " NULL ", NULL);
    check_value(SEED_TEXT, "", NULL);
    check_value(SEED_TEXT, ",", ",");
    /* column_types: forced text, leading zeros survive */
    SeedTyper t = infer_col(COL("007", "1"), true);
    ck_assert_int_eq(seedtype_result(&t, 0), SEED_TEXT);
    seedtype_free(&t);
    check_value(SEED_TEXT, "007", "007");
    /* mixed kinds fall to text */
    check_type(COL("2024-01-02", "true"), "text", SEED_TEXT);
    check_type(COL("1", "2024-01-02"), "text", SEED_TEXT);
}
END_TEST

START_TEST(copy_escaping)
{
    Sb s = SB_INIT;
    const char in[] = "a\tb\\c\nd\re";
    seedtype_copy_escape(&s, in, sizeof in - 1);
    ck_assert_str_eq(sb_cstr(&s), "a\\tb\\\\c\\nd\\re");
    sb_free(&s);
    size_t b, e;
    seedtype_strip("\xe2\x80\x83 x \xc2\x85", 8, &b, &e);
    ck_assert_uint_eq(b, 4);
    ck_assert_uint_eq(e, 5);
    ck_assert(seedtype_is_null("\xe3\x80\x80", 3));
    ck_assert(!seedtype_is_null("\xe2\x80\x8b", 3));       /* zero-width space is not whitespace */
}
END_TEST

/* seedtype_copy_value: the COPY text of a field, appended (escaped text, \N
 * for NULL, normalised values), and nothing appended when it fails. */
START_TEST(copy_values)
{
    static const struct {
        SeedType t;
        const char *in;                 /* NULL: a missing field */
        int rc;
        const char *want;
    } cases[] = {
        {SEED_TEXT, "a\tb\\c\nd", 1, "a\\tb\\\\c\\nd"},
        {SEED_TEXT, " null ", 0, "\\N"},
        {SEED_TEXT, "", 0, "\\N"},
        {SEED_TEXT, NULL, 0, "\\N"},
        {SEED_TEXT, " x ", 1, " x "},
        {SEED_NUMBER, "1,000.50", 1, "1000.5"},
        {SEED_NUMBER, "-0", 1, "0"},
        {SEED_NUMBER, "0.050", 1, "0.05"},
        {SEED_NUMBER, "1200", 1, "1200"},
        {SEED_NUMBER, "1e70", 1, "1E70"},
        {SEED_NUMBER, "", 0, "\\N"},
        {SEED_NUMBER, "abc", -1, ""},
        {SEED_DATE, "2024-1-5", 1, "2024-01-05"},
        {SEED_DATE, "2024-01-05", 1, "2024-01-05"},
        {SEED_DATETIME, "2024-01-05 1:02:03", 1, "2024-01-05 01:02:03"},
        {SEED_ISODATETIME, "2024-01-05T10:11:12+25:00", -1, ""},
        {SEED_BOOLEAN, "True", 1, "true"},
        {SEED_BOOLEAN, "null", 0, "\\N"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Sb out = SB_INIT;
        sb_puts(&out, "<");
        const char *why = NULL;
        const char *in = cases[i].in;
        int rc = seedtype_copy_value(&out, cases[i].t, in, in ? strlen(in) : 0, '\0', &why);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d", i, rc);
        ck_assert_str_eq(sb_cstr(&out) + 1, cases[i].want);
        /* with a separator: appended after the value, not after a failure */
        sb_reset(&out);
        rc = seedtype_copy_value(&out, cases[i].t, in, in ? strlen(in) : 0, '\t', &why);
        ck_assert_int_eq(rc, cases[i].rc);
        ck_assert_str_eq(sb_cstr(&out), rc < 0 ? "" : sb_cstr(&out));
        ck_assert(rc < 0 ? out.len == 0 : (out.len == strlen(cases[i].want) + 1 && out.buf[out.len - 1] == '\t'));
        sb_free(&out);
    }
}
END_TEST

/* ---- binary COPY ---- */

/* The bytes seedtype_bin_value appends for s as kind (type t): "" with
 * *rc -1/-2 when it fails. */
static Sb bin_of(SeedBin kind, SeedType t, const char *s, int *rc)
{
    Sb out = SB_INIT;
    const char *why = NULL;
    *rc = seedtype_bin_value(&out, kind, t, s, s ? strlen(s) : 0, &why);
    ck_assert_msg(*rc >= 0 || out.len == 0, "'%s': bytes appended on failure", s ? s : "(missing)");
    ck_assert_msg(*rc != -1 || why || kind != SEED_BIN_TEXT || t == SEED_TEXT, "'%s': no reason", s);
    return out;
}

static uint64_t be_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

static int32_t be_i32(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | (unsigned char)p[i];
    return (int32_t)v;
}

/* A 4-byte value (int4, date): its length word and its value. */
static void check_bin4(SeedBin kind, SeedType t, const char *s, int32_t want)
{
    int rc;
    Sb b = bin_of(kind, t, s, &rc);
    ck_assert_msg(rc == 1 && b.len == 8 && be_i32(b.buf) == 4, "'%s': rc %d len %zu", s, rc, b.len);
    ck_assert_msg(be_i32(b.buf + 4) == want, "'%s': got %d, want %d", s, be_i32(b.buf + 4), want);
    sb_free(&b);
}

/* A float8: the double strtod makes of `dec` (float8in's conversion). */
static void check_float8(const char *s, const char *dec)
{
    int rc;
    Sb b = bin_of(SEED_BIN_FLOAT8, SEED_NUMBER, s, &rc);
    ck_assert_msg(rc == 1 && b.len == 12 && be_i32(b.buf) == 8, "'%s': rc %d len %zu", s, rc, b.len);
    double want = strcmp(dec, "NaN") == 0 ? NAN : strtod(dec, NULL);
    uint64_t wbits;
    memcpy(&wbits, &want, 8);
    ck_assert_msg(be_u64(b.buf + 4) == wbits, "'%s': got %016llx, want %016llx (%s)", s,
                  (unsigned long long)be_u64(b.buf + 4), (unsigned long long)wbits, dec);
    sb_free(&b);
}

static void check_bin_fails(SeedBin kind, SeedType t, const char *s, int want_rc)
{
    int rc;
    Sb b = bin_of(kind, t, s, &rc);
    ck_assert_msg(rc == want_rc, "'%s': rc %d, want %d", s, rc, want_rc);
    sb_free(&b);
}

START_TEST(binary_values)
{
    Sb h = SB_INIT;
    seedtype_bin_header(&h);
    ck_assert_uint_eq(h.len, 19);
    ck_assert_int_eq(memcmp(h.buf, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19), 0);
    sb_reset(&h);
    seedtype_bin_tuple(&h, 258);
    seedtype_bin_trailer(&h);
    ck_assert_int_eq(memcmp(h.buf, "\001\002\377\377", 4), 0);
    sb_free(&h);

    check_bin4(SEED_BIN_INT4, SEED_NUMBER, "1,000", 1000);
    check_bin4(SEED_BIN_INT4, SEED_NUMBER, " -2147483648 ", INT32_MIN);
    check_bin4(SEED_BIN_INT4, SEED_NUMBER, "2147483647", INT32_MAX);
    check_bin4(SEED_BIN_INT4, SEED_NUMBER, "1e3", 1000);
    check_bin4(SEED_BIN_INT4, SEED_NUMBER, "007", 7);
    check_bin4(SEED_BIN_INT4, SEED_NUMBER, "-0", 0);
    check_bin_fails(SEED_BIN_INT4, SEED_NUMBER, "2147483648", -2);
    check_bin_fails(SEED_BIN_INT4, SEED_NUMBER, "1.5", -2);
    check_bin_fails(SEED_BIN_INT4, SEED_NUMBER, "NaN", -2);
    check_bin_fails(SEED_BIN_INT4, SEED_NUMBER, "abc", -1);

    check_float8("0.1", "0.1");
    check_float8("-2.75", "-2.75");
    check_float8("$1,234.50", "1234.5");
    check_float8("50%", "50");
    check_float8("-0", "0");
    check_float8("1e-5", "0.00001");
    check_float8("1e22", "1e22");
    check_float8("1e23", "1e23");
    check_float8("9007199254740993", "9007199254740993");
    check_float8("123456789012345e-22", "123456789012345e-22");
    check_float8("0.30000000000000004", "0.30000000000000004");
    check_float8("3.14159265358979323846264338327950288", "3.141592653589793238462643383");   /* 28 digits first */
    check_float8("1e-300", "1e-300");
    check_float8("9.99e298", "9.99e298");
    check_float8("NaN", "NaN");
    check_float8("-Infinity", "NaN");
    check_bin_fails(SEED_BIN_FLOAT8, SEED_NUMBER, "1e300", -2);
    check_bin_fails(SEED_BIN_FLOAT8, SEED_NUMBER, "1e-301", -2);

    int rc;
    Sb b = bin_of(SEED_BIN_FLOAT8, SEED_NUMBER, " null ", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_int_eq(be_i32(b.buf), -1);
    sb_free(&b);
    b = bin_of(SEED_BIN_TEXT, SEED_TEXT, NULL, &rc);
    ck_assert(rc == 0 && b.len == 4 && be_i32(b.buf) == -1);
    sb_free(&b);

    check_bin4(SEED_BIN_DATE, SEED_DATE, "2000-01-01", 0);
    check_bin4(SEED_BIN_DATE, SEED_DATE, "1999-12-31", -1);
    check_bin4(SEED_BIN_DATE, SEED_DATE, " 2024-1-5 ", 8770);
    check_bin4(SEED_BIN_DATE, SEED_DATE, "0001-01-01", -730119);
    check_bin_fails(SEED_BIN_DATE, SEED_DATE, "2023-02-29", -1);
    check_bin_fails(SEED_BIN_DATE, SEED_NUMBER, "2023-02-28", -2);

    static const struct { SeedType t; const char *s; int64_t us; } ts[] = {
        {SEED_DATETIME, "2000-01-01 00:00:01", 1000000},
        {SEED_DATETIME, "1999-12-31 23:59:59", -1000000},
        {SEED_DATETIME, "2024-1-5 1:2:3", (8770LL * 86400 + 3723) * 1000000},
        {SEED_ISODATETIME, "2000-01-01T00:00:00.5", 500000},
        {SEED_ISODATETIME, "20000102T0030", (86400LL + 1800) * 1000000},
    };
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
        b = bin_of(SEED_BIN_TIMESTAMP, ts[i].t, ts[i].s, &rc);
        ck_assert_msg(rc == 1 && b.len == 12 && be_i32(b.buf) == 8, "'%s'", ts[i].s);
        ck_assert_msg((int64_t)be_u64(b.buf + 4) == ts[i].us, "'%s': got %lld", ts[i].s, (long long)be_u64(b.buf + 4));
        sb_free(&b);
    }
    check_bin_fails(SEED_BIN_TIMESTAMP, SEED_ISODATETIME, "2024-01-05T10:11:12Z", -2);   /* offsets are staged */

    b = bin_of(SEED_BIN_BOOL, SEED_BOOLEAN, " t,RUE ", &rc);
    ck_assert(rc == 1 && b.len == 5 && be_i32(b.buf) == 1 && b.buf[4] == 1);
    sb_free(&b);
    b = bin_of(SEED_BIN_BOOL, SEED_BOOLEAN, "false", &rc);
    ck_assert(rc == 1 && b.len == 5 && b.buf[4] == 0);
    sb_free(&b);

    /* text: the bytes as they are (no COPY escaping), null tokens NULL */
    b = bin_of(SEED_BIN_TEXT, SEED_TEXT, "a\tb\\c\n", &rc);
    ck_assert(rc == 1 && b.len == 10 && be_i32(b.buf) == 6 && memcmp(b.buf + 4, "a\tb\\c\n", 6) == 0);
    sb_free(&b);
    check_bin_fails(SEED_BIN_TEXT, SEED_TEXT, " NULL ", 0);
    /* a staged ISO column: its normalised text, offset kept */
    b = bin_of(SEED_BIN_TEXT, SEED_ISODATETIME, "2024-01-05T10:11:12+05:30", &rc);
    ck_assert(rc == 1 && be_i32(b.buf) == 25 && memcmp(b.buf + 4, "2024-01-05 10:11:12+05:30", 25) == 0);
    sb_free(&b);
    check_bin_fails(SEED_BIN_TEXT, SEED_ISODATETIME, "2024-01-05T10:11:12+24:00", -1);
}
END_TEST

/* Which columns can go in binary: Numbers only when every value fits the
 * SQL type without the server's input function failing. */
START_TEST(binary_kinds)
{
    const struct {
        const char *const *vals;
        bool staged;
        SeedBin want;
    } cases[] = {
        {COL("1", "-2", "", "1e3"), false, SEED_BIN_INT4},
        {COL("1", "3000000000"), false, SEED_BIN_NONE},          /* integer column, int4 overflow */
        {COL("29051_00040"), false, SEED_BIN_NONE},
        {COL("1", "NaN"), false, SEED_BIN_NONE},                 /* NaN in an integer column */
        {COL("1.5", "2", "NaN", "1e-300"), false, SEED_BIN_FLOAT8},
        {COL("1.5", "1e300"), false, SEED_BIN_NONE},
        {COL("1.5", "1e-301"), false, SEED_BIN_NONE},
        {COL("2024-01-02", "~"), false, SEED_BIN_DATE},
        {COL("2024-01-02 03:04:05"), false, SEED_BIN_TIMESTAMP},
        {COL("2024-01-02T03:04:05"), false, SEED_BIN_TIMESTAMP},
        {COL("2024-01-02T03:04:05Z"), true, SEED_BIN_TEXT},
        {COL("True"), false, SEED_BIN_BOOL},
        {COL("x", "1"), false, SEED_BIN_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        SeedTyper t = infer_col(cases[i].vals, false);
        ck_assert_msg(seedtype_bin_kind(&t, 0, cases[i].staged) == cases[i].want, "case %zu: got %d", i,
                      seedtype_bin_kind(&t, 0, cases[i].staged));
        seedtype_free(&t);
    }
    SeedTyper t = infer_col(COL("1"), true);                     /* column_types: the user's SQL type */
    ck_assert_int_eq(seedtype_bin_kind(&t, 0, false), SEED_BIN_NONE);
    seedtype_free(&t);
}
END_TEST

Suite *exec_csv_suite(void)
{
    Suite *s = suite_create("exec_csv");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, csv_basic_and_bom);
    tcase_add_test(tc, csv_quotes);
    tcase_add_test(tc, csv_header_names);
    tcase_add_test(tc, csv_short_rows_and_blank_lines);
    tcase_add_test(tc, csv_delimiters);
    tcase_add_test(tc, csv_errors);
    tcase_add_test(tc, csv_field_limit);
    tcase_add_test(tc, csv_file_streaming);
    tcase_add_test(tc, csv_file_buffer_edges);
    tcase_add_test(tc, csv_field_positions);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("types");
    tcase_add_test(ti, infer_numbers);
    tcase_add_test(ti, number_values);
    tcase_add_test(ti, infer_dates);
    tcase_add_test(ti, infer_isodatetime);
    tcase_add_test(ti, infer_booleans_and_text);
    tcase_add_test(ti, copy_escaping);
    tcase_add_test(ti, copy_values);
    tcase_add_test(ti, binary_values);
    tcase_add_test(ti, binary_kinds);
    suite_add_tcase(s, ti);
    return s;
}
