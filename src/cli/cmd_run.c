/* cmd_run.c - run / test / seed / build: executing against PostgreSQL is the
 * next milestone; until then these commands say so and exit 2 without
 * touching anything. */
#include "cli.h"

int cmd_run(Flags *f)
{
    fprintf(stderr,
            "error: 'cdbt %s' needs the PostgreSQL executor, which is not in this build yet.\n"
            "       'cdbt compile' renders every model to target/compiled without a database.\n",
            f->command);
    return EXIT_PROJECT_ERROR;
}
