/* test_neighbours.c - supervisors never touch each other's processes or
 * cgroups: not two that are both PID 1 of their own PID namespaces (the same
 * pid, once the same cgroup name), not short ones in other namespaces whose
 * stale sweep once judged a live neighbour dead by kill(pid, 0), and the
 * sweep removes only directories provably abandoned (unlocked, of our
 * form, empty). The namespace tests skip only where no PID namespace can be
 * made; the sweep test only where cgroup2 is not writable. */
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
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "svt_ns.h"
#include "svtest.h"

#define ARGS 32

static const char *const *ns_or_skip(void) {
        const char *const *prefix = svt_pidns_prefix(true);

        if (!prefix) {
                fprintf(stderr, "no PID namespace here, as root or in a user namespace\n");
                skip();
        }
        return prefix;
}

/* ---- Two PID 1 supervisors side by side ---- */

typedef struct fifo_ctx {
        char dir[64], path[96];
        svt_proc b;
} fifo_ctx;

static int fifo_setup(void **state) {
        fifo_ctx *c = calloc(1, sizeof(*c));

        if (!c)
                return -1;
        strcpy(c->dir, "/tmp/svt-neighbours-XXXXXX");
        if (!mkdtemp(c->dir))
                return -1;
        snprintf(c->path, sizeof(c->path), "%s/gate", c->dir);
        if (mkfifo(c->path, 0600) < 0)
                return -1;
        svt_proc_init(&c->b);
        *state = c;
        return 0;
}

static int fifo_teardown(void **state) {
        fifo_ctx *c = *state;

        svt_proc_release(&c->b, 5000);
        (void) unlink(c->path);
        (void) rmdir(c->dir);
        free(c);
        svt_reap_all(10000);
        return 0;
}

/* B's worker waits at a gate; A, also PID 1 of its own namespace, times out
 * meanwhile. A's stop must reach only A's worker: B's is still at the gate
 * (the FIFO has a reader), and once let through B exits 0. */
static void test_pid1_neighbours_timeout_of_one_spares_the_other(void **state) {
        fifo_ctx *c = *state;
        const char *argv[ARGS];
        char *line, *out = NULL, *err = NULL;
        int st, fd;

        svt_argv_join(argv, ARGS, ns_or_skip(),
                      (const char *const[]) { svt_cli(), "-q", "--", svt_worker("sv-gate"), c->path,
                                              NULL });
        svt_proc_start(&c->b, argv);
        line = svt_expect_line_prefix(c->b.out, "ready ", 30000);
        free(line);

        svt_argv_join(argv, ARGS, ns_or_skip(),
                      (const char *const[]) { svt_cli(), "-q", "-t", "200ms", "-k", "200ms", "--",
                                              svt_worker("sv-sleep"), "forever", NULL });
        st = svt_run(argv, NULL, NULL, NULL, 30000);
        assert_true(st != -1 && WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 124);

        fd = open(c->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                fail_msg("B's worker is gone (open of the gate: %s)", strerror(errno));
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        st = svt_proc_finish(&c->b, &out, &err, 30000);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("B: status 0x%x, stderr: %s", st, err);
        free(out);
        free(err);
}

/* ---- Short supervisors in other namespaces beside a long one ---- */

typedef struct long_ctx {
        sv_supervisor *sv;
        int exits;
        sv_exit_info info;
} long_ctx;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        long_ctx *c = ud;

        (void) w;
        c->info = *info;
        c->info.leaks = NULL;
        c->exits++;
}

static void run_one(long_ctx *c) {
        const char *argv[] = { svt_worker("sv-exit"), "0", NULL };
        sv_spawn_opts o;
        int r, before = c->exits;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.on_exit = on_exit_cb;
        o.userdata = c;
        r = sv_spawn(c->sv, &o, NULL);
        if (r < 0)
                fail_msg("the long supervisor cannot spawn any more: %s", uv_strerror(r));
        while (c->exits == before)
                assert_true(uv_run(sv_supervisor_loop(c->sv), UV_RUN_ONCE) >= 0);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 0);
}

