/* test_run_cli.c - `supervise run` as a CI system meets it: a job list with
 * passing, failing, crashing, hanging, flaky and flooding commands; the
 * reports read back by real parsers (python3's xml.etree for JUnit, `prove`
 * for TAP, jansson for the events); --tag lines that never mix; hang
 * diagnostics and --on-timeout; the events file after a SIGKILL; signals;
 * --ctest on a CMake project generated here; bad input failing before any
 * job starts; and the exit status table. Everything runs the real binary and
 * real workers; waits are for events (a line, EOF, an exit), and every test
 * ends by proving that no process and no zombie is left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 30000
#define MAX_ARGS 32
#define MAX_KEPT 256

typedef struct fixture {
        svt_proc sup; /* a supervise we started and have not reaped yet */
        json_t *json[MAX_KEPT];
        int njson;
} fixture;

static fixture fx;

static json_t *keep_json(json_t *o) {
        assert_true(fx.njson < MAX_KEPT);
        fx.json[fx.njson++] = o;
        return o;
}

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        svt_proc_init(&fx.sup);
        return svt_scratch_begin("/tmp/svrun.XXXXXX");
}

static int teardown(void **state) {
        int i;

        (void) state;
        for (i = 0; i < fx.njson; i++)
                json_decref(fx.json[i]);
        /* The guardian of a supervise killed here ends its trees; whatever
         * is left, the reap below kills. */
        svt_proc_release(&fx.sup, T_MS);
        return svt_scratch_end(T_MS);
}

/* ---- Helpers ---- */

/* Runs `supervise run ARGS` to the end; returns its wait status. */
static int run_cli(const char *const args[], char **out, char **err) {
        return svt_run_cli("run", args, NULL, out, err, T_MS);
}

static void start_cli(const char *const args[]) {
        svt_start_cli(&fx.sup, "run", args);
}

static int finish_cli(char **out, char **err) {
        int st = svt_proc_finish(&fx.sup, out, err, T_MS);

        svt_keep(*out);
        svt_keep(*err);
        return st;
}

/* Runs a program (no shell) and returns its stdout; stores its exit code. */
static char *tool_output(const char *const argv[], int *out_code) {
        char *out = NULL, *err = NULL;
        int st;

        st = svt_run_kept(argv, NULL, &out, &err, T_MS);
        assert_true(WIFEXITED(st));
        *out_code = WEXITSTATUS(st);
        if (*out_code != 0 && *out_code != 1)
                fail_msg("%s exited %d; stderr:\n%s", argv[0], *out_code, err);
        return out;
}

/* ---- The events file ---- */

typedef struct events {
        json_t *ev[MAX_KEPT];
        int n;
} events;

/* Parses every line of the events file; each must be a complete JSON object
 * with "event" and "t_ms", and the file must end with a newline. */
static void events_load(const char *path, events *out) {
        char *text = svt_slurp(path, NULL), *line, *save = NULL;
        json_error_t jerr;
        size_t len = strlen(text);
        json_t *o;

        out->n = 0;
        if (len && text[len - 1] != '\n')
                fail_msg("events file ends in the middle of a line:\n%s", text);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                o = json_loads(line, 0, &jerr);
                if (!o || !json_is_object(o))
                        fail_msg("events line is not a JSON object (%s): %s", jerr.text, line);
                keep_json(o);
                if (!json_is_string(json_object_get(o, "event")) ||
                    !json_is_integer(json_object_get(o, "t_ms")))
                        fail_msg("events line without \"event\" or \"t_ms\": %s", line);
                assert_true(out->n < MAX_KEPT);
                out->ev[out->n++] = o;
        }
}

static const char *ev_str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? json_string_value(v) : "";
}

static long long ev_int(json_t *o, const char *key) {
        return (long long) json_integer_value(json_object_get(o, key));
}

/* The index of the first event of `type` for job `name` (NULL: any) at or
 * after `from`, or -1. */
static int ev_find(const events *e, int from, const char *type, const char *name) {
        int i;

        for (i = from; i < e->n; i++)
                if (strcmp(ev_str(e->ev[i], "event"), type) == 0 &&
                    (!name || strcmp(ev_str(e->ev[i], "name"), name) == 0))
                        return i;
        return -1;
}

static json_t *ev_get(const events *e, const char *type, const char *name) {
        int i = ev_find(e, 0, type, name);

        if (i < 0)
                fail_msg("no '%s' event for '%s'", type, name ? name : "(any)");
        return e->ev[i];
}

