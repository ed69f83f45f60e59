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

void journal_stop(void)
{
    if (!J.cwd)
        return;
    strmap_free(&J.paths);
    strmap_free(&J.envs);
    free(J.cwd);
    memset(&J, 0, sizeof J);
}

bool journal_active(void) { return J.on; }
void journal_pause(bool paused) { J.paused = paused; }

void journal_path(const char *path)
{
    if (!J.on || J.paused || !path || !*path)
        return;
    if (path[0] == '/') {
        if (!strmap_getz(&J.paths, path))
            strmap_putz(&J.paths, path, (void *)1);
        return;
    }
    Sb abs = SB_INIT;
    sb_puts(&abs, J.cwd);
    if (strcmp(path, ".") != 0) {
        sb_putc(&abs, '/');
        sb_puts(&abs, path[0] == '.' && path[1] == '/' ? path + 2 : path);
    }
    if (!strmap_get(&J.paths, abs.buf, abs.len))
        strmap_put(&J.paths, abs.buf, abs.len, (void *)1);
    sb_free(&abs);
}

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
size_t journal_nenv(void) { return J.on ? J.envs.len : 0; }
const char *journal_env_at(size_t i) { return J.envs.entries[i].key; }
bool journal_had_output(void) { return J.output; }
