/* cmd_find.c - `supervise ps` and `supervise kill`: argv -> sv_find_filter ->
 * libsv's finder -> text or JSON -> exit code. All policy about what may be
 * matched and how a signal is delivered lives in supervisor/find/; this file
 * only parses, prints and picks the exit code. Every usage error is one line
 * on stderr and exit code 2. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supervise/sv_run.h"
#include "cli/cmd_find.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"

typedef struct find_opts {
        const char *cmd;          /* "ps" or "kill", for messages */
        bool is_kill;
        sv_find_filter f;
        pid_t *pids;
        size_t cap;
        bool count, json, tree, dry_run, wait, quiet, any_filter;
        int sig;
        uint64_t kill_after_ms;   /* 0: no escalation */
        int64_t wait_timeout_ms;  /* -1: no limit */
} find_opts;

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
                       "  -t, --tree             with --parent: all descendants, not just children\n"
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
        struct passwd *pw;
        long v;

        if (parse_long(s, 0, (long) UINT32_MAX - 1, &v)) {
                o->f.uid = (uid_t) v;
        } else {
                pw = getpwnam(s);
                if (!pw)
                        return usage_error(o, "unknown user '%s'", s);
                o->f.uid = pw->pw_uid;
        }
        o->f.has_uid = true;
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

static int parse_one(find_opts *o, int c, const char *arg) {
        uint64_t ms;
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
        o->any_filter = true;
        return 0;
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
        if (o->is_kill && o->tree && !o->f.parent)
                return usage_error(o, "--tree needs --parent (a dry run always shows a tree)%s", "");
        if (o->is_kill && !o->any_filter)
                return usage_error(o, "refusing to signal every process: give at least one filter%s", "");
        if (o->f.older_than_ms && o->f.younger_than_ms && o->f.older_than_ms >= o->f.younger_than_ms)
                return usage_error(o, "--older-than must be less than --younger-than%s", "");
        if (sv_find_filter_check(&o->f, msg, sizeof(msg)) < 0)
                return usage_error(o, "%s", msg);
        return 0;
}

/* Returns 0 when the options are good, -1 for --help (done), or an exit code. */
static int parse_args(find_opts *o, int argc, char **argv) {
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

/* ---- Text output. ---- */

/* Writes `len` bytes with anything unprintable escaped, so a name holding a
 * newline or an escape sequence cannot forge lines or drive the terminal. */
static void put_escaped(FILE *out, const char *s, size_t len) {
        sv_cli_put_term(out, s, len);
}

/* The command line as shown: argv joined by spaces, or "[name]". */
static void put_cmdline(FILE *out, const sv_find_proc *p) {
        size_t i, start = 0;

        if (!p->cmdline || p->cmdline_len <= 1) {
                fputc('[', out);
                put_escaped(out, p->name, strlen(p->name));
                fputc(']', out);
                return;
        }
        for (i = 0; i < p->cmdline_len; i++) {
                if (p->cmdline[i] != '\0')
                        continue;
                if (start)
                        fputc(' ', out);
                put_escaped(out, p->cmdline + start, i - start);
                start = i + 1;
        }
}

void sv_cli_find_put_name(FILE *out, const sv_find_proc *p) {
        put_escaped(out, p->name, strlen(p->name));
}

void sv_cli_find_put_cmdline(FILE *out, const sv_find_proc *p) {
        put_cmdline(out, p);
}

static void format_age(uint64_t ms, char *buf, size_t len) {
        uint64_t s = ms / 1000;

        if (s < 60)
                (void) snprintf(buf, len, "%us", (unsigned) s);
        else if (s < 3600)
                (void) snprintf(buf, len, "%um%02us", (unsigned) (s / 60), (unsigned) (s % 60));
        else if (s < 86400)
                (void) snprintf(buf, len, "%uh%02um", (unsigned) (s / 3600), (unsigned) (s % 3600 / 60));
        else
                (void) snprintf(buf, len, "%ud%02uh", (unsigned) (s / 86400), (unsigned) (s % 86400 / 3600));
}

/* getpwuid() per row would reread /etc/passwd; a few users cover a table. */
static const char *user_name(const sv_find_proc *p, char *buf, size_t len) {
        static struct {
                uid_t uid;
                char name[33];
        } cache[16];
        static unsigned ncache;
        struct passwd *pw;
        unsigned i;

        if (!p->has_uid)
                return NULL;
        for (i = 0; i < ncache; i++)
                if (cache[i].uid == p->uid)
                        return cache[i].name;
        pw = getpwuid(p->uid);
        if (pw)
                (void) snprintf(buf, len, "%s", pw->pw_name);
        else
                (void) snprintf(buf, len, "%u", (unsigned) p->uid);
        if (ncache < sizeof(cache) / sizeof(cache[0])) {
                cache[ncache].uid = p->uid;
                (void) snprintf(cache[ncache].name, sizeof(cache[ncache].name), "%s", buf);
                ncache++;
        }
        return buf;
}

/* The width rows are cut to, as procps' ps decides it: COLUMNS if set, else
 * the terminal's width when stdout is one, else no limit (0); and never
 * below 80 columns, as procps' ps never cuts below 80 either. */
static size_t out_width(void) {
        static bool known;
        static size_t width;
        const char *env = getenv("COLUMNS");
        struct winsize ws;
        unsigned v;

        if (known)
                return width;
        known = true;
        if (env && *env && sv_cli_parse_uint(env, 1, 1u << 20, &v) == 0)
                width = v;
        else if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                width = ws.ws_col;
        if (width && width < 80)
                width = 80;
        return width;
}

/* Writes `len` bytes of a row, cut after `width` columns (a UTF-8 sequence
 * counts as one column and is never split), then the newline. */
static void put_fitted(const char *s, size_t len, size_t width) {
        size_t i, cols = 0;

        for (i = 0; i < len; i++) {
                if (((unsigned char) s[i] & 0xc0) != 0x80 && cols++ == width)
                        break;
        }
        fwrite(s, 1, i, stdout);
        fputc('\n', stdout);
}

/* A row goes to a memory stream first when it may have to be cut. */
static FILE *row_begin(char **buf, size_t *len) {
        FILE *m;

        *buf = NULL;
        if (!out_width())
                return stdout;
        m = open_memstream(buf, len);
        return m ? m : stdout;
}

/* fclose() is what fills in *buf and *len: they are read only after it. */
static void row_end(FILE *out, char **buf, size_t *len) {
        if (out == stdout) {
                fputc('\n', stdout);
                return;
        }
        if (fclose(out) == 0)
                put_fitted(*buf, *len, out_width());
        free(*buf);
}

static void print_header(void) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = row_begin(&buf, &len);

        fprintf(out, "%7s %7s %-8s %6s %s %8s  %s", "PID", "PPID", "USER", "AGE", "S", "RSS", "COMMAND");
        row_end(out, &buf, &len);
}

