/* report.c - the run's one event model. Owns a record per job, built only by
 * applying events, and the events file writer (one JSON line per event, one
 * write(2) each). The JUnit, TAP and summary writers in report_fmt.c read
 * only these records. Never prints except to the fd or FILE* it is given. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "run/exitjson.h"
#include "run/report_internal.h"

static const char *const verdict_names[] = {
        "pass", "fail", "timeout", "crash", "stopped", "skip", "error", "notrun",
};
_Static_assert(sizeof(verdict_names) / sizeof(verdict_names[0]) == SV_VERDICT_COUNT,
               "one name per verdict");

static const char *const event_names[] = {
        "start", "spawn", "signal", "step", "diag", "leak", "exit", "retry", "skip", "end",
};
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == SV_RUN_EV_COUNT,
               "one name per event type");

const char *sv_verdict_name(sv_verdict v) {
        return (unsigned) v < SV_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

const char *sv_run_event_name(sv_run_event_type t) {
        return (unsigned) t < SV_RUN_EV_COUNT ? event_names[t] : "unknown";
}

/* Kept for callers of the 0.1 API; the core's namer is the one namer. */
const char *sv_run_signame(int sig, char buf[16]) {
        return sv_signal_name_r(sig, buf);
}

/* ---- Records ---- */

static void attempt_release(sv__attempt *a) {
        free(a->output);
        free(a->diag);
        free(a->stop_reason);
}

int sv_report_new(const sv_joblist *jobs, sv_report **out) {
        sv_report *r;
        bool ok = true;
        size_t i;

        r = calloc(1, sizeof(*r));
        if (!r)
                return UV_ENOMEM;
        r->fd = -1;
        r->njobs = jobs ? jobs->count : 0;
        r->jobs = calloc(r->njobs ? r->njobs : 1, sizeof(*r->jobs));
        if (!r->jobs)
                goto fail;
        for (i = 0; i < r->njobs; i++) {
                const sv_job *j = &jobs->jobs[i];
                sv__jobrec *jr = &r->jobs[i];

                jr->name = strdup(j->name ? j->name : "");
                jr->argv = sv__strv_dup(j->argv, &ok);
                jr->flags = j->flags;
                jr->timeout_ms = j->timeout_ms;
                if (!jr->name || !ok)
                        goto fail;
        }
        *out = r;
        return 0;

fail:
        sv_report_free(r);
        return UV_ENOMEM;
}

void sv_report_free(sv_report *r) {
        size_t i, k;

        if (!r)
                return;
        for (i = 0; r->jobs && i < r->njobs; i++) {
                sv__jobrec *jr = &r->jobs[i];

                free(jr->name);
                sv_argv_free(jr->argv);
                free(jr->skip_reason);
                for (k = 0; k < jr->natt; k++)
                        attempt_release(&jr->att[k]);
                free(jr->att);
        }
        free(r->jobs);
        free(r);
}

void sv_report_set_events_fd(sv_report *r, int fd) {
        r->fd = fd;
}

void sv_report_set_seed(sv_report *r, uint64_t seed) {
        r->has_seed = true;
        r->seed = seed;
}

void sv_report_set_shard(sv_report *r, unsigned index, unsigned count) {
        r->shard_index = index;
        r->shard_count = count;
}

/* The record of attempt `n` of job `jr`, created if it is new. Attempts
 * arrive in order, so the one we want is almost always the last. */
static sv__attempt *attempt_get(sv__jobrec *jr, unsigned n) {
        sv__attempt *a;
        size_t i;

        for (i = jr->natt; i > 0; i--)
                if (jr->att[i - 1].attempt == n)
                        return &jr->att[i - 1];
        a = realloc(jr->att, (jr->natt + 1) * sizeof(*a));
        if (!a)
                return NULL;
        jr->att = a;
        a = &jr->att[jr->natt++];
        memset(a, 0, sizeof(*a));
        a->attempt = n;
        return a;
}

static int replace_str(char **dst, const char *src) {
        char *s = NULL;

        if (src) {
                s = strdup(src);
                if (!s)
                        return UV_ENOMEM;
        }
        free(*dst);
        *dst = s;
        return 0;
}

/* The bytes of an event's text: text_len, or up to its NUL if that is 0. */
static size_t text_len(const sv_run_event *ev) {
        if (!ev->text)
                return 0;
        return ev->text_len ? ev->text_len : strlen(ev->text);
}

/* A copy of n bytes with a NUL after them, in *dst (freeing the old one). */
static int replace_bytes(char **dst, size_t *dst_len, const char *src, size_t n) {
        char *s = NULL;

        if (src) {
                s = malloc(n + 1);
                if (!s)
                        return UV_ENOMEM;
                memcpy(s, src, n);
                s[n] = '\0';
        }
        free(*dst);
        *dst = s;
        *dst_len = src ? n : 0;
        return 0;
}

