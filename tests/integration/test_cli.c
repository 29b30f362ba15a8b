/* test_cli.c - `supervise [options] -- CMD` as a user meets it: the exit
 * status table (one case per row, one per kind of bad input), -n copies and
 * their environment, the --json records (keys, types, written as each copy
 * exits), the stderr report, --help and --version, and the signals supervise
 * receives (forwarded, or turned into a stop). Everything runs the real
 * binary; every test waits for events (a line, EOF, an exit) and ends by
 * proving that no process and no zombie is left. */
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 10000
#define MAX_KEPT 64

/* What a test holds, for teardown to release even when an assertion has
 * left the test half-way (so a failure is not also reported as a leak). */
typedef struct fixture {
        svt_proc sup; /* a supervise we started and have not reaped yet */
        char json_path[64];
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
        return 0;
}

static int teardown(void **state) {
        int i;

        (void) state;
        for (i = 0; i < fx.njson; i++)
                json_decref(fx.json[i]);
        /* The guardian of a supervise killed here ends its trees; whatever
         * is left, the reap below kills. */
        svt_proc_release(&fx.sup, T_MS);
        if (fx.json_path[0])
                (void) unlink(fx.json_path);
        return svt_scratch_end(T_MS);
}

/* Runs supervise to the end; returns its wait status. */
static int cli_run(const char *const args[], const char *const env[], char **out, char **err) {
        return svt_run_cli(NULL, args, env, out, err, T_MS);
}

/* Starts supervise with stdout and stderr piped into fx. */
static void cli_start(const char *const args[]) {
        svt_start_cli(&fx.sup, NULL, args);
}

/* Waits for the supervise of cli_start() to end; returns its wait status. */
static int cli_finish(char **out, char **err) {
        int st = svt_proc_finish(&fx.sup, out, err, T_MS);

        svt_keep(*out);
        svt_keep(*err);
        return st;
}

static void assert_exit_status(int st, int want) {
        svt_assert_exit(st, want, NULL);
}

static void make_json_path(void) {
        int fd;

        (void) snprintf(fx.json_path, sizeof(fx.json_path), "/tmp/svcli-json.XXXXXX");
        fd = mkstemp(fx.json_path);
        assert_true(fd >= 0);
        (void) close(fd);
}

/* ---- JSON records ---- */

/* Parses one line as a record and checks every key the CLI documents, with
 * its type. Fails the test otherwise. */
static json_t *record_parse(const char *line) {
        static const char *const ints[] = { "worker", "pid", "code", "max_rss_kb" };
        static const char *const nums[] = { "wall_ms", "user_ms", "sys_ms" };
        json_error_t jerr;
        json_t *o, *v;
        size_t i;

        o = json_loads(line, 0, &jerr);
        if (!o)
                fail_msg("not JSON (%s): %s", jerr.text, line);
        keep_json(o);
        if (!json_is_object(o))
                fail_msg("not a JSON object: %s", line);
        for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
                if (!json_is_integer(json_object_get(o, ints[i])))
                        fail_msg("\"%s\" missing or not an integer: %s", ints[i], line);
        for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
                v = json_object_get(o, nums[i]);
                if (!json_is_number(v) || json_number_value(v) < 0)
                        fail_msg("\"%s\" missing or not a number >= 0: %s", nums[i], line);
        }
        v = json_object_get(o, "signal");
        if (!json_is_string(v) && !json_is_null(v))
                fail_msg("\"signal\" missing or neither string nor null: %s", line);
        v = json_object_get(o, "step");
        if (!json_is_integer(v) && !json_is_null(v))
                fail_msg("\"step\" missing or neither integer nor null: %s", line);
        v = json_object_get(o, "step_signal");
        if (!json_is_string(v) && !json_is_null(v))
                fail_msg("\"step_signal\" missing or neither string nor null: %s", line);
        if (!json_is_boolean(json_object_get(o, "core_dumped")) ||
            !json_is_boolean(json_object_get(o, "timed_out")))
                fail_msg("\"core_dumped\"/\"timed_out\" missing or not boolean: %s", line);
        if (!json_is_string(json_object_get(o, "cause")) ||
            !json_is_string(json_object_get(o, "mechanism")))
                fail_msg("\"cause\"/\"mechanism\" missing or not a string: %s", line);
        if (!json_is_array(json_object_get(o, "leaked")))
                fail_msg("\"leaked\" missing or not an array: %s", line);
        /* timeout_ms is a number exactly when the copy timed out (else null). */
        if (json_is_true(json_object_get(o, "timed_out")) !=
            json_is_integer(json_object_get(o, "timeout_ms")))
                fail_msg("\"timeout_ms\" present iff timed out: %s", line);
        if (json_integer_value(json_object_get(o, "pid")) <= 1)
                fail_msg("implausible pid: %s", line);
        return o;
}

