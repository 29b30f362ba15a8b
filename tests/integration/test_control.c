/* test_control.c - the control socket (sv_control_open) in front of a pool
 * of real workers: every request kind, malformed lines, the socket's mode and
 * its peer check against another uid, a stale socket replaced and a live one
 * left alone, the socket removed at close, 50 clients at once while workers
 * exit and restart underneath, and a client that never reads, which is
 * dropped without stalling the others. Clients are threads (or, for another
 * uid, a forked child) doing blocking socket I/O; the test's thread runs the
 * loop until they report back through a uv_async, so nothing sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "supervise/sv.h"
#include "supervise/sv_control.h"
#include "supervise/sv_pool.h"
#include "svtest.h"

#define IO_TIMEOUT_S 60

typedef struct fx {
        sv_supervisor *sv;
        sv_pool *pool;
        sv_control *ctl;
        uv_loop_t *loop;
        char dir[64], path[128];
        unsigned exits, spawns, restarted, paused, resumed, done;
        unsigned dropped, refused; /* lines of the control log */
        unsigned slot_exits[16];
} fx;

/* ---- The loop side ---- */

static void on_log(const char *msg, void *ud) {
        fx *f = ud;

        fprintf(stderr, "log: %s\n", msg);
        if (strstr(msg, "dropped"))
                f->dropped++;
        if (strstr(msg, "refused"))
                f->refused++;
}

static void on_pool_event(sv_pool *p, const sv_pool_event *ev, void *ud) {
        fx *f = ud;

        (void) p;
        if (ev->type == SV_POOL_EV_WORKER && ev->worker_event->type == SV_EVENT_EXIT) {
                f->exits++;
                if (ev->index < 16)
                        f->slot_exits[ev->index]++;
        }
        if (ev->type == SV_POOL_EV_WORKER && ev->worker_event->type == SV_EVENT_SPAWN)
                f->spawns++;
        f->restarted += ev->type == SV_POOL_EV_RESTARTED;
        f->paused += ev->type == SV_POOL_EV_PAUSED;
        f->resumed += ev->type == SV_POOL_EV_RESUMED;
        f->done += ev->type == SV_POOL_EV_DONE;
        sv_control_pool_event(f->ctl, ev);
}

/* Runs the loop until *flag (a counter) reaches want. */
static void run_until(fx *f, const unsigned *flag, unsigned want) {
        while (*flag < want)
                (void) uv_run(f->loop, UV_RUN_ONCE);
}

static void start(fx *f, unsigned copies, const char *const *argv, sv_restart_policy policy,
                  const sv_control_opts *co) {
        sv_supervisor_opts so = { 0 };
        sv_spawn_opts sp = { 0 };
        sv_pool_opts po = { 0 };
        sv_control_opts c = { 0 };

        memset(f, 0, sizeof(*f));
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/sv-ctl-test-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
        assert_int_equal(sv_supervisor_new(&so, &f->sv), 0);
        f->loop = sv_supervisor_loop(f->sv);
        sp.argv = argv;
        po.spawn = &sp;
        po.copies = copies;
        po.restart.policy = policy;
        po.restart.delay_min_ms = 1;
        po.restart.delay_max_ms = 20;
        po.on_event = on_pool_event;
        po.userdata = f;
        assert_int_equal(sv_pool_new(f->sv, &po, &f->pool), 0);
        if (co)
                c = *co;
        c.log = on_log;
        c.log_userdata = f;
        assert_int_equal(sv_control_open(f->pool, f->path, &c, &f->ctl), 0);
        assert_int_equal(sv_pool_start(f->pool), 0);
        run_until(f, &f->spawns, copies);
}

/* Stops everything, checks the socket is gone, and leaves nothing behind. */
static void finish(fx *f) {
        struct stat st;

        if (!sv_pool_done(f->pool)) {
                (void) sv_pool_shutdown(f->pool);
                run_until(f, &f->done, 1);
        }
        sv_control_close(f->ctl);
        assert_int_equal(lstat(f->path, &st), -1);
        assert_int_equal(errno, ENOENT);
        (void) uv_run(f->loop, UV_RUN_DEFAULT);
        sv_pool_free(f->pool);
        sv_supervisor_free(f->sv);
        assert_int_equal(rmdir(f->dir), 0);
        svt_assert_no_children();
}

/* ---- The client side: blocking sockets in threads ---- */

