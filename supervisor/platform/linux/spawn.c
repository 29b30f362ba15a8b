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
#include "platform/linux/linux.h"

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
        bool iso_userns;    /* req->isolate needs a user namespace around it */
        uid_t uid;          /* ours, for that namespace's id maps */
        gid_t gid;
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
        /* After the fd table is our own (the setup opens fds) and after
         * the chdir (a fresh /tmp keeps the directory reachable). */
        if (req->isolate) {
                int err = sv__linux_isolate_enter(req->isolate, a->iso_userns, a->uid, a->gid,
                                                  req->argv[0]);

                if (err)
                        child_fail(a, err);
        }

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
 * negative error of clone itself. A clone3 that turned out unusable
 * (ENOSYS) is tried once more with clone, which needs the cgroup opened
 * the other way (open_cgroup looks at clone3_unusable). */
static long run_child(const sv__spawn_req *req, child_args *a, char *stack, int flags,
                      int *pidfd) {
        bool retried = false;
        sigset_t old;
        long lpid;
        int r;

        for (;;) {
                r = open_cgroup(req->cgroup, a);
                if (r < 0)
                        return r;
                pthread_sigmask(SIG_SETMASK, &all_mask, &old);
                lpid = start_child(a, stack, flags, pidfd);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                close_cgroup(a);
                if (lpid != -ENOSYS || !clone3_unusable || retried)
                        return lpid;
                retried = true;
        }
}

/* Fills the child's arguments, and the pipe its exec error travels
 * through where shared memory does not carry it (valgrind). */
static int spawn_prepare(const sv__spawn_req *req, child_args *a, int pipefd[2]) {
        if (!masks_ready) {
                sigemptyset(&empty_mask);
                sigfillset(&all_mask);
                masks_ready = true;
        }
        a->req = req;
        a->mask = empty_mask;
        a->parent = getpid();
        a->errpipe = -1;
        a->joined_cgroup = false;
        a->shared_fds = false;
        a->iso_userns = false;
        if (req->isolate) {
                int r = sv__linux_isolate_userns(req->isolate);

                if (r < 0)
                        return r;
                a->iso_userns = r == 1;
                a->uid = geteuid();
                a->gid = getegid();
        }
        a->ran = 0;
        a->err = 0;
        if (errno_via_pipe != 0) {
                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return -errno;
                a->errpipe = pipefd[1];
        }
        return 0;
}

/* After the child has exec'd or failed: its exec error, or 0. A child that
 * failed is reaped here, so the failure leaves no zombie. */
static int spawn_result(pid_t pid, int *pidfd, child_args *a, int pipefd[2]) {
        int err;

        if (pipefd[0] >= 0) {
                close(pipefd[1]);
                err = read_errpipe(pipefd[0]);
                close(pipefd[0]);
        } else {
                err = a->err;
        }
        if (errno_via_pipe < 0)
                errno_via_pipe = !a->ran;
        if (!err)
                return 0;
        if (*pidfd >= 0)
                close(*pidfd);
        *pidfd = -1;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return -err;
}

int sv__plat_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        child_args a;
        int pipefd[2] = { -1, -1 };
        int pidfd = -1;
        char *stack;
        int flags, err;
        long lpid;

        if (req->pidns)
                return sv__linux_pidns_spawn(req, out);
        stack = thread_stack();
        if (!stack)
                return UV_ENOMEM;
        err = spawn_prepare(req, &a, pipefd);
        if (err < 0)
                return err;

        flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD;
        if (req->want_pidfd && !kernel_lacks_pidfd)
                flags |= CLONE_PIDFD;
        lpid = run_child(req, &a, stack, flags, &pidfd);
        if (lpid < 0) {
                if (pipefd[0] >= 0) {
                        close(pipefd[0]);
                        close(pipefd[1]);
                }
                if (lpid == -EINVAL && (flags & CLONE_PIDFD)) {
                        /* A kernel older than 5.2: no pidfds at all. */
                        kernel_lacks_pidfd = true;
                        return sv__plat_spawn(req, out);
                }
                return (int) lpid;
        }
        err = spawn_result((pid_t) lpid, &pidfd, &a, pipefd);
        if (err < 0)
                return err;
        out->pid = (pid_t) lpid;
        out->pidfd = pidfd;
        return 0;
}

const sigset_t *sv__linux_ignored_at_start(void) {
        return &ignored_at_start;
}

CHILD_CODE int sv__linux_child_exec(const sv__spawn_req *req) {
        return child_exec(req);
}
