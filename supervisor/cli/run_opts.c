/* run_opts.c - the options of `supervise run` and its --help. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/run_flow.h"
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
        "                         'ctest --show-only=json-v1'), judged and ordered\n"
        "                         as ctest does: WORKING_DIRECTORY, ENVIRONMENT,\n"
        "                         ENVIRONMENT_MODIFICATION, TIMEOUT, WILL_FAIL,\n"
        "                         DISABLED, SKIP_RETURN_CODE, PASS_/FAIL_/\n"
        "                         SKIP_REGULAR_EXPRESSION, DEPENDS, FIXTURES_SETUP/\n"
        "                         CLEANUP/REQUIRED, RESOURCE_LOCK, RUN_SERIAL,\n"
        "                         PROCESSORS, REQUIRED_FILES, LABELS; any other\n"
        "                         property is named in one warning line\n"
        "  -L, --label-regex RE   only jobs with a label matching RE (CMake regex);\n"
        "                         repeated: each RE must match a label\n"
        "  -LE, --label-exclude RE\n"
        "                         leave out jobs with a label matching RE;\n"
        "                         repeated: left out if each RE matches a label\n"
        "                         (a kept job's fixture setups and cleanups are kept)\n"
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
        "Choosing jobs (in this order; an empty selection is an error, exit 125):\n"
        "  -R REGEX               only jobs whose name matches REGEX (POSIX extended)\n"
        "  -E REGEX               then leave out the jobs whose name matches REGEX\n"
        "      --rerun-failed FILE  then only the jobs that failed, timed out, crashed\n"
        "                         or could not start in FILE, a --events file\n"
        "      --shard I/N        then only shard I of N (1-based): a job's shard is a\n"
        "                         hash of its name, so adding a job moves no other;\n"
        "                         auto/N: I is JOB_COMPLETION_INDEX + 1 (Kubernetes)\n"
        "      --shuffle          then run in a random order; the seed is printed\n"
        "      --seed S           the order of --shuffle (implies it), to repeat one\n"
        "      --allow-empty      an empty selection runs nothing and exits 0\n"
        "      --list             print the chosen jobs' names and exit; start nothing\n"
        "      --dry-run          print each chosen job as 'name: argv' and exit\n"
        "\n"
        "Stopping early, repeating:\n"
        "      --fail-fast        after the first job fails, start no new job; the\n"
        "                         running ones finish, the rest are skipped\n"
        "                         ('fail-fast' in the reports)\n"
        "      --max-fail N       the same after N jobs failed\n"
        "      --repeat N         run each job N times; a job fails at its first\n"
        "                         failing run, which is its last (not with --retries)\n"
        "      --until-fail       with --repeat N: run the whole list round after\n"
        "                         round (at most N) and stop at the first failure,\n"
        "                         to hunt a flaky test\n"

        "Isolation, so that tests binding fixed ports or writing fixed file names\n"
        "can run in parallel:\n"
        "      --isolate LIST     a comma list of: net (a network namespace per job,\n"
        "                         only loopback, up), cwd (a fresh empty working\n"
        "                         directory per job under $TMPDIR, removed after it),\n"
        "                         tmp (a private /tmp per job, TMPDIR=/tmp). Root\n"
        "                         makes the namespaces directly, anyone else in a\n"
        "                         user namespace; where neither is allowed, exit 125\n"
        "                         before any job starts\n"
        "      --keep-failed      with --isolate cwd: keep the directory of a job\n"
        "                         that did not pass; its path is printed with the\n"
        "                         job's status and is in the events ('workdir')\n"
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
        "      --timeline FILE    the run as one HTML page (Gantt chart: a row per\n"
        "                         slot, a bar per attempt coloured by verdict; hover\n"
        "                         for command, exit, duration); self-contained,\n"
        "                         written like JUnit\n"
        "      --color[=WHEN]     colour verdicts on stderr: auto (default: a\n"
        "                         terminal, TERM not 'dumb', NO_COLOR unset or\n"
        "                         empty), always (also when WHEN is omitted) or never\n"
        "  -q, --quiet            no progress line, job status lines or summary\n"
        "  -h, --help             show this help and exit\n"
        "      --version          show the version and exit\n"
        "\n"
        "On a terminal, one status line (done/total, a progress bar, running,\n"
        "failed, elapsed, ETA) is redrawn on stderr. A hung job's diagnostics\n"
        "(process tree, kernel stacks) go to --logs, --events, --junit and --tap;\n"
        "stderr gets one line saying where. INT, TERM or HUP stop the running\n"
        "jobs through the ladder, start no new ones and write the reports; a\n"
        "second one kills the remaining trees at once.\n"
        "\n"
        "Exit status:\n"
        "  0      every job passed (a flaky pass or a skip counts as passed);\n"
        "         --list and --dry-run\n"
        "  1      a job failed, crashed or could not be started\n"
        "  124    a job timed out, and every other job passed\n"
        "  125    supervise run itself failed: a bad option, job file, events file\n"
        "         (--rerun-failed) or report path, --isolate not allowed here, or\n"
        "         no job was chosen (no job was started); or job output, the\n"
        "         events file, a log or a report could not be written (one line\n"
        "         names the file and the error; the running jobs were stopped\n"
        "         through the ladder)\n"
        "  128+N  supervise run was stopped by signal N (INT 130, TERM 143, HUP 129)\n";

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise run", fmt, arg);
}

/* GNU's words (ls, grep): none means always. */
static int parse_color(const char *arg, sv_cli_color *out) {
        static const char *const words[][3] = {
                [SV_CLI_COLOR_AUTO] = { "auto", "tty", "if-tty" },
                [SV_CLI_COLOR_ALWAYS] = { "always", "yes", "force" },
                [SV_CLI_COLOR_NEVER] = { "never", "no", "none" },
        };
        unsigned c, k;

        if (!arg) {
                *out = SV_CLI_COLOR_ALWAYS;
                return 0;
        }
        for (c = 0; c < SV_CLI_COLOR_COUNT; c++)
                for (k = 0; k < 3; k++)
                        if (strcmp(arg, words[c][k]) == 0) {
                                *out = (sv_cli_color) c;
                                return 0;
                        }
        return -1;
}

