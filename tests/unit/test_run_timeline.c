/* test_run_timeline.c - sv_report_write_timeline() on scripted events: the
 * cases a real run rarely makes (an attempt still running at END, a job
 * that could not start, a skip, bars in three slots, a command with bytes
 * that are not UTF-8), the geometry (bars start and end where the events
 * say, on the row of their slot), and a write error returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervise/sv_run.h"
#include "svtest.h"

enum { J_A, J_B, J_C, J_SKIP, J_ERROR, J_COUNT };

static const char *const job_text = "name=a ./t --a\n"
                                    "name=b ./t 'caf\xc3\xa9' '\xff<x>'\n"
                                    "name=c ./t --hang\n"
                                    "name=skipped ./t\n"
                                    "name=missing ./no-such-program\n";

static void add(sv_report *r, sv_run_event_type type, size_t job, unsigned attempt, unsigned slot,
                uint64_t t, const sv_exit_info *e, sv_verdict v) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        ev.type = type;
        ev.job = job;
        ev.attempt = attempt;
        ev.slot = slot;
        ev.t_ms = t;
        ev.exit = e;
        ev.verdict = v;
        ev.pid = 100;
        if (v == SV_VERDICT_ERROR)
                ev.error = UV_ENOENT;
        if (type == SV_RUN_EV_SKIP)
                ev.reason = "disabled";
        assert_int_equal(sv_report_add(r, &ev), 0);
}

/* a: passes in slot 0 from 0 to 1000 ms; b: fails (slot 1, 0-500), passes
 * on attempt 2 (slot 1, 500-2000); c: starts in slot 2 at 1000 and never
 * ends before END at 4000; skipped and missing never run. */
static char *render(sv_report **out_r) {
        sv_exit_info ok = svt_exited(0, 1000), bad = svt_exited(1, 500), ok2 = svt_exited(0, 1500);
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_joblist l = SV_JOBLIST_INIT;
        char *text = NULL;
        size_t len = 0;
        sv_report *r;
        FILE *f;

        assert_int_equal(sv_jobfile_parse_mem(job_text, strlen(job_text), NULL, &l, NULL, 0), J_COUNT);
        assert_int_equal(sv_report_new(&l, &r), 0);
        sv_joblist_release(&l);
        ev.type = SV_RUN_EV_START;
        ev.count = 3;
        ev.unix_ms = 1700000000000ull;
        assert_int_equal(sv_report_add(r, &ev), 0);
        add(r, SV_RUN_EV_SPAWN, J_A, 1, 0, 0, NULL, 0);
        add(r, SV_RUN_EV_SPAWN, J_B, 1, 1, 0, NULL, 0);
        add(r, SV_RUN_EV_EXIT, J_B, 1, 0, 500, &bad, SV_VERDICT_FAIL);
        add(r, SV_RUN_EV_SPAWN, J_B, 2, 1, 500, NULL, 0);
        add(r, SV_RUN_EV_EXIT, J_A, 1, 0, 1000, &ok, SV_VERDICT_PASS);
        add(r, SV_RUN_EV_SPAWN, J_C, 1, 2, 1000, NULL, 0);
        add(r, SV_RUN_EV_EXIT, J_B, 2, 0, 2000, &ok2, SV_VERDICT_PASS);
        add(r, SV_RUN_EV_SKIP, J_SKIP, 1, 0, 2000, NULL, 0);
        add(r, SV_RUN_EV_EXIT, J_ERROR, 1, 0, 2000, NULL, SV_VERDICT_ERROR);
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_END;
        ev.t_ms = 4000;
        assert_int_equal(sv_report_add(r, &ev), 0);

        f = open_memstream(&text, &len);
        assert_non_null(f);
        assert_int_equal(sv_report_write_timeline(r, f, "unit <test>"), 0);
        assert_int_equal(fclose(f), 0);
        *out_r = r;
        return text;
}

static int count(const char *hay, const char *needle) {
        int n = 0;

        for (; (hay = strstr(hay, needle)) != NULL; hay++)
                n++;
        return n;
}

