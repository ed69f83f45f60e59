/* profile.c - profiles.yml (spec §1.1, §1.6, §3.5): profiles dir, profile and
 * target selection with their environment twins, rendering of the selected
 * output only, postgres credential checks (type, required keys, port, the
 * pass/password and dbname/database aliases), threads, and the `target`
 * context dict (never the password).
 *
 * Connecting is not done here: Project.profile_output keeps everything the
 * adapter needs. */
#include "projpriv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../base/fs.h"

/* The target dict's connection keys, in dbt's order, with postgres defaults. */
typedef enum { PD_NONE, PD_INT, PD_STR } PDKind;
static const struct { const char *key; PDKind kind; int i; const char *s; } pg_keys[] = {
    {"host", PD_NONE, 0, NULL},           {"port", PD_NONE, 0, NULL},
    {"user", PD_NONE, 0, NULL},           {"database", PD_NONE, 0, NULL},
    {"schema", PD_NONE, 0, NULL},         {"connect_timeout", PD_INT, 10, NULL},
    {"role", PD_NONE, 0, NULL},           {"search_path", PD_NONE, 0, NULL},
    {"keepalives_idle", PD_INT, 0, NULL}, {"sslmode", PD_NONE, 0, NULL},
    {"sslcert", PD_NONE, 0, NULL},        {"sslkey", PD_NONE, 0, NULL},
    {"sslrootcert", PD_NONE, 0, NULL},    {"application_name", PD_STR, 0, "dbt"},
    {"retries", PD_INT, 1, NULL},
};

const char *project_profiles_dir(const char *given, Arena *a)
{
    const char *d = given;
    if (d && *d)
        return d;
    d = getenv("DBT_PROFILES_DIR");
    if (d && *d)
        return d;
    if (fs_is_file("profiles.yml"))
        return ".";
    const char *home = getenv("HOME");
    return arena_sprintf(a, "%s/.dbt", home && *home ? home : ".");
}

static void placeholder(Loader *L, const char *profile)
{
    Project *p = L->p;
    Arena *a = L->a;
    VDict *t = v_dict(a).u.d;
    dict_setz(a, t, "type", v_strz(a, "postgres"));
    for (size_t i = 0; i < sizeof pg_keys / sizeof pg_keys[0]; i++) {
        Value v = pg_keys[i].kind == PD_INT ? v_int(pg_keys[i].i)
                  : pg_keys[i].kind == PD_STR ? v_strz(a, pg_keys[i].s) : v_none();
        dict_setz(a, t, pg_keys[i].key, v);
    }
    dict_setz(a, t, "database", v_strz(a, "postgres"));
    dict_setz(a, t, "dbname", v_strz(a, "postgres"));
    dict_setz(a, t, "schema", v_strz(a, "public"));
    p->threads = L->opt->threads > 0 ? L->opt->threads : 1;
    dict_setz(a, t, "threads", v_int(p->threads));
    dict_setz(a, t, "name", v_strz(a, "default"));
    dict_setz(a, t, "target_name", v_strz(a, "default"));
    dict_setz(a, t, "profile_name", profile ? v_strz(a, profile) : v_none());
    p->profile_name = profile;
    p->target_name = "default";
    p->target = t;
    p->profile_output = t;
}

static int missing(Loader *L, const char *profile)
{
    if (!L->opt->need_profile) {
        placeholder(L, profile);
        return 0;
    }
    diag_set(L->err, NULL, 0, 0, NULL, "Could not find profile named '%s'", profile);
    return -1;
}

/* Render one output value; passwords that fail to render are used verbatim. */
static int render_output(Loader *L, YFile *f, YNode *out, VDict **res)
{
    VDict *d = v_dict(L->a).u.d;
    for (size_t i = 0; i < out->n; i++) {
        YNode *k = out->keys[i];
        Value v;
        const char *ks = pl_is_str(k) ? k->value.u.s->s : NULL;
        if (pl_conv(L, f, out->items[i], PR_PROFILE, PL_RENDER, &v) != 0) {
            if (ks && (!strcmp(ks, "password") || !strcmp(ks, "pass"))) {
                diag_clear(L->err);
                v = ynode_to_value(L->a, out->items[i]);
            } else {
                return -1;
            }
        }
        dict_set(L->a, d, k->value, v);
    }
    *res = d;
    return 0;
}

