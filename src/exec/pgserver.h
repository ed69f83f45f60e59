/* pgserver.h - the managed local PostgreSQL server (`managed: true` targets).
 *
 * cdbt runs a private cluster for the project: `initdb` into
 * <project>/.cdbt/pgdata (or the profile's `data_dir`), started with `pg_ctl`
 * listening only on a Unix socket in a short private directory
 * (/tmp/cdbt-<uid>-<hash of the data dir>), logging to .cdbt/postgres.log,
 * and reused by every later command until `cdbt server stop`.  As root the
 * server runs as the `postgres` system user (or the profile's `run_as_user`).
 * A stale postmaster.pid (crashed or killed server) is recovered from.
 *
 * Profile keys read: managed, user (superuser name, default postgres), port
 * (default 5432, names the socket only), dbname/database (created if
 * missing), data_dir (relative to the project root), run_as_user.
 *
 * Return convention: 0 ok, -1 error with *err filled (err may be NULL).
 * Processes are serialised on a lock file (.cdbt/server.lock), so
 * concurrent cdbt commands start the server once. */
#ifndef CDBT_PGSERVER_H
#define CDBT_PGSERVER_H
#include <stdbool.h>
#include "pg.h"

typedef struct PgServerInfo {
    char data_dir[1024];      /* absolute */
    char state_dir[1024];     /* <project>/.cdbt (log, lock, initdb log) */
    char log_path[1100];      /* server log */
    char sock_dir[108];       /* Unix socket directory the server listens in */
    char bindir[1024];        /* PostgreSQL server binaries */
    char superuser[128];      /* database superuser (initdb -U) */
    char os_user[128];        /* system user the server runs as */
    char dbname[128];         /* the target's database */
    int port;
    long pid;                 /* postmaster pid when running, else 0 */
    bool initialized;         /* data_dir holds a cluster */
    bool running;             /* answering on sock_dir */
    char version[64];         /* server_version when running, else PG_VERSION of the cluster */
} PgServerInfo;

/* True if the profile output says `managed: true`. */
bool pgserver_is_managed(VDict *profile_output);

/* Compute paths and users without touching anything (no process, no file). */
int pgserver_locate(const char *project_root, VDict *profile_output, PgServerInfo *info, Diag *err);

/* Make sure the server runs (initdb and start if needed, recover a stale
 * pid file, create the target database) and point io at it: io->host (the
 * socket directory, stored in io->host_buf), io->port, io->user, io->dbname;
 * password is cleared.  info may be NULL. */
int pgserver_ensure(const char *project_root, VDict *profile_output, PgParams *io,
                    PgServerInfo *info, Diag *err);

/* Fill *info; info->running says whether the server answers. */
int pgserver_status(const char *project_root, VDict *profile_output, PgServerInfo *info, Diag *err);

/* Stop the server (fast shutdown) if it runs; 0 also when it was not running.
 * *was_running (may be NULL) tells which. */
int pgserver_stop(const char *project_root, VDict *profile_output, bool *was_running, Diag *err);
#endif
