/* journal.c - see journal.h. */
#define _GNU_SOURCE              /* memmem() */
#include "journal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "sb.h"
#include "strmap.h"

static struct {
    bool on, output, volatile_, paused;
    char *cwd;
    StrMap paths, envs;          /* keys are the entries; values unused */
} J;

void journal_start(void)
{
    journal_stop();
    J.on = true;
    char buf[4096];
    J.cwd = xstrdup(getcwd(buf, sizeof buf) ? buf : "/");
    strmap_init(&J.paths);
    strmap_init(&J.envs);
}

#define NO_STAT ((void *)1)      /* the value of a path without a stat */

void journal_stop(void)
{
    if (!J.cwd)
        return;
    for (size_t i = 0; i < J.paths.len; i++)
        if (J.paths.entries[i].val != NO_STAT)
            free(J.paths.entries[i].val);
    strmap_free(&J.paths);
    strmap_free(&J.envs);
    free(J.cwd);
    memset(&J, 0, sizeof J);
}

bool journal_active(void) { return J.on; }
void journal_pause(bool paused) { J.paused = paused; }

static void record(const char *path, const struct stat *st)
{
    if (!J.on || J.paused || !path || !*path)
        return;
    Sb abs = SB_INIT;
    const char *k = path;
    size_t n;
    if (path[0] == '/') {
        n = strlen(path);
    } else {
        sb_puts(&abs, J.cwd);
        if (strcmp(path, ".") != 0) {
            sb_putc(&abs, '/');
            sb_puts(&abs, path[0] == '.' && path[1] == '/' ? path + 2 : path);
        }
        k = abs.buf;
        n = abs.len;
    }
    void *v = strmap_get(&J.paths, k, n);
    if (!v || (st && v == NO_STAT)) {
        void *nv = NO_STAT;
        if (st) {
            nv = xmalloc(sizeof *st);
            memcpy(nv, st, sizeof *st);
        }
        strmap_put(&J.paths, k, n, nv);
    }
    sb_free(&abs);
}

void journal_path(const char *path) { record(path, NULL); }
void journal_path_stat(const char *path, const struct stat *st) { record(path, st); }

void journal_env(const char *name)
{
    if (J.on && name && !strmap_getz(&J.envs, name))
        strmap_putz(&J.envs, name, (void *)1);
}

void journal_output(void)
{
    if (J.on)
        J.output = true;
}

bool journal_text_volatile(const char *text, size_t n)
{
    static const char *const words[] = {"invocation_id", "run_started_at", "modules"};
    for (size_t i = 0; text && i < sizeof words / sizeof words[0]; i++)
        if (memmem(text, n, words[i], strlen(words[i])))
            return true;
    return false;
}

void journal_content(const char *text, size_t n)
{
    if (J.on && !J.paused && !J.volatile_ && journal_text_volatile(text, n))
        J.volatile_ = true;
}

bool journal_volatile(void) { return J.volatile_; }

size_t journal_npaths(void) { return J.on ? J.paths.len : 0; }
const char *journal_path_at(size_t i) { return J.paths.entries[i].key; }
const struct stat *journal_path_stat_at(size_t i)
{
    void *v = J.paths.entries[i].val;
    return v == NO_STAT ? NULL : v;
}
size_t journal_nenv(void) { return J.on ? J.envs.len : 0; }
const char *journal_env_at(size_t i) { return J.envs.entries[i].key; }
bool journal_had_output(void) { return J.output; }
