/* test_pool.c - sv_pool with real workers: the restart policies (on-failure
 * with delays that grow to the cap, always, no), the crash-loop give-up, a
 * restart or stop of one slot that leaves the others alone, scaling up and
 * down, and pause/resume (cgroup.freeze, or SIGSTOP of the tree) with a stop
 * of a paused copy. Each test runs on the default mechanism, on the /proc
 * walk and (where the kernel gives one) in a PID namespace, is driven by the pool's events (never a sleep), and leaves nothing. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "supervise/sv_pool.h"
#include "svt_ns.h"
#include "svtest.h"

#define MAX_REC 64

typedef struct rec {
        sv_pool_event_type type;
        sv_event_type wtype; /* WORKER: the worker event's type */
        unsigned index;
        uint64_t at_ms;      /* uv_hrtime() at the callback */
        uint64_t delay_ms;
        unsigned restarts;
        bool manual;
        pid_t pid;
        sv_exit_info exit;   /* WORKER EXIT */
} rec;

typedef struct ctx ctx;
typedef void (*hook_fn)(ctx *c, const sv_pool_event *ev);

struct ctx {
        sv_supervisor *sv;
        sv_pool *pool;
        rec r[MAX_REC];
        int n;
        int dones;
        hook_fn hook;
        int step;          /* the hook's own progress */
        unsigned restarts_wanted;
        pid_t pids[8];     /* per slot, for the tests that compare */
        /* the tick worker */
        unsigned ticks, ticks_paused;
        uint64_t paused_at;  /* uv_hrtime() of the pause */
        bool paused_window_over;
        uv_timer_t window;
        char cg_freeze;    /* cgroup.freeze read while paused, or 'T' for a stopped state */
};

static unsigned sv_flags;

static uint64_t now_ms(void) {
        return uv_hrtime() / 1000000;
}

static void on_pool_event(sv_pool *p, const sv_pool_event *ev, void *ud) {
        ctx *c = ud;
        rec *r;

        (void) p;
        if (ev->type == SV_POOL_EV_DONE)
                c->dones++;
        if (c->n < MAX_REC) {
                r = &c->r[c->n++];
                memset(r, 0, sizeof(*r));
                r->type = ev->type;
                r->index = ev->index;
                r->at_ms = now_ms();
                r->delay_ms = ev->delay_ms;
                r->restarts = ev->restarts;
                r->manual = ev->manual;
                r->pid = ev->worker ? sv_worker_pid(ev->worker) : 0;
                if (ev->type == SV_POOL_EV_WORKER) {
                        r->wtype = ev->worker_event->type;
                        if (r->wtype == SV_EVENT_EXIT) {
                                r->exit = *ev->worker_event->exit;
                                r->exit.leaks = NULL;
                                r->exit.reason = NULL;
                        }
                }
        }
        if (getenv("DBG"))
                fprintf(stderr, "ev %d idx %u step %d\n", ev->type, ev->index, c->step);
        if (c->hook)
                c->hook(c, ev);
}

static void on_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        ctx *c = ud;
        size_t i;

        (void) w;
        (void) fd;
        for (i = 0; i < len; i++) {
                if (buf[i] != '\n')
                        continue;
                c->ticks++;
                /* Ticks written before the pause may still be in the pipe
                 * when it starts: count from 100 ms after it. */
                if (c->step == 2 && uv_hrtime() - c->paused_at > 100000000u)
                        c->ticks_paused++;
        }
        if (c->hook && len > 0)
                c->hook(c, NULL);
}

static int setup(void **state) {
        static ctx c;
        sv_supervisor_opts so;

        memset(&c, 0, sizeof(c));
        memset(&so, 0, sizeof(so));
        so.flags = sv_flags;
        if (sv_ladder_parse("TERM:5s,KILL", 0, &so.ladder) != 0)
                return -1;
        if (sv_supervisor_new(&so, &c.sv) != 0)
                return -1;
        *state = &c;
        return 0;
}

static int teardown(void **state) {
        ctx *c = *state;

        if (c->pool)
                (void) sv_pool_shutdown(c->pool);
        sv_pool_free(c->pool);
        sv_supervisor_free(c->sv);
        svt_assert_no_children();
        return 0;
}

