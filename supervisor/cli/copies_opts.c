/* copies_opts.c - the main command's options: argv -> cli_opts, with its
 * --help text (the exit status table users and tests read). The options it
 * shares with `run` go through cli/opts.c. Prints only --help, --version and
 * the one line of a usage error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/copies.h"
#include "cli/opts.h"

static const char usage_text[] =
        "Usage: supervise [OPTION]... [--] COMMAND [ARG]...\n"
        "       supervise ps|kill [FILTER]... [OPTION]...   (see 'supervise ps --help')\n"
        "       supervise run [OPTION]... --from FILE        (see 'supervise run --help')\n"
        "       supervise report merge [OPTION]... EVENTS... (see 'supervise report --help')\n"
        "       supervise timeout [OPTION] DURATION COMMAND [ARG]...  (GNU timeout's form)\n"
        "       supervise pgrep|pkill [OPTION]... [PATTERN]   (procps' forms)\n"
        "       supervise ctl [OPTION]... PATH REQUEST [ARG]...  (see 'supervise ctl --help')\n"
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
        "      --restart POLICY  start a copy that ended again (never one stopped by\n"
        "                        supervise): no (default), on-failure (a non-zero\n"
        "                        exit, a signal or a timeout), always\n"
        "      --restart-delay MIN..MAX  the backoff before a restart, MIN doubled\n"
        "                        for each restart in a row up to MAX, less up to a\n"
        "                        quarter of jitter (default 100ms..30s); a copy that\n"
        "                        ran 10s starts again from MIN\n"
        "      --max-restarts N  give up on a copy after N restarts (within DUR with\n"
        "                        --within): it is reported failed, and supervise\n"
        "                        exits with its status once the others end\n"
        "      --within DUR      the window of --max-restarts (default: the whole run)\n"
        "      --mechanism M     tree containment: auto (default: the first that\n"
        "                        works of cgroup, pidns, procwalk), cgroup, pidns (a\n"
        "                        PID namespace per copy; the pid reported is its\n"
        "                        init's, which forwards signals), procwalk\n"
        "      --json FILE       JSON lines as they happen ('-' for stdout): one\n"
        "                        {\"event\":\"start\",...} per copy started, one\n"
        "                        object per exit\n"
        "      --control PATH    listen for `supervise ctl PATH` on a Unix socket\n"
        "                        (mode 0600; our uid and root only), removed at exit\n"
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
        "  0      every copy exited 0 (with --restart: each slot's last copy)\n"
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

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise", fmt, arg);
}

/* --restart (which 0), --restart-delay (1), --max-restarts (2), --within
 * (3). Returns -1 to go on, or an exit status. */
static int restart_opt(int which, const char *arg, sv_restart_opts *ro, bool given[4]) {
        given[which] = true;
        switch (which) {
        case 0:
                if (sv_restart_policy_parse(arg, &ro->policy) < 0)
                        return usage_error("invalid --restart '%s' (want no, on-failure or always)",
                                           arg);
                break;
        case 1:
                if (sv_restart_delay_parse(arg, &ro->delay_min_ms, &ro->delay_max_ms) < 0)
                        return usage_error("invalid --restart-delay '%s' (want MIN..MAX, e.g. "
                                           "100ms..30s, 0 < MIN <= MAX)", arg);
                break;
        case 2:
                if (sv_cli_parse_uint(arg, 1, 1000000, &ro->max_restarts) < 0)
                        return usage_error("invalid --max-restarts '%s' (want 1-1000000)", arg);
                break;
        default:
                if (sv_duration_parse(arg, &ro->within_ms) < 0 || !ro->within_ms ||
                    ro->within_ms == SV_DURATION_INF)
                        return usage_error("invalid duration '%s' for --within", arg);
                break;
        }
        return -1;
}

/* The restart options that mean nothing without the others. */
static int restart_check(const sv_restart_opts *ro, const bool given[4]) {
        if (given[3] && !given[2])
                return usage_error("%s", "--within needs --max-restarts");
        if (ro->policy == SV_RESTART_NO && (given[1] || given[2]))
                return usage_error("%s needs --restart on-failure or always",
                                   given[1] ? "--restart-delay" : "--max-restarts");
        return -1;
}

/* Returns -1 to go on, or an exit status. */
int sv_copies_parse_args(int argc, char **argv, cli_opts *o) {
        enum { OPT_MECH = 256, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_WARN, OPT_RESTART,
               OPT_RESTART_DELAY, OPT_MAX_RESTARTS, OPT_WITHIN, OPT_CONTROL };
        static const struct option longopts[] = {
                { "copies", required_argument, NULL, 'n' },
                SV_CLI_COMMON_LONGOPTS,
                { "warn-after", required_argument, NULL, OPT_WARN },
                { "mechanism", required_argument, NULL, OPT_MECH },
                { "restart", required_argument, NULL, OPT_RESTART },
                { "restart-delay", required_argument, NULL, OPT_RESTART_DELAY },
                { "max-restarts", required_argument, NULL, OPT_MAX_RESTARTS },
                { "within", required_argument, NULL, OPT_WITHIN },
                { "json", required_argument, NULL, OPT_JSON },
                { "control", required_argument, NULL, OPT_CONTROL },
                { "quiet", no_argument, NULL, 'q' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        sv_cli_common common;
        bool given[4] = { false, false, false, false };
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
                case OPT_CONTROL:
                        o->control_path = optarg;
                        break;
                case OPT_RESTART:
                case OPT_RESTART_DELAY:
                case OPT_MAX_RESTARTS:
                case OPT_WITHIN:
                        r = restart_opt(c - OPT_RESTART, optarg, &o->restart, given);
                        if (r >= 0)
                                return r;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                default:
                        return sv_cli_opt_other(c, OPT_HELP, OPT_VERSION, argv, "supervise", usage_text);
                }
        }
        if (optind >= argc)
                return usage_error("%s", "no command given");
        r = restart_check(&o->restart, given);
        if (r >= 0)
                return r;
        o->timeout_ms = common.timeout_ms;
        o->idle_timeout_ms = common.idle_timeout_ms;
        o->leaks = common.leaks;
        sv_cli_common_ladder(&common, &o->ladder);
        o->argv = argv + optind;
        return -1;
}
