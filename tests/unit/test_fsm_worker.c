/* test_fsm_worker.c - the worker state machine, alone: linked against the
 * fake platform (tests/fakes), so no process is started, every signal is
 * recorded, the clock is ours, and events are fed to sv__worker_step()
 * and sv__worker_reaped() directly, the way the libuv callbacks would. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "platform_fake.h"

/* One lifecycle event as the callback saw it, with what had been sent and
 * reported by then: the order of events against signals is the point. */
typedef struct seen {
        sv_event ev;
        char reason[32];
        pid_t first_leak;
        int nsent;     /* sv_fake_state.nsent at the callback */
        int exits;     /* on_exit calls before it */
        sv_cause exit_cause;
        int hold;      /* sv_worker_hold()'s answer inside the callback */
} seen;

#define MAX_SEEN 16

typedef struct fx {
        sv_supervisor *sv;
        sv_worker *w;
        int exits;
        sv_exit_info info;
        char reason[32]; /* info.reason, copied: it lives only during the call */
        int esrch_in_callback;
        seen ev[MAX_SEEN];
        int nev;
        bool hold_on_timeout; /* the TIMEOUT callback holds the ladder */
} fx;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        fx *f = ud;

        f->exits++;
        f->info = *info;
        f->info.leaks = NULL;
        f->info.reason = NULL;
        snprintf(f->reason, sizeof(f->reason), "%s", info->reason ? info->reason : "(null)");
        f->esrch_in_callback = sv_worker_kill(w, SIGTERM);
}

static void on_event_cb(sv_worker *w, const sv_event *ev, void *ud) {
        fx *f = ud;
        seen *s;

        if (f->nev >= MAX_SEEN)
                return;
        s = &f->ev[f->nev++];
        s->ev = *ev;
        snprintf(s->reason, sizeof(s->reason), "%s", ev->reason ? ev->reason : "(null)");
        s->first_leak = ev->leaks && ev->leaked ? ev->leaks[0].pid : 0;
        s->nsent = sv_fake_state.nsent;
        s->exits = f->exits;
        s->exit_cause = ev->exit ? ev->exit->cause : SV_CAUSE_COUNT;
        if (ev->type != SV_EVENT_TIMEOUT || f->hold_on_timeout)
                s->hold = sv_worker_hold(w);
}

static int setup_with(void **state, bool events) {
        static fx f;
        static const char *const argv[] = { "/fake/worker", NULL };
        sv_supervisor_opts so;
        sv_spawn_opts o;

        sv_fake_reset();
        memset(&f, 0, sizeof(f));
        memset(&so, 0, sizeof(so));
        if (sv_ladder_parse("TERM:5s,KILL:1s", 0, &so.ladder) != 0)
                return -1;
        if (sv_supervisor_new(&so, &f.sv) != 0)
                return -1;
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.on_exit = on_exit_cb;
        o.userdata = &f;
        if (events) {
                o.on_event = on_event_cb;
                o.timeout_ms = 30000;
                o.idle_timeout_ms = 7000;
        }
        if (sv_spawn(f.sv, &o, &f.w) != 0)
                return -1;
        *state = &f;
        return 0;
}

static int setup(void **state) {
        return setup_with(state, false);
}

static int setup_events(void **state) {
        return setup_with(state, true);
}

static void reap_signal(fx *f, int sig);

/* A test that failed half-way leaves its fake worker unreaped, and free()
 * would wait for it forever: finish it here. */
static int teardown(void **state) {
        fx *f = *state;

        if (f->exits == 0) {
                sv_fake_state.tree_alive = 0;
                if (sv_worker_state_of(f->w) != SV_WORKER_EXITED)
                        reap_signal(f, SIGKILL);
                else
                        sv__worker_step(f->w, SV_EV_TREE_EMPTY);
        }
        sv_supervisor_free(f->sv);
        return 0;
}

