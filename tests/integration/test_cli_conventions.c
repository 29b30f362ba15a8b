/* test_cli_conventions.c - the habits every subcommand shares: -h, --help
 * and --version everywhere; an error names the word that is wrong; `ps` cuts
 * its rows to the terminal's width (or COLUMNS) as procps' ps does, and not
 * when writing to a pipe; the guardian shows in `ps` as supervise-guardian.
 * Leaves no process, no zombie and no file behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "svtest.h"

#define TIMEOUT_MS 10000

static int setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

/* The long-named worker of the width test, if a failed assertion left it. */
static pid_t leftover;

static int teardown(void **state) {
        (void) state;
        if (leftover > 0)
                (void) kill(leftover, SIGKILL); /* our unreaped child: safe */
        svt_reap_all(TIMEOUT_MS);
        return 0;
}

/* Runs `supervise ARGS` (NULL-terminated); returns the exit status. */
static int cli(char **out, char **err, const char *const *args) {
        const char *argv[16];
        int n = 0, ws;

        argv[n++] = svt_cli();
        while (n < 15 && *args)
                argv[n++] = *args++;
        argv[n] = NULL;
        ws = svt_run(argv, NULL, out, err, TIMEOUT_MS);
        assert_true(ws != -1 && WIFEXITED(ws));
        return WEXITSTATUS(ws);
}

static void test_every_subcommand_has_h_help_and_version(void **state) {
        static const char *const subs[] = { NULL, "ps", "kill", "run", "timeout", "pgrep", "pkill" };
        static const char *const flags[] = { "-h", "--help", "--version" };
        size_t i, k;

        (void) state;
        for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                for (k = 0; k < 3; k++) {
                        const char *args[3] = { subs[i] ? subs[i] : flags[k], subs[i] ? flags[k] : NULL, NULL };
                        char *out = NULL, *err = NULL, want[64];
                        int st = cli(&out, &err, args);

                        if (k < 2)
                                (void) snprintf(want, sizeof(want), "Usage: supervise%s%s", subs[i] ? " " : "",
                                                subs[i] ? subs[i] : "");
                        else
                                (void) snprintf(want, sizeof(want), "supervise %s%s", subs[i] ? subs[i] : "",
                                                subs[i] ? " " : "");
                        if (st != 0 || strncmp(out, want, strlen(want)) != 0 || *err)
                                fail_msg("'supervise %s %s': exit %d, stdout '%.40s', stderr '%s'",
                                         subs[i] ? subs[i] : "", flags[k], st, out, err);
                        free(out);
                        free(err);
                }
        }
}

/* Each row: the command line, the status, the word the error must quote and
 * a word it must not. */
static void test_errors_name_the_word_that_is_wrong(void **state) {
        static const struct {
                const char *args[6];
                int status;
                const char *quoted, *not_quoted;
        } rows[] = {
                { { "kill", "--name", "nosuch", "-KILL" }, 2, "'-KILL'", "'nosuch'" },
                { { "ps", "-qX" }, 2, "'-q'", "'ps'" },
                { { "ps", "-cX" }, 2, "'-X'", "'ps'" },
                { { "ps", "--wait" }, 2, "'--wait'", "'-w'" },
                { { "-qX", "true" }, 125, "'-X'", "'-qX'" },
                { { "run", "-qZ" }, 125, "'-Z'", "'run'" },
                { { "timeout", "-vZ", "1", "true" }, 125, "'-Z'", "'timeout'" },
                { { "timeout", "--bogus", "1", "true" }, 125, "'--bogus'", "'1'" },
                { { "timeout", "xyz", "true" }, 125, "'xyz'", "'true'" },
                { { "pgrep", "-lZ", "x" }, 2, "'-Z'", "'x'" },
                { { "pkill", "--bogus", "x" }, 2, "'--bogus'", "'x'" },
                { { "pgrep", "-u", "sv-no-such-user", "x" }, 2, "'sv-no-such-user'", "'x'" },
        };
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                char *out = NULL, *err = NULL;
                int st = cli(&out, &err, rows[i].args);

                if (st != rows[i].status || !strstr(err, rows[i].quoted) || strstr(err, rows[i].not_quoted))
                        fail_msg("row %zu: exit %d (want %d), stderr '%s' (want %s, not %s)", i, st,
                                 rows[i].status, err, rows[i].quoted, rows[i].not_quoted);
                free(out);
                free(err);
        }
}

/* ---- ps and the terminal's width. ---- */

/* A worker whose command line is about 200 bytes: sv-sleep through a
 * symlink in a directory with a long name. */
typedef struct longproc {
        char dir[64], sub[256], link[300];
        pid_t pid;
} longproc;

static void longproc_start(longproc *lp) {
        const char *argv[] = { lp->link, "forever", NULL };
        char *rest;
        int p[2];

        (void) snprintf(lp->dir, sizeof(lp->dir), "/tmp/svconv.XXXXXX");
        assert_non_null(mkdtemp(lp->dir));
        (void) snprintf(lp->sub, sizeof(lp->sub), "%s/%0160d", lp->dir, 7);
        assert_int_equal(mkdir(lp->sub, 0700), 0);
        (void) snprintf(lp->link, sizeof(lp->link), "%s/sv-sleep", lp->sub);
        assert_int_equal(symlink(svt_worker("sv-sleep"), lp->link), 0);
        /* Returns once the child has exec'd: the pipe's write end closes then. */
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(svt_spawn(argv, NULL, NULL, NULL, &lp->pid), 0);
        (void) close(p[1]);
        rest = svt_read_all(p[0], TIMEOUT_MS);
        (void) close(p[0]);
        assert_non_null(rest);
        free(rest);
        leftover = lp->pid;
}

