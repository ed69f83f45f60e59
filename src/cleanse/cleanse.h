/* cleanse.h - the cleansing engine behind materialized='cleanse': a compiled
 * spec (columns, rules, input format), the readers that turn bytes into
 * records, and the row transform that turns a record into one line of COPY
 * text (or a reject).
 *
 * Division of labour: spec.c compiles the YAML (located errors, PCRE2 JIT);
 * rules.c runs the rules on one record; readers.c splits input bytes into
 * records (csv/tsv, regex lines, ndjson, COPY text rows) and reports reader
 * rejects; dedupe.c keeps the unique_key set; mat_cleanse.c talks to
 * PostgreSQL; validate.c checks every cleanse model of a project at load time.
 * Nothing here prints.  Return convention: 0 ok, -1 error with Diag set. */
#ifndef CDBT_CLEANSE_H
#define CDBT_CLEANSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/arena.h"
#include "../base/diag.h"
#include "../base/sb.h"
#include "../value/value.h"
#include "../yaml/yaml.h"

typedef enum { CT_TEXT, CT_VARCHAR, CT_SMALLINT, CT_INT, CT_BIGINT, CT_NUMERIC, CT_FLOAT,
               CT_BOOL, CT_DATE, CT_TS, CT_TSTZ } CleanseType;

typedef enum { CF_SQL, CF_CSV, CF_REGEX, CF_NDJSON } CleanseFormat;

typedef struct CleanseRule CleanseRule;     /* compiled rule (spec.c / rules.c) */

typedef struct CleanseCol {
    const char *name;
    const char *sql_type;       /* as written, normalised: "numeric(12,2)" */
    CleanseType type;
    int len;                    /* varchar/char length, 0 = none */
    int prec, scale;            /* numeric; prec 0 = unconstrained */
    const char *source;         /* input field name / dotted path / group name */
    int source_index;           /* csv without header: 0-based field number; -1 */
    CleanseRule *rules; int nrules;
    int field;                  /* resolved input field slot (-1: none, e.g. surrogate_key) */
    const char **path; int npath;   /* ndjson dotted path segments */
} CleanseCol;

typedef struct CleanseSpec {
    Arena *a;
    const char *model;
    CleanseCol *cols; int ncols;
    /* input */
    CleanseFormat format;
    const char *path_glob;      /* NULL for SQL input */
    bool header;
    char delim, quote;          /* quote 0 = none */
    bool latin1;
    size_t max_field;
    void *re;                   /* pcre2_code* for CF_REGEX */
    void *re_md;                /* unused placeholder (match data is per reader) */
    /* dedupe / thresholds */
    int *key_cols; int nkey;
    bool keep_last;
    int order_col;              /* -1 none */
    double max_reject_ratio;    /* <0: none */
    int64_t max_rejects;        /* <0: none */
    /* incremental */
    bool incr_files;
    const char *watermark;      /* column name or NULL */
    /* input fields the rules read: names in order of slot */
    const char **fields; int nfields;
} CleanseSpec;

/* Where the spec comes from.  columns: the model entry's `columns:` YAML
 * sequence (may be NULL); file/text: the properties file (for locations);
 * config: the folded node config. */
typedef struct CleanseSource {
    const char *model;
    VDict *config;
    const YNode *columns;
    const char *yml_path;       /* shown in errors */
    const char *yml_text; size_t yml_len;
    const char *config_where;   /* shown for config errors (model file) */
} CleanseSource;

/* Compile.  Errors: file:line:col with the source line (rules), or the
 * model's file for config keys.  Everything lives in a (spec->a = a).
 * cleanse_spec_free releases PCRE2 objects. */
CleanseSpec *cleanse_compile(Arena *a, const CleanseSource *src, Diag *err);
void cleanse_spec_free(CleanseSpec *s);

/* ---- records and the row transform */

/* One input record: nf field values (NULL pointer = SQL NULL), the source
 * position and the raw text for the rejects table. */
typedef struct CleanseRec {
    const char **f; size_t *n; int nf;
    int64_t line;
    const char *raw; size_t raw_len;
} CleanseRec;

/* One reject, handed to the sink. */
typedef struct CleanseReject {
    int64_t line;
    const char *column, *rule;  /* NULL for reader rejects */
    const char *reason;
    const char *raw; size_t raw_len;
} CleanseReject;

