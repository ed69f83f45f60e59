/* load.c - the steps every project command shares: load the project, parse
 * every node (reusing target/cdbt.db for unchanged nodes unless
 * --no-partial-parse, see src/cache), build the DAG, select, write
 * manifest.json.  Errors are printed here (this is CLI code) and turned into
 * dbt's exit codes. */
#include "cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../base/fs.h"
#include "../yaml/yaml.h"
#include "../dbt/manifest.h"
#include "../cleanse/cleanse.h"
#include "../cache/cache.h"
#include "../base/journal.h"

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_print_diag(const Diag *d)
{
    Sb out = SB_INIT;
    diag_format(d, &out);
    fputs(sb_cstr(&out), stderr);
    if (out.len && out.buf[out.len - 1] != '\n')
        fputc('\n', stderr);
    sb_free(&out);
}

static int fail(Diag *d)
{
    cli_print_diag(d);
    diag_clear(d);
    return EXIT_PROJECT_ERROR;
}

static int parse_cli_vars(Session *s, Diag *err)
{
    const char *txt = s->flags->vars;
    if (!txt || !*txt)
        return 0;
    Value v;
    if (yaml_load_value(&s->arena, "--vars", txt, strlen(txt), &v, err) != 0)
        return -1;
    if (v.type == V_NONE) {
        s->cli_vars = v_dict(&s->arena).u.d;
        return 0;
    }
    if (v.type != V_DICT) {
        diag_set(err, NULL, 0, 0, NULL,
                 "The --vars argument must be a YAML dictionary, but was of type '%s'", value_type_name(v));
        return -1;
    }
    s->cli_vars = v.u.d;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident and peak resident MB (/proc/self/status), or -1. */
static void rss_now(double *rss, double *hwm)
{
    *rss = *hwm = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    long kb;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb / 1024;
        else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = (double)kb / 1024;
    }
    fclose(f);
}

/* CDBT_PHASES=1: one stderr line per phase with its wall and CPU seconds;
 * CDBT_PHASES=rss adds the resident and peak resident MB at its end (for
 * bench/ and profiling; not a user interface). */
void cli_phase(const char *name)
{
    static int on = -1;
    static double w0, c0;
    if (on < 0) {
        const char *e = getenv("CDBT_PHASES");
        on = !e || !*e || strcmp(e, "0") == 0 ? 0 : strcmp(e, "rss") == 0 ? 2 : 1;
        w0 = cli_now();
        c0 = cpu_now();
    }
    if (!on)
        return;
    double w = cli_now(), c = cpu_now();
    if (on == 2) {
        double rss, hwm;
        rss_now(&rss, &hwm);
        fprintf(stderr, "phase %-16s wall %.3f cpu %.3f rss %.1f peak %.1f\n", name, w - w0, c - c0, rss, hwm);
    } else {
        fprintf(stderr, "phase %-16s wall %.3f cpu %.3f\n", name, w - w0, c - c0);
    }
    w0 = w;
    c0 = c;
}

/* DbtOptions hooks: forward to the cache once it is open. */
static bool hook_parse_skip(void *ud, const Node *n)
{
    Session *s = ud;
    return s->cache && cache_parse_skip(s->cache, n);
}

static void hook_env_read(void *ud, const Node *n, const char *name, const char *value)
{
    Session *s = ud;
    if (s->cache)
        cache_env_read(s->cache, n, name, value);
}

static void cache_warning(Session *s, char **w)
{
    if (*w && !s->flags->quiet)
        fprintf(stderr, "warning: %s\n", *w);
    free(*w);
    *w = NULL;
}

/* Open target/cdbt.db and restore what it holds for unchanged nodes
 * (restore false: open it for the rest of the command only). */
static void cache_begin(Session *s, bool restore)
{
    Flags *f = s->flags;
    if (f->no_partial_parse)
        return;
    char *w = NULL;
    s->cache = cache_open(session_target_dir(s), &w);
    if (s->cache && restore) {
        CacheParseEnv ce = {f->command ? f->command : "compile", f->full_refresh, f->empty, fastpath_macros_only()};
        cache_parse_begin(s->cache, s->project, &ce, &w);
        s->parse_cached = true;
    }
    cache_warning(s, &w);
}

/* Store what was re-parsed: the database is written on a thread of the
 * cache's while the command goes on (session_close waits for it). */