/* ---- Report checkers ---- */

/* Prints one line per testcase: "case NAME KIND FLAKY", KIND being pass,
 * skipped, error or failure:TYPE; and the suite totals. */
static const char junit_py[] =
        "import sys, xml.etree.ElementTree as ET\n"
        "root = ET.parse(sys.argv[1]).getroot()\n"
        "assert root.tag == 'testsuites', root.tag\n"
        "for s in root.iter('testsuite'):\n"
        "    print('suite tests=%s failures=%s errors=%s skipped=%s' % (s.get('tests'),\n"
        "          s.get('failures'), s.get('errors'), s.get('skipped')))\n"
        "for c in root.iter('testcase'):\n"
        "    float(c.get('time'))\n"
        "    f, e, k = c.find('failure'), c.find('error'), c.find('skipped')\n"
        "    props = {p.get('name'): p.get('value') for p in c.iter('property')}\n"
        "    kind = ('failure:' + f.get('type')) if f is not None else 'error' if e is not None \\\n"
        "        else 'skipped' if k is not None else 'pass'\n"
        "    print('case %s %s %s' % (c.get('name'), kind,\n"
        "          'flaky' if props.get('flaky') == 'true' else '-'))\n"
        "    if f is not None and len(sys.argv) > 2 and c.get('name') == sys.argv[2]:\n"
        "        print('TEXT ' + f.get('message') + '\\n' + (f.text or ''))\n";

static char *junit_check(const char *path, const char *text_of) {
        const char *argv[] = { "python3", "-c", junit_py, path, text_of, NULL };
        int code;
        char *out = tool_output(argv, &code);

        if (code != 0)
                fail_msg("python3 could not read the JUnit file");
        return out;
}

/* `prove -e cat FILE`: TAP::Harness reads the file as a test's output. */
static char *tap_check(const char *path, int *code) {
        const char *argv[] = { "prove", "-e", "cat", path, NULL };
        char *out = tool_output(argv, code);

        if (strstr(out, "Parse errors") || strstr(out, "Bad plan"))
                fail_msg("prove found the TAP malformed:\n%s", out);
        return out;
}

/* ---- Usage and bad input ---- */

static void expect_own_error(const char *const args[], const char *needle) {
        char *out, *err;

        svt_assert_exit(run_cli(args, &out, &err), 125, &err);
        assert_string_equal(out, "");
        if (strncmp(err, "supervise run: ", 15) != 0)
                fail_msg("stderr does not start with 'supervise run: ': %s", err);
        svt_assert_contains(err, needle);
        /* One line, plus at most the --help hint. */
        if (strchr(err, '\n') != strrchr(err, '\n') && !strstr(err, "Try 'supervise run --help'"))
                fail_msg("more than one line on stderr:\n%s", err);
}

static void test_run_help_documents_the_exit_table(void **state) {
        const char *args[] = { "--help", NULL };
        char *out, *err;

        (void) state;
        svt_assert_exit(run_cli(args, &out, &err), 0, &err);
        svt_assert_contains(out, "Usage: supervise run");
        svt_assert_contains(out, "Exit status:");
        svt_assert_contains(out, "124");
        svt_assert_contains(out, "125");
        svt_assert_contains(out, "128+N");
        svt_reap_all(T_MS);
}

static void test_run_usage_errors_exit_125_with_one_line(void **state) {
        const char *none[] = { "-j", "2", NULL };
        const char *both[] = { "--from", "x", "--ctest", "y", NULL };
        const char *badj[] = { "-j", "0", "--from", "x", NULL };
        const char *badt[] = { "--timeout", "soon", "--from", "x", NULL };
        const char *unknown[] = { "--frobnicate", "--from", "x", NULL };
        const char *extra[] = { "--from", "x", "stray", NULL };

        (void) state;
        expect_own_error(none, "no jobs");
        expect_own_error(both, "not both");
        expect_own_error(badj, "invalid number of jobs '0'");
        expect_own_error(badt, "invalid duration 'soon'");
        expect_own_error(unknown, "unknown option '--frobnicate'");
        expect_own_error(extra, "unexpected argument 'stray'");
        svt_reap_all(T_MS);
}

/* Line 1 would create `marker` if it ever ran; line 3 has an unclosed quote:
 * the whole file is rejected, naming file:line, before any job starts. */
