/* pool.c - sv_pool: N numbered slots running copies of one command, each
 * restarted by a policy (sv_pool.h). Follows its copies only through their
 * lifecycle events and exits, like any client of sv.h; reaches into a
 * worker only to freeze its cgroup and, at sv_pool_free, to hand its
 * callbacks back to the caller. Owns the slots and one restart timer;
 * never blocks, never waits on a pid. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool_internal.h"
#include "supervise/sv_pool.h"

extern char **environ;

/* Laid out for size: a slot lives as long as the pool, beside each
 * worker's own state, and bench/scale.sh holds a live copy under 1 KiB. */
typedef struct pslot {
        sv_pool *pool;
        sv_worker *w;          /* the current copy; NULL when none runs */
        sv__crashes *crashes;  /* the give-up window; NULL until a restart */
        uint64_t started_us;   /* sv__plat_now_us() at the current copy's spawn */
        uint64_t next_us;      /* BACKOFF: when it restarts */
        unsigned index;
        unsigned restarts;     /* copies started after the first */
        unsigned streak;       /* policy restarts since the last healthy run */
        sv_slot_state state;
        bool frozen_cg;        /* paused through cgroup.freeze, not SIGSTOP */
        bool stop_asked;       /* ended on purpose: the policy does not restart it */
        bool restart_asked;    /* start a new copy as soon as this one has ended */
        bool remove_asked;     /* scaled away: REMOVED once it has ended */
        bool has_last;
        sv_exit_info last;
} pslot;

/* Slots are allocated CHUNK at a time, so that their addresses (each
 * copy's userdata) stay put when the pool grows. */
#define CHUNK 32

struct sv_pool {
        sv_supervisor *sv;
        sv_spawn_opts tpl;  /* argv, env, cwd and ladder point at the copies below */
        char **argv, **env;
        char *cwd, *index_env;
        sv_ladder ladder;
        sv_exit_cb user_exit;
        sv_output_cb user_output;
        void *user_ud;
        sv_restart_opts ro;
        sv_pool_event_cb on_event;
        void *ud;
        pslot **chunks;     /* slot i is chunks[i / CHUNK][i % CHUNK] */
        unsigned nchunks, nslots, size;
        uv_timer_t *timer;  /* allocated alone: freed by its close callback */
        uint64_t timer_due; /* sv__plat_now_us() the timer is set for */
        unsigned nrunning;  /* slots with a copy */
        unsigned nbackoff;  /* slots in BACKOFF: with nrunning, what DONE waits
                             * for, kept so that an exit costs O(1), not O(N) */
        bool started, shutting, done;
        uint32_t rnd;
};

static pslot *slot_at(const sv_pool *p, unsigned i) {
        return &p->chunks[i / CHUNK][i % CHUNK];
}

static const char *const state_names[] = {
        "running", "paused", "stopping", "backoff", "exited", "failed", "removed",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == SV_SLOT_STATE_COUNT,
               "a name per slot state");

static const char *const policy_names[] = { "no", "on-failure", "always" };
_Static_assert(sizeof(policy_names) / sizeof(policy_names[0]) == SV_RESTART_COUNT,
               "a name per restart policy");

const char *sv_slot_state_name(sv_slot_state s) {
        return (unsigned) s < SV_SLOT_STATE_COUNT ? state_names[s] : "?";
}

const char *sv_restart_policy_name(sv_restart_policy p) {
        return (unsigned) p < SV_RESTART_COUNT ? policy_names[p] : "?";
}

int sv_restart_policy_parse(const char *s, sv_restart_policy *out) {
        unsigned i;

        for (i = 0; s && i < SV_RESTART_COUNT; i++) {
                if (strcmp(s, policy_names[i]) == 0) {
                        *out = (sv_restart_policy) i;
                        return 0;
                }
        }
        return UV_EINVAL;
}

