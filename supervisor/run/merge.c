/* merge.c - events files read back: the failed jobs of a run
 * (--rerun-failed) and one report rebuilt from several runs' files (`report
 * merge`, for a suite split with --shard). The events file is the record of
 * a run (docs/json.md), so the report built here is the one those runs
 * built, through the same sv_report_add(). Reads only the files it is given;
 * never prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "run/report_internal.h"

/* One events file, parsed: its lines as JSON objects. */
typedef struct evfile {
        const char *path;
        json_t **lines;
        size_t n;
        size_t njobs;     /* the start line's "jobs" */
        uint64_t unix_ms; /* the start line's wall clock */
        uint64_t last_t_ms;
        unsigned parallel;
} evfile;

static void evfile_release(evfile *ef) {
        size_t i;

        for (i = 0; i < ef->n; i++)
                json_decref(ef->lines[i]);
        free(ef->lines);
        memset(ef, 0, sizeof(*ef));
}

static int read_all(const char *path, sv__buf *b, char *err, size_t errlen) {
        char chunk[65536];
        FILE *f = fopen(path, "re");
        size_t got;
        int e = 0;

        if (!f) {
                e = -errno;
                sv__err(err, errlen, "cannot open '%s': %s", path, uv_strerror(e));
                return e;
        }
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
                if (sv__buf_add(b, chunk, got) < 0)
                        break;
        if (ferror(f))
                e = errno ? -errno : UV_EIO;
        else if (b->oom)
                e = UV_ENOMEM;
        (void) fclose(f);
        if (e < 0)
                sv__err(err, errlen, "cannot read '%s': %s", path, uv_strerror(e));
        return e;
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static uint64_t num(const json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));

        return v > 0 ? (uint64_t) v : 0;
}

/* Every complete line (an unterminated last one is a run killed mid-write)
 * as a JSON object with an "event"; the first must be "start". */
static int split_lines(evfile *ef, const char *p, size_t len, char *err, size_t errlen) {
        const char *nl;
        json_error_t je;
        json_t *o, **grown;
        size_t cap = 0;

        while (len > 0 && (nl = memchr(p, '\n', len)) != NULL) {
                o = json_loadb(p, (size_t) (nl - p), JSON_ALLOW_NUL, &je);
                if (!o || !json_is_object(o) || !str(o, "event")) {
                        json_decref(o);
                        sv__err(err, errlen, "'%s' is not an events file: line %zu is not a JSON "
                                "event", ef->path, ef->n + 1);
                        return UV_EINVAL;
                }
                if (ef->n == cap) {
                        cap = cap ? cap * 2 : 64;
                        grown = realloc(ef->lines, cap * sizeof(*grown));
                        if (!grown) {
                                json_decref(o);
                                sv__err(err, errlen, "out of memory");
                                return UV_ENOMEM;
                        }
                        ef->lines = grown;
                }
                ef->lines[ef->n++] = o;
                len -= (size_t) (nl - p) + 1;
                p = nl + 1;
        }
        return 0;
}

static int evfile_load(const char *path, evfile *ef, char *err, size_t errlen) {
        sv__buf b = SV__BUF_INIT;
        size_t i;
        int e;

        memset(ef, 0, sizeof(*ef));
        ef->path = path;
        e = read_all(path, &b, err, errlen);
        if (e == 0)
                e = split_lines(ef, b.p ? b.p : "", b.len, err, errlen);
        sv__buf_release(&b);
        if (e == 0 && (ef->n == 0 || strcmp(str(ef->lines[0], "event"), "start") != 0 ||
                       !json_is_integer(json_object_get(ef->lines[0], "jobs")))) {
                sv__err(err, errlen, "'%s' is not an events file: %s", path,
                        ef->n ? "its first line is not a start event" : "it has no complete line");
                e = UV_EINVAL;
        }
        if (e < 0) {
                evfile_release(ef);
                return e;
        }
        ef->njobs = (size_t) num(ef->lines[0], "jobs");
        ef->unix_ms = num(ef->lines[0], "unix_ms");
        ef->parallel = (unsigned) num(ef->lines[0], "parallel");
        for (i = 0; i < ef->n; i++)
                if (num(ef->lines[i], "t_ms") > ef->last_t_ms)
                        ef->last_t_ms = num(ef->lines[i], "t_ms");
        return 0;
}

