/* capture.c - running a helper program to completion and keeping what it
 * wrote (run's `ctest --show-only=json-v1`): posix_spawn with an argv,
 * never a shell, stdin on /dev/null, our signal mask and handlers reset.
 * Waits for that one pid only, never waitpid(-1), so libuv's reaping and
 * the supervisor's are not disturbed. Never leaves the child running. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"

#define OUT_MAX (256u * 1024u * 1024u)
#define ERR_KEEP (64u * 1024u)

extern char **environ;

/* A growing, NUL-terminated byte buffer. */
typedef struct cbuf {
        char *p;
        size_t len, cap;
} cbuf;

static int cbuf_add(cbuf *b, const char *s, size_t n) {
        size_t cap;
        char *np;

        if (b->len + n + 1 > b->cap) {
                cap = b->cap ? b->cap : 4096;
                while (cap < b->len + n + 1)
                        cap *= 2;
                np = realloc(b->p, cap);
                if (!np)
                        return UV_ENOMEM;
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

/* The buffer's text, never NULL (an empty output is ""). */
static char *cbuf_steal(cbuf *b, size_t *out_len) {
        char *p = b->p ? b->p : calloc(1, 1);

        *out_len = b->len;
        b->p = NULL;
        b->len = b->cap = 0;
        return p;
}

/* Reads stdout and stderr until both are closed or the deadline passes.
 * Returns 0, UV_ETIMEDOUT, UV_E2BIG or a read error. */
static int drain(int fds[2], cbuf *bufs[2], uint64_t deadline) {
        struct pollfd pfd[2];
        char chunk[65536];
        uint64_t now;
        ssize_t n;
        int i, r;

        while (fds[0] >= 0 || fds[1] >= 0) {
                now = sv__plat_now_us() / 1000u;
                if (now >= deadline)
                        return UV_ETIMEDOUT;
                for (i = 0; i < 2; i++) {
                        pfd[i].fd = fds[i];
                        pfd[i].events = POLLIN;
                        pfd[i].revents = 0;
                }
                r = poll(pfd, 2, deadline - now > INT_MAX ? -1 : (int) (deadline - now));
                if (r < 0 && errno != EINTR)
                        return -errno;
                for (i = 0; r > 0 && i < 2; i++) {
                        if (fds[i] < 0 || !pfd[i].revents)
                                continue;
                        n = read(fds[i], chunk, sizeof(chunk));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                (void) close(fds[i]);
                                fds[i] = -1;
                                continue;
                        }
                        if (i == 1 && bufs[1]->len > ERR_KEEP)
                                continue; /* stderr: the start is enough */
                        if (bufs[i]->len + (size_t) n > OUT_MAX)
                                return UV_E2BIG;
                        if (cbuf_add(bufs[i], chunk, (size_t) n) < 0)
                                return UV_ENOMEM;
                }
        }
        return 0;
}

/* Finds `prog` as execvp would (PATH, default "/bin:/usr/bin"), so a missing
 * ctest is UV_ENOENT even where posix_spawn cannot report exec failures
 * (valgrind runs it as a plain fork, and the child just exits 127). */
static int resolve(const char *prog, char *out, size_t outlen) {
        const char *path = getenv("PATH"), *p, *end;
        int r = UV_ENOENT;

        if (strchr(prog, '/')) {
                if (access(prog, X_OK) < 0)
                        return -errno;
                (void) snprintf(out, outlen, "%s", prog);
                return 0;
        }
        if (!path || !*path)
                path = "/bin:/usr/bin";
        for (p = path; p; p = *end ? end + 1 : NULL) {
                end = strchr(p, ':');
                if (!end)
                        end = p + strlen(p);
                if ((size_t) snprintf(out, outlen, "%.*s%s%s", (int) (end - p), p,
                                      end == p ? "" : "/", prog) >= outlen)
                        continue;
                if (access(out, X_OK) == 0)
                        return 0;
                if (errno == EACCES)
                        r = UV_EACCES;
        }
        return r;
}

static int spawn_capture(const char *exe, const char *const *argv, int out_fd, int err_fd,
                         pid_t *pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        r = posix_spawn_file_actions_init(&fa);
        if (r)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r) {
                (void) posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        /* The child starts clean: our signal mask and handlers are libuv's. */
        (void) sigemptyset(&none);
        (void) sigfillset(&all);
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setsigdefault(&attr, &all);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        (void) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        (void) posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        (void) posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        (void) posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        r = posix_spawn(pid, exe, &fa, &attr, (char *const *) argv, environ);
        (void) posix_spawnattr_destroy(&attr);
        (void) posix_spawn_file_actions_destroy(&fa);
        return -r;
}

/* Spawns argv with its stdout and stderr on pipes; *pid, and the read
 * ends in fds[]. */
static int start(const char *const *argv, int fds[2], pid_t *pid) {
        int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
        char exe[PATH_MAX];
        int r;

        r = resolve(argv[0], exe, sizeof(exe));
        if (r < 0)
                return r;
        if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        r = spawn_capture(exe, argv, po[1], pe[1], pid);
        if (r < 0)
                goto fail;
        (void) close(po[1]);
        (void) close(pe[1]);
        fds[0] = po[0];
        fds[1] = pe[0];
        return 0;

fail:
        if (po[0] >= 0) {
                (void) close(po[0]);
                (void) close(po[1]);
        }
        if (pe[0] >= 0) {
                (void) close(pe[0]);
                (void) close(pe[1]);
        }
        return r;
}

int sv__plat_run_capture(const char *const *argv, unsigned timeout_ms, char **out,
                         size_t *out_len, char **err, size_t *err_len, int *out_status) {
        cbuf ob = { 0 }, eb = { 0 };
        cbuf *bufs[2] = { &ob, &eb };
        char *o = NULL, *e = NULL;
        size_t olen = 0, elen = 0;
        uint64_t deadline;
        int fds[2], r, status = 0;
        pid_t pid, w;

        r = start(argv, fds, &pid);
        if (r < 0)
                return r;
        deadline = timeout_ms ? sv__plat_now_us() / 1000u + timeout_ms : UINT64_MAX;
        r = drain(fds, bufs, deadline);
        if (fds[0] >= 0)
                (void) close(fds[0]);
        if (fds[1] >= 0)
                (void) close(fds[1]);
        /* On any failure the child may still be running: end it before the
         * wait so the wait cannot hang. */
        if (r < 0)
                (void) kill(pid, SIGKILL);
        do
                w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        if (r == 0 && w < 0)
                r = -errno;
        if (r == 0) {
                o = cbuf_steal(&ob, &olen);
                e = cbuf_steal(&eb, &elen);
                if (!o || !e) {
                        free(o);
                        free(e);
                        r = UV_ENOMEM;
                }
        }
        if (r == 0) {
                *out = o;
                *out_len = olen;
                *err = e;
                *err_len = elen;
                *out_status = WIFSIGNALED(status) ? -WTERMSIG(status)
                              : WIFEXITED(status) ? WEXITSTATUS(status) : 255;
        }
        free(ob.p);
        free(eb.p);
        return r;
}
