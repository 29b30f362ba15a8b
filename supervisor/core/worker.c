/* worker.c - lifecycle of one supervised process and its tree.
 *
 * Owns each sv_worker: its state, its libuv handles (a timer, a cgroup
 * watch and output pipes, each made only when needed) and its cgroup. One
 * function, sv__worker_step(), assigns w->state; libuv callbacks only say
 * what happened. A worker is freed once its exit callback has run and its
 * last handle has closed (into a spare list, for the next spawn). Never
 * blocks, never calls waitpid(-1). */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

/* How often the /proc fallback looks whether a dying tree is gone. The
 * cgroup path needs no polling: cgroup.events tells. */
#define TREE_POLL_MS 1
/* With a cgroup, cgroup.events says when the tree is empty; the poll is
 * only the safety net for a watch that could not be set up or an event
 * missed, so it may be slow. */
#define CG_POLL_MS 20

static const char *const state_names[] = { "running", "stopping", "exited" };
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == SV_WORKER_STATE_COUNT,
               "state_names must match sv_worker_state");

static const char *const event_names[] = { "stop", "timeout", "idle", "grace-expired", "reaped",
                                           "tree-empty" };
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == SV_EV_COUNT,
               "event_names must match sv__event");

/* The names are looked up through these because the "can't happen" branch of
 * sv__worker_step logs exactly the values the tables don't cover: a state or
 * event out of range must print as such, not read past the array. */
static const char *state_name(sv_worker_state s) {
        return (unsigned) s < SV_WORKER_STATE_COUNT ? state_names[s] : "(invalid state)";
}

static const char *event_name(sv__event ev) {
        return (unsigned) ev < SV_EV_COUNT ? event_names[ev] : "(invalid event)";
}

extern char **environ;

void sv__log_(sv_supervisor *sv, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sv->log(buf, sv->log_userdata);
}

static void set_state(sv_worker *w, sv_worker_state s, const char *why) {
        if (w->state != s)
                sv__log(w->sv, "worker %u pid %d: %s -> %s (%s)", w->id, (int) w->pid,
                        state_name(w->state), state_name(s), why);
        w->state = s;
}

sv_worker *sv__worker_by_pid(sv_supervisor *sv, pid_t pid) {
        return sv__pidmap_get(&sv->bypid, pid);
}

/* ---- Signalling the tree ---- */

static void signal_tree_procwalk(sv_worker *w, int sig) {
        pid_t root = w->state == SV_WORKER_EXITED ? 0 : w->pid;
        sv_proc *procs = NULL;
        pid_t *pids = NULL;
        int n, i, before = -1;

        /* SIGKILL: freeze the tree as we walk it (a stopped process cannot
         * fork), walk again until a pass finds nobody new, then kill. */
        if (sig == SIGKILL) {
                for (;;) {
                        free(pids);
                        pids = NULL;
                        n = sv__proc_freeze_tree(root, w->marker, &pids);
                        if (n <= 0 || n == before)
                                break;
                        before = n;
                }
                for (i = 0; i < n; i++)
                        (void) sv__plat_kill(pids[i], -1, SIGKILL);
                free(pids);
                /* Members of the group that the walk could not reach (their
                 * parent lives outside the tree). Only while the leader is
                 * unreaped: then its pid cannot name another group. */
                if (root > 1)
                        (void) sv__plat_kill_group(root, SIGKILL);
                return;
        }
        n = sv__proc_tree(root, w->pid, w->marker, &procs);
        for (i = 0; i < n; i++) {
                (void) sv__plat_kill(procs[i].pid, -1, sig);
                if (sig != SIGCONT)
                        (void) sv__plat_kill(procs[i].pid, -1, SIGCONT);
        }
        free(procs);
}

/* Signals every process in the worker's cgroup, and notes whether the
 * tree is more than its leader: a cgroup that held nobody else is the
 * common case tree_alive() takes cheaply. Note it by pid, never by how
 * many were reached: a leader that died of our pidfd signal before the
 * read leaves one other process reached. (A process forked after the read
 * is not noted; if it dies an orphan, the coalesced sweep reaps it.) */
static void signal_cgroup(sv_worker *w, int sig) {
        pid_t *pids = NULL;
        int n, i;

        n = sv__cg_pids(w->cg, &pids);
        if (n < 0)
                w->tree_multi = true;
        /* A pid read from cgroup.procs is in our cgroup at that moment;
         * the window before kill() is the same one killpg has. */
        for (i = 0; i < n; i++) {
                if (pids[i] != w->pid)
                        w->tree_multi = true;
                if (sv__plat_kill(pids[i], -1, sig) == 0 && sig != SIGCONT)
                        (void) sv__plat_kill(pids[i], -1, SIGCONT);
        }
        free(pids);
}

/* Signals every process of the tree, the leader through its pidfd. A
 * stopped process is sent SIGCONT too, so it can act on a polite signal. */
static int signal_tree(sv_worker *w, int sig) {
        bool leader = w->state != SV_WORKER_EXITED;
        int r = 0;

        /* The tree is the init's namespace, and only the init can reach
         * into it; once the init is reaped, the namespace is gone. */
        if (w->sv->mech == SV_MECH_PIDNS)
                return leader ? sv__plat_pidns_signal(w->pid, w->pidfd, sig, true) : 0;

        if (sig == SIGKILL) {
                /* The tree first and the leader last, so that nobody is
                 * reparented while the /proc walk follows parent links.
                 * cgroup.kill does not say whom it reached. */
                w->tree_multi = true;
                if (w->cg)
                        (void) sv__cg_kill(w->cg);
                else
                        signal_tree_procwalk(w, SIGKILL);
                return leader ? sv__plat_kill(w->pid, w->pidfd, SIGKILL) : 0;
        }
        if (leader) {
                r = sv__plat_kill(w->pid, w->pidfd, sig);
                if (sig != SIGCONT)
                        (void) sv__plat_kill(w->pid, w->pidfd, SIGCONT);
        }
        if (w->cg) {
                signal_cgroup(w, sig);
        } else {
                signal_tree_procwalk(w, sig);
        }
        return r;
}