static long long rec_int(json_t *o, const char *key) {
        return (long long) json_integer_value(json_object_get(o, key));
}

/* The string value, or "null" for JSON null. */
static const char *rec_str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? json_string_value(v) : "null";
}

/* A start record ({"event":"start",...}): one per copy, before its exit
 * record, in any order with the copies' own output. */
static bool is_start_record(const char *line) {
        return strncmp(line, "{\"event\":\"start\"", 16) == 0;
}

/* The next line of supervise's stdout that is not a start record. */
static char *expect_line_prefix(int fd, const char *prefix) {
        char *line;

        for (;;) {
                line = svt_read_line(fd, T_MS);
                if (!line || !is_start_record(line))
                        break;
                free(line);
        }
        if (!line || strncmp(line, prefix, strlen(prefix)) != 0)
                fail_msg("expected a line starting with '%s', got '%s'", prefix,
                         line ? (const char *) svt_keep(line) : "(EOF)");
        return line;
}

/* Splits `text` into lines and parses each as a record into recs[]; returns
 * how many there were. Lines that are not JSON objects fail the test unless
 * they start with `skip_prefix` (worker output sharing the stream). */
static int records_parse(char *text, const char *skip_prefix, json_t **recs, int max) {
        char *line, *save = NULL;
        int n = 0;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (is_start_record(line) ||
                    (skip_prefix && strncmp(line, skip_prefix, strlen(skip_prefix)) == 0))
                        continue;
                assert_true(n < max);
                recs[n++] = record_parse(line);
        }
        return n;
}

/* Reads lines from supervise's stdout until one that is a record. */
static json_t *next_record(int fd, const char *skip_prefix) {
        char *line;

        for (;;) {
                line = svt_read_line(fd, T_MS);
                if (!line)
                        fail_msg("no JSON record on stdout within %d ms", T_MS);
                if (is_start_record(line) ||
                    (skip_prefix && strncmp(line, skip_prefix, strlen(skip_prefix)) == 0)) {
                        free(line);
                        continue;
                }
                svt_keep(line);
                return record_parse(line);
        }
}

/* "ready <pid>" -> pid. */
static pid_t ready_pid(int fd) {
        char *line = expect_line_prefix(fd, "ready ");
        long v = strtol(line + 6, NULL, 10);

        free(line);
        assert_true(v > 1);
        return (pid_t) v;
}

static int count_lines(const char *s, const char *prefix) {
        int n = 0;

        for (; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
                if (strncmp(s, prefix, strlen(prefix)) == 0)
                        n++;
        return n;
}

/* ---- The exit status table ---- */

static void test_every_copy_exiting_zero_exits_0(void **state) {
        const char *args[] = { "-q", "-n", "2", "--", svt_worker("sv-exit"), "0", NULL };
        char *out, *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 0);
        assert_string_equal(out, "");
        assert_string_equal(err, "");
        svt_reap_all(T_MS);
}

static void test_copy_exiting_n_exits_n(void **state) {
        const char *args[] = { "-q", "--", svt_worker("sv-exit"), "7", NULL };
        const char *args2[] = { "-q", "--", svt_worker("sv-exit"), "123", NULL };

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, NULL), 7);
        assert_exit_status(cli_run(args2, NULL, NULL, NULL), 123);
        svt_reap_all(T_MS);
}

static void test_copy_timing_out_exits_124(void **state) {
        const char *args[] = { "-q", "-t", "100ms", "-k", "100ms", "--", svt_worker("sv-sleep"), NULL };

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, NULL), 124);
        svt_reap_all(T_MS);
}

/* A usage error: status 125, nothing on stdout, one "supervise: ..." line on
 * stderr that names the culprit (plus at most the "Try --help" hint), and no
 * process started. */
