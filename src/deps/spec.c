/* spec.c - packages.yml, dependencies.yml and package-lock.yml: reading
 * and checking the entries, dbt's sha1_hash of them, and writing the lock
 * file the way PyYAML dumps it.
 *
 * An entry's kind is its first key among local, tarball, git and package
 * (the order dbt's PackageSpec union tries them); any key that kind does
 * not have is an error located at that key, as is a value of the wrong
 * type.  Values are rendered (PR_PACKAGES) before their types are checked,
 * so `revision: "{{ env_var('REV') }}"` is a string and
 * `warn-unpinned: "{{ false }}"` a boolean, as with dbt's native rendering. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "../base/hash.h"
#include "../base/json.h"
#include "../base/vec.h"
#include "../yaml/yaml.h"

typedef struct Ctx {
    Arena *a;
    const char *rel;
    const char *text;
    size_t len;
    PkgFileKind kind;
    const ProjectRenderer *r;
    Diag *err;
} Ctx;

static const char *line_of(Ctx *c, const YNode *n)
{
    if (!n || n->offset > c->len)
        return NULL;
    size_t s = n->offset, e = n->offset;
    while (s > 0 && c->text[s - 1] != '\n')
        s--;
    while (e < c->len && c->text[e] != '\n' && c->text[e] != '\r')
        e++;
    return arena_strndup(c->a, c->text + s, e - s);
}

static int err_at(Ctx *c, const YNode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_at(Ctx *c, const YNode *n, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->err->set)
        diag_clear(c->err);
    if (n)
        diag_set(c->err, c->rel, n->line, n->col, line_of(c, n), "%s", buf);
    else
        diag_set(c->err, c->rel, 0, 0, NULL, "%s", buf);
    return -1;
}

static const char *file_label(Ctx *c)
{
    switch (c->kind) {
    case PKGF_DEPENDENCIES: return "dependencies.yml";
    case PKGF_LOCK: return "package-lock.yml";
    default: return "packages.yml";
    }
}

/* The rendered value of node n (strings holding Jinja are rendered). */
static int render(Ctx *c, const YNode *n, Value *out, int depth)
{
    if (depth > 64)
        return err_at(c, n, "YAML nesting deeper than 64 levels");
    switch (n->kind) {
    case YN_SCALAR:
        if (n->value.type == V_OBJ) {             /* a date: its ISO text, as a string */
            *out = v_strz(c->a, value_to_cstr(c->a, n->value));
            return 0;
        }
        if (n->value.type != V_STR || !c->r || !c->r->render) {
            *out = n->value;
            return 0;
        }
        if (c->err->set)
            diag_clear(c->err);
        return c->r->render(c->r->ud, PR_PACKAGES, NULL, n->value.u.s->s, n->value.u.s->len, c->rel, n->line,
                            n->col, out, c->err);
    case YN_SEQ: {
        Value l = v_list(c->a, n->n);
        for (size_t i = 0; i < n->n; i++) {
            Value it;
            if (render(c, n->items[i], &it, depth + 1) != 0)
                return -1;
            list_append(c->a, l.u.l, it);
        }
        *out = l;
        return 0;
    }
    case YN_MAP: {
        Value d = v_dict(c->a);
        for (size_t i = 0; i < n->n; i++) {
            Value k = n->keys[i]->kind == YN_SCALAR ? n->keys[i]->value : v_none();
            if (!value_is_hashable(k))
                return err_at(c, n->keys[i], "unhashable mapping key");
            Value v;
            if (render(c, n->items[i], &v, depth + 1) != 0)
                return -1;
            dict_set(c->a, d.u.d, k, v);
        }
        *out = d;
        return 0;
    }
    }
    *out = v_none();
    return 0;
}

static bool is_number(Value v) { return v.type == V_INT || v.type == V_FLOAT; }

/* A required (or optional, when opt) string value. */
static int want_str(Ctx *c, const YNode *n, const char *key, Value v, bool opt, const char **out)
{
    if (opt && v.type == V_NONE) {
        *out = NULL;
        return 0;
    }
    if (v.type != V_STR)
        return err_at(c, n, "Invalid value for '%s' in %s: expected a string, got %s", key, file_label(c),
                      yaml_value_kind(v));
    *out = v.u.s->s;
    return 0;
}

