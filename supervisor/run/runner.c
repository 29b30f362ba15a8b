/* runner.c - the runner of sv_run.h: a job list run N at a time on a
 * caller's supervisor, with a lower effective -j while spawns fail for a
 * passing reason; its events (every one added to the caller's report) and
 * per-job log files. One attempt is attempt.c; hang diagnostics are diag.c.
 *
 * Nothing is lost silently: a log or events write that fails stops the run
 * (sv_runner_stop(rn, 0, "aborted")) and is reported through on_error, and a
 * spawn that fails for a passing reason (EMFILE, EAGAIN, ...) is retried at a
 * lower effective -j by throttle() before the job is an ERROR. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h" /* O_CLOEXEC where Windows lacks it (compat.h) */
#include "run/runner_internal.h"

/* A job that cannot start for a passing reason while nothing else runs is
 * tried again after 10 ms, 20 ms, ... (about 5 s in all) before it is an
 * ERROR. */
#define SPAWN_BACKOFF_MS 10u
#define SPAWN_BACKOFF_TRIES 9u

/* One loop turn starts at most FILL_BATCH_MAX attempts, and past
 * FILL_BATCH_MIN none once FILL_SLICE_MS have gone by; the rest wait for the
 * next turn. Starting 2,000 jobs takes seconds on a loaded machine, and the
 * first jobs' deadlines, exits and an interrupt must not wait for the last
 * spawn. The minimum keeps a small -j starting all at once. */
#define FILL_BATCH_MIN 8u
#define FILL_BATCH_MAX 64u
#define FILL_SLICE_MS 10u

/* The clock itself, not the loop's cached uv_now(): jobs started in one loop
 * turn (a burst of -j 2000) would otherwise all carry that turn's time. */
static uint64_t clock_ms(void) {
        return uv_hrtime() / 1000000u;
}

uint64_t sv__run_now(const sv_runner *rn) {
        return clock_ms() - rn->t0;
}

uint64_t sv_runner_now_ms(const sv_runner *rn) {
        return sv__run_now(rn);
}

/* "PASS", "TIMEOUT", ...: the verdict as the log lines say it. */
void sv__run_verdict_label(sv_verdict v, char buf[16]) {
        const char *s = sv_verdict_name(v);
        size_t i;

        for (i = 0; s[i] && i < 15; i++)
                buf[i] = (char) toupper((unsigned char) s[i]);
        buf[i] = '\0';
}

/* A write of ours failed: say so once per failure, and stop the run. */
static void run_failed(sv_runner *rn, const char *what, int err) {
        if (!rn->error) {
                rn->error = err;
                rn->error_what = strdup(what);
        }
        if (rn->o.on_error)
                rn->o.on_error(rn, what, err, rn->o.userdata);
        sv_runner_stop(rn, 0, "aborted");
}

/* ---- Per-job log files ---- */

/* The job's name as a file name: of it only [A-Za-z0-9._-], the rest as
 * single '_'; at most n - 1 bytes. */
void sv__run_file_name(const sv__rjob *j, char *name, size_t n) {
        size_t i, k = 0;

        for (i = 0; j->def->name[i] && k < n - 1; i++) {
                char ch = j->def->name[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';

                if (ok)
                        name[k++] = ch;
                else if (k > 0 && name[k - 1] != '_')
                        name[k++] = '_';
        }
        while (k > 0 && (name[k - 1] == '_' || name[k - 1] == '.'))
                k--;
        name[k] = '\0';
}

/* "DIR/<n>-<name>.log": n the 1-based index, zero-padded to the width of
 * the job count, so that names stay unique (two jobs may share a command
 * line). */
static int log_path(const sv_runner *rn, const sv__rjob *j, char *buf, size_t n) {
        char name[64];
        size_t c;
        int width = 1, len;

        for (c = rn->count; c >= 10; c /= 10)
                width++;
        sv__run_file_name(j, name, sizeof(name));
        len = snprintf(buf, n, "%s/%0*zu%s%s.log", rn->o.logs_dir, width, j->index + 1,
                       name[0] ? "-" : "", name);
        return len < 0 || (size_t) len >= n ? UV_ENAMETOOLONG : 0;
}

int sv_runner_log_path(const sv_runner *rn, size_t job, char *buf, size_t n) {
        char path[4096];
        int e;

        if (!rn->o.logs_dir || job >= rn->count)
                return UV_EINVAL;
        e = log_path(rn, &rn->jobs[job], path, sizeof(path));
        if (e == 0 && strlen(path) >= n)
                e = UV_ENAMETOOLONG;
        if (e == 0)
                memcpy(buf, path, strlen(path) + 1);
        return e;
}

/* Opens the job's log. Returns 0 or -errno: EMFILE and ENFILE are the
 * caller's to retry, any other error has ended the run. */
int sv__run_log_open(sv_runner *rn, sv__rjob *j) {
        char path[4096], what[4200];
        int e;

        e = log_path(rn, j, path, sizeof(path));
        if (e < 0) {
                snprintf(what, sizeof(what), "log file '%.4000s...'", path);
                run_failed(rn, what, e);
                return e;
        }
        /* A job back for another round (repeat_rounds) adds to its log. */
        j->log_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (j->attempt > 1 ? O_APPEND : O_TRUNC),
                         0644);
        if (j->log_fd >= 0)
                return 0;
        e = -errno;
        if (e != UV_EMFILE && e != UV_ENFILE) {
                snprintf(what, sizeof(what), "log file '%s'", path);
                run_failed(rn, what, e);
        }
        return e;
}

