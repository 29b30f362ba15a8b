/* test_fsm_reap.c - reap.c's dispatch, alone: the core on the fake platform
 * (no pidfds, so the SIGCHLD fallback's waitid(P_ALL) path), with the exits
 * it finds set by the test. What it guards: one worker's finish never reaps
 * another worker, so no on_exit ever runs inside another's. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "platform_fake.h"

typedef struct fx {
        sv_supervisor *sv;
        sv_worker *w[2];
        int exits[2];
        bool nested[2];   /* on_exit ran while the test was inside a reap of the other */
        int inside;       /* 1 + index of the worker whose reap the test is delivering */
} fx;

static fx f;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        int i = (int) (intptr_t) ud;

        (void) w;
        (void) info;
        f.exits[i]++;
        if (f.inside && f.inside != i + 1)
                f.nested[i] = true;
}

static int setup(void **state) {
        static const char *const argv[] = { "/fake/worker", NULL };
        sv_spawn_opts o;
        int i;

        sv_fake_reset();
        memset(&f, 0, sizeof(f));
        if (sv_supervisor_new(NULL, &f.sv) != 0)
                return -1;
        for (i = 0; i < 2; i++) {
                memset(&o, 0, sizeof(o));
                o.argv = argv;
                o.on_exit = on_exit_cb;
                o.userdata = (void *) (intptr_t) i;
                if (sv_spawn(f.sv, &o, &f.w[i]) != 0)
                        return -1;
        }
        *state = &f;
        return 0;
}

static sv__reaped exit_of(pid_t pid, int code) {
        sv__reaped r;

        memset(&r, 0, sizeof(r));
        r.pid = pid;
        r.exited = true;
        r.code = code;
        return r;
}

/* A test that failed half-way leaves a worker unreaped, and free() would
 * wait for it forever: deliver its exit here. */
static int teardown(void **state) {
        sv__reaped r;
        int i;

        (void) state;
        sv_fake_state.nreap_any = 0;
        for (i = 0; i < 2; i++) {
                if (f.exits[i] == 0 && sv_worker_state_of(f.w[i]) != SV_WORKER_EXITED) {
                        r = exit_of(sv_worker_pid(f.w[i]), 0);
                        sv__worker_reaped(f.w[i], &r);
                }
        }
        sv_supervisor_free(f.sv);
        return 0;
}

/* Worker 1 exits; the fallback's waitid(P_ALL) would hand out worker 2's
 * exit next. Worker 1's finish sweeps for its orphans: that sweep must not
 * take worker 2's exit and run worker 2's on_exit inside worker 1's reap.
 * Worker 2's exit is delivered by the loop afterwards, once. */
static void test_finish_never_reaps_another_worker(void **state) {
        fx *t = *state;
        sv__reaped r1 = exit_of(sv_worker_pid(t->w[0]), 0);
        int i;

        assert_int_equal(sv_supervisor_mechanism(t->sv), SV_MECH_PROCWALK);
        sv_fake_state.reap_any[0] = exit_of(sv_worker_pid(t->w[1]), 7);
        sv_fake_state.nreap_any = 1;

        t->inside = 1;
        sv__worker_reaped(t->w[0], &r1);
        t->inside = 0;
        assert_int_equal(t->exits[0], 1);
        assert_int_equal(t->exits[1], 0);
        assert_false(t->nested[1]);
        /* Still queued: the sweep left it to the loop. */
        assert_int_equal(sv_fake_state.nreap_any, 1);

        for (i = 0; i < 10 && t->exits[1] == 0; i++)
                (void) uv_run(sv_supervisor_loop(t->sv), UV_RUN_NOWAIT);
        assert_int_equal(t->exits[1], 1);
        assert_false(t->nested[1]);
        assert_int_equal(sv_fake_state.nreap_any, 0);
        assert_int_equal(sv_supervisor_live(t->sv), 0);
}

/* The hooks are what reap.c delivers through: set, and to worker.c's. */
static void test_reap_delivers_through_the_supervisor_hooks(void **state) {
        fx *t = *state;
        int i;

        assert_ptr_equal(t->sv->hooks.reaped, sv__worker_reaped);
        assert_ptr_equal(t->sv->hooks.timeout, sv__worker_timeout_fired);
        assert_ptr_equal(t->sv->hooks.bury, sv__worker_bury);
        /* Both exits found by the loop's sweep: each on_exit once, in turn. */
        for (i = 0; i < 2; i++)
                sv_fake_state.reap_any[i] = exit_of(sv_worker_pid(t->w[i]), i);
        sv_fake_state.nreap_any = 2;
        sv__reap_sweep_all(t->sv);
        assert_int_equal(t->exits[0], 1);
        assert_int_equal(t->exits[1], 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_finish_never_reaps_another_worker, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_reap_delivers_through_the_supervisor_hooks,
                                                setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