static const char *const local_keys[] = {"local", NULL};
static const char *const tarball_keys[] = {"tarball", "name", NULL};
static const char *const git_keys[] = {"git", "revision", "warn-unpinned", "subdirectory", NULL};
static const char *const hub_keys[] = {"package", "version", "install_prerelease", "install-prerelease", NULL};

static bool in_keys(const char *const *l, const char *k)
{
    for (; *l; l++)
        if (!strcmp(*l, k))
            return true;
    return false;
}

static void keys_text(const char *const *l, bool lock, Sb *out)
{
    for (const char *const *k = l; *k; k++)
        sb_printf(out, "%s%s", k == l ? "" : ", ", *k);
    if (lock && l != tarball_keys)
        sb_puts(out, ", name");
}

static int parse_entry(Ctx *c, const YNode *e, PkgSpec *s)
{
    memset(s, 0, sizeof *s);
    s->file = c->rel;
    s->line = e->line;
    s->col = e->col;
    s->src_line = line_of(c, e);
    s->revision = v_none();
    s->version = v_none();
    s->install_prerelease = v_none();
    s->warn_unpinned = -1;
    if (e->kind != YN_MAP)
        return err_at(c, e, "Invalid package entry in %s: expected a mapping (e.g. `- git: <url>`), got %s",
                      file_label(c), ynode_kind_name(e));
    const char *const *allowed;
    if (ynode_get(e, "local")) {
        s->kind = PKG_LOCAL;
        allowed = local_keys;
    } else if (ynode_get(e, "tarball")) {
        s->kind = PKG_TARBALL;
        allowed = tarball_keys;
    } else if (ynode_get(e, "git")) {
        s->kind = PKG_GIT;
        allowed = git_keys;
    } else if (ynode_get(e, "package")) {
        s->kind = PKG_HUB;
        allowed = hub_keys;
    } else {
        return err_at(c, e, "Invalid package entry in %s: it needs one of the keys 'local', 'git', 'package' "
                            "or 'tarball'", file_label(c));
    }
    for (size_t i = 0; i < e->n; i++) {
        const char *k = ynode_str(e->keys[i]);
        if (k && (in_keys(allowed, k) || (c->kind == PKGF_LOCK && !strcmp(k, "name"))))
            continue;
        Sb ok = SB_INIT;
        keys_text(allowed, c->kind == PKGF_LOCK, &ok);
        static const char *const kinds[] = {"local", "tarball", "git", "hub"};
        err_at(c, e->keys[i], "Invalid package entry in %s: unknown key '%s' for a %s package (allowed: %s)",
               file_label(c), k ? k : value_to_cstr(c->a, e->keys[i]->value), kinds[s->kind], sb_cstr(&ok));
        sb_free(&ok);
        return -1;
    }
    s->raw = ynode_to_value(c->a, e);
    for (size_t i = 0; i < e->n; i++) {
        const char *k = ynode_str(e->keys[i]);
        const YNode *vn = e->items[i];
        Value v;
        if (render(c, vn, &v, 0) != 0)
            return -1;
        const char *str;
        if (!strcmp(k, "name")) {
            if (want_str(c, vn, k, v, c->kind == PKGF_LOCK, &s->name) != 0)
                return -1;
        } else if (!strcmp(k, "local")) {
            if (want_str(c, vn, k, v, false, &s->local) != 0)
                return -1;
        } else if (!strcmp(k, "tarball")) {
            if (want_str(c, vn, k, v, false, &s->tarball) != 0)
                return -1;
        } else if (!strcmp(k, "git")) {
            if (want_str(c, vn, k, v, false, &s->git) != 0)
                return -1;
            s->git_raw = ynode_str(vn) ? ynode_str(vn) : s->git;
        } else if (!strcmp(k, "subdirectory")) {
            if (want_str(c, vn, k, v, true, &s->subdirectory) != 0)
                return -1;
        } else if (!strcmp(k, "revision")) {
            if (v.type != V_NONE && v.type != V_STR && !is_number(v))
                return err_at(c, vn, "Invalid value for 'revision' in %s: expected a string or a number, got %s",
                              file_label(c), yaml_value_kind(v));
            s->revision = v;
            if (v.type != V_NONE) {
                s->revision_str = value_to_cstr(c->a, v);
                if (c->kind == PKGF_LOCK) {         /* dbt 1.9 may record `git rev-parse`'s newline */
                    size_t n = strlen(s->revision_str);
                    while (n && (s->revision_str[n - 1] == '\n' || s->revision_str[n - 1] == ' '))
                        n--;
                    s->revision_str = arena_strndup(c->a, s->revision_str, n);
                }
            }
        } else if (!strcmp(k, "warn-unpinned")) {
            if (v.type != V_NONE && v.type != V_BOOL)
                return err_at(c, vn, "Invalid value for 'warn-unpinned' in %s: expected a boolean, got %s",
                              file_label(c), yaml_value_kind(v));
            s->warn_unpinned = v.type == V_BOOL ? v.u.b : -1;
        } else if (!strcmp(k, "package")) {
            if (want_str(c, vn, k, v, false, &s->package) != 0)
                return -1;
        } else if (!strcmp(k, "version")) {
            bool ok = v.type == V_STR || is_number(v);
            if (v.type == V_LIST) {
                ok = true;
                for (size_t j = 0; j < v.u.l->len; j++)
                    ok = ok && (v.u.l->items[j].type == V_STR || is_number(v.u.l->items[j]));
            }
            if (!ok && v.type != V_NONE)
                return err_at(c, vn, "Invalid value for 'version' in %s: expected a version string or a list "
                                     "of them, got %s", file_label(c), yaml_value_kind(v));
            s->version = v;
        } else if (!strcmp(k, "install_prerelease") || !strcmp(k, "install-prerelease")) {
            if (v.type != V_NONE && v.type != V_BOOL)
                return err_at(c, vn, "Invalid value for '%s' in %s: expected a boolean, got %s", k,
                              file_label(c), yaml_value_kind(v));
            s->install_prerelease = v;
        }
        (void)str;
    }
    if (s->kind == PKG_TARBALL && !s->name)
        return err_at(c, e, "Invalid package entry in %s: a tarball package needs a 'name'", file_label(c));
    if (s->kind == PKG_HUB) {
        Value v = s->version;
        bool empty = v.type == V_NONE || (v.type == V_STR && v.u.s->len == 0) ||
                     (v.type == V_LIST && v.u.l->len == 0);
        if (empty)      /* dbt's wording */
            return err_at(c, e, "%s is missing the version. When installing from the Hub package index, version "
                                "is a required property", s->package);
        if (!strchr(s->package, '/'))
            return err_at(c, ynode_get(e, "package"),
                          "%s was not found in the package index. Packages on the index require a namespace, "
                          "e.g dbt-labs/dbt_utils", s->package);
    }
    return 0;
}

