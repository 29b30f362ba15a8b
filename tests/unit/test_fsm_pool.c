/* test_fsm_pool.c - sv_pool's decisions alone, on the fake platform
 * (tests/fakes): no process is started, the clock is ours, and exits are
 * fed to sv__worker_reaped() the way the reaper would. Pins what real
 * processes make slow or loose: the backoff reset after a healthy run, the
 * sliding crash-loop window, the signals of pause, resume and a stop of a
 * paused copy, a restart by hand, and a shutdown that cancels a backoff. */
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
#include "core/pool_internal.h"
#include "platform_fake.h"
#include "supervise/sv_pool.h"

#define MAX_EV 64

typedef struct fx {
        sv_supervisor *sv;
        sv_pool *pool;
        sv_pool_event ev[MAX_EV]; /* pointers in them are not kept */
        int nev;
        int dones;
} fx;

static fx f;

static void on_event(sv_pool *p, const sv_pool_event *ev, void *ud) {
        (void) p;
        (void) ud;
        if (ev->type == SV_POOL_EV_DONE)
                f.dones++;
        if (f.nev < MAX_EV) {
                f.ev[f.nev] = *ev;
                f.ev[f.nev].worker = NULL;
                f.ev[f.nev].worker_event = NULL;
                f.nev++;
        }
}

/* The last pool event of a type, or NULL. */
static const sv_pool_event *last(sv_pool_event_type t) {
        int i;

        for (i = f.nev - 1; i >= 0; i--)
                if (f.ev[i].type == t)
                        return &f.ev[i];
        return NULL;
}

static int count(sv_pool_event_type t) {
        int i, n = 0;

        for (i = 0; i < f.nev; i++)
                n += f.ev[i].type == t;
        return n;
}

static void make_with(const sv_restart_opts *ro, unsigned copies, uint64_t timeout_ms) {
        static const char *const argv[] = { "/fake/worker", NULL };
        sv_supervisor_opts so;
        sv_spawn_opts sp;
        sv_pool_opts po;

        sv_fake_reset();
        memset(&f, 0, sizeof(f));
        memset(&so, 0, sizeof(so));
        assert_int_equal(sv_ladder_parse("TERM:5s,KILL:1s", 0, &so.ladder), 0);
        assert_int_equal(sv_supervisor_new(&so, &f.sv), 0);
        memset(&sp, 0, sizeof(sp));
        sp.argv = argv;
        sp.timeout_ms = timeout_ms;
        memset(&po, 0, sizeof(po));
        po.spawn = &sp;
        po.copies = copies;
        po.restart = *ro;
        po.on_event = on_event;
        assert_int_equal(sv_pool_new(f.sv, &po, &f.pool), 0);
        assert_int_equal(sv_pool_start(f.pool), 0);
}

static void make(const sv_restart_opts *ro, unsigned copies) {
        make_with(ro, copies, 0);
}

static int teardown(void **state) {
        unsigned i;
        sv_worker *w;
        sv__reaped r;

        (void) state;
        /* Whatever still runs ends now, or free() would wait for it. */
        (void) sv_pool_shutdown(f.pool);
        for (i = 0; i < sv_pool_slots(f.pool); i++) {
                w = sv_pool_worker(f.pool, i);
                if (!w)
                        continue;
                memset(&r, 0, sizeof(r));
                r.pid = sv_worker_pid(w);
                r.code = SIGKILL;
                sv__worker_reaped(w, &r);
        }
        sv_pool_free(f.pool);
        sv_supervisor_free(f.sv);
        return 0;
}

static void reap(unsigned index, bool exited, int code) {
        sv_worker *w = sv_pool_worker(f.pool, index);
        sv__reaped r;

        assert_non_null(w);
        memset(&r, 0, sizeof(r));
        r.pid = sv_worker_pid(w);
        r.exited = exited;
        r.code = code;
        sv__worker_reaped(w, &r);
        assert_true(sv_pool_worker(f.pool, index) != w);
}

/* Moves the clock to the slot's restart and lets the timer's body run. */
static void wait_backoff(unsigned index) {
        sv_slot_info si;

        assert_int_equal(sv_pool_slot(f.pool, index, &si), 0);
        assert_int_equal(si.state, SV_SLOT_BACKOFF);
        sv_fake_state.now_us = si.next_ms * 1000;
        sv__pool_tick(f.pool);
}

static void assert_delay_within(uint64_t lo, uint64_t hi) {
        const sv_pool_event *ev = last(SV_POOL_EV_RESTART_SCHEDULED);

        assert_non_null(ev);
        if (ev->delay_ms < lo || ev->delay_ms > hi)
                fail_msg("delay %llu ms, want %llu..%llu", (unsigned long long) ev->delay_ms,
                         (unsigned long long) lo, (unsigned long long) hi);
}

