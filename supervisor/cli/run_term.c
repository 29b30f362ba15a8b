/* run_term.c - the terminal side of `supervise run`: the redrawn progress
 * line, one status line per finished job, each job's output (whole, or as
 * "[name] line" with --tag) and its diagnostics. Every byte of job output
 * goes to our stdout and every message of ours to stderr, each with
 * write(2), whole lines (or a whole job's output) at a time, so two jobs'
 * output never mixes. A write that fails ends the run (sv_cli_run_failed). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_term.h"

static void fmt_secs(char buf[32], uint64_t ms) {
        snprintf(buf, 32, "%llu.%03llu s", (unsigned long long) (ms / 1000),
                 (unsigned long long) (ms % 1000));
}

static void fmt_clock(char buf[32], uint64_t ms) {
        uint64_t s = ms / 1000;

        if (s >= 3600)
                snprintf(buf, 32, "%llu:%02llu:%02llu", (unsigned long long) (s / 3600),
                         (unsigned long long) (s / 60 % 60), (unsigned long long) (s % 60));
        else
                snprintf(buf, 32, "%llu:%02llu", (unsigned long long) (s / 60),
                         (unsigned long long) (s % 60));
}

/* ---- The progress line ---- */

/* Job output and our messages always start at column 0 of a clean line. */
void sv_cli_run_progress_clear(sv_cli_run_state *st) {
        if (st->progress_shown) {
                (void) sv_write_all(2, "\r\033[K", 4);
                st->progress_shown = false;
        }
}

void sv_cli_run_progress_draw(sv_cli_run_state *st) {
        char buf[200], el[32], eta[32];
        sv_runner_progress p;
        uint64_t t;
        int n;

        if (!st->progress_on || !st->rn)
                return;
        uv_update_time(st->loop);
        t = sv_runner_now_ms(st->rn);
        sv_runner_progress_get(st->rn, &p);
        fmt_clock(el, t);
        if (p.done > 0 && p.done < p.total)
                fmt_clock(eta, t / p.done * (p.total - p.done));
        else
                snprintf(eta, sizeof(eta), p.done ? "0:00" : "?");
        n = snprintf(buf, sizeof(buf), "\r\033[K[%zu/%zu] running %u, failed %u, %s elapsed, ETA %s",
                     p.done, p.total, p.running, p.failed, el, eta);
        if (n > 0 && (size_t) n < sizeof(buf) && sv_write_all(2, buf, (size_t) n) == 0)
                st->progress_shown = true;
}

void sv_cli_run_on_progress_timer(uv_timer_t *t) {
        sv_cli_run_progress_draw(t->data);
}

/* ---- Output ---- */

void sv_cli_run_failed(sv_cli_run_state *st, const char *what, int err) {
        if (what) {
                sv_cli_run_progress_clear(st);
                fprintf(stderr, "supervise run: cannot write %s: %s\n", what, uv_strerror(err));
        }
        st->out_failed = true;
        if (st->rn)
                sv_runner_stop(st->rn, 0, "aborted");
}

/* A full disk or a reader gone (EPIPE; SIGPIPE is ignored) loses job
 * output: that ends the run. */
static void out_write(sv_cli_run_state *st, const char *p, size_t n) {
        int e;

        if (st->stdout_failed || n == 0)
                return;
        e = sv_write_all(1, p, n);
        if (e < 0) {
                st->stdout_failed = true;
                sv_cli_run_failed(st, "to standard output", e);
        }
}

/* A lost stderr cannot be reported on stderr; the exit status says it. */
static void err_write(sv_cli_run_state *st, const char *p, size_t n) {
        if (st->stderr_failed)
                return;
        if (sv_write_all(2, p, n) < 0) {
                st->stderr_failed = true;
                sv_cli_run_failed(st, NULL, 0);
        }
}

static int tag_reserve(sv_cli_run_state *st, size_t n) {
        char *p;

        if (n <= st->line_cap)
                return 0;
        p = realloc(st->line, n);
        if (!p)
                return UV_ENOMEM;
        st->line = p;
        st->line_cap = n;
        return 0;
}

/* --tag: "[name] line\n" in one write(2), so concurrent jobs' lines never
 * split each other. */
void sv_cli_run_on_line(sv_runner *rn, size_t job, int fd, const char *line, size_t len,
                        unsigned flags, void *ud) {
        sv_cli_run_state *st = ud;
        const char *name = st->list.jobs[job].name;
        size_t nl = strlen(name), n = nl + 3 + len + 1;

        (void) rn;
        (void) fd;
        (void) flags;
        if (st->stdout_failed || tag_reserve(st, n) < 0)
                return;
        st->line[0] = '[';
        memcpy(st->line + 1, name, nl);
        memcpy(st->line + 1 + nl, "] ", 2);
        memcpy(st->line + 3 + nl, line, len);
        st->line[n - 1] = '\n';
        sv_cli_run_progress_clear(st);
        out_write(st, st->line, n);
}

