/* attempt.c - one attempt of a runner's job: its spawn, its output (to the
 * caller, the output buffer and the log), the library's lifecycle events
 * turned into run events, and its end: verdict, report, retry.
 *
 * The deadline and the idle timeout are the library's (timeout_ms,
 * idle_timeout_ms). Its TIMEOUT event comes before the stop ladder starts,
 * so the job is looked at first (its process tree, its last output), and
 * with --on-timeout the worker is held (sv_worker_hold) until the user's
 * command is over. Each ladder step the library sends is a STEP event, so
 * the run's SIGNAL and STEP events are exact, with no timer of ours. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/runner_internal.h"


/* ---- Lifecycle events ---- */

/* A ladder step was sent: step 0 is the run's SIGNAL, the later ones its
 * STEPs. Steps past the ladder (the library's SIGKILL again) are not news. */
static void on_step(sv_runner *rn, sv__rjob *j, const sv_event *e) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        if (e->step < 0 || (unsigned) e->step >= rn->o.ladder.count)
                return;
        j->stopping = true;
        ev.type = e->step == 0 ? SV_RUN_EV_SIGNAL : SV_RUN_EV_STEP;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        ev.signal = e->signal;
        ev.step = e->step;
        ev.grace_ms = e->step == 0 ? 0 : e->grace_ms;
        /* Ours when we stopped it (an interrupt of a held worker says
         * "interrupt"), else the library's ("timeout", "idle"). */
        ev.reason = j->stop_reason ? j->stop_reason : e->reason;
        sv__run_event(rn, &ev);
}

static void on_job_event(sv_worker *w, const sv_event *e, void *ud) {
        sv__rjob *j = ud;

        if (!j->w)
                j->w = w;
        if (e->type == SV_EVENT_TIMEOUT)
                sv__run_hang(j->rn, j, e->idle);
        else if (e->type == SV_EVENT_STEP)
                on_step(j->rn, j, e);
}

void sv__run_stop_job(sv_runner *rn, sv__rjob *j, const char *reason, int sig) {
        sv_stop_opts so;
        const char *old = j->stop_reason;

        (void) rn;
        if (!j->w || j->stopping)
                return;
        memset(&so, 0, sizeof(so));
        so.signal = sig;
        /* A held worker's cause stays TIMEOUT, whoever lets it go. */
        so.cause = j->hung ? SV_CAUSE_TIMEOUT : SV_CAUSE_STOPPED;
        so.reason = reason;
        /* Set before the call: step 0's event comes from inside it. */
        j->stop_reason = reason;
        if (sv_worker_stop_with(j->w, &so) < 0)
                j->stop_reason = old;
}

/* ---- Attempts ---- */

void sv__run_notify(sv_runner *rn, const sv_run_attempt *a) {
        if (rn->o.on_attempt)
                rn->o.on_attempt(rn, a, rn->o.userdata);
}

void sv__run_slot_free(sv_runner *rn, sv__rjob *j) {
        sv__slot *s = j->slot;

        s->job = NULL;
        j->slot = NULL;
        rn->free_slots[rn->nfree++] = s;
        rn->running--;
        sv__sched_hold(rn, j, false);
}

static void job_done(sv_runner *rn, sv__rjob *j, sv_verdict v) {
        if (v != SV_VERDICT_PASS && v != SV_VERDICT_SKIP) {
                rn->failed++;
                if (rn->o.max_fail && rn->failed >= rn->o.max_fail)
                        sv__run_drain(rn);
        }
        j->finished = true;
        j->final = v;
        sv_outbuf_free(j->out);
        j->out = NULL;
        if (j->log_fd >= 0) {
                close(j->log_fd);
                j->log_fd = -1;
        }
        if (j->slot) {
                sv__run_slot_free(rn, j);
                /* Room was made: probe one more at once than before. */
                if (rn->limit < rn->nslots)
                        rn->limit++;
        }
}

