/* fuzz_yaml.c - libFuzzer target for src/yaml: yaml_load on arbitrary bytes,
 * then ynode_to_value and a bounded walk checking that every mark lies
 * inside the input; errors are rendered with diag_format.  One arena,
 * reset per input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "yaml/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t budget;

/* Aliases share nodes, so the walk is bounded by a visit budget. */
static void walk(const YNode *n, size_t size, int depth)
{
    if (!n || budget == 0)
        return;
    budget--;
    if (n->offset > size || n->line < 1 || n->col < 1 || depth > YAML_MAX_DEPTH + 1)
        abort();
    if (n->kind == YN_SCALAR) {
        if (!n->text || n->text[n->text_len] != 0)
            abort();
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == YN_MAP) {
            if (n->keys[i]->kind != YN_SCALAR)
                abort();
            walk(n->keys[i], size, depth + 1);
        }
        walk(n->items[i], size, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Arena a;
    static int init;
    if (!init) {
        arena_init(&a, 0);
        init = 1;
    }
    Diag d = { 0 };
    YNode *root = NULL;
    if (yaml_load(&a, "fuzz.yml", (const char *)data, size, &root, &d) == 0) {
        budget = 100000;
        walk(root, size, 0);
        Value v = ynode_to_value(&a, root);
        (void)v;
        ynode_kind_name(root);
        ynode_get(root, "name");
    } else {
        Sb out = SB_INIT;
        diag_format(&d, &out);
        sb_free(&out);
    }
    diag_clear(&d);
    arena_reset(&a);
    return 0;
}
