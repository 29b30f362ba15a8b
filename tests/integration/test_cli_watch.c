/* test_cli_watch.c - the main job's watchdogs: --idle-timeout stops a copy
 * that goes silent (exit 124, "idle" in the JSON record) while its output
 * still passes through, and --warn-after prints the process tree of a copy
 * that runs long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "svtest.h"

static void test_idle_timeout_stops_silent_copy_with_124(void **state) {
        char json[] = "/tmp/sv-idle-XXXXXX";
        const char *argv[] = { svt_cli(), "--idle-timeout", "300ms", "--json", json, "--",
                               svt_worker("sv-idle-then-print"), "600000", NULL };
        char *out = NULL, *err = NULL, *text;
        json_t *rec;
        int st, fd;

        (void) state;
        fd = mkstemp(json);
        assert_true(fd >= 0);
        close(fd);
        st = svt_run(argv, NULL, &out, &err, 30000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 124);
        /* The copy's output still reaches our stdout through supervise. */
        assert_string_equal(out, "start\n");
        assert_non_null(strstr(err, "no output after 0.300 s; "));

        fd = open(json, O_RDONLY);
        assert_true(fd >= 0);
        text = svt_read_all(fd, 5000);
        close(fd);
        unlink(json);
        /* The start record, then the exit record. */
        assert_non_null(strstr(text, "{\"event\":\"start\""));
        assert_non_null(strchr(text, '\n'));
        rec = json_loads(strchr(text, '\n') + 1, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(rec);
        assert_true(json_is_true(json_object_get(rec, "timed_out")));
        assert_true(json_is_true(json_object_get(rec, "idle")));
        assert_int_equal(json_integer_value(json_object_get(rec, "timeout_ms")), 300);
        json_decref(rec);
        free(text);
        free(out);
        free(err);
        svt_reap_all(5000);
}

static void test_warn_after_prints_the_tree(void **state) {
        const char *argv[] = { svt_cli(), "--warn-after", "100ms", "--timeout", "1500ms", "--",
                               svt_worker("sv-tree"), "3", NULL };
        char *out = NULL, *err = NULL, *p;
        int st, pid, found = 0;

        (void) state;
        st = svt_run(argv, NULL, &out, &err, 30000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 124);
        assert_non_null(strstr(err, "still running after 100ms"));
        /* Every descendant named on the worker's ready line is in the tree. */
        assert_non_null(strstr(out, "ready"));
        for (p = out + 5; *p == ' '; found++) {
                char needle[32];
                pid = (int) strtol(p, &p, 10);
                snprintf(needle, sizeof(needle), "pid %d ppid", pid);
                assert_non_null(strstr(err, needle));
        }
        assert_int_equal(found, 3);
        free(out);
        free(err);
        svt_reap_all(5000);
}

static void test_bad_idle_duration_is_usage_error(void **state) {
        const char *argv[] = { svt_cli(), "--idle-timeout", "soon", "--", "true", NULL };
        char *err = NULL;
        int st;

        (void) state;
        st = svt_run(argv, NULL, NULL, &err, 10000);
        assert_int_equal(WEXITSTATUS(st), 125);
        assert_non_null(strstr(err, "invalid duration 'soon' for --idle-timeout"));
        free(err);
        svt_reap_all(5000);
}

static int group_setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_idle_timeout_stops_silent_copy_with_124),
                cmocka_unit_test(test_warn_after_prints_the_tree),
                cmocka_unit_test(test_bad_idle_duration_is_usage_error),
        };

        return cmocka_run_group_tests_name("cli watchdogs", tests, group_setup, NULL);
}