/* Diagnostics accumulate: a snapshot, then the --on-timeout output. */
static int append_diag(sv__attempt *a, const char *kind, const char *text, size_t n) {
        sv__buf b = SV__BUF_INIT;

        if (a->diag) {
                (void) sv__buf_add(&b, a->diag, a->diag_len);
                (void) sv__buf_addc(&b, '\n');
        }
        (void) sv__buf_printf(&b, "--- %s ---\n", kind ? kind : "diagnostics");
        (void) sv__buf_add(&b, text ? text : "", text ? n : 0);
        if (b.oom) {
                sv__buf_release(&b);
                return UV_ENOMEM;
        }
        n = b.len;
        free(a->diag);
        a->diag = sv__buf_steal(&b);
        a->diag_len = a->diag ? n : 0;
        return a->diag ? 0 : UV_ENOMEM;
}

static int apply(sv_report *r, const sv_run_event *ev) {
        unsigned n = ev->attempt ? ev->attempt : 1;
        sv__jobrec *jr = ev->job < r->njobs ? &r->jobs[ev->job] : NULL;
        sv__attempt *a = NULL;

        if (ev->t_ms > r->last_t_ms)
                r->last_t_ms = ev->t_ms;
        switch (ev->type) {
        case SV_RUN_EV_START:
                r->unix_ms = ev->unix_ms;
                r->parallel = ev->count;
                return 0;
        case SV_RUN_EV_END:
                r->ended = true;
                r->end_ms = ev->t_ms;
                return 0;
        case SV_RUN_EV_SKIP:
                jr->skipped = true;
                return replace_str(&jr->skip_reason, ev->reason);
        case SV_RUN_EV_RETRY:
                return 0;
        default:
                break;
        }
        a = attempt_get(jr, n);
        if (!a)
                return UV_ENOMEM;
        switch (ev->type) {
        case SV_RUN_EV_SPAWN:
                a->pid = ev->pid;
                a->start_ms = ev->t_ms;
                a->spawned = true;
                a->slot = ev->slot;
                return 0;
        case SV_RUN_EV_SIGNAL:
        case SV_RUN_EV_STEP:
                a->last_signal = ev->signal;
                return ev->reason ? replace_str(&a->stop_reason, ev->reason) : 0;
        case SV_RUN_EV_DIAG:
                return append_diag(a, ev->reason, ev->text, text_len(ev));
        case SV_RUN_EV_LEAK:
                a->leaked = ev->count;
                return 0;
        case SV_RUN_EV_EXIT:
                a->finished = true;
                a->verdict = ev->verdict;
                a->end_ms = ev->t_ms;
                a->error = ev->error;
                a->has_exit = ev->exit != NULL;
                if (ev->exit) {
                        a->exit = *ev->exit;
                        if (ev->exit->leaked > a->leaked)
                                a->leaked = ev->exit->leaked;
                }
                return replace_bytes(&a->output, &a->output_len, ev->text, text_len(ev));
        default:
                return 0;
        }
}

/* ---- The events file ---- */

static void set_str(json_t *o, const char *key, const char *s) {
        sv__json_set_text(o, key, s, s ? strlen(s) : 0);
}

static json_t *jsig(int sig) {
        char buf[16];

        return sig > 0 ? json_string(sv_run_signame(sig, buf)) : json_null();
}

/* o[key] = the words as text; o[key + "_b64"] = every word in base64 if
 * any word had a byte that is not UTF-8. */
static void set_argv(json_t *o, const char *key, char *const *argv) {
        json_t *a = json_array(), *raw = NULL;
        char k[64], *t;
        size_t i, len, bad, nbad = 0;

        for (i = 0; a && argv && argv[i]; i++) {
                t = sv_text_escape(argv[i], strlen(argv[i]), 0, &len, &bad);
                (void) json_array_append_new(a, t ? json_stringn(t, len) : json_null());
                free(t);
                nbad += bad;
        }
        (void) json_object_set_new(o, key, a);
        if (!nbad)
                return;
        raw = json_array();
        for (i = 0; raw && argv[i]; i++) {
                t = sv_base64(argv[i], strlen(argv[i]));
                (void) json_array_append_new(raw, t ? json_string(t) : json_null());
                free(t);
        }
        (void) snprintf(k, sizeof(k), "%s_b64", key);
        (void) json_object_set_new(o, k, raw);
}

