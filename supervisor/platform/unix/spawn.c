/* spawn.c - creating, signalling and reaping child processes on Linux.
 *
 * We do not use uv_spawn: libuv 1.44 forks (cost grows with our memory),
 * reaps with one waitpid per live child on every SIGCHLD, and throws the
 * rusage away. Instead the child is made with clone(CLONE_VM|CLONE_VFORK):
 * it borrows our address space until it execs, like posix_spawn does, so the
 * cost stays flat, and we are suspended until then, so an exec error is known
 * when sv__plat_spawn returns. CLONE_PIDFD hands us a pidfd race-free.
 *
 * The child function runs on a private stack in our memory. It must call
 * only async-signal-safe functions and never allocate: everything it needs
 * was prepared by the parent in an sv__spawn_req. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>
#include <pthread.h>

#include "platform/platform.h"
#include "platform/unix/unix.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define CHILD_STACK_SIZE (64 * 1024)
#define PATH_BUF_MAX 4096

/* Shared between parent and child: with CLONE_VM the child writes `err`
 * into our memory. Under valgrind, which turns CLONE_VM|CLONE_VFORK into a
 * plain fork, the write is lost; `ran` tells us so, and from then on the
 * errno travels through a CLOEXEC pipe instead. */
typedef struct child_args {
        const sv__spawn_req *req;
        int cg_dir_fd;     /* the cgroup for clone3, or -1 */
        int cg_procs_fd;   /* its cgroup.procs, written by the child, or -1 */
        sigset_t mask;     /* the mask to exec with (empty) */
        pid_t parent;
        int errpipe;       /* -1 in shared-memory mode */
        bool joined_cgroup; /* born in it by clone3(CLONE_INTO_CGROUP) */
        bool shared_fds;    /* CLONE_FILES: the child shares our fd table */
        volatile int ran;
        volatile int err;
} child_args;

/* The child runs on a stack the sanitizers never saw; their bookkeeping at
 * a noreturn call (_exit) would take it for a corrupt one. It calls only
 * system calls and string functions on memory we prepared, so leave it
 * uninstrumented. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
#endif
#endif
#ifndef CHILD_CODE
#define CHILD_CODE
#endif

static sigset_t ignored_at_start;
static sigset_t empty_mask, all_mask;
static bool masks_ready;
static bool clone3_unusable; /* ENOSYS (valgrind 3.19, old kernels) or refused once */ /* signals our own parent left ignored */
static bool kernel_lacks_pidfd;   /* CLONE_PIDFD gave EINVAL once */
static int errno_via_pipe = -1;   /* -1: not probed yet */
/* RLIMIT_NOFILE as we found it, before raising the soft limit: what our
 * children get back (select() users break above 1024). */
static struct rlimit nofile_at_start;
static bool nofile_raised;
/* One clone stack per thread, made on its first spawn and unmapped when
 * the thread ends: a thread is suspended while its child runs on the
 * stack (CLONE_VFORK), so it never needs two, but two threads (two
 * supervisors, or one used from two threads in turn) must never share. */
static pthread_once_t stack_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t stack_key;
static int stack_key_err;

