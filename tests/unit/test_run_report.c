/* test_run_report.c - one event model, four renderings. A scripted run with
 * passing, failing, timed-out, crashing, flaky, skipped, unstartable and
 * never-run jobs (and hostile names and output) is fed in as events; the
 * events file must be valid JSON lines, the JUnit must satisfy python3's XML
 * parser, the TAP must satisfy prove, and the summary must count right. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "supervise/sv_run.h"
#include "svtest.h"

/* Job indexes of the scripted run. */
enum { J_PASS, J_FAIL, J_TIMEOUT, J_CRASH, J_FLAKY, J_SKIP, J_ERROR, J_NOTRUN, J_HOSTILE, J_WILLFAIL, J_COUNT };

static const char *const job_text =
        "name=pass /bin/true\n"
        "name=fail ./t --exit 3\n"
        "name=hang ./t --hang\n"
        "name=segv ./t --segv\n"
        "name=flaky ./t --flaky\n"
        "name=disabled ./t\n"
        "name=missing ./no-such-program\n"
        "name=never ./t\n"
        "./t '#1 <b>&amp;</b> \"q\" ]]>' \"\\\\\" 'caf\xc3\xa9' '\xff\xfe'\n"
        "name=willfail ./t --exit 0\n";

/* What each test checks: the output a hostile job printed. */
static const char hostile_output[] = "ctl:\x01\x02\x1b[31m\x7f tab:\t cr:\r amp:& lt:< gt:> ]]> "
                                     "quote:\" apos:' bad:\xc0\xaf\xed\xa0\x80\xf5 fffe:\xef\xbf\xbe "
                                     "ok:\xe2\x82\xac\n";

static char tmpdir[] = "/tmp/test_run_report.XXXXXX";

static int setup(void **state) {
        (void) state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        const char *const argv[] = { "rm", "-rf", tmpdir, NULL };

        (void) state;
        return WEXITSTATUS(svt_run(argv, NULL, NULL, NULL, 10000));
}

static const char *path_of(const char *name) {
        static char buf[4][256];
        static int k;

        k = (k + 1) % 4;
        (void) snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
        return buf[k];
}

static void add(sv_report *r, const sv_run_event *ev) {
        assert_int_equal(sv_report_add(r, ev), 0);
}

static void spawn(sv_report *r, size_t job, unsigned attempt, uint64_t t) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        ev.type = SV_RUN_EV_SPAWN;
        ev.job = job;
        ev.attempt = attempt;
        ev.pid = (pid_t) (1000 + job * 10 + attempt);
        ev.t_ms = t;
        add(r, &ev);
}

static void finish(sv_report *r, const sv_joblist *jobs, size_t job, unsigned attempt, uint64_t t,
                   sv_exit_info *e, const char *output) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        e->pid = (pid_t) (1000 + job * 10 + attempt);
        ev.type = SV_RUN_EV_EXIT;
        ev.job = job;
        ev.attempt = attempt;
        ev.pid = e->pid;
        ev.t_ms = t;
        ev.exit = e;
        ev.verdict = sv_verdict_of(&jobs->jobs[job], e);
        ev.text = output;
        add(r, &ev);
}

static sv_exit_info signaled(int sig, sv_cause cause, uint64_t wall_ms) {
        sv_exit_info e = svt_exited(0, wall_ms);

        e.exited = false;
        e.code = -sig;
        e.signal = sig;
        e.cause = cause;
        return e;
}

