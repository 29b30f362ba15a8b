/* test_exhaustion.c - the CLI at a limit, the limit injected for real: a
 * child of the test lowers RLIMIT_NOFILE, or becomes uid 65534 under a
 * small RLIMIT_NPROC, or joins a cgroup with pids.max = 20, then execs
 * `supervise`. Each time: one line naming the limit, the copies already
 * started stopped through the ladder and each reported, exit status 125,
 * and nothing left behind. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cmocka.h>

#include "svtest.h"

#define TIMEOUT_MS 120000

typedef struct limit {
        int resource;          /* RLIMIT_*, or -1 */
        rlim_t value;
        uid_t uid;             /* 0: stay root */
        const char *cgroup;    /* a cgroup directory to join first, or NULL */
} limit;

static int setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

/* Forks; the child joins the cgroup, drops to the uid, and execs argv
 * with stderr to a pipe (stdout and stdin on /dev/null) through
 * prlimit(1), which lowers the limit in that process before its own exec:
 * under valgrind the forked child cannot lower its own RLIMIT_NOFILE.
 * Returns the raw wait status and the stderr text. */
static int run_limited(const limit *l, const char *const argv[], char **err) {
        const char *args[16];
        char pid[32], file[1024], lim[64];
        int p[2], st, fd, n = 0, i;
        pid_t child;

        if (l->resource >= 0) {
                snprintf(lim, sizeof(lim), "--%s=%llu:%llu",
                         l->resource == RLIMIT_NOFILE ? "nofile" : "nproc",
                         (unsigned long long) l->value, (unsigned long long) l->value);
                args[n++] = "/usr/bin/prlimit";
                args[n++] = lim;
                args[n++] = "--";
        }
        for (i = 0; argv[i] && n < 15; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                fd = open("/dev/null", O_RDWR);
                if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(120);
                if (l->cgroup) {
                        snprintf(pid, sizeof(pid), "%d", (int) getpid());
                        snprintf(file, sizeof(file), "%s/cgroup.procs", l->cgroup);
                        fd = open(file, O_WRONLY);
                        if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
                                _exit(121);
                        close(fd);
                }
                if (l->uid && (setgroups(0, NULL) < 0 || setgid(l->uid) < 0 || setuid(l->uid) < 0))
                        _exit(122);
                /* Only stdio: fds ctest or valgrind left open would take
                 * places under a limit of 5. */
                for (i = 3; i < 1024; i++)
                        (void) close(i);
                execv(args[0], (char *const *) args);
                _exit(124);
        }
        close(p[1]);
        *err = svt_read_all(p[0], TIMEOUT_MS);
        close(p[0]);
        st = svt_wait(child, TIMEOUT_MS);
        assert_non_null(*err);
        assert_true(st != -1);
        return st;
}

static unsigned count_lines(const char *text, const char *prefix) {
        const char *p = text;
        unsigned n = 0;
        size_t len = strlen(prefix);

        while (p && *p) {
                if (strncmp(p, prefix, len) == 0)
                        n++;
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return n;
}

/* The line about the limit: exactly one, it names `what`, and it says how
 * many copies had started ("stopping the N started"), which must each
 * have been reported. */
static void assert_limit_report(const char *err, const char *what) {
        const char *line = strstr(err, "supervise: cannot run");
        unsigned started = 0;
        const char *s;

        if (!line)
                fail_msg("no 'cannot run' line in:\n%s", err);
        assert_int_equal(count_lines(err, "supervise: cannot "), 1);
        if (!strstr(line, what) || strstr(line, what) > strchr(line, '\n'))
                fail_msg("the line does not name %s:\n%s", what, err);
        s = strstr(line, "stopping the ");
        if (s)
                started = (unsigned) strtoul(s + 13, NULL, 10);
        assert_true(started > 0);
        if (count_lines(err, "supervise: worker ") != started)
                fail_msg("%u started, %u reported:\n%.2000s", started,
                         count_lines(err, "supervise: worker "), err);
}

static void test_nofile_limit_one_line_started_copies_stopped_exit_125(void **state) {
        const char *argv[] = { svt_cli(), "-n", "200", "--", svt_worker("sv-sleep"), "forever",
                               NULL };
        limit l = { RLIMIT_NOFILE, 64, 0, NULL };
        char *err = NULL;
        int st;

        (void) state;
        st = run_limited(&l, argv, &err);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 125)
                fail_msg("exit %d:\n%s", WEXITSTATUS(st), err);
        assert_limit_report(err, "RLIMIT_NOFILE");
        free(err);
        svt_reap_all(10000);
}

/* ulimit -n 5 used to abort() inside libuv's loop init. */
static void test_nofile_limit_five_is_one_line_not_an_abort(void **state) {
        const char *argv[] = { svt_cli(), "--", svt_worker("sv-exit"), "0", NULL };
        limit l = { RLIMIT_NOFILE, 5, 0, NULL };
        char *err = NULL;
        int st;

        (void) state;
        st = run_limited(&l, argv, &err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 125)
                fail_msg("status %#x:\n%s", st, err);
        assert_int_equal(count_lines(err, "supervise: cannot start: "), 1);
        assert_non_null(strstr(err, "RLIMIT_NOFILE"));
        free(err);
        svt_reap_all(10000);
}