/* Looks at our own children that are not live workers (nor the guardian):
 * orphans adopted as subreaper. Zombies among them are reaped on the spot.
 * Returns 1 if one of them is still alive and carries `w`'s marker, or is
 * dying (its environment already unreadable): the tree is not over until
 * such a process has been reaped. */
static int adopted_pending(sv_worker *w) {
        return sv__orphans_reap(w->sv, w->marker) > 0;
}

/* 1 if any process of the tree but the reaped leader is left, or has died
 * but is not yet reaped. Called at every exit, so it must be cheap: one
 * pread with a cgroup; without one, a group probe; then a look at our own
 * children. Never a scan of /proc. */
static int tree_alive(sv_worker *w) {
        int r;

        /* The kernel lets a namespace's init be reaped only once every
         * other member is gone. */
        if (w->sv->mech == SV_MECH_PIDNS)
                return 0;
        if (w->cg) {
                /* An error (EMFILE at the limit) counts as alive: the tree
                 * is looked at again. But a cgroup that is gone (someone
                 * removed it, which rmdir allows only when it is empty)
                 * holds nobody, and looking again would spin forever. */
                r = sv__cg_populated(w->cg);
                if (r != 0 && r != UV_ENOENT)
                        return 1;
                /* The cgroup holds escapees while they live; an adopted one
                 * that died may still wait to be reaped, and on_exit must
                 * not run before. That takes a look at all our children,
                 * so only trees known (or not known not) to be more than
                 * their leader pay for it: a mass stop of thousands of
                 * single-process workers would read the whole children
                 * list at every exit. */
                if (!w->tree_multi && !w->leaked)
                        return 0;
                return adopted_pending(w);
        }
        /* Reap adopted zombies first: they would keep the group probe
         * answering yes. */
        if (adopted_pending(w))
                return 1;
        return sv__proc_group_alive(w->pid);
}

static void collect_leaks(sv_worker *w) {
        pid_t *pids = NULL;
        sv_proc *procs = NULL;
        int n, i;

        if (w->cg) {
                n = sv__cg_pids(w->cg, &pids);
        } else {
                n = sv__proc_tree(0, w->pid, w->marker, &procs);
                if (n > 0) {
                        pids = malloc((size_t) n * sizeof(*pids));
                        for (i = 0; pids && i < n; i++)
                                pids[i] = procs[i].pid;
                }
                free(procs);
        }
        if (n <= 0 || !pids) {
                free(pids);
                return;
        }
        w->leaked = (unsigned) n;
        w->leak_list = calloc((size_t) (n < SV_LEAKS_MAX ? n : SV_LEAKS_MAX), sizeof(sv_leak));
        for (i = 0; w->leak_list && i < n && i < SV_LEAKS_MAX; i++) {
                w->leak_list[i].pid = pids[i];
                if (sv__proc_cmdline(pids[i], w->leak_list[i].cmdline,
                                     sizeof(w->leak_list[i].cmdline)) <= 0)
                        strcpy(w->leak_list[i].cmdline, "?");
        }
        free(pids);
}

/* ---- Lifecycle events ---- */

/* Fills what every event carries and calls the caller's callback. Costs
 * nothing (not even a clock read) for a worker without one. */
static void emit(sv_worker *w, sv_event *ev) {
        if (!w->on_event)
                return;
        ev->pid = w->pid;
        ev->at_us = sv__plat_now_us() - w->start_us;
        w->on_event(w, ev, w->userdata);
}

static const char *reason_of(const sv_worker *w) {
        return w->stop_reason[0] ? w->stop_reason : "stop";
}

/* ---- Actions ---- */

static void arm(sv_worker *w, uint64_t ms);

static void send_step(sv_worker *w) {
        int sig = SIGKILL;
        uint64_t grace = 1000;

        if ((unsigned) w->step < w->ladder.count) {
                sig = w->ladder.steps[w->step].signal;
                grace = w->ladder.steps[w->step].grace_ms;
        }
        w->last_step = w->step;
        w->last_signal = sig;
        sv__log(w->sv, "worker %u pid %d: ladder step %d: %s, grace %llums", w->id, (int) w->pid,
                w->step, sv_signal_name(sig) ? sv_signal_name(sig) : "?",
                (unsigned long long) grace);
        (void) signal_tree(w, sig);
        arm(w, grace);
        if (w->on_event) {
                sv_event ev = { .type = SV_EVENT_STEP };

                ev.step = w->step;
                ev.signal = sig;
                ev.grace_ms = grace;
                ev.cause = w->timed_out ? SV_CAUSE_TIMEOUT : SV_CAUSE_STOPPED;
                ev.reason = reason_of(w);
                emit(w, &ev);
        }
}

/* The first stop's reason is the one reported: a later stop, or the ladder
 * of a timeout, does not rename it. */
static void set_reason(sv_worker *w, const char *why) {
        size_t n;

        if (w->stop_reason[0])
                return;
        n = strlen(why);
        if (n >= sizeof(w->stop_reason))
                n = sizeof(w->stop_reason) - 1;
        memcpy(w->stop_reason, why, n);
        w->stop_reason[n] = '\0';
}

