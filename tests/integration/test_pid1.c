/* test_pid1.c - supervise as PID 1 of a PID namespace, a container's
 * entrypoint, run through `unshare --pid --fork` (as root, or in a user
 * namespace when not): orphans of the namespace are reaped as they exit, no
 * guardian is started (the kernel kills the namespace with its PID 1) and
 * none is left as a zombie, our cgroups are removed before we exit, and
 * signals reach the workers, with 128+n as our status. Skipped only where
 * no PID namespace can be made at all. */
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

#include "svt_ns.h"
#include "svtest.h"

#define ARGS 32

static const char *const *ns_or_skip(bool mount_proc) {
        const char *const *prefix = svt_pidns_prefix(mount_proc);

        if (!prefix) {
                fprintf(stderr, "no PID namespace here, as root or in a user namespace\n");
                skip();
        }
        return prefix;
}

static void orphans_reaped_at_once(bool mount_proc) {
        const char *argv[ARGS];
        char *out = NULL, *err = NULL;
        int st;

        /* 20 orphans, each of which must be gone within 500 ms: the old 1 s
         * sweep passes that about every other orphan, so 20 in a row about
         * once in a million runs; reaping on SIGCHLD takes about 1 ms. */
        svt_argv_join(argv, ARGS, ns_or_skip(mount_proc),
                      (const char *const[]) { svt_cli(), "-q", "--", svt_worker("sv-orphans"), "20",
                                              "500", NULL });
        st = svt_run(argv, NULL, &out, &err, 60000);
        assert_int_not_equal(st, -1);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("status 0x%x, stderr: %s", st, err);
        assert_non_null(strstr(out, "reaped 20 orphans"));
        free(out);
        free(err);
}

static void test_pid1_orphans_are_reaped_as_they_exit(void **state) {
        (void) state;
        orphans_reaped_at_once(true);
}

/* `unshare --pid --fork` alone keeps the host's /proc: our pid is 1 but
 * /proc/self/task/1 is not us. The reaper must not depend on it. */
static void test_pid1_without_its_own_proc_reaps_orphans_as_they_exit(void **state) {
        (void) state;
        orphans_reaped_at_once(false);
}

/* The worker prints its cgroup and every process of the namespace (from
 * /proc/<pid>/stat, so no ps is needed): there is no guardian, alive or a
 * zombie, and once we exit the cgroup directory the worker was in is gone
 * (it used to be left to a guardian that as PID 1 refused to run). */
static void test_pid1_starts_no_guardian_and_leaves_no_cgroup(void **state) {
        const char *argv[ARGS];
        char *out = NULL, *err = NULL, *line, *nl, mnt[2048], dir[4096];
        int st;

        (void) state;
        svt_argv_join(argv, ARGS, ns_or_skip(true),
                      (const char *const[]) {
                              svt_cli(), "-q", "--", "/bin/sh", "-c",
                              "cat /proc/self/cgroup && for f in /proc/[0-9]*/stat; do "
                              "cat $f 2>/dev/null; done",
                              NULL });
        st = svt_run(argv, NULL, &out, &err, 60000);
        assert_int_not_equal(st, -1);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("status 0x%x, stderr: %s", st, err);
        if (strstr(out, "(sv-guardian)"))
                fail_msg("a guardian ran in the namespace:\n%s", out);
        for (line = out; (nl = strchr(line, '\n')); line = nl + 1) {
                char *rp = memchr(line, ')', (size_t) (nl - line));
                if (rp && rp[1] == ' ' && rp[2] == 'Z')
                        fail_msg("a zombie in the namespace: %.*s", (int) (nl - line), line);
        }
        /* "0::/<...>/supervise-1-<random>/w0": with cgroups (root), the
         * directory above w0 must be gone now. */
        line = strstr(out, "0::");
        assert_non_null(line);
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (strstr(line, "/supervise-") && svt_cgroup2_mount(mnt, sizeof(mnt)) == 0) {
                char *w = strrchr(line, '/');
                assert_non_null(w);
                *w = '\0';
                snprintf(dir, sizeof(dir), "%s%s", mnt, line + 3);
                if (access(dir, F_OK) == 0)
                        fail_msg("'%s' was left behind", dir);
                assert_int_equal(errno, ENOENT);
        } else {
                fprintf(stderr, "no cgroup mechanism in the namespace (%s): cgroup check skipped\n",
                        line);
        }
        free(out);
        free(err);
}

/* `sig` sent to supervise (PID 1 inside; found as unshare's child) while
 * its worker sleeps; returns our status and the --json line. */
static int signal_pid1(int sig, char **json) {
        const char *argv[ARGS];
        svt_proc p;
        pid_t kids[4];
        char *line, *err = NULL;
        int n, st;

        svt_argv_join(argv, ARGS, ns_or_skip(true),
                      (const char *const[]) { svt_cli(), "-v", "--json", "-", "--",
                                              svt_worker("sv-sleep"), "forever", NULL });
        svt_proc_init(&p);
        svt_proc_start(&p, argv);
        /* After "spawned" the worker has exec'd, and so has supervise. */
        for (;;) {
                line = svt_read_line(p.err, 30000);
                if (!line) {
                        svt_proc_release(&p, 5000);
                        fail_msg("no 'spawned' line from supervise");
                }
                if (strstr(line, "spawned")) {
                        free(line);
                        break;
                }
                free(line);
        }
        n = svt_children_of(p.pid, kids, 4);
        if (n != 1) {
                svt_proc_release(&p, 5000);
                fail_msg("unshare has %d children, expected supervise alone", n);
        }
        assert_int_equal(kill(kids[0], sig), 0);
        st = svt_proc_finish(&p, json, &err, 30000);
        free(err);
        return st;
}

/* As tini does: the stop signal goes to the workers, and the status says
 * which signal stopped us. */
static void test_pid1_term_stops_the_worker_and_exits_143(void **state) {
        char *json = NULL;
        int st;

        (void) state;
        st = signal_pid1(SIGTERM, &json);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 143);
        assert_non_null(strstr(json, "\"SIGTERM\""));
        free(json);
}

/* USR1 is forwarded as is; sv-sleep dies of it, and the copy's signal
 * makes our status. */
static void test_pid1_usr1_is_forwarded_and_exits_138(void **state) {
        char *json = NULL;
        int st;

        (void) state;
        st = signal_pid1(SIGUSR1, &json);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 128 + SIGUSR1);
        assert_non_null(strstr(json, "\"SIGUSR1\""));
        free(json);
}

static int teardown(void **state) {
        (void) state;
        svt_reap_all(10000);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_pid1_orphans_are_reaped_as_they_exit, teardown),
                cmocka_unit_test_teardown(test_pid1_without_its_own_proc_reaps_orphans_as_they_exit,
                                          teardown),
                cmocka_unit_test_teardown(test_pid1_starts_no_guardian_and_leaves_no_cgroup,
                                          teardown),
                cmocka_unit_test_teardown(test_pid1_term_stops_the_worker_and_exits_143, teardown),
                cmocka_unit_test_teardown(test_pid1_usr1_is_forwarded_and_exits_138, teardown),
        };

        return cmocka_run_group_tests_name("pid1", tests, NULL, NULL);
}
