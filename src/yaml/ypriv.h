/* ypriv.h - private interface between the YAML loader (load.c) and the
 * scalar resolver (resolve.c).  Nothing here is visible outside src/yaml. */
#ifndef CDBT_YPRIV_H
#define CDBT_YPRIV_H
#include "yaml.h"

/* What a scalar resolved to.  YS_STR leaves the string to the caller (which
 * copies the text once into a VStr); the other kinds fill *out. */
typedef enum {
    YS_STR,
    YS_VALUE,     /* *out holds null/bool/int/float/date/datetime */
    YS_MERGE,     /* "<<" (tag:yaml.org,2002:merge): only valid as a mapping key */
    YS_EQUALS,    /* "="  (tag:yaml.org,2002:value): a string when used as a key */
    YS_ERROR,     /* message in errbuf */
} YScalarKind;

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"
#define YAML_ERRBUF 160

/* Resolve a plain, untagged scalar with PyYAML's YAML 1.1 implicit resolvers
 * and build its value as SafeConstructor would. */
YScalarKind yaml_resolve_plain(Arena *a, const char *s, size_t n, Value *out, char *errbuf);
/* Construct a scalar that carries an explicit tag (full tag as libyaml gives
 * it, e.g. "tag:yaml.org,2002:int" or "!foo"). */
YScalarKind yaml_construct_tagged(Arena *a, const char *tag, const char *s, size_t n,
                                  Value *out, char *errbuf);
#endif
