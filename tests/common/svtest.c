/* svtest.c - helpers for the cmocka tests (see svtest.h). Owns nothing past a
 * call except the rotating path buffers. Signals only our own children (never
 * pid 0, 1, -1, ourselves or an ancestor), and waits for events (pidfd, pipe
 * EOF), falling back to a short polling backoff only where the kernel or
 * valgrind lacks pidfd_open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svtest.h"

#ifndef SV_WORKERS_DIR
#error "SV_WORKERS_DIR must be defined by the build"
#endif
#ifndef SV_CLI_PATH
#error "SV_CLI_PATH must be defined by the build"
#endif

extern char **environ;

/* Most children a test has at once; more than this are still reaped, a
 * batch at a time. */
#define MAX_CHILDREN 256

/* ---- Paths. ---- */

const char *svt_worker(const char *name) {
        static char bufs[8][PATH_MAX];
        static unsigned next;
        char *buf = bufs[next++ % 8];
        int n;

        n = snprintf(buf, PATH_MAX, "%s/%s", SV_WORKERS_DIR, name);
        assert_true(n > 0 && n < PATH_MAX);
        return buf;
}

const char *svt_cli(void) {
        return SV_CLI_PATH;
}

/* ---- Time. ---- */

static int64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until `deadline`, clamped to [0, INT_MAX] for poll(). */
static int remaining(int64_t deadline) {
        int64_t left = deadline - now_ms();

        if (left <= 0)
                return 0;
        return left > INT_MAX ? INT_MAX : (int) left;
}

/* ---- Children, as /proc sees them. ---- */

struct procinfo {
        pid_t ppid;
        char state;
        char comm[64];
};

/* Reads /proc/<pid>/stat. comm may hold spaces and parentheses, so the fields
 * after it start at the LAST ')'. Returns 0, or -errno (-ENOENT: gone). */
static int read_stat(pid_t pid, struct procinfo *out) {
        char path[64], buf[1024];
        char *open_paren, *close_paren;
        ssize_t n;
        size_t len;
        int fd, ppid;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -ENOENT;
        buf[n] = '\0';

        open_paren = strchr(buf, '(');
        close_paren = strrchr(buf, ')');
        if (!open_paren || !close_paren || close_paren < open_paren)
                return -EINVAL;
        if (sscanf(close_paren + 1, " %c %d", &out->state, &ppid) != 2)
                return -EINVAL;
        out->ppid = ppid;
        len = (size_t) (close_paren - open_paren - 1);
        if (len >= sizeof(out->comm))
                len = sizeof(out->comm) - 1;
        memcpy(out->comm, open_paren + 1, len);
        out->comm[len] = '\0';
        return 0;
}

int svt_list_children(pid_t *out, int max) {
        struct procinfo pi;
        struct dirent *de;
        pid_t self = getpid();
        DIR *dir;
        int count = 0;

        dir = opendir("/proc");
        if (!dir)
                return -errno;
        /* /proc lists thread-group leaders only, which is what a child is. */
        while ((de = readdir(dir)) != NULL) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end)
                        continue;
                if (read_stat((pid_t) pid, &pi) < 0 || pi.ppid != self)
                        continue;
                if (count < max)
                        out[count] = (pid_t) pid;
                count++;
        }
        (void) closedir(dir);
        return count;
}

/* Appends "pid (comm) state" for each child to buf; returns how many. */
static int describe_children(const pid_t *pids, int n, char *buf, size_t len) {
        struct procinfo pi;
        size_t used = strlen(buf);
        int i;

        for (i = 0; i < n && used + 1 < len; i++) {
                if (read_stat(pids[i], &pi) < 0) {
                        pi.state = '?';
                        (void) strcpy(pi.comm, "?");
                }
                (void) snprintf(buf + used, len - used, "%s%d (%s) %c", used ? ", " : "",
                                (int) pids[i], pi.comm, pi.state);
                used += strlen(buf + used);
        }
        return n;
}

