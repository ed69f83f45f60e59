/* results.h - run_results.json (§13): one entry per executed node. */
#ifndef CDBT_RESULTS_H
#define CDBT_RESULTS_H
#include "cli.h"
#include "../base/json.h"

/* A microbatch model's batch_results {successful, failed}: [start, end)
 * epoch pairs.  Kept apart from NodeResult, which every node has (30,000 in
 * a big compile). */
typedef struct BatchResults {
    const int64_t *ok, *fail;
    int nok, nfail;
} BatchResults;

typedef struct NodeResult {
    Node *node;
    const char *status;           /* success | error | skipped | pass | fail | warn */
    const char *message;          /* NULL -> null */
    double started_at, compiled_at, completed_at;   /* wall-clock epoch seconds; compile timing = started..compiled */
    int64_t failures;             /* -1 -> null */
    /* execution (run/test/seed/build); zero-initialised = not executed */
    double exec_started_at, exec_completed_at;      /* 0 = no "execute" timing entry */
    const char *adapter_message;  /* adapter_response {_message, code, rows_affected}; NULL -> {} */
    const char *adapter_code;
    int64_t rows_affected;
    int thread;                   /* Thread-<n>; 0 -> Thread-1 */
    /* microbatch models: batch_results; other nodes: NULL (null) */
    const struct BatchResults *batches;
} NodeResult;

typedef struct RunResults {
    NodeResult *items;
    int n, cap;
    double started_at;            /* epoch */
    long elapsed_offset;          /* set by results_write: where the top-level "elapsed_time" key starts */
    bool pad_models;              /* compile: each model's entry padded to its slot (json.h) */
    JsonSlot *slots;              /* with pad_models, or NULL: filled by results_write, by entry */
} RunResults;

void   results_add(RunResults *r, NodeResult nr);
void   results_free(RunResults *r);
double results_wallclock(void);
/* "metadata": {dbt_schema_version, dbt_version, generated_at (now),
 * invocation_id, env: {}} -- the head every artifact starts with; w is
 * inside the top-level object. */
struct JsonW;
void   results_metadata(struct JsonW *w, const char *schema_url, const char *invocation_id);
/* Write <target>/run_results.json; returns 0 / -1 (err set). */
int    results_write(Session *s, RunResults *r, const char *path, Diag *err);
/* One entry of "results", unpadded, as results_write writes it. */
void   results_entry_json(const NodeResult *nr, Sb *out);
#endif
