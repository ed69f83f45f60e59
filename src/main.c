/* main.c - entry point: global flags, command lookup, exit codes.
 *
 * Everything else lives in src/cli (one file per command).  Exit codes are
 * dbt's: 0 success, 1 node failures, 2 project/CLI errors. */
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "cli/cli.h"
#include "base/fs.h"

typedef struct Command {
    const char *name;
    int (*fn)(Flags *);
    int needs_profile;
} Command;

static const Command kCommands[] = {
#define CMD(name, fn, prof, summary) {name, fn, prof},
#include "cli/commands.def"
#undef CMD
};

static int run(Flags *f, int argc, char **argv);

int main(int argc, char **argv)
{
    Flags f = {0};
#if defined(M_MMAP_THRESHOLD)
    /* Blocks of 256 KiB and more always come from mmap and go back to the
     * system when freed.  glibc otherwise raises this threshold to the size
     * of any such block freed (the sqlite page cache's, a grown buffer's),
     * after which the big transient buffers (the parse cache's rows, the
     * snapshot's encodings) stay in the heap on top of the compile's peak:
     * a first compile of 10k models peaked at 108 MB, 102 MB with this. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    fs_cleanup_on_signal();      /* an interrupted write leaves no temporary behind */
    int rc = run(&f, argc, argv);
    cli_free_flags(&f);
    return rc;
}

static int run(Flags *f, int argc, char **argv)
{
    Diag err = {0};
    if (cli_parse_args(argc, argv, f, &err) != 0) {
        cli_print_diag(&err);
        fprintf(stderr, "Try 'cdbt --help' for help.\n");
        diag_clear(&err);
        return EXIT_PROJECT_ERROR;
    }
    if (f->version) {
        printf("cdbt %s (dbt-core 1.9 compatible, adapter postgres)\n", CDBT_VERSION);
        return EXIT_OK;
    }
    if (!f->command) {
        cli_print_help(f->help ? stdout : stderr, NULL);
        return f->help ? EXIT_OK : EXIT_PROJECT_ERROR;
    }
    for (size_t i = 0; i < sizeof kCommands / sizeof kCommands[0]; i++) {
        if (strcmp(kCommands[i].name, f->command) != 0)
            continue;
        if (f->help) {
            cli_print_help(stdout, f->command);
            return EXIT_OK;
        }
        return kCommands[i].fn(f);
    }
    fprintf(stderr, "error: No such command '%s'.\nTry 'cdbt --help' for help.\n", f->command);
    return EXIT_PROJECT_ERROR;
}