static void reap_exit(fx *f, int code) {
        sv__reaped r;

        memset(&r, 0, sizeof(r));
        r.pid = sv_worker_pid(f->w);
        r.exited = true;
        r.code = code;
        sv__worker_reaped(f->w, &r);
}

static void reap_signal(fx *f, int sig) {
        sv__reaped r;

        memset(&r, 0, sizeof(r));
        r.pid = sv_worker_pid(f->w);
        r.code = sig;
        sv__worker_reaped(f->w, &r);
}

static void assert_sent(int i, pid_t pid, int sig) {
        assert_true(i < sv_fake_state.nsent);
        assert_int_equal(sv_fake_state.sent[i].pid, pid);
        assert_int_equal(sv_fake_state.sent[i].sig, sig);
}

static void test_spawned_worker_is_running_with_its_pid(void **state) {
        fx *f = *state;

        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_RUNNING);
        assert_int_equal(sv_worker_pid(f->w), 40000);
        assert_int_equal(sv_worker_pgid(f->w), 40000);
        assert_int_equal(sv_supervisor_live(f->sv), 1);
        reap_exit(f, 0);
}

static void test_exit_by_itself_is_cause_exited_with_wall_time(void **state) {
        fx *f = *state;

        sv_fake_state.now_us += 2500;
        reap_exit(f, 3);
        assert_int_equal(f->exits, 1);
        assert_true(f->info.exited);
        assert_int_equal(f->info.code, 3);
        assert_int_equal(f->info.cause, SV_CAUSE_EXITED);
        assert_int_equal(f->info.stop_step, -1);
        assert_int_equal(f->info.wall_us, 2500);
        assert_int_equal(sv_fake_state.nsent, 0);
        assert_int_equal(sv_supervisor_live(f->sv), 0);
}

static void test_crash_is_cause_signaled_with_negative_code(void **state) {
        fx *f = *state;

        reap_signal(f, SIGSEGV);
        assert_false(f->info.exited);
        assert_int_equal(f->info.code, -SIGSEGV);
        assert_int_equal(f->info.signal, SIGSEGV);
        assert_int_equal(f->info.cause, SV_CAUSE_SIGNALED);
}

static void test_stop_sends_term_then_cont_and_waits(void **state) {
        fx *f = *state;
        pid_t pid = sv_worker_pid(f->w);

        assert_int_equal(sv_worker_stop(f->w), 0);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_STOPPING);
        assert_int_equal(sv_fake_state.nsent, 2);
        assert_sent(0, pid, SIGTERM);
        assert_sent(1, pid, SIGCONT);
        reap_signal(f, SIGTERM);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
        assert_int_equal(f->info.stop_step, 0);
        assert_int_equal(f->info.step_signal, SIGTERM);
        assert_int_equal(f->info.code, -SIGTERM);
}

static void test_grace_expiry_escalates_to_kill(void **state) {
        fx *f = *state;
        pid_t pid = sv_worker_pid(f->w);

        (void) sv_worker_stop(f->w);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_STOPPING);
        assert_sent(2, pid, SIGKILL);
        assert_int_equal(sv_fake_state.nsent, 3); /* no SIGCONT after KILL */
        assert_int_equal(sv_fake_state.group_kills, 1); /* the group, while the leader is ours */
        reap_signal(f, SIGKILL);
        assert_int_equal(f->info.code, -9);
        assert_int_equal(f->info.stop_step, 1);
        assert_int_equal(f->info.step_signal, SIGKILL);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
}

static void test_past_the_last_step_kill_repeats(void **state) {
        fx *f = *state;
        pid_t pid = sv_worker_pid(f->w);

        (void) sv_worker_stop(f->w);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        assert_sent(3, pid, SIGKILL);
        assert_sent(4, pid, SIGKILL);
        reap_signal(f, SIGKILL);
        assert_int_equal(f->info.stop_step, 2);
}

