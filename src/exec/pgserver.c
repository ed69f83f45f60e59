/* pgserver.c - the managed local PostgreSQL server (contract: pgserver.h).
 *
 * Owns: finding the server binaries, the cluster's paths (data directory,
 * state directory, socket directory), initdb, pg_ctl start/stop as the right
 * system user, reading postmaster.pid, stale-pid recovery, and creating the
 * target database.  Leaves to pg.c: every SQL connection made afterwards.
 *
 * Children (initdb, pg_ctl) are started with fork + execve: the parent opens
 * their output file and resolves the user beforehand, so the child only
 * calls dup2/setgroups/setgid/setuid/chdir/execve.  Every descriptor this
 * file opens is close-on-exec, so the long-lived postmaster never inherits
 * our lock file or a caller's pipe. */
#include "pgserver.h"
#include "pg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/arena.h"
#include "../base/fs.h"
#include "../base/hash.h"

extern char **environ;

typedef struct RunAs {
    bool switch_user;          /* we are root: drop to uid/gid in children */
    uid_t uid;
    gid_t gid;
} RunAs;

/* ------------------------------------------------------------ small helpers */

static const char *dict_text(VDict *d, const char *key, char *buf, size_t cap)
{
    Value *v = d ? dict_getz(d, key) : NULL;
    if (!v)
        return NULL;
    if (v->type == V_STR)
        return v->u.s->s;
    if (v->type == V_INT) {
        snprintf(buf, cap, "%lld", (long long)v->u.i);
        return buf;
    }
    return NULL;
}

bool pgserver_is_managed(VDict *profile_output)
{
    Value *v = profile_output ? dict_getz(profile_output, "managed") : NULL;
    if (!v)
        return false;
    if (v->type == V_STR)
        return !strcasecmp(v->u.s->s, "true") || !strcmp(v->u.s->s, "1") || !strcasecmp(v->u.s->s, "yes");
    return value_truthy(*v);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool is_exec(const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, X_OK) == 0;
}

static bool good_bindir(const char *d)
{
    return d && *d && is_exec(d, "initdb") && is_exec(d, "pg_ctl") && is_exec(d, "postgres");
}

/* Output of `pg_config --bindir`, or "" (run through the shell: PATH lookup). */
static void pg_config_bindir(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = popen("pg_config --bindir 2>/dev/null", "re");
    if (!f)
        return;
    if (fgets(out, (int)cap, f)) {
        size_t n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            out[--n] = '\0';
    } else {
        out[0] = '\0';
    }
    pclose(f);
}

/* Compare "15" and "9.6" style version directory names numerically. */
static int version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
            return strcmp(a, b);
    }
    return 0;
}

static int find_bindir(char *out, size_t cap, Diag *err)
{
    const char *env = getenv("CDBT_PG_BINDIR");
    if (env && *env) {
        if (good_bindir(env)) {
            snprintf(out, cap, "%s", env);
            return 0;
        }
        diag_set(err, NULL, 0, 0, NULL, "CDBT_PG_BINDIR=%s does not contain initdb, pg_ctl and postgres", env);
        return -1;
    }
    char buf[1024];
    pg_config_bindir(buf, sizeof buf);
    if (good_bindir(buf)) {
        snprintf(out, cap, "%s", buf);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path) {
        char *copy = xstrdup(path), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            char p[1200], real[4096];
            snprintf(p, sizeof p, "%s/initdb", *d ? d : ".");
            if (access(p, X_OK) != 0 || !realpath(p, real))
                continue;
            char *slash = strrchr(real, '/');
            if (!slash)
                continue;
            *slash = '\0';
            if (good_bindir(real)) {
                snprintf(out, cap, "%.1000s", real);
                free(copy);
                return 0;
            }
        }
        free(copy);
    }
    DIR *dir = opendir("/usr/lib/postgresql");
    char best[256] = "";
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9' || strlen(e->d_name) >= sizeof best)
                continue;
            char d[1200];
            snprintf(d, sizeof d, "/usr/lib/postgresql/%s/bin", e->d_name);
            if (good_bindir(d) && (!best[0] || version_cmp(e->d_name, best) > 0))
                snprintf(best, sizeof best, "%s", e->d_name);
        }
        closedir(dir);
    }
    if (best[0]) {
        snprintf(out, cap, "/usr/lib/postgresql/%s/bin", best);
        return 0;
    }
    diag_set(err, NULL, 0, 0, NULL,
             "The managed PostgreSQL server needs the PostgreSQL server binaries (initdb, pg_ctl, postgres), "
             "which were not found via pg_config --bindir, PATH or /usr/lib/postgresql/*/bin "
             "(Debian/Ubuntu: apt-get install postgresql; or set CDBT_PG_BINDIR)");
    return -1;
}

