/* csvread.h - streaming reader for seed CSV files with dbt's rules (§8.1).
 *
 * What dbt does (Python `csv` "excel" dialect over a file opened in text
 * mode): UTF-8 (a leading BOM skipped), universal newlines (\r\n and \r read
 * as \n, also inside quoted fields), a one-character delimiter, `"` quoting
 * with doubled quotes, quoted fields spanning lines, a quote inside an
 * unquoted field taken literally, text after a closing quote appended to the
 * field, a blank line read as an empty record, no whitespace trimming, a
 * field limit of 131072 characters.  The first record is the header: empty
 * names become a, b, ... by column index (aa, bb after 26), duplicates get
 * _2, _3.  Shorter records are padded with NULL (missing) fields.
 *
 * Stricter than dbt, on purpose: a record longer than the header, invalid
 * UTF-8, a NUL byte and a quote left open at end of file are errors that
 * name the file, line and column, with the source line and a caret.
 *
 * The reader holds one record at a time (memory stays flat whatever the file
 * size); csv_rewind() starts over for a second pass.  Null tokens and types
 * are the business of seedtype.h.
 *
 * Return convention: 0 ok, -1 error with *err filled (file:line:col). */
#ifndef CDBT_CSVREAD_H
#define CDBT_CSVREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/diag.h"

#define CSV_FIELD_LIMIT 131072        /* Python csv.field_size_limit() default, in characters */

typedef struct CsvReader CsvReader;

/* One record.  Field i is f[i] (NUL-terminated, length len[i]) or NULL when
 * the record was shorter than the header.  After the header is read, n ==
 * the header's column count for every record.  Valid until the next
 * csv_next()/csv_rewind()/csv_close(). */
typedef struct CsvRecord {
    int n;
    const char **f;
    const size_t *len;
    int line;                 /* physical line the record starts on (1-based) */
    int64_t index;            /* 0-based data row index (header excluded) */
} CsvRecord;

/* Open a file (path as given to fopen) shown in diagnostics as `display`.
 * Returns NULL with *err set when the file cannot be opened. */
CsvReader *csv_open_file(const char *path, const char *display, char delim, Diag *err);
/* Read from memory (data must outlive the reader). */
CsvReader *csv_open_mem(const char *data, size_t len, const char *display, char delim);
void       csv_close(CsvReader *r);

/* Read the header (must be the first call, and the first after csv_rewind).
 * names and ncols are owned by the reader and stay valid until csv_close:
 * the normalised, de-duplicated column names.  An empty file is an error. */
int csv_header(CsvReader *r, const char *const **names, int *ncols, Diag *err);
/* Next data record: 1 = *rec filled, 0 = end of file, -1 = error. */
int csv_next(CsvReader *r, CsvRecord *rec, Diag *err);
/* Record an error located at the first byte of field `field` of the record
 * just read (its opening quote when quoted; the record start when the field
 * is missing): file:line:col, the source line and a caret. */
void csv_field_error(CsvReader *r, const CsvRecord *rec, int field, Diag *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Back to the start of the file (header to be read again). */
int csv_rewind(CsvReader *r, Diag *err);

/* agate's name for column index i (0 -> "a", 25 -> "z", 26 -> "aa"); out
 * must hold i/26 + 2 bytes. */
void csv_letter_name(int i, char *out);
#endif
