/* internal.h - sv__ declarations shared inside the library. */
#ifndef SV_INTERNAL_H
#define SV_INTERNAL_H

#include "platform/platform.h"
#include "supervise/sv.h"

#define SV_CG_PATH_MAX 512

typedef enum sv__event {
        SV_EV_STOP,          /* sv_worker_stop() or a forwarded signal */
        SV_EV_TIMEOUT,       /* the worker's deadline passed */
        SV_EV_IDLE,          /* no output for idle_timeout_ms */
        SV_EV_GRACE_EXPIRED, /* the current ladder step's grace ran out */
        SV_EV_REAPED,        /* the leader's exit status is in w->reaped */
        SV_EV_TREE_POLL,     /* time to look again at a tree outliving its leader */
        SV_EV_TREE_EMPTY,    /* cgroup.events changed: the tree may be empty */
        SV_EV_PIPE_EOF,      /* an output pipe reached EOF (and is closed) */
        SV_EV_COUNT
} sv__event;

/* The machine's states (worker.c's table). sv_worker_state is what callers
 * see of them: HELD is RUNNING, the three after the reap are EXITED. */
typedef enum sv__wstate {
        SV__W_RUNNING,        /* pid valid; no stop in progress */
        SV__W_HELD,           /* timed out; the caller holds the ladder back */
        SV__W_STOPPING,       /* on the ladder: step, last_signal; leader not reaped */
        SV__W_TREE_DRAINING,  /* leader reaped; its tree killed and polled until gone */
        SV__W_PIPES_DRAINING, /* tree gone; waiting for the output pipes' EOF */
        SV__W_CLOSING,        /* on_exit has run; handles closing, then freed */
        SV__W_STATE_COUNT
} sv__wstate;

struct sv_worker {
        sv_supervisor *sv;
        sv_worker *prev, *next; /* live list, spawn order */
        unsigned id;
        sv__wstate ws;         /* written by sv__worker_step's actions only */
        sv_worker_state state; /* the public view of ws, written with it */
        pid_t pid;
        int pidfd; /* -1 without pidfds; closed at reap */
        uint64_t deadline_us; /* the timeout, while queued in sv->timeouts */
        unsigned heap_pos;    /* 1 + index in sv->timeouts, 0 if not queued */
        int nsfd;  /* pidns: the init's report of the worker's end; closed at reap; else -1 */

        sv_ladder ladder;
        uint64_t timeout_ms;
        uint64_t idle_timeout_ms;
        sv_leaks leaks;
        sv_exit_cb on_exit;
        sv_output_cb on_output;
        sv_event_cb on_event;
        void *userdata;

        uint64_t start_us;
        int step;       /* ladder step in progress, -1 if none */
        int last_step;  /* the step whose signal was sent last */
        int last_signal; /* and that signal */
        sv_cause cause; /* our stop: STOPPED or TIMEOUT; EXITED: none (yet) */
        bool idle;      /* the timeout that fired was the idle one */
        uint64_t sent_sigs; /* bit n: we sent signal n to the tree */
        bool in_timeout_cb; /* inside the SV_EVENT_TIMEOUT callback: hold allowed */
        bool hold_asked;    /* sv_worker_hold() was called in it */
        bool reaped_ok;     /* w->reaped is filled (reap.c reads it) */
        bool left_running; /* the tree outlived it by the leaks policy */
        bool tree_multi; /* the tree may have had more than its leader */
        char stop_reason[32]; /* the first stop's word ("timeout", "stop", ...); "" if none */
        sv__reaped reaped;
        uint64_t end_us;
        unsigned leaked;
        sv_leak *leak_list;

        char marker[64]; /* SUPERVISE_TREE=<supervisor pid>.<id> */
        sv__cg *cg;      /* NULL without a cgroup; from the supervisor's pool */

        bool idle_active;
        bool pipe_open[2];
        bool timer_active, cgev_active;
        bool cgev_watching; /* cgev started: an empty tree is an event */
        int handles; /* open libuv handles; freed when it reaches 0 */

        /* The handles stay last: sv_spawn zeroes only what is above, since
         * a handle is set up by its uv_*_init when (if) it is first used. */
        uv_timer_t timer;     /* timeout, ladder grace, tree polling */
        /* The handles most workers never use (output pipes, idle timer,
         * cgroup watch), out of line: made on first need and kept with
         * the worker's memory when it is reused. Inline they were 930 of
         * a worker's 1,400 bytes. */
        struct sv__worker_io *io;
};