/* One bound of a delay: a finite duration above zero. */
static int parse_bound(const char *s, uint64_t *out) {
        uint64_t v;

        if (sv_duration_parse(s, &v) < 0 || v == 0 || v == SV_DURATION_INF)
                return UV_EINVAL;
        *out = v;
        return 0;
}

int sv_restart_delay_parse(const char *s, uint64_t *out_min_ms, uint64_t *out_max_ms) {
        char buf[64];
        const char *dots;
        uint64_t lo, hi;

        if (!s || strlen(s) >= sizeof(buf))
                return UV_EINVAL;
        dots = strstr(s, "..");
        if (!dots) {
                if (parse_bound(s, &lo) < 0)
                        return UV_EINVAL;
                hi = lo > SV_RESTART_DELAY_MAX_MS ? lo : SV_RESTART_DELAY_MAX_MS;
        } else {
                memcpy(buf, s, (size_t) (dots - s));
                buf[dots - s] = '\0';
                if (parse_bound(buf, &lo) < 0 || parse_bound(dots + 2, &hi) < 0 || lo > hi)
                        return UV_EINVAL;
        }
        *out_min_ms = lo;
        *out_max_ms = hi;
        return 0;
}

/* Every change of a slot's state goes through here, to keep nbackoff. */
static void set_state(pslot *s, sv_slot_state st) {
        if (s->state == SV_SLOT_BACKOFF && st != SV_SLOT_BACKOFF)
                s->pool->nbackoff--;
        else if (s->state != SV_SLOT_BACKOFF && st == SV_SLOT_BACKOFF)
                s->pool->nbackoff++;
        s->state = st;
}

/* ---- Events ---- */

static void emit(sv_pool *p, sv_pool_event *ev) {
        if (p->on_event)
                p->on_event(p, ev, p->ud);
}

static void emit_slot(pslot *s, sv_pool_event_type type, uint64_t delay_ms, int error) {
        sv_pool_event ev;

        memset(&ev, 0, sizeof(ev));
        ev.type = type;
        ev.index = s->index;
        ev.worker = s->w;
        ev.delay_ms = delay_ms;
        ev.restarts = s->restarts;
        ev.error = error;
        emit(s->pool, &ev);
}

/* DONE once nothing runs and nothing will restart. */
static void check_done(sv_pool *p) {
        sv_pool_event ev;

        if (p->done || !p->started || p->nrunning || p->nbackoff)
                return;
        p->done = true;
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_POOL_EV_DONE;
        ev.size = p->size;
        emit(p, &ev);
}

/* ---- The restart timer: one for the pool, set to the earliest backoff ---- */

static void on_timer(uv_timer_t *t) {
        if (t->data)
                sv__pool_tick(t->data);
}

/* Sets the timer for `at_us`, unless it is set for earlier. */
static void arm_at(sv_pool *p, uint64_t at_us) {
        uint64_t now;

        if (uv_is_active((uv_handle_t *) p->timer) && p->timer_due <= at_us)
                return;
        now = sv__plat_now_us();
        p->timer_due = at_us;
        /* Rounded up: a timer that fires early would find nobody due. */
        uv_timer_start(p->timer, on_timer, at_us > now ? (at_us - now + 999) / 1000 : 0, 0);
}

/* Sets the timer for the earliest backoff, or stops it when there is none
 * (a timer left running would keep the loop alive for nothing). */
static void arm_timer(sv_pool *p) {
        uint64_t first = UINT64_MAX;
        unsigned i;

        if (p->nbackoff == 0) {
                uv_timer_stop(p->timer);
                return;
        }
        for (i = 0; i < p->nslots; i++) {
                const pslot *s = slot_at(p, i);
                if (s->state == SV_SLOT_BACKOFF && s->next_us < first)
                        first = s->next_us;
        }
        uv_timer_stop(p->timer);
        arm_at(p, first);
}

/* ---- Starting a copy ---- */

