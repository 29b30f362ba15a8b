/* cmd_timeout.c - `supervise timeout`: GNU timeout's command line (coreutils
 * 9.1) read into an sv_cli_timeout_opts, which main.c's runner executes, so the
 * report, --json, signal forwarding, tree kill and guardian are the main
 * command's own. Also the terminal hand-over of --foreground and the hint
 * main.c prints when `supervise 0.2 sleep 5` names no program. Parses and
 * prints only; never spawns or signals itself. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supervise/sv.h"

static const char timeout_usage[] =
        "Usage: supervise timeout [OPTION] DURATION COMMAND [ARG]...\n"
        "Start COMMAND (never through a shell), and kill it and its whole process tree\n"
        "if still running after DURATION. A drop-in for GNU timeout(1).\n"
        "\n"
        "  -s, --signal SIG       signal to send on timeout (default TERM); a name\n"
        "                         (TERM, SIGTERM) or a number\n"
        "  -k, --kill-after DUR   also send KILL if COMMAND is still running DUR after\n"
        "                         the first signal (default: never)\n"
        "      --preserve-status  exit with COMMAND's status even when it timed out\n"
        "      --foreground       give COMMAND the terminal (it can read it and gets\n"
        "                         ^C and ^Z); its children are still timed out\n"
        "  -v, --verbose          log on stderr every signal sent and state change\n"
        "      --report           print how COMMAND ended (status, times, leftovers)\n"
        "      --json FILE        write that report as one JSON line ('-': stdout)\n"
        "  -h, --help             show this help and exit\n"
        "      --version          show the version and exit\n"
        "\n"
        "DURATION is a number with an optional unit: s (the default), m, h, d, or ms;\n"
        "floating forms (0.2, .5, 1e-1) and inf are allowed; 0 means no timeout.\n"
        "Unlike GNU timeout, the signal reaches COMMAND's whole tree (also what left\n"
        "its process group), and nothing is left running if supervise itself is\n"
        "killed.\n"
        "\n"
        "Exit status:\n"
        "  124    COMMAND timed out (without --preserve-status)\n"
        "  125    supervise itself failed, or a usage error\n"
        "  126    COMMAND was found but could not be run\n"
        "  127    COMMAND was not found\n"
        "  137    COMMAND (timed out or not) was killed by KILL (128+9)\n"
        "  -      else COMMAND's own status (128+N when killed by signal N)\n";

static int timeout_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise timeout", fmt, arg);
}

/* Returns -1 when good, else the usage error's exit status. */
static int parse_duration(const char *s, const char *what, uint64_t *out) {
        if (sv_duration_parse(s, out) < 0)
                return timeout_error(what, s);
        /* inf and "too large": no timer at all, as 0 does. */
        if (*out == SV_DURATION_INF)
                *out = 0;
        return -1;
}

/* Returns -1 to go on, or an exit status (0 after --help/--version). */
static int parse_timeout(int argc, char **argv, sv_cli_timeout_opts *t) {
        enum { OPT_PRESERVE = 256, OPT_FOREGROUND, OPT_REPORT, OPT_JSON, OPT_VERSION };
        static const struct option longopts[] = {
                { "signal", required_argument, NULL, 's' },
                { "kill-after", required_argument, NULL, 'k' },
                { "preserve-status", no_argument, NULL, OPT_PRESERVE },
                { "foreground", no_argument, NULL, OPT_FOREGROUND },
                { "verbose", no_argument, NULL, 'v' },
                { "report", no_argument, NULL, OPT_REPORT },
                { "json", required_argument, NULL, OPT_JSON },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        int c, r;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+:s:k:vh", longopts, NULL)) != -1) {
                switch (c) {
                case 's':
                        r = sv_signal_parse(optarg);
                        if (r <= 0)
                                return timeout_error("invalid signal '%s'", optarg);
                        t->signal = r;
                        break;
                case 'k':
                        r = parse_duration(optarg, "invalid time interval '%s' for --kill-after",
                                           &t->kill_after_ms);
                        if (r >= 0)
                                return r;
                        break;
                case OPT_PRESERVE:
                        t->preserve_status = true;
                        break;
                case OPT_FOREGROUND:
                        t->foreground = true;
                        break;
                case 'v':
                        t->verbose = true;
                        break;
                case OPT_REPORT:
                        t->report = true;
                        break;
                case OPT_JSON:
                        t->json_path = optarg;
                        break;
                default:
                        return sv_cli_opt_other(c, 'h', OPT_VERSION, argv, "supervise timeout", timeout_usage);
                }
        }
        if (optind >= argc)
                return timeout_error("%s", "missing DURATION and COMMAND");
        r = parse_duration(argv[optind], "invalid time interval '%s'", &t->duration_ms);
        if (r >= 0)
                return r;
        if (optind + 1 >= argc)
                return timeout_error("missing COMMAND after '%s'", argv[optind]);
        t->argv = argv + optind + 1;
        return -1;
}

int sv_cli_timeout(int argc, char **argv) {
        sv_cli_timeout_opts t;
        int r;

        memset(&t, 0, sizeof(t));
        t.signal = SIGTERM;
        r = parse_timeout(argc, argv, &t);
        if (r >= 0)
                return r;
        return sv_cli_timeout_run(&t);
}

/* ---- --foreground: the terminal goes to COMMAND's process group. ---- */

/* sv_spawn gives every worker a process group of its own, so "stay in the
 * foreground" means making that group the terminal's foreground group, as a
 * shell does for a job, and taking the terminal back afterwards. */
int sv_cli_tty_give(pid_t pgid, int *out_fd) {
        int fd;

        *out_fd = -1;
        fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return 0; /* no controlling terminal: nothing to hand over */
        if (tcgetpgrp(fd) != getpgrp() || tcsetpgrp(fd, pgid) < 0) {
                (void) close(fd); /* we are not in the foreground ourselves */
                return 0;
        }
        *out_fd = fd;
        return 1;
}

void sv_cli_tty_take_back(int fd) {
        sigset_t ttou, old;

        if (fd < 0)
                return;
        /* We are a background group now: without blocking SIGTTOU, asking
         * for the terminal back would stop us. */
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        (void) sigprocmask(SIG_BLOCK, &ttou, &old);
        (void) tcsetpgrp(fd, getpgrp());
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        (void) close(fd);
}

/* ---- The hint for `supervise 0.2 sleep 5`. ---- */

void sv_cli_timeout_hint(char **argv) {
        uint64_t ms;

        if (!argv[0] || strchr(argv[0], '/') || sv_duration_parse(argv[0], &ms) < 0)
                return;
        fprintf(stderr, "supervise: did you mean 'supervise timeout %s%s%s'?\n", argv[0],
                argv[1] ? " " : "", argv[1] ? argv[1] : "");
}
