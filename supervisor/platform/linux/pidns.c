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
#include "platform/linux/linux.h"
#include "platform/linux/pidns.h"

static char *stacks; /* the init's stack, then the worker's */
static int usable = -1;  /* -1: not probed yet */
static bool need_userns; /* probed: CLONE_NEWPID alone was refused */

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
        pid = (pid_t) clone(sv__linux_pidns_probe_main, stacks + NS_STACK_SIZE, flags | SIGCHLD,
                            &a);
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

int sv__linux_pidns_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        sigset_t all, old;
        ns_record rec;
        int pipefd[2], pidfd = -1, flags, r;
        ns_args a;
        pid_t pid;

        if (!sv__plat_pidns_usable())
                return UV_ENOTSUP;
        if (req->isolate) {
                r = sv__plat_isolate_probe(req->isolate);
                if (r < 0)
                        return r;
        }
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

        /* The worker's own namespaces (req->isolate) are the init's: it
         * sets them up before it starts the worker. */
        flags = ns_flags() | sv__linux_isolate_clone_flags(req->isolate) | SIGCHLD;
        if (req->want_pidfd)
                flags |= CLONE_PIDFD;
        /* Blocked in the init from birth: no handler of ours may run there,
         * and the init reads them all from its signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = (pid_t) clone(sv__linux_pidns_init_main, stacks + NS_STACK_SIZE, flags, &a,
                            &pidfd);
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