/* Runs the whole scripted run into a new report. */
static sv_report *scripted_run(sv_joblist *jobs, int events_fd) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e;
        sv_report *r;

        assert_int_equal(sv_jobfile_parse_mem(job_text, strlen(job_text), "t.jobs", jobs, NULL, 0), J_COUNT);
        jobs->jobs[J_TIMEOUT].timeout_ms = 10000;
        jobs->jobs[J_SKIP].flags |= SV_JOB_DISABLED;
        jobs->jobs[J_WILLFAIL].flags |= SV_JOB_WILL_FAIL;
        assert_int_equal(sv_report_new(jobs, &r), 0);
        sv_report_set_events_fd(r, events_fd);

        ev.type = SV_RUN_EV_START;
        ev.unix_ms = UINT64_C(1700000000123);
        ev.count = 4;
        add(r, &ev);

        spawn(r, J_PASS, 1, 1);
        e = svt_exited(0, 120);
        finish(r, jobs, J_PASS, 1, 121, &e, "all good\n");

        spawn(r, J_FAIL, 1, 2);
        e = svt_exited(3, 50);
        finish(r, jobs, J_FAIL, 1, 52, &e, "assertion failed: x == 1\n");

        spawn(r, J_TIMEOUT, 1, 3);
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_DIAG;
        ev.job = J_TIMEOUT;
        ev.reason = "snapshot";
        ev.text = "pid 1023 ppid 1 state S wchan hrtimer_nanosleep cmd ./t --hang\n";
        ev.t_ms = 10003;
        add(r, &ev);
        ev.type = SV_RUN_EV_STEP;
        ev.pid = 1023;
        ev.signal = SIGTERM;
        ev.step = 0;
        ev.grace_ms = 5000;
        ev.reason = "timeout";
        add(r, &ev);
        ev.type = SV_RUN_EV_STEP;
        ev.signal = SIGKILL;
        ev.step = 1;
        ev.grace_ms = 0;
        ev.t_ms = 15003;
        add(r, &ev);
        e = signaled(SIGKILL, SV_CAUSE_TIMEOUT, 15000);
        e.timeout_ms = 10000;
        e.stop_step = 1;
        finish(r, jobs, J_TIMEOUT, 1, 15004, &e, "waiting...\n");

        spawn(r, J_CRASH, 1, 4);
        e = signaled(SIGSEGV, SV_CAUSE_SIGNALED, 30);
        e.core_dumped = true;
        finish(r, jobs, J_CRASH, 1, 34, &e, NULL);

        spawn(r, J_FLAKY, 1, 5);
        e = svt_exited(1, 40);
        finish(r, jobs, J_FLAKY, 1, 45, &e, "try 1 failed\n");
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_RETRY;
        ev.job = J_FLAKY;
        ev.attempt = 1;
        ev.reason = "fail";
        ev.t_ms = 45;
        add(r, &ev);
        spawn(r, J_FLAKY, 2, 46);
        e = svt_exited(0, 41);
        finish(r, jobs, J_FLAKY, 2, 87, &e, "try 2 passed\n");

        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_SKIP;
        ev.job = J_SKIP;
        ev.reason = "disabled";
        add(r, &ev);

        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_EXIT;
        ev.job = J_ERROR;
        ev.verdict = SV_VERDICT_ERROR;
        ev.error = UV_ENOENT;
        ev.t_ms = 90;
        add(r, &ev);

        spawn(r, J_HOSTILE, 1, 91);
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_LEAK;
        ev.job = J_HOSTILE;
        ev.count = 2;
        ev.t_ms = 95;
        add(r, &ev);
        e = svt_exited(2, 9);
        finish(r, jobs, J_HOSTILE, 1, 100, &e, hostile_output);

        spawn(r, J_WILLFAIL, 1, 101);
        e = svt_exited(0, 1);
        finish(r, jobs, J_WILLFAIL, 1, 102, &e, "");

        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_END;
        ev.t_ms = 15100;
        add(r, &ev);
        return r;
}

static char *slurp(const char *path) {
        FILE *f = fopen(path, "re");
        char *p;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        p = malloc((size_t) n + 1);
        assert_non_null(p);
        assert_int_equal(fread(p, 1, (size_t) n, f), (size_t) n);
        p[n] = '\0';
        (void) fclose(f);
        return p;
}

static void write_with(const sv_report *r, const char *path,
                       int (*fn)(const sv_report *, FILE *)) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fn(r, f), 0);
        assert_int_equal(fclose(f), 0);
}

static int junit_default(const sv_report *r, FILE *f) {
        return sv_report_write_junit(r, f, NULL);
}

/* ---- verdicts and counts ---- */

