/* test_deps.c - src/deps/spec.c: dbt's sha1_hash of a packages spec, the
 * scalars of package-lock.yml as PyYAML's safe_dump writes them, and the
 * lock file's text.
 *
 * Expected texts come from running Python: yaml.safe_dump({"k": s}) for
 * the scalars (PyYAML 6.0), and the hash from issue dbt-labs/dbt-core
 * #10913 (dbt 1.8.8 `dbt deps` of dbt-labs/dbt_utils 1.3.0:
 * 226ae69cdfbc9367...), recomputed with hashlib/json.  No Python needed to
 * run them. */
#include <check.h>
#include <string.h>

#include "deps/deps.h"

static const char *scalar(Sb *sb, const char *s)
{
    sb_reset(sb);
    deps_yaml_scalar(sb, s);
    return sb_cstr(sb);
}

START_TEST(yaml_scalars)
{
    static const char *const cases[][2] = {
        {"1.3.0", "1.3.0"},
        {"1.0", "'1.0'"},
        {"yes", "'yes'"},
        {"https://github.com/a/b.git", "https://github.com/a/b.git"},
        {"{{ env_var(\"X\") }}", "'{{ env_var(\"X\") }}'"},
        {"it's", "it's"},
        {"-x", "-x"},
        {"- x", "'- x'"},
        {"a: b", "'a: b'"},
        {"a #b", "'a #b'"},
        {"", "''"},
        {"~", "'~'"},
        {"2024-01-01", "'2024-01-01'"},
        {" lead", "' lead'"},
        {"caf\xc3\xa9", "\"caf\\xE9\""},
        {"<<", "'<<'"},
        {"=", "'='"},
        {"a:b", "a:b"},
        {"file:///x/{{ env_var('S') }}.git", "file:///x/{{ env_var('S') }}.git"},
    };
    Sb sb = SB_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(strcmp(scalar(&sb, cases[i][0]), cases[i][1]) == 0, "%s -> %s, want %s", cases[i][0],
                      sb_cstr(&sb), cases[i][1]);
    sb_free(&sb);
}
END_TEST

static int parse(Arena *a, const char *text, PkgFileKind k, PkgFile *pf, Diag *err)
{
    return deps_parse(a, "packages.yml", text, strlen(text), k, NULL, pf, err);
}

START_TEST(spec_hash)
{
    Arena a;
    arena_init(&a, 0);
    Diag err = {0};
    PkgFile pf;
    ck_assert_int_eq(parse(&a, "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n", PKGF_PACKAGES,
                           &pf, &err), 0);
    char h[41];
    deps_specs_hash(pf.specs, pf.n, h);
    ck_assert_str_eq(h, "226ae69cdfbc9367e2aa2c472b01f99dbce11de0");
    /* order does not matter; None fields and `unrendered` count */
    ck_assert_int_eq(parse(&a, "packages:\n  - git: https://x/y.git\n    revision: v1\n  - local: ../p\n",
                           PKGF_PACKAGES, &pf, &err), 0);
    char h1[41], h2[41];
    deps_specs_hash(pf.specs, pf.n, h1);
    ck_assert_int_eq(parse(&a, "packages:\n  - local: ../p\n  - git: https://x/y.git\n    revision: v1\n",
                           PKGF_PACKAGES, &pf, &err), 0);
    deps_specs_hash(pf.specs, pf.n, h2);
    ck_assert_str_eq(h1, h2);
    ck_assert_str_eq(h1, "8e45778657e35c02de20b4ff41c3defdb670bfa4");
    /* no packages: the hash of nothing */
    deps_specs_hash(NULL, 0, h);
    ck_assert_str_eq(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    Sb j = SB_INIT;
    deps_py_json(&j, pf.specs[0].raw);
    ck_assert_str_eq(sb_cstr(&j), "{\"local\": \"../p\"}");
    sb_free(&j);
    diag_clear(&err);
    arena_free(&a);
}
END_TEST

START_TEST(lock_text)
{
    PkgPin pins[3] = {
        {.kind = PKG_GIT, .git_raw = "https://x/{{ env_var('T') }}.git", .revision = "abc", .subdirectory = "sub"},
        {.kind = PKG_LOCAL, .local = "../p"},
        {.kind = PKG_HUB, .package = "dbt-labs/dbt_utils", .version = "1.3.0"},
    };
    Sb out = SB_INIT;
    deps_lock_text(pins, 3, "0123", &out);
    ck_assert_str_eq(sb_cstr(&out), "packages:\n"
                                    "  - git: https://x/{{ env_var('T') }}.git\n"
                                    "    revision: abc\n"
                                    "    subdirectory: sub\n"
                                    "  - local: ../p\n"
                                    "  - package: dbt-labs/dbt_utils\n"
                                    "    version: 1.3.0\n"
                                    "sha1_hash: '0123'\n");
    /* and it reads back as a lock with the same entries */
    Arena a;
    arena_init(&a, 0);
    Diag err = {0};
    PkgFile pf;
    ck_assert_int_eq(deps_parse(&a, "package-lock.yml", out.buf, out.len, PKGF_LOCK, NULL, &pf, &err), 0);
    ck_assert_int_eq(pf.n, 3);
    ck_assert_str_eq(pf.specs[0].revision_str, "abc");
    ck_assert_str_eq(pf.sha1_hash, "0123");
    sb_free(&out);
    arena_free(&a);
}
END_TEST

Suite *deps_suite(void)
{
    Suite *s = suite_create("deps");
    TCase *tc = tcase_create("spec");
    tcase_add_test(tc, yaml_scalars);
    tcase_add_test(tc, spec_hash);
    tcase_add_test(tc, lock_text);
    suite_add_tcase(s, tc);
    return s;
}