static void test_run_bad_job_line_names_file_and_line_and_starts_nothing(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *marker = svt_tpath("marker");
        const char *args[] = { "--from", jobs, NULL };
        char *text = NULL, *needle = NULL;

        (void) state;
        assert_true(asprintf(&text, "%s %s\n\nname=bad %s 'unclosed\n", svt_worker("sv-flaky"),
                             marker, svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        assert_true(asprintf(&needle, "%s:3: ", jobs) > 0);
        expect_own_error(args, svt_keep(needle));
        assert_int_equal(access(marker, F_OK), -1);
        svt_reap_all(T_MS);
}

static void test_run_missing_job_file_exits_125(void **state) {
        const char *args[] = { "--from", svt_tpath("nonexistent.txt"), NULL };

        (void) state;
        expect_own_error(args, "cannot open");
        svt_reap_all(T_MS);
}

/* Each unwritable report path fails before the job that would leave a
 * marker behind has started. */
static void test_run_unwritable_report_fails_before_any_job(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *marker = svt_tpath("marker");
        const char *bad = "/nonexistent-dir/report";
        const char *opts[] = { "--junit", "--tap", "--events", "--logs" };
        char *text = NULL;
        unsigned i;

        (void) state;
        assert_true(asprintf(&text, "%s %s\n", svt_worker("sv-flaky"), marker) > 0);
        svt_write_file(jobs, svt_keep(text));
        for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
                const char *args[] = { "--from", jobs, opts[i], bad, NULL };

                expect_own_error(args, "/nonexistent-dir/report");
                assert_int_equal(access(marker, F_OK), -1);
        }
        svt_reap_all(T_MS);
}

/* ---- A mixed list ---- */

/* pass, fail, crash, hang (a tree of 3 under the leader), flaky, flood. */
static const char *mixed_jobs(void) {
        char *text = NULL;

        assert_true(asprintf(&text,
                             "# one of each\n"
                             "name=pass %s 0\n"
                             "name=fail %s 3\n"
                             "name=crash %s SEGV\n"
                             "name=hang %s 3\n"
                             "name=flaky %s %s\n"
                             "name=flood %s 20000\n",
                             svt_worker("sv-exit"), svt_worker("sv-exit"), svt_worker("sv-crash"),
                             svt_worker("sv-tree"), svt_worker("sv-flaky"), svt_tpath("flaky.state"),
                             svt_worker("sv-flood")) > 0);
        svt_write_file(svt_tpath("jobs.txt"), svt_keep(text));
        return svt_tpath("jobs.txt");
}

/* Lines "line 1 ..." to "line n ..." appear in order and in one block. */
static void assert_flood_block(const char *out, int n) {
        const char *p = strstr(out, "line 1 ");
        int i;

        assert_non_null(p);
        for (i = 1; i <= n; i++) {
                char want[32];
                int len = snprintf(want, sizeof(want), "line %d ", i);

                if (strncmp(p, want, (size_t) len) != 0)
                        fail_msg("flood output broken at line %d: %.60s", i, p);
                p = strchr(p, '\n');
                assert_non_null(p);
                p++;
        }
}

static void test_run_mixed_list_reports_every_verdict(void **state) {
        const char *jobs = mixed_jobs();
        const char *junit = svt_tpath("report.xml"), *tap = svt_tpath("report.tap"),
                   *evf = svt_tpath("events.jsonl"), *logs = svt_tpath("logs");
        const char *args[] = { "-j", "3", "--timeout", "500ms", "-k", "200ms", "--retries", "1",
                               "--from", jobs, "--junit", junit, "--tap", tap, "--events", evf,
                               "--logs", logs, NULL };
        char *out, *err, *j, *t;
        json_t *end, *x;
        events e;
        int code;

        (void) state;
        svt_assert_exit(run_cli(args, &out, &err), 1, &err);

        /* The grouped flood output is whole and in order. */
        assert_flood_block(out, 20000);
        svt_assert_contains(err, "6 jobs: 3 passed, 1 failed, 1 timed out, 1 crashed (SIGSEGV), 1 flaky");
        svt_assert_contains(err, "slowest:");
        svt_assert_contains(err, "total time:");

        j = junit_check(junit, NULL);
        svt_assert_contains(j, "suite tests=6 failures=3 errors=0 skipped=0");
        svt_assert_contains(j, "case pass pass -");
        svt_assert_contains(j, "case fail failure:fail -");
        svt_assert_contains(j, "case crash failure:SIGSEGV -");
        svt_assert_contains(j, "case hang failure:timeout -");
        svt_assert_contains(j, "case flaky pass flaky");
        svt_assert_contains(j, "case flood pass -");

        t = tap_check(tap, &code);
        assert_int_equal(code, 1);
        svt_assert_contains(t, "Tests=6");
        svt_assert_contains(t, "Failed tests:  2-4");

        events_load(evf, &e);
        assert_string_equal(ev_str(e.ev[0], "event"), "start");
        end = e.ev[e.n - 1];
        assert_string_equal(ev_str(end, "event"), "end");
        assert_int_equal(ev_int(end, "passed"), 3);
        assert_int_equal(ev_int(end, "flaky"), 1);
        assert_int_equal(ev_int(end, "timed_out"), 1);
        x = ev_get(&e, "retry", "flaky");
        assert_int_equal(ev_int(x, "next_attempt"), 2);
        x = e.ev[ev_find(&e, ev_find(&e, 0, "retry", "crash"), "exit", "crash")];
        assert_string_equal(ev_str(x, "signal"), "SIGSEGV");
        assert_int_equal(ev_int(x, "code"), -11);
        x = ev_get(&e, "exit", "hang");
        assert_string_equal(ev_str(x, "cause"), "timeout");
        assert_true(json_is_true(json_object_get(x, "timed_out")));
        assert_int_equal(ev_int(x, "timeout_ms"), 500);

        /* One log per job, named by index and name. */
        svt_assert_contains(svt_slurp(svt_tpath("logs/6-flood.log"), NULL), "line 20000 ");
        svt_assert_contains(svt_slurp(svt_tpath("logs/4-hang.log"), NULL), "ready ");
        svt_assert_contains(svt_slurp(svt_tpath("logs/5-flaky.log"), NULL), "attempt 2: PASS");
        svt_reap_all(T_MS);
}

/* ---- Exit status table ---- */

static void run_list(const char *text, const char *const extra[], int want) {
        const char *jobs = svt_tpath("list.txt");
        const char *args[MAX_ARGS] = { "-q", "--from", jobs };
        char *out, *err;
        int n = 3, i;

        svt_write_file(jobs, text);
        for (i = 0; extra && extra[i]; i++)
                args[n++] = extra[i];
        args[n] = NULL;
        svt_assert_exit(run_cli(args, &out, &err), want, &err);
}

static void test_run_exit_status_rows(void **state) {
        const char *retry[] = { "--retries", "2", NULL };
        const char *tmo[] = { "--timeout", "200ms", "-k", "100ms", NULL };
        /* `both` wants the exit 5 seen before the timeout: under ASan on a
         * loaded machine sv-exit alone has taken longer than 200 ms. */
        const char *tmo_long[] = { "--timeout", "1500ms", "-k", "100ms", NULL };
        char *all_pass = NULL, *flaky = NULL, *fail = NULL, *crash = NULL, *hang = NULL,
             *both = NULL, *notfound = NULL;

        (void) state;
        assert_true(asprintf(&all_pass, "%s 0\n%s 0\n", svt_worker("sv-exit"), svt_worker("sv-exit")) > 0);
        assert_true(asprintf(&flaky, "%s 0\n%s %s\n", svt_worker("sv-exit"), svt_worker("sv-flaky"),
                             svt_tpath("state")) > 0);
        assert_true(asprintf(&fail, "%s 0\n%s 5\n", svt_worker("sv-exit"), svt_worker("sv-exit")) > 0);
        assert_true(asprintf(&crash, "%s ABRT\n", svt_worker("sv-crash")) > 0);
        assert_true(asprintf(&hang, "%s 0\n%s\n", svt_worker("sv-exit"), svt_worker("sv-sleep")) > 0);
        assert_true(asprintf(&both, "%s 5\n%s\n", svt_worker("sv-exit"), svt_worker("sv-sleep")) > 0);
        assert_true(asprintf(&notfound, "%s/no-such-program\n", svt_scratch_dir()) > 0);
        /* Kept at once, so a failed row frees the rows after it too. */
        (void) svt_keep(all_pass);
        (void) svt_keep(flaky);
        (void) svt_keep(fail);
        (void) svt_keep(crash);
        (void) svt_keep(hang);
        (void) svt_keep(both);
        (void) svt_keep(notfound);
        run_list(all_pass, NULL, 0);
        run_list(flaky, retry, 0);
        run_list(fail, NULL, 1);
        run_list(crash, NULL, 1);
        run_list(hang, tmo, 124);
        run_list(both, tmo_long, 1);
        run_list(notfound, NULL, 1);
        /* An empty selection is an error unless asked for (issue 10). */
        run_list("# nothing to do\n", NULL, 125);
        run_list("# nothing to do\n", (const char *[]){ "--allow-empty", NULL }, 0);
        svt_reap_all(T_MS);
}

/* ---- Output ---- */

/* Three floods of 40 KiB lines at once: every pipe read cuts lines, yet each
 * output line is "[name] line <n> xxx..." whole, in order per job. */
static void test_run_tag_lines_are_never_split_or_mixed(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        const char *args[] = { "-q", "-j", "3", "--tag", "--from", jobs, NULL };
        const char *names[] = { "a", "bb", "ccc" };
        int next[3] = { 1, 1, 1 }, i, lines = 0;
        char *text = NULL, *out, *err, *line, *save = NULL;

        (void) state;
        assert_true(asprintf(&text, "name=a %s 300 40000\nname=bb %s 300 40000\nname=ccc %s 300 40000\n",
                             svt_worker("sv-flood"), svt_worker("sv-flood"), svt_worker("sv-flood")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, &out, &err), 0, &err);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char want[64];
                size_t len = strlen(line), k;

                for (i = 0; i < 3; i++) {
                        int n = snprintf(want, sizeof(want), "[%s] line %d ", names[i], next[i]);

                        if (strncmp(line, want, (size_t) n) == 0)
                                break;
                }
                if (i == 3)
                        fail_msg("line %d is not the next line of any job: %.80s", lines + 1, line);
                if (len != strlen(names[i]) + 3 + 40000)
                        fail_msg("line %d of %s has %zu bytes", next[i], names[i], len);
                for (k = len - 100; k < len; k++)
                        assert_int_equal(line[k], 'x');
                next[i]++;
                lines++;
        }
        assert_int_equal(lines, 900);
        for (i = 0; i < 3; i++)
                assert_int_equal(next[i], 301);
        svt_reap_all(T_MS);
}