static void test_backoff_resets_after_a_healthy_run(void **state) {
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 100, 1000, 0, 0, 5000 };
        sv_slot_info si;

        (void) state;
        make(&ro, 1);
        sv_fake_state.now_us += 10000;
        reap(0, true, 1);
        assert_delay_within(75, 100);
        wait_backoff(0);
        assert_int_equal(count(SV_POOL_EV_RESTARTED), 1);
        sv_fake_state.now_us += 10000;
        reap(0, true, 1);
        assert_delay_within(150, 200);
        wait_backoff(0);
        sv_fake_state.now_us += 10000;
        reap(0, false, SIGSEGV);
        assert_delay_within(300, 400);
        wait_backoff(0);
        /* This copy runs 5 s: healthy, so the next backoff is the first's. */
        sv_fake_state.now_us += 5000000;
        reap(0, true, 2);
        assert_delay_within(75, 100);
        wait_backoff(0);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_RUNNING);
        assert_int_equal(si.restarts, 4);
        assert_true(si.has_last);
        assert_int_equal(si.last.code, 2);
        /* A clean exit under on-failure ends the slot, and the pool. */
        reap(0, true, 0);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_EXITED);
        assert_int_equal(f.dones, 1);
}

static void test_crash_window_slides(void **state) {
        sv_restart_opts ro = { SV_RESTART_ALWAYS, 1, 1, 2, 1000, 0 };
        sv_slot_info si;
        int i;

        (void) state;
        make(&ro, 1);
        for (i = 0; i < 2; i++) {
                reap(0, true, 0);
                wait_backoff(0);
        }
        /* Both restarts are out of the window now: two more are allowed. */
        sv_fake_state.now_us += 1000000;
        for (i = 0; i < 2; i++) {
                reap(0, true, 0);
                assert_int_equal(count(SV_POOL_EV_GAVE_UP), 0);
                wait_backoff(0);
        }
        /* The third within 1 s: gave up. */
        reap(0, true, 0);
        assert_int_equal(count(SV_POOL_EV_GAVE_UP), 1);
        assert_int_equal(count(SV_POOL_EV_RESTARTED), 4);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_FAILED);
        assert_int_equal(si.restarts, 4);
        assert_int_equal(f.dones, 1);
        /* A failed slot can be restarted by hand. */
        assert_int_equal(sv_pool_restart(f.pool, 0), 0);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_RUNNING);
        assert_true(last(SV_POOL_EV_RESTARTED)->manual);
}

/* The signals sent since index `from`, as a string "STOP,CONT,...". */
static const char *sent_since(int from) {
        static char buf[256];
        char name[16];
        size_t n = 0;
        int i;

        buf[0] = '\0';
        for (i = from; i < sv_fake_state.nsent && i < SV_FAKE_MAX_SENT; i++)
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
                                       sv_signal_name_r(sv_fake_state.sent[i].sig, name) + 3);
        return buf;
}

static void test_pause_resume_and_stop_of_a_paused_copy(void **state) {
        sv_restart_opts ro = { SV_RESTART_ALWAYS, 0, 0, 0, 0, 0 };
        sv_slot_info si;
        int from;

        (void) state;
        make(&ro, 1);
        from = sv_fake_state.nsent;
        assert_int_equal(sv_pool_pause(f.pool, 0), 0);
        /* SIGSTOP to the tree, not undone by a SIGCONT. */
        assert_string_equal(sent_since(from), "STOP");
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_PAUSED);
        from = sv_fake_state.nsent;
        assert_int_equal(sv_pool_resume(f.pool, 0), 0);
        assert_string_equal(sent_since(from), "CONT");
        assert_int_equal(sv_pool_pause(f.pool, 0), 0);
        from = sv_fake_state.nsent;
        /* The ladder's TERM (and its CONT), then the pool's thaw. */
        assert_int_equal(sv_pool_stop(f.pool, 0), 0);
        assert_string_equal(sent_since(from), "TERM,CONT,CONT");
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_STOPPING);
        assert_int_equal(sv_pool_resume(f.pool, 0), UV_EBUSY);
        reap(0, false, SIGTERM);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        /* Stopped by us: not restarted, even under always. */
        assert_int_equal(si.state, SV_SLOT_EXITED);
        assert_int_equal(count(SV_POOL_EV_RESTART_SCHEDULED), 0);
        assert_int_equal(sv_pool_pause(f.pool, 0), UV_ESRCH);
        assert_int_equal(sv_pool_pause(f.pool, 1), UV_EINVAL);
        assert_int_equal(f.dones, 1);
}

/* A paused copy's deadline keeps running; its ladder thaws it, and a
 * timeout is a failure that on-failure restarts. */
