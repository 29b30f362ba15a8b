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

static bool listed(char **v, size_t n, const char *s) {
        size_t i;

        for (i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

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
                if (!names[j] || !failed(v[j]) || listed(out, k, names[j]))
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