static int count_uid_procs(uid_t uid) {
        char cmd[64], buf[64];
        FILE *f;
        int n = -1;

        snprintf(cmd, sizeof(cmd), "ps -U %u -o pid= | wc -l", (unsigned) uid);
        f = popen(cmd, "r");
        if (f && fgets(buf, sizeof(buf), f))
                n = atoi(buf);
        if (f)
                pclose(f);
        return n;
}

/* As uid 65534 with RLIMIT_NPROC a little above what that uid already
 * runs: clone fails with EAGAIN part-way. Needs root to change uid. */
static void test_nproc_limit_one_line_started_copies_stopped_exit_125(void **state) {
        const char *argv[] = { svt_cli(), "-n", "100", "--", svt_worker("sv-sleep"), "forever",
                               NULL };
        limit l = { RLIMIT_NPROC, 0, 65534, NULL };
        char *err = NULL;
        int st, have;

        (void) state;
        if (geteuid() != 0)
                skip();
        have = count_uid_procs(65534);
        assert_true(have >= 0);
        /* supervise, its guardian, and a dozen copies. */
        l.value = (rlim_t) have + 14;
        st = run_limited(&l, argv, &err);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 125)
                fail_msg("exit %d:\n%s", WEXITSTATUS(st), err);
        assert_limit_report(err, "RLIMIT_NPROC");
        free(err);
        svt_reap_all(10000);
}

/* A pids cgroup to run in: cgroup v2 where its pids controller is
 * enabled for us, else the v1 pids hierarchy. Returns 0 and the new
 * directory, or -1 if neither is there to write to. */
static int make_pids_cgroup(char *out, size_t n) {
        static const char *const parents[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/pids" };
        char file[1024];
        size_t i;

        for (i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
                snprintf(out, n, "%s/sv-test-pids.%d", parents[i], (int) getpid());
                /* The root has no pids.max; a child of it does if the
                 * controller is there: try to make one and look. */
                if (access(parents[i], W_OK) < 0)
                        continue;
                if (mkdir(out, 0755) < 0)
                        continue;
                snprintf(file, sizeof(file), "%s/pids.max", out);
                if (access(file, W_OK) == 0)
                        return 0;
                (void) rmdir(out);
        }
        return -1;
}

static void test_pids_max_one_line_started_copies_stopped_exit_125(void **state) {
        const char *argv[] = { svt_cli(), "-n", "60", "--", svt_worker("sv-sleep"), "forever",
                               NULL };
        limit l = { -1, 0, 0, NULL };
        char cg[512], file[1024], *err = NULL;
        FILE *f;
        int st;

        (void) state;
        if (make_pids_cgroup(cg, sizeof(cg)) < 0)
                skip();
        snprintf(file, sizeof(file), "%s/pids.max", cg);
        f = fopen(file, "w");
        assert_non_null(f);
        assert_true(fputs("20", f) >= 0);
        assert_int_equal(fclose(f), 0);
        l.cgroup = cg;
        st = run_limited(&l, argv, &err);
        svt_reap_all(10000);
        if (rmdir(cg) < 0)
                fail_msg("cannot remove '%s': %s", cg, strerror(errno));
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 125)
                fail_msg("exit %d:\n%s", WEXITSTATUS(st), err);
        assert_limit_report(err, "pids.max");
        free(err);
}

/* supervise raises its soft RLIMIT_NOFILE to the hard limit (it holds a
 * pidfd per copy); its copies get the soft limit back. */
static void test_copies_get_the_original_soft_nofile_limit(void **state) {
        const char *argv[] = { svt_cli(), "-q", "--", "/bin/sh", "-c",
                               "echo soft=$(ulimit -Sn) hard=$(ulimit -Hn) >&2", NULL };
        char *err = NULL;
        int st;

        (void) state;
        /* prlimit(1) sets soft and hard alike; set the soft one here. */
        const char *args[] = { "/usr/bin/prlimit", "--nofile=1000:4000", "--", argv[0], argv[1],
                               argv[2], argv[3], argv[4], argv[5], NULL };
        limit l = { -1, 0, 0, NULL };

        st = run_limited(&l, args, &err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("status %#x:\n%s", st, err);
        if (!strstr(err, "soft=1000 hard=4000"))
                fail_msg("the copy's limits were not 1000/4000:\n%s", err);
        free(err);
        svt_reap_all(10000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_nofile_limit_one_line_started_copies_stopped_exit_125,
                                       setup),
                cmocka_unit_test_setup(test_nofile_limit_five_is_one_line_not_an_abort, setup),
                cmocka_unit_test_setup(test_nproc_limit_one_line_started_copies_stopped_exit_125,
                                       setup),
                cmocka_unit_test_setup(test_pids_max_one_line_started_copies_stopped_exit_125,
                                       setup),
                cmocka_unit_test_setup(test_copies_get_the_original_soft_nofile_limit, setup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
