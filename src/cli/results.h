/* results.h - run_results.json (§13): one entry per executed node. */
#ifndef CDBT_RESULTS_H
#define CDBT_RESULTS_H
#include "cli.h"

typedef struct NodeResult {
    Node *node;
    const char *status;           /* success | error | skipped | pass | fail | warn */
    const char *message;          /* NULL -> null */
    double started_at, compiled_at, completed_at;   /* wall-clock epoch seconds */
    int failures;                 /* -1 -> null */
} NodeResult;

typedef struct RunResults {
    NodeResult *items;
    int n, cap;
    double started_at;            /* epoch */
} RunResults;

void   results_add(RunResults *r, NodeResult nr);
void   results_free(RunResults *r);
double results_wallclock(void);
/* Write <target>/run_results.json; returns 0 / -1 (err set). */
int    results_write(Session *s, RunResults *r, const char *path, Diag *err);
#endif