static void expect_usage_error(const char *const args[], const char *needle) {
        char *out, *err, *nl;

        assert_exit_status(cli_run(args, NULL, &out, &err), 125);
        assert_string_equal(out, "");
        if (strncmp(err, "supervise: ", 11) != 0)
                fail_msg("stderr does not start with 'supervise: ': %s", err);
        nl = strchr(err, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (!strstr(err, needle))
                fail_msg("first stderr line does not mention '%s': %s", needle, err);
        if (nl[1] && strncmp(nl + 1, "Try 'supervise --help'", 22) != 0)
                fail_msg("more than one line of complaint: %s", nl + 1);
        svt_reap_all(T_MS);
}

static void test_copies_zero_exits_125(void **state) {
        const char *args[] = { "-n", "0", "--", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "'0'");
}

static void test_copies_not_a_number_exits_125(void **state) {
        const char *args[] = { "-n", "abc", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args2[] = { "--copies=4x", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "'abc'");
        expect_usage_error(args2, "'4x'");
}

static void test_missing_command_exits_125(void **state) {
        const char *args[] = { NULL };
        const char *args2[] = { "-n", "2", "--", NULL };

        (void) state;
        expect_usage_error(args, "command");
        expect_usage_error(args2, "command");
}

static void test_unknown_option_exits_125(void **state) {
        const char *args[] = { "--bogus", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args2[] = { "-X", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "--bogus");
        expect_usage_error(args2, "-X");
}

/* Not "unknown option": the option is known, its argument is missing. */
static void test_option_without_argument_exits_125(void **state) {
        const char *args[] = { "-n", NULL };
        const char *args2[] = { "--timeout", NULL };

        (void) state;
        expect_usage_error(args, "'-n' needs an argument");
        expect_usage_error(args2, "'--timeout' needs an argument");
}

static void test_unknown_signal_exits_125(void **state) {
        const char *args[] = { "-s", "NOPE", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args2[] = { "--stop", "TERM:1s,BOGUS", "--", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "'NOPE'");
        expect_usage_error(args2, "'TERM:1s,BOGUS'");
}

static void test_bad_duration_exits_125(void **state) {
        const char *args[] = { "-t", "5x", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args2[] = { "--kill-after", "-1", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args3[] = { "--timeout=", "--", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "'5x'");
        expect_usage_error(args2, "'-1'");
        expect_usage_error(args3, "''");
}

/* 0 means "none" for --idle-timeout as for --timeout, here and in `run`
 * (one parser for both): the copy runs to its own exit. */
static void test_idle_timeout_zero_means_none(void **state) {
        const char *args[] = { "-q", "--idle-timeout", "0", "--timeout", "0", "--",
                               svt_worker("sv-exit"), "5", NULL };
        char *out, *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 5);
        assert_string_equal(err, "");
        svt_reap_all(T_MS);
}

static void test_bad_policy_or_mechanism_exits_125(void **state) {
        const char *args[] = { "--leaks", "maybe", "--", svt_worker("sv-exit"), "0", NULL };
        const char *args2[] = { "--mechanism", "magic", "--", svt_worker("sv-exit"), "0", NULL };

        (void) state;
        expect_usage_error(args, "'maybe'");
        expect_usage_error(args2, "'magic'");
}

static void test_not_executable_exits_126(void **state) {
        const char *args[] = { "-q", "--", "/etc/passwd", NULL };
        const char *args2[] = { "-q", "--", "/tmp", NULL };
        char *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, &err), 126);
        if (!strstr(err, "'/etc/passwd'"))
                fail_msg("stderr does not name the command: %s", err);
        assert_exit_status(cli_run(args2, NULL, NULL, &err), 126);
        svt_reap_all(T_MS);
}

static void test_not_found_exits_127(void **state) {
        const char *args[] = { "-q", "--", "/nonexistent/sv-no-such-program", NULL };
        const char *args2[] = { "-q", "-n", "3", "--", "sv-no-such-program-in-path", NULL };
        char *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, &err), 127);
        if (!strstr(err, "'/nonexistent/sv-no-such-program'"))
                fail_msg("stderr does not name the command: %s", err);
        assert_exit_status(cli_run(args2, NULL, NULL, &err), 127);
        /* Said once, not once per copy. */
        assert_int_equal(count_lines(err, "supervise: "), 1);
        svt_reap_all(T_MS);
}

static void test_copy_killed_by_segv_exits_139(void **state) {
        const char *args[] = { "-q", "--", svt_worker("sv-crash"), "SEGV", NULL };

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, NULL), 128 + SIGSEGV);
        svt_reap_all(T_MS);
}

static void test_copy_killed_by_sigkill_exits_137(void **state) {
        const char *args[] = { "-q", "--", svt_worker("sv-crash"), "KILL", NULL };

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, NULL), 128 + SIGKILL);
        svt_reap_all(T_MS);
}