void svt_assert_no_children(void) {
        pid_t pids[MAX_CHILDREN];
        char msg[2048] = "";
        int n;

        n = svt_list_children(pids, MAX_CHILDREN);
        if (n < 0)
                fail_msg("cannot list children: %s", strerror(-n));
        if (n == 0)
                return;
        (void) describe_children(pids, n < MAX_CHILDREN ? n : MAX_CHILDREN, msg, sizeof(msg));
        fail_msg("%d child process(es) left behind: %s", n, msg);
}

void svt_become_subreaper(void) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                fail_msg("cannot become a child subreaper: %s", strerror(errno));
}

/* ---- Waiting for children. ---- */

static int sys_pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Set once pidfd_open has said ENOSYS (old kernels, valgrind 3.19), so
 * valgrind's "unhandled syscall" warning appears only once per run. */
static int no_pidfd;

/* Blocks until one of `pids` may have exited, or `timeout_ms` passed. Where
 * there are no pidfds, sleeps a backoff (1 ms doubling to 50 ms) instead; the
 * caller checks with waitpid(WNOHANG) either way, so a wakeup that means
 * nothing costs only a loop. */
static void wait_some(const pid_t *pids, int n, int timeout_ms, int *backoff_ms) {
        struct pollfd pfds[MAX_CHILDREN];
        struct timespec ts;
        int i, nfds = 0, sleep_ms, failed = 0;

        for (i = 0; i < n && i < MAX_CHILDREN && !no_pidfd; i++) {
                int fd = sys_pidfd_open(pids[i]);

                if (fd < 0) {
                        if (errno == ENOSYS)
                                no_pidfd = 1;
                        /* ESRCH: reaped already, and the caller relists. */
                        failed |= errno != ESRCH;
                        continue;
                }
                pfds[nfds].fd = fd;
                pfds[nfds].events = POLLIN;
                nfds++;
        }
        if (nfds > 0) {
                (void) poll(pfds, (nfds_t) nfds, timeout_ms);
                for (i = 0; i < nfds; i++)
                        (void) close(pfds[i].fd);
                return;
        }
        /* Without a pidfd for every child (EMFILE, ENOSYS), poll by sleeping
         * rather than spin. */
        if (!no_pidfd && !failed)
                return;

        sleep_ms = *backoff_ms < timeout_ms ? *backoff_ms : timeout_ms;
        ts.tv_sec = sleep_ms / 1000;
        ts.tv_nsec = (long) (sleep_ms % 1000) * 1000000L;
        (void) nanosleep(&ts, NULL);
        *backoff_ms = *backoff_ms * 2 > 50 ? 50 : *backoff_ms * 2;
}

int svt_wait(pid_t pid, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        int backoff = 1, status;
        pid_t r;

        for (;;) {
                r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                if (r < 0 && errno != EINTR)
                        return -1;
                if (remaining(deadline) == 0)
                        return -1;
                wait_some(&pid, 1, remaining(deadline), &backoff);
        }
}

/* Reaps every child that has already exited; stores the live ones (at most
 * `max`) in `live` and returns how many there are. */
static int reap_exited(const pid_t *pids, int n, pid_t *live, int max) {
        int i, nlive = 0, status;

        for (i = 0; i < n; i++) {
                pid_t r = waitpid(pids[i], &status, WNOHANG);

                if (r == 0 && nlive < max)
                        live[nlive++] = pids[i];
        }
        return nlive;
}

/* SIGKILLs and reaps every child, round after round, because killing one
 * reparents its own children to us. Returns how many were still alive. */
static int kill_survivors(char *why, size_t why_len) {
        pid_t pids[MAX_CHILDREN];
        char scratch[2048] = "";
        int round, i, n, killed = 0, status;

        if (!why || why_len == 0) {
                why = scratch;
                why_len = sizeof(scratch);
        }
        for (round = 0; round < 1000; round++) {
                n = svt_list_children(pids, MAX_CHILDREN);
                if (n <= 0)
                        break;
                if (n > MAX_CHILDREN)
                        n = MAX_CHILDREN;
                for (i = 0; i < n; i++) {
                        struct procinfo pi;

                        assert_true(pids[i] > 1 && pids[i] != getpid());
                        if (read_stat(pids[i], &pi) == 0 && pi.state == 'Z') {
                                (void) waitpid(pids[i], &status, 0);
                                continue;
                        }
                        (void) describe_children(&pids[i], 1, why, why_len);
                        (void) kill(pids[i], SIGKILL);
                        (void) waitpid(pids[i], &status, 0);
                        killed++;
                }
        }
        return killed;
}