/* The template's environment (or ours) without NAME=..., plus NAME=index. */
static char **slot_env(const sv_pool *p, unsigned index, char *var, size_t n) {
        char *const *base = p->env ? p->env : environ;
        size_t len = strlen(p->index_env), count = 0, k = 0, i;
        char **env;

        while (base[count])
                count++;
        env = calloc(count + 2, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < count; i++) {
                if (strncmp(base[i], p->index_env, len) == 0 && base[i][len] == '=')
                        continue;
                env[k++] = base[i];
        }
        snprintf(var, n, "%s=%u", p->index_env, index);
        env[k] = var;
        return env;
}

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud);
static void on_event_cb(sv_worker *w, const sv_event *ev, void *ud);
static void on_output_cb(sv_worker *w, int fd, const char *buf, size_t len, void *ud);

/* Spawns the slot's next copy. Its SPAWN event (inside sv_spawn) sets s->w. */
static int spawn_slot(pslot *s) {
        sv_pool *p = s->pool;
        sv_spawn_opts o = p->tpl;
        char var[128];
        char **env = NULL;
        sv_worker *w;
        int e;

        if (p->index_env) {
                env = slot_env(p, s->index, var, sizeof(var));
                if (!env)
                        return UV_ENOMEM;
                o.env = (const char *const *) env;
        }
        o.on_exit = on_exit_cb;
        o.on_event = on_event_cb;
        o.on_output = p->user_output ? on_output_cb : NULL;
        o.userdata = s;
        s->stop_asked = s->restart_asked = s->frozen_cg = false;
        set_state(s, SV_SLOT_RUNNING);
        s->started_us = sv__plat_now_us();
        e = sv_spawn(p->sv, &o, &w);
        free(env);
        if (e < 0) {
                s->w = NULL;
                set_state(s, SV_SLOT_EXITED);
                return e;
        }
        s->w = w;
        p->nrunning++;
        p->done = false;
        return 0;
}

static void schedule(pslot *s, const sv_exit_info *info);

/* A restart: by the policy after a backoff, or asked for (manual). */
static int start_again(pslot *s, bool manual) {
        sv_pool *p = s->pool;
        sv_pool_event ev;
        int e;

        /* Counted first: the new copy's own events carry its number. */
        s->restarts++;
        e = spawn_slot(s);
        if (e < 0) {
                s->restarts--;
                emit_slot(s, SV_POOL_EV_SPAWN_FAILED, 0, e);
                schedule(s, NULL);
                return e;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_POOL_EV_RESTARTED;
        ev.index = s->index;
        ev.worker = s->w;
        ev.restarts = s->restarts;
        ev.manual = manual;
        emit(p, &ev);
        return 0;
}

void sv__pool_tick(sv_pool *p) {
        uint64_t now = sv__plat_now_us();
        unsigned i;

        /* Callbacks may grow the pool: read nslots afresh each time. */
        for (i = 0; i < p->nslots; i++) {
                pslot *s = slot_at(p, i);
                if (s->state == SV_SLOT_BACKOFF && s->next_us <= now + 1000)
                        (void) start_again(s, false);
        }
        arm_timer(p);
        check_done(p);
}

/* ---- After an exit: the policy ---- */

static bool failed(const sv_pool *p, const sv_exit_info *e) {
        return !e->exited || e->code != 0 || e->cause == SV_CAUSE_TIMEOUT ||
               (e->leaked && p->tpl.leaks == SV_LEAKS_FAIL);
}

/* Backoff before the next copy, or give up. info is NULL after a spawn
 * that failed. Only when the policy restarts and nothing said not to. */
static void schedule(pslot *s, const sv_exit_info *info) {
        sv_pool *p = s->pool;
        uint64_t now = sv__plat_now_us(), delay;

        set_state(s, SV_SLOT_EXITED);
        if (p->shutting || s->stop_asked || p->ro.policy == SV_RESTART_NO)
                return;
        /* Our ladder ended it (a stop of the worker itself, or the signal
         * the caller forwarded with sv_worker_stop_signal): on purpose. A
         * copy killed by a signal sent through sv_pool_signal is not: a
         * parent that kills a hung copy wants it back. */
        if (info && ((info->cause == SV_CAUSE_STOPPED && info->stop_step >= 0) ||
                     (p->ro.policy == SV_RESTART_ON_FAILURE && !failed(p, info))))
                return;
        if (info && info->wall_us / 1000 >= p->ro.healthy_ms)
                s->streak = 0;
        if (!sv__crashes_allow(&s->crashes, p->ro.max_restarts, p->ro.within_ms, now / 1000)) {
                set_state(s, SV_SLOT_FAILED);
                emit_slot(s, SV_POOL_EV_GAVE_UP, 0, 0);
                return;
        }
        s->streak++;
        delay = sv__backoff_delay(p->ro.delay_min_ms, p->ro.delay_max_ms, s->streak,
                                  sv__backoff_rand(&p->rnd));
        set_state(s, SV_SLOT_BACKOFF);
        s->next_us = now + delay * 1000;
        arm_at(p, s->next_us);
        emit_slot(s, SV_POOL_EV_RESTART_SCHEDULED, delay, 0);
}

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        pslot *s = ud;
        sv_pool *p = s->pool;

        if (p->user_exit)
                p->user_exit(w, info, p->user_ud);
        s->w = NULL;
        p->nrunning--;
        s->frozen_cg = false;
        s->has_last = true;
        s->last = *info;
        s->last.leaks = NULL;
        s->last.reason = NULL;
        if (s->remove_asked)
                set_state(s, SV_SLOT_REMOVED);
        else if (s->restart_asked && !p->shutting)
                (void) start_again(s, true);
        else
                schedule(s, info);
        check_done(p);
}

