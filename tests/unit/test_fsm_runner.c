/* test_fsm_runner.c - the runner of sv_run.h, alone: linked against the fake
 * platform (tests/fakes), so no job process is started and every signal is
 * recorded. Exits are fed to sv__worker_reaped() and timeouts to
 * sv__worker_timeout_fired(), the way the reap layer would; the loop runs
 * only to deliver the EOF of each fake worker's pipes (their write ends
 * close at spawn, since no child holds them). */
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
#include "supervise/sv_run.h"
#include "svt_fake_run.h"

#define MAX_SEEN 64

/* One run event as the callback saw it, with the signals sent by then. */
typedef struct seen {
        sv_run_event_type type;
        size_t job;
        unsigned attempt;
        int signal;
        int nsent;
        char reason[32];
} seen;

typedef struct fx {
        svt_fake_run r;
        seen ev[MAX_SEEN];
        int nev;
        unsigned max_running;
        sv_run_attempt last; /* the last on_attempt, pointers cleared */
        int attempts;
        int throttles;
        int throttle_err;
} fx;

static void on_event(sv_runner *rn, const sv_run_event *ev, void *ud) {
        fx *f = ud;
        sv_runner_progress p;
        seen *s;

        sv_runner_progress_get(rn, &p);
        if (p.running > f->max_running)
                f->max_running = p.running;
        if (f->nev >= MAX_SEEN)
                return;
        s = &f->ev[f->nev++];
        s->type = ev->type;
        s->job = ev->job;
        s->attempt = ev->attempt;
        s->signal = ev->signal;
        s->nsent = sv_fake_state.nsent;
        snprintf(s->reason, sizeof(s->reason), "%s", ev->reason ? ev->reason : "");
}

static void on_attempt(sv_runner *rn, const sv_run_attempt *a, void *ud) {
        fx *f = ud;

        (void) rn;
        f->attempts++;
        f->last = *a;
        f->last.exit = NULL;
        f->last.how = f->last.output = f->last.diag = f->last.reason = NULL;
}

static void on_throttle(sv_runner *rn, int err, unsigned running, void *ud) {
        fx *f = ud;

        (void) rn;
        (void) running;
        f->throttles++;
        f->throttle_err = err;
}

/* Jobs from a job file's text; the runner's options filled in but for what
 * a test sets. Nothing starts until sv_runner_start. */
static void fx_init(fx *f, const char *jobs, unsigned parallel) {
        memset(f, 0, sizeof(*f));
        svt_fake_run_init(&f->r, jobs, parallel, f);
        assert_int_equal(sv_report_new(&f->r.list, &f->r.rep), 0);
        f->r.ro.report = f->r.rep;
        f->r.ro.on_event = on_event;
        f->r.ro.on_attempt = on_attempt;
        f->r.ro.on_throttle = on_throttle;
}

static void fx_start(fx *f) {
        svt_fake_run_start(&f->r);
}

static void spin(fx *f) {
        svt_fake_run_spin(&f->r);
}

static sv_worker *worker(fx *f, pid_t pid) {
        sv_worker *w = sv__worker_by_pid(f->r.sv, pid);

        assert_non_null(w);
        return w;
}

static void reap(fx *f, pid_t pid, bool exited, int code) {
        svt_fake_run_reap(&f->r, pid, exited, code);
}

static void fx_done(fx *f) {
        svt_fake_run_free(&f->r);
}

/* The index in f->ev of the first event of `type` for `job`, or -1. */
static int find(const fx *f, sv_run_event_type type, size_t job, int from) {
        int i;

        for (i = from; i < f->nev; i++)
                if (f->ev[i].type == type && f->ev[i].job == job)
                        return i;
        return -1;
}