static void make_pool(ctx *c, const char *const *argv, unsigned copies, const sv_restart_opts *ro,
                      bool piped) {
        sv_spawn_opts sp;
        sv_pool_opts po;

        memset(&sp, 0, sizeof(sp));
        sp.argv = argv;
        if (piped) {
                sp.stdio[1] = SV_STDIO_PIPE;
                sp.on_output = on_output;
                sp.userdata = c;
        }
        memset(&po, 0, sizeof(po));
        po.spawn = &sp;
        po.copies = copies;
        if (ro)
                po.restart = *ro;
        po.index_env = "SUPERVISE_WORKER";
        po.on_event = on_pool_event;
        po.userdata = c;
        assert_int_equal(sv_pool_new(c->sv, &po, &c->pool), 0);
        assert_int_equal(sv_pool_start(c->pool), 0);
}

static void run(ctx *c) {
        sv_supervisor_run(c->sv);
        assert_int_equal(c->dones, 1);
}

static int count(const ctx *c, sv_pool_event_type t) {
        int i, n = 0;

        for (i = 0; i < c->n; i++)
                n += c->r[i].type == t;
        return n;
}

/* Stops everything once `restarts_wanted` restarts have happened. */
static void stop_after_restarts(ctx *c, const sv_pool_event *ev) {
        if (ev && ev->type == SV_POOL_EV_RESTARTED && ev->restarts >= c->restarts_wanted)
                (void) sv_pool_shutdown(c->pool);
}

static void test_on_failure_backs_off_growing_to_the_cap(void **state) {
        const char *av[3] = { svt_worker("sv-exit"), "3", NULL };
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 20, 160, 0, 0, 0 };
        ctx *c = *state;
        uint64_t prev_max = 0, base = 20, last_exit = 0;
        sv_slot_info si;
        int i, sched = 0;

        c->hook = stop_after_restarts;
        c->restarts_wanted = 6;
        make_pool(c, av, 1, &ro, false);
        run(c);
        for (i = 0; i < c->n; i++) {
                const rec *r = &c->r[i];
                if (r->type == SV_POOL_EV_WORKER && r->wtype == SV_EVENT_EXIT)
                        last_exit = r->at_ms;
                if (r->type == SV_POOL_EV_RESTARTED) {
                        /* Never earlier than the delay (loose: ms rounding). */
                        assert_true(r->at_ms + 2 >= last_exit + c->r[i - 1].delay_ms);
                        assert_false(r->manual);
                }
                if (r->type != SV_POOL_EV_RESTART_SCHEDULED)
                        continue;
                sched++;
                /* Within [3/4 d, d] of d = 20 ms doubled, capped at 160. */
                assert_true(r->delay_ms <= base);
                assert_true(r->delay_ms >= base - base / 4);
                if (base < 160)
                        assert_true(r->delay_ms > prev_max);
                prev_max = r->delay_ms;
                base = base * 2 > 160 ? 160 : base * 2;
        }
        assert_int_equal(sched, 6);
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 6);
        assert_int_equal(sv_pool_slot(c->pool, 0, &si), 0);
        assert_int_equal(si.restarts, 6);
        assert_true(si.has_last);
        assert_int_equal(si.state, SV_SLOT_EXITED);
        /* Every copy failed with 3 but the last, which the shutdown in the
         * RESTARTED callback stopped (maybe before its exec). */
        for (i = 0, sched = 0; i < c->n; i++) {
                if (c->r[i].type == SV_POOL_EV_WORKER && c->r[i].wtype == SV_EVENT_EXIT &&
                    ++sched < 7)
                        assert_int_equal(c->r[i].exit.code, 3);
        }
        assert_int_equal(sched, 7);
        assert_int_equal(si.last.cause, SV_CAUSE_STOPPED);
}

static void test_always_restarts_a_clean_exit(void **state) {
        const char *av[3] = { svt_worker("sv-exit"), "0", NULL };
        sv_restart_opts ro = { SV_RESTART_ALWAYS, 5, 5, 0, 0, 0 };
        ctx *c = *state;

        c->hook = stop_after_restarts;
        c->restarts_wanted = 3;
        make_pool(c, av, 1, &ro, false);
        run(c);
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 3);
}

static void test_no_never_restarts_and_on_failure_spares_success(void **state) {
        const char *fail_av[3] = { svt_worker("sv-exit"), "1", NULL };
        const char *ok_av[3] = { svt_worker("sv-exit"), "0", NULL };
        sv_restart_opts ro = { SV_RESTART_NO, 5, 5, 0, 0, 0 };
        ctx *c = *state;
        sv_slot_info si;

        make_pool(c, fail_av, 2, &ro, false);
        run(c);
        assert_int_equal(count(c, SV_POOL_EV_RESTART_SCHEDULED), 0);
        assert_int_equal(sv_pool_slot(c->pool, 1, &si), 0);
        assert_int_equal(si.state, SV_SLOT_EXITED);
        assert_int_equal(si.last.code, 1);
        sv_pool_free(c->pool);

        c->pool = NULL;
        c->n = c->dones = 0;
        ro.policy = SV_RESTART_ON_FAILURE;
        make_pool(c, ok_av, 2, &ro, false);
        run(c);
        assert_int_equal(count(c, SV_POOL_EV_RESTART_SCHEDULED), 0);
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 0);
}

