/* embed.c - libsv inside a program that already has a libuv loop: the
 * supervisor runs on the program's loop, spawns three workers (true, false
 * and sleep 60), prints how each one ended, and stops the sleeper through its
 * stop ladder once the other two are done. Ctrl-C stops every worker the same
 * way. Exits 0 when every worker ended as expected, 1 if not, 2 if the
 * library refused something.
 *
 * It is the program the install test (tests/install/) builds against an
 * installed libsv, so it uses only the public header and pkg-config or CMake:
 *   cc -std=c11 embed.c $(pkg-config --cflags --libs supervise) -o embed
 *   find_package(supervise) + target_link_libraries(embed PRIVATE supervise::sv) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <supervise/sv.h>

/* What each worker runs and how it is expected to end. */
typedef struct job {
        const char *const *argv;
        int want_code; /* exit status, or -signal as in sv_exit_info.code */
} job;

static const char *const true_argv[] = { "true", NULL };
static const char *const false_argv[] = { "false", NULL };
static const char *const sleep_argv[] = { "sleep", "60", NULL };
static const job jobs[] = {
        { true_argv, 0 },
        { false_argv, 1 },
        { sleep_argv, -SIGTERM },
};
#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

struct app;

/* One per worker: what the exit callback gets as its userdata. */
typedef struct slot {
        struct app *app;
        const job *job;
        sv_worker *w; /* valid until its exit callback returns, then NULL */
} slot;

typedef struct app {
        uv_loop_t loop;      /* the host program's loop, not the library's */
        uv_signal_t sigint;  /* the host's own handle on the same loop */
        sv_supervisor *sv;
        slot slots[NJOBS];
        unsigned short_left; /* workers that end by themselves, still running */
        unsigned unexpected; /* workers that did not end as expected */
} app;

static void print_exit(const sv_worker *w, const job *j, const sv_exit_info *info) {
        const char *sig = sv_signal_name(info->signal);

        if (info->exited)
                printf("worker %u '%s' pid %d: exited %d", sv_worker_id(w), j->argv[0],
                       (int) info->pid, info->code);
        else
                printf("worker %u '%s' pid %d: killed by %s", sv_worker_id(w), j->argv[0],
                       (int) info->pid, sig ? sig : "an unnamed signal");
        printf(" (%s, wall %.1f ms)\n", sv_cause_name(info->cause), (double) info->wall_us / 1000.0);
}

/* Runs from inside uv_run on our loop; `w` and `info` are valid only during
 * the call. */
static void worker_exited(sv_worker *w, const sv_exit_info *info, void *userdata) {
        slot *s = userdata;
        app *a = s->app;
        size_t i;

        print_exit(w, s->job, info);
        if (info->code != s->job->want_code)
                a->unexpected++;
        s->w = NULL;
        if (s->job->want_code < 0)
                return;
        /* The short ones are done: time to stop the long ones, through the
         * supervisor's ladder (TERM, then KILL after the grace). */
        if (--a->short_left > 0)
                return;
        for (i = 0; i < NJOBS; i++)
                if (a->slots[i].w && a->slots[i].job->want_code < 0)
                        (void) sv_worker_stop(a->slots[i].w);
}

static void on_sigint(uv_signal_t *h, int sig) {
        app *a = h->data;

        (void) sig;
        (void) sv_supervisor_stop_all(a->sv);
}

static int spawn_all(app *a) {
        size_t i;

        for (i = 0; i < NJOBS; i++) {
                slot *s = &a->slots[i];
                sv_spawn_opts o;
                int r;

                s->app = a;
                s->job = &jobs[i];
                memset(&o, 0, sizeof(o));
                o.argv = jobs[i].argv;
                o.on_exit = worker_exited;
                o.userdata = s;
                r = sv_spawn(a->sv, &o, &s->w);
                if (r < 0) {
                        fprintf(stderr, "embed: cannot spawn '%s': %s\n", jobs[i].argv[0], uv_strerror(r));
                        return r;
                }
                if (jobs[i].want_code >= 0)
                        a->short_left++;
        }
        return 0;
}

int main(void) {
        sv_supervisor_opts so;
        app a;
        int r;

        memset(&a, 0, sizeof(a));
        r = uv_loop_init(&a.loop);
        if (r < 0) {
                fprintf(stderr, "embed: uv_loop_init: %s\n", uv_strerror(r));
                return 2;
        }
        memset(&so, 0, sizeof(so));
        so.loop = &a.loop;
        r = sv_supervisor_new(&so, &a.sv);
        if (r < 0) {
                fprintf(stderr, "embed: cannot start the supervisor: %s\n", uv_strerror(r));
                (void) uv_loop_close(&a.loop);
                return 2;
        }
        printf("supervisor %s on the host's loop, mechanism %s\n", SV_VERSION_STRING,
               sv_mechanism_name(sv_supervisor_mechanism(a.sv)));

        /* The host's own handle; unreferenced, so that the loop ends when
         * the workers do, as the library's handles let it. */
        (void) uv_signal_init(&a.loop, &a.sigint);
        a.sigint.data = &a;
        (void) uv_signal_start(&a.sigint, on_sigint, SIGINT);
        uv_unref((uv_handle_t *) &a.sigint);

        r = spawn_all(&a);
        if (r < 0)
                (void) sv_supervisor_stop_all(a.sv);
        (void) uv_run(&a.loop, UV_RUN_DEFAULT);

        /* The supervisor closes its handles first; then ours; then the loop
         * must close cleanly, or a handle was leaked. */
        sv_supervisor_free(a.sv);
        uv_close((uv_handle_t *) &a.sigint, NULL);
        (void) uv_run(&a.loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&a.loop) != 0) {
                fprintf(stderr, "embed: the loop still has handles\n");
                return 2;
        }
        if (r == 0)
                printf("%u unexpected\n", a.unexpected);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("embed: stdout");
                return 2;
        }
        if (r < 0)
                return 2;
        return a.unexpected ? 1 : 0;
}
