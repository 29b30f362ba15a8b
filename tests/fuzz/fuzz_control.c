/* fuzz_control.c - sv__ctl_parse() (control/proto.c), the parser of every
 * line a control client sends. The result is 0 or UV_EINVAL; a refusal has a
 * one-line, non-empty reason; an accepted request has a known command, a
 * signal in 1..SIGRTMAX, a size within the limit, an id that is a number, a
 * string or null; and the request written back as canonical JSON parses to
 * the same request. */
#include <signal.h>

#include <uv.h>

#include "control/control_internal.h"
#include "fuzz.h"

static json_t *canonical(const sv__ctl_req *q) {
        json_t *o = json_pack("{s:s}", "cmd", sv__ctl_cmd_name(q->cmd));

        if (!o)
                abort();
        if (q->id)
                (void) json_object_set(o, "id", q->id);
        switch (q->cmd) {
        case SV__CTL_SIGNAL:
                (void) json_object_set_new(o, "signal", json_integer(q->signal));
                (void) json_object_set_new(o, "tree", json_boolean(q->tree));
                /* fall through */
        case SV__CTL_TREE:
        case SV__CTL_STOP:
        case SV__CTL_RESTART:
        case SV__CTL_PAUSE:
        case SV__CTL_RESUME:
                (void) json_object_set_new(o, "worker", q->all ? json_string("all")
                                                               : json_integer(q->worker));
                break;
        case SV__CTL_SCALE:
                (void) json_object_set_new(o, "n", json_integer(q->n));
                break;
        default:
                break;
        }
        return o;
}

static void check_round_trip(const sv__ctl_req *q) {
        json_t *o = canonical(q);
        char *s = json_dumps(o, JSON_COMPACT), err[160];
        sv__ctl_req back;
        int r;

        if (!s)
                abort();
        r = sv__ctl_parse(s, strlen(s), &back, err, sizeof(err));
        FUZZ_CHECK(r == 0, "'%s' refused: %s", s, err);
        FUZZ_CHECK(back.cmd == q->cmd && back.all == q->all && back.worker == q->worker &&
                           back.signal == q->signal && back.tree == q->tree && back.n == q->n,
                   "'%s' parses to another request", s);
        FUZZ_CHECK((!back.id && !q->id) || (back.id && q->id && json_equal(back.id, q->id)),
                   "'%s': the id changed", s);
        json_decref(back.id);
        json_decref(o);
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sv__ctl_req q;
        char err[160];
        int r;

        err[0] = '\0';
        r = sv__ctl_parse((const char *) data, size, &q, err, sizeof(err));
        FUZZ_CHECK(!q.id || json_is_number(q.id) || json_is_string(q.id) || json_is_null(q.id),
                   "id of type %d", json_typeof(q.id));
        if (r < 0) {
                FUZZ_CHECK(r == UV_EINVAL, "returned %d", r);
                FUZZ_CHECK(err[0] != '\0' && !strchr(err, '\n'), "reason '%s'", err);
                json_decref(q.id);
                return 0;
        }
        FUZZ_CHECK(r == 0, "returned %d", r);
        FUZZ_CHECK((unsigned) q.cmd < SV__CTL_COUNT, "cmd %d", (int) q.cmd);
        FUZZ_CHECK(q.cmd != SV__CTL_SIGNAL || (q.signal >= 1 && q.signal <= SIGRTMAX), "signal %d",
                   q.signal);
        FUZZ_CHECK(q.n <= 100000, "n %u", q.n);
        check_round_trip(&q);
        json_decref(q.id);
        return 0;
}