/* ------------------------------------------------------------ locate */

static int resolve_user(VDict *out, PgServerInfo *info, RunAs *ra, Diag *err)
{
    char buf[64];
    memset(ra, 0, sizeof *ra);
    if (geteuid() == 0) {
        const char *name = dict_text(out, "run_as_user", buf, sizeof buf);
        if (!name || !*name)
            name = "postgres";
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            diag_set(err, NULL, 0, 0, NULL,
                     "PostgreSQL refuses to run as root, and the system user '%s' to run the managed server "
                     "does not exist (create it, e.g. `useradd --system postgres`, or name another user "
                     "with run_as_user in the profile)", name);
            return -1;
        }
        if (pw->pw_uid == 0) {
            diag_set(err, NULL, 0, 0, NULL,
                     "run_as_user '%s' is root; PostgreSQL refuses to run as root", name);
            return -1;
        }
        ra->switch_user = true;
        ra->uid = pw->pw_uid;
        ra->gid = pw->pw_gid;
        snprintf(info->os_user, sizeof info->os_user, "%s", pw->pw_name);
    } else {
        struct passwd *pw = getpwuid(geteuid());
        ra->uid = geteuid();
        ra->gid = getegid();
        snprintf(info->os_user, sizeof info->os_user, "%s", pw ? pw->pw_name : "?");
    }
    return 0;
}

static int locate(const char *root, VDict *out, PgServerInfo *info, RunAs *ra, bool need_bin, Diag *err)
{
    char buf[64];
    memset(info, 0, sizeof *info);
    Sb s = SB_INIT;
    char *abs_root = path_absolute(root);
    const char *dd = dict_text(out, "data_dir", buf, sizeof buf);
    path_join(&s, abs_root, ".cdbt");
    snprintf(info->state_dir, sizeof info->state_dir, "%s", sb_cstr(&s));
    sb_reset(&s);
    if (dd && *dd)
        path_join(&s, abs_root, dd);
    else
        path_join(&s, info->state_dir, "pgdata");
    char *norm = path_normalize(sb_cstr(&s));
    snprintf(info->data_dir, sizeof info->data_dir, "%s", norm);
    snprintf(info->log_path, sizeof info->log_path, "%s/postgres.log", info->state_dir);
    char hex[65];
    sha256_hex(norm, strlen(norm), hex);
    snprintf(info->sock_dir, sizeof info->sock_dir, "/tmp/cdbt-%u-%.12s", (unsigned)getuid(), hex);
    free(norm);
    free(abs_root);
    sb_free(&s);

    const char *su = dict_text(out, "user", buf, sizeof buf);
    snprintf(info->superuser, sizeof info->superuser, "%s", su && *su ? su : "postgres");
    const char *db = dict_text(out, "dbname", buf, sizeof buf);
    if (!db)
        db = dict_text(out, "database", buf, sizeof buf);
    snprintf(info->dbname, sizeof info->dbname, "%s", db && *db ? db : "postgres");
    Value *pv = out ? dict_getz(out, "port") : NULL;
    info->port = 5432;
    if (pv && pv->type == V_INT && pv->u.i > 0 && pv->u.i < 65536)
        info->port = (int)pv->u.i;
    else if (pv && pv->type == V_STR && atoi(pv->u.s->s) > 0)
        info->port = atoi(pv->u.s->s);

    char pv_path[1200];
    snprintf(pv_path, sizeof pv_path, "%s/PG_VERSION", info->data_dir);
    info->initialized = fs_is_file(pv_path);
    if (info->initialized) {
        char *txt = NULL;
        size_t n = 0;
        if (fs_read_file(pv_path, &txt, &n) == 0) {
            while (n > 0 && (txt[n - 1] == '\n' || txt[n - 1] == ' '))
                txt[--n] = '\0';
            snprintf(info->version, sizeof info->version, "%s", txt);
        }
        free(txt);
    }
    if (resolve_user(out, info, ra, err) != 0)
        return -1;
    if (need_bin && find_bindir(info->bindir, sizeof info->bindir, err) != 0)
        return -1;
    return 0;
}