static void test_report_verdicts_and_counts_follow_the_events(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        sv_report_counts c;
        sv_report *r;

        (void) state;
        r = scripted_run(&jobs, -1);
        assert_int_equal(sv_report_verdict(r, J_PASS), SV_VERDICT_PASS);
        assert_int_equal(sv_report_verdict(r, J_FAIL), SV_VERDICT_FAIL);
        assert_int_equal(sv_report_verdict(r, J_TIMEOUT), SV_VERDICT_TIMEOUT);
        assert_int_equal(sv_report_verdict(r, J_CRASH), SV_VERDICT_CRASH);
        assert_int_equal(sv_report_verdict(r, J_FLAKY), SV_VERDICT_PASS);
        assert_int_equal(sv_report_verdict(r, J_SKIP), SV_VERDICT_SKIP);
        assert_int_equal(sv_report_verdict(r, J_ERROR), SV_VERDICT_ERROR);
        assert_int_equal(sv_report_verdict(r, J_NOTRUN), SV_VERDICT_NOTRUN);
        assert_int_equal(sv_report_verdict(r, J_HOSTILE), SV_VERDICT_FAIL);
        assert_int_equal(sv_report_verdict(r, J_WILLFAIL), SV_VERDICT_FAIL);
        assert_int_equal(sv_report_verdict(r, 999), SV_VERDICT_NOTRUN);
        sv_report_get_counts(r, &c);
        assert_int_equal(c.total, J_COUNT);
        assert_int_equal(c.passed, 2);
        assert_int_equal(c.failed, 3);
        assert_int_equal(c.timed_out, 1);
        assert_int_equal(c.crashed, 1);
        assert_int_equal(c.flaky, 1);
        assert_int_equal(c.skipped, 1);
        assert_int_equal(c.errors, 1);
        assert_int_equal(c.not_run, 1);
        assert_int_equal(c.wall_ms, 15100);
        sv_report_free(r);
        sv_joblist_release(&jobs);
}

static void test_verdict_of_judges_exit_records(void **state) {
        sv_job job = { 0 };
        sv_exit_info e;

        (void) state;
        job.skip_code = 77;
        e = svt_exited(0, 1);
        assert_int_equal(sv_verdict_of(NULL, &e), SV_VERDICT_PASS);
        e = svt_exited(77, 1);
        assert_int_equal(sv_verdict_of(NULL, &e), SV_VERDICT_FAIL);
        assert_int_equal(sv_verdict_of(&job, &e), SV_VERDICT_SKIP);
        job.flags = SV_JOB_WILL_FAIL;
        e = svt_exited(1, 1);
        assert_int_equal(sv_verdict_of(&job, &e), SV_VERDICT_PASS);
        e = signaled(SIGABRT, SV_CAUSE_SIGNALED, 1);
        assert_int_equal(sv_verdict_of(&job, &e), SV_VERDICT_CRASH);
        e = signaled(SIGTERM, SV_CAUSE_STOPPED, 1);
        assert_int_equal(sv_verdict_of(&job, &e), SV_VERDICT_STOPPED);
        /* A job that handled the timeout's SIGTERM and exited 0 still timed out. */
        e = svt_exited(0, 1);
        e.cause = SV_CAUSE_TIMEOUT;
        assert_int_equal(sv_verdict_of(NULL, &e), SV_VERDICT_TIMEOUT);
        assert_string_equal(sv_verdict_name(SV_VERDICT_NOTRUN), "notrun");
        assert_string_equal(sv_verdict_name(SV_VERDICT_COUNT), "unknown");
        assert_string_equal(sv_run_event_name(SV_RUN_EV_EXIT), "exit");
}

static void test_signame_names_signals_and_falls_back_to_numbers(void **state) {
        char buf[16];

        (void) state;
        assert_string_equal(sv_run_signame(SIGKILL, buf), "SIGKILL");
        assert_string_equal(sv_run_signame(SIGSEGV, buf), "SIGSEGV");
        assert_string_equal(sv_run_signame(SIGRTMIN + 2, buf), "SIGRTMIN+2");
        assert_string_equal(sv_run_signame(SIGRTMIN, buf), "SIGRTMIN");
        assert_string_equal(sv_run_signame(200, buf), "SIG200");
        assert_string_equal(sv_run_signame(0, buf), "SIG0");
}

