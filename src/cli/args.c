/* args.c - argv and DBT_* environment variables into Flags.
 *
 * Global flags may appear before or after the command, as in dbt.  Options
 * that take several values (--select, --exclude, --resource-type) consume
 * every following argument up to the next one that starts with '-', and may
 * be repeated.  The environment twin of a flag (DBT_<FLAG_IN_UPPER_SNAKE>)
 * applies only when the flag is not given.  Help text lives here too. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>
#include "../base/arena.h"

typedef enum { OPT_FLAG, OPT_NOFLAG, OPT_VALUE, OPT_MULTI, OPT_INT, OPT_TRI } OptKind;   /* OPT_TRI: int -1/0/1, "--no-" spelling = 0 */

typedef struct OptSpec {
    const char *names;        /* '|'-separated spellings */
    OptKind kind;
    size_t off;               /* offset of the field in Flags */
    size_t count_off;         /* OPT_MULTI: offset of the count */
    const char *env;          /* environment twin or NULL */
    const char *help;
} OptSpec;

#define F(field) offsetof(Flags, field)
static const OptSpec kOpts[] = {
    {"--project-dir", OPT_VALUE, F(project_dir), 0, "DBT_PROJECT_DIR", "Directory holding dbt_project.yml (default: nearest ancestor of the cwd that has one)"},
    {"--profiles-dir", OPT_VALUE, F(profiles_dir), 0, "DBT_PROFILES_DIR", "Directory holding profiles.yml (default: cwd if it has one, else ~/.dbt)"},
    {"--profile", OPT_VALUE, F(profile), 0, "DBT_PROFILE", "Profile to use instead of dbt_project.yml's"},
    {"--target|-t", OPT_VALUE, F(target), 0, "DBT_TARGET", "Target of the profile to use"},
    {"--vars", OPT_VALUE, F(vars), 0, "DBT_VARS", "YAML mapping of variables, e.g. '{key: value}'"},
    {"--select|-s|-m|--models|--model", OPT_MULTI, F(select), F(nselect), "DBT_SELECT", "Nodes to include (dbt selection syntax)"},
    {"--exclude", OPT_MULTI, F(exclude), F(nexclude), "DBT_EXCLUDE", "Nodes to exclude"},
    {"--selector", OPT_VALUE, F(selector), 0, "DBT_SELECTOR", "Named selector from selectors.yml (a selector with default: true applies when no --select/--exclude is given)"},
    {"--resource-type|--resource-types", OPT_MULTI, F(resource_types), F(nresource_types), "DBT_RESOURCE_TYPES", "Restrict to resource types (model, seed, test, source, ...)"},
    {"--exclude-resource-type|--exclude-resource-types", OPT_MULTI, F(exclude_resource_types), F(nexclude_resource_types), "DBT_EXCLUDE_RESOURCE_TYPES", "Resource types to leave out"},
    {"--indirect-selection", OPT_VALUE, F(indirect_selection), 0, "DBT_INDIRECT_SELECTION", "eager (default), cautious, buildable or empty"},
    {"--output|-o", OPT_VALUE, F(output), 0, "DBT_LIST_OUTPUT", "ls output: selector (default), name, path or json; show: text or json; source freshness: the sources.json path"},
    {"--output-keys", OPT_MULTI, F(output_keys), F(noutput_keys), NULL, "ls --output json: keys to print"},
    {"--inline", OPT_VALUE, F(inline_sql), 0, NULL, "compile, show: render this SQL instead of project nodes"},
    {"--target-path", OPT_VALUE, F(target_path), 0, "DBT_TARGET_PATH", "Where artifacts go (default: target)"},
    {"--log-path", OPT_VALUE, F(log_path), 0, "DBT_LOG_PATH", "Where logs go (default: logs)"},
    {"--state", OPT_VALUE, F(state), 0, "DBT_STATE", "Directory of a previous run's artifacts (manifest.json) for state: selection"},
    {"--defer", OPT_FLAG, F(defer), 0, "DBT_DEFER", "ref() of a node not selected whose relation does not exist here resolves to the --state manifest's relation"},
    {"--no-defer", OPT_NOFLAG, F(defer), 0, NULL, NULL},
    {"--defer-state", OPT_VALUE, F(defer_state), 0, "DBT_DEFER_STATE", "Artifacts directory to defer to (default: --state)"},
    {"--favor-state", OPT_FLAG, F(favor_state), 0, "DBT_FAVOR_STATE", "With --defer: use the state's relation for every node not selected, even when it exists here"},
    {"--no-favor-state", OPT_NOFLAG, F(favor_state), 0, NULL, NULL},
    {"--threads", OPT_INT, F(threads), 0, "DBT_THREADS", "Number of worker threads"},
    {"--log-format", OPT_VALUE, F(log_format), 0, "DBT_LOG_FORMAT", "Console output: text (default) or json (one JSON object per line)"},
    {"--use-colors|--no-use-colors", OPT_TRI, F(use_colors), 0, "DBT_USE_COLORS", "Colour the console (default: only on a terminal)"},
    {"--quiet|-q", OPT_FLAG, F(quiet), 0, "DBT_QUIET", "Print only errors (and the SQL that compile --select prints)"},
    {"--no-quiet", OPT_NOFLAG, F(quiet), 0, NULL, NULL},
    {"--no-write-json", OPT_FLAG, F(no_write_json), 0, NULL, "Do not write manifest.json / run_results.json"},
    {"--write-json", OPT_NOFLAG, F(no_write_json), 0, NULL, NULL},
    {"--full-refresh|-f", OPT_FLAG, F(full_refresh), 0, "DBT_FULL_REFRESH", "Rebuild incremental models from scratch"},
    {"--fail-fast|-x", OPT_FLAG, F(fail_fast), 0, "DBT_FAIL_FAST", "Stop at the first failure"},
    {"--debug|-d", OPT_FLAG, F(debug), 0, "DBT_DEBUG", "Verbose output"},
    {"--no-print", OPT_FLAG, F(no_print), 0, "DBT_NO_PRINT", "Silence print() in templates"},
    {"--warn-error", OPT_FLAG, F(warn_error), 0, "DBT_WARN_ERROR", "Treat warnings as errors"},
    {"--store-failures", OPT_FLAG, F(store_failures), 0, "DBT_STORE_FAILURES", "Store test failures in the database"},
    {"--help|-h", OPT_FLAG, F(help), 0, NULL, "Show help"},
    {"--version|-v", OPT_FLAG, F(version), 0, NULL, "Show the version"},
    {"--no-clean-project-files-only", OPT_NOFLAG, F(clean_project_files_only), 0, NULL, "clean: allow deleting paths outside the project"},
    {"--clean-project-files-only", OPT_FLAG, F(clean_project_files_only), 0, NULL, NULL},
    {"--event-time-start", OPT_VALUE, F(event_time_start), 0, "DBT_EVENT_TIME_START", "Microbatch models: start of the batches to build (YYYY-MM-DD[ HH:MM:SS], UTC)"},
    {"--event-time-end", OPT_VALUE, F(event_time_end), 0, "DBT_EVENT_TIME_END", "Microbatch models: end of the batches to build (exclusive)"},
    {"--empty", OPT_FLAG, F(empty), 0, "DBT_EMPTY", "ref() and source() read no rows: build the relations' shape only (run, build, compile)"},
    {"--config-dir", OPT_FLAG, F(config_dir), 0, NULL, "debug: print where profiles.yml is looked up, and exit"},
    {"--limit", OPT_VALUE, F(limit), 0, NULL, "show: rows to fetch (default 5; -1: all)"},
    {"--args", OPT_VALUE, F(op_args), 0, NULL, "run-operation: YAML mapping of the macro's keyword arguments, e.g. '{role: reporter}'"},
    {"--lock", OPT_FLAG, F(deps_lock), 0, NULL, "deps: resolve the packages and write package-lock.yml without installing them"},
    {"--upgrade", OPT_FLAG, F(deps_upgrade), 0, NULL, "deps: resolve the packages again even when package-lock.yml is up to date"},
    {"--no-compile", OPT_FLAG, F(no_compile), 0, NULL, "docs generate: do not compile first (the manifest is still written)"},
    {"--compile", OPT_NOFLAG, F(no_compile), 0, NULL, NULL},
    {"--empty-catalog", OPT_FLAG, F(empty_catalog), 0, NULL, "docs generate: write catalog.json without querying the database"},
    /* Accepted for compatibility; no effect yet. */
    {"--no-partial-parse", OPT_FLAG, F(no_partial_parse), 0, NULL, "Parse every file; do not read or write target/cdbt.db"},
    {"--partial-parse", OPT_NOFLAG, F(no_partial_parse), 0, NULL, NULL},
    {"--version-check|--no-version-check|--static-parser|--no-static-parser|--send-anonymous-usage-stats|--no-send-anonymous-usage-stats|--introspect|--no-introspect|--populate-cache|--no-populate-cache", OPT_FLAG, 0, 0, NULL, NULL},
    {"--log-level|--log-level-file|--log-format-file|--printer-width|--log-cache-events", OPT_VALUE, 0, 0, NULL, NULL},
};
#undef F
#define NOPTS (sizeof kOpts / sizeof kOpts[0])

