/* control.c - the control server: a listening Unix-domain socket on the
 * supervisor's loop, its clients, their input lines and their queued
 * answers. Owns every handle it opens and frees itself in the last close
 * callback. Never prints, never exits, never blocks: a client is served
 * only as fast as it reads, and one that stops reading is dropped once
 * max_queue bytes wait for it, so it cannot hold the supervisor's memory
 * or time. What a request does is handle.c's; parsing is proto.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_internal.h"
#include "platform/platform.h"

typedef struct ctl_client ctl_client;

struct sv_control {
        sv_pool *pool;
        uv_loop_t *loop;
        uv_pipe_t listener;
        char *path;
        sv__file_id file;
        sv_control_opts o;
        ctl_client *clients;  /* connected and not yet dropped */
        unsigned nclients;
        unsigned nfollowers;  /* clients following events */
        unsigned handles;     /* open handles, listener included */
        bool closing;
        char rbuf[16384];     /* every read lands here: reads are handled at once */
};

struct ctl_client {
        uv_pipe_t pipe; /* first: the handle's address is the client's */
        sv_control *c;
        ctl_client *prev, *next;
        char *in;       /* a request line not yet complete */
        size_t in_len, in_cap;
        uint32_t uid;
        pid_t pid;
        bool events;
        bool gone;      /* dropped: no more reads or writes; closing */
        uv_shutdown_t shut;
};

typedef struct out_req {
        uv_write_t req;
        size_t len;
        char data[];
} out_req;

