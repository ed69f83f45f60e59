/* test_base_json.c - src/base/json.c against straightforward reference
 * implementations: doubles (Python repr via printf/strtod, the writer's
 * original algorithm), string escaping at every length and alignment, Sb
 * coherence between calls, streaming to a file descriptor, deep nesting and
 * the spaced/pretty layouts. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/json.h"
#include "base/fs.h"

/* ---------------------------------------------------------------- doubles */

/* The reference: the shortest %.*e precision (binary search over 0..16, as
 * json.c did before its integer fast path) that strtod reads back as v, then
 * Python repr's layout. */
static void ref_double(double v, char *out)
{
    if (isnan(v)) { strcpy(out, "NaN"); return; }
    if (isinf(v)) { strcpy(out, v < 0 ? "-Infinity" : "Infinity"); return; }
    if (v == 0) { strcpy(out, signbit(v) ? "-0.0" : "0.0"); return; }
    char buf[40];
    int lo = 0, hi = 16;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, sizeof buf, "%.*e", mid, v);
        if (strtod(buf, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(buf, sizeof buf, "%.*e", lo, v);
    const char *p = buf;
    char *o = out;
    if (*p == '-') {
        *o++ = '-';
        p++;
    }
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int decpt = exp10 + 1;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            o += sprintf(o, "0.");
            for (int i = 0; i < -decpt; i++)
                *o++ = '0';
            memcpy(o, digits, (size_t)nd);
            o += nd;
        } else if (decpt >= nd) {
            memcpy(o, digits, (size_t)nd);
            o += nd;
            for (int i = nd; i < decpt; i++)
                *o++ = '0';
            o += sprintf(o, ".0");
        } else {
            memcpy(o, digits, (size_t)decpt);
            o += decpt;
            *o++ = '.';
            memcpy(o, digits + decpt, (size_t)(nd - decpt));
            o += nd - decpt;
        }
        *o = '\0';
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(nd - 1));
            o += nd - 1;
        }
        sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double rnd_unit(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static int check_double(double v)
{
    char want[64], got[64];
    ref_double(v, want);
    size_t n = json_format_double(got, v);
    ck_assert_msg(strcmp(got, want) == 0 && n == strlen(want), "%a: got %s, want %s", v, got, want);
    Sb s = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    json_double(&w, v);
    ck_assert_str_eq(s.buf, want);
    sb_free(&s);
    return 0;
}

/* A writer into memory (a) and one streamed to a new temporary file
 * (b, into buf until it flushes): the file's descriptor. */
static int writer_pair(char *path, JsonW *a, Sb *mem, JsonW *b, Sb *buf)
{
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    json_init(a, mem, false);
    json_init(b, buf, false);
    json_set_sink(b, fd);
    return fd;
}

START_TEST(doubles_match_reference)
{
    static const double fixed[] = {
        1.0, 0.1, -2.5, 0.0, -0.0, 1e16, 1e15, 123456789012345678.0, 1.5e-07, 0.0001, 0.00001,
        0.1 + 0.2, 1.0 / 3.0, 100.0, 1e100, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
        9007199254740992.0, 9007199254740993.0, 9007199254740994.0, 4503599627370496.5,
        1e17, 1e-11, 1e-12, 99999999999999999.0, 0.30000000000000004, 2.5, 0.125, 1.0625,
        1764577954.123456, 1796113949.021312, 1796113949.0, 0.001234, 1e22, 1e23, 5e-5,
        123.456, 0.5, 0.25, 0.75, 1e-4, 9.999999999999999e-5, 1e21, 12345678901234567890.0,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        check_double(fixed[i]);
        check_double(-fixed[i]);
        check_double(nextafter(fixed[i], INFINITY));
        check_double(nextafter(fixed[i], 0));
    }
    check_double(NAN);
    check_double(INFINITY);
    check_double(-INFINITY);
    /* powers of two and ten and their neighbours (asymmetric rounding intervals) */
    for (int e = -1074; e <= 1023; e++) {
        double v = ldexp(1.0, e);
        check_double(v);
        check_double(nextafter(v, INFINITY));
        check_double(nextafter(v, 0));
    }
    for (int e = -320; e <= 308; e++) {
        char b[32];
        snprintf(b, sizeof b, "1e%d", e);
        double v = strtod(b, NULL);
        check_double(v);
        check_double(nextafter(v, INFINITY));
        check_double(nextafter(v, 0));
    }
    /* what artifacts hold: epoch seconds with microseconds, and durations */
    for (int i = 0; i < 40000; i++) {
        double t = (double)(1700000000 + (long)(rnd() % 200000000)) + (double)(rnd() % 1000000) / 1e6;
        check_double(t);
        check_double(rnd_unit() * 10.0);
        check_double(rnd_unit() * 1e-3);
        check_double((double)(rnd() % 100000000) / 1000.0);
        check_double((double)(int64_t)(rnd() >> 12));
    }
    /* any bit pattern, and values spread evenly over the exponent range */
    for (int i = 0; i < 40000; i++) {
        uint64_t b = rnd();
        double v;
        memcpy(&v, &b, sizeof v);
        check_double(v);
        check_double(ldexp(1.0 + rnd_unit(), (int)(rnd() % 160) - 80));
    }
}
END_TEST

/* ---------------------------------------------------------------- strings */

static void ref_escape(Sb *out, const char *s, size_t n)
{
    sb_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': sb_puts(out, "\\\""); break;
        case '\\': sb_puts(out, "\\\\"); break;
        case '\n': sb_puts(out, "\\n"); break;
        case '\r': sb_puts(out, "\\r"); break;
        case '\t': sb_puts(out, "\\t"); break;
        case '\b': sb_puts(out, "\\b"); break;
        case '\f': sb_puts(out, "\\f"); break;
        default:
            if (c < 0x20)
                sb_printf(out, "\\u%04x", c);
            else
                sb_putc(out, (char)c);
        }
    }
    sb_putc(out, '"');
}

