/* cmd_kill.c - `supervise kill`: find_opts -> libsv's finder -> signals
 * (sv_find_signal, through pidfds, never a recycled pid) -> --wait and
 * --kill-after -> the report in text or JSON -> exit code. How a signal is
 * delivered is supervisor/find/'s; this file prints and picks the code. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"
#include "supervise/sv_run.h"

static const char *sig_name(int sig, char *buf, size_t len) {
        const char *s = sv_signal_name(sig);

        if (s)
                return s;
        (void) snprintf(buf, len, "signal %d", sig);
        return buf;
}

static void report_text(const find_opts *o, const sv_find_proc *p, const sv_find_status *st) {
        char err[128], sbuf[24];
        FILE *out = st->outcome == SV_FIND_SIGNALLED || st->outcome == SV_FIND_GONE ? stdout : stderr;

        if (out == stdout && (o->quiet || o->count))
                return;
        if (out == stderr)
                fprintf(out, "supervise kill: ");
        switch (st->outcome) {
        case SV_FIND_SIGNALLED:
                fprintf(out, "sent %s to %d (", sig_name(st->signal, sbuf, sizeof(sbuf)), (int) p->pid);
                break;
        case SV_FIND_GONE:
                fprintf(out, "already gone: %d (", (int) p->pid);
                break;
        case SV_FIND_REFUSED:
                fprintf(out, "refusing to signal %s %d (", p->kthread ? "kernel thread" : "init", (int) p->pid);
                break;
        default:
                fprintf(out, "cannot signal %d (", (int) p->pid);
                break;
        }
        sv_cli_find_put_escaped(out, p->name, strlen(p->name));
        if (st->outcome == SV_FIND_FAILED)
                fprintf(out, "): %s\n", uv_strerror_r(st->err, err, sizeof(err)));
        else
                fprintf(out, ")%s\n", st->exited ? ", exited" : "");
}

static json_t *json_status(const sv_find_proc *p, const sv_find_status *st) {
        char err[128], sbuf[24];

        return json_pack("{s:i, s:o, s:s, s:o, s:o, s:b}",
                         "pid", (int) p->pid,
                         "name", sv_cli_find_json_bytes(p->name, strlen(p->name)),
                         "outcome", sv_find_outcome_name(st->outcome),
                         "signal", st->signal ? json_string(sig_name(st->signal, sbuf, sizeof(sbuf))) : json_null(),
                         "error", st->outcome == SV_FIND_FAILED ? json_string(uv_strerror_r(st->err, err, sizeof(err)))
                                                                : json_null(),
                         "exited", st->exited);
}

/* Prints the per-process outcomes and returns the exit code they add up to. */
static int kill_report(const find_opts *o, sv_find_table *t, int still_alive, unsigned escalated) {
        size_t i, n = sv_find_count(t), sent = 0, bad = 0;
        sv_find_status st;
        json_t *arr = o->json ? json_array() : NULL;
        char sbuf[24];

        for (i = 0; i < n; i++) {
                sv_find_status_get(t, i, &st);
                if (st.outcome == SV_FIND_SIGNALLED)
                        sent++;
                else if (st.outcome == SV_FIND_REFUSED || st.outcome == SV_FIND_FAILED)
                        bad++;
                if (arr)
                        (void) json_array_append_new(arr, json_status(sv_find_get(t, i), &st));
                else
                        report_text(o, sv_find_get(t, i), &st);
        }
        if (arr) {
                if (sv_cli_find_json_emit(json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:o}",
                                        "signal", sig_name(o->sig, sbuf, sizeof(sbuf)),
                                        "matched", (json_int_t) n, "signalled", (json_int_t) sent,
                                        "failed", (json_int_t) bad, "escalated", (json_int_t) escalated,
                                        "still_alive", still_alive, "processes", arr)) != 0)
                        return SV_FIND_EXIT_FATAL;
        } else {
                if (o->count)
                        printf("%zu\n", sent);
                if (still_alive > 0)
                        fprintf(stderr, "supervise kill: %d process%s still alive after waiting\n", still_alive,
                                still_alive == 1 ? "" : "es");
        }
        return bad || still_alive > 0 ? SV_FIND_EXIT_PARTIAL : SV_FIND_EXIT_OK;
}

static int do_kill(find_opts *o, sv_find_table *t) {
        unsigned escalated = 0;
        int alive = 0, r;

        sv_cli_find_raise_fd_limit(sv_find_count(t));
        r = sv_find_signal(t, o->sig);
        if (r < 0)
                return SV_FIND_EXIT_FATAL;
        if (o->kill_after_ms) {
                alive = sv_find_wait(t, (int64_t) (o->kill_after_ms > INT64_MAX ? INT64_MAX : o->kill_after_ms));
                if (alive > 0 && o->sig != SIGKILL) {
                        r = sv_find_signal(t, SIGKILL);
                        escalated = r > 0 ? (unsigned) r : 0;
                }
        }
        if (o->wait)
                alive = sv_find_wait(t, o->wait_timeout_ms);
        else
                alive = 0; /* not waiting: escalated ones are not checked again */
        if (alive < 0)
                return SV_FIND_EXIT_FATAL;
        return kill_report(o, t, alive, escalated);
}

int sv_cli_kill(int argc, char **argv) {
        find_opts o = { .cmd = "kill", .is_kill = true, .sig = SIGTERM, .wait_timeout_ms = -1 };
        sv_find_table *t = NULL;
        char sbuf[24], mark[64];
        int rc;

        rc = sv_cli_find_parse_args(&o, argc, argv);
        if (rc)
                goto out;
        if (!o.dry_run)
                o.f.flags |= SV_FIND_NO_DETAILS;
        rc = sv_cli_find_scan(o.cmd, &o.f, &t);
        if (rc)
                goto out;
        if (sv_find_count(t) == 0) {
                if (o.json)
                        (void) sv_cli_find_json_emit(json_pack("{s:s, s:i, s:[]}", "signal", sig_name(o.sig, sbuf, sizeof(sbuf)),
                                                   "matched", 0, "processes"));
                else if (o.count)
                        printf("0\n");
                rc = SV_FIND_EXIT_NONE;
        } else if (o.dry_run) {
                if (!o.json)
                        printf("would send %s to %zu process%s (marked *; ! is never signalled):\n", sig_name(o.sig, sbuf, sizeof(sbuf)),
                               sv_find_count(t), sv_find_count(t) == 1 ? "" : "es");
                (void) snprintf(mark, sizeof(mark), "* ");
                rc = sv_cli_find_show_tree(&o, t, mark,
                               o.json ? json_pack("{s:b, s:s}", "dry_run", 1, "signal",
                                                  sig_name(o.sig, sbuf, sizeof(sbuf)))
                                      : NULL);
        } else {
                rc = do_kill(&o, t);
        }
        sv_find_table_free(t);
out:
        sv_cli_find_opts_release(&o);
        return rc < 0 ? SV_FIND_EXIT_OK : rc;
}
