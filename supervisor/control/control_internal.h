/* control_internal.h - the control protocol's pieces shared inside
 * supervisor/control/: the parsed request (proto.c, a pure function that
 * the fuzzer drives) and the server (control.c). Jansson stays private to
 * the library; nothing here is public. */
#ifndef SV_CONTROL_INTERNAL_H
#define SV_CONTROL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The longest request line we read; a longer one is refused and the
 * connection closed (no newline in sight means no way to resynchronise). */
#define SV__CTL_LINE_MAX 65536

typedef enum sv__ctl_cmd {
        SV__CTL_LIST,
        SV__CTL_TREE,
        SV__CTL_SIGNAL,
        SV__CTL_STOP,
        SV__CTL_RESTART,
        SV__CTL_SCALE,
        SV__CTL_PAUSE,
        SV__CTL_RESUME,
        SV__CTL_EVENTS,
        SV__CTL_SHUTDOWN,
        SV__CTL_COUNT
} sv__ctl_cmd;

/* A request as the server acts on it. `id` is the request's "id" (a
 * number, a string or null), a new reference the caller drops with
 * json_decref(); NULL when the request had none. */
typedef struct sv__ctl_req {
        json_t *id;
        sv__ctl_cmd cmd;
        bool all;        /* "worker":"all" (or no worker, where that means all) */
        unsigned worker; /* the index when !all */
        int signal;      /* SIGNAL: 1..SIGRTMAX */
        bool tree;       /* SIGNAL: the whole tree, not only the leader */
        unsigned n;      /* SCALE: the new size */
} sv__ctl_req;

/* The command's name on the wire ("list", "signal"...), or NULL. */
const char *sv__ctl_cmd_name(sv__ctl_cmd c);

/* Parses one request line (len bytes, no newline, need not be
 * NUL-terminated). Returns 0 and fills *out; or UV_EINVAL and writes a
 * one-line reason into err (errlen > 0), and still sets out->id to the
 * request's id when one could be read, so the error can echo it (the
 * caller drops it either way). Never reads past len. */
int sv__ctl_parse(const char *line, size_t len, sv__ctl_req *out, char *err, size_t errlen);

/* ---- The server's pieces (control.c: sockets and clients; handle.c:
 * requests against the pool) ---- */

#include "supervise/sv_control.h"

/* Answers one parsed request: returns the answer object (new reference,
 * "ok" set, "id" not yet), or NULL when out of memory. Sets *out_events
 * when the client asked to follow events, *out_shutdown for "shutdown". */
json_t *sv__ctl_handle(sv_pool *p, const sv__ctl_req *req, bool *out_events, bool *out_shutdown);

/* One pool event as an event line's object (new reference), or NULL. */
json_t *sv__ctl_event_json(sv_pool *p, const sv_pool_event *ev);

#endif