/* ctest spells --label-exclude "-LE", which getopt would read as -L with
 * the argument "E": rename it before getopt sees it (options only, up to
 * "--"; an option's argument that is literally "-LE" would be taken for the
 * option, as ctest takes it too). */
static void label_exclude_words(int argc, char **argv) {
        static char word[] = "--label-exclude";
        int i;

        for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "-LE") == 0)
                        argv[i] = word;
}

static int add_label(sv_cli_run_opts *o, bool in, const char *re) {
        unsigned *n = in ? &o->nlabel_in : &o->nlabel_out;

        if (*n >= SV_CLI_LABEL_MAX)
                return -1;
        (in ? o->label_in : o->label_out)[(*n)++] = re;
        return 0;
}

/* "net,cwd,tmp" -> SV_ISOLATE_NET | SV_RUN_ISOLATE_CWD | SV_ISOLATE_TMP.
 * Returns 0, or -1 for an empty or unknown word. */
static int parse_isolate(const char *s, unsigned *out) {
        static const struct {
                const char *word;
                unsigned flag;
        } words[] = {
                { "net", SV_ISOLATE_NET },
                { "cwd", SV_RUN_ISOLATE_CWD },
                { "tmp", SV_ISOLATE_TMP },
        };
        unsigned flags = 0;
        size_t len, i;
        bool found;

        for (;;) {
                len = strcspn(s, ",");
                found = false;
                for (i = 0; i < sizeof(words) / sizeof(words[0]) && !found; i++) {
                        if (strlen(words[i].word) == len && strncmp(s, words[i].word, len) == 0) {
                                flags |= words[i].flag;
                                found = true;
                        }
                }
                if (!found)
                        return -1;
                if (s[len] == '\0')
                        break;
                s += len + 1;
        }
        *out = flags;
        return 0;
}

