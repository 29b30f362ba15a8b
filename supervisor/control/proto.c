/* proto.c - the control protocol's request parser: one line of JSON in,
 * one sv__ctl_req (or one line of reason) out. A pure function of its
 * input, with no I/O and no state, so that tests/fuzz/fuzz_control.c can
 * throw anything at it. Strict on purpose: an unknown command, an unknown
 * key or a value of the wrong type is refused, so a typo in a client never
 * turns into a different action than the one meant. */
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "control/control_internal.h"
#include "supervise/sv.h"

/* What each command accepts besides "id" and "cmd". */
enum { ARG_WORKER = 1u << 0, ARG_WORKER_REQ = 1u << 1, ARG_SIGNAL = 1u << 2, ARG_TREE = 1u << 3,
       ARG_N = 1u << 4 };

static const struct {
        const char *name;
        unsigned args;
} cmds[] = {
        [SV__CTL_LIST] = { "list", 0 },
        [SV__CTL_TREE] = { "tree", ARG_WORKER },
        [SV__CTL_SIGNAL] = { "signal", ARG_WORKER | ARG_WORKER_REQ | ARG_SIGNAL | ARG_TREE },
        [SV__CTL_STOP] = { "stop", ARG_WORKER | ARG_WORKER_REQ },
        [SV__CTL_RESTART] = { "restart", ARG_WORKER | ARG_WORKER_REQ },
        [SV__CTL_SCALE] = { "scale", ARG_N },
        [SV__CTL_PAUSE] = { "pause", ARG_WORKER | ARG_WORKER_REQ },
        [SV__CTL_RESUME] = { "resume", ARG_WORKER | ARG_WORKER_REQ },
        [SV__CTL_EVENTS] = { "events", 0 },
        [SV__CTL_SHUTDOWN] = { "shutdown", 0 },
};
_Static_assert(sizeof(cmds) / sizeof(cmds[0]) == SV__CTL_COUNT, "one entry per command");

/* The largest size `scale` accepts, the CLI's own limit for -n. */
#define SCALE_MAX 100000

const char *sv__ctl_cmd_name(sv__ctl_cmd c) {
        return (unsigned) c < SV__CTL_COUNT ? cmds[c].name : NULL;
}

/* The reason may quote the client's bytes (jansson's own messages do):
 * each control byte becomes '?', so that it stays one line in a log. */
static int fail(char *err, size_t errlen, const char *fmt, ...) {
        va_list ap;
        char *p;

        va_start(ap, fmt);
        (void) vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (p = err; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return UV_EINVAL;
}

/* Up to 40 bytes of the client's text for a reason, each control byte a
 * '?', so that a reason stays one line in a log. */
static const char *quote(const char *s, char buf[48]) {
        size_t i;

        for (i = 0; s[i] && i < 40; i++)
                buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        buf[i] = '\0';
        return buf;
}

static int parse_worker(json_t *v, sv__ctl_req *out, char *err, size_t errlen) {
        json_int_t i;

        if (json_is_string(v) && strcmp(json_string_value(v), "all") == 0) {
                out->all = true;
                return 0;
        }
        if (!json_is_integer(v))
                return fail(err, errlen, "\"worker\" must be an index or \"all\"");
        i = json_integer_value(v);
        if (i < 0 || i >= INT_MAX)
                return fail(err, errlen, "\"worker\" %lld is out of range", (long long) i);
        out->all = false;
        out->worker = (unsigned) i;
        return 0;
}

/* A name ("TERM", "SIGTERM", "RTMIN+1") or a number; never 0, which
 * delivers nothing and only probes. */
static int parse_signal(json_t *v, sv__ctl_req *out, char *err, size_t errlen) {
        int sig = UV_EINVAL;

        if (json_is_string(v))
                sig = sv_signal_parse(json_string_value(v));
        else if (json_is_integer(v) && json_integer_value(v) > 0 &&
                 json_integer_value(v) <= SIGRTMAX)
                sig = (int) json_integer_value(v);
        else
                return fail(err, errlen, "\"signal\" must be a name or a number");
        if (sig <= 0)
                return fail(err, errlen, "invalid signal");
        out->signal = sig;
        return 0;
}

static int parse_n(json_t *v, sv__ctl_req *out, char *err, size_t errlen) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SCALE_MAX)
                return fail(err, errlen, "\"n\" must be a number of workers, 0-%d", SCALE_MAX);
        out->n = (unsigned) json_integer_value(v);
        return 0;
}

