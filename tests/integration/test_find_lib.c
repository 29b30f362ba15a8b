/* test_find_lib.c - the finder library (sv_find.h) against real processes:
 * the races the CLI cannot stage on demand. A process that exits between the
 * scan and the signal, one whose pid seems recycled (its start time no
 * longer matches), a zombie, kernel threads, the tree of our own children,
 * waiting and escalation. Under valgrind 3.19 the pidfd syscalls return
 * ENOSYS, so the same tests cover the /proc directory-fd fallback. */
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
#include <uv.h>

#include "find/find_internal.h"
#include "supervise/sv_find.h"
#include "svtest.h"

#define TIMEOUT_MS 10000
#define MAX_KIDS 16

typedef struct fixture {
        char dir[64];
        char link[128];
        char name[16];
        pid_t kids[MAX_KIDS];
        int nkids;
} fixture;

static int setup(void **state) {
        fixture *fx = calloc(1, sizeof(*fx));

        if (!fx)
                return -1;
        (void) snprintf(fx->dir, sizeof(fx->dir), "/tmp/svfindlib.XXXXXX");
        if (!mkdtemp(fx->dir)) {
                free(fx);
                return -1;
        }
        /* A name no other process on the machine has. */
        (void) snprintf(fx->name, sizeof(fx->name), "g%d(l b)", (int) getpid() % 100000);
        (void) snprintf(fx->link, sizeof(fx->link), "%s/%s", fx->dir, fx->name);
        if (symlink(svt_worker("sv-sleep"), fx->link) != 0) {
                (void) rmdir(fx->dir);
                free(fx);
                return -1;
        }
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        fixture *fx = *state;
        int i;

        /* Our own unreaped children: their pids cannot have been recycled. */
        for (i = 0; i < fx->nkids; i++)
                if (fx->kids[i] > 0)
                        (void) kill(fx->kids[i], SIGKILL);
        /* Files first: svt_reap_all() does not return if it fails. */
        (void) unlink(fx->link);
        (void) rmdir(fx->dir);
        free(fx);
        svt_reap_all(TIMEOUT_MS);
        return 0;
}

/* Starts argv and returns once it has exec'd (EOF on a CLOEXEC pipe whose
 * write end only the child holds). */
static pid_t start(fixture *fx, const char *const argv[], int *out_fd) {
        int p[2];
        pid_t pid;
        char *rest;

        assert_true(fx->nkids < MAX_KIDS);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(svt_spawn(argv, NULL, out_fd, NULL, &pid), 0);
        (void) close(p[1]);
        rest = svt_read_all(p[0], TIMEOUT_MS);
        (void) close(p[0]);
        assert_non_null(rest);
        free(rest);
        fx->kids[fx->nkids++] = pid;
        return pid;
}

static pid_t start_sleep(fixture *fx) {
        const char *argv[] = { fx->link, "forever", NULL };

        return start(fx, argv, NULL);
}

static void forget(fixture *fx, pid_t pid) {
        int i;

        for (i = 0; i < fx->nkids; i++)
                if (fx->kids[i] == pid)
                        fx->kids[i] = 0;
}

static void reap_killed_by(fixture *fx, pid_t pid, int sig) {
        int status = svt_wait(pid, TIMEOUT_MS);

        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sig);
        forget(fx, pid);
}

static sv_find_table *scan_name(const char *name) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        sv_find_table *t = NULL;

        f.name = name;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_non_null(t);
        return t;
}

static sv_find_outcome outcome(const sv_find_table *t, size_t i) {
        sv_find_status st;

        sv_find_status_get(t, i, &st);
        return st.outcome;
}

