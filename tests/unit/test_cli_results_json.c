/* test_cli_results_json.c - run_results.json (src/cli/results.c, compiled
 * into this suite to reach its helpers): timestamps from the per-second
 * cache equal clock_iso_utc's, thread names equal "Thread-%d", and a whole
 * document with compile and execute timings, adapter responses, failures
 * and escaped messages has the expected shape (CDBT_RESULTS_DUMP=1 prints
 * it, to compare with another build). */
#include <check.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli/results.c"

START_TEST(iso_cache_matches_clock)
{
    IsoCache c = {0};
    char got[64], want[64];
    /* the 0.9999995 boundaries round up into the next second */
    static const double fixed[] = {
        1796113949.0, 1796113949.9999995, 1796113949.9999994, 1796113949.999999, 1796113950.0000004,
        1796113950.0000005, 1796113950.5, 0.0, 0.25, 951782400.0 /* 2000-02-29 */, 4102444799.9999999,
        -1.5, 1e13,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        clock_iso_utc(fixed[i], want, sizeof want);
        size_t n = iso_cached(&c, fixed[i], got);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(n, strlen(want));
    }
    /* runs of nearby instants (cache hits) and jumps (misses) */
    srandom(7);
    double t = 1796113949.0;
    for (int i = 0; i < 300000; i++) {
        if (random() % 50 == 0)
            t = (double)(random() % 2000000000);
        t += (double)(random() % 400000) / 1e6 + (double)(random() % 1000) / 1e12;
        clock_iso_utc(t, want, sizeof want);
        size_t n = iso_cached(&c, t, got);
        ck_assert_msg(strcmp(got, want) == 0, "%.9f: %s, want %s", t, got, want);
        ck_assert_uint_eq(n, strlen(want));
    }
}
END_TEST

START_TEST(thread_names)
{
    char got[32], want[32];
    static const int v[] = {0, -3, 1, 2, 9, 10, 99, 100, 12345, 2147483647};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(want, sizeof want, "Thread-%d", v[i] > 0 ? v[i] : 1);
        size_t n = thread_name(got, v[i]);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(n, strlen(want));
    }
}
END_TEST

START_TEST(whole_document)
{
    char dir[] = "/tmp/cdbt_test_results_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/run_results.json", dir);

    DbtOptions o = {.which = "run"};
    Dbt *d = dbt_new(&o);
    Project p;
    memset(&p, 0, sizeof p);
    p.profiles_dir = "/prof";
    p.target_path = "target";
    p.log_path = "logs";
    p.threads = 4;
    p.target_name = "dev";
    p.root = "/proj";
    const char *sel[] = {"a+", "tag:x"};
    Flags f;
    memset(&f, 0, sizeof f);
    f.command = "run";
    f.select = sel;
    f.nselect = 2;
    Session s;
    memset(&s, 0, sizeof s);
    s.flags = &f;
    s.dbt = d;
    s.project = &p;

    Node n1, n2;
    memset(&n1, 0, sizeof n1);
    memset(&n2, 0, sizeof n2);
    n1.unique_id = "model.p.a";
    n1.compiled = true;
    n1.compiled_code = "select \"x\"\n\tfrom y";
    n1.relation_name = "\"db\".\"sch\".\"a\"";
    n2.unique_id = "test.p.t";
    RunResults r = {0};
    r.started_at = 1796113949.25;
    results_add(&r, (NodeResult){.node = &n1, .status = "success", .started_at = 1796113949.0000004,
                                 .compiled_at = 1796113949.9999996, .completed_at = 1796113951.125,
                                 .exec_started_at = 1796113950.0, .exec_completed_at = 1796113951.125,
                                 .adapter_message = "SELECT 3", .adapter_code = "SELECT",
                                 .rows_affected = 3, .thread = 2, .failures = -1});
    results_add(&r, (NodeResult){.node = &n2, .status = "fail", .message = "Got 2 results\n\"bad\"",
                                 .started_at = 1796113951.5, .compiled_at = 1796113951.75,
                                 .completed_at = 1796113951.0625, .failures = 2, .thread = 0});
    Diag err = {0};
    ck_assert_int_eq(results_write(&s, &r, path, &err), 0);
    char *got = NULL;
    size_t n = 0;
    ck_assert_int_eq(fs_read_file(path, &got, &n), 0);
    if (getenv("CDBT_RESULTS_DUMP"))
        fprintf(stderr, "%s\n", got);
    const char *res = strstr(got, "\"results\":");
    ck_assert_ptr_nonnull(res);
    const char *el = strstr(res, ",\"elapsed_time\":");
    ck_assert_ptr_nonnull(el);
    ck_assert_str_eq(strstr(el, ",\"args\":"),
        ",\"args\":{\"which\":\"run\",\"select\":[\"a+\",\"tag:x\"],\"exclude\":[],\"vars\":{},"
        "\"full_refresh\":false,\"fail_fast\":false,\"store_failures\":false,\"warn_error\":false,\"empty\":false,"
        "\"log_format\":\"default\",\"profiles_dir\":\"/prof\",\"target_path\":\"target\","
        "\"log_path\":\"logs\",\"threads\":4,\"target\":\"dev\",\"project_dir\":\"/proj\","
        "\"invocation_command\":\"run\"}}");
    static const char want[] =
        "\"results\":[{\"status\":\"success\",\"timing\":["
        "{\"name\":\"compile\",\"started_at\":\"2026-12-01T08:32:29.000000Z\",\"completed_at\":\"2026-12-01T08:32:30.000000Z\"},"
        "{\"name\":\"execute\",\"started_at\":\"2026-12-01T08:32:30.000000Z\",\"completed_at\":\"2026-12-01T08:32:31.125000Z\"}],"
        "\"thread_id\":\"Thread-2\",\"execution_time\":2.124999523162842,"
        "\"adapter_response\":{\"_message\":\"SELECT 3\",\"code\":\"SELECT\",\"rows_affected\":3},"
        "\"message\":null,\"failures\":null,\"unique_id\":\"model.p.a\",\"compiled\":true,"
        "\"compiled_code\":\"select \\\"x\\\"\\n\\tfrom y\",\"relation_name\":\"\\\"db\\\".\\\"sch\\\".\\\"a\\\"\","
        "\"batch_results\":null},"
        "{\"status\":\"fail\",\"timing\":["
        "{\"name\":\"compile\",\"started_at\":\"2026-12-01T08:32:31.500000Z\",\"completed_at\":\"2026-12-01T08:32:31.750000Z\"}],"
        "\"thread_id\":\"Thread-1\",\"execution_time\":0.0,\"adapter_response\":{},"
        "\"message\":\"Got 2 results\\n\\\"bad\\\"\",\"failures\":2,\"unique_id\":\"test.p.t\",\"compiled\":false,"
        "\"compiled_code\":null,\"relation_name\":null,\"batch_results\":null}]";
    ck_assert_uint_eq((size_t)(el - res), strlen(want));
    ck_assert_int_eq(strncmp(res, want, strlen(want)), 0);
    free(got);
    results_free(&r);
    dbt_free(d);
    unlink(path);
    rmdir(dir);
}
END_TEST

Suite *cli_results_json_suite(void)
{
    Suite *s = suite_create("cli_results_json");
    TCase *tc = tcase_create("results");
    tcase_add_test(tc, iso_cache_matches_clock);
    tcase_add_test(tc, thread_names);
    tcase_add_test(tc, whole_document);
    suite_add_tcase(s, tc);
    return s;
}