static void print_row(const sv_find_proc *p, const char *prefix) {
        char age[24], ubuf[40], *buf = NULL;
        const char *user = user_name(p, ubuf, sizeof(ubuf));
        size_t len = 0;
        FILE *out = row_begin(&buf, &len);

        format_age(p->age_ms, age, sizeof(age));
        fprintf(out, "%7d %7d %-8s %6s %c %8llu  %s", (int) p->pid, (int) p->ppid, user ? user : "?", age,
                p->state, (unsigned long long) p->rss_kb, prefix);
        put_cmdline(out, p);
        row_end(out, &buf, &len);
}

/* Tree rows: "|- " / "`- " before each node and "|  " / "   " for each open
 * ancestor level, as pstree -A draws. `mark` flags the matches. */
static void print_tree(const sv_find_row *rows, int n, const char *match_mark) {
        char prefix[512];
        bool open_level[128] = { false };
        size_t pos;
        unsigned d;
        int i;

        for (i = 0; i < n; i++) {
                pos = 0;
                prefix[0] = '\0';
                if (match_mark)
                        pos += (size_t) snprintf(prefix, sizeof(prefix), "%s",
                                                 !rows[i].proc->matched ? "  "
                                                 : rows[i].proc->kthread || rows[i].proc->pid <= 1 ? "! "
                                                                                                   : match_mark);
                for (d = 1; d < rows[i].depth && pos + 4 < sizeof(prefix); d++)
                        pos += (size_t) snprintf(prefix + pos, sizeof(prefix) - pos, "%s",
                                                 d < 128 && open_level[d] ? "|  " : "   ");
                if (rows[i].depth > 0 && pos + 4 < sizeof(prefix))
                        (void) snprintf(prefix + pos, sizeof(prefix) - pos, "%s",
                                        rows[i].last ? "`- " : "|- ");
                if (rows[i].depth < 128)
                        open_level[rows[i].depth] = !rows[i].last;
                print_row(rows[i].proc, prefix);
        }
}

/* ---- JSON output. ---- */

/* jansson rejects invalid UTF-8, and a process name is raw bytes: each byte
 * that is not UTF-8 becomes the text \xHH (sv_text_escape's scheme); the
 * command line's raw bytes also go in "cmdline_b64" then (json_proc). */
