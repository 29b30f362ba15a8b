/* test_core.c - the library against real workers: exit codes, signals as
 * negative codes, causes, spawn errors, the child's clean state, output,
 * rusage, descendants, and that every test leaves nothing behind. Each test
 * runs twice where the mechanism matters: cgroup (when writable) and the
 * /proc walk fallback. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "svtest.h"

typedef struct ctx {
        sv_supervisor *sv;
        sv_exit_info info;
        int exits;
        sv_worker *w;
        char out[65536];
        size_t out_len;
        bool out_eof_before_exit;
        pid_t ready_pids[8];
        int nready;
        int on_ready;  /* what to do at "ready": 0 nothing, 1 stop, 2 kill -9 */
        int kill_after_exit; /* sv_worker_kill in on_exit, should be UV_ESRCH */
        int ndesc;
} ctx;

static unsigned sv_flags;
/* The PID-namespace group: where the kernel gives one (root here:
 * CLONE_NEWPID alone), the supervisor must use it. */
static bool pidns_wanted;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;

        c->info = *info;
        c->info.leaks = NULL;
        if (info->leaked > 0 && info->leaks)
                c->ready_pids[7] = info->leaks[0].pid;
        c->exits++;
        c->kill_after_exit = sv_worker_kill(w, 0);
}

static void on_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        ctx *c = ud;
        char *nl, *p;
        size_t start = c->out_len;

        assert_int_equal(fd, 1);
        if (len == 0)
                return;
        if (c->out_len + len >= sizeof(c->out) - 1)
                len = sizeof(c->out) - 1 - c->out_len;
        memcpy(c->out + c->out_len, buf, len);
        c->out_len += len;
        c->out[c->out_len] = '\0';
        /* React to a "ready ..." line once it is complete. */
        p = strstr(c->out + (start > 6 ? start - 6 : 0), "ready");
        if (!p || c->nready)
                return;
        nl = strchr(p, '\n');
        if (!nl)
                return;
        {
                char *q = p + 5;
                while (c->nready < 7 && *q == ' ') {
                        c->ready_pids[c->nready++] = (pid_t) strtol(q, &q, 10);
                }
                if (c->nready == 0)
                        c->nready = -1;
        }
        if (c->on_ready == 3) {
                sv_proc *procs = NULL;
                c->ndesc = sv_worker_descendants(w, &procs);
                free(procs);
                (void) sv_worker_stop(w);
        } else if (c->on_ready == 1) {
                (void) sv_worker_stop(w);
        } else if (c->on_ready == 2) {
                (void) sv_worker_kill(w, SIGKILL);
        }
}

static int setup(void **state) {
        static ctx c;
        sv_supervisor_opts o;

        memset(&c, 0, sizeof(c));
        memset(&o, 0, sizeof(o));
        o.flags = sv_flags;
        if (sv_supervisor_new(&o, &c.sv) != 0)
                return -1;
        if (pidns_wanted && svt_pidns_allowed(false) &&
            sv_supervisor_mechanism(c.sv) != SV_MECH_PIDNS)
                return -1;
        *state = &c;
        return 0;
}

static int teardown(void **state) {
        ctx *c = *state;

        sv_supervisor_free(c->sv);
        svt_assert_no_children();
        return 0;
}

static int run_worker(ctx *c, const char *const *argv, uint64_t timeout_ms, const sv_ladder *l) {
        sv_spawn_opts o;
        int r;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[0] = SV_STDIO_NULL;
        o.stdio[1] = SV_STDIO_PIPE;
        o.on_exit = on_exit_cb;
        o.on_output = on_output;
        o.userdata = c;
        o.timeout_ms = timeout_ms;
        o.ladder = l;
        r = sv_spawn(c->sv, &o, &c->w);
        if (r < 0)
                return r;
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_int_equal(c->kill_after_exit, UV_ESRCH);
        return 0;
}

static void test_exit_zero_reports_code_zero_exited(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-exit"), "0", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 0);
        assert_int_equal(c->info.signal, 0);
        assert_int_equal(c->info.cause, SV_CAUSE_EXITED);
        assert_int_equal(c->info.stop_step, -1);
        assert_true(c->info.pid > 1);
}

static void test_exit_three_reports_code_three(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-exit"), "3", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 3);
        assert_int_equal(c->info.cause, SV_CAUSE_EXITED);
}

static void test_segv_reports_minus_eleven_signaled(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-crash"), "SEGV", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_false(c->info.exited);
        assert_int_equal(c->info.code, -SIGSEGV);
        assert_int_equal(c->info.signal, SIGSEGV);
        assert_false(c->info.core_dumped);
        assert_int_equal(c->info.cause, SV_CAUSE_SIGNALED);
}