static void test_second_stop_while_stopping_sends_nothing(void **state) {
        fx *f = *state;

        (void) sv_worker_stop(f->w);
        assert_int_equal(sv_worker_stop(f->w), 0);
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(sv_fake_state.nsent, 2);
        reap_signal(f, SIGTERM);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
}

static void test_timeout_is_cause_timeout_even_after_a_clean_exit(void **state) {
        fx *f = *state;

        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_STOPPING);
        reap_exit(f, 0); /* it caught TERM and exited 0 */
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_true(f->info.exited);
        assert_int_equal(f->info.code, 0);
        assert_int_equal(f->info.stop_step, 0);
}

static void test_stop_with_received_signal_replaces_first_step(void **state) {
        fx *f = *state;

        assert_int_equal(sv_worker_stop_signal(f->w, SIGINT), 0);
        assert_sent(0, sv_worker_pid(f->w), SIGINT);
        reap_signal(f, SIGINT);
        assert_int_equal(f->info.step_signal, SIGINT);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
}

static void test_our_kill_is_cause_stopped_someone_elses_is_signaled(void **state) {
        fx *f = *state;

        assert_int_equal(sv_worker_kill(f->w, SIGUSR1), 0);
        reap_signal(f, SIGUSR1);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
}

static void test_no_signal_reaches_a_reaped_worker(void **state) {
        fx *f = *state;

        reap_exit(f, 0);
        assert_int_equal(f->esrch_in_callback, UV_ESRCH);
        assert_int_equal(sv_fake_state.nsent, 0);
}

static void test_leaked_tree_is_killed_reported_then_finished(void **state) {
        fx *f = *state;

        sv_fake_state.tree_alive = 1;
        sv_fake_state.tree_size = 2;
        reap_exit(f, 0);
        /* The leader is gone but its tree is not: no exit callback yet, and
         * the leftovers were frozen and killed. */
        assert_int_equal(f->exits, 0);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_EXITED);
        assert_sent(sv_fake_state.nsent - 1, 50001, SIGKILL);
        sv_fake_state.tree_alive = 0;
        sv__worker_step(f->w, SV_EV_TREE_EMPTY);
        assert_int_equal(f->exits, 1);
        assert_int_equal(f->info.leaked, 2);
        assert_int_equal(f->info.cause, SV_CAUSE_EXITED);
}

static void test_failed_spawn_leaves_no_worker(void **state) {
        fx *f = *state;
        static const char *const argv[] = { "/fake/other", NULL };
        sv_spawn_opts o;
        sv_worker *w = NULL;

        sv_fake_state.spawn_error = UV_ENOENT;
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        assert_int_equal(sv_spawn(f->sv, &o, &w), UV_ENOENT);
        assert_null(w);
        assert_int_equal(sv_supervisor_live(f->sv), 1);
        reap_exit(f, 0);
}

/* ---- Lifecycle events ---- */

static void assert_types(const fx *f, const sv_event_type *want, int n) {
        int i;

        assert_int_equal(f->nev, n);
        for (i = 0; i < n; i++)
                assert_int_equal(f->ev[i].ev.type, want[i]);
}

static void test_events_spawn_steps_exit_come_in_order(void **state) {
        fx *f = *state;
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_STEP, SV_EVENT_STEP,
                                              SV_EVENT_EXIT };

        assert_int_equal(f->nev, 1); /* SPAWN, inside sv_spawn */
        assert_int_equal(f->ev[0].ev.pid, 40000);
        (void) sv_worker_stop(f->w);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        reap_signal(f, SIGKILL);
        assert_types(f, want, 4);
        assert_int_equal(f->ev[3].exits, 0); /* EXIT comes right before on_exit */
        assert_int_equal(f->ev[3].exit_cause, SV_CAUSE_STOPPED);
        assert_int_equal(f->exits, 1);
        assert_string_equal(f->reason, "stop");
}