typedef struct sv__worker_io {
        uv_timer_t idle;      /* idle timeout, restarted by output */
        uv_fs_event_t cgev;   /* cgroup.events changed */
        uv_pipe_t pipe[2];    /* stdout, stderr */
} sv__worker_io;

/* Worker cgroups made ahead on a thread (cgmaker.c). */
#define SV_CG_AHEAD 32
typedef struct sv__cgmaker {
        uv_thread_t thread;
        uv_mutex_t mu;       /* guards ready, nready, stop, failed, sv->cg_made */
        uv_cond_t cv;
        sv__cg *ready[SV_CG_AHEAD];
        unsigned nready;
        unsigned misses;     /* spawns that found the pool dry, before the start */
        bool started, stop, failed;
} sv__cgmaker;

typedef struct sv__pidmap {
        sv_worker **slots;
        size_t cap, count;
} sv__pidmap;

struct sv_supervisor {
        uv_loop_t *loop;
        uv_loop_t own_loop;
        bool owns_loop;
        sv_ladder ladder;
        unsigned flags;
        sv_log_cb log;
        void *log_userdata;

        sv_mechanism mech;
        char token[48];         /* "<pid>-<random>": our name (sv__plat_token) */
        char marker_prefix[64]; /* "SUPERVISE_TREE=<token>." */
        size_t marker_len;
        char cgroot[SV_CG_PATH_MAX];
        int cglock;        /* flock'd fd of cgroot: our proof of life, or -1 */
        sv__cg **cg_free;  /* empty cgroups ready for the next worker */
        unsigned cg_nfree, cg_cap, cg_made;
        sv__cgmaker maker;
        const char **envbuf; /* the envp being built for a spawn */
        size_t envcap;
        char **env_seen;     /* environ when env_count was taken */
        size_t env_count;
        sv__cg **cg_busy;  /* cgroups of leaks we left running (--leaks report) */
        unsigned cg_nbusy;
        bool pidfds;
        int devnull;
        sv__guardian guardian;
        uv_poll_t *guard_watch; /* the guardian's pipe, or NULL (guard.c) */
        unsigned guard_restarts;
        bool ns_init;           /* we are PID 1 of our PID namespace */
        bool init_reaper;       /* init_chld and init_check are initialised */
        uv_signal_t init_chld;  /* as PID 1: reap each orphan as it exits */
        uv_check_t init_check;

        sv_worker *head, *tail; /* live workers (not yet finished) */
        sv_worker *spare;       /* freed workers kept for reuse */
        unsigned nspare;
        sv_worker *grave;       /* freed while an epoll batch still runs */
        bool in_batch;
        unsigned in_finish; /* on_exit runs (worker.c): no reap may be dispatched */
        /* What reap.c delivers to, so that it never calls worker.c by name:
         * sv__worker_reaped, sv__worker_timeout_fired, sv__worker_bury. */
        struct {
                void (*reaped)(sv_worker *w, const sv__reaped *r);
                void (*timeout)(sv_worker *w);
                void (*bury)(sv_worker *w);
        } hooks;
        unsigned live;
        unsigned unreaped; /* workers whose leader we have not reaped yet */
        sv__pidmap bypid;  /* exactly those unreaped workers */
        unsigned next_id;
        unsigned closing; /* handles of finished workers still closing */

        int epfd;             /* our epoll set of worker pidfds, or -1 */
        /* Every worker's timeout, in one min-heap on deadline_us, behind
         * one timer fd in the epoll set: a timer fd per worker was an fd
         * per worker more. tfd_at_us is what the fd is set to (0: off). */
        int tfd;
        uint64_t tfd_at_us;
        sv_worker **timeouts;
        unsigned ntimeouts, timeouts_cap;
        uv_poll_t epwatch;    /* libuv's watch on epfd (with pidfds) */
        uv_signal_t sigchld;  /* the fallback's reaper; with pidfds, arms the sweep */
        uv_timer_t sweep_timer;
        pid_t *left;           /* procwalk: leaked processes left running */
        size_t nleft, leftcap;
        char readbuf[65536];
};

void sv__log_(sv_supervisor *sv, const char *fmt, ...);

/* Logging is off unless the caller gave a log callback: test that before
 * the arguments are evaluated, on the spawn path above all. */
#define sv__log(sv, ...)                                \
        do {                                            \
                if ((sv)->log)                          \
                        sv__log_((sv), __VA_ARGS__);    \
        } while (0)

