/* cmd_parse.c - `cdbt parse`: load and parse the project, write manifest.json. */
#include "cli.h"
#include "console.h"

int cmd_parse(Flags *f)
{
    Session s;
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    int rc = session_open(&s, f, true);
    if (rc == EXIT_OK) {
        console_found(f, s.project);
        rc = session_write_manifest(&s);
        if (rc == EXIT_OK)
            console_line(f, "Performance info: parsed %d nodes in %.3fs", s.project->nnodes, cli_now() - s.t_start);
    }
    session_close(&s);
    return rc;
}