START_TEST(escape_matches_reference)
{
    /* bytes around every class boundary: controls, '"' (0x22) and '\\' (0x5c)
     * and their neighbours, DEL, UTF-8 lead/continuation bytes */
    static const unsigned char alpha[] = {
        0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d,
        'a', 'z', '0', 0x7f, 0x80, 0xa0, 0xa2, 0xdc, 0xc3, 0xe9, 0xff,
    };
    char src[80];
    Sb got = SB_INIT, want = SB_INIT;
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = rnd() % 64;            /* several 16-byte blocks and a tail */
        /* mostly clean text with the odd special, or anything */
        bool dense = rnd() % 4 == 0;
        size_t off = rnd() % 16;          /* every alignment */
        for (size_t i = 0; i < n; i++)
            src[off + i] = dense || rnd() % 8 == 0 ? (char)alpha[rnd() % sizeof alpha] : (char)('a' + rnd() % 26);
        sb_reset(&want);
        ref_escape(&want, src + off, n);
        /* through json_escape, appended after existing text */
        sb_reset(&got);
        sb_puts(&got, "x");
        json_escape(&got, src + off, n);
        ck_assert_uint_eq(got.len, want.len + 1);
        ck_assert_msg(memcmp(got.buf + 1, want.buf, want.len) == 0 && got.buf[got.len] == '\0',
                      "escape differs at iteration %d", iter);
        /* and as a value and a key */
        JsonW w;
        Sb doc = SB_INIT;
        json_init(&w, &doc, false);
        json_obj_begin(&w);
        json_keyn(&w, src + off, n);
        json_strn(&w, src + off, n);
        json_obj_end(&w);
        ck_assert_uint_eq(doc.len, 2 * want.len + 3);
        ck_assert(memcmp(doc.buf + 1, want.buf, want.len) == 0);
        ck_assert(memcmp(doc.buf + 2 + want.len, want.buf, want.len) == 0);
        ck_assert_int_eq(doc.buf[doc.len], '\0');
        sb_free(&doc);
    }
    /* growth while escaping: every byte becomes six */
    char ctl[5000];
    for (size_t i = 0; i < sizeof ctl; i++)
        ctl[i] = (char)(1 + i % 7);
    sb_free(&got);
    sb_reset(&want);
    ref_escape(&want, ctl, sizeof ctl);
    JsonW w;
    json_init(&w, &got, false);
    json_arr_begin(&w);
    json_strn(&w, ctl, sizeof ctl);
    json_strn(&w, ctl, 3);
    json_arr_end(&w);
    ck_assert_uint_eq(got.len, want.len + 2 + 1 + 20);
    ck_assert(memcmp(got.buf + 1, want.buf, want.len) == 0);
    ck_assert_str_eq(got.buf + 1 + want.len, ",\"\\u0001\\u0002\\u0003\"]");
    sb_free(&got);
    sb_free(&want);
}
END_TEST

/* ---------------------------------------------------------------- structure */

