/* pidns.c - containing a worker's tree in a PID namespace of its own, for
 * when cgroups are not writable (an ordinary user on Debian 12).
 *
 * The first process of a new PID namespace is its pid 1, and when it ends
 * the kernel SIGKILLs every other member: setsid, double-fork and `env -i`
 * escapees cannot leave a PID namespace. So our child is that pid 1, an
 * init of ours, and the worker is its child:
 *
 *   supervisor --clone(CLONE_NEWPID[|CLONE_NEWUSER])--> init --clone(VM|VFORK)--> worker
 *
 * The init is a copy of us (a clone without CLONE_VM, since it keeps
 * running): it must never return into our frames or libuv, and being the
 * child of a threaded process it runs only async-signal-safe code on its own
 * stack and leaves by _exit. It writes its uid/gid map (so the worker sees
 * its own ids, not root), dies with us (PR_SET_PDEATHSIG), starts the
 * worker, tells us through a pipe whether the exec worked, then reads every
 * signal from a signalfd: SIGCHLD reaps (it adopts every orphan of the
 * namespace), SV_CMD_SIG carries our own requests, anything else is
 * forwarded to the worker as tini does. When the worker ends, the init
 * writes its wait status and rusage down the pipe and exits; the kernel
 * then kills what is left. A pid 1 cannot die by a signal of its own, so
 * the worker's death by signal travels in that record, never in the init's
 * own exit status.
 *
 * Never touches a cgroup and never reaps anything of the supervisor's: the
 * init is reaped by the core like any worker leader.
 *
 * NEEDSWORK: each live worker costs a second fd (nsfd) and the init's copy
 * of our page tables (about 50 KiB at 2 MiB RSS, growing with ours). An init
 * that shares our memory (CLONE_VM, raw system calls that leave errno alone)
 * and reports into a shared slot would cost neither; it is left for later
 * because such a child runs beside the loop in our address space. */
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
#include "platform/unix/unix.h"

#define NS_STACK_SIZE (64 * 1024)
#define NS_LEFT_MAX SV_LEAKS_MAX

/* Our requests to an init ride on one real-time signal (they queue, and
 * keep their order), with the request in si_value: the signal number, and
 * NS_CMD_TREE for "every process of the namespace". Other signals the init
 * receives come from users and go to the worker. */
#define NS_CMD_TREE 0x100
static int cmd_sig(void) {
        return SIGRTMAX - 1;
}

enum { NS_STARTED = 1, NS_ENDED = 2 };

#define NS_CMD_MAX ((int) sizeof(((sv_leak *) 0)->cmdline))

/* NS_STARTED sends the head only (up to `left`), NS_ENDED the whole record.
 * The supervisor reads the first while it waits for the exec, the second
 * only once the init has exited, so nothing is read half-written. */
typedef struct ns_record {
        int32_t kind;
        int32_t err;    /* NS_STARTED: 0, or the errno of the worker's exec */
        int32_t status; /* NS_ENDED: the worker's wait status */
        int32_t nleft;  /* NS_ENDED: processes left when it ended */
        uint64_t user_us, sys_us, max_rss_kb;
        int32_t left[NS_LEFT_MAX]; /* their pids, as /proc names them */
        char cmd[NS_LEFT_MAX][NS_CMD_MAX]; /* and their command lines */
} ns_record;

#define NS_HEAD_SIZE offsetof(ns_record, left)

typedef struct ns_args {
        const sv__spawn_req *req;
        int result_fd; /* write end of the pipe to the supervisor */
        int err_fd;    /* in the init: the worker's exec-error pipe */
        bool userns;
        uid_t uid;
        gid_t gid;
        char *worker_stack; /* top of the stack the worker runs on */
} ns_args;

