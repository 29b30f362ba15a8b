/* report_html.c - renders a run report as one self-contained HTML page: a
 * Gantt chart of the runner's slots (inline SVG, one bar per attempt), a
 * legend, a time axis and a table of every job. It reads only the records
 * report.c built from events and writes only to the FILE* it is given. The
 * page needs nothing from the network and no script: hover text is SVG
 * <title>. It is also well-formed XML, so both HTML and XML parsers read it,
 * and every byte that came from a job is escaped by sv__xml_escape(). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "run/report_internal.h"

#define LEFT 72     /* px: the slot labels' column */
#define WIDTH 960   /* px: the time axis */
#define TOP 56      /* px: legend and axis labels above the first row */
#define ROW 26      /* px: one slot */
#define BAR 18      /* px: a bar's height */
#define CHAR_PX 7   /* px: an estimate of one label character, to fit names in bars */

/* The page's colours, one per verdict, in sv_verdict's order. */
static const char *const colours[] = {
        "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#546e7a", "#9e9e9e", "#4e342e", "#bdbdbd",
};
_Static_assert(sizeof(colours) / sizeof(colours[0]) == SV_VERDICT_COUNT, "one colour per verdict");

typedef struct span {
        uint64_t end_ms;  /* the run's length: the axis */
        unsigned nslots;  /* rows */
        size_t attempts;  /* bars */
} span;

static void measure(const sv_report *r, span *s) {
        size_t i, k;

        memset(s, 0, sizeof(*s));
        s->end_ms = r->ended ? r->end_ms : r->last_t_ms;
        s->nslots = r->parallel;
        for (i = 0; i < r->njobs; i++)
                for (k = 0; k < r->jobs[i].natt; k++) {
                        const sv__attempt *a = &r->jobs[i].att[k];

                        if (!a->spawned)
                                continue;
                        s->attempts++;
                        if (a->slot + 1 > s->nslots)
                                s->nslots = a->slot + 1;
                        if (a->end_ms > s->end_ms)
                                s->end_ms = a->end_ms;
                }
        if (s->nslots == 0)
                s->nslots = 1;
        if (s->end_ms == 0)
                s->end_ms = 1;
}

static double xpos(const span *s, uint64_t t_ms) {
        return LEFT + (double) t_ms * WIDTH / (double) s->end_ms;
}

static void fmt_secs(char buf[32], uint64_t ms) {
        (void) snprintf(buf, 32, "%llu.%03llu s", (unsigned long long) (ms / 1000),
                        (unsigned long long) (ms % 1000));
}

/* An attempt's end: its EXIT, or the end of the run if none came. */
static uint64_t attempt_end(const span *s, const sv__attempt *a) {
        if (!a->finished || a->end_ms < a->start_ms)
                return s->end_ms;
        return a->end_ms;
}

/* "1", "-9 (SIGKILL)" as the exit record's `code` says it, or why there is
 * none. */
static void exit_text(sv__buf *b, const sv__attempt *a) {
        char sig[16];

        if (!a->finished)
                (void) sv__buf_adds(b, "none (still running when the run ended)");
        else if (a->verdict == SV_VERDICT_ERROR)
                (void) sv__buf_printf(b, "none (could not start: %s)", uv_strerror(a->error));
        else if (!a->has_exit)
                (void) sv__buf_adds(b, "none");
        else if (a->exit.exited)
                (void) sv__buf_printf(b, "%d", a->exit.code);
        else
                (void) sv__buf_printf(b, "%d (%s)", -a->exit.signal,
                                      sv_signal_name_r(a->exit.signal, sig));
}

/* An attempt's start: SPAWN's time is after the spawn call returned, which
 * may take a while in a burst; the exit record's wall time counts from
 * before it, so the bar is as long as the duration it shows. */
static uint64_t attempt_start(const span *s, const sv__attempt *a) {
        uint64_t end = attempt_end(s, a), wall = a->exit.wall_us / 1000;

        if (a->has_exit && end >= wall && end - wall < a->start_ms)
                return end - wall;
        return a->start_ms;
}

static uint64_t attempt_ms(const span *s, const sv__attempt *a) {
        if (a->has_exit)
                return a->exit.wall_us / 1000;
        return attempt_end(s, a) - attempt_start(s, a);
}

static sv_verdict attempt_verdict(const sv__attempt *a) {
        return a->finished ? a->verdict : SV_VERDICT_NOTRUN;
}

/* ---- The chart ---- */

