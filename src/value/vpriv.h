/* vpriv.h - internals shared by the files of the value library (src/value).
 *
 * Not a contract: nothing outside src/value includes this.  It names the
 * native object classes the library makes (dates, dict views, namespaces, ...)
 * so that operators and filters can recognise them, and a few helpers. */
#ifndef CDBT_VPRIV_H
#define CDBT_VPRIV_H
#include "value.h"

#define VALUE_MAX_DEPTH 200          /* recursion bound for repr/eq/copy/json */

/* ---- vdatetime.c (pure: no interp_* calls) */
typedef struct VDateTime {
    int y, mo, d, h, mi, s, us;
    bool utc;                         /* aware, +00:00 */
    bool is_date;                     /* datetime.date rather than datetime.datetime */
} VDateTime;
typedef struct VTimeDelta {
    int64_t days, secs, us;           /* normalised like Python: 0<=secs<86400, 0<=us<1e6 */
} VTimeDelta;
extern const ObjClass vdt_datetime_class;
extern const ObjClass vdt_date_class;
extern const ObjClass vdt_timedelta_class;
bool  vdt_is_datetime(Value v);      /* date or datetime */
bool  vdt_is_timedelta(Value v);
Value vdt_timedelta(Arena *a, int64_t days, int64_t secs, int64_t us);
/* datetime/date +- timedelta, datetime - datetime.  0 ok, 1 unsupported, -1 overflow (range). */
int   vdt_binop(Arena *a, BinOp op, Value x, Value y, Value *out);
/* Python strftime of a date/datetime into out. */
void  vdt_strftime(const VDateTime *dt, const char *fmt, Sb *out);
/* Days since 0001-01-01 (ordinal - 1) and back. */
int64_t vdt_days_from_civil(int y, int m, int d);
void  vdt_civil_from_days(int64_t days, int *y, int *m, int *d);
/* Current time (UTC) split into fields. */
void  vdt_now(VDateTime *dt, bool local);

/* ---- methods.c: Unicode helpers, string operations shared with filters, sort */
uint32_t vcp_lower(uint32_t c);
uint32_t vcp_upper(uint32_t c);
bool  vcp_isspace(uint32_t c);
enum { CASE_LOWER, CASE_UPPER, CASE_TITLE, CASE_CAPITALIZE, CASE_SWAP };
Value vstr_case(Arena *a, Value s, int mode);
Value vstr_strip(Arena *a, Value s, const char *chars, size_t nchars, int which);  /* which: 1 left, 2 right, 3 both; chars NULL = whitespace */
Value vstr_pad(Arena *a, Value s, int64_t width, const char *fill, size_t nfill, char how);  /* '<' '>' '^' */
Value vstr_split(Arena *a, Value s, Value sep /* V_NONE = whitespace */, int64_t maxsplit);
Value vstr_replace(Arena *a, Value s, Value old, Value new_, int64_t count);
bool  vstr_is_case(Value s, bool upper);
typedef int (*VSortCmp)(Interp *I, void *ctx, Value a, Value b, int *out);
int   vsort(Interp *I, Value *items, size_t n, VSortCmp cmp, void *ctx);          /* stable */
int   vsort_cmp_plain(Interp *I, void *ctx /* bool *case_sensitive or NULL */, Value a, Value b, int *out);
int   vsort_cmp_key0(Interp *I, void *ctx, Value a, Value b, int *out);          /* compare item 0 of 2-tuples */
int   vdict_update(Interp *I, VDict *d, Value src);                             /* dict.update(src) */
/* An in-place change of a container (methods.c): change_begin passes the
 * value fence and picks the arena the change allocates in - the render's
 * for its own containers, a process-wide one for a value that outlives it
 * (shared) - and change_keep gives the value to store (a deep copy there for
 * a shared container; an error for a render's object).  change_end after. */
typedef struct Change { Arena *a; bool shared; } Change;
int   change_begin(Interp *I, const void *self, Change *c);
int   change_keep(Interp *I, const Change *c, Value v, Value *out);
void  change_end(Change *c);

/* ---- filters.c helpers */
void  vhtml_escape(Sb *sb, const char *s, size_t n);         /* & < > " ' as Jinja's escape */
bool  vparse_float(const char *s, size_t n, double *out);   /* Python float(str) */

/* ---- methods.c: dict views (dict_keys / dict_values / dict_items) */
extern const ObjClass vm_dict_keys_class, vm_dict_values_class, vm_dict_items_class;

/* ---- value.c helpers */
void  value_repr_str(Sb *out, const char *s, size_t n);   /* Python repr of a str */
/* Compare two values for sorting, with Jinja's case folding when !case_sensitive
 * (strings only).  0 ok, 1 unorderable. */
int   value_sort_cmp(Value a, Value b, bool case_sensitive, int *out);
bool  value_is_num(Value v);        /* bool, int or float */
double value_as_double(Value v);    /* for bool/int/float */
/* UTF-8: strings index by code point like Python's str. */
bool   vu8_is_ascii(const char *s, size_t n);
size_t vu8_count(const char *s, size_t n);                 /* code points */
size_t vu8_next(const char *s, size_t n, size_t i);        /* byte offset of the next code point */
size_t vu8_offset(const char *s, size_t n, size_t idx);    /* byte offset of code point idx (clamped) */
size_t vu8_decode(const char *s, size_t n, uint32_t *cp);  /* bytes consumed (>= 1) */
void   vu8_encode(Sb *out, uint32_t cp);
/* Byte offset of the first needle at or after from, or -1. */
long   vbytes_find(const char *h, size_t hn, const char *nd, size_t nn, size_t from);
long   vbytes_rfind(const char *h, size_t hn, const char *nd, size_t nn);

/* ---- ops.c helpers */
int   value_undef_error(Interp *I, Value u);   /* "'x' is undefined" */
Value value_str_value(Arena *a, Value v);       /* str(v) as a V_STR (v itself when a string, flags dropped) */
#endif
