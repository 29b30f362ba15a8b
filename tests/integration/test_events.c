/* test_events.c - the lifecycle events (sv_spawn_opts.on_event) from real
 * workers: they come in the documented order (SPAWN, TIMEOUT, STEP..., LEAKS,
 * EXIT), the timeout is told before any signal, a held worker runs on until
 * the caller stops it, and leaks are told while they still live. Each test
 * runs on the default mechanism, the /proc walk, and the walk without
 * pidfds, and leaves nothing behind. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "svtest.h"

#define MAX_EV 16

typedef struct got {
        sv_event_type type;
        uint64_t at_us;
        int step, signal;
        sv_cause cause;
        char reason[32];
        bool alive;   /* LEAKS: the first leak was still alive at the call */
        pid_t leak;
} got;

typedef struct ctx {
        sv_supervisor *sv;
        sv_worker *w;
        got ev[MAX_EV];
        int nev;
        int exits;
        sv_exit_info info;
        char reason[32];
        bool ready;        /* the worker printed "ready" */
        bool held;         /* the TIMEOUT callback held the ladder */
        bool hold_until_ready;
        bool hold_one_turn; /* hold, then stop on the next loop turn */
        bool alive_after_hold;
        bool turned;        /* on_turn has run */
        int steps_while_held;
        uv_timer_t turn;
} ctx;

static unsigned sv_flags;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;

        (void) w;
        c->exits++;
        c->info = *info;
        c->info.leaks = NULL;
        c->info.reason = NULL;
        snprintf(c->reason, sizeof(c->reason), "%s", info->reason ? info->reason : "(null)");
}

static void on_turn(uv_timer_t *t) {
        ctx *c = t->data;
        sv_stop_opts o = { 0, SV_CAUSE_STOPPED, "after-diag" };

        /* Held: alive, nothing sent, until we say so. */
        c->alive_after_hold = kill(sv_worker_pid(c->w), 0) == 0;
        c->turned = true;
        assert_int_equal(sv_worker_state_of(c->w), SV_WORKER_RUNNING);
        assert_int_equal(sv_worker_stop_with(c->w, &o), 0);
        uv_close((uv_handle_t *) t, NULL);
}

static void on_event_cb(sv_worker *w, const sv_event *ev, void *ud) {
        ctx *c = ud;
        got *g;

        assert_true(c->nev < MAX_EV);
        g = &c->ev[c->nev++];
        g->type = ev->type;
        g->at_us = ev->at_us;
        g->step = ev->step;
        g->signal = ev->signal;
        g->cause = ev->cause;
        snprintf(g->reason, sizeof(g->reason), "%s", ev->reason ? ev->reason : "");
        assert_int_equal(ev->pid, sv_worker_pid(w));
        if (ev->type == SV_EVENT_STEP && c->hold_one_turn && !c->turned)
                c->steps_while_held++;
        if (ev->type == SV_EVENT_LEAKS && ev->leaked > 0 && ev->leaks) {
                g->leak = ev->leaks[0].pid;
                g->alive = kill(g->leak, 0) == 0;
        }
        if (ev->type != SV_EVENT_TIMEOUT)
                return;
        if ((c->hold_until_ready && !c->ready) || c->hold_one_turn) {
                assert_int_equal(sv_worker_hold(w), 0);
                c->held = true;
        }
        if (c->hold_one_turn) {
                assert_int_equal(uv_timer_init(sv_supervisor_loop(c->sv), &c->turn), 0);
                c->turn.data = c;
                assert_int_equal(uv_timer_start(&c->turn, on_turn, 0, 0), 0);
        }
}

static void on_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        ctx *c = ud;

        (void) fd;
        if (len == 0 || c->ready || !memchr(buf, '\n', len))
                return;
        c->ready = true;
        /* A timeout held until the worker had ignored SIGTERM for sure. */
        if (c->held)
                assert_int_equal(sv_worker_stop(w), 0);
}

static int setup(void **state) {
        static ctx c;
        sv_supervisor_opts o;

        memset(&c, 0, sizeof(c));
        memset(&o, 0, sizeof(o));
        o.flags = sv_flags;
        if (sv_supervisor_new(&o, &c.sv) != 0)
                return -1;
        *state = &c;
        return 0;
}

static int teardown(void **state) {
        ctx *c = *state;

        sv_supervisor_free(c->sv);
        svt_assert_no_children();
        return 0;
}

