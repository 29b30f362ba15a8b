/* find_opts.c - the options of `supervise ps` and `supervise kill`: argv ->
 * find_opts (a sv_find_filter and what to do with the matches), with their
 * --help. Every usage error is one line on stderr and exit code 2. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"
#include "supervise/sv_run.h"

enum {
        OPT_NAME = 256,
        OPT_OLDER,
        OPT_YOUNGER,
        OPT_PORT,
        OPT_ANY_SOCKET,
        OPT_JSON,
        OPT_DRY_RUN,
        OPT_WAIT_TIMEOUT,
        OPT_VERSION,
};

static const struct option long_opts[] = {
        { "name", required_argument, NULL, OPT_NAME },
        { "regex", required_argument, NULL, 'r' },
        { "full", no_argument, NULL, 'f' },
        { "pid", required_argument, NULL, 'p' },
        { "parent", required_argument, NULL, 'P' },
        { "tree", no_argument, NULL, 't' },
        { "user", required_argument, NULL, 'u' },
        { "older-than", required_argument, NULL, OPT_OLDER },
        { "younger-than", required_argument, NULL, OPT_YOUNGER },
        { "port", required_argument, NULL, OPT_PORT },
        { "any-socket", no_argument, NULL, OPT_ANY_SOCKET },
        { "count", no_argument, NULL, 'c' },
        { "json", no_argument, NULL, OPT_JSON },
        { "signal", required_argument, NULL, 's' },
        { "wait", no_argument, NULL, 'w' },
        { "wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT },
        { "kill-after", required_argument, NULL, 'k' },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
};

static const char filters_help[] =
        "Filters (all given filters must match; none: every process):\n"
        "      --name NAME        exact process name; a NAME longer than 15 bytes also\n"
        "                         matches the basename of argv[0] or of the executable\n"
        "  -r, --regex ERE        extended regex on the name\n"
        "  -f, --full             match --regex against the whole command line\n"
        "  -p, --pid LIST         only these pids (comma-separated, each > 1)\n"
        "  -P, --parent PID       only children of PID (with --tree: all descendants)\n"
        "  -u, --user NAME|UID    only processes with this effective user\n"
        "      --older-than DUR   age >= DUR (250ms, 1.5s, 2m, 1h, 1d; bare number: s)\n"
        "      --younger-than DUR age < DUR\n"
        "      --port N[/tcp|/udp] owners of a socket LISTENING on local port N\n"
        "      --any-socket       with --port: any socket on N, clients included\n"
        "Never matched: supervise itself and its ancestors. Never signalled: pid 1 and\n"
        "kernel threads.\n";

static const char exit_help[] =
        "Exit status: 0 matched (kill: every match signalled or already gone),\n"
        "  1 nothing matched, 2 usage error (also a refused pid 0, 1 or negative),\n"
        "  3 fatal error (cannot read /proc), 4 kill: partial failure (a match could\n"
        "  not be signalled, e.g. permission denied, or outlived --wait-timeout).\n";

static void print_help(bool is_kill) {
        if (is_kill)
                printf("Usage: supervise kill FILTER... [-s SIG] [--wait] [--kill-after DUR] [--dry-run] [--json]\n"
                       "Signal every matching process, pid-reuse safely (pidfd).\n\n");
        else
                printf("Usage: supervise ps [FILTER...] [--tree | --count] [--json]\n"
                       "List matching processes: pid, ppid, user, age, state, RSS, command line.\n\n");
        fputs(filters_help, stdout);
        printf("\nActions:\n");
        if (is_kill)
                printf("  -s, --signal SIG       signal to send (TERM, SIGTERM, 15; default TERM)\n"
                       "  -w, --wait             wait until every signalled process is gone\n"
                       "      --wait-timeout DUR wait at most DUR (implies --wait)\n"
                       "  -k, --kill-after DUR   send KILL to those still alive DUR after SIG\n"
                       "      --dry-run          show what would be signalled, as a tree\n"
                       "  -t, --tree             each match and all its descendants (taskkill /t);\n"
                       "                         with --parent: all descendants of PID, not PID\n"
                       "  -c, --count            print the number signalled instead of each process\n"
                       "  -q, --quiet            print failures only\n");
        else
                printf("  -t, --tree             draw parent links (matches and their ancestors);\n"
                       "                         with --parent: select all descendants\n"
                       "  -c, --count            print the number of matches only\n");
        printf("      --json             machine-readable output\n"
               "  -h, --help             this help\n"
               "      --version          show the version and exit\n\n");
        fputs(exit_help, stdout);
}

/* One line on stderr, then exit code 2. */
static int usage_error(const find_opts *o, const char *fmt, const char *arg) {
        fprintf(stderr, "supervise %s: ", o->cmd);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, " (see 'supervise %s --help')\n", o->cmd);
        return SV_FIND_EXIT_USAGE;
}

static bool parse_long(const char *s, long min, long max, long *out) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return false;
        *out = v;
        return true;
}