/* The public functions accept err == NULL: they then record into a local
 * Diag that is dropped. */
#define LOCAL_DIAG(err) Diag local_diag_ = {0}; if (!(err)) (err) = &local_diag_
#define LOCAL_DIAG_END() diag_clear(&local_diag_)

int pgserver_locate(const char *project_root, VDict *profile_output, PgServerInfo *info, Diag *err)
{
    RunAs ra;
    LOCAL_DIAG(err);
    int rc = locate(project_root, profile_output, info, &ra, false, err);
    LOCAL_DIAG_END();
    return rc;
}

/* ------------------------------------------------------------ processes */

/* Environment for children: ours minus PG* variables (PGDATA, PGPORT, ...
 * would override what we pass). Returned array points into environ. */
static char **child_env(void)
{
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **env = xcalloc(n + 1, sizeof *env);
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "PG", 2) != 0)
            env[k++] = *e;
    env[k] = NULL;
    return env;
}

/* Run argv[0] (absolute) with output appended to out_path, as ra's user.
 * Returns the exit status (0 = success), or -1 if it could not be run. */
static int run_cmd(const RunAs *ra, char *const argv[], const char *out_path)
{
    int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char **env = child_env();
    pid_t pid = fork();
    if (pid == 0) {
        if (nullfd >= 0)
            dup2(nullfd, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (ra->switch_user) {
            gid_t g = ra->gid;
            if (setgroups(1, &g) != 0 || setgid(ra->gid) != 0 || setuid(ra->uid) != 0)
                _exit(126);
        }
        if (chdir("/") != 0)
            _exit(126);
        execve(argv[0], argv, env);
        _exit(127);
    }
    free(env);
    if (fd >= 0)
        close(fd);
    if (nullfd >= 0)
        close(nullfd);
    if (pid < 0)
        return -1;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Last lines of a log file (for error notes). */
static void note_log_tail(Diag *err, const char *path, int lines)
{
    char *txt = NULL;
    size_t n = 0;
    if (!err || fs_read_file(path, &txt, &n) != 0 || n == 0) {
        free(txt);
        return;
    }
    size_t i = n;
    while (i > 0 && txt[i - 1] == '\n')
        i--;
    size_t end = i;
    int k = 0;
    while (i > 0 && k < lines) {
        i--;
        if (txt[i] == '\n')
            k++;
    }
    if (txt[i] == '\n')
        i++;
    diag_note(err, "last lines of %s:", path);
    while (i < end) {
        char *nl = memchr(txt + i, '\n', end - i);
        size_t len = nl ? (size_t)(nl - (txt + i)) : end - i;
        diag_note(err, "  %.*s", (int)len, txt + i);
        i += len + 1;
    }
    free(txt);
}

/* Make dir owned by ra's user (when root), creating it with mode. */
static int own_dir(const char *dir, mode_t mode, const RunAs *ra, Diag *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (mkdir(dir, mode) != 0 && errno != EEXIST) {
            diag_set(err, NULL, 0, 0, NULL, "Could not create %s: %s", dir, strerror(errno));
            return -1;
        }
        if (lstat(dir, &st) != 0) {
            diag_set(err, NULL, 0, 0, NULL, "Could not create %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        diag_set(err, NULL, 0, 0, NULL, "%s exists and is not a directory", dir);
        return -1;
    }
    if (st.st_uid != ra->uid) {
        if (!ra->switch_user || chown(dir, ra->uid, ra->gid) != 0) {
            diag_set(err, NULL, 0, 0, NULL, "%s is owned by another user (uid %u)", dir, (unsigned)st.st_uid);
            return -1;
        }
    }
    if ((st.st_mode & 07777) != mode)
        chmod(dir, mode);
    return 0;
}

/* ------------------------------------------------------------ pid file / ping */

typedef struct PidFile {
    long pid;
    int port;
    char sock_dir[108];
    char status[16];
} PidFile;

static bool read_pidfile(const char *data_dir, PidFile *pf)
{
    char path[1200], *txt = NULL;
    size_t n = 0;
    memset(pf, 0, sizeof *pf);
    snprintf(path, sizeof path, "%s/postmaster.pid", data_dir);
    if (fs_read_file(path, &txt, &n) != 0)
        return false;
    int line = 1;
    char *p = txt;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (line == 1)
            pf->pid = atol(p);
        else if (line == 4)
            pf->port = atoi(p);
        else if (line == 5)
            snprintf(pf->sock_dir, sizeof pf->sock_dir, "%s", p);
        else if (line == 8)
            snprintf(pf->status, sizeof pf->status, "%.15s", p);
        line++;
        p = nl ? nl + 1 : NULL;
    }
    free(txt);
    return pf->pid > 0;
}

/* What the pid of a postmaster.pid is now.  PID_GONE: no such process
 * (PostgreSQL itself then ignores the pid file); PID_OURS: a live process
 * named postgres working in data_dir (the postmaster's working directory is
 * its data directory), or one we cannot inspect; PID_STALE: a zombie (an
 * unreaped killed postmaster) or a recycled pid of another program, which
 * PostgreSQL would mistake for a running server. */
enum { PID_GONE, PID_OURS, PID_STALE };

static int pid_state(long pid, const char *data_dir)
{
    if (pid <= 0)
        return PID_GONE;
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
        return PID_GONE;
    char path[64], comm[64] = "", stat[512] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (f) {
        /* "pid (comm) S ...": zombie (Z) or dead (X) */
        if (!fgets(stat, sizeof stat, f))
            stat[0] = '\0';
        fclose(f);
        char *rp = strrchr(stat, ')');
        if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
            return PID_STALE;
    }
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    f = fopen(path, "re");
    if (!f)
        return PID_OURS;               /* no /proc: trust kill() */
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    if (strncmp(comm, "postgres", 8) != 0 && strncmp(comm, "postmaster", 10) != 0)
        return PID_STALE;
    char cwd[4096], real[4096];
    snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
    ssize_t n = readlink(path, cwd, sizeof cwd - 1);
    if (n < 0 || !realpath(data_dir, real))
        return PID_OURS;               /* cannot tell: trust the name */
    cwd[n] = '\0';
    return strcmp(cwd, real) == 0 ? PID_OURS : PID_STALE;
}

static bool pid_is_postgres(long pid, const char *data_dir)
{
    return pid_state(pid, data_dir) == PID_OURS;
}

/* Does any live process still work in data_dir (backends of a killed
 * postmaster that have not exited yet)?  true when we cannot tell. */
static bool data_dir_in_use(const char *data_dir)
{
    char real[4096];
    if (!realpath(data_dir, real))
        return true;
    DIR *d = opendir("/proc");
    if (!d)
        return true;
    bool used = false;
    struct dirent *e;
    while (!used && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], cwd[4096];
        snprintf(path, sizeof path, "/proc/%s/cwd", e->d_name);
        ssize_t n = readlink(path, cwd, sizeof cwd - 1);
        if (n < 0)
            continue;
        cwd[n] = '\0';
        used = strcmp(cwd, real) == 0;
    }
    closedir(d);
    return used;
}

static PGPing ping(const char *sock_dir, int port, const char *user)
{
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    const char *k[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *v[] = {sock_dir, portbuf, user, "postgres", "3", NULL};
    if (pq_load(NULL) != 0)
        return PQPING_NO_ATTEMPT;
    return PQpingParams(k, v, 0);
}

/* Look at the data directory: fill pid/sock_dir/port/running in info from a
 * live server.  Returns 1 running, 0 not running (stale pid file removed
 * when its process is gone or is not PostgreSQL), 2 a live postmaster that
 * does not answer. */
static int probe(PgServerInfo *info, int wait_ms)
{
    PidFile pf;
    info->running = false;
    info->pid = 0;
    if (!read_pidfile(info->data_dir, &pf))
        return 0;
    int ps = pid_state(pf.pid, info->data_dir);
    if (ps != PID_OURS) {
        /* The postmaster crashed or was killed.  A gone pid PostgreSQL
         * handles itself (and the file's shared memory key lets it check
         * that no old backend is alive); a zombie or recycled pid it would
         * take for a running server: drop the file, but only once no old
         * backend works in the data directory any more. */
        if (ps == PID_STALE && !data_dir_in_use(info->data_dir)) {
            char path[1200];
            snprintf(path, sizeof path, "%s/postmaster.pid", info->data_dir);
            unlink(path);
            /* the socket's lock file names the same pid: same verdict */
            const char *sd = pf.sock_dir[0] ? pf.sock_dir : info->sock_dir;
            int port = pf.port > 0 ? pf.port : info->port;
            char *txt = NULL;
            size_t n = 0;
            snprintf(path, sizeof path, "%s/.s.PGSQL.%d.lock", sd, port);
            if (fs_read_file(path, &txt, &n) == 0 && atol(txt) == pf.pid) {
                unlink(path);
                snprintf(path, sizeof path, "%s/.s.PGSQL.%d", sd, port);
                unlink(path);
            }
            free(txt);
        }
        return 0;
    }
    const char *sd = pf.sock_dir[0] ? pf.sock_dir : info->sock_dir;
    int port = pf.port > 0 ? pf.port : info->port;
    for (int waited = 0;; waited += 100) {
        PGPing r = ping(sd, port, info->superuser);
        if (r == PQPING_OK) {
            info->running = true;
            info->pid = pf.pid;
            snprintf(info->sock_dir, sizeof info->sock_dir, "%s", sd);
            info->port = port;
            return 1;
        }
        if (waited >= wait_ms || !pid_is_postgres(pf.pid, info->data_dir))
            break;
        sleep_ms(100);
        read_pidfile(info->data_dir, &pf);
    }
    if (!pid_is_postgres(pf.pid, info->data_dir))
        return 0;
    info->pid = pf.pid;
    return 2;
}

static void fetch_version(PgServerInfo *info)
{
    if (pq_load(NULL) != 0)
        return;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", info->port);
    const char *k[] = {"host", "port", "user", "dbname", "connect_timeout", "application_name", NULL};
    const char *v[] = {info->sock_dir, portbuf, info->superuser, "postgres", "5", "cdbt", NULL};
    PGconn *c = PQconnectdbParams(k, v, 0);
    if (c && PQstatus(c) == CONNECTION_OK) {
        const char *sv = PQparameterStatus(c, "server_version");
        if (sv)
            snprintf(info->version, sizeof info->version, "%s", sv);
    }
    PQfinish(c);
}

/* ------------------------------------------------------------ lifecycle */

static int lock_state(const PgServerInfo *info, Diag *err)
{
    if (fs_mkdir_p(info->state_dir) != 0) {
        diag_set(err, NULL, 0, 0, NULL, "Could not create %s: %s", info->state_dir, strerror(errno));
        return -1;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/server.lock", info->state_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        diag_set(err, NULL, 0, 0, NULL, "Could not open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            diag_set(err, NULL, 0, 0, NULL, "Could not lock %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_state(int fd)
{
    if (fd >= 0)
        close(fd);                       /* releases the flock */
}

/* As root, the server user must be able to search every directory above
 * the data directory.  Returns the first that it cannot, or "" (mode bits
 * only; ACLs and supplementary groups are not considered). */
static void first_blocking_dir(const char *path, const RunAs *ra, char *out, size_t cap)
{
    out[0] = '\0';
    if (!ra->switch_user)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char save = *p;
            *p = '\0';
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) {
                mode_t need = st.st_uid == ra->uid ? S_IXUSR : st.st_gid == ra->gid ? S_IXGRP : S_IXOTH;
                if (!(st.st_mode & need)) {
                    snprintf(out, cap, "%s", buf);
                    return;
                }
            }
            *p = save;
            if (end)
                return;
        }
    }
}

static int do_initdb(PgServerInfo *info, const RunAs *ra, Diag *err)
{
    char blocked[1024];
    first_blocking_dir(info->state_dir, ra, blocked, sizeof blocked);
    if (!blocked[0])
        first_blocking_dir(info->data_dir, ra, blocked, sizeof blocked);
    if (blocked[0]) {
        diag_set(err, NULL, 0, 0, NULL,
                 "The managed PostgreSQL server runs as '%s' (PostgreSQL refuses to run as root), "
                 "who cannot enter %s to reach its data directory %s",
                 info->os_user, blocked, info->data_dir);
        diag_note(err, "note: give it access (chmod o+x %s), or set data_dir in the profile to a "
                       "directory outside it (e.g. data_dir: /var/lib/cdbt/<project>)", blocked);
        return -1;
    }

    char initdb[1200], logp[1200];
    snprintf(initdb, sizeof initdb, "%s/initdb", info->bindir);
    snprintf(logp, sizeof logp, "%s/initdb.log", info->state_dir);
    unlink(logp);
    if (fs_mkdir_p(info->data_dir) != 0) {
        diag_set(err, NULL, 0, 0, NULL, "Could not create %s: %s", info->data_dir, strerror(errno));
        return -1;
    }
    if (own_dir(info->data_dir, 0700, ra, err) != 0)
        return -1;
    char uopt[200];
    snprintf(uopt, sizeof uopt, "--username=%s", info->superuser);
    static const char *const locales[] = {"--locale=C.UTF-8", "--locale=C"};
    int rc = -1;
    for (size_t i = 0; i < 2; i++) {
        /* --no-sync: a fresh dev cluster; skipping initdb's final fsync
         * halves the cold start on a busy disk. */
        char *argv[] = {initdb, "-D", info->data_dir, uopt, "--auth=trust", "--encoding=UTF8",
                        (char *)locales[i], "--no-sync", NULL};
        rc = run_cmd(ra, argv, logp);
        if (rc == 0)
            break;
    }
    if (rc != 0) {
        diag_set(err, NULL, 0, 0, NULL, "initdb of the managed PostgreSQL cluster in %s failed (exit %d)",
                 info->data_dir, rc);
        note_log_tail(err, logp, 8);
        if (ra->switch_user)
            diag_note(err, "note: the server runs as '%s', who must be able to reach %s",
                      info->os_user, info->data_dir);
        return -1;
    }
    /* No TCP listener even when someone starts the cluster by hand. */
    char conf[1200];
    snprintf(conf, sizeof conf, "%s/postgresql.conf", info->data_dir);
    FILE *f = fopen(conf, "ae");
    if (f) {
        fprintf(f, "\n# cdbt managed server: Unix socket only (cdbt passes the socket directory)\n"
                   "listen_addresses = ''\n");
        fclose(f);
    }
    info->initialized = true;
    return 0;
}

static int pg_ctl_start(PgServerInfo *info, const RunAs *ra, Diag *err)
{
    char pg_ctl[1200], opts[400], ctl_log[1200];
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", info->bindir);
    snprintf(ctl_log, sizeof ctl_log, "%s/pg_ctl.log", info->state_dir);
    snprintf(opts, sizeof opts, "-c listen_addresses='' -c unix_socket_directories='%s' -c port=%d",
             info->sock_dir, info->port);
    /* The server (not us) opens its log: make sure it may. */
    int fd = open(info->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (ra->switch_user && fchown(fd, ra->uid, ra->gid) != 0) {
            /* best effort: pg_ctl reports it if the log cannot be opened */
        }
        close(fd);
    }
    if (own_dir(info->sock_dir, 0700, ra, err) != 0)
        return -1;
    char *argv[] = {pg_ctl, "-D", info->data_dir, "-l", info->log_path, "-w", "-t", "60", "-s",
                    "-o", opts, "start", NULL};
    unlink(ctl_log);
    int rc = -1;
    for (int attempt = 0; attempt < 6; attempt++) {
        rc = run_cmd(ra, argv, ctl_log);
        if (rc == 0)
            return 0;
        /* After a kill -9 of the postmaster its children may still hold the
         * old shared memory for a moment: wait and retry. */
        if (probe(info, 0) == 1)
            return 0;
        sleep_ms(700);
    }
    diag_set(err, NULL, 0, 0, NULL, "Could not start the managed PostgreSQL server (data directory %s, pg_ctl exit %d)",
             info->data_dir, rc);
    note_log_tail(err, ctl_log, 4);
    note_log_tail(err, info->log_path, 6);
    return -1;
}

static int pg_ctl_stop(PgServerInfo *info, const RunAs *ra, const char *mode, Diag *err)
{
    char pg_ctl[1200], ctl_log[1200];
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", info->bindir);
    snprintf(ctl_log, sizeof ctl_log, "%s/pg_ctl.log", info->state_dir);
    char *argv[] = {pg_ctl, "-D", info->data_dir, "-m", (char *)mode, "-w", "-t", "60", "-s", "stop", NULL};
    int rc = run_cmd(ra, argv, ctl_log);
    if (rc != 0) {
        PidFile pf;
        if (!read_pidfile(info->data_dir, &pf) || !pid_is_postgres(pf.pid, info->data_dir))
            return 0;                    /* gone anyway */
        diag_set(err, NULL, 0, 0, NULL, "Could not stop the managed PostgreSQL server (pg_ctl exit %d)", rc);
        note_log_tail(err, ctl_log, 4);
        return -1;
    }
    return 0;
}

static int create_database(PgServerInfo *info, Diag *err)
{
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", info->port);
    const char *k[] = {"host", "port", "user", "dbname", "connect_timeout", "application_name", NULL};
    const char *v[] = {info->sock_dir, portbuf, info->superuser, "postgres", "10", "cdbt", NULL};
    const char *why;
    if (pq_load(&why) != 0) {
        diag_set(err, NULL, 0, 0, NULL, "%s", why);
        return -1;
    }
    int ret = -1;
    Sb q = SB_INIT;
    PGresult *r = NULL;
    PGconn *c = PQconnectdbParams(k, v, 0);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        diag_set(err, NULL, 0, 0, NULL, "Could not connect to the managed PostgreSQL server on %s: %s",
                 info->sock_dir, c ? PQerrorMessage(c) : "out of memory");
        goto done;
    }
    sb_puts(&q, "select 1 from pg_database where datname = ");
    pg_quote_literal(&q, info->dbname);
    r = PQexec(c, sb_cstr(&q));
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        diag_set(err, NULL, 0, 0, NULL, "managed server: %s", PQerrorMessage(c));
        goto done;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        sb_reset(&q);
        sb_puts(&q, "create database ");
        pg_quote_ident(&q, info->dbname);
        r = PQexec(c, sb_cstr(&q));
        /* 42P04: created concurrently by someone else - fine. */
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !(st && !strcmp(st, "42P04"))) {
            diag_set(err, NULL, 0, 0, NULL, "managed server: could not create database \"%s\": %s",
                     info->dbname, PQerrorMessage(c));
            goto done;
        }
    }
    const char *sv = PQparameterStatus(c, "server_version");
    if (sv)
        snprintf(info->version, sizeof info->version, "%s", sv);
    ret = 0;