static char *stacks; /* the init's stack, then the worker's */
static int usable = -1;  /* -1: not probed yet */
static bool need_userns; /* probed: CLONE_NEWPID alone was refused */

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
SV_CHILD_CODE static int write_maps(uid_t uid, gid_t gid) {
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

SV_CHILD_CODE static int probe_main(void *arg) {
        const ns_args *a = arg;

        if (a->userns && write_maps(a->uid, a->gid) < 0)
                _exit(1);
        _exit(0);
}

/* The worker, a CLONE_VM|CLONE_VFORK child of the init: its stdio is in
 * place and every other fd of the init is CLOEXEC. */
SV_CHILD_CODE static int worker_main(void *arg) {
        const ns_args *a = arg;
        const sigset_t *ign = sv__unix_ignored_at_start();
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
        if (a->req->cwd && chdir(a->req->cwd) < 0)
                err = errno;
        if (!err) {
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                err = sv__unix_child_exec(a->req);
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
                        if (sig != SIGCONT)
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

SV_CHILD_CODE static int init_main(void *arg) {
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
        if (a->userns && write_maps(a->uid, a->gid) < 0)
                _exit(126);
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

/* ---- The supervisor's side ---- */

static int ensure_stacks(void) {
        if (stacks)
                return 0;
        stacks = mmap(NULL, 2 * NS_STACK_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stacks == MAP_FAILED) {
                stacks = NULL;
                return UV_ENOMEM;
        }
        return 0;
}

static int ns_flags(void) {
        return CLONE_NEWPID | (need_userns ? CLONE_NEWUSER : 0);
}

/* Clones a child into new namespaces that only writes its maps and exits
 * 0. Returns 1 if it did, 0 if the kernel refused. */
static int probe(int flags) {
        sigset_t all, old;
        ns_args a;
        pid_t pid;
        int st;

        memset(&a, 0, sizeof(a));
        a.userns = (flags & CLONE_NEWUSER) != 0;
        a.uid = geteuid();
        a.gid = getegid();
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = (pid_t) clone(probe_main, stacks + NS_STACK_SIZE, flags | SIGCHLD, &a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (pid < 0)
                return 0;
        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR)
                        return 0;
        }
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool sv__plat_pidns_usable(void) {
        if (usable >= 0)
                return usable;
        usable = 0;
        if (ensure_stacks() < 0)
                return false;
        /* Root may make a PID namespace alone, and then keeps its real
         * ids; root without CAP_SYS_ADMIN (a container) and everyone else
         * need a user namespace around it. */
        if (geteuid() == 0 && probe(CLONE_NEWPID)) {
                usable = 1;
        } else if (probe(CLONE_NEWPID | CLONE_NEWUSER)) {
                need_userns = true;
                usable = 1;
        }
        return usable;
}

/* Reads `size` bytes of a record, or fails with UV_EOF if the init died
 * (or ended) before it wrote them all. */
static int read_record(int fd, ns_record *rec, size_t size) {
        char *p = (char *) rec;
        ssize_t n;

        while (size > 0) {
                n = read(fd, p, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return UV_EOF;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* The init failed before it could start the worker, or the exec failed:
 * reap it, and return the error. */
static int fail_init(pid_t pid, int pidfd, int err) {
        int st;

        if (pidfd >= 0)
                close(pidfd);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return err;
}

int sv__unix_pidns_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        sigset_t all, old;
        ns_record rec;
        int pipefd[2], pidfd = -1, flags, r;
        ns_args a;
        pid_t pid;

        if (!sv__plat_pidns_usable())
                return UV_ENOTSUP;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        memset(&a, 0, sizeof(a));
        a.req = req;
        a.result_fd = pipefd[1];
        a.err_fd = -1;
        a.userns = need_userns;
        a.uid = geteuid();
        a.gid = getegid();
        a.worker_stack = stacks + 2 * NS_STACK_SIZE;

        flags = ns_flags() | SIGCHLD;
        if (req->want_pidfd)
                flags |= CLONE_PIDFD;
        /* Blocked in the init from birth: no handler of ours may run there,
         * and the init reads them all from its signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = (pid_t) clone(init_main, stacks + NS_STACK_SIZE, flags, &a, &pidfd);
        r = pid < 0 ? -errno : 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(pipefd[1]);
        if (r < 0) {
                close(pipefd[0]);
                return r;
        }

        /* Blocks until the worker has exec'd, as the plain spawn does. */
        r = read_record(pipefd[0], &rec, NS_HEAD_SIZE);
        if (r == 0 && (rec.kind != NS_STARTED || rec.err))
                r = rec.kind != NS_STARTED ? UV_EIO : -rec.err;
        else if (r == UV_EOF)
                r = -ECHILD; /* the init died before it could say */
        if (r < 0) {
                close(pipefd[0]);
                return fail_init(pid, pidfd, r);
        }
        out->pid = pid;
        out->pidfd = req->want_pidfd ? pidfd : -1;
        out->nsfd = pipefd[0];
        return 0;
}

int sv__plat_pidns_signal(pid_t init, int pidfd, int sig, bool tree) {
        siginfo_t si;
        int cs = cmd_sig();

        if (init <= 1)
                return UV_EINVAL;
        if (sig == SIGKILL && tree)
                return sv__plat_kill(init, pidfd, SIGKILL);
        memset(&si, 0, sizeof(si));
        si.si_signo = cs;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = sig | (tree ? NS_CMD_TREE : 0);
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, cs, &si, 0) == 0)
                return 0;
        if (pidfd >= 0 && errno != ENOSYS)
                return -errno;
        /* valgrind 3.19 lacks pidfd_send_signal. The pid is still ours:
         * the caller has not reaped the init. */
        if (syscall(SYS_rt_sigqueueinfo, init, cs, &si) < 0)
                return -errno;
        return 0;
}

int sv__plat_pidns_end(int nsfd, sv__reaped *r, sv_leak *left, int max) {
        ns_record rec;
        int i, got;

        got = read_record(nsfd, &rec, sizeof(rec));
        close(nsfd);
        /* No record: the init was SIGKILLed (our tree kill, or someone's)
         * while the worker ran; the kernel killed the worker with it. */
        if (got < 0 || rec.kind != NS_ENDED)
                return 0;
        r->exited = WIFEXITED(rec.status);
        r->code = r->exited ? WEXITSTATUS(rec.status) : WTERMSIG(rec.status);
        r->core_dumped = !r->exited && WCOREDUMP(rec.status);
        r->user_us = rec.user_us;
        r->sys_us = rec.sys_us;
        r->max_rss_kb = rec.max_rss_kb;
        for (i = 0; i < rec.nleft && i < max && i < NS_LEFT_MAX; i++) {
                left[i].pid = rec.left[i];
                memcpy(left[i].cmdline, rec.cmd[i], NS_CMD_MAX);
                left[i].cmdline[NS_CMD_MAX - 1] = '\0';
        }
        return rec.nleft;
}
