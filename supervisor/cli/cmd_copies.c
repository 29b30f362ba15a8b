/* cmd_copies.c - the main command, `supervise [OPTION]... COMMAND`: argv ->
 * options -> libsv -> exit code. Runs N copies of COMMAND as an sv_pool
 * (restarted by --restart's policy), forwards the signals we receive,
 * prints the report (stderr line, --json records) and turns the outcome
 * into an exit status from the table in usage_text. Also runs `supervise
 * timeout` (sv_cli_timeout_run). A thin client of sv.h, sv_pool.h and
 * sv_run.h: no timers or states of its own to follow a copy. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/copies.h"
#include "supervise/sv.h"
#include "supervise/sv_run.h"


extern char **environ;

/* ---- Running the copies ---- */

/* The signal watchers and the warn timer keep nothing alive by themselves
 * but must be closed before the supervisor is freed. */
static void close_run_handles(run *r) {
        int i;

        for (i = 0; i < r->nsigs; i++)
                uv_close((uv_handle_t *) &r->sigs[i], NULL);
        r->nsigs = 0;
        /* The socket keeps the loop alive: it goes when the run is over. */
        sv_control_close(r->ctl);
        r->ctl = NULL;
        if (r->warn_active) {
                r->warn_active = false;
                uv_close((uv_handle_t *) &r->warn, NULL);
        }
}

/* Copies a worker's piped output through to ours (used with --idle-timeout,
 * where we must see the output to know it is there). */
static void on_output_cb(sv_worker *w, int fd, const char *buf, size_t len, void *userdata) {
        run *r = userdata;
        ssize_t n;

        (void) w;
        while (len > 0 && !r->out_failed) {
                n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        /* The copy's output would be lost from here on. */
                        sv_copies_output_failed(r, fd == 1 ? "to standard output" : "to standard error",
                                      n < 0 ? errno : EIO);
                        return;
                }
                buf += n;
                len -= (size_t) n;
        }
}

static void print_tree(sv_worker *w, void *arg) {
        run *r = arg;
        sv_proc *procs = NULL;
        int n, i;

        fprintf(stderr, "supervise: still running after %llums: worker %u pid %d\n",
                (unsigned long long) r->o->warn_after_ms, sv_worker_id(w), (int) sv_worker_pid(w));
        n = sv_worker_descendants(w, &procs);
        for (i = 0; i < n; i++) {
                fprintf(stderr, "supervise:   pid %d ppid %d %c ", (int) procs[i].pid,
                        (int) procs[i].ppid, procs[i].state);
                sv_text_put_term(stderr, procs[i].comm, strlen(procs[i].comm));
                fputc('\n', stderr);
        }
        free(procs);
        sv_copies_check_stderr(r);
}

static void on_warn(uv_timer_t *t) {
        run *r = t->data;

        sv_supervisor_foreach(r->sv, print_tree, r);
}

/* Reports a copy that ended. The pool keeps each slot's last exit (for
 * the exit status); nothing is kept here per copy. */
static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *userdata) {
        run *r = userdata;
        int index = sv_pool_index_of(r->pool, w);
        sv_slot_info si;
        slot s;

        r->done++;
        if (index < 0 || sv_pool_slot(r->pool, (unsigned) index, &si) < 0)
                return;
        s.index = (unsigned) index;
        s.restarts = si.restarts;
        s.info = *info;
        if (!r->o->quiet) {
                sv_copies_report_line(r, &s);
                sv_copies_check_stderr(r);
        }
        if (r->json)
                sv_copies_json_line(r, &s);
}

/* A copy started: its start record, and the terminal (supervise timeout
 * --foreground) if it read the tty too early. */
static void copy_started(run *r, const sv_pool_event *ev) {
        pid_t pid = sv_worker_pid(ev->worker);

        r->expected++;
#ifdef SIGCONT
        if (r->o->foreground && sv_cli_tty_give(sv_worker_pgid(ev->worker), &r->tty) > 0)
                (void) sv_worker_kill_tree(ev->worker, SIGCONT);
#endif
        if (r->json)
                sv_copies_json_start(r, ev->index, pid, ev->restarts);
}