/* The first failing copy (in index order) decides; 0s don't count. */
static void test_first_failing_copy_decides_status(void **state) {
        const char *args[] = { "-q", "-n", "4", "--", svt_worker("sv-demo"), NULL };
        char *out;

        (void) state;
        /* sv-demo: copy 3 exits 3, the others 0. */
        assert_exit_status(cli_run(args, NULL, &out, NULL), 3);
        svt_reap_all(T_MS);
}

static void test_help_exits_0_and_shows_exit_table(void **state) {
        const char *args[] = { "--help", NULL };
        static const char *const rows[] = { "124", "125", "126", "127", "128+N", "--timeout",
                                            "--json", "--leaks", "--mechanism", "--stop" };
        char *out, *err;
        size_t i;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 0);
        assert_string_equal(err, "");
        assert_true(strncmp(out, "Usage: supervise", 16) == 0);
        assert_non_null(strstr(out, "Exit status:"));
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                if (!strstr(out, rows[i]))
                        fail_msg("--help does not mention '%s'", rows[i]);
        svt_reap_all(T_MS);
}

static void test_version_exits_0(void **state) {
        const char *args[] = { "--version", NULL };
        char *out, *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 0);
        assert_string_equal(err, "");
        assert_true(strncmp(out, "supervise ", 10) == 0);
        assert_true(out[10] >= '0' && out[10] <= '9');
        assert_non_null(strchr(out, '\n'));
        assert_null(strchr(out, '\n')[1] ? "two lines" : NULL);
        svt_reap_all(T_MS);
}

/* ---- Copies and their environment ---- */

static void test_copies_get_distinct_index_and_one_run_id(void **state) {
        const char *args[] = { "-q", "-n", "4", "--", svt_worker("sv-env"), NULL };
        /* Values from outside must not leak through. */
        const char *env[] = { "SUPERVISE_WORKER=99", "SUPERVISE_RUN=outer", NULL };
        char *out, *line, *save = NULL, run[128] = "";
        int seen[4] = { 0 }, nrun = 0, leaders = 0;

        (void) state;
        assert_exit_status(cli_run(args, env, &out, NULL), 0);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "SUPERVISE_WORKER=", 17) == 0) {
                        char *end;
                        long i = strtol(line + 17, &end, 10);
                        if (*end || i < 0 || i > 3)
                                fail_msg("bad index line: %s", line);
                        seen[i]++;
                } else if (strncmp(line, "SUPERVISE_RUN=", 14) == 0) {
                        if (!run[0])
                                (void) snprintf(run, sizeof(run), "%s", line + 14);
                        if (strcmp(run, line + 14) != 0)
                                fail_msg("two run ids: %s and %s", run, line + 14);
                        nrun++;
                } else if (strcmp(line, "pgid-leader=1") == 0) {
                        leaders++;
                } else {
                        fail_msg("unexpected line: %s", line);
                }
        }
        assert_int_equal(seen[0], 1);
        assert_int_equal(seen[1], 1);
        assert_int_equal(seen[2], 1);
        assert_int_equal(seen[3], 1);
        assert_int_equal(nrun, 4);
        assert_true(run[0] != '\0');
        assert_string_not_equal(run, "outer");
        assert_int_equal(leaders, 4);
        svt_reap_all(T_MS);
}

/* ---- --json ---- */

static void test_json_file_has_one_valid_record_per_copy(void **state) {
        const char *args[] = { "-q", "-n", "3", "--json", NULL, "--", svt_worker("sv-exit"), "0", NULL };
        json_t *recs[8];
        char *text;
        int n, i, seen = 0;

        (void) state;
        make_json_path();
        args[4] = fx.json_path;
        assert_exit_status(cli_run(args, NULL, NULL, NULL), 0);
        text = svt_slurp(fx.json_path, NULL);
        n = records_parse(text, NULL, recs, 8);
        assert_int_equal(n, 3);
        for (i = 0; i < n; i++) {
                long long w = rec_int(recs[i], "worker");
                assert_true(w >= 0 && w < 3);
                seen |= 1 << w;
                assert_int_equal(rec_int(recs[i], "code"), 0);
                assert_string_equal(rec_str(recs[i], "signal"), "null");
                assert_string_equal(rec_str(recs[i], "cause"), "exited");
                assert_false(json_is_true(json_object_get(recs[i], "timed_out")));
                assert_false(json_is_true(json_object_get(recs[i], "core_dumped")));
                assert_string_equal(rec_str(recs[i], "step_signal"), "null");
                assert_int_equal(json_array_size(json_object_get(recs[i], "leaked")), 0);
                assert_true(rec_int(recs[i], "max_rss_kb") > 0);
        }
        assert_int_equal(seen, 7);
        assert_int_not_equal(rec_int(recs[0], "pid"), rec_int(recs[1], "pid"));
        assert_int_not_equal(rec_int(recs[1], "pid"), rec_int(recs[2], "pid"));
        assert_int_not_equal(rec_int(recs[0], "pid"), rec_int(recs[2], "pid"));
        svt_reap_all(T_MS);
}

