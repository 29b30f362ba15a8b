/* test_cli_restart.c - the main job's restart options end to end: the
 * crash-loop give-up and its exit status, the restart and gave_up lines of
 * the report and of --json with each record's restart number, a copy that
 * fails once and then succeeds, SUPERVISE_WORKER kept across restarts, a
 * SIGTERM that cancels a pending restart, the usage errors, and no change
 * at all without --restart. Real processes; nothing is left behind. */
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
#include <jansson.h>

#include "svtest.h"

#define T_MS 20000

/* Runs supervise ARGS...; returns the wait status, output in out/err. */
static int cli(const char *const args[], char **out, char **err) {
        const char *argv[32];
        int i, st;

        argv[0] = svt_cli();
        for (i = 0; args[i]; i++) {
                assert_true(i + 2 < 32);
                argv[i + 1] = args[i];
        }
        argv[i + 1] = NULL;
        st = svt_run(argv, NULL, out, err, T_MS);
        assert_int_not_equal(st, -1);
        return st;
}

static int count_of(const char *hay, const char *needle) {
        int n = 0;

        while ((hay = strstr(hay, needle))) {
                n++;
                hay += strlen(needle);
        }
        return n;
}

static void assert_status(int st, int want) {
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), want);
}

static void test_gives_up_and_exits_with_the_last_status(void **state) {
        const char *args[] = { "--restart", "on-failure", "--restart-delay", "1ms..4ms",
                               "--max-restarts", "2", "--within", "1m", "-n", "2", "--json", "-",
                               "--", svt_worker("sv-exit"), "3", NULL };
        int restarts[2] = { 0, 0 }, exits = 0, starts = 0, gave_up = 0, moves = 0;
        char *out = NULL, *err = NULL, *line, *save = NULL;
        json_t *o;

        (void) state;
        assert_status(cli(args, &out, &err), 3);
        assert_int_equal(count_of(err, "failed: gave up after 2 restarts within 60.000s"), 2);
        assert_int_equal(count_of(err, ": restart 1 in "), 2);
        assert_int_equal(count_of(err, ": restart 2 in "), 2);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *ev;
                int w;
                o = json_loads(line, 0, NULL);
                assert_non_null(o);
                ev = json_string_value(json_object_get(o, "event"));
                w = (int) json_integer_value(json_object_get(o, "worker"));
                assert_true(w == 0 || w == 1);
                if (!ev) {
                        /* Exit records in order of restart, per slot. */
                        assert_int_equal(json_integer_value(json_object_get(o, "restarts")),
                                         restarts[w]);
                        assert_int_equal(json_integer_value(json_object_get(o, "code")), 3);
                        exits++;
                } else if (strcmp(ev, "restart") == 0) {
                        restarts[w]++;
                        assert_int_equal(json_integer_value(json_object_get(o, "restarts")),
                                         restarts[w]);
                        assert_string_equal(json_string_value(json_object_get(o, "reason")),
                                            "on-failure");
                        assert_true(json_integer_value(json_object_get(o, "delay_ms")) <= 4);
                        moves++;
                } else if (strcmp(ev, "start") == 0) {
                        assert_int_equal(json_integer_value(json_object_get(o, "restarts")),
                                         restarts[w]);
                        starts++;
                } else {
                        assert_string_equal(ev, "gave_up");
                        assert_int_equal(json_integer_value(json_object_get(o, "max_restarts")), 2);
                        assert_int_equal(json_integer_value(json_object_get(o, "within_ms")), 60000);
                        gave_up++;
                }
                json_decref(o);
        }
        assert_int_equal(exits, 6);
        assert_int_equal(starts, 6);
        assert_int_equal(moves, 4);
        assert_int_equal(gave_up, 2);
        free(out);
        free(err);
        svt_reap_all(T_MS);
}

static void test_fails_once_then_passes(void **state) {
        char path[] = "/tmp/sv-cli-restart-XXXXXX";
        char file[64];
        const char *args[] = { "--restart", "on-failure", "--restart-delay", "1ms", "--",
                               svt_worker("sv-flaky"), file, NULL };
        char *err = NULL;
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        snprintf(file, sizeof(file), "%s.f", path);
        assert_status(cli(args, NULL, &err), 0);
        assert_int_equal(count_of(err, "exit code 1"), 1);
        assert_int_equal(count_of(err, "worker 0: restart 1 in "), 1);
        assert_int_equal(count_of(err, "exit code 0"), 1);
        (void) unlink(file);
        (void) unlink(path);
        free(err);
        svt_reap_all(T_MS);
}

