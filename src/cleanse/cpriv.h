/* cpriv.h - internals shared by the cleanse files: the compiled rule and the
 * scalar parsers (integer, numeric, float, boolean, date/time) that spec.c
 * uses to validate defaults and rules.c runs per value. */
#ifndef CDBT_CLEANSE_PRIV_H
#define CDBT_CLEANSE_PRIV_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "cleanse.h"

typedef enum {
    RK_TRIM, RK_LTRIM, RK_RTRIM, RK_LOWER, RK_UPPER, RK_TITLE, RK_COLLAPSE,
    RK_NULL_IF, RK_REPLACE, RK_REGEX_REPLACE, RK_MATCH, RK_EXTRACT,
    RK_INTEGER, RK_NUMERIC, RK_FLOAT, RK_BOOLEAN, RK_DATE, RK_TIMESTAMP,
    RK_RANGE, RK_MIN_LEN, RK_MAX_LEN, RK_ACCEPTED, RK_DEFAULT, RK_NOT_NULL,
    RK_SURROGATE, RK_VARCHAR_LEN /* implicit */
} RuleKind;

typedef enum { OF_REJECT, OF_NULL, OF_DEFAULT } OnFail;

typedef struct Words { const char **w; size_t *n; int count; } Words;

struct CleanseRule {
    RuleKind kind;
    OnFail on_fail;
    const char *name;             /* rule name as written (rejects.rule) */
    const char *dflt; size_t dflt_len;   /* OF_DEFAULT / RK_DEFAULT value (NULL = SQL NULL) */
    Words words, words2;          /* null_if / accepted_values / boolean true,false */
    bool ci;                      /* case-insensitive word match */
    const char *s1, *s2; size_t n1, n2;  /* replace old/new; regex_replace replacement */
    pcre2_code *re;
    int group;
    const char **formats; int nformats;
    bool has_min, has_max;
    double min, max;              /* numeric ranges */
    const char *smin, *smax;      /* date/timestamp ranges (canonical text) */
    int64_t ilen;
    int *cols; int ncols;         /* surrogate key: output column indices */
    int prec, scale;              /* numeric */
    CleanseType type;             /* the column's type (integer range, ...) */
};

/* Scalar parsers: parse s[0..n) and append the canonical text to out
 * (PostgreSQL's own text form, so a cast to text gives the same string).
 * Return 0, or -1 with *why set to a static reason. */
int cl_parse_integer(const char *s, size_t n, CleanseType t, Sb *out, int64_t *v, const char **why);
int cl_parse_numeric(const char *s, size_t n, int prec, int scale, Sb *out, double *v, const char **why);
int cl_parse_float(const char *s, size_t n, Sb *out, double *v, const char **why);
int cl_parse_time(const char *const *formats, int nformats, CleanseType t, const char *s, size_t n,
                  Sb *out, const char **why);
bool cl_words_has(const Words *w, bool ci, const char *s, size_t n);
size_t cl_utf8_len(const char *s, size_t n);
bool cl_utf8_valid(const char *s, size_t n);

typedef struct CVal { const char *p; size_t n; bool null; } CVal;

typedef struct DedupEnt {
    char *key; size_t klen;          /* in Cleanser.keys arena */
    char *row; size_t rowlen;        /* held-back COPY line (keep last / order_by), malloc */
    char *ord; size_t ordlen; bool ord_null;
    double ordnum;
} DedupEnt;

/* Open-addressing slot: compact so probes stay in cache; ent is 1-based (0 = empty). */
typedef struct DedupSlot { uint64_t hash; uint32_t ent; uint32_t klen; } DedupSlot;

struct Cleanser {
    const CleanseSpec *s;
    Arena row;                       /* reset per record */
    Arena keys;                      /* dedupe keys: grows with distinct keys */
    CVal *vals;
    pcre2_match_data *md;
    CleanseRejectFn rej; void *rej_ud;
    const char *source;
    CleanseStats st;
    int *slot_pos;                   /* input position of each field slot (-1: absent -> NULL) */
    int nslots;
    Sb tmp, key;
    /* dedupe */
    DedupSlot *slots; size_t nslots_tab;
    DedupEnt *ents; size_t nents, capents;
    bool hold;                       /* keep last / order_by: rows held until finish */
    const char *wm; double wmnum; int wm_col;   /* watermark (NULL: none) */
    int prefetch_at;                 /* key known after this column: hash + prefetch early (-1) */
    uint64_t khash;
};
#endif