int svt_reap_children(int timeout_ms, char *why, size_t why_len) {
        int64_t deadline = now_ms() + timeout_ms;
        pid_t pids[MAX_CHILDREN], live[MAX_CHILDREN];
        int n, nlive, backoff = 1;

        if (why && why_len)
                why[0] = '\0';
        for (;;) {
                n = svt_list_children(pids, MAX_CHILDREN);
                if (n < 0)
                        return n;
                if (n == 0)
                        return 0;
                nlive = reap_exited(pids, n < MAX_CHILDREN ? n : MAX_CHILDREN, live, MAX_CHILDREN);
                /* Relist even when everything was reaped: a child that died may
                 * have handed us its orphans. */
                if (nlive == 0)
                        continue;
                if (remaining(deadline) == 0)
                        break;
                wait_some(live, nlive, remaining(deadline), &backoff);
        }
        return kill_survivors(why, why_len);
}

void svt_reap_all(int timeout_ms) {
        char why[2048];
        int killed, n;
        pid_t left[1];

        killed = svt_reap_children(timeout_ms, why, sizeof(why));
        if (killed < 0)
                fail_msg("cannot list children: %s", strerror(-killed));
        if (killed > 0)
                fail_msg("%d process(es) still alive after %d ms, killed: %s", killed, timeout_ms,
                         why);
        n = svt_list_children(left, 1);
        if (n != 0)
                svt_assert_no_children();
}

/* ---- Spawning. ---- */

/* Length of the "KEY" in "KEY=VALUE" (the whole string if it has no '='). */
static size_t env_key_len(const char *kv) {
        const char *eq = strchr(kv, '=');

        return eq ? (size_t) (eq - kv) : strlen(kv);
}

/* Our environment minus every variable `extra` sets, then `extra`. The array
 * is malloc'd; the strings are borrowed from environ and extra. */
static char **build_env(const char *const extra[]) {
        size_t nenv = 0, nextra = 0, i, j, k = 0;
        char **env;

        while (environ && environ[nenv])
                nenv++;
        while (extra && extra[nextra])
                nextra++;
        env = calloc(nenv + nextra + 1, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < nenv; i++) {
                size_t klen = env_key_len(environ[i]);
                int replaced = 0;

                for (j = 0; j < nextra && !replaced; j++)
                        replaced = env_key_len(extra[j]) == klen &&
                                   strncmp(extra[j], environ[i], klen) == 0;
                if (!replaced)
                        env[k++] = environ[i];
        }
        for (j = 0; j < nextra; j++)
                env[k++] = (char *) extra[j];
        env[k] = NULL;
        return env;
}

static void close_pipe(int p[2]) {
        if (p[0] >= 0)
                (void) close(p[0]);
        if (p[1] >= 0)
                (void) close(p[1]);
        p[0] = p[1] = -1;
}

/* The child starts with an empty signal mask and default dispositions, so
 * whatever cmocka or the test installed does not leak into it (an ignored
 * SIGPIPE or SIGTERM would survive exec). */
static int spawn_attr(posix_spawnattr_t *attr) {
        sigset_t none, all;
        int r;

        (void) sigemptyset(&none);
        (void) sigfillset(&all);
        r = posix_spawnattr_init(attr);
        if (r != 0)
                return -r;
        r = posix_spawnattr_setsigmask(attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(attr, &all);
        if (r == 0)
                r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r != 0) {
                (void) posix_spawnattr_destroy(attr);
                return -r;
        }
        return 0;
}