static void test_kill_sigkill_reports_minus_nine(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-ignore-term"), NULL };

        c->on_ready = 2;
        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->info.code, -9);
        assert_int_equal(c->info.signal, SIGKILL);
        assert_int_equal(c->info.cause, SV_CAUSE_STOPPED);
}

static void test_missing_binary_returns_enoent(void **state) {
        ctx *c = *state;
        const char *argv[] = { "/nonexistent/sv-no-such-program", NULL };
        const char *argv2[] = { "sv-no-such-program-in-path", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), UV_ENOENT);
        assert_int_equal(run_worker(c, argv2, 0, NULL), UV_ENOENT);
        assert_int_equal(c->exits, 0);
        assert_int_equal(sv_supervisor_live(c->sv), 0);
}

static void test_not_executable_returns_eacces(void **state) {
        ctx *c = *state;
        const char *argv[] = { "/etc/passwd", NULL };
        const char *argv2[] = { "/tmp", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), UV_EACCES);
        assert_int_equal(run_worker(c, argv2, 0, NULL), UV_EACCES);
        assert_int_equal(c->exits, 0);
}

static void test_bad_cwd_returns_enoent(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-exit"), "0", NULL };
        sv_spawn_opts o;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.cwd = "/nonexistent-dir-for-sv";
        assert_int_equal(sv_spawn(c->sv, &o, NULL), UV_ENOENT);
}

static void test_stop_ignored_term_escalates_to_kill(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-ignore-term"), NULL };
        sv_ladder l;

        assert_int_equal(sv_ladder_parse("TERM:100ms,KILL:1s", 0, &l), 0);
        c->on_ready = 1;
        assert_int_equal(run_worker(c, argv, 0, &l), 0);
        assert_int_equal(c->info.code, -9);
        assert_int_equal(c->info.cause, SV_CAUSE_STOPPED);
        assert_int_equal(c->info.stop_step, 1);
        assert_true(c->info.wall_us >= 100000);
}

static void test_timeout_reports_timed_out_at_first_step(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-sleep"), "600000", NULL };

        assert_int_equal(run_worker(c, argv, 100, NULL), 0);
        assert_int_equal(c->info.code, -SIGTERM);
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_int_equal(c->info.timeout_ms, 100);
        assert_int_equal(c->info.stop_step, 0);
        assert_true(c->info.wall_us >= 100000);
}

static void test_idle_timeout_stops_silent_worker(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-idle-then-print"), "600000", NULL };
        sv_spawn_opts o;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[1] = SV_STDIO_PIPE;
        o.on_exit = on_exit_cb;
        o.on_output = on_output;
        o.userdata = c;
        o.idle_timeout_ms = 150;
        assert_int_equal(sv_spawn(c->sv, &o, NULL), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_string_equal(c->out, "start\n");
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_true(c->info.idle);
        assert_int_equal(c->info.timeout_ms, 150);
        assert_int_equal(c->info.code, -SIGTERM);
}

static void test_child_starts_with_clean_signal_state(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-sigmask"), NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->info.code, 0);
        assert_non_null(strstr(c->out, "blocked 0000000000000000"));
        assert_non_null(strstr(c->out, "ignored 0000000000000000"));
        assert_non_null(strstr(c->out, "pdeathsig 9"));
}

static void test_child_has_only_stdio_fds_and_own_group(void **state) {
        ctx *c = *state;
        const char *fds[] = { svt_worker("sv-fds"), NULL };
        const char *env[] = { svt_worker("sv-env"), NULL };

        assert_int_equal(run_worker(c, fds, 0, NULL), 0);
        assert_non_null(strstr(c->out, "fds 0 1 2\n"));
        c->exits = 0;
        c->out_len = 0;
        assert_int_equal(run_worker(c, env, 0, NULL), 0);
        assert_non_null(strstr(c->out, "pgid-leader=1"));
}

static void test_output_arrives_whole_before_exit(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-flood"), "500", "60", NULL };
        int lines = 0;
        char *p;

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        for (p = c->out; (p = strchr(p, '\n')); p++)
                lines++;
        assert_int_equal(lines, 500);
        assert_non_null(strstr(c->out, "line 500"));
}

static void test_rusage_is_reported(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-demo"), NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->info.code, 0);
        assert_true(c->info.user_us + c->info.sys_us > 0);
        assert_true(c->info.max_rss_kb > 500);
        assert_true(c->info.wall_us > 0);
}

static void test_descendants_lists_whole_tree(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-tree"), "10", NULL };

        c->on_ready = 3;
        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        /* In a PID namespace the worker's pid is its init's, and the tree
         * under it starts with the worker itself. */
        assert_int_equal(c->ndesc, pidns_wanted && svt_pidns_allowed(false) ? 11 : 10);
        assert_int_equal(c->info.cause, SV_CAUSE_STOPPED);
}

static void test_stop_kills_setsid_escapee(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-setsid-escapee"), NULL };

        c->on_ready = 1;
        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->nready, 1);
        assert_int_equal(kill(c->ready_pids[0], 0), -1);
        assert_int_equal(errno, ESRCH);
}

