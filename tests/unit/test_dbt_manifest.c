/* test_dbt_manifest.c - manifest_render on a hand-built Project: node
 * order, depends_on, parent_map and child_map when dependency ids are
 * shared pointers, equal copies, repeated, not nodes at all, need escaping,
 * or belong to two nodes with the same unique_id; disabled nodes.  The
 * expected document was produced by the manifest writer before it resolved
 * ids to ranks (tests/unit/test_dbt_manifest.c at that commit prints it with
 * CDBT_MANIFEST_DUMP=1). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/fs.h"
#include "dbt/manifest.h"

static Node *mk(Arena *a, ResourceType rt, const char *uid, const char *name)
{
    Node *n = arena_alloc(a, sizeof *n);
    memset(n, 0, sizeof *n);
    n->rt = rt;
    n->unique_id = uid;
    n->name = name;
    n->package_name = "p";
    n->path = "x.sql";
    n->original_file_path = "models/x.sql";
    n->database = "db";
    n->schema = "sch";
    n->raw_code = "select 1";
    n->created_at = 1796113949.021312;
    memcpy(n->checksum_name, "sha256", 7);
    n->checksum = "abc";
    return n;
}

static void deps(Arena *a, Node *n, int k, ...)
{
    va_list ap;
    va_start(ap, k);
    n->dep_nodes = arena_alloc(a, sizeof(char *) * (size_t)k);
    for (int i = 0; i < k; i++)
        n->dep_nodes[i] = va_arg(ap, const char *);
    n->ndep_nodes = k;
    va_end(ap);
}

static int cmp_uid(const void *x, const void *y)
{
    return strcmp((*(Node *const *)x)->unique_id, (*(Node *const *)y)->unique_id);
}

/* The document with metadata.generated_at blanked. */
static char *render(Project *p)
{
    Sb out = SB_INIT;
    manifest_render(p, "inv-1", &out);
    char *g = strstr(out.buf, "\"generated_at\":\"");
    ck_assert_ptr_nonnull(g);
    g += strlen("\"generated_at\":\"");
    char *e = strchr(g, '"');
    memmove(g, e, strlen(e) + 1);
    return sb_detach(&out);
}

