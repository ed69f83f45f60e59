/* select_priv.h - shared between select.c (syntax, graph operators, set
 * algebra, indirect selection) and select_methods.c (the method:value
 * matchers).  Private to src/graph. */
#ifndef CDBT_GRAPH_SELECT_PRIV_H
#define CDBT_GRAPH_SELECT_PRIV_H
#include <stddef.h>
#include <stdint.h>
#include "graph.h"
#include "../base/sb.h"
#include "../base/strmap.h"

#define GSEL_MAX_ARGS 8

typedef struct GselSlice { const char *p; size_t n; } GselSlice;

/* One parsed atom: [@][N+][method[.arg...]:]value[+N]. */
typedef struct GselAtom {
    const char *text;              /* the atom as written (for messages) */
    bool at;                       /* '@' prefix */
    bool parents, children;
    int parents_depth, children_depth;   /* -1 = unlimited */
    const char *method;            /* method name ("fqn" when defaulted) */
    bool method_given;             /* written explicitly */
    const char *args[GSEL_MAX_ARGS]; int nargs;   /* config.<a>.<b> */
    const char *value;             /* NUL-terminated */
    /* value split on '.', for fqn and source */
    GselSlice *parts; int nparts;
    int wild_part;                 /* first part holding * ? [ ], or -1 */
    bool wild;                     /* value holds * ? [ ] anywhere */
} GselAtom;

/* A node set: membership bytes plus the list of members, so clearing,
 * copying and iterating cost O(members), not O(nodes). */
typedef struct GselSet { uint8_t *b; int *list; int len; } GselSet;

static inline void gsel_add(GselSet *s, int i)
{
    if (!s->b[i]) {
        s->b[i] = 1;
        s->list[s->len++] = i;
    }
}

/* Index for plain fqn names (no '.', no wildcard): key -> the nodes whose
 * leaf, first flat fqn part, or first flat part after the package equals it.
 * Built on first need by select_methods.c. */
typedef struct GselFqnIndex {
    bool built;
    StrMap map;                    /* key -> (void *)(intptr_t)(first entry + 1) */
    int *ent_node, *ent_next;      /* entry pool (3 per node at most) */
    int nent;
} GselFqnIndex;

typedef struct GselState GselState;   /* select_state.c: the previous manifest / results */

typedef struct GselCtx {
    Project *p;
    Graph *g;
    int n;
    const SelectOptions *opt;
    Diag *err;
    Sb sb;                         /* scratch text */
    int plain_fqn_atoms;           /* seen so far: the index pays off after a few */
    GselFqnIndex fqn_index;
    GselState *state;              /* loaded on the first state:/result: atom */
} GselCtx;

void gsel_ctx_free(GselCtx *c);

/* select_state.c: state:<kind> against <state_dir>/manifest.json and
 * result:<status> against <state_dir>/run_results.json or
 * SelectOptions.last_status. */
int  gsel_m_state(GselCtx *c, const GselAtom *a, GselSet *out);
int  gsel_m_result(GselCtx *c, const GselAtom *a, GselSet *out);
void gsel_state_free(GselState *s);

/* Record "Invalid selector '<atom>': <reason>" and return -1. */
int gsel_fail(GselCtx *c, const GselAtom *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* select_methods.c: add to out every node matching a's method and value
 * (out is empty on entry).  -1 on an error (recorded). */
typedef int (*GselMatchFn)(GselCtx *c, const GselAtom *a, GselSet *out);
GselMatchFn gsel_find_method(const char *name, size_t n);

/* Python fnmatch.fnmatchcase over byte slices: * ? [seq] [!seq]; no escapes. */
bool gsel_fnmatch(const char *pat, size_t pn, const char *s, size_t sn);
bool gsel_has_wild(const char *s, size_t n);
#endif