START_TEST(raw_keys_and_values)
{
    Sb s = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    json_obj_begin(&w);
    json_key_raw(&w, "\"a\\\"b\"", 6);
    json_raw_lit(&w, "{\"x\":1}");
    json_key_lit(&w, "n");
    json_int(&w, 42);
    json_key(&w, "d");
    json_double(&w, 0.5);
    json_key(&w, "s");
    json_str(&w, NULL);
    json_key_plain(&w, "plain_key", 5);
    json_bool(&w, true);
    json_obj_end(&w);
    ck_assert_str_eq(s.buf, "{\"a\\\"b\":{\"x\":1},\"n\":42,\"d\":0.5,\"s\":null,\"plain\":true}");
    /* callers may append to the Sb between writer calls */
    sb_reset(&s);
    json_init(&w, &s, false);
    json_arr_begin(&w);
    json_int(&w, 1);
    ck_assert_str_eq(s.buf, "[1");
    sb_puts(&s, "/**/");
    json_int(&w, 2);
    json_arr_end(&w);
    ck_assert_str_eq(s.buf, "[1/**/,2]");
    sb_free(&s);
}
END_TEST

START_TEST(spaced_and_pretty_layouts)
{
    Sb s = SB_INIT;
    JsonW w;
    json_init_spaced(&w, &s);
    json_obj_begin(&w);
    json_key_lit(&w, "a");
    json_int(&w, 1);
    json_key_raw(&w, "\"b\"", 3);
    json_arr_begin(&w);
    json_int(&w, 1);
    json_str(&w, "x");
    json_obj_begin(&w);
    json_obj_end(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    ck_assert_str_eq(s.buf, "{\"a\": 1, \"b\": [1, \"x\", {}]}");
    sb_reset(&s);
    json_init(&w, &s, true);
    json_arr_begin(&w);
    json_obj_begin(&w);
    json_key_lit(&w, "k");
    json_arr_begin(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    json_null(&w);
    json_arr_end(&w);
    ck_assert_str_eq(s.buf, "[\n  {\n    \"k\": []\n  },\n  null\n]");
    sb_free(&s);
}
END_TEST

/* Nesting deeper than 64 levels: the writer once kept its comma state in a
 * 64-entry array shared by the deepest levels and dropped commas there. */
START_TEST(slot_padding)
{
    ck_assert_uint_eq(json_slot_len(1), JSON_SLOT);
    ck_assert_uint_eq(json_slot_len(JSON_SLOT), JSON_SLOT);
    ck_assert_uint_eq(json_slot_len(JSON_SLOT + 1), 2 * JSON_SLOT);
    /* a streamed writer: values padded to their slots, commas after the padding */
    char path[] = "/tmp/cdbt_json_slot_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    Sb s = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    json_set_sink(&w, fd);
    json_obj_begin(&w);
    size_t start[3], len[3];
    for (int i = 0; i < 3; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        json_key(&w, k);
        start[i] = json_offset(&w);
        json_obj_begin(&w);
        json_key(&w, "v");
        Sb big = SB_INIT;
        for (int j = 0; j < 200 * i + 3; j++)
            sb_putc(&big, 'a' + j % 26);
        json_str(&w, big.buf);
        sb_free(&big);
        json_obj_end(&w);
        len[i] = json_pad_slot(&w, start[i]);
        ck_assert_uint_eq(len[i] % JSON_SLOT, 0);
    }
    json_obj_end(&w);
    ck_assert_int_eq(json_flush(&w), 0);
    close(fd);
    char *text = NULL;
    size_t n = 0;
    ck_assert_int_eq(fs_read_file(path, &text, &n), 0);
    unlink(path);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(text[start[i]], '{');
        const char *end = memchr(text + start[i], '}', len[i]);
        ck_assert_ptr_nonnull(end);
        for (const char *p = end + 1; p < text + start[i] + len[i]; p++)
            ck_assert_int_eq(*p, ' ');
        ck_assert_int_eq(text[start[i] + len[i]], i < 2 ? ',' : '}');
    }
    free(text);
    sb_free(&s);
}
END_TEST

START_TEST(deep_nesting_keeps_commas)
{
    Sb s = SB_INIT, want = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    for (int i = 0; i < 100; i++) {
        json_arr_begin(&w);
        sb_putc(&want, '[');
    }
    for (int i = 0; i < 3; i++) {
        json_arr_begin(&w);
        json_int(&w, i);
        json_arr_end(&w);
        sb_printf(&want, "%s[%d]", i ? "," : "", i);
    }
    for (int i = 0; i < 100; i++) {
        json_arr_end(&w);
        sb_putc(&want, ']');
        if (i < 99) {                     /* not after the top-level value */
            json_int(&w, i);
            sb_printf(&want, ",%d", i);
        }
    }
    ck_assert_str_eq(s.buf, want.buf);
    sb_free(&s);
    sb_free(&want);
}
END_TEST

/* The file a streamed writer wrote at path holds what one in memory wrote
 * (more than a chunk of it); the file is removed. */
static void assert_streamed(const char *path, const Sb *mem)
{
    char *got = NULL;
    size_t n = 0;
    ck_assert_int_eq(fs_read_file(path, &got, &n), 0);
    ck_assert_uint_gt(n, 1000000);
    ck_assert_uint_eq(n, mem->len);
    ck_assert(memcmp(got, mem->buf, n) == 0);
    free(got);
    unlink(path);
}

START_TEST(sink_streams_the_same_bytes)
{
    char path[] = "/tmp/cdbt_test_json_XXXXXX";
    Sb mem = SB_INIT, buf = SB_INIT;
    JsonW a, b;
    int fd = writer_pair(path, &a, &mem, &b, &buf);
    char text[3000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)(i % 97 == 0 ? '\n' : 'a' + i % 23);
    JsonW *ws[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        JsonW *w = ws[k];
        json_obj_begin(w);
        for (int i = 0; i < 1000; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%d", i);
            json_key(w, key);
            json_arr_begin(w);
            json_strn(w, text, (size_t)(i * 7) % sizeof text);
            json_double(w, i / 7.0);
            json_int(w, -i);
            json_bool(w, i & 1);
            json_obj_begin(w);          /* the inline paths: literal keys and values */
            json_key_lit(w, "plain");
            json_null(w);
            json_key_lit(w, "a_somewhat_longer_plain_key");
            json_raw_lit(w, "[]");
            json_obj_end(w);
            json_arr_end(w);
        }
        json_obj_end(w);
    }
    ck_assert_int_eq(json_flush(&b), 0);
    ck_assert_uint_eq(buf.len, 0);
    close(fd);
    assert_streamed(path, &mem);
    sb_free(&mem);
    sb_free(&buf);
}
END_TEST

/* Items written by forks and spliced in order give the bytes one writer
 * would: compact and pretty, first item from a fork or from the writer,
 * and (streamed) a splice larger than a chunk. */
static void fork_items(JsonW *w, int from, int to)
{
    for (int i = from; i < to; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        json_key(w, key);
        json_arr_begin(w);
        json_int(w, i);
        json_str(w, i % 3 ? "x" : "line\n");
        json_arr_end(w);
    }
}

START_TEST(forks_splice_like_one_writer)
{
    for (int pretty = 0; pretty < 2; pretty++)
        for (int first_forked = 0; first_forked < 2; first_forked++) {
            Sb want = SB_INIT, got = SB_INIT, part = SB_INIT;
            JsonW a, b, f;
            json_init(&a, &want, pretty);
            json_init(&b, &got, pretty);
            JsonW *ws[2] = {&a, &b};
            for (int k = 0; k < 2; k++) {
                json_obj_begin(ws[k]);
                json_key(ws[k], "items");
                json_obj_begin(ws[k]);
            }
            fork_items(&a, 0, 30);
            for (int blk = 0; blk < 3; blk++) {
                if (blk == 1 || (blk == 0 && !first_forked)) {
                    fork_items(&b, blk * 10, blk * 10 + 10);
                    continue;
                }
                sb_reset(&part);
                json_fork(&f, &part, &b, blk > 0);
                fork_items(&f, blk * 10, blk * 10 + 10);
                json_splice(&b, part.buf, part.len);
            }
            for (int k = 0; k < 2; k++) {
                json_obj_end(ws[k]);
                json_key(ws[k], "after");
                json_null(ws[k]);
                json_obj_end(ws[k]);
            }
            ck_assert_str_eq(got.buf, want.buf);
            sb_free(&want);
            sb_free(&got);
            sb_free(&part);
        }
    char path[] = "/tmp/cdbt_test_json_XXXXXX";
    Sb mem = SB_INIT, buf = SB_INIT, part = SB_INIT;
    JsonW a, b, f;
    int fd = writer_pair(path, &a, &mem, &b, &buf);
    json_arr_begin(&a);
    json_arr_begin(&b);
    for (int blk = 0; blk < 4; blk++) {
        sb_reset(&part);
        json_fork(&f, &part, &b, blk > 0);
        for (int i = 0; i < 20000 * (blk + 1); i++) {
            json_int(&a, i);
            json_int(&f, i);
        }
        json_splice(&b, part.buf, part.len);
    }
    json_arr_end(&a);
    json_arr_end(&b);
    ck_assert_int_eq(json_flush(&b), 0);
    close(fd);
    assert_streamed(path, &mem);
    sb_free(&mem);
    sb_free(&buf);
    sb_free(&part);
}
END_TEST

/* A memo hit writes the very bytes of the value stored: as the first or a
 * later item, under a key or in an array, in writers with and without a
 * sink (where a value flushed midway is not stored); pretty and spaced
 * writers never store, so never hit. */
static void memo_value(JsonW *w, int i)
{
    json_obj_begin(w);
    json_key(w, "i");
    json_int(w, i);
    json_key(w, "s");
    json_str(w, i % 2 ? "a\"b\n" : "plain");
    json_key(w, "l");
    json_arr_begin(w);
    for (int k = 0; k < i % 5; k++)
        json_double(w, k / 3.0);
    json_arr_end(w);
    json_obj_end(w);
}

static void memo_doc(JsonW *w, JsonMemo *m, int *hits)
{
    static const int keys[] = {1, 2, 1, 3, 2, 1, 4, 4, 2};
    static const char ids[16];
    json_obj_begin(w);
    for (int r = 0; r < 300; r++) {
        json_key(w, r % 2 ? "odd" : "even");
        json_arr_begin(w);
        for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
            int id = keys[j] + r % 7;
            const void *key = &ids[id];         /* any pointer stands for the value */
            if (!m) {
                memo_value(w, id);
                continue;
            }
            if (json_memo_hit(w, m, key, (size_t)id)) {
                (*hits)++;
                continue;
            }
            JsonMark mk = json_memo_mark(w);
            memo_value(w, id);
            json_memo_store(w, m, key, (size_t)id, mk);
        }
        json_arr_end(w);
    }
    json_obj_end(w);
}

