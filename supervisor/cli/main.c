/* main.c - `supervise`: argv -> options -> libsv -> exit code.
 *
 * A thin client of sv.h: it parses options, spawns the copies, forwards the
 * signals we receive, prints the report and turns the outcome into an exit
 * status from the table in usage(). The subcommands (ps, kill, run) live in
 * their own files and are dispatched from here. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "supervise/sv.h"
#include "supervise/sv_run.h"

#define EXIT_TIMEDOUT 124
#define EXIT_FAILURE_OWN 125
#define EXIT_CANNOT_INVOKE 126
#define EXIT_ENOENT 127

extern char **environ;

static const char usage_text[] =
        "Usage: supervise [OPTION]... [--] COMMAND [ARG]...\n"
        "       supervise ps|kill [FILTER]... [OPTION]...   (see 'supervise ps --help')\n"
        "       supervise run [OPTION]... --from FILE        (see 'supervise run --help')\n"
        "       supervise timeout [OPTION] DURATION COMMAND [ARG]...  (GNU timeout's form)\n"
        "       supervise pgrep|pkill [OPTION]... [PATTERN]   (procps' forms)\n"
        "Run COMMAND (never through a shell), supervise it and report how it ended.\n"
        "\n"
        "  -n, --copies N        run N copies at once (default 1); each gets\n"
        "                        SUPERVISE_WORKER=<index> and SUPERVISE_RUN=<run id>\n"
        "  -t, --timeout DUR     stop a copy that runs longer than DUR (250ms, 1.5s,\n"
        "                        2m, 1h; a bare number is seconds)\n"
        "  -s, --signal SIG      first signal of the stop ladder (default TERM)\n"
        "  -k, --kill-after DUR  grace after the first signal before KILL (default 5s)\n"
        "      --stop LADDER     the whole ladder, e.g. 'INT:5s,TERM:5s,KILL'\n"
        "      --idle-timeout DUR  stop a copy whose stdout and stderr stay silent for\n"
        "                        DUR (its output then passes through supervise;\n"
        "                        0: none)\n"
        "      --warn-after DUR  print a 'still running' line with each copy's process\n"
        "                        tree once the run has lasted DUR\n"
        "      --leaks POLICY    descendants alive when a copy exits: kill (default:\n"
        "                        kill and report), report, fail, ignore\n"
        "      --mechanism M     tree containment: auto (default: the first that\n"
        "                        works of cgroup, pidns, procwalk), cgroup, pidns (a\n"
        "                        PID namespace per copy; the pid reported is its\n"
        "                        init's, which forwards signals), procwalk\n"
        "      --json FILE       JSON lines as they happen ('-' for stdout): one\n"
        "                        {\"event\":\"start\",...} per copy started, one\n"
        "                        object per exit\n"
        "  -q, --quiet           no report on stderr\n"
        "  -v, --verbose         log every state change on stderr\n"
        "  -h, --help            show this help and exit\n"
        "      --version         show the version and exit\n"
        "\n"
        "Signals INT, TERM and HUP sent to supervise stop every copy through the\n"
        "ladder, starting with the received signal; QUIT, USR1 and USR2 are\n"
        "forwarded to every copy.\n"
        "\n"
        "Exit status:\n"
        "  0      every copy exited 0\n"
        "  N      the first copy that failed exited with N (as with GNU timeout,\n"
        "         a copy's own 124-255 passes through unchanged)\n"
        "  124    a copy timed out\n"
        "  125    supervise itself failed, or a usage error; also when a report\n"
        "         (--json, stdout, stderr) could not be written: one line names\n"
        "         the file and the error, and the copies are stopped; and when a\n"
        "         limit (open files, processes, memory) stops a copy from starting:\n"
        "         one line names the limit, and the copies already started are\n"
        "         stopped through the ladder and reported\n"
        "  126    COMMAND was found but could not be run\n"
        "  127    COMMAND was not found\n"
        "  128+N  the first copy that failed was killed by signal N; or supervise\n"
        "         was stopped by signal N (INT 130, TERM 143, HUP 129)\n";

typedef struct cli_opts {
        unsigned copies;
        uint64_t timeout_ms;
        uint64_t idle_timeout_ms;
        uint64_t warn_after_ms;
        sv_ladder ladder;
        sv_leaks leaks;
        const char *mechanism;
        const char *json_path;
        bool quiet, verbose;
        bool gnu_timeout, preserve_status, foreground; /* `supervise timeout` */
        char **argv;
} cli_opts;