/* The job index of a job's line, or SIZE_MAX for a run line or one out of
 * range (ignored). */
static size_t job_of(const evfile *ef, const json_t *o) {
        json_t *j = json_object_get(o, "job");

        if (!json_is_integer(j) || json_integer_value(j) < 0 ||
            (size_t) json_integer_value(j) >= ef->njobs)
                return SIZE_MAX;
        return (size_t) json_integer_value(j);
}

/* ---- Bytes back from text ---- */

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 4648 base64 into a new buffer (NUL added); NULL if malformed or out
 * of memory. */
static char *b64_decode(const char *s, size_t *out_len) {
        size_t n = strlen(s), k = 0, i;
        unsigned acc = 0;
        int bits = 0, v;
        char *p = malloc(n / 4 * 3 + 4);

        for (i = 0; p && i < n && s[i] != '='; i++) {
                v = b64_value(s[i]);
                if (v < 0) {
                        free(p);
                        return NULL;
                }
                acc = (acc << 6) | (unsigned) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        p[k++] = (char) ((acc >> bits) & 0xffu);
                }
        }
        if (p) {
                p[k] = '\0';
                *out_len = k;
        }
        return p;
}

/* o[key] as the bytes it stands for: o[key "_b64"] when there is one (a
 * byte was escaped), else the text. A new buffer (NUL added) or NULL. */
static char *text_of(const json_t *o, const char *key, size_t *out_len) {
        char k[64], *p;
        const json_t *v;

        (void) snprintf(k, sizeof(k), "%s_b64", key);
        if (json_is_string(json_object_get(o, k)))
                return b64_decode(json_string_value(json_object_get(o, k)), out_len);
        v = json_object_get(o, key);
        if (!json_is_string(v))
                return NULL;
        *out_len = json_string_length(v);
        p = malloc(*out_len + 1);
        if (p) {
                memcpy(p, json_string_value(v), *out_len);
                p[*out_len] = '\0';
        }
        return p;
}

/* ---- Verdicts ---- */

static sv_verdict verdict_named(const char *s) {
        int v;

        for (v = 0; s && v < SV_VERDICT_COUNT; v++)
                if (strcmp(s, sv_verdict_name((sv_verdict) v)) == 0)
                        return (sv_verdict) v;
        return SV_VERDICT_NOTRUN;
}

/* Each job's final verdict in `ef`: its last exit line's, or skip. */
static void final_verdicts(const evfile *ef, sv_verdict *v) {
        size_t i, j;

        for (j = 0; j < ef->njobs; j++)
                v[j] = SV_VERDICT_NOTRUN;
        for (i = 1; i < ef->n; i++) {
                const char *ev = str(ef->lines[i], "event");

                j = job_of(ef, ef->lines[i]);
                if (j == SIZE_MAX)
                        continue;
                if (strcmp(ev, "exit") == 0)
                        v[j] = verdict_named(str(ef->lines[i], "verdict"));
                else if (strcmp(ev, "skip") == 0)
                        v[j] = SV_VERDICT_SKIP;
        }
}

static bool failed(sv_verdict v) {
        return v == SV_VERDICT_FAIL || v == SV_VERDICT_TIMEOUT || v == SV_VERDICT_CRASH ||
               v == SV_VERDICT_STOPPED || v == SV_VERDICT_ERROR;
}

