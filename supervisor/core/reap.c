/* reap.c - collecting exit statuses: our workers' and adopted orphans'.
 *
 * With pidfds (the normal case) each worker's pidfd is polled and reaped on
 * its own with waitid(P_PIDFD): one wait call per exit, however many workers
 * are alive, and never a child someone else in this process spawned.
 * Orphans reparented to us as subreaper have no pidfd; SIGCHLD tells us one
 * may be waiting. We count SIGCHLDs and reaps, and only when SIGCHLDs
 * outnumber reaps, after this loop iteration's pidfd callbacks have run (a
 * uv_check), do we sweep with waitid(WNOWAIT) peeks. A worker found by a
 * peek is reaped through the worker path, so nothing is stolen.
 *
 * Without pidfds (kernel < 5.2, or SUPERVISE_NO_PIDFD=1) SIGCHLD drives a
 * wait4(-1)-style loop that dispatches by pid. That fallback reaps every
 * child of the process, so an embedding program must not uv_spawn then. */
#include "core/internal.h"

static void reap_one_orphan(sv_supervisor *sv, pid_t pid) {
        sv__reaped r;

        if (sv__plat_reap_pid(pid, &r) == 1) {
                sv->reaps++;
                sv->orphans++;
                sv__log(sv, "reaped adopted orphan %d", (int) pid);
        }
}

void sv__reap_sweep(sv_supervisor *sv) {
        sv__reaped r;
        sv_worker *w;
        pid_t pid;

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
        while ((pid = sv__plat_peek_waitable()) > 0) {
                w = sv__worker_by_pid(sv, pid);
                if (!w) {
                        reap_one_orphan(sv, pid);
                        continue;
                }
                if (sv__plat_reap_pidfd(w->pidfd, &r) != 1)
                        break;
                sv__worker_reaped(w, &r);
        }
}

static void on_sigchld(uv_signal_t *h, int signum) {
        sv_supervisor *sv = h->data;

        (void) signum;
        sv->sigchld_seen++;
        if (!sv->pidfds)
                sv__reap_sweep(sv);
}

/* A SIGCHLD that no pidfd reap accounts for may be an orphan's. But the
 * kernel may raise SIGCHLD before the pidfd turns readable, so the pidfd's
 * reap can come one loop iteration after the signal: wait one iteration
 * (an idle handle makes its poll phase non-blocking) before deciding, or
 * nearly every exit would cost a useless peek. */
static void on_idle_noop(uv_idle_t *h) {
        (void) h;
}

static void on_check(uv_check_t *h) {
        sv_supervisor *sv = h->data;

        if (sv->reaps >= sv->sigchld_seen) {
                /* Explained, or SIGCHLDs coalesced: resynchronise. */
                sv->sigchld_seen = sv->reaps;
                if (sv->sweep_deferred) {
                        sv->sweep_deferred = false;
                        uv_idle_stop(&sv->idle);
                }
                return;
        }
        if (!sv->sweep_deferred) {
                sv->sweep_deferred = true;
                uv_idle_start(&sv->idle, on_idle_noop);
                return;
        }
        sv->sweep_deferred = false;
        uv_idle_stop(&sv->idle);
        sv__reap_sweep(sv);
        sv->sigchld_seen = sv->reaps;
}

/* Coalesced SIGCHLDs can hide an orphan's exit behind a worker's; a slow
 * sweep bounds how long such a zombie lingers. */
static void on_sweep_timer(uv_timer_t *t) {
        sv__reap_sweep(t->data);
}

void sv__reap_init(sv_supervisor *sv) {
        uv_timer_init(sv->loop, &sv->sweep_timer);
        sv->sweep_timer.data = sv;
        uv_timer_start(&sv->sweep_timer, on_sweep_timer, 1000, 1000);
        uv_unref((uv_handle_t *) &sv->sweep_timer);
        uv_signal_init(sv->loop, &sv->sigchld);
        sv->sigchld.data = sv;
        uv_signal_start(&sv->sigchld, on_sigchld, SIGCHLD);
        uv_unref((uv_handle_t *) &sv->sigchld);
        uv_idle_init(sv->loop, &sv->idle);
        sv->idle.data = sv;
        uv_unref((uv_handle_t *) &sv->idle);
        uv_check_init(sv->loop, &sv->check);
        sv->check.data = sv;
        uv_check_start(&sv->check, on_check);
        uv_unref((uv_handle_t *) &sv->check);
}
