/* worker.c - lifecycle of one supervised process and its tree: the state
 * machine.
 *
 * One function, sv__worker_step(), assigns w->state; the actions it calls
 * walk the stop ladder, time out, deal with what the leader's exit leaves,
 * send the lifecycle events, and finish (on_exit). The rest of a worker's
 * life is elsewhere: spawn.c starts it, tree.c signals and watches its
 * tree, wio.c owns its libuv handles and memory. Never blocks, never calls
 * waitpid(-1). */
#include <assert.h>
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

static const char *const state_names[] = { "running",       "held",           "stopping",
                                           "tree-draining", "pipes-draining", "closing" };
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == SV__W_STATE_COUNT,
               "state_names must match sv__wstate");

static const char *const event_names[] = { "stop",      "timeout",    "idle",    "grace-expired",
                                           "reaped",    "tree-poll",  "tree-empty", "pipe-eof" };
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == SV_EV_COUNT,
               "event_names must match sv__event");

/* The names are looked up through these because the "can't happen" branch of
 * sv__worker_step logs exactly the values the tables don't cover: a state or
 * event out of range must print as such, not read past the array. */
static const char *state_name(sv__wstate s) {
        return (unsigned) s < SV__W_STATE_COUNT ? state_names[s] : "(invalid state)";
}

static const char *event_name(sv__event ev) {
        return (unsigned) ev < SV_EV_COUNT ? event_names[ev] : "(invalid event)";
}

void sv__log_(sv_supervisor *sv, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sv->log(buf, sv->log_userdata);
}

/* What callers see of each state (sv_worker_state_of): a held worker runs
 * on, and a reaped one is over whatever is still draining. */
static const sv_worker_state public_state[] = {
        SV_WORKER_RUNNING, SV_WORKER_RUNNING, SV_WORKER_STOPPING,
        SV_WORKER_EXITED,  SV_WORKER_EXITED,  SV_WORKER_EXITED,
};
_Static_assert(sizeof(public_state) / sizeof(public_state[0]) == SV__W_STATE_COUNT,
               "public_state must match sv__wstate");

/* Called only by the actions of sv__worker_step's table. w->state is the
 * public view of w->ws, kept beside it for the files that only ask
 * "reaped yet?". */
static void set_state(sv_worker *w, sv__wstate s, const char *why) {
        if (w->ws != s)
                sv__log(w->sv, "worker %u pid %d: %s -> %s (%s)", w->id, (int) w->pid,
                        state_name(w->ws), state_name(s), why);
        w->ws = s;
        w->state = public_state[s];
}

sv_worker *sv__worker_by_pid(sv_supervisor *sv, pid_t pid) {
        return sv__pidmap_get(&sv->bypid, pid);
}

/* ---- Lifecycle events ---- */

/* Fills what every event carries and calls the caller's callback. Costs
 * nothing (not even a clock read) for a worker without one. */
