/* spawn.c - starting a worker: prepare (environment with the tree's
 * marker, stdio, a pid map slot and a cgroup), launch (sv__plat_spawn),
 * watch (its pidfd joins the wait set) and publish (the live list, its
 * pipes and timers). Anything that fails before publish leaves no worker
 * and no process behind. This runs for every spawn: it only copies pointers
 * and never formats a string it does not need. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

extern char **environ;

typedef struct spawn_prep {
        const char **envp;
        const char *path;
        int pipes[2][2];
} spawn_prep;

static void prep_release(spawn_prep *p) {
        int i, j;

        for (i = 0; i < 2; i++)
                for (j = 0; j < 2; j++)
                        if (p->pipes[i][j] >= 0)
                                close(p->pipes[i][j]);
}

/* The environment for a worker with a private /tmp: TMPDIR points at it,
 * whatever ours says. Copies the `n` pointers of src but TMPDIR into dst
 * and returns how many dst holds. */
static size_t env_private_tmp(const char **dst, const char *const *src, size_t n) {
        size_t i, k = 0;

        for (i = 0; i < n; i++) {
                if (strncmp(src[i], "TMPDIR=", 7) != 0)
                        dst[k++] = src[i];
        }
        dst[k++] = "TMPDIR=/tmp";
        return k;
}

/* Copies the environment (ours or the caller's) and appends the marker the
 * /proc fallback and the guardian follow through setsid and double forks.
 * An inherited SUPERVISE_TREE (we run under another supervise) stays: the
 * outer one owns this tree too, and markers are matched anywhere in the
 * environment. This runs for every spawn, so it only copies pointers. */