/* ---- Hang diagnostics ---- */

static void test_run_timeout_snapshots_the_tree_and_runs_on_timeout_before_the_kill(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("events.jsonl"), *junit = svt_tpath("r.xml");
        const char *args[] = { "--timeout", "300ms", "-k", "200ms", "--from", jobs, "--events", evf,
                               "--junit", junit, "--on-timeout", "/bin/echo 'diag for {pid}'", NULL };
        char *text = NULL, *out, *err, *want = NULL;
        json_t *spawn, *snap, *ot;
        int i_snap, i_ot, i_sig, i_exit;
        long long pid;
        events e;

        (void) state;
        assert_true(asprintf(&text, "name=hang %s 3\n", svt_worker("sv-tree")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, &out, &err), 124, &err);

        events_load(evf, &e);
        spawn = ev_get(&e, "spawn", "hang");
        pid = ev_int(spawn, "pid");
        i_snap = ev_find(&e, 0, "diag", "hang");
        assert_true(i_snap > 0);
        snap = e.ev[i_snap];
        assert_string_equal(ev_str(snap, "kind"), "snapshot");
        /* The leader and its three descendants, with their columns. */
        svt_assert_contains(ev_str(snap, "text"), "process tree (4 processes)");
        svt_assert_contains(ev_str(snap, "text"), "PID     PPID STATE WCHAN");
        assert_true(asprintf(&want, "%8lld ", pid) > 0);
        svt_assert_contains(ev_str(snap, "text"), svt_keep(want));
        svt_assert_contains(ev_str(snap, "text"), "sv-tree 3");
        svt_assert_contains(ev_str(snap, "text"), "kernel stack of");
        svt_assert_contains(ev_str(snap, "text"), "last 50 output lines:\nready ");

        i_ot = ev_find(&e, i_snap + 1, "diag", "hang");
        assert_true(i_ot > i_snap);
        ot = e.ev[i_ot];
        assert_string_equal(ev_str(ot, "kind"), "on-timeout");
        assert_true(asprintf(&want, "diag for %lld\n", pid) > 0);
        svt_assert_contains(ev_str(ot, "text"), svt_keep(want));
        svt_assert_contains(ev_str(ot, "text"), "[on-timeout command exited 0");

        /* Both diagnostics come before the first signal, which comes before
         * the exit, which says "timeout". */
        i_sig = ev_find(&e, 0, "signal", "hang");
        i_exit = ev_find(&e, 0, "exit", "hang");
        assert_true(i_ot < i_sig && i_sig < i_exit);
        assert_string_equal(ev_str(e.ev[i_sig], "reason"), "timeout");
        assert_string_equal(ev_str(e.ev[i_exit], "cause"), "timeout");

        text = junit_check(junit, "hang");
        svt_assert_contains(text, "case hang failure:timeout -");
        svt_assert_contains(text, "TEXT timed out after 0.300 s");
        svt_assert_contains(text, "--- snapshot ---");
        svt_assert_contains(text, "--- on-timeout ---");
        /* The terminal shows one line saying where they are, never the
         * kernel stacks. */
        svt_assert_contains(err, "    diagnostics (snapshot, on-timeout): line ");
        if (strstr(err, "kernel stack") || strstr(err, "--- snapshot ---"))
                fail_msg("diagnostics on the terminal:\n%s", err);
        svt_reap_all(T_MS);
}