void sv__worker_emit(sv_worker *w, sv_event *ev) {
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
        (void) sv__tree_signal(w, sig);
        sv__worker_arm(w, grace);
        if (w->on_event) {
                sv_event ev = { .type = SV_EVENT_STEP };

                ev.step = w->step;
                ev.signal = sig;
                ev.grace_ms = grace;
                ev.cause = w->cause == SV_CAUSE_TIMEOUT ? SV_CAUSE_TIMEOUT : SV_CAUSE_STOPPED;
                ev.reason = reason_of(w);
                sv__worker_emit(w, &ev);
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

/* The first stop (or timeout) names the cause; a later one keeps it. */
static void set_cause(sv_worker *w, sv_cause c) {
        if (w->cause == SV_CAUSE_EXITED)
                w->cause = c;
}

static void begin_stop(sv_worker *w) {
        set_state(w, SV__W_STOPPING, reason_of(w));
        w->step = 0;
        send_step(w);
}

/* A timeout ran out: tell the caller before any signal, so that it can look
 * at the tree as it hung; it may hold the ladder back (sv_worker_hold) or
 * start it itself (sv_worker_stop_with) from the callback. */
static void time_out(sv_worker *w, sv__event e) {
        sv_event ev = { .type = SV_EVENT_TIMEOUT };
        bool idle = e == SV_EV_IDLE;

        set_cause(w, SV_CAUSE_TIMEOUT);
        w->idle = idle;
        set_reason(w, idle ? "idle" : "timeout");
        ev.timeout_ms = idle ? w->idle_timeout_ms : w->timeout_ms;
        ev.idle = idle;
        w->in_timeout_cb = true;
        w->hold_asked = false;
        sv__worker_emit(w, &ev);
        w->in_timeout_cb = false;
        if (w->ws != SV__W_RUNNING)
                return; /* the callback stopped it already */
        if (w->hold_asked) {
                set_state(w, SV__W_HELD, idle ? "idle timeout, held" : "timeout, held");
                return;
        }
        begin_stop(w);
}

static void escalate(sv_worker *w, sv__event e) {
        (void) e;
        /* Past the last step there is only SIGKILL, repeated until the tree
         * is gone: a stop always ends. */
        if ((unsigned) w->step < w->ladder.count)
                w->step++;
        send_step(w);
}

static bool pipes_open(const sv_worker *w) {
        return w->pipe_open[0] || w->pipe_open[1];
}

static void finish(sv_worker *w);

/* The tree is dealt with: gone (empty), or left running by the leaks
 * policy. on_exit waits for the output of an empty tree to reach EOF, so
 * the callback sees all of it; a tree left running may hold the pipes
 * open for ever, and is not waited for. */
static void tree_done(sv_worker *w, bool empty) {
        w->left_running = !empty;
        if (empty && pipes_open(w)) {
                set_state(w, SV__W_PIPES_DRAINING, "tree gone");
                return;
        }
        finish(w);
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
        sv__worker_emit(w, &ev);
}

/* The leader is reaped. Decide what its surviving tree means. */
static void leader_gone(sv_worker *w, sv__event e) {
        (void) e;
        set_state(w, SV__W_TREE_DRAINING, "reaped");
        if (!sv__tree_alive(w)) {
                report_leaks(w); /* a pidns worker's, known at reap */
                tree_done(w, true);
                return;
        }
        if (w->cg)
                sv__tree_watch(w);
        if (w->step < 0 && w->leaks != SV_LEAKS_IGNORE) {
                sv__tree_collect_leaks(w);
                report_leaks(w);
        }
        if (w->step >= 0 || w->leaks == SV_LEAKS_KILL || w->leaks == SV_LEAKS_FAIL) {
                /* Whatever the ladder says, the tree of an exited leader is
                 * killed outright: there is no one left to be polite to.
                 * Right after our own SIGKILL it is only dying: look again
                 * shortly, and kill again only what is still there then. */
                if (w->last_signal != SIGKILL)
                        (void) sv__tree_signal(w, SIGKILL);
                sv__worker_arm(w, sv__tree_poll_ms(w));
                return;
        }
        tree_done(w, false);
}

/* ---- The table ---- */

/* A worker not yet stopping: the first stop names cause and reason. */
static void stop(sv_worker *w, sv__event e) {
        (void) e;
        set_cause(w, SV_CAUSE_STOPPED);
        set_reason(w, "stop");
        begin_stop(w);
}

/* A held worker's timeout is spent: one TIMEOUT event per worker,
 * whichever of the two ran out first. */
static void already_timed_out(sv_worker *w, sv__event e) {
        (void) w;
        (void) e;
}

static void already_stopping(sv_worker *w, sv__event e) {
        (void) w;
        (void) e;
}

/* Reaped: stops and timeouts have nothing left to act on, and a late
 * timer, cgroup event or EOF nothing left to change. */
static void after_exit(sv_worker *w, sv__event e) {
        (void) w;
        (void) e;
}

/* Polling a tree that outlived its leader: kill again what is left. */
static void poll_tree(sv_worker *w, sv__event e) {
        (void) e;
        if (sv__tree_alive(w)) {
                (void) sv__tree_signal(w, SIGKILL);
                sv__worker_arm(w, sv__tree_poll_ms(w));
                return;
        }
        tree_done(w, true);
}

/* cgroup.events changed: it may be empty now. */
static void tree_check(sv_worker *w, sv__event e) {
        (void) e;
        if (!sv__tree_alive(w))
                tree_done(w, true);
}

/* A pipe reached EOF before the exit (wio.c has closed it already). */
static void note_eof(sv_worker *w, sv__event e) {
        (void) w;
        (void) e;
}

static void last_eof(sv_worker *w, sv__event e) {
        (void) e;
        if (!pipes_open(w))
                finish(w);
}

static void cant_happen(sv_worker *w, sv__event e) {
        sv__log(w->sv, "worker %u: can't happen: event %s in state %s", w->id, event_name(e),
                state_name(w->ws));
        assert(!"can't happen: event in this state");
}

typedef struct cell {
        void (*fn)(sv_worker *w, sv__event e);
        const char *name;
} cell;

#define C(f) { f, #f }
#define NO C(cant_happen)
#define GONE C(after_exit)

/* Every (state, event) pair, by name. Rows: the state; columns: STOP,
 * TIMEOUT, IDLE, GRACE_EXPIRED, REAPED, TREE_POLL, TREE_EMPTY, PIPE_EOF.
 * In TREE_DRAINING a grace timer left from the ladder is a poll like any. */
static const cell table[SV__W_STATE_COUNT][SV_EV_COUNT] = {
        [SV__W_RUNNING] = { C(stop), C(time_out), C(time_out), NO, C(leader_gone), NO, NO,
                            C(note_eof) },
        [SV__W_HELD] = { C(stop), C(already_timed_out), C(already_timed_out), NO, C(leader_gone),
                         NO, NO, C(note_eof) },
        [SV__W_STOPPING] = { C(already_stopping), C(already_stopping), C(already_stopping),
                             C(escalate), C(leader_gone), NO, NO, C(note_eof) },
        [SV__W_TREE_DRAINING] = { GONE, GONE, GONE, C(poll_tree), NO, C(poll_tree), C(tree_check),
                                  C(note_eof) },
        [SV__W_PIPES_DRAINING] = { GONE, GONE, GONE, GONE, NO, GONE, GONE, C(last_eof) },
        [SV__W_CLOSING] = { GONE, GONE, GONE, GONE, NO, GONE, GONE, GONE },
};

#undef C
#undef NO
#undef GONE

/* For the test that every cell is named; NULL out of range. */
const char *sv__worker_table_name(sv__wstate s, sv__event e) {
        if ((unsigned) s >= SV__W_STATE_COUNT || (unsigned) e >= SV_EV_COUNT)
                return NULL;
        return table[s][e].name;
}

/* The machine: the only caller of set_state, so the only writer of the
 * state. Libuv callbacks and the public API only say what happened. */
void sv__worker_step(sv_worker *w, sv__event ev) {
        const cell *c;

        if ((unsigned) w->ws >= SV__W_STATE_COUNT || (unsigned) ev >= SV_EV_COUNT) {
                sv__log(w->sv, "worker %u: can't happen: event %s in state %s", w->id,
                        event_name(ev), state_name(w->ws));
                assert(!"can't happen: state or event out of range");
                return;
        }
        c = &table[w->ws][ev];
        sv__log(w->sv, "worker %u pid %d: event %s in %s: %s", w->id, (int) w->pid,
                event_name(ev), state_name(w->ws), c->name);
        c->fn(w, ev);
}

/* ---- Finishing ---- */

static void fill_info(sv_worker *w, sv_exit_info *info) {
        const sv__reaped *r = &w->reaped;

        memset(info, 0, sizeof(*info));
        info->pid = w->pid;
        info->exited = r->exited;
        info->code = r->exited ? r->code : -r->code;
        info->signal = r->exited ? 0 : r->code;
        info->core_dumped = r->core_dumped;
        if (w->cause != SV_CAUSE_EXITED)
                info->cause = w->cause; /* ours: STOPPED or TIMEOUT */
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
        if (w->cause == SV_CAUSE_TIMEOUT)
                info->timeout_ms = w->idle ? w->idle_timeout_ms : w->timeout_ms;
        info->idle = w->idle;
        info->mechanism = w->sv->mech;
        info->step_signal = w->last_step >= 0 ? w->last_signal : 0;
        info->leaked = w->leaked;
        info->leaks = w->leak_list;
        info->reason = w->stop_reason[0] ? w->stop_reason : NULL;
}

/* Empty or not (leaks left running), the cgroup is no longer ours to
 * reuse unless empty. */
static void release_cgroup(sv_worker *w) {
        if (!w->cg)
                return;
        if (w->left_running) {
                sv__cg_retire(w->sv, w->cg);
        } else if (w->cg->killed) {
                /* A new process born into a cgroup soon after its
                 * cgroup.kill was killed too (seen on 6.18): such a cgroup
                 * is removed, never reused. */
                (void) sv__cg_destroy(w->cg);
                free(w->cg);
        } else if (w->cg->frozen && sv__cg_freeze(w->cg, false) < 0) {
                /* A paused pool slot's cgroup that cannot be thawed would
                 * freeze the next worker born into it. */
                (void) sv__cg_destroy(w->cg);
                free(w->cg);
        } else {
                sv__cg_put(w->sv, w->cg);
        }
        w->cg = NULL;
}

/* Runs on_exit: the leader is reaped, the tree dealt with (tree_done),
 * and an empty tree's output read to EOF. */
static void finish(sv_worker *w) {
        sv_supervisor *sv = w->sv;
        sv_exit_info info;

        set_state(w, SV__W_CLOSING, "finished");
        if (w->timer_active)
                uv_timer_stop(&w->timer);
        if (w->idle_active) {
                w->idle_active = false;
                sv__worker_close_handle((uv_handle_t *) &w->io->idle);
        }
        if (w->cgev_active) {
                w->cgev_active = false;
                sv__worker_close_handle((uv_handle_t *) &w->io->cgev);
        }
        release_cgroup(w);
        /* Adopted descendants we just killed are our zombies now: reap
         * them before on_exit says the tree is gone. A worker whose cgroup
         * held only its leader has none, and takes part in one sweep for all
         * the exits of this loop iteration instead: a sweep per exit read
         * our whole children list n times when n workers stopped at once. */
        if (w->leaked || w->tree_multi || sv->mech != SV_MECH_CGROUP)
                sv__reap_sweep(sv);
        else if (w->step >= 0)
                sv__reap_sweep_soon(sv);
        if (w->left_running)
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
                sv__worker_emit(w, &ev);
        }
        if (w->on_exit)
                w->on_exit(w, &info, w->userdata);
        sv->in_finish--;
        sv__worker_close(w);
}

static void close_timeout(sv_worker *w) {
        sv__reap_cancel_timeout(w->sv, w);
}

void sv__worker_timeout_fired(sv_worker *w) {
        close_timeout(w);
        if (w->state == SV_WORKER_RUNNING)
                sv__worker_step(w, SV_EV_TIMEOUT);
}

void sv__worker_reaped(sv_worker *w, const sv__reaped *r) {
        w->reaped = *r;
        w->reaped_ok = true;
        if (w->nsfd >= 0)
                sv__tree_pidns_end(w);
        w->end_us = sv__plat_now_us();
        if (--w->sv->unreaped == 0)
                uv_unref(sv__reap_handle(w->sv));
        sv__pidmap_del(&w->sv->bypid, w->pid);
        if (w->timer_active)
                uv_timer_stop(&w->timer);
        close_timeout(w);
        /* Closing the pidfd also takes it out of the epoll set. */
        if (w->pidfd >= 0) {
                sv__plat_close(w->pidfd);
                w->pidfd = -1;
        }
        sv__worker_step(w, SV_EV_REAPED);
}

/* ---- Public worker API ---- */

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
                if (cause == SV_CAUSE_TIMEOUT && w->cause == SV_CAUSE_EXITED)
                        w->cause = SV_CAUSE_TIMEOUT; /* read by the STOP cell */
                set_reason(w, o && o->reason ? o->reason : "stop");
        }
        sv__worker_step(w, SV_EV_STOP);
        return 0;
}

int sv_worker_hold(sv_worker *w) {
        if (!w->in_timeout_cb)
                return UV_EINVAL;
        w->hold_asked = true; /* time_out() moves it to HELD */
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

