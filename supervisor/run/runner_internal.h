/* runner_internal.h - what run/runner.c and run/diag.c share: the runner's
 * job and slot state. Nothing here is public; names are sv__. */
#ifndef SV_RUNNER_INTERNAL_H
#define SV_RUNNER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <supervise/sv.h>
#include <supervise/sv_run.h>

#define SV__RUN_DIAG_LIMIT_DEFAULT_MS 30000u

struct sv__slot;

/* A job's state across its attempts. The slot is held from the first
 * attempt's spawn until the last attempt (and its --on-timeout command) is
 * over, so retries and diagnostics count against -j. */
typedef struct sv__rjob {
        sv_runner *rn;
        const sv_job *def;
        size_t index;
        unsigned attempt;  /* current or last attempt, 1-based; 0: never started */
        struct sv__slot *slot; /* NULL unless running */
        sv_worker *w;      /* the running attempt; NULL once it has exited */
        pid_t pid;
        sv_outbuf *out;
        int log_fd;
        bool hung;         /* the library's TIMEOUT event came for this attempt */
        bool hung_idle;    /* ... and it was the idle one */
        bool stopping;     /* the ladder's first step was sent */
        unsigned spawn_tries; /* backoff retries of a spawn that failed for a passing reason */
        const char *stop_reason; /* the SIGNAL/STEP events' word; NULL: the library's */
        /* --on-timeout: while `helper` runs, the attempt's exit is held back
         * (exit_pending), so its diagnostics come before its EXIT event. */
        sv_worker *helper;
        char *helper_out;
        size_t helper_len;
        uint64_t helper_dropped;
        bool exit_pending;
        sv_exit_info exit;
        sv_leak *leaks;
        char *work;      /* SV_RUN_ISOLATE_CWD: this attempt's directory (isolate.c) */
        char *diag;      /* this attempt's diagnostics, for the caller and the log */
        size_t diag_len; /* bytes of diag: job output in it may hold NULs */
        /* sched.c: the jobs that must end before this one starts; the first
         * nsetup are setups of fixtures it requires (one that did not pass
         * means it is not run). */
        size_t *pre;
        size_t npre;
        size_t nsetup;
        unsigned cpus;   /* counted against -j while it holds a slot */
        bool finished;   /* it has its final verdict */
        sv_verdict final;
} sv__rjob;

typedef struct sv__slot {
        sv_runner *rn;
        sv__rjob *job;    /* NULL: free */
} sv__slot;

struct sv_runner {
        sv_runner_opts o;
        uv_loop_t *loop;
        size_t count;     /* o.jobs->count */
        sv__rjob *jobs;
        sv__slot *slots;
        unsigned nslots;
        sv__slot **free_slots;
        unsigned nfree;
        size_t next;      /* without get_next: the first job not started yet */
        bool next_done;   /* get_next said there is none left */
        /* Jobs whose spawn failed for a passing reason (EMFILE, ENFILE,
         * EAGAIN, ENOMEM), to start before the fresh ones, and the effective
         * -j: the number running when that happened, raised by one as each
         * job ends, up to nslots. */
        sv__rjob **deferred;
        size_t ndeferred;
        unsigned limit;
        bool throttled;      /* on_throttle was called */
        bool spawn_hopeless; /* a job gave up its backoff; no spawn worked since */
        uv_timer_t backoff;  /* nothing runs to end and make room: try later */
        /* A burst (-j 2000) starts a batch of jobs per loop turn, so that
         * deadlines, exits and signals are served between batches: `refill`
         * starts the next batch on the next turn, `turn` ends a turn. */
        uv_idle_t refill;
        uv_check_t turn;
        unsigned batch;      /* attempts started in this loop turn */
        uint64_t batch_t0;   /* uv_hrtime() at the first of them */
        bool started;        /* the timers are initialised */
        size_t done;         /* jobs with a final verdict */
        unsigned running;
        unsigned failed;     /* jobs done that did not pass */
        uint64_t t0;
        int stop_signal;     /* sv_runner_stop with a signal */
        unsigned nstops;
        bool aborted;        /* sv_runner_stop without one: a write failed */
        bool draining;       /* max_fail reached: nothing new starts, running jobs finish */
        /* repeat_rounds: passed jobs waiting for their next round, a ring
         * (a job is in it at most once, so `count` places are enough). */
        sv__rjob **again;
        size_t again_head, again_len;
        bool events_failed;
        int error;           /* the first write error of our own */
        char *error_what;
        /* sched.c: with ordering or resource constraints (DEPENDS,
         * fixtures, RESOURCE_LOCK, RUN_SERIAL, PROCESSORS), every fresh job
         * waits in `pending` (in order) and the first that may start does. */
        bool sched;
        sv__rjob **pending;
        size_t npending;
        bool pending_loaded;
        unsigned cpus_used;  /* sum of the running jobs' cpus */
        unsigned serial;     /* RUN_SERIAL jobs running */
        char *run_dir;       /* SV_RUN_ISOLATE_CWD: where the attempts' directories go */
        char *cwd;           /* ours, for a relative argv[0] */
};

static inline uint64_t sv__run_job_timeout(const sv_runner *rn, const sv__rjob *j) {
        if (j->def->flags & SV_JOB_NO_TIMEOUT)
                return 0;
        return j->def->timeout_ms ? j->def->timeout_ms : rn->o.timeout_ms;
}

/* runner.c: events, logs, scheduling */
uint64_t sv__run_now(const sv_runner *rn);
/* Stamps t_ms, adds `ev` to the report (a write error aborts the run),
 * then hands it to on_event. */
