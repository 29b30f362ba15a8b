/* sv_pool.h - a pool of N numbered slots (0..N-1), each running a copy of
 * one command under one sv_supervisor, with a restart policy: exponential
 * backoff with jitter and a cap, and a crash-loop give-up. A slot can be
 * stopped, restarted, paused and resumed, or signalled on its own, and the
 * pool grown or shrunk while it runs. The CLI's main job (`supervise -n N`)
 * and its control socket are clients of it.
 *
 * Threading, errors and callbacks are those of sv.h: the loop's thread only;
 * 0 or a negative libuv code (UV_EINVAL: a bad index or option, UV_ESRCH: no
 * copy runs in that slot, UV_EBUSY: not in a state that allows it).
 *
 * Restarts. A copy that ends is started again when the policy says so:
 *   no          never;
 *   on-failure  when it failed: a non-zero exit, a signal we did not send, a
 *               timeout, or leaks under SV_LEAKS_FAIL;
 *   always      whatever the exit.
 * A copy we ended on purpose (sv_pool_stop, sv_pool_shutdown, a shrink, or a
 * stop ladder started on the worker itself through sv_worker_stop*) is never
 * restarted by the policy; one killed by a signal sent with sv_pool_signal
 * (a parent killing a hung copy) failed, and is. sv_pool_restart() restarts at once, whatever the policy; it
 * counts as a restart but not as a crash (no backoff, no give-up).
 *
 * Backoff: the n-th restart in a row waits d = min(delay_max, delay_min *
 * 2^(n-1)) less a random part of up to a quarter of d, so delays grow until
 * the cap and never exceed it. A copy that ran at least healthy_ms (default
 * 10 s) before it ended resets the backoff to delay_min.
 *
 * Give-up: with max_restarts N > 0, a slot whose copy fails again after N
 * restarts within the last within_ms (0: ever) is not restarted: the slot
 * becomes SV_SLOT_FAILED (SV_POOL_EV_GAVE_UP), keeping the last exit.
 *
 * Pause: a copy with a cgroup is frozen through cgroup.freeze; otherwise
 * its tree (leader and descendants) is sent SIGSTOP, and SIGCONT on resume.
 * A paused copy's timeout keeps running. When a stop ladder starts on a
 * paused copy (ours, or its timeout), the copy is resumed right after the
 * first signal, so that it can act on it. */
#ifndef SUPERVISE_SV_POOL_H
#define SUPERVISE_SV_POOL_H

#include <supervise/sv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sv_pool sv_pool; /* opaque */

typedef enum sv_restart_policy {
        SV_RESTART_NO = 0,
        SV_RESTART_ON_FAILURE,
        SV_RESTART_ALWAYS,
        SV_RESTART_COUNT
} sv_restart_policy;

#define SV_RESTART_DELAY_MIN_MS 100
#define SV_RESTART_DELAY_MAX_MS 30000
#define SV_RESTART_HEALTHY_MS 10000

typedef struct sv_restart_opts {
        sv_restart_policy policy;
        uint64_t delay_min_ms; /* 0: SV_RESTART_DELAY_MIN_MS */
        uint64_t delay_max_ms; /* 0: SV_RESTART_DELAY_MAX_MS (or delay_min_ms if larger) */
        unsigned max_restarts; /* crash-loop give-up; 0: never give up */
        uint64_t within_ms;    /* the window of max_restarts; 0: the pool's life */
        uint64_t healthy_ms;   /* a copy that ran this long resets the backoff; 0: 10 s */
} sv_restart_opts;

/* "no", "on-failure" or "always". Returns 0 and writes *out, or UV_EINVAL. */
int sv_restart_policy_parse(const char *s, sv_restart_policy *out);
/* "no", "on-failure", "always". */
const char *sv_restart_policy_name(sv_restart_policy p);

/* "100ms..30s" (min..max), or one duration ("2s": min 2 s, max the default
 * cap, or 2 s if larger). Durations as sv_duration_parse; min must be > 0
 * and <= max, neither infinite. Writes both only on success; UV_EINVAL. */
int sv_restart_delay_parse(const char *s, uint64_t *out_min_ms, uint64_t *out_max_ms);

typedef enum sv_slot_state {
        SV_SLOT_RUNNING,  /* a copy runs */
        SV_SLOT_PAUSED,   /* a copy runs, frozen or SIGSTOPped */
        SV_SLOT_STOPPING, /* its copy is on the stop ladder */
        SV_SLOT_BACKOFF,  /* waiting to restart */
        SV_SLOT_EXITED,   /* ended and will not restart (or never started) */
        SV_SLOT_FAILED,   /* gave up: too many restarts within the window */
        SV_SLOT_REMOVED,  /* scaled away */
        SV_SLOT_STATE_COUNT
} sv_slot_state;

/* "running", "paused", "stopping", "backoff", "exited", "failed", "removed". */
const char *sv_slot_state_name(sv_slot_state s);

typedef struct sv_slot_info {
        unsigned index;
        pid_t pid;           /* the current copy's leader; 0 when none */
        sv_slot_state state;
        uint64_t started_ms; /* uv_hrtime()/1e6 when the current (or last) copy started */
        unsigned restarts;   /* copies started after the first */
        bool has_last;       /* `last` holds the previous copy's exit */
        sv_exit_info last;   /* its leaks/reason pointers are NULL */
        uint64_t next_ms;    /* BACKOFF: uv_hrtime()/1e6 when it restarts */
} sv_slot_info;

