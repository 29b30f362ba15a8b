/* test_fsm_sched.c - the runner's order and resource constraints (sched.c)
 * alone: DEPENDS, fixtures, RESOURCE_LOCK, RUN_SERIAL, PROCESSORS,
 * REQUIRED_FILES and a dependency cycle. Linked against the fake platform
 * (tests/fakes) as test_fsm_runner.c is: each spawn takes the next fake pid
 * (40000, 40001, ...), so which jobs started, and in what order, is read
 * from the pids and the SPAWN events; exits are fed to sv__worker_reaped().
 * No process is started and nothing waits for time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "platform_fake.h"
#include "supervise/sv_run.h"
#include "svt_fake_run.h"

#define MAX_SPAWNS 32

typedef struct fx {
        svt_fake_run r;
        size_t spawned[MAX_SPAWNS]; /* job index of each spawn, in order */
        int nspawned;
        unsigned max_running;
        char how[8][128];           /* the last `how` of each job */
} fx;

static void on_event(sv_runner *rn, const sv_run_event *ev, void *ud) {
        fx *f = ud;
        sv_runner_progress p;

        sv_runner_progress_get(rn, &p);
        if (p.running > f->max_running)
                f->max_running = p.running;
        if (ev->type == SV_RUN_EV_SPAWN && f->nspawned < MAX_SPAWNS)
                f->spawned[f->nspawned++] = ev->job;
}

static void on_attempt(sv_runner *rn, const sv_run_attempt *a, void *ud) {
        fx *f = ud;

        (void) rn;
        if (a->job < 8)
                snprintf(f->how[a->job], sizeof(f->how[a->job]), "%s", a->how ? a->how : "");
}

static char **strv1(const char *s) {
        char **v = calloc(2, sizeof(*v));

        assert_non_null(v);
        v[0] = strdup(s);
        assert_non_null(v[0]);
        return v;
}

static void fx_init(fx *f, const char *jobs, unsigned parallel) {
        memset(f, 0, sizeof(*f));
        svt_fake_run_init(&f->r, jobs, parallel, f);
        f->r.ro.on_event = on_event;
        f->r.ro.on_attempt = on_attempt;
}

static void spin(fx *f) {
        svt_fake_run_spin(&f->r);
}

/* Sets the constraints, then starts the run. */
static void fx_start(fx *f) {
        assert_int_equal(sv_report_new(&f->r.list, &f->r.rep), 0);
        f->r.ro.report = f->r.rep;
        svt_fake_run_start(&f->r);
        spin(f);
}

/* Ends the attempt with pid 40000 + n. */
static void reap(fx *f, int n, int code) {
        svt_fake_run_reap(&f->r, 40000 + n, true, code);
}

static void fx_done(fx *f) {
        sv_runner_progress p;

        sv_runner_progress_get(f->r.rn, &p);
        assert_int_equal(p.done, f->r.list.count);
        svt_fake_run_free(&f->r);
}

static void test_sched_depends_waits_for_the_end_not_the_verdict(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=a /fake/a\nname=b /fake/b\nname=c /fake/c\n", 3);
        f.r.list.jobs[0].depends = strv1("b");
        f.r.list.jobs[1].depends = strv1("no-such-job"); /* ignored, as ctest does */
        fx_start(&f);
        /* a waits for b; b and c start. */
        assert_int_equal(f.nspawned, 2);
        assert_int_equal(f.spawned[0], 1);
        assert_int_equal(f.spawned[1], 2);
        reap(&f, 0, 1);
        assert_int_equal(f.nspawned, 3);
        assert_int_equal(f.spawned[2], 0);
        reap(&f, 1, 0);
        reap(&f, 2, 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 0), SV_VERDICT_PASS);
        fx_done(&f);
}

static void test_sched_failed_fixture_setup_means_users_not_run_cleanup_runs(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=user /fake/u\nname=cleanup /fake/c\nname=setup /fake/s\n", 3);
        f.r.list.jobs[0].fixtures_required = strv1("db");
        f.r.list.jobs[1].fixtures_cleanup = strv1("db");
        f.r.list.jobs[2].fixtures_setup = strv1("db");
        fx_start(&f);
        assert_int_equal(f.nspawned, 1);
        assert_int_equal(f.spawned[0], 2);
        reap(&f, 0, 1);
        assert_int_equal(sv_report_verdict(f.r.rep, 0), SV_VERDICT_ERROR);
        assert_string_equal(f.how[0], "not run: fixture setup 'setup' did not pass");
        /* The cleanup runs after the user ended, even though it never ran. */
        assert_int_equal(f.nspawned, 2);
        assert_int_equal(f.spawned[1], 1);
        reap(&f, 1, 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 1), SV_VERDICT_PASS);
        fx_done(&f);
}

