/* exitjson.c - the one JSON shape of an exit record: what `supervise --json`
 * writes per copy and what `run --events` carries in each exit line
 * (docs/json.md; docs/exit-record.schema.json is the contract the tests
 * validate). Every key is always there, null where there is no value, so a
 * reader never has to guess whether a key is missing or merely empty. Builds
 * JSON values only; never writes anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/exitjson.h"
#include "run/run_internal.h"

void sv__json_set_text(json_t *o, const char *key, const char *s, size_t n) {
        char k[64], *t, *b64;
        size_t len, bad;

        if (!s) {
                (void) json_object_set_new(o, key, json_null());
                return;
        }
        t = sv_text_escape(s, n, 0, &len, &bad);
        if (!t)
                return;
        (void) json_object_set_new(o, key, json_stringn(t, len));
        free(t);
        if (!bad)
                return;
        b64 = sv_base64(s, n);
        (void) snprintf(k, sizeof(k), "%s_b64", key);
        if (b64)
                (void) json_object_set_new(o, k, json_string(b64));
        free(b64);
}

/* A signal by name ("SIGKILL", "SIGRTMAX-1"), or null for none. */
static json_t *signame(int sig) {
        char buf[16];

        return sig > 0 ? json_string(sv_signal_name_r(sig, buf)) : json_null();
}

/* A Windows crash or interrupt's NTSTATUS by name, else null. */
static json_t *ntstatus(const sv_exit_info *e) {
        const char *name = e->exited ? sv_ntstatus_name((uint32_t) e->code) : NULL;

        return name ? json_string(name) : json_null();
}

static json_t *ms(uint64_t us) {
        return json_real((double) us / 1000.0);
}

static json_t *leaks(const sv_exit_info *e) {
        json_t *a = json_array(), *l;
        unsigned i;

        for (i = 0; a && e->leaks && i < e->leaked && i < SV_LEAKS_MAX; i++) {
                l = json_pack("{s:I}", "pid", (json_int_t) e->leaks[i].pid);
                if (!l || json_array_append_new(a, l) < 0) {
                        json_decref(a);
                        return NULL;
                }
                /* A command line is bytes: escaped, never dropped. */
                sv__json_set_text(l, "cmdline", e->leaks[i].cmdline, strlen(e->leaks[i].cmdline));
        }
        return a;
}

int sv__exit_json_put(json_t *o, const sv_exit_info *e) {
        bool stepped = e->stop_step >= 0;
        struct {
                const char *key;
                json_t *v;
        } kv[] = {
                { "pid", json_integer(e->pid) },
                { "exited", json_boolean(e->exited) },
                { "code", json_integer(e->code) },
                { "ntstatus", ntstatus(e) },
                { "signal", signame(e->signal) },
                { "core_dumped", json_boolean(e->core_dumped) },
                { "cause", json_string(sv_cause_name(e->cause)) },
                { "reason", e->reason ? json_string(e->reason) : json_null() },
                { "timed_out", json_boolean(e->cause == SV_CAUSE_TIMEOUT) },
                { "timeout_ms", e->timeout_ms ? json_integer((json_int_t) e->timeout_ms) : json_null() },
                { "idle", json_boolean(e->idle) },
                { "step", stepped ? json_integer(e->stop_step + 1) : json_null() },
                { "step_signal", stepped ? signame(e->step_signal) : json_null() },
                { "wall_ms", ms(e->wall_us) },
                { "user_ms", ms(e->user_us) },
                { "sys_ms", ms(e->sys_us) },
                { "max_rss_kb", json_integer((json_int_t) e->max_rss_kb) },
                { "mechanism", json_string(sv_mechanism_name(e->mechanism)) },
                { "leaked", leaks(e) },
                { "leaked_count", json_integer(e->leaked) },
        };
        size_t i;
        int r = 0;

        for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
                /* set_new takes the value even when it fails, and a NULL
                 * value (out of memory) makes it fail. */
                if (json_object_set_new(o, kv[i].key, kv[i].v) < 0)
                        r = UV_ENOMEM;
        }
        return r;
}

char *sv_exit_json(const sv_exit_info *e) {
        json_t *o = json_object();
        char *text = NULL;

        if (!o)
                return NULL;
        if (sv__exit_json_put(o, e) == 0)
                text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
        json_decref(o);
        return text;
}