/* Pipes first, /dev/null on stdin last, so even a pipe end that landed on
 * fd 0 (stdin closed in the test) is dup'ed away before the open replaces it. */
static int spawn_actions(posix_spawn_file_actions_t *fa, const int out[2], const int err[2]) {
        int r;

        r = posix_spawn_file_actions_init(fa);
        if (r != 0)
                return -r;
        if (out[1] >= 0)
                r = posix_spawn_file_actions_adddup2(fa, out[1], 1);
        if (r == 0 && err[1] >= 0)
                r = posix_spawn_file_actions_adddup2(fa, err[1], 2);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
        if (r != 0) {
                (void) posix_spawn_file_actions_destroy(fa);
                return -r;
        }
        return 0;
}

int svt_spawn(const char *const argv[], const char *const envp_extra[], int *out_stdout_fd,
              int *out_stderr_fd, pid_t *out_pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int out[2] = { -1, -1 }, err[2] = { -1, -1 };
        char **env;
        pid_t pid;
        int r;

        assert_non_null(argv);
        assert_non_null(argv[0]);
        /* Under valgrind, posix_spawn's vfork becomes a fork and a failed exec
         * is no longer reported back (the child just exits 127), so check
         * first; the race with a file that disappears does not matter here. */
        if (strchr(argv[0], '/') && access(argv[0], X_OK) < 0)
                return -errno;
        env = build_env(envp_extra);
        if (!env)
                return -ENOMEM;
        if ((out_stdout_fd && pipe2(out, O_CLOEXEC) < 0) ||
            (out_stderr_fd && pipe2(err, O_CLOEXEC) < 0)) {
                r = -errno;
                goto fail_pipes;
        }
        r = spawn_actions(&fa, out, err);
        if (r < 0)
                goto fail_pipes;
        r = spawn_attr(&attr);
        if (r < 0)
                goto fail_actions;

        /* posix_spawnp reports a failed exec (ENOENT, EACCES) as its result. */
        r = -posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *) argv, env);
        (void) posix_spawnattr_destroy(&attr);
        (void) posix_spawn_file_actions_destroy(&fa);
        if (r < 0)
                goto fail_pipes;

        free(env);
        if (out[1] >= 0)
                (void) close(out[1]);
        if (err[1] >= 0)
                (void) close(err[1]);
        if (out_stdout_fd)
                *out_stdout_fd = out[0];
        if (out_stderr_fd)
                *out_stderr_fd = err[0];
        *out_pid = pid;
        return 0;

fail_actions:
        (void) posix_spawn_file_actions_destroy(&fa);
fail_pipes:
        close_pipe(out);
        close_pipe(err);
        free(env);
        return r;
}

/* ---- Reading. ---- */

struct buf {
        char *data;
        size_t len, cap;
};