/* ---- Pause ---- */

static int freeze(pslot *s) {
        if (s->w->cg && sv__cg_freeze(s->w->cg, true) == 0) {
                s->frozen_cg = true;
                return 0;
        }
        /* No cgroup, or one without cgroup.freeze (Linux < 5.2). */
        return sv_worker_kill_tree(s->w, SIGSTOP);
}

static void thaw(pslot *s) {
        if (s->frozen_cg && s->w->cg)
                (void) sv__cg_freeze(s->w->cg, false);
        else
                (void) sv_worker_kill_tree(s->w, SIGCONT);
        s->frozen_cg = false;
}

static void on_event_cb(sv_worker *w, const sv_event *ev, void *ud) {
        pslot *s = ud;
        sv_pool_event pev;

        if (ev->type == SV_EVENT_SPAWN)
                s->w = w;
        if (ev->type == SV_EVENT_STEP) {
                /* The step's signal was sent: let a paused copy act on it. */
                if (s->state == SV_SLOT_PAUSED)
                        thaw(s);
                set_state(s, SV_SLOT_STOPPING);
        }
        memset(&pev, 0, sizeof(pev));
        pev.type = SV_POOL_EV_WORKER;
        pev.index = s->index;
        pev.worker = w;
        pev.worker_event = ev;
        pev.restarts = s->restarts;
        emit(s->pool, &pev);
}

static void on_output_cb(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        pslot *s = ud;

        s->pool->user_output(w, fd, buf, len, s->pool->user_ud);
}

/* ---- Making and freeing ---- */

static char **strv_dup(const char *const *v) {
        size_t n = 0, i;
        char **out;

        while (v[n])
                n++;
        out = calloc(n + 1, sizeof(*out));
        if (!out)
                return NULL;
        for (i = 0; i < n; i++) {
                out[i] = strdup(v[i]);
                if (!out[i])
                        goto fail;
        }
        return out;
fail:
        while (i > 0)
                free(out[--i]);
        free(out);
        return NULL;
}

