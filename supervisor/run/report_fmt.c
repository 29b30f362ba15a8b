/* report_fmt.c - renders a run report as JUnit XML, TAP 13 and the summary
 * for humans. It reads only the records report.c built from events, writes
 * only to the FILE* it is given, and escapes every byte that came from a job
 * (names, argv, output) for the format it writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "run/report_internal.h"

/* ---- Shared pieces ---- */

/* 0, or why writing to f failed: errno still holds the failed write's
 * error (nothing after it sets errno without failing), UV_EIO if unknown. */
int sv__write_result(FILE *f) {
        int e = errno;

        if (fflush(f) == 0 && !ferror(f))
                return 0;
        if (errno)
                e = errno;
        return e ? -e : UV_EIO;
}

static void fmt_secs(char buf[32], uint64_t ms) {
        (void) snprintf(buf, 32, "%llu.%03llu", (unsigned long long) (ms / 1000),
                        (unsigned long long) (ms % 1000));
}

/* The command as one readable line, each word quoted if it needs it. */
void sv__command_line(sv__buf *b, char *const *argv) {
        size_t i;
        const char *p;

        for (i = 0; argv && argv[i]; i++) {
                if (i)
                        (void) sv__buf_addc(b, ' ');
                if (argv[i][0] && strpbrk(argv[i], " \t\n'\"\\|&;<>()$`*?[#~") == NULL) {
                        (void) sv__buf_adds(b, argv[i]);
                        continue;
                }
                (void) sv__buf_addc(b, '\'');
                for (p = argv[i]; *p; p++) {
                        if (*p == '\'')
                                (void) sv__buf_adds(b, "'\\''");
                        else
                                (void) sv__buf_addc(b, *p);
                }
                (void) sv__buf_addc(b, '\'');
        }
}

/* One line saying how the attempt ended, e.g. "killed by SIGSEGV (-11), core
 * dumped" or "timed out after 10.000 s; SIGKILL (-9)": sv_exit_describe's,
 * with the run's own knowledge (the job's timeout, why we stopped it, the
 * leaks its events counted) filled in. */
static void describe(sv__buf *b, const sv__jobrec *jr, const sv__attempt *a) {
        sv_exit_info e = a->exit;
        char line[512];

        switch (a->verdict) {
        case SV_VERDICT_ERROR:
                /* Not started on purpose (sched.c): a "not run" diagnostic
                 * says why. */
                if (a->error == UV_ECANCELED && a->diag &&
                    strncmp(a->diag, "--- not run ---\n", 16) == 0) {
                        (void) sv__buf_printf(b, "not run: %.*s", (int) strcspn(a->diag + 16, "\n"),
                                              a->diag + 16);
                        return;
                }
                (void) sv__buf_printf(b, "could not start: %s (%s)", uv_strerror(a->error),
                                      uv_err_name(a->error));
                return;
        case SV_VERDICT_NOTRUN:
                (void) sv__buf_adds(b, "not run");
                return;
        default:
                break;
        }
        if (!a->has_exit) {
                /* Only the verdict is known: its words, without an exit. */
                if (a->verdict == SV_VERDICT_TIMEOUT) {
                        fmt_secs(line, jr->timeout_ms);
                        (void) sv__buf_printf(b, "timed out after %s s; ", line);
                } else if (a->verdict == SV_VERDICT_STOPPED) {
                        (void) sv__buf_printf(b, "stopped by supervise (%s); ",
                                              a->stop_reason ? a->stop_reason : "stop");
                }
                return;
        }
        if (!e.timeout_ms)
                e.timeout_ms = jr->timeout_ms;
        e.reason = a->stop_reason ? a->stop_reason : "stop";
        e.leaks = NULL;
        (void) sv_exit_describe(&e, 0, line, sizeof(line));
        (void) sv__buf_adds(b, line);
        if (a->verdict == SV_VERDICT_FAIL && e.exited && e.code == 0 && (jr->flags & SV_JOB_WILL_FAIL))
                (void) sv__buf_adds(b, ", but the job is expected to fail");
        if (a->leaked)
                (void) sv__buf_printf(b, ", %u process%s left behind", a->leaked,
                                      a->leaked == 1 ? "" : "es");
}