/* The bar of `title_start` (its <title>'s first line): its rect's x, y and
 * width. */
static void bar_geometry(const char *page, const char *title_start, double *x, double *y,
                         double *w) {
        const char *p = strstr(page, title_start);

        assert_non_null(p);
        p = strstr(p, "<rect ");
        assert_non_null(p);
        assert_int_equal(sscanf(p, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\"", x, y, w), 3);
}

static void test_timeline_draws_every_attempt_on_its_slot_row(void **state) {
        double x0, y0, w0, x1, y1, w1, x2, y2, w2, x3, y3, w3;
        sv_report *r;
        char *page;

        (void) state;
        page = render(&r);
        assert_int_equal(count(page, "<g class=\"bar "), 4);
        assert_int_equal(count(page, "<g class=\"bar v-pass\">"), 2);
        assert_int_equal(count(page, "<g class=\"bar v-fail\">"), 1);
        assert_int_equal(count(page, "<g class=\"bar v-notrun\">"), 1);
        assert_int_equal(count(page, ">slot "), 3);
        assert_non_null(strstr(page, "<title>unit &lt;test&gt;: timeline</title>"));

        /* 4000 ms over 960 px from x=72: a 0-1000, b 0-500 and 500-2000,
         * c 1000 to the end; rows 26 px apart. */
        bar_geometry(page, "<title>a (attempt 1)", &x0, &y0, &w0);
        bar_geometry(page, "<title>b (attempt 1)", &x1, &y1, &w1);
        bar_geometry(page, "<title>b (attempt 2)", &x2, &y2, &w2);
        bar_geometry(page, "<title>c (attempt 1)", &x3, &y3, &w3);
        assert_true(x0 == 72.0 && w0 == 240.0);
        assert_true(x1 == 72.0 && w1 == 120.0);
        assert_true(x2 == 192.0 && w2 == 360.0);
        assert_true(x3 == 312.0 && w3 == 720.0);
        assert_true(y1 == y0 + 26 && y2 == y1 && y3 == y1 + 26);

        assert_non_null(strstr(page, "exit: none (still running when the run ended)"));
        assert_non_null(strstr(page, "exit: 1\nduration: 0.500 s\nverdict: fail\n"));
        /* Every job has a row, those that never ran too. */
        assert_non_null(strstr(page, "<td>skipped</td><td><span class=\"v-skip\">skip</span></td>"));
        assert_non_null(strstr(page, "<td>disabled</td>"));
        assert_non_null(strstr(page, "<td>missing</td><td><span class=\"v-error\">error</span></td>"));
        assert_non_null(strstr(page, "none (could not start: no such file or directory)"));
        assert_non_null(strstr(page, "<span class=\"v-pass\">pass</span> (flaky)"));
        sv_report_free(r);
        free(page);
}

static void test_timeline_escapes_commands_and_keeps_every_byte(void **state) {
        sv_report *r;
        char *page;

        (void) state;
        page = render(&r);
        /* UTF-8 kept, the byte that is not shown as \xFF, markup as entities. */
        assert_non_null(strstr(page, "command: ./t caf\xc3\xa9 '\\xFF&lt;x&gt;'"));
        assert_null(strchr(page, '\xff'));
        assert_null(strstr(page, "<x>"));
        sv_report_free(r);
        free(page);
}

static void test_timeline_returns_the_write_error(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        sv_report *r;
        FILE *f;

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem(job_text, strlen(job_text), NULL, &l, NULL, 0), J_COUNT);
        assert_int_equal(sv_report_new(&l, &r), 0);
        sv_joblist_release(&l);
        f = fopen("/dev/full", "we");
        assert_non_null(f);
        assert_int_equal(sv_report_write_timeline(r, f, NULL), UV_ENOSPC);
        (void) fclose(f);
        sv_report_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timeline_draws_every_attempt_on_its_slot_row),
                cmocka_unit_test(test_timeline_escapes_commands_and_keeps_every_byte),
                cmocka_unit_test(test_timeline_returns_the_write_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