static void test_timeout_event_comes_before_the_first_signal(void **state) {
        fx *f = *state;

        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(f->ev[1].ev.type, SV_EVENT_TIMEOUT);
        assert_int_equal(f->ev[1].nsent, 0);
        assert_int_equal(f->ev[1].ev.timeout_ms, 30000);
        assert_false(f->ev[1].ev.idle);
        /* Not held: the ladder starts when the callback returns. */
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_STOPPING);
        assert_int_equal(f->ev[2].ev.type, SV_EVENT_STEP);
        assert_int_equal(f->ev[2].ev.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->ev[2].reason, "timeout");
        assert_sent(0, sv_worker_pid(f->w), SIGTERM);
        reap_signal(f, SIGTERM);
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->reason, "timeout");
}

static void test_held_worker_gets_no_signal_until_stopped(void **state) {
        fx *f = *state;

        f->hold_on_timeout = true;
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(f->ev[1].hold, 0);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_RUNNING);
        assert_int_equal(sv_fake_state.nsent, 0);
        /* Its timeout is spent: neither one fires again. */
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        sv__worker_step(f->w, SV_EV_IDLE);
        assert_int_equal(f->nev, 2);
        assert_int_equal(sv_fake_state.nsent, 0);
        assert_int_equal(sv_worker_stop(f->w), 0);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_STOPPING);
        assert_sent(0, sv_worker_pid(f->w), SIGTERM);
        assert_int_equal(f->ev[2].ev.type, SV_EVENT_STEP);
        assert_int_equal(f->ev[2].ev.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->ev[2].reason, "timeout");
        reap_signal(f, SIGTERM);
}

static void test_held_worker_stopped_ends_with_cause_timeout(void **state) {
        fx *f = *state;
        sv_stop_opts o = { SIGINT, SV_CAUSE_STOPPED, "interrupt" };

        f->hold_on_timeout = true;
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(sv_worker_stop_with(f->w, &o), 0);
        assert_sent(0, sv_worker_pid(f->w), SIGINT);
        reap_signal(f, SIGINT);
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->reason, "timeout");
        assert_int_equal(f->info.timeout_ms, 30000);
        assert_int_equal(f->info.stop_step, 0);
}

static void test_held_worker_exiting_by_itself_is_cause_timeout(void **state) {
        fx *f = *state;
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_TIMEOUT, SV_EVENT_EXIT };

        f->hold_on_timeout = true;
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        reap_exit(f, 0);
        assert_types(f, want, 3);
        assert_int_equal(sv_fake_state.nsent, 0);
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_int_equal(f->info.stop_step, -1);
        assert_string_equal(f->reason, "timeout");
}

static void test_hold_outside_timeout_event_is_einval(void **state) {
        fx *f = *state;

        assert_int_equal(f->ev[0].hold, UV_EINVAL); /* in SPAWN */
        assert_int_equal(sv_worker_hold(f->w), UV_EINVAL);
        (void) sv_worker_stop(f->w);
        assert_int_equal(f->ev[1].ev.type, SV_EVENT_STEP);
        assert_int_equal(f->ev[1].hold, UV_EINVAL);
        reap_signal(f, SIGTERM);
        assert_int_equal(f->ev[2].hold, UV_EINVAL); /* in EXIT */
}

static void test_stop_with_reason_and_cause_reach_exit_record(void **state) {
        fx *f = *state;
        sv_stop_opts bad = { 0, SV_CAUSE_SIGNALED, "x" };
        sv_stop_opts o = { 0, SV_CAUSE_TIMEOUT, "deadline" };

        assert_int_equal(sv_worker_stop_with(f->w, &bad), UV_EINVAL);
        assert_int_equal(sv_fake_state.nsent, 0);
        assert_int_equal(sv_worker_stop_with(f->w, &o), 0);
        assert_int_equal(f->ev[1].ev.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->ev[1].reason, "deadline");
        reap_exit(f, 0);
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(f->reason, "deadline");
        assert_int_equal(sv_worker_stop_with(f->w, &o), UV_ESRCH);
}