/* The pool's events that the report shows; DONE lets the loop end. */
static void on_pool_event(sv_pool *p, const sv_pool_event *ev, void *userdata) {
        run *r = userdata;

        (void) p;
        sv_control_pool_event(r->ctl, ev);
        switch (ev->type) {
        case SV_POOL_EV_WORKER:
                if (ev->worker_event->type == SV_EVENT_SPAWN)
                        copy_started(r, ev);
                break;
        case SV_POOL_EV_RESTART_SCHEDULED:
                sv_copies_report_restart(r, ev->index, ev->restarts + 1, ev->delay_ms, false);
                break;
        case SV_POOL_EV_RESTARTED:
                if (ev->manual)
                        sv_copies_report_restart(r, ev->index, ev->restarts, 0, true);
                break;
        case SV_POOL_EV_SPAWN_FAILED:
                fprintf(stderr, "supervise: worker %u: cannot run '%s': %s\n", ev->index,
                        r->o->argv[0], uv_strerror(ev->error));
                sv_copies_check_stderr(r);
                break;
        case SV_POOL_EV_GAVE_UP:
                sv_copies_report_gave_up(r, ev->index, ev->restarts);
                break;
        case SV_POOL_EV_DONE:
                close_run_handles(r);
                break;
        default:
                break;
        }
}

static void forward_one(sv_worker *w, void *arg) {
        (void) sv_worker_kill(w, *(int *) arg);
}

/* The signals that stop every copy; the rest are forwarded. */
static bool stops_all(int signum) {
#ifdef SIGBREAK
        if (signum == SIGBREAK) /* Windows: Ctrl+Break in our console */
                return true;
#endif
        return signum == SIGINT || signum == SIGTERM || signum == SIGHUP;
}

static void on_signal(uv_signal_t *h, int signum) {
        run *r = h->data;

        if (stops_all(signum)) {
                sv_stop_opts so = { signum, SV_CAUSE_STOPPED, "signal" };
                if (!r->stop_signal)
                        r->stop_signal = signum;
                (void) sv_pool_shutdown_with(r->pool, &so);
        } else {
                sv_supervisor_foreach(r->sv, forward_one, &signum);
        }
}

static void make_run_id(char *buf, size_t n) {
        unsigned char rnd[6] = { 0 };

        /* libuv's, for Windows too; the id is unique without it (time, pid). */
        if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) < 0)
                memset(rnd, 0, sizeof(rnd));
        snprintf(buf, n, "%lx-%d-%02x%02x%02x%02x%02x%02x", (unsigned long) time(NULL), (int) getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* Our environment plus SUPERVISE_RUN; the pool adds SUPERVISE_WORKER. */
static char **make_env(const run *r) {
        size_t n = 0, k = 0, i;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 2, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < n; i++) {
                if (strncmp(environ[i], "SUPERVISE_WORKER=", 17) == 0 ||
                    strncmp(environ[i], "SUPERVISE_RUN=", 14) == 0)
                        continue;
                env[k++] = environ[i];
        }
        if (asprintf(&env[k++], "SUPERVISE_RUN=%s", r->run_id) < 0) {
                free(env);
                return NULL;
        }
        return env;
}

static void free_env(char **env) {
        size_t n = 0;

        if (!env)
                return;
        while (env[n])
                n++;
        /* The string we made is the last. */
        if (n >= 1)
                free(env[n - 1]);
        free(env);
}

static int spawn_error_status(int err) {
        if (err == UV_ENOENT || err == UV_ENOTDIR)
                return EXIT_ENOENT;
        if (err == UV_EACCES || err == -ENOEXEC || err == UV_EPERM || err == UV_EISDIR)
                return EXIT_CANNOT_INVOKE;
        return EXIT_FAILURE_OWN;
}