static void iso8601(uint64_t unix_ms, char buf[32]) {
        time_t t = (time_t) (unix_ms / 1000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                (void) snprintf(buf, 32, "1970-01-01T00:00:00");
        else
                (void) snprintf(buf + strlen(buf), 32 - strlen(buf), ".%03uZ",
                                (unsigned) (unix_ms % 1000));
}

/* START: how the jobs were chosen, when it matters to repeat the run: the
 * shuffle's seed, and the shard as `--shard` reads it (1-based). */
static void put_selection_keys(json_t *o, const sv_report *r) {
        char shard[32];

        if (r->has_seed)
                (void) json_object_set_new(o, "seed", json_integer((json_int_t) r->seed));
        if (r->shard_count) {
                (void) snprintf(shard, sizeof(shard), "%u/%u", r->shard_index + 1, r->shard_count);
                (void) json_object_set_new(o, "shard", json_string(shard));
        }
}

/* START and END: the run's own lines, no job. */
static void put_run_keys(json_t *o, const sv_report *r, const sv_run_event *ev) {
        sv_report_counts c;
        char when[32];

        if (ev->type == SV_RUN_EV_START) {
                iso8601(ev->unix_ms, when);
                (void) json_object_set_new(o, "time", json_string(when));
                (void) json_object_set_new(o, "unix_ms", json_integer((json_int_t) ev->unix_ms));
                (void) json_object_set_new(o, "jobs", json_integer((json_int_t) r->njobs));
                (void) json_object_set_new(o, "parallel", json_integer(ev->count));
                put_selection_keys(o, r);
                return;
        }
        sv_report_get_counts(r, &c);
        (void) json_object_set_new(o, "jobs", json_integer(c.total));
        (void) json_object_set_new(o, "passed", json_integer(c.passed));
        (void) json_object_set_new(o, "failed", json_integer(c.failed));
        (void) json_object_set_new(o, "timed_out", json_integer(c.timed_out));
        (void) json_object_set_new(o, "crashed", json_integer(c.crashed));
        (void) json_object_set_new(o, "stopped", json_integer(c.stopped));
        (void) json_object_set_new(o, "skipped", json_integer(c.skipped));
        (void) json_object_set_new(o, "errors", json_integer(c.errors));
        (void) json_object_set_new(o, "not_run", json_integer(c.not_run));
        (void) json_object_set_new(o, "flaky", json_integer(c.flaky));
}

/* EXIT: the verdict, the one exit record (docs/json.md) when it ran, the
 * error when it could not start, and the output's tail. */
static void put_exit_keys(json_t *o, const sv_run_event *ev) {
        (void) json_object_set_new(o, "pid", json_integer(ev->pid));
        (void) json_object_set_new(o, "verdict", json_string(sv_verdict_name(ev->verdict)));
        if (ev->exit)
                (void) sv__exit_json_put(o, ev->exit);
        if (ev->verdict == SV_VERDICT_ERROR) {
                (void) json_object_set_new(o, "error", json_string(uv_err_name(ev->error)));
                (void) json_object_set_new(o, "error_message", json_string(uv_strerror(ev->error)));
        }
        sv__json_set_text(o, "output_tail", ev->text ? ev->text : "", text_len(ev));
}

/* The keys of each job event, after job, name and attempt. */
static void put_job_keys(json_t *o, const sv__jobrec *jr, const sv_run_event *ev, unsigned n) {
        switch (ev->type) {
        case SV_RUN_EV_SPAWN:
                (void) json_object_set_new(o, "pid", json_integer(ev->pid));
                set_argv(o, "argv", jr->argv);
                (void) json_object_set_new(o, "slot", json_integer(ev->slot));
                break;
        case SV_RUN_EV_STEP:
                (void) json_object_set_new(o, "step", json_integer(ev->step));
                (void) json_object_set_new(o, "grace_ms", json_integer((json_int_t) ev->grace_ms));
                /* fall through */
        case SV_RUN_EV_SIGNAL:
                (void) json_object_set_new(o, "pid", json_integer(ev->pid));
                (void) json_object_set_new(o, "signal", json_integer(ev->signal));
                (void) json_object_set_new(o, "signal_name", jsig(ev->signal));
                set_str(o, "reason", ev->reason);
                break;
        case SV_RUN_EV_DIAG:
                set_str(o, "kind", ev->reason);
                sv__json_set_text(o, "text", ev->text ? ev->text : "", text_len(ev));
                break;
        case SV_RUN_EV_LEAK:
                (void) json_object_set_new(o, "count", json_integer(ev->count));
                break;
        case SV_RUN_EV_EXIT:
                put_exit_keys(o, ev);
                break;
        case SV_RUN_EV_RETRY:
                (void) json_object_set_new(o, "next_attempt", json_integer(n + 1));
                set_str(o, "reason", ev->reason);
                break;
        case SV_RUN_EV_SKIP:
                set_str(o, "reason", ev->reason);
                break;
        default:
                break;
        }
}

static json_t *event_json(const sv_report *r, const sv_run_event *ev) {
        const sv__jobrec *jr = ev->job < r->njobs ? &r->jobs[ev->job] : NULL;
        unsigned n = ev->attempt ? ev->attempt : 1;
        json_t *o;

        o = json_object();
        if (!o)
                return NULL;
        (void) json_object_set_new(o, "t_ms", json_integer((json_int_t) ev->t_ms));
        (void) json_object_set_new(o, "event", json_string(sv_run_event_name(ev->type)));
        if (ev->type == SV_RUN_EV_START || ev->type == SV_RUN_EV_END) {
                put_run_keys(o, r, ev);
                return o;
        }
        (void) json_object_set_new(o, "job", json_integer((json_int_t) ev->job));
        set_str(o, "name", jr->name);
        if (ev->type != SV_RUN_EV_SKIP)
                (void) json_object_set_new(o, "attempt", json_integer(n));
        put_job_keys(o, jr, ev, n);
        return o;
}

/* One write(2) per line: a reader (or a supervisor killed mid-run) sees only
 * whole lines, except after a short write, which only a full disk causes. */
static int write_line(int fd, const char *p, size_t n) {
        ssize_t w;

        while (n > 0) {
                w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

static int emit_event(sv_report *r, const sv_run_event *ev) {
        size_t n;
        json_t *o;
        char *p;
        int rc;

        o = event_json(r, ev);
        if (!o)
                return UV_ENOMEM;
        n = json_dumpb(o, NULL, 0, JSON_COMPACT);
        p = n ? malloc(n + 1) : NULL;
        if (!p) {
                json_decref(o);
                return UV_ENOMEM;
        }
        if (json_dumpb(o, p, n, JSON_COMPACT) != n) {
                rc = UV_EINVAL;
                goto out;
        }
        p[n] = '\n';
        rc = write_line(r->fd, p, n + 1);
        if (rc == 0)
                r->lines++;
out:
        free(p);
        json_decref(o);
        return rc;
}

int sv_report_add(sv_report *r, const sv_run_event *ev) {
        int ra, rw = 0;

        if ((unsigned) ev->type >= SV_RUN_EV_COUNT)
                return UV_EINVAL;
        if (ev->type != SV_RUN_EV_START && ev->type != SV_RUN_EV_END && ev->job >= r->njobs)
                return UV_EINVAL;
        /* Apply first, so the END line's counts include everything. */
        ra = apply(r, ev);
        if (r->fd >= 0)
                rw = emit_event(r, ev);
        return ra < 0 ? ra : rw;
}

/* ---- Derived facts ---- */

const sv__attempt *sv__last_finished(const sv__jobrec *jr) {
        size_t i;

        for (i = jr->natt; i > 0; i--)
                if (jr->att[i - 1].finished)
                        return &jr->att[i - 1];
        return NULL;
}

sv_verdict sv__job_verdict(const sv__jobrec *jr) {
        const sv__attempt *a;

        if (jr->skipped)
                return SV_VERDICT_SKIP;
        a = sv__last_finished(jr);
        return a ? a->verdict : SV_VERDICT_NOTRUN;
}

bool sv__job_flaky(const sv__jobrec *jr) {
        size_t i;

        if (sv__job_verdict(jr) != SV_VERDICT_PASS)
                return false;
        for (i = 0; i < jr->natt; i++)
                if (jr->att[i].finished && jr->att[i].verdict != SV_VERDICT_PASS)
                        return true;
        return false;
}

uint64_t sv__job_wall_ms(const sv__jobrec *jr) {
        uint64_t ms = 0;
        size_t i;

        for (i = 0; i < jr->natt; i++)
                if (jr->att[i].has_exit)
                        ms += jr->att[i].exit.wall_us / 1000;
        return ms;
}

sv_verdict sv_report_verdict(const sv_report *r, size_t i) {
        return i < r->njobs ? sv__job_verdict(&r->jobs[i]) : SV_VERDICT_NOTRUN;
}

uint64_t sv_report_events_lines(const sv_report *r) {
        return r->lines;
}

void sv_report_get_counts(const sv_report *r, sv_report_counts *out) {
        sv_report_counts c;
        size_t i;

        memset(&c, 0, sizeof(c));
        c.total = (unsigned) r->njobs;
        for (i = 0; i < r->njobs; i++) {
                switch (sv__job_verdict(&r->jobs[i])) {
                case SV_VERDICT_PASS: c.passed++; break;
                case SV_VERDICT_FAIL: c.failed++; break;
                case SV_VERDICT_TIMEOUT: c.timed_out++; break;
                case SV_VERDICT_CRASH: c.crashed++; break;
                case SV_VERDICT_STOPPED: c.stopped++; break;
                case SV_VERDICT_SKIP: c.skipped++; break;
                case SV_VERDICT_ERROR: c.errors++; break;
                default: c.not_run++; break;
                }
                if (sv__job_flaky(&r->jobs[i]))
                        c.flaky++;
        }
        c.wall_ms = r->ended ? r->end_ms : r->last_t_ms;
        *out = c;
}