/* worker.c */
void sv__worker_step(sv_worker *w, sv__event ev);
void sv__worker_reaped(sv_worker *w, const sv__reaped *r);
void sv__worker_timeout_fired(sv_worker *w);
sv_worker *sv__worker_by_pid(sv_supervisor *sv, pid_t pid);
const char *sv__worker_table_name(sv__wstate s, sv__event e); /* tests */
/* Fills ev's pid and time and calls the caller's on_event, if any. */
void sv__worker_emit(sv_worker *w, sv_event *ev);

/* wio.c */
int sv__worker_need_io(sv_worker *w); /* w->io, made on first need */
/* (Re)starts w->timer to fire in `ms` from now: the timeout, a grace, a poll. */
void sv__worker_arm(sv_worker *w, uint64_t ms);
void sv__worker_close_handle(uv_handle_t *h);
void sv__worker_close(sv_worker *w); /* frees it, now or at the last close */
sv_worker *sv__worker_alloc(sv_supervisor *sv); /* from the spare list */
void sv__worker_on_idle(uv_timer_t *t);
void sv__worker_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
void sv__worker_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* tree.c */
int sv__tree_signal(sv_worker *w, int sig); /* the leader's result */
int sv__tree_alive(sv_worker *w);  /* 1: some process of the tree is left */
void sv__tree_collect_leaks(sv_worker *w); /* fills w->leaked, w->leak_list */
void sv__tree_pidns_end(sv_worker *w); /* a pidns init's report of the worker */
void sv__tree_watch(sv_worker *w); /* cgroup.events, for a tree outliving its leader */
uint64_t sv__tree_poll_ms(const sv_worker *w); /* how soon to look again */

/* guard.c */
void sv__guard_start(sv_supervisor *sv);
int sv__guard_init_reaper(sv_supervisor *sv);
void sv__guard_close(sv_supervisor *sv); /* adds to sv->closing */

/* cgpool.c */
int sv__cg_get(sv_supervisor *sv, sv__cg **out);
void sv__cg_put(sv_supervisor *sv, sv__cg *cg);
void sv__cg_retire(sv_supervisor *sv, sv__cg *cg);

/* cgmaker.c */
int sv__cgmaker_get(sv_supervisor *sv, sv__cg **out);
void sv__cgmaker_stop(sv_supervisor *sv);

/* pidmap.c */
int sv__pidmap_reserve(sv__pidmap *m);
int sv__pidmap_put(sv__pidmap *m, sv_worker *w);
sv_worker *sv__pidmap_get(const sv__pidmap *m, pid_t pid);
void sv__pidmap_del(sv__pidmap *m, pid_t pid);
void sv__pidmap_release(sv__pidmap *m);

/* reap.c */
int sv__reap_init(sv_supervisor *sv);
int sv__reap_watch(sv_supervisor *sv, sv_worker *w);
int sv__reap_watch_timeout(sv_supervisor *sv, sv_worker *w);
void sv__reap_cancel_timeout(sv_supervisor *sv, sv_worker *w);
void sv__worker_bury(sv_worker *w);
uv_handle_t *sv__reap_handle(sv_supervisor *sv);
int sv__reap_close(sv_supervisor *sv, uv_close_cb cb); /* returns how many close callbacks follow */
/* Reaps orphans now; without pidfds, worker exits in the next loop
 * iteration. Safe from inside a worker's finish. */
void sv__reap_sweep(sv_supervisor *sv);
/* The same, worker exits included at once: from the loop or free() only. */
void sv__reap_sweep_all(sv_supervisor *sv);
void sv__reap_sweep_soon(sv_supervisor *sv);

/* orphans.c */
/* Reaps every exited child that is neither a worker nor the guardian;
 * returns how many of the rest are alive and carry `marker` (NULL: all).
 * 0 without a subreaper. */
int sv__orphans_reap(sv_supervisor *sv, const char *marker);
/* As PID 1, without reading /proc: reaps exited orphans as long as the
 * first exited child is one. True when a worker or the guardian stands
 * first (look again later), false when none is left. */
bool sv__orphans_reap_exited(sv_supervisor *sv);
/* The children to wait for at free (sv__plat_reap_wait): all but the
 * guardian and the leaks left running. Returns the count and a malloc'd
 * array (NULL when 0). */
int sv__orphans_list(sv_supervisor *sv, pid_t **out);
/* Notes the tree of a worker whose leaks we leave running (procwalk). */
void sv__note_left_running(sv_worker *w);

#endif
