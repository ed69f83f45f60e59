/* fuzz_project_ignore.c - libFuzzer target for .dbtignore (src/project/ignore.c):
 * the input's first part (up to the first "\n\n", or all of it) is parsed as
 * a .dbtignore, each line after it is matched as a path.  Checks that
 * nothing crashes or hangs and that a path matched once is matched again
 * the same way (the matcher's memo must not change answers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "project/projpriv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;                /* a .dbtignore and paths of a few KB are plenty */
    const char *text = (const char *)data;
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < size; i++)
        if (text[i] == '\n' && text[i + 1] == '\n') {
            sep = text + i;
            break;
        }
    size_t plen = sep ? (size_t)(sep - text) : size;
    Arena a;
    arena_init(&a, 0);
    DbtIgnore *ig = pl_ignore_parse(&a, text, plen);
    const char *p = sep ? sep + 2 : text + size;
    const char *end = text + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *path = arena_strndup(&a, p, n);
        bool m1 = pl_ignored(ig, path), m2 = pl_ignored(ig, path);
        if (m1 != m2)
            abort();
        p = nl ? nl + 1 : end;
    }
    arena_free(&a);
    return 0;
}