START_TEST(memo_writes_the_same_bytes)
{
    for (int mode = 0; mode < 3; mode++) {       /* compact, pretty, spaced */
        Sb want = SB_INIT, got = SB_INIT;
        JsonW a, b;
        json_init(&a, &want, mode == 1);
        json_init(&b, &got, mode == 1);
        if (mode == 2) {
            json_init_spaced(&a, &want);
            json_init_spaced(&b, &got);
        }
        JsonMemo m = JSON_MEMO_INIT;
        int hits = 0;
        memo_doc(&a, NULL, NULL);
        memo_doc(&b, &m, &hits);
        ck_assert_str_eq(got.buf, want.buf);
        if (mode == 0)
            ck_assert_int_gt(hits, 2000);
        else
            ck_assert_int_eq(hits, 0);
        json_memo_free(&m);
        sb_free(&want);
        sb_free(&got);
    }
    /* streamed: values straddling a flush are not stored, the rest are */
    char path[] = "/tmp/cdbt_test_json_XXXXXX";
    Sb mem = SB_INIT, buf = SB_INIT;
    JsonW a, b;
    int fd = writer_pair(path, &a, &mem, &b, &buf);
    JsonMemo m = JSON_MEMO_INIT;
    int hits = 0;
    for (int rep = 0; rep < 100; rep++) {
        memo_doc(&a, NULL, NULL);
        memo_doc(&b, &m, &hits);
    }
    ck_assert_int_gt(hits, 200000);
    ck_assert_int_eq(json_flush(&b), 0);
    close(fd);
    assert_streamed(path, &mem);
    json_memo_free(&m);
    sb_free(&mem);
    sb_free(&buf);
}
END_TEST

Suite *base_json_suite(void)
{
    Suite *s = suite_create("base_json");
    TCase *tc = tcase_create("json");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, doubles_match_reference);
    tcase_add_test(tc, escape_matches_reference);
    tcase_add_test(tc, raw_keys_and_values);
    tcase_add_test(tc, spaced_and_pretty_layouts);
    tcase_add_test(tc, deep_nesting_keeps_commas);
    tcase_add_test(tc, sink_streams_the_same_bytes);
    tcase_add_test(tc, forks_splice_like_one_writer);
    tcase_add_test(tc, slot_padding);
    tcase_add_test(tc, memo_writes_the_same_bytes);
    suite_add_tcase(s, tc);
    return s;
}
