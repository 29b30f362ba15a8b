/* pool_control.c - a program with a libuv loop of its own that embeds a
 * pool of workers and drives it through the library: three copies of
 * `sleep 60` under a restart policy, a control socket beside them (so that
 * `supervise ctl PATH list` works on this program while it runs), and a
 * script of its own, one step per pool event: kill copy 1 (the policy
 * restarts it), restart copy 0 by hand, pause and resume copy 2, grow to 4,
 * shrink to 2, then shut down. The program's own timer (a heartbeat) shares
 * the loop all along. Exits 0 when every step happened as expected, 1 if
 * not, 2 if the library refused something.
 *
 *   ./pool_control [SOCKET_PATH]     (default: a path in /tmp, removed at exit) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <supervise/sv.h>
#include <supervise/sv_control.h>
#include <supervise/sv_pool.h>

typedef struct app {
        uv_loop_t loop;
        uv_timer_t heartbeat;
        sv_supervisor *sv;
        sv_pool *pool;
        sv_control *ctl;
        int step;        /* the script's position */
        unsigned spawns, exits, beats;
        int failed;
} app;

static void check(app *a, int r, const char *what) {
        if (r < 0) {
                fprintf(stderr, "pool_control: %s: %s\n", what, uv_strerror(r));
                a->failed = 2;
                (void) sv_pool_shutdown(a->pool);
        }
}

/* The script: each step waits for the event the previous one causes. */
static void advance(app *a, const sv_pool_event *ev) {
        const sv_event *we = ev->type == SV_POOL_EV_WORKER ? ev->worker_event : NULL;

        if (a->step == 0 && we && we->type == SV_EVENT_SPAWN && a->spawns == 3) {
                printf("3 copies running; killing copy 1\n");
                a->step = 1;
                check(a, sv_pool_signal(a->pool, 1, SIGKILL, true), "signal 1");
        } else if (a->step == 1 && ev->type == SV_POOL_EV_RESTARTED && ev->index == 1) {
                printf("copy 1 restarted by the policy (pid %d); restarting copy 0 by hand\n",
                       (int) sv_worker_pid(ev->worker));
                a->step = 2;
                check(a, sv_pool_restart(a->pool, 0), "restart 0");
        } else if (a->step == 2 && ev->type == SV_POOL_EV_RESTARTED && ev->index == 0 && ev->manual) {
                printf("copy 0 restarted; pausing copy 2\n");
                a->step = 3;
                check(a, sv_pool_pause(a->pool, 2), "pause 2");
        } else if (a->step == 3 && ev->type == SV_POOL_EV_PAUSED) {
                a->step = 4;
                check(a, sv_pool_resume(a->pool, 2), "resume 2");
        } else if (a->step == 4 && ev->type == SV_POOL_EV_RESUMED) {
                printf("copy 2 paused and resumed; growing to 4\n");
                a->step = 5;
                check(a, sv_pool_scale(a->pool, 4), "scale 4");
        } else if (a->step == 5 && ev->type == SV_POOL_EV_SCALED && ev->size == 4) {
                printf("4 copies; shrinking to 2\n");
                a->step = 6;
                check(a, sv_pool_scale(a->pool, 2), "scale 2");
        } else if (a->step == 6 && ev->type == SV_POOL_EV_SCALED && ev->size == 2) {
                printf("2 copies; shutting down\n");
                a->step = 7;
                (void) sv_pool_shutdown(a->pool);
        }
}

static void on_pool_event(sv_pool *p, const sv_pool_event *ev, void *userdata) {
        app *a = userdata;

        (void) p;
        /* The control socket's `events` followers see what we see. */
        sv_control_pool_event(a->ctl, ev);
        if (ev->type == SV_POOL_EV_WORKER && ev->worker_event->type == SV_EVENT_SPAWN)
                a->spawns++;
        if (ev->type == SV_POOL_EV_WORKER && ev->worker_event->type == SV_EVENT_EXIT)
                a->exits++;
        if (ev->type == SV_POOL_EV_DONE) {
                /* Nothing left to supervise: let the loop end. */
                sv_control_close(a->ctl);
                a->ctl = NULL;
                uv_close((uv_handle_t *) &a->heartbeat, NULL);
                return;
        }
        if (!a->failed)
                advance(a, ev);
}

static void on_heartbeat(uv_timer_t *t) {
        ((app *) t->data)->beats++;
}

static int run(app *a, const char *path) {
        static const char *const argv[] = { "sleep", "60", NULL };
        sv_supervisor_opts so = { 0 };
        sv_spawn_opts sp = { 0 };
        sv_pool_opts po = { 0 };
        int r;

        so.loop = &a->loop; /* the program's loop, not one of the library's */
        r = sv_supervisor_new(&so, &a->sv);
        if (r < 0)
                return r;
        sp.argv = argv;
        po.spawn = &sp;
        po.copies = 3;
        po.restart.policy = SV_RESTART_ON_FAILURE;
        po.index_env = "SUPERVISE_WORKER";
        po.on_event = on_pool_event;
        po.userdata = a;
        r = sv_pool_new(a->sv, &po, &a->pool);
        if (r == 0)
                r = sv_control_open(a->pool, path, NULL, &a->ctl);
        if (r == 0) {
                printf("control socket: %s (try: supervise ctl %s list)\n", path, path);
                r = sv_pool_start(a->pool);
        }
        if (r < 0) {
                sv_control_close(a->ctl);
                a->ctl = NULL;
                (void) sv_pool_shutdown(a->pool);
                uv_close((uv_handle_t *) &a->heartbeat, NULL);
        }
        (void) uv_run(&a->loop, UV_RUN_DEFAULT);
        return r;
}

int main(int argc, char **argv) {
        char path[64];
        app a;
        int r;

        memset(&a, 0, sizeof(a));
        if (argc > 1)
                (void) snprintf(path, sizeof(path), "%s", argv[1]);
        else
                (void) snprintf(path, sizeof(path), "/tmp/pool_control.%d.sock", (int) getpid());
        if (uv_loop_init(&a.loop) < 0)
                return 2;
        (void) uv_timer_init(&a.loop, &a.heartbeat);
        a.heartbeat.data = &a;
        (void) uv_timer_start(&a.heartbeat, on_heartbeat, 100, 100);
        r = run(&a, path);
        sv_pool_free(a.pool);
        sv_supervisor_free(a.sv);
        (void) uv_run(&a.loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&a.loop) != 0)
                r = r < 0 ? r : UV_EBUSY;
        if (r < 0 || a.failed) {
                fprintf(stderr, "pool_control: %s\n", r < 0 ? uv_strerror(r) : "a step failed");
                return 2;
        }
        printf("%u copies started, %u ended; the socket is %s\n", a.spawns, a.exits,
               access(path, F_OK) == 0 ? "still there" : "gone");
        /* 3 + the policy's restart + the manual one + 1 grown = 6, all ended. */
        return a.step == 7 && a.spawns == 6 && a.exits == 6 && access(path, F_OK) != 0 ? 0 : 1;
}