static void test_first_stop_reason_wins(void **state) {
        fx *f = *state;
        sv_stop_opts first = { 0, SV_CAUSE_STOPPED, "interrupt" };
        sv_stop_opts later = { SIGKILL, SV_CAUSE_TIMEOUT, "aborted" };

        assert_int_equal(sv_worker_stop_with(f->w, &first), 0);
        assert_int_equal(sv_worker_stop_with(f->w, &later), 0);
        assert_int_equal(sv_fake_state.nsent, 2); /* TERM, CONT only */
        reap_signal(f, SIGTERM);
        assert_int_equal(f->info.cause, SV_CAUSE_STOPPED);
        assert_string_equal(f->reason, "interrupt");
}

static void test_leaks_event_lists_pids_before_exit(void **state) {
        fx *f = *state;
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_LEAKS, SV_EVENT_EXIT };

        sv_fake_state.tree_alive = 1;
        sv_fake_state.tree_size = 2;
        reap_exit(f, 0);
        assert_int_equal(f->nev, 2);
        assert_int_equal(f->ev[1].ev.type, SV_EVENT_LEAKS);
        assert_int_equal(f->ev[1].ev.leaked, 2);
        assert_int_equal(f->ev[1].first_leak, 50000);
        assert_true(f->ev[1].ev.leaks_killed);
        assert_int_equal(f->ev[1].nsent, 0); /* told before they are killed */
        assert_true(sv_fake_state.nsent > 0);
        sv_fake_state.tree_alive = 0;
        sv__worker_step(f->w, SV_EV_TREE_EMPTY);
        assert_types(f, want, 3);
        assert_int_equal(f->info.leaked, 2);
        assert_string_equal(f->reason, "(null)"); /* we stopped nothing */
}

static void test_idle_timeout_event_says_idle(void **state) {
        fx *f = *state;

        sv__worker_step(f->w, SV_EV_IDLE);
        assert_int_equal(f->ev[1].ev.type, SV_EVENT_TIMEOUT);
        assert_true(f->ev[1].ev.idle);
        assert_int_equal(f->ev[1].ev.timeout_ms, 7000);
        assert_string_equal(f->ev[2].reason, "idle");
        /* The run timeout after it is the same timeout, spent. */
        sv__worker_step(f->w, SV_EV_TIMEOUT);
        assert_int_equal(f->nev, 3);
        reap_signal(f, SIGTERM);
        assert_int_equal(f->info.cause, SV_CAUSE_TIMEOUT);
        assert_true(f->info.idle);
        assert_int_equal(f->info.timeout_ms, 7000);
        assert_string_equal(f->reason, "idle");
}

static void test_step_event_carries_signal_grace_and_time(void **state) {
        fx *f = *state;

        sv_fake_state.now_us += 1500;
        (void) sv_worker_stop(f->w);
        assert_int_equal(f->ev[1].ev.step, 0);
        assert_int_equal(f->ev[1].ev.signal, SIGTERM);
        assert_int_equal(f->ev[1].ev.grace_ms, 5000);
        assert_int_equal(f->ev[1].ev.at_us, 1500);
        assert_int_equal(f->ev[1].ev.cause, SV_CAUSE_STOPPED);
        assert_int_equal(f->ev[1].nsent, 2); /* just sent: TERM and CONT */
        sv_fake_state.now_us += 5000000;
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        assert_int_equal(f->ev[2].ev.step, 1);
        assert_int_equal(f->ev[2].ev.signal, SIGKILL);
        assert_int_equal(f->ev[2].ev.grace_ms, 1000);
        assert_int_equal(f->ev[2].ev.at_us, 5001500);
        sv__worker_step(f->w, SV_EV_GRACE_EXPIRED);
        assert_int_equal(f->ev[3].ev.step, 2); /* == ladder.count: KILL again */
        assert_int_equal(f->ev[3].ev.signal, SIGKILL);
        reap_signal(f, SIGKILL);
}

/* ---- The table ---- */

