/* cmd_parse.c - `cdbt parse`: load and parse the project, write manifest.json. */
#include "cli.h"
#include "console.h"
#include <stdio.h>
#include "../base/journal.h"
#include "../cache/cache.h"

int cmd_parse(Flags *f)
{
    Session s;
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    int rc = fastpath_try(f);
    if (rc >= 0)
        return rc;
    fastpath_begin(f);
    rc = session_open(&s, f, true);
    if (rc == EXIT_OK) {
        console_found(f, s.project);
        /* where each model's value sits: a snapshot keeps it (delta.c) */
        JsonSlot *slots = journal_active() ? arena_zalloc(&s.arena, sizeof *slots * (size_t)(s.project->nnodes + 1))
                                           : NULL;
        rc = session_write_manifest_slots(&s, slots);
        if (rc == EXIT_OK) {
            console_line(f, "Performance info: parsed %d nodes in %.3fs", s.project->nnodes, cli_now() - s.t_start);
            char found[512], info[600];
            console_found_text(s.project, found, sizeof found);
            snprintf(info, sizeof info, "%s\n%d\n%d\n0", found, s.project->nnodes, s.project->nnodes);
            const char *manifest = arena_sprintf(&s.arena, "%s/manifest.json", session_target_dir(&s));
            DeltaTableArgs nodes = {s.project, slots, NULL};
            fastpath_store(&s, NULL, &manifest, NULL, NULL, 1, 1, info, slots && value_shared_changes() == 0 ? delta_node_table_build : NULL, &nodes, NULL, NULL);
        }
    }
    session_close(&s);
    return rc;
}