typedef struct slot {
        unsigned index;
        pid_t pid;
        bool done;
        sv_exit_info info;
        char **envp;
} slot;

typedef struct run {
        cli_opts *o;
        sv_supervisor *sv;
        slot *slots;
        unsigned expected; /* copies spawned */
        unsigned done;
        FILE *json;
        bool out_failed; /* a report could not be written: exit 125 */
        int stop_signal; /* the signal that stopped us, 0 if none */
        uv_signal_t sigs[6];
        uv_timer_t warn;
        bool warn_active;
        int nsigs;
        char run_id[40];
} run;

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise", fmt, arg);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, cli_opts *o) {
        enum { OPT_MECH = 256, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_WARN };
        static const struct option longopts[] = {
                { "copies", required_argument, NULL, 'n' },
                SV_CLI_COMMON_LONGOPTS,
                { "warn-after", required_argument, NULL, OPT_WARN },
                { "mechanism", required_argument, NULL, OPT_MECH },
                { "json", required_argument, NULL, OPT_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        sv_cli_common common;
        char bad[8];
        int c, r;

        memset(o, 0, sizeof(*o));
        sv_cli_common_init(&common);
        o->copies = 1;
        o->mechanism = "auto";
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+:n:" SV_CLI_COMMON_SHORTOPTS "qvh", longopts, NULL)) != -1) {
                r = sv_cli_common_opt("supervise", c, optarg, &common);
                if (r == 1)
                        continue;
                if (r != 0)
                        return r;
                switch (c) {
                case 'n':
                        if (sv_cli_parse_uint(optarg, 1, 100000, &o->copies) < 0)
                                return usage_error("invalid number of copies '%s' (want 1-100000)",
                                                   optarg);
                        break;
                case OPT_WARN:
                        if (sv_duration_parse(optarg, &o->warn_after_ms) < 0 || !o->warn_after_ms)
                                return usage_error("invalid duration '%s' for --warn-after", optarg);
                        break;
                case OPT_MECH:
                        if (strcmp(optarg, "auto") && strcmp(optarg, "cgroup") &&
                            strcmp(optarg, "procwalk") && strcmp(optarg, "pidns"))
                                return usage_error("invalid --mechanism '%s' (want auto, cgroup, "
                                                   "pidns or procwalk)", optarg);
                        o->mechanism = optarg;
                        break;
                case OPT_JSON:
                        o->json_path = optarg;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'h':
                case OPT_HELP:
                        fputs(usage_text, stdout);
                        return 0;
                case OPT_VERSION:
                        printf("supervise %s\n", SV_VERSION);
                        return 0;
                case ':':
                        return usage_error("option '%s' needs an argument",
                                           sv_cli_bad_option(argv, bad, sizeof(bad)));
                default:
                        return usage_error("unknown option '%s'", sv_cli_bad_option(argv, bad, sizeof(bad)));
                }
        }
        if (optind >= argc)
                return usage_error("%s", "no command given");
        o->timeout_ms = common.timeout_ms;
        o->idle_timeout_ms = common.idle_timeout_ms;
        o->leaks = common.leaks;
        sv_cli_common_ladder(&common, &o->ladder);
        o->argv = argv + optind;
        return -1;
}

/* ---- Reporting ---- */

/* A report could not be written, and nothing may be lost unnoticed: say so
 * once, naming the file and the error, stop every copy through the ladder
 * (each is still reported where that works), and exit 125. */
static void output_failed(run *r, const char *name, int err) {
        if (!r->out_failed && name)
                fprintf(stderr, "supervise: cannot write %s: %s\n", name, strerror(err));
        r->out_failed = true;
        if (r->sv)
                (void) sv_supervisor_stop_all(r->sv);
}

static void json_failed(run *r, int err) {
        char name[4200];

        if (strcmp(r->o->json_path, "-") == 0)
                snprintf(name, sizeof(name), "to standard output (--json -)");
        else
                snprintf(name, sizeof(name), "'%.4096s'", r->o->json_path);
        output_failed(r, name, err);
        /* Later records would only fail the same way. */
        if (r->json != stdout)
                (void) fclose(r->json);
        r->json = NULL;
}

