/* test_golden.c - runner for the golden template corpus (tests/golden/).
 *
 * Owns: reading the generated tests/golden/template/<group>.golden files,
 * turning each case's JSON context into Values, rendering the template with
 * the public engine API (template.h) in text or native mode, and comparing
 * with the expected output or the expected diagnostic text (diag_format()).
 * It leaves the expected values to tests/golden/gen.py (real Jinja2) and the
 * case sources to tests/golden/src/<group>.cases; it never edits either.
 *
 * One Check test per .golden file: every case of the file runs, failures are
 * collected and reported together (case, file, expected vs actual with
 * visible whitespace).  A last test prints "golden: N passed, M failed".
 * Environment knobs: GOLDEN_CASE=<substring> runs only matching cases,
 * GOLDEN_VERBOSE=1 prints each case name before running it (to find a crash). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

#define GOLDEN_DIR CDBT_SOURCE_DIR "/tests/golden/template"
#define MAX_FILES 64
#define JSON_MAX_DEPTH 64

static char *g_files[MAX_FILES];
static int g_nfiles;

#include "../golden/json_read.h"

/* ------------------------------------------------------------ .golden reader */
typedef struct GCase {
    const char *name, *mode, *file;     /* NUL-terminated inside the file buffer */
    const char *context, *tpl, *output, *error;
    size_t context_len, tpl_len, output_len, error_len;
} GCase;

/* Read a single-line value "key value\n" or a sized section "key N\n<N bytes>\n".
 * Parses the whole buffer into cases; returns the count or -1 on a format error. */
static int golden_parse(char *buf, size_t len, GCase **out)
{
    size_t cap = 64, n = 0;
    GCase *cases = calloc(cap, sizeof *cases);
    char *p = buf, *end = buf + len;
    GCase *cur = NULL;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (p[0] == '#' || p[0] == 0) {
            p = nl + 1;
            continue;
        }
        if (strncmp(p, "=== ", 4) == 0) {
            if (n == cap) {
                cap *= 2;
                cases = realloc(cases, cap * sizeof *cases);
            }
            cur = &cases[n++];
            memset(cur, 0, sizeof *cur);
            cur->name = p + 4;
            p = nl + 1;
            continue;
        }
        char *sp = strchr(p, ' ');
        if (!cur || !sp) goto bad;
        *sp = 0;
        const char *key = p, *val = sp + 1;
        if (strcmp(key, "mode") == 0) { cur->mode = val; p = nl + 1; continue; }
        if (strcmp(key, "file") == 0) { cur->file = val; p = nl + 1; continue; }
        size_t sz = strtoul(val, NULL, 10);
        char *body = nl + 1;
        if (body + sz >= end + 1 || (body + sz < end && body[sz] != '\n')) goto bad;
        if (body + sz < end) body[sz] = 0;
        if (strcmp(key, "context") == 0) { cur->context = body; cur->context_len = sz; }
        else if (strcmp(key, "template") == 0) { cur->tpl = body; cur->tpl_len = sz; }
        else if (strcmp(key, "output") == 0) { cur->output = body; cur->output_len = sz; }
        else if (strcmp(key, "error") == 0) { cur->error = body; cur->error_len = sz; }
        p = body + sz + 1;     /* unknown sections (jinja2) are skipped */
    }
    *out = cases;
    return (int)n;
bad:
    free(cases);
    return -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    Sb sb = SB_INIT;
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) sb_append(&sb, tmp, k);
    fclose(f);
    *len = sb.len;
    return sb_detach(&sb);
}

/* ------------------------------------------------------------ rendering */
static int native_return(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    (void)ud; (void)self; (void)out;
    return interp_return(I, args->npos > 0 ? args->pos[0] : v_none());
}

/* Render one case; fills got with the output text (native: "type: repr") or
 * the diag_format() text; returns true when it is an error. */
static bool golden_run(const GCase *c, Sb *got)
{
    Arena a;
    arena_init(&a, 0);
    Diag d = {0};
    SrcFile f;
    bool is_err = false;
    srcfile_init(&f, c->file, c->tpl, c->tpl_len);

    JRead j = {c->context, c->context + c->context_len, &a, 0, false};
    Value ctx = jr_value(&j);
    VDict *g = v_dict(&a).u.d;
    tpl_add_std_globals(&a, g);
    dict_setz(&a, g, "return", v_func(&a, "return", native_return, NULL));
    if (!j.bad && ctx.type == V_DICT) {
        VDictEntry *e;
        for (size_t it = 0; dict_next(ctx.u.d, &it, &e);)
            dict_set(&a, g, e->key, e->val);
    } else {
        sb_puts(got, "(runner: bad context JSON)");
        is_err = true;
        goto done;
    }

    Template *t = tpl_parse(&a, &f, &d);
    if (!t) {
        is_err = true;
        goto done;
    }
    Interp *I = interp_new(&a, &d);
    interp_set_globals(I, g, NULL, NULL);
    if (c->mode && strcmp(c->mode, "native") == 0) {
        Value v = v_none();
        if (tpl_render_native(I, t, &v) != 0) {
            is_err = true;
            goto done;
        }
        sb_puts(got, value_type_name(v));
        sb_puts(got, ": ");
        value_repr(got, v);
    } else if (tpl_render(I, t, got) != 0) {
        is_err = true;
    }
done:
    if (is_err && d.set) {
        sb_reset(got);
        diag_format(&d, got);
    } else if (is_err && got->len == 0) {
        sb_puts(got, "(engine returned an error status without a diagnostic)");
    }
    diag_clear(&d);
    srcfile_free(&f);
    arena_free(&a);
    return is_err;
}

