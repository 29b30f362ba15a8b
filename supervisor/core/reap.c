/* reap.c - collecting exit statuses: our workers' and adopted orphans'.
 * A leaf of core: it names no worker.c function, and delivers an exit, a
 * timeout and a worker to recycle through sv->hooks (set by
 * sv_supervisor_new), so that nothing here can call back into itself.
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
 * adopted_pending); others are swept a second after a SIGCHLD says a child
 * of ours changed state (one sweep per second at most, however many exits),
 * and at free(), so an adopted zombie lingers at most a second, and an idle
 * supervisor makes no system call at all: nothing polls. A sweep reads our children
 * from /proc and waits only for those that are not workers, so a worker's
 * exit is never taken from the wait set's path (orphans.c).
 *
 * Without pidfds (kernel < 5.2, or SUPERVISE_NO_PIDFD=1) SIGCHLD drives a
 * waitid(P_ALL) loop that dispatches by pid. That fallback reaps every child
 * of the process, so an embedding program must not uv_spawn then. */
#include <assert.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/internal.h"

#define EP_BATCH 64

/* Without pidfds: the one place where worker exits are dispatched by pid.
 * Runs only from the loop (SIGCHLD, the sweep timer) or from free(), never
 * inside a worker's finish: waitid(P_ALL) takes whichever child exited, and
 * dispatching another worker's exit there would run its on_exit inside the
 * first one's. */
static void dispatch_any(sv_supervisor *sv) {
        sv__reaped r;
        sv_worker *w;

        assert(sv->in_finish == 0);
        while (sv__plat_reap_any(&r) == 1) {
                w = sv__pidmap_get(&sv->bypid, r.pid);
                if (w)
                        sv->hooks.reaped(w, &r);
        }
}

void sv__reap_sweep(sv_supervisor *sv) {
        /* Orphans at once (the caller's tree is not over until they are
         * reaped); the fallback's worker exits in the loop's next
         * iteration, since the caller may be a worker's finish. */
        (void) sv__orphans_reap(sv, NULL);
        if (!sv->pidfds)
                sv__reap_sweep_soon(sv);
}

void sv__reap_sweep_all(sv_supervisor *sv) {
        if (!sv->pidfds)
                dispatch_any(sv);
        else
                (void) sv__orphans_reap(sv, NULL);
}

/* A wait set tag is the worker whose pidfd is ready, or TAG_TIMER: the
 * timeouts' timer fd. */
#define TAG_TIMER 1u

/* ---- The timeouts: a binary min-heap of workers on deadline_us ---- */

static void heap_set(sv_supervisor *sv, unsigned i, sv_worker *w) {
        sv->timeouts[i] = w;
        w->heap_pos = i + 1;
}