static void cache_end(Session *s)
{
    if (!s->cache || !s->parse_cached)
        return;
    char *w = NULL;
    cache_parse_end(s->cache, s->project, &w);
    cache_warning(s, &w);
    if (s->flags->debug) {
        int r, p, u;
        cache_parse_stats(s->cache, &r, &p, &u);
        char why[512];
        cache_parse_why(s->cache, why, sizeof why);
        if (cache_parse_idle(s->cache))
            fprintf(stderr, "cdbt cache: %d nodes parsed; macros changed since every entry was stored, which are "
                            "left as they are\n", p);
        else
            fprintf(stderr, "cdbt cache: %d nodes restored, %d parsed (%d not cacheable)\n", r, p, u);
        if (p > 0 && why[0])
            fprintf(stderr, "cdbt cache: why parsed: %s\n", why);
    }
    cache_parse_release(s->cache);
}

/* The dbt layer's options for this command line (with or without the
 * parse cache's hooks) and the loader's. */
static DbtOptions dbt_options(Session *s, bool hooks)
{
    Flags *f = s->flags;
    DbtOptions dopt = {0};
    dopt.which = f->command;
    dopt.cli_vars = s->cli_vars;
    dopt.full_refresh = f->full_refresh;
    dopt.empty = f->empty;
    dopt.out = stdout;
    dopt.no_print = f->no_print;
    dopt.log_json = f->log_format && strcmp(f->log_format, "json") == 0;
    if (hooks) {
        dopt.parse_skip = hook_parse_skip;
        dopt.env_read = hook_env_read;
        dopt.hook_ud = s;
        dopt.record_macros = !f->no_partial_parse;   /* the parse cache keys nodes on them */
    }
    return dopt;
}

static ProjectOptions project_options(Session *s, bool need_profile)
{
    Flags *f = s->flags;
    ProjectOptions popt = {0};
    popt.project_dir = f->project_dir;
    popt.profiles_dir = f->profiles_dir;
    popt.profile = f->profile;
    popt.target = f->target;
    popt.target_path = f->target_path;
    popt.cli_vars = s->cli_vars;
    popt.need_profile = need_profile;
    popt.threads = f->threads;
    return popt;
}

static int open_session(Session *s, Flags *f, bool need_profile, bool restore);

int session_open(Session *s, Flags *f, bool need_profile) { return open_session(s, f, need_profile, true); }

static int open_session(Session *s, Flags *f, bool need_profile, bool restore)
{
    Diag err = {0};
    memset(s, 0, sizeof *s);
    s->flags = f;
    s->t_start = cli_now();
    cli_phase("start");
    arena_init(&s->arena, 0);
    if (parse_cli_vars(s, &err) != 0)
        return fail(&err);
    DbtOptions dopt = dbt_options(s, true);
    s->dbt = dbt_new(&dopt);
    ProjectOptions popt = project_options(s, need_profile);
    double t0 = cpu_now();
    s->project = project_load(&popt, dbt_renderer(s->dbt), &err);
    if (!s->project)
        return fail(&err);
    /* the loader's warnings (a patch for a missing node, a renamed config
     * key, ...): errors under --warn-error, as dbt's warn_or_error */
    for (int i = 0; i < s->project->nwarnings; i++) {
        if (f->warn_error) {
            diag_set(&err, NULL, 0, 0, NULL, "%s", s->project->warnings[i]);
            return fail(&err);
        }
        if (!f->quiet)
            fprintf(stderr, "warning: %s\n", s->project->warnings[i]);
    }
    /* this run may write outputs: snapshots stored before it no longer
     * vouch for them (cache_stamp_write); its own snapshot keeps its token */
    if (cache_stamp_write(session_target_dir(s), dbt_invocation_id(s->dbt)) == 0)
        s->stamp = dbt_invocation_id(s->dbt);
    if (dbt_attach(s->dbt, s->project, &err) != 0)
        return fail(&err);
    double t1 = cpu_now();
    cli_phase("load");
    cache_begin(s, restore);
    cli_phase("cache lookup");
    double t2 = cpu_now();
    unsigned long shared0 = value_shared_changes();
    /* a compile that may store a snapshot traces which macro files the
     * renders call: the next compile after an edit of macros alone may then
     * keep the tests' compiled code (cmd_compile) */
    bool trace = s->cache && journal_active() && strcmp(f->command, "compile") == 0;
    if (trace)
        dbt_trace_macros(s->dbt, DBT_TRACE_ALL);
    if (dbt_parse(s->dbt, &err) != 0)
        return fail(&err);
    if (trace) {
        s->nparse_macro_files = dbt_traced_files(s->dbt, &s->parse_macro_files);
        dbt_trace_macros(s->dbt, DBT_TRACE_TESTS);
        s->traced = true;
    }
    double t3 = cpu_now();
    cli_phase("parse");
    if (s->parse_cached && value_shared_changes() != shared0) {
        /* a render changed a var, a global or a config value in place, which
         * later renders see: renders restored from the cache did not make
         * their changes.  Nothing of the cache is used for this project
         * from now on (cache_parse_forget), and a parse that restored
         * nodes is done again without it. */
        int restored, parsed, uncacheable;
        cache_parse_stats(s->cache, &restored, &parsed, &uncacheable);
        char *w = NULL;
        cache_parse_forget(s->cache, &w);
        cache_warning(s, &w);
        if (restored > 0) {
            if (f->debug)
                fprintf(stderr, "cdbt cache: a render changed a value other renders see; parsing again "
                                "without the %d restored nodes\n", restored);
            session_close(s);
            return open_session(s, f, need_profile, false);
        }
    }
    cache_end(s);
    cli_phase("cache store");
    if (f->debug)
        fprintf(stderr, "cdbt timing (cpu s): load %.3f, cache lookup %.3f, parse %.3f, cache store %.3f\n",
                t1 - t0, t2 - t1, t3 - t2, cpu_now() - t3);
    s->graph = graph_build(s->project, &err);
    if (!s->graph)
        return fail(&err);
    cli_phase("graph");
    /* cleanse models: rules, patterns and types checked before anything runs */
    if (cleanse_validate_project(s->project, &err) != 0)
        return fail(&err);
    return EXIT_OK;
}

