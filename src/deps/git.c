/* git.c - running the system `git` for git packages: fork, chdir, exec
 * with LC_ALL=C (so its messages are the English ones dbt matches), both
 * output streams read through poll() so neither pipe can fill up and
 * stall it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deps.h"

bool deps_have_git(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    Sb cand = SB_INIT;
    bool found = false;
    for (const char *p = path; !found;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        sb_reset(&cand);
        if (n)
            sb_append(&cand, p, n);
        else
            sb_putc(&cand, '.');
        sb_puts(&cand, "/git");
        struct stat st;
        found = stat(sb_cstr(&cand), &st) == 0 && S_ISREG(st.st_mode) && access(sb_cstr(&cand), X_OK) == 0;
        if (!colon)
            break;
        p = colon + 1;
    }
    sb_free(&cand);
    return found;
}

int deps_git(const char *cwd, const char *const *args, Sb *out, Sb *errout)
{
    int po[2], pe[2], px[2];
    if (pipe(po) != 0)
        return -1;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    if (pipe(px) != 0) {           /* exec failure: the child's errno */
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        return -1;
    }
    fcntl(px[1], F_SETFD, FD_CLOEXEC);
    int n = 0;
    while (args[n])
        n++;
    const char **argv = calloc((size_t)n + 2, sizeof *argv);
    argv[0] = "git";
    for (int i = 0; i < n; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        free(argv);
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]); close(px[0]); close(px[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]); close(px[0]);
        setenv("LC_ALL", "C", 1);
        int e = 0;
        if (cwd && chdir(cwd) != 0)
            e = errno;
        else {
            execvp("git", (char *const *)argv);
            e = errno;
        }
        if (write(px[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    free(argv);
    close(po[1]);
    close(pe[1]);
    close(px[1]);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    Sb *sinks[2] = {out, errout};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(fds[i].fd, buf, sizeof buf);
            if (k > 0) {
                if (sinks[i])
                    sb_append(sinks[i], buf, (size_t)k);
            } else if (k == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int child_errno = 0;
    ssize_t got = read(px[0], &child_errno, sizeof child_errno);
    close(px[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof child_errno && child_errno) {
        errno = child_errno;
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
