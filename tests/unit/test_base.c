/* test_base.c - unit tests for src/base: arena, sb, vec, strmap, diag (the
 * exact rendered shape other suites' golden text depends on), fs, sha256,
 * md5 and the JSON writer. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/diag.h"
#include "base/fs.h"
#include "base/fswriter.h"
#include "base/journal.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/sb.h"
#include "base/strmap.h"
#include "base/vec.h"

/* ---- arena ---- */

START_TEST(arena_growth_and_alignment)
{
    Arena a;
    arena_init(&a, 1024);
    char *prev[2000];
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)(i % 37) + 1;
        char *p = arena_alloc(&a, n);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        memset(p, i & 0xff, n);
        prev[i] = p;
    }
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq((unsigned char)prev[i][0], i & 0xff);
    /* Oversized request gets its own block and small ones keep working. */
    char *big = arena_alloc(&a, 100000);
    memset(big, 7, 100000);
    char *small = arena_zalloc(&a, 24);
    for (int i = 0; i < 24; i++)
        ck_assert_int_eq(small[i], 0);
    ck_assert_int_eq(big[99999], 7);
    ck_assert_uint_ge(a.total, 100000);
    arena_reset(&a);
    ck_assert_uint_eq(a.total, 0);
    char *after = arena_alloc(&a, 10);
    ck_assert_ptr_nonnull(after);
    arena_free(&a);
    ck_assert_ptr_null(a.head);
}
END_TEST

/* Past 8 MiB an arena's blocks are 2 MiB huge-page mappings: allocations
 * stay aligned and distinct across them, survive a reset of the arena's
 * other blocks, and an adopted arena's mapped blocks are freed by the
 * adopter. */
START_TEST(arena_big_blocks)
{
    Arena a, b;
    arena_init(&a, 0);
    arena_init(&b, 0);
    enum { N = 24 * 1024, SZ = 1000 };          /* ~24 MB in 1000-byte pieces */
    unsigned char **p = malloc(sizeof *p * N);
    for (int i = 0; i < N; i++) {
        p[i] = arena_alloc(i & 1 ? &a : &b, SZ);
        ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
        memset(p[i], i & 0xff, SZ);
    }
    for (int i = 0; i < N; i++)
        ck_assert(p[i][0] == (i & 0xff) && p[i][SZ - 1] == (i & 0xff));
    ck_assert_uint_ge(a.total, (size_t)N / 2 * SZ);
    arena_adopt(&a, &b);
    ck_assert_uint_ge(a.total, (size_t)N * SZ);
    char *s = arena_strdup(&a, "after adopt");
    ck_assert_str_eq(s, "after adopt");
    arena_reset(&a);
    ck_assert_uint_eq(a.total, 0);
    for (int i = 0; i < 4096; i++)
        memset(arena_alloc(&a, SZ), 1, SZ);
    arena_free(&a);
    arena_free(&b);
    free(p);
}
END_TEST

START_TEST(arena_strings_and_realloc)
{
    Arena *a = arena_new(0);
    ck_assert_str_eq(arena_strdup(a, "hello"), "hello");
    ck_assert_str_eq(arena_strndup(a, "hello", 3), "hel");
    ck_assert_str_eq(arena_sprintf(a, "%s-%d", "x", 42), "x-42");
    char longfmt[600];
    memset(longfmt, 'z', sizeof longfmt - 1);
    longfmt[sizeof longfmt - 1] = '\0';
    ck_assert_str_eq(arena_sprintf(a, "%s", longfmt), longfmt);
    int *v = ARENA_ARRAY(a, int, 4);
    for (int i = 0; i < 4; i++)
        v[i] = i;
    v = arena_realloc(a, v, 4 * sizeof(int), 1000 * sizeof(int));
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(v[i], i);
    v[999] = 5;
    struct pt { int x, y; } *p = ARENA_NEW(a, struct pt);
    ck_assert_int_eq(p->x + p->y, 0);
    arena_destroy(a);
}
END_TEST

/* ---- sb / vec ---- */

START_TEST(sb_basics)
{
    Sb s = SB_INIT;
    ck_assert_str_eq(sb_cstr(&s), "");
    sb_puts(&s, "ab");
    sb_putc(&s, 'c');
    sb_append(&s, "def", 2);
    ck_assert_str_eq(sb_cstr(&s), "abcde");
    sb_printf(&s, "[%d|%s]", 12, "x");
    ck_assert_str_eq(s.buf, "abcde[12|x]");
    /* Formatting longer than the current capacity. */
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sb_printf(&s, "%s!", big);
    ck_assert_uint_eq(s.len, 11 + 2999 + 1);
    ck_assert_int_eq(s.buf[s.len - 1], '!');
    ck_assert_int_eq(s.buf[s.len], '\0');
    sb_truncate(&s, 3);
    ck_assert_str_eq(s.buf, "abc");
    sb_truncate(&s, 10);
    ck_assert_uint_eq(s.len, 3);
    sb_reset(&s);
    ck_assert_str_eq(sb_cstr(&s), "");
    sb_puts(&s, "kept");
    char *d = sb_detach(&s);
    ck_assert_str_eq(d, "kept");
    ck_assert_ptr_null(s.buf);
    free(d);
    d = sb_detach(&s);
    ck_assert_str_eq(d, "");
    free(d);
    sb_free(&s);
}
END_TEST

START_TEST(vec_push_pop)
{
    VEC(int) v = {0};
    for (int i = 0; i < 1000; i++)
        vec_push(&v, i);
    ck_assert_uint_eq(v.len, 1000);
    ck_assert_int_eq(vec_last(&v), 999);
    ck_assert_int_eq(vec_pop(&v), 999);
    ck_assert_int_eq(v.items[500], 500);
    vec_free(&v);
    ck_assert_uint_eq(v.len, 0);
}
END_TEST