static json_t *json_bytes(const char *s, size_t len) {
        size_t n;
        char *t = sv_text_escape(s, len, 0, &n, NULL);
        json_t *j = t ? json_stringn(t, n) : NULL;

        free(t);
        return j;
}

static json_t *json_argv(const sv_find_proc *p) {
        json_t *arr;
        size_t i, start = 0;

        if (!p->cmdline)
                return json_null();
        arr = json_array();
        for (i = 0; arr && i < p->cmdline_len; i++) {
                if (p->cmdline[i] != '\0')
                        continue;
                (void) json_array_append_new(arr, json_bytes(p->cmdline + start, i - start));
                start = i + 1;
        }
        return arr;
}

static json_t *json_cmdline(const sv_find_proc *p) {
        json_t *j;
        char *s;
        size_t i;

        if (!p->cmdline || p->cmdline_len == 0)
                return json_null();
        s = malloc(p->cmdline_len);
        if (!s)
                return NULL;
        memcpy(s, p->cmdline, p->cmdline_len);
        for (i = 0; i + 1 < p->cmdline_len; i++)
                if (s[i] == '\0')
                        s[i] = ' ';
        j = json_bytes(s, p->cmdline_len - 1);
        free(s);
        return j;
}

/* When the command line has bytes that are not UTF-8: "cmdline_b64", the
 * raw argv (NUL-separated) in base64, so that nothing is lost. */
static void add_raw_cmdline(json_t *o, const sv_find_proc *p) {
        size_t bad = 0;
        char *t = sv_text_escape(p->cmdline, p->cmdline_len - 1, 0, NULL, &bad), *b64;

        free(t);
        if (!bad)
                return;
        b64 = sv_base64(p->cmdline, p->cmdline_len - 1);
        if (b64)
                (void) json_object_set_new(o, "cmdline_b64", json_string(b64));
        free(b64);
}

static json_t *json_proc(const sv_find_proc *p) {
        char state[2] = { p->state, '\0' }, ubuf[40];
        const char *user = user_name(p, ubuf, sizeof(ubuf));
        json_t *o;

        o = json_pack("{s:i, s:i, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:b, s:o, s:o}",
                         "pid", (int) p->pid,
                         "ppid", (int) p->ppid,
                         "name", json_bytes(p->name, strlen(p->name)),
                         "state", state,
                         "user", user ? json_bytes(user, strlen(user)) : json_null(),
                         "uid", p->has_uid ? json_integer((json_int_t) p->uid) : json_null(),
                         "age_ms", (json_int_t) p->age_ms,
                         "start_ticks", (json_int_t) p->start_ticks,
                         "rss_kb", (json_int_t) p->rss_kb,
                         "kernel_thread", p->kthread,
                         "cmdline", json_cmdline(p),
                         "argv", json_argv(p));
        if (o && p->cmdline && p->cmdline_len > 0)
                add_raw_cmdline(o, p);
        return o;
}

/* Nests pre-order rows into {"...", "matched": b, "children": [...]} objects. */
static json_t *json_tree(const sv_find_row *rows, int n) {
        json_t *top = json_array(), *stack[130], *node;
        int i;
        unsigned d;

        if (!top)
                return NULL;
        stack[0] = top;
        for (i = 0; i < n; i++) {
                d = rows[i].depth < 128 ? rows[i].depth : 127;
                node = json_proc(rows[i].proc);
                if (!node)
                        continue;
                (void) json_object_set_new(node, "matched", json_boolean(rows[i].proc->matched));
                (void) json_object_set_new(node, "children", json_array());
                (void) json_array_append_new(stack[d], node);
                stack[d + 1] = json_object_get(node, "children");
        }
        return top;
}