/* Load without the parse cache or a parse: `cdbt debug`, and a delta
 * compile's project of a few models (models/props: ProjectOptions). */
static int load_only(Session *s, Flags *f, bool need_profile, const char *const *models, int nmodels,
                     const char *props, bool only_yml, Diag *err)
{
    memset(s, 0, sizeof *s);
    s->flags = f;
    s->t_start = cli_now();
    arena_init(&s->arena, 0);
    if (parse_cli_vars(s, err) != 0)
        return -1;
    DbtOptions dopt = dbt_options(s, false);
    s->dbt = dbt_new(&dopt);
    ProjectOptions popt = project_options(s, need_profile);
    popt.only_models = models;
    popt.nonly_models = nmodels;
    popt.only_props = props;
    popt.only_project_yml = only_yml;
    s->project = project_load(&popt, dbt_renderer(s->dbt), err);
    return s->project ? 0 : -1;
}

int session_load_project(Session *s, Flags *f, bool need_profile, Diag *err)
{
    return load_only(s, f, need_profile, NULL, 0, NULL, false, err);
}

int session_load_project_yml(Session *s, Flags *f, Diag *err)
{
    return load_only(s, f, false, NULL, 0, NULL, true, err);
}

int session_open_delta(Session *s, Flags *f, const char *const *models, int nmodels, const char *props,
                       Diag *err)
{
    if (load_only(s, f, true, models, nmodels, props, false, err) != 0)
        return -1;
    return dbt_attach(s->dbt, s->project, err);
}

void session_close(Session *s)
{
    fastpath_oracle_free();
    if (s->defer)
        strmap_free(s->defer);
    if (s->clone_from)
        strmap_free(s->clone_from);
    if (s->cache) {
        /* the parse store's warnings are printed once it is over */
        char *w = NULL;
        cache_parse_wait(s->cache, &w);
        cache_warning(s, &w);
        cache_close(s->cache);
    }
    if (s->graph)
        graph_free(s->graph);
    if (s->dbt)
        dbt_free(s->dbt);
    if (s->project)
        project_free(s->project);
    arena_free(&s->arena);
}

const char *session_target_dir(Session *s)
{
    const char *tp = s->project->target_path;
    if (tp[0] == '/')
        return tp;
    return arena_sprintf(&s->arena, "%s/%s", s->project->root, tp);
}

static int rt_list_parse(Session *s, const char **names, int n, bool *out, Diag *err)
{
    for (int i = 0; i < n; i++) {
        /* values may also be comma- or space-separated */
        char *copy = arena_strdup(&s->arena, names[i]);
        for (char *tok = strtok(copy, ", "); tok; tok = strtok(NULL, ", ")) {
            if (!strcmp(tok, "all") || !strcmp(tok, "default")) {
                for (int k = 0; k < RT__COUNT; k++)
                    out[k] = true;
                continue;
            }
            int rt = rt_from_name(tok);
            if (rt < 0) {
                diag_set(err, NULL, 0, 0, NULL,
                         "Invalid value for '--resource-type': '%s' is not one of 'model', 'seed', 'test', "
                         "'snapshot', 'analysis', 'source', 'operation', 'unit_test', 'exposure', 'all', 'default'", tok);
                return -1;
            }
            out[rt] = true;
        }
    }
    return 0;
}

