/* guard.c - what keeps a run safe beyond our own loop: the guardian,
 * started, watched and restarted; and, when we are PID 1 of a PID namespace,
 * the reaping of every orphan the moment it exits.
 *
 * The guardian (platform/linux/guardian.c) ends our trees if we are
 * SIGKILLed. If it dies first, the run silently loses that promise, so its
 * pipe is watched: the write end we keep reports an error as soon as the
 * guardian's read end is gone, and we reap it and start another. A guardian
 * that keeps dying is given up after SV__GUARD_RESTARTS, with one log line
 * saying the run is unguarded.
 *
 * As PID 1 of a namespace we start no guardian (when we die the kernel
 * kills every process of the namespace) and every orphan of the namespace
 * becomes our child, so a SIGCHLD watcher reaps orphans at once instead of
 * leaving them to the slow sweep. It only peeks (waitid WNOWAIT) and reaps
 * pids that are neither workers nor the guardian: a worker is reaped through
 * its pidfd alone (reap.c), never here. When the first exited child it sees
 * is a worker, it cannot look past it, so it looks again after the loop's
 * next I/O phase, by which time that worker has been reaped. */
#include <signal.h>
#include <stdlib.h>

#include "core/internal.h"

#define SV__GUARD_RESTARTS 8

static void on_guard_closed(uv_handle_t *h) {
        sv_supervisor *sv = h->data;

        free(h);
        sv->closing--;
}

static void guard_unwatch(sv_supervisor *sv) {
        if (!sv->guard_watch)
                return;
        sv->closing++;
        uv_close((uv_handle_t *) sv->guard_watch, on_guard_closed);
        sv->guard_watch = NULL;
}

static void on_guard_gone(uv_poll_t *h, int status, int events) {
        sv_supervisor *sv = h->data;
        pid_t pid = sv->guardian.pid;
        int st;

        if (status >= 0 && !(events & UV_DISCONNECT))
                return;
        /* Unwatch before the fd is closed: libuv must drop it first. */
        guard_unwatch(sv);
        st = sv__guardian_reap(&sv->guardian);
        if (st == -1)
                sv__log(sv, "supervisor: the guardian %d is gone", (int) pid);
        else
                sv__log(sv, "supervisor: the guardian %d died (status 0x%x)", (int) pid, st);
        if (sv->guard_restarts >= SV__GUARD_RESTARTS) {
                /* Not started again by the next spawn either. */
                sv->flags |= SV_SUPERVISOR_NO_GUARDIAN;
                sv__log(sv, "supervisor: the guardian died %u times; the run is unguarded",
                        sv->guard_restarts + 1);
                return;
        }
        sv->guard_restarts++;
        sv__guard_start(sv);
}

void sv__guard_start(sv_supervisor *sv) {
        uv_poll_t *h;
        int r;

        r = sv__guardian_start(sv->token, sv->cgroot, &sv->guardian);
        if (r < 0) {
                sv__log(sv, "supervisor: cannot start the guardian: %s; the run is unguarded",
                        uv_strerror(r));
                return;
        }
        h = malloc(sizeof(*h));
        if (!h) {
                r = UV_ENOMEM;
                goto unwatched;
        }
        r = uv_poll_init(sv->loop, h, sv->guardian.fd);
        if (r < 0) {
                free(h);
                goto unwatched;
        }
        h->data = sv;
        sv->guard_watch = h;
        /* Nothing to read or write: POLLERR (the reader is gone) is
         * reported whatever we ask for, and UV_DISCONNECT asks for least. */
        r = uv_poll_start(h, UV_DISCONNECT, on_guard_gone);
        if (r < 0) {
                guard_unwatch(sv);
                goto unwatched;
        }
        uv_unref((uv_handle_t *) h);
        sv__log(sv, "supervisor: guardian %d started", (int) sv->guardian.pid);
        return;

unwatched:
        sv__log(sv, "supervisor: cannot watch the guardian: %s", uv_strerror(r));
}

static void on_init_check(uv_check_t *h) {
        sv_supervisor *sv = h->data;

        if (!sv__orphans_reap_exited(sv))
                uv_check_stop(h);
}

static void on_init_sigchld(uv_signal_t *h, int signum) {
        sv_supervisor *sv = h->data;

        (void) signum;
        if (sv__orphans_reap_exited(sv))
                uv_check_start(&sv->init_check, on_init_check);
}

int sv__guard_init_reaper(sv_supervisor *sv) {
        int r;

        r = uv_signal_init(sv->loop, &sv->init_chld);
        if (r < 0)
                return r;
        sv->init_chld.data = sv;
        (void) uv_check_init(sv->loop, &sv->init_check);
        sv->init_check.data = sv;
        uv_unref((uv_handle_t *) &sv->init_check);
        sv->init_reaper = true;
        r = uv_signal_start(&sv->init_chld, on_init_sigchld, SIGCHLD);
        uv_unref((uv_handle_t *) &sv->init_chld);
        /* Orphans that exited before the watcher existed. */
        if (r == 0)
                on_init_sigchld(&sv->init_chld, SIGCHLD);
        return r;
}

static void on_init_closed(uv_handle_t *h) {
        sv_supervisor *sv = h->data;

        sv->closing--;
}

void sv__guard_close(sv_supervisor *sv) {
        guard_unwatch(sv);
        if (!sv->init_reaper)
                return;
        sv->init_reaper = false;
        sv->closing += 2;
        uv_close((uv_handle_t *) &sv->init_chld, on_init_closed);
        uv_close((uv_handle_t *) &sv->init_check, on_init_closed);
}