static int dial(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = -errno;

                (void) close(fd);
                return e;
        }
        return fd;
}

static int send_all(int fd, const char *s, size_t n) {
        ssize_t k;

        while (n > 0) {
                k = send(fd, s, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

/* A buffered reader of one socket's lines. */
typedef struct rd {
        int fd;
        size_t pos, len;
        char buf[4096];
} rd;

static int rd_byte(rd *r, char *c) {
        ssize_t k;

        while (r->pos == r->len) {
                /* With SO_RCVTIMEO set, a signal (SIGCHLD of the workers)
                 * makes recv fail with EINTR even under SA_RESTART. */
                k = recv(r->fd, r->buf, sizeof(r->buf), 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                r->pos = 0;
                r->len = (size_t) k;
        }
        *c = r->buf[r->pos++];
        return 0;
}

/* One line, without its newline; malloc'd, NULL on EOF, error or timeout. */
static char *recv_line(rd *r) {
        size_t n = 0, cap = 256;
        char *s = malloc(cap), *g, c = 0;

        while (s && rd_byte(r, &c) == 0 && c != '\n') {
                if (n + 2 > cap) {
                        g = realloc(s, cap *= 2);
                        if (!g)
                                break;
                        s = g;
                }
                s[n++] = c;
        }
        if (!s || c != '\n' || n == 0) {
                free(s);
                return NULL;
        }
        s[n] = '\0';
        return s;
}

typedef struct call {
        const char *path;
        const char *lines; /* requests, each ending in '\n' */
        unsigned nanswers; /* how many lines to read back */
        char *answers[64];
        int err;
        uv_async_t *wake;
        unsigned *ndone;
        unsigned *nfirst; /* if set: counted, and wake sent, on the first answer */
        pthread_mutex_t *mu;
} call;

static void *call_thread(void *arg) {
        call *c = arg;
        unsigned i;
        int fd = dial(c->path);
        static __thread rd r;

        r.fd = fd;
        r.pos = r.len = 0;
        if (fd < 0) {
                c->err = fd;
        } else {
                if (send_all(fd, c->lines, strlen(c->lines)) < 0)
                        c->err = -EPIPE;
                for (i = 0; !c->err && i < c->nanswers && i < 64; i++) {
                        c->answers[i] = recv_line(&r);
                        if (i == 0 && c->nfirst) {
                                pthread_mutex_lock(c->mu);
                                (*c->nfirst)++;
                                pthread_mutex_unlock(c->mu);
                                (void) uv_async_send(c->wake);
                        }
                }
                (void) close(fd);
        }
        pthread_mutex_lock(c->mu);
        (*c->ndone)++;
        pthread_mutex_unlock(c->mu);
        (void) uv_async_send(c->wake);
        return NULL;
}

static void on_wake(uv_async_t *a) {
        (void) a;
}

/* Runs n calls at once in threads while the loop serves them. */
static void run_calls(fx *f, call *calls, unsigned n) {
        pthread_t th[64];
        pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
        uv_async_t wake;
        unsigned i, done = 0, seen = 0;

        assert_true(n <= 64);
        assert_int_equal(uv_async_init(f->loop, &wake, on_wake), 0);
        for (i = 0; i < n; i++) {
                calls[i].path = calls[i].path ? calls[i].path : f->path;
                calls[i].wake = &wake;
                calls[i].ndone = &done;
                calls[i].mu = &mu;
                assert_int_equal(pthread_create(&th[i], NULL, call_thread, &calls[i]), 0);
        }
        while (seen < n) {
                (void) uv_run(f->loop, UV_RUN_ONCE);
                pthread_mutex_lock(&mu);
                seen = done;
                pthread_mutex_unlock(&mu);
        }
        for (i = 0; i < n; i++)
                assert_int_equal(pthread_join(th[i], NULL), 0);
        uv_close((uv_handle_t *) &wake, NULL);
        (void) uv_run(f->loop, UV_RUN_NOWAIT);
}

static void free_call(call *c) {
        unsigned i;

        for (i = 0; i < 64; i++)
                free(c->answers[i]);
}

/* One request, one answer, parsed; fails the test if there is none. */
static json_t *ask(fx *f, const char *line) {
        call c = { 0 };
        char buf[512];
        json_t *o;

        (void) snprintf(buf, sizeof(buf), "%s\n", line);
        c.lines = buf;
        c.nanswers = 1;
        run_calls(f, &c, 1);
        assert_int_equal(c.err, 0);
        assert_non_null(c.answers[0]);
        o = json_loads(c.answers[0], 0, NULL);
        if (!o)
                fail_msg("not JSON: %s", c.answers[0]);
        free_call(&c);
        return o;
}

static bool ok(json_t *o) {
        return json_is_true(json_object_get(o, "ok"));
}

static json_int_t geti(json_t *o, const char *k) {
        return json_integer_value(json_object_get(o, k));
}

static json_t *worker_n(json_t *resp, size_t i) {
        return json_array_get(json_object_get(resp, "workers"), i);
}

static const char *sleeper[] = { SV_WORKERS_DIR "/sv-sleep", "forever", NULL };

/* ---- Requests ---- */

static void test_list_shows_every_worker_and_echoes_the_id(void **state) {
        fx f;
        json_t *r, *w;
        size_t i;

        (void) state;
        start(&f, 3, sleeper, SV_RESTART_NO, NULL);
        r = ask(&f, "{\"id\":\"abc\",\"cmd\":\"list\"}");
        assert_true(ok(r));
        assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
        assert_int_equal(geti(r, "size"), 3);
        assert_int_equal(json_array_size(json_object_get(r, "workers")), 3);
        for (i = 0; i < 3; i++) {
                w = worker_n(r, i);
                assert_int_equal(geti(w, "worker"), (json_int_t) i);
                assert_int_equal(geti(w, "pid"), sv_worker_pid(sv_pool_worker(f.pool, (unsigned) i)));
                assert_string_equal(json_string_value(json_object_get(w, "state")), "running");
                assert_true(json_is_integer(json_object_get(w, "uptime_ms")));
                assert_int_equal(geti(w, "restarts"), 0);
                assert_true(json_is_null(json_object_get(w, "last_exit")));
        }
        json_decref(r);
        finish(&f);
}

/* The use case: a parent kills one hung worker; the others run on. */
static void test_signal_one_worker_leaves_the_others_running(void **state) {
        fx f;
        json_t *r, *last;

        (void) state;
        start(&f, 3, sleeper, SV_RESTART_NO, NULL);
        r = ask(&f, "{\"id\":7,\"cmd\":\"signal\",\"worker\":1,\"signal\":\"KILL\"}");
        assert_true(ok(r));
        assert_int_equal(geti(r, "id"), 7);
        json_decref(r);
        run_until(&f, &f.slot_exits[1], 1);
        r = ask(&f, "{\"cmd\":\"list\"}");
        assert_string_equal(json_string_value(json_object_get(worker_n(r, 1), "state")), "exited");
        last = json_object_get(worker_n(r, 1), "last_exit");
        assert_string_equal(json_string_value(json_object_get(last, "signal")), "SIGKILL");
        assert_string_equal(json_string_value(json_object_get(worker_n(r, 0), "state")), "running");
        assert_string_equal(json_string_value(json_object_get(worker_n(r, 2), "state")), "running");
        assert_int_equal(f.exits, 1);
        json_decref(r);
        /* A slot without a process: refused, with the reason. */
        r = ask(&f, "{\"cmd\":\"signal\",\"worker\":1,\"signal\":\"TERM\"}");
        assert_false(ok(r));
        assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "worker 1"));
        json_decref(r);
        finish(&f);
}

static void test_signal_tree_reaches_the_grandchild(void **state) {
        static const char *tree[] = { SV_WORKERS_DIR "/sv-spawn-child", NULL };
        fx f;
        json_t *r, *procs;

        (void) state;
        start(&f, 1, tree, SV_RESTART_NO, NULL);
        /* The child may not exist yet: ask until the tree shows it. */
        for (;;) {
                r = ask(&f, "{\"cmd\":\"tree\",\"worker\":0}");
                assert_true(ok(r));
                procs = json_object_get(worker_n(r, 0), "procs");
                if (json_array_size(procs) > 0)
                        break;
                json_decref(r);
        }
        assert_int_equal(geti(json_array_get(procs, 0), "ppid"), geti(worker_n(r, 0), "pid"));
        json_decref(r);
        r = ask(&f, "{\"cmd\":\"signal\",\"worker\":\"all\",\"signal\":\"TERM\",\"tree\":true}");
        assert_true(ok(r));
        assert_int_equal(json_array_size(json_object_get(r, "workers")), 1);
        json_decref(r);
        run_until(&f, &f.exits, 1);
        finish(&f);
}

static void test_stop_restart_pause_resume_and_scale(void **state) {
        fx f;
        json_t *r;
        pid_t before;

        (void) state;
        start(&f, 2, sleeper, SV_RESTART_ALWAYS, NULL);
        before = sv_worker_pid(sv_pool_worker(f.pool, 0));
        r = ask(&f, "{\"cmd\":\"restart\",\"worker\":0}");
        assert_true(ok(r));
        json_decref(r);
        run_until(&f, &f.restarted, 1);
        assert_int_not_equal(sv_worker_pid(sv_pool_worker(f.pool, 0)), before);

        r = ask(&f, "{\"cmd\":\"pause\",\"worker\":1}");
        assert_true(ok(r));
        json_decref(r);
        run_until(&f, &f.paused, 1);
        r = ask(&f, "{\"cmd\":\"list\"}");
        assert_string_equal(json_string_value(json_object_get(worker_n(r, 1), "state")), "paused");
        json_decref(r);
        r = ask(&f, "{\"cmd\":\"pause\",\"worker\":1}");
        assert_false(ok(r)); /* already paused */
        json_decref(r);
        r = ask(&f, "{\"cmd\":\"resume\",\"worker\":1}");
        assert_true(ok(r));
        json_decref(r);
        run_until(&f, &f.resumed, 1);

        r = ask(&f, "{\"cmd\":\"scale\",\"n\":4}");
        assert_true(ok(r));
        assert_int_equal(geti(r, "size"), 4);
        json_decref(r);
        run_until(&f, &f.spawns, 5); /* 2 + the restart + 2 new */
        r = ask(&f, "{\"cmd\":\"stop\",\"worker\":3}");
        assert_true(ok(r));
        json_decref(r);
        run_until(&f, &f.slot_exits[3], 1);
        r = ask(&f, "{\"cmd\":\"list\"}");
        assert_int_equal(geti(r, "size"), 4);
        assert_string_equal(json_string_value(json_object_get(worker_n(r, 3), "state")), "exited");
        assert_int_equal(geti(worker_n(r, 0), "restarts"), 1);
        json_decref(r);
        r = ask(&f, "{\"cmd\":\"stop\",\"worker\":9}");
        assert_false(ok(r));
        json_decref(r);
        finish(&f);
}

/* events: the answer, then the stream; shutdown: ok, then every worker
 * stops and the pool is done, which the stream shows too. */
static void test_events_stream_and_shutdown(void **state) {
        fx f;
        call c[2] = { { 0 } };
        json_t *o;
        unsigned i;
        bool saw_exit = false, saw_done = false;

        (void) state;
        start(&f, 2, sleeper, SV_RESTART_ALWAYS, NULL);
        c[0].lines = "{\"id\":1,\"cmd\":\"events\"}\n";
        c[0].nanswers = 64; /* until EOF */
        c[1].lines = "{\"id\":2,\"cmd\":\"shutdown\"}\n";
        c[1].nanswers = 1;
        /* The follower must be following before shutdown: one at a time. */
        {
                pthread_t th;
                pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
                uv_async_t wake;
                unsigned done = 0, first = 0;

                assert_int_equal(uv_async_init(f.loop, &wake, on_wake), 0);
                c[0].path = f.path;
                c[0].wake = &wake;
                c[0].ndone = &done;
                c[0].nfirst = &first;
                c[0].mu = &mu;
                assert_int_equal(pthread_create(&th, NULL, call_thread, &c[0]), 0);
                for (;;) {
                        pthread_mutex_lock(&mu);
                        i = first;
                        pthread_mutex_unlock(&mu);
                        if (i)
                                break;
                        (void) uv_run(f.loop, UV_RUN_ONCE);
                }
                run_calls(&f, &c[1], 1);
                run_until(&f, &f.done, 1);
                sv_control_close(f.ctl); /* ends the stream */
                for (;;) {
                        pthread_mutex_lock(&mu);
                        i = done;
                        pthread_mutex_unlock(&mu);
                        if (i)
                                break;
                        (void) uv_run(f.loop, UV_RUN_ONCE);
                }
                assert_int_equal(pthread_join(th, NULL), 0);
                uv_close((uv_handle_t *) &wake, NULL);
        }
        assert_non_null(c[1].answers[0]);
        o = json_loads(c[1].answers[0], 0, NULL);
        assert_true(ok(o));
        json_decref(o);
        o = json_loads(c[0].answers[0], 0, NULL);
        assert_true(ok(o));
        assert_true(json_is_true(json_object_get(o, "events")));
        json_decref(o);
        for (i = 1; i < 64 && c[0].answers[i]; i++) {
                o = json_loads(c[0].answers[i], 0, NULL);
                assert_non_null(o);
                saw_exit |= strcmp(json_string_value(json_object_get(o, "event")), "exit") == 0 &&
                            json_is_object(json_object_get(o, "exit"));
                saw_done |= strcmp(json_string_value(json_object_get(o, "event")), "done") == 0;
                json_decref(o);
        }
        assert_true(saw_exit);
        assert_true(saw_done);
        free_call(&c[0]);
        free_call(&c[1]);
        f.ctl = NULL;
        (void) uv_run(f.loop, UV_RUN_DEFAULT);
        sv_pool_free(f.pool);
        sv_supervisor_free(f.sv);
        assert_int_equal(rmdir(f.dir), 0);
        svt_assert_no_children();
}

/* Each bad line gets an error object, with the id when there was one, and
 * the connection keeps serving. */
static void test_malformed_requests_get_error_objects(void **state) {
        static const char *bad[] = {
                "{", "[]", "42", "\"list\"", "{\"cmd\":42}", "{\"cmd\":\"nope\"}",
                "{\"id\":3,\"cmd\":\"signal\",\"worker\":0}", "{\"cmd\":\"signal\",\"worker\":0,\"signal\":\"0\"}",
                "{\"cmd\":\"signal\",\"worker\":0,\"signal\":\"NOPE\"}", "{\"cmd\":\"stop\"}",
                "{\"cmd\":\"stop\",\"worker\":-1}", "{\"cmd\":\"list\",\"extra\":1}",
                "{\"cmd\":\"scale\",\"n\":\"x\"}", "{\"id\":{},\"cmd\":\"list\"}",
                "{\"cmd\":\"list\",\"cmd\":\"list\"}", "{\"cmd\":\"li\\u0000st\"}", "\xff\xfe",
        };
        enum { NBAD = sizeof(bad) / sizeof(bad[0]) };
        char lines[4096] = "";
        call c = { 0 };
        json_t *o;
        size_t i;

        fx f;

        (void) state;
        start(&f, 1, sleeper, SV_RESTART_NO, NULL);
        for (i = 0; i < NBAD; i++) {
                strcat(lines, bad[i]);
                strcat(lines, "\n");
        }
        strcat(lines, "\n   \n{\"id\":99,\"cmd\":\"list\"}\n"); /* blank lines: no answer */
        c.lines = lines;
        c.nanswers = NBAD + 1;
        run_calls(&f, &c, 1);
        assert_int_equal(c.err, 0);
        for (i = 0; i < NBAD; i++) {
                if (!c.answers[i])
                        fail_msg("no answer to '%s'", bad[i]);
                o = json_loads(c.answers[i], 0, NULL);
                assert_non_null(o);
                if (ok(o) || !json_is_string(json_object_get(o, "error")))
                        fail_msg("'%s' got %s", bad[i], c.answers[i]);
                json_decref(o);
        }
        o = json_loads(c.answers[6], 0, NULL);
        assert_int_equal(geti(o, "id"), 3);
        json_decref(o);
        o = json_loads(c.answers[NBAD], 0, NULL);
        assert_true(ok(o));
        assert_int_equal(geti(o, "id"), 99);
        json_decref(o);
        free_call(&c);
        finish(&f);
}

/* ---- The socket ---- */

static void test_socket_is_0600(void **state) {
        fx f;
        struct stat st;

        (void) state;
        start(&f, 1, sleeper, SV_RESTART_NO, NULL);
        assert_int_equal(lstat(f.path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        finish(&f);
}

static void on_child_word(uv_poll_t *p, int status, int events) {
        unsigned *n = p->data;

        (void) status;
        (void) events;
        (*n)++;
        (void) uv_poll_stop(p);
}

/* A child that becomes uid 65534, connects and reports the first line it
 * reads (or "EOF"/"ERR n") through a pipe, then exits. */
static pid_t nobody_client(const char *path, int wr) {
        pid_t pid = fork();
        char *line, *more = NULL, buf[600];
        static rd r;
        int fd;

        if (pid != 0)
                return pid;
        if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
        fd = dial(path);
        if (fd < 0) {
                (void) snprintf(buf, sizeof(buf), "ERR %d\n", -fd);
        } else {
                (void) send_all(fd, "{\"cmd\":\"list\"}\n", 15);
                r.fd = fd;
                line = recv_line(&r);
                (void) snprintf(buf, sizeof(buf), "%s\n", line ? line : "EOF");
                /* Refused: the server closes after its one line. */
                if (line && (more = recv_line(&r)) != NULL)
                        (void) snprintf(buf, sizeof(buf), "MORE\n");
                free(line);
                free(more);
        }
        (void) write(wr, buf, strlen(buf));
        _exit(0);
}

/* The refusal must come from SO_PEERCRED, not from the file's mode: the
 * test opens the directory and the socket to everyone first (which the
 * server never does), so only the peer check stands in the way. */
static void test_other_uid_is_refused_by_peer_credentials(void **state) {
        fx f;
        int fds[2], status;
        unsigned words = 0;
        uv_poll_t poll;
        char buf[600] = "";
        ssize_t n;
        pid_t pid;

        (void) state;
        if (geteuid() != 0)
                skip(); /* only root can become another uid */
        start(&f, 1, sleeper, SV_RESTART_NO, NULL);
        assert_int_equal(chmod(f.dir, 0755), 0);
        assert_int_equal(chmod(f.path, 0666), 0);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = nobody_client(f.path, fds[1]);
        assert_true(pid > 0);
        (void) close(fds[1]);
        assert_int_equal(uv_poll_init(f.loop, &poll, fds[0]), 0);
        poll.data = &words;
        assert_int_equal(uv_poll_start(&poll, UV_READABLE | UV_DISCONNECT, on_child_word), 0);
        run_until(&f, &words, 1);
        uv_close((uv_handle_t *) &poll, NULL);
        n = read(fds[0], buf, sizeof(buf) - 1);
        assert_true(n > 0);
        (void) close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* Its verdict is what it wrote; under valgrind its exit status
         * also counts what the fork copied from us (still reachable). */
        assert_true(WIFEXITED(status));
        if (!strstr(buf, "permission denied") || !strstr(buf, "65534"))
                fail_msg("the other uid got: %s", buf);
        assert_int_equal(f.refused, 1);
        finish(&f);
}

static void test_stale_socket_is_replaced_and_a_live_one_is_not(void **state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        sv_control *second = NULL;
        fx f;
        int fd, file;
        char other[160];
        json_t *r;

        (void) state;
        start(&f, 1, sleeper, SV_RESTART_NO, NULL);
        /* Live: a second server on the same path is refused, ours still answers. */
        assert_int_equal(sv_control_open(f.pool, f.path, NULL, &second), UV_EADDRINUSE);
        r = ask(&f, "{\"cmd\":\"list\"}");
        assert_true(ok(r));
        json_decref(r);

        /* Stale: a socket whose listener died; a new server takes its place. */
        (void) snprintf(other, sizeof(other), "%s/stale.sock", f.dir);
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", other);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 1), 0);
        (void) close(fd);
        assert_int_equal(sv_control_open(f.pool, other, NULL, &second), 0);
        sv_control_close(second);
        assert_int_equal(access(other, F_OK), -1);

        /* Not a socket: left alone. */
        file = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(file >= 0);
        (void) close(file);
        assert_int_equal(sv_control_open(f.pool, other, NULL, &second), UV_EEXIST);
        assert_int_equal(access(other, F_OK), 0);
        assert_int_equal(unlink(other), 0);
        finish(&f);
}

static void test_too_long_line_is_refused_and_closed(void **state) {
        fx f;
        call c = { 0 };
        char *big = malloc(70000);
        json_t *o;

        (void) state;
        assert_non_null(big);
        memset(big, ' ', 69998);
        big[69998] = '\n';
        big[69999] = '\0';
        start(&f, 1, sleeper, SV_RESTART_NO, NULL);
        c.lines = big;
        c.nanswers = 2;
        run_calls(&f, &c, 1);
        assert_non_null(c.answers[0]);
        o = json_loads(c.answers[0], 0, NULL);
        assert_false(ok(o));
        json_decref(o);
        assert_null(c.answers[1]); /* then EOF */
        free_call(&c);
        free(big);
        finish(&f);
}

/* ---- Load ---- */

/* 50 clients at once, each asking 20 things, while 8 workers exit every
 * few milliseconds and are restarted. Each answer matches its request. */
static void test_fifty_clients_while_workers_restart(void **state) {
        static const char *brief[] = { SV_WORKERS_DIR "/sv-sleep", "5", NULL };
        enum { NCLIENTS = 50, NREQ = 20 };
        static call c[NCLIENTS];
        static char lines[NCLIENTS][2048];
        fx f;
        unsigned i, k, len;
        json_t *o;

        (void) state;
        start(&f, 8, brief, SV_RESTART_ALWAYS, NULL);
        memset(c, 0, sizeof(c));
        for (i = 0; i < NCLIENTS; i++) {
                for (k = 0, len = 0; k < NREQ; k++) {
                        static const char *kinds[] = {
                                "{\"id\":%u,\"cmd\":\"list\"}\n",
                                "{\"id\":%u,\"cmd\":\"tree\"}\n",
                                "{\"id\":%u,\"cmd\":\"signal\",\"worker\":\"all\",\"signal\":\"CONT\"}\n",
                                "{\"id\":%u,\"cmd\":\"signal\",\"worker\":3,\"signal\":\"CONT\"}\n",
                        };
                        len += (unsigned) snprintf(lines[i] + len, sizeof(lines[i]) - len, kinds[(i + k) % 4],
                                                   k);
                }
                c[i].lines = lines[i];
                c[i].nanswers = NREQ;
        }
        run_calls(&f, c, NCLIENTS);
        for (i = 0; i < NCLIENTS; i++) {
                assert_int_equal(c[i].err, 0);
                for (k = 0; k < NREQ; k++) {
                        if (!c[i].answers[k])
                                fail_msg("client %u got no answer %u (err %d)", i, k, c[i].err);
                        o = json_loads(c[i].answers[k], 0, NULL);
                        assert_non_null(o);
                        assert_int_equal(geti(o, "id"), k);
                        /* A single worker may be between two copies. */
                        if (!ok(o) && (i + k) % 4 != 3)
                                fail_msg("client %u: %s", i, c[i].answers[k]);
                        json_decref(o);
                }
                free_call(&c[i]);
        }
        assert_true(f.restarted > 0);
        finish(&f);
}

/* A client that sends requests and never reads: once 64 KiB of answers
 * wait for it, it is dropped (the log says so); another client is served
 * all along. */
static void test_client_that_never_reads_is_dropped(void **state) {
        sv_control_opts co = { .max_queue = 65536 };
        fx f;
        int fd;
        char req[] = "{\"cmd\":\"list\"}\n";
        unsigned i;
        json_t *r;

        (void) state;
        start(&f, 8, sleeper, SV_RESTART_NO, &co);
        fd = dial(f.path);
        assert_true(fd >= 0);
        /* The server reads as fast as we write; a small send buffer is fine. */
        for (i = 0; i < 20000 && f.dropped == 0; i++) {
                if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                    errno != EAGAIN)
                        break;
                (void) uv_run(f.loop, UV_RUN_NOWAIT);
        }
        run_until(&f, &f.dropped, 1);
        r = ask(&f, "{\"cmd\":\"list\"}");
        assert_true(ok(r));
        json_decref(r);
        assert_int_equal(sv_control_clients(f.ctl), 0);
        (void) close(fd);
        finish(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list_shows_every_worker_and_echoes_the_id),
                cmocka_unit_test(test_signal_one_worker_leaves_the_others_running),
                cmocka_unit_test(test_signal_tree_reaches_the_grandchild),
                cmocka_unit_test(test_stop_restart_pause_resume_and_scale),
                cmocka_unit_test(test_events_stream_and_shutdown),
                cmocka_unit_test(test_malformed_requests_get_error_objects),
                cmocka_unit_test(test_socket_is_0600),
                cmocka_unit_test(test_other_uid_is_refused_by_peer_credentials),
                cmocka_unit_test(test_stale_socket_is_replaced_and_a_live_one_is_not),
                cmocka_unit_test(test_too_long_line_is_refused_and_closed),
                cmocka_unit_test(test_fifty_clients_while_workers_restart),
                cmocka_unit_test(test_client_that_never_reads_is_dropped),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