static int watch_signals(run *r) {
        /* Windows has only SIGINT, SIGBREAK and SIGHUP (console close) to
         * watch; SIGTERM is accepted there but never arrives. */
        static const int sigs[] = {
                SIGINT, SIGTERM, SIGHUP,
#ifdef SIGBREAK
                SIGBREAK,
#else
                SIGQUIT, SIGUSR1, SIGUSR2,
#endif
        };

        return sv_cli_watch_signals(sv_supervisor_loop(r->sv), r->sigs, sigs,
                                    (int) (sizeof(sigs) / sizeof(sigs[0])), on_signal, r, &r->nsigs);
}

/* GNU timeout's table: 124 on timeout unless --preserve-status, but 137
 * whenever KILL ended the command (GNU's own KILL kills timeout too). */
static int gnu_timeout_status(const run *r, const sv_exit_info *e) {
        int own = e->exited ? e->code : 128 + e->signal;

        if (!e->exited && e->signal == SIGKILL)
                return own;
        if (e->cause == SV_CAUSE_TIMEOUT && !r->o->preserve_status)
                return EXIT_TIMEDOUT;
        return own;
}

/* The exit of slot i's last copy, if one ran. */
static const sv_exit_info *last_exit(const run *r, unsigned i, sv_slot_info *si) {
        if (sv_pool_slot(r->pool, i, si) < 0 || !si->has_last)
                return NULL;
        return &si->last;
}

static int final_status(const run *r) {
        const sv_exit_info *e;
        sv_slot_info si;
        unsigned i, n = sv_pool_slots(r->pool);

        if (r->stop_signal)
                return 128 + r->stop_signal;
        if (r->o->gnu_timeout && r->expected == 1 && (e = last_exit(r, 0, &si)))
                return gnu_timeout_status(r, e);
        /* Each slot by how its last copy ended: a restart that then
         * succeeded is a success. */
        for (i = 0; i < n; i++) {
                if ((e = last_exit(r, i, &si)) && e->cause == SV_CAUSE_TIMEOUT)
                        return EXIT_TIMEDOUT;
        }
        for (i = 0; i < n; i++) {
                if (!(e = last_exit(r, i, &si)))
                        continue;
                if (!e->exited)
                        return 128 + e->signal;
                if (e->code != 0)
                        return e->code;
                if (e->leaked && r->o->leaks == SV_LEAKS_FAIL)
                        return 1;
        }
        return 0;
}

/* -v: every state change, stamped with milliseconds since we started, so
 * a slow stop can be read off the log. */
static void log_cb(const char *msg, void *ud) {
        static uint64_t t0;
        uint64_t now = uv_hrtime();

        (void) ud;
        if (!t0)
                t0 = now;
        fprintf(stderr, "supervise: [%8.3f] ", (double) (now - t0) / 1e6);
        sv_text_put_term(stderr, msg, strlen(msg));
        fputc('\n', stderr);
}

/* The supervisor, its mechanism as --mechanism asks, and our signal
 * watchers. Returns 0, or -1 after printing the one line that says why. */
static int start_supervisor(run *r) {
        const cli_opts *o = r->o;
        sv_supervisor_opts so;
        char hint[160];
        int e;

        memset(&so, 0, sizeof(so));
        so.ladder = o->ladder;
        so.flags |= SV_SUPERVISOR_EXIT_AFTER_FREE;
        if (strcmp(o->mechanism, "procwalk") == 0)
                so.flags |= SV_SUPERVISOR_NO_CGROUP;
        if (strcmp(o->mechanism, "pidns") == 0)
                so.flags |= SV_SUPERVISOR_PIDNS;
        if (o->verbose)
                so.log = log_cb;
        e = sv_supervisor_new(&so, &r->sv);
        if (e < 0) {
                sv_cli_limit_hint(e, hint, sizeof(hint));
                fprintf(stderr, "supervise: cannot start: %s%s\n", uv_strerror(e), hint);
                return -1;
        }
        if (strcmp(o->mechanism, "cgroup") == 0 && sv_supervisor_mechanism(r->sv) != SV_MECH_CGROUP) {
                fprintf(stderr, "supervise: --mechanism cgroup: no writable cgroup v2 hierarchy "
                                "with cgroup.kill here\n");
                return -1;
        }
        if (strcmp(o->mechanism, "pidns") == 0 && sv_supervisor_mechanism(r->sv) != SV_MECH_PIDNS) {
                fprintf(stderr, "supervise: --mechanism pidns: no PID namespace here (the kernel "
                                "refuses one, or SUPERVISE_MECHANISM forces another)\n");
                return -1;
        }
        e = watch_signals(r);
        if (e < 0) {
                fprintf(stderr, "supervise: cannot watch signals: %s\n", uv_strerror(e));
                return -1;
        }
        return 0;
}

