/* pidns_init.c - the init of a worker's PID namespace (pidns.c says why
 * and how): pid 1 of the namespace, a clone of us without CLONE_VM, that
 * writes its id maps, starts the worker, forwards signals to it, reaps every
 * orphan of the namespace and reports the worker's end down a pipe. It runs
 * in the child only: async-signal-safe code on its own stack, never a
 * return into our frames or libuv, and it leaves by _exit. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/linux/linux.h"
#include "platform/linux/pidns.h"

/* ---- The init: async-signal-safe only ---- */

SV_CHILD_CODE static size_t fmt_uint(char *buf, unsigned long v) {
        char d[24];
        size_t n = 0, i;

        do {
                d[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        for (i = 0; i < n; i++)
                buf[i] = d[n - 1 - i];
        return n;
}

SV_CHILD_CODE static int write_proc(const char *path, const char *s, size_t len) {
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (write(fd, s, len) != (ssize_t) len)
                r = -1;
        close(fd);
        return r;
}

/* "ID ID 1": inside, the worker keeps the ids it has outside. An
 * unprivileged process may map only its own ids, and a gid map only once
 * setgroups is denied. */
SV_CHILD_CODE int sv__linux_write_id_maps(uid_t uid, gid_t gid) {
        char line[64];
        size_t n;

        if (write_proc("/proc/self/setgroups", "deny", 4) < 0)
                return -1;
        n = fmt_uint(line, uid);
        line[n++] = ' ';
        n += fmt_uint(line + n, uid);
        memcpy(line + n, " 1\n", 3);
        if (write_proc("/proc/self/uid_map", line, n + 3) < 0)
                return -1;
        n = fmt_uint(line, gid);
        line[n++] = ' ';
        n += fmt_uint(line + n, gid);
        memcpy(line + n, " 1\n", 3);
        return write_proc("/proc/self/gid_map", line, n + 3);
}

SV_CHILD_CODE int sv__linux_pidns_probe_main(void *arg) {
        const ns_args *a = arg;

        if (a->userns && sv__linux_write_id_maps(a->uid, a->gid) < 0)
                _exit(1);
        _exit(0);
}

/* The worker, a CLONE_VM|CLONE_VFORK child of the init: its stdio is in
 * place and every other fd of the init is CLOEXEC. */
SV_CHILD_CODE static int worker_main(void *arg) {
        const ns_args *a = arg;
        const sigset_t *ign = sv__linux_ignored_at_start();
        struct sigaction dfl;
        sigset_t none;
        int sig, err;

        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (sig = 1; sig < NSIG; sig++) {
                if (sigismember(ign, sig))
                        (void) sigaction(sig, &dfl, NULL);
        }
        /* Leader of its own group inside, as every worker is outside; and,
         * as every worker, killed if its parent (here the init) dies. */
        (void) setpgid(0, 0);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        err = 0;
        /* With isolation the init has moved there already (and a fresh
         * /tmp may now hide the path). */
        if (a->req->cwd && !a->req->isolate && chdir(a->req->cwd) < 0)
                err = errno;
        if (!err) {
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                err = sv__linux_child_exec(a->req);
        }
        (void) !write(a->err_fd, &err, sizeof(err));
        _exit(127);
}

/* Puts the worker's stdio on 0..2 and the result pipe on 3, and closes
 * every other fd we inherited from the supervisor: the init must hold
 * nothing of ours open (another worker's pipe, our epoll set) for as long
 * as its worker runs. */
SV_CHILD_CODE static int init_fds(ns_args *a) {
        int i, fd;

        for (i = 0; i < 3; i++) {
                if (a->req->stdio_fd[i] >= 0 && dup2(a->req->stdio_fd[i], i) < 0)
                        return -1;
        }
        if (a->result_fd != 3) {
                if (dup3(a->result_fd, 3, O_CLOEXEC) < 0)
                        return -1;
                a->result_fd = 3;
        }
        if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
                for (fd = 4; fd < 65536; fd++)
                        (void) close(fd);
        }
        return 0;
}

SV_CHILD_CODE static int send_record(int fd, const ns_record *rec, size_t size) {
        const char *p = (const char *) rec;
        ssize_t n;

        while (size > 0) {
                n = write(fd, p, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* /proc/<pid>/cmdline with spaces between the arguments, "?" if it is
 * gone or empty (a zombie). */
SV_CHILD_CODE static void read_cmdline(pid_t pid, char *out) {
        char path[48] = "/proc/";
        size_t k = 6;
        ssize_t n;
        int fd, i;

        k += fmt_uint(path + k, (unsigned long) pid);
        memcpy(path + k, "/cmdline", 9);
        n = -1;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, out, NS_CMD_MAX - 1);
                close(fd);
        }
        if (n <= 0) {
                memcpy(out, "?", 2);
                return;
        }
        while (n > 0 && out[n - 1] == '\0')
                n--;
        for (i = 0; i < n; i++) {
                if (out[i] == '\0')
                        out[i] = ' ';
        }
        out[n] = '\0';
}

SV_CHILD_CODE static uint64_t tv_us(const struct timeval *tv) {
        return (uint64_t) tv->tv_sec * 1000000u + (uint64_t) tv->tv_usec;
}

/* Lists what the worker left: once it is reaped, every other process of
 * the namespace has been reparented to us, so our remaining children are
 * the roots of all that is left. /proc is the supervisor's, so it names
 * them (and us, as "self") by their pids outside. */
SV_CHILD_CODE static void list_left(ns_record *rec) {
        char self[32], path[96], buf[4096];
        ssize_t n, len;
        size_t k;
        int fd;
        long v;
        char *p;

        n = readlink("/proc/self", self, sizeof(self) - 1);
        if (n <= 0)
                return;
        self[n] = '\0';
        k = 0;
        memcpy(path + k, "/proc/", 6);
        k += 6;
        memcpy(path + k, self, (size_t) n);
        k += (size_t) n;
        memcpy(path + k, "/task/", 6);
        k += 6;
        memcpy(path + k, self, (size_t) n);
        k += (size_t) n;
        memcpy(path + k, "/children", 10);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
                return;
        buf[len] = '\0';
        /* A cut-off last number would be a wrong pid: trust only numbers
         * followed by their separator. */
        for (p = buf, v = -1; *p; p++) {
                if (*p >= '0' && *p <= '9') {
                        v = (v < 0 ? 0 : v * 10) + (*p - '0');
                } else if (v >= 0) {
                        if (rec->nleft < NS_LEFT_MAX) {
                                rec->left[rec->nleft] = (int32_t) v;
                                read_cmdline((pid_t) v, rec->cmd[rec->nleft]);
                        }
                        rec->nleft++;
                        v = -1;
                }
        }
}

/* Reaps every child that has ended. Returns 1 once the worker is among
 * them (its end is then in *rec), else 0. */
SV_CHILD_CODE static int reap_children(pid_t worker, ns_record *rec) {
        struct rusage ru;
        int st, done = 0;
        pid_t p;

        for (;;) {
                p = wait4(-1, &st, WNOHANG | __WALL, &ru);
                if (p <= 0)
                        return done;
                if (p != worker)
                        continue;
                rec->kind = NS_ENDED;
                rec->status = st;
                rec->user_us = tv_us(&ru.ru_utime);
                rec->sys_us = tv_us(&ru.ru_stime);
                rec->max_rss_kb = (uint64_t) ru.ru_maxrss;
                done = 1;
        }
}

SV_CHILD_CODE static void handle(const struct signalfd_siginfo *si, pid_t worker) {
        int sig = (int) si->ssi_signo;

        if (sig == cmd_sig() && si->ssi_code == SI_QUEUE) {
                sig = si->ssi_int & 0xff;
                if (si->ssi_int & NS_CMD_TREE) {
                        /* From pid 1, -1 is every process of the namespace
                         * but ourselves. */
                        (void) kill(-1, sig);
                        /* Not after a stop signal: a paused pool slot. */
                        if (sig != SIGCONT && sig != SIGSTOP && sig != SIGTSTP &&
                            sig != SIGTTIN && sig != SIGTTOU)
                                (void) kill(-1, SIGCONT);
                        return;
                }
        }
        if (sig == SIGCHLD)
                return;
        (void) kill(worker, sig);
}

/* Forwards signals and reaps until the worker has ended, then reports its
 * end and exits; the kernel kills what the worker left. */
SV_CHILD_CODE static void init_loop(int sfd, pid_t worker, int result_fd) {
        struct signalfd_siginfo si[16];
        ns_record rec;
        ssize_t n;
        int i;

        memset(&rec, 0, sizeof(rec));
        for (;;) {
                n = read(sfd, si, sizeof(si));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(125);
                for (i = 0; i < (int) ((size_t) n / sizeof(si[0])); i++)
                        handle(&si[i], worker);
                if (reap_children(worker, &rec))
                        break;
        }
        /* Zombies already gone are no loss; anything still alive was left. */
        while (wait4(-1, NULL, WNOHANG | __WALL, NULL) > 0)
                ;
        list_left(&rec);
        (void) send_record(result_fd, &rec, sizeof(rec));
        _exit(WIFEXITED(rec.status) ? WEXITSTATUS(rec.status) : 128 + WTERMSIG(rec.status));
}

/* Sets up the worker's namespaces (ours, cloned with their flags) from
 * inside, in the worker's directory, which a fresh /tmp must not hide
 * (isolate.c). A failure is reported as the worker's start error, as a
 * failed exec is, and the init leaves. */
SV_CHILD_CODE static void init_isolate(ns_args *a) {
        ns_record rec;
        int err = 0;

        if (a->req->cwd && chdir(a->req->cwd) < 0)
                err = errno;
        if (!err)
                err = sv__linux_isolate_setup(a->req->isolate, a->req->argv[0]);
        if (!err)
                return;
        memset(&rec, 0, sizeof(rec));
        rec.kind = NS_STARTED;
        rec.err = err;
        (void) send_record(a->result_fd, &rec, NS_HEAD_SIZE);
        _exit(127);
}

SV_CHILD_CODE int sv__linux_pidns_init_main(void *arg) {
        ns_args *a = arg;
        struct sigaction dfl;
        ns_record rec;
        sigset_t all;
        int sfd, errp[2], err, st;
        ssize_t n;
        pid_t worker;

        /* First, so that a supervisor that dies from here on takes us with
         * it; one that died before makes send_record fail below (we hold no
         * read end of the pipe), and then we leave. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (a->userns && sv__linux_write_id_maps(a->uid, a->gid) < 0)
                _exit(126);
        if (a->req->isolate)
                init_isolate(a);
        (void) prctl(PR_SET_NAME, "sv-init");
        /* Out of the supervisor's group, so a terminal's ^C reaches the
         * worker once (through us), not twice. */
        (void) setpgid(0, 0);
        /* Every signal stays blocked (the supervisor blocked them around
         * clone) and is read from the signalfd: a pid 1 would drop those it
         * has no handler for. SIGCHLD must not be ignored, or the kernel
         * would reap the worker for us and lose its status. */
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        (void) sigaction(SIGCHLD, &dfl, NULL);
        if (init_fds(a) < 0)
                _exit(125);
        sigfillset(&all);
        sfd = signalfd(-1, &all, SFD_CLOEXEC);
        if (sfd < 0 || pipe2(errp, O_CLOEXEC) < 0)
                _exit(125);
        a->err_fd = errp[1];

        /* NEEDSWORK: spawn.c's child also puts back the soft RLIMIT_NOFILE
         * we raised, when that lands; the worker here should too. */
        worker = (pid_t) clone(worker_main, a->worker_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
        close(errp[1]);
        memset(&rec, 0, sizeof(rec));
        rec.kind = NS_STARTED;
        if (worker < 0) {
                rec.err = errno;
        } else {
                err = 0;
                do {
                        n = read(errp[0], &err, sizeof(err));
                } while (n < 0 && errno == EINTR);
                rec.err = n == (ssize_t) sizeof(err) ? err : 0;
        }
        close(errp[0]);
        if (send_record(a->result_fd, &rec, NS_HEAD_SIZE) < 0 || rec.err) {
                if (worker > 0)
                        (void) waitpid(worker, &st, __WALL);
                _exit(127);
        }
        init_loop(sfd, worker, a->result_fd);
        return 0;
}