static void test_stop_kills_double_forked_daemon(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-daemon"), NULL };

        c->on_ready = 1;
        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->nready, 1);
        assert_int_equal(kill(c->ready_pids[0], 0), -1);
        assert_int_equal(errno, ESRCH);
}

static void test_leaked_escapee_is_killed_and_reported(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-setsid-escapee"), "600000", "exit", NULL };

        assert_int_equal(run_worker(c, argv, 0, NULL), 0);
        assert_int_equal(c->info.code, 0);
        assert_int_equal(c->info.cause, SV_CAUSE_EXITED);
        assert_int_equal(c->info.leaked, 1);
        assert_int_equal(c->ready_pids[7], c->ready_pids[0]);
        assert_int_equal(kill(c->ready_pids[0], 0), -1);
}

static void respawn_exit0(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;
        const char *argv[] = { svt_worker("sv-exit"), "0", NULL };
        sv_spawn_opts o;

        on_exit_cb(w, info, ud);
        if (c->exits > 1)
                return;
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.on_exit = respawn_exit0;
        o.userdata = c;
        assert_int_equal(sv_spawn(c->sv, &o, NULL), 0);
}

/* A cgroup that got cgroup.kill once must not take in the next worker: on
 * 6.18 a process born into it right after was SIGKILLed too. */
static void test_worker_after_a_killed_tree_is_not_killed(void **state) {
        ctx *c = *state;
        const char *argv[] = { svt_worker("sv-tree"), "6", NULL };
        sv_ladder l;
        sv_spawn_opts o;

        assert_int_equal(sv_ladder_parse("KILL:2s", 0, &l), 0);
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[1] = SV_STDIO_PIPE;
        o.on_exit = respawn_exit0;
        o.on_output = on_output;
        o.userdata = c;
        o.ladder = &l;
        c->on_ready = 1;
        assert_int_equal(sv_spawn(c->sv, &o, NULL), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 2);
        assert_int_equal(c->info.code, 0);
        assert_int_equal(c->info.cause, SV_CAUSE_EXITED);
}

static int group_setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

static int use_procwalk(void **state) {
        sv_flags = SV_SUPERVISOR_NO_CGROUP;
        return group_setup(state);
}

static int use_no_pidfd(void **state) {
        sv_flags = SV_SUPERVISOR_NO_CGROUP;
        setenv("SUPERVISE_NO_PIDFD", "1", 1);
        return group_setup(state);
}

static int use_pidns(void **state) {
        sv_flags = SV_SUPERVISOR_PIDNS;
        pidns_wanted = true;
        return group_setup(state);
}

static int end_pidns(void **state) {
        (void) state;
        pidns_wanted = false;
        return 0;
}

static int unset_no_pidfd(void **state) {
        (void) state;
        unsetenv("SUPERVISE_NO_PIDFD");
        return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_exit_zero_reports_code_zero_exited),
                T(test_exit_three_reports_code_three),
                T(test_segv_reports_minus_eleven_signaled),
                T(test_kill_sigkill_reports_minus_nine),
                T(test_missing_binary_returns_enoent),
                T(test_not_executable_returns_eacces),
                T(test_bad_cwd_returns_enoent),
                T(test_stop_ignored_term_escalates_to_kill),
                T(test_timeout_reports_timed_out_at_first_step),
                T(test_idle_timeout_stops_silent_worker),
                T(test_child_starts_with_clean_signal_state),
                T(test_child_has_only_stdio_fds_and_own_group),
                T(test_output_arrives_whole_before_exit),
                T(test_rusage_is_reported),
                T(test_descendants_lists_whole_tree),
                T(test_stop_kills_setsid_escapee),
                T(test_stop_kills_double_forked_daemon),
                T(test_leaked_escapee_is_killed_and_reported),
                T(test_worker_after_a_killed_tree_is_not_killed),
        };
        int failed = 0;

        failed += cmocka_run_group_tests_name("core (default mechanism)", tests, group_setup, NULL);
        failed += cmocka_run_group_tests_name("core (procwalk)", tests, use_procwalk, NULL);
        failed += cmocka_run_group_tests_name("core (procwalk, no pidfd)", tests, use_no_pidfd,
                                              unset_no_pidfd);
        failed += cmocka_run_group_tests_name("core (pidns)", tests, use_pidns, end_pidns);
        return failed ? 1 : 0;
}