/* ---- the events file ---- */

static void test_report_events_file_is_one_json_object_per_line(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("events.jsonl");
        json_error_t je;
        json_t *o, *exit_timeout = NULL, *exit_hostile = NULL;
        char *text, *line, *save;
        unsigned n = 0;
        sv_report *r;
        int fd;

        (void) state;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        r = scripted_run(&jobs, fd);
        assert_int_equal(close(fd), 0);
        sv_report_free(r);
        sv_joblist_release(&jobs);

        text = slurp(path);
        assert_int_equal(text[strlen(text) - 1], '\n');
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *type, *name;

                o = json_loads(line, 0, &je);
                if (!o)
                        fail_msg("line %u is not JSON (%s): %s", n + 1, je.text, line);
                type = json_string_value(json_object_get(o, "event"));
                assert_non_null(type);
                assert_true(json_is_integer(json_object_get(o, "t_ms")));
                name = json_string_value(json_object_get(o, "name"));
                if (strcmp(type, "exit") == 0 && name && strcmp(name, "hang") == 0)
                        exit_timeout = json_incref(o);
                if (strcmp(type, "exit") == 0 && json_integer_value(json_object_get(o, "job")) == J_HOSTILE)
                        exit_hostile = json_incref(o);
                if (n == 0) {
                        assert_string_equal(type, "start");
                        assert_string_equal(json_string_value(json_object_get(o, "time")),
                                            "2023-11-14T22:13:20.123Z");
                        assert_int_equal(json_integer_value(json_object_get(o, "jobs")), J_COUNT);
                }
                json_decref(o);
                n++;
        }
        assert_int_equal(n, 25);
        assert_non_null(exit_timeout);
        assert_string_equal(json_string_value(json_object_get(exit_timeout, "verdict")), "timeout");
        assert_string_equal(json_string_value(json_object_get(exit_timeout, "cause")), "timeout");
        assert_string_equal(json_string_value(json_object_get(exit_timeout, "signal")), "SIGKILL");
        assert_int_equal(json_integer_value(json_object_get(exit_timeout, "code")), -9);
        assert_true(json_is_true(json_object_get(exit_timeout, "timed_out")));
        /* The one exit record (docs/json.md): the step 1-based, times in ms as numbers. */
        assert_int_equal(json_integer_value(json_object_get(exit_timeout, "step")), 2);
        assert_true(json_number_value(json_object_get(exit_timeout, "wall_ms")) == 15000.0);
        assert_true(json_number_value(json_object_get(exit_timeout, "user_ms")) == 1.5);
        assert_int_equal(json_integer_value(json_object_get(exit_timeout, "max_rss_kb")), 2048);
        assert_string_equal(json_string_value(json_object_get(exit_timeout, "output_tail")), "waiting...\n");
        /* Each byte of invalid UTF-8 in the output became the text \xHH, the
         * rest survived, and the raw bytes are in output_tail_b64. */
        assert_non_null(exit_hostile);
        assert_non_null(strstr(json_string_value(json_object_get(exit_hostile, "output_tail")),
                               "bad:\\xC0\\xAF\\xED\\xA0\\x80\\xF5 "));
        assert_non_null(json_string_value(json_object_get(exit_hostile, "output_tail_b64")));
        assert_null(json_object_get(exit_timeout, "output_tail_b64"));
        assert_non_null(strstr(json_string_value(json_object_get(exit_hostile, "output_tail")),
                               "ok:\xe2\x82\xac"));
        json_decref(exit_timeout);
        json_decref(exit_hostile);
        free(text);
}

