/* clock.c - wall-clock time for artifacts (manifest/run_results timestamps)
 * and logs.  Monotonic timing for durations is left to the callers. */
#include <stdio.h>
#include <time.h>
#include "clock.h"

double clock_epoch(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

void clock_iso_utc(double t, char *buf, size_t n)
{
    time_t s = (time_t)t;
    long us = (long)((t - (double)s) * 1e6 + 0.5);
    if (us >= 1000000) {
        s++;
        us -= 1000000;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%06ldZ", us);
}

void clock_iso_now(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%06ldZ", ts.tv_nsec / 1000);
}