static void test_json_sigkilled_copy_has_code_minus_9(void **state) {
        const char *args[] = { "-q", "--json", "-", "--", svt_worker("sv-crash"), "KILL", NULL };
        json_t *recs[2];
        char *out;
        int n;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, NULL), 137);
        n = records_parse(out, NULL, recs, 2);
        assert_int_equal(n, 1);
        assert_int_equal(rec_int(recs[0], "code"), -9);
        assert_string_equal(rec_str(recs[0], "signal"), "SIGKILL");
        assert_string_equal(rec_str(recs[0], "cause"), "signaled");
        svt_reap_all(T_MS);
}

static void test_json_ladder_kill_has_code_minus_9_and_step(void **state) {
        const char *args[] = { "-q", "--json", "-", "-t", "100ms", "-k", "100ms", "--",
                               svt_worker("sv-ignore-term"), NULL };
        json_t *recs[2];
        char *out;
        int n;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, NULL), 124);
        n = records_parse(out, "ready ", recs, 2);
        assert_int_equal(n, 1);
        assert_int_equal(rec_int(recs[0], "code"), -9);
        assert_string_equal(rec_str(recs[0], "signal"), "SIGKILL");
        assert_string_equal(rec_str(recs[0], "cause"), "timeout");
        assert_true(json_is_true(json_object_get(recs[0], "timed_out")));
        assert_int_equal(rec_int(recs[0], "timeout_ms"), 100);
        assert_int_equal(rec_int(recs[0], "step"), 2);
        assert_string_equal(rec_str(recs[0], "step_signal"), "SIGKILL");
        assert_true(json_number_value(json_object_get(recs[0], "wall_ms")) >= 200.0);
        svt_reap_all(T_MS);
}

/* Copy A ends (we kill it) while copy B still runs: A's record must be on
 * stdout before B ends. Then SIGTERM to supervise ends B through the ladder. */
static void test_json_record_is_written_when_copy_exits(void **state) {
        const char *args[] = { "-q", "-n", "2", "-k", "100ms", "--json", "-", "--",
                               svt_worker("sv-ignore-term"), NULL };
        pid_t a, b;
        json_t *rec;
        char *out, *err;

        (void) state;
        cli_start(args);
        a = ready_pid(fx.sup.out);
        b = ready_pid(fx.sup.out);
        /* Both are children of supervise that nobody reaps before they die,
         * so their pids are still theirs. */
        assert_int_equal(kill(a, SIGKILL), 0);
        rec = next_record(fx.sup.out, NULL);
        assert_int_equal(rec_int(rec, "pid"), a);
        assert_int_equal(rec_int(rec, "code"), -9);
        assert_string_equal(rec_str(rec, "cause"), "signaled");
        assert_int_equal(kill(b, 0), 0);

        assert_int_equal(kill(fx.sup.pid, SIGTERM), 0);
        rec = next_record(fx.sup.out, NULL);
        assert_int_equal(rec_int(rec, "pid"), b);
        assert_int_equal(rec_int(rec, "code"), -9);
        assert_string_equal(rec_str(rec, "cause"), "stopped");
        assert_int_equal(rec_int(rec, "step"), 2);
        assert_exit_status(cli_finish(&out, &err), 128 + SIGTERM);
        assert_string_equal(out, "");
        svt_reap_all(T_MS);
}

static void test_json_to_unwritable_file_exits_125(void **state) {
        const char *args[] = { "--json", "/nonexistent-dir/x.json", "--", svt_worker("sv-exit"), "0",
                               NULL };
        char *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, &err), 125);
        assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
        svt_reap_all(T_MS);
}

/* ---- Ladders and leak policies ---- */

