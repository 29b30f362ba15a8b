/* test_svtest.c - the test helpers themselves, against real workers: exit
 * statuses, collected output, environment, the fds a child inherits, zombies
 * and orphans. If these are wrong, every other integration test is too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define TIMEOUT_MS 10000

static void test_run_reports_the_exit_status(void **state) {
        const char *argv[] = { svt_worker("sv-exit"), "3", NULL };
        char *out = NULL, *err = NULL;
        int status;

        (void) state;
        status = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 3);
        assert_string_equal(out, "");
        assert_string_equal(err, "");
        free(out);
        free(err);
        svt_assert_no_children();
}

static void test_run_collects_stderr_apart_from_stdout(void **state) {
        const char *argv[] = { svt_worker("sv-exit"), NULL };
        char *out = NULL, *err = NULL;
        int status;

        (void) state;
        status = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 2);
        assert_string_equal(out, "");
        assert_string_equal(err, "usage: sv-exit N (0..255)\n");
        free(out);
        free(err);
        svt_assert_no_children();
}

static void test_run_extra_environment_replaces_ours(void **state) {
        const char *argv[] = { svt_worker("sv-env"), NULL };
        const char *env[] = { "SUPERVISE_RUN=new", "SUPERVISE_WORKER=w1", NULL };
        char *out = NULL;
        int status;

        (void) state;
        assert_int_equal(setenv("SUPERVISE_RUN", "old", 1), 0);
        status = svt_run(argv, env, &out, NULL, TIMEOUT_MS);
        assert_int_equal(unsetenv("SUPERVISE_RUN"), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_non_null(strstr(out, "SUPERVISE_WORKER=w1\n"));
        assert_non_null(strstr(out, "SUPERVISE_RUN=new\n"));
        assert_null(strstr(out, "SUPERVISE_RUN=old"));
        free(out);
        svt_assert_no_children();
}

/* "fds 0 1 2 ..." as sv-fds would print it for a child that inherits exactly
 * our fds without FD_CLOEXEC: ctest or a shell may pass down extra ones. */
static void inheritable_fds(char *buf, size_t len) {
        size_t used;
        int fd;

        (void) snprintf(buf, len, "fds 0 1 2");
        used = strlen(buf);
        for (fd = 3; fd < 1024; fd++) {
                int flags = fcntl(fd, F_GETFD);

                if (flags >= 0 && !(flags & FD_CLOEXEC)) {
                        (void) snprintf(buf + used, len - used, " %d", fd);
                        used += strlen(buf + used);
                }
        }
        (void) snprintf(buf + used, len - used, "\n");
}

