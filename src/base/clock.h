/* clock.h - wall-clock time as dbt's artifacts and logs write it. */
#ifndef CDBT_CLOCK_H
#define CDBT_CLOCK_H
#include <stddef.h>

/* Seconds since the epoch, microsecond resolution. */
double clock_epoch(void);
/* t (epoch seconds) as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) into buf (>= 28 bytes). */
void   clock_iso_utc(double t, char *buf, size_t n);
/* The same for now. */
void   clock_iso_now(char *buf, size_t n);
#endif