int sv_cli_run_parse(int argc, char **argv, sv_cli_run_opts *o) {
        enum {
                OPT_CTEST = 256, OPT_TAG, OPT_LOGS, OPT_EVENTS,
                OPT_JUNIT, OPT_TAP, OPT_ON_TIMEOUT, OPT_DIAG_LIMIT, OPT_HELP, OPT_VERSION,
                OPT_TIMELINE, OPT_COLOR,
                OPT_LABEL_EXCLUDE,
                OPT_ISOLATE, OPT_KEEP_FAILED,
        };
        static const struct option longopts[] = {
                { "jobs", required_argument, NULL, 'j' },
                SV_CLI_COMMON_LONGOPTS,
                SV_CLI_RUN_FLOW_LONGOPTS,
                { "retries", required_argument, NULL, 'r' },
                { "from", required_argument, NULL, 'f' },
                { "ctest", required_argument, NULL, OPT_CTEST },
                { "label-regex", required_argument, NULL, 'L' },
                { "label-exclude", required_argument, NULL, OPT_LABEL_EXCLUDE },
                { "tag", no_argument, NULL, OPT_TAG },
                { "logs", required_argument, NULL, OPT_LOGS },
                { "events", required_argument, NULL, OPT_EVENTS },
                { "junit", required_argument, NULL, OPT_JUNIT },
                { "tap", required_argument, NULL, OPT_TAP },
                { "on-timeout", required_argument, NULL, OPT_ON_TIMEOUT },
                { "on-timeout-limit", required_argument, NULL, OPT_DIAG_LIMIT },
                { "timeline", required_argument, NULL, OPT_TIMELINE },
                { "color", optional_argument, NULL, OPT_COLOR },
                { "isolate", required_argument, NULL, OPT_ISOLATE },
                { "keep-failed", no_argument, NULL, OPT_KEEP_FAILED },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        sv_cli_common common;
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
        label_exclude_words(argc, argv);
        sv_cli_common_init(&common);
        while ((c = getopt_long(argc, argv, "+j:r:f:qhL:" SV_CLI_COMMON_SHORTOPTS SV_CLI_RUN_FLOW_SHORTOPTS,
                                longopts, NULL)) != -1) {
                r = sv_cli_common_opt("supervise run", c, optarg, &common);
                if (r == 1)
                        continue;
                if (r != 0)
                        return r;
                r = sv_cli_run_flow_opt(c, optarg, &o->flow);
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
                case 'L':
                case OPT_LABEL_EXCLUDE:
                        if (add_label(o, c == 'L', optarg) < 0)
                                return usage_error("too many -L/-LE options (at most 32 of each)%s", "");
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
                case OPT_TIMELINE:
                        o->timeline = optarg;
                        break;
                case OPT_COLOR:
                        if (parse_color(optarg, &o->color) < 0)
                                return usage_error("invalid argument '%s' for --color (want auto, "
                                                   "always or never)", optarg);
                        break;
                case OPT_ISOLATE:
                        if (parse_isolate(optarg, &o->isolate) < 0)
                                return usage_error("invalid --isolate '%s' (want a comma list of "
                                                   "net, cwd, tmp)", optarg);
                        break;
                case OPT_KEEP_FAILED:
                        o->keep_failed = true;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                default:
                        return sv_cli_opt_other(c, OPT_HELP, OPT_VERSION, argv, "supervise run", usage_text);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s' (commands go in --from FILE)",
                                   argv[optind]);
        if (!o->from == !o->ctest_dir)
                return usage_error("%s", o->from ? "give --from or --ctest, not both"
                                                 : "no jobs: give --from FILE or --ctest BUILD_DIR");
        if (o->keep_failed && !(o->isolate & SV_RUN_ISOLATE_CWD))
                return usage_error("%s", "--keep-failed needs --isolate cwd");
        r = sv_cli_run_flow_check(&o->flow, o->retries);
        if (r >= 0)
                return r;
        o->timeout_ms = common.timeout_ms;
        o->idle_ms = common.idle_timeout_ms;
        o->leaks = common.leaks;
        sv_cli_common_ladder(&common, &o->ladder);
        return -1;
}