static void begin_stop(sv_worker *w) {
        w->held = false;
        set_state(w, SV_WORKER_STOPPING, reason_of(w));
        w->step = 0;
        send_step(w);
}

/* A timeout ran out: tell the caller before any signal, so that it can look
 * at the tree as it hung; it may hold the ladder back (sv_worker_hold) or
 * start it itself (sv_worker_stop_with) from the callback. */
static void time_out(sv_worker *w, bool idle) {
        sv_event ev = { .type = SV_EVENT_TIMEOUT };

        w->timed_out = true;
        w->idle_timed_out = idle;
        set_reason(w, idle ? "idle" : "timeout");
        ev.timeout_ms = idle ? w->idle_timeout_ms : w->timeout_ms;
        ev.idle = idle;
        w->in_timeout_cb = true;
        emit(w, &ev);
        w->in_timeout_cb = false;
        if (w->state != SV_WORKER_RUNNING)
                return; /* the callback stopped it already */
        if (w->held) {
                sv__log(w->sv, "worker %u pid %d: %s timeout held by the caller", w->id,
                        (int) w->pid, idle ? "idle" : "run");
                return;
        }
        begin_stop(w);
}

static void escalate(sv_worker *w) {
        /* Past the last step there is only SIGKILL, repeated until the tree
         * is gone: a stop always ends. */
        if ((unsigned) w->step < w->ladder.count)
                w->step++;
        send_step(w);
}

static void close_pipes_if_tree_gone(sv_worker *w);
static void finish(sv_worker *w);
static void on_cg_event(uv_fs_event_t *h, const char *file, int events, int status);

static int need_io(sv_worker *w) {
        if (!w->io)
                w->io = malloc(sizeof(*w->io));
        return w->io ? 0 : UV_ENOMEM;
}

/* Only a tree that outlives its leader needs cgroup.events watched; most
 * never do, and pay nothing for it. */
static void watch_cgroup(sv_worker *w) {
        char file[SV_CG_MAX + 32];
        int r;

        if (w->cgev_active || need_io(w) < 0)
                return; /* without the watch, the poll finds the end */
        r = uv_fs_event_init(w->sv->loop, &w->io->cgev);
        if (r < 0)
                return;
        w->io->cgev.data = w;
        w->handles++;
        w->cgev_active = true;
        snprintf(file, sizeof(file), "%s/cgroup.events", w->cg->path);
        r = uv_fs_event_start(&w->io->cgev, on_cg_event, file, 0);
        w->cgev_watching = r == 0;
        if (r < 0)
                sv__log(w->sv, "worker %u: cannot watch '%s': %s", w->id, file, uv_strerror(r));
}

/* How soon to look again at a tree that outlived its leader. */
static uint64_t poll_ms(const sv_worker *w) {
        return w->cgev_watching ? CG_POLL_MS : TREE_POLL_MS;
}

/* Leaks are descendants a worker left when it ended by itself (a stopped
 * tree is killed whole, and is not leaking). The caller hears of them
 * before they are killed, so it can still look at them. */
static void report_leaks(sv_worker *w) {
        sv_event ev = { .type = SV_EVENT_LEAKS };

        if (!w->leaked || w->step >= 0 || w->leaks == SV_LEAKS_IGNORE)
                return;
        ev.leaked = w->leaked;
        ev.leaks = w->leak_list;
        /* A PID namespace's leftovers died with its init. */
        ev.leaks_killed = w->leaks == SV_LEAKS_KILL || w->leaks == SV_LEAKS_FAIL ||
                          w->sv->mech == SV_MECH_PIDNS;
        emit(w, &ev);
}

/* The leader is reaped. Decide what its surviving tree means. */
static void on_leader_gone(sv_worker *w) {
        set_state(w, SV_WORKER_EXITED, "reaped");
        if (!tree_alive(w)) {
                report_leaks(w); /* a pidns worker's, known at reap */
                w->tree_done = w->tree_empty = true;
                finish(w);
                return;
        }
        if (w->cg)
                watch_cgroup(w);
        if (w->step < 0 && w->leaks != SV_LEAKS_IGNORE) {
                collect_leaks(w);
                report_leaks(w);
        }
        if (w->step >= 0 || w->leaks == SV_LEAKS_KILL || w->leaks == SV_LEAKS_FAIL) {
                /* Whatever the ladder says, the tree of an exited leader is
                 * killed outright: there is no one left to be polite to.
                 * Right after our own SIGKILL it is only dying: look again
                 * shortly, and kill again only what is still there then. */
                if (w->last_signal != SIGKILL)
                        (void) signal_tree(w, SIGKILL);
                arm(w, poll_ms(w));
                return;
        }
        w->tree_done = true;
        finish(w);
}

