/* test_timeout_parity.c - `supervise timeout` against GNU timeout (coreutils),
 * case by case: each row runs the same arguments through both and asserts
 * the same exit status as a shell sees it (128+N for a death by signal N:
 * GNU re-raises the command's signal, or is killed by its own KILL, where we
 * exit 128+N). Rows where the process tree is involved say how they differ.
 * Needs GNU timeout in PATH: the test fails, not skips, without it, since
 * parity is what it asserts. Leaves no process and no zombie behind. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define TIMEOUT_MS 20000
#define MAX_ARGS 12

/* One row: the arguments after `timeout`, and the status both must give.
 * "@name" is replaced by the path of worker sv-name, "@noexec" by a file
 * that exists but is not executable. */
typedef struct row {
        const char *what;
        const char *args[MAX_ARGS];
        int want;
} row;

static const row rows[] = {
        { "command succeeds in time", { "5", "/bin/true" }, 0 },
        { "command's status passes", { "5", "@exit", "3" }, 3 },
        { "command's own 124 passes", { "5", "@exit", "124" }, 124 },
        { "timed out", { "0.2", "@sleep", "5000" }, 124 },
        { "duration 1e-1", { "1e-1", "@sleep", "5000" }, 124 },
        { "duration .2", { ".2", "@sleep", "5000" }, 124 },
        { "duration with unit 0.004m", { "0.004m", "@sleep", "5000" }, 124 },
        { "duration inf", { "inf", "@exit", "0" }, 0 },
        { "duration 0 is no timeout", { "0", "@sleep", "50" }, 0 },
        { "-s KILL", { "-s", "KILL", "0.1", "@sleep", "5000" }, 137 },
        { "-s INT", { "-s", "INT", "0.1", "@sleep", "5000" }, 124 },
        { "--signal=9", { "--signal=9", "0.1", "@sleep", "5000" }, 137 },
        { "--preserve-status, TERM", { "--preserve-status", "0.1", "@sleep", "5000" }, 143 },
        { "--preserve-status, INT", { "--preserve-status", "-s", "INT", "0.1", "@sleep", "5000" }, 130 },
        { "--preserve-status, in time", { "--preserve-status", "5", "@exit", "7" }, 7 },
        /* sv-ignore-term must have ignored TERM before the deadline, or
         * TERM kills it and the row measures a race: 1.5 s leaves room for a
         * loaded machine under ASan, where 0.2 s did not. */
        { "-k: TERM ignored, KILL needed", { "-k", "0.2", "1.5", "@ignore-term" }, 137 },
        { "--kill-after=, preserve", { "--preserve-status", "--kill-after=0.2", "1.5", "@ignore-term" }, 137 },
        { "TERM ignored, ends by itself", { "1.5", "@ignore-term", "1900" }, 124 },
        { "TERM ignored, ends by itself, preserve", { "--preserve-status", "1.5", "@ignore-term", "1900" }, 0 },
        { "--foreground", { "--foreground", "0.1", "@sleep", "5000" }, 124 },
        { "-v", { "-v", "0.1", "@sleep", "5000" }, 124 },
        { "command not found", { "5", "/nonexistent/sv-no-such-program" }, 127 },
        { "command not found in PATH", { "5", "sv-no-such-program-anywhere" }, 127 },
        { "command not executable", { "5", "@noexec" }, 126 },
        { "bad duration", { "xyz", "/bin/true" }, 125 },
        { "bad duration nan", { "nan", "/bin/true" }, 125 },
        { "bad duration unit", { "1x", "/bin/true" }, 125 },
        { "negative duration", { "--", "-1", "/bin/true" }, 125 },
        { "bad option", { "--bogus", "1", "/bin/true" }, 125 },
        { "bad signal", { "-s", "NOSUCH", "1", "/bin/true" }, 125 },
        { "no command", { "5" }, 125 },
        { "no operands", { NULL }, 125 },
        /* Tree rows. A child in the command's process group dies with it in
         * both. */
        { "tree: child in the group", { "0.2", "@spawn-child" }, 124 },
};

static char noexec_path[64];

static int setup(void **state) {
        int fd;

        (void) state;
        svt_become_subreaper();
        (void) snprintf(noexec_path, sizeof(noexec_path), "/tmp/svtimeout.XXXXXX");
        fd = mkstemp(noexec_path);
        if (fd < 0)
                return -1;
        (void) write(fd, "#!/bin/sh\nexit 0\n", 17);
        (void) close(fd);
        return chmod(noexec_path, 0644);
}