/* Append s as C-escaped string lines, breaking after each \n, so trailing
 * spaces and newlines are visible. */
static void show(Sb *r, const char *label, const char *s, size_t n)
{
    sb_printf(r, "    %-10s\"", label);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            sb_puts(r, "\\n\"");
            if (i + 1 < n) sb_puts(r, "\n              \"");
            else return (void)sb_putc(r, '\n');
        } else if (ch == '\\') sb_puts(r, "\\\\");
        else if (ch == '"') sb_puts(r, "\\\"");
        else if (ch == '\t') sb_puts(r, "\\t");
        else if (ch == '\r') sb_puts(r, "\\r");
        else if (ch < 0x20 || ch == 0x7F) sb_printf(r, "\\x%02x", ch);
        else sb_putc(r, (char)ch);
    }
    sb_puts(r, "\"\n");
}

static size_t first_diff(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

/* Run every case of one .golden file; report failures into r. */
static void golden_file(const char *path, int *pass, int *fail, Sb *r)
{
    size_t len = 0;
    char *buf = slurp(path, &len);
    GCase *cases = NULL;
    int n = buf ? golden_parse(buf, len, &cases) : -1;
    const char *only = getenv("GOLDEN_CASE");
    bool verbose = getenv("GOLDEN_VERBOSE") != NULL;
    if (n < 0) {
        sb_printf(r, "%s: cannot read or parse\n", path);
        (*fail)++;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const GCase *c = &cases[i];
        if (only && !strstr(c->name, only)) continue;
        if (!c->tpl || !c->file || (!c->output && !c->error)) {
            sb_printf(r, "FAIL %s: malformed case in %s\n", c->name, path);
            (*fail)++;
            continue;
        }
        if (verbose) fprintf(stderr, "golden: running %s\n", c->name);
        Sb got = SB_INIT;
        bool is_err = golden_run(c, &got);
        const char *exp = c->error ? c->error : c->output;
        size_t nexp = c->error ? c->error_len : c->output_len;
        bool ok = is_err == (c->error != NULL) && got.len == nexp && memcmp(got.buf ? got.buf : "", exp, nexp) == 0;
        if (ok) {
            (*pass)++;
        } else {
            (*fail)++;
            sb_printf(r, "FAIL %s  [%s, mode %s, %s]\n", c->name, c->file, c->mode ? c->mode : "text",
                      c->error ? "expects an error" : "expects output");
            show(r, "template", c->tpl, c->tpl_len);
            if (c->context_len > 2) sb_printf(r, "    context   %.*s\n", (int)c->context_len, c->context);
            show(r, c->error ? "exp.error" : "expected", exp, nexp);
            show(r, is_err ? "got error" : "actual", sb_cstr(&got), got.len);
            sb_printf(r, "    (first difference at byte %zu)\n",
                      first_diff(exp, nexp, sb_cstr(&got), got.len));
        }
        sb_free(&got);
    }
out:
    free(cases);
    free(buf);
}

START_TEST(test_golden_file)
{
    int pass = 0, fail = 0;
    Sb r = SB_INIT;
    golden_file(g_files[_i], &pass, &fail, &r);
    const char *base = strrchr(g_files[_i], '/');
    base = base ? base + 1 : g_files[_i];
    if (fail) fprintf(stderr, "%s", sb_cstr(&r));
    if (pass + fail > 0)
        fprintf(stderr, "golden %s: %d passed, %d failed\n", base, pass, fail);
    sb_free(&r);
    ck_assert_msg(fail == 0, "%s: %d of %d golden cases failed (details above)", base, fail, pass + fail);
}
END_TEST

START_TEST(test_golden_summary)
{
    int pass = 0, fail = 0;
    Sb r = SB_INIT;
    for (int i = 0; i < g_nfiles; i++) golden_file(g_files[i], &pass, &fail, &r);
    sb_free(&r);
    fprintf(stderr, "golden: %d passed, %d failed\n", pass, fail);
    ck_assert_msg(pass + fail >= 1, "no golden cases found in %s", GOLDEN_DIR);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_files(void)
{
    DIR *dir = opendir(GOLDEN_DIR);
    struct dirent *de;
    if (!dir) return;
    while ((de = readdir(dir)) != NULL && g_nfiles < MAX_FILES) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, ".golden") == 0) {
            Sb p = SB_INIT;
            sb_printf(&p, "%s/%s", GOLDEN_DIR, de->d_name);
            g_files[g_nfiles++] = sb_detach(&p);
        }
    }
    closedir(dir);
    qsort(g_files, (size_t)g_nfiles, sizeof g_files[0], cmp_str);
}

Suite *golden_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("files");
    find_files();
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_golden_file, 0, g_nfiles);
    tcase_add_test(tc, test_golden_summary);
    suite_add_tcase(s, tc);
    return s;
}