static bool name_matches(const char *names, const char *arg, size_t arglen)
{
    const char *p = names;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == arglen && memcmp(p, arg, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static const OptSpec *find_opt(const char *arg, size_t n)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (name_matches(kOpts[i].names, arg, n))
            return &kOpts[i];
    return NULL;
}

static void push_multi(Flags *f, const OptSpec *o, const char *v)
{
    const char ***arr = (const char ***)((char *)f + o->off);
    int *cnt = (int *)((char *)f + o->count_off);
    *arr = xrealloc((void *)*arr, sizeof(char *) * (size_t)(*cnt + 1));
    (*arr)[(*cnt)++] = v;
}

void cli_free_flags(Flags *f)
{
    free((void *)f->select);
    free((void *)f->exclude);
    free((void *)f->resource_types);
    free((void *)f->exclude_resource_types);
    free((void *)f->output_keys);
    f->select = f->exclude = f->resource_types = f->exclude_resource_types = f->output_keys = NULL;
}

static int parse_int(const char *v, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0 || x > 1024)
        return -1;
    *out = (int)x;
    return 0;
}

static int set_value(Flags *f, const OptSpec *o, const char *optname, const char *v, Diag *err)
{
    if (o->off == 0 && o->kind != OPT_MULTI)
        return 0;   /* accepted, ignored */
    switch (o->kind) {
    case OPT_VALUE: *(const char **)((char *)f + o->off) = v; return 0;
    case OPT_MULTI: push_multi(f, o, v); return 0;
    case OPT_INT:
        if (parse_int(v, (int *)((char *)f + o->off)) != 0) {
            diag_set(err, NULL, 0, 0, NULL, "Invalid value for '%s': '%s' is not a valid integer", optname, v);
            return -1;
        }
        return 0;
    default: return 0;
    }
}

