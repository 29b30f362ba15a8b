/* test_ctl_cli.c - `supervise --control PATH` and `supervise ctl`, the
 * programs: one case per row of ctl's exit status table (0 done, 1
 * refused, 125 usage or connection error), the table and --json outputs, a
 * second supervise refused on a live socket, and the socket removed when
 * supervise ends after `ctl shutdown`. Waits on output lines, never on time. */
#include <errno.h>
#include <setjmp.h>
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

typedef struct fx {
        char dir[64], sock[128];
        svt_proc sv;
} fx;

static int run_ctl(fx *f, const char *a1, const char *a2, const char *a3, const char *a4, char **out,
                   char **err) {
        const char *argv[] = { svt_cli(), "ctl", f->sock, a1, a2, a3, a4, NULL };
        int st = svt_run(argv, NULL, out, err, 60000);

        assert_true(st >= 0 && WIFEXITED(st));
        return WEXITSTATUS(st);
}

static int setup(void **state) {
        static fx f;
        const char *argv[] = { svt_cli(), "-n", "2", "-q", "--json", "-", "--control", f.sock, "--",
                               svt_worker("sv-sleep"), "forever", NULL };
        char *line;
        int i;

        memset(&f, 0, sizeof(f));
        (void) snprintf(f.dir, sizeof(f.dir), "/tmp/sv-ctl-cli-XXXXXX");
        assert_non_null(mkdtemp(f.dir));
        (void) snprintf(f.sock, sizeof(f.sock), "%s/ctl.sock", f.dir);
        svt_proc_init(&f.sv);
        svt_proc_start(&f.sv, argv);
        /* The socket listens before the first copy starts. */
        for (i = 0; i < 2; i++) {
                line = svt_expect_line_prefix(f.sv.out, "{\"event\":\"start\"", 30000);
                free(line);
        }
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        fx *f = *state;

        svt_proc_release(&f->sv, 30000);
        (void) unlink(f->sock);
        (void) rmdir(f->dir);
        svt_reap_all(30000);
        return 0;
}

static void test_ctl_exit_status_table(void **state) {
        fx *f = *state;
        char *out, *err, *sout, *serr, bad[160];
        const char *again[] = { svt_cli(), "-q", "--control", f->sock, "--", "true", NULL };
        int st;

        assert_int_equal(run_ctl(f, "list", NULL, NULL, NULL, &out, &err), 0);
        assert_non_null(strstr(out, "WORKER"));
        assert_non_null(strstr(out, "running"));
        free(out);
        free(err);
        assert_int_equal(run_ctl(f, "list", "--json", NULL, NULL, &out, &err), 0);
        assert_true(strncmp(out, "{\"id\":1,\"ok\":true,", 18) == 0);
        free(out);
        free(err);

        /* 1: refused, with the reason. */
        assert_int_equal(run_ctl(f, "stop", "7", NULL, NULL, &out, &err), 1);
        assert_non_null(strstr(err, "worker 7: no such worker"));
        free(out);
        free(err);

        /* 125: usage errors and a socket nobody answers on. */
        assert_int_equal(run_ctl(f, "bogus", NULL, NULL, NULL, &out, &err), 125);
        free(out);
        free(err);
        assert_int_equal(run_ctl(f, "signal", "0", "NOPE", NULL, &out, &err), 125);
        free(out);
        free(err);
        assert_int_equal(run_ctl(f, "stop", NULL, NULL, NULL, &out, &err), 125);
        free(out);
        free(err);
        (void) snprintf(bad, sizeof(bad), "%s/missing.sock", f->dir);
        {
                const char *argv[] = { svt_cli(), "ctl", bad, "list", NULL };

                st = svt_run(argv, NULL, &out, &err, 60000);
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 125);
                assert_non_null(strstr(err, "cannot connect"));
                free(out);
                free(err);
        }

        /* A second supervise on a live socket: refused before it starts anything. */
        st = svt_run(again, NULL, &sout, &serr, 60000);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 125);
        assert_non_null(strstr(serr, "address already in use"));
        free(sout);
        free(serr);

        /* 0: a kill of one worker; then shutdown ends supervise, socket and all. */
        assert_int_equal(run_ctl(f, "signal", "1", "KILL", "--tree", &out, &err), 0);
        free(out);
        free(err);
        assert_int_equal(run_ctl(f, "shutdown", NULL, NULL, NULL, &out, &err), 0);
        free(out);
        free(err);
        st = svt_proc_finish(&f->sv, &sout, &serr, 60000);
        assert_true(WIFEXITED(st));
        assert_int_not_equal(WEXITSTATUS(st), 125);
        assert_int_equal(access(f->sock, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        free(sout);
        free(serr);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ctl_exit_status_table, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