/* ---- Status lines ---- */

static void status_label(const sv_run_attempt *a, bool repeating, char label[16]) {
        const char *s = sv_verdict_name(a->verdict);
        size_t i;

        /* Under --repeat a later pass follows passes: not flaky. */
        if (a->verdict == SV_VERDICT_PASS && a->attempt > 1 && !repeating)
                s = "flaky";
        for (i = 0; s[i] && i < 15; i++)
                label[i] = (char) toupper((unsigned char) s[i]);
        label[i] = '\0';
}

/* One status line on stderr, e.g. "[ 3/10] FAIL      0.004 s  name: exit code 1". */
static void status_line(sv_cli_run_state *st, const sv_run_attempt *a, const char *note) {
        char buf[1024], secs[32], label[16], *name;
        const char *jn = st->list.jobs[a->job].name, *how = a->how;
        sv_runner_progress p;
        int width = 1, n;
        size_t c;

        if (st->o->quiet)
                return;
        sv_runner_progress_get(st->rn, &p);
        /* A name is the job file's text or ctest's: it may hold anything. */
        name = sv_text_escape(jn, strlen(jn), SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH, NULL, NULL);
        for (c = p.total; c >= 10; c /= 10)
                width++;
        fmt_secs(secs, a->exit ? a->exit->wall_us / 1000 : 0);
        status_label(a, st->o->flow.repeat > 1, label);
        n = snprintf(buf, sizeof(buf), "[%*zu/%zu] %-7s %11s  %s%s%s%s\n", width, p.done, p.total,
                     label, secs, name ? name : "?", how && *how ? ": " : "", how ? how : "",
                     note ? note : "");
        free(name);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof(buf)) {
                n = (int) sizeof(buf) - 1;
                buf[n - 1] = '\n';
        }
        sv_cli_run_progress_clear(st);
        err_write(st, buf, (size_t) n);
}

static void print_output(sv_cli_run_state *st, const sv_run_attempt *a) {
        char msg[96];
        int n;

        sv_cli_run_progress_clear(st);
        if (a->output_dropped) {
                n = snprintf(msg, sizeof(msg), "[supervise: %llu earlier bytes of output dropped]\n",
                             (unsigned long long) a->output_dropped);
                out_write(st, msg, (size_t) n);
        }
        out_write(st, a->output, a->output_len);
}

void sv_cli_run_on_attempt(sv_runner *rn, const sv_run_attempt *a, void *ud) {
        sv_cli_run_state *st = ud;
        char note[64] = "";

        (void) rn;
        if (!a->exit) {
                /* Never ran: an error, or a skip we say (not the skips of
                 * an interrupted or aborted run). */
                if (a->verdict == SV_VERDICT_ERROR ||
                    (strcmp(a->reason, "interrupted") != 0 && strcmp(a->reason, "aborted") != 0))
                        status_line(st, a, NULL);
                return;
        }
        if (st->o->flow.repeat > 1 && (a->will_retry || a->attempt > 1))
                snprintf(note, sizeof(note), " (run %u of %u)", a->attempt, st->o->flow.repeat);
        else if (a->will_retry)
                snprintf(note, sizeof(note), " (attempt %u of %u; will retry)", a->attempt,
                         st->o->retries + 1);
        else if (a->verdict == SV_VERDICT_PASS && a->attempt > 1)
                snprintf(note, sizeof(note), " (passed on attempt %u)", a->attempt);
        status_line(st, a, note);
        if (!st->o->tag)
                print_output(st, a);
        if (a->diag && !st->o->quiet) {
                sv_cli_run_progress_clear(st);
                err_write(st, a->diag, a->diag_len);
        }
        sv_cli_run_progress_draw(st);
}

void sv_cli_run_on_throttle(sv_runner *rn, int err, unsigned running, void *ud) {
        sv_cli_run_state *st = ud;

        (void) rn;
        sv_cli_run_progress_clear(st);
        if (running > 1)
                fprintf(stderr, "supervise run: cannot start more jobs now (%s); running at "
                                "most %u at once and trying again as jobs end\n",
                        uv_strerror(err), running - 1);
        else
                fprintf(stderr, "supervise run: cannot start a job now (%s); trying again "
                                "shortly\n", uv_strerror(err));
}

void sv_cli_run_on_error(sv_runner *rn, const char *what, int err, void *ud) {
        sv_cli_run_state *st = ud;

        (void) rn;
        sv_cli_run_progress_clear(st);
        fprintf(stderr, "supervise run: cannot write %s: %s\n", what, uv_strerror(err));
        st->out_failed = true;
}