static void logf_(sv_control *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(sv_control *c, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        if (!c->o.log)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        c->o.log(msg, c->o.log_userdata);
}

static void handle_closed(sv_control *c) {
        if (--c->handles == 0 && c->closing) {
                free(c->path);
                free(c);
        }
}

static void on_client_closed(uv_handle_t *h) {
        ctl_client *cl = (ctl_client *) h;
        sv_control *c = cl->c;

        free(cl->in);
        free(cl);
        handle_closed(c);
}

/* Takes the client off the list at once (no more answers or events go to
 * it) and closes its handle; pending writes are cancelled by libuv. */
static void drop(ctl_client *cl) {
        sv_control *c = cl->c;

        if (cl->gone)
                return;
        cl->gone = true;
        if (cl->prev)
                cl->prev->next = cl->next;
        else
                c->clients = cl->next;
        if (cl->next)
                cl->next->prev = cl->prev;
        c->nclients--;
        if (cl->events)
                c->nfollowers--;
        uv_close((uv_handle_t *) &cl->pipe, on_client_closed);
}

static void on_shutdown_done(uv_shutdown_t *req, int status) {
        ctl_client *cl = req->data;

        (void) status;
        drop(cl);
}

/* Drops the client once what is queued for it has been written (an error
 * line we want it to see). A client that does not read would hold the
 * connection open: if more than the kernel took is already waiting, drop it
 * now instead. */
static void drop_after_writes(ctl_client *cl) {
        if (cl->gone)
                return;
        if (uv_stream_get_write_queue_size((uv_stream_t *) &cl->pipe) > 4096) {
                drop(cl);
                return;
        }
        (void) uv_read_stop((uv_stream_t *) &cl->pipe);
        cl->shut.data = cl;
        if (uv_shutdown(&cl->shut, (uv_stream_t *) &cl->pipe, on_shutdown_done) < 0)
                drop(cl);
}

static void on_written(uv_write_t *req, int status) {
        out_req *w = (out_req *) req;
        ctl_client *cl = req->data;

        /* UV_ECANCELED: the client was dropped with this still queued.
         * EPIPE, ECONNRESET: it went away, which clients do (an `events`
         * follower ends so); anything else is worth a line. */
        if (status < 0 && status != UV_ECANCELED && !cl->gone) {
                if (status != UV_EPIPE && status != UV_ECONNRESET)
                        logf_(cl->c, "control: client pid %d: %s", (int) cl->pid, uv_strerror(status));
                drop(cl);
        }
        free(w);
}

/* Queues text (len bytes, with its newline) for the client, or drops the
 * client when its queue would pass max_queue. Returns 0 or an error. */
static int send_raw(ctl_client *cl, const char *text, size_t len) {
        size_t queued = uv_stream_get_write_queue_size((uv_stream_t *) &cl->pipe);
        out_req *w;
        uv_buf_t b;
        int r;

        if (cl->gone)
                return UV_EPIPE;
        if (queued + len > cl->c->o.max_queue) {
                logf_(cl->c, "control: dropped client pid %d: it does not read its answers "
                      "(%zu bytes waiting)", (int) cl->pid, queued + len);
                drop(cl);
                return UV_ENOBUFS;
        }
        w = malloc(sizeof(*w) + len);
        if (!w)
                return UV_ENOMEM;
        memcpy(w->data, text, len);
        w->len = len;
        w->req.data = cl;
        b = uv_buf_init(w->data, (unsigned) len);
        r = uv_write(&w->req, (uv_stream_t *) &cl->pipe, &b, 1, on_written);
        if (r < 0) {
                free(w);
                drop(cl);
        }
        return r;
}

/* One JSON value as one line; consumes the reference. */
static int send_json(ctl_client *cl, json_t *o) {
        char *s;
        size_t n;
        int r;

        if (!o)
                return send_raw(cl, "{\"ok\":false,\"error\":\"out of memory\"}\n", 36);
        s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
        json_decref(o);
        if (!s)
                return send_raw(cl, "{\"ok\":false,\"error\":\"out of memory\"}\n", 36);
        n = strlen(s);
        s[n] = '\n'; /* json_dumps' NUL becomes the line's end; the length says where */
        r = send_raw(cl, s, n + 1);
        free(s);
        return r;
}

/* An error answer, with the request's id first when it had one. */
static json_t *error_obj(json_t *id, const char *msg) {
        return id ? json_pack("{s:O, s:b, s:s}", "id", id, "ok", 0, "error", msg)
                  : json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* The answer with the request's id first, as a reader scans for it. */
static json_t *with_id(json_t *id, json_t *resp) {
        json_t *o;

        if (!id || !resp)
                return resp;
        o = json_pack("{s:O}", "id", id);
        if (o && json_object_update(o, resp) == 0) {
                json_decref(resp);
                return o;
        }
        json_decref(o);
        return resp;
}

static void serve_line(ctl_client *cl, const char *line, size_t len) {
        sv_control *c = cl->c;
        sv__ctl_req req;
        bool events = false, shutdown = false;
        char err[160];
        json_t *resp;

        if (sv__ctl_parse(line, len, &req, err, sizeof(err)) < 0) {
                (void) send_json(cl, error_obj(req.id, err));
                json_decref(req.id);
                return;
        }
        resp = with_id(req.id, sv__ctl_handle(c->pool, &req, &events, &shutdown));
        json_decref(req.id);
        if (send_json(cl, resp) < 0)
                return;
        if (events && !cl->events) {
                cl->events = true;
                c->nfollowers++;
        }
        if (shutdown) {
                logf_(c, "control: shutdown asked by pid %d", (int) cl->pid);
                if (c->o.on_shutdown)
                        c->o.on_shutdown(c, c->o.userdata);
                else
                        (void) sv_pool_shutdown(c->pool);
        }
}

static int append(ctl_client *cl, const char *buf, size_t len) {
        char *grown;

        if (cl->in_len + len > cl->in_cap) {
                grown = realloc(cl->in, cl->in_len + len + 256);
                if (!grown)
                        return UV_ENOMEM;
                cl->in = grown;
                cl->in_cap = cl->in_len + len + 256;
        }
        memcpy(cl->in + cl->in_len, buf, len);
        cl->in_len += len;
        return 0;
}

/* A line without its "\r" (telnet, nc -C); blank lines are no request. */
static void serve_one(ctl_client *cl, const char *line, size_t len) {
        size_t k;

        if (len && line[len - 1] == '\r')
                len--;
        for (k = 0; k < len && (line[k] == ' ' || line[k] == '\t'); k++)
                ;
        if (k < len)
                serve_line(cl, line, len);
}

/* Serves each complete line of buf, keeping a partial last line in cl->in.
 * Serving may drop the client (its queue overflowed): stop then; the
 * client's memory stays valid until its close callback. */
static void serve_bytes(ctl_client *cl, const char *buf, size_t n) {
        const char *nl;
        size_t len;

        while (n > 0 && !cl->gone) {
                nl = memchr(buf, '\n', n);
                len = nl ? (size_t) (nl - buf) : n;
                if (cl->in_len + len > SV__CTL_LINE_MAX) {
                        (void) send_json(cl, error_obj(NULL, "request line too long (over 65536 bytes)"));
                        drop_after_writes(cl);
                        return;
                }
                if (!nl || cl->in_len) {
                        if (append(cl, buf, len) < 0) {
                                drop(cl);
                                return;
                        }
                }
                if (!nl)
                        return;
                if (cl->in_len) {
                        serve_one(cl, cl->in, cl->in_len);
                        cl->in_len = 0;
                } else {
                        serve_one(cl, buf, len);
                }
                n -= len + 1;
                buf = nl + 1;
        }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        ctl_client *cl = (ctl_client *) h;

        (void) suggested;
        *buf = uv_buf_init(cl->c->rbuf, sizeof(cl->c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        ctl_client *cl = (ctl_client *) s;

        if (n > 0) {
                serve_bytes(cl, buf->base, (size_t) n);
                return;
        }
        if (n == 0)
                return;
        /* EOF: a client that only follows events may half-close; it stays
         * until a write to it fails. Others are done once their answers
         * are out. */
        if (n == UV_EOF && cl->events) {
                (void) uv_read_stop(s);
                return;
        }
        if (n == UV_EOF)
                drop_after_writes(cl);
        else
                drop(cl);
}

/* The kernel's word on who connected: our uid or root, else refused. */
static bool peer_allowed(ctl_client *cl) {
        int fd;
        uint32_t me = sv__plat_euid();

        if (uv_fileno((uv_handle_t *) &cl->pipe, &fd) < 0 ||
            sv__plat_unix_peer(fd, &cl->uid, &cl->pid) < 0)
                return false;
        return cl->uid == me || cl->uid == 0;
}

static void refuse(ctl_client *cl, const char *why) {
        char msg[160];

        (void) snprintf(msg, sizeof(msg), "permission denied: %s", why);
        (void) send_json(cl, error_obj(NULL, msg));
        drop_after_writes(cl);
}

static void on_connection(uv_stream_t *server, int status) {
        sv_control *c = server->data;
        ctl_client *cl;
        char why[120];

        if (status < 0 || c->closing)
                return;
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return; /* the connection waits in the backlog; the next one retries */
        cl->c = c;
        if (uv_pipe_init(c->loop, &cl->pipe, 0) < 0) {
                free(cl);
                return;
        }
        c->handles++;
        cl->next = c->clients;
        if (c->clients)
                c->clients->prev = cl;
        c->clients = cl;
        c->nclients++;
        if (uv_accept(server, (uv_stream_t *) &cl->pipe) < 0) {
                drop(cl);
                return;
        }
        if (!peer_allowed(cl)) {
                (void) snprintf(why, sizeof(why), "uid %u is neither %u nor root", (unsigned) cl->uid,
                                (unsigned) sv__plat_euid());
                logf_(c, "control: refused pid %d: %s", (int) cl->pid, why);
                refuse(cl, why);
                return;
        }
        if (c->nclients > c->o.max_clients) {
                logf_(c, "control: refused pid %d: %u clients already", (int) cl->pid, c->o.max_clients);
                (void) send_json(cl, error_obj(NULL, "too many clients"));
                drop_after_writes(cl);
                return;
        }
        if (uv_read_start((uv_stream_t *) &cl->pipe, on_alloc, on_read) < 0)
                drop(cl);
}

static void on_listener_closed(uv_handle_t *h) {
        handle_closed(h->data);
}

int sv_control_open(sv_pool *p, const char *path, const sv_control_opts *o, sv_control **out) {
        sv_control *c;
        int fd = -1, r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return UV_ENOMEM;
        if (o)
                c->o = *o;
        if (!c->o.max_queue)
                c->o.max_queue = SV_CONTROL_MAX_QUEUE;
        if (!c->o.max_clients)
                c->o.max_clients = SV_CONTROL_MAX_CLIENTS;
        c->pool = p;
        c->loop = sv_supervisor_loop(sv_pool_supervisor(p));
        c->path = strdup(path);
        r = c->path ? sv__plat_unix_listen(path, 128, &fd, &c->file) : UV_ENOMEM;
        if (r < 0)
                goto fail_free;
        r = uv_pipe_init(c->loop, &c->listener, 0);
        if (r < 0)
                goto fail_file;
        c->handles = 1;
        c->listener.data = c;
        r = uv_pipe_open(&c->listener, fd);
        if (r < 0)
                goto fail_handle;
        /* From here the handle owns fd. */
        fd = -1;
        r = uv_listen((uv_stream_t *) &c->listener, 128, on_connection);
        if (r < 0)
                goto fail_handle;
        *out = c;
        return 0;

fail_handle:
        (void) sv__plat_unix_unlink(path, &c->file);
        if (fd >= 0)
                sv__plat_fd_close(fd);
        /* c is freed in the listener's close callback. */
        c->closing = true;
        uv_close((uv_handle_t *) &c->listener, on_listener_closed);
        return r;
fail_file:
        (void) sv__plat_unix_unlink(path, &c->file);
        sv__plat_fd_close(fd);
fail_free:
        free(c->path);
        free(c);
        return r;
}

void sv_control_close(sv_control *c) {
        if (!c || c->closing)
                return;
        c->closing = true;
        (void) sv__plat_unix_unlink(c->path, &c->file);
        while (c->clients)
                drop(c->clients);
        uv_close((uv_handle_t *) &c->listener, on_listener_closed);
}

unsigned sv_control_clients(const sv_control *c) {
        return c->nclients;
}

void sv_control_pool_event(sv_control *c, const sv_pool_event *ev) {
        ctl_client *cl, *next;
        json_t *o;
        char *s;
        size_t n;

        if (!c || c->closing || c->nfollowers == 0)
                return;
        o = sv__ctl_event_json(c->pool, ev);
        s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12)) : NULL;
        json_decref(o);
        if (!s)
                return;
        n = strlen(s);
        s[n] = '\n';
        /* Sending may drop a client, which unlinks it: take next first. */
        for (cl = c->clients; cl; cl = next) {
                next = cl->next;
                if (cl->events)
                        (void) send_raw(cl, s, n + 1);
        }
        free(s);
}

int sv_control_dial(const char *path, int *out_fd) {
        return sv__plat_unix_dial(path, false, out_fd);
}
