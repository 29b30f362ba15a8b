/* run_term.c - the terminal side of `supervise run`: the redrawn progress
 * line with its bar, one status line per finished job (its verdict
 * coloured with --color), each job's output (whole, or as "[name] line"
 * with --tag), and one line saying which files hold its diagnostics: hang
 * snapshots and kernel stacks never reach the terminal. Every byte of job output
 * goes to our stdout and every message of ours to stderr, each with
 * write(2), whole lines (or a whole job's output) at a time, so two jobs'
 * output never mixes. A write that fails ends the run (sv_cli_run_failed). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"
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

/* Colours (SGR) of the verdict labels; "" where the label stays plain. */
static const char *label_colour(const char *label) {
        static const struct {
                const char *label, *sgr;
        } map[] = {
                { "PASS", "\033[32m" },     { "FLAKY", "\033[33m" },   { "FAIL", "\033[31m" },
                { "TIMEOUT", "\033[35m" },  { "CRASH", "\033[1;31m" }, { "ERROR", "\033[1;31m" },
                { "STOPPED", "\033[33m" },  { "SKIP", "\033[36m" },    { "NOTRUN", "\033[2m" },
        };
        size_t i;

        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(label, map[i].label) == 0)
                        return map[i].sgr;
        return "";
}

/* no-color.org: any non-empty NO_COLOR turns colour off, unless the
 * command line asks for it; grep's rule for TERM. */
bool sv_cli_run_color_wanted(sv_cli_color when) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

        if (when != SV_CLI_COLOR_AUTO)
                return when == SV_CLI_COLOR_ALWAYS;
        if (nc && *nc)
                return false;
        return isatty(2) && term && *term && strcmp(term, "dumb") != 0;
}

#define BAR_CELLS 20

/* "[#######-------------] " for done/total, the done part green with
 * colours; "" when it would not fit in `room` columns. */
static int fmt_bar(char *buf, size_t n, const sv_runner_progress *p, bool colour, unsigned room) {
        char cells[BAR_CELLS + 1];
        size_t fill = p->total ? p->done * BAR_CELLS / p->total : 0, i;

        if (room < BAR_CELLS + 3) {
                buf[0] = '\0';
                return 0;
        }
        for (i = 0; i < BAR_CELLS; i++)
                cells[i] = i < fill ? '#' : '-';
        cells[BAR_CELLS] = '\0';
        if (!colour)
                return snprintf(buf, n, "[%s] ", cells);
        return snprintf(buf, n, "[%s%.*s\033[0m%s] ", p->failed ? "\033[31m" : "\033[32m",
                        (int) fill, cells, cells + fill);
}

/* "[12/40] [########------------] running 2, failed 1, 0:03 elapsed, ETA
 * 0:07", cut to the terminal's width (a wrapped line could not be erased
 * with \r and erase-line); the bar is the first thing to go. */
void sv_cli_run_progress_draw(sv_cli_run_state *st) {
        char buf[320], head[32], tail[160], bar[96], el[32], eta[32];
        unsigned cols, room;
        sv_runner_progress p;
        size_t hl, tl;
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
        hl = (size_t) snprintf(head, sizeof(head), "[%zu/%zu] ", p.done, p.total);
        tl = (size_t) snprintf(tail, sizeof(tail), "running %u, failed %u, %s elapsed, ETA %s",
                               p.running, p.failed, el, eta);
        cols = sv_cli_stderr_cols();
        room = cols ? (cols - 1 > hl + tl ? (unsigned) (cols - 1 - hl - tl) : 0) : BAR_CELLS + 3;
        (void) fmt_bar(bar, sizeof(bar), &p, st->color, room);
        if (cols && hl + tl > cols - 1) {
                /* Too narrow even without the bar: as much as fits. */
                tl = hl < cols - 1 ? cols - 1 - hl : 0;
                tail[tl] = '\0';
        }
        n = snprintf(buf, sizeof(buf), "\r\033[K%s%s%s", head, bar, tail);
        if (n > 0 && (size_t) n < sizeof(buf) && sv_write_all(2, buf, (size_t) n) == 0)
                st->progress_shown = true;
}

void sv_cli_run_on_progress_timer(uv_timer_t *t) {
        sv_cli_run_progress_draw(t->data);
}

/* The runner calls us before it has freed the slot and counted the job's
 * failure, so the line is drawn on the next turn of the loop, once for a
 * burst of events. */