/* A job that never ran: no command, or a failed spawn. */
void sv__run_job_error(sv_runner *rn, sv__rjob *j, int err) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_run_attempt a;
        char how[256];

        ev.type = SV_RUN_EV_EXIT;
        ev.job = j->index;
        ev.attempt = j->attempt ? j->attempt : 1;
        ev.verdict = SV_VERDICT_ERROR;
        ev.error = err;
        sv__run_event(rn, &ev);
        rn->done++;
        if (j->def->flags & SV_JOB_UNAVAILABLE)
                snprintf(how, sizeof(how), "not found (ctest lists no command for it)");
        else {
                char *cmd = sv_text_escape(j->def->argv[0], strlen(j->def->argv[0]),
                                           SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH, NULL, NULL);

                snprintf(how, sizeof(how), "cannot run '%.200s': %s", cmd ? cmd : "?", uv_strerror(err));
                free(cmd);
        }
        sv__run_log_printf(j, "--- supervise: %s ---\n", how);
        job_done(rn, j, SV_VERDICT_ERROR);
        memset(&a, 0, sizeof(a));
        a.job = j->index;
        a.attempt = ev.attempt;
        a.verdict = SV_VERDICT_ERROR;
        a.error = err;
        a.how = how;
        sv__run_notify(rn, &a);
}


static void on_line(int fd, const char *line, size_t len, unsigned flags, void *arg) {
        sv__rjob *j = arg;
        sv_runner *rn = j->rn;

        rn->o.on_line(rn, j->index, fd, line, len, flags, rn->o.userdata);
}

static void on_job_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        sv__rjob *j = ud;
        sv_runner *rn = j->rn;

        (void) w;
        if (len)
                sv__run_log_write(j, buf, len);
        if (rn->o.on_output)
                rn->o.on_output(rn, j->index, fd, buf, len, rn->o.userdata);
        (void) sv_outbuf_feed(j->out, fd, buf, len);
}

static void on_job_exit(sv_worker *w, const sv_exit_info *info, void *ud);

/* The attempt's output buffer and log; the log is opened for attempt 1 only.
 * Returns 0 or an error (EMFILE/ENFILE of the log are the caller's to
 * retry). */
static int attempt_prepare(sv_runner *rn, sv__rjob *j) {
        sv_outbuf_opts oo;
        int e;

        memset(&oo, 0, sizeof(oo));
        if (j->def->pass_regex || j->def->fail_regex || j->def->skip_regex) {
                /* ctest matches them against the whole output, so all of it
                 * is kept, whatever the output mode. */
                oo.keep_bytes = SIZE_MAX;
        } else if (rn->o.on_line) {
                /* Lines go out live; only the tail is kept, for the report. */
                oo.keep_bytes = SV_OUTBUF_KEEP_MIN;
        }
        if (rn->o.on_line) {
                oo.on_line = on_line;
                oo.arg = j;
        }
        e = sv_outbuf_new(&oo, &j->out);
        if (e < 0)
                return e;
        /* Open from attempt 1 on; closed between rounds (repeat_rounds). */
        if (rn->o.logs_dir && j->log_fd < 0) {
                e = sv__run_log_open(rn, j);
                if (e < 0)
                        return e;
        }
        if (j->attempt > 1)
                sv__run_log_printf(j, "--- supervise: attempt %u ---\n", j->attempt);
        return 0;
}

