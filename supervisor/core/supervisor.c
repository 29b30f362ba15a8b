/* supervisor.c - the sv_supervisor: its loop, its mechanism, and the
 * operations on all workers at once. Owns the loop when the caller gave
 * none, the SIGCHLD watcher, the /dev/null fd and the cgroup directory all
 * worker cgroups live under, with the lock that tells neighbours it is
 * ours (platform/linux/cgroot.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define SV_MIN_FDS 16

/* Names this supervisor: a token no neighbour shares (the marker's and the
 * cgroup directory's), and the directory itself when cgroups are wanted.
 * A taken name is never adopted: draw another. */
static void make_identity(sv_supervisor *sv, bool want_cgroup) {
        int r = UV_EEXIST, tries;

        for (tries = 0; tries < 16 && r == UV_EEXIST; tries++) {
                if (sv__plat_token(sv->token, sizeof(sv->token)) < 0)
                        snprintf(sv->token, sizeof(sv->token), "%d", (int) getpid());
                r = want_cgroup ? sv__cg_setup(sv->token, sv->cgroot, sizeof(sv->cgroot),
                                               &sv->cglock)
                                : UV_ENOTSUP;
        }
        if (r == 0)
                sv->mech = SV_MECH_CGROUP;
        sv->marker_len = (size_t) snprintf(sv->marker_prefix, sizeof(sv->marker_prefix),
                                           "SUPERVISE_TREE=%s.", sv->token);
}

/* cgroup > pidns > procwalk, each where it works. A cgroup is preferred
 * to a PID namespace: it costs no process of its own per worker and keeps
 * leaks it is told to leave running. */
static void choose_mechanism(sv_supervisor *sv) {
        const char *force = getenv("SUPERVISE_MECHANISM");
        bool pidns = (sv->flags & SV_SUPERVISOR_PIDNS) || (force && strcmp(force, "pidns") == 0);
        bool procwalk = (force && strcmp(force, "procwalk") == 0) ||
                        ((sv->flags & SV_SUPERVISOR_NO_CGROUP) && !pidns);

        make_identity(sv, !procwalk && !pidns);
        if (sv->mech == SV_MECH_CGROUP || procwalk || !sv__plat_pidns_usable())
                return;
        sv->mech = SV_MECH_PIDNS;
        /* Nor does a PID namespace need a guardian: each init dies with us
         * (its parent-death signal), and the kernel kills the rest. */
        sv->flags |= SV_SUPERVISOR_NO_GUARDIAN;
}

/* Everything but the loop and the fds: flags, hooks, identity, mechanism,
 * logging and the default ladder. */
static void init_fields(sv_supervisor *sv, const sv_supervisor_opts *opts) {
        sv->flags = opts->flags;
        sv->cglock = -1;
        /* reap.c reaches the workers only through these. */
        sv->hooks.reaped = sv__worker_reaped;
        sv->hooks.timeout = sv__worker_timeout_fired;
        sv->hooks.bury = sv__worker_bury;
        sv->mech = SV_MECH_PROCWALK;
        /* PID 1 of a namespace needs no guardian: when it dies, the kernel
         * kills every process of the namespace. */
        sv->ns_init = sv__plat_is_ns_init();
        if (sv->ns_init)
                sv->flags |= SV_SUPERVISOR_NO_GUARDIAN;
        choose_mechanism(sv);

        sv->log = opts->log;
        sv->log_userdata = opts->log_userdata;
        if (opts->ladder.count)
                sv->ladder = opts->ladder;
        else
                sv_ladder_default(&sv->ladder);
}