/* Each job's name (from its first line that has one), or NULL. */
static int job_names(const evfile *ef, char **names) {
        size_t i, j, len;

        for (i = 1; i < ef->n; i++) {
                j = job_of(ef, ef->lines[i]);
                if (j == SIZE_MAX || names[j])
                        continue;
                names[j] = text_of(ef->lines[i], "name", &len);
                if (!names[j] && json_is_string(json_object_get(ef->lines[i], "name")))
                        return UV_ENOMEM;
        }
        return 0;
}

/* ---- --rerun-failed ---- */

int sv_events_failed_names(const char *path, char ***out_names, char *err, size_t errlen) {
        sv_verdict *v = NULL;
        char **names = NULL, **out = NULL;
        size_t j, k = 0;
        evfile ef;
        int e;

        e = evfile_load(path, &ef, err, errlen);
        if (e < 0)
                return e;
        e = UV_ENOMEM;
        v = calloc(ef.njobs + 1, sizeof(*v));
        names = calloc(ef.njobs + 1, sizeof(*names));
        out = calloc(ef.njobs + 1, sizeof(*out));
        if (!v || !names || !out || job_names(&ef, names) < 0)
                goto done;
        final_verdicts(&ef, v);
        for (j = 0; j < ef.njobs; j++) {
                if (!names[j] || !failed(v[j]))
                        continue;
                out[k++] = names[j];
                names[j] = NULL;
        }
        *out_names = out;
        out = NULL;
        e = (int) k;
done:
        if (e == UV_ENOMEM)
                sv__err(err, errlen, "out of memory");
        for (j = 0; names && j < ef.njobs; j++)
                free(names[j]);
        free(names);
        sv_argv_free(out);
        free(v);
        evfile_release(&ef);
        return e;
}

/* ---- report merge ---- */

/* One job of one file, as it goes into the merged report. */
typedef struct mjob {
        size_t file, job;
        char *name;
        char **argv;
        sv_verdict final;
        bool dropped;   /* its name is kept from another file */
        size_t merged;  /* index in the merged list */
} mjob;

typedef struct merge {
        evfile *files;
        size_t nfiles;
        mjob *jobs;     /* every file's jobs, file by file */
        size_t njobs;
        size_t *first;  /* first[f]: index in jobs of file f's job 0 */
        uint64_t unix_ms; /* the earliest start */
} merge;

/* Worse verdicts win a conflict: a failure in any shard is never hidden. */
static int rank(sv_verdict v) {
        if (failed(v))
                return 3;
        return v == SV_VERDICT_NOTRUN ? 2 : v == SV_VERDICT_SKIP ? 1 : 0;
}

/* A job's argv from its first spawn line; an empty argv if it never ran. */
static char **argv_of(const evfile *ef, size_t job) {
        json_t *a, *b;
        char **v;
        size_t i, k, len;

        for (i = 1; i < ef->n; i++)
                if (job_of(ef, ef->lines[i]) == job && strcmp(str(ef->lines[i], "event"), "spawn") == 0)
                        break;
        a = i < ef->n ? json_object_get(ef->lines[i], "argv") : NULL;
        b = i < ef->n ? json_object_get(ef->lines[i], "argv_b64") : NULL;
        k = json_is_array(a) ? json_array_size(a) : 0;
        v = calloc(k + 1, sizeof(*v));
        for (i = 0; v && i < k; i++) {
                if (json_is_array(b) && json_is_string(json_array_get(b, i)))
                        v[i] = b64_decode(json_string_value(json_array_get(b, i)), &len);
                else
                        v[i] = strdup(json_string_value(json_array_get(a, i)) ?
                                      json_string_value(json_array_get(a, i)) : "");
                if (!v[i]) {
                        sv_argv_free(v);
                        return NULL;
                }
        }
        return v;
}