int deps_parse(Arena *a, const char *rel, const char *text, size_t len, PkgFileKind kind,
               const ProjectRenderer *r, PkgFile *out, Diag *err)
{
    memset(out, 0, sizeof *out);
    Ctx c = {a, rel, text, len, kind, r, err};
    YNode *root = NULL;
    if (yaml_load(a, rel, text, len, &root, err) != 0)
        return -1;
    if (!root || (root->kind == YN_SCALAR && root->value.type == V_NONE))
        return 0;
    if (root->kind != YN_MAP)
        return err_at(&c, root, "Invalid %s: expected a mapping with a 'packages' list at the top level, got %s",
                      file_label(&c), ynode_kind_name(root));
    if (root->n == 0)
        return 0;
    const YNode *pk = NULL;
    for (size_t i = 0; i < root->n; i++) {
        const char *k = ynode_str(root->keys[i]);
        if (k && !strcmp(k, "packages")) {
            pk = root->items[i];
            out->has_packages = true;
        } else if (k && kind == PKGF_LOCK && !strcmp(k, "sha1_hash")) {
            /* anything but a string never equals a hash: the lock is made again */
            out->sha1_hash = ynode_str(root->items[i]);
        } else if (kind == PKGF_DEPENDENCIES) {
            continue;        /* `projects:` (dbt Mesh) and anything else is not ours */
        } else if (k && kind == PKGF_PACKAGES && !strcmp(k, "projects")) {
            return err_at(&c, root->keys[i], "The 'projects' key cannot be specified in packages.yml");
        } else {
            return err_at(&c, root->keys[i], "Invalid %s: unknown top-level key '%s' (expected 'packages'%s)",
                          file_label(&c), k ? k : value_to_cstr(a, root->keys[i]->value),
                          kind == PKGF_LOCK ? " and 'sha1_hash'" : "");
        }
    }
    if (!out->has_packages) {
        if (kind == PKGF_DEPENDENCIES)
            return 0;
        return err_at(&c, root, "Invalid %s: 'packages' is a required property", file_label(&c));
    }
    if (!pk || pk->kind != YN_SEQ)
        return err_at(&c, pk ? pk : root, "Invalid value for 'packages' in %s: expected a list of packages, got %s",
                      file_label(&c), pk ? ynode_kind_name(pk) : "null");
    out->specs = ARENA_ARRAY(a, PkgSpec, pk->n + 1);
    for (size_t i = 0; i < pk->n; i++) {
        if (parse_entry(&c, pk->items[i], &out->specs[i]) != 0)
            return -1;
        out->n++;
    }
    return 0;
}