static bool parse_int(Value v, int64_t *out)
{
    if (v.type == V_INT) {
        *out = v.u.i;
        return true;
    }
    if (v.type == V_STR) {
        const char *s = v.u.s->s;
        while (*s == ' ')
            s++;
        char *end;
        long long x = strtoll(s, &end, 10);
        while (*end == ' ')
            end++;
        if (end != s && !*end) {
            *out = x;
            return true;
        }
    }
    if (v.type == V_FLOAT && v.u.f == (double)(int64_t)v.u.f) {
        *out = (int64_t)v.u.f;
        return true;
    }
    return false;
}

int pl_read_profile(Loader *L, const char *project_profile)
{
    Project *p = L->p;
    Arena *a = L->a;
    const char *dir = project_profiles_dir(L->opt->profiles_dir, L->a);
    char *absdir = path_absolute(dir);
    p->profiles_dir = arena_strdup(a, absdir);
    free(absdir);

    const char *name = L->opt->profile;
    if (!name || !*name) {
        const char *e = getenv("DBT_PROFILE");
        name = e && *e ? e : project_profile;
    }
    if (!name) {
        if (!L->opt->need_profile) {
            placeholder(L, NULL);
            return 0;
        }
        diag_set(L->err, "dbt_project.yml", 0, 0, NULL,
                 "No profile specified: set 'profile:' in dbt_project.yml or pass --profile");
        return -1;
    }
    name = arena_strdup(a, name);
    const char *path = arena_sprintf(a, "%s/profiles.yml", p->profiles_dir);
    if (!fs_is_file(path))
        return missing(L, name);
    YFile *f = ARENA_NEW(a, YFile);
    if (pl_yaml_file(L, path, path, f) != 0)
        return -1;
    if (f->root && f->root->kind != YN_MAP)
        return pl_err(L, f, f->root, "profiles.yml must be a mapping of profile names, got %s", pl_kind(f->root));
    YNode *prof = f->root ? ynode_get(f->root, name) : NULL;
    if (!prof)
        return missing(L, name);
    if (prof->kind != YN_MAP)
        return pl_err(L, f, prof, "Profile '%s' in profiles.yml must be a mapping, got %s", name, pl_kind(prof));
    YNode *outputs = ynode_get(prof, "outputs");
    if (!outputs || outputs->kind != YN_MAP || outputs->n == 0)
        return pl_err(L, f, outputs ? outputs : prof,
                      "Profile '%s' in profiles.yml must have an 'outputs' mapping with at least one target", name);

    /* target name: --target, DBT_TARGET, the profile's (rendered) target:, "default" */
    const char *target = L->opt->target;
    if (!target || !*target) {
        const char *e = getenv("DBT_TARGET");
        target = e && *e ? e : NULL;
    }
    if (!target) {
        YNode *tn = ynode_get(prof, "target");
        if (tn) {
            Value tv;
            if (pl_conv(L, f, tn, PR_PROFILE, PL_RENDER, &tv) != 0)
                return -1;
            if (tv.type != V_NONE)
                target = pl_fmt_value(a, tv);
        }
    }
    if (!target)
        target = "default";
    target = arena_strdup(a, target);
    YNode *out = ynode_get(outputs, target);
    if (!out) {
        Sb names = SB_INIT;
        for (size_t i = 0; i < outputs->n; i++) {
            sb_puts(&names, "\n - ");
            sb_puts(&names, pl_fmt_value(a, outputs->keys[i]->value));
        }
        int rc = pl_err(L, f, ynode_get(prof, "target") ? ynode_get(prof, "target") : outputs,
                        "The profile '%s' does not have a target named '%s'. The valid target names for this profile are:%s",
                        name, target, sb_cstr(&names));
        sb_free(&names);
        return rc;
    }
    if (out->kind != YN_MAP)
        return pl_err(L, f, out, "Target '%s' of profile '%s' must be a mapping, got %s", target, name, pl_kind(out));

    VDict *o;
    if (render_output(L, f, out, &o) != 0)
        return -1;

    /* type */
    Value *type = dict_getz(o, "type");
    if (!type || type->type == V_NONE)
        return pl_err(L, f, out, "Credentials in profile \"%s\", target \"%s\" invalid: 'type' is a required property",
                      name, target);
    const char *ts = pl_fmt_value(a, *type);
    if (strcmp(ts, "postgres") != 0)
        return pl_err(L, f, ynode_get(out, "type"), "Could not find adapter type %s!", ts);

    /* aliases */
    Value *pw = dict_getz(o, "password");
    Value *pass = dict_getz(o, "pass");
    if (!pw && pass)
        dict_setz(a, o, "password", *pass);
    Value *db = dict_getz(o, "dbname");
    Value *database = dict_getz(o, "database");
    if (db && !database)
        dict_setz(a, o, "database", *db);
    else if (database && !db)
        dict_setz(a, o, "dbname", *database);

    /* `managed: true` (cdbt runs its own local server, src/exec/pgserver.h):
     * host is decided at run time; user and port default to postgres/5432. */
    Value *managed = dict_getz(o, "managed");
    bool is_managed = managed && (managed->type == V_STR ? !strcasecmp(managed->u.s->s, "true")
                                                         : value_truthy(*managed));
    if (is_managed) {
        Value *mu = dict_getz(o, "user"), *mp = dict_getz(o, "port");
        if (!mu || mu->type == V_NONE)
            dict_setz(a, o, "user", v_strz(a, "postgres"));
        if (!mp || mp->type == V_NONE)
            dict_setz(a, o, "port", v_int(5432));
    }
    static const char *const required[] = {"host", "user", "port", "database", "schema", NULL};
    for (int i = is_managed ? 1 : 0; required[i]; i++) {
        Value *rv = dict_getz(o, required[i]);
        if (!rv || rv->type == V_NONE)
            return pl_err(L, f, out, "Credentials in profile \"%s\", target \"%s\" invalid: '%s' is a required property",
                          name, target, !strcmp(required[i], "database") ? "dbname" : required[i]);
    }
    int64_t port;
    if (!parse_int(*dict_getz(o, "port"), &port) || port < 0 || port > 65535)
        return pl_err(L, f, ynode_get(out, "port"),
                      "Credentials in profile \"%s\", target \"%s\" invalid: port must be an integer between 0 and 65535, got '%s'",
                      name, target, pl_fmt_value(a, *dict_getz(o, "port")));
    dict_setz(a, o, "port", v_int(port));

    int threads = 1;
    Value *th = dict_getz(o, "threads");
    if (th && th->type != V_NONE) {
        int64_t t;
        if (!parse_int(*th, &t) || t < 1)
            return pl_err(L, f, ynode_get(out, "threads"),
                          "Credentials in profile \"%s\", target \"%s\" invalid: threads must be a positive integer, got '%s'",
                          name, target, pl_fmt_value(a, *th));
        threads = (int)t;
    }
    if (L->opt->threads > 0)
        threads = L->opt->threads;
    dict_setz(a, o, "threads", v_int(threads));

    /* the target context: connection keys (defaults filled), then type/threads/names */
    VDict *t = v_dict(a).u.d;
    dict_setz(a, t, "type", v_strz(a, "postgres"));
    for (size_t i = 0; i < sizeof pg_keys / sizeof pg_keys[0]; i++) {
        Value *ov = dict_getz(o, pg_keys[i].key);
        Value v = ov ? *ov
                  : pg_keys[i].kind == PD_INT ? v_int(pg_keys[i].i)
                  : pg_keys[i].kind == PD_STR ? v_strz(a, pg_keys[i].s) : v_none();
        dict_setz(a, t, pg_keys[i].key, v);
        if (!ov && pg_keys[i].kind != PD_NONE)
            dict_setz(a, o, pg_keys[i].key, v);
    }
    dict_setz(a, t, "dbname", *dict_getz(o, "dbname"));
    dict_setz(a, t, "threads", v_int(threads));
    dict_setz(a, t, "name", v_strz(a, target));
    dict_setz(a, t, "target_name", v_strz(a, target));
    dict_setz(a, t, "profile_name", v_strz(a, name));

    p->profile_name = name;
    p->target_name = target;
    p->threads = threads;
    p->target = t;
    p->profile_output = o;
    return 0;
}