static void heap_up(sv_supervisor *sv, unsigned i) {
        sv_worker *w = sv->timeouts[i];

        while (i > 0 && sv->timeouts[(i - 1) / 2]->deadline_us > w->deadline_us) {
                heap_set(sv, i, sv->timeouts[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        heap_set(sv, i, w);
}

static void heap_down(sv_supervisor *sv, unsigned i) {
        sv_worker *w = sv->timeouts[i];
        unsigned c;

        while ((c = 2 * i + 1) < sv->ntimeouts) {
                if (c + 1 < sv->ntimeouts &&
                    sv->timeouts[c + 1]->deadline_us < sv->timeouts[c]->deadline_us)
                        c++;
                if (sv->timeouts[c]->deadline_us >= w->deadline_us)
                        break;
                heap_set(sv, i, sv->timeouts[c]);
                i = c;
        }
        heap_set(sv, i, w);
}

static void heap_remove(sv_supervisor *sv, sv_worker *w) {
        unsigned i = w->heap_pos - 1;
        sv_worker *last = sv->timeouts[--sv->ntimeouts];

        w->heap_pos = 0;
        if (last == w)
                return;
        heap_set(sv, i, last);
        heap_up(sv, i);
        heap_down(sv, last->heap_pos - 1);
}

/* Sets the timer fd to the earliest deadline. Only an earlier deadline
 * moves it forward at once; a cancelled one is left to fire, find nothing
 * due and re-aim, which costs a wake-up instead of a system call at every
 * exit. */
static void timer_aim(sv_supervisor *sv, bool force) {
        uint64_t at = sv->ntimeouts ? sv->timeouts[0]->deadline_us : 0;

        if (!force && sv->tfd_at_us && (at == 0 || at >= sv->tfd_at_us))
                return;
        if (at == sv->tfd_at_us)
                return;
        if (sv__plat_timer_set(sv->tfd, at) == 0)
                sv->tfd_at_us = at;
}

static void on_timeouts(sv_supervisor *sv) {
        uint64_t now = sv__plat_now_us();
        sv_worker *w;

        sv__plat_timer_ack(sv->tfd);
        sv->tfd_at_us = 0;
        /* Take one due worker at a time off the heap before its step: the
         * step may spawn, stop or finish other workers. */
        while (sv->ntimeouts > 0 && sv->timeouts[0]->deadline_us <= now) {
                w = sv->timeouts[0];
                heap_remove(sv, w);
                sv->hooks.timeout(w);
        }
        timer_aim(sv, true);
}

int sv__reap_watch_timeout(sv_supervisor *sv, sv_worker *w) {
        sv_worker **v;
        unsigned cap;

        if (sv->tfd < 0)
                return UV_ENOSYS;
        if (sv->ntimeouts == sv->timeouts_cap) {
                cap = sv->timeouts_cap ? sv->timeouts_cap * 2 : 64;
                v = realloc(sv->timeouts, cap * sizeof(*v));
                if (!v)
                        return UV_ENOMEM;
                sv->timeouts = v;
                sv->timeouts_cap = cap;
        }
        /* Counts from the worker's start, exact to the microsecond, where
         * libuv's timers count whole milliseconds. */
        w->deadline_us = w->start_us + w->timeout_ms * 1000u;
        sv->timeouts[sv->ntimeouts++] = w;
        heap_up(sv, sv->ntimeouts - 1);
        timer_aim(sv, false);
        return 0;
}

void sv__reap_cancel_timeout(sv_supervisor *sv, sv_worker *w) {
        if (w->heap_pos)
                heap_remove(sv, w);
}

/* At most this many batches per wake-up: thousands of exits at once are
 * taken in one loop iteration, yet the loop still gets to its other work. */
#define EP_ROUNDS 64

static void on_epoll(uv_poll_t *h, int status, int events) {
        sv_supervisor *sv = h->data;
        uint64_t tags[EP_BATCH];
        sv__reaped r;
        sv_worker *w, *dead;
        int n, i, round;

        (void) events;
        if (status < 0)
                return;
        /* A worker may have two events in one batch (its timeout and its
         * exit), and an exit callback may free it and spawn another into
         * the same memory. So workers freed during the batch are buried
         * (kept, marked finished) and only recycled once it is done. */
        sv->in_batch = true;
        for (round = 0; round < EP_ROUNDS; round++) {
                n = sv__plat_waitset_ready(sv->epfd, tags, EP_BATCH);
                for (i = 0; i < n; i++) {
                        if (tags[i] == TAG_TIMER) {
                                on_timeouts(sv);
                                continue;
                        }
                        w = (sv_worker *) (uintptr_t) tags[i];
                        if (w->reaped_ok || w->pidfd < 0)
                                continue;
                        if (sv__plat_reap_pidfd(w->pidfd, &r) == 1)
                                sv->hooks.reaped(w, &r);
                }
                if (n < EP_BATCH)
                        break;
        }
        sv->in_batch = false;
        while ((dead = sv->grave)) {
                sv->grave = dead->next;
                sv->hooks.bury(dead);
        }
}

/* The sweep timer repeats only in the fallback, as a net under SIGCHLD;
 * with pidfds it runs once per SIGCHLD burst. */
static uint64_t sweep_period(const sv_supervisor *sv) {
        return sv->pidfds ? 0 : 1000;
}

static void on_sweep_timer(uv_timer_t *t) {
        sv__reap_sweep_all(t->data);
}

static void on_sigchld(uv_signal_t *h, int signum) {
        sv_supervisor *sv = h->data;

        (void) signum;
        if (!sv->pidfds)
                sv__reap_sweep_all(sv);
        else if (!uv_is_active((uv_handle_t *) &sv->sweep_timer))
                uv_timer_start(&sv->sweep_timer, on_sweep_timer, 1000, 0);
}

/* A sweep in the next loop iteration, however many exits ask for one in
 * this one; then the slow period again (the fallback) or none. */
void sv__reap_sweep_soon(sv_supervisor *sv) {
        if (!uv_is_active((uv_handle_t *) &sv->sweep_timer) ||
            uv_timer_get_due_in(&sv->sweep_timer) > 0)
                uv_timer_start(&sv->sweep_timer, on_sweep_timer, 0, sweep_period(sv));
}

int sv__reap_watch(sv_supervisor *sv, sv_worker *w) {
        return sv__plat_waitset_add(sv->epfd, w->pidfd, (uint64_t) (uintptr_t) w);
}

/* The handle that must keep the loop alive while a leader is unreaped. */
uv_handle_t *sv__reap_handle(sv_supervisor *sv) {
        return sv->pidfds ? (uv_handle_t *) &sv->epwatch : (uv_handle_t *) &sv->sigchld;
}

int sv__reap_init(sv_supervisor *sv) {
        int r;

        sv->epfd = -1;
        sv->tfd = -1;
        if (sv->pidfds) {
                sv->epfd = sv__plat_waitset_new();
                if (sv->epfd < 0)
                        return sv->epfd;
                /* Without it timeouts fall back to libuv timers. */
                sv->tfd = sv__plat_timer_new();
                if (sv->tfd >= 0 && sv__plat_waitset_add(sv->epfd, sv->tfd, TAG_TIMER) < 0) {
                        sv__plat_close(sv->tfd);
                        sv->tfd = -1;
                }
                r = uv_poll_init(sv->loop, &sv->epwatch, sv->epfd);
                if (r < 0) {
                        if (sv->tfd >= 0)
                                sv__plat_close(sv->tfd);
                        sv__plat_close(sv->epfd);
                        return r;
                }
                sv->epwatch.data = sv;
                uv_poll_start(&sv->epwatch, UV_READABLE, on_epoll);
                uv_unref((uv_handle_t *) &sv->epwatch);
        }
        /* Both ways: the fallback reaps on it, the pidfd way sweeps after it. */
        uv_signal_init(sv->loop, &sv->sigchld);
        sv->sigchld.data = sv;
        uv_signal_start(&sv->sigchld, on_sigchld, SIGCHLD);
        uv_unref((uv_handle_t *) &sv->sigchld);
        uv_timer_init(sv->loop, &sv->sweep_timer);
        sv->sweep_timer.data = sv;
        if (!sv->pidfds)
                uv_timer_start(&sv->sweep_timer, on_sweep_timer, 1000, 1000);
        uv_unref((uv_handle_t *) &sv->sweep_timer);
        return 0;
}

/* Closes the handles; cb runs for each. Returns how many. */
int sv__reap_close(sv_supervisor *sv, uv_close_cb cb) {
        int n = 2;

        if (sv->pidfds) {
                uv_close((uv_handle_t *) &sv->epwatch, cb);
                n++;
        }
        uv_close((uv_handle_t *) &sv->sigchld, cb);
        uv_close((uv_handle_t *) &sv->sweep_timer, cb);
        return n;
}