static void test_gives_up_after_max_restarts_within(void **state) {
        const char *av[3] = { svt_worker("sv-exit"), "4", NULL };
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 5, 10, 3, 60000, 0 };
        ctx *c = *state;
        sv_slot_info si;

        make_pool(c, av, 1, &ro, false);
        run(c);
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 3);
        assert_int_equal(count(c, SV_POOL_EV_GAVE_UP), 1);
        assert_int_equal(sv_pool_slot(c->pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_FAILED);
        assert_int_equal(si.restarts, 3);
        assert_true(si.last.exited);
        assert_int_equal(si.last.code, 4);
        /* GAVE_UP comes after the fourth exit, before DONE. */
        assert_int_equal(c->r[c->n - 2].type, SV_POOL_EV_GAVE_UP);
        assert_int_equal(c->r[c->n - 1].type, SV_POOL_EV_DONE);
}

/* Kills the first copy with a signal through the pool; shuts down once the
 * policy has brought it back. */
static void kill_once(ctx *c, const sv_pool_event *ev) {
        if (!ev)
                return;
        if (c->step == 0 && ev->type == SV_POOL_EV_WORKER && ev->worker_event->type == SV_EVENT_SPAWN) {
                c->step = 1;
                assert_int_equal(sv_pool_signal(c->pool, 0, SIGKILL, false), 0);
        } else if (ev->type == SV_POOL_EV_RESTARTED) {
                c->step = 2;
                (void) sv_pool_shutdown(c->pool);
        }
}

static void test_a_copy_killed_through_the_pool_is_restarted(void **state) {
        const char *av[2] = { svt_worker("sv-sleep"), NULL };
        sv_restart_opts ro = { SV_RESTART_ON_FAILURE, 5, 5, 0, 0, 0 };
        ctx *c = *state;
        int i;

        c->hook = kill_once;
        make_pool(c, av, 1, &ro, false);
        assert_int_equal(sv_pool_signal(c->pool, 1, SIGKILL, false), UV_EINVAL);
        run(c);
        assert_int_equal(c->step, 2);
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 1);
        for (i = 0; i < c->n; i++) {
                if (c->r[i].type == SV_POOL_EV_WORKER && c->r[i].wtype == SV_EVENT_EXIT) {
                        assert_int_equal(c->r[i].exit.signal, SIGKILL);
                        break;
                }
        }
        assert_int_equal(sv_pool_signal(c->pool, 0, SIGTERM, false), UV_ESRCH);
}

/* Restarts slot 1 once all three run; shuts down once it is back. */
static void restart_one(ctx *c, const sv_pool_event *ev) {
        unsigned i;

        if (!ev || ev->type != SV_POOL_EV_WORKER || ev->worker_event->type != SV_EVENT_SPAWN)
                return;
        if (c->step == 0 && ev->index == 2) {
                for (i = 0; i < 3; i++)
                        c->pids[i] = sv_worker_pid(sv_pool_worker(c->pool, i));
                c->step = 1;
                assert_int_equal(sv_pool_restart(c->pool, 1), 0);
        } else if (c->step == 1) {
                assert_int_equal(ev->index, 1);
                c->step = 2;
                for (i = 0; i < 3; i++)
                        c->pids[4 + i] = sv_worker_pid(sv_pool_worker(c->pool, i));
                (void) sv_pool_shutdown(c->pool);
        }
}

static void test_restart_of_one_slot_leaves_the_others(void **state) {
        const char *av[2] = { svt_worker("sv-sleep"), NULL };
        ctx *c = *state;
        sv_slot_info si;
        int i;

        c->hook = restart_one;
        make_pool(c, av, 3, NULL, false);
        run(c);
        assert_int_equal(c->step, 2);
        assert_int_equal(c->pids[4], c->pids[0]);
        assert_int_equal(c->pids[6], c->pids[2]);
        assert_int_not_equal(c->pids[5], c->pids[1]);
        for (i = 0; i < c->n; i++) {
                if (c->r[i].type == SV_POOL_EV_RESTARTED) {
                        assert_int_equal(c->r[i].index, 1);
                        assert_true(c->r[i].manual);
                }
        }
        assert_int_equal(count(c, SV_POOL_EV_RESTARTED), 1);
        assert_int_equal(sv_pool_slot(c->pool, 1, &si), 0);
        assert_int_equal(si.restarts, 1);
        assert_int_equal(sv_pool_slot(c->pool, 0, &si), 0);
        assert_int_equal(si.restarts, 0);
        /* The old copy of slot 1 was stopped by us, not crashed. */
        for (i = 0; i < c->n; i++) {
                if (c->r[i].type == SV_POOL_EV_WORKER && c->r[i].wtype == SV_EVENT_EXIT) {
                        assert_int_equal(c->r[i].exit.cause, SV_CAUSE_STOPPED);
                        break;
                }
        }
}