void sv__run_log_write(sv__rjob *j, const char *p, size_t n) {
        char what[600];
        int e;

        if (j->log_fd < 0)
                return;
        e = sv_write_all(j->log_fd, p, n);
        if (e < 0) {
                close(j->log_fd);
                j->log_fd = -1;
                snprintf(what, sizeof(what), "the log file of job '%.500s'", j->def->name);
                run_failed(j->rn, what, e);
        }
}

void sv__run_log_printf(sv__rjob *j, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        if (j->log_fd < 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                sv__run_log_write(j, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
}

/* ---- Events ---- */

void sv__run_event(sv_runner *rn, sv_run_event *ev) {
        int e;

        ev->t_ms = sv__run_now(rn);
        e = sv_report_add(rn->o.report, ev);
        if (e < 0 && e != UV_ENOMEM && !rn->events_failed) {
                char what[4200];

                /* The lines already written stay valid; later ones would
                 * fail the same way. */
                rn->events_failed = true;
                sv_report_set_events_fd(rn->o.report, -1);
                snprintf(what, sizeof(what), "the events file '%.4096s'",
                         rn->o.events_name ? rn->o.events_name : "?");
                run_failed(rn, what, e);
        }
        if (rn->o.on_event)
                rn->o.on_event(rn, ev, rn->o.userdata);
}

/* ---- Scheduling ---- */

static void skip_job(sv_runner *rn, sv__rjob *j, const char *reason) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_run_attempt a;

        ev.type = SV_RUN_EV_SKIP;
        ev.job = j->index;
        ev.reason = reason;
        sv__run_event(rn, &ev);
        rn->done++;
        j->finished = true;
        j->final = SV_VERDICT_SKIP;
        memset(&a, 0, sizeof(a));
        a.job = j->index;
        a.attempt = 1;
        a.verdict = SV_VERDICT_SKIP;
        a.how = reason;
        a.reason = reason;
        sv__run_notify(rn, &a);
}

/* The next fresh job, from get_next or in order; NULL: none left. */
static sv__rjob *next_fresh(sv_runner *rn) {
        size_t i;

        if (!rn->o.get_next)
                return rn->next < rn->count ? &rn->jobs[rn->next++] : NULL;
        if (rn->next_done || rn->o.get_next(rn, &i, rn->o.userdata) != 1 || i >= rn->count) {
                rn->next_done = true;
                return NULL;
        }
        return &rn->jobs[i];
}

/* No job waiting to start will run: fresh ones are skipped with `reason`; a
 * deferred retry keeps the verdict of the attempt it follows. */
static void drop_queue(sv_runner *rn, const char *reason) {
        sv__rjob *j;

        if (rn->started)
                uv_timer_stop(&rn->backoff);
        while (rn->ndeferred > 0) {
                j = rn->deferred[--rn->ndeferred];
                if (j->attempt > 0)
                        rn->done++;
                else
                        skip_job(rn, j, reason);
        }
        if (rn->sched)
                sv__sched_drop(rn, skip_job, reason);
        while ((j = next_fresh(rn)) != NULL)
                skip_job(rn, j, reason);
        /* Waiting for another round: the last one's pass stands. */
        for (; rn->again_len > 0; rn->again_len--)
                rn->done++;
}

/* A spawn failed for a reason that passes when other jobs end. */
static bool passing_error(int e) {
        return e == UV_EMFILE || e == UV_ENFILE || e == UV_EAGAIN || e == UV_ENOMEM;
}

static void on_backoff(uv_timer_t *t) {
        sv_runner *rn = t->data;

        if (rn->limit == 0)
                rn->limit = 1;
        sv__run_fill(rn);
}

/* The spawn of j's next attempt failed with `err`, a passing error: undo the
 * attempt, put j back in front of the queue, free its slot and lower the
 * effective -j to what runs now, so that it is tried again when a job ends.
 * If nothing runs, a backoff timer tries again, a bounded number of times.
 * Returns false when j has had its tries: the caller gives up on it. */
static bool throttle(sv_runner *rn, sv__rjob *j, int err) {
        if (rn->running <= 1 && (j->spawn_tries >= SPAWN_BACKOFF_TRIES || rn->spawn_hopeless)) {
                /* Until a spawn works again, the next jobs fail at once
                 * rather than each waiting out the whole backoff. */
                rn->spawn_hopeless = true;
                return false;
        }
        if (!rn->throttled) {
                rn->throttled = true;
                if (rn->o.on_throttle)
                        rn->o.on_throttle(rn, err, rn->running, rn->o.userdata);
        }
        j->attempt--;
        sv_outbuf_free(j->out);
        j->out = NULL;
        sv__run_slot_free(rn, j);
        rn->deferred[rn->ndeferred++] = j;
        rn->limit = rn->running;
        if (rn->running == 0) {
                uv_timer_start(&rn->backoff, on_backoff, (uint64_t) SPAWN_BACKOFF_MS << j->spawn_tries, 0);
                j->spawn_tries++;
        }
        return true;
}

bool sv__run_defer(sv_runner *rn, sv__rjob *j, int err) {
        return passing_error(err) && throttle(rn, j, err);
}

void sv__run_requeue(sv_runner *rn, sv__rjob *j) {
        if (j->log_fd >= 0) {
                /* A long round must not hold a log fd per job. */
                close(j->log_fd);
                j->log_fd = -1;
        }
        sv__run_slot_free(rn, j);
        if (rn->limit < rn->nslots)
                rn->limit++;
        rn->again[(rn->again_head + rn->again_len++) % rn->count] = j;
}

/* The next job to start: a deferred one first, else the next fresh one
 * that may start (sched.c, when jobs have order or resource constraints;
 * a DISABLED, command-less or REQUIRED_FILES-less one is finished here),
 * else one waiting for its next round. NULL: none now. */
static sv__rjob *next_job(sv_runner *rn) {
        sv__rjob *j;

        if (rn->ndeferred > 0)
                return rn->deferred[--rn->ndeferred];
        /* Draining (max_fail): only a running job's retry, deferred after
         * a passing spawn error, may still start. */
        if (rn->draining)
                return NULL;
        while ((j = rn->sched ? sv__sched_pick(rn) : next_fresh(rn)) != NULL) {
                if (j->def->flags & SV_JOB_DISABLED)
                        skip_job(rn, j, "disabled");
                else if (j->def->flags & SV_JOB_UNAVAILABLE)
                        sv__run_job_error(rn, j, UV_ENOENT);
                else if (!sv__sched_missing_file(rn, j))
                        return j;
        }
        if (rn->again_len > 0) {
                j = rn->again[rn->again_head];
                rn->again_head = (rn->again_head + 1) % rn->count;
                rn->again_len--;
                return j;
        }
        return NULL;
}

/* The lowest free slot, so that a slot's number says which of the -j
 * lanes a job ran in (the SPAWN event's `slot`, the timeline's rows). */
static sv__slot *slot_take(sv_runner *rn) {
        unsigned i, best = 0;
        sv__slot *s;

        for (i = 1; i < rn->nfree; i++)
                if (rn->free_slots[i] < rn->free_slots[best])
                        best = i;
        s = rn->free_slots[best];
        rn->free_slots[best] = rn->free_slots[--rn->nfree];
        return s;
}

/* This loop turn has started its share of attempts. */
static bool turn_full(const sv_runner *rn) {
        if (rn->batch >= FILL_BATCH_MAX)
                return true;
        return rn->batch >= FILL_BATCH_MIN &&
               uv_hrtime() - rn->batch_t0 >= (uint64_t) FILL_SLICE_MS * 1000000u;
}

/* The next turn: the timers and the I/O of the last one were served. */
static void on_refill(uv_idle_t *h) {
        uv_idle_stop(h);
        sv__run_fill(h->data);
}

static void on_turn(uv_check_t *h) {
        sv_runner *rn = h->data;

        rn->batch = 0;
}

/* Starts jobs until -j (or the throttled limit) are running or none is
 * left, a batch per loop turn (turn_full). Never recurses: a job that
 * cannot start is finished or deferred here and the loop goes on. */
void sv__run_fill(sv_runner *rn) {
        sv__rjob *j;
        int e;

        while (!rn->stop_signal && !rn->aborted && rn->nfree > 0 && rn->running < rn->limit) {
                if (turn_full(rn)) {
                        /* Keeps the loop alive: jobs may still be waiting. */
                        uv_idle_start(&rn->refill, on_refill);
                        return;
                }
                j = next_job(rn);
                if (!j)
                        break;
                if (rn->batch++ == 0)
                        rn->batch_t0 = uv_hrtime();
                j->slot = slot_take(rn);
                j->slot->job = j;
                rn->running++;
                sv__sched_hold(rn, j, true);
                e = sv__run_start_attempt(rn, j);
                if (e == 0) {
                        j->spawn_tries = 0;
                        rn->spawn_hopeless = false;
                } else if (!passing_error(e) || !throttle(rn, j, e)) {
                        sv__run_job_error(rn, j, e);
                } else {
                        break;
                }
        }
}

void sv__run_drain(sv_runner *rn) {
        if (rn->draining || rn->stop_signal || rn->aborted)
                return;
        rn->draining = true;
        drop_queue(rn, "fail-fast");
}

/* ---- The public API ---- */

void sv_runner_stop(sv_runner *rn, int sig, const char *reason) {
        const char *word = strcmp(reason, "interrupted") == 0 ? "interrupt" : reason;
        unsigned i;

        if (sig) {
                rn->nstops++;
                if (!rn->stop_signal) {
                        rn->stop_signal = sig;
                        drop_queue(rn, reason);
                }
        } else {
                if (rn->aborted)
                        return;
                rn->aborted = true;
                drop_queue(rn, reason);
        }
        for (i = 0; i < rn->nslots; i++) {
                sv__rjob *j = rn->slots[i].job;

                if (!j)
                        continue;
                if (sig && rn->nstops > 1) {
                        /* Asked twice: no more grace. */
                        if (j->w)
                                (void) sv_worker_kill_tree(j->w, SIGKILL);
                        if (j->helper)
                                (void) sv_worker_kill_tree(j->helper, SIGKILL);
                        continue;
                }
                if (j->helper)
                        (void) sv_worker_stop_signal(j->helper, sig);
                sv__run_stop_job(rn, j, word, sig);
        }
}

int sv_runner_new(const sv_runner_opts *opts, sv_runner **out) {
        sv_runner *rn;
        size_t i, n;
        int e;

        if (!opts || !opts->sv || !opts->jobs || !opts->report)
                return UV_EINVAL;
        rn = calloc(1, sizeof(*rn));
        if (!rn)
                return UV_ENOMEM;
        rn->o = *opts;
        rn->loop = sv_supervisor_loop(opts->sv);
        rn->count = n = opts->jobs->count;
        if (rn->o.parallel == 0)
                rn->o.parallel = 1;
        /* Every job gets this ladder, so the STEP events can be told from
         * the library's SIGKILL polls past its end. */
        if (rn->o.ladder.count == 0)
                sv_ladder_default(&rn->o.ladder);
        /* More slots than jobs would never be used. */
        rn->nslots = n && n < rn->o.parallel ? (unsigned) n : rn->o.parallel;
        rn->limit = rn->nslots;
        rn->jobs = calloc(n ? n : 1, sizeof(*rn->jobs));
        rn->slots = calloc(rn->nslots, sizeof(*rn->slots));
        rn->free_slots = calloc(rn->nslots, sizeof(*rn->free_slots));
        rn->deferred = calloc(rn->nslots, sizeof(*rn->deferred));
        rn->again = calloc(n ? n : 1, sizeof(*rn->again));
        if (!rn->jobs || !rn->slots || !rn->free_slots || !rn->deferred || !rn->again) {
                rn->count = 0;
                sv_runner_free(rn);
                return UV_ENOMEM;
        }
        for (i = 0; i < n; i++) {
                rn->jobs[i].rn = rn;
                rn->jobs[i].def = &opts->jobs->jobs[i];
                rn->jobs[i].index = i;
                rn->jobs[i].log_fd = -1;
        }
        if (sv__sched_init(rn) < 0) {
                sv_runner_free(rn);
                return UV_ENOMEM;
        }
        e = sv__run_iso_check(rn);
        if (e < 0) {
                sv_runner_free(rn);
                return e;
        }
        *out = rn;
        return 0;
}

int sv_runner_start(sv_runner *rn) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        uv_timeval64_t tv;
        unsigned i;
        int e;

        e = sv__run_iso_start(rn);
        if (e < 0)
                return e;
        e = uv_timer_init(rn->loop, &rn->backoff);
        if (e < 0)
                return e;
        rn->backoff.data = rn;
        /* Neither can fail (libuv only sets fields), so nothing to undo. */
        (void) uv_idle_init(rn->loop, &rn->refill);
        (void) uv_check_init(rn->loop, &rn->turn);
        rn->refill.data = rn->turn.data = rn;
        /* Ends each turn's batch; never what keeps the loop alive. */
        (void) uv_check_start(&rn->turn, on_turn);
        uv_unref((uv_handle_t *) &rn->turn);
        for (i = 0; i < rn->nslots; i++) {
                rn->slots[i].rn = rn;
                rn->free_slots[rn->nfree++] = &rn->slots[rn->nslots - 1 - i];
        }
        rn->started = true;
        rn->t0 = clock_ms();
        (void) uv_gettimeofday(&tv); /* the wall clock, on Windows too */
        ev.type = SV_RUN_EV_START;
        ev.count = rn->o.parallel;
        ev.unix_ms = (uint64_t) tv.tv_sec * 1000u + (uint64_t) tv.tv_usec / 1000u;
        sv__run_event(rn, &ev);
        sv__run_fill(rn);
        return 0;
}

