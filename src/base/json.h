/* json.h - streaming JSON writer into an Sb.
 *
 * Places commas itself; optional pretty printing with 2-space indent (dbt
 * writes artifacts compact; tests may want pretty).  Strings are escaped as
 * Python's json.dumps does with ensure_ascii=False: ", \, \n, \r, \t, \b, \f
 * and other control chars as \u00XX; UTF-8 passes through.
 *
 * After every call out is a valid Sb (NUL-terminated, len exact), so callers
 * may mix their own sb_* appends with the writer's. */
#ifndef CDBT_JSON_H
#define CDBT_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "sb.h"

typedef struct JsonW {
    Sb *out;
    size_t flush_at;    /* streaming: flush once out->len reaches this (SIZE_MAX: never) */
    int depth;
    /* What precedes the next value: JSON_SEP_* (below).  A whole word of
     * its own: every item stores it and the next one reads it, next to the
     * pretty/spaced test, which the compiler does with one load over those
     * bytes; had it shared that word, the load would wait for the store to
     * retire (a narrow store does not forward to a wider load). */
    unsigned sep;
    bool pretty;
    bool spaced;        /* compact but with Python's default ", " and ": " */
    bool has_sink;      /* streaming: out is flushed to sink_fd as it fills */
    int sink_fd;
    int sink_errno;     /* first write error (sticky), 0 if none */
    size_t flushed;     /* streaming: bytes already written to sink_fd */
} JsonW;

void json_init(JsonW *w, Sb *out, bool pretty);
/* One line with json.dumps' default separators, as `dbt ls --output json` prints. */
void json_init_spaced(JsonW *w, Sb *out);
/* Stream: from now on, whenever out holds more than a chunk (256 KiB) it is
 * written to fd and emptied, so a large document never sits in memory whole.
 * json_flush writes what is left; it returns 0, or -1 with the first write
 * error's errno (also kept in sink_errno). */
void json_set_sink(JsonW *w, int fd);
int  json_flush(JsonW *w);
/* Offset in the whole document of the next byte written (flushed + buffered). */
static inline size_t json_offset(const JsonW *w) { return w->flushed + w->out->len; }
void json_obj_begin(JsonW *w);
void json_obj_end(JsonW *w);
void json_arr_begin(JsonW *w);
void json_arr_end(JsonW *w);
void json_keyn(JsonW *w, const char *k, size_t n);            /* next value belongs to key k */
/* Inline so that the length of a literal key is known at compile time. */
static inline void json_key(JsonW *w, const char *k) { json_keyn(w, k, strlen(k)); }
/* A key already encoded as a JSON string, quotes included (e.g. from json_escape). */
void json_key_raw(JsonW *w, const char *k, size_t n);
/* What precedes the next value or key (JsonW.sep). */
enum {
    JSON_SEP_NONE,   /* nothing: top level, or right after a key */
    JSON_SEP_FIRST,  /* first item of a container: only the newline/indent when pretty */
    JSON_SEP_COMMA,  /* a comma (then newline/indent when pretty) */
};
void json_key_plain_slow(JsonW *w, const char *k, size_t n);
/* A key that needs no escaping (no '"', '\\' or control characters): copied
 * as is, without json_keyn's scan.  Most keys of an artifact are literals:
 * inline, so that their length is a constant and the copy a few moves,
 * when the writer is compact, no flush is due and the buffer has room. */
static inline void json_key_plain(JsonW *w, const char *k, size_t n)
{
    Sb *o = w->out;
    if (w->pretty || w->spaced || o->len >= w->flush_at || o->cap - o->len < n + 5) {
        json_key_plain_slow(w, k, n);
        return;
    }
    char *p = o->buf + o->len;
    *p = ',';
    p += w->sep == JSON_SEP_COMMA;
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    o->len = (size_t)(p - o->buf);
    w->sep = JSON_SEP_NONE;
}
/* json_key for a string literal (which must need no escaping): its length
 * is known at compile time. */
