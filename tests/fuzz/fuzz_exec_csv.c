/* fuzz_exec_csv.c - libFuzzer target for the seed CSV reader (csvread.c)
 * and type inference / value normalisation (seedtype.c).  The first input
 * byte picks the delimiter; the rest is the file.  Every record must have
 * the header's width with NUL-terminated fields of the reported length;
 * every column's inferred type must load every one of its values (the
 * invariant mat_seed relies on: pass 2 never meets a value pass 1 did not
 * accept), also in binary COPY encoding; errors must carry a line and render
 * with diag_format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/csvread.h"
#include "exec/seedtype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delims[] = {',', ';', '\t', '|'};
    char delim = delims[data[0] % 4];
    const char *csv = (const char *)data + 1;
    size_t len = size - 1;
    Diag d = {0};
    CsvReader *r = csv_open_mem(csv, len, "fuzz.csv", delim);
    const char *const *names;
    int nc;
    SeedTyper t = {0};
    if (csv_header(r, &names, &nc, &d) != 0)
        goto err;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                abort();                     /* header names are unique */
    bool forced[64] = {0};
    for (int i = 0; i < nc && i < 64; i++)
        forced[i] = (names[i][0] & 7) == 1;
    seedtype_init(&t, nc, nc <= 64 ? forced : NULL);
    CsvRecord rec;
    int k;
    while ((k = csv_next(r, &rec, &d)) == 1) {
        if (rec.n != nc)
            abort();
        for (int i = 0; i < rec.n; i++)
            if (rec.f[i] && strlen(rec.f[i]) != rec.len[i])
                abort();
        seedtype_feed(&t, rec.f, rec.len, rec.n);
    }
    if (k < 0)
        goto err;
    /* second pass: every value loads as its column's type */
    if (csv_rewind(r, &d) != 0 || csv_header(r, &names, &nc, &d) != 0)
        abort();
    Sb v = SB_INIT, line = SB_INIT;
    while ((k = csv_next(r, &rec, &d)) == 1) {
        for (int i = 0; i < rec.n; i++) {
            sb_reset(&v);
            const char *why = NULL;
            SeedType ty = seedtype_result(&t, i);
            int w = seedtype_value(&v, ty, seedtype_is_integer(&t, i), (rec.index & 1) != 0, rec.f[i],
                                   rec.f[i] ? rec.len[i] : 0, &why);
            if (w < 0 && !why)
                abort();
            if (w == 1)
                seedtype_copy_escape(&line, v.buf, v.len);
            /* binary COPY: a column pass 1 cleared for it encodes every value
             * (never -2), NULL and failure exactly where the text path has them */
            bool staged = ty == SEED_ISODATETIME && t.cols[i].any_aware;
            SeedBin kind = seedtype_bin_kind(&t, i, staged);
            if (kind != SEED_BIN_NONE) {
                const char *bwhy = NULL;
                int wt = seedtype_value(&v, ty, false, false, rec.f[i], rec.f[i] ? rec.len[i] : 0, &bwhy);
                int wb = seedtype_bin_value(&line, kind, ty, rec.f[i], rec.f[i] ? rec.len[i] : 0, &bwhy);
                if (wb == -2 || wb != wt)
                    abort();
            }
        }
        sb_reset(&line);
    }
    if (k != 0)
        abort();                             /* pass 1 succeeded, pass 2 must too */
    (void)seedtype_sql;
    sb_free(&v);
    sb_free(&line);
    goto out;
err:
    if (!d.set || !d.message)
        abort();
    {
        Sb s = SB_INIT;
        diag_format(&d, &s);
        sb_free(&s);
    }
out:
    seedtype_free(&t);
    csv_close(r);
    diag_clear(&d);
    return 0;
}