static int collect_file(merge *m, size_t f) {
        evfile *ef = &m->files[f];
        sv_verdict *v = calloc(ef->njobs + 1, sizeof(*v));
        char **names = calloc(ef->njobs + 1, sizeof(*names)), buf[600];
        size_t j;
        int e = UV_ENOMEM;

        if (!v || !names || job_names(ef, names) < 0)
                goto done;
        final_verdicts(ef, v);
        m->first[f] = m->njobs;
        for (j = 0; j < ef->njobs; j++) {
                mjob *mj = &m->jobs[m->njobs++];

                mj->file = f;
                mj->job = j;
                mj->final = v[j];
                mj->name = names[j];
                names[j] = NULL;
                if (!mj->name) {
                        /* A run cut short never named it. */
                        (void) snprintf(buf, sizeof(buf), "<job %zu of %.500s>", j + 1, ef->path);
                        mj->name = strdup(buf);
                }
                mj->argv = argv_of(ef, j);
                if (!mj->name || !mj->argv)
                        goto done;
        }
        e = 0;
done:
        for (j = 0; names && j < ef->njobs; j++)
                free(names[j]);
        free(names);
        free(v);
        return e;
}

static int cmp_name(const void *x, const void *y) {
        const mjob *a = *(const mjob *const *) x, *b = *(const mjob *const *) y;
        int c = strcmp(a->name, b->name);

        return c ? c : a->file < b->file ? -1 : a->file > b->file;
}

/* The files of one name's group [g, end): keep the file with the worst
 * verdict (the first on a tie), drop that name's jobs from the others. */
static void settle(merge *m, mjob **g, size_t n, sv_merge_conflict_cb cb, void *ud) {
        size_t i, keep = g[0]->file, last = SIZE_MAX;
        int best = -1, *worst = calloc(m->nfiles, sizeof(int));

        for (i = 0; worst && i < n; i++)
                if (rank(g[i]->final) + 1 > worst[g[i]->file])
                        worst[g[i]->file] = rank(g[i]->final) + 1;
        for (i = 0; i < n; i++)
                if (worst && worst[g[i]->file] > best) {
                        best = worst[g[i]->file];
                        keep = g[i]->file;
                }
        for (i = 0; i < n; i++) {
                if (g[i]->file == keep)
                        continue;
                g[i]->dropped = true;
                if (cb && g[i]->file != last)
                        cb(g[i]->name, m->files[keep].path, m->files[g[i]->file].path, ud);
                last = g[i]->file;
        }
        free(worst);
}

/* A name in more than one file: shards that overlapped. */
static int resolve_conflicts(merge *m, sv_merge_conflict_cb cb, void *ud) {
        mjob **s = malloc((m->njobs + 1) * sizeof(*s));
        size_t i, g;

        if (!s)
                return UV_ENOMEM;
        for (i = 0; i < m->njobs; i++)
                s[i] = &m->jobs[i];
        qsort(s, m->njobs, sizeof(*s), cmp_name);
        for (g = 0; g < m->njobs; g = i) {
                for (i = g + 1; i < m->njobs && strcmp(s[i]->name, s[g]->name) == 0; i++)
                        ;
                if (s[i - 1]->file != s[g]->file)
                        settle(m, s + g, i - g, cb, ud);
        }
        free(s);
        return 0;
}

/* The merged job list: every job not dropped, file by file. */
static int build_list(merge *m, sv_joblist *l) {
        size_t i;
        sv_job *j;

        for (i = 0; i < m->njobs; i++) {
                mjob *mj = &m->jobs[i];

                if (mj->dropped)
                        continue;
                j = sv__joblist_push(l);
                if (!j)
                        return UV_ENOMEM;
                mj->merged = l->count - 1;
                j->name = mj->name;
                j->argv = mj->argv;
                j->skip_code = -1;
                mj->name = NULL;
                mj->argv = NULL;
        }
        return 0;
}

static int error_named(const char *s) {
#define SV__ERR_NAME(name, msg) if (s && strcmp(s, #name) == 0) return UV_##name;
        UV_ERRNO_MAP(SV__ERR_NAME)
#undef SV__ERR_NAME
        return UV_EIO;
}

