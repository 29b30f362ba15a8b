/* wio.c - a worker's libuv handles and memory: its timer, idle timer and
 * output pipes, made on first need, translated into machine events
 * (sv__worker_step), and closed; the worker itself is freed by its last
 * close callback into a spare list, from which the next spawn takes it.
 * No policy here: a callback only says what happened. */
#include <stdlib.h>

#include "core/internal.h"

/* Up to this many freed workers are kept for the next spawns: a worker is
 * big (its handles), and malloc/free of it was a tenth of a spawn's cost. */
#define SPARE_MAX 64

int sv__worker_need_io(sv_worker *w) {
        if (!w->io)
                w->io = malloc(sizeof(*w->io));
        return w->io ? 0 : UV_ENOMEM;
}

static void on_timer(uv_timer_t *t) {
        sv_worker *w = t->data;
        uint64_t now, at;

        switch (w->ws) {
        case SV__W_RUNNING:
        case SV__W_HELD:
                /* libuv's clock counts whole milliseconds, so its timer can
                 * fire up to one early; a timeout never does. */
                now = sv__plat_now_us();
                at = w->start_us + w->timeout_ms * 1000u;
                if (now < at) {
                        sv__worker_arm(w, (at - now + 999u) / 1000u);
                        return;
                }
                sv__worker_step(w, SV_EV_TIMEOUT);
                break;
        case SV__W_TREE_DRAINING:
                sv__worker_step(w, SV_EV_TREE_POLL);
                break;
        default:
                sv__worker_step(w, SV_EV_GRACE_EXPIRED);
                break;
        }
}

/* The timer is made on first use: most workers never need one, and a
 * handle per worker costs more than the rest of the spawn's bookkeeping. */
void sv__worker_arm(sv_worker *w, uint64_t ms) {
        if (!w->timer_active) {
                (void) uv_timer_init(w->sv->loop, &w->timer);
                w->timer.data = w;
                w->handles++;
                w->timer_active = true;
        }
        /* Deadlines count from now, not from when this loop iteration
         * began: a grace period must never come out short. */
        uv_update_time(w->sv->loop);
        uv_timer_start(&w->timer, on_timer, ms, 0);
}

void sv__worker_on_idle(uv_timer_t *t) {
        sv_worker *w = t->data;

        uv_timer_stop(t);
        sv__worker_step(w, SV_EV_IDLE);
}

void sv__worker_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        sv_worker *w = h->data;

        (void) suggested;
        *buf = uv_buf_init(w->sv->readbuf, sizeof(w->sv->readbuf));
}

void sv__worker_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        sv_worker *w = s->data;
        int i = (uv_pipe_t *) s == &w->io->pipe[0] ? 0 : 1;

        if (n > 0) {
                /* uv_timer_again restarts a stopped timer too: a held
                 * worker's spent idle timeout must stay stopped. */
                if (w->idle_active && w->ws == SV__W_RUNNING)
                        uv_timer_again(&w->io->idle);
                if (w->on_output)
                        w->on_output(w, i + 1, buf->base, (size_t) n, w->userdata);
                return;
        }
        if (n == 0)
                return;
        /* EOF or error: the stream is done. */
        if (w->on_output)
                w->on_output(w, i + 1, buf->base, 0, w->userdata);
        w->pipe_open[i] = false;
        sv__worker_close_handle((uv_handle_t *) &w->io->pipe[i]);
        sv__worker_step(w, SV_EV_PIPE_EOF);
}

static void free_worker(sv_worker *w) {
        sv_supervisor *sv = w->sv;

        sv->closing--;
        free(w->leak_list);
        w->leak_list = NULL;
        if (sv->in_batch) {
                w->next = sv->grave;
                sv->grave = w;
                return;
        }
        sv__worker_bury(w);
}

void sv__worker_bury(sv_worker *w) {
        sv_supervisor *sv = w->sv;

        if (sv->nspare < SPARE_MAX) {
                w->next = sv->spare;
                sv->spare = w;
                sv->nspare++;
                return;
        }
        free(w->io);
        free(w);
}

sv_worker *sv__worker_alloc(sv_supervisor *sv) {
        sv_worker *w = sv->spare;

        if (w) {
                sv->spare = w->next;
                sv->nspare--;
                return w;
        }
        w = malloc(sizeof(*w));
        if (w)
                w->io = NULL;
        return w;
}

/* A pipe may close at EOF long before the exit: only a finished worker
 * with no handle left is freed. */
static void on_handle_closed(uv_handle_t *h) {
        sv_worker *w = h->data;

        if (--w->handles == 0 && w->ws == SV__W_CLOSING)
                free_worker(w);
}

void sv__worker_close_handle(uv_handle_t *h) {
        if (!uv_is_closing(h))
                uv_close(h, on_handle_closed);
}

static void close_pipes_if_tree_gone(sv_worker *w) {
        int i;

        for (i = 0; i < 2; i++) {
                if (w->pipe_open[i]) {
                        w->pipe_open[i] = false;
                        sv__worker_close_handle((uv_handle_t *) &w->io->pipe[i]);
                }
        }
}

/* Closes what is left of the worker's handles; it is freed by the last
 * close callback, or here if it never had one. */
void sv__worker_close(sv_worker *w) {
        close_pipes_if_tree_gone(w);
        if (w->cgev_active) {
                w->cgev_active = false;
                sv__worker_close_handle((uv_handle_t *) &w->io->cgev);
        }
        if (w->timer_active) {
                w->timer_active = false;
                sv__worker_close_handle((uv_handle_t *) &w->timer);
        }
        if (w->handles == 0)
                free_worker(w);
}
