/* fuzz_deps_spec.c - libFuzzer target for packages.yml / package-lock.yml
 * reading (src/deps/spec.c): the input is parsed as each of the three
 * file kinds (no renderer), the specs it yields are hashed and written
 * back as a lock file, which must read again as a lock with as many
 * entries; and every string the input holds (one per line) must survive
 * deps_yaml_scalar: written as PyYAML would, it reads back as itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "deps/deps.h"
#include "yaml/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i], len, cp;
        if (c == 0)
            return false;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > n)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFEFF)
            return false;
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    const char *text = (const char *)data;
    Arena a;
    arena_init(&a, 0);
    for (int k = 0; k < 3; k++) {
        PkgFile pf;
        Diag err = {0};
        if (deps_parse(&a, "packages.yml", text, size, (PkgFileKind)k, NULL, &pf, &err) == 0) {
            char hash[41];
            deps_specs_hash(pf.specs, pf.n, hash);
            PkgPin *pins = ARENA_ARRAY(&a, PkgPin, (size_t)pf.n + 1);
            int np = 0;
            for (int i = 0; i < pf.n; i++) {
                const PkgSpec *s = &pf.specs[i];
                PkgPin *p = &pins[np++];
                memset(p, 0, sizeof *p);
                p->kind = s->kind;
                p->local = s->local;
                p->git_raw = s->git_raw;
                p->revision = s->revision_str ? s->revision_str : "HEAD";
                p->subdirectory = s->subdirectory;
                p->package = s->package;
                p->version = s->package ? value_to_cstr(&a, s->version) : NULL;
                p->tarball = s->tarball;
                p->name = s->name;
            }
            Sb lock = SB_INIT;
            deps_lock_text(pins, np, hash, &lock);
            PkgFile again;
            Diag e2 = {0};
            if (deps_parse(&a, "package-lock.yml", lock.buf, lock.len, PKGF_LOCK, NULL, &again, &e2) != 0 ||
                again.n != np)
                abort();
            diag_clear(&e2);
            sb_free(&lock);
        }
        diag_clear(&err);
    }
    /* scalar round trip, line by line */
    const char *end = text + size;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (utf8_ok(p, n)) {
            char *s = arena_strndup(&a, p, n);
            Sb out = SB_INIT;
            sb_puts(&out, "k: ");
            deps_yaml_scalar(&out, s);
            Value v;
            Diag e = {0};
            if (yaml_load_value(&a, "<scalar>", out.buf, out.len, &v, &e) != 0 || v.type != V_DICT)
                abort();
            Value *got = dict_getz(v.u.d, "k");
            if (!got || got->type != V_STR || strcmp(got->u.s->s, s) != 0)
                abort();
            diag_clear(&e);
            sb_free(&out);
        }
        p = nl ? nl + 1 : end;
    }
    arena_free(&a);
    return 0;
}
