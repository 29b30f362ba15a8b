/* copies_report.c - the main command's report: one stderr line per copy
 * (sv_exit_describe's words), the leak lines, and the --json lines (the one
 * exit record of sv_exit_json, docs/json.md). A lost report is never
 * silent: it stops the copies and makes the exit status 125. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/copies.h"
#include "supervise/sv_run.h"

/* A report could not be written, and nothing may be lost unnoticed: say so
 * once, naming the file and the error, stop every copy through the ladder
 * (each is still reported where that works), and exit 125. */
void sv_copies_output_failed(run *r, const char *name, int err) {
        if (!r->out_failed && name)
                fprintf(stderr, "supervise: cannot write %s: %s\n", name, strerror(err));
        r->out_failed = true;
        sv_copies_stop_all(r);
}

/* Through the pool, so that no copy is restarted or started after. */
void sv_copies_stop_all(run *r) {
        if (r->pool)
                (void) sv_pool_shutdown(r->pool);
        else if (r->sv)
                (void) sv_supervisor_stop_all(r->sv);
}

static void json_failed(run *r, int err) {
        char name[4200];

        if (strcmp(r->o->json_path, "-") == 0)
                snprintf(name, sizeof(name), "to standard output (--json -)");
        else
                snprintf(name, sizeof(name), "'%.4096s'", r->o->json_path);
        sv_copies_output_failed(r, name, err);
        /* Later records would only fail the same way. */
        if (r->json != stdout)
                (void) fclose(r->json);
        r->json = NULL;
}

/* The stderr report is the run's record for a person; if it is lost we
 * cannot say so there, but the exit status does. */
void sv_copies_check_stderr(run *r) {
        if (ferror(stderr) && !r->out_failed) {
                r->out_failed = true;
                sv_copies_stop_all(r);
        }
}

/* One line, flushed at once: a reader (or a crash) never sees half a
 * record, and a write error is seen at the record that hit it. */
static void json_emit(run *r, json_t *o) {
        char *text;
        int err;

        text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
        json_decref(o);
        if (!text) {
                json_failed(r, ENOMEM);
                return;
        }
        errno = 0;
        if (fprintf(r->json, "%s\n", text) < 0 || fflush(r->json) != 0) {
                err = errno ? errno : EIO;
                json_failed(r, err);
        }
        free(text);
}

/* {"event":"start","worker":N,"pid":P,"restarts":K,"argv":[...]}: a line
 * of its own for each copy started (K: 0 for a slot's first copy, then the
 * number of the restart); exit records keep their shape (no "event" key). */
void sv_copies_json_start(run *r, unsigned index, pid_t pid, unsigned restarts) {
        json_t *o;

        o = json_pack("{s:s, s:I, s:I, s:I}", "event", "start", "worker", (json_int_t) index, "pid",
                      (json_int_t) pid, "restarts", (json_int_t) restarts);
        if (!o) {
                json_failed(r, ENOMEM);
                return;
        }
        sv_cli_json_set_argv(o, "argv", r->o->argv);
        json_emit(r, o);
}

static void fmt_ms(char *buf, size_t n, uint64_t us) {
        if (us >= 10000000u)
                snprintf(buf, n, "%.1fs", (double) us / 1e6);
        else
                snprintf(buf, n, "%.3fs", (double) us / 1e6);
}