int sv_supervisor_new(const sv_supervisor_opts *opts, sv_supervisor **out) {
        sv_supervisor_opts defaults;
        sv_supervisor *sv;
        int r;

        if (!opts) {
                memset(&defaults, 0, sizeof(defaults));
                opts = &defaults;
        }
        sv__plat_init_process();
        /* What a supervisor needs at least: libuv's loop (which aborts the
         * process if it cannot get its pipes), our wait set, timer,
         * /dev/null and guardian, and the few a spawn holds for a moment.
         * Below that, fail with UV_EMFILE rather than abort in libuv. */
        r = sv__plat_fds_available(SV_MIN_FDS);
        if (r < 0)
                return r;

        sv = calloc(1, sizeof(*sv));
        if (!sv)
                return UV_ENOMEM;
        init_fields(sv, opts);

        if (opts->loop) {
                sv->loop = opts->loop;
        } else {
                r = uv_loop_init(&sv->own_loop);
                if (r < 0)
                        goto fail_free;
                sv->loop = &sv->own_loop;
                sv->owns_loop = true;
        }

        sv->devnull = sv__plat_open_devnull();
        if (sv->devnull < 0) {
                r = sv->devnull;
                goto fail_loop;
        }

        sv->pidfds = sv__plat_have_pidfd();
        /* The /proc fallback needs escapees reparented to us to find them;
         * the cgroup path wants it so their zombies are ours to reap. */
        if (!(sv->flags & SV_SUPERVISOR_NO_SUBREAPER))
                (void) sv__plat_set_subreaper();

        r = sv__reap_init(sv);
        if (r < 0)
                goto fail_devnull;
        /* Every orphan of the namespace is ours: reap each as it exits
         * rather than on the slow sweep. Without pidfds, SIGCHLD already
         * reaps every child. */
        if (sv->ns_init && sv->pidfds && !(sv->flags & SV_SUPERVISOR_NO_SUBREAPER) &&
            (r = sv__guard_init_reaper(sv)) < 0)
                sv__log(sv, "supervisor: cannot watch SIGCHLD as PID 1: %s", uv_strerror(r));
        sv__log(sv, "supervisor: mechanism %s, pidfds %s", sv_mechanism_name(sv->mech),
                sv->pidfds ? "yes" : "no");
        *out = sv;
        return 0;

fail_devnull:
        close(sv->devnull);
fail_loop:
        if (sv->owns_loop)
                (void) uv_loop_close(&sv->own_loop);
fail_free:
        if (sv->mech == SV_MECH_CGROUP) {
                (void) sv__cg_remove_root(sv->cgroot);
                close(sv->cglock);
        }
        free(sv);
        return r;
}

uv_loop_t *sv_supervisor_loop(sv_supervisor *sv) {
        return sv->loop;
}

sv_mechanism sv_supervisor_mechanism(const sv_supervisor *sv) {
        return sv->mech;
}

unsigned sv_supervisor_live(const sv_supervisor *sv) {
        return sv->live;
}

int sv_supervisor_run(sv_supervisor *sv) {
        return uv_run(sv->loop, UV_RUN_DEFAULT);
}

int sv_supervisor_stop_all(sv_supervisor *sv) {
        sv_worker *w, *next;
        int n = 0;

        /* sv_worker_stop may finish a worker at once and unlink it. */
        for (w = sv->head; w; w = next) {
                next = w->next;
                if (w->state == SV_WORKER_RUNNING) {
                        sv__worker_step(w, SV_EV_STOP);
                        n++;
                }
        }
        return n;
}

int sv_supervisor_kill_all(sv_supervisor *sv, int sig) {
        sv_worker *w;
        int n = 0;

        for (w = sv->head; w; w = w->next) {
                if (sv_worker_kill(w, sig) == 0)
                        n++;
        }
        return n;
}

void sv_supervisor_foreach(sv_supervisor *sv, void (*fn)(sv_worker *w, void *arg), void *arg) {
        sv_worker *w, *next;

        for (w = sv->head; w; w = next) {
                next = w->next;
                fn(w, arg);
        }
}

/* Descendants we killed become our zombies only once they have finished
 * dying, which may be after their worker's tree looked empty and the loop
 * ran out of work. As subreaper every child but the guardian is ours:
 * wait for each to exit (on its pidfd, not by polling) and reap it. Leaks
 * left running on purpose are not waited for: they are meant to outlive
 * us. */