static void test_report_events_write_error_is_returned_but_record_kept(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e = svt_exited(0, 5);
        sv_report *r;
        int p[2];

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem("a\n", 2, "j", &jobs, NULL, 0), 1);
        assert_int_equal(sv_report_new(&jobs, &r), 0);
        sv_joblist_release(&jobs);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(close(p[0]), 0);
        sv_report_set_events_fd(r, p[1]);
        ev.type = SV_RUN_EV_EXIT;
        ev.exit = &e;
        ev.verdict = SV_VERDICT_PASS;
        /* SIGPIPE is ignored by cmocka's runner? Not necessarily: ignore it here. */
        {
                struct sigaction sa, old;

                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = SIG_IGN;
                assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
                assert_int_equal(sv_report_add(r, &ev), UV_EPIPE);
                assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
        }
        assert_int_equal(sv_report_verdict(r, 0), SV_VERDICT_PASS);
        ev.job = 1;
        assert_int_equal(sv_report_add(r, &ev), UV_EINVAL);
        ev.type = SV_RUN_EV_COUNT;
        assert_int_equal(sv_report_add(r, &ev), UV_EINVAL);
        assert_int_equal(close(p[1]), 0);
        sv_report_free(r);
        sv_report_free(NULL);
}

/* A supervisor SIGKILLed while it writes events leaves a file whose every
 * newline-terminated line is a whole JSON object. The child writes events
 * with large output tails forever; we kill it once it is under way. */
static void test_report_events_survive_sigkill_of_the_writer(void **state) {
        const char *path = path_of("killed.jsonl");
        char *text, *line, *save, *big;
        sv_joblist jobs = SV_JOBLIST_INIT;
        unsigned lines = 0;
        size_t len;
        pid_t pid;
        int p[2], fd, st;
        char c;

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem("a\n", 2, "j", &jobs, NULL, 0), 1);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                sv_run_event ev = SV_RUN_EVENT_INIT;
                sv_exit_info e = svt_exited(1, 1);
                sv_report *r;
                unsigned i;

                big = malloc(60000);
                if (!big || sv_report_new(&jobs, &r) < 0)
                        _exit(2);
                memset(big, 'o', 59999);
                big[59999] = '\0';
                sv_report_set_events_fd(r, fd);
                ev.type = SV_RUN_EV_EXIT;
                ev.exit = &e;
                ev.verdict = SV_VERDICT_FAIL;
                ev.text = big;
                for (i = 0;; i++) {
                        ev.t_ms = i;
                        ev.attempt = i % 5 + 1;
                        if (sv_report_add(r, &ev) < 0)
                                _exit(3);
                        if (i == 20 && write(p[1], "r", 1) != 1)
                                _exit(4);
                }
        }
        (void) close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        assert_int_equal(kill(pid, SIGKILL), 0);
        st = svt_wait(pid, 10000);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        (void) close(p[0]);
        (void) close(fd);
        sv_joblist_release(&jobs);

        text = slurp(path);
        len = strlen(text);
        /* Bytes after the last newline can only be a line cut by the kill. */
        while (len > 0 && text[len - 1] != '\n')
                len--;
        text[len] = '\0';
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_error_t je;
                json_t *o = json_loads(line, 0, &je);

                if (!o)
                        fail_msg("line %u is not JSON: %s", lines + 1, je.text);
                assert_int_equal(strlen(json_string_value(json_object_get(o, "output_tail"))), 59999);
                json_decref(o);
                lines++;
        }
        assert_true(lines >= 21);
        free(text);
        svt_assert_no_children();
}

/* ---- JUnit ---- */

static const char junit_check_py[] =
        "import sys, xml.etree.ElementTree as E\n"
        "root = E.parse(sys.argv[1]).getroot()\n"
        "s = root.find('testsuite')\n"
        "out = [root.tag, s.get('tests'), s.get('failures'), s.get('errors'), s.get('skipped')]\n"
        "for c in s.findall('testcase'):\n"
        "    kids = [k.tag + ('=' + k.get('type') if k.get('type') else '') for k in c\n"
        "            if k.tag not in ('system-out', 'properties')]\n"
        "    props = {p.get('name'): p.get('value') for p in c.iter('property')}\n"
        "    out.append(c.get('name') + ':' + c.get('time') + ':' + ','.join(kids) +\n"
        "               (':flaky' if props.get('flaky') == 'true' else ''))\n"
        "h = s.findall('testcase')[8]\n"
        "out.append(repr(h.find('system-out').text))\n"
        "out.append(repr(h.find('failure').get('message')))\n"
        "print('\\n'.join(out))\n";

