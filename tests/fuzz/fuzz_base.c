/* fuzz_base.c - libFuzzer target for src/base text helpers: JSON string
 * escaping, SrcFile line/column mapping with diag rendering, and lexical
 * path normalisation, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/diag.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/sb.h"
#include "base/strmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    Sb out = SB_INIT;
    json_escape(&out, text, size);
    /* the fast paths (16 and 8 bytes at a time) against the plain rule */
    {
        Sb ref = SB_INIT;
        sb_putc(&ref, '"');
        for (size_t i = 0; i < size; i++) {
            unsigned char c = data[i];
            const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (e)
                sb_puts(&ref, e);
            else if (c < 0x20)
                sb_printf(&ref, "\\u%04x", c);
            else
                sb_putc(&ref, (char)c);
        }
        sb_putc(&ref, '"');
        if (ref.len != out.len || memcmp(ref.buf, out.buf, ref.len) != 0)
            abort();
        sb_free(&ref);
    }

    SrcFile f;
    srcfile_init(&f, "fuzz.sql", text, size);
    Diag d = {0};
    size_t off = size ? (size_t)data[0] * 7 % (size + 1) : 0;
    diag_at(&d, &f, off, "at %zu", off);
    diag_note(&d, "note: %s", "x");
    diag_format(&d, &out);
    diag_clear(&d);
    srcfile_free(&f);

    char *z = xstrndup(text, size);
    char *n = path_normalize(z);
    free(n);

    StrMap m;
    strmap_init(&m);
    for (size_t i = 0; i + 4 <= size && i < 4096; i += 4)
        strmap_put(&m, text + i, 4, (void *)(uintptr_t)(i + 1));
    strmap_free(&m);
    free(z);
    sb_free(&out);
    return 0;
}