static int buf_append(struct buf *b, const char *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *data;

                while (cap < b->len + n + 1)
                        cap *= 2;
                data = realloc(b->data, cap);
                if (!data)
                        return -ENOMEM;
                b->data = data;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

/* Waits until fd is readable or closed. Returns 1 if it is, 0 on timeout,
 * -errno on error. */
static int wait_readable(int fd, int64_t deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r;

        for (;;) {
                r = poll(&pfd, 1, remaining(deadline));
                if (r > 0)
                        return 1;
                if (r == 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

char *svt_read_line(int fd, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        struct buf b = { 0 };
        char c;
        ssize_t n;

        for (;;) {
                if (wait_readable(fd, deadline) <= 0)
                        goto fail;
                n = read(fd, &c, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        goto fail;
                if (n == 0)
                        break;
                if (c == '\n') {
                        if (!b.data && buf_append(&b, "", 0) < 0)
                                goto fail;
                        return b.data;
                }
                if (buf_append(&b, &c, 1) < 0)
                        goto fail;
        }
        return b.data; /* EOF: the unterminated last line, or NULL */
fail:
        free(b.data);
        return NULL;
}

char *svt_expect_line_prefix(int fd, const char *prefix, int timeout_ms) {
        char *line = svt_read_line(fd, timeout_ms);
        char msg[512];

        if (!line)
                fail_msg("expected a line starting with '%s' within %d ms, got EOF or timeout",
                         prefix, timeout_ms);
        if (strncmp(line, prefix, strlen(prefix)) != 0) {
                (void) snprintf(msg, sizeof(msg), "%s", line);
                free(line);
                fail_msg("expected a line starting with '%s', got '%s'", prefix, msg);
        }
        return line;
}

char *svt_read_all(int fd, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        struct buf b = { 0 };
        char chunk[4096];
        ssize_t n;

        if (buf_append(&b, "", 0) < 0)
                return NULL;
        for (;;) {
                if (wait_readable(fd, deadline) <= 0)
                        goto fail;
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        goto fail;
                if (n == 0)
                        return b.data;
                if (buf_append(&b, chunk, (size_t) n) < 0)
                        goto fail;
        }
fail:
        free(b.data);
        return NULL;
}

/* Reads stdout and stderr together until both reach EOF or the deadline.
 * fds[i] < 0 means that stream is not ours. Returns 0 at EOF on both, 1 on
 * timeout, -errno on error. */
static int collect(int fds[2], struct buf bufs[2], int64_t deadline) {
        char chunk[4096];
        int i;

        for (;;) {
                struct pollfd pfds[2];
                int map[2], n = 0, r;

                for (i = 0; i < 2; i++) {
                        if (fds[i] < 0)
                                continue;
                        pfds[n].fd = fds[i];
                        pfds[n].events = POLLIN;
                        map[n++] = i;
                }
                if (n == 0)
                        return 0;
                r = poll(pfds, (nfds_t) n, remaining(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return 1;
                for (i = 0; i < n; i++) {
                        ssize_t got;

                        if (!pfds[i].revents)
                                continue;
                        got = read(pfds[i].fd, chunk, sizeof(chunk));
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0) {
                                (void) close(fds[map[i]]);
                                fds[map[i]] = -1;
                                continue;
                        }
                        if (buf_append(&bufs[map[i]], chunk, (size_t) got) < 0)
                                return -ENOMEM;
                }
        }
}

int svt_run(const char *const argv[], const char *const envp_extra[], char **out_stdout,
            char **out_stderr, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        struct buf bufs[2] = { { 0 }, { 0 } };
        int fds[2] = { -1, -1 };
        int r, status = -1, i;
        pid_t pid;

        r = svt_spawn(argv, envp_extra, out_stdout ? &fds[0] : NULL, out_stderr ? &fds[1] : NULL,
                      &pid);
        if (r < 0)
                fail_msg("cannot start '%s': %s", argv[0], strerror(-r));
        for (i = 0; i < 2; i++)
                if (buf_append(&bufs[i], "", 0) < 0)
                        r = -ENOMEM;
        if (r == 0)
                r = collect(fds, bufs, deadline);
        if (r == 0)
                status = svt_wait(pid, remaining(deadline));
        if (r != 0 || status == -1) {
                /* Our own child, not yet reaped, so the pid cannot be recycled. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                status = -1;
        }
        for (i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        (void) close(fds[i]);
        if (status == -1) {
                free(bufs[0].data);
                free(bufs[1].data);
                return -1;
        }
        if (out_stdout)
                *out_stdout = bufs[0].data;
        else
                free(bufs[0].data);
        if (out_stderr)
                *out_stderr = bufs[1].data;
        else
                free(bufs[1].data);
        return status;
}

void svt_proc_init(svt_proc *p) {
        p->pid = 0;
        p->out = p->err = -1;
}

void svt_proc_start(svt_proc *p, const char *const argv[]) {
        assert_int_equal(svt_spawn(argv, NULL, &p->out, &p->err, &p->pid), 0);
}

int svt_proc_finish(svt_proc *p, char **out, char **err, int timeout_ms) {
        int st;

        *out = svt_read_all(p->out, timeout_ms);
        *err = svt_read_all(p->err, timeout_ms);
        assert_non_null(*out);
        assert_non_null(*err);
        (void) close(p->out);
        (void) close(p->err);
        p->out = p->err = -1;
        st = svt_wait(p->pid, timeout_ms);
        assert_int_not_equal(st, -1);
        p->pid = 0;
        return st;
}

void svt_proc_release(svt_proc *p, int timeout_ms) {
        if (p->pid > 0) {
                (void) kill(p->pid, SIGKILL);
                (void) svt_wait(p->pid, timeout_ms);
                p->pid = 0;
        }
        if (p->out >= 0)
                (void) close(p->out);
        if (p->err >= 0)
                (void) close(p->err);
        p->out = p->err = -1;
}

/* ---- PID namespaces ---- */

static bool sysctl_is_zero(const char *path) {
        char buf[32] = "";
        FILE *f = fopen(path, "re");

        if (!f)
                return false; /* absent: the kernel has no such switch */
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        fclose(f);
        return strcmp(buf, "0\n") == 0 || strcmp(buf, "0") == 0;
}

bool svt_unshare_works(int flags, bool as_nobody) {
        pid_t pid;
        int st;

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return false;
        if (pid == 0) {
                if (as_nobody && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(1);
                _exit(unshare(flags) == 0 ? 0 : 1);
        }
        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR)
                        return false;
        }
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Tries what the library will try: as root, a PID namespace alone or
 * inside a user namespace; as uid 65534, inside a user namespace. */
static bool probe_unshare(bool as_nobody) {
        if (as_nobody)
                return svt_unshare_works(CLONE_NEWUSER | CLONE_NEWPID, true);
        return svt_unshare_works(CLONE_NEWPID, false) ||
               svt_unshare_works(CLONE_NEWUSER | CLONE_NEWPID, false);
}

bool svt_pidns_allowed(bool as_nobody) {
        static int cached[2] = { -1, -1 };
        int *c = &cached[as_nobody ? 1 : 0];

        if (*c >= 0)
                return *c;
        *c = 0;
        if (sysctl_is_zero("/proc/sys/user/max_pid_namespaces"))
                return false;
        if ((as_nobody || geteuid() != 0) &&
            (sysctl_is_zero("/proc/sys/kernel/unprivileged_userns_clone") ||
             sysctl_is_zero("/proc/sys/user/max_user_namespaces")))
                return false;
        *c = probe_unshare(as_nobody);
        return *c;
}

int svt_wait_gone(pid_t pid, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        struct pollfd pfd;
        int backoff = 1, fd;

        fd = no_pidfd ? -1 : sys_pidfd_open(pid);
        if (fd < 0 && errno == ESRCH)
                return 0;
        if (fd < 0 && errno == ENOSYS)
                no_pidfd = 1;
        if (fd >= 0) {
                pfd.fd = fd;
                pfd.events = POLLIN;
                while (poll(&pfd, 1, (int) (deadline - now_ms() > 0 ? deadline - now_ms() : 0)) < 0 &&
                       errno == EINTR)
                        ;
                close(fd);
        } else {
                while (kill(pid, 0) == 0 && now_ms() < deadline) {
                        struct timespec ts = { 0, backoff * 1000000L };
                        nanosleep(&ts, NULL);
                        backoff = backoff < 50 ? backoff * 2 : 50;
                }
        }
        /* A pidfd turns readable at exit; the pid is gone once reaped. */
        while (kill(pid, 0) == 0 && now_ms() < deadline) {
                struct timespec ts = { 0, 1000000L };
                nanosleep(&ts, NULL);
        }
        return kill(pid, 0) == 0 ? -1 : 0;
}

sv_exit_info svt_exited(int code, uint64_t wall_ms) {
        sv_exit_info e;

        memset(&e, 0, sizeof(e));
        e.exited = true;
        e.code = code;
        e.cause = SV_CAUSE_EXITED;
        e.wall_us = wall_ms * 1000;
        e.user_us = 1500;
        e.sys_us = 700;
        e.max_rss_kb = 2048;
        e.stop_step = -1;
        return e;
}