/* ---- strmap ---- */

START_TEST(strmap_many_keys_in_order)
{
    StrMap m;
    strmap_init(&m);
    char k[32];
    for (intptr_t i = 0; i < 10000; i++) {
        int n = snprintf(k, sizeof k, "model.bench.m%05ld", (long)((i * 7919) % 10000));
        ck_assert_ptr_null(strmap_put(&m, k, (size_t)n, (void *)(i + 1)));
    }
    ck_assert_uint_eq(m.len, 10000);
    for (intptr_t i = 0; i < 10000; i++) {
        int n = snprintf(k, sizeof k, "model.bench.m%05ld", (long)((i * 7919) % 10000));
        ck_assert_ptr_eq(strmap_get(&m, k, (size_t)n), (void *)(i + 1));
        ck_assert_str_eq(m.entries[i].key, k);            /* insertion order */
    }
    ck_assert(!strmap_has(&m, "nope", 4));
    ck_assert_ptr_null(strmap_getz(&m, "model.bench.m10000"));
    /* Replace keeps the position and returns the old value. */
    ck_assert_ptr_eq(strmap_putz(&m, "model.bench.m00000", (void *)77), (void *)1);
    ck_assert_ptr_eq(strmap_getz(&m, "model.bench.m00000"), (void *)77);
    ck_assert_uint_eq(m.len, 10000);
    ck_assert_str_eq(m.entries[0].key, "model.bench.m00000");
    strmap_free(&m);
}
END_TEST

/* Keys are packed into blocks: keys of every size (a key bigger than a
 * block gets a block of its own, between smaller ones) keep their bytes
 * and stay findable as the map and its blocks grow. */
START_TEST(strmap_keys_of_every_size)
{
    StrMap m;
    strmap_init(&m);
    enum { N = 600 };
    char *keys[N];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i % 7 == 3 ? 20000 + i : i % 5 == 1 ? 300 + i : 6 + i % 40);
        keys[i] = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            keys[i][j] = (char)('a' + (i + j * 7) % 26);
        keys[i][n] = '\0';
        snprintf(keys[i], 6, "%05d", i);    /* unique */
        keys[i][5] = 'x';
        ck_assert_ptr_null(strmap_putz(&m, keys[i], (void *)(intptr_t)(i + 1)));
    }
    for (int i = 0; i < N; i++) {
        ck_assert_ptr_eq(strmap_getz(&m, keys[i]), (void *)(intptr_t)(i + 1));
        ck_assert_str_eq(m.entries[i].key, keys[i]);
        ck_assert_uint_eq(m.entries[i].klen, strlen(keys[i]));
        free(keys[i]);
    }
    strmap_free(&m);
    strmap_free(&m);                     /* a freed map is an empty one */
    ck_assert_ptr_null(strmap_get(&m, "x", 1));
}
END_TEST

START_TEST(strmap_binary_keys)
{
    StrMap m;
    strmap_init(&m);
    ck_assert_ptr_null(strmap_get(&m, "a", 1));
    strmap_put(&m, "a\0b", 3, (void *)1);
    strmap_put(&m, "a", 1, (void *)2);
    strmap_put(&m, "", 0, (void *)3);
    ck_assert_ptr_eq(strmap_get(&m, "a\0b", 3), (void *)1);
    ck_assert_ptr_eq(strmap_get(&m, "a", 1), (void *)2);
    ck_assert_ptr_eq(strmap_get(&m, "", 0), (void *)3);
    ck_assert(strmap_has(&m, "", 0));
    /* the hash: deterministic, and keys that differ in one byte, in length
     * only (trailing NULs) or in any of the 8-byte words get other low bits */
    ck_assert(strmap_hash("model.x", 7) == strmap_hash("model.x", 7));
    ck_assert(strmap_hash("", 0) != strmap_hash("\0", 1));
    ck_assert(strmap_hash("a", 1) != strmap_hash("a\0", 2));
    char buf[40];
    memset(buf, 'k', sizeof buf);
    uint64_t base = strmap_hash(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] ^= 1;
        ck_assert((strmap_hash(buf, sizeof buf) & 0xffff) != (base & 0xffff));
        buf[i] ^= 1;
    }
    strmap_free(&m);
}
END_TEST

/* ---- diag ---- */

static char *render(const Diag *d)
{
    Sb s = SB_INIT;
    diag_format(d, &s);
    return sb_detach(&s);
}

START_TEST(diag_format_located)
{
    const char *src = "select 1\n{% if x %}\n{% endif %}\n{% endif %}\n";
    SrcFile f;
    srcfile_init(&f, "models/x.sql", src, strlen(src));
    Diag d = {0};
    size_t off = (size_t)(strstr(src, "{% endif %}\n{% endif") - src) + 12 + 3;
    diag_at(&d, &f, off, "unexpected '%s'", "endif");
    ck_assert(d.set);
    ck_assert_int_eq(d.line, 4);
    ck_assert_int_eq(d.col, 4);
    diag_note(&d, "note: no open 'if' block");
    diag_note(&d, "in macro 'm' called at %s:%d:%d\n", "models/y.sql", 2, 5);
    char *r = render(&d);
    ck_assert_str_eq(r,
        "models/x.sql:4:4: error: unexpected 'endif'\n"
        "    4 | {% endif %}\n"
        "      |    ^\n"
        "  note: no open 'if' block\n"
        "  in macro 'm' called at models/y.sql:2:5\n");
    free(r);
    diag_clear(&d);
    ck_assert(!d.set);
    srcfile_free(&f);
}
END_TEST