static int json_emit(json_t *root) {
        int r;

        if (!root)
                return SV_FIND_EXIT_FATAL;
        r = json_dumpf(root, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
        return r == 0 ? 0 : SV_FIND_EXIT_FATAL;
}

/* ---- The commands. ---- */

static int scan(find_opts *o, sv_find_table **out) {
        char err[128];
        int r;

        r = sv_find_scan(&o->f, out);
        if (r < 0) {
                fprintf(stderr, "supervise %s: cannot read the process table: %s\n", o->cmd,
                        uv_strerror_r(r, err, sizeof(err)));
                return SV_FIND_EXIT_FATAL;
        }
        return 0;
}

static int ps_list(find_opts *o, sv_find_table *t) {
        size_t i, n = sv_find_count(t);
        json_t *arr;

        if (!o->json) {
                print_header();
                for (i = 0; i < n; i++)
                        print_row(sv_find_get(t, i), "");
                return 0;
        }
        arr = json_array();
        for (i = 0; arr && i < n; i++)
                (void) json_array_append_new(arr, json_proc(sv_find_get(t, i)));
        return json_emit(json_pack("{s:I, s:o}", "count", (json_int_t) n, "processes", arr));
}

/* Draws the matches with their ancestors; `mark` flags matches (dry run). */
static int show_tree(find_opts *o, sv_find_table *t, const char *mark, json_t *extra) {
        sv_find_row *rows;
        json_t *root;
        int n;

        n = sv_find_tree(t, &rows);
        if (n < 0) {
                json_decref(extra);
                fprintf(stderr, "supervise %s: out of memory\n", o->cmd);
                return SV_FIND_EXIT_FATAL;
        }
        if (o->json) {
                root = extra ? extra : json_object();
                if (root) {
                        (void) json_object_set_new(root, "count", json_integer((json_int_t) sv_find_count(t)));
                        (void) json_object_set_new(root, "tree", json_tree(rows, n));
                }
                free(rows);
                return json_emit(root);
        }
        print_header();
        print_tree(rows, n, mark);
        free(rows);
        return 0;
}

static void opts_release(find_opts *o) {
        free(o->pids);
}

int sv_cli_ps(int argc, char **argv) {
        find_opts o = { .cmd = "ps", .wait_timeout_ms = -1 };
        sv_find_table *t = NULL;
        size_t n;
        int rc;

        rc = parse_args(&o, argc, argv);
        if (rc)
                goto out;
        if (o.count)
                o.f.flags |= SV_FIND_NO_DETAILS;
        rc = scan(&o, &t);
        if (rc)
                goto out;
        n = sv_find_count(t);
        if (o.count && o.json)
                rc = json_emit(json_pack("{s:I}", "count", (json_int_t) n));
        else if (o.count)
                printf("%zu\n", n);
        else if (o.tree)
                rc = show_tree(&o, t, NULL, NULL);
        else
                rc = ps_list(&o, t);
        if (rc == 0 && n == 0)
                rc = SV_FIND_EXIT_NONE;
        sv_find_table_free(t);
out:
        opts_release(&o);
        return rc < 0 ? SV_FIND_EXIT_OK : rc;
}

/* Each handle is an fd; a kill of thousands of processes must not run into
 * the soft limit (often 1024) while the hard limit allows more. */
static void raise_fd_limit(size_t need) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need + 64)
                return;
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

void sv_cli_find_raise_fd_limit(size_t need) {
        raise_fd_limit(need);
}

static const char *sig_name(int sig, char *buf, size_t len) {
        const char *s = sv_signal_name(sig);

        if (s)
                return s;
        (void) snprintf(buf, len, "signal %d", sig);
        return buf;
}

static void report_text(const find_opts *o, const sv_find_proc *p, const sv_find_status *st) {
        char err[128], sbuf[24];
        FILE *out = st->outcome == SV_FIND_SIGNALLED || st->outcome == SV_FIND_GONE ? stdout : stderr;

        if (out == stdout && (o->quiet || o->count))
                return;
        if (out == stderr)
                fprintf(out, "supervise kill: ");
        switch (st->outcome) {
        case SV_FIND_SIGNALLED:
                fprintf(out, "sent %s to %d (", sig_name(st->signal, sbuf, sizeof(sbuf)), (int) p->pid);
                break;
        case SV_FIND_GONE:
                fprintf(out, "already gone: %d (", (int) p->pid);
                break;
        case SV_FIND_REFUSED:
                fprintf(out, "refusing to signal %s %d (", p->kthread ? "kernel thread" : "init", (int) p->pid);
                break;
        default:
                fprintf(out, "cannot signal %d (", (int) p->pid);
                break;
        }
        put_escaped(out, p->name, strlen(p->name));
        if (st->outcome == SV_FIND_FAILED)
                fprintf(out, "): %s\n", uv_strerror_r(st->err, err, sizeof(err)));
        else
                fprintf(out, ")%s\n", st->exited ? ", exited" : "");
}

static json_t *json_status(const sv_find_proc *p, const sv_find_status *st) {
        char err[128], sbuf[24];

        return json_pack("{s:i, s:o, s:s, s:o, s:o, s:b}",
                         "pid", (int) p->pid,
                         "name", json_bytes(p->name, strlen(p->name)),
                         "outcome", sv_find_outcome_name(st->outcome),
                         "signal", st->signal ? json_string(sig_name(st->signal, sbuf, sizeof(sbuf))) : json_null(),
                         "error", st->outcome == SV_FIND_FAILED ? json_string(uv_strerror_r(st->err, err, sizeof(err)))
                                                                : json_null(),
                         "exited", st->exited);
}