/* The details of a failed attempt: what ran, how it ended, diagnostics. */
static void details(sv__buf *b, const sv__jobrec *jr, const sv__attempt *a) {
        const sv_exit_info *e = &a->exit;

        (void) sv__buf_adds(b, "command: ");
        sv__command_line(b, jr->argv);
        (void) sv__buf_printf(b, "\nverdict: %s\nresult: ", sv_verdict_name(a->verdict));
        describe(b, jr, a);
        (void) sv__buf_printf(b, "\nattempt: %u of %zu\n", a->attempt, jr->natt);
        if (a->has_exit)
                (void) sv__buf_printf(b,
                                      "pid: %d\ncause: %s\nwall_ms: %llu\nuser_ms: %llu\n"
                                      "sys_ms: %llu\nmax_rss_kb: %llu\n",
                                      (int) e->pid, sv_cause_name(e->cause),
                                      (unsigned long long) (e->wall_us / 1000),
                                      (unsigned long long) (e->user_us / 1000),
                                      (unsigned long long) (e->sys_us / 1000),
                                      (unsigned long long) e->max_rss_kb);
        if (a->diag) {
                (void) sv__buf_adds(b, "\n");
                (void) sv__buf_add(b, a->diag, a->diag_len);
        }
}

static bool failed(sv_verdict v) {
        return v == SV_VERDICT_FAIL || v == SV_VERDICT_TIMEOUT || v == SV_VERDICT_CRASH ||
               v == SV_VERDICT_STOPPED;
}

/* ---- JUnit XML ---- */

/* XML 1.0 allows no C0 control but tab, LF and CR, no U+FFFE/U+FFFF, and no
 * character reference can smuggle them in. They, and bytes that are not
 * UTF-8, are shown as "\xNN" text (sv_text_escape's scheme); U+FFFE and
 * U+FFFF as "\uFFFE" and "\uFFFF". */
void sv__xml_escape(FILE *f, const char *raw, size_t rawlen, bool attr) {
        sv__buf t = SV__BUF_INIT;
        const unsigned char *u;
        const char *s;
        size_t i = 0, k, n;

        (void) sv__buf_add_text(&t, raw, rawlen, SV_TEXT_CONTROLS | SV_TEXT_KEEP_LINES);
        s = t.p ? t.p : "";
        n = t.len;
        u = (const unsigned char *) s;
        while (i < n) {
                k = sv__utf8_seq(u + i, n - i);
                if (k == 3 && u[i] == 0xef && u[i + 1] == 0xbf &&
                    (u[i + 2] == 0xbe || u[i + 2] == 0xbf)) {
                        (void) fprintf(f, "\\u%s", u[i + 2] == 0xbe ? "FFFE" : "FFFF");
                } else if (k != 1) {
                        (void) fwrite(s + i, 1, k, f);
                } else {
                        switch (u[i]) {
                        case '&': (void) fputs("&amp;", f); break;
                        case '<': (void) fputs("&lt;", f); break;
                        case '>': (void) fputs("&gt;", f); break;
                        case '"': (void) fputs(attr ? "&quot;" : "\"", f); break;
                        case '\'': (void) fputs(attr ? "&apos;" : "'", f); break;
                        /* A raw CR would be read back as LF; a raw tab or LF in
                         * an attribute as a space. */
                        case '\r': (void) fputs("&#13;", f); break;
                        case '\n': (void) fputs(attr ? "&#10;" : "\n", f); break;
                        case '\t': (void) fputs(attr ? "&#9;" : "\t", f); break;
                        default: (void) fputc(u[i], f);
                        }
                }
                i += k ? k : 1;
        }
        sv__buf_release(&t);
}

static void xml_s(FILE *f, const char *s, bool attr) {
        if (s)
                sv__xml_escape(f, s, strlen(s), attr);
}

static void junit_failure(FILE *f, const char *tag, const sv__jobrec *jr, const sv__attempt *a,
                          bool with_output) {
        sv__buf msg = SV__BUF_INIT, body = SV__BUF_INIT;
        char sig[16];
        const char *type;

        describe(&msg, jr, a);
        details(&body, jr, a);
        if (a->verdict == SV_VERDICT_CRASH && a->has_exit && a->exit.signal)
                type = sv_run_signame(a->exit.signal, sig);
        else
                type = sv_verdict_name(a->verdict);
        (void) fprintf(f, "      <%s message=\"", tag);
        if (msg.p)
                sv__xml_escape(f, msg.p, msg.len, true);
        (void) fputs("\" type=\"", f);
        xml_s(f, type, true);
        (void) fputs("\">", f);
        if (with_output) {
                /* Surefire's flaky/rerun elements carry their own output. */
                (void) fputs("\n        <stackTrace>", f);
                if (body.p)
                        sv__xml_escape(f, body.p, body.len, false);
                (void) fputs("</stackTrace>\n        <system-out>", f);
                if (a->output)
                        sv__xml_escape(f, a->output, a->output_len, false);
                (void) fprintf(f, "</system-out>\n      </%s>\n", tag);
        } else {
                if (body.p)
                        sv__xml_escape(f, body.p, body.len, false);
                (void) fprintf(f, "</%s>\n", tag);
        }
        sv__buf_release(&msg);
        sv__buf_release(&body);
}