static void test_stop_ladder_walks_every_step(void **state) {
        const char *args[] = { "-q", "--json", "-", "-t", "100ms", "--stop", "INT:100ms,TERM:100ms,KILL",
                               "--", svt_worker("sv-ignore-term"), NULL };
        json_t *recs[2];
        char *out;

        (void) state;
        /* sv-ignore-term shrugs off INT and TERM: only step 3 ends it. */
        assert_exit_status(cli_run(args, NULL, &out, NULL), 124);
        assert_int_equal(records_parse(out, "ready ", recs, 2), 1);
        assert_int_equal(rec_int(recs[0], "code"), -9);
        assert_int_equal(rec_int(recs[0], "step"), 3);
        assert_string_equal(rec_str(recs[0], "step_signal"), "SIGKILL");
        assert_true(json_number_value(json_object_get(recs[0], "wall_ms")) >= 300.0);
        svt_reap_all(T_MS);
}

static void test_signal_option_sets_first_step(void **state) {
        const char *args[] = { "-q", "--json", "-", "-t", "100ms", "-s", "INT", "--",
                               svt_worker("sv-idle-then-print"), "600000", NULL };
        json_t *recs[2];
        char *out;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, NULL), 124);
        assert_int_equal(records_parse(out, "start", recs, 2), 1);
        assert_int_equal(rec_int(recs[0], "code"), -SIGINT);
        assert_string_equal(rec_str(recs[0], "cause"), "timeout");
        assert_int_equal(rec_int(recs[0], "step"), 1);
        assert_string_equal(rec_str(recs[0], "step_signal"), "SIGINT");
        svt_reap_all(T_MS);
}

/* Runs sv-setsid-escapee, which exits 0 and leaves its setsid child behind,
 * under --leaks `policy`. Returns the escapee's pid (from its ready line),
 * after supervise has ended with `status`; the record goes to *rec. */
static pid_t run_leaker(const char *policy, int status, json_t **rec, char **err) {
        const char *args[] = { "--leaks", policy, "--json", "-", "--",
                               svt_worker("sv-setsid-escapee"), "forever", "exit", NULL };
        char *out;
        pid_t esc;

        cli_start(args);
        esc = ready_pid(fx.sup.out);
        *rec = next_record(fx.sup.out, NULL);
        assert_exit_status(cli_finish(&out, err), status);
        assert_string_equal(out, "");
        assert_int_equal(rec_int(*rec, "code"), 0);
        assert_string_equal(rec_str(*rec, "cause"), "exited");
        return esc;
}

/* A descendant left running is ours now (supervise was its subreaper, and
 * we are supervise's): end it, as the test that asked for it. */
static void end_orphan(pid_t pid) {
        pid_t kids[64];
        int n, i;
        bool ours = false;

        n = svt_list_children(kids, 64);
        for (i = 0; i < n && i < 64; i++)
                ours |= kids[i] == pid;
        if (!ours)
                fail_msg("pid %d left running is not our child", (int) pid);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_true(WIFSIGNALED(svt_wait(pid, T_MS)));
}

static void expect_leaked_pid(json_t *rec, pid_t pid) {
        json_t *leaked = json_object_get(rec, "leaked");

        assert_int_equal(json_array_size(leaked), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(leaked, 0), "pid")), pid);
        assert_non_null(strstr(json_string_value(json_object_get(json_array_get(leaked, 0), "cmdline")),
                               "sv-setsid-escapee"));
}

static void test_leaks_kill_kills_and_reports(void **state) {
        json_t *rec;
        char *err;
        pid_t esc;

        (void) state;
        esc = run_leaker("kill", 0, &rec, &err);
        expect_leaked_pid(rec, esc);
        assert_non_null(strstr(err, "left 1 descendant running (killed)"));
        svt_reap_all(T_MS);
        assert_int_equal(kill(esc, 0), -1);
}

static void test_leaks_fail_kills_reports_and_exits_1(void **state) {
        json_t *rec;
        char *err;
        pid_t esc;

        (void) state;
        esc = run_leaker("fail", 1, &rec, &err);
        expect_leaked_pid(rec, esc);
        svt_reap_all(T_MS);
        assert_int_equal(kill(esc, 0), -1);
}

static void test_leaks_report_reports_and_leaves_running(void **state) {
        json_t *rec;
        char *err;
        pid_t esc;

        (void) state;
        esc = run_leaker("report", 0, &rec, &err);
        expect_leaked_pid(rec, esc);
        assert_non_null(strstr(err, "(left running)"));
        end_orphan(esc);
        svt_reap_all(T_MS);
}