void sv__plat_init_process(void) {
        static bool done;
        struct sigaction sa;
        struct rlimit rl;
        int fd;
        int sig;

        if (done)
                return;
        done = true;

        /* A closed fd 0..2 would be reused by our first pipe and then be
         * clobbered by a child's dup2. */
        do {
                fd = open("/dev/null", O_RDWR);
        } while (fd >= 0 && fd <= 2);
        if (fd > 2)
                close(fd);

        sigemptyset(&ignored_at_start);
        for (sig = 1; sig < NSIG; sig++) {
                if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
                        sigaddset(&ignored_at_start, sig);
        }
        sigaddset(&ignored_at_start, SIGPIPE);

        /* A write to a dead worker's pipe must give EPIPE, not kill us. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        (void) sigaction(SIGPIPE, &sa, NULL);

        /* A supervisor holds a pidfd per worker: as systemd and nginx do,
         * take the hard limit, and give children the soft one back. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                nofile_at_start = rl;
                rl.rlim_cur = rl.rlim_max;
                nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
        }
}

int sv__plat_fds_available(int want) {
        int fds[64];
        int i, n = 0, r = 0;

        if (want > 64)
                want = 64;
        while (n < want) {
                fds[n] = fcntl(2, F_DUPFD_CLOEXEC, 3);
                if (fds[n] < 0) {
                        r = -errno;
                        break;
                }
                n++;
        }
        for (i = 0; i < n; i++)
                close(fds[i]);
        return r;
}

bool sv__plat_have_pidfd(void) {
        const char *no = getenv("SUPERVISE_NO_PIDFD");

        if (no && *no && strcmp(no, "0") != 0)
                return false;
        return !kernel_lacks_pidfd;
}

CHILD_CODE static void child_fail(child_args *a, int err) {
        a->err = err;
        if (a->errpipe >= 0)
                (void) !write(a->errpipe, &err, sizeof(err));
        _exit(127);
}

/* execvpe without malloc: search `path` into a stack buffer. EACCES from one
 * directory is remembered but the search goes on, as the shell does. */
CHILD_CODE static int child_exec(const sv__spawn_req *req) {
        const char *file = req->argv[0];
        char buf[PATH_BUF_MAX];
        const char *p, *end;
        size_t flen, dlen;
        int saw_eacces = 0;

        if (strchr(file, '/')) {
                execve(file, (char *const *) req->argv, (char *const *) req->envp);
                return errno;
        }
        flen = strlen(file);
        p = req->path ? req->path : "/usr/local/bin:/usr/bin:/bin";
        for (;;) {
                end = strchr(p, ':');
                if (!end)
                        end = p + strlen(p);
                dlen = (size_t) (end - p);
                if (dlen + 1 + flen + 1 <= sizeof(buf)) {
                        if (dlen == 0) {
                                buf[0] = '.';
                                dlen = 1;
                        } else {
                                memcpy(buf, p, dlen);
                        }
                        buf[dlen] = '/';
                        memcpy(buf + dlen + 1, file, flen + 1);
                        execve(buf, (char *const *) req->argv, (char *const *) req->envp);
                        if (errno == EACCES)
                                saw_eacces = 1;
                        else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP &&
                                 errno != ENAMETOOLONG)
                                return errno;
                }
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        return saw_eacces ? EACCES : ENOENT;
}

/* The child starts on our fd table (CLONE_FILES), so that a supervisor
 * with 10,000 pidfds does not copy them into every child only for exec to
 * close them again: that was 10,000 closes per spawn, and made spawning
 * quadratic in the number of live workers. Here the child takes a table
 * of its own holding only the fds below the highest one it still needs
 * (its stdio sources and the error pipe), in one close_range() call
 * (Linux 5.9). Until then it must not change an fd: they are ours. */
CHILD_CODE static void child_own_fds(child_args *a) {
        const sv__spawn_req *req = a->req;
        unsigned keep = 3;
        int i;

        if (!a->shared_fds)
                return;
        for (i = 0; i < 3; i++) {
                if (req->stdio_fd[i] >= 0 && (unsigned) req->stdio_fd[i] + 1 > keep)
                        keep = (unsigned) req->stdio_fd[i] + 1;
        }
        if (a->errpipe >= 0 && (unsigned) a->errpipe + 1 > keep)
                keep = (unsigned) a->errpipe + 1;
        if (syscall(SYS_close_range, keep, ~0U, CLOSE_RANGE_UNSHARE) == 0)
                return;
        /* An older kernel: a copy of the whole table. */
        if (unshare(CLONE_FILES) < 0)
                child_fail(a, errno);
}

CHILD_CODE static int child_main(void *arg) {
        child_args *a = arg;
        const sv__spawn_req *req = a->req;
        struct sigaction dfl;
        int sig, i;

        a->ran = 1;

        /* Caught signals are reset by execve itself; ignored ones are not.
         * Every signal is blocked until exec, so our handlers never run here. */
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (sig = 1; sig < NSIG; sig++) {
                if (sigismember(&ignored_at_start, sig))
                        (void) sigaction(sig, &dfl, NULL);
        }

        if (setpgid(0, 0) < 0)
                child_fail(a, errno);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                child_fail(a, errno);
        /* The parent may have died before prctl: then nobody will ever send
         * the death signal, so don't start at all. */
        if (getppid() != a->parent)
                child_fail(a, ESRCH);
        if (!a->joined_cgroup && a->cg_procs_fd >= 0 && write(a->cg_procs_fd, "0", 1) < 0)
                child_fail(a, errno);
        /* setrlimit is async-signal-safe; lowering the soft limit always
         * succeeds. */
        if (nofile_raised && setrlimit(RLIMIT_NOFILE, &nofile_at_start) < 0)
                child_fail(a, errno);

        child_own_fds(a);
        for (i = 0; i < 3; i++) {
                if (req->stdio_fd[i] >= 0 && dup2(req->stdio_fd[i], i) < 0)
                        child_fail(a, errno);
        }
        if (req->cwd && chdir(req->cwd) < 0)
                child_fail(a, errno);

        /* Mark, don't close: the error pipe must live until exec. */
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
                for (i = 3; i < 65536; i++) {
                        if (i != a->errpipe)
                                (void) close(i);
                }
        }
        sigprocmask(SIG_SETMASK, &a->mask, NULL);
        child_fail(a, child_exec(req));
        return 127;
}