static void test_run_idle_timeout_counts_silence_as_a_hang(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("events.jsonl");
        const char *args[] = { "-q", "--idle-timeout", "200ms", "--from", jobs, "--events", evf, NULL };
        char *text = NULL, *out, *err;
        json_t *x;
        events e;

        (void) state;
        assert_true(asprintf(&text, "name=quiet %s 20000\nname=chatty %s 0\n",
                             svt_worker("sv-idle-then-print"), svt_worker("sv-idle-then-print")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, &out, &err), 124, &err);
        events_load(evf, &e);
        x = ev_get(&e, "exit", "quiet");
        assert_string_equal(ev_str(x, "verdict"), "timeout");
        assert_int_equal(ev_int(x, "timeout_ms"), 200);
        assert_string_equal(ev_str(ev_get(&e, "signal", "quiet"), "reason"), "idle");
        svt_assert_contains(ev_str(ev_get(&e, "diag", "quiet"), "text"), "had no output after 0.200 s");
        assert_string_equal(ev_str(ev_get(&e, "exit", "chatty"), "verdict"), "pass");
        svt_reap_all(T_MS);
}

/* ---- Crashes of supervise itself, and signals ---- */

/* SIGKILL once both jobs have started (their "ready" lines came through
 * --tag, so their spawn events are already in the file): every line of
 * the events file is still a whole JSON object, and the guardian takes the
 * jobs' trees down with us. */