done:
    PQclear(r);
    PQfinish(c);
    sb_free(&q);
    return ret;
}

static int server_ensure(const char *project_root, VDict *profile_output, PgParams *io,
                    PgServerInfo *info_out, Diag *err)
{
    PgServerInfo local, *info = info_out ? info_out : &local;
    RunAs ra;
    int lockfd = -1, ret = -1;
    if (locate(project_root, profile_output, info, &ra, true, err) != 0)
        return -1;
    if ((lockfd = lock_state(info, err)) < 0)
        return -1;
    if (!info->initialized && do_initdb(info, &ra, err) != 0)
        goto done;
    int st = probe(info, 3000);
    if (st == 2) {
        /* A postmaster holds the data directory but does not answer (its
         * socket directory vanished?): restart it. */
        if (pg_ctl_stop(info, &ra, "fast", err) != 0)
            goto done;
        st = 0;
    }
    if (st == 0 && pg_ctl_start(info, &ra, err) != 0)
        goto done;
    if (!info->running && probe(info, 5000) != 1) {
        diag_set(err, NULL, 0, 0, NULL, "The managed PostgreSQL server started but does not answer on %s",
                 info->sock_dir);
        note_log_tail(err, info->log_path, 6);
        goto done;
    }
    if (create_database(info, err) != 0)
        goto done;
    snprintf(io->host_buf, sizeof io->host_buf, "%s", info->sock_dir);
    io->host = io->host_buf;
    io->port = info->port;
    if (!io->user || !*io->user)
        io->user = "postgres";
    if (!io->dbname || !*io->dbname)
        io->dbname = "postgres";
    io->password = NULL;
    io->sslmode = NULL;
    ret = 0;
done:
    unlock_state(lockfd);
    return ret;
}