static void test_scan_counts_copies_by_exact_name(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        pid_t k[3];
        size_t i;

        for (i = 0; i < 3; i++)
                k[i] = start_sleep(fx);
        t = scan_name(fx->name);
        assert_int_equal(sv_find_count(t), 3);
        for (i = 0; i < 3; i++) {
                const sv_find_proc *p = sv_find_get(t, i);

                assert_int_equal(p->pid, k[i]); /* ascending pids, as spawned */
                assert_int_equal(p->ppid, getpid());
                assert_string_equal(p->name, fx->name);
                assert_true(p->matched);
                assert_true(p->has_uid);
                assert_non_null(p->cmdline);
                assert_string_equal(p->cmdline, fx->link);
                assert_string_equal(p->cmdline + strlen(fx->link) + 1, "forever");
        }
        assert_null(sv_find_get(t, 3));
        assert_int_equal(sv_find_signal(t, SIGTERM), 3);
        sv_find_table_free(t);
        for (i = 0; i < 3; i++)
                reap_killed_by(fx, k[i], SIGTERM);
}

static void test_process_that_exits_after_the_scan_is_reported_gone(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        pid_t k[2];

        k[0] = start_sleep(fx);
        k[1] = start_sleep(fx);
        t = scan_name(fx->name);
        assert_int_equal(sv_find_count(t), 2);
        /* Between match and kill, the first one ends and is reaped. */
        assert_int_equal(kill(k[0], SIGKILL), 0);
        reap_killed_by(fx, k[0], SIGKILL);

        assert_int_equal(sv_find_signal(t, SIGTERM), 1);
        assert_int_equal(outcome(t, 0), SV_FIND_GONE);
        assert_int_equal(outcome(t, 1), SV_FIND_SIGNALLED);
        sv_find_table_free(t);
        reap_killed_by(fx, k[1], SIGTERM);
}

static void test_changed_start_time_is_never_signalled(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        sv_find_status st;
        int status;
        pid_t k;

        k = start_sleep(fx);
        t = scan_name(fx->name);
        assert_int_equal(sv_find_count(t), 1);
        /* Stage a recycled pid: the snapshot now describes a process that
         * started at another time than the one holding this pid. */
        t->procs[t->match[0]].start_ticks += 1;

        assert_int_equal(sv_find_signal(t, SIGKILL), 0);
        sv_find_status_get(t, 0, &st);
        assert_int_equal(st.outcome, SV_FIND_GONE);
        assert_int_equal(st.signal, 0);
        sv_find_table_free(t);
        assert_int_equal(waitpid(k, &status, WNOHANG), 0); /* untouched */
        assert_int_equal(kill(k, SIGKILL), 0);
        reap_killed_by(fx, k, SIGKILL);
}

static void test_zombie_is_listed_but_counts_as_gone(void **state) {
        fixture *fx = *state;
        siginfo_t si;
        sv_find_table *t;
        pid_t k;

        k = start_sleep(fx);
        assert_int_equal(kill(k, SIGKILL), 0);
        /* Wait for the exit without reaping it. */
        assert_int_equal(waitid(P_PID, (id_t) k, &si, WEXITED | WNOWAIT), 0);
        t = scan_name(fx->name);
        assert_int_equal(sv_find_count(t), 1);
        assert_int_equal(sv_find_get(t, 0)->state, 'Z');
        assert_null(sv_find_get(t, 0)->cmdline);
        assert_int_equal(sv_find_signal(t, SIGTERM), 0);
        assert_int_equal(outcome(t, 0), SV_FIND_GONE);
        sv_find_table_free(t);
        reap_killed_by(fx, k, SIGKILL);
}

static void test_wait_returns_once_all_are_gone(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        sv_find_status st;
        pid_t k[3];
        size_t i;

        for (i = 0; i < 3; i++)
                k[i] = start_sleep(fx);
        t = scan_name(fx->name);
        assert_int_equal(sv_find_signal(t, SIGTERM), 3);
        assert_int_equal(sv_find_wait(t, TIMEOUT_MS), 0);
        for (i = 0; i < 3; i++) {
                sv_find_status_get(t, i, &st);
                assert_int_equal(st.outcome, SV_FIND_SIGNALLED);
                assert_int_equal(st.signal, SIGTERM);
                assert_true(st.exited);
        }
        sv_find_table_free(t);
        for (i = 0; i < 3; i++)
                reap_killed_by(fx, k[i], SIGTERM);
}