/* The long one (this process, in the host's namespace) keeps its pooled,
 * empty worker cgroup between spawns. Each short one sweeps stale cgroups
 * as it starts, from a namespace where our pid does not exist. */
static void test_short_pid1_neighbours_never_break_a_long_supervisor(void **state) {
        const char *argv[ARGS];
        long_ctx *c = *state;
        int round, k, st;

        svt_argv_join(argv, ARGS, ns_or_skip(),
                      (const char *const[]) { svt_cli(), "-q", "--", svt_worker("sv-exit"), "0",
                                              NULL });
        assert_int_equal(sv_supervisor_new(NULL, &c->sv), 0);
        if (sv_supervisor_mechanism(c->sv) != SV_MECH_CGROUP) {
                fprintf(stderr, "no writable cgroup2: nothing to sweep\n");
                skip();
        }
        for (round = 0; round < 5; round++) {
                run_one(c);
                for (k = 0; k < 4; k++) {
                        st = svt_run(argv, NULL, NULL, NULL, 30000);
                        assert_true(st != -1 && WIFEXITED(st));
                        assert_int_equal(WEXITSTATUS(st), 0);
                }
        }
        run_one(c);
        assert_int_equal(c->exits, 6);
}

static int long_setup(void **state) {
        *state = calloc(1, sizeof(long_ctx));
        return *state ? 0 : -1;
}

static int long_teardown(void **state) {
        long_ctx *c = *state;

        sv_supervisor_free(c->sv);
        free(c);
        svt_reap_all(10000);
        return 0;
}

/* ---- What the stale sweep may remove ---- */

typedef struct sweep_ctx {
        char parent[4096];
        char dirs[4][4200];
        int lock_fds[4]; /* held while a directory is set up, and on LOCKED */
        pid_t sleeper;
} sweep_ctx;

enum { ABANDONED, LOCKED, OLD_FORM, POPULATED };

static int sweep_setup(void **state) {
        sweep_ctx *c = calloc(1, sizeof(*c));
        int i;

        if (!c)
                return -1;
        for (i = 0; i < 4; i++)
                c->lock_fds[i] = -1;
        *state = c;
        return 0;
}

static void remove_dir(const char *d) {
        char w[4300];

        if (!d[0])
                return;
        snprintf(w, sizeof(w), "%s/w0", d);
        (void) rmdir(w);
        (void) rmdir(d);
}

static int sweep_teardown(void **state) {
        sweep_ctx *c = *state;
        int i;

        if (c->sleeper > 0) {
                (void) kill(c->sleeper, SIGKILL);
                (void) svt_wait(c->sleeper, 5000);
        }
        for (i = 0; i < 4; i++) {
                if (c->lock_fds[i] >= 0)
                        close(c->lock_fds[i]);
                remove_dir(c->dirs[i]);
        }
        free(c);
        svt_reap_all(10000);
        return 0;
}

static bool exists(const char *dir, const char *sub) {
        char p[4300];

        snprintf(p, sizeof(p), "%s%s", dir, sub);
        return access(p, F_OK) == 0;
}

static void make_dir(sweep_ctx *c, int i, const char *name) {
        char w[4300];

        snprintf(w, sizeof(w), "%s/%s", c->parent, name);
        assert_true(strlen(w) < sizeof(c->dirs[i]));
        strcpy(c->dirs[i], w);
        snprintf(w, sizeof(w), "%s/w0", c->dirs[i]);
        if (mkdir(c->dirs[i], 0755) < 0)
                fail_msg("cannot make '%s': %s", c->dirs[i], strerror(errno));
        /* Locked until set up, as supervise's own are: a sweep of another
         * test running beside this one must not take it half made. */
        c->lock_fds[i] = open(c->dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->lock_fds[i] < 0 || flock(c->lock_fds[i], LOCK_EX | LOCK_NB) < 0 ||
            mkdir(w, 0755) < 0)
                fail_msg("cannot make '%s': %s", w, strerror(errno));
}