/* The stderr report is the run's record for a person; if it is lost we
 * cannot say so there, but the exit status does. */
static void check_stderr(run *r) {
        if (ferror(stderr) && !r->out_failed) {
                r->out_failed = true;
                if (r->sv)
                        (void) sv_supervisor_stop_all(r->sv);
        }
}

/* One line, flushed at once: a reader (or a crash) never sees half a
 * record, and a write error is seen at the record that hit it. */
static void json_emit(run *r, json_t *o) {
        char *text;
        int err;

        text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
        json_decref(o);
        if (!text) {
                json_failed(r, ENOMEM);
                return;
        }
        errno = 0;
        if (fprintf(r->json, "%s\n", text) < 0 || fflush(r->json) != 0) {
                err = errno ? errno : EIO;
                json_failed(r, err);
        }
        free(text);
}

/* {"event":"start","worker":N,"pid":P,"argv":[...]}: a line of its own for
 * each copy started; exit records keep their shape (no "event" key). */
static void json_start(run *r, unsigned index, pid_t pid) {
        json_t *o;

        o = json_pack("{s:s, s:I, s:I}", "event", "start", "worker", (json_int_t) index, "pid",
                      (json_int_t) pid);
        if (!o) {
                json_failed(r, ENOMEM);
                return;
        }
        sv_cli_json_set_argv(o, "argv", r->o->argv);
        json_emit(r, o);
}

static void fmt_ms(char *buf, size_t n, uint64_t us) {
        if (us >= 10000000u)
                snprintf(buf, n, "%.1fs", (double) us / 1e6);
        else
                snprintf(buf, n, "%.3fs", (double) us / 1e6);
}

static void report_line(const run *r, const slot *s) {
        const sv_exit_info *e = &s->info;
        char how[256], wall[32], user[32], sys[32];
        unsigned i;

        (void) sv_exit_describe(e, SV_DESCRIBE_STEP | SV_DESCRIBE_MECH, how, sizeof(how));
        fmt_ms(wall, sizeof(wall), e->wall_us);
        fmt_ms(user, sizeof(user), e->user_us);
        fmt_ms(sys, sizeof(sys), e->sys_us);
        fprintf(stderr, "supervise: worker %u pid %d: %s; wall %s, cpu %s user %s sys, max rss %llu KiB\n",
                s->index, (int) e->pid, how, wall, user, sys, (unsigned long long) e->max_rss_kb);
        if (e->leaked) {
                fprintf(stderr, "supervise: worker %u left %u descendant%s running (%s):\n", s->index,
                        e->leaked, e->leaked == 1 ? "" : "s",
                        r->o->leaks == SV_LEAKS_REPORT && e->mechanism != SV_MECH_PIDNS
                                ? "left running"
                                : "killed");
                for (i = 0; i < e->leaked && i < SV_LEAKS_MAX; i++) {
                        fprintf(stderr, "supervise:   pid %d: ", (int) e->leaks[i].pid);
                        sv_cli_put_term(stderr, e->leaks[i].cmdline, strlen(e->leaks[i].cmdline));
                        fputc('\n', stderr);
                }
        }
}

/* {"worker":N, then the one exit record of sv_exit_json (docs/json.md)}. */
static void json_line(run *r, const slot *s) {
        json_t *o, *rec = NULL;
        char *text;

        text = sv_exit_json(&s->info);
        if (text)
                rec = json_loads(text, 0, NULL);
        free(text);
        o = json_pack("{s:I}", "worker", (json_int_t) s->index);
        if (!rec || !o || json_object_update(o, rec) < 0) {
                json_decref(rec);
                json_decref(o);
                json_failed(r, ENOMEM);
                return;
        }
        json_decref(rec);
        json_emit(r, o);
}

/* ---- Running the copies ---- */

/* The signal watchers and the warn timer keep nothing alive by themselves
 * but must be closed before the supervisor is freed. */