static void strv_free(char **v) {
        size_t i;

        for (i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* Makes room for slots up to n (never shrinks: shrunk slots stay readable). */
static int slots_grow(sv_pool *p, unsigned n) {
        unsigned want = (n + CHUNK - 1) / CHUNK, i;
        pslot **v;

        if (n <= p->nslots)
                return 0;
        if (want > p->nchunks) {
                v = realloc(p->chunks, want * sizeof(*v));
                if (!v)
                        return UV_ENOMEM;
                p->chunks = v;
                while (p->nchunks < want) {
                        v[p->nchunks] = calloc(CHUNK, sizeof(**v));
                        if (!v[p->nchunks])
                                return UV_ENOMEM;
                        p->nchunks++;
                }
        }
        for (i = p->nslots; i < n; i++) {
                pslot *s = slot_at(p, i);
                s->pool = p;
                s->index = i;
                s->state = SV_SLOT_EXITED;
        }
        p->nslots = n;
        return 0;
}

static int copy_template(sv_pool *p, const sv_spawn_opts *sp) {
        p->tpl = *sp;
        p->argv = strv_dup(sp->argv);
        if (!p->argv)
                return UV_ENOMEM;
        p->tpl.argv = (const char *const *) p->argv;
        if (sp->env) {
                p->env = strv_dup(sp->env);
                if (!p->env)
                        return UV_ENOMEM;
                p->tpl.env = (const char *const *) p->env;
        }
        if (sp->cwd) {
                p->cwd = strdup(sp->cwd);
                if (!p->cwd)
                        return UV_ENOMEM;
                p->tpl.cwd = p->cwd;
        }
        if (sp->ladder) {
                p->ladder = *sp->ladder;
                p->tpl.ladder = &p->ladder;
        }
        p->user_exit = sp->on_exit;
        p->user_output = sp->on_output;
        p->user_ud = sp->userdata;
        return 0;
}

static void restart_defaults(sv_restart_opts *r) {
        if (!r->delay_min_ms)
                r->delay_min_ms = SV_RESTART_DELAY_MIN_MS;
        if (!r->delay_max_ms)
                r->delay_max_ms = SV_RESTART_DELAY_MAX_MS;
        if (r->delay_max_ms < r->delay_min_ms)
                r->delay_max_ms = r->delay_min_ms;
        if (!r->healthy_ms)
                r->healthy_ms = SV_RESTART_HEALTHY_MS;
}

int sv_pool_new(sv_supervisor *sv, const sv_pool_opts *o, sv_pool **out) {
        sv_pool *p;
        int e = UV_ENOMEM;

        if (!sv || !o || !o->spawn || !o->spawn->argv || !o->spawn->argv[0] ||
            (unsigned) o->restart.policy >= SV_RESTART_COUNT)
                return UV_EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return UV_ENOMEM;
        p->sv = sv;
        p->ro = o->restart;
        restart_defaults(&p->ro);
        p->on_event = o->on_event;
        p->ud = o->userdata;
        p->rnd = (uint32_t) (uv_hrtime() ^ (uintptr_t) p) | 1u;
        p->timer = malloc(sizeof(*p->timer));
        if (!p->timer)
                goto fail;
        uv_timer_init(sv_supervisor_loop(sv), p->timer);
        p->timer->data = p;
        if ((e = copy_template(p, o->spawn)) < 0)
                goto fail;
        if (o->index_env && !(p->index_env = strdup(o->index_env))) {
                e = UV_ENOMEM;
                goto fail;
        }
        if ((e = slots_grow(p, o->copies)) < 0)
                goto fail;
        p->size = o->copies;
        *out = p;
        return 0;
fail:
        sv_pool_free(p);
        return e;
}

static void free_timer(uv_handle_t *h) {
        free(h);
}

/* A copy still running when the pool goes reports to the caller alone. */
static void detach(sv_pool *p, sv_worker *w) {
        w->on_event = NULL;
        w->on_exit = p->user_exit;
        w->on_output = p->user_output;
        w->userdata = p->user_ud;
}

void sv_pool_free(sv_pool *p) {
        unsigned i;

        if (!p)
                return;
        for (i = 0; i < p->nslots; i++) {
                if (slot_at(p, i)->w)
                        detach(p, slot_at(p, i)->w);
                sv__crashes_clear(&slot_at(p, i)->crashes);
        }
        for (i = 0; i < p->nchunks; i++)
                free(p->chunks[i]);
        free(p->chunks);
        if (p->timer) {
                p->timer->data = NULL;
                uv_close((uv_handle_t *) p->timer, free_timer);
        }
        strv_free(p->argv);
        strv_free(p->env);
        free(p->cwd);
        free(p->index_env);
        free(p);
}

/* ---- Reading ---- */

sv_supervisor *sv_pool_supervisor(const sv_pool *p) {
        return p->sv;
}

unsigned sv_pool_size(const sv_pool *p) {
        return p->size;
}

unsigned sv_pool_slots(const sv_pool *p) {
        return p->nslots;
}

bool sv_pool_done(const sv_pool *p) {
        return p->done;
}

int sv_pool_slot(const sv_pool *p, unsigned index, sv_slot_info *out) {
        const pslot *s;

        if (index >= p->nslots)
                return UV_EINVAL;
        s = slot_at(p, index);
        memset(out, 0, sizeof(*out));
        out->index = index;
        out->pid = s->w ? sv_worker_pid(s->w) : 0;
        out->state = s->state;
        out->started_ms = s->started_us / 1000;
        out->restarts = s->restarts;
        out->has_last = s->has_last;
        if (s->has_last)
                out->last = s->last;
        if (s->state == SV_SLOT_BACKOFF)
                out->next_ms = s->next_us / 1000;
        return 0;
}

sv_worker *sv_pool_worker(sv_pool *p, unsigned index) {
        return index < p->nslots ? slot_at(p, index)->w : NULL;
}

/* O(1): a copy's userdata is its slot (an exit callback asks per exit). */
int sv_pool_index_of(const sv_pool *p, const sv_worker *w) {
        const pslot *s;

        if (!w || w->on_exit != on_exit_cb)
                return -1;
        s = w->userdata;
        return s->pool == p && s->w == w ? (int) s->index : -1;
}

/* ---- Acting on one slot ---- */

/* The slot at index, if it is one of the N. */
static pslot *slot_of(sv_pool *p, unsigned index) {
        return index < p->size ? slot_at(p, index) : NULL;
}

int sv_pool_start(sv_pool *p) {
        unsigned i;
        int e;

        if (p->started)
                return UV_EALREADY;
        p->started = true;
        /* A callback of an earlier copy's may have shut the pool down. */
        for (i = 0; i < p->size && !p->shutting; i++) {
                e = spawn_slot(slot_at(p, i));
                if (e < 0)
                        return e;
        }
        check_done(p);
        return 0;
}

int sv_pool_signal(sv_pool *p, unsigned index, int sig, bool tree) {
        pslot *s = index < p->nslots ? slot_at(p, index) : NULL;

        if (!s || sig < 0 || sig >= 65)
                return UV_EINVAL;
        if (!s->w)
                return UV_ESRCH;
        return tree ? sv_worker_kill_tree(s->w, sig) : sv_worker_kill(s->w, sig);
}

/* Starts the ladder of the slot's copy; a paused one is thawed by the
 * STEP event it sends. */
static int stop_copy(pslot *s, const sv_stop_opts *o) {
        int e = sv_worker_stop_with(s->w, o);

        if (e == 0 && s->w && s->state != SV_SLOT_STOPPING)
                set_state(s, SV_SLOT_STOPPING);
        return e;
}

int sv_pool_stop_with(sv_pool *p, unsigned index, const sv_stop_opts *o) {
        pslot *s = slot_of(p, index);

        if (!s)
                return UV_EINVAL;
        s->restart_asked = false;
        if (s->w) {
                s->stop_asked = true;
                return stop_copy(s, o);
        }
        if (s->state != SV_SLOT_BACKOFF)
                return UV_ESRCH;
        set_state(s, SV_SLOT_EXITED);
        arm_timer(p);
        check_done(p);
        return 0;
}

int sv_pool_stop(sv_pool *p, unsigned index) {
        return sv_pool_stop_with(p, index, NULL);
}

int sv_pool_restart(sv_pool *p, unsigned index) {
        static const sv_stop_opts restart_stop = { 0, SV_CAUSE_STOPPED, "restart" };
        pslot *s = slot_of(p, index);
        int e;

        if (!s)
                return UV_EINVAL;
        if (p->shutting || !p->started)
                return UV_EBUSY;
        if (s->w) {
                s->stop_asked = false;
                s->restart_asked = true;
                return stop_copy(s, &restart_stop);
        }
        e = start_again(s, true);
        arm_timer(p);
        check_done(p);
        return e;
}

int sv_pool_pause(sv_pool *p, unsigned index) {
        pslot *s = slot_of(p, index);
        int e;

        if (!s)
                return UV_EINVAL;
        if (!s->w)
                return UV_ESRCH;
        if (s->state != SV_SLOT_RUNNING || sv_worker_state_of(s->w) != SV_WORKER_RUNNING)
                return UV_EBUSY;
        e = freeze(s);
        if (e < 0)
                return e;
        set_state(s, SV_SLOT_PAUSED);
        emit_slot(s, SV_POOL_EV_PAUSED, 0, 0);
        return 0;
}

int sv_pool_resume(sv_pool *p, unsigned index) {
        pslot *s = slot_of(p, index);

        if (!s)
                return UV_EINVAL;
        if (!s->w)
                return UV_ESRCH;
        if (s->state != SV_SLOT_PAUSED)
                return UV_EBUSY;
        thaw(s);
        set_state(s, SV_SLOT_RUNNING);
        emit_slot(s, SV_POOL_EV_RESUMED, 0, 0);
        return 0;
}

/* ---- The whole pool ---- */

/* A slot that comes back with a grow starts a new life. */
static int grow_slot(pslot *s) {
        int e;

        s->remove_asked = false;
        if (s->w) {
                /* Still on its way out from a shrink: start again after. */
                s->restart_asked = true;
                return 0;
        }
        s->restarts = s->streak = 0;
        s->has_last = false;
        sv__crashes_clear(&s->crashes);
        e = spawn_slot(s);
        if (e == 0)
                return 0;
        /* As a copy that failed at once: the policy decides. */
        emit_slot(s, SV_POOL_EV_SPAWN_FAILED, 0, e);
        schedule(s, NULL);
        return e;
}

int sv_pool_scale(sv_pool *p, unsigned n) {
        static const sv_stop_opts scale_stop = { 0, SV_CAUSE_STOPPED, "scale" };
        sv_pool_event ev;
        unsigned i, old = p->size;
        int e, first = 0;

        if (p->shutting)
                return UV_EBUSY;
        e = slots_grow(p, n);
        if (e < 0)
                return e;
        p->size = n;
        for (i = old; p->started && i < n; i++) {
                e = grow_slot(slot_at(p, i));
                if (e < 0 && !first)
                        first = e;
        }
        for (i = n; i < old; i++) {
                pslot *s = slot_at(p, i);
                s->remove_asked = true;
                s->restart_asked = false;
                if (s->w)
                        (void) stop_copy(s, &scale_stop);
                else
                        set_state(s, SV_SLOT_REMOVED);
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_POOL_EV_SCALED;
        ev.size = n;
        emit(p, &ev);
        arm_timer(p);
        check_done(p);
        return first;
}

int sv_pool_shutdown_with(sv_pool *p, const sv_stop_opts *o) {
        unsigned i;
        int n = 0;

        p->shutting = true;
        for (i = 0; i < p->nslots; i++) {
                pslot *s = slot_at(p, i);
                s->restart_asked = false;
                if (s->w) {
                        s->stop_asked = true;
                        if (stop_copy(s, o) == 0)
                                n++;
                } else if (s->state == SV_SLOT_BACKOFF) {
                        set_state(s, SV_SLOT_EXITED);
                }
        }
        arm_timer(p);
        check_done(p);
        return n;
}

int sv_pool_shutdown(sv_pool *p) {
        return sv_pool_shutdown_with(p, NULL);
}