int sv__run_start_attempt(sv_runner *rn, sv__rjob *j) {
        sv_spawn_opts sp;
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv__iso_hold hold;
        char **env = NULL, **owned = NULL;
        int e;

        j->attempt++;
        j->hung = j->hung_idle = j->stopping = j->exit_pending = false;
        j->stop_reason = NULL;
        e = attempt_prepare(rn, j);
        if (e < 0)
                return e;
        if (j->def->env || j->def->env_mod) {
                /* sv_ctest_parse() checked the operations: only ENOMEM here. */
                e = sv_job_environ(j->def, NULL, &owned, NULL, 0);
                if (e < 0)
                        return e;
                env = owned;
        }
        memset(&sp, 0, sizeof(sp));
        sp.argv = (const char *const *) j->def->argv;
        sp.cwd = j->def->cwd;
        /* --isolate cwd may give env a new array borrowing owned's strings. */
        e = sv__run_iso_attempt(rn, j, &sp, &env, &hold);
        if (e < 0) {
                if (env != owned)
                        free(env);
                sv_argv_free(owned);
                return e;
        }
        sp.env = (const char *const *) env;
        sp.stdio[0] = SV_STDIO_NULL;
        sp.stdio[1] = SV_STDIO_PIPE;
        sp.stdio[2] = SV_STDIO_PIPE;
        sp.leaks = rn->o.leaks;
        sp.ladder = &rn->o.ladder;
        sp.timeout_ms = sv__run_job_timeout(rn, j);
        sp.idle_timeout_ms = rn->o.idle_timeout_ms;
        sp.on_exit = on_job_exit;
        sp.on_output = on_job_output;
        sp.on_event = on_job_event;
        sp.userdata = j;
        e = sv_spawn(rn->o.sv, &sp, &j->w);
        if (env != owned)
                free(env);
        sv_argv_free(owned);
        sv__run_iso_hold_release(&hold);
        if (e < 0) {
                sv__run_iso_end(rn, j, SV_VERDICT_ERROR, false);
                return e;
        }
        j->pid = sv_worker_pid(j->w);
        ev.type = SV_RUN_EV_SPAWN;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        ev.slot = (unsigned) (j->slot - rn->slots);
        sv__run_event(rn, &ev);
        return 0;
}

static bool should_retry(const sv_runner *rn, const sv__rjob *j, sv_verdict v) {
        if (rn->stop_signal || rn->aborted)
                return false;
        /* --repeat: a pass is run again; the first failure ends the job. */
        if (v == SV_VERDICT_PASS)
                return !rn->draining && j->attempt < rn->o.repeat;
        if (j->attempt > rn->o.retries)
                return false;
        return v == SV_VERDICT_FAIL || v == SV_VERDICT_TIMEOUT || v == SV_VERDICT_CRASH;
}


/* The attempt as the caller sees it: status, output, diagnostics. The log
 * gets the same line and the diagnostics first. */
static void report_attempt(sv_runner *rn, sv__rjob *j, const sv_exit_info *e, sv_verdict v,
                           bool retry) {
        sv_run_attempt a;
        char how[256], label[16];

        if (v == SV_VERDICT_PASS || v == SV_VERDICT_SKIP)
                how[0] = '\0';
        else
                sv__run_describe(how, sizeof(how), e, v);
        sv__run_verdict_label(v, label);
        sv__run_log_printf(j, "--- supervise: attempt %u: %s%s%s ---\n", j->attempt, label,
                   how[0] ? ": " : "", how);
        if (j->diag)
                sv__run_log_write(j, j->diag, j->diag_len);
        memset(&a, 0, sizeof(a));
        a.job = j->index;
        a.attempt = j->attempt;
        a.verdict = v;
        a.will_retry = retry;
        a.exit = e;
        a.how = how;
        a.output = sv_outbuf_text(j->out, &a.output_len, &a.output_dropped);
        a.diag = j->diag;
        a.diag_len = j->diag_len;
        sv__run_notify(rn, &a);
}

static void emit_leak(sv_runner *rn, sv__rjob *j, const sv_exit_info *e) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        sv__run_leak_diag(rn, j, e);
        ev.type = SV_RUN_EV_LEAK;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.count = e->leaked;
        sv__run_event(rn, &ev);
}

static void emit_retry(sv_runner *rn, sv__rjob *j, sv_verdict v) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        ev.type = SV_RUN_EV_RETRY;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.reason = v == SV_VERDICT_PASS ? "repeat" : sv_verdict_name(v);
        sv__run_event(rn, &ev);
}

