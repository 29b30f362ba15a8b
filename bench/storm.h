/* storm.h - a storm of short workers through the public API, shared by
 * bench/storm.c (100,000 of them) and tests/integration/test_storm.c (a few
 * thousand, also under valgrind). At most `inflight` workers live at once;
 * each exit starts the next. Each worker is drawn from a seeded generator:
 * it exits by itself (at once or after a short sleep), or is stopped through
 * the ladder (dying on TERM, or ignoring it until the ladder's KILL), or is
 * SIGKILLed, or runs into its timeout. Stops and kills land at a random
 * 0-10 ms after the spawn, from one 1 ms timer, so some hit a child that has
 * not exec'd yet. Also the fd and RSS probes both programs compare.
 * Header-only (static functions), like bench.h. Never prints. */
#ifndef SV_STORM_H
#define SV_STORM_H

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise/sv.h"

typedef enum storm_kind {
        STORM_EXIT,     /* sv-exit N: exits at once with N */
        STORM_SLEEP,    /* sv-sleep 0..15 ms, then exits 0 */
        STORM_STOP,     /* sv-sleep forever, sv_worker_stop(): dies on TERM */
        STORM_ESCALATE, /* sv-ignore-term forever, sv_worker_stop(): the ladder's KILL */
        STORM_KILL,     /* sv-sleep forever, sv_worker_kill(SIGKILL) */
        STORM_TIMEOUT,  /* sv-sleep forever, timeout 1..15 ms: the ladder */
        STORM_KIND_COUNT
} storm_kind;

static const char *const storm_kind_names[] = { "exit", "sleep", "stop", "escalate", "kill",
                                                "timeout" };
_Static_assert(sizeof(storm_kind_names) / sizeof(storm_kind_names[0]) == STORM_KIND_COUNT,
               "a name per kind");

typedef struct storm storm;

/* One of the `inflight` places a worker runs in; its exit refills it. */
typedef struct storm_slot {
        storm *st;
        sv_worker *w;    /* NULL while empty */
        storm_kind kind;
        int want_code;   /* STORM_EXIT's code */
        uint64_t act_at; /* uv_now() at which to stop or kill, for those kinds */
        bool acted;
} storm_slot;

struct storm {
        sv_supervisor *sv;
        const char *dir; /* where sv-exit, sv-sleep and sv-ignore-term are */
        sv_ladder ladder;
        uint64_t rng;
        unsigned long total, started, done;
        unsigned long kinds[STORM_KIND_COUNT];
        unsigned long unexpected; /* an end that does not match the kind */
        char first_unexpected[160];
        int spawn_err;            /* first sv_spawn error; no spawns after it */
        storm_slot *slots;
        unsigned long nslots;
        uv_timer_t tick;
};