static void junit_case(FILE *f, const sv__jobrec *jr, const char *suite) {
        const sv__attempt *last = sv__last_finished(jr);
        sv_verdict v = sv__job_verdict(jr);
        bool flaky = sv__job_flaky(jr);
        char secs[32];
        size_t i;

        fmt_secs(secs, sv__job_wall_ms(jr));
        (void) fputs("    <testcase name=\"", f);
        xml_s(f, jr->name, true);
        (void) fputs("\" classname=\"", f);
        xml_s(f, suite, true);
        (void) fprintf(f, "\" time=\"%s\">\n", secs);
        if (flaky || jr->natt > 1) {
                (void) fprintf(f, "      <properties>\n");
                if (flaky)
                        (void) fprintf(f, "        <property name=\"flaky\" value=\"true\"/>\n");
                (void) fprintf(f, "        <property name=\"attempts\" value=\"%zu\"/>\n",
                               jr->natt);
                (void) fprintf(f, "      </properties>\n");
        }
        if (v == SV_VERDICT_SKIP || v == SV_VERDICT_NOTRUN) {
                (void) fputs("      <skipped message=\"", f);
                if (jr->skipped)
                        xml_s(f, jr->skip_reason ? jr->skip_reason : "skipped", true);
                else
                        xml_s(f, v == SV_VERDICT_SKIP ? "skipped by the job" : "not run", true);
                (void) fputs("\"/>\n", f);
        } else if (v == SV_VERDICT_ERROR) {
                junit_failure(f, "error", jr, last, false);
        } else if (failed(v)) {
                junit_failure(f, "failure", jr, last, false);
        }
        /* Earlier failed attempts: flakyFailure if the job passed in the end,
         * rerunFailure if it never did (surefire's convention). */
        for (i = 0; i < jr->natt; i++) {
                const sv__attempt *a = &jr->att[i];

                if (a == last || !a->finished ||
                    !(failed(a->verdict) || a->verdict == SV_VERDICT_ERROR))
                        continue;
                junit_failure(f, flaky ? "flakyFailure" : "rerunFailure", jr, a, true);
        }
        if (last && last->output) {
                (void) fputs("      <system-out>", f);
                sv__xml_escape(f, last->output, last->output_len, false);
                (void) fputs("</system-out>\n", f);
        }
        (void) fputs("    </testcase>\n", f);
}

int sv_report_write_junit(const sv_report *r, FILE *f, const char *suite) {
        sv_report_counts c;
        char secs[32], when[32];
        time_t t;
        struct tm tm;
        size_t i;

        if (!suite)
                suite = "supervise";
        sv_report_get_counts(r, &c);
        fmt_secs(secs, c.wall_ms);
        t = (time_t) (r->unix_ms / 1000);
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                (void) snprintf(when, sizeof(when), "1970-01-01T00:00:00");

        (void) fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
        (void) fputs("<testsuites name=\"", f);
        xml_s(f, suite, true);
        (void) fprintf(f,
                       "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%s\">\n",
                       c.total, c.failed + c.timed_out + c.crashed + c.stopped, c.errors,
                       c.skipped + c.not_run, secs);
        (void) fputs("  <testsuite name=\"", f);
        xml_s(f, suite, true);
        (void) fprintf(f,
                       "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%s\" "
                       "timestamp=\"%s\">\n",
                       c.total, c.failed + c.timed_out + c.crashed + c.stopped, c.errors,
                       c.skipped + c.not_run, secs, when);
        for (i = 0; i < r->njobs; i++)
                junit_case(f, &r->jobs[i], suite);
        (void) fputs("  </testsuite>\n</testsuites>\n", f);
        return sv__write_result(f);
}

/* ---- TAP 13 ---- */

/* A name on one line, escaped as sv_text_escape's terminal form (controls
 * and bytes that are not UTF-8 as \xNN, '\\' doubled). In a TAP description
 * '#' would start a directive, so it is escaped too. */
static void name_out(FILE *f, const char *s, bool tap) {
        sv__buf b = SV__BUF_INIT;
        size_t i;

        (void) sv__buf_add_text(&b, s, strlen(s), SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH);
        for (i = 0; b.p && i < b.len; i++) {
                if (tap && b.p[i] == '#')
                        (void) fputc('\\', f);
                (void) fputc(b.p[i], f);
        }
        sv__buf_release(&b);
}

