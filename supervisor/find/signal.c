/* signal.c - pid-reuse-safe signalling and waiting for the matches of a
 * snapshot. Owns the per-match handles in t->kill.
 *
 * Every system call goes through the platform (sv__plat_pidfd_*, kill).
 * The order is what makes it safe: open a handle first (pidfd_open(), or an
 * fd on the /proc/<pid> directory, which the kernel pins to that process as
 * psmisc's killall uses it), then read the start time and compare it with
 * the snapshot's, then signal through the handle. If the pid was recycled
 * before the handle was opened, the start time differs; after it was opened,
 * the handle still names the old process and the signal fails with ESRCH.
 * Where pidfd syscalls are missing (ENOSYS: kernels before 5.1/5.3, or
 * valgrind 3.19), the start time is re-read through the directory fd right
 * before kill(), which narrows the race to those two calls.
 *
 * Never signals pid 1, a kernel thread, or a process whose identity check
 * failed. Never blocks except in sv_find_wait(). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "find/find_internal.h"

static const char *const outcome_names[] = {
        "pending", "signalled", "gone", "refused", "failed",
};
_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == SV_FIND_OUTCOME_COUNT,
               "one name per sv_find_outcome");

const char *sv_find_outcome_name(sv_find_outcome o) {
        if ((unsigned) o >= SV_FIND_OUTCOME_COUNT)
                return "?";
        return outcome_names[o];
}

/* Compares the live start time with the snapshot's. Returns 0 if it is the
 * same process, UV_ESRCH if it ended or the pid now names another process
 * (or the process is a zombie: it has already exited), else an error. */
static int verify(int dirfd, const char *path, const sv_find_proc *p) {
        sv__stat st;
        int r;

        r = sv__proc_read_stat_at(dirfd, path, &st);
        if (r < 0)
                return r;
        if (st.start_ticks != p->start_ticks || st.state == 'Z' || st.state == 'X')
                return UV_ESRCH;
        return 0;
}

static void set_outcome(sv__find_kill *k, sv_find_outcome o, int err) {
        k->st.outcome = o;
        k->st.err = err;
        if (o != SV_FIND_SIGNALLED && k->fd >= 0) {
                (void) close(k->fd);
                k->fd = -1;
        }
}

/* Opens and verifies the handle of one match. On failure the outcome says
 * why (GONE, REFUSED or FAILED) and no fd is kept. */
static void open_handle(sv_find_table *t, const sv_find_proc *p, sv__find_kill *k) {
        char path[32];
        int fd, r;

        if (p->pid <= 1 || p->kthread) {
                set_outcome(k, SV_FIND_REFUSED, UV_EPERM);
                return;
        }
        r = sv__plat_pidfd_open(p->pid, &fd);
        if (r == 0) {
                k->fd = fd;
                k->is_pidfd = true;
                (void) snprintf(path, sizeof(path), "%d/stat", (int) p->pid);
                r = verify(t->proc_fd, path, p);
        } else if (r == UV_ENOSYS) {
                (void) snprintf(path, sizeof(path), "%d", (int) p->pid);
                fd = openat(t->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        r = errno == ENOENT || errno == ESRCH ? UV_ESRCH : -errno;
                } else {
                        k->fd = fd;
                        k->is_pidfd = false;
                        r = verify(fd, "stat", p);
                }
        }
        if (r == UV_ESRCH)
                set_outcome(k, SV_FIND_GONE, 0);
        else if (r < 0)
                set_outcome(k, SV_FIND_FAILED, r);
}

/* Sends through the handle. Returns 0, UV_ESRCH when the process is gone,
 * or the negative error (UV_EPERM). */
static int send_through(const sv_find_proc *p, sv__find_kill *k, int sig) {
        int r;

        r = sv__plat_pidfd_signal(k->fd, sig);
        if (r != UV_ENOSYS || k->is_pidfd)
                return r;
        /* No pidfd_send_signal: check the identity through the directory fd,
         * which cannot be recycled, immediately before the plain kill(). */
        r = verify(k->fd, "stat", p);
        if (r < 0)
                return r;
        return sv__plat_kill(p->pid, -1, sig);
}

static int kill_init(sv_find_table *t) {
        size_t i;

        t->kill = calloc(t->nmatch ? t->nmatch : 1, sizeof(*t->kill));
        if (!t->kill)
                return UV_ENOMEM;
        for (i = 0; i < t->nmatch; i++) {
                t->kill[i].fd = -1;
                t->kill[i].st.outcome = SV_FIND_PENDING;
        }
        return 0;
}