static int read_errpipe(int fd) {
        int err = 0;
        ssize_t n;

        do {
                n = read(fd, &err, sizeof(err));
        } while (n < 0 && errno == EINTR);
        return n == (ssize_t) sizeof(err) ? err : 0;
}

/* clone3 with CLONE_INTO_CGROUP makes the child in its cgroup, instead of
 * moving it there by a write to cgroup.procs, which waits for an RCU grace
 * period (measured: 12-23 ms per spawn when spawns are rare). glibc 2.36
 * has no clone3 wrapper that runs a function on a new stack, so this is
 * one: the child returns from the system call on `stack`, calls fn(arg)
 * and exits with its result; it never returns into our frames. */
#if defined(__x86_64__) && defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
#define HAVE_CLONE3_VM 1
static long clone3_vm(struct clone_args *ca, int (*fn)(void *), void *arg) {
        register long r12 __asm__("r12") = (long) fn;
        register long r13 __asm__("r13") = (long) arg;
        long ret;

        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xor %%ebp, %%ebp\n\t"
                         "mov %%r13, %%rdi\n\t"
                         "call *%%r12\n\t"
                         "mov %%eax, %%edi\n\t"
                         "mov $60, %%eax\n\t" /* SYS_exit */
                         "syscall\n\t"
                         "hlt\n"
                         "1:\n\t"
                         : "=a"(ret)
                         : "0"((long) SYS_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r12), "r"(r13)
                         : "rcx", "r11", "memory");
        return ret;
}
#endif

/* Returns the pid, or -errno. */
static long start_child(child_args *a, char *stack, int flags, int *pidfd) {
        long pid;

#ifdef HAVE_CLONE3_VM
        if (!clone3_unusable) {
                struct clone_args ca;

                memset(&ca, 0, sizeof(ca));
                ca.flags = (uint64_t) (flags & ~0xff);
                ca.pidfd = (uint64_t) (uintptr_t) pidfd;
                ca.exit_signal = SIGCHLD;
                ca.stack = (uint64_t) (uintptr_t) stack;
                ca.stack_size = CHILD_STACK_SIZE;
                if (a->cg_dir_fd >= 0) {
                        ca.flags |= CLONE_INTO_CGROUP;
                        ca.cgroup = (uint64_t) a->cg_dir_fd;
                        a->joined_cgroup = true;
                }
                a->shared_fds = (flags & CLONE_FILES) != 0;
                pid = clone3_vm(&ca, child_main, a);
                if (pid >= 0)
                        return pid;
                a->joined_cgroup = false;
                if (pid != -ENOSYS && pid != -EINVAL && pid != -E2BIG && pid != -EOPNOTSUPP)
                        return pid;
                clone3_unusable = true;
                if (a->cg_dir_fd >= 0)
                        return -ENOSYS; /* the caller retries with cgroup.procs */
        }
#endif
        /* clone() copies our fd table: valgrind, whose clone3 is missing,
         * refuses CLONE_FILES together with CLONE_VFORK, and a kernel
         * without a usable clone3 may lack close_range's UNSHARE too. */
        a->shared_fds = false;
        pid = clone(child_main, stack + CHILD_STACK_SIZE, flags & ~CLONE_FILES, a, pidfd);
        return pid < 0 ? -errno : pid;
}