void sv_copies_report_line(const run *r, const slot *s) {
        const sv_exit_info *e = &s->info;
        char how[256], wall[32], user[32], sys[32];
        unsigned i;

        (void) sv_exit_describe(e, SV_DESCRIBE_STEP | SV_DESCRIBE_MECH, how, sizeof(how));
        fmt_ms(wall, sizeof(wall), e->wall_us);
        fmt_ms(user, sizeof(user), e->user_us);
        fmt_ms(sys, sizeof(sys), e->sys_us);
        fprintf(stderr, "supervise: worker %u pid %d: %s; wall %s, cpu %s user %s sys, max rss %llu KiB\n",
                s->index, (int) e->pid, how, wall, user, sys, (unsigned long long) e->max_rss_kb);
        if (e->leaked) {
                fprintf(stderr, "supervise: worker %u left %u descendant%s running (%s):\n", s->index,
                        e->leaked, e->leaked == 1 ? "" : "s",
                        r->o->leaks == SV_LEAKS_REPORT && e->mechanism != SV_MECH_PIDNS
                                ? "left running"
                                : "killed");
                for (i = 0; i < e->leaked && i < SV_LEAKS_MAX; i++) {
                        fprintf(stderr, "supervise:   pid %d: ", (int) e->leaks[i].pid);
                        sv_text_put_term(stderr, e->leaks[i].cmdline, strlen(e->leaks[i].cmdline));
                        fputc('\n', stderr);
                }
        }
}

/* "restart in 0.180s" or "restarted by hand": a line for people, and
 * {"event":"restart","worker":N,"restarts":K,"delay_ms":D,"reason":R}. */
void sv_copies_report_restart(run *r, unsigned index, unsigned restarts, uint64_t delay_ms,
                              bool manual) {
        const char *why = manual ? "manual" : sv_restart_policy_name(r->o->restart.policy);
        json_t *o;

        if (!r->o->quiet) {
                fprintf(stderr, "supervise: worker %u: restart %u in %.3fs (%s)\n", index, restarts,
                        (double) delay_ms / 1e3, why);
                sv_copies_check_stderr(r);
        }
        if (!r->json)
                return;
        o = json_pack("{s:s, s:I, s:I, s:I, s:s}", "event", "restart", "worker", (json_int_t) index,
                      "restarts", (json_int_t) restarts, "delay_ms", (json_int_t) delay_ms, "reason",
                      why);
        if (!o) {
                json_failed(r, ENOMEM);
                return;
        }
        json_emit(r, o);
}

/* The crash-loop give-up: {"event":"gave_up","worker":N,"restarts":K,
 * "max_restarts":M,"within_ms":W or null}. */
void sv_copies_report_gave_up(run *r, unsigned index, unsigned restarts) {
        const sv_restart_opts *ro = &r->o->restart;
        json_t *o;

        if (!r->o->quiet) {
                if (ro->within_ms)
                        fprintf(stderr, "supervise: worker %u: failed: gave up after %u restarts "
                                "within %.3fs\n", index, restarts, (double) ro->within_ms / 1e3);
                else
                        fprintf(stderr, "supervise: worker %u: failed: gave up after %u restarts\n",
                                index, restarts);
                sv_copies_check_stderr(r);
        }
        if (!r->json)
                return;
        o = json_pack("{s:s, s:I, s:I, s:I, s:o}", "event", "gave_up", "worker", (json_int_t) index,
                      "restarts", (json_int_t) restarts, "max_restarts", (json_int_t) ro->max_restarts,
                      "within_ms", ro->within_ms ? json_integer((json_int_t) ro->within_ms) : json_null());
        if (!o) {
                json_failed(r, ENOMEM);
                return;
        }
        json_emit(r, o);
}

/* {"worker":N,"restarts":K, then the one exit record of sv_exit_json
 * (docs/json.md)}. */
void sv_copies_json_line(run *r, const slot *s) {
        json_t *o, *rec = NULL;
        char *text;

        text = sv_exit_json(&s->info);
        if (text)
                rec = json_loads(text, 0, NULL);
        free(text);
        o = json_pack("{s:I, s:I}", "worker", (json_int_t) s->index, "restarts",
                      (json_int_t) s->restarts);
        if (!rec || !o || json_object_update(o, rec) < 0) {
                json_decref(rec);
                json_decref(o);
                json_failed(r, ENOMEM);
                return;
        }
        json_decref(rec);
        json_emit(r, o);
}