START_TEST(maps_and_depends_on)
{
    Project p;
    memset(&p, 0, sizeof p);
    arena_init(&p.arena, 0);
    Arena *a = &p.arena;
    p.name = "p";
    Node *ma = mk(a, RT_MODEL, "model.p.a", "a");
    Node *mb = mk(a, RT_MODEL, "model.p.b", "b");
    Node *mq = mk(a, RT_MODEL, "model.p.\"q\\", "q");
    Node *src = mk(a, RT_SOURCE, "source.p.s.t", "t");
    Node *d1 = mk(a, RT_MODEL, "model.p.dup", "dup");
    Node *d2 = mk(a, RT_MODEL, arena_strdup(a, "model.p.dup"), "dup");
    Node *t1 = mk(a, RT_TEST, "test.p.t1", "t1");
    Node *off = mk(a, RT_MODEL, "model.p.off", "off");
    off->disabled = true;
    /* b: an equal copy of a's id, the source's own pointer, a repeat, an id
     * that is no node, the escaped one (own pointer) */
    deps(a, mb, 6, arena_strdup(a, "model.p.a"), src->unique_id, "model.p.a", "model.p.missing",
         mq->unique_id, arena_strdup(a, "model.p.dup"));
    deps(a, mq, 1, ma->unique_id);
    deps(a, t1, 3, mb->unique_id, ma->unique_id, d1->unique_id);
    deps(a, off, 2, mb->unique_id, "model.p.zzz");
    t1->is_generic_test = true;
    t1->test_name = "unique";
    t1->column_name = "id";
    t1->attached_node = mb->unique_id;
    ma->compiled = true;
    ma->compiled_code = "select\n\t\"x\"";
    ma->compiled_path = "target/compiled/p/models/a.sql";
    ma->created_at = 0.5;
    Node *nodes[] = {t1, mb, d1, src, ma, mq, d2};
    p.nodes = nodes;
    p.nnodes = (int)(sizeof nodes / sizeof nodes[0]);
    Node *disabled[] = {off};
    p.disabled = disabled;
    p.ndisabled = 1;

    char *got = render(&p);
    if (getenv("CDBT_MANIFEST_DUMP"))
        fprintf(stderr, "%s\n", got);
    const char *pm = strstr(got, "\"parent_map\":");
    ck_assert_ptr_nonnull(pm);
    ck_assert_str_eq(pm,
        "\"parent_map\":{"
        "\"model.p.\\\"q\\\\\":[\"model.p.a\"],"
        "\"model.p.a\":[],"
        "\"model.p.b\":[\"model.p.\\\"q\\\\\",\"model.p.a\",\"model.p.dup\",\"model.p.missing\",\"source.p.s.t\"],"
        "\"model.p.dup\":[],\"model.p.dup\":[],"
        "\"source.p.s.t\":[],"
        "\"test.p.t1\":[\"model.p.a\",\"model.p.b\",\"model.p.dup\"]},"
        "\"child_map\":{"
        "\"model.p.\\\"q\\\\\":[\"model.p.b\"],"
        "\"model.p.a\":[\"model.p.\\\"q\\\\\",\"model.p.b\",\"test.p.t1\"],"
        "\"model.p.b\":[\"test.p.t1\"],"
        "\"model.p.dup\":[],\"model.p.dup\":[\"model.p.b\",\"test.p.t1\"],"
        "\"source.p.s.t\":[\"model.p.b\"],"
        "\"test.p.t1\":[]},"
        "\"group_map\":{},\"saved_queries\":{},\"semantic_models\":{},\"unit_tests\":{}}");
    /* depends_on.nodes keeps the order and repeats as given */
    ck_assert_ptr_nonnull(strstr(got,
        "\"depends_on\":{\"macros\":[],\"nodes\":[\"model.p.a\",\"source.p.s.t\",\"model.p.a\","
        "\"model.p.missing\",\"model.p.\\\"q\\\\\",\"model.p.dup\"]}"));
    /* nodes in unique_id order, sources apart, the disabled node in a list */
    const char *order[] = {"\"nodes\":{\"model.p.\\\"q\\\\\":{", "\"model.p.a\":{", "\"model.p.b\":{",
                           "\"model.p.dup\":{", "\"model.p.dup\":{", "\"test.p.t1\":{",
                           "\"sources\":{\"source.p.s.t\":{", "\"disabled\":{\"model.p.off\":[{"};
    const char *at = got;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *f = strstr(at, order[i]);
        ck_assert_msg(f != NULL, "%s not found in order", order[i]);
        at = f + 1;
    }
    ck_assert_ptr_nonnull(strstr(got, "\"unique_id\":\"model.p.\\\"q\\\\\",\"fqn\""));
    ck_assert_ptr_nonnull(strstr(got, "\"nodes\":[\"model.p.b\",\"model.p.zzz\"]"));
    ck_assert_ptr_nonnull(strstr(got, "\"created_at\":0.5,"));
    ck_assert_ptr_nonnull(strstr(got, "\"created_at\":1796113949.021312,"));
    ck_assert_ptr_nonnull(strstr(got, "\"compiled_code\":\"select\\n\\t\\\"x\\\"\""));
    free(got);
    arena_free(&p.arena);
}
END_TEST

/* The "nodes" object of a project large enough to be written by two
 * threads: every node's entry exactly as a project holding only that node
 * writes it, in unique_id order, commas between. */
START_TEST(many_nodes_in_order)
{
    Project p;
    memset(&p, 0, sizeof p);
    arena_init(&p.arena, 0);
    Arena *a = &p.arena;
    p.name = "p";
    enum { N = 3001 };
    Node **nodes = arena_alloc(a, sizeof(Node *) * N);
    for (int i = 0; i < N; i++) {
        /* an order of creation unlike the unique_id order */
        int k = (i * 7919) % N;
        nodes[i] = mk(a, i % 3 ? RT_MODEL : RT_TEST, arena_sprintf(a, "%s.p.n%05d", i % 3 ? "model" : "test", k),
                      arena_sprintf(a, "n%05d", k));
        nodes[i]->raw_code = arena_sprintf(a, "select %d -- %.*s", k, k % 500, "\"quoted\"\n" "0123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789012345678901234567890123456789");
    }
    p.nodes = nodes;
    p.nnodes = N;
    char *got = render(&p);
    Sb want = SB_INIT;
    sb_puts(&want, "\"nodes\":{");
    Node **sorted = arena_alloc(a, sizeof(Node *) * N);
    memcpy(sorted, nodes, sizeof(Node *) * N);
    qsort(sorted, N, sizeof(Node *), cmp_uid);
    for (int i = 0; i < N; i++) {
        Project one;
        memset(&one, 0, sizeof one);
        one.name = "p";
        one.nodes = &sorted[i];
        one.nnodes = 1;
        char *doc = render(&one);
        const char *from = strstr(doc, "\"nodes\":{") + strlen("\"nodes\":{");
        const char *to = strstr(from, "},\"sources\":{");
        ck_assert_ptr_nonnull(to);
        if (i)
            sb_putc(&want, ',');
        sb_append(&want, from, (size_t)(to - from));
        free(doc);
    }
    sb_puts(&want, "},\"sources\":{");
    ck_assert_ptr_nonnull(strstr(got, sb_cstr(&want)));
    sb_free(&want);
    free(got);
    arena_free(&p.arena);
}
END_TEST