static void close_run_handles(run *r) {
        int i;

        for (i = 0; i < r->nsigs; i++)
                uv_close((uv_handle_t *) &r->sigs[i], NULL);
        r->nsigs = 0;
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
                        output_failed(r, fd == 1 ? "to standard output" : "to standard error",
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
                sv_cli_put_term(stderr, procs[i].comm, strlen(procs[i].comm));
                fputc('\n', stderr);
        }
        free(procs);
        check_stderr(r);
}

static void on_warn(uv_timer_t *t) {
        run *r = t->data;

        sv_supervisor_foreach(r->sv, print_tree, r);
}

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *userdata) {
        run *r = userdata;
        slot *s = &r->slots[sv_worker_id(w)];

        s->info = *info;
        s->info.leaks = NULL;
        s->done = true;
        r->done++;
        if (!r->o->quiet) {
                s->info.leaks = info->leaks;
                report_line(r, s);
                check_stderr(r);
        }
        if (r->json) {
                s->info.leaks = info->leaks;
                json_line(r, s);
        }
        s->info.leaks = NULL;
        if (r->done == r->expected)
                close_run_handles(r);
}

static void stop_one(sv_worker *w, void *arg) {
        (void) sv_worker_stop_signal(w, *(int *) arg);
}

static void forward_one(sv_worker *w, void *arg) {
        (void) sv_worker_kill(w, *(int *) arg);
}

static void on_signal(uv_signal_t *h, int signum) {
        run *r = h->data;

        if (signum == SIGINT || signum == SIGTERM || signum == SIGHUP) {
                if (!r->stop_signal)
                        r->stop_signal = signum;
                sv_supervisor_foreach(r->sv, stop_one, &signum);
        } else {
                sv_supervisor_foreach(r->sv, forward_one, &signum);
        }
}