typedef enum sv_pool_event_type {
        SV_POOL_EV_WORKER,            /* an sv_event of the slot's current copy */
        SV_POOL_EV_RESTART_SCHEDULED, /* delay_ms: the backoff before the restart */
        SV_POOL_EV_RESTARTED,         /* a new copy runs (after its WORKER SPAWN) */
        SV_POOL_EV_SPAWN_FAILED,      /* error: a restart's spawn failed (counts as a failure) */
        SV_POOL_EV_GAVE_UP,           /* the slot is FAILED */
        SV_POOL_EV_PAUSED,
        SV_POOL_EV_RESUMED,
        SV_POOL_EV_SCALED,            /* size: the new N */
        SV_POOL_EV_DONE,              /* every slot ended and none will restart
                                       * (also after a scale to 0); once per
                                       * time it becomes true */
        SV_POOL_EV_COUNT
} sv_pool_event_type;

typedef struct sv_pool_event {
        sv_pool_event_type type;
        unsigned index;              /* the slot (not for SCALED, DONE) */
        sv_worker *worker;           /* the slot's copy, if it has one */
        const sv_event *worker_event; /* WORKER only */
        uint64_t delay_ms;           /* RESTART_SCHEDULED */
        unsigned restarts;           /* the slot's count so far; the events of a
                                      * copy carry its own number (0: the first) */
        unsigned size;               /* SCALED */
        int error;                   /* SPAWN_FAILED */
        bool manual;                 /* RESTARTED: by sv_pool_restart, not the policy */
} sv_pool_event;

/* `ev` and what it points to are valid only during the call. The callback
 * may call any sv_pool_* function, sv_pool_free excepted. */
typedef void (*sv_pool_event_cb)(sv_pool *p, const sv_pool_event *ev, void *userdata);

typedef struct sv_pool_opts {
        const sv_spawn_opts *spawn; /* template for every copy; copied (argv and
                                     * env deep). Its on_event is the pool's; its
                                     * on_exit, on_output and userdata are kept */
        unsigned copies;            /* the first N; 0 is allowed (start empty) */
        sv_restart_opts restart;
        const char *index_env;      /* e.g. "SUPERVISE_WORKER": each copy gets
                                     * NAME=<slot index> in its env; NULL: none */
        sv_pool_event_cb on_event;  /* may be NULL */
        void *userdata;
} sv_pool_opts;

int sv_pool_new(sv_supervisor *sv, const sv_pool_opts *o, sv_pool **out);

/* Starts the first `copies` slots. On a spawn error, stops there and
 * returns it: the slots already started run on (stop them with
 * sv_pool_shutdown), the rest are EXITED without an exit. */
int sv_pool_start(sv_pool *p);

sv_supervisor *sv_pool_supervisor(const sv_pool *p);
unsigned sv_pool_size(const sv_pool *p);  /* the current N */
/* Slots the pool knows of: N plus shrunk ones still stopping or REMOVED;
 * sv_pool_slot() accepts an index below it. */
unsigned sv_pool_slots(const sv_pool *p);
int sv_pool_slot(const sv_pool *p, unsigned index, sv_slot_info *out);
sv_worker *sv_pool_worker(sv_pool *p, unsigned index); /* NULL when no copy runs */
/* The slot of a worker of this pool, or -1. */
int sv_pool_index_of(const sv_pool *p, const sv_worker *w);
/* True once DONE was emitted (and nothing was started since). */
bool sv_pool_done(const sv_pool *p);

/* `sig` to the slot's leader, or its whole tree. UV_ESRCH: no copy. */
int sv_pool_signal(sv_pool *p, unsigned index, int sig, bool tree);
/* The ladder (o: NULL for the defaults); the slot is EXITED after, not
 * restarted. A slot in BACKOFF just becomes EXITED. */
int sv_pool_stop(sv_pool *p, unsigned index);
int sv_pool_stop_with(sv_pool *p, unsigned index, const sv_stop_opts *o);
/* Stops the copy through the ladder and starts a new one as soon as it
 * has ended; a slot in BACKOFF, EXITED or FAILED starts at once. */
int sv_pool_restart(sv_pool *p, unsigned index);
int sv_pool_pause(sv_pool *p, unsigned index);  /* UV_EBUSY unless RUNNING */
int sv_pool_resume(sv_pool *p, unsigned index); /* UV_EBUSY unless PAUSED */
/* Grow: slots N..n-1 start now. Shrink: slots n..N-1 are stopped through
 * the ladder and become REMOVED. */
int sv_pool_scale(sv_pool *p, unsigned n);
/* Stops every copy (the ladder; o as for sv_worker_stop_with) and cancels
 * every restart. Returns how many copies it started stopping. */
int sv_pool_shutdown(sv_pool *p);
int sv_pool_shutdown_with(sv_pool *p, const sv_stop_opts *o);
/* Frees the pool (not its workers, which the supervisor owns; their exits
 * are no longer reported to it). Accepts NULL. */
void sv_pool_free(sv_pool *p);

#ifdef __cplusplus
}
#endif
#endif