START_TEST(diag_format_tabs_and_bases)
{
    const char *src = "a\n\tb\tc  {{ x }}";
    SrcFile f;
    srcfile_init(&f, "m.sql", src, strlen(src));
    Diag d = {0};
    diag_at(&d, &f, (size_t)(strchr(src, '{') - src), "boom");
    char *r = render(&d);
    ck_assert_str_eq(r,
        "m.sql:2:7: error: boom\n"
        "    2 | \tb\tc  {{ x }}\n"
        "      | \t \t   ^\n");
    free(r);
    /* Offsets past the end clamp; line_base/col_base shift the location. */
    f.line_base = 9;
    f.col_base = 4;
    int line, col;
    srcfile_linecol(&f, 1, &line, &col);
    ck_assert_int_eq(line, 10);
    ck_assert_int_eq(col, 6);
    srcfile_linecol(&f, 3, &line, &col);
    ck_assert_int_eq(line, 11);
    ck_assert_int_eq(col, 2);
    srcfile_linecol(&f, 9999, &line, &col);
    ck_assert_int_eq(line, 11);
    ck_assert_int_eq(col, (int)strlen("\tb\tc  {{ x }}") + 1);
    size_t n;
    const char *p = srcfile_line(&f, 11, &n);
    ck_assert_uint_eq(n, strlen("\tb\tc  {{ x }}"));
    ck_assert(strncmp(p, "\tb\tc", 4) == 0);
    ck_assert_ptr_null(srcfile_line(&f, 1, &n));
    /* First line of an embedded fragment: the excerpt is padded to line up. */
    diag_at(&d, &f, 0, "first");
    r = render(&d);
    ck_assert_str_eq(r,
        "m.sql:10:5: error: first\n"
        "   10 |     a\n"
        "      |     ^\n");
    free(r);
    diag_clear(&d);
    srcfile_free(&f);
}
END_TEST

START_TEST(diag_format_unlocated)
{
    Diag d = {0};
    diag_set(&d, NULL, 0, 0, NULL, "no project %s", "here");
    char *r = render(&d);
    ck_assert_str_eq(r, "error: no project here\n");
    free(r);
    diag_set(&d, "dbt_project.yml", 0, 0, NULL, "bad");
    diag_prefix(&d, "Compilation Error in %s: ", "model x");
    r = render(&d);
    ck_assert_str_eq(r, "dbt_project.yml: error: Compilation Error in model x: bad\n");
    free(r);
    diag_set(&d, "a.yml", 12, 0, "key: val", "unknown key");
    r = render(&d);
    ck_assert_str_eq(r, "a.yml:12: error: unknown key\n   12 | key: val\n");
    free(r);
    diag_set(&d, d.file, 123456, 3, d.src_line, "%s", d.message);
    d.severity = DIAG_WARNING;
    r = render(&d);
    ck_assert_str_eq(r,
        "a.yml:123456:3: warning: unknown key\n"
        "123456 | key: val\n"
        "       |   ^\n");
    free(r);
    diag_at(&d, NULL, 5, "plain");
    r = render(&d);
    ck_assert_str_eq(r, "error: plain\n");
    free(r);
    diag_clear(&d);
}
END_TEST

/* ---- fs ---- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cdbt_test_base_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int collect(void *ud, const char *rel)
{
    Sb *s = ud;
    sb_puts(s, rel);
    sb_putc(s, ';');
    return 0;
}

static void put(const char *rel, const char *text)
{
    Sb p = SB_INIT;
    path_join(&p, tmpdir, rel);
    ck_assert_int_eq(fs_write_file(p.buf, text, strlen(text)), 0);
    sb_free(&p);
}

/* A SIGINT while a streamed atomic write is open removes its temporary; the
 * process still dies of the signal, and a finished write is kept. */
START_TEST(fs_atomic_tmp_removed_on_signal)
{
    make_tmpdir();
    Sb done = SB_INIT, open_path = SB_INIT;
    path_join(&done, tmpdir, "done.json");
    path_join(&open_path, tmpdir, "t/manifest.json");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fs_cleanup_on_signal();
        Sb tmp = SB_INIT;
        int fd = fs_atomic_open(done.buf, &tmp);
        if (fd < 0 || fs_atomic_write(fd, "{}", 2) != 0 || fs_atomic_commit(fd, tmp.buf, done.buf, true) != 0)
            _exit(3);
        fd = fs_atomic_open(open_path.buf, &tmp);
        if (fd < 0 || fs_atomic_write(fd, "{\"partial\":", 11) != 0 || access(tmp.buf, F_OK) != 0)
            _exit(4);
        raise(SIGINT);
        _exit(5);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "child status %d", st);
    ck_assert(fs_is_file(done.buf));
    ck_assert(!fs_exists(open_path.buf));
    Sb tmp = SB_INIT;
    sb_printf(&tmp, "%s.tmp.%ld", open_path.buf, (long)pid);
    ck_assert_msg(!fs_exists(tmp.buf), "%s left behind", tmp.buf);
    sb_free(&tmp);
    sb_free(&done);
    sb_free(&open_path);
    fs_rm_rf(tmpdir);
}
END_TEST