/* manifest_begin / manifest_node_done / manifest_finish: the nodes marked
 * done in an order unlike the document's (some never), the file holds what
 * manifest_render gives. */
START_TEST(written_during_compile_same_document)
{
    Project p;
    memset(&p, 0, sizeof p);
    arena_init(&p.arena, 0);
    Arena *a = &p.arena;
    p.name = "p";
    enum { N = 2500 };
    Node **nodes = arena_alloc(a, sizeof(Node *) * N);
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % N;
        nodes[i] = mk(a, i % 5 ? RT_MODEL : RT_SOURCE, arena_sprintf(a, "%s.p.n%05d", i % 5 ? "model" : "source", k),
                      arena_sprintf(a, "n%05d", k));
        nodes[i]->index = i;
    }
    p.nodes = nodes;
    p.nnodes = N;
    char dir[] = "/tmp/cdbt_test_manifest_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    JsonSlot *slots = arena_zalloc(a, sizeof *slots * N);
    ManifestWriter *m = manifest_begin(&p, "inv-1", path, slots);
    ck_assert_ptr_nonnull(m);
    Node *late = nodes[N / 2 + 1];      /* a model: changes after the others are done */
    ck_assert_int_eq(late->rt, RT_MODEL);
    for (int i = 0; i < N; i++) {
        Node *n = nodes[(i * 13) % N];
        if (i % 97 != 0 && n != late)
            manifest_node_done(m, n);
    }
    usleep(100000);                     /* time for the thread to write what it may */
    late->compiled = true;
    late->compiled_code = "select 2";
    late->compiled_path = "target/compiled/p/x.sql";
    manifest_node_done(m, late);
    Diag err = {0};
    ck_assert_int_eq(manifest_finish(m, &err), 0);
    char *got = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(path, &got, &len), 0);
    /* each model's value sits in its slot, padded with spaces (the node
     * blocks were written by two threads: offsets must be the file's) */
    for (int i = 0; i < N; i++) {
        if (nodes[i]->rt != RT_MODEL) {
            ck_assert_uint_eq(slots[i].len, 0);
            continue;
        }
        ck_assert_uint_gt(slots[i].len, 0);
        ck_assert_uint_eq(slots[i].len % JSON_SLOT, 0);
        ck_assert((size_t)slots[i].off + slots[i].len < len);
        Sb one = SB_INIT;
        manifest_node_json(nodes[i], &one);
        ck_assert_uint_le(one.len, slots[i].len);
        ck_assert(memcmp(got + slots[i].off, one.buf, one.len) == 0);
        for (size_t k = one.len; k < slots[i].len; k++)
            ck_assert_int_eq(got[slots[i].off + (int64_t)k], ' ');
        sb_free(&one);
    }
    char *want = render(&p);
    char *g = strstr(got, "\"generated_at\":\"");
    ck_assert_ptr_nonnull(g);
    g += strlen("\"generated_at\":\"");
    char *e = strchr(g, '"');
    memmove(g, e, strlen(e) + 1);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_nonnull(strstr(got, "\"compiled_code\":\"select 2\""));
    free(got);
    free(want);
    unlink(path);
    rmdir(dir);
    arena_free(&p.arena);
}
END_TEST

Suite *dbt_manifest_suite(void)
{
    /* libcdbt_value needs the template library's interp_error; static
     * libraries are scanned once, in order, so pull it in from here */
    void *volatile keep = (void *)interp_error;
    (void)keep;
    Suite *s = suite_create("dbt_manifest");
    TCase *tc = tcase_create("manifest");
    tcase_add_test(tc, maps_and_depends_on);
    tcase_add_test(tc, many_nodes_in_order);
    tcase_add_test(tc, written_during_compile_same_document);
    suite_add_tcase(s, tc);
    return s;
}