/* ---------------------------------------------------------------- the hash */

/* The code point of the UTF-8 sequence at u[i] (of n bytes) and its length
 * in *len; U+FFFD for a bad lead byte or a sequence cut short (the YAML
 * loader only passes valid text). */
static unsigned decode_cp(const unsigned char *u, size_t i, size_t n, unsigned *len)
{
    unsigned ch = u[i], cp;
    if ((ch & 0xE0) == 0xC0) { cp = ch & 0x1F; *len = 2; }
    else if ((ch & 0xF0) == 0xE0) { cp = ch & 0x0F; *len = 3; }
    else if ((ch & 0xF8) == 0xF0) { cp = ch & 0x07; *len = 4; }
    else { *len = 1; return 0xFFFD; }
    if (i + *len > n) {
        *len = 1;
        return 0xFFFD;
    }
    for (unsigned k = 1; k < *len; k++)
        cp = (cp << 6) | (u[i + k] & 0x3F);
    return cp;
}

static void py_str(Sb *out, const char *s, size_t n)
{
    sb_putc(out, '"');
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned ch = u[i];
        if (ch < 0x80) {
            switch (ch) {
            case '"': sb_puts(out, "\\\""); break;
            case '\\': sb_puts(out, "\\\\"); break;
            case '\n': sb_puts(out, "\\n"); break;
            case '\r': sb_puts(out, "\\r"); break;
            case '\t': sb_puts(out, "\\t"); break;
            case '\b': sb_puts(out, "\\b"); break;
            case '\f': sb_puts(out, "\\f"); break;
            default:
                if (ch < 0x20)
                    sb_printf(out, "\\u%04x", ch);
                else
                    sb_putc(out, (char)ch);
            }
            i++;
            continue;
        }
        unsigned len, cp = decode_cp(u, i, n, &len);
        if (cp >= 0x10000) {
            unsigned v = cp - 0x10000;
            sb_printf(out, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
        } else {
            sb_printf(out, "\\u%04x", cp);
        }
        i += len;
    }
    sb_putc(out, '"');
}

typedef struct KV { const char *k; Value v; } KV;

static int kv_cmp(const void *a, const void *b) { return strcmp(((const KV *)a)->k, ((const KV *)b)->k); }