START_TEST(fs_walk_sorted)
{
    make_tmpdir();
    put("models/b.sql", "b");
    put("models/a-x.sql", "a");
    put("models/a/z.sql", "z");
    put("models/a/y.yml", "y");
    put("models/.hidden.sql", "h");
    put("models/.git/x.sql", "h");
    put("models/A.sql", "A");
    put("models/notes.txt", "t");
    put("top.sql", "t");
    Sb p = SB_INIT, got = SB_INIT;
    path_join(&p, tmpdir, "models");
    const char *const sufs[] = {".sql", ".yml", NULL};
    ck_assert_int_eq(fs_walk(p.buf, sufs, collect, &got), 0);
    ck_assert_str_eq(got.buf, "A.sql;a-x.sql;a/y.yml;a/z.sql;b.sql;");
    sb_reset(&got);
    ck_assert_int_eq(fs_walk(tmpdir, NULL, collect, &got), 0);
    ck_assert_str_eq(got.buf,
        "models/A.sql;models/a-x.sql;models/a/y.yml;models/a/z.sql;models/b.sql;models/notes.txt;top.sql;");
    /* fs_walk_names: what a walk takes or descends into in one directory */
    Sb lk = SB_INIT;
    path_join(&lk, p.buf, "ln.sql");
    ck_assert_int_eq(symlink("b.sql", lk.buf), 0);               /* a link to a file: taken */
    sb_reset(&lk);
    path_join(&lk, p.buf, "dangling.sql");
    ck_assert_int_eq(symlink("nowhere.sql", lk.buf), 0);         /* a dangling link: not */
    sb_free(&lk);
    Sb names = SB_INIT;
    ck_assert_int_eq(fs_walk_names(p.buf, sufs, collect, &names), 0);
    const char *want[] = {"A.sql;", "a-x.sql;", "a;", "b.sql;", "ln.sql;"};
    size_t total = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_msg(strstr(names.buf, want[i]) != NULL, "%s not in %s", want[i], names.buf);
        total += strlen(want[i]);
    }
    ck_assert_uint_eq(names.len, total);                         /* nothing else: no .hidden, notes.txt */
    sb_free(&names);
    ck_assert_int_eq(fs_walk_names("/nonexistent/dir", sufs, collect, &names), -1);
    /* Symlinked directory cycle terminates. */
    Sb link = SB_INIT;
    path_join(&link, p.buf, "loop");
    ck_assert_int_eq(symlink(p.buf, link.buf), 0);
    sb_reset(&got);
    ck_assert_int_eq(fs_walk(p.buf, sufs, collect, &got), 0);
    ck_assert_uint_gt(got.len, 100);
    sb_free(&link);
    sb_reset(&got);
    sb_truncate(&p, 0);
    path_join(&p, tmpdir, "missing");
    ck_assert_int_eq(fs_walk(p.buf, NULL, collect, &got), -1);
    sb_free(&p);
    sb_free(&got);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
    ck_assert(!fs_exists(tmpdir));
}
END_TEST

START_TEST(fs_read_write_atomic)
{
    make_tmpdir();
    Sb p = SB_INIT;
    path_join(&p, tmpdir, "deep/er/file.txt");
    ck_assert_int_eq(fs_write_file(p.buf, "one", 3), 0);
    ck_assert_int_eq(fs_write_file(p.buf, "two\0x", 5), 0);
    char *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(p.buf, &data, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(data, "two\0x", 6) == 0);
    free(data);
    ck_assert(fs_is_file(p.buf));
    ck_assert(!fs_is_dir(p.buf));
    /* No temp files left behind. */
    Sb dir = SB_INIT, got = SB_INIT;
    path_join(&dir, tmpdir, "deep/er");
    ck_assert(fs_is_dir(dir.buf));
    ck_assert_int_eq(fs_walk(dir.buf, NULL, collect, &got), 0);
    ck_assert_str_eq(got.buf, "file.txt;");
    ck_assert_int_eq(fs_read_file(dir.buf, &data, &len), -1);
    ck_assert_int_eq(fs_read_file("/nonexistent/x", &data, &len), -1);
    ck_assert_int_eq(fs_mkdir_p(dir.buf), 0);
    sb_free(&dir);
    sb_free(&got);
    sb_free(&p);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
}
END_TEST

static void count_fail(void *ud, void *tag, const char *path, int err)
{
    int *n = ud;
    ck_assert_int_eq((int)(intptr_t)tag, 7);
    ck_assert(strstr(path, "blocker/x.sql") != NULL);
    ck_assert_int_ne(err, 0);
    (*n)++;
}