void sv__run_event(sv_runner *rn, sv_run_event *ev);
void sv__run_verdict_label(sv_verdict v, char buf[16]);
/* Opens the job's log. Returns 0 or -errno: EMFILE and ENFILE are the
 * caller's to retry, any other error has ended the run. */
int sv__run_log_open(sv_runner *rn, sv__rjob *j);
void sv__run_log_write(sv__rjob *j, const char *p, size_t n);
void sv__run_log_printf(sv__rjob *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts jobs until -j (or the throttled limit) are running or none is left. */
void sv__run_fill(sv_runner *rn);
/* max_fail was reached: skip the waiting jobs ("fail-fast") and start no
 * new job; running ones finish. Idempotent. */
void sv__run_drain(sv_runner *rn);
/* repeat_rounds: j passed and runs again after the jobs queued before it;
 * its slot is freed and its log closed (reopened for appending). */
void sv__run_requeue(sv_runner *rn, sv__rjob *j);
/* `err` of j's spawn is a passing one and j went back to the queue (true),
 * or j has had its tries (false: the caller gives up on it). */
bool sv__run_defer(sv_runner *rn, sv__rjob *j, int err);

/* attempt.c: one attempt */
int sv__run_start_attempt(sv_runner *rn, sv__rjob *j);
/* A job that never ran (no command, a failed spawn): ERROR. */
void sv__run_job_error(sv_runner *rn, sv__rjob *j, int err);
void sv__run_notify(sv_runner *rn, const sv_run_attempt *a);
void sv__run_slot_free(sv_runner *rn, sv__rjob *j);
void sv__run_stop_job(sv_runner *rn, sv__rjob *j, const char *reason, int sig);
/* The attempt's exit (and its diagnostics) are in: report it, retry or
 * free the slot, and start what can start. */
void sv__run_attempt_over(sv_runner *rn, sv__rjob *j);

/* sched.c: the order and resource constraints of sv_job */
/* Works out each job's prerequisites; rn->sched says whether any exist.
 * Returns 0 or UV_ENOMEM. */
int sv__sched_init(sv_runner *rn);
void sv__sched_release(sv_runner *rn);
/* The first pending job that may start now, taken off the list; NULL:
 * none now. Jobs that can never run (a required fixture's setup failed, a
 * dependency cycle) are finished here as not run. */
sv__rjob *sv__sched_pick(sv_runner *rn);
/* j's REQUIRED_FILES are missing: it was finished as not run (true). */
bool sv__sched_missing_file(sv_runner *rn, sv__rjob *j);
/* j holds (taken) or gave back its slot: count its cpus and RUN_SERIAL. */
void sv__sched_hold(sv_runner *rn, sv__rjob *j, bool taken);
/* Waiting jobs that will not start now: each is handed to `skip`. */
void sv__sched_drop(sv_runner *rn, void (*skip)(sv_runner *, sv__rjob *, const char *),
                    const char *reason);
/* isolate.c: --isolate and --keep-failed */
/* sv_runner_new: the namespaces can be had (sv_isolate_check). */
int sv__run_iso_check(const sv_runner *rn);
/* sv_runner_start, before START: the run's directory. */
int sv__run_iso_start(sv_runner *rn);
/* What the spawn of an isolated attempt borrows; freed after it. */
typedef struct sv__iso_hold {
        char *pwd;   /* "PWD=<dir>" */
        char *prog;  /* argv[0] made absolute, or NULL */
        char **argv; /* the job's argv with it, or NULL */
} sv__iso_hold;

/* Before the spawn: sp->isolate, and the attempt's directory as sp->cwd,
 * with the argv and env that go with it (*env: may be replaced by a new
 * array, borrowing the old one's strings, which the caller frees with free()
 * after the spawn; the old array stays the caller's); h holds what they
 * point to. */
int sv__run_iso_attempt(sv_runner *rn, sv__rjob *j, sv_spawn_opts *sp, char ***env,
                        sv__iso_hold *h);
void sv__run_iso_hold_release(sv__iso_hold *h);
/* The attempt ended with `v` (or never started: v == SV_VERDICT_ERROR
 * and `ran` false): remove its directory, or keep it and say where. */
void sv__run_iso_end(sv_runner *rn, sv__rjob *j, sv_verdict v, bool ran);
/* sv_runner_free: the run's directory goes if nothing was kept in it. */
void sv__run_iso_free(sv_runner *rn);
/* The job's name as a file name: [A-Za-z0-9._-], runs of others as one
 * '_', no trailing '_' or '.'; at most n - 1 bytes. */
void sv__run_file_name(const sv__rjob *j, char *out, size_t n);

/* diag.c */
void sv__run_fmt_secs(char buf[32], uint64_t ms);
/* "timed out after 1.000 s; exit code 1": how an attempt ended, for people. */
void sv__run_describe(char *buf, size_t n, const sv_exit_info *e, sv_verdict v);
/* Appends a "--- kind ---" block to the attempt's diagnostics and emits
 * the DIAG event (len 0: up to the NUL). */
void sv__run_diag_add(sv_runner *rn, sv__rjob *j, const char *kind, const char *text, size_t len);
/* The library's TIMEOUT event (the ladder has not started): record the
 * tree and the output tail, and with --on-timeout hold the worker and run
 * the command; the ladder starts when it is over (or at once without one). */
void sv__run_hang(sv_runner *rn, sv__rjob *j, bool idle);
void sv__run_leak_diag(sv_runner *rn, sv__rjob *j, const sv_exit_info *e);
void sv__run_helper_release(sv__rjob *j);

#endif