static void put_style(FILE *f) {
        unsigned v;

        (void) fputs("<style>\n"
                     "body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222;background:#fff}\n"
                     "h1{font-size:1.3em}\n"
                     "svg{max-width:100%;height:auto;display:block}\n"
                     "svg text{font:12px sans-serif;fill:#222}\n"
                     "svg .axis line{stroke:#ccc}\n"
                     "svg .row{fill:#f6f6f6}\n"
                     "svg g.bar text{fill:#fff;pointer-events:none}\n"
                     "svg g.bar:hover rect{stroke:#000;stroke-width:2}\n"
                     "table{border-collapse:collapse;margin-top:1.5em}\n"
                     "th,td{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}\n"
                     "td.num{text-align:right}\n"
                     "td code{white-space:pre-wrap;word-break:break-all}\n",
                     f);
        for (v = 0; v < SV_VERDICT_COUNT; v++)
                (void) fprintf(f, ".v-%s{fill:%s}\nspan.v-%s{color:%s;font-weight:bold}\n",
                               sv_verdict_name((sv_verdict) v), colours[v],
                               sv_verdict_name((sv_verdict) v), colours[v]);
        (void) fputs("</style>\n", f);
}

static void put_legend(FILE *f) {
        unsigned v;

        (void) fputs("<g class=\"legend\">\n", f);
        for (v = 0; v < SV_VERDICT_COUNT; v++) {
                double x = LEFT + v * 110.0;

                (void) fprintf(f, "<rect class=\"v-%s\" x=\"%.1f\" y=\"4\" width=\"12\" height=\"12\"/>"
                                  "<text x=\"%.1f\" y=\"15\">%s</text>\n",
                               sv_verdict_name((sv_verdict) v), x, x + 16,
                               sv_verdict_name((sv_verdict) v));
        }
        (void) fputs("</g>\n", f);
}

/* 1, 2 or 5 times a power of ten, in ms, for at most 10 ticks. */
static uint64_t tick_step(uint64_t total) {
        static const uint64_t m[] = { 1, 2, 5 };
        uint64_t p = 1;
        unsigned i;

        for (;;) {
                for (i = 0; i < 3; i++)
                        if (total / (m[i] * p) <= 10)
                                return m[i] * p;
                p *= 10;
        }
}

static void put_axis(FILE *f, const span *s) {
        uint64_t step = tick_step(s->end_ms), t;
        double bottom = TOP + (double) s->nslots * ROW;
        unsigned i;

        (void) fputs("<g class=\"axis\">\n", f);
        for (i = 0; i < s->nslots; i++)
                (void) fprintf(f, "<rect class=\"row\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
                                  "<text x=\"4\" y=\"%d\">slot %u</text>\n",
                               LEFT, TOP + (int) i * ROW + 1, WIDTH, ROW - 2,
                               TOP + (int) i * ROW + ROW / 2 + 4, i);
        for (t = 0; t <= s->end_ms; t += step) {
                double x = xpos(s, t);

                (void) fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                                  "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g s</text>\n",
                               x, TOP - 6, x, bottom, x, TOP - 10, (double) t / 1000.0);
        }
        (void) fputs("</g>\n", f);
}

/* One bar: a group holding its hover text, its rectangle and, if it fits,
 * the job's name. */
static void put_bar(FILE *f, const span *s, const sv__jobrec *jr, const sv__attempt *a) {
        sv_verdict v = attempt_verdict(a);
        double x0 = xpos(s, attempt_start(s, a)), x1 = xpos(s, attempt_end(s, a));
        double y = TOP + (double) a->slot * ROW + (ROW - BAR) / 2.0;
        double w = x1 - x0 < 1.0 ? 1.0 : x1 - x0;
        sv__buf b = SV__BUF_INIT;
        char secs[32];

        (void) sv__buf_printf(&b, "%s (attempt %u)\ncommand: ", jr->name, a->attempt);
        sv__command_line(&b, jr->argv);
        fmt_secs(secs, attempt_ms(s, a));
        (void) sv__buf_adds(&b, "\nexit: ");
        exit_text(&b, a);
        (void) sv__buf_printf(&b, "\nduration: %s\nverdict: %s\nslot %u, from %llu ms to %llu ms",
                              secs, sv_verdict_name(v), a->slot,
                              (unsigned long long) attempt_start(s, a),
                              (unsigned long long) attempt_end(s, a));
        (void) fprintf(f, "<g class=\"bar v-%s\"><title>", sv_verdict_name(v));
        if (!b.oom)
                sv__xml_escape(f, b.p, b.len, false);
        (void) fprintf(f, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"/>",
                       x0, y, w, BAR);
        if (w >= (double) (strlen(jr->name) * CHAR_PX + 8)) {
                (void) fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x0 + 4, y + BAR - 5);
                sv__xml_escape(f, jr->name, strlen(jr->name), false);
                (void) fputs("</text>", f);
        }
        (void) fputs("</g>\n", f);
        sv__buf_release(&b);
}