#define json_key_lit(w, lit) json_key_plain((w), "" lit "", sizeof(lit) - 1)
void json_strn(JsonW *w, const char *s, size_t n);
/* NULL writes null. */
static inline void json_str(JsonW *w, const char *s) { json_strn(w, s, s ? strlen(s) : 0); }
void json_int(JsonW *w, int64_t v);
void json_double(JsonW *w, double v);                         /* Python repr style; nan/inf as NaN/Infinity */
void json_raw(JsonW *w, const char *s);                       /* pre-encoded JSON value */
void json_rawn_slow(JsonW *w, const char *s, size_t n);
/* Inline for the reason json_key_plain is: mostly literals (null, true, []). */
static inline void json_rawn(JsonW *w, const char *s, size_t n)
{
    Sb *o = w->out;
    if (w->pretty || w->spaced || o->len >= w->flush_at || o->cap - o->len < n + 2) {
        json_rawn_slow(w, s, n);
        return;
    }
    char *p = o->buf + o->len;
    *p = ',';
    p += w->sep == JSON_SEP_COMMA;
    memcpy(p, s, n);
    p += n;
    *p = '\0';
    o->len = (size_t)(p - o->buf);
    w->sep = w->depth > 0 ? JSON_SEP_COMMA : JSON_SEP_NONE;
}
static inline void json_bool(JsonW *w, bool v) { json_rawn(w, v ? "true" : "false", v ? 4 : 5); }
static inline void json_null(JsonW *w) { json_rawn(w, "null", 4); }
/* json_rawn for a string literal. */
#define json_raw_lit(w, lit) json_rawn((w), "" lit "", sizeof(lit) - 1)
/* Items of one container written by several threads: json_fork makes f a
 * writer into out that continues at w's position (inside a container;
 * after_item: the container already holds an item, so f's first item gets
 * its comma); json_splice appends what such a fork wrote to w verbatim and
 * leaves w after an item.  Forks never stream; w may. */
void json_fork(JsonW *f, Sb *out, const JsonW *w, bool after_item);
void json_splice(JsonW *w, const char *s, size_t n);
/* Slots: compile artifacts pad each model's value with spaces up to the next
 * multiple of JSON_SLOT bytes, so that a later run that recompiles only that
 * model can rewrite its value in place when the new one rounds to the same
 * slot (src/cli/delta.c).  The padding depends only on the value's length,
 * so a cold run and an in-place rewrite give the same bytes. */
#define JSON_SLOT 512
static inline size_t json_slot_len(size_t n) { return (n + JSON_SLOT - 1) / JSON_SLOT * JSON_SLOT; }
/* Pad the value just written, which began at offset start (json_offset), to
 * its slot; returns the slot's length.  Whitespace outside strings: the
 * document means the same. */
size_t json_pad_slot(JsonW *w, size_t start);
/* Where a padded value sits in its file: byte offset and slot length (0: none). */
typedef struct JsonSlot { int64_t off; uint32_t len; } JsonSlot;
/* Memo: the text of values already written, found again by a key the
 * caller vouches for: while the memo is in use, an equal (key, aux) pair
 * means a value with the very same text (e.g. a container's storage while
 * nothing changes it).  Compact writers only: pretty or spaced ones never
 * store, so never hit.  One memo per thread; JSON_MEMO_INIT, json_memo_free.
 *
 *     if (!json_memo_hit(w, m, key, aux)) {
 *         JsonMark mk = json_memo_mark(w);
 *         ... write one value ...
 *         json_memo_store(w, m, key, aux, mk);
 *     }
 */
typedef struct JsonMemoEnt JsonMemoEnt;
typedef struct JsonMemo {
    JsonMemoEnt *tab;   /* open addressing by key, mask + 1 slots */
    size_t mask, used;
    Sb text;            /* the stored values' text, back to back */
    unsigned long epoch;    /* the caller's: e.g. a count of changes its text is good for */
} JsonMemo;
#define JSON_MEMO_INIT {NULL, 0, 0, SB_INIT, 0}
typedef struct JsonMark { size_t flushed, at; } JsonMark;
/* Writes the value stored under (key, aux) and returns true; false if none. */
bool json_memo_hit(JsonW *w, const JsonMemo *m, const void *key, size_t aux);
/* Where the next value's text begins (after its separator). */
JsonMark json_memo_mark(const JsonW *w);
/* Stores the one value written since mk under (key, aux).  Skipped when
 * part of it was already flushed to the sink, or the memo is full. */
void json_memo_store(JsonW *w, JsonMemo *m, const void *key, size_t aux, JsonMark mk);
/* Forgets every value (keeps the memory and epoch). */
void json_memo_clear(JsonMemo *m);
void json_memo_free(JsonMemo *m);
/* Escape s into out as a JSON string literal including the quotes. */
void json_escape(Sb *out, const char *s, size_t n);
/* The text json_double writes for v, into buf (at least 32 bytes); returns its length. */
size_t json_format_double(char *buf, double v);
#endif
