/* manifest.h - target/manifest.json in dbt's v12 shape (§13), from a parsed
 * (and possibly compiled) Project.  Reads Project/Node/MacroDef only. */
#ifndef CDBT_MANIFEST_H
#define CDBT_MANIFEST_H
#include "../project/project.h"
#include "../base/json.h"

/* Write the manifest atomically to path (parent dirs created).
 * Returns 0, or -1 with err set. */
int manifest_write(Project *p, const char *invocation_id, const char *path, Diag *err);
/* The same, noting where each model's padded value is (slots: p->nnodes
 * entries by Node.index, or NULL). */
int manifest_write_slots(Project *p, const char *invocation_id, const char *path, JsonSlot *slots, Diag *err);
/* The same, begun while the nodes are still being compiled: the document
 * is streamed to a temporary file and a thread writes the "nodes" entries,
 * in unique_id order, as soon as every node of a block of them is final
 * (manifest_node_done: the node will not change any more).
 * manifest_finish treats every node as final, writes the rest and renames
 * the file over path.  NULL when the temporary file cannot be opened (use
 * manifest_write, which reports the error).  Nodes are only read. */
typedef struct ManifestWriter ManifestWriter;
/* slots (NULL, or p->nnodes entries): where each model's padded value ends
 * up in the file, by Node.index, once manifest_finish returns 0. */
ManifestWriter *manifest_begin(Project *p, const char *invocation_id, const char *path, JsonSlot *slots);
void manifest_node_done(ManifestWriter *m, const Node *n);
int  manifest_finish(ManifestWriter *m, Diag *err);
/* Drop what was written (a render changed a value other nodes' entries
 * share, after some of them were written): path is left as it was. */
void manifest_cancel(ManifestWriter *m);
/* One node's value as the "nodes" object holds it, unpadded. */
void manifest_node_json(Node *n, Sb *out);
/* The same JSON into out (for tests). */
void manifest_render(Project *p, const char *invocation_id, Sb *out);
#endif