static void put_chart(FILE *f, const sv_report *r, const span *s) {
        int h = TOP + (int) s->nslots * ROW + 8, w = LEFT + WIDTH + 24;
        size_t i, k;

        (void) fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                          "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"timeline: %zu attempts "
                          "in %u slots\">\n",
                       w, h, w, h, s->attempts, s->nslots);
        put_legend(f);
        put_axis(f, s);
        for (i = 0; i < r->njobs; i++)
                for (k = 0; k < r->jobs[i].natt; k++)
                        if (r->jobs[i].att[k].spawned)
                                put_bar(f, s, &r->jobs[i], &r->jobs[i].att[k]);
        (void) fputs("</svg>\n", f);
}

/* ---- The header and the table ---- */

static void put_header(FILE *f, const sv_report *r, const span *s, const char *title) {
        time_t t = (time_t) (r->unix_ms / 1000);
        sv_report_counts c;
        char when[40], secs[32];
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                (void) snprintf(when, sizeof(when), "?");
        sv_report_get_counts(r, &c);
        fmt_secs(secs, s->end_ms);
        (void) fputs("<h1>", f);
        sv__xml_escape(f, title, strlen(title), false);
        (void) fprintf(f, "</h1>\n<p>Started %s; %u jobs, %zu attempts, %u at once; %s. "
                          "%u passed (%u flaky), %u failed, %u timed out, %u crashed, "
                          "%u stopped, %u skipped, %u could not start, %u not run.</p>\n",
                       when, c.total, s->attempts, r->parallel, secs, c.passed, c.flaky, c.failed,
                       c.timed_out, c.crashed, c.stopped, c.skipped, c.errors, c.not_run);
        (void) fputs("<p>One row per slot of <code>-j</code>, one bar per attempt; hover over a "
                     "bar for its command, exit and duration.</p>\n",
                     f);
}

static void put_row(FILE *f, size_t i, const sv__jobrec *jr) {
        const sv__attempt *a = sv__last_finished(jr);
        sv_verdict v = sv__job_verdict(jr);
        sv__buf b = SV__BUF_INIT;
        char secs[32];

        (void) fprintf(f, "<tr><td class=\"num\">%zu</td><td>", i);
        sv__xml_escape(f, jr->name, strlen(jr->name), false);
        (void) fprintf(f, "</td><td><span class=\"v-%s\">%s</span>%s</td><td class=\"num\">%zu</td>",
                       sv_verdict_name(v), sv_verdict_name(v), sv__job_flaky(jr) ? " (flaky)" : "",
                       jr->natt);
        fmt_secs(secs, sv__job_wall_ms(jr));
        if (a)
                exit_text(&b, a);
        else
                (void) sv__buf_adds(&b, jr->skip_reason ? jr->skip_reason : "not run");
        (void) fprintf(f, "<td class=\"num\">%s</td><td>", secs);
        if (!b.oom)
                sv__xml_escape(f, b.p, b.len, false);
        sv__buf_reset(&b);
        sv__command_line(&b, jr->argv);
        (void) fputs("</td><td><code>", f);
        if (!b.oom)
                sv__xml_escape(f, b.p, b.len, false);
        (void) fputs("</code></td></tr>\n", f);
        sv__buf_release(&b);
}

static void put_table(FILE *f, const sv_report *r) {
        size_t i;

        (void) fputs("<table>\n<thead><tr><th>job</th><th>name</th><th>verdict</th>"
                     "<th>attempts</th><th>time</th><th>exit</th><th>command</th></tr></thead>\n"
                     "<tbody>\n",
                     f);
        for (i = 0; i < r->njobs; i++)
                put_row(f, i, &r->jobs[i]);
        (void) fputs("</tbody>\n</table>\n", f);
}

int sv_report_write_timeline(const sv_report *r, FILE *f, const char *title) {
        span s;

        if (!title)
                title = "supervise run";
        measure(r, &s);
        (void) fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                     "<title>",
                     f);
        sv__xml_escape(f, title, strlen(title), false);
        (void) fputs(": timeline</title>\n", f);
        put_style(f);
        (void) fputs("</head>\n<body>\n", f);
        put_header(f, r, &s, title);
        put_chart(f, r, &s);
        put_table(f, r);
        (void) fputs("</body>\n</html>\n", f);
        return sv__write_result(f);
}