static void stack_free(void *stack) {
        (void) munmap(stack, CHILD_STACK_SIZE);
}

static void stack_key_make(void) {
        stack_key_err = pthread_key_create(&stack_key, stack_free);
}

/* This thread's clone stack, or NULL when out of memory. */
static char *thread_stack(void) {
        char *stack;

        if (pthread_once(&stack_key_once, stack_key_make) != 0 || stack_key_err != 0)
                return NULL;
        stack = pthread_getspecific(stack_key);
        if (stack)
                return stack;
        stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return NULL;
        if (pthread_setspecific(stack_key, stack) != 0) {
                stack_free(stack);
                return NULL;
        }
        return stack;
}

/* Opens what the child needs to start in `path`: the directory for
 * clone3(CLONE_INTO_CGROUP), or cgroup.procs to join by a write where
 * clone3 is unusable. Held only for the spawn. */
static int open_cgroup(const char *path, child_args *a) {
        char file[SV_CG_MAX + 32];
        int r;

        a->cg_dir_fd = a->cg_procs_fd = -1;
        if (!path)
                return 0;
#ifdef HAVE_CLONE3_VM
        if (!clone3_unusable) {
                a->cg_dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return a->cg_dir_fd < 0 ? -errno : 0;
        }
#endif
        r = snprintf(file, sizeof(file), "%s/cgroup.procs", path);
        if (r < 0 || (size_t) r >= sizeof(file))
                return UV_ENAMETOOLONG;
        a->cg_procs_fd = open(file, O_WRONLY | O_CLOEXEC);
        return a->cg_procs_fd < 0 ? -errno : 0;
}

static void close_cgroup(child_args *a) {
        if (a->cg_dir_fd >= 0)
                close(a->cg_dir_fd);
        if (a->cg_procs_fd >= 0)
                close(a->cg_procs_fd);
        a->cg_dir_fd = a->cg_procs_fd = -1;
}

/* Runs the child to its exec (or its failure); returns its pid, or the
 * negative error of clone itself. */