/* A YAML double-quoted scalar on one line, with the escapes TAP::Parser's
 * YAMLish reader knows (\\ \" \n \r \t \xNN). Control characters, NUL
 * included, are YAML escapes and read back as themselves; bytes that are not
 * UTF-8 read back as the text "\xNN" (sv_text_escape's scheme). */
static void yaml_strn(FILE *f, const char *s, size_t n) {
        sv__buf b = SV__BUF_INIT;
        size_t i;

        if (!s) {
                (void) fputs("~", f);
                return;
        }
        (void) sv__buf_add_text(&b, s, n, 0);
        (void) fputc('"', f);
        for (i = 0; b.p && i < b.len; i++) {
                unsigned char c = (unsigned char) b.p[i];

                switch (c) {
                case '"': (void) fputs("\\\"", f); break;
                case '\\': (void) fputs("\\\\", f); break;
                case '\n': (void) fputs("\\n", f); break;
                case '\r': (void) fputs("\\r", f); break;
                case '\t': (void) fputs("\\t", f); break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                (void) fprintf(f, "\\x%02X", c);
                        else
                                (void) fputc(c, f);
                }
        }
        (void) fputc('"', f);
        sv__buf_release(&b);
}

static void yaml_str(FILE *f, const char *s) {
        yaml_strn(f, s, s ? strlen(s) : 0);
}

static void tap_yaml(FILE *f, const sv__jobrec *jr, const sv__attempt *a, bool flaky) {
        sv__buf b = SV__BUF_INIT;
        const sv_exit_info *e = &a->exit;
        char sig[16];

        (void) fputs("  ---\n", f);
        (void) fprintf(f, "  verdict: %s\n", sv_verdict_name(a->verdict));
        describe(&b, jr, a);
        (void) fputs("  message: ", f);
        yaml_str(f, b.p ? b.p : "");
        (void) fputc('\n', f);
        sv__buf_release(&b);
        if (a->has_exit) {
                (void) fprintf(f, "  code: %d\n", e->code);
                (void) fprintf(f, "  signal: %s\n",
                               e->signal ? sv_run_signame(e->signal, sig) : "~");
                (void) fprintf(f, "  core_dumped: %s\n", e->core_dumped ? "true" : "false");
                (void) fprintf(f, "  timed_out: %s\n",
                               e->cause == SV_CAUSE_TIMEOUT ? "true" : "false");
                (void) fprintf(f, "  wall_ms: %llu\n", (unsigned long long) (e->wall_us / 1000));
        }
        (void) fprintf(f, "  attempts: %zu\n", jr->natt);
        if (flaky)
                (void) fputs("  flaky: true\n", f);
        sv__command_line(&b, jr->argv);
        (void) fputs("  command: ", f);
        yaml_str(f, b.p ? b.p : "");
        (void) fputc('\n', f);
        sv__buf_release(&b);
        if (!flaky && a->diag) {
                (void) fputs("  diagnostics: ", f);
                yaml_strn(f, a->diag, a->diag_len);
                (void) fputc('\n', f);
        }
        if (!flaky && a->output) {
                (void) fputs("  output: ", f);
                yaml_strn(f, a->output, a->output_len);
                (void) fputc('\n', f);
        }
        (void) fputs("  ...\n", f);
}

int sv_report_write_tap(const sv_report *r, FILE *f) {
        size_t i;

        (void) fputs("TAP version 13\n", f);
        (void) fprintf(f, "1..%zu\n", r->njobs);
        for (i = 0; i < r->njobs; i++) {
                const sv__jobrec *jr = &r->jobs[i];
                const sv__attempt *a = sv__last_finished(jr);
                sv_verdict v = sv__job_verdict(jr);
                bool flaky = sv__job_flaky(jr);

                (void) fprintf(f, "%s %zu - ",
                               v == SV_VERDICT_PASS || v == SV_VERDICT_SKIP ? "ok" : "not ok", i + 1);
                name_out(f, jr->name, true);
                if (v == SV_VERDICT_SKIP) {
                        (void) fputs(" # SKIP ", f);
                        name_out(f, jr->skipped && jr->skip_reason ? jr->skip_reason : "skipped",
                                 true);
                }
                (void) fputc('\n', f);
                if (a && (flaky || (v != SV_VERDICT_PASS && v != SV_VERDICT_SKIP)))
                        tap_yaml(f, jr, a, flaky);
                else if (v == SV_VERDICT_NOTRUN)
                        (void) fputs("  ---\n  verdict: notrun\n  ...\n", f);
        }
        return sv__write_result(f);
}