/* The single place that assigns w->state. */
void sv__worker_step(sv_worker *w, sv__event ev) {
        sv__log(w->sv, "worker %u pid %d: event %s in %s", w->id, (int) w->pid, event_name(ev),
                state_name(w->state));
        switch (w->state) {
        case SV_WORKER_RUNNING:
                switch (ev) {
                case SV_EV_STOP:
                        w->stop_by_us = true;
                        set_reason(w, "stop");
                        begin_stop(w);
                        return;
                case SV_EV_TIMEOUT:
                case SV_EV_IDLE:
                        /* A held worker's timeout is spent: one TIMEOUT
                         * event per worker, whichever ran out first. */
                        if (!w->timed_out)
                                time_out(w, ev == SV_EV_IDLE);
                        return;
                case SV_EV_REAPED:
                        on_leader_gone(w);
                        return;
                default:
                        break;
                }
                break;
        case SV_WORKER_STOPPING:
                switch (ev) {
                case SV_EV_STOP:
                case SV_EV_TIMEOUT:
                case SV_EV_IDLE:
                        return; /* already on the ladder */
                case SV_EV_GRACE_EXPIRED:
                        escalate(w);
                        return;
                case SV_EV_REAPED:
                        on_leader_gone(w);
                        return;
                default:
                        break;
                }
                break;
        case SV_WORKER_EXITED:
                switch (ev) {
                case SV_EV_STOP:
                case SV_EV_TIMEOUT:
                case SV_EV_IDLE:
                        return;
                case SV_EV_GRACE_EXPIRED:
                        /* Polling a dying tree: kill again what is left. */
                        if (tree_alive(w)) {
                                (void) signal_tree(w, SIGKILL);
                                arm(w, poll_ms(w));
                                return;
                        }
                        /* fall through */
                case SV_EV_TREE_EMPTY:
                        if (!w->tree_done && !tree_alive(w)) {
                                w->tree_done = w->tree_empty = true;
                                finish(w);
                        }
                        return;
                default:
                        break;
                }
                break;
        default:
                break;
        }
        sv__log(w->sv, "worker %u: can't happen: event %s in state %s", w->id, event_name(ev),
                state_name(w->state));
}

/* ---- Finishing ---- */

/* Up to this many freed workers are kept for the next spawns: a worker is
 * big (its handles), and malloc/free of it was a tenth of a spawn's cost. */
#define SPARE_MAX 64

static void free_worker(sv_worker *w) {
        sv_supervisor *sv = w->sv;

        sv->closing--;
        free(w->leak_list);
        w->leak_list = NULL;
        if (sv->in_batch) {
                w->next = sv->grave;
                sv->grave = w;
                return;
        }
        sv__worker_bury(w);
}

void sv__worker_bury(sv_worker *w) {
        sv_supervisor *sv = w->sv;

        if (sv->nspare < SPARE_MAX) {
                w->next = sv->spare;
                sv->spare = w;
                sv->nspare++;
                return;
        }
        free(w->io);
        free(w);
}

static sv_worker *alloc_worker(sv_supervisor *sv) {
        sv_worker *w = sv->spare;

        if (w) {
                sv->spare = w->next;
                sv->nspare--;
                return w;
        }
        w = malloc(sizeof(*w));
        if (w)
                w->io = NULL;
        return w;
}

/* A pipe may close at EOF long before the exit: only a finished worker
 * with no handle left is freed. */
static void on_handle_closed(uv_handle_t *h) {
        sv_worker *w = h->data;

        if (--w->handles == 0 && w->finished)
                free_worker(w);
}

static void close_handle(uv_handle_t *h) {
        if (!uv_is_closing(h))
                uv_close(h, on_handle_closed);
}

static void close_pipes_if_tree_gone(sv_worker *w) {
        int i;

        for (i = 0; i < 2; i++) {
                if (w->pipe_open[i]) {
                        w->pipe_open[i] = false;
                        close_handle((uv_handle_t *) &w->io->pipe[i]);
                }
        }
}

static void fill_info(sv_worker *w, sv_exit_info *info) {
        const sv__reaped *r = &w->reaped;

        memset(info, 0, sizeof(*info));
        info->pid = w->pid;
        info->exited = r->exited;
        info->code = r->exited ? r->code : -r->code;
        info->signal = r->exited ? 0 : r->code;
        info->core_dumped = r->core_dumped;
        if (w->timed_out)
                info->cause = SV_CAUSE_TIMEOUT;
        else if (w->stop_by_us)
                info->cause = SV_CAUSE_STOPPED;
        else if (!r->exited && r->code > 0 && r->code < 64 &&
                 (w->sent_sigs & (UINT64_C(1) << r->code)))
                info->cause = SV_CAUSE_STOPPED; /* our sv_worker_kill() */
        else if (!r->exited)
                info->cause = SV_CAUSE_SIGNALED;
        else
                info->cause = SV_CAUSE_EXITED;
        info->wall_us = w->end_us - w->start_us;
        info->user_us = r->user_us;
        info->sys_us = r->sys_us;
        info->max_rss_kb = r->max_rss_kb;
        info->stop_step = w->last_step;
        info->timeout_ms = w->idle_timed_out ? w->idle_timeout_ms : w->timed_out ? w->timeout_ms : 0;
        info->idle = w->idle_timed_out;
        info->mechanism = w->sv->mech;
        info->step_signal = w->last_step >= 0 ? w->last_signal : 0;
        info->leaked = w->leaked;
        info->leaks = w->leak_list;
        info->reason = w->stop_reason[0] ? w->stop_reason : NULL;
}

static bool pipes_open(const sv_worker *w) {
        return w->pipe_open[0] || w->pipe_open[1];
}

/* Runs on_exit once the leader is reaped, the tree is gone, and (if the
 * tree is gone) the output pipes have reached EOF, so the callback sees all
 * of the output before the exit. */