static void test_runner_never_runs_more_than_parallel(void **state) {
        fx f;
        sv_runner_progress p;
        pid_t pid;

        (void) state;
        fx_init(&f, "/fake/a\n/fake/b\n/fake/c\n/fake/d\n/fake/e\n", 2);
        fx_start(&f);
        spin(&f);
        sv_runner_progress_get(f.r.rn, &p);
        assert_int_equal(p.running, 2);
        assert_int_equal(sv_fake_state.next_pid, 40002);
        /* Each exit makes room for exactly one more. */
        for (pid = 40000; pid < 40005; pid++)
                reap(&f, pid, true, 0);
        sv_runner_progress_get(f.r.rn, &p);
        assert_int_equal(p.done, 5);
        assert_int_equal(p.running, 0);
        assert_int_equal(f.max_running, 2);
        assert_int_equal(f.attempts, 5);
        assert_int_equal(sv_report_verdict(f.r.rep, 4), SV_VERDICT_PASS);
        fx_done(&f);
}

static void test_runner_retries_a_failure_and_counts_a_later_pass_flaky(void **state) {
        sv_report_counts c;
        fx f;
        int spawn2;

        (void) state;
        fx_init(&f, "name=flaky /fake/flaky\n", 1);
        f.r.ro.retries = 2;
        fx_start(&f);
        spin(&f);
        reap(&f, 40000, true, 1);
        assert_int_equal(f.last.verdict, SV_VERDICT_FAIL);
        assert_true(f.last.will_retry);
        assert_int_equal(f.last.attempt, 1);
        assert_true(find(&f, SV_RUN_EV_RETRY, 0, 0) >= 0);
        spawn2 = find(&f, SV_RUN_EV_SPAWN, 0, find(&f, SV_RUN_EV_RETRY, 0, 0));
        assert_true(spawn2 >= 0);
        assert_int_equal(f.ev[spawn2].attempt, 2);
        spin(&f);
        reap(&f, 40001, true, 0);
        assert_int_equal(f.last.verdict, SV_VERDICT_PASS);
        assert_false(f.last.will_retry);
        assert_int_equal(f.last.attempt, 2);
        sv_report_get_counts(f.r.rep, &c);
        assert_int_equal(c.passed, 1);
        assert_int_equal(c.flaky, 1);
        assert_int_equal(c.failed, 0);
        fx_done(&f);
}

static void test_runner_timeout_snapshot_comes_before_the_first_signal(void **state) {
        fx f;
        int diag, sig;

        (void) state;
        fx_init(&f, "/fake/hang\n", 1);
        f.r.ro.timeout_ms = 1000;
        fx_start(&f);
        spin(&f);
        sv_fake_state.now_us += 1000 * 1000;
        sv__worker_timeout_fired(worker(&f, 40000));
        diag = find(&f, SV_RUN_EV_DIAG, 0, 0);
        sig = find(&f, SV_RUN_EV_SIGNAL, 0, 0);
        assert_true(diag >= 0);
        assert_string_equal(f.ev[diag].reason, "snapshot");
        assert_int_equal(f.ev[diag].nsent, 0);
        assert_true(sig > diag);
        assert_int_equal(f.ev[sig].signal, SIGTERM);
        assert_string_equal(f.ev[sig].reason, "timeout");
        assert_int_equal(sv_fake_state.sent[0].pid, 40000);
        assert_int_equal(sv_fake_state.sent[0].sig, SIGTERM);
        reap(&f, 40000, false, SIGTERM);
        assert_int_equal(f.last.verdict, SV_VERDICT_TIMEOUT);
        assert_int_equal(sv_report_verdict(f.r.rep, 0), SV_VERDICT_TIMEOUT);
        fx_done(&f);
}