int sv_runner_error(const sv_runner *rn, const char **out_what) {
        if (rn->error && out_what)
                *out_what = rn->error_what ? rn->error_what : "?";
        return rn->error;
}

void sv_runner_progress_get(const sv_runner *rn, sv_runner_progress *out) {
        out->total = rn->count;
        out->done = rn->done;
        out->running = rn->running;
        out->failed = rn->failed;
}

static void close_handles(sv_runner *rn) {
        uv_close((uv_handle_t *) &rn->backoff, NULL);
        uv_close((uv_handle_t *) &rn->refill, NULL);
        uv_close((uv_handle_t *) &rn->turn, NULL);
        /* The close callbacks run on the next turn of the loop. */
        (void) uv_run(rn->loop, UV_RUN_NOWAIT);
}

void sv_runner_free(sv_runner *rn) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        size_t i;

        if (!rn)
                return;
        if (rn->started) {
                ev.type = SV_RUN_EV_END;
                sv__run_event(rn, &ev);
                close_handles(rn);
        }
        /* Before the jobs go: their directories are named there. */
        sv__run_iso_free(rn);
        for (i = 0; rn->jobs && i < rn->count; i++) {
                sv__rjob *j = &rn->jobs[i];

                sv_outbuf_free(j->out);
                free(j->leaks);
                free(j->diag);
                free(j->helper_out);
                if (j->log_fd >= 0)
                        close(j->log_fd);
        }
        sv__sched_release(rn);
        free(rn->jobs);
        free(rn->slots);
        free(rn->free_slots);
        free(rn->deferred);
        free(rn->again);
        free(rn->error_what);
        free(rn);
}

int sv_run_parallel(const sv_runner_opts *opts) {
        sv_runner *rn;
        int e;

        e = sv_runner_new(opts, &rn);
        if (e < 0)
                return e;
        e = sv_runner_start(rn);
        if (e == 0)
                e = sv_supervisor_run(opts->sv);
        if (e == 0)
                e = sv_runner_error(rn, NULL);
        sv_runner_free(rn);
        return e < 0 ? e : 0;
}