static void redraw_soon(sv_cli_run_state *st) {
        if (st->progress_init)
                (void) uv_timer_start(&st->progress, sv_cli_run_on_progress_timer, 0,
                                      SV_CLI_RUN_PROGRESS_MS);
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
        const char *jn = st->list.jobs[a->job].name, *how = a->how, *pre;
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
        pre = st->color ? label_colour(label) : "";
        n = snprintf(buf, sizeof(buf), "[%*zu/%zu] %s%s%s%*s %11s  %s%s%s%s\n", width, p.done,
                     p.total, pre, label, *pre ? "\033[0m" : "", (int) (7 - strlen(label)) > 0 ?
                     (int) (7 - strlen(label)) : 0, "", secs, name ? name : "?",
                     how && *how ? ": " : "", how ? how : "", note ? note : "");
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

/* ---- Where the diagnostics went ---- */

static const char *const diag_kind_names[] = { "snapshot", "on-timeout", "leaks" };

/* Diagnostics of one short line that the terminal shows as they are,
 * under the status line: the directory --keep-failed kept ("workdir"), and
 * which regular expression decided a verdict ("verdict"). The others (the
 * process tree, kernel stacks) get the one "diagnostics" line instead. */
static bool is_note_kind(const char *kind, size_t n) {
        return (n == 7 && strncmp(kind, "workdir", 7) == 0) ||
               (n == 7 && strncmp(kind, "verdict", 7) == 0);
}

void sv_cli_run_on_event(sv_runner *rn, const sv_run_event *ev, void *ud) {
        sv_cli_run_state *st = ud;
        uint64_t lines = sv_report_events_lines(st->rep);
        unsigned k;

        (void) rn;
        if (ev->type == SV_RUN_EV_SPAWN)
                redraw_soon(st);
        if (ev->type == SV_RUN_EV_DIAG && st->diag_line && ev->job < st->list.count &&
            !(ev->reason && is_note_kind(ev->reason, strlen(ev->reason)))) {
                for (k = 0; k < 3 && (!ev->reason || strcmp(ev->reason, diag_kind_names[k]) != 0); k++)
                        ;
                st->diag_kinds[ev->job] |= (unsigned char) (1u << k);
                /* The line it went to, if it was written. */
                if (lines > st->events_seen && !st->diag_line[ev->job])
                        st->diag_line[ev->job] = lines;
        }
        st->events_seen = lines;
}

static void put_place(FILE *m, int *count, const char *what, const char *path) {
        fputs(*count ? ", " : ": ", m);
        if (what)
                fputs(what, m);
        sv_text_put_term(m, path, strlen(path));
        (*count)++;
}

/* One line instead of the diagnostics themselves (the process tree, kernel
 * stacks, the --on-timeout output), which go to the files that keep them:
 * "diagnostics (snapshot): logs/1-hang.log, events ev.jsonl line 5, JUnit
 * r.xml". */
static void diag_line(sv_cli_run_state *st, const sv_run_attempt *a) {
        const sv_cli_run_opts *o = st->o;
        unsigned kinds = st->diag_kinds ? st->diag_kinds[a->job] : 0, k;
        char *text = NULL, path[4096], what[64];
        size_t len = 0;
        int count = 0;
        FILE *m;

        m = sv_cli_find_memstream(&text, &len); /* Windows has no open_memstream */
        if (!m)
                return;
        fputs("    diagnostics", m);
        for (k = 0; k < 4; k++)
                if (kinds & (1u << k))
                        fprintf(m, "%s%s", kinds & ((1u << k) - 1) ? ", " : " (",
                                k < 3 ? diag_kind_names[k] : "other");
        fputs(kinds ? ")" : "", m);
        if (o->logs && sv_runner_log_path(st->rn, a->job, path, sizeof(path)) == 0)
                put_place(m, &count, NULL, path);
        if (o->events && st->diag_line && st->diag_line[a->job]) {
                snprintf(what, sizeof(what), "line %llu of events ",
                         (unsigned long long) st->diag_line[a->job]);
                put_place(m, &count, what, o->events);
        }
        if (o->junit)
                put_place(m, &count, "JUnit ", o->junit);
        if (o->tap)
                put_place(m, &count, "TAP ", o->tap);
        if (!count)
                fputs(": not kept; --logs DIR, --events FILE, --junit FILE or --tap FILE keeps "
                      "them", m);
        fputc('\n', m);
        if (sv_cli_find_memstream_close(m) == 0) {
                sv_cli_run_progress_clear(st);
                err_write(st, text, len);
        }
        free(text);
}

/* The kind of the "--- kind ---" header at p, or NULL; *n its length. */
static const char *block_kind(const char *p, const char *end, size_t *n) {
        const char *k = p + 4, *q;

        if (end - p < 9 || strncmp(p, "--- ", 4) != 0)
                return NULL;
        q = memchr(k, ' ', (size_t) (end - k));
        if (!q || end - q < 5 || strncmp(q, " ---\n", 5) != 0)
                return NULL;
        *n = (size_t) (q - k);
        return k;
}

/* The attempt's diagnostics hold a block that is not a note? */
static bool has_hang_diag(const sv_run_attempt *a) {
        const char *p = a->diag, *end = a->diag + a->diag_len, *k;
        size_t n;

        while (p && p < end) {
                k = block_kind(p, end, &n);
                if (k && !is_note_kind(k, n))
                        return true;
                p = memchr(p, '\n', (size_t) (end - p));
                p = p ? p + 1 : NULL;
        }
        return false;
}

/* The note blocks' lines, indented under the status line and escaped for
 * the terminal (a path or a regular expression is anyone's bytes). */
static void note_lines(sv_cli_run_state *st, const sv_run_attempt *a) {
        const char *p = a->diag, *end = a->diag + a->diag_len, *q, *k;
        char *text = NULL;
        bool in_note = false;
        size_t n, len = 0;
        FILE *m = sv_cli_find_memstream(&text, &len);

        if (!m)
                return;
        while (p && p < end) {
                q = memchr(p, '\n', (size_t) (end - p));
                q = q ? q + 1 : end;
                k = block_kind(p, end, &n);
                if (k)
                        in_note = is_note_kind(k, n);
                else if (in_note) {
                        fputs("    ", m);
                        sv_text_put_term(m, p, (size_t) (q - p) - (q[-1] == '\n'));
                        fputc('\n', m);
                }
                p = q;
        }
        if (sv_cli_find_memstream_close(m) == 0 && len)
                err_write(st, text, len);
        free(text);
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
        if (a->diag && !st->o->quiet && has_hang_diag(a))
                diag_line(st, a);
        if (a->diag && !st->o->quiet)
                note_lines(st, a);
        if (!st->o->tag)
                print_output(st, a);
        if (st->diag_line) {
                st->diag_line[a->job] = 0;
                st->diag_kinds[a->job] = 0;
        }
        redraw_soon(st);
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