static void test_restarted_copies_keep_their_index(void **state) {
        const char *args[] = { "-q", "--restart", "always", "--restart-delay", "1ms",
                               "--max-restarts", "1", "-n", "2", "--", svt_worker("sv-env"), NULL };
        char *out = NULL, *run, *p;

        (void) state;
        assert_status(cli(args, &out, NULL), 0);
        assert_int_equal(count_of(out, "SUPERVISE_WORKER=0\n"), 2);
        assert_int_equal(count_of(out, "SUPERVISE_WORKER=1\n"), 2);
        /* One run id for every copy. */
        run = strstr(out, "SUPERVISE_RUN=");
        assert_non_null(run);
        p = strchr(run, '\n');
        assert_non_null(p);
        *p = '\0';
        run = strdup(run);
        *p = '\n';
        assert_int_equal(count_of(out, run), 4);
        free(run);
        free(out);
        svt_reap_all(T_MS);
}

static void test_sigterm_cancels_a_pending_restart(void **state) {
        const char *argv[] = { svt_cli(), "--restart", "always", "--restart-delay", "1h", "--",
                               svt_worker("sv-exit"), "0", NULL };
        svt_proc p;
        char *line, *out = NULL, *err = NULL;
        int st;

        (void) state;
        svt_proc_init(&p);
        svt_proc_start(&p, argv);
        line = svt_expect_line_prefix(p.err, "supervise: worker 0 pid ", T_MS);
        free(line);
        line = svt_expect_line_prefix(p.err, "supervise: worker 0: restart 1 in ", T_MS);
        free(line);
        assert_int_equal(kill(p.pid, SIGTERM), 0);
        st = svt_proc_finish(&p, &out, &err, T_MS);
        assert_status(st, 128 + SIGTERM);
        /* Nothing started after the signal. */
        assert_int_equal(count_of(err, "pid "), 0);
        free(out);
        free(err);
        svt_reap_all(T_MS);
}

static void test_without_restart_nothing_changes(void **state) {
        const char *args[] = { "--json", "-", "--", svt_worker("sv-exit"), "3", NULL };
        char *out = NULL, *err = NULL;

        (void) state;
        assert_status(cli(args, &out, &err), 3);
        assert_int_equal(count_of(out, "\"event\":\"start\""), 1);
        assert_int_equal(count_of(out, "\"code\":3"), 1);
        assert_int_equal(count_of(out, "restart\""), 0);
        assert_int_equal(count_of(err, "restart"), 0);
        free(out);
        free(err);
        svt_reap_all(T_MS);
}

static void test_usage_errors(void **state) {
        static const char *const bad[][6] = {
                { "--restart", "sometimes", NULL },
                { "--restart-delay", "1s", NULL },
                { "--max-restarts", "3", NULL },
                { "--restart", "always", "--within", "1m", NULL },
                { "--restart", "always", "--restart-delay", "5s..1s", NULL },
                { "--restart", "always", "--restart-delay", "0", NULL },
                { "--restart", "always", "--max-restarts", "0", NULL },
                { "--restart", "always", "--max-restarts", "2", "--within", "0" },
        };
        const char *args[12];
        char *err = NULL;
        size_t i, k;

        (void) state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                for (k = 0; k < 6 && bad[i][k]; k++)
                        args[k] = bad[i][k];
                args[k++] = svt_worker("sv-exit");
                args[k++] = "0";
                args[k] = NULL;
                assert_status(cli(args, NULL, &err), 125);
                if (strncmp(err, "supervise: ", 11) != 0 || count_of(err, "\n") != 2)
                        fail_msg("case %zu: want one line and the usage hint, got: %s", i, err);
                free(err);
                err = NULL;
        }
        svt_reap_all(T_MS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gives_up_and_exits_with_the_last_status),
                cmocka_unit_test(test_fails_once_then_passes),
                cmocka_unit_test(test_restarted_copies_keep_their_index),
                cmocka_unit_test(test_sigterm_cancels_a_pending_restart),
                cmocka_unit_test(test_without_restart_nothing_changes),
                cmocka_unit_test(test_usage_errors),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