static int teardown(void **state) {
        (void) state;
        (void) unlink(noexec_path);
        svt_reap_all(TIMEOUT_MS);
        return 0;
}

/* Builds {prog..., row args...} with @names resolved. */
static void build_argv(const char **out, const char *const *prefix, const row *r) {
        static char paths[MAX_ARGS][256];
        int n = 0, i;

        for (i = 0; prefix[i]; i++)
                out[n++] = prefix[i];
        for (i = 0; i < MAX_ARGS && r->args[i]; i++) {
                const char *a = r->args[i];

                if (strcmp(a, "@noexec") == 0) {
                        out[n++] = noexec_path;
                } else if (a[0] == '@') {
                        char name[64];

                        (void) snprintf(name, sizeof(name), "sv-%s", a + 1);
                        (void) snprintf(paths[i], sizeof(paths[i]), "%s", svt_worker(name));
                        out[n++] = paths[i];
                } else {
                        out[n++] = a;
                }
        }
        out[n] = NULL;
}

/* The status as a shell reports it. */
static int shell_status(int ws) {
        if (ws == -1)
                return -1;
        if (WIFSIGNALED(ws))
                return 128 + WTERMSIG(ws);
        return WEXITSTATUS(ws);
}

static int run_status(const char *const *prefix, const row *r) {
        const char *argv[MAX_ARGS + 4];
        char *out = NULL, *err = NULL;
        int ws;

        build_argv(argv, prefix, r);
        ws = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        free(out);
        free(err);
        return shell_status(ws);
}

static void test_timeout_every_row_exits_as_gnu_timeout_does(void **state) {
        const char *gnu[] = { "timeout", NULL };
        const char *ours[] = { svt_cli(), "timeout", NULL };
        int failures = 0;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                int g = run_status(gnu, &rows[i]);
                int o = run_status(ours, &rows[i]);

                print_message("%-42s GNU %3d  ours %3d  want %3d\n", rows[i].what, g, o, rows[i].want);
                if (g != rows[i].want || o != rows[i].want)
                        failures++;
        }
        svt_reap_all(TIMEOUT_MS);
        assert_int_equal(failures, 0);
}

/* Reads "ready <pid>" from a worker's stdout. */
static pid_t ready_pid(const char *out) {
        const char *p = out ? strstr(out, "ready ") : NULL;

        return p ? (pid_t) atoi(p + 6) : 0;
}

static int alive(pid_t pid) {
        char path[64], buf[512], *rp;
        FILE *f;
        int live = 0;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) != NULL)
                live = rp[2] != 'Z' && rp[2] != 'X';
        (void) fclose(f);
        return live;
}

/* The tree row that differs: a grandchild that left the process group
 * (setsid) outlives GNU timeout, which signals only the group; ours dies with
 * the command. Both exit 124. */
static void run_escapee(const char *const *prefix, int *out_status, int *out_escapee_alive) {
        const char *argv[8];
        char *out = NULL, *err = NULL;
        pid_t esc;
        int i = 0, ws;

        while (prefix[i]) {
                argv[i] = prefix[i];
                i++;
        }
        argv[i++] = "0.3";
        argv[i++] = svt_worker("sv-setsid-escapee");
        argv[i] = NULL;
        ws = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        esc = ready_pid(out);
        free(out);
        free(err);
        *out_status = shell_status(ws);
        *out_escapee_alive = esc > 0 && alive(esc);
        /* It is reparented to us (the subreaper): still ours to kill. */
        if (esc > 0 && *out_escapee_alive)
                (void) kill(esc, SIGKILL);
}

static void test_timeout_setsid_escapee_outlives_gnu_but_not_ours(void **state) {
        const char *gnu[] = { "timeout", NULL };
        const char *ours[] = { svt_cli(), "timeout", NULL };
        int gs, galive, os, oalive;

        (void) state;
        run_escapee(gnu, &gs, &galive);
        run_escapee(ours, &os, &oalive);
        svt_reap_all(TIMEOUT_MS);
        print_message("setsid escapee: GNU %d (escapee %s), ours %d (escapee %s)\n", gs,
                      galive ? "alive" : "gone", os, oalive ? "alive" : "gone");
        assert_int_equal(gs, 124);
        assert_int_equal(os, 124);
        assert_true(galive);
        assert_false(oalive);
}

/* Runs argv in a new session (as the child of its leader) whose controlling
 * terminal is a fresh pty, with "hello" typed into it; returns the shell status and the
 * terminal's output (without '\r') in *out. */
