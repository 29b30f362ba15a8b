/* test_cgpool.c - the pool of worker cgroups against directories that go
 * away behind the supervisor's back: an empty pooled cgroup removed by
 * someone else (rmdir allows it) is never spawned into, and the spawn that
 * would have taken it still starts its worker, instead of failing with
 * ENOENT as test_storm's spawns did (the cause of the removal there, two
 * pooled cgroups of one name, is test_fsm_cgpool's). Runs where cgroup2 is
 * writable; fails if it is but the mechanism is not. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "svt_ns.h"
#include "svtest.h"

typedef struct ctx {
        sv_supervisor *sv;
        int exits;
        sv_exit_info info;
} ctx;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;

        (void) w;
        c->exits++;
        c->info = *info;
}

/* Skips where cgroup2 is not writable here; fails where it is, but the
 * supervisor did not take the cgroup mechanism. */
static void need_cgroups(ctx *c) {
        char parent[4096], probe[4200];

        if (sv_supervisor_mechanism(c->sv) == SV_MECH_CGROUP)
                return;
        if (svt_cgroup_parent(parent, sizeof(parent)) == 0) {
                snprintf(probe, sizeof(probe), "%s/sv-cgpool-probe-%d", parent, (int) getpid());
                if (mkdir(probe, 0755) == 0) {
                        (void) rmdir(probe);
                        fail_msg("cgroup2 is writable, but the mechanism is %s",
                                 sv_mechanism_name(sv_supervisor_mechanism(c->sv)));
                }
        }
        fprintf(stderr, "no writable cgroup2 here\n");
        skip();
}

/* The absolute path of the cgroup `pid` is in. */
static void cgroup_of(pid_t pid, char *out, size_t n) {
        char path[64], line[4096], mnt[2048];
        FILE *f;
        bool found = false;

        assert_int_equal(svt_cgroup2_mount(mnt, sizeof(mnt)), 0);
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        assert_true((size_t) snprintf(out, n, "%s%s", mnt, line + 3) < n);
                        found = true;
                        break;
                }
        }
        fclose(f);
        assert_true(found);
}

static sv_worker *spawn(ctx *c, const char *const *argv) {
        sv_spawn_opts o;
        sv_worker *w = NULL;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.on_exit = on_exit_cb;
        o.userdata = c;
        assert_int_equal(sv_spawn(c->sv, &o, &w), 0);
        return w;
}

static void test_pooled_cgroup_removed_behind_our_back_is_not_spawned_into(void **state) {
        ctx *c = *state;
        const char *sleeper[] = { svt_worker("sv-sleep"), "forever", NULL };
        const char *exit0[] = { svt_worker("sv-exit"), "0", NULL };
        char cg[4096];
        sv_worker *w;

        need_cgroups(c);
        /* A worker ended by a plain signal gives its (empty, never killed)
         * cgroup back to the pool. */
        w = spawn(c, sleeper);
        cgroup_of(sv_worker_pid(w), cg, sizeof(cg));
        assert_int_equal(sv_worker_kill(w, SIGTERM), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_int_equal(c->info.code, -SIGTERM);

        /* Someone removes it; the next spawn takes it from the pool. */
        assert_int_equal(rmdir(cg), 0);
        spawn(c, exit0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 2);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 0);
}

static int setup(void **state) {
        static ctx c;

        memset(&c, 0, sizeof(c));
        if (sv_supervisor_new(NULL, &c.sv) != 0)
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

static int group_setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_pooled_cgroup_removed_behind_our_back_is_not_spawned_into, setup,
                        teardown),
        };

        return cmocka_run_group_tests_name("cgroup pool", tests, group_setup, NULL);
}
