/* run_opts.c - the options of `supervise run` and its --help. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/run_term.h"

#define EXIT_OK 0
#define MAX_JOBS_PARALLEL 4096u
#define MAX_RETRIES 100u
#define DIAG_LIMIT_DEFAULT_MS 30000u

static const char usage_text[] =
        "Usage: supervise run [OPTION]... (--from FILE | --ctest BUILD_DIR)\n"
        "Run many commands, N at a time, each with a deadline; diagnose and kill\n"
        "the hung ones with their whole process tree; report in JSON lines, JUnit\n"
        "and TAP. Commands never run through a shell.\n"
        "\n"
        "Jobs:\n"
        "  -f, --from FILE        one command per line ('-': stdin), split like sh\n"
        "                         words with no expansion; '#' comments, blank\n"
        "                         lines skipped; 'name=NAME cmd...' names a job\n"
        "      --ctest BUILD_DIR  the tests of a CMake build directory (from\n"
        "                         'ctest --show-only=json-v1'): command, working\n"
        "                         directory, environment, TIMEOUT, WILL_FAIL,\n"
        "                         DISABLED, SKIP_RETURN_CODE\n"
        "  -j, --jobs N           run N jobs at once (default: number of CPUs); fewer\n"
        "                         for a while if a start fails with EMFILE, ENFILE,\n"
        "                         EAGAIN or ENOMEM (said once; the job is retried)\n"
        "  -t, --timeout DUR      stop a job running longer than DUR (250ms, 1.5s,\n"
        "                         2m; bare number: seconds); ctest's TIMEOUT wins\n"
        "      --idle-timeout DUR a job with no output for DUR counts as hung\n"
        "  -r, --retries K        run a failing job up to K more times; a job that\n"
        "                         passes on a retry is flaky and counts as passed\n"
        "  -s, --signal SIG       first signal of the stop ladder (default TERM)\n"
        "  -k, --kill-after DUR   grace after it before KILL (default 5s)\n"
        "      --stop LADDER      the whole ladder, e.g. 'INT:5s,TERM:5s,KILL'\n"
        "      --leaks POLICY     descendants alive when a job exits: kill (default),\n"
        "                         report, fail (kill them and fail the job), ignore\n"
        "\n"
        "Hung jobs: before a timed-out job is stopped, its process tree (pid, ppid,\n"
        "state, wchan, kernel stack where readable, command line) and its last 50\n"
        "output lines are recorded.\n"
        "      --on-timeout CMD   then run CMD ({pid}: the job's pid), e.g.\n"
        "                         'gdb -batch -p {pid} -ex \"thread apply all bt\"';\n"
        "                         its output goes into the report\n"
        "      --on-timeout-limit DUR  stop CMD after DUR (default 30s)\n"
        "\n"
        "Output (job output goes to stdout, supervise's own messages to stderr):\n"
        "      (default)          each job's output, whole, when the job ends\n"
        "      --tag              complete lines as they come, as '[name] line'\n"
        "      --logs DIR         also keep each job's output in DIR/<n>-<name>.log\n"
        "      --events FILE      JSON lines as things happen (spawn, signal, step,\n"
        "                         diag, leak, exit, retry, skip)\n"
        "      --junit FILE       JUnit XML, one testcase per job\n"
        "      --tap FILE         TAP version 13\n"
        "                         (JUnit and TAP are written beside FILE and renamed\n"
        "                         over it when complete: an old report survives)\n"
        "  -q, --quiet            no progress line, job status lines or summary\n"
        "  -h, --help             show this help and exit\n"
        "      --version          show the version and exit\n"
        "\n"
        "On a terminal, one status line (done/total, running, failed, elapsed, ETA)\n"
        "is redrawn on stderr. INT, TERM or HUP stop the running jobs through the\n"
        "ladder, start no new ones and write the reports; a second one kills the\n"
        "remaining trees at once.\n"
        "\n"
        "Exit status:\n"
        "  0      every job passed (a flaky pass or a skip counts as passed)\n"
        "  1      a job failed, crashed or could not be started\n"
        "  124    a job timed out, and every other job passed\n"
        "  125    supervise run itself failed: a bad option, job file or report\n"
        "         path (no job was started); or job output, the events file, a log\n"
        "         or a report could not be written (one line names the file and\n"
        "         the error; the running jobs were stopped through the ladder)\n"
        "  128+N  supervise run was stopped by signal N (INT 130, TERM 143, HUP 129)\n";

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise run", fmt, arg);
}

int sv_cli_run_parse(int argc, char **argv, sv_cli_run_opts *o) {
        enum {
                OPT_CTEST = 256, OPT_TAG, OPT_LOGS, OPT_EVENTS,
                OPT_JUNIT, OPT_TAP, OPT_ON_TIMEOUT, OPT_DIAG_LIMIT, OPT_HELP, OPT_VERSION,
        };
        static const struct option longopts[] = {
                { "jobs", required_argument, NULL, 'j' },
                SV_CLI_COMMON_LONGOPTS,
                { "retries", required_argument, NULL, 'r' },
                { "from", required_argument, NULL, 'f' },
                { "ctest", required_argument, NULL, OPT_CTEST },
                { "tag", no_argument, NULL, OPT_TAG },
                { "logs", required_argument, NULL, OPT_LOGS },
                { "events", required_argument, NULL, OPT_EVENTS },
                { "junit", required_argument, NULL, OPT_JUNIT },
                { "tap", required_argument, NULL, OPT_TAP },
                { "on-timeout", required_argument, NULL, OPT_ON_TIMEOUT },
                { "on-timeout-limit", required_argument, NULL, OPT_DIAG_LIMIT },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        sv_cli_common common;
        char bad[8];
        long ncpu;
        int c, r;

        memset(o, 0, sizeof(*o));
#ifdef _SC_NPROCESSORS_ONLN
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
#else
        ncpu = (long) uv_available_parallelism(); /* Windows */