/* One key besides "id" and "cmd", checked against what the command takes. */
static int parse_arg(const char *key, json_t *v, unsigned args, sv__ctl_req *out,
                     unsigned *seen, char *err, size_t errlen) {
        char q[48];

        if (strcmp(key, "worker") == 0 && (args & ARG_WORKER)) {
                *seen |= ARG_WORKER;
                return parse_worker(v, out, err, errlen);
        }
        if (strcmp(key, "signal") == 0 && (args & ARG_SIGNAL)) {
                *seen |= ARG_SIGNAL;
                return parse_signal(v, out, err, errlen);
        }
        if (strcmp(key, "tree") == 0 && (args & ARG_TREE)) {
                if (!json_is_boolean(v))
                        return fail(err, errlen, "\"tree\" must be true or false");
                out->tree = json_is_true(v);
                return 0;
        }
        if (strcmp(key, "n") == 0 && (args & ARG_N)) {
                *seen |= ARG_N;
                return parse_n(v, out, err, errlen);
        }
        return fail(err, errlen, "unknown key \"%s\" for \"%s\"", quote(key, q), cmds[out->cmd].name);
}

static int find_cmd(json_t *v, sv__ctl_req *out, char *err, size_t errlen) {
        char q[48];
        size_t i;

        if (!json_is_string(v))
                return fail(err, errlen, "\"cmd\" must be a string");
        for (i = 0; i < SV__CTL_COUNT; i++)
                if (strcmp(json_string_value(v), cmds[i].name) == 0) {
                        out->cmd = (sv__ctl_cmd) i;
                        return 0;
                }
        return fail(err, errlen, "unknown command \"%s\"", quote(json_string_value(v), q));
}

static int parse_object(json_t *root, sv__ctl_req *out, char *err, size_t errlen) {
        const char *key;
        json_t *v;
        unsigned seen = 0, args;
        int r;

        v = json_object_get(root, "cmd");
        if (!v)
                return fail(err, errlen, "no \"cmd\"");
        r = find_cmd(v, out, err, errlen);
        if (r < 0)
                return r;
        args = cmds[out->cmd].args;
        /* Where a command takes a worker but does not need one, none is all. */
        out->all = true;
        json_object_foreach(root, key, v) {
                if (strcmp(key, "id") == 0 || strcmp(key, "cmd") == 0)
                        continue;
                r = parse_arg(key, v, args, out, &seen, err, errlen);
                if (r < 0)
                        return r;
        }
        if ((args & ARG_WORKER_REQ) && !(seen & ARG_WORKER))
                return fail(err, errlen, "\"%s\" needs \"worker\" (an index or \"all\")",
                            cmds[out->cmd].name);
        if ((args & ARG_SIGNAL) && !(seen & ARG_SIGNAL))
                return fail(err, errlen, "\"signal\" needs \"signal\"");
        if ((args & ARG_N) && !(seen & ARG_N))
                return fail(err, errlen, "\"scale\" needs \"n\"");
        return 0;
}

int sv__ctl_parse(const char *line, size_t len, sv__ctl_req *out, char *err, size_t errlen) {
        sv__ctl_req req;
        json_error_t jerr;
        json_t *root, *id;
        int r;

        memset(&req, 0, sizeof(req));
        memset(out, 0, sizeof(*out));
        /* No NUL inside strings: every key and name is compared as C text. */
        root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(err, errlen, "malformed JSON: %s", jerr.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return fail(err, errlen, "a request is a JSON object");
        }
        id = json_object_get(root, "id");
        if (id && (json_is_number(id) || json_is_string(id) || json_is_null(id)))
                out->id = json_incref(id);
        r = id && !out->id ? fail(err, errlen, "\"id\" must be a number, a string or null")
                           : parse_object(root, &req, err, errlen);
        json_decref(root);
        if (r < 0)
                return r;
        req.id = out->id;
        *out = req;
        return 0;
}