static int server_status(const char *project_root, VDict *profile_output, PgServerInfo *info, Diag *err)
{
    RunAs ra;
    if (locate(project_root, profile_output, info, &ra, false, err) != 0)
        return -1;
    char bin[1024];
    Diag ignore = {0};
    if (find_bindir(bin, sizeof bin, &ignore) == 0)
        snprintf(info->bindir, sizeof info->bindir, "%s", bin);
    diag_clear(&ignore);
    if (probe(info, 0) == 1)
        fetch_version(info);
    return 0;
}

static int server_stop(const char *project_root, VDict *profile_output, bool *was_running, Diag *err)
{
    PgServerInfo info;
    RunAs ra;
    int lockfd = -1, ret = -1;
    if (was_running)
        *was_running = false;
    if (locate(project_root, profile_output, &info, &ra, true, err) != 0)
        return -1;
    PidFile pf;
    if (!info.initialized || !read_pidfile(info.data_dir, &pf) || !pid_is_postgres(pf.pid, info.data_dir))
        return 0;
    if ((lockfd = lock_state(&info, err)) < 0)
        return -1;
    if (was_running)
        *was_running = true;
    if (pg_ctl_stop(&info, &ra, "fast", err) != 0)
        goto done;
    rmdir(info.sock_dir);               /* best effort: empty once the server is gone */
    if (pf.sock_dir[0] && strcmp(pf.sock_dir, info.sock_dir) != 0 && !strncmp(pf.sock_dir, "/tmp/cdbt-", 10))
        rmdir(pf.sock_dir);
    ret = 0;
done:
    unlock_state(lockfd);
    return ret;
}

int pgserver_ensure(const char *project_root, VDict *profile_output, PgParams *io,
                    PgServerInfo *info_out, Diag *err)
{
    LOCAL_DIAG(err);
    int rc = server_ensure(project_root, profile_output, io, info_out, err);
    LOCAL_DIAG_END();
    return rc;
}

int pgserver_status(const char *project_root, VDict *profile_output, PgServerInfo *info, Diag *err)
{
    LOCAL_DIAG(err);
    int rc = server_status(project_root, profile_output, info, err);
    LOCAL_DIAG_END();
    return rc;
}

int pgserver_stop(const char *project_root, VDict *profile_output, bool *was_running, Diag *err)
{
    LOCAL_DIAG(err);
    int rc = server_stop(project_root, profile_output, was_running, err);
    LOCAL_DIAG_END();
    return rc;
}
