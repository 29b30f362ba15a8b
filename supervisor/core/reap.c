/* reap.c - collecting exit statuses: our workers' and adopted orphans'.
 *
 * With pidfds (the normal case) every worker's pidfd goes into a wait set
 * of our own (an epoll fd, platform.h), and libuv watches that one fd.
 * When it is readable we ask it which pidfds are, and reap each of those
 * children alone with waitid(P_PIDFD): one wait call per exit however many
 * workers are alive,
 * no libuv handle per worker, no SIGCHLD handling at all, and never a child
 * someone else in this process spawned.
 *
 * Orphans reparented to us as subreaper have no pidfd. A tree we stop or
 * find leaking is watched until its adopted members are reaped (worker.c,
 * adopted_pending); others are swept by a slow timer and at free(), so an
 * adopted zombie lingers at most a second. A sweep reads our children
 * from /proc and waits only for those that are not workers, so a worker's
 * exit is never taken from the wait set's path.
 *
 * Without pidfds (kernel < 5.2, or SUPERVISE_NO_PIDFD=1) SIGCHLD drives a
 * waitid(P_ALL) loop that dispatches by pid. That fallback reaps every child
 * of the process, so an embedding program must not uv_spawn then. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"

#define EP_BATCH 64

static void reap_one_orphan(sv_supervisor *sv, pid_t pid) {
        sv__reaped r;

        if (sv__plat_reap_pid(pid, &r) == 1) {
                sv->reaps++;
                sv->orphans++;
                sv__log(sv, "reaped adopted orphan %d", (int) pid);
        }
}

void sv__reap_sweep(sv_supervisor *sv) {
        pid_t *kids = NULL, pid;
        sv__reaped r;
        sv_worker *w;
        int n, i;

        if (!sv->pidfds) {
                while (sv__plat_reap_any(&r) == 1) {
                        w = sv__worker_by_pid(sv, r.pid);
                        if (w) {
                                sv__worker_reaped(w, &r);
                        } else {
                                sv->reaps++;
                                sv->orphans++;
                        }
                }
                return;
        }
        /* Not a subreaper: nothing is adopted, and any other child of ours
         * belongs to the program embedding us (uv_spawn), not to us. */
        if (sv->flags & SV_SUPERVISOR_NO_SUBREAPER)
                return;
        /* Look at our children rather than peek with waitid(P_ALL): a peek
         * finds the first waitable child, which under load is nearly always
         * a worker the wait set's path is about to reap, and costs a wait call
         * each time. Only children that are neither workers nor the guardian
         * are waited for, so an exit costs its one waitid(P_PIDFD). */
        n = sv__proc_children(&kids);
        for (i = 0; i < n; i++) {
                pid = kids[i];
                if (pid == sv->guardian.pid || sv__worker_by_pid(sv, pid))
                        continue;
                reap_one_orphan(sv, pid);
        }
        free(kids);
}

/* A wait set tag is the worker; the low bit says its timer, not its pidfd. */
#define TAG_TIMER 1u

static void on_epoll(uv_poll_t *h, int status, int events) {
        sv_supervisor *sv = h->data;
        uint64_t tags[EP_BATCH];
        sv__reaped r;
        sv_worker *w, *dead;
        int n, i;

        (void) events;
        if (status < 0)
                return;
        n = sv__plat_waitset_ready(sv->epfd, tags, EP_BATCH);
        /* A worker may have two events in one batch (its timeout and its
         * exit), and an exit callback may free it and spawn another into
         * the same memory. So workers freed during the batch are buried
         * (kept, marked finished) and only recycled once it is done. */
        sv->in_batch = true;
        for (i = 0; i < n; i++) {
                w = (sv_worker *) (uintptr_t) (tags[i] & ~(uint64_t) TAG_TIMER);
                if (w->finished)
                        continue;
                if (tags[i] & TAG_TIMER) {
                        sv__worker_timeout_fired(w);
                        continue;
                }
                if (w->reaped_ok || w->pidfd < 0)
                        continue;
                if (sv__plat_reap_pidfd(w->pidfd, &r) == 1)
                        sv__worker_reaped(w, &r);
        }
        sv->in_batch = false;
        while ((dead = sv->grave)) {
                sv->grave = dead->next;
                sv__worker_bury(dead);
        }
}

static void on_sigchld(uv_signal_t *h, int signum) {
        (void) signum;
        sv__reap_sweep(h->data);
}

static void on_sweep_timer(uv_timer_t *t) {
        sv__reap_sweep(t->data);
}

int sv__reap_watch(sv_supervisor *sv, sv_worker *w) {
        return sv__plat_waitset_add(sv->epfd, w->pidfd, (uint64_t) (uintptr_t) w);
}

/* A timeout as a timer fd in our wait set: exact to the microsecond, where
 * libuv's timers count whole milliseconds and fire up to one late (or, by
 * its clock, early). Counts from the worker's start. */
int sv__reap_watch_timeout(sv_supervisor *sv, sv_worker *w) {
        int fd, r;

        fd = sv__plat_timer_at(w->start_us + w->timeout_ms * 1000u);
        if (fd < 0)
                return fd;
        r = sv__plat_waitset_add(sv->epfd, fd, (uint64_t) (uintptr_t) w | TAG_TIMER);
        if (r < 0) {
                close(fd);
                return r;
        }
        w->tfd = fd;
        return 0;
}

/* The handle that must keep the loop alive while a leader is unreaped. */
uv_handle_t *sv__reap_handle(sv_supervisor *sv) {
        return sv->pidfds ? (uv_handle_t *) &sv->epwatch : (uv_handle_t *) &sv->sigchld;
}

int sv__reap_init(sv_supervisor *sv) {
        int r;

        sv->epfd = -1;
        if (sv->pidfds) {
                sv->epfd = sv__plat_waitset_new();
                if (sv->epfd < 0)
                        return sv->epfd;
                r = uv_poll_init(sv->loop, &sv->epwatch, sv->epfd);
                if (r < 0) {
                        close(sv->epfd);
                        return r;
                }
                sv->epwatch.data = sv;
                uv_poll_start(&sv->epwatch, UV_READABLE, on_epoll);
        } else {
                uv_signal_init(sv->loop, &sv->sigchld);
                sv->sigchld.data = sv;
                uv_signal_start(&sv->sigchld, on_sigchld, SIGCHLD);
        }
        uv_unref(sv__reap_handle(sv));
        uv_timer_init(sv->loop, &sv->sweep_timer);
        sv->sweep_timer.data = sv;
        uv_timer_start(&sv->sweep_timer, on_sweep_timer, 1000, 1000);
        uv_unref((uv_handle_t *) &sv->sweep_timer);
        return 0;
}

/* Closes the two handles; cb runs for each. */
void sv__reap_close(sv_supervisor *sv, uv_close_cb cb) {
        uv_close(sv__reap_handle(sv), cb);
        uv_close((uv_handle_t *) &sv->sweep_timer, cb);
}
