/* sv_control.h - a control socket for a running pool: a Unix-domain socket
 * on which a parent (`supervise ctl`, a script, examples/python/
 * supervise_ctl.py) lists the workers, walks their trees, signals, stops,
 * restarts, pauses and resumes one of them or all, scales the pool, follows
 * its events and shuts it down. The protocol is newline-delimited JSON,
 * one answer per request (docs/control.md).
 *
 * Access: the socket is mode 0600 from the moment it exists, and each peer
 * is checked with the kernel's credentials (SO_PEERCRED): our own uid and
 * root are served, anyone else gets one error line and is disconnected.
 *
 * Threading and callbacks are those of sv.h: the loop's thread only. The
 * server never blocks: a client that does not read its answers is
 * disconnected once max_queue bytes wait for it, and the log says so. */
#ifndef SUPERVISE_SV_CONTROL_H
#define SUPERVISE_SV_CONTROL_H

#include <stddef.h>

#include <supervise/sv.h>
#include <supervise/sv_pool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sv_control sv_control; /* opaque */

#define SV_CONTROL_MAX_QUEUE (4u << 20)
#define SV_CONTROL_MAX_CLIENTS 1024

typedef struct sv_control_opts {
        size_t max_queue;     /* answer bytes waiting for one client before it
                               * is dropped; 0: SV_CONTROL_MAX_QUEUE */
        unsigned max_clients; /* more are refused with an error line;
                               * 0: SV_CONTROL_MAX_CLIENTS */
        sv_log_cb log;        /* one line per client refused or dropped; may be NULL */
        void *log_userdata;
        /* Called for a "shutdown" request, after its answer is queued; NULL:
         * sv_pool_shutdown(). The owner usually also closes the server once
         * the pool is done. */
        void (*on_shutdown)(sv_control *c, void *userdata);
        void *userdata;
} sv_control_opts;

/* Listens at `path` for clients of pool `p`, on the loop of p's supervisor.
 * A socket left at path by a dead server (nobody accepts on it) is replaced;
 * a live one is not (UV_EADDRINUSE), nor is anything that is not a socket
 * (UV_EEXIST); UV_ENAMETOOLONG past 107 bytes. `o` may be NULL; it is
 * copied. Returns 0 and stores the server in *out; the listening socket then
 * keeps the loop running until sv_control_close(). */
int sv_control_open(sv_pool *p, const char *path, const sv_control_opts *o, sv_control **out);

/* Passes one of the pool's events to the clients that asked for "events".
 * Call it from the pool's on_event callback (the pool has one callback, its
 * owner's). Cheap when nobody follows the events. */
void sv_control_pool_event(sv_control *c, const sv_pool_event *ev);

/* Clients connected now. */
unsigned sv_control_clients(const sv_control *c);

/* Removes the socket file (if it is still ours), stops listening and
 * disconnects every client; answers not yet written are dropped. The memory
 * is freed once the loop has run the handles' close callbacks, so run the
 * loop after this (sv_supervisor_run does). Accepts NULL. */
void sv_control_close(sv_control *c);

/* For clients: connects to the control socket at path. Returns 0 and a
 * blocking, close-on-exec fd in *out_fd, or a negative error (UV_ENOENT,
 * UV_ECONNREFUSED: nobody listens, UV_EACCES). */
int sv_control_dial(const char *path, int *out_fd);

#ifdef __cplusplus
}
#endif
#endif