static void test_runner_on_timeout_holds_the_stop_until_the_helper_exits(void **state) {
        static char *const helper[] = { "/fake/gdb", "-p", "{pid}", NULL };
        fx f;
        int diag2, sig;

        (void) state;
        fx_init(&f, "/fake/hang\n", 1);
        f.r.ro.timeout_ms = 1000;
        f.r.ro.on_timeout = helper;
        fx_start(&f);
        spin(&f);
        sv_fake_state.now_us += 1000 * 1000;
        sv__worker_timeout_fired(worker(&f, 40000));
        spin(&f);
        /* The helper (pid 40001) runs; the job is held, nothing sent. */
        assert_int_equal(sv_fake_state.nsent, 0);
        assert_int_equal(find(&f, SV_RUN_EV_SIGNAL, 0, 0), -1);
        assert_int_equal(sv_worker_state_of(worker(&f, 40000)), SV_WORKER_RUNNING);
        reap(&f, 40001, true, 0);
        diag2 = find(&f, SV_RUN_EV_DIAG, 0, find(&f, SV_RUN_EV_DIAG, 0, 0) + 1);
        sig = find(&f, SV_RUN_EV_SIGNAL, 0, 0);
        assert_true(diag2 >= 0);
        assert_string_equal(f.ev[diag2].reason, "on-timeout");
        assert_true(sig > diag2);
        assert_int_equal(sv_fake_state.sent[0].pid, 40000);
        assert_int_equal(sv_fake_state.sent[0].sig, SIGTERM);
        reap(&f, 40000, false, SIGTERM);
        assert_int_equal(f.last.verdict, SV_VERDICT_TIMEOUT);
        fx_done(&f);
}

static void test_runner_stop_skips_waiting_jobs_as_interrupted(void **state) {
        fx f;
        int sig;

        (void) state;
        fx_init(&f, "/fake/a\n/fake/b\n/fake/c\n", 1);
        fx_start(&f);
        spin(&f);
        sv_runner_stop(f.r.rn, SIGINT, "interrupted");
        assert_true(find(&f, SV_RUN_EV_SKIP, 1, 0) >= 0);
        assert_string_equal(f.ev[find(&f, SV_RUN_EV_SKIP, 2, 0)].reason, "interrupted");
        sig = find(&f, SV_RUN_EV_SIGNAL, 0, 0);
        assert_true(sig >= 0);
        assert_int_equal(f.ev[sig].signal, SIGINT);
        assert_string_equal(f.ev[sig].reason, "interrupt");
        reap(&f, 40000, false, SIGINT);
        assert_int_equal(sv_report_verdict(f.r.rep, 0), SV_VERDICT_STOPPED);
        assert_int_equal(sv_report_verdict(f.r.rep, 1), SV_VERDICT_SKIP);
        /* Nothing new was started. */
        assert_int_equal(sv_fake_state.next_pid, 40001);
        fx_done(&f);
}

static void test_runner_passing_spawn_error_lowers_parallel(void **state) {
        sv_runner_progress p;
        fx f;

        (void) state;
        fx_init(&f, "/fake/a\n/fake/b\n/fake/c\n", 2);
        fx_start(&f);
        spin(&f);
        sv_fake_state.spawn_error = UV_EAGAIN;
        reap(&f, 40000, true, 0);
        /* The third job could not start: it waits, and is no error. */
        assert_int_equal(f.throttles, 1);
        assert_int_equal(f.throttle_err, UV_EAGAIN);
        sv_runner_progress_get(f.r.rn, &p);
        assert_int_equal(p.running, 1);
        assert_int_equal(p.done, 1);
        assert_int_equal(find(&f, SV_RUN_EV_EXIT, 2, 0), -1);
        sv_fake_state.spawn_error = 0;
        reap(&f, 40001, true, 0);
        /* The job that ended made room: the deferred one starts. */
        assert_int_equal(sv_fake_state.next_pid, 40003);
        reap(&f, 40002, true, 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 2), SV_VERDICT_PASS);
        assert_int_equal(f.throttles, 1);
        fx_done(&f);
}