static int signal_of(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        int s;

        if (json_is_integer(v))
                return (int) json_integer_value(v);
        s = json_is_string(v) ? sv_signal_parse(json_string_value(v)) : 0;
        return s > 0 ? s : 0;
}

static uint64_t us_of(const json_t *o, const char *key) {
        double ms = json_number_value(json_object_get(o, key));

        return ms > 0 ? (uint64_t) (ms * 1000.0 + 0.5) : 0;
}

/* The exit record of an exit line (docs/json.md) back into an
 * sv_exit_info; what the report writers read. `reason` and `leaks` stay
 * NULL: the report takes the stop reason from the signal lines. */
static void exit_of(const json_t *o, sv_exit_info *e) {
        const char *cause = str(o, "cause"), *mech = str(o, "mechanism");
        const json_t *step = json_object_get(o, "step");
        int c;

        memset(e, 0, sizeof(*e));
        e->pid = (pid_t) num(o, "pid");
        e->exited = json_is_true(json_object_get(o, "exited"));
        e->code = (int) json_integer_value(json_object_get(o, "code"));
        e->signal = signal_of(o, "signal");
        e->core_dumped = json_is_true(json_object_get(o, "core_dumped"));
        for (c = 0; cause && c < SV_CAUSE_COUNT; c++)
                if (strcmp(cause, sv_cause_name((sv_cause) c)) == 0)
                        e->cause = (sv_cause) c;
        for (c = 0; mech && c < SV_MECH_COUNT; c++)
                if (strcmp(mech, sv_mechanism_name((sv_mechanism) c)) == 0)
                        e->mechanism = (sv_mechanism) c;
        e->wall_us = us_of(o, "wall_ms");
        e->user_us = us_of(o, "user_ms");
        e->sys_us = us_of(o, "sys_ms");
        e->max_rss_kb = num(o, "max_rss_kb");
        e->stop_step = json_is_integer(step) ? (int) json_integer_value(step) - 1 : -1;
        e->step_signal = signal_of(o, "step_signal");
        e->timeout_ms = num(o, "timeout_ms");
        e->idle = json_is_true(json_object_get(o, "idle"));
        e->leaked = (unsigned) num(o, "leaked_count");
}

static sv_run_event_type type_named(const char *s) {
        int t;

        for (t = 0; t < SV_RUN_EV_COUNT; t++)
                if (strcmp(s, sv_run_event_name((sv_run_event_type) t)) == 0)
                        return (sv_run_event_type) t;
        return SV_RUN_EV_COUNT;
}

/* One job line of file f into the merged report. */
static int replay_line(merge *m, sv_report *r, size_t f, const json_t *o) {
        const evfile *ef = &m->files[f];
        sv_run_event ev = SV_RUN_EVENT_INIT;
        size_t job = job_of(ef, o);
        const char *key = "output_tail";
        sv_exit_info e;
        char *text;
        int rc;

        ev.type = type_named(str(o, "event"));
        if (job == SIZE_MAX || ev.type == SV_RUN_EV_COUNT || m->jobs[m->first[f] + job].dropped)
                return 0;
        ev.job = m->jobs[m->first[f] + job].merged;
        ev.t_ms = num(o, "t_ms") + (ef->unix_ms - m->unix_ms);
        ev.attempt = (unsigned) num(o, "attempt");
        ev.pid = (pid_t) num(o, "pid");
        ev.signal = signal_of(o, "signal");
        ev.step = (int) num(o, "step");
        ev.grace_ms = num(o, "grace_ms");
        ev.count = (unsigned) num(o, "count");
        ev.reason = str(o, ev.type == SV_RUN_EV_DIAG ? "kind" : "reason");
        if (ev.type == SV_RUN_EV_DIAG)
                key = "text";
        text = text_of(o, key, &ev.text_len);
        ev.text = text;
        if (ev.type == SV_RUN_EV_EXIT) {
                ev.verdict = verdict_named(str(o, "verdict"));
                if (ev.verdict == SV_VERDICT_ERROR) {
                        ev.error = error_named(str(o, "error"));
                } else {
                        exit_of(o, &e);
                        ev.exit = &e;
                }
        }
        /* A text of 0 bytes is "" to the report, not "up to the NUL". */
        if (ev.text && ev.text_len == 0)
                ev.text = "";
        rc = sv_report_add(r, &ev);
        free(text);
        return rc == UV_ENOMEM ? rc : 0;
}