static void finish(sv_worker *w) {
        sv_supervisor *sv = w->sv;
        sv_exit_info info;

        if (w->finished || !w->reaped_ok || !w->tree_done)
                return;
        if (pipes_open(w) && w->tree_empty)
                return; /* the last EOF calls us again */
        w->finished = true;
        if (w->timer_active)
                uv_timer_stop(&w->timer);
        if (w->idle_active) {
                w->idle_active = false;
                close_handle((uv_handle_t *) &w->io->idle);
        }
        if (w->cgev_active) {
                w->cgev_active = false;
                close_handle((uv_handle_t *) &w->io->cgev);
        }
        if (w->cg) {
                /* Empty or not (leaks left running), it is no longer ours to
                 * reuse unless empty. */
                if (!w->tree_empty) {
                        sv__cg_retire(sv, w->cg);
                } else if (w->cg->killed) {
                        /* A new process born into a cgroup soon after its
                         * cgroup.kill was killed too (seen on 6.18): such
                         * a cgroup is removed, never reused. */
                        (void) sv__cg_destroy(w->cg);
                        free(w->cg);
                } else {
                        sv__cg_put(sv, w->cg);
                }
                w->cg = NULL;
        }
        /* Adopted descendants we just killed are our zombies now: reap
         * them before on_exit says the tree is gone. A worker whose cgroup
         * held only its leader has none, and takes part in one sweep for all
         * the exits of this loop iteration instead: a sweep per exit read
         * our whole children list n times when n workers stopped at once. */
        if (w->leaked || w->tree_multi || sv->mech != SV_MECH_CGROUP)
                sv__reap_sweep(sv);
        else if (w->step >= 0)
                sv__reap_sweep_soon(sv);
        if (!w->tree_empty)
                sv__note_left_running(w);

        if (w->prev)
                w->prev->next = w->next;
        else
                sv->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                sv->tail = w->prev;
        sv->live--;
        sv->closing++;

        fill_info(w, &info);
        /* No other worker's exit may be dispatched from in here (reap.c
         * asserts it): its on_exit would run inside this one's. */
        sv->in_finish++;
        if (w->on_event) {
                sv_event ev = { .type = SV_EVENT_EXIT };

                ev.exit = &info;
                emit(w, &ev);
        }
        if (w->on_exit)
                w->on_exit(w, &info, w->userdata);
        sv->in_finish--;
        sv__worker_close(w);
}

/* Closes what is left of the worker's handles; it is freed by the last
 * close callback, or here if it never had one. */
void sv__worker_close(sv_worker *w) {
        close_pipes_if_tree_gone(w);
        if (w->cgev_active) {
                w->cgev_active = false;
                close_handle((uv_handle_t *) &w->io->cgev);
        }
        if (w->timer_active) {
                w->timer_active = false;
                close_handle((uv_handle_t *) &w->timer);
        }
        if (w->handles == 0)
                free_worker(w);
}

static void close_timeout(sv_worker *w) {
        sv__reap_cancel_timeout(w->sv, w);
}

void sv__worker_timeout_fired(sv_worker *w) {
        close_timeout(w);
        if (w->state == SV_WORKER_RUNNING)
                sv__worker_step(w, SV_EV_TIMEOUT);
}

/* What the init of a pidns worker says of the worker's own end replaces the
 * init's; what the worker left behind has died with the namespace and is
 * reported as leaked. */
static void take_pidns_end(sv_worker *w) {
        sv_leak left[SV_LEAKS_MAX];
        size_t keep;
        int n;

        n = sv__plat_pidns_end(w->nsfd, &w->reaped, left, SV_LEAKS_MAX);
        w->nsfd = -1;
        if (n <= 0 || w->step >= 0 || w->leaks == SV_LEAKS_IGNORE)
                return;
        keep = (size_t) (n < SV_LEAKS_MAX ? n : SV_LEAKS_MAX);
        w->leak_list = malloc(keep * sizeof(sv_leak));
        if (!w->leak_list)
                return;
        memcpy(w->leak_list, left, keep * sizeof(sv_leak));
        w->leaked = (unsigned) n;
}

void sv__worker_reaped(sv_worker *w, const sv__reaped *r) {
        w->reaped = *r;
        w->reaped_ok = true;
        if (w->nsfd >= 0)
                take_pidns_end(w);
        w->end_us = sv__plat_now_us();
        if (--w->sv->unreaped == 0)
                uv_unref(sv__reap_handle(w->sv));
        sv__pidmap_del(&w->sv->bypid, w->pid);
        if (w->timer_active)
                uv_timer_stop(&w->timer);
        close_timeout(w);
        /* Closing the pidfd also takes it out of the epoll set. */
        if (w->pidfd >= 0) {
                close(w->pidfd);
                w->pidfd = -1;
        }
        sv__worker_step(w, SV_EV_REAPED);
}

/* ---- libuv callbacks: no policy here ---- */

static void on_timer(uv_timer_t *t) {
        sv_worker *w = t->data;
        uint64_t now;

        if (w->state == SV_WORKER_RUNNING) {
                /* libuv's clock counts whole milliseconds, so its timer can
                 * fire up to one early; a timeout never does. */
                now = sv__plat_now_us();
                if (now < w->start_us + w->timeout_ms * 1000u) {
                        arm(w, (w->start_us + w->timeout_ms * 1000u - now + 999u) / 1000u);
                        return;
                }
                sv__worker_step(w, SV_EV_TIMEOUT);
        } else {
                sv__worker_step(w, SV_EV_GRACE_EXPIRED);
        }
}

static void on_idle(uv_timer_t *t) {
        sv_worker *w = t->data;

        uv_timer_stop(t);
        sv__worker_step(w, SV_EV_IDLE);
}

/* The timer is made on first use: most workers never need one, and a
 * handle per worker costs more than the rest of the spawn's bookkeeping. */
