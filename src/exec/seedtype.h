/* seedtype.h - dbt's seed type inference (agate's TypeTester as dbt
 * configures it, §8.2) and the normalised value cdbt loads for each type.
 *
 * Inference: every column starts with all candidates (Number, Date,
 * DateTime, ISODateTime, Boolean, Text); each value removes the candidates
 * that reject it (null tokens pass every type; missing fields of short rows
 * are not tested); the first surviving candidate in that order wins.  Columns
 * named in `column_types` are forced to Text.  A Number column is `integer`
 * when agate's MaxPrecision over the normalised values is 0, else `float8`.
 *
 * Values: seedtype_value() writes the value dbt would bind (psycopg2's
 * rendering of the parsed Python value) as text PostgreSQL's input function
 * reads to the same datum: numbers as plain decimals (NaN/Infinity as NaN,
 * as psycopg2 does), dates ISO, booleans true/false (also right for a kept text column), text verbatim.
 *
 * No allocation beyond the SeedTyper arrays; every parse function is pure. */
#ifndef CDBT_SEEDTYPE_H
#define CDBT_SEEDTYPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/sb.h"

typedef enum SeedType {
    SEED_NUMBER = 0,
    SEED_DATE,
    SEED_DATETIME,
    SEED_ISODATETIME,
    SEED_BOOLEAN,
    SEED_TEXT,
    SEED__COUNT
} SeedType;

const char *seedtype_name(SeedType t);            /* "Number", "Date", ... (agate class names) */

/* ---- value parsers (exposed for tests) ---- */

/* Python str.strip() whitespace: ASCII and Unicode White_Space as str.isspace(). */
void seedtype_strip(const char *s, size_t n, size_t *b, size_t *e);
/* agate null test for every type but Boolean: strip, then "" or "null" (any case). */
bool seedtype_is_null(const char *s, size_t n);

/* A parsed agate Number (Python Decimal after `* sign`, rounded to 28 digits). */
typedef enum { SNUM_FINITE, SNUM_NAN, SNUM_INF } SeedNumKind;
typedef struct SeedNum {
    SeedNumKind kind;
    bool neg;
    char digits[32];           /* normalised coefficient: no leading/trailing zeros ("0" for zero), <= 28 digits */
    int ndigits;
    int64_t exp;               /* value = digits * 10^exp (normalised) */
} SeedNum;
/* 1 = number, 0 = null token, -1 = not a Number. */
int seedtype_parse_number(const char *s, size_t n, SeedNum *out);

typedef struct SeedTime {
    int y, mo, d, h, mi, s, us;
    bool aware;                /* ISO value with Z / +hh:mm */
    int off_min;               /* UTC offset in minutes when aware */
} SeedTime;
/* Date: strptime %Y-%m-%d on the stripped value. 1 / 0 null / -1 */
int seedtype_parse_date(const char *s, size_t n, SeedTime *out);
/* DateTime: strptime %Y-%m-%d %H:%M:%S. */
int seedtype_parse_datetime(const char *s, size_t n, SeedTime *out);
/* ISODateTime: isodate 0.6 parse_datetime (one 'T'; prefix matching as isodate). */
int seedtype_parse_isodatetime(const char *s, size_t n, SeedTime *out);
/* Boolean: commas removed, stripped, true/false any case.  1 / 0 null / -1. */
int seedtype_parse_bool(const char *s, size_t n, bool *out);

/* ---- inference over a whole file ---- */

typedef struct SeedCol {
    unsigned cand;             /* bit per SeedType still possible */
    bool forced;               /* column_types: Text, SQL type given by the user */
    bool any_aware;            /* an ISO value with a UTC offset was seen */
    int64_t max_whole, max_dec;/* agate MaxPrecision state */
    bool seen_number;
    bool not_int4;             /* a Number that is not a whole int32 (NaN, 1.5, 3e9) */
    bool not_float8;           /* a Number whose magnitude nears double's limits */
} SeedCol;

typedef struct SeedTyper {
    int ncols;
    SeedCol *cols;             /* heap, ncols */
} SeedTyper;