static void py_json(Sb *out, Value v, Arena *a, int depth)
{
    if (depth > 64) {
        sb_puts(out, "null");
        return;
    }
    switch (v.type) {
    case V_NONE: case V_UNDEF: sb_puts(out, "null"); return;
    case V_BOOL: sb_puts(out, v.u.b ? "true" : "false"); return;
    case V_INT: sb_printf(out, "%lld", (long long)v.u.i); return;
    case V_FLOAT: {
        char buf[40];
        size_t k = json_format_double(buf, v.u.f);
        sb_append(out, buf, k);
        return;
    }
    case V_STR: py_str(out, v.u.s->s, v.u.s->len); return;
    case V_LIST: case V_TUPLE:
        sb_putc(out, '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                sb_puts(out, ", ");
            py_json(out, v.u.l->items[i], a, depth + 1);
        }
        sb_putc(out, ']');
        return;
    case V_DICT: {
        KV *kv = ARENA_ARRAY(a, KV, v.u.d->len + 1);
        size_t n = 0;
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
            /* json.dumps turns None/True/numbers keys into strings */
            const char *k = e->key.type == V_STR ? e->key.u.s->s
                          : e->key.type == V_NONE ? "null"
                          : e->key.type == V_BOOL ? (e->key.u.b ? "true" : "false")
                          : value_to_cstr(a, e->key);
            kv[n].k = k;
            kv[n].v = e->val;
            n++;
        }
        qsort(kv, n, sizeof *kv, kv_cmp);
        sb_putc(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_puts(out, ", ");
            py_str(out, kv[i].k, strlen(kv[i].k));
            sb_puts(out, ": ");
            py_json(out, kv[i].v, a, depth + 1);
        }
        sb_putc(out, '}');
        return;
    }
    default: {
        const char *s = value_to_cstr(a, v);
        py_str(out, s, strlen(s));
    }
    }
}

void deps_py_json(Sb *out, Value v)
{
    Arena a;
    arena_init(&a, 0);
    py_json(out, v, &a, 0);
    arena_free(&a);
}

static Value str_or_none(Arena *a, const char *s) { return s ? v_strz(a, s) : v_none(); }

/* The entry as dbt's dataclass to_dict() gives it: every field (None
 * included, aliases used) plus `unrendered`. */
static Value spec_dict(Arena *a, const PkgSpec *s)
{
    Value d = v_dict(a);
    switch (s->kind) {
    case PKG_LOCAL:
        dict_setz(a, d.u.d, "local", v_strz(a, s->local));
        break;
    case PKG_TARBALL:
        dict_setz(a, d.u.d, "tarball", v_strz(a, s->tarball));
        dict_setz(a, d.u.d, "name", str_or_none(a, s->name));
        break;
    case PKG_GIT:
        dict_setz(a, d.u.d, "git", v_strz(a, s->git));
        dict_setz(a, d.u.d, "revision", s->revision);
        dict_setz(a, d.u.d, "warn-unpinned", s->warn_unpinned < 0 ? v_none() : v_bool(s->warn_unpinned));
        dict_setz(a, d.u.d, "subdirectory", str_or_none(a, s->subdirectory));
        break;
    case PKG_HUB:
        dict_setz(a, d.u.d, "package", v_strz(a, s->package));
        dict_setz(a, d.u.d, "version", s->version);
        dict_setz(a, d.u.d, "install_prerelease",
                  s->install_prerelease.type == V_NONE ? v_bool(false) : s->install_prerelease);
        break;
    }
    dict_setz(a, d.u.d, "unrendered", s->raw.type == V_DICT ? s->raw : v_dict(a));
    return d;
}

static int cstr_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void deps_specs_hash(const PkgSpec *specs, int n, char out[41])
{
    Arena a;
    arena_init(&a, 0);
    char **texts = ARENA_ARRAY(&a, char *, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        Sb t = SB_INIT;
        py_json(&t, spec_dict(&a, &specs[i]), &a, 0);
        texts[i] = arena_strndup(&a, sb_cstr(&t), t.len);
        sb_free(&t);
    }
    qsort(texts, (size_t)n, sizeof *texts, cstr_cmp);
    Sb all = SB_INIT;
    for (int i = 0; i < n; i++) {
        if (i)
            sb_putc(&all, '\n');
        sb_puts(&all, texts[i]);
    }
    sha1_hex(all.buf ? all.buf : "", all.len, out);
    sb_free(&all);
    arena_free(&a);
}

/* ---------------------------------------------------------------- writing YAML */

static bool yaml_space(const char *s, size_t i, size_t n)
{
    return i >= n || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n';
}