static int event_time_flags(Flags *f, Diag *err);

static bool env_truthy(const char *v) { return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")); }

int cli_parse_args(int argc, char **argv, Flags *f, Diag *err)
{
    bool seen[NOPTS] = {0};
    memset(f, 0, sizeof *f);
    f->argc = argc;
    f->argv = argv;
    f->clean_project_files_only = true;
    f->use_colors = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (!f->command) {
                f->command = a;
                continue;
            }
            if (!f->subcommand && (!strcmp(f->command, "server") || !strcmp(f->command, "run-operation") ||
                                   !strcmp(f->command, "source") || !strcmp(f->command, "docs"))) {
                f->subcommand = a;
                continue;
            }
            diag_set(err, NULL, 0, 0, NULL, "Got unexpected extra argument (%s)", a);
            return -1;
        }
        const char *eq = strchr(a, '=');
        size_t n = (eq && a[1] == '-') ? (size_t)(eq - a) : strlen(a);
        const OptSpec *o = find_opt(a, n);
        if (!o) {
            diag_set(err, NULL, 0, 0, NULL, "No such option: %.*s", (int)n, a);
            return -1;
        }
        seen[o - kOpts] = true;
        if (o->kind == OPT_TRI) {
            if (eq && a[1] == '-') {
                diag_set(err, NULL, 0, 0, NULL, "Option '%.*s' does not take a value", (int)n, a);
                return -1;
            }
            *(int *)((char *)f + o->off) = strncmp(a, "--no-", 5) != 0;
            continue;
        }
        if (o->kind == OPT_FLAG || o->kind == OPT_NOFLAG) {
            if (eq && a[1] == '-') {
                diag_set(err, NULL, 0, 0, NULL, "Option '%.*s' does not take a value", (int)n, a);
                return -1;
            }
            if (o->off)   /* off 0 (the command field) marks accepted-but-ignored options */
                *(bool *)((char *)f + o->off) = (o->kind == OPT_FLAG);
            continue;
        }
        if (eq && a[1] == '-') {
            if (set_value(f, o, a, eq + 1, err) != 0)
                return -1;
        } else if (i + 1 < argc) {
            if (set_value(f, o, a, argv[++i], err) != 0)
                return -1;
        } else {
            diag_set(err, NULL, 0, 0, NULL, "Option '%s' requires an argument", a);
            return -1;
        }
        if (o->kind == OPT_MULTI)
            while (i + 1 < argc && argv[i + 1][0] != '-')
                push_multi(f, o, argv[++i]);
    }
    /* environment twins */
    for (size_t k = 0; k < NOPTS; k++) {
        const OptSpec *o = &kOpts[k];
        if (!o->env || seen[k])
            continue;
        const char *v = getenv(o->env);
        if (!v || !*v)
            continue;
        if (o->kind == OPT_TRI) {
            *(int *)((char *)f + o->off) = env_truthy(v);
        } else if (o->kind == OPT_FLAG) {
            *(bool *)((char *)f + o->off) = env_truthy(v);
        } else if (set_value(f, o, o->env, v, err) != 0) {
            return -1;
        }
    }
    return event_time_flags(f, err);
}