/* forced may be NULL (no column_types). */
void seedtype_init(SeedTyper *t, int ncols, const bool *forced);
void seedtype_free(SeedTyper *t);
/* Feed one record: f[i] NULL = missing (short row), not tested. */
void seedtype_feed(SeedTyper *t, const char *const *f, const size_t *len, int n);
SeedType seedtype_result(const SeedTyper *t, int col);
/* "integer", "float8", "date", "timestamp without time zone", "boolean",
 * "text" (forced columns: "text" too; the caller substitutes the user's type). */
const char *seedtype_sql(const SeedTyper *t, int col);
bool seedtype_is_integer(const SeedTyper *t, int col);

/* ---- normalised values ---- */

/* Write the loaded value of field s (NULL = missing) for the column's type
 * into out (unescaped).  Returns 1 when a value was written, 0 when the value
 * is SQL NULL, -1 when it cannot be written (aware timestamp with an offset of
 * 24 h or more: *why says so).  as_integer: the column is `integer`.
 * For aware ISO values the text keeps the offset ("+hh:mm"): the caller
 * decides how to convert (see mat_seed.c); utc = true converts to UTC
 * instead and drops the offset. */
int seedtype_value(Sb *out, SeedType t, bool as_integer, bool utc, const char *s, size_t n, const char **why);
/* Append s to out escaped for COPY text format (backslash, newline, CR, tab). */
void seedtype_copy_escape(Sb *out, const char *s, size_t n);
/* The field as it goes into COPY text format: seedtype_value (utc = false)
 * escaped, or \N for SQL NULL (s NULL or a null token), then sep unless it is
 * '\0', appended to out.  Returns as seedtype_value; on -1 out is left as it
 * was.  Non-Text values are written unescaped (their normalised text never
 * holds a byte COPY escapes), and as the field's own bytes when those are
 * already the normalised text. */
int seedtype_copy_value(Sb *out, SeedType t, const char *s, size_t n, char sep, const char **why);

/* ---- binary COPY ----
 *
 * `COPY ... FROM STDIN (FORMAT binary)` spares the server its text parsing
 * (float8in, date_in, line splitting), which is most of a text COPY's cost.
 * Each value is sent as the datum the column type's input function would
 * have made from seedtype_value's text: int4 and float8 (the correctly
 * rounded double of the decimal, as strtod in float8in; non-finite as NaN),
 * date (days from 2000-01-01), timestamp (microseconds from 2000-01-01),
 * bool, text bytes.  A column qualifies only when the server's input
 * function could not have failed on any of its values (pass 1 records the
 * Numbers that are not whole int32 or are near double's range), so loaded
 * tables and errors stay those of the text path. */
typedef enum SeedBin {
    SEED_BIN_NONE = 0,         /* not encodable: load in text format */
    SEED_BIN_INT4,
    SEED_BIN_FLOAT8,
    SEED_BIN_DATE,
    SEED_BIN_TIMESTAMP,
    SEED_BIN_BOOL,
    SEED_BIN_TEXT
} SeedBin;

/* The binary encoding of column col as inferred (staged: loaded as text into
 * the staging table); SEED_BIN_NONE for forced columns and Numbers that do
 * not all fit the SQL type. */
SeedBin seedtype_bin_kind(const SeedTyper *t, int col, bool staged);
/* The signature, flags and header extension that start a binary COPY stream
 * (19 bytes), and the trailer (2 bytes). */
void seedtype_bin_header(Sb *out);
void seedtype_bin_trailer(Sb *out);
/* A tuple header: the field count. */
void seedtype_bin_tuple(Sb *out, int nfields);
/* Field s (NULL = missing) of a column of type t encoded as kind: the int32
 * length and the bytes, or length -1 for NULL.  Returns as seedtype_value (1,
 * 0 for NULL, -1 with *why); -2 when the value cannot be encoded as kind
 * (the file changed since inference).  Nothing is appended unless >= 0. */
int seedtype_bin_value(Sb *out, SeedBin kind, SeedType t, const char *s, size_t n, const char **why);
#endif