static int run_on_tty(const char *const *argv, char **out) {
        char buf[4096];
        size_t len = 0, i, k;
        ssize_t n;
        int master, status, sig;
        pid_t child;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(master >= 0);
        assert_int_equal(grantpt(master), 0);
        assert_int_equal(unlockpt(master), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                int slave;

                for (sig = 1; sig < NSIG; sig++)
                        (void) signal(sig, SIG_DFL);
                if (setsid() < 0 || (slave = open(ptsname(master), O_RDWR)) < 0)
                        _exit(121); /* opening it makes it our terminal */
                (void) dup2(slave, 0);
                (void) dup2(slave, 1);
                (void) dup2(slave, 2);
                /* As a shell runs a job: not the session leader itself,
                 * which could not leave the foreground group. */
                child = fork();
                if (child == 0) {
                        (void) execvp(argv[0], (char *const *) argv);
                        _exit(127);
                }
                if (child < 0 || waitpid(child, &status, 0) != child)
                        _exit(121);
                _exit(shell_status(status));
        }
        assert_int_equal(write(master, "hello\n", 6), 6);
        /* The master reads EIO once every holder of the terminal is gone. */
        while ((n = read(master, buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR))
                len += n > 0 ? (size_t) n : 0;
        (void) close(master);
        assert_int_equal(waitpid(child, &status, 0), child);
        for (i = k = 0; i < len; i++)
                if (buf[i] != '\r')
                        buf[k++] = buf[i];
        buf[k] = '\0';
        *out = strdup(buf);
        return shell_status(status);
}

/* --foreground: COMMAND can read the terminal. Without it, reading stops it
 * (SIGTTIN, it is in a background group) until the timeout ends it: 124.
 * Both as GNU's. */
static void test_timeout_foreground_lets_command_read_the_terminal(void **state) {
        static const char reader[] = "read x; echo \"got $x\"";
        const char *gnu_fg[] = { "timeout", "--foreground", "5", "/bin/sh", "-c", reader, NULL };
        const char *ours_fg[] = { svt_cli(), "timeout", "--foreground", "5", "/bin/sh", "-c", reader, NULL };
        const char *gnu_bg[] = { "timeout", "0.5", "/bin/sh", "-c", reader, NULL };
        const char *ours_bg[] = { svt_cli(), "timeout", "0.5", "/bin/sh", "-c", reader, NULL };
        const char *const *cmds[] = { gnu_fg, ours_fg, gnu_bg, ours_bg };
        int want[] = { 0, 0, 124, 124 };
        char *out;
        int i, st;

        (void) state;
        for (i = 0; i < 4; i++) {
                st = run_on_tty(cmds[i], &out);
                print_message("%s %s: %d, terminal '%s'\n", i % 2 ? "ours" : "GNU",
                              i < 2 ? "--foreground" : "(background)", st, out);
                assert_int_equal(st, want[i]);
                assert_true((strstr(out, "got hello") != NULL) == (i < 2));
                free(out);
        }
        svt_reap_all(TIMEOUT_MS);
}

/* The main form suggests the timeout form when a duration names no program. */
static void test_main_form_with_duration_first_hints_timeout(void **state) {
        const char *argv[] = { svt_cli(), "0.2", "sleep", "5", NULL };
        char *out = NULL, *err = NULL;
        int ws;

        (void) state;
        ws = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        assert_true(WIFEXITED(ws));
        assert_int_equal(WEXITSTATUS(ws), 127);
        assert_non_null(strstr(err, "did you mean 'supervise timeout 0.2 sleep'?"));
        free(out);
        free(err);
}

/* --report and --json are ours alone: GNU has neither. */
static void test_timeout_json_reports_the_timeout(void **state) {
        char path[64];
        const char *argv[] = { svt_cli(), "timeout", "--json", path, "0.1", svt_worker("sv-sleep"), "5000",
                               NULL };
        char *out = NULL, *err = NULL, buf[2048];
        ssize_t n;
        int ws, fd;

        (void) state;
        (void) snprintf(path, sizeof(path), "/tmp/svtimeout-json.XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        ws = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        (void) unlink(path);
        assert_true(WIFEXITED(ws));
        assert_int_equal(WEXITSTATUS(ws), 124);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "\"timed_out\":true"));
        assert_string_equal(err, ""); /* quiet without --report, as GNU */
        free(out);
        free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timeout_every_row_exits_as_gnu_timeout_does),
                cmocka_unit_test(test_timeout_setsid_escapee_outlives_gnu_but_not_ours),
                cmocka_unit_test(test_timeout_foreground_lets_command_read_the_terminal),
                cmocka_unit_test(test_main_form_with_duration_first_hints_timeout),
                cmocka_unit_test(test_timeout_json_reports_the_timeout),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