/* 2 -> 4 once both run, 4 -> 1 once all four run, shutdown once the
 * three are removed. */
static void scale_script(ctx *c, const sv_pool_event *ev) {
        sv_slot_info si;
        unsigned i, removed = 0;

        if (!ev)
                return;
        if (c->step == 0 && ev->type == SV_POOL_EV_WORKER &&
            ev->worker_event->type == SV_EVENT_SPAWN && ev->index == 1) {
                c->step = 1;
                /* Its SCALED event shrinks it again, from inside. */
                assert_int_equal(sv_pool_scale(c->pool, 4), 0);
        } else if (c->step == 1 && ev->type == SV_POOL_EV_SCALED) {
                for (i = 0; i < 4; i++)
                        assert_non_null(sv_pool_worker(c->pool, i));
                assert_int_equal(sv_pool_size(c->pool), 4);
                c->step = 2;
                c->pids[0] = sv_worker_pid(sv_pool_worker(c->pool, 0));
                assert_int_equal(sv_pool_scale(c->pool, 1), 0);
                assert_int_equal(sv_pool_size(c->pool), 1);
        } else if (c->step == 2 && ev->type == SV_POOL_EV_WORKER &&
                   ev->worker_event->type == SV_EVENT_EXIT) {
                for (i = 1; i < 4; i++) {
                        assert_int_equal(sv_pool_slot(c->pool, i, &si), 0);
                        removed += si.state == SV_SLOT_REMOVED;
                }
                if (removed == 2) { /* this exit makes the third */
                        c->step = 3;
                        assert_non_null(sv_pool_worker(c->pool, 0));
                        assert_int_equal(sv_worker_pid(sv_pool_worker(c->pool, 0)), c->pids[0]);
                        (void) sv_pool_shutdown(c->pool);
                }
        }
}

static void test_scale_up_and_down(void **state) {
        const char *av[2] = { svt_worker("sv-sleep"), NULL };
        sv_restart_opts ro = { SV_RESTART_ALWAYS, 5, 5, 0, 0, 0 };
        ctx *c = *state;
        sv_slot_info si;
        unsigned i;

        c->hook = scale_script;
        make_pool(c, av, 2, &ro, false);
        run(c);
        assert_int_equal(c->step, 3);
        assert_int_equal(sv_pool_slots(c->pool), 4);
        for (i = 1; i < 4; i++) {
                assert_int_equal(sv_pool_slot(c->pool, i, &si), 0);
                assert_int_equal(si.state, SV_SLOT_REMOVED);
                assert_int_equal(si.last.cause, SV_CAUSE_STOPPED);
        }
        /* A stop for the shrink is no crash: the policy restarted nothing. */
        assert_int_equal(count(c, SV_POOL_EV_RESTART_SCHEDULED), 0);
        assert_int_equal(sv_pool_slot(c->pool, 4, &si), UV_EINVAL);
        assert_int_equal(sv_pool_stop(c->pool, 1), UV_EINVAL);
}

/* What says the copy is paused: its cgroup's cgroup.freeze, or its state. */
static char paused_mark(pid_t pid, bool own_cgroup) {
        char path[4200], buf[4096], mnt[2048], *p;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strstr(buf, "0::");
        /* Only a cgroup of the worker's own: under the /proc walk the worker
         * sits in ours, which may itself be a supervise cgroup (this suite
         * run by `supervise run --ctest`), never frozen. */
        if (own_cgroup && p && strstr(p, "supervise-") && svt_cgroup2_mount(mnt, sizeof(mnt)) == 0) {
                p[strcspn(p, "\n")] = '\0';
                snprintf(path, sizeof(path), "%s%s/cgroup.freeze", mnt, p + 3);
                f = fopen(path, "re");
                assert_non_null(f);
                assert_non_null(fgets(buf, sizeof(buf), f));
                fclose(f);
                return buf[0];
        }
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        assert_non_null(p);
        return p[2];
}