static int add_pid(find_opts *o, pid_t pid) {
        pid_t *nv;
        size_t ncap;

        if (o->f.npids == o->cap) {
                ncap = o->cap ? o->cap * 2 : 8;
                nv = realloc(o->pids, ncap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                o->pids = nv;
                o->cap = ncap;
        }
        o->pids[o->f.npids++] = pid;
        o->f.pids = o->pids;
        return 0;
}

static int parse_pids(find_opts *o, const char *list) {
        char *copy, *tok, *save = NULL;
        size_t ntok = 0;
        long v;
        int rc = 0;

        copy = strdup(list);
        if (!copy)
                return SV_FIND_EXIT_FATAL;
        for (tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
                ntok++;
                if (!parse_long(tok, INT_MIN, INT_MAX, &v))
                        rc = usage_error(o, "invalid pid '%s'", tok);
                else if (v == 1)
                        rc = usage_error(o, "refusing pid %s: init is never a target", tok);
                else if (v == 0)
                        rc = usage_error(o, "refusing pid %s: kill(0) would mean our own process group", tok);
                else if (v < 0)
                        rc = usage_error(o, "refusing pid %s: a negative pid names a process group", tok);
                else if (add_pid(o, (pid_t) v) < 0)
                        rc = SV_FIND_EXIT_FATAL;
        }
        if (rc == 0 && ntok == 0)
                rc = usage_error(o, "empty pid list '%s'", list);
        free(copy);
        return rc;
}

static int parse_user(find_opts *o, const char *s) {
        if (sv_cli_find_set_user(&o->f, s) != 0)
                return usage_error(o, "unknown user '%s'", s);
        return 0;
}

static int parse_port(find_opts *o, const char *s) {
        char buf[16], *slash;
        long v;

        if (strlen(s) >= sizeof(buf))
                return usage_error(o, "invalid port '%s' (N, N/tcp or N/udp)", s);
        strcpy(buf, s);
        slash = strchr(buf, '/');
        o->f.protos = 0;
        if (slash) {
                *slash++ = '\0';
                if (strcmp(slash, "tcp") == 0)
                        o->f.protos = SV_FIND_TCP;
                else if (strcmp(slash, "udp") == 0)
                        o->f.protos = SV_FIND_UDP;
                else
                        return usage_error(o, "invalid port '%s' (N, N/tcp or N/udp)", s);
        }
        if (!parse_long(buf, 1, 65535, &v))
                return usage_error(o, "invalid port '%s' (N, N/tcp or N/udp)", s);
        o->f.port = (uint16_t) v;
        return 0;
}

static int parse_dur(find_opts *o, const char *s, uint64_t *out) {
        if (sv_duration_parse(s, out) < 0)
                return usage_error(o, "invalid duration '%s' (e.g. 500ms, 1.5s, 2m, 1h, 1d)", s);
        return 0;
}

static const char *opt_name(char **argv, int optind_now) {
        const char *arg = argv[optind_now - 1];

        return arg ? arg : "?";
}

/* Names the word getopt rejected. `kill --name x -KILL` fails at 'K' inside
 * "-KILL": say so, and how a signal is given here. */
static int bad_option(const find_opts *o, char **argv) {
        const char *w = argv[optind];
        char buf[8], msg[160];

        if (optopt > 0 && w && w[0] == '-' && w[1] == optopt && sv_signal_parse(w + 1) > 0) {
                (void) snprintf(msg, sizeof(msg), "unknown option '%s' (a signal is given as -s %s%s)", w,
                                w + 1, o->is_kill ? "" : ", with 'supervise kill'");
                return usage_error(o, "%s", msg);
        }
        return usage_error(o, "unknown option '%s'", sv_cli_bad_option(argv, buf, sizeof(buf)));
}

/* Options only one of the two subcommands has. */
static bool kill_only(int c) {
        return c == 's' || c == 'w' || c == 'k' || c == OPT_DRY_RUN || c == 'q' || c == OPT_WAIT_TIMEOUT;
}

/* The filters (and -f, -t that shape them). Returns 0, a usage error's
 * exit code, or -1: not a filter option. */
static int parse_filter(find_opts *o, int c, const char *arg) {
        long v;
        int r;

        switch (c) {
        case OPT_NAME:
                if (!*arg)
                        return usage_error(o, "empty --name%s", "");
                o->f.name = arg;
                break;
        case 'r':
                o->f.regex = arg;
                break;
        case 'f':
                o->f.flags |= SV_FIND_FULL;
                return 0;
        case 'p':
                r = parse_pids(o, arg);
                if (r)
                        return r;
                break;
        case 'P':
                if (!parse_long(arg, INT_MIN, INT_MAX, &v))
                        return usage_error(o, "invalid parent pid '%s'", arg);
                if (v <= 0)
                        return usage_error(o, "refusing parent pid %s: must be > 0", arg);
                o->f.parent = (pid_t) v;
                break;
        case 't':
                o->tree = true;
                return 0;
        case 'u':
                r = parse_user(o, arg);
                if (r)
                        return r;
                break;
        case OPT_OLDER:
                r = parse_dur(o, arg, &o->f.older_than_ms);
                if (r)
                        return r;
                break;
        case OPT_YOUNGER:
                r = parse_dur(o, arg, &o->f.younger_than_ms);
                if (r)
                        return r;
                if (o->f.younger_than_ms == 0)
                        return usage_error(o, "--younger-than %s matches nothing", arg);
                break;
        case OPT_PORT:
                r = parse_port(o, arg);
                if (r)
                        return r;
                break;
        case OPT_ANY_SOCKET:
                o->f.flags |= SV_FIND_ANY_SOCKET;
                return 0;
        default:
                return -1;
        }
        o->any_filter = true;
        return 0;
}

/* What to do with the matches: output form, signal, waiting. */
static int parse_action(find_opts *o, int c, const char *arg) {
        uint64_t ms;
        int r;

        switch (c) {
        case 'c':
                o->count = true;
                return 0;
        case OPT_JSON:
                o->json = true;
                return 0;
        case 's':
                r = sv_signal_parse(arg);
                if (r < 0)
                        return usage_error(o, "unknown signal '%s'", arg);
                o->sig = r;
                return 0;
        case 'w':
                o->wait = true;
                return 0;
        case OPT_WAIT_TIMEOUT:
                r = parse_dur(o, arg, &ms);
                if (r)
                        return r;
                o->wait = true;
                o->wait_timeout_ms = ms > INT64_MAX ? INT64_MAX : (int64_t) ms;
                return 0;
        case 'k':
                r = parse_dur(o, arg, &o->kill_after_ms);
                if (r)
                        return r;
                return 0;
        case OPT_DRY_RUN:
                o->dry_run = true;
                return 0;
        case 'q':
                o->quiet = true;
                return 0;
        default:
                return SV_FIND_EXIT_USAGE;
        }
}

static int parse_one(find_opts *o, int c, const char *arg) {
        int r = parse_filter(o, c, arg);

        return r >= 0 ? r : parse_action(o, c, arg);
}

/* Rules between options, checked once all are read. */
static int check_combination(find_opts *o) {
        char msg[160];

        if ((o->f.flags & SV_FIND_FULL) && !o->f.regex)
                return usage_error(o, "--full needs --regex%s", "");
        if ((o->f.flags & SV_FIND_ANY_SOCKET) && !o->f.port)
                return usage_error(o, "--any-socket needs --port%s", "");
        if (o->tree && o->f.parent)
                o->f.flags |= SV_FIND_TREE;
        /* Without --parent, kill --tree is `taskkill /t`: each match and
         * all its descendants. */
        if (o->is_kill && o->tree && !o->f.parent)
                o->f.flags |= SV_FIND_DESCENDANTS;
        if (o->is_kill && !o->any_filter)
                return usage_error(o, "refusing to signal every process: give at least one filter%s", "");
        if (o->f.older_than_ms && o->f.younger_than_ms && o->f.older_than_ms >= o->f.younger_than_ms)
                return usage_error(o, "--older-than must be less than --younger-than%s", "");
        if (sv_find_filter_check(&o->f, msg, sizeof(msg)) < 0)
                return usage_error(o, "%s", msg);
        return 0;
}

/* Returns 0 when the options are good, -1 for --help (done), or an exit code. */
int sv_cli_find_parse_args(find_opts *o, int argc, char **argv) {
        char bad[8];
        int c, rc, li = -1;

        opterr = 0;
        optind = 0; /* GNU: re-initialise, main() may have used getopt already */
        while ((c = getopt_long(argc, argv, ":r:fp:P:tu:cs:wk:qh", long_opts, &li)) != -1) {
                if (c == 'h') {
                        print_help(o->is_kill);
                        return -1;
                }
                if (c == OPT_VERSION) {
                        printf("supervise %s %s\n", o->cmd, SV_VERSION);
                        return -1;
                }
                if (c == '?')
                        return bad_option(o, argv);
                if (c == ':')
                        return usage_error(o, "option '%s' needs a value",
                                           sv_cli_bad_option(argv, bad, sizeof(bad)));
                if (!o->is_kill && kill_only(c)) {
                        /* A short option may sit inside a cluster: name its letter. */
                        (void) snprintf(bad, sizeof(bad), "-%c", c);
                        return usage_error(o, "option '%s' is for 'supervise kill'",
                                           li < 0 ? bad : opt_name(argv, optind));
                }
                li = -1;
                rc = parse_one(o, c, optarg);
                if (rc)
                        return rc;
        }
        if (optind < argc)
                return usage_error(o, "unexpected argument '%s' (did you mean --name?)", argv[optind]);
        return check_combination(o);
}

void sv_cli_find_opts_release(find_opts *o) {
        free(o->pids);
}