static void test_escalation_reuses_the_handle_and_kills(void **state) {
        fixture *fx = *state;
        const char *argv[] = { svt_worker("sv-ignore-term"), "forever", NULL };
        sv_find_filter f = SV_FIND_FILTER_INIT;
        sv_find_table *t;
        sv_find_status st;
        char *line;
        pid_t k;
        int fd;

        k = start(fx, argv, &fd);
        line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
        free(line);
        (void) close(fd);
        f.pids = &k;
        f.npids = 1;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_int_equal(sv_find_count(t), 1);
        assert_int_equal(sv_find_signal(t, SIGTERM), 1);
        assert_int_equal(sv_find_wait(t, 100), 1); /* ignored */
        assert_int_equal(sv_find_signal(t, SIGKILL), 1);
        assert_int_equal(sv_find_wait(t, TIMEOUT_MS), 0);
        sv_find_status_get(t, 0, &st);
        assert_int_equal(st.signal, SIGKILL);
        assert_true(st.exited);
        sv_find_table_free(t);
        reap_killed_by(fx, k, SIGKILL);
}

static void test_kernel_threads_are_listed_but_refused(void **state) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        pid_t kthreadd = 2;
        sv_find_table *t;

        (void) state;
        f.pids = &kthreadd;
        f.npids = 1;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        if (sv_find_count(t) == 0 || !sv_find_get(t, 0)->kthread) {
                sv_find_table_free(t);
                skip(); /* pid 2 is not kthreadd in this pid namespace */
        }
        assert_null(sv_find_get(t, 0)->cmdline);
        assert_int_equal(sv_find_signal(t, SIGCONT), 0);
        assert_int_equal(outcome(t, 0), SV_FIND_REFUSED);
        sv_find_table_free(t);
}

static void test_self_and_ancestors_never_match(void **state) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        pid_t pids[2] = { getpid(), getppid() };
        sv_find_table *t;

        (void) state;
        f.pids = pids;
        f.npids = 2;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_int_equal(sv_find_count(t), 0);
        sv_find_table_free(t);
        /* And with no filter at all, neither is in the result. */
        f.pids = NULL;
        f.npids = 0;
        f.flags = SV_FIND_NO_DETAILS;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_true(sv_find_count(t) > 0);
        for (size_t i = 0; i < sv_find_count(t); i++) {
                assert_int_not_equal(sv_find_get(t, i)->pid, getpid());
                assert_int_not_equal(sv_find_get(t, i)->pid, getppid());
        }
        sv_find_table_free(t);
}

static void test_bad_filters_are_rejected_with_a_reason(void **state) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        pid_t bad[3] = { 5, 1, 0 };
        sv_find_table *t = NULL;
        char msg[128];

        (void) state;
        f.pids = bad;
        f.npids = 2;
        assert_int_equal(sv_find_filter_check(&f, msg, sizeof(msg)), UV_EINVAL);
        assert_non_null(strstr(msg, "refusing pid 1"));
        assert_int_equal(sv_find_scan(&f, &t), UV_EINVAL);
        assert_null(t);
        f.pids = bad + 2;
        f.npids = 1;
        assert_int_equal(sv_find_filter_check(&f, msg, sizeof(msg)), UV_EINVAL);
        f.npids = 0;
        f.regex = "a(";
        assert_int_equal(sv_find_filter_check(&f, msg, sizeof(msg)), UV_EINVAL);
        assert_non_null(strstr(msg, "invalid regex"));
        f.regex = "a|b";
        assert_int_equal(sv_find_filter_check(&f, msg, sizeof(msg)), 0);
}