/* What every copy is spawned with; also starts the --warn-after timer. */
static void prepare_spawn(run *r, sv_spawn_opts *sp) {
        const cli_opts *o = r->o;

        memset(sp, 0, sizeof(*sp));
        sp->argv = (const char *const *) o->argv;
        sp->stdio[0] = o->gnu_timeout ? SV_STDIO_INHERIT : SV_STDIO_NULL;
        sp->timeout_ms = o->timeout_ms;
        if (o->idle_timeout_ms) {
                sp->idle_timeout_ms = o->idle_timeout_ms;
                sp->stdio[1] = SV_STDIO_PIPE;
                sp->stdio[2] = SV_STDIO_PIPE;
                sp->on_output = on_output_cb;
        }
        if (o->warn_after_ms) {
                uv_timer_init(sv_supervisor_loop(r->sv), &r->warn);
                r->warn.data = r;
                r->warn_active = true;
                uv_timer_start(&r->warn, on_warn, o->warn_after_ms, 0);
                uv_unref((uv_handle_t *) &r->warn);
        }
        sp->leaks = o->leaks;
        sp->on_exit = on_exit_cb;
        sp->userdata = r;
}

/* The control server's log: clients refused or dropped. */
static void control_log(const char *msg, void *ud) {
        run *r = ud;

        if (r->o->quiet)
                return;
        fprintf(stderr, "supervise: ");
        sv_text_put_term(stderr, msg, strlen(msg));
        fputc('\n', stderr);
}

/* --control PATH; on failure says why and marks the run (exit 125). */
static int open_control(run *r) {
        sv_control_opts co;
        int e;

        memset(&co, 0, sizeof(co));
        co.log = control_log;
        co.log_userdata = r;
        e = sv_control_open(r->pool, r->o->control_path, &co, &r->ctl);
        if (e < 0) {
                fprintf(stderr, "supervise: cannot listen on '%s': %s%s\n", r->o->control_path,
                        uv_strerror(e), e == UV_EADDRINUSE ? " (another supervise answers there)"
                                        : e == UV_EEXIST ? " (not a socket; left alone)"
                                        : e == UV_ENOSYS ? " (--control is not available on Windows yet)"
                                                         : "");
                r->ctl_failed = true;
        }
        return e;
}

/* Makes the pool of copies and starts them; returns 0, or the error that
 * stopped the next one (the copies started before it run on). */
static int start_copies(run *r, sv_spawn_opts *sp) {
        const cli_opts *o = r->o;
        sv_pool_opts po;
        int e;

        r->env = make_env(r);
        if (!r->env)
                return UV_ENOMEM;
        sp->env = (const char *const *) r->env;
        memset(&po, 0, sizeof(po));
        po.spawn = sp;
        po.copies = o->copies;
        po.restart = o->restart;
        po.index_env = "SUPERVISE_WORKER";
        po.on_event = on_pool_event;
        po.userdata = r;
        e = sv_pool_new(r->sv, &po, &r->pool);
        if (e < 0)
                return e;
        /* The pool copied the environment: one copy for all, not one per
         * running copy (it was a third of our memory per copy). */
        free_env(r->env);
        r->env = NULL;
        /* Before the first copy starts, so that no event is missed; it
         * closes on the pool's DONE (close_run_handles). */
        if (o->control_path && (e = open_control(r)) < 0)
                return e;
        return sv_pool_start(r->pool);
}