/* --event-time-start / --event-time-end: click.DateTime values, mutually
 * required, start before end (dbt 1.9's flag checks) */
static int event_time_flags(Flags *f, Diag *err)
{
    const char *names[2] = {"--event-time-start", "--event-time-end"};
    const char *vals[2] = {f->event_time_start, f->event_time_end};
    int64_t *outs[2] = {&f->et_start, &f->et_end};
    for (int k = 0; k < 2; k++) {
        if (vals[k] && dbt_mb_parse_flag_time(vals[k], outs[k]) != 0) {
            diag_set(err, NULL, 0, 0, NULL, "Invalid value for '%s': '%s' does not match the formats '%%Y-%%m-%%d', "
                     "'%%Y-%%m-%%dT%%H:%%M:%%S', '%%Y-%%m-%%d %%H:%%M:%%S'.", names[k], vals[k]);
            return -1;
        }
    }
    if (!vals[0] != !vals[1]) {
        int given = vals[0] ? 0 : 1;
        diag_set(err, NULL, 0, 0, NULL, "When specifying `%s`, `%s` must also be present.", names[given], names[1 - given]);
        return -1;
    }
    if (vals[0] && f->et_start >= f->et_end) {
        diag_set(err, NULL, 0, 0, NULL, "Value for `--event-time-start` must be less than `--event-time-end`");
        return -1;
    }
    return 0;
}

void cli_print_help(FILE *out, const char *command)
{
    if (!command) {
        fprintf(out,
            "Usage: cdbt [OPTIONS] COMMAND [ARGS]...\n\n"
            "  cdbt: a dbt-compatible SQL transformation compiler and runner.\n"
            "  Points at a dbt project (dbt_project.yml, models, macros, seeds, tests)\n"
            "  and compiles it the way dbt-core 1.9 with dbt-postgres does.\n\n"
            "Commands:\n");
#define CMD(name, fn, prof, summary) fprintf(out, "  %-13s %s\n", name, summary);
#include "commands.def"
#undef CMD
        fprintf(out, "\nRun 'cdbt COMMAND --help' for the options of a command.\n"
                     "Exit codes: 0 success, 1 node failures, 2 project or usage errors.\n");
        return;
    }
    fprintf(out, "Usage: cdbt %s [OPTIONS]\n\n", command);
#define CMD(name, fn, prof, summary) if (!strcmp(command, name)) fprintf(out, "  %s\n\n", summary);
#include "commands.def"
#undef CMD
    fprintf(out, "Options:\n");
    for (size_t k = 0; k < NOPTS; k++) {
        const OptSpec *o = &kOpts[k];
        if (!o->help)
            continue;
        char names[96];
        snprintf(names, sizeof names, "%s", o->names);
        for (char *p = names; *p; p++)
            if (*p == '|') *p = ',';
        const char *arg = o->kind == OPT_VALUE ? " TEXT" : o->kind == OPT_MULTI ? " TEXT..." : o->kind == OPT_INT ? " N" : "";
        char left[128];
        snprintf(left, sizeof left, "%s%s", names, arg);
        fprintf(out, "  %-42s %s", left, o->help);
        if (o->env)
            fprintf(out, " [env: %s]", o->env);
        fputc('\n', out);
    }
}