START_TEST(fs_writer_writes_skips_and_reports)
{
    make_tmpdir();
    Sb a = SB_INIT, b = SB_INIT, bad = SB_INIT, blocker = SB_INIT;
    path_join(&a, tmpdir, "c/a.sql");
    path_join(&b, tmpdir, "c/d/b.sql");
    path_join(&blocker, tmpdir, "blocker");
    path_join(&bad, tmpdir, "blocker/x.sql");
    ck_assert_int_eq(fs_write_file(blocker.buf, "file, not a dir", 15), 0);
    FsStamp st[3];
    memset(st, 0, sizeof st);
    st[2].nlink = 9;                     /* a failed write sets it to 0 */
    FsWriter *w = fs_writer_start(NULL);
    fs_writer_put(w, a.buf, "select 1", 8, &st[0], NULL, NULL);
    fs_writer_put(w, b.buf, "select 2", 8, &st[1], NULL, NULL);
    fs_writer_put(w, bad.buf, "x", 1, &st[2], NULL, (void *)(intptr_t)7);
    int nfail = 0;
    ck_assert_int_eq(fs_writer_finish(w, count_fail, &nfail, NULL), 1);
    ck_assert_int_eq(nfail, 1);
    ck_assert_int_eq((int)st[0].size, 8);
    ck_assert_int_eq((int)st[1].size, 8);
    ck_assert(st[0].nlink == 1 && S_ISREG(st[0].mode) && st[0].ino != st[1].ino);
    ck_assert_int_eq((int)st[2].nlink, 0);
    char *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(b.buf, &data, &len), 0);
    ck_assert_str_eq(data, "select 2");
    free(data);
    /* the same bytes again: the file is not rewritten (same inode and mtime) */
    struct stat before, after;
    ck_assert_int_eq(stat(a.buf, &before), 0);
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct_st(a.buf, "select 1", 8, &after), 0);
    ck_assert(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec && before.st_mtim.tv_sec == after.st_mtim.tv_sec);
    ck_assert_int_eq(fs_write_file_direct(a.buf, "select 11", 9), 0);
    ck_assert_int_eq(stat(a.buf, &after), 0);
    ck_assert_int_eq((int)after.st_size, 9);
    /* overwritten in place: shorter content leaves no tail, the inode stays */
    ck_assert_int_eq(fs_write_file_direct_st(a.buf, "x", 1, &after), 0);
    ck_assert_int_eq(fs_read_file(a.buf, &data, &len), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_str_eq(data, "x");
    free(data);
    ck_assert(after.st_ino == before.st_ino && after.st_size == 1);
    ck_assert_int_eq(fs_write_file_direct(a.buf, "", 0), 0);
    ck_assert_int_eq(stat(a.buf, &after), 0);
    ck_assert_int_eq((int)after.st_size, 0);
    ck_assert_int_eq(fs_write_file_direct(a.buf, "select 123", 10), 0);
    ck_assert_int_eq(fs_read_file(a.buf, &data, &len), 0);
    ck_assert_str_eq(data, "select 123");
    free(data);
    /* a file that cannot be written but already holds the bytes: fine */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(a.buf, 0444), 0);
        ck_assert_int_eq(fs_write_file_direct(a.buf, "select 123", 10), 0);
        ck_assert_int_ne(fs_write_file_direct(a.buf, "select 4", 8), 0);
        ck_assert_int_eq(chmod(a.buf, 0644), 0);
    }
    sb_free(&a);
    sb_free(&b);
    sb_free(&bad);
    sb_free(&blocker);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
}
END_TEST

/* Files spread over more directories than the writer keeps open, in an
 * order that revisits them; a second round changes every third file and
 * the unchanged ones keep their inode. */
START_TEST(fs_writer_many_directories)
{
    make_tmpdir();
    enum { NDIR = 40, NFILE = 3 };
    Sb path[NDIR * NFILE];
    char text[NDIR * NFILE][32];
    FsStamp st[NDIR * NFILE], st2[NDIR * NFILE];
    for (int round = 0; round < 2; round++) {
        FsWriter *w = fs_writer_start(NULL);
        for (int k = 0; k < NDIR * NFILE; k++) {
            int d = k % NDIR, f = k / NDIR;
            if (round == 0) {
                path[k] = (Sb)SB_INIT;
                sb_printf(&path[k], "%s/d%02d/sub/f%d.sql", tmpdir, d, f);
            }
            snprintf(text[k], sizeof text[k], "select %d%s", k, round && k % 3 == 0 ? " -- changed" : "");
            fs_writer_put(w, path[k].buf, text[k], strlen(text[k]), round ? &st2[k] : &st[k], NULL, NULL);
        }
        ck_assert_int_eq(fs_writer_finish(w, NULL, NULL, NULL), 0);
    }
    for (int k = 0; k < NDIR * NFILE; k++) {
        char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(fs_read_file(path[k].buf, &data, &len), 0);
        ck_assert_str_eq(data, text[k]);
        free(data);
        ck_assert_int_eq((int)st2[k].size, (int)strlen(text[k]));
        if (k % 3)
            ck_assert(st[k].ino == st2[k].ino && st[k].ms == st2[k].ms && st[k].mns == st2[k].mns);
        sb_free(&path[k]);
    }
    /* relative to a directory fd: written there, no directory created */
    Sb dir = SB_INIT;
    path_join(&dir, tmpdir, "d00");
    int dfd = open(dir.buf, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(dfd, 0);
    struct stat one;
    ck_assert_int_eq(fs_write_file_direct_at(dfd, "top.sql", "select 9", 8, &one), 0);
    ck_assert_int_eq((int)one.st_size, 8);
    ck_assert_int_ne(fs_write_file_direct_at(dfd, "missing/x.sql", "x", 1, NULL), 0);
    close(dfd);
    sb_reset(&dir);
    path_join(&dir, tmpdir, "d00/missing");
    ck_assert(!fs_exists(dir.buf));
    sb_free(&dir);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
}
END_TEST

/* An oracle that knows one file (path) by its stat and a digest. */
typedef struct TestOracle { const char *path; FsStamp st; uint8_t dg[FS_DIGEST_LEN]; int asked; } TestOracle;

static bool test_oracle_get(void *ud, const char *path, FsStamp *st, uint8_t dg[FS_DIGEST_LEN])
{
    TestOracle *o = ud;
    o->asked++;
    if (strcmp(path, o->path) != 0)
        return false;
    *st = o->st;
    memcpy(dg, o->dg, FS_DIGEST_LEN);
    return true;
}

/* With an oracle: a file whose stat it knows is not read (a lying oracle's
 * "holds the data" is believed), its digest out is the data's, a known
 * different digest rewrites it, and any other stat is checked by reading. */
START_TEST(fs_writer_oracle)
{
    make_tmpdir();
    Sb a = SB_INIT;
    path_join(&a, tmpdir, "o/a.sql");
    ck_assert_int_eq(fs_write_file_direct(a.buf, "select 1", 8), 0);
    struct stat sa;
    ck_assert_int_eq(stat(a.buf, &sa), 0);
    TestOracle o = {.path = a.buf};
    fs_stamp(&o.st, &sa);
    uint8_t full[32];
    sha256("select 2", 8, full);
    memcpy(o.dg, full, FS_DIGEST_LEN);          /* claims the file holds "select 2" */
    FsOracle fo = {test_oracle_get, &o};
    FsStamp st;
    uint8_t dg[FS_DIGEST_LEN];
    size_t vouched = 9;
    FsWriter *w = fs_writer_start(&fo);
    fs_writer_put(w, a.buf, "select 2", 8, &st, dg, NULL);
    ck_assert_int_eq(fs_writer_finish(w, NULL, NULL, &vouched), 0);
    ck_assert_uint_eq(vouched, 1);
    ck_assert(memcmp(dg, full, FS_DIGEST_LEN) == 0);
    ck_assert(fs_stamp_same(&st, &o.st));
    char *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(a.buf, &data, &len), 0);
    ck_assert_str_eq(data, "select 1");         /* believed, so not read and not written */
    free(data);
    /* a digest that differs: written without comparing */
    sha256("other", 5, full);
    memcpy(o.dg, full, FS_DIGEST_LEN);
    w = fs_writer_start(&fo);
    fs_writer_put(w, a.buf, "select 3", 8, &st, NULL, NULL);
    ck_assert_int_eq(fs_writer_finish(w, NULL, NULL, &vouched), 0);
    ck_assert_uint_eq(vouched, 0);
    ck_assert_int_eq(fs_read_file(a.buf, &data, &len), 0);
    ck_assert_str_eq(data, "select 3");
    free(data);
    ck_assert(!fs_stamp_same(&st, &o.st));      /* the write moved the ctime at least */
    /* the stat changed since the oracle saw it: read and compared, as without one */
    sha256("select 4", 8, full);
    memcpy(o.dg, full, FS_DIGEST_LEN);          /* stale: o.st is the first stat */
    w = fs_writer_start(&fo);
    fs_writer_put(w, a.buf, "select 4", 8, NULL, NULL, NULL);
    ck_assert_int_eq(fs_writer_finish(w, NULL, NULL, &vouched), 0);
    ck_assert_uint_eq(vouched, 0);
    ck_assert_int_eq(fs_read_file(a.buf, &data, &len), 0);
    ck_assert_str_eq(data, "select 4");
    free(data);
    ck_assert_int_ge(o.asked, 3);
    sb_free(&a);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
}
END_TEST