static void test_every_cell_has_a_named_action(void **state) {
        fx *f = *state;
        int s, e, cant = 0;

        for (s = 0; s < SV__W_STATE_COUNT; s++) {
                for (e = 0; e < SV_EV_COUNT; e++) {
                        const char *n = sv__worker_table_name((sv__wstate) s, (sv__event) e);

                        assert_non_null(n);
                        assert_true(n[0] != '\0');
                        cant += strcmp(n, "cant_happen") == 0;
                }
        }
        /* The pairs that cannot happen are few, and named as such. */
        assert_true(cant > 0 && cant < SV__W_STATE_COUNT * SV_EV_COUNT / 2);
        assert_null(sv__worker_table_name(SV__W_STATE_COUNT, SV_EV_STOP));
        assert_null(sv__worker_table_name(SV__W_RUNNING, SV_EV_COUNT));
        assert_string_equal(sv__worker_table_name(SV__W_HELD, SV_EV_STOP), "stop");
        assert_string_equal(sv__worker_table_name(SV__W_STOPPING, SV_EV_GRACE_EXPIRED), "escalate");
        reap_exit(f, 0);
}

static void test_pipes_draining_waits_for_last_eof(void **state) {
        fx *f = *state;

        /* Two pipes still open (as wio.c would have them) when the tree
         * is gone: no exit until the last EOF. */
        f->w->pipe_open[0] = f->w->pipe_open[1] = true;
        reap_exit(f, 0);
        assert_int_equal(f->exits, 0);
        assert_int_equal(f->w->ws, SV__W_PIPES_DRAINING);
        assert_int_equal(sv_worker_state_of(f->w), SV_WORKER_EXITED);
        f->w->pipe_open[0] = false;
        sv__worker_step(f->w, SV_EV_PIPE_EOF);
        assert_int_equal(f->exits, 0);
        /* A late poll or cgroup event changes nothing. */
        sv__worker_step(f->w, SV_EV_TREE_POLL);
        sv__worker_step(f->w, SV_EV_TREE_EMPTY);
        assert_int_equal(f->exits, 0);
        f->w->pipe_open[1] = false;
        sv__worker_step(f->w, SV_EV_PIPE_EOF);
        assert_int_equal(f->exits, 1);
        assert_int_equal(f->info.cause, SV_CAUSE_EXITED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_events, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_spawned_worker_is_running_with_its_pid),
                T(test_exit_by_itself_is_cause_exited_with_wall_time),
                T(test_crash_is_cause_signaled_with_negative_code),
                T(test_stop_sends_term_then_cont_and_waits),
                T(test_grace_expiry_escalates_to_kill),
                T(test_past_the_last_step_kill_repeats),
                T(test_second_stop_while_stopping_sends_nothing),
                T(test_timeout_is_cause_timeout_even_after_a_clean_exit),
                T(test_stop_with_received_signal_replaces_first_step),
                T(test_our_kill_is_cause_stopped_someone_elses_is_signaled),
                T(test_no_signal_reaches_a_reaped_worker),
                T(test_leaked_tree_is_killed_reported_then_finished),
                T(test_failed_spawn_leaves_no_worker),
                E(test_events_spawn_steps_exit_come_in_order),
                E(test_timeout_event_comes_before_the_first_signal),
                E(test_held_worker_gets_no_signal_until_stopped),
                E(test_held_worker_stopped_ends_with_cause_timeout),
                E(test_held_worker_exiting_by_itself_is_cause_timeout),
                E(test_hold_outside_timeout_event_is_einval),
                E(test_stop_with_reason_and_cause_reach_exit_record),
                E(test_first_stop_reason_wins),
                E(test_leaks_event_lists_pids_before_exit),
                E(test_idle_timeout_event_says_idle),
                E(test_step_event_carries_signal_grace_and_time),
                T(test_every_cell_has_a_named_action),
                T(test_pipes_draining_waits_for_last_eof),
        };

        return cmocka_run_group_tests_name("worker state machine (fake platform)", tests, NULL, NULL);
}
