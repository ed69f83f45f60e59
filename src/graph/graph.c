/* graph.c - the DAG over Project.nodes: adjacency, topological order, depth,
 * and the cycle report (spec §2.6).
 *
 * Edges come from Node.parents (dense indices filled by the parse pass in
 * src/dbt); this file only sorts and deduplicates them, derives the child
 * lists, and orders the nodes with Kahn's algorithm using a min-heap as the
 * ready queue, so the order is the lexicographically smallest topological
 * order by index and does not depend on edge insertion order.  Selection
 * (--select/--exclude) lives in select.c and select_methods.c; scheduling
 * and execution belong to the caller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "../base/arena.h"
#include "../base/sb.h"

/* The public Graph plus the pools its per-node arrays point into. */
typedef struct GraphMem {
    Graph g;
    int *ppool;     /* all parent lists, back to back */
    int *cpool;     /* all child lists, back to back */
} GraphMem;

/* ------------------------------------------------------------ min-heap */

typedef struct IntHeap { int *a; int len; } IntHeap;

static void heap_push(IntHeap *h, int v)
{
    int i = h->len++;
    while (i > 0) {
        int up = (i - 1) / 2;
        if (h->a[up] <= v)
            break;
        h->a[i] = h->a[up];
        i = up;
    }
    h->a[i] = v;
}

static int heap_pop(IntHeap *h)
{
    int top = h->a[0];
    int last = h->a[--h->len];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        int mv = last;
        if (l < h->len && h->a[l] < mv) { m = l; mv = h->a[l]; }
        if (r < h->len && h->a[r] < mv) { m = r; mv = h->a[r]; }
        if (m == i)
            break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (h->len > 0)
        h->a[i] = last;
    return top;
}