static void test_sched_passing_fixture_orders_setup_user_cleanup(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=cleanup /fake/c\nname=user /fake/u\nname=setup /fake/s\n", 3);
        f.r.list.jobs[0].fixtures_cleanup = strv1("db");
        f.r.list.jobs[1].fixtures_required = strv1("db");
        f.r.list.jobs[2].fixtures_setup = strv1("db");
        fx_start(&f);
        reap(&f, 0, 0);
        assert_int_equal(f.nspawned, 2);
        assert_int_equal(f.spawned[1], 1);
        reap(&f, 1, 0);
        assert_int_equal(f.spawned[2], 0);
        reap(&f, 2, 0);
        assert_int_equal(f.max_running, 1);
        fx_done(&f);
}

static void test_sched_resource_lock_is_held_by_one_job_at_a_time(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=a /fake/a\nname=b /fake/b\nname=c /fake/c\n", 3);
        f.r.list.jobs[0].locks = strv1("port");
        f.r.list.jobs[1].locks = strv1("port");
        fx_start(&f);
        assert_int_equal(f.nspawned, 2);
        assert_int_equal(f.spawned[1], 2);
        reap(&f, 0, 0);
        assert_int_equal(f.spawned[2], 1);
        reap(&f, 1, 0);
        reap(&f, 2, 0);
        fx_done(&f);
}

static void test_sched_run_serial_runs_alone(void **state) {
        fx f;
        sv_runner_progress p;

        (void) state;
        fx_init(&f, "name=a /fake/a\nname=s /fake/s\nname=b /fake/b\n", 3);
        f.r.list.jobs[1].flags |= SV_JOB_RUN_SERIAL;
        fx_start(&f);
        assert_int_equal(f.nspawned, 2); /* a and b; s waits for an empty run */
        reap(&f, 0, 0);
        assert_int_equal(f.nspawned, 2);
        reap(&f, 1, 0);
        assert_int_equal(f.nspawned, 3);
        assert_int_equal(f.spawned[2], 1);
        sv_runner_progress_get(f.r.rn, &p);
        assert_int_equal(p.running, 1);
        reap(&f, 2, 0);
        fx_done(&f);
}

static void test_sched_processors_count_against_parallel(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=big /fake/a\nname=b /fake/b\nname=c /fake/c\nname=huge /fake/h\n", 2);
        f.r.list.jobs[0].processors = 2;
        f.r.list.jobs[3].processors = 64; /* more than -j: all of it */
        fx_start(&f);
        assert_int_equal(f.nspawned, 1);
        reap(&f, 0, 0);
        assert_int_equal(f.nspawned, 3);
        reap(&f, 1, 0);
        assert_int_equal(f.nspawned, 3); /* huge waits for c */
        reap(&f, 2, 0);
        assert_int_equal(f.nspawned, 4);
        reap(&f, 3, 0);
        fx_done(&f);
}

static void test_sched_cycle_and_missing_file_are_not_run(void **state) {
        fx f;

        (void) state;
        fx_init(&f, "name=a /fake/a\nname=b /fake/b\nname=c /fake/c\n", 2);
        f.r.list.jobs[0].depends = strv1("b");
        f.r.list.jobs[1].depends = strv1("a");
        f.r.list.jobs[2].required_files = strv1("/no/such/file/anywhere");
        fx_start(&f);
        assert_int_equal(f.nspawned, 0);
        assert_int_equal(sv_report_verdict(f.r.rep, 0), SV_VERDICT_ERROR);
        assert_int_equal(sv_report_verdict(f.r.rep, 1), SV_VERDICT_ERROR);
        assert_string_equal(f.how[2], "not run: required file '/no/such/file/anywhere' is missing");
        assert_non_null(strstr(f.how[0], "cycle"));
        fx_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sched_depends_waits_for_the_end_not_the_verdict),
                cmocka_unit_test(test_sched_failed_fixture_setup_means_users_not_run_cleanup_runs),
                cmocka_unit_test(test_sched_passing_fixture_orders_setup_user_cleanup),
                cmocka_unit_test(test_sched_resource_lock_is_held_by_one_job_at_a_time),
                cmocka_unit_test(test_sched_run_serial_runs_alone),
                cmocka_unit_test(test_sched_processors_count_against_parallel),
                cmocka_unit_test(test_sched_cycle_and_missing_file_are_not_run),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