/* ---- Summary ---- */

static int cmp_slow(const void *x, const void *y) {
        uint64_t a = sv__job_wall_ms(*(const sv__jobrec *const *) x);
        uint64_t b = sv__job_wall_ms(*(const sv__jobrec *const *) y);

        return a < b ? 1 : a > b ? -1 : 0;
}

/* "SIGSEGV, SIGABRT": each crashing signal once, in job order. */
static void crash_signals(const sv_report *r, sv__buf *b) {
        int seen[64];
        size_t nseen = 0, i, k;
        char sig[16];

        for (i = 0; i < r->njobs; i++) {
                const sv__attempt *a = sv__last_finished(&r->jobs[i]);
                int s;

                if (!a || a->verdict != SV_VERDICT_CRASH || !a->has_exit)
                        continue;
                s = a->exit.signal;
                for (k = 0; k < nseen && seen[k] != s; k++)
                        ;
                if (k < nseen || nseen == sizeof(seen) / sizeof(seen[0]))
                        continue;
                seen[nseen++] = s;
                (void) sv__buf_printf(b, "%s%s", nseen > 1 ? ", " : "", sv_run_signame(s, sig));
        }
}

static const char *verdict_label(sv_verdict v) {
        switch (v) {
        case SV_VERDICT_FAIL: return "FAIL";
        case SV_VERDICT_TIMEOUT: return "TIMEOUT";
        case SV_VERDICT_CRASH: return "CRASH";
        case SV_VERDICT_STOPPED: return "STOPPED";
        case SV_VERDICT_ERROR: return "ERROR";
        case SV_VERDICT_NOTRUN: return "NOT RUN";
        default: return "PASS";
        }
}

int sv_report_write_summary(const sv_report *r, FILE *f) {
        sv__buf b = SV__BUF_INIT;
        const sv__jobrec **v;
        sv_report_counts c;
        char secs[32];
        size_t i, n;

        sv_report_get_counts(r, &c);
        fmt_secs(secs, c.wall_ms);
        for (i = 0; i < r->njobs; i++) {
                const sv__jobrec *jr = &r->jobs[i];
                const sv__attempt *a = sv__last_finished(jr);
                sv_verdict vd = sv__job_verdict(jr);

                if (sv__job_flaky(jr)) {
                        (void) fputs("FLAKY    ", f);
                        name_out(f, jr->name, false);
                        (void) fprintf(f, ": passed on attempt %u of %zu\n", a->attempt, jr->natt);
                        continue;
                }
                if (vd == SV_VERDICT_PASS || vd == SV_VERDICT_SKIP || vd == SV_VERDICT_NOTRUN)
                        continue;
                (void) fprintf(f, "%-8s ", verdict_label(vd));
                name_out(f, jr->name, false);
                describe(&b, jr, a);
                (void) fprintf(f, ": %s\n", b.p ? b.p : "");
                sv__buf_reset(&b);
        }
        (void) fprintf(f, "%u jobs: %u passed, %u failed, %u timed out, %u crashed", c.total,
                       c.passed, c.failed, c.timed_out, c.crashed);
        if (c.crashed) {
                crash_signals(r, &b);
                (void) fprintf(f, " (%s)", b.p ? b.p : "");
        }
        (void) fprintf(f, ", %u flaky", c.flaky);
        if (c.skipped)
                (void) fprintf(f, ", %u skipped", c.skipped);
        if (c.errors)
                (void) fprintf(f, ", %u could not start", c.errors);
        if (c.stopped)
                (void) fprintf(f, ", %u stopped", c.stopped);
        if (c.not_run)
                (void) fprintf(f, ", %u not run", c.not_run);
        (void) fprintf(f, "\n");
        sv__buf_release(&b);

        v = malloc((r->njobs + 1) * sizeof(*v));
        if (v) {
                for (i = n = 0; i < r->njobs; i++)
                        if (r->jobs[i].natt > 0)
                                v[n++] = &r->jobs[i];
                qsort(v, n, sizeof(*v), cmp_slow);
                if (n > 0)
                        (void) fputs("slowest:\n", f);
                for (i = 0; i < n && i < 5; i++) {
                        char s[32];

                        fmt_secs(s, sv__job_wall_ms(v[i]));
                        (void) fprintf(f, "  %10s s  ", s);
                        name_out(f, v[i]->name, false);
                        (void) fputc('\n', f);
                }
                free(v);
        }
        (void) fprintf(f, "total time: %s s\n", secs);
        return sv__write_result(f);
}