static void test_leaks_ignore_neither_reports_nor_kills(void **state) {
        json_t *rec;
        char *err;
        pid_t esc;

        (void) state;
        esc = run_leaker("ignore", 0, &rec, &err);
        assert_int_equal(json_array_size(json_object_get(rec, "leaked")), 0);
        assert_null(strstr(err, "descendant"));
        end_orphan(esc);
        svt_reap_all(T_MS);
}

/* ---- The stderr report ---- */

/* Finds the report line of copy `index` and checks its pid and how it ended. */
static void expect_report_line(const char *err, long long index, long long pid, const char *how) {
        char head[96];
        const char *p, *nl;

        (void) snprintf(head, sizeof(head), "supervise: worker %lld pid %lld: ", index, pid);
        p = strstr(err, head);
        if (!p)
                fail_msg("no report line starting '%s' in:\n%s", head, err);
        nl = strchr(p, '\n');
        assert_non_null(nl);
        if (strncmp(p + strlen(head), how, strlen(how)) != 0)
                fail_msg("report of worker %lld does not say '%s': %.*s", index, how, (int) (nl - p), p);
        if (!strstr(p, "wall ") || !strstr(p, "cpu ") || !strstr(p, "max rss ") ||
            strstr(p, "max rss ") > nl)
                fail_msg("report line lacks wall/cpu/max rss: %.*s", (int) (nl - p), p);
}

static void test_report_has_one_line_per_copy(void **state) {
        const char *args[] = { "-n", "3", "--json", "-", "--", svt_worker("sv-exit"), "3", NULL };
        json_t *recs[4];
        char *out, *err;
        int n, i;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 3);
        n = records_parse(out, NULL, recs, 4);
        assert_int_equal(n, 3);
        assert_int_equal(count_lines(err, "supervise: worker "), 3);
        for (i = 0; i < n; i++)
                expect_report_line(err, rec_int(recs[i], "worker"), rec_int(recs[i], "pid"),
                                   "exit code 3");
        svt_reap_all(T_MS);
}

static void test_report_names_the_killing_signal(void **state) {
        const char *args[] = { "--json", "-", "--", svt_worker("sv-crash"), "SEGV", NULL };
        json_t *recs[2];
        char *out, *err;
        int n;

        (void) state;
        assert_exit_status(cli_run(args, NULL, &out, &err), 139);
        n = records_parse(out, NULL, recs, 2);
        assert_int_equal(n, 1);
        assert_int_equal(count_lines(err, "supervise: worker "), 1);
        expect_report_line(err, 0, rec_int(recs[0], "pid"), "killed by SIGSEGV (-11)");
        svt_reap_all(T_MS);
}

static void test_quiet_prints_no_report(void **state) {
        const char *args[] = { "-q", "--", svt_worker("sv-crash"), "SEGV", NULL };
        char *err;

        (void) state;
        assert_exit_status(cli_run(args, NULL, NULL, &err), 139);
        assert_string_equal(err, "");
        svt_reap_all(T_MS);
}

/* ---- Signals sent to supervise ---- */

/* Two copies that wait with default dispositions; `sig` to supervise. Checks
 * each record and returns supervise's wait status; the stderr report goes to
 * *err_out. */
static int signal_two_copies(int sig, const char *code_sig, const char *cause, long long step,
                             const char *step_signal, char **err_out) {
        const char *args[] = { "-n", "2", "-k", "5s", "--json", "-", "--",
                               svt_worker("sv-idle-then-print"), "600000", NULL };
        json_t *rec;
        char *line, *out;
        int i, st;

        cli_start(args);
        for (i = 0; i < 2; i++) {
                line = expect_line_prefix(fx.sup.out, "start");
                free(line);
        }
        assert_int_equal(kill(fx.sup.pid, sig), 0);
        for (i = 0; i < 2; i++) {
                rec = next_record(fx.sup.out, NULL);
                if (rec_int(rec, "code") != -sig || strcmp(rec_str(rec, "signal"), code_sig) != 0 ||
                    strcmp(rec_str(rec, "cause"), cause) != 0 ||
                    (step ? rec_int(rec, "step") != step : !json_is_null(json_object_get(rec, "step"))) ||
                    strcmp(rec_str(rec, "step_signal"), step_signal) != 0) {
                        char *s = json_dumps(rec, JSON_COMPACT);
                        svt_keep(s);
                        fail_msg("after %s to supervise, want code %d signal %s cause %s step %lld "
                                 "step_signal %s; got %s",
                                 code_sig, -sig, code_sig, cause, step, step_signal, s);
                }
        }
        st = cli_finish(&out, err_out);
        assert_string_equal(out, "");
        return st;
}