static void test_timeout_of_a_paused_copy(void **state) {
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 0, 0, 0, 0, 0 };
        sv_slot_info si;
        int from;

        (void) state;
        make_with(&ro, 1, 1000);
        assert_int_equal(sv_pool_pause(f.pool, 0), 0);
        from = sv_fake_state.nsent;
        sv_fake_state.now_us += 1000000;
        sv__worker_step(sv_pool_worker(f.pool, 0), SV_EV_TIMEOUT);
        assert_string_equal(sent_since(from), "TERM,CONT,CONT");
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_STOPPING);
        reap(0, false, SIGTERM);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.last.cause, SV_CAUSE_TIMEOUT);
        assert_int_equal(si.state, SV_SLOT_BACKOFF);
}

static void test_restart_by_hand_is_no_crash(void **state) {
        sv_restart_opts ro = { SV_RESTART_NO, 0, 0, 0, 0, 0 };
        pid_t first, second;
        sv_slot_info si;

        (void) state;
        make(&ro, 2);
        first = sv_worker_pid(sv_pool_worker(f.pool, 1));
        assert_int_equal(sv_pool_restart(f.pool, 1), 0);
        reap(1, false, SIGTERM);
        second = sv_worker_pid(sv_pool_worker(f.pool, 1));
        assert_int_not_equal(second, first);
        assert_int_equal(count(SV_POOL_EV_RESTART_SCHEDULED), 0);
        assert_int_equal(count(SV_POOL_EV_RESTARTED), 1);
        assert_true(last(SV_POOL_EV_RESTARTED)->manual);
        assert_int_equal(last(SV_POOL_EV_RESTARTED)->restarts, 1);
        assert_int_equal(sv_pool_slot(f.pool, 1, &si), 0);
        assert_int_equal(si.restarts, 1);
        assert_int_equal(si.last.cause, SV_CAUSE_STOPPED);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.restarts, 0);
        assert_int_equal(si.state, SV_SLOT_RUNNING);
}

static void test_shutdown_cancels_a_backoff(void **state) {
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 0, 0, 0, 0, 0 };
        sv_slot_info si;

        (void) state;
        make(&ro, 2);
        reap(0, true, 9);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_BACKOFF);
        assert_int_equal(sv_pool_shutdown(f.pool), 1);
        assert_int_equal(sv_pool_slot(f.pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_EXITED);
        assert_int_equal(f.dones, 0); /* slot 1 is still stopping */
        reap(1, false, SIGTERM);
        assert_int_equal(f.dones, 1);
        /* Nothing starts after a shutdown. */
        sv__pool_tick(f.pool);
        assert_null(sv_pool_worker(f.pool, 0));
        assert_int_equal(sv_pool_restart(f.pool, 0), UV_EBUSY);
        assert_int_equal(sv_pool_scale(f.pool, 3), UV_EBUSY);
}

static void test_scale_down_then_up_reuses_the_slot(void **state) {
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 0, 0, 0, 0, 0 };
        sv_slot_info si;

        (void) state;
        make(&ro, 3);
        assert_int_equal(sv_pool_scale(f.pool, 1), 0);
        assert_int_equal(sv_pool_size(f.pool), 1);
        assert_int_equal(sv_pool_slot(f.pool, 2, &si), 0);
        assert_int_equal(si.state, SV_SLOT_STOPPING);
        reap(2, false, SIGTERM);
        assert_int_equal(sv_pool_slot(f.pool, 2, &si), 0);
        assert_int_equal(si.state, SV_SLOT_REMOVED);
        /* Slot 1 is still on its way out when it is wanted again. */
        assert_int_equal(sv_pool_scale(f.pool, 3), 0);
        assert_non_null(sv_pool_worker(f.pool, 2));
        assert_int_equal(sv_pool_slot(f.pool, 2, &si), 0);
        assert_int_equal(si.state, SV_SLOT_RUNNING);
        assert_int_equal(si.restarts, 0);
        reap(1, false, SIGTERM);
        assert_int_equal(sv_pool_slot(f.pool, 1, &si), 0);
        assert_int_equal(si.state, SV_SLOT_RUNNING);
        assert_int_equal(count(SV_POOL_EV_SCALED), 2);
        assert_int_equal(count(SV_POOL_EV_RESTART_SCHEDULED), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_backoff_resets_after_a_healthy_run, teardown),
                cmocka_unit_test_teardown(test_crash_window_slides, teardown),
                cmocka_unit_test_teardown(test_pause_resume_and_stop_of_a_paused_copy, teardown),
                cmocka_unit_test_teardown(test_timeout_of_a_paused_copy, teardown),
                cmocka_unit_test_teardown(test_restart_by_hand_is_no_crash, teardown),
                cmocka_unit_test_teardown(test_shutdown_cancels_a_backoff, teardown),
                cmocka_unit_test_teardown(test_scale_down_then_up_reuses_the_slot, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