/* Prints the per-process outcomes and returns the exit code they add up to. */
static int kill_report(const find_opts *o, sv_find_table *t, int still_alive, unsigned escalated) {
        size_t i, n = sv_find_count(t), sent = 0, bad = 0;
        sv_find_status st;
        json_t *arr = o->json ? json_array() : NULL;
        char sbuf[24];

        for (i = 0; i < n; i++) {
                sv_find_status_get(t, i, &st);
                if (st.outcome == SV_FIND_SIGNALLED)
                        sent++;
                else if (st.outcome == SV_FIND_REFUSED || st.outcome == SV_FIND_FAILED)
                        bad++;
                if (arr)
                        (void) json_array_append_new(arr, json_status(sv_find_get(t, i), &st));
                else
                        report_text(o, sv_find_get(t, i), &st);
        }
        if (arr) {
                if (json_emit(json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:o}",
                                        "signal", sig_name(o->sig, sbuf, sizeof(sbuf)),
                                        "matched", (json_int_t) n, "signalled", (json_int_t) sent,
                                        "failed", (json_int_t) bad, "escalated", (json_int_t) escalated,
                                        "still_alive", still_alive, "processes", arr)) != 0)
                        return SV_FIND_EXIT_FATAL;
        } else {
                if (o->count)
                        printf("%zu\n", sent);
                if (still_alive > 0)
                        fprintf(stderr, "supervise kill: %d process%s still alive after waiting\n", still_alive,
                                still_alive == 1 ? "" : "es");
        }
        return bad || still_alive > 0 ? SV_FIND_EXIT_PARTIAL : SV_FIND_EXIT_OK;
}

static int do_kill(find_opts *o, sv_find_table *t) {
        unsigned escalated = 0;
        int alive = 0, r;

        raise_fd_limit(sv_find_count(t));
        r = sv_find_signal(t, o->sig);
        if (r < 0)
                return SV_FIND_EXIT_FATAL;
        if (o->kill_after_ms) {
                alive = sv_find_wait(t, (int64_t) (o->kill_after_ms > INT64_MAX ? INT64_MAX : o->kill_after_ms));
                if (alive > 0 && o->sig != SIGKILL) {
                        r = sv_find_signal(t, SIGKILL);
                        escalated = r > 0 ? (unsigned) r : 0;
                }
        }
        if (o->wait)
                alive = sv_find_wait(t, o->wait_timeout_ms);
        else
                alive = 0; /* not waiting: escalated ones are not checked again */
        if (alive < 0)
                return SV_FIND_EXIT_FATAL;
        return kill_report(o, t, alive, escalated);
}

int sv_cli_kill(int argc, char **argv) {
        find_opts o = { .cmd = "kill", .is_kill = true, .sig = SIGTERM, .wait_timeout_ms = -1 };
        sv_find_table *t = NULL;
        char sbuf[24], mark[64];
        int rc;

        rc = parse_args(&o, argc, argv);
        if (rc)
                goto out;
        if (!o.dry_run)
                o.f.flags |= SV_FIND_NO_DETAILS;
        rc = scan(&o, &t);
        if (rc)
                goto out;
        if (sv_find_count(t) == 0) {
                if (o.json)
                        (void) json_emit(json_pack("{s:s, s:i, s:[]}", "signal", sig_name(o.sig, sbuf, sizeof(sbuf)),
                                                   "matched", 0, "processes"));
                else if (o.count)
                        printf("0\n");
                rc = SV_FIND_EXIT_NONE;
        } else if (o.dry_run) {
                if (!o.json)
                        printf("would send %s to %zu process%s (marked *; ! is never signalled):\n", sig_name(o.sig, sbuf, sizeof(sbuf)),
                               sv_find_count(t), sv_find_count(t) == 1 ? "" : "es");
                (void) snprintf(mark, sizeof(mark), "* ");
                rc = show_tree(&o, t, mark,
                               o.json ? json_pack("{s:b, s:s}", "dry_run", 1, "signal",
                                                  sig_name(o.sig, sbuf, sizeof(sbuf)))
                                      : NULL);
        } else {
                rc = do_kill(&o, t);
        }
        sv_find_table_free(t);
out:
        opts_release(&o);
        return rc < 0 ? SV_FIND_EXIT_OK : rc;
}
