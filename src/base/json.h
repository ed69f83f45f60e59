/* json.h - streaming JSON writer into an Sb.
 *
 * Tracks nesting to place commas; optional pretty printing with 2-space
 * indent (dbt writes artifacts compact; tests may want pretty).  Strings are
 * escaped as Python's json.dumps does with ensure_ascii=False: ", \, \n, \r,
 * \t, \b, \f and other control chars as \u00XX; UTF-8 passes through. */
#ifndef CDBT_JSON_H
#define CDBT_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sb.h"

typedef struct JsonW {
    Sb *out;
    int depth;
    bool pretty;
    bool spaced;        /* compact but with Python's default ", " and ": " */
    bool need_comma[64];
    bool after_key;
} JsonW;

void json_init(JsonW *w, Sb *out, bool pretty);
/* One line with json.dumps' default separators, as `dbt ls --output json` prints. */
void json_init_spaced(JsonW *w, Sb *out);
void json_obj_begin(JsonW *w);
void json_obj_end(JsonW *w);
void json_arr_begin(JsonW *w);
void json_arr_end(JsonW *w);
void json_key(JsonW *w, const char *k);                       /* next value belongs to key k */
void json_keyn(JsonW *w, const char *k, size_t n);
void json_str(JsonW *w, const char *s);                       /* NULL writes null */
void json_strn(JsonW *w, const char *s, size_t n);
void json_int(JsonW *w, int64_t v);
void json_double(JsonW *w, double v);                         /* Python repr style; nan/inf as NaN/Infinity */
void json_bool(JsonW *w, bool v);
void json_null(JsonW *w);
void json_raw(JsonW *w, const char *s);                       /* pre-encoded JSON value */
/* Escape s into out as a JSON string literal including the quotes. */
void json_escape(Sb *out, const char *s, size_t n);
#endif