static void unlock_dir(sweep_ctx *c, int i) {
        close(c->lock_fds[i]);
        c->lock_fds[i] = -1;
}

/* Of four directories only the abandoned one goes: unlocked and of our
 * form. A locked one is a live neighbour's; "supervise.<pid>" is the old
 * form nobody ever locked; a populated one has processes (rmdir refuses). */
static void test_stale_sweep_removes_only_the_abandoned_directory(void **state) {
        sweep_ctx *c = *state;
        const char *argv[] = { svt_cli(), "-q", "--", svt_worker("sv-exit"), "0", NULL };
        const char *sleeper[] = { svt_worker("sv-sleep"), "forever", NULL };
        unsigned long long rnd[3];
        char name[96], procs[4300], pid[32];
        int st, fd;

        if (svt_cgroup_parent(c->parent, sizeof(c->parent)) < 0 ||
            access(c->parent, W_OK) < 0) {
                fprintf(stderr, "no writable cgroup2 here\n");
                skip();
        }
        assert_int_equal(getrandom(rnd, sizeof(rnd), 0), (ssize_t) sizeof(rnd));
        snprintf(name, sizeof(name), "supervise-999999-%016llx", rnd[0]);
        make_dir(c, ABANDONED, name);
        snprintf(name, sizeof(name), "supervise-999998-%016llx", rnd[1]);
        make_dir(c, LOCKED, name);
        /* Our own pid: a sweep of the old code skips a live pid, so a
         * neighbour running it cannot spoil this test. */
        snprintf(name, sizeof(name), "supervise.%d", (int) getpid());
        make_dir(c, OLD_FORM, name);
        snprintf(name, sizeof(name), "supervise-999997-%016llx", rnd[2]);
        make_dir(c, POPULATED, name);
        assert_int_equal(svt_spawn(sleeper, NULL, NULL, NULL, &c->sleeper), 0);
        snprintf(procs, sizeof(procs), "%s/w0/cgroup.procs", c->dirs[POPULATED]);
        snprintf(pid, sizeof(pid), "%d", (int) c->sleeper);
        fd = open(procs, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, pid, strlen(pid)), (ssize_t) strlen(pid));
        close(fd);
        unlock_dir(c, ABANDONED);
        unlock_dir(c, OLD_FORM);
        unlock_dir(c, POPULATED);

        st = svt_run(argv, NULL, NULL, NULL, 30000);
        assert_true(st != -1 && WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);

        if (exists(c->dirs[ABANDONED], ""))
                fail_msg("the abandoned '%s' is still there", c->dirs[ABANDONED]);
        if (!exists(c->dirs[LOCKED], "/w0"))
                fail_msg("the locked '%s' was removed", c->dirs[LOCKED]);
        if (!exists(c->dirs[OLD_FORM], "/w0"))
                fail_msg("the old-form '%s' was removed", c->dirs[OLD_FORM]);
        if (!exists(c->dirs[POPULATED], "/w0"))
                fail_msg("the populated '%s' was removed", c->dirs[POPULATED]);
        assert_int_equal(kill(c->sleeper, 0), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pid1_neighbours_timeout_of_one_spares_the_other,
                                                fifo_setup, fifo_teardown),
                cmocka_unit_test_setup_teardown(test_short_pid1_neighbours_never_break_a_long_supervisor,
                                                long_setup, long_teardown),
                cmocka_unit_test_setup_teardown(test_stale_sweep_removes_only_the_abandoned_directory,
                                                sweep_setup, sweep_teardown),
        };

        return cmocka_run_group_tests_name("neighbours", tests, NULL, NULL);
}