static void window_over(uv_timer_t *t) {
        ctx *c = t->data;

        c->paused_window_over = true;
        uv_close((uv_handle_t *) t, NULL);
        c->hook(c, NULL);
}

/* 0: wait for 3 ticks, pause; 2: paused for a window of 300 ms; then
 * resume; 3: 3 more ticks, pause again and stop the paused copy. */
static void pause_script(ctx *c, const sv_pool_event *ev) {
        pid_t pid;

        (void) ev;
        if (c->step == 0 && c->ticks >= 3) {
                c->step = 2;
                c->paused_at = uv_hrtime();
                assert_int_equal(sv_pool_pause(c->pool, 0), 0);
                assert_int_equal(sv_pool_pause(c->pool, 0), UV_EBUSY);
                uv_timer_init(sv_supervisor_loop(c->sv), &c->window);
                c->window.data = c;
                uv_timer_start(&c->window, window_over, 300, 0);
        } else if (c->step == 2 && c->paused_window_over) {
                c->step = 3;
                /* Read at the end of the window: a SIGSTOP takes effect when
                 * the copy next runs, not when kill() returns. */
                pid = sv_worker_pid(sv_pool_worker(c->pool, 0));
                c->cg_freeze = paused_mark(pid, sv_supervisor_mechanism(c->sv) == SV_MECH_CGROUP);
                c->pids[0] = (pid_t) c->ticks;
                assert_int_equal(sv_pool_resume(c->pool, 0), 0);
                assert_int_equal(sv_pool_resume(c->pool, 0), UV_EBUSY);
        } else if (c->step == 3 && c->ticks >= (unsigned) c->pids[0] + 3) {
                c->step = 4;
                assert_int_equal(sv_pool_pause(c->pool, 0), 0);
                assert_int_equal(sv_pool_stop(c->pool, 0), 0);
        }
}

static void test_pause_stops_progress_resume_continues_stop_ends_it(void **state) {
        const char *av[3] = { svt_worker("sv-tick"), "5", NULL };
        ctx *c = *state;
        sv_slot_info si;

        c->hook = pause_script;
        make_pool(c, av, 1, NULL, true);
        run(c);
        assert_int_equal(c->step, 4);
        /* cgroup.freeze "1", or 'T' (stopped) under the /proc walk. Under
         * pidns the pid is the init's, which is never stopped (it must
         * reap); the ticks say the copy was. */
        if (sv_supervisor_mechanism(c->sv) == SV_MECH_CGROUP)
                assert_int_equal(c->cg_freeze, '1');
        else if (sv_supervisor_mechanism(c->sv) == SV_MECH_PROCWALK)
                assert_int_equal(c->cg_freeze, 'T');
        /* About 40 would have been due in the last 200 ms of the pause. */
        assert_int_equal(c->ticks_paused, 0);
        assert_int_equal(count(c, SV_POOL_EV_PAUSED), 2);
        assert_int_equal(count(c, SV_POOL_EV_RESUMED), 1);
        assert_int_equal(sv_pool_slot(c->pool, 0, &si), 0);
        assert_int_equal(si.state, SV_SLOT_EXITED);
        assert_int_equal(si.last.cause, SV_CAUSE_STOPPED);
        /* SIGTERM ended it: the thaw let it act on the ladder's first step. */
        assert_int_equal(si.last.signal, SIGTERM);
}

#define BOTH(fn)                                                           \
        cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                BOTH(test_on_failure_backs_off_growing_to_the_cap),
                BOTH(test_always_restarts_a_clean_exit),
                BOTH(test_no_never_restarts_and_on_failure_spares_success),
                BOTH(test_gives_up_after_max_restarts_within),
                BOTH(test_a_copy_killed_through_the_pool_is_restarted),
                BOTH(test_restart_of_one_slot_leaves_the_others),
                BOTH(test_scale_up_and_down),
                BOTH(test_pause_stops_progress_resume_continues_stop_ends_it),
        };
        int failed;

        svt_become_subreaper();
        failed = cmocka_run_group_tests_name("pool, default mechanism", tests, NULL, NULL);
        sv_flags = SV_SUPERVISOR_NO_CGROUP;
        failed += cmocka_run_group_tests_name("pool, /proc walk", tests, NULL, NULL);
        if (svt_pidns_allowed(false)) {
                sv_flags = SV_SUPERVISOR_PIDNS;
                failed += cmocka_run_group_tests_name("pool, PID namespace", tests, NULL, NULL);
        }
        return failed;
}