static void run(ctx *c, const char *const *argv, uint64_t timeout_ms, const char *ladder) {
        sv_spawn_opts o;
        sv_ladder l;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[0] = SV_STDIO_NULL;
        o.stdio[1] = SV_STDIO_PIPE;
        o.on_exit = on_exit_cb;
        o.on_output = on_output;
        o.on_event = on_event_cb;
        o.userdata = c;
        o.timeout_ms = timeout_ms;
        if (ladder) {
                assert_int_equal(sv_ladder_parse(ladder, 0, &l), 0);
                o.ladder = &l;
        }
        assert_int_equal(sv_spawn(c->sv, &o, &c->w), 0);
        assert_int_equal(c->nev, 1); /* SPAWN, before sv_spawn returned */
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
}

static void assert_order(const ctx *c, const sv_event_type *want, int n) {
        int i;

        assert_int_equal(c->nev, n);
        for (i = 0; i < n; i++) {
                assert_int_equal(c->ev[i].type, want[i]);
                if (i > 0)
                        assert_true(c->ev[i].at_us >= c->ev[i - 1].at_us);
        }
}

static void test_timeout_ladder_events_come_in_order(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-ignore-term"), "forever", NULL };
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_TIMEOUT, SV_EVENT_STEP,
                                              SV_EVENT_STEP, SV_EVENT_EXIT };

        c->hold_until_ready = true;
        run(c, argv, 100, "TERM:100ms,KILL:5s");
        assert_order(c, want, 5);
        assert_true(c->ev[1].at_us >= 100000);
        assert_int_equal(c->ev[2].step, 0);
        assert_int_equal(c->ev[2].signal, SIGTERM);
        assert_int_equal(c->ev[2].cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(c->ev[2].reason, "timeout");
        assert_int_equal(c->ev[3].step, 1);
        assert_int_equal(c->ev[3].signal, SIGKILL);
        /* The grace was honoured: KILL no sooner than 100 ms after TERM. */
        assert_true(c->ev[3].at_us - c->ev[2].at_us >= 100000);
        assert_int_equal(c->info.code, -SIGKILL);
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_int_equal(c->info.stop_step, 1);
        assert_string_equal(c->reason, "timeout");
}

static void test_held_worker_runs_until_stopped(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-sleep"), "forever", NULL };
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_TIMEOUT, SV_EVENT_STEP,
                                              SV_EVENT_EXIT };

        c->hold_one_turn = true;
        run(c, argv, 20, "TERM:10s,KILL:5s");
        assert_true(c->alive_after_hold);
        assert_int_equal(c->steps_while_held, 0);
        assert_order(c, want, 4);
        assert_string_equal(c->ev[2].reason, "timeout"); /* a held worker's stays */
        assert_int_equal(c->info.code, -SIGTERM);
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_int_equal(c->info.timeout_ms, 20);
        assert_string_equal(c->reason, "timeout");
}

static void test_leaks_are_told_alive_before_exit(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-setsid-escapee"), "600000", "exit", NULL };
        static const sv_event_type want[] = { SV_EVENT_SPAWN, SV_EVENT_LEAKS, SV_EVENT_EXIT };

        run(c, argv, 0, NULL);
        assert_order(c, want, 3);
        assert_true(c->ev[1].leak > 1);
        assert_true(c->ev[1].alive);
        assert_int_equal(c->info.leaked, 1);
        assert_int_equal(c->info.cause, SV_CAUSE_EXITED);
        assert_string_equal(c->reason, "(null)");
        assert_int_equal(kill(c->ev[1].leak, 0), -1);
        assert_int_equal(errno, ESRCH);
}

static int group_setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

static int use_procwalk(void **state) {
        sv_flags = SV_SUPERVISOR_NO_CGROUP;
        return group_setup(state);
}

static int use_no_pidfd(void **state) {
        sv_flags = SV_SUPERVISOR_NO_CGROUP;
        setenv("SUPERVISE_NO_PIDFD", "1", 1);
        return group_setup(state);
}

static int unset_no_pidfd(void **state) {
        (void) state;
        unsetenv("SUPERVISE_NO_PIDFD");
        return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_timeout_ladder_events_come_in_order),
                T(test_held_worker_runs_until_stopped),
                T(test_leaks_are_told_alive_before_exit),
        };
        int failed = 0;

        failed += cmocka_run_group_tests_name("events (default mechanism)", tests, group_setup,
                                              NULL);
        failed += cmocka_run_group_tests_name("events (procwalk)", tests, use_procwalk, NULL);
        failed += cmocka_run_group_tests_name("events (procwalk, no pidfd)", tests, use_no_pidfd,
                                              unset_no_pidfd);
        return failed ? 1 : 0;
}
