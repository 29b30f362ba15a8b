/* test_guardian.c - a dead guardian is noticed at once and replaced, so a
 * SIGKILL of supervise afterwards still ends every worker's tree. Runs once
 * per mechanism: cgroup (skipped where supervise cannot get a writable
 * cgroup2) and the /proc walk, where the guardian finds the tree by the
 * SUPERVISE_TREE marker. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "svtest.h"

#define TREE "20"

typedef struct ctx {
        svt_proc p;
} ctx;

/* Reads stderr lines until "guardian <pid> started" with a pid other than
 * `not`; returns that pid. */
static pid_t guardian_started(ctx *c, pid_t not) {
        char *line, *at;
        int pid;

        for (;;) {
                line = svt_read_line(c->p.err, 30000);
                if (!line)
                        fail_msg("no 'guardian ... started' line (other than %d)", (int) not);
                at = strstr(line, "guardian ");
                if (at && sscanf(at, "guardian %d started", &pid) == 1 && pid != not) {
                        free(line);
                        return (pid_t) pid;
                }
                free(line);
        }
}

static void guardian_killed_then_supervisor(ctx *c, const char *mechanism) {
        const char *argv[] = { svt_cli(), "-v", "--mechanism", mechanism, "--",
                               svt_worker("sv-tree"), TREE, NULL };
        char *line;
        pid_t g1, g2;
        int st;

        svt_become_subreaper();
        svt_proc_start(&c->p, argv);
        g1 = guardian_started(c, 0);
        line = svt_expect_line_prefix(c->p.out, "ready ", 30000);
        free(line);

        /* g1 is supervise's child, and supervise does not reap it before
         * it is dead: the pid is still the guardian's. */
        assert_int_equal(kill(g1, SIGKILL), 0);
        g2 = guardian_started(c, g1);
        assert_true(g2 > 0);

        assert_int_equal(kill(c->p.pid, SIGKILL), 0);
        st = svt_wait(c->p.pid, 30000);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        c->p.pid = 0;
        /* The tree and the guardian now come to us: each must end by
         * itself (the guardian's doing), or this fails naming them. */
        svt_reap_all(20000);
}

static void test_guardian_killed_is_replaced_and_ends_the_tree_cgroup(void **state) {
        const char *argv[] = { svt_cli(), "-q", "--mechanism", "cgroup", "--",
                               svt_worker("sv-exit"), "0", NULL };
        int st;

        st = svt_run(argv, NULL, NULL, NULL, 30000);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "no cgroup mechanism here\n");
                skip();
        }
        guardian_killed_then_supervisor(*state, "cgroup");
}

static void test_guardian_killed_is_replaced_and_ends_the_tree_procwalk(void **state) {
        guardian_killed_then_supervisor(*state, "procwalk");
}

/* A guardian that dies at once each time (here: killed each time) would
 * cost a fork and an exec per death forever: after 8 replacements the run
 * goes on unguarded, says so once, and starts no more. */
static void test_guardian_that_keeps_dying_is_given_up_with_one_line(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_cli(), "-v", "--mechanism", "procwalk", "--",
                               svt_worker("sv-sleep"), "forever", NULL };
        char *line, *out = NULL, *err = NULL;
        pid_t g = 0;
        int i, st;

        svt_proc_start(&c->p, argv);
        for (i = 0; i < 9; i++) {
                g = guardian_started(c, g);
                assert_int_equal(kill(g, SIGKILL), 0);
        }
        for (;;) {
                line = svt_read_line(c->p.err, 30000);
                if (!line)
                        fail_msg("no 'unguarded' line");
                if (strstr(line, " started"))
                        fail_msg("a tenth guardian: %s", line);
                if (strstr(line, "the run is unguarded")) {
                        free(line);
                        break;
                }
                free(line);
        }
        assert_int_equal(kill(c->p.pid, SIGTERM), 0);
        st = svt_proc_finish(&c->p, &out, &err, 30000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 143);
        assert_null(strstr(err, "guardian"));
        free(out);
        free(err);
}

static int setup(void **state) {
        ctx *c = calloc(1, sizeof(*c));

        if (!c)
                return -1;
        svt_proc_init(&c->p);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        ctx *c = *state;

        svt_proc_release(&c->p, 5000);
        free(c);
        svt_reap_all(20000);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_guardian_killed_is_replaced_and_ends_the_tree_cgroup, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_guardian_killed_is_replaced_and_ends_the_tree_procwalk, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_guardian_that_keeps_dying_is_given_up_with_one_line, setup, teardown),
        };

        return cmocka_run_group_tests_name("guardian", tests, NULL, NULL);
}
