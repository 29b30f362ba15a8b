/* guardian.c - the process that ends our trees if we are SIGKILLed.
 *
 * A parent-death signal reaches only direct children, and a cgroup kills
 * nothing by itself: someone alive must act when the supervisor dies. The
 * guardian is started at startup, while we hold few fds: a fork that at
 * once re-executes our own binary, which recognises SV__GUARDIAN before
 * main. It
 * holds the read end of a pipe whose write end only we hold (CLOEXEC, and
 * workers close every fd above 2), so EOF means we are gone. If we said
 * "done" first, it just exits; otherwise it kills every worker cgroup
 * (cgroup.kill on our parent cgroup) or, in the /proc fallback, every
 * process whose environment carries our SUPERVISE_TREE=<token>. marker, then
 * removes our cgroups and exits. It never uses libuv and leaves with _exit.
 * The token (sv__plat_token) is unique across PID namespaces, where a pid is
 * not: a guardian that reads the host's /proc must never match the workers
 * of a supervisor that merely has our pid in its own namespace.
 *
 * The supervisor watches its end of the pipe: when the guardian dies, the
 * write end reports POLLERR at once, and the supervisor reaps it and starts
 * another (core/supervisor.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void nap_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Processes carrying "SUPERVISE_TREE=<token>." in their environment. */
static int kill_marked(const char *token, int sig) {
        char prefix[48], path[64];
        static char env[65536];
        struct dirent *de;
        DIR *d;
        int hits = 0;
        size_t plen;

        plen = (size_t) snprintf(prefix, sizeof(prefix), "SUPERVISE_TREE=%s.", token);
        d = opendir("/proc");
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                pid_t pid;
                ssize_t n, i;
                int fd;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                pid = (pid_t) atoi(de->d_name);
                if (pid <= 1 || pid == getpid())
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, env, sizeof(env) - 1);
                close(fd);
                if (n <= 0)
                        continue;
                env[n] = '\0';
                for (i = 0; i < n; i += (ssize_t) strlen(env + i) + 1) {
                        if (strncmp(env + i, prefix, plen) == 0) {
                                if (kill(pid, sig) == 0)
                                        hits++;
                                break;
                        }
                }
        }
        closedir(d);
        return hits;
}

/* cgroup.events of our parent cgroup covers every worker cgroup below. */
static bool populated(const char *dir) {
        char path[SV_GUARD_PATH_MAX + 64], buf[256];
        char *p;

        snprintf(path, sizeof(path), "%s/cgroup.events", dir);
        if (sv__read_file(path, buf, sizeof(buf)) <= 0)
                return false;
        p = strstr(buf, "populated ");
        return p && p[10] == '1';
}

