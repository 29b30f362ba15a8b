/* handle.c - what each control request does to the pool, and the JSON of
 * its answer and of event lines (docs/control.md is the contract). Builds
 * JSON values only: never writes to a socket (control.c does) and never
 * blocks, except for the /proc walk of `tree`, which reads small files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "control/control_internal.h"
#include "run/exitjson.h"

static uint64_t now_ms(void) {
        return uv_hrtime() / 1000000u;
}

static json_t *signal_json(int sig) {
        char buf[16];

        return sig > 0 ? json_string(sv_signal_name_r(sig, buf)) : json_null();
}

/* What a pool error means to someone who asked about slot i. */
static const char *error_text(int err) {
        switch (err) {
        case UV_EINVAL:
                return "no such worker";
        case UV_ESRCH:
                return "no process runs in that slot";
        case UV_EBUSY:
                return "not in a state that allows it";
        default:
                return uv_strerror(err);
        }
}

static json_t *refusal(const char *fmt, unsigned worker, const char *why) {
        char msg[160];

        (void) snprintf(msg, sizeof(msg), fmt, worker, why);
        return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *slot_json(sv_pool *p, unsigned i, uint64_t now) {
        sv_slot_info s;
        json_t *o, *last;

        if (sv_pool_slot(p, i, &s) < 0)
                return NULL;
        o = json_pack("{s:I, s:s}", "worker", (json_int_t) i, "state", sv_slot_state_name(s.state));
        if (!o)
                return NULL;
        (void) json_object_set_new(o, "pid", s.pid > 0 ? json_integer(s.pid) : json_null());
        (void) json_object_set_new(o, "uptime_ms", s.pid > 0 && now >= s.started_ms
                                                           ? json_integer((json_int_t) (now - s.started_ms))
                                                           : json_null());
        (void) json_object_set_new(o, "restarts", json_integer(s.restarts));
        (void) json_object_set_new(o, "restart_in_ms",
                                   s.state == SV_SLOT_BACKOFF && s.next_ms >= now
                                           ? json_integer((json_int_t) (s.next_ms - now))
                                           : json_null());
        last = s.has_last ? json_object() : json_null();
        if (last && s.has_last)
                (void) sv__exit_json_put(last, &s.last);
        (void) json_object_set_new(o, "last_exit", last);
        return o;
}

static json_t *do_list(sv_pool *p) {
        json_t *resp, *arr;
        uint64_t now = now_ms();
        unsigned i, n = sv_pool_slots(p);

        arr = json_array();
        resp = json_pack("{s:b, s:I, s:o}", "ok", 1, "size", (json_int_t) sv_pool_size(p), "workers", arr);
        if (!resp)
                return NULL;
        for (i = 0; i < n; i++)
                (void) json_array_append_new(arr, slot_json(p, i, now));
        return resp;
}

static json_t *proc_json(const sv_proc *pr) {
        json_t *o = json_pack("{s:i, s:i, s:i, s:s#}", "pid", (int) pr->pid, "ppid", (int) pr->ppid,
                              "pgid", (int) pr->pgid, "state", &pr->state, (size_t) 1);

        if (o)
                sv__json_set_text(o, "comm", pr->comm, strnlen(pr->comm, sizeof(pr->comm)));
        return o;
}

/* One worker's tree: its leader and each live descendant with its parent. */
static json_t *tree_json(sv_pool *p, unsigned i) {
        sv_worker *w = sv_pool_worker(p, i);
        sv_proc *procs = NULL;
        json_t *o, *arr;
        int n, k;

        if (!w)
                return NULL;
        arr = json_array();
        o = json_pack("{s:I, s:i, s:o}", "worker", (json_int_t) i, "pid", (int) sv_worker_pid(w), "procs", arr);
        if (!o)
                return NULL;
        n = sv_worker_descendants(w, &procs);
        if (n < 0)
                (void) json_object_set_new(o, "error", json_string(uv_strerror(n)));
        for (k = 0; k < n; k++)
                (void) json_array_append_new(arr, proc_json(&procs[k]));
        free(procs);
        return o;
}

static json_t *do_tree(sv_pool *p, const sv__ctl_req *req) {
        json_t *resp, *arr;
        unsigned i, n = sv_pool_slots(p);

        if (!req->all && req->worker >= n)
                return refusal("worker %u: %s", req->worker, error_text(UV_EINVAL));
        if (!req->all && !sv_pool_worker(p, req->worker))
                return refusal("worker %u: %s", req->worker, error_text(UV_ESRCH));
        arr = json_array();
        resp = json_pack("{s:b, s:o}", "ok", 1, "workers", arr);
        if (!resp)
                return NULL;
        for (i = req->all ? 0 : req->worker; i < (req->all ? n : req->worker + 1); i++)
                if (sv_pool_worker(p, i))
                        (void) json_array_append_new(arr, tree_json(p, i));
        return resp;
}

/* One action on one slot; the pool validates the index and the state. */
static int act(sv_pool *p, const sv__ctl_req *req, unsigned i) {
        switch (req->cmd) {
        case SV__CTL_SIGNAL:
                return sv_pool_signal(p, i, req->signal, req->tree);
        case SV__CTL_STOP:
                return sv_pool_stop(p, i);
        case SV__CTL_RESTART:
                return sv_pool_restart(p, i);
        case SV__CTL_PAUSE:
                return sv_pool_pause(p, i);
        case SV__CTL_RESUME:
                return sv_pool_resume(p, i);
        default:
                return UV_EINVAL;
        }
}

/* A single worker: ok or its error. "all": every slot of the current size
 * it applies to in "workers", the others (not running, say) in "skipped"
 * with their reason; ok even if none applied. */
static json_t *do_action(sv_pool *p, const sv__ctl_req *req) {
        json_t *resp, *done, *skipped;
        unsigned i, n;
        int r;

        if (!req->all) {
                r = act(p, req, req->worker);
                if (r < 0)
                        return refusal("worker %u: %s", req->worker, error_text(r));
                return json_pack("{s:b, s:[I]}", "ok", 1, "workers", (json_int_t) req->worker);
        }
        done = json_array();
        skipped = json_array();
        resp = json_pack("{s:b, s:o, s:o}", "ok", 1, "workers", done, "skipped", skipped);
        if (!resp)
                return NULL;
        /* An action may shrink the pool (no) or grow it (no): the size is read once. */
        for (i = 0, n = sv_pool_size(p); i < n; i++) {
                r = act(p, req, i);
                if (r == 0)
                        (void) json_array_append_new(done, json_integer(i));
                else
                        (void) json_array_append_new(skipped, json_pack("{s:I, s:s}", "worker", (json_int_t) i,
                                                                        "error", error_text(r)));
        }
        return resp;
}

json_t *sv__ctl_handle(sv_pool *p, const sv__ctl_req *req, bool *out_events, bool *out_shutdown) {
        int r;

        switch (req->cmd) {
        case SV__CTL_LIST:
                return do_list(p);
        case SV__CTL_TREE:
                return do_tree(p, req);
        case SV__CTL_SCALE:
                r = sv_pool_scale(p, req->n);
                if (r < 0)
                        return json_pack("{s:b, s:s}", "ok", 0, "error", uv_strerror(r));
                return json_pack("{s:b, s:I}", "ok", 1, "size", (json_int_t) sv_pool_size(p));
        case SV__CTL_EVENTS:
                *out_events = true;
                return json_pack("{s:b, s:b}", "ok", 1, "events", 1);
        case SV__CTL_SHUTDOWN:
                *out_shutdown = true;
                return json_pack("{s:b}", "ok", 1);
        default:
                return do_action(p, req);
        }
}

static const char *const pool_event_names[] = {
        [SV_POOL_EV_WORKER] = "worker",
        [SV_POOL_EV_RESTART_SCHEDULED] = "restart_scheduled",
        [SV_POOL_EV_RESTARTED] = "restarted",
        [SV_POOL_EV_SPAWN_FAILED] = "spawn_failed",
        [SV_POOL_EV_GAVE_UP] = "gave_up",
        [SV_POOL_EV_PAUSED] = "paused",
        [SV_POOL_EV_RESUMED] = "resumed",
        [SV_POOL_EV_SCALED] = "scaled",
        [SV_POOL_EV_DONE] = "done",
};
_Static_assert(sizeof(pool_event_names) / sizeof(pool_event_names[0]) == SV_POOL_EV_COUNT,
               "a name per pool event");

static const char *const worker_event_names[] = {
        [SV_EVENT_SPAWN] = "spawn", [SV_EVENT_TIMEOUT] = "timeout", [SV_EVENT_STEP] = "step",
        [SV_EVENT_LEAKS] = "leaks", [SV_EVENT_EXIT] = "exit",
};
_Static_assert(sizeof(worker_event_names) / sizeof(worker_event_names[0]) == SV_EVENT_COUNT,
               "a name per worker event");

/* A worker's own lifecycle event: its type is the line's "event". */
static void put_worker_event(json_t *o, const sv_event *e) {
        json_t *x;

        (void) json_object_set_new(o, "event", json_string(worker_event_names[e->type]));
        (void) json_object_set_new(o, "pid", json_integer(e->pid));
        switch (e->type) {
        case SV_EVENT_TIMEOUT:
                (void) json_object_set_new(o, "timeout_ms", json_integer((json_int_t) e->timeout_ms));
                (void) json_object_set_new(o, "idle", json_boolean(e->idle));
                break;
        case SV_EVENT_STEP:
                (void) json_object_set_new(o, "step", json_integer(e->step));
                (void) json_object_set_new(o, "signal", signal_json(e->signal));
                (void) json_object_set_new(o, "grace_ms", json_integer((json_int_t) e->grace_ms));
                (void) json_object_set_new(o, "reason", e->reason ? json_string(e->reason) : json_null());
                break;
        case SV_EVENT_LEAKS:
                (void) json_object_set_new(o, "leaked", json_integer(e->leaked));
                (void) json_object_set_new(o, "killed", json_boolean(e->leaks_killed));
                break;
        case SV_EVENT_EXIT:
                x = json_object();
                if (x && e->exit)
                        (void) sv__exit_json_put(x, e->exit);
                (void) json_object_set_new(o, "exit", x);
                break;
        default:
                break;
        }
}

json_t *sv__ctl_event_json(sv_pool *p, const sv_pool_event *ev) {
        json_t *o;

        (void) p;
        if ((unsigned) ev->type >= SV_POOL_EV_COUNT)
                return NULL;
        o = json_pack("{s:s}", "event", pool_event_names[ev->type]);
        if (!o)
                return NULL;
        if (ev->type != SV_POOL_EV_SCALED && ev->type != SV_POOL_EV_DONE)
                (void) json_object_set_new(o, "worker", json_integer(ev->index));
        switch (ev->type) {
        case SV_POOL_EV_WORKER:
                if (ev->worker_event)
                        put_worker_event(o, ev->worker_event);
                break;
        case SV_POOL_EV_RESTART_SCHEDULED:
                (void) json_object_set_new(o, "delay_ms", json_integer((json_int_t) ev->delay_ms));
                (void) json_object_set_new(o, "restarts", json_integer(ev->restarts));
                break;
        case SV_POOL_EV_RESTARTED:
                (void) json_object_set_new(o, "restarts", json_integer(ev->restarts));
                (void) json_object_set_new(o, "manual", json_boolean(ev->manual));
                if (ev->worker)
                        (void) json_object_set_new(o, "pid", json_integer(sv_worker_pid(ev->worker)));
                break;
        case SV_POOL_EV_SPAWN_FAILED:
                (void) json_object_set_new(o, "error", json_string(uv_strerror(ev->error)));
                break;
        case SV_POOL_EV_GAVE_UP:
                (void) json_object_set_new(o, "restarts", json_integer(ev->restarts));
                break;
        case SV_POOL_EV_SCALED:
                (void) json_object_set_new(o, "size", json_integer(ev->size));
                break;
        default:
                break;
        }
        return o;
}
