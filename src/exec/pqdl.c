/* pqdl.c - libpq, loaded the first time cdbt talks to a database.
 *
 * libpq pulls in some twenty shared libraries (OpenSSL, GnuTLS, Kerberos,
 * LDAP, SASL, ...).  Mapping and relocating them costs every process
 * several milliseconds before main() - most of what `cdbt compile` costs
 * when nothing changed, and it never connects.  So the binary does not link
 * libpq: the functions cdbt uses are defined here with libpq's own
 * prototypes (checked against <libpq-fe.h>) and forward to the library,
 * opened with dlopen() by pq_load() before the first connection. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "pg.h"

/* X(return type, name, parameters, arguments); XV for functions returning void */
#define PQ_FUNCS(X, XV)                                                                          \
    XV(PQclear, (PGresult *res), (res))                                                          \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                                    \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                              \
    X(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))        \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                      \
    XV(PQfinish, (PGconn *conn), (conn))                                                         \
    X(PGresult *, PQgetResult, (PGconn *conn), (conn))                                           \
    X(char *, PQcmdStatus, (PGresult *res), (res))                                               \
    X(int, PQsendQuery, (PGconn *conn, const char *query), (conn, query))                        \
    X(int, PQputCopyEnd, (PGconn *conn, const char *errormsg), (conn, errormsg))                 \
    X(char *, PQport, (const PGconn *conn), (conn))                                              \
    X(int, PQgetCopyData, (PGconn *conn, char **buffer, int async), (conn, buffer, async))       \
    XV(PQfreemem, (void *ptr), (ptr))                                                            \
    X(int, PQexitPipelineMode, (PGconn *conn), (conn))                                           \
    X(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))                      \
    X(PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values,      \
                                    int expand_dbname), (keywords, values, expand_dbname))       \
    X(char *, PQresultErrorMessage, (const PGresult *res), (res))                                \
    X(const char *, PQparameterStatus, (const PGconn *conn, const char *paramName),             \
      (conn, paramName))                                                                         \
    X(int, PQntuples, (const PGresult *res), (res))                                              \
    X(char *, PQhost, (const PGconn *conn), (conn))                                              \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))                \
    X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), \
      (conn, proc, arg))                                                                         \
    X(int, PQserverVersion, (const PGconn *conn), (conn))                                        \
    X(int, PQsendQueryParams, (PGconn *conn, const char *command, int nParams,                   \
                               const Oid *paramTypes, const char *const *paramValues,            \
                               const int *paramLengths, const int *paramFormats,                 \
                               int resultFormat),                                                \
      (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat)) \
    X(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes), (conn, buffer, nbytes)) \
    X(int, PQpipelineSync, (PGconn *conn), (conn))                                               \
    X(PGPing, PQpingParams, (const char *const *keywords, const char *const *values,             \
                             int expand_dbname), (keywords, values, expand_dbname))              \
    X(int, PQnfields, (const PGresult *res), (res))                                              \
    X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),                     \
      (res, tup_num, field_num))                                                                 \
    X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),                       \
      (res, tup_num, field_num))                                                                 \
    X(PGcancel *, PQgetCancel, (PGconn *conn), (conn))                                           \
    X(Oid, PQftype, (const PGresult *res, int field_num), (res, field_num))                      \
    XV(PQfreeCancel, (PGcancel *cancel), (cancel))                                               \
    X(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))                   \
    X(int, PQenterPipelineMode, (PGconn *conn), (conn))                                          \
    X(int, PQcancel, (PGcancel *cancel, char *errbuf, int errbufsize), (cancel, errbuf, errbufsize))

#define DECL(ret, name, params, args) ret(*name) params;
#define DECLV(name, params, args) void(*name) params;
static struct { PQ_FUNCS(DECL, DECLV) } api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void)
{
    /* the runtime package's soname first; a development symlink otherwise */
    static const char *const names[] = {"libpq.so.5", "libpq.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libpq (%s); install Debian's libpq5", e ? e : "?");
        return;
    }
    /* POSIX: a function pointer is stored through a void * lvalue */
#define SYM(name)                                                                                \
    if (!load_error[0] && !(*(void **)&api.name = dlsym(h, #name)))                              \
        snprintf(load_error, sizeof load_error, "libpq has no %s: a libpq of version 14 or later is needed", #name);
#define LOADX(ret, name, params, args) SYM(name)
#define LOADV(name, params, args) SYM(name)
    PQ_FUNCS(LOADX, LOADV)
}

int pq_load(const char **why)
{
    pthread_once(&once, load);
    if (load_error[0]) {
        if (why)
            *why = load_error;
        return -1;
    }
    return 0;
}

/* A call before a successful pq_load() is a bug: say so instead of crashing. */
static void not_loaded(const char *name)
{
    const char *why = NULL;
    if (pq_load(&why) == 0)
        return;
    fprintf(stderr, "cdbt: %s: %s\n", name, why);
    exit(2);
}

#define DEFX(ret, name, params, args)                                                            \
    ret name params                                                                              \
    {                                                                                            \
        if (!api.name)                                                                           \
            not_loaded(#name);                                                                   \
        return api.name args;                                                                    \
    }
#define DEFV(name, params, args)                                                                 \
    void name params                                                                             \
    {                                                                                            \
        if (!api.name)                                                                           \
            not_loaded(#name);                                                                   \
        api.name args;                                                                           \
    }
PQ_FUNCS(DEFX, DEFV)
