/* manifest.h - target/manifest.json in dbt's v12 shape (§13), from a parsed
 * (and possibly compiled) Project.  Reads Project/Node/MacroDef only. */
#ifndef CDBT_MANIFEST_H
#define CDBT_MANIFEST_H
#include "../project/project.h"

/* Write the manifest atomically to path (parent dirs created).
 * Returns 0, or -1 with err set. */
int manifest_write(Project *p, const char *invocation_id, const char *path, Diag *err);
/* The same JSON into out (for tests). */
void manifest_render(Project *p, const char *invocation_id, Sb *out);
#endif