static bool has_path(const char *suffix)
{
    for (size_t i = 0; i < journal_npaths(); i++) {
        const char *p = journal_path_at(i);
        size_t n = strlen(p), k = strlen(suffix);
        if (n >= k && strcmp(p + n - k, suffix) == 0)
            return true;
    }
    return false;
}

START_TEST(journal_text_scan_words)
{
    ck_assert_int_eq(journal_text_scan(NULL, 0), 0);
    ck_assert_int_eq(journal_text_scan("", 0), 0);
    ck_assert_int_eq(journal_text_scan("select * from {{ ref('m') }}", 29), 0);
    ck_assert_int_eq(journal_text_scan("{{ invocation_id }}", 19), JOURNAL_VOLATILE);
    ck_assert_int_eq(journal_text_scan("run_started_at", 14), JOURNAL_VOLATILE);   /* the whole text */
    ck_assert_int_eq(journal_text_scan("x.modules", 9), JOURNAL_VOLATILE);         /* at the end */
    ck_assert_int_eq(journal_text_scan("modules", 6), 0);                          /* cut by n */
    ck_assert_int_eq(journal_text_scan("iinvocation_id", 14), JOURNAL_VOLATILE);   /* after a false start */
    ck_assert_int_eq(journal_text_scan("invocation_i", 12), 0);
    ck_assert_int_eq(journal_text_scan("{{ flags.WHICH }}", 17), JOURNAL_FLAGS);
    ck_assert_int_eq(journal_text_scan("ffflags modules", 15), JOURNAL_VOLATILE | JOURNAL_FLAGS);
    const char nul[] = "a\0run_started_at";
    ck_assert_int_eq(journal_text_scan(nul, sizeof nul - 1), JOURNAL_VOLATILE);   /* not a C string */
    /* every word at every offset of a longer text (the sixteen-byte steps
     * and the tail), among false starts, and cut by the text's end */
    static const struct { const char *w; int bit; } ws[] = {
        {"invocation_id", JOURNAL_VOLATILE}, {"run_started_at", JOURNAL_VOLATILE},
        {"modules", JOURNAL_VOLATILE}, {"flags", JOURNAL_FLAGS}};
    for (size_t k = 0; k < 4; k++) {
        size_t wl = strlen(ws[k].w);
        for (size_t off = 0; off + wl <= 70; off++) {
            char buf[71];
            for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = "inner join rule modal flat "[i % 27];
            memcpy(buf + off, ws[k].w, wl);
            ck_assert_int_eq(journal_text_scan(buf, off + wl), ws[k].bit);
            ck_assert_int_eq(journal_text_scan(buf, off + wl - 1), 0);
            ck_assert_int_eq(journal_text_scan(buf, sizeof buf), ws[k].bit);
        }
    }
    ck_assert(journal_text_volatile("{{ modules.datetime }}", 22));
    ck_assert(!journal_text_volatile("{{ flags }}", 11));
}
END_TEST