#endif
        o->jobs = ncpu > 0 && ncpu < (long) MAX_JOBS_PARALLEL ? (unsigned) ncpu : 1;
        o->diag_limit_ms = DIAG_LIMIT_DEFAULT_MS;
        opterr = 0;
        optind = 1;
        sv_cli_common_init(&common);
        while ((c = getopt_long(argc, argv, "+j:r:f:qh" SV_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
                r = sv_cli_common_opt("supervise run", c, optarg, &common);
                if (r == 1)
                        continue;
                if (r != 0)
                        return r;
                switch (c) {
                case 'j':
                        if (sv_cli_parse_uint(optarg, 1, MAX_JOBS_PARALLEL, &o->jobs) < 0)
                                return usage_error("invalid number of jobs '%s' (want 1-4096)", optarg);
                        break;
                case 'r':
                        if (sv_cli_parse_uint(optarg, 0, MAX_RETRIES, &o->retries) < 0)
                                return usage_error("invalid number of retries '%s' (want 0-100)",
                                                   optarg);
                        break;
                case 'f':
                        o->from = optarg;
                        break;
                case OPT_CTEST:
                        o->ctest_dir = optarg;
                        break;
                case OPT_TAG:
                        o->tag = true;
                        break;
                case OPT_LOGS:
                        o->logs = optarg;
                        break;
                case OPT_EVENTS:
                        o->events = optarg;
                        break;
                case OPT_JUNIT:
                        o->junit = optarg;
                        break;
                case OPT_TAP:
                        o->tap = optarg;
                        break;
                case OPT_ON_TIMEOUT:
                        o->on_timeout = optarg;
                        break;
                case OPT_DIAG_LIMIT:
                        if (sv_duration_parse(optarg, &o->diag_limit_ms) < 0 || o->diag_limit_ms == 0)
                                return usage_error("invalid duration '%s' for --on-timeout-limit",
                                                   optarg);
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'h':
                case OPT_HELP:
                        fputs(usage_text, stdout);
                        return EXIT_OK;
                case OPT_VERSION:
                        printf("supervise run %s\n", SV_VERSION);
                        return EXIT_OK;
                case ':':
                        return usage_error("option '%s' needs an argument",
                                           sv_cli_bad_option(argv, bad, sizeof(bad)));
                default:
                        return usage_error("unknown option '%s'", sv_cli_bad_option(argv, bad, sizeof(bad)));
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s' (commands go in --from FILE)",
                                   argv[optind]);
        if (!o->from == !o->ctest_dir)
                return usage_error("%s", o->from ? "give --from or --ctest, not both"
                                                 : "no jobs: give --from FILE or --ctest BUILD_DIR");
        o->timeout_ms = common.timeout_ms;
        o->idle_ms = common.idle_timeout_ms;
        o->leaks = common.leaks;
        sv_cli_common_ladder(&common, &o->ladder);
        return -1;
}