typedef struct CleanseStats { int64_t in, out, rejected, dups, skipped; } CleanseStats;   /* skipped: at or below the watermark */

/* A per-run transformer: owns the per-row arena, PCRE2 match data, the
 * dedupe set and the output buffers.  Not thread-safe (one per thread). */
typedef struct Cleanser Cleanser;

typedef int (*CleanseRejectFn)(void *ud, const CleanseReject *r);

Cleanser *cleanser_new(const CleanseSpec *s, CleanseRejectFn rej, void *rej_ud);
void      cleanser_free(Cleanser *c);
/* Map input field names (header / COPY column names) to the spec's field
 * slots; -1 with err when a source column is missing. */
int  cleanser_bind_names(Cleanser *c, const char **names, int n, const char *where, Diag *err);
/* Transform one record (fields already mapped to slots via cleanser_bind_* or
 * positional), appending one COPY text line to out, or calling the reject
 * sink.  With dedupe keep-last the row is held back until cleanser_finish.
 * Returns 0, or -1 if the reject sink failed. */
int  cleanser_row(Cleanser *c, const CleanseRec *r, Sb *out);
/* Reader-level reject (wrong field count, ...). */
int  cleanser_reject(Cleanser *c, int64_t line, const char *reason, const char *raw, size_t raw_len);
/* Flush held-back rows (dedupe keep last / order_by) into out, calling
 * flush(ud, out) whenever out exceeds chunk bytes.  */
int  cleanser_finish(Cleanser *c, Sb *out, size_t chunk, int (*flush)(void *ud, Sb *out), void *ud);
const CleanseStats *cleanser_stats(const Cleanser *c);
/* Incremental watermark: rows whose watermark column (spec->watermark) is
 * NULL or not greater than max_text (the target's max, as text) are skipped. */
void cleanser_set_watermark(Cleanser *c, const char *max_text);
/* Current source label for rejects ("landing/x.csv" or the relation). */
void cleanser_set_source(Cleanser *c, const char *source);
const char *cleanser_source(const Cleanser *c);

/* ---- readers (readers.c): bytes -> records -> cleanser_row. */

typedef struct CleanseReader CleanseReader;
/* emit: called with every COPY text line appended to out when out grows past
 * chunk bytes (so the caller can send it); may be NULL (out just grows). */
typedef int (*CleanseEmitFn)(void *ud, Sb *out);

CleanseReader *cleanse_reader_new(Cleanser *c, Sb *out, size_t chunk, CleanseEmitFn emit, void *ud);
void cleanse_reader_free(CleanseReader *r);
/* Read a whole file/buffer in the spec's format (csv/tsv/regex/ndjson).
 * source labels rejects.  Reader dirt becomes rejects; -1 only for I/O
 * errors, a missing header column, an emit failure or cancel (err set). */
int cleanse_read_buffer(CleanseReader *r, const char *source, const char *buf, size_t len, Diag *err);
int cleanse_read_file(CleanseReader *r, const char *path, const char *label, Diag *err);
/* COPY text rows (SQL input): one line (with or without its newline). */
int cleanse_read_copy_line(CleanseReader *r, const char *line, size_t n);
/* Set a flag the reader polls between rows; when it reads true the read stops with -1. */
void cleanse_reader_set_cancel(CleanseReader *r, bool (*cancelled)(void *ud), void *ud);

/* ---- helpers exported for tests */
/* Append s as a COPY text field (escaped; NULL -> \N). */
void cleanse_copy_escape(Sb *out, const char *s, size_t n);
/* Parse s with a strftime-like format: 0 ok (fills y..us, tz minutes, has_tz), -1 no match/impossible. */
typedef struct CleanseTm { int y, mo, d, h, mi, s, us, tzmin; bool has_tz, has_time; } CleanseTm;
int cleanse_parse_time(const char *fmt, const char *s, size_t n, bool prefix_ok, CleanseTm *tm);

/* ---- validation (validate.c) */
struct Project;
/* Compile the cleanse spec of every enabled model with materialized='cleanse'
 * (properties file re-read for locations).  -1 with err on the first error. */
int cleanse_validate_project(struct Project *p, Diag *err);
/* Build the spec for one node (used by mat_cleanse). */
struct Node;
CleanseSpec *cleanse_spec_for_node(Arena *a, struct Node *n, const char *project_root, Diag *err);
#endif