static void reap_dying_orphans(sv_supervisor *sv) {
        pid_t *kids = NULL;
        int n, r;

        n = sv__orphans_list(sv, &kids);
        if (n <= 0)
                return;
        r = sv__plat_reap_wait(kids, n, 2000);
        if (r > 0)
                sv__log(sv, "supervisor: %d children still alive at exit", r);
        free(kids);
}

static void on_own_closed(uv_handle_t *h) {
        sv_supervisor *sv = h->data;

        sv->closing--;
}

void sv_supervisor_free(sv_supervisor *sv) {
        sv_worker *w;
        bool handoff;

        if (!sv)
                return;
        /* Nothing may outlive us: kill every tree and wait for the reaps. */
        for (w = sv->head; w; w = w->next) {
                if (w->state != SV_WORKER_EXITED) {
                        if (w->cause == SV_CAUSE_EXITED)
                                w->cause = SV_CAUSE_STOPPED;
                        (void) sv_worker_kill_tree(w, SIGKILL);
                }
        }
        while (sv->live > 0 || sv->closing > 0) {
                /* Nothing left to wait on would be our bug; don't spin. */
                if (uv_run(sv->loop, UV_RUN_ONCE) == 0 && sv->closing == 0 && sv->unreaped == 0)
                        break;
        }
        sv__reap_sweep_all(sv);
        reap_dying_orphans(sv);

        sv->closing = sv__reap_close(sv, on_own_closed);
        sv__guard_close(sv);
        /* Close callbacks run in the loop's next iteration, which does not
         * block on them. */
        while (sv->closing > 0)
                (void) uv_run(sv->loop, UV_RUN_NOWAIT);
        if (sv->owns_loop)
                (void) uv_loop_close(sv->loop);
        if (sv->tfd >= 0)
                sv__plat_close(sv->tfd);
        if (sv->epfd >= 0)
                sv__plat_close(sv->epfd);
        free(sv->timeouts);
        /* A program about to exit hands the removal of our (empty) cgroups
         * to the guardian, which outlives us by a moment: rmdir in cgroupfs
         * costs more than the rest of our teardown. */
        sv__cgmaker_stop(sv);
        handoff = (sv->flags & SV_SUPERVISOR_EXIT_AFTER_FREE) && sv->guardian.pid > 0 &&
                  sv->mech == SV_MECH_CGROUP;
        while (sv->cg_nfree > 0) {
                sv__cg *cg = sv->cg_free[--sv->cg_nfree];
                if (handoff)
                        sv__cg_close(cg);
                else
                        (void) sv__cg_destroy(cg);
                free(cg);
        }
        free(sv->cg_free);
        free(sv->envbuf);
        while (sv->spare) {
                sv_worker *spare = sv->spare;
                sv->spare = spare->next;
                free(spare->io);
                free(spare);
        }
        while (sv->cg_nbusy > 0) {
                sv__cg *cg = sv->cg_busy[--sv->cg_nbusy];
                if (handoff)
                        sv__cg_close(cg);
                else if (sv__cg_destroy(cg) < 0)
                        sv__log(sv, "supervisor: leaving '%s': leaked processes live on", cg->path);
                free(cg);
        }
        free(sv->cg_busy);
        free(sv->left);
        sv__pidmap_release(&sv->bypid);
        if (sv->mech == SV_MECH_CGROUP && !handoff)
                (void) sv__cg_remove_root(sv->cgroot);
        /* Only now may a neighbour's sweep take our directory: it is gone,
         * or its removal is the guardian's (handoff). */
        if (sv->mech == SV_MECH_CGROUP)
                close(sv->cglock);
        sv__guardian_stop(&sv->guardian, (sv->flags & SV_SUPERVISOR_EXIT_AFTER_FREE) != 0, handoff);
        close(sv->devnull);
        free(sv);
}