static long run_child(const sv__spawn_req *req, child_args *a, char *stack, int flags,
                      int *pidfd) {
        sigset_t old;
        long lpid;
        int r;

        r = open_cgroup(req->cgroup, a);
        if (r < 0)
                return r;
        pthread_sigmask(SIG_SETMASK, &all_mask, &old);
        lpid = start_child(a, stack, flags, pidfd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (lpid == -ENOSYS && clone3_unusable) {
                close_cgroup(a);
                r = open_cgroup(req->cgroup, a);
                if (r < 0)
                        return r;
                pthread_sigmask(SIG_SETMASK, &all_mask, &old);
                lpid = start_child(a, stack, flags, pidfd);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        close_cgroup(a);
        return lpid;
}

int sv__plat_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        child_args a;
        int pipefd[2] = { -1, -1 };
        int pidfd = -1;
        char *stack;
        int flags;
        long lpid;
        pid_t pid;
        int err;

        if (req->pidns)
                return sv__unix_pidns_spawn(req, out);
        stack = thread_stack();
        if (!stack)
                return UV_ENOMEM;
        if (!masks_ready) {
                sigemptyset(&empty_mask);
                sigfillset(&all_mask);
                masks_ready = true;
        }
        a.req = req;
        a.mask = empty_mask;
        a.parent = getpid();
        a.errpipe = -1;
        a.joined_cgroup = false;
        a.ran = 0;
        a.err = 0;
        if (errno_via_pipe != 0) {
                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return -errno;
                a.errpipe = pipefd[1];
        }

        flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD;
        a.shared_fds = false;
        if (req->want_pidfd && !kernel_lacks_pidfd)
                flags |= CLONE_PIDFD;

        lpid = run_child(req, &a, stack, flags, &pidfd);
        pid = lpid < 0 ? -1 : (pid_t) lpid;
        err = lpid < 0 ? (int) -lpid : 0;

        if (pid < 0) {
                if (pipefd[0] >= 0) {
                        close(pipefd[0]);
                        close(pipefd[1]);
                }
                if (err == EINVAL && (flags & CLONE_PIDFD)) {
                        /* A kernel older than 5.2: no pidfds at all. */
                        kernel_lacks_pidfd = true;
                        return sv__plat_spawn(req, out);
                }
                return -err;
        }

        if (pipefd[0] >= 0) {
                close(pipefd[1]);
                err = read_errpipe(pipefd[0]);
                close(pipefd[0]);
        } else {
                err = a.err;
        }
        if (errno_via_pipe < 0)
                errno_via_pipe = !a.ran;

        if (err) {
                if (pidfd >= 0)
                        close(pidfd);
                /* The child has _exit()ed or is about to: reap it now so the
                 * failure leaves no zombie. */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return -err;
        }
        out->pid = pid;
        out->pidfd = pidfd;
        return 0;
}

int sv__plat_kill_group(pid_t pgid, int sig) {
        if (pgid <= 1)
                return UV_EINVAL;
        if (kill(-pgid, sig) < 0)
                return -errno;
        return 0;
}

int sv__plat_kill(pid_t pid, int pidfd, int sig) {
        static int no_pidfd_send;

        if (pid <= 1)
                return UV_EINVAL;
        if (pidfd >= 0 && !no_pidfd_send) {
                if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
                        return 0;
                if (errno != ENOSYS)
                        return -errno;
                /* valgrind 3.19 lacks the syscall. kill() is still safe: the
                 * pid is ours until we reap it. */
                no_pidfd_send = 1;
        }
        if (kill(pid, sig) < 0)
                return -errno;
        return 0;
}

static uint64_t tv_us(const struct timeval *tv) {
        return (uint64_t) tv->tv_sec * 1000000u + (uint64_t) tv->tv_usec;
}

static void fill_reaped(const siginfo_t *si, const struct rusage *ru, sv__reaped *out) {
        out->pid = si->si_pid;
        out->exited = si->si_code == CLD_EXITED;
        out->code = si->si_status;
        out->core_dumped = si->si_code == CLD_DUMPED;
        out->user_us = tv_us(&ru->ru_utime);
        out->sys_us = tv_us(&ru->ru_stime);
        out->max_rss_kb = (uint64_t) ru->ru_maxrss;
}

/* glibc's waitid has no rusage argument; the system call does. */
static int reap(int idtype, int id, sv__reaped *out) {
        siginfo_t si;
        struct rusage ru;
        long r;

        memset(&si, 0, sizeof(si));
        memset(&ru, 0, sizeof(ru));
        do {
                r = syscall(SYS_waitid, idtype, id, &si, WEXITED | WNOHANG, &ru);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (si.si_pid == 0)
                return 0;
        fill_reaped(&si, &ru, out);
        return 1;
}

int sv__plat_reap_pidfd(int pidfd, sv__reaped *out) {
        return reap(P_PIDFD, pidfd, out);
}

int sv__plat_reap_pid(pid_t pid, sv__reaped *out) {
        return reap(P_PID, pid, out);
}

int sv__plat_reap_any(sv__reaped *out) {
        return reap(P_ALL, 0, out);
}

/* The fallback of sv__plat_reap_wait: naps of 1 ms. Reaps what it can;
 * pids[i] is set to 0 once reaped. */
static int reap_wait_nap(pid_t *pids, int n, uint64_t deadline_us) {
        sv__reaped r;
        int i, left;

        for (;;) {
                left = 0;
                for (i = 0; i < n; i++) {
                        if (pids[i] > 0 && reap(P_PID, pids[i], &r) != 0)
                                pids[i] = 0; /* reaped, or not ours (ECHILD) */
                        if (pids[i] > 0)
                                left++;
                }
                if (left == 0 || sv__plat_now_us() >= deadline_us)
                        return left;
                sv__plat_nap_us(1000);
        }
}

int sv__plat_reap_wait(const pid_t *pids_in, int n, unsigned timeout_ms) {
        uint64_t deadline = sv__plat_now_us() + (uint64_t) timeout_ms * 1000u;
        struct pollfd *pfd = NULL;
        pid_t *pids;
        sv__reaped r;
        int i, left = 0, nap = 0, ms;

        if (n <= 0)
                return 0;
        pids = malloc((size_t) n * sizeof(*pids));
        pfd = calloc((size_t) n, sizeof(*pfd));
        if (!pids || !pfd) {
                free(pids);
                free(pfd);
                return UV_ENOMEM;
        }
        memcpy(pids, pids_in, (size_t) n * sizeof(*pids));
        for (i = 0; i < n; i++) {
                pfd[i].fd = -1;
                if (reap(P_PID, pids[i], &r) != 0) {
                        pids[i] = 0; /* a zombie already, or not ours */
                        continue;
                }
                pfd[i].fd = (int) syscall(SYS_pidfd_open, pids[i], 0);
                pfd[i].events = POLLIN;
                if (pfd[i].fd < 0 && errno != ESRCH)
                        nap = 1; /* no pidfd_open (valgrind), or EMFILE */
                if (pfd[i].fd >= 0)
                        left++;
        }
        while (left > 0 && !nap) {
                uint64_t now = sv__plat_now_us();
                if (now >= deadline)
                        break;
                ms = (int) ((deadline - now + 999u) / 1000u);
                if (poll(pfd, (nfds_t) n, ms) < 0 && errno != EINTR)
                        break;
                for (i = 0; i < n; i++) {
                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        (void) reap(P_PID, pids[i], &r);
                        pids[i] = 0;
                        close(pfd[i].fd);
                        pfd[i].fd = -1;
                        left--;
                }
        }
        for (i = 0; i < n; i++) {
                if (pfd[i].fd >= 0)
                        close(pfd[i].fd);
        }
        free(pfd);
        left = reap_wait_nap(pids, n, nap ? deadline : 0);
        free(pids);
        return left;
}

int sv__plat_set_subreaper(void) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return -errno;
        return 0;
}

uint64_t sv__plat_now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void sv__plat_nap_us(unsigned us) {
        struct timespec ts = { 0, (long) us * 1000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int sv__plat_waitset_new(void) {
        int fd = epoll_create1(EPOLL_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int sv__plat_waitset_add(int set, int fd, uint64_t tag) {
        struct epoll_event ev;

        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        if (epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        return 0;
}

int sv__plat_waitset_ready(int set, uint64_t *tags, int max) {
        struct epoll_event ev[64];
        int n, i;

        if (max > 64)
                max = 64;
        do {
                n = epoll_wait(set, ev, max, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (i = 0; i < n; i++)
                tags[i] = ev[i].data.u64;
        return n;
}

int sv__plat_timer_new(void) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

        return fd < 0 ? -errno : fd;
}

int sv__plat_timer_set(int fd, uint64_t at_us) {
        struct itimerspec its;

        memset(&its, 0, sizeof(its));
        /* An absolute time of 0 would disarm it: a deadline already past
         * is made the clock's first microsecond instead. */
        if (at_us) {
                its.it_value.tv_sec = (time_t) (at_us / 1000000u);
                its.it_value.tv_nsec = (long) (at_us % 1000000u) * 1000L;
        }
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return -errno;
        return 0;
}

void sv__plat_timer_ack(int fd) {
        uint64_t ticks;

        (void) !read(fd, &ticks, sizeof(ticks));
}

const sigset_t *sv__unix_ignored_at_start(void) {
        return &ignored_at_start;
}

CHILD_CODE int sv__unix_child_exec(const sv__spawn_req *req) {
        return child_exec(req);
}