/* The verdict, with the whole output for a job with ctest's regexes; when
 * one of them decided, the reason goes into the diagnostics. */
static sv_verdict judge(sv_runner *rn, sv__rjob *j, const sv_exit_info *e) {
        const sv_job *d = j->def;
        const char *out = NULL;
        uint64_t dropped = 0;
        char why[300], line[400];
        size_t len;
        sv_verdict v;

        if (!d->pass_regex && !d->fail_regex && !d->skip_regex)
                return sv_verdict_of(d, e);
        out = sv_outbuf_text(j->out, &len, &dropped);
        v = sv_verdict_judge(d, e, out, why, sizeof(why));
        /* A pass needs no explaining; a fail or a skip does. */
        if (why[0] && v != SV_VERDICT_PASS) {
                if (dropped)
                        snprintf(line, sizeof(line), "%s (%llu bytes of output were lost: out "
                                 "of memory)\n", why, (unsigned long long) dropped);
                else
                        snprintf(line, sizeof(line), "%s\n", why);
                sv__run_diag_add(rn, j, "verdict", line, 0);
        }
        return v;
}

static void finish_attempt(sv_runner *rn, sv__rjob *j) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e = j->exit;
        sv_verdict v;
        char *tail;
        bool retry;
        int err;

        e.leaks = j->leaks;
        sv_outbuf_finish(j->out);
        v = judge(rn, j, &e);
        if (v == SV_VERDICT_PASS && e.leaked && rn->o.leaks == SV_LEAKS_FAIL)
                v = SV_VERDICT_FAIL;
        if (e.leaked && rn->o.leaks != SV_LEAKS_IGNORE)
                emit_leak(rn, j, &e);
        sv__run_iso_end(rn, j, v, true);
        tail = sv_outbuf_tailn(j->out, SV_OUTBUF_TAIL_LINES, &ev.text_len);
        ev.type = SV_RUN_EV_EXIT;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        ev.exit = &e;
        ev.verdict = v;
        ev.text = tail;
        retry = should_retry(rn, j, v);
        if (!retry)
                rn->done++;
        sv__run_event(rn, &ev);
        free(tail);
        report_attempt(rn, j, &e, v, retry);
        free(j->diag);
        j->diag = NULL;
        j->diag_len = 0;
        free(j->leaks);
        j->leaks = NULL;
        if (!retry) {
                job_done(rn, j, v);
                return;
        }
        emit_retry(rn, j, v);
        sv_outbuf_free(j->out);
        j->out = NULL;
        if (v == SV_VERDICT_PASS && rn->o.repeat_rounds) {
                sv__run_requeue(rn, j);
                return;
        }
        err = sv__run_start_attempt(rn, j);
        if (err < 0 && !sv__run_defer(rn, j, err))
                sv__run_job_error(rn, j, err);
}

void sv__run_attempt_over(sv_runner *rn, sv__rjob *j) {
        finish_attempt(rn, j);
        sv__run_fill(rn);
}

static void on_job_exit(sv_worker *w, const sv_exit_info *info, void *ud) {
        sv__rjob *j = ud;
        unsigned n;

        (void) w;
        j->w = NULL;
        j->exit = *info;
        j->exit.leaks = NULL;
        j->leaks = NULL;
        n = info->leaked < SV_LEAKS_MAX ? info->leaked : SV_LEAKS_MAX;
        if (n && info->leaks) {
                j->leaks = malloc(n * sizeof(*j->leaks));
                if (j->leaks)
                        memcpy(j->leaks, info->leaks, n * sizeof(*j->leaks));
        }
        if (j->helper) {
                /* Diagnostics first: on_helper_exit finishes the attempt. */
                j->exit_pending = true;
                return;
        }
        sv__run_attempt_over(j->rn, j);
}