static void test_report_junit_parses_with_python_xml(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("junit.xml");
        const char *argv[] = { "python3", "-c", junit_check_py, path, NULL };
        char *out = NULL, *err = NULL;
        sv_report *r;
        int st;

        (void) state;
        r = scripted_run(&jobs, -1);
        write_with(r, path, junit_default);
        sv_report_free(r);
        sv_joblist_release(&jobs);

        st = svt_run(argv, NULL, &out, &err, 30000);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("python3 rejected the JUnit: %s", err);
        assert_string_equal(
                out,
                "testsuites\n10\n5\n1\n2\n"
                "pass:0.120:\n"
                "fail:0.050:failure=fail\n"
                "hang:15.000:failure=timeout\n"
                "segv:0.030:failure=SIGSEGV\n"
                "flaky:0.081:flakyFailure=fail:flaky\n"
                "disabled:0.000:skipped\n"
                "missing:0.000:error=error\n"
                "never:0.000:skipped\n"
                "./t '#1 <b>&amp;</b> \"q\" ]]>' \"\\\\\" 'caf\xc3\xa9' '\\xFF\\xFE':0.009:failure=fail\n"
                "willfail:0.001:failure=fail\n"
                "'ctl:\\\\x01\\\\x02\\\\x1B[31m\\\\x7F tab:\\t cr:\\r amp:& lt:< gt:> ]]> quote:\" apos:\\' "
                "bad:\\\\xC0\\\\xAF\\\\xED\\\\xA0\\\\x80\\\\xF5 fffe:\\\\uFFFE ok:€\\n'\n"
                "'exit code 2, 2 processes left behind'\n");
        free(out);
        free(err);
}

static void test_report_junit_timeout_names_the_signal_and_diagnostics(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("junit2.xml");
        char *text;
        sv_report *r;

        (void) state;
        r = scripted_run(&jobs, -1);
        write_with(r, path, junit_default);
        sv_report_free(r);
        sv_joblist_release(&jobs);
        text = slurp(path);
        assert_non_null(strstr(text, "message=\"timed out after 10.000 s; killed by SIGKILL (-9)\""));
        assert_non_null(strstr(text, "message=\"killed by SIGSEGV (-11), core dumped\" type=\"SIGSEGV\""));
        assert_non_null(strstr(text, "--- snapshot ---\npid 1023 ppid 1 state S wchan hrtimer_nanosleep"));
        assert_non_null(strstr(text, "could not start: no such file or directory (ENOENT)"));
        assert_non_null(strstr(text, "exit code 0, but the job is expected to fail"));
        assert_non_null(strstr(text, "<skipped message=\"disabled\"/>"));
        assert_non_null(strstr(text, "timestamp=\"2023-11-14T22:13:20\""));
        free(text);
}

/* ---- TAP ---- */

static void prove(const char *path, bool want_pass, const char *want_in_output) {
        const char *argv[] = { "prove", "-v", "-e", "cat", path, NULL };
        char *out = NULL, *err = NULL;
        int st;

        st = svt_run(argv, NULL, &out, &err, 30000);
        assert_true(WIFEXITED(st));
        if (strstr(out, "Parse errors") || strstr(err, "Parse errors") || strstr(err, "YAML"))
                fail_msg("prove found TAP errors:\n%s\n%s", out, err);
        if ((WEXITSTATUS(st) == 0) != want_pass)
                fail_msg("prove exited %d:\n%s\n%s", WEXITSTATUS(st), out, err);
        if (want_in_output && !strstr(out, want_in_output))
                fail_msg("prove output lacks '%s':\n%s", want_in_output, out);
        free(out);
        free(err);
}