static int prep_env(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p) {
        sv_supervisor *sv = w->sv;
        const char *const *src = o->env ? o->env : (const char *const *) environ;
        const char **nv;
        size_t n = 0, i;

        /* Counting our own environment at every spawn is most of this
         * function's cost; it changes only if the program calls setenv,
         * which moves or lengthens the array. */
        if (!o->env && environ == sv->env_seen && sv->env_count > 0 &&
            environ[sv->env_count - 1] && !environ[sv->env_count]) {
                n = sv->env_count;
        } else {
                while (src[n])
                        n++;
                if (!o->env) {
                        sv->env_seen = environ;
                        sv->env_count = n;
                }
        }
        /* The child execs before sv__plat_spawn returns: one buffer for
         * every spawn will do. */
        if (n + 3 > sv->envcap) {
                nv = realloc(sv->envbuf, (n + 16) * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                sv->envbuf = nv;
                sv->envcap = n + 16;
        }
        p->envp = sv->envbuf;
        if (o->isolate & SV_ISOLATE_TMP) {
                n = env_private_tmp(p->envp, src, n);
        } else {
                memcpy(p->envp, src, n * sizeof(*p->envp));
        }
        p->envp[n] = w->marker;
        p->envp[n + 1] = NULL;
        /* The child searches the PATH of its own environment, as execvp. */
        if (!strchr(o->argv[0], '/')) {
                for (i = 0; i < n; i++) {
                        if (strncmp(src[i], "PATH=", 5) == 0) {
                                p->path = src[i] + 5;
                                break;
                        }
                }
        }
        return 0;
}

/* "SUPERVISE_TREE=<our token>.<id>" without snprintf, which costs more than
 * the rest of the spawn's bookkeeping. */
static void make_marker(sv_worker *w) {
        const sv_supervisor *sv = w->sv;
        char digits[16];
        unsigned id = w->id;
        size_t n = 0, k = sv->marker_len;

        memcpy(w->marker, sv->marker_prefix, k);
        do {
                digits[n++] = (char) ('0' + id % 10);
                id /= 10;
        } while (id);
        while (n)
                w->marker[k++] = digits[--n];
        w->marker[k] = '\0';
}

static int prep_stdio(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p, sv__spawn_req *req) {
        int i, r;

        for (i = 0; i < 3; i++) {
                req->stdio_fd[i] = -1;
                switch (o->stdio[i]) {
                case SV_STDIO_INHERIT:
                        break;
                case SV_STDIO_NULL:
                        req->stdio_fd[i] = w->sv->devnull;
                        break;
                case SV_STDIO_PIPE:
                        if (i == 0)
                                return UV_EINVAL; /* we never write to workers */
                        if (sv__worker_need_io(w) < 0)
                                return UV_ENOMEM;
                        r = sv__plat_pipe(p->pipes[i - 1]);
                        if (r < 0)
                                return r;
                        req->stdio_fd[i] = p->pipes[i - 1][1];
                        break;
                default:
                        return UV_EINVAL;
                }
        }
        return 0;
}

static int publish_pipes(sv_worker *w, spawn_prep *p) {
        uv_loop_t *loop = w->sv->loop;
        int i, r;

        for (i = 0; i < 2; i++) {
                if (p->pipes[i][0] < 0)
                        continue;
                close(p->pipes[i][1]);
                p->pipes[i][1] = -1;
                r = uv_pipe_init(loop, &w->io->pipe[i], 0);
                if (r < 0)
                        return r;
                w->io->pipe[i].data = w;
                w->handles++;
                w->pipe_open[i] = true;
                r = uv_pipe_open(&w->io->pipe[i], p->pipes[i][0]);
                if (r < 0)
                        return r;
                p->pipes[i][0] = -1;
                r = uv_read_start((uv_stream_t *) &w->io->pipe[i], sv__worker_on_alloc,
                                  sv__worker_on_read);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A child we cannot watch would never have its exit reported: end it
 * (and anything it started already) and reap it before failing. */
static void abandon_child(sv_worker *w, const sv__spawn_res *res) {
        if (w->cg)
                (void) sv__cg_kill(w->cg);
        (void) sv__plat_kill(res->pid, res->pidfd, SIGKILL);
        if (res->pidfd >= 0)
                sv__plat_close(res->pidfd);
        if (res->nsfd >= 0)
                sv__plat_close(res->nsfd);
        (void) sv__plat_reap_wait(&res->pid, 1, 5000);
}

/* The one step after the spawn that may fail: the pidfd joins the wait
 * set. The pid map has room already (sv__pidmap_reserve). */
static int watch(sv_worker *w, const sv__spawn_res *res) {
        int r;

        w->pid = res->pid;
        w->pidfd = res->pidfd;
        w->nsfd = res->nsfd;
        if (w->pidfd < 0)
                return 0;
        r = sv__reap_watch(w->sv, w);
        if (r < 0) {
                sv__log(w->sv, "worker %u: cannot watch its pidfd: %s", w->id, uv_strerror(r));
                abandon_child(w, res);
                w->pid = 0;
                w->pidfd = -1;
                w->nsfd = -1;
        }
        return r;
}

static void publish(sv_worker *w, spawn_prep *p) {
        sv_supervisor *sv = w->sv;
        int r;

        if (sv->tail) {
                sv->tail->next = w;
                w->prev = sv->tail;
        } else {
                sv->head = w;
        }
        sv->tail = w;
        sv->live++;
        /* Without pidfds only the SIGCHLD watcher can tell us of an exit:
         * it must keep the loop alive while a leader is unreaped. */
        if (sv->unreaped++ == 0)
                uv_ref(sv__reap_handle(sv));
        (void) sv__pidmap_put(&sv->bypid, w); /* reserved: cannot fail */

        /* From here on, failures only cost features, never the exit. */
        r = publish_pipes(w, p);
        if (r < 0)
                sv__log(sv, "worker %u: cannot read its output: %s", w->id, uv_strerror(r));
        if (w->idle_timeout_ms && (w->pipe_open[0] || w->pipe_open[1]) &&
            uv_timer_init(sv->loop, &w->io->idle) == 0) {
                w->io->idle.data = w;
                w->handles++;
                w->idle_active = true;
                uv_update_time(sv->loop);
                uv_timer_start(&w->io->idle, sv__worker_on_idle, w->idle_timeout_ms,
                               w->idle_timeout_ms);
        }
        if (w->timeout_ms && (!sv->pidfds || sv__reap_watch_timeout(sv, w) < 0)) {
                /* Without our epoll set, a libuv timer; the loop's clock may
                 * be stale if we were called outside a callback. */
                uv_update_time(sv->loop);
                sv__worker_arm(w, w->timeout_ms);
        }
        sv__log(sv, "worker %u pid %d: spawned '%s'", w->id, (int) w->pid, "");
        if (w->on_event) {
                sv_event ev = { .type = SV_EVENT_SPAWN };

                sv__worker_emit(w, &ev);
        }
}

/* A fresh (or reused) worker with the caller's options; it is RUNNING, the
 * zero of sv_worker_state, from the memset on. */
static void spawn_init(sv_worker *w, sv_supervisor *sv, const sv_spawn_opts *o) {
        _Static_assert(SV_WORKER_RUNNING == 0 && SV__W_RUNNING == 0,
                       "a zeroed worker must be running");
        memset(w, 0, offsetof(sv_worker, timer));
        w->sv = sv;
        w->id = sv->next_id++;
        w->pidfd = -1;
        w->nsfd = -1;
        w->step = -1;
        w->last_step = -1;
        w->ladder = o->ladder ? *o->ladder : sv->ladder;
        /* A timeout past 2^44 ms (557 years) never fires: count it as none,
         * so start_us + timeout_ms * 1000 stays inside 64 bits (inf is
         * SV_DURATION_INF = UINT64_MAX). */
        w->timeout_ms = o->timeout_ms >> 44 ? 0 : o->timeout_ms;
        w->idle_timeout_ms = o->idle_timeout_ms;
        w->leaks = o->leaks;
        w->on_exit = o->on_exit;
        w->on_output = o->on_output;
        w->on_event = o->on_event;
        w->userdata = o->userdata;
        make_marker(w);
}

/* Starts the process of a prepared worker and watches it. On failure no
 * process is left (watch() kills and reaps one it cannot watch). */
static int spawn_launch(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p,
                        sv__spawn_req *req) {
        sv_supervisor *sv = w->sv;
        sv__spawn_res res;
        int r;

        req->argv = o->argv;
        req->envp = p->envp;
        req->path = p->path;
        req->cwd = o->cwd;
        req->cgroup = w->cg ? w->cg->path : NULL;
        req->want_pidfd = sv->pidfds;
        req->pidns = sv->mech == SV_MECH_PIDNS;
        req->isolate = o->isolate;
        res.nsfd = -1;

        /* Wall time and the deadline count from here, as GNU timeout's do
         * from its fork: the exec is part of the job's time. */
        w->start_us = sv__plat_now_us();
        /* The guardian must exist before the first worker can start anything
         * that would outlive us. It is started here rather than with the
         * supervisor, so that a timed run's clock (which starts above) pays
         * for its fork instead of our start-up. */
        if (!sv->guardian.pid && !(sv->flags & SV_SUPERVISOR_NO_GUARDIAN))
                sv__guard_start(sv);
        r = sv__plat_spawn(req, &res);
        if (r < 0)
                return r;
        return watch(w, &res);
}

/* Takes a cgroup (with that mechanism) and launches. A cgroup removed
 * behind our back (only an empty one can be) makes the spawn fail, with
 * ENOENT; it is dropped, never handed out again, and the spawn tries the
 * next one rather than report an error that is not the program's. */
static int launch_in_cgroup(sv_worker *w, const sv_spawn_opts *o, spawn_prep *p,
                            sv__spawn_req *req) {
        sv_supervisor *sv = w->sv;
        int r, tries;

        if (sv->mech != SV_MECH_CGROUP)
                return spawn_launch(w, o, p, req);
        for (tries = 0; tries < 4; tries++) {
                r = sv__cg_get(sv, &w->cg);
                if (r < 0)
                        return r;
                r = spawn_launch(w, o, p, req);
                if (r >= 0 || !sv__cg_gone(w->cg))
                        return r;
                sv__cg_close(w->cg);
                free(w->cg);
                w->cg = NULL;
        }
        return r;
}

int sv_spawn(sv_supervisor *sv, const sv_spawn_opts *o, sv_worker **out) {
        sv__spawn_req req;
        spawn_prep p;
        sv_worker *w;
        int r;

        if (!sv || !o || !o->argv || !o->argv[0] || !o->argv[0][0])
                return UV_EINVAL;
        /* Cached after the first time: never a silent spawn without them. */
        if (o->isolate) {
                r = sv__plat_isolate_probe(o->isolate);
                if (r < 0)
                        return r;
        }
        w = sv__worker_alloc(sv);
        if (!w)
                return UV_ENOMEM;
        spawn_init(w, sv, o);

        memset(&p, 0, sizeof(p));
        memset(&req, 0, sizeof(req));
        p.pipes[0][0] = p.pipes[0][1] = p.pipes[1][0] = p.pipes[1][1] = -1;
        r = prep_env(w, o, &p);
        if (r < 0)
                goto fail;
        r = prep_stdio(w, o, &p, &req);
        if (r < 0)
                goto fail;
        r = sv__pidmap_reserve(&sv->bypid);
        if (r < 0)
                goto fail;
        r = launch_in_cgroup(w, o, &p, &req);
        if (r < 0)
                goto fail_cg;

        publish(w, &p);

        prep_release(&p);
        if (out)
                *out = w;
        return 0;

fail_cg:
        if (w->cg && w->cg->killed) {
                (void) sv__cg_destroy(w->cg);
                free(w->cg);
        } else if (w->cg) {
                sv__cg_put(sv, w->cg);
        }
fail:
        prep_release(&p);
        free(w->io);
        free(w);
        /* Keep ids dense: a failed spawn never became a worker. */
        sv->next_id--;
        return r;
}

int sv_isolate_check(unsigned isolate) {
        return sv__plat_isolate_probe(isolate);
}