/* Does the plain scalar s read back as the string s (YAML 1.1 implicit types)? */
static bool reads_as_str(const char *s)
{
    Arena a;
    arena_init(&a, 0);
    Diag d = {0};
    Value v;
    bool ok = yaml_load_value(&a, "<scalar>", s, strlen(s), &v, &d) == 0 && v.type == V_STR &&
              !strcmp(v.u.s->s, s);
    diag_clear(&d);
    arena_free(&a);
    return ok;
}

/* PyYAML's Emitter.analyze_scalar, for the block context dump uses. */
static bool plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n)
        return false;
    if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool followed_ws = yaml_space(s, i + 1, n);
        bool preceded_ws = i == 0 || yaml_space(s, i - 1, n);
        if (i == 0) {
            if (strchr("#,[]{}&*!|>'\"%@`", ch))
                return false;
            if ((ch == '?' || ch == ':') && followed_ws)
                return false;
            if (ch == '-' && followed_ws)
                return false;
        } else {
            if (ch == ':' && followed_ws)
                return false;
            if (ch == '#' && preceded_ws)
                return false;
        }
        if (ch < 0x20 || ch > 0x7E)       /* line breaks, tabs, non-ASCII (allow_unicode is off) */
            return false;
    }
    if (s[0] == ' ' || s[n - 1] == ' ')
        return false;
    return reads_as_str(s);
}

void deps_yaml_scalar(Sb *out, const char *s)
{
    if (plain_ok(s)) {
        sb_puts(out, s);
        return;
    }
    bool printable = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7E)
            printable = false;
    if (printable) {
        sb_putc(out, '\'');
        for (const char *p = s; *p; p++) {
            if (*p == '\'')
                sb_putc(out, '\'');
            sb_putc(out, *p);
        }
        sb_putc(out, '\'');
        return;
    }
    sb_putc(out, '"');
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned ch = u[i];
        if (ch >= 0x20 && ch < 0x7F) {
            if (ch == '"' || ch == '\\')
                sb_putc(out, '\\');
            sb_putc(out, (char)ch);
            i++;
            continue;
        }
        if (ch < 0x80) {
            switch (ch) {
            case '\n': sb_puts(out, "\\n"); break;
            case '\t': sb_puts(out, "\\t"); break;
            case '\r': sb_puts(out, "\\r"); break;
            case 0: sb_puts(out, "\\0"); break;
            default: sb_printf(out, "\\x%02X", ch);
            }
            i++;
            continue;
        }
        unsigned len, cp = decode_cp(u, i, n, &len);
        if (cp <= 0xFF)
            sb_printf(out, "\\x%02X", cp);
        else if (cp <= 0xFFFF)
            sb_printf(out, "\\u%04X", cp);
        else
            sb_printf(out, "\\U%08X", cp);
        i += len;
    }
    sb_putc(out, '"');
}

static void lock_kv(Sb *out, bool *first, const char *k, const char *v)
{
    if (!v)
        return;
    sb_puts(out, *first ? "  - " : "    ");
    *first = false;
    sb_puts(out, k);
    sb_puts(out, ": ");
    deps_yaml_scalar(out, v);
    sb_putc(out, '\n');
}

void deps_lock_text(const PkgPin *pins, int n, const char *hash, Sb *out)
{
    sb_puts(out, n ? "packages:\n" : "packages: []\n");
    for (int i = 0; i < n; i++) {
        const PkgPin *p = &pins[i];
        bool first = true;
        /* keys in sorted order, as yaml.dump sorts them */
        switch (p->kind) {
        case PKG_LOCAL:
            lock_kv(out, &first, "local", p->local);
            break;
        case PKG_TARBALL:
            lock_kv(out, &first, "name", p->name);
            lock_kv(out, &first, "tarball", p->tarball);
            break;
        case PKG_GIT:
            lock_kv(out, &first, "git", p->git_raw);
            lock_kv(out, &first, "revision", p->revision);
            lock_kv(out, &first, "subdirectory", p->subdirectory);
            break;
        case PKG_HUB:
            lock_kv(out, &first, "package", p->package);
            lock_kv(out, &first, "version", p->version);
            break;
        }
    }
    sb_puts(out, "sha1_hash: ");
    deps_yaml_scalar(out, hash);
    sb_putc(out, '\n');
}