static void test_report_tap_satisfies_prove(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("run.tap");
        char *text;
        sv_report *r;

        (void) state;
        r = scripted_run(&jobs, -1);
        write_with(r, path, sv_report_write_tap);
        sv_report_free(r);
        sv_joblist_release(&jobs);
        prove(path, false, "Failed 7/10 subtests");
        text = slurp(path);
        assert_int_equal(strncmp(text, "TAP version 13\n1..10\nok 1 - pass\nnot ok 2 - fail\n  ---\n", 54), 0);
        assert_non_null(strstr(text, "ok 6 - disabled # SKIP disabled\n"));
        assert_non_null(strstr(text, "ok 9 - ./t '\\#1 <b>&amp;</b>"));
        assert_non_null(strstr(text, "  signal: SIGKILL\n  core_dumped: false\n  timed_out: true\n  wall_ms: 15000\n"));
        assert_non_null(strstr(text, "ok 5 - flaky\n  ---\n  verdict: pass\n"));
        assert_non_null(strstr(text, "  flaky: true\n"));
        free(text);
}

static void test_report_tap_of_a_passing_run_passes_prove(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("pass.tap");
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e = svt_exited(0, 3);
        const char *three = "a\nb # c\nname=x#y z\n";
        sv_report *r;
        size_t i;

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem(three, strlen(three), "j", &jobs, NULL, 0), 3);
        assert_int_equal(sv_report_new(&jobs, &r), 0);
        for (i = 0; i < 3; i++) {
                spawn(r, i, 1, i);
                finish(r, &jobs, i, 1, i + 3, &e, "fine\n");
        }
        ev.type = SV_RUN_EV_END;
        add(r, &ev);
        write_with(r, path, sv_report_write_tap);
        prove(path, true, "ok 3 - x\\#y");
        sv_report_free(r);
        sv_joblist_release(&jobs);

        /* No jobs at all: "1..0" is a valid plan. */
        assert_int_equal(sv_report_new(&jobs, &r), 0);
        write_with(r, path, sv_report_write_tap);
        sv_report_free(r);
        prove(path, true, NULL);
}

/* ---- summary ---- */

static void expect_in(const char *text, const char *needle) {
        if (!strstr(text, needle))
                fail_msg("'%s' not in:\n%s", needle, text);
}

static void test_report_summary_counts_and_lists_the_slowest(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        const char *path = path_of("summary.txt");
        char *text;
        sv_report *r;

        (void) state;
        r = scripted_run(&jobs, -1);
        write_with(r, path, sv_report_write_summary);
        sv_report_free(r);
        sv_joblist_release(&jobs);
        text = slurp(path);
        expect_in(text, "FAIL     fail: exit code 3\n");
        expect_in(text, "TIMEOUT  hang: timed out after 10.000 s; killed by SIGKILL (-9)\n");
        expect_in(text, "CRASH    segv: killed by SIGSEGV (-11), core dumped\n");
        expect_in(text, "FLAKY    flaky: passed on attempt 2 of 2\n");
        expect_in(text, "ERROR    missing: could not start");
        expect_in(text, "caf\xc3\xa9' '\\xFF\\xFE': exit code 2");
        expect_in(text, "10 jobs: 2 passed, 3 failed, 1 timed out, 1 crashed (SIGSEGV), 1 flaky, "
                                     "1 skipped, 1 could not start, 1 not run\n");
        expect_in(text, "slowest:\n      15.000 s  hang\n       0.120 s  pass\n"
                                     "       0.081 s  flaky\n       0.050 s  fail\n       0.030 s  segv\n"
                                     "total time: 15.100 s\n");
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_report_verdicts_and_counts_follow_the_events),
                cmocka_unit_test(test_verdict_of_judges_exit_records),
                cmocka_unit_test(test_signame_names_signals_and_falls_back_to_numbers),
                cmocka_unit_test(test_report_events_file_is_one_json_object_per_line),
                cmocka_unit_test(test_report_events_write_error_is_returned_but_record_kept),
                cmocka_unit_test(test_report_events_survive_sigkill_of_the_writer),
                cmocka_unit_test(test_report_junit_parses_with_python_xml),
                cmocka_unit_test(test_report_junit_timeout_names_the_signal_and_diagnostics),
                cmocka_unit_test(test_report_tap_satisfies_prove),
                cmocka_unit_test(test_report_tap_of_a_passing_run_passes_prove),
                cmocka_unit_test(test_report_summary_counts_and_lists_the_slowest),
        };

        return cmocka_run_group_tests_name("run_report", tests, setup, teardown);
}