static void longproc_stop(longproc *lp) {
        (void) kill(lp->pid, SIGKILL);
        (void) svt_wait(lp->pid, TIMEOUT_MS);
        leftover = 0;
        (void) unlink(lp->link);
        (void) rmdir(lp->sub);
        (void) rmdir(lp->dir);
}

/* Runs `supervise ps -p PID` with stdout on a pipe, or on a terminal of
 * `tty_cols` columns, and COLUMNS set to `columns` (NULL: unset). Returns
 * the output with any '\r' removed. */
static char *run_ps(pid_t pid, const char *columns, unsigned short tty_cols) {
        char pidbuf[16], *out = malloc(8192);
        struct winsize ws = { .ws_row = 24, .ws_col = tty_cols };
        size_t len = 0, i, k;
        int fds[2], master = -1, status;
        ssize_t n;
        pid_t child;

        assert_non_null(out);
        (void) snprintf(pidbuf, sizeof(pidbuf), "%d", (int) pid);
        if (tty_cols) {
                master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                assert_true(master >= 0);
                assert_int_equal(grantpt(master), 0);
                assert_int_equal(unlockpt(master), 0);
                assert_int_equal(ioctl(master, TIOCSWINSZ, &ws), 0);
                fds[0] = master;
                fds[1] = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        } else {
                assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        }
        assert_true(fds[1] >= 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                if (columns)
                        (void) setenv("COLUMNS", columns, 1);
                else
                        (void) unsetenv("COLUMNS");
                (void) dup2(fds[1], 1);
                (void) execl(svt_cli(), svt_cli(), "ps", "-p", pidbuf, (char *) NULL);
                _exit(127);
        }
        (void) close(fds[1]);
        /* A terminal's master reads EIO, not EOF, once the child has gone. */
        while ((n = read(fds[0], out + len, 8191 - len)) > 0 || (n < 0 && errno == EINTR))
                len += n > 0 ? (size_t) n : 0;
        (void) close(fds[0]);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (i = k = 0; i < len; i++)
                if (out[i] != '\r')
                        out[k++] = out[i];
        out[k] = '\0';
        return out;
}

/* The length of the row of `pid` (the second line), or -1. */
static long row_len(const char *out) {
        const char *row = strchr(out, '\n'), *end;

        if (!row)
                return -1;
        end = strchr(++row, '\n');
        return end ? end - row : -1;
}

static void test_ps_fits_rows_to_the_terminal_and_not_to_a_pipe(void **state) {
        longproc lp;
        char *out;
        long full;

        (void) state;
        longproc_start(&lp);

        out = run_ps(lp.pid, NULL, 0); /* a pipe: whole rows */
        full = row_len(out);
        print_message("pipe: row of %ld bytes\n", full);
        assert_non_null(strstr(out, lp.link));
        assert_true(full > 200);
        free(out);

        out = run_ps(lp.pid, NULL, 100); /* a terminal of 100 columns */
        print_message("terminal of 100: row of %ld\n", row_len(out));
        assert_int_equal(row_len(out), 100);
        free(out);

        out = run_ps(lp.pid, "120", 100); /* COLUMNS wins, as in procps */
        assert_int_equal(row_len(out), 120);
        free(out);

        out = run_ps(lp.pid, "90", 0); /* COLUMNS applies to a pipe too */
        assert_int_equal(row_len(out), 90);
        free(out);

        out = run_ps(lp.pid, "40", 0); /* never below 80 */
        assert_int_equal(row_len(out), 80);
        free(out);

        longproc_stop(&lp);
}

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The guardian is a child of supervise; it execs after the fork, which no
 * pipe of ours can see, so `ps` is asked again with a short backoff. */
static void test_ps_shows_the_guardian_by_name(void **state) {
        const char *argv[] = { svt_cli(), "-q", svt_worker("sv-spawn-child"), NULL };
        char pidbuf[16], *line, *out = NULL, *err = NULL;
        svt_proc p;
        bool seen = false;
        int i;

        (void) state;
        svt_proc_init(&p);
        svt_proc_start(&p, argv);
        line = svt_expect_line_prefix(p.out, "ready ", TIMEOUT_MS);
        free(line);
        (void) snprintf(pidbuf, sizeof(pidbuf), "%d", (int) p.pid);
        for (i = 0; i < 200 && !seen; i++) {
                const char *args[] = { "ps", "-P", pidbuf, NULL };

                free(out);
                free(err);
                (void) cli(&out, &err, args);
                seen = strstr(out, "  supervise-guardian\n") != NULL;
                if (!seen)
                        sleep_ms(i < 10 ? 1 : 10);
        }
        print_message("%s", out);
        free(out);
        free(err);
        out = err = NULL;
        assert_int_equal(kill(p.pid, SIGTERM), 0);
        (void) svt_proc_finish(&p, &out, &err, TIMEOUT_MS);
        free(out);
        free(err);
        svt_proc_release(&p, TIMEOUT_MS);
        assert_true(seen);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_subcommand_has_h_help_and_version),
                cmocka_unit_test(test_errors_name_the_word_that_is_wrong),
                cmocka_unit_test(test_ps_fits_rows_to_the_terminal_and_not_to_a_pipe),
                cmocka_unit_test(test_ps_shows_the_guardian_by_name),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
