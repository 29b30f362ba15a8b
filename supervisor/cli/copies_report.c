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
        if (r->sv)
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
                if (r->sv)
                        (void) sv_supervisor_stop_all(r->sv);
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

/* {"event":"start","worker":N,"pid":P,"argv":[...]}: a line of its own for
 * each copy started; exit records keep their shape (no "event" key). */
void sv_copies_json_start(run *r, unsigned index, pid_t pid) {
        json_t *o;

        o = json_pack("{s:s, s:I, s:I}", "event", "start", "worker", (json_int_t) index, "pid",
                      (json_int_t) pid);
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

/* {"worker":N, then the one exit record of sv_exit_json (docs/json.md)}. */
void sv_copies_json_line(run *r, const slot *s) {
        json_t *o, *rec = NULL;
        char *text;

        text = sv_exit_json(&s->info);
        if (text)
                rec = json_loads(text, 0, NULL);
        free(text);
        o = json_pack("{s:I}", "worker", (json_int_t) s->index);
        if (!rec || !o || json_object_update(o, rec) < 0) {
                json_decref(rec);
                json_decref(o);
                json_failed(r, ENOMEM);
                return;
        }
        json_decref(rec);
        json_emit(r, o);
}