/* ------------------------------------------------------------ helpers */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sort a small array ascending and drop duplicates; returns the new length. */
static int sort_unique(int *v, int n)
{
    if (n < 2)
        return n;
    if (n <= 16) {
        for (int i = 1; i < n; i++) {
            int x = v[i], j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
    } else {
        qsort(v, (size_t)n, sizeof *v, cmp_int);
    }
    int k = 1;
    for (int i = 1; i < n; i++)
        if (v[i] != v[k - 1])
            v[k++] = v[i];
    return k;
}

static const char *node_id(Project *p, int i)
{
    const char *id = p->nodes[i]->unique_id;
    return id ? id : "<unnamed node>";
}

/* Nodes left with remaining[i] after Kahn's pass all have at least one
 * remaining parent, so walking "smallest remaining parent" from any of them
 * must revisit a node: the revisited stretch is a cycle.  Report it in edge
 * direction (parent --> child), starting at its smallest index. */
static void report_cycle(Project *p, Graph *g, const int *indeg, Diag *err)
{
    int n = g->n;
    int *pos = xmalloc(sizeof(int) * (size_t)n);
    int *path = xmalloc(sizeof(int) * (size_t)n);
    int len = 0, cur = -1;
    Sb sb = SB_INIT;

    for (int i = 0; i < n; i++) {
        pos[i] = -1;
        if (cur < 0 && indeg[i] > 0)
            cur = i;
    }
    if (cur < 0)
        goto done;   /* cannot happen: caller saw unsorted nodes */
    while (pos[cur] < 0) {
        pos[cur] = len;
        path[len++] = cur;
        int next = -1;
        for (int k = 0; k < g->nparents[cur]; k++) {
            int q = g->parents[cur][k];
            if (indeg[q] > 0) { next = q; break; }   /* lists are sorted: smallest first */
        }
        if (next < 0)
            goto done;
        cur = next;
    }
    /* path[pos[cur] .. len-1] runs child -> parent; reverse into cyc. */
    int start = pos[cur], clen = len - start;
    int *cyc = pos;  /* reuse: pos is no longer needed */
    for (int k = 0; k < clen; k++)
        cyc[k] = path[len - 1 - k];
    int rot = 0;
    for (int k = 1; k < clen; k++)
        if (cyc[k] < cyc[rot])
            rot = k;
    sb_puts(&sb, "Found a cycle: ");
    for (int k = 0; k <= clen; k++) {
        if (k)
            sb_puts(&sb, " --> ");
        sb_puts(&sb, node_id(p, cyc[(rot + k) % clen]));
    }
done:
    if (sb.len == 0)
        sb_puts(&sb, "Found a cycle in the graph");
    diag_set(err, NULL, 0, 0, NULL, "%s", sb_cstr(&sb));
    sb_free(&sb);
    free(path);
    free(pos);
}

/* ------------------------------------------------------------ build */

Graph *graph_build(Project *p, Diag *err)
{
    int n = p->nnodes;
    GraphMem *m = xcalloc(1, sizeof *m);
    Graph *g = &m->g;
    int *indeg = NULL;
    IntHeap heap = {NULL, 0};
    size_t total = 0;

    g->n = n;
    for (int i = 0; i < n; i++)
        if (p->nodes[i]->nparents > 0)
            total += (size_t)p->nodes[i]->nparents;
    m->ppool = xmalloc(sizeof(int) * (total + 1));
    m->cpool = xmalloc(sizeof(int) * (total + 1));
    g->parents = xcalloc((size_t)n + 1, sizeof(int *));
    g->nparents = xcalloc((size_t)n + 1, sizeof(int));
    g->children = xcalloc((size_t)n + 1, sizeof(int *));
    g->nchildren = xcalloc((size_t)n + 1, sizeof(int));
    g->topo = xmalloc(sizeof(int) * ((size_t)n + 1));
    g->depth = xcalloc((size_t)n + 1, sizeof(int));

    /* Parents: copy, validate, sort, dedupe. */
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        Node *nd = p->nodes[i];
        int *dst = m->ppool + off;
        int cnt = 0;
        for (int k = 0; k < nd->nparents; k++) {
            int q = nd->parents[k];
            if (q < 0 || q >= n) {
                diag_set(err, NULL, 0, 0, NULL, "node %s has an invalid parent index %d",
                         node_id(p, i), q);
                goto fail;
            }
            dst[cnt++] = q;
        }
        cnt = sort_unique(dst, cnt);
        g->parents[i] = dst;
        g->nparents[i] = cnt;
        off += (size_t)cnt;
    }

    /* Children: count, lay out, fill in ascending child order. */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nparents[i]; k++)
            g->nchildren[g->parents[i][k]]++;
    off = 0;
    for (int i = 0; i < n; i++) {
        g->children[i] = m->cpool + off;
        off += (size_t)g->nchildren[i];
        g->nchildren[i] = 0;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nparents[i]; k++) {
            int q = g->parents[i][k];
            g->children[q][g->nchildren[q]++] = i;
        }

    /* Kahn's algorithm, ready queue ordered by index; depth = longest path. */
    indeg = xmalloc(sizeof(int) * ((size_t)n + 1));
    heap.a = xmalloc(sizeof(int) * ((size_t)n + 1));
    for (int i = 0; i < n; i++) {
        indeg[i] = g->nparents[i];
        if (indeg[i] == 0)
            heap_push(&heap, i);
    }
    int done = 0;
    while (heap.len > 0) {
        int v = heap_pop(&heap);
        g->topo[done++] = v;
        for (int k = 0; k < g->nchildren[v]; k++) {
            int c = g->children[v][k];
            if (g->depth[c] < g->depth[v] + 1)
                g->depth[c] = g->depth[v] + 1;
            if (--indeg[c] == 0)
                heap_push(&heap, c);
        }
    }
    if (done < n) {
        report_cycle(p, g, indeg, err);
        goto fail;
    }
    free(indeg);
    free(heap.a);
    return g;

fail:
    free(indeg);
    free(heap.a);
    graph_free(g);
    return NULL;
}

void graph_free(Graph *g)
{
    if (!g)
        return;
    GraphMem *m = (GraphMem *)g;
    free(m->ppool);
    free(m->cpool);
    free(g->parents);
    free(g->nparents);
    free(g->children);
    free(g->nchildren);
    free(g->topo);
    free(g->depth);
    free(m);
}