static void make_run_id(char *buf, size_t n) {
        unsigned char rnd[6] = { 0 };

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                memset(rnd, 0, sizeof(rnd));
        snprintf(buf, n, "%lx-%d-%02x%02x%02x%02x%02x%02x", (unsigned long) time(NULL), (int) getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* Our environment plus SUPERVISE_WORKER and SUPERVISE_RUN. */
static char **make_env(const run *r, unsigned index) {
        size_t n = 0, k = 0, i;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 3, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < n; i++) {
                if (strncmp(environ[i], "SUPERVISE_WORKER=", 17) == 0 ||
                    strncmp(environ[i], "SUPERVISE_RUN=", 14) == 0)
                        continue;
                env[k++] = environ[i];
        }
        if (asprintf(&env[k++], "SUPERVISE_WORKER=%u", index) < 0 ||
            asprintf(&env[k++], "SUPERVISE_RUN=%s", r->run_id) < 0) {
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
        /* The two strings we made are the last two. */
        if (n >= 2) {
                free(env[n - 1]);
                free(env[n - 2]);
        }
        free(env);
}

static int spawn_error_status(int err) {
        if (err == UV_ENOENT || err == UV_ENOTDIR)
                return EXIT_ENOENT;
        if (err == UV_EACCES || err == -ENOEXEC || err == UV_EPERM || err == UV_EISDIR)
                return EXIT_CANNOT_INVOKE;
        return EXIT_FAILURE_OWN;
}

/* The limit behind a resource error, for the one line we print about it:
 * "too many open files" alone does not say which knob to turn. */
static void limit_hint(int err, char *buf, size_t n) {
        struct rlimit rl;

        buf[0] = '\0';
        if (err == UV_EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
                snprintf(buf, n, " (the open-file limit, RLIMIT_NOFILE, is %llu; 'ulimit -n')",
                         (unsigned long long) rl.rlim_cur);
        else if (err == UV_ENFILE)
                snprintf(buf, n, " (the system-wide open-file limit, fs.file-max)");
        else if (err == UV_EAGAIN && getrlimit(RLIMIT_NPROC, &rl) == 0)
                snprintf(buf, n, " (a process limit: RLIMIT_NPROC is %s%llu, or the cgroup's "
                         "pids.max, or kernel.pid_max)",
                         rl.rlim_cur == RLIM_INFINITY ? "unlimited, " : "",
                         rl.rlim_cur == RLIM_INFINITY ? 0ULL : (unsigned long long) rl.rlim_cur);
        else if (err == UV_ENOMEM)
                snprintf(buf, n, " (out of memory, or a memory limit)");
}

static int watch_signals(run *r) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

        return sv_cli_watch_signals(sv_supervisor_loop(r->sv), r->sigs, sigs,
                                    (int) (sizeof(sigs) / sizeof(sigs[0])), on_signal, r, &r->nsigs);
}

/* GNU timeout's table: 124 on timeout unless --preserve-status, but 137
 * whenever KILL ended the command (GNU's own KILL kills timeout too). */
static int gnu_timeout_status(const run *r) {
        const sv_exit_info *e = &r->slots[0].info;
        int own = e->exited ? e->code : 128 + e->signal;

        if (!e->exited && e->signal == SIGKILL)
                return own;
        if (e->cause == SV_CAUSE_TIMEOUT && !r->o->preserve_status)
                return EXIT_TIMEDOUT;
        return own;
}

static int final_status(const run *r) {
        unsigned i;

        if (r->stop_signal)
                return 128 + r->stop_signal;
        if (r->o->gnu_timeout && r->expected == 1 && r->slots[0].done)
                return gnu_timeout_status(r);
        for (i = 0; i < r->expected; i++) {
                if (r->slots[i].done && r->slots[i].info.cause == SV_CAUSE_TIMEOUT)
                        return EXIT_TIMEDOUT;
        }
        for (i = 0; i < r->expected; i++) {
                const sv_exit_info *e = &r->slots[i].info;
                if (!r->slots[i].done)
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
        sv_cli_put_term(stderr, msg, strlen(msg));
        fputc('\n', stderr);
}

static int run_copies(cli_opts *o) {
        sv_supervisor_opts so;
        sv_spawn_opts sp;
        run r;
        unsigned i;
        char hint[160];
        int e, status = EXIT_FAILURE_OWN, tty = -1;

        memset(&r, 0, sizeof(r));
        r.o = o;
        make_run_id(r.run_id, sizeof(r.run_id));
        if (o->json_path) {
                r.json = strcmp(o->json_path, "-") == 0 ? stdout : fopen(o->json_path, "we");
                if (!r.json) {
                        fprintf(stderr, "supervise: cannot open '%s': %s\n", o->json_path,
                                strerror(errno));
                        return EXIT_FAILURE_OWN;
                }
        }
        r.slots = calloc(o->copies, sizeof(*r.slots));
        if (!r.slots) {
                fprintf(stderr, "supervise: out of memory\n");
                goto out_json;
        }

        memset(&so, 0, sizeof(so));
        so.ladder = o->ladder;
        so.flags |= SV_SUPERVISOR_EXIT_AFTER_FREE;
        if (strcmp(o->mechanism, "procwalk") == 0)
                so.flags |= SV_SUPERVISOR_NO_CGROUP;
        if (strcmp(o->mechanism, "pidns") == 0)
                so.flags |= SV_SUPERVISOR_PIDNS;
        if (o->verbose)
                so.log = log_cb;
        e = sv_supervisor_new(&so, &r.sv);
        if (e < 0) {
                limit_hint(e, hint, sizeof(hint));
                fprintf(stderr, "supervise: cannot start: %s%s\n", uv_strerror(e), hint);
                goto out_slots;
        }
        if (strcmp(o->mechanism, "cgroup") == 0 && sv_supervisor_mechanism(r.sv) != SV_MECH_CGROUP) {
                fprintf(stderr, "supervise: --mechanism cgroup: no writable cgroup v2 hierarchy "
                                "with cgroup.kill here\n");
                goto out_sv;
        }
        if (strcmp(o->mechanism, "pidns") == 0 && sv_supervisor_mechanism(r.sv) != SV_MECH_PIDNS) {
                fprintf(stderr, "supervise: --mechanism pidns: no PID namespace here (the kernel "
                                "refuses one, or SUPERVISE_MECHANISM forces another)\n");
                goto out_sv;
        }
        e = watch_signals(&r);
        if (e < 0) {
                fprintf(stderr, "supervise: cannot watch signals: %s\n", uv_strerror(e));
                goto out_sv;
        }

        memset(&sp, 0, sizeof(sp));
        sp.argv = (const char *const *) o->argv;
        sp.stdio[0] = o->gnu_timeout ? SV_STDIO_INHERIT : SV_STDIO_NULL;
        sp.timeout_ms = o->timeout_ms;
        if (o->idle_timeout_ms) {
                sp.idle_timeout_ms = o->idle_timeout_ms;
                sp.stdio[1] = SV_STDIO_PIPE;
                sp.stdio[2] = SV_STDIO_PIPE;
                sp.on_output = on_output_cb;
        }
        if (o->warn_after_ms) {
                uv_timer_init(sv_supervisor_loop(r.sv), &r.warn);
                r.warn.data = &r;
                r.warn_active = true;
                uv_timer_start(&r.warn, on_warn, o->warn_after_ms, 0);
                uv_unref((uv_handle_t *) &r.warn);
        }
        sp.leaks = o->leaks;
        sp.on_exit = on_exit_cb;
        sp.userdata = &r;
        for (i = 0; i < o->copies; i++) {
                sv_worker *w;
                r.slots[i].index = i;
                r.slots[i].envp = make_env(&r, i);
                if (!r.slots[i].envp) {
                        e = UV_ENOMEM;
                        break;
                }
                sp.env = (const char *const *) r.slots[i].envp;
                e = sv_spawn(r.sv, &sp, &w);
                /* sv_spawn is done with it (the child has exec'd): kept,
                 * it was a third of our memory per running copy. */
                free_env(r.slots[i].envp);
                r.slots[i].envp = NULL;
                if (e < 0)
                        break;
                r.slots[i].pid = sv_worker_pid(w);
                r.expected++;
                if (o->foreground && sv_cli_tty_give(sv_worker_pgid(w), &tty) > 0)
                        (void) sv_worker_kill_tree(w, SIGCONT); /* if it read the tty too early */
                if (r.json)
                        json_start(&r, i, r.slots[i].pid);
                if (r.out_failed)
                        break; /* the copies already started are being stopped */
        }
        if (e < 0) {
                /* Nothing is abandoned: the copies already running are
                 * stopped through the ladder and reported. */
                limit_hint(e, hint, sizeof(hint));
                if (r.expected > 0)
                        fprintf(stderr, "supervise: cannot run '%s' (copy %u of %u): %s%s; "
                                "stopping the %u started\n", o->argv[0], r.expected + 1, o->copies,
                                uv_strerror(e), hint, r.expected);
                else
                        fprintf(stderr, "supervise: cannot run '%s': %s%s\n", o->argv[0],
                                uv_strerror(e), hint);
                if (!o->gnu_timeout && e == UV_ENOENT)
                        sv_cli_timeout_hint(o->argv);
                status = spawn_error_status(e);
                sv_supervisor_stop_all(r.sv);
                if (r.done == r.expected)
                        close_run_handles(&r);
                sv_supervisor_run(r.sv);
                goto out_sv;
        }
        sv_supervisor_run(r.sv);
        status = final_status(&r);
        if (r.out_failed)
                status = EXIT_FAILURE_OWN;

out_sv:
        sv_cli_tty_take_back(tty);
        close_run_handles(&r);
        sv_supervisor_free(r.sv);
        for (i = 0; i < o->copies; i++)
                free_env(r.slots[i].envp);
out_slots:
        free(r.slots);
out_json:
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

int main(int argc, char **argv) {
        cli_opts o;
        int r;

        if (argc > 1) {
                if (strcmp(argv[1], "ps") == 0)
                        return sv_cli_ps(argc - 1, argv + 1);
                if (strcmp(argv[1], "kill") == 0)
                        return sv_cli_kill(argc - 1, argv + 1);
                if (strcmp(argv[1], "run") == 0)
                        return sv_cli_run(argc - 1, argv + 1);
                if (strcmp(argv[1], "timeout") == 0)
                        return sv_cli_timeout(argc - 1, argv + 1);
                if (strcmp(argv[1], "pgrep") == 0)
                        return sv_cli_pgrep(argc - 1, argv + 1);
                if (strcmp(argv[1], "pkill") == 0)
                        return sv_cli_pkill(argc - 1, argv + 1);
        }
        r = parse_args(argc, argv, &o);
        if (r >= 0)
                return r;
        return run_copies(&o);
}