START_TEST(journal_records_reads_listings_and_probes)
{
    make_tmpdir();
    Sb f = SB_INIT, dir = SB_INIT, got = SB_INIT, missing = SB_INIT;
    path_join(&dir, tmpdir, "m");
    path_join(&f, tmpdir, "m/x.sql");
    path_join(&missing, tmpdir, "nope.yml");
    ck_assert_int_eq(fs_write_file(f.buf, "select {{ run_started_at }}", 27), 0);
    ck_assert(!journal_active());
    journal_start();
    ck_assert_int_eq(fs_walk(dir.buf, NULL, collect, &got), 0);
    ck_assert(!fs_is_file(missing.buf));
    ck_assert(!journal_volatile());
    char *data = NULL;
    size_t len = 0;
    journal_pause(true);
    ck_assert_int_eq(fs_read_file(f.buf, &data, &len), 0);   /* paused: not content-scanned */
    free(data);
    ck_assert(!journal_volatile());
    journal_pause(false);
    ck_assert_int_eq(fs_read_file(f.buf, &data, &len), 0);
    free(data);
    ck_assert(journal_volatile());
    ck_assert(has_path("/m"));
    ck_assert(has_path("/m/x.sql"));
    ck_assert(has_path("/nope.yml"));
    /* a file read carries the stat taken before the read; a listed
     * directory and a missing path carry none (stat()ed when stored) */
    struct stat now;
    ck_assert_int_eq(stat(f.buf, &now), 0);
    for (size_t i = 0; i < journal_npaths(); i++) {
        const char *p = journal_path_at(i);
        const FsStamp *st = journal_path_stat_at(i);
        if (strcmp(p, f.buf) == 0) {
            ck_assert_ptr_nonnull(st);
            ck_assert_uint_eq(st->ino, now.st_ino);
            ck_assert_int_eq((int64_t)st->size, now.st_size);
            ck_assert_int_eq(st->ms, now.st_mtim.tv_sec);
            ck_assert_int_eq(st->mns, now.st_mtim.tv_nsec);
            ck_assert_int_eq(st->cns, now.st_ctim.tv_nsec);
        } else {
            ck_assert_ptr_null(st);
        }
    }
    /* the first stat is kept */
    struct stat other = now;
    other.st_size += 1;
    journal_path_stat(f.buf, &other);
    for (size_t i = 0; i < journal_npaths(); i++)
        if (strcmp(journal_path_at(i), f.buf) == 0)
            ck_assert_int_eq((int64_t)journal_path_stat_at(i)->size, now.st_size);
    /* a path first probed gets the stat of a later read */
    journal_path_stat(missing.buf, &now);
    for (size_t i = 0; i < journal_npaths(); i++)
        if (strcmp(journal_path_at(i), missing.buf) == 0)
            ck_assert_ptr_nonnull(journal_path_stat_at(i));
    size_t n = journal_npaths();
    ck_assert_int_eq(fs_read_file(f.buf, &data, &len), 0);     /* no duplicates */
    free(data);
    ck_assert_uint_eq(journal_npaths(), n);
    journal_env("SOME_VAR");
    journal_env("SOME_VAR");
    ck_assert_uint_eq(journal_nenv(), 1);
    ck_assert(!journal_had_output());
    journal_output();
    ck_assert(journal_had_output());
    journal_stop();
    ck_assert(!journal_active());
    ck_assert_uint_eq(journal_npaths(), 0);
    sb_free(&f);
    sb_free(&dir);
    sb_free(&got);
    sb_free(&missing);
    ck_assert_int_eq(fs_rm_rf(tmpdir), 0);
}
END_TEST

