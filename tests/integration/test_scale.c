/* test_scale.c - the library with thousands of workers at once: every exit
 * reported, one fd per worker plus a constant, our children list read whole
 * however long it is; and several supervisors spawning on several threads
 * at once (each thread has its own clone stack).
 *
 * SV_TEST_SCALE_N sets the number of workers (default 3000: their children
 * file is about 20 KiB, past the 16 KiB that list was once cut at). Under
 * valgrind, where each spawn costs a thousand times more, the default is
 * 150: the same paths, a smaller crowd. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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

#include "platform/platform.h"
#include "supervise/sv.h"
#include "svtest.h"

typedef struct crowd {
        unsigned exits, stopped, bad;
} crowd;

static bool under_valgrind(void) {
        const char *p = getenv("LD_PRELOAD");

        return p && strstr(p, "vgpreload");
}

static unsigned scale_n(void) {
        const char *s = getenv("SV_TEST_SCALE_N");

        if (s && atoi(s) > 0)
                return (unsigned) atoi(s);
        return under_valgrind() ? 150 : 3000;
}

static int count_fds(void) {
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static void on_exit_count(sv_worker *w, const sv_exit_info *info, void *ud) {
        crowd *c = ud;

        (void) w;
        c->exits++;
        if (info->cause == SV_CAUSE_STOPPED && info->signal == SIGTERM)
                c->stopped++;
        else
                c->bad++;
}

static int setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

/* N sv-sleep workers alive at once: our fds grow by one each (the pidfd),
 * our children list names every one of them, and stopping them all
 * reports N exits, each a SIGTERM from us. */
static void test_thousands_of_workers_one_fd_each_every_exit_reported(void **state) {
        const char *argv[] = { svt_worker("sv-sleep"), "forever", NULL };
        unsigned n = scale_n(), i, seen = 0;
        sv_supervisor *sv;
        sv_spawn_opts o;
        pid_t *kids = NULL, *pids;
        crowd c = { 0, 0, 0 };
        int base, fds, k, j;

        (void) state;
        pids = calloc(n, sizeof(*pids));
        assert_non_null(pids);
        assert_int_equal(sv_supervisor_new(NULL, &sv), 0);
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[0] = o.stdio[1] = o.stdio[2] = SV_STDIO_NULL;
        o.on_exit = on_exit_count;
        o.userdata = &c;
        /* The first spawn starts the guardian; count from after it. */
        {
                sv_worker *w;
                assert_int_equal(sv_spawn(sv, &o, &w), 0);
                pids[0] = sv_worker_pid(w);
        }
        base = count_fds() - 1;
        for (i = 1; i < n; i++) {
                sv_worker *w;
                int r = sv_spawn(sv, &o, &w);
                if (r < 0)
                        fail_msg("spawn %u of %u: %s", i + 1, n, uv_strerror(r));
                pids[i] = sv_worker_pid(w);
        }
        fds = count_fds();
        if (fds > base + (int) n + 64)
                fail_msg("%d fds for %u workers (%d before the first)", fds, n, base);

        k = sv__proc_children(&kids);
        assert_true(k >= (int) n);
        for (i = 0; i < n; i++) {
                for (j = 0; j < k; j++) {
                        if (kids[j] == pids[i]) {
                                seen++;
                                break;
                        }
                }
        }
        free(kids);
        assert_int_equal(seen, n);

        assert_int_equal(sv_supervisor_stop_all(sv), (int) n);
        sv_supervisor_run(sv);
        assert_int_equal(c.exits, n);
        assert_int_equal(c.stopped, n);
        assert_int_equal(c.bad, 0);
        sv_supervisor_free(sv);
        free(pids);
        svt_assert_no_children();
}

/* ---- Several supervisors on several threads ---- */

#define THREADS 3

typedef struct lane {
        pthread_t t;
        unsigned want, exits, ok;
        int err;
} lane;

static void on_exit_lane(sv_worker *w, const sv_exit_info *info, void *ud) {
        lane *l = ud;

        (void) w;
        l->exits++;
        if (info->exited && info->code == 7)
                l->ok++;
}

/* Each thread runs its own supervisor and spawns one worker after another
 * while the other threads do the same: with one clone stack for the whole
 * process, two children would run on the same stack. */
static void *lane_main(void *arg) {
        const char *argv[] = { svt_worker("sv-exit"), "7", NULL };
        lane *l = arg;
        sv_supervisor_opts so;
        sv_supervisor *sv;
        sv_spawn_opts o;
        unsigned i;

        memset(&so, 0, sizeof(so));
        /* The test process is the subreaper and the threads share it: no
         * supervisor may reap another's children as orphans. The cgroup
         * directory is named after the process, not the supervisor, so
         * supervisors of one process would share worker cgroups: the
         * /proc mechanism keeps this test to the clone stacks. */
        so.flags = SV_SUPERVISOR_NO_SUBREAPER | SV_SUPERVISOR_NO_GUARDIAN | SV_SUPERVISOR_NO_CGROUP;
        l->err = sv_supervisor_new(&so, &sv);
        if (l->err < 0)
                return NULL;
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[0] = o.stdio[1] = o.stdio[2] = SV_STDIO_NULL;
        o.on_exit = on_exit_lane;
        o.userdata = l;
        for (i = 0; i < l->want && l->err == 0; i++)
                l->err = sv_spawn(sv, &o, NULL);
        sv_supervisor_run(sv);
        sv_supervisor_free(sv);
        return NULL;
}

static void test_supervisors_on_several_threads_spawn_at_once(void **state) {
        lane lanes[THREADS];
        int i;

        (void) state;
        memset(lanes, 0, sizeof(lanes));
        for (i = 0; i < THREADS; i++) {
                lanes[i].want = under_valgrind() ? 20 : 300;
                assert_int_equal(pthread_create(&lanes[i].t, NULL, lane_main, &lanes[i]), 0);
        }
        for (i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(lanes[i].t, NULL), 0);
        for (i = 0; i < THREADS; i++) {
                if (lanes[i].err < 0)
                        fail_msg("thread %d: %s", i, uv_strerror(lanes[i].err));
                assert_int_equal(lanes[i].exits, lanes[i].want);
                assert_int_equal(lanes[i].ok, lanes[i].want);
        }
        svt_assert_no_children();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_thousands_of_workers_one_fd_each_every_exit_reported,
                                       setup),
                cmocka_unit_test_setup(test_supervisors_on_several_threads_spawn_at_once, setup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
