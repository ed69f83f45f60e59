/* console.h - dbt-style console lines (see console.c). */
#ifndef CDBT_CONSOLE_H
#define CDBT_CONSOLE_H
#include "cli.h"
void console_line(const Flags *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void console_found(const Flags *f, Project *p);
/* The text after "Found " ("3 models, 2 seeds, 1 macro") into buf. */
void console_found_text(Project *p, char *buf, size_t cap);
#endif