static int kill_cgroup(const char *dir) {
        char path[SV_GUARD_PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
        return sv__write_file(path, "1");
}


static void guard(int fd, const char *token, const char *cgroot) {
        char c = 0;
        ssize_t n;
        int round;

        do {
                n = read(fd, &c, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1 && c == 'd')
                _exit(0);
        if (n == 1 && c == 'c') {
                /* The supervisor ended cleanly and left us its empty
                 * cgroups to remove. */
                if (cgroot[0])
                        sv__cg_remove_tree(cgroot);
                _exit(0);
        }
        if (n < 0)
                _exit(3); /* no pipe: we never knew the supervisor; touch nothing */

        /* The supervisor died without saying goodbye. */
        if (cgroot[0]) {
                /* cgroup.kill on our parent cgroup kills every worker's. */
                for (round = 0; round < 400; round++) {
                        if (kill_cgroup(cgroot) < 0 || !populated(cgroot))
                                break;
                        nap_ms(5);
                }
                sv__cg_remove_tree(cgroot);
        }
        /* Also the fallback's way, which finds what a cgroup cannot hold
         * (there is none) and costs nothing when the cgroup got them all.
         * Freeze first so nothing forks between two scans. */
        {
                int before = -1, now;
                /* Stopped processes still match: freezing is done when a
                 * pass finds no one new. */
                for (round = 0; round < 100; round++) {
                        now = kill_marked(token, SIGSTOP);
                        if (now == 0 || now == before)
                                break;
                        before = now;
                }
        }
        for (round = 0; round < 100; round++) {
                if (kill_marked(token, SIGKILL) == 0)
                        break;
                nap_ms(2);
        }
        _exit(0);
}

/* The guardian's entry point: an image of whatever program links libsv,
 * re-executed with SV__GUARDIAN set. It runs before main, so that program's
 * main never runs in the guardian. Exec'ing gives the guardian a clean
 * image (no libuv, no copy of our heap) and keeps valgrind, which would
 * otherwise carry on inside a forked child, out of it. */
__attribute__((constructor)) static void guardian_entry(void) {
        const char *env = getenv("SV__GUARDIAN");
        static char cgroot[SV_GUARD_PATH_MAX], token[48];
        struct sigaction sa;
        const char *colon;
        int sig, fd;

        if (!env)
                return;
        /* "<token>:<cgroot>"; an empty or odd token would match too much. */
        colon = strchr(env, ':');
        if (!colon || colon == env || (size_t) (colon - env) >= sizeof(token) ||
            memchr(env, '.', (size_t) (colon - env)) || strlen(colon + 1) >= sizeof(cgroot))
                _exit(2);
        memcpy(token, env, (size_t) (colon - env));
        token[colon - env] = '\0';
        strcpy(cgroot, colon + 1);

        /* Deaf to everything but SIGKILL until our work is done. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        for (sig = 1; sig < 32; sig++) {
                if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
                        (void) sigaction(sig, &sa, NULL);
        }
        /* Hold nothing of our parent's: not its sockets, not a pipe some
         * reader waits on for EOF. */
        (void) syscall(SYS_close_range, 4U, ~0U, 0);
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                (void) dup2(fd, 0);
                (void) dup2(fd, 1);
                (void) dup2(fd, 2);
                if (fd > 2)
                        close(fd);
        }
        (void) prctl(PR_SET_NAME, "sv-guardian");
        guard(3, token, cgroot);
}

int sv__guardian_start(const char *token, const char *cgroot, sv__guardian *out) {
        char exe[4096], envbuf[SV_GUARD_PATH_MAX + 64];
        char *argv[] = { "supervise-guardian", NULL }; /* what ps shows */
        char *envp[] = { envbuf, NULL, NULL };
        const char *ld = getenv("LD_LIBRARY_PATH");
        sigset_t all, old;
        ssize_t n;
        int p[2];
        pid_t pid;

        if (strlen(cgroot) >= SV_GUARD_PATH_MAX || strlen(token) >= 48)
                return UV_ENAMETOOLONG;
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return n < 0 ? -errno : UV_ENOENT;
        exe[n] = '\0';
        snprintf(envbuf, sizeof(envbuf), "SV__GUARDIAN=%s:%s", token, cgroot);
        /* A program that finds libsv.so through LD_LIBRARY_PATH needs it to
         * start its guardian too: without it the re-executed copy dies in
         * the dynamic loader, and the run is unguarded. */
        if (ld) {
                size_t len = strlen(ld) + sizeof("LD_LIBRARY_PATH=");

                envp[1] = malloc(len);
                if (!envp[1])
                        return UV_ENOMEM;
                snprintf(envp[1], len, "LD_LIBRARY_PATH=%s", ld);
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                int e = -errno;

                free(envp[1]);
                return e;
        }

        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        pid = fork();
        if (pid == 0) {
                /* Own group, so a terminal's ^C does not reach it. Only
                 * async-signal-safe calls until exec. */
                (void) setpgid(0, 0);
                /* dup2 onto itself would keep O_CLOEXEC: clear it by hand. */
                if (p[0] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p[0], 3) < 0)
                        _exit(127);
                sigprocmask(SIG_SETMASK, &old, NULL);
                execve(exe, argv, envp);
                _exit(127);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(envp[1]);
        close(p[0]);
        if (pid < 0) {
                close(p[1]);
                return -errno;
        }
        out->pid = pid;
        out->fd = p[1];
        /* Race-free: it is our child and nobody has reaped it. Without a
         * pidfd (valgrind, old kernels) we never wait for it by pid but at
         * stop; see sv__guardian_reap. */
        out->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (out->pidfd < 0)
                out->pidfd = -1;
        return 0;
}

/* Waits for the guardian to exit, through its pidfd (which can never name
 * another process) or else by pid. Returns the raw status, or -1. */
static int wait_guardian(const sv__guardian *g) {
        siginfo_t si;
        int r, st = 0;

        memset(&si, 0, sizeof(si));
        if (g->pidfd >= 0) {
                do {
                        r = waitid((idtype_t) P_PIDFD, (id_t) g->pidfd, &si, WEXITED);
                } while (r < 0 && errno == EINTR);
                if (r < 0)
                        return -1;
                return si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
        }
        do {
                r = waitpid(g->pid, &st, 0);
        } while (r < 0 && errno == EINTR);
        return r < 0 ? -1 : st;
}

void sv__guardian_stop(sv__guardian *g, bool nowait, bool cleanup) {
        if (g->pid <= 0)
                return;
        (void) !write(g->fd, cleanup ? "c" : "d", 1);
        close(g->fd);
        if (!nowait)
                (void) wait_guardian(g);
        if (g->pidfd >= 0)
                close(g->pidfd);
        g->pid = 0;
        g->fd = -1;
        g->pidfd = -1;
}

int sv__guardian_reap(sv__guardian *g) {
        int st = -1;

        if (g->pid <= 0)
                return -1;
        /* The pipe broke when the guardian's files were closed, in its exit,
         * a moment before it becomes waitable: a blocking wait is short. Only
         * through its pidfd, though: without one, the fallback's SIGCHLD
         * reap-all may have taken it already and its pid may be a worker's
         * by now. That reap-all (or, as subreaper, the sweep, to which it is
         * now a plain child) collects it instead. */
        if (g->pidfd >= 0) {
                st = wait_guardian(g);
                close(g->pidfd);
        }
        close(g->fd);
        g->pid = 0;
        g->fd = -1;
        g->pidfd = -1;
        return st;
}