static void test_spawn_child_inherits_no_pipe_end_of_ours(void **state) {
        const char *argv[] = { svt_worker("sv-fds"), NULL };
        char *out = NULL, want[512];
        int status;

        (void) state;
        /* Our pipe ends are O_CLOEXEC, so the child sees its stdio and only
         * what we inherited ourselves. */
        inheritable_fds(want, sizeof(want));
        status = svt_run(argv, NULL, &out, NULL, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(out, want);
        free(out);
        svt_assert_no_children();
}

static void test_spawn_missing_binary_returns_enoent(void **state) {
        const char *argv[] = { svt_worker("sv-no-such-worker"), NULL };
        int out_fd = -1;
        pid_t pid = 0;

        (void) state;
        assert_int_equal(svt_spawn(argv, NULL, &out_fd, NULL, &pid), -ENOENT);
        assert_int_equal(out_fd, -1);
        assert_int_equal(pid, 0);
        svt_reap_all(TIMEOUT_MS);
}

static void test_read_line_returns_each_line_then_null_at_eof(void **state) {
        const char *argv[] = { svt_worker("sv-idle-then-print"), "0", NULL };
        char *line;
        pid_t pid;
        int fd, status;

        (void) state;
        assert_int_equal(svt_spawn(argv, NULL, &fd, NULL, &pid), 0);
        line = svt_expect_line_prefix(fd, "start", TIMEOUT_MS);
        assert_string_equal(line, "start");
        free(line);
        line = svt_read_line(fd, TIMEOUT_MS);
        assert_string_equal(line, "end");
        free(line);
        assert_null(svt_read_line(fd, TIMEOUT_MS));
        assert_int_equal(close(fd), 0);
        status = svt_wait(pid, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        svt_assert_no_children();
}

static void test_list_children_includes_an_unreaped_zombie(void **state) {
        const char *argv[] = { svt_worker("sv-exit"), "0", NULL };
        siginfo_t si;
        pid_t pid, kids[8];
        int n;

        (void) state;
        assert_int_equal(svt_spawn(argv, NULL, NULL, NULL, &pid), 0);
        /* WNOWAIT: wait for the exit but leave the zombie in place. */
        assert_int_equal(waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT), 0);
        n = svt_list_children(kids, 8);
        assert_int_equal(n, 1);
        assert_int_equal(kids[0], pid);
        svt_reap_all(TIMEOUT_MS);
        assert_int_equal(svt_list_children(kids, 8), 0);
}

static void test_reap_children_kills_an_orphan_alive_at_the_deadline(void **state) {
        const char *argv[] = { svt_worker("sv-spawn-child"), "forever", NULL };
        char why[512], *line;
        pid_t pid, grandchild, kids[8];
        int fd, status, n;

        (void) state;
        svt_become_subreaper();
        assert_int_equal(svt_spawn(argv, NULL, &fd, NULL, &pid), 0);
        line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
        grandchild = (pid_t) atoi(line + 6);
        free(line);
        assert_int_equal(close(fd), 0);
        assert_true(grandchild > 1);

        /* Killing the parent hands its child to us, the subreaper. */
        assert_int_equal(kill(pid, SIGKILL), 0);
        status = svt_wait(pid, TIMEOUT_MS);
        assert_true(WIFSIGNALED(status));
        n = svt_list_children(kids, 8);
        assert_int_equal(n, 1);
        assert_int_equal(kids[0], grandchild);

        assert_int_equal(svt_reap_children(0, why, sizeof(why)), 1);
        assert_int_equal(atoi(why), grandchild);
        svt_assert_no_children();
}

static void test_reap_all_returns_once_children_exit_by_themselves(void **state) {
        const char *argv[] = { svt_worker("sv-sleep"), "20", NULL };
        pid_t pid;
        int i;

        (void) state;
        for (i = 0; i < 3; i++)
                assert_int_equal(svt_spawn(argv, NULL, NULL, NULL, &pid), 0);
        svt_reap_all(TIMEOUT_MS);
        svt_assert_no_children();
}

static void test_run_timeout_kills_the_child_and_returns_minus_one(void **state) {
        const char *argv[] = { svt_worker("sv-sleep"), "forever", NULL };
        char *out = NULL;

        (void) state;
        assert_int_equal(svt_run(argv, NULL, &out, NULL, 50), -1);
        assert_null(out);
        svt_assert_no_children();
}

/* A failed test must not leave children that fail the next one too. */
static int teardown(void **state) {
        (void) state;
        (void) svt_reap_children(1000, NULL, 0);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_run_reports_the_exit_status, teardown),
                cmocka_unit_test_teardown(test_run_collects_stderr_apart_from_stdout, teardown),
                cmocka_unit_test_teardown(test_run_extra_environment_replaces_ours, teardown),
                cmocka_unit_test_teardown(test_spawn_child_inherits_no_pipe_end_of_ours, teardown),
                cmocka_unit_test_teardown(test_spawn_missing_binary_returns_enoent, teardown),
                cmocka_unit_test_teardown(test_read_line_returns_each_line_then_null_at_eof,
                                          teardown),
                cmocka_unit_test_teardown(test_list_children_includes_an_unreaped_zombie,
                                          teardown),
                cmocka_unit_test_teardown(test_reap_children_kills_an_orphan_alive_at_the_deadline,
                                          teardown),
                cmocka_unit_test_teardown(test_reap_all_returns_once_children_exit_by_themselves,
                                          teardown),
                cmocka_unit_test_teardown(test_run_timeout_kills_the_child_and_returns_minus_one,
                                          teardown),
        };

        return cmocka_run_group_tests_name("svtest", tests, NULL, NULL);
}