static void test_tree_shows_our_children_under_us(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        sv_find_row *rows;
        pid_t k[2];
        int n, i, self_row = -1;

        k[0] = start_sleep(fx);
        k[1] = start_sleep(fx);
        t = scan_name(fx->name);
        n = sv_find_tree(t, &rows);
        assert_true(n >= 3);
        for (i = 0; i < n; i++)
                if (rows[i].proc->pid == getpid())
                        self_row = i;
        assert_true(self_row >= 0 && self_row + 2 < n);
        assert_false(rows[self_row].proc->matched);
        assert_true(rows[self_row].proc->has_uid); /* ancestors get details too */
        assert_int_equal(rows[self_row + 1].proc->pid, k[0]);
        assert_int_equal(rows[self_row + 1].depth, rows[self_row].depth + 1);
        assert_false(rows[self_row + 1].last);
        assert_int_equal(rows[self_row + 2].proc->pid, k[1]);
        assert_true(rows[self_row + 2].last);
        assert_true(rows[self_row + 2].proc->matched);
        /* Every row's parent is the nearest shallower row above it. */
        for (i = 1; i < n; i++) {
                int j = i - 1;

                if (rows[i].depth == 0)
                        continue;
                while (j >= 0 && rows[j].depth >= rows[i].depth)
                        j--;
                assert_true(j >= 0);
                assert_int_equal(rows[j].proc->pid, rows[i].proc->ppid);
        }
        free(rows);
        assert_int_equal(sv_find_signal(t, SIGTERM), 2);
        sv_find_table_free(t);
        reap_killed_by(fx, k[0], SIGTERM);
        reap_killed_by(fx, k[1], SIGTERM);
}

static void test_full_regex_sees_arguments_with_newlines(void **state) {
        fixture *fx = *state;
        const char *argv[] = { NULL, "forever", NULL };
        sv_find_filter f = SV_FIND_FILTER_INIT;
        char path[160], re[64];
        sv_find_table *t;
        pid_t k;

        /* argv[0] is the only argument we control freely: make it hostile. */
        (void) snprintf(path, sizeof(path), "%s/two\nl%d (x)", fx->dir, (int) getpid() % 100000);
        assert_int_equal(symlink(svt_worker("sv-sleep"), path), 0);
        argv[0] = path;
        k = start(fx, argv, NULL);
        (void) unlink(path);
        (void) snprintf(re, sizeof(re), "/two.l%d \\(x\\) forever$", (int) getpid() % 100000);
        f.regex = re;
        f.flags = SV_FIND_FULL;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_int_equal(sv_find_count(t), 1);
        assert_int_equal(sv_find_get(t, 0)->pid, k);
        sv_find_table_free(t);
        assert_int_equal(kill(k, SIGKILL), 0);
        reap_killed_by(fx, k, SIGKILL);
}

static void test_outcome_names(void **state) {
        (void) state;
        assert_string_equal(sv_find_outcome_name(SV_FIND_PENDING), "pending");
        assert_string_equal(sv_find_outcome_name(SV_FIND_SIGNALLED), "signalled");
        assert_string_equal(sv_find_outcome_name(SV_FIND_GONE), "gone");
        assert_string_equal(sv_find_outcome_name(SV_FIND_REFUSED), "refused");
        assert_string_equal(sv_find_outcome_name(SV_FIND_FAILED), "failed");
        assert_string_equal(sv_find_outcome_name(SV_FIND_OUTCOME_COUNT), "?");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_scan_counts_copies_by_exact_name),
                T(test_process_that_exits_after_the_scan_is_reported_gone),
                T(test_changed_start_time_is_never_signalled),
                T(test_zombie_is_listed_but_counts_as_gone),
                T(test_wait_returns_once_all_are_gone),
                T(test_escalation_reuses_the_handle_and_kills),
                T(test_kernel_threads_are_listed_but_refused),
                T(test_self_and_ancestors_never_match),
                T(test_bad_filters_are_rejected_with_a_reason),
                T(test_tree_shows_our_children_under_us),
                T(test_full_regex_sees_arguments_with_newlines),
                T(test_outcome_names),
        };

        return cmocka_run_group_tests_name("find_lib", tests, NULL, NULL);
}