static void arm(sv_worker *w, uint64_t ms) {
        if (!w->timer_active) {
                (void) uv_timer_init(w->sv->loop, &w->timer);
                w->timer.data = w;
                w->handles++;
                w->timer_active = true;
        }
        /* Deadlines count from now, not from when this loop iteration
         * began: a grace period must never come out short. */
        uv_update_time(w->sv->loop);
        uv_timer_start(&w->timer, on_timer, ms, 0);
}

static void on_cg_event(uv_fs_event_t *h, const char *file, int events, int status) {
        sv_worker *w = h->data;

        (void) file;
        (void) events;
        if (status == 0 && w->state == SV_WORKER_EXITED && !w->tree_done)
                sv__worker_step(w, SV_EV_TREE_EMPTY);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        sv_worker *w = h->data;

        (void) suggested;
        *buf = uv_buf_init(w->sv->readbuf, sizeof(w->sv->readbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        sv_worker *w = s->data;
        int i = (uv_pipe_t *) s == &w->io->pipe[0] ? 0 : 1;

        if (n > 0) {
                /* uv_timer_again restarts a stopped timer too: a held
                 * worker's spent idle timeout must stay stopped. */
                if (w->idle_active && w->state == SV_WORKER_RUNNING && !w->timed_out)
                        uv_timer_again(&w->io->idle);
                if (w->on_output)
                        w->on_output(w, i + 1, buf->base, (size_t) n, w->userdata);
                return;
        }
        if (n == 0)
                return;
        /* EOF or error: the stream is done. */
        if (w->on_output)
                w->on_output(w, i + 1, buf->base, 0, w->userdata);
        w->pipe_open[i] = false;
        close_handle((uv_handle_t *) &w->io->pipe[i]);
        finish(w);
}

/* ---- Spawning: prepare, launch, publish ---- */

typedef struct spawn_prep {
        const char **envp;
        const char *path;
        int pipes[2][2];
} spawn_prep;

static void prep_release(spawn_prep *p) {
        int i, j;

        for (i = 0; i < 2; i++)
                for (j = 0; j < 2; j++)
                        if (p->pipes[i][j] >= 0)
                                close(p->pipes[i][j]);
}

/* Copies the environment (ours or the caller's) and appends the marker the
 * /proc fallback and the guardian follow through setsid and double forks.
 * An inherited SUPERVISE_TREE (we run under another supervise) stays: the
 * outer one owns this tree too, and markers are matched anywhere in the
 * environment. This runs for every spawn, so it only copies pointers. */
static int prep_env(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p) {
        sv_supervisor *sv = w->sv;
        const char *const *src = o->env ? o->env : (const char *const *) environ;
        const char **nv;
        size_t n = 0, i;

        /* Counting our own environment at every spawn is most of this
         * function's cost; it changes only if the program calls setenv,
         * which moves or lengthens the array. */
        if (!o->env && environ == sv->env_seen && sv->env_count > 0 &&
            environ[sv->env_count - 1] && !environ[sv->env_count]) {
                n = sv->env_count;
        } else {
                while (src[n])
                        n++;
                if (!o->env) {
                        sv->env_seen = environ;
                        sv->env_count = n;
                }
        }
        /* The child execs before sv__plat_spawn returns: one buffer for
         * every spawn will do. */
        if (n + 2 > sv->envcap) {
                nv = realloc(sv->envbuf, (n + 16) * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                sv->envbuf = nv;
                sv->envcap = n + 16;
        }
        p->envp = sv->envbuf;
        memcpy(p->envp, src, n * sizeof(*p->envp));
        p->envp[n] = w->marker;
        p->envp[n + 1] = NULL;
        /* The child searches the PATH of its own environment, as execvp. */
        if (!strchr(o->argv[0], '/')) {
                for (i = 0; i < n; i++) {
                        if (strncmp(src[i], "PATH=", 5) == 0) {
                                p->path = src[i] + 5;
                                break;
                        }
                }
        }
        return 0;
}

/* "SUPERVISE_TREE=<our token>.<id>" without snprintf, which costs more than
 * the rest of the spawn's bookkeeping. */
static void make_marker(sv_worker *w) {
        const sv_supervisor *sv = w->sv;
        char digits[16];
        unsigned id = w->id;
        size_t n = 0, k = sv->marker_len;

        memcpy(w->marker, sv->marker_prefix, k);
        do {
                digits[n++] = (char) ('0' + id % 10);
                id /= 10;
        } while (id);
        while (n)
                w->marker[k++] = digits[--n];
        w->marker[k] = '\0';
}

static int prep_stdio(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p, sv__spawn_req *req) {
        int i;

        for (i = 0; i < 3; i++) {
                req->stdio_fd[i] = -1;
                switch (o->stdio[i]) {
                case SV_STDIO_INHERIT:
                        break;
                case SV_STDIO_NULL:
                        req->stdio_fd[i] = w->sv->devnull;
                        break;
                case SV_STDIO_PIPE:
                        if (i == 0)
                                return UV_EINVAL; /* we never write to workers */
                        if (need_io(w) < 0)
                                return UV_ENOMEM;
                        if (pipe2(p->pipes[i - 1], O_CLOEXEC) < 0)
                                return -errno;
                        req->stdio_fd[i] = p->pipes[i - 1][1];
                        break;
                default:
                        return UV_EINVAL;
                }
        }
        return 0;
}

static int publish_pipes(sv_worker *w, spawn_prep *p) {
        uv_loop_t *loop = w->sv->loop;
        int i, r;

        for (i = 0; i < 2; i++) {
                if (p->pipes[i][0] < 0)
                        continue;
                close(p->pipes[i][1]);
                p->pipes[i][1] = -1;
                r = uv_pipe_init(loop, &w->io->pipe[i], 0);
                if (r < 0)
                        return r;
                w->io->pipe[i].data = w;
                w->handles++;
                w->pipe_open[i] = true;
                r = uv_pipe_open(&w->io->pipe[i], p->pipes[i][0]);
                if (r < 0)
                        return r;
                p->pipes[i][0] = -1;
                r = uv_read_start((uv_stream_t *) &w->io->pipe[i], on_alloc, on_read);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A child we cannot watch would never have its exit reported: end it
 * (and anything it started already) and reap it before failing. */
static void abandon_child(sv_worker *w, const sv__spawn_res *res) {
        if (w->cg)
                (void) sv__cg_kill(w->cg);
        (void) sv__plat_kill(res->pid, res->pidfd, SIGKILL);
        if (res->pidfd >= 0)
                close(res->pidfd);
        if (res->nsfd >= 0)
                close(res->nsfd);
        (void) sv__plat_reap_wait(&res->pid, 1, 5000);
}

/* The one step after the spawn that may fail: the pidfd joins the wait
 * set. The pid map has room already (sv__pidmap_reserve). */
static int watch(sv_worker *w, const sv__spawn_res *res) {
        int r;

        w->pid = res->pid;
        w->pidfd = res->pidfd;
        w->nsfd = res->nsfd;
        if (w->pidfd < 0)
                return 0;
        r = sv__reap_watch(w->sv, w);
        if (r < 0) {
                sv__log(w->sv, "worker %u: cannot watch its pidfd: %s", w->id, uv_strerror(r));
                abandon_child(w, res);
                w->pid = 0;
                w->pidfd = -1;
                w->nsfd = -1;
        }
        return r;
}

static void publish(sv_worker *w, spawn_prep *p) {
        sv_supervisor *sv = w->sv;
        int r;

        if (sv->tail) {
                sv->tail->next = w;
                w->prev = sv->tail;
        } else {
                sv->head = w;
        }
        sv->tail = w;
        sv->live++;
        /* Without pidfds only the SIGCHLD watcher can tell us of an exit:
         * it must keep the loop alive while a leader is unreaped. */
        if (sv->unreaped++ == 0)
                uv_ref(sv__reap_handle(sv));
        (void) sv__pidmap_put(&sv->bypid, w); /* reserved: cannot fail */

        /* From here on, failures only cost features, never the exit. */
        r = publish_pipes(w, p);
        if (r < 0)
                sv__log(sv, "worker %u: cannot read its output: %s", w->id, uv_strerror(r));
        if (w->idle_timeout_ms && (w->pipe_open[0] || w->pipe_open[1]) &&
            uv_timer_init(sv->loop, &w->io->idle) == 0) {
                w->io->idle.data = w;
                w->handles++;
                w->idle_active = true;
                uv_update_time(sv->loop);
                uv_timer_start(&w->io->idle, on_idle, w->idle_timeout_ms, w->idle_timeout_ms);
        }
        if (w->timeout_ms && (!sv->pidfds || sv__reap_watch_timeout(sv, w) < 0)) {
                /* Without our epoll set, a libuv timer; the loop's clock may
                 * be stale if we were called outside a callback. */
                uv_update_time(sv->loop);
                arm(w, w->timeout_ms);
        }
        sv__log(sv, "worker %u pid %d: spawned '%s'", w->id, (int) w->pid, "");
        if (w->on_event) {
                sv_event ev = { .type = SV_EVENT_SPAWN };

                emit(w, &ev);
        }
}

int sv_spawn(sv_supervisor *sv, const sv_spawn_opts *o, sv_worker **out) {
        sv__spawn_req req;
        sv__spawn_res res;
        spawn_prep p;
        sv_worker *w;
        int r;

        if (!sv || !o || !o->argv || !o->argv[0] || !o->argv[0][0])
                return UV_EINVAL;
        w = alloc_worker(sv);
        if (!w)
                return UV_ENOMEM;
        memset(w, 0, offsetof(sv_worker, timer));
        w->sv = sv;
        w->id = sv->next_id++;
        w->pidfd = -1;
        w->nsfd = -1;
        w->step = -1;
        w->last_step = -1;
        w->ladder = o->ladder ? *o->ladder : sv->ladder;
        /* A timeout past 2^44 ms (557 years) never fires: count it as none,
         * so start_us + timeout_ms * 1000 stays inside 64 bits (inf is
         * SV_DURATION_INF = UINT64_MAX). */
        w->timeout_ms = o->timeout_ms >> 44 ? 0 : o->timeout_ms;
        w->idle_timeout_ms = o->idle_timeout_ms;
        w->leaks = o->leaks;
        w->on_exit = o->on_exit;
        w->on_output = o->on_output;
        w->on_event = o->on_event;
        w->userdata = o->userdata;
        make_marker(w);

        memset(&p, 0, sizeof(p));
        memset(&req, 0, sizeof(req));
        p.pipes[0][0] = p.pipes[0][1] = p.pipes[1][0] = p.pipes[1][1] = -1;
        r = prep_env(w, o, &p);
        if (r < 0)
                goto fail;
        r = prep_stdio(w, o, &p, &req);
        if (r < 0)
                goto fail;
        r = sv__pidmap_reserve(&sv->bypid);
        if (r < 0)
                goto fail;
        if (sv->mech == SV_MECH_CGROUP) {
                r = sv__cg_get(sv, &w->cg);
                if (r < 0)
                        goto fail;
        }
        req.argv = o->argv;
        req.envp = p.envp;
        req.path = p.path;
        req.cwd = o->cwd;
        req.cgroup = w->cg ? w->cg->path : NULL;
        req.want_pidfd = sv->pidfds;
        req.pidns = sv->mech == SV_MECH_PIDNS;
        res.nsfd = -1;

        /* Wall time and the deadline count from here, as GNU timeout's do
         * from its fork: the exec is part of the job's time. */
        w->start_us = sv__plat_now_us();
        /* The guardian must exist before the first worker can start anything
         * that would outlive us. It is started here rather than with the
         * supervisor, so that a timed run's clock (which starts above) pays
         * for its fork instead of our start-up. */
        if (!sv->guardian.pid && !(sv->flags & SV_SUPERVISOR_NO_GUARDIAN))
                sv__guard_start(sv);
        r = sv__plat_spawn(&req, &res);
        if (r < 0)
                goto fail_cg;
        r = watch(w, &res);
        if (r < 0)
                goto fail_cg;

        set_state(w, SV_WORKER_RUNNING, "spawned");
        publish(w, &p);

        prep_release(&p);
        if (out)
                *out = w;
        return 0;

fail_cg:
        if (w->cg && w->cg->killed) {
                (void) sv__cg_destroy(w->cg);
                free(w->cg);
        } else if (w->cg) {
                sv__cg_put(sv, w->cg);
        }
fail:
        prep_release(&p);
        free(w->io);
        free(w);
        /* Keep ids dense: a failed spawn never became a worker. */
        sv->next_id--;
        return r;
}

/* ---- Public worker API ---- */

static void note_sent(sv_worker *w, int sig) {
        if (sig > 0 && sig < 64)
                w->sent_sigs |= UINT64_C(1) << sig;
}

int sv_worker_kill(sv_worker *w, int sig) {
        if (w->state == SV_WORKER_EXITED)
                return UV_ESRCH;
        note_sent(w, sig);
        if (w->sv->mech == SV_MECH_PIDNS)
                return sv__plat_pidns_signal(w->pid, w->pidfd, sig, false);
        return sv__plat_kill(w->pid, w->pidfd, sig);
}

int sv_worker_kill_tree(sv_worker *w, int sig) {
        if (w->state == SV_WORKER_EXITED)
                return UV_ESRCH;
        note_sent(w, sig);
        return signal_tree(w, sig);
}

int sv_worker_stop(sv_worker *w) {
        return sv_worker_stop_with(w, NULL);
}

int sv_worker_stop_signal(sv_worker *w, int sig) {
        sv_stop_opts o = { sig, SV_CAUSE_STOPPED, sig > 0 ? "signal" : "stop" };

        return sv_worker_stop_with(w, &o);
}

/* Only a worker not yet stopping takes the options: the first stop's
 * signal, cause and reason are the ones its ladder and its exit carry. A
 * caller's SV_CAUSE_TIMEOUT is a timeout of the caller's own (a deadline it
 * keeps), so the exit says timeout however the worker then ends. */
int sv_worker_stop_with(sv_worker *w, const sv_stop_opts *o) {
        sv_cause cause = o && o->cause ? o->cause : SV_CAUSE_STOPPED;

        if (cause != SV_CAUSE_STOPPED && cause != SV_CAUSE_TIMEOUT)
                return UV_EINVAL;
        if (w->state == SV_WORKER_EXITED)
                return UV_ESRCH;
        if (w->state == SV_WORKER_RUNNING) {
                if (o && o->signal > 0 && w->ladder.count > 0)
                        w->ladder.steps[0].signal = o->signal;
                if (cause == SV_CAUSE_TIMEOUT)
                        w->timed_out = true;
                set_reason(w, o && o->reason ? o->reason : "stop");
        }
        sv__worker_step(w, SV_EV_STOP);
        return 0;
}

int sv_worker_hold(sv_worker *w) {
        if (!w->in_timeout_cb)
                return UV_EINVAL;
        w->held = true;
        return 0;
}

unsigned sv_worker_id(const sv_worker *w) {
        return w->id;
}

pid_t sv_worker_pid(const sv_worker *w) {
        return w->pid;
}

pid_t sv_worker_pgid(const sv_worker *w) {
        return w->pid; /* every worker leads its own group */
}

sv_worker_state sv_worker_state_of(const sv_worker *w) {
        return w->state;
}

void *sv_worker_userdata(const sv_worker *w) {
        return w->userdata;
}

/* With a cgroup, the tree is its members: one read of cgroup.procs and one
 * stat per member, where the /proc walk reads every process on the machine
 * (2,000 hung jobs diagnosed at once took minutes: O(n^2) reads). */
static int cg_descendants(const sv_worker *w, sv_proc **out) {
        pid_t *pids = NULL;
        sv_proc *procs;
        int n, i, k = 0;

        n = sv__cg_pids(w->cg, &pids);
        if (n <= 0) {
                free(pids);
                if (n == 0)
                        *out = NULL;
                return n;
        }
        procs = malloc((size_t) n * sizeof(*procs));
        if (!procs) {
                free(pids);
                return UV_ENOMEM;
        }
        for (i = 0; i < n; i++)
                if (pids[i] != w->pid && sv__proc_stat(pids[i], &procs[k]) == 0 &&
                    procs[k].state != 'Z')
                        k++;
        free(pids);
        if (k == 0) {
                free(procs);
                procs = NULL;
        }
        *out = procs;
        return k;
}

int sv_worker_descendants(const sv_worker *w, sv_proc **out) {
        if (w->cg)
                return cg_descendants(w, out);
        return sv__proc_tree(w->state == SV_WORKER_EXITED ? 0 : w->pid, w->pid, w->marker, out);
}