/* splitmix64: one seed gives the same storm again. */
static inline uint64_t storm_rand(storm *st) {
        uint64_t z = (st->rng += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

/* Counts the open fds of this process (from /proc/self/fd, the listing's
 * own fd left out): those on files under /sys/fs/cgroup, the supervisor's
 * pool of per-worker cgroups, in *out_cgroup, all others in *out_other. The
 * pool shrinks and grows with the storm (a killed cgroup is removed, not
 * pooled), so it is bounded on its own rather than hiding other fds.
 * Returns 0, or -1 if /proc cannot be read. */
static inline int storm_fds(int *out_other, int *out_cgroup) {
        char link[512];
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");
        int other = 0, cgroup = 0;
        ssize_t n;

        if (!d)
                return -1;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
                        continue;
                n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
                if (n < 0)
                        continue;
                link[n] = '\0';
                if (strncmp(link, "/sys/fs/cgroup/", 15) == 0)
                        cgroup++;
                else
                        other++;
        }
        (void) closedir(d);
        *out_other = other;
        *out_cgroup = cgroup;
        return 0;
}

/* VmRSS of this process in KiB, or -1. */
static inline long storm_rss_kb(void) {
        char line[256];
        long kb = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
                        break;
        (void) fclose(f);
        return kb;
}

static inline bool storm_expected(const storm_slot *s, const sv_exit_info *e) {
        switch (s->kind) {
        case STORM_EXIT:
                return e->cause == SV_CAUSE_EXITED && e->exited && e->code == s->want_code;
        case STORM_SLEEP:
                return e->cause == SV_CAUSE_EXITED && e->exited && e->code == 0;
        case STORM_STOP:
        case STORM_ESCALATE:
                return e->cause == SV_CAUSE_STOPPED && !e->exited;
        case STORM_KILL:
                return !e->exited && e->signal == SIGKILL;
        case STORM_TIMEOUT:
                return e->cause == SV_CAUSE_TIMEOUT && !e->exited;
        default:
                return false;
        }
}

static inline int storm_start(storm *st, storm_slot *s);

static inline void storm_on_exit(sv_worker *w, const sv_exit_info *e, void *ud) {
        storm_slot *s = ud;
        storm *st = s->st;

        (void) w;
        st->done++;
        if (!storm_expected(s, e) && st->unexpected++ == 0)
                (void) snprintf(st->first_unexpected, sizeof(st->first_unexpected),
                                "%s worker: cause %s, exited %d, code %d, signal %d",
                                storm_kind_names[s->kind], sv_cause_name(e->cause), e->exited,
                                e->code, e->signal);
        s->w = NULL;
        if (st->started < st->total && !st->spawn_err)
                (void) storm_start(st, s);
        if (st->done == st->started && (st->started == st->total || st->spawn_err))
                uv_timer_stop(&st->tick);
}

static inline void storm_act(storm_slot *s) {
        s->acted = true;
        if (s->kind == STORM_KILL)
                (void) sv_worker_kill(s->w, SIGKILL);
        else
                (void) sv_worker_stop(s->w);
}

static inline void storm_on_tick(uv_timer_t *t) {
        storm *st = t->data;
        uint64_t now = uv_now(t->loop);
        unsigned long i;

        for (i = 0; i < st->nslots; i++) {
                storm_slot *s = &st->slots[i];

                if (s->w && !s->acted && s->act_at <= now)
                        storm_act(s);
        }
}

static inline int storm_start(storm *st, storm_slot *s) {
        char exe[512], arg[32];
        const char *argv[3] = { exe, arg, NULL };
        sv_spawn_opts o;
        uint64_t r = storm_rand(st);
        int i, rc;

        memset(&o, 0, sizeof(o));
        memset(s, 0, sizeof(*s));
        s->st = st;
        s->kind = (storm_kind) (r % STORM_KIND_COUNT);
        r /= STORM_KIND_COUNT;
        (void) snprintf(arg, sizeof(arg), "forever");
        switch (s->kind) {
        case STORM_EXIT:
                s->want_code = (int) (r % 4);
                (void) snprintf(exe, sizeof(exe), "%s/sv-exit", st->dir);
                (void) snprintf(arg, sizeof(arg), "%d", s->want_code);
                break;
        case STORM_SLEEP:
                (void) snprintf(exe, sizeof(exe), "%s/sv-sleep", st->dir);
                (void) snprintf(arg, sizeof(arg), "%d", (int) (r % 16));
                break;
        case STORM_ESCALATE:
                (void) snprintf(exe, sizeof(exe), "%s/sv-ignore-term", st->dir);
                break;
        case STORM_TIMEOUT:
                o.timeout_ms = 1 + r % 15;
                /* fall through */
        default:
                (void) snprintf(exe, sizeof(exe), "%s/sv-sleep", st->dir);
                break;
        }
        o.argv = argv;
        for (i = 0; i < 3; i++)
                o.stdio[i] = SV_STDIO_NULL;
        o.ladder = &st->ladder;
        o.on_exit = storm_on_exit;
        o.userdata = s;
        rc = sv_spawn(st->sv, &o, &s->w);
        if (rc < 0) {
                st->spawn_err = rc;
                s->w = NULL;
                return rc;
        }
        st->started++;
        st->kinds[s->kind]++;
        if (s->kind == STORM_STOP || s->kind == STORM_ESCALATE || s->kind == STORM_KILL) {
                s->act_at = uv_now(sv_supervisor_loop(st->sv)) + (r >> 8) % 11;
                /* A delay of 0 acts at once: on a child that may not have
                 * exec'd yet. */
                if ((r >> 8) % 11 == 0)
                        storm_act(s);
        } else {
                s->acted = true;
        }
        return 0;
}

static inline void storm_fill_exit(sv_worker *w, const sv_exit_info *e, void *ud) {
        (void) w;
        (void) e;
        ++*(unsigned long *) ud;
}

/* Holds `n` workers alive at once, then stops them all: the supervisor's
 * high-water marks (cgroup pool, tables, heap) reach what `n` live workers
 * need, so a baseline taken after it is the level a storm of `n` in flight
 * may use. Returns 0 once all are reaped, or the first sv_spawn error. */
static inline int storm_fill(sv_supervisor *sv, const char *workers_dir, unsigned long n) {
        char exe[512];
        const char *argv[] = { exe, "forever", NULL };
        sv_spawn_opts o;
        unsigned long i, done = 0;
        int k, r = 0;

        memset(&o, 0, sizeof(o));
        (void) snprintf(exe, sizeof(exe), "%s/sv-sleep", workers_dir);
        o.argv = argv;
        for (k = 0; k < 3; k++)
                o.stdio[k] = SV_STDIO_NULL;
        o.on_exit = storm_fill_exit;
        o.userdata = &done;
        for (i = 0; i < n && r == 0; i++)
                r = sv_spawn(sv, &o, NULL);
        (void) sv_supervisor_stop_all(sv);
        (void) sv_supervisor_run(sv);
        return r;
}

/* Runs `total` workers, `inflight` at a time, on `sv` (whose loop must be its
 * own or otherwise idle) and returns when every one of them has been reaped:
 * 0, or the first sv_spawn error (the workers already started are still
 * waited for). `st` is filled in for the caller to read; *seed advances, so
 * storms run one after another differ. */
static inline int storm_run(sv_supervisor *sv, const char *workers_dir, unsigned long total,
                            unsigned long inflight, uint64_t *seed, storm *st) {
        unsigned long i;
        int r;

        memset(st, 0, sizeof(*st));
        st->sv = sv;
        st->dir = workers_dir;
        st->rng = *seed;
        st->total = total;
        /* TERM, then KILL after 10 ms: escalations happen often and quickly. */
        r = sv_ladder_parse("TERM:10ms,KILL:5s", 0, &st->ladder);
        if (r < 0)
                return r;
        st->nslots = inflight < total ? inflight : total;
        st->slots = calloc(st->nslots ? st->nslots : 1, sizeof(*st->slots));
        if (!st->slots)
                return UV_ENOMEM;
        r = uv_timer_init(sv_supervisor_loop(sv), &st->tick);
        if (r < 0)
                goto out;
        st->tick.data = st;
        (void) uv_timer_start(&st->tick, storm_on_tick, 1, 1);
        for (i = 0; i < st->nslots && !st->spawn_err; i++)
                (void) storm_start(st, &st->slots[i]);
        if (st->started == 0)
                uv_timer_stop(&st->tick);
        (void) sv_supervisor_run(sv);
        uv_close((uv_handle_t *) &st->tick, NULL);
        (void) uv_run(sv_supervisor_loop(sv), UV_RUN_NOWAIT);
        *seed = st->rng;
        r = st->spawn_err;
out:
        free(st->slots);
        st->slots = NULL;
        return r;
}

#endif