static int replay(merge *m, sv_report *r) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        uint64_t end = 0, t;
        size_t f, i;
        int e;

        ev.type = SV_RUN_EV_START;
        ev.unix_ms = m->unix_ms;
        for (f = 0; f < m->nfiles; f++)
                ev.count += m->files[f].parallel;
        e = sv_report_add(r, &ev);
        for (f = 0; e == 0 && f < m->nfiles; f++) {
                for (i = 1; e == 0 && i < m->files[f].n; i++)
                        e = replay_line(m, r, f, m->files[f].lines[i]);
                t = m->files[f].last_t_ms + (m->files[f].unix_ms - m->unix_ms);
                if (t > end)
                        end = t;
        }
        if (e == 0) {
                memset(&ev, 0, sizeof(ev));
                ev.type = SV_RUN_EV_END;
                ev.t_ms = end;
                e = sv_report_add(r, &ev);
        }
        return e;
}

static void merge_release(merge *m) {
        size_t i;

        for (i = 0; m->files && i < m->nfiles; i++)
                evfile_release(&m->files[i]);
        for (i = 0; m->jobs && i < m->njobs; i++) {
                free(m->jobs[i].name);
                sv_argv_free(m->jobs[i].argv);
        }
        free(m->files);
        free(m->jobs);
        free(m->first);
}

static int load_all(merge *m, const char *const *paths, size_t n, char *err, size_t errlen) {
        size_t f, total = 0;
        int e;

        m->files = calloc(n ? n : 1, sizeof(*m->files));
        m->first = calloc(n ? n : 1, sizeof(*m->first));
        if (!m->files || !m->first)
                return UV_ENOMEM;
        for (f = 0; f < n; f++) {
                e = evfile_load(paths[f], &m->files[f], err, errlen);
                if (e < 0)
                        return e;
                m->nfiles++;
                total += m->files[f].njobs;
                if (f == 0 || m->files[f].unix_ms < m->unix_ms)
                        m->unix_ms = m->files[f].unix_ms;
        }
        m->jobs = calloc(total ? total : 1, sizeof(*m->jobs));
        if (!m->jobs)
                return UV_ENOMEM;
        for (f = 0; f < n; f++)
                if (collect_file(m, f) < 0)
                        return UV_ENOMEM;
        return 0;
}

int sv_report_merge(const char *const *paths, size_t n, sv_merge_conflict_cb on_conflict,
                    void *ud, sv_report **out, char *err, size_t errlen) {
        sv_joblist l = SV_JOBLIST_INIT;
        sv_report *r = NULL;
        merge m;
        int e;

        memset(&m, 0, sizeof(m));
        e = load_all(&m, paths, n, err, errlen);
        if (e == 0)
                e = resolve_conflicts(&m, on_conflict, ud);
        if (e == 0)
                e = build_list(&m, &l);
        if (e == 0)
                e = sv_report_new(&l, &r);
        if (e == 0)
                e = replay(&m, r);
        if (e == UV_ENOMEM)
                sv__err(err, errlen, "out of memory");
        sv_joblist_release(&l);
        merge_release(&m);
        if (e < 0) {
                sv_report_free(r);
                return e;
        }
        *out = r;
        return 0;
}