static const char *last_status(void *ud, const char *unique_id)
{
    Session *s = ud;
    return cache_last_status(s->cache, unique_id);
}

static bool g_warned;           /* a selection warning was printed */

bool session_warned(void) { return g_warned; }

static void warn_unmatched(void *ud, const char *expr)
{
    const Flags *f = ud;
    g_warned = true;
    if (!f->quiet)
        fprintf(stderr, "warning: The selection criterion '%s' does not match any enabled nodes\n", expr);
}

int session_select(Session *s, const int *default_rts, bool *out)
{
    Diag err = {0};
    Flags *f = s->flags;
    if (f->only_ids) {
        /* retry: exactly the nodes that did not succeed last time */
        StrMap ids;
        strmap_init(&ids);
        for (int i = 0; i < f->nonly_ids; i++)
            strmap_putz(&ids, f->only_ids[i], (void *)1);
        for (int i = 0; i < s->project->nnodes; i++)
            out[i] = strmap_getz(&ids, s->project->nodes[i]->unique_id) != NULL;
        strmap_free(&ids);
        return EXIT_OK;
    }
    SelectOptions so = {0};
    so.select = f->select;
    so.nselect = f->nselect;
    so.exclude = f->exclude;
    so.nexclude = f->nexclude;
    so.indirect = INDIRECT_EAGER;
    so.on_unmatched = warn_unmatched;
    so.unmatched_ud = f;
    so.state_dir = f->state;
    if (s->cache) {
        so.last_status = last_status;
        so.last_status_ud = s;
    }
    if (f->selector && (f->nselect || f->nexclude)) {
        diag_set(&err, NULL, 0, 0, NULL, "--selector cannot be combined with --select or --exclude");
        return fail(&err);
    }
    {
        const char **ssel = NULL, **sexc = NULL;
        int nssel = 0, nsexc = 0;
        bool found = false;
        if (selectors_resolve(s, &ssel, &nssel, &sexc, &nsexc, &found, &err) != 0)
            return fail(&err);
        if (found) {
            so.select = ssel;
            so.nselect = nssel;
            so.exclude = sexc;
            so.nexclude = nsexc;
        }
    }
    if (f->indirect_selection) {
        int m = graph_indirect_from_name(f->indirect_selection);
        if (m < 0) {
            diag_set(&err, NULL, 0, 0, NULL,
                     "Invalid value for '--indirect-selection': '%s' is not one of 'eager', 'cautious', 'buildable', 'empty'",
                     f->indirect_selection);
            return fail(&err);
        }
        so.indirect = (IndirectMode)m;
    }
    if (f->nresource_types) {
        if (rt_list_parse(s, f->resource_types, f->nresource_types, so.resource_types, &err) != 0)
            return fail(&err);
    } else if (default_rts) {
        for (const int *r = default_rts; *r >= 0; r++)
            so.resource_types[*r] = true;
    }
    if (f->nexclude_resource_types) {
        bool ex[RT__COUNT] = {0};
        if (rt_list_parse(s, f->exclude_resource_types, f->nexclude_resource_types, ex, &err) != 0)
            return fail(&err);
        bool any = false;
        for (int k = 0; k < RT__COUNT; k++)
            any |= so.resource_types[k];
        for (int k = 0; k < RT__COUNT; k++) {
            if (!any)
                so.resource_types[k] = true;
            if (ex[k])
                so.resource_types[k] = false;
        }
    }
    if (graph_select(s->project, s->graph, &so, out, &err) != 0)
        return fail(&err);
    return EXIT_OK;
}

int session_write_manifest(Session *s)
{
    return session_write_manifest_slots(s, NULL);
}

int session_write_manifest_slots(Session *s, JsonSlot *slots)
{
    if (s->flags->no_write_json)
        return EXIT_OK;
    Diag err = {0};
    const char *path = arena_sprintf(&s->arena, "%s/manifest.json", session_target_dir(s));
    if (manifest_write_slots(s->project, dbt_invocation_id(s->dbt), path, slots, &err) != 0)
        return fail(&err);
    cli_phase("manifest.json");
    return EXIT_OK;
}