START_TEST(fs_paths)
{
    Sb s = SB_INIT;
    path_join(&s, "a", "b");
    ck_assert_str_eq(s.buf, "a/b");
    sb_reset(&s);
    path_join(&s, "a/", "/b");
    ck_assert_str_eq(s.buf, "a/b");
    sb_reset(&s);
    path_join(&s, "", "b");
    ck_assert_str_eq(s.buf, "b");
    sb_reset(&s);
    path_join(&s, "a", "");
    ck_assert_str_eq(s.buf, "a");
    sb_free(&s);
    static const char *const cases[][2] = {
        {"a//b/./c", "a/b/c"}, {"/x/../y", "/y"}, {"/..", "/"}, {"../a/../../b", "../../b"},
        {"a/..", "."}, {"./", "."}, {"/a/b/", "/a/b"}, {"a/b/../../..", ".."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = path_normalize(cases[i][0]);
        ck_assert_str_eq(n, cases[i][1]);
        free(n);
    }
    char *abs = path_absolute("x/../y");
    ck_assert_int_eq(abs[0], '/');
    ck_assert(strlen(abs) >= 2 && strcmp(abs + strlen(abs) - 2, "/y") == 0);
    free(abs);
}
END_TEST

/* ---- hashes ---- */

START_TEST(sha256_vectors)
{
    char hex[65];
    sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *m = malloc(1000000);
    memset(m, 'a', 1000000);
    sha256_hex(m, 1000000, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
    /* Padding boundaries: 55, 56, 63, 64 bytes. */
    char b[64];
    memset(b, 'x', sizeof b);
    sha256_hex(b, 55, hex);
    ck_assert_uint_eq(strlen(hex), 64);
    uint8_t raw[32];
    sha256("abc", 3, raw);
    ck_assert_uint_eq(raw[0], 0xba);
    ck_assert_uint_eq(raw[31], 0xad);
}
END_TEST

START_TEST(md5_vectors)
{
    static const char *const v[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    char hex[33];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        md5_hex(v[i][0], strlen(v[i][0]), hex);
        ck_assert_str_eq(hex, v[i][1]);
    }
}
END_TEST

START_TEST(sha1_vectors)
{
    /* FIPS 180 examples and the padding edges (55, 56, 64 bytes) */
    static const struct { const char *s; size_t reps; const char *hex; } v[] = {
        {"", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"a", 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {"a", 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {"a", 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {"a", 1000, "291e9a6c66994949b57ba5e650361e98fc36b1ba"},
    };
    char hex[41];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        Sb in = SB_INIT;
        for (size_t k = 0; k < v[i].reps; k++)
            sb_puts(&in, v[i].s);
        sha1_hex(in.buf ? in.buf : "", in.len, hex);
        ck_assert_str_eq(hex, v[i].hex);
        sb_free(&in);
    }
}
END_TEST

/* ---- json ---- */

static void dbl(double v, const char *want)
{
    Sb s = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    json_double(&w, v);
    ck_assert_msg(strcmp(s.buf, want) == 0, "%.17g -> %s, want %s", v, s.buf, want);
    sb_free(&s);
}

START_TEST(json_doubles_like_python)
{
    dbl(1.0, "1.0");
    dbl(0.1, "0.1");
    dbl(-2.5, "-2.5");
    dbl(0.0, "0.0");
    dbl(-0.0, "-0.0");
    dbl(1e16, "1e+16");
    dbl(1e15, "1000000000000000.0");
    dbl(123456789012345678.0, "1.2345678901234568e+17");
    dbl(1.5e-07, "1.5e-07");
    dbl(0.0001, "0.0001");
    dbl(0.00001, "1e-05");
    dbl(0.1 + 0.2, "0.30000000000000004");
    dbl(1.0 / 3.0, "0.3333333333333333");
    dbl(100.0, "100.0");
    dbl(1e100, "1e+100");
    dbl(5e-324, "5e-324");
    dbl(1.7976931348623157e308, "1.7976931348623157e+308");
    dbl(NAN, "NaN");
    dbl(INFINITY, "Infinity");
    dbl(-INFINITY, "-Infinity");
}
END_TEST

START_TEST(json_structure_and_escaping)
{
    Sb s = SB_INIT;
    JsonW w;
    json_init(&w, &s, false);
    json_obj_begin(&w);
    json_key(&w, "a");
    json_int(&w, -5);
    json_key(&w, "s\"q");
    json_str(&w, "x\n\t\\\"\x01\x1f\b\f\r\x7f é");
    json_key(&w, "arr");
    json_arr_begin(&w);
    json_bool(&w, true);
    json_null(&w);
    json_str(&w, NULL);
    json_obj_begin(&w);
    json_obj_end(&w);
    json_arr_begin(&w);
    json_arr_end(&w);
    json_raw(&w, "{\"r\":1}");
    json_strn(&w, "abcdef", 3);
    json_arr_end(&w);
    json_keyn(&w, "kk", 1);
    json_bool(&w, false);
    json_obj_end(&w);
    ck_assert_str_eq(s.buf,
        "{\"a\":-5,\"s\\\"q\":\"x\\n\\t\\\\\\\"\\u0001\\u001f\\b\\f\\r\x7f é\","
        "\"arr\":[true,null,null,{},[],{\"r\":1},\"abc\"],\"k\":false}");
    sb_reset(&s);
    json_init(&w, &s, true);
    json_obj_begin(&w);
    json_key(&w, "a");
    json_arr_begin(&w);
    json_int(&w, 1);
    json_int(&w, 2);
    json_arr_end(&w);
    json_key(&w, "e");
    json_obj_begin(&w);
    json_obj_end(&w);
    json_key(&w, "n");
    json_int(&w, INT64_MIN);
    json_obj_end(&w);
    ck_assert_str_eq(s.buf,
        "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": {},\n  \"n\": -9223372036854775808\n}");
    sb_reset(&s);
    json_escape(&s, "a\0b", 3);
    ck_assert_str_eq(s.buf, "\"a\\u0000b\"");
    sb_free(&s);
}
END_TEST

Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("base");
    tcase_add_test(tc, arena_growth_and_alignment);
    tcase_add_test(tc, arena_strings_and_realloc);
    tcase_add_test(tc, arena_big_blocks);
    tcase_add_test(tc, sb_basics);
    tcase_add_test(tc, vec_push_pop);
    tcase_add_test(tc, strmap_many_keys_in_order);
    tcase_add_test(tc, strmap_keys_of_every_size);
    tcase_add_test(tc, strmap_binary_keys);
    tcase_add_test(tc, diag_format_located);
    tcase_add_test(tc, diag_format_tabs_and_bases);
    tcase_add_test(tc, diag_format_unlocated);
    tcase_add_test(tc, fs_walk_sorted);
    tcase_add_test(tc, fs_read_write_atomic);
    tcase_add_test(tc, fs_atomic_tmp_removed_on_signal);
    tcase_add_test(tc, fs_writer_writes_skips_and_reports);
    tcase_add_test(tc, fs_writer_many_directories);
    tcase_add_test(tc, fs_writer_oracle);
    tcase_add_test(tc, journal_text_scan_words);
    tcase_add_test(tc, journal_records_reads_listings_and_probes);
    tcase_add_test(tc, fs_paths);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, md5_vectors);
    tcase_add_test(tc, sha1_vectors);
    tcase_add_test(tc, json_doubles_like_python);
    tcase_add_test(tc, json_structure_and_escaping);
    suite_add_tcase(s, tc);
    return s;
}