/* Forwarded signals are sent by supervise, so the copies count as stopped by
 * us; no ladder step ended them. The status is the copy's: 128 + n. */
static void test_usr1_is_forwarded_to_every_copy(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGUSR1, "SIGUSR1", "stopped", 0, "null", &err),
                           128 + SIGUSR1);
        assert_int_equal(count_lines(err, "supervise: worker "), 2);
        svt_reap_all(T_MS);
}

static void test_usr2_is_forwarded_to_every_copy(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGUSR2, "SIGUSR2", "stopped", 0, "null", &err),
                           128 + SIGUSR2);
        svt_reap_all(T_MS);
}

static void test_quit_is_forwarded_to_every_copy(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGQUIT, "SIGQUIT", "stopped", 0, "null", &err),
                           128 + SIGQUIT);
        svt_reap_all(T_MS);
}

/* INT, TERM and HUP stop every copy through the ladder whose first step is
 * the received signal; supervise exits 128 + n. The record's step signal is
 * the one that ended the copy. */
static void test_sigterm_stops_every_copy_exits_143(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGTERM, "SIGTERM", "stopped", 1, "SIGTERM", &err),
                           128 + SIGTERM);
        svt_reap_all(T_MS);
}

static void test_sigint_stops_every_copy_exits_130(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGINT, "SIGINT", "stopped", 1, "SIGINT", &err),
                           128 + SIGINT);
        if (!strstr(err, "step 1 (SIGINT)"))
                fail_msg("report does not name SIGINT as the step that ended the copies:\n%s", err);
        svt_reap_all(T_MS);
}

static void test_sighup_stops_every_copy_exits_129(void **state) {
        char *err;

        (void) state;
        assert_exit_status(signal_two_copies(SIGHUP, "SIGHUP", "stopped", 1, "SIGHUP", &err),
                           128 + SIGHUP);
        svt_reap_all(T_MS);
}

static int group_setup(void **state) {
        struct rlimit no_core = { 0, 0 };

        (void) state;
        svt_become_subreaper();
        /* SIGQUIT and SIGSEGV dump core by default; keep the copies from
         * writing core files (and "core_dumped" false). */
        (void) setrlimit(RLIMIT_CORE, &no_core);
        return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_every_copy_exiting_zero_exits_0),
                T(test_copy_exiting_n_exits_n),
                T(test_copy_timing_out_exits_124),
                T(test_copies_zero_exits_125),
                T(test_copies_not_a_number_exits_125),
                T(test_missing_command_exits_125),
                T(test_unknown_option_exits_125),
                T(test_option_without_argument_exits_125),
                T(test_unknown_signal_exits_125),
                T(test_bad_duration_exits_125),
                T(test_idle_timeout_zero_means_none),
                T(test_bad_policy_or_mechanism_exits_125),
                T(test_not_executable_exits_126),
                T(test_not_found_exits_127),
                T(test_copy_killed_by_segv_exits_139),
                T(test_copy_killed_by_sigkill_exits_137),
                T(test_first_failing_copy_decides_status),
                T(test_help_exits_0_and_shows_exit_table),
                T(test_version_exits_0),
                T(test_copies_get_distinct_index_and_one_run_id),
                T(test_json_file_has_one_valid_record_per_copy),
                T(test_json_sigkilled_copy_has_code_minus_9),
                T(test_json_ladder_kill_has_code_minus_9_and_step),
                T(test_json_record_is_written_when_copy_exits),
                T(test_json_to_unwritable_file_exits_125),
                T(test_stop_ladder_walks_every_step),
                T(test_signal_option_sets_first_step),
                T(test_leaks_kill_kills_and_reports),
                T(test_leaks_fail_kills_reports_and_exits_1),
                T(test_leaks_report_reports_and_leaves_running),
                T(test_leaks_ignore_neither_reports_nor_kills),
                T(test_report_has_one_line_per_copy),
                T(test_report_names_the_killing_signal),
                T(test_quiet_prints_no_report),
                T(test_usr1_is_forwarded_to_every_copy),
                T(test_usr2_is_forwarded_to_every_copy),
                T(test_quit_is_forwarded_to_every_copy),
                T(test_sigterm_stops_every_copy_exits_143),
                T(test_sigint_stops_every_copy_exits_130),
                T(test_sighup_stops_every_copy_exits_129),
        };

        return cmocka_run_group_tests_name("supervise CLI", tests, group_setup, NULL);
}