int sv_find_signal(sv_find_table *t, int sig) {
        const sv_find_proc *p;
        sv__find_kill *k;
        int r, sent = 0;
        size_t i;

        if (!t->kill) {
                r = kill_init(t);
                if (r < 0)
                        return r;
        }
        for (i = 0; i < t->nmatch; i++) {
                p = &t->procs[t->match[i]];
                k = &t->kill[i];
                if (k->st.outcome == SV_FIND_PENDING)
                        open_handle(t, p, k);
                if (k->st.outcome == SV_FIND_PENDING || (k->st.outcome == SV_FIND_SIGNALLED && !k->st.exited)) {
                        r = send_through(p, k, sig);
                        if (r == 0) {
                                k->st.outcome = SV_FIND_SIGNALLED;
                                k->st.signal = sig;
                                sent++;
                        } else if (r == UV_ESRCH && k->st.outcome == SV_FIND_SIGNALLED) {
                                k->st.exited = true; /* it died of an earlier signal */
                        } else if (r == UV_ESRCH) {
                                set_outcome(k, SV_FIND_GONE, 0);
                        } else {
                                set_outcome(k, SV_FIND_FAILED, r);
                        }
                }
        }
        return sent;
}

void sv_find_status_get(const sv_find_table *t, size_t i, sv_find_status *out) {
        sv_find_status st = { SV_FIND_PENDING, 0, 0, false };

        if (t->kill && i < t->nmatch)
                st = t->kill[i].st;
        *out = st;
}

static int64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Checks the handle-less (directory fd) matches; returns how many live on. */
static size_t check_dirfds(sv_find_table *t) {
        sv__find_kill *k;
        size_t i, alive = 0;
        sv__stat st;

        for (i = 0; i < t->nmatch; i++) {
                k = &t->kill[i];
                if (k->st.outcome != SV_FIND_SIGNALLED || k->st.exited || k->is_pidfd)
                        continue;
                /* Through the pinned directory: ESRCH once reaped, even if the
                 * pid is already someone else's. A zombie has ended too. */
                if (sv__proc_read_stat_at(k->fd, "stat", &st) < 0 || st.state == 'Z' || st.state == 'X')
                        k->st.exited = true;
                else
                        alive++;
        }
        return alive;
}

/* Waits on the pidfds once, for at most `wait_ms` (-1: no limit). Returns
 * how many live on, or a negative error. */
static int poll_pidfds(sv_find_table *t, int *fds, bool *gone, size_t *idx, int wait_ms) {
        size_t i, n = 0, alive;
        int r;

        for (i = 0; i < t->nmatch; i++) {
                if (t->kill[i].st.outcome != SV_FIND_SIGNALLED || t->kill[i].st.exited || !t->kill[i].is_pidfd)
                        continue;
                fds[n] = t->kill[i].fd;
                idx[n++] = i;
        }
        r = sv__plat_pidfds_wait(fds, n, wait_ms, gone);
        if (r < 0)
                return r;
        alive = n;
        for (i = 0; r > 0 && i < n; i++) {
                if (gone[i]) {
                        t->kill[idx[i]].st.exited = true;
                        alive--;
                }
        }
        return (int) alive;
}

int sv_find_wait(sv_find_table *t, int64_t timeout_ms) {
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms, left;
        int backoff = 1, slice, alive_pidfd;
        int *fds;
        bool *gone;
        size_t *idx, alive_dir;
        int r = 0;

        if (!t->kill)
                return 0;
        fds = malloc((t->nmatch + 1) * sizeof(*fds));
        gone = malloc((t->nmatch + 1) * sizeof(*gone));
        idx = malloc((t->nmatch + 1) * sizeof(*idx));
        if (!fds || !gone || !idx) {
                r = UV_ENOMEM;
                goto out;
        }
        for (;;) {
                alive_dir = check_dirfds(t);
                left = deadline < 0 ? -1 : deadline - now_ms();
                if (left < 0 && deadline >= 0)
                        left = 0;
                /* Directory fds cannot be polled: wake up on a backoff to
                 * re-read them, 1 ms doubling to 64 ms. */
                slice = alive_dir ? backoff : -1;
                if (left >= 0 && (slice < 0 || left < slice))
                        slice = (int) (left > 86400000 ? 86400000 : left);
                alive_pidfd = poll_pidfds(t, fds, gone, idx, slice);
                if (alive_pidfd < 0) {
                        r = alive_pidfd;
                        goto out;
                }
                if (backoff < 64)
                        backoff *= 2;
                alive_dir = check_dirfds(t);
                r = (int) alive_dir + alive_pidfd;
                if (r == 0 || (deadline >= 0 && now_ms() >= deadline))
                        break;
        }
out:
        free(fds);
        free(gone);
        free(idx);
        return r;
}