static void test_run_events_file_stays_valid_after_sigkill(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("events.jsonl");
        const char *args[] = { "-j", "2", "--tag", "--from", jobs, "--events", evf, NULL };
        char *text = NULL, *line;
        events e;
        int st;

        (void) state;
        assert_true(asprintf(&text, "name=a %s\nname=b %s 2\nname=c %s\n", svt_worker("sv-ignore-term"),
                             svt_worker("sv-tree"), svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        start_cli(args);
        line = svt_keep(svt_read_line(fx.sup.out, T_MS));
        assert_non_null(line);
        line = svt_keep(svt_read_line(fx.sup.out, T_MS));
        assert_non_null(line);
        assert_int_equal(kill(fx.sup.pid, SIGKILL), 0);
        st = svt_wait(fx.sup.pid, T_MS);
        fx.sup.pid = 0;
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        events_load(evf, &e);
        assert_true(e.n >= 3);
        assert_string_equal(ev_str(e.ev[0], "event"), "start");
        (void) ev_get(&e, "spawn", "a");
        (void) ev_get(&e, "spawn", "b");
        assert_int_equal(ev_find(&e, 0, "end", NULL), -1);
        svt_reap_all(T_MS);
}

/* INT with two jobs running and two waiting: the running ones are stopped
 * through the ladder (they ignore INT, so KILL ends them), the others are
 * never started, and every report is written. */
static void test_run_sigint_stops_jobs_writes_reports_and_exits_130(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *junit = svt_tpath("r.xml"), *evf = svt_tpath("events.jsonl");
        const char *args[] = { "-j", "2", "-k", "200ms", "--tag", "--from", jobs, "--junit", junit,
                               "--events", evf, NULL };
        char *text = NULL, *out, *err, *j, *l1, *l2;
        json_t *end;
        events e;

        (void) state;
        assert_true(asprintf(&text, "name=a %s\nname=b %s\nname=c %s 0\nname=d %s 0\n",
                             svt_worker("sv-ignore-term"), svt_worker("sv-ignore-term"),
                             svt_worker("sv-exit"), svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        start_cli(args);
        l1 = svt_keep(svt_read_line(fx.sup.out, T_MS));
        l2 = svt_keep(svt_read_line(fx.sup.out, T_MS));
        assert_non_null(l1);
        assert_non_null(l2);
        svt_assert_contains(l1, "] ready ");
        svt_assert_contains(l2, "] ready ");
        assert_int_equal(kill(fx.sup.pid, SIGINT), 0);
        svt_assert_exit(finish_cli(&out, &err), 130, &err);

        events_load(evf, &e);
        end = e.ev[e.n - 1];
        assert_string_equal(ev_str(end, "event"), "end");
        assert_int_equal(ev_int(end, "stopped"), 2);
        assert_int_equal(ev_int(end, "skipped"), 2);
        assert_string_equal(ev_str(ev_get(&e, "skip", "c"), "reason"), "interrupted");
        assert_string_equal(ev_str(ev_get(&e, "signal", "a"), "signal_name"), "SIGINT");
        assert_string_equal(ev_str(ev_get(&e, "exit", "a"), "signal"), "SIGKILL");
        assert_int_equal(ev_find(&e, 0, "spawn", "c"), -1);

        j = junit_check(junit, NULL);
        svt_assert_contains(j, "case a failure:stopped -");
        svt_assert_contains(j, "case b failure:stopped -");
        svt_assert_contains(j, "case c skipped -");
        svt_assert_contains(j, "case d skipped -");
        svt_reap_all(T_MS);
}

/* ---- --ctest ---- */

static void test_run_ctest_runs_a_cmake_projects_tests_with_their_properties(void **state) {
        const char *src = svt_tpath("proj"), *build = svt_tpath("proj/build"), *junit = svt_tpath("r.xml"),
                   *tap = svt_tpath("r.tap"), *evf = svt_tpath("events.jsonl");
        const char *cmake[] = { "cmake", "-S", src, "-B", build, NULL };
        const char *args[] = { "-j", "2", "--ctest", build, "--junit", junit, "--tap", tap,
                               "--events", evf, NULL };
        char *text = NULL, *out, *err, *j, *t;
        events e;
        int code;

        (void) state;
        assert_int_equal(mkdir(src, 0755), 0);
        assert_true(asprintf(&text,
                             "cmake_minimum_required(VERSION 3.18)\n"
                             "project(tiny NONE)\n"
                             "enable_testing()\n"
                             "add_test(NAME pass COMMAND %s 0)\n"
                             "add_test(NAME expected_failure COMMAND %s 1)\n"
                             "set_tests_properties(expected_failure PROPERTIES WILL_FAIL TRUE)\n"
                             "add_test(NAME skips COMMAND %s 77)\n"
                             "set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 77)\n"
                             "add_test(NAME hangs COMMAND %s)\n"
                             "set_tests_properties(hangs PROPERTIES TIMEOUT 1)\n"
                             "add_test(NAME env COMMAND %s)\n"
                             "set_tests_properties(env PROPERTIES ENVIRONMENT SUPERVISE_RUN=from-ctest)\n"
                             "add_test(NAME off COMMAND %s 0)\n"
                             "set_tests_properties(off PROPERTIES DISABLED TRUE)\n",
                             svt_worker("sv-exit"), svt_worker("sv-exit"), svt_worker("sv-exit"),
                             svt_worker("sv-sleep"), svt_worker("sv-env"), svt_worker("sv-exit")) > 0);
        svt_write_file(svt_tpath("proj/CMakeLists.txt"), svt_keep(text));
        (void) tool_output(cmake, &code);
        assert_int_equal(code, 0);

        svt_assert_exit(run_cli(args, &out, &err), 124, &err);
        svt_assert_contains(out, "SUPERVISE_RUN=from-ctest\n");

        j = junit_check(junit, NULL);
        svt_assert_contains(j, "suite tests=6 failures=1 errors=0 skipped=2");
        svt_assert_contains(j, "case pass pass -");
        svt_assert_contains(j, "case expected_failure pass -");
        svt_assert_contains(j, "case skips skipped -");
        svt_assert_contains(j, "case hangs failure:timeout -");
        svt_assert_contains(j, "case env pass -");
        svt_assert_contains(j, "case off skipped -");

        t = tap_check(tap, &code);
        assert_int_equal(code, 1);
        svt_assert_contains(t, "Failed test:  4");

        events_load(evf, &e);
        assert_int_equal(ev_int(ev_get(&e, "exit", "hangs"), "timeout_ms"), 1000);
        assert_string_equal(ev_str(ev_get(&e, "skip", "off"), "reason"), "disabled");
        svt_reap_all(T_MS);
}


/* ---- Leaks ---- */

static void test_run_leaked_descendant_is_killed_reported_and_fails_with_leaks_fail(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("events.jsonl");
        const char *args[] = { "-q", "--leaks", "fail", "--from", jobs, "--events", evf, NULL };
        char *text = NULL, *out, *err;
        json_t *d;
        events e;

        (void) state;
        assert_true(asprintf(&text, "name=esc %s forever exit\n", svt_worker("sv-setsid-escapee")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, &out, &err), 1, &err);
        events_load(evf, &e);
        assert_int_equal(ev_int(ev_get(&e, "leak", "esc"), "count"), 1);
        d = ev_get(&e, "diag", "esc");
        assert_string_equal(ev_str(d, "kind"), "leaks");
        svt_assert_contains(ev_str(d, "text"), "1 process outlived the job's leader (killed)");
        svt_assert_contains(ev_str(d, "text"), "sv-setsid-escapee forever exit");
        assert_string_equal(ev_str(ev_get(&e, "exit", "esc"), "verdict"), "fail");
        svt_reap_all(T_MS);
}

/* ---- Progress on a terminal ---- */

/* The status line is redrawn in place, and erased before any other line:
 * split at each erase, every piece is either one progress line (no
 * newline) or whole lines without a trace of the progress text. */
static void test_run_progress_line_on_a_terminal_never_garbles_output(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        const char *args[] = { "-j", "2", "--color=never", "--from", jobs, NULL };
        char *text = NULL, *tty, *out, *piece, *next;
        int master, outfd, st, progress = 0, status_lines = 0;

        (void) state;
        assert_true(asprintf(&text, "%s 400\n%s 400\n%s 3\n%s 400\n", svt_worker("sv-sleep"),
                             svt_worker("sv-sleep"), svt_worker("sv-flood"), svt_worker("sv-sleep")) > 0);
        svt_write_file(jobs, svt_keep(text));
        master = svt_start_cli_on_pty(&fx.sup, "run", args, NULL, 0);
        outfd = fx.sup.out;
        tty = svt_read_pty(master, T_MS);
        (void) close(master);
        out = svt_keep(svt_read_all(outfd, T_MS));
        st = svt_wait(fx.sup.pid, T_MS);
        fx.sup.pid = 0;
        svt_assert_exit(st, 0, &tty);
        assert_non_null(out);
        svt_assert_contains(out, "line 3 ");

        for (piece = tty; piece; piece = next) {
                next = svt_cut(piece, "\r\033[K");
                if (!*piece)
                        continue;
                if (strstr(piece, " running ") && strstr(piece, " elapsed, ETA ")) {
                        if (strchr(piece, '\n') || piece[0] != '[')
                                fail_msg("progress text mixed with a line: '%s'", piece);
                        progress++;
                } else {
                        if (piece[strlen(piece) - 1] != '\n')
                                fail_msg("a line was left unfinished: '%s'", piece);
                        /* Two jobs that end in one loop turn print their
                         * lines with no redraw between: one piece. */
                        for (char *p = strstr(piece, "] PASS "); p; p = strstr(p + 1, "] PASS "))
                                status_lines++;
                }
        }
        assert_true(progress >= 4);
        assert_int_equal(status_lines, 4);
        svt_reap_all(T_MS);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_run_help_documents_the_exit_table),
                T(test_run_usage_errors_exit_125_with_one_line),
                T(test_run_bad_job_line_names_file_and_line_and_starts_nothing),
                T(test_run_missing_job_file_exits_125),
                T(test_run_unwritable_report_fails_before_any_job),
                T(test_run_mixed_list_reports_every_verdict),
                T(test_run_exit_status_rows),
                T(test_run_tag_lines_are_never_split_or_mixed),
                T(test_run_timeout_snapshots_the_tree_and_runs_on_timeout_before_the_kill),
                T(test_run_idle_timeout_counts_silence_as_a_hang),
                T(test_run_events_file_stays_valid_after_sigkill),
                T(test_run_sigint_stops_jobs_writes_reports_and_exits_130),
                T(test_run_ctest_runs_a_cmake_projects_tests_with_their_properties),
                T(test_run_leaked_descendant_is_killed_reported_and_fails_with_leaks_fail),
                T(test_run_progress_line_on_a_terminal_never_garbles_output),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
