/* console.c - the dbt-style console lines shared by commands
 * ("HH:MM:SS  Running with cdbt=...", "Found 3 models, ...").  --quiet
 * silences everything printed through here. */
#include "console.h"
#include <stdarg.h>
#include <time.h>

void console_line(const Flags *f, const char *fmt, ...)
{
    if (f->quiet)
        return;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    printf("%02d:%02d:%02d  ", tm.tm_hour, tm.tm_min, tm.tm_sec);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void console_found(const Flags *f, Project *p)
{
    char buf[512];
    console_found_text(p, buf, sizeof buf);
    console_line(f, "Found %s", buf);
}

void console_found_text(Project *p, char *buf, size_t cap)
{
    int count[RT__COUNT] = {0};
    for (int i = 0; i < p->nnodes; i++)
        count[p->nodes[i]->rt]++;
    static const struct { int rt; const char *one, *many; } kinds[] = {
        {RT_MODEL, "model", "models"}, {RT_SNAPSHOT, "snapshot", "snapshots"},
        {RT_ANALYSIS, "analysis", "analyses"}, {RT_SEED, "seed", "seeds"},
        {RT_TEST, "data test", "data tests"}, {RT_SOURCE, "source", "sources"},
        {RT_EXPOSURE, "exposure", "exposures"},
    };
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int c = count[kinds[k].rt];
        if (!c)
            continue;
        if (n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%d %s", n ? ", " : "", c, c == 1 ? kinds[k].one : kinds[k].many);
    }
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%d %s", n ? ", " : "", p->nmacros, p->nmacros == 1 ? "macro" : "macros");
    int u = count[RT_UNIT_TEST];
    if (u && n < cap)
        snprintf(buf + n, cap - n, ", %d %s", u, u == 1 ? "unit test" : "unit tests");
}