/* A copy could not start. Nothing is abandoned: the copies already running
 * are stopped through the ladder and reported. Returns the exit status. */
static int start_failed(run *r, int e) {
        const cli_opts *o = r->o;
        char hint[160];

        sv_cli_limit_hint(e, hint, sizeof(hint));
        if (r->expected > 0)
                fprintf(stderr, "supervise: cannot run '%s' (copy %u of %u): %s%s; "
                        "stopping the %u started\n", o->argv[0], r->expected + 1, o->copies,
                        uv_strerror(e), hint, r->expected);
        else
                fprintf(stderr, "supervise: cannot run '%s': %s%s\n", o->argv[0],
                        uv_strerror(e), hint);
        if (!o->gnu_timeout && e == UV_ENOENT)
                sv_cli_timeout_hint(o->argv);
        sv_copies_stop_all(r);
        if (!r->pool || sv_pool_done(r->pool))
                close_run_handles(r);
        sv_supervisor_run(r->sv);
        return spawn_error_status(e);
}

static int run_copies(cli_opts *o) {
        sv_spawn_opts sp;
        run r;
        int e, status = EXIT_FAILURE_OWN;

        memset(&r, 0, sizeof(r));
        r.o = o;
        r.tty = -1;
        make_run_id(r.run_id, sizeof(r.run_id));
        if (o->json_path) {
                r.json = strcmp(o->json_path, "-") == 0 ? stdout : fopen(o->json_path, "we");
                if (!r.json) {
                        fprintf(stderr, "supervise: cannot open '%s': %s\n", o->json_path,
                                strerror(errno));
                        return EXIT_FAILURE_OWN;
                }
        }
        if (start_supervisor(&r) < 0)
                goto out_sv;
        prepare_spawn(&r, &sp);
        e = start_copies(&r, &sp);
        if (e < 0) {
                status = r.ctl_failed ? EXIT_FAILURE_OWN : start_failed(&r, e);
                goto out_sv;
        }
        sv_supervisor_run(r.sv);
        status = final_status(&r);
        if (r.out_failed)
                status = EXIT_FAILURE_OWN;

out_sv:
        sv_cli_tty_take_back(r.tty);
        close_run_handles(&r);
        sv_pool_free(r.pool);
        sv_supervisor_free(r.sv);
        free_env(r.env);
        if (r.json && r.json != stdout && fclose(r.json) != 0) {
                /* Every line was flushed; this is the last word of a full disk. */
                fprintf(stderr, "supervise: cannot write '%s': %s\n", o->json_path, strerror(errno));
                status = EXIT_FAILURE_OWN;
        }
        return status;
}

int sv_cli_timeout_run(const sv_cli_timeout_opts *t) {
        cli_opts o;

        memset(&o, 0, sizeof(o));
        o.copies = 1;
        o.timeout_ms = t->duration_ms;
        o.mechanism = "auto";
        o.json_path = t->json_path;
        o.quiet = !t->report;
        o.verbose = t->verbose;
        o.gnu_timeout = true;
        o.preserve_status = t->preserve_status;
        o.foreground = t->foreground;
        o.argv = t->argv;
        /* GNU sends KILL only with -k; without it the first signal is all. */
        o.ladder.count = 1;
        o.ladder.steps[0].signal = t->signal;
        o.ladder.steps[0].grace_ms = SV_DURATION_INF;
        if (t->kill_after_ms && t->signal != SIGKILL) {
                o.ladder.steps[0].grace_ms = t->kill_after_ms;
                o.ladder.steps[1].signal = SIGKILL;
                o.ladder.steps[1].grace_ms = 5000;
                o.ladder.count = 2;
        }
        return run_copies(&o);
}

int sv_cli_copies(int argc, char **argv) {
        cli_opts o;
        int r;

        r = sv_copies_parse_args(argc, argv, &o);
        if (r >= 0)
                return r;
        return run_copies(&o);
}