static void test_runner_disabled_job_is_skipped_unavailable_is_error(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "/fake/a\n/fake/b\n/fake/c\n", 1);
        f.r.list.jobs[0].flags |= SV_JOB_DISABLED;
        f.r.list.jobs[1].flags |= SV_JOB_UNAVAILABLE;
        fx_start(&f);
        spin(&f);
        assert_string_equal(f.ev[find(&f, SV_RUN_EV_SKIP, 0, 0)].reason, "disabled");
        assert_true(find(&f, SV_RUN_EV_EXIT, 1, 0) >= 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 1), SV_VERDICT_ERROR);
        /* Only the third job was spawned. */
        assert_int_equal(sv_fake_state.next_pid, 40001);
        reap(&f, 40000, true, 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 2), SV_VERDICT_PASS);
        fx_done(&f);
}

/* A burst: 200 jobs at -j 200. A timer that is due once the runner is
 * started (as the first jobs' deadlines are, in a burst that takes seconds)
 * fires, and an exit it brings is reported, before the last job is
 * spawned: the runner starts a batch per loop turn (at most 64, as
 * runner.c's FILL_BATCH_MAX says), not all 200 in one. */
#define BURST 200

typedef struct burst {
        fx *f;
        bool fired;
        int spawned; /* jobs spawned when the timer fired */
} burst;

static int spawned(void) {
        return (int) (sv_fake_state.next_pid - 40000);
}

static void on_due(uv_timer_t *t) {
        burst *b = t->data;
        sv__reaped r;

        b->fired = true;
        b->spawned = spawned();
        memset(&r, 0, sizeof(r));
        r.pid = 40000;
        r.exited = true;
        sv__worker_reaped(worker(b->f, 40000), &r);
}

static void test_runner_burst_yields_to_the_loop_between_batches(void **state) {
        static char jobs[BURST * 8 + 1];
        uv_loop_t *loop;
        uv_timer_t due;
        burst b = { 0 };
        fx f;
        int i, before, turns;

        (void) state;
        for (i = 0; i < BURST; i++)
                memcpy(jobs + i * 8, "/fake/j\n", 8);
        fx_init(&f, jobs, BURST);
        b.f = &f;
        fx_start(&f);
        /* The first batch, from sv_runner_start itself. */
        assert_true(spawned() >= 1 && spawned() <= 64);
        loop = sv_supervisor_loop(f.r.sv);
        assert_int_equal(uv_timer_init(loop, &due), 0);
        due.data = &b;
        assert_int_equal(uv_timer_start(&due, on_due, 0, 0), 0);
        for (turns = 0; spawned() < BURST && turns < 100; turns++) {
                before = spawned();
                (void) uv_run(loop, UV_RUN_NOWAIT);
                assert_true(spawned() - before <= 64);
        }
        assert_int_equal(spawned(), BURST);
        assert_true(b.fired);
        assert_true(b.spawned < BURST);
        /* The exit came in mid-burst and was reported then. */
        assert_int_equal(f.attempts, 1);
        assert_int_equal(f.last.job, 0);
        assert_int_equal(f.last.verdict, SV_VERDICT_PASS);
        uv_close((uv_handle_t *) &due, NULL);
        for (i = 1; i < BURST; i++)
                reap(&f, 40000 + i, true, 0);
        assert_int_equal(f.attempts, BURST);
        assert_int_equal(f.max_running, BURST - 1);
        fx_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runner_never_runs_more_than_parallel),
                cmocka_unit_test(test_runner_retries_a_failure_and_counts_a_later_pass_flaky),
                cmocka_unit_test(test_runner_timeout_snapshot_comes_before_the_first_signal),
                cmocka_unit_test(test_runner_on_timeout_holds_the_stop_until_the_helper_exits),
                cmocka_unit_test(test_runner_stop_skips_waiting_jobs_as_interrupted),
                cmocka_unit_test(test_runner_passing_spawn_error_lowers_parallel),
                cmocka_unit_test(test_runner_disabled_job_is_skipped_unavailable_is_error),
                cmocka_unit_test(test_runner_burst_yields_to_the_loop_between_batches),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
