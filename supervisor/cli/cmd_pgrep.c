/* cmd_pgrep.c - `supervise pgrep` and `supervise pkill`: procps-ng's command
 * lines (4.0.2) read into an sv_find_filter, so the finder's safety holds:
 * never us or an ancestor, never a signal to pid 1 or a kernel thread, every
 * signal pid-reuse safe. Exit codes are procps': 0 matched (pkill: signalled
 * at least one), 1 none, 2 usage error, 3 fatal. Parses and prints only. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"

/* The lists of -u -U -G -P -g -s -t, in the order of their storage. */
enum { L_EUID, L_RUID, L_RGID, L_PPID, L_PGRP, L_SID, L_TTY, L_COUNT };

typedef struct pg_opts {
        const char *cmd; /* "pgrep" or "pkill", for messages */
        bool is_pkill;
        sv_find_filter f;
        int64_t *lists[L_COUNT];
        const char *pattern;
        char *exact_re; /* "^(pattern)$" for -x */
        const char *delim;
        bool list_name, list_full, count, echo, exact;
        unsigned criteria; /* selection options given besides the pattern */
        int sig;
} pg_opts;

static const char pgrep_usage[] =
        "Usage: supervise pgrep [OPTION]... [PATTERN]\n"
        "List the pids of processes whose name (or with -f, command line) matches\n"
        "the extended regex PATTERN and every selection option. procps' pgrep(1),\n"
        "on the finder of 'supervise ps': never lists itself or its ancestors.\n"
        "\n"
        "  -d, --delimiter STR    put STR between pids (default: newline)\n"
        "  -l, --list-name        list the pid and the process name\n"
        "  -a, --list-full        list the pid and the full command line\n"
        "  -v, --inverse          select the processes that do NOT match\n";

static const char pkill_usage[] =
        "Usage: supervise pkill [-SIGNAL] [OPTION]... [PATTERN]\n"
        "Signal the processes whose name (or with -f, command line) matches the\n"
        "extended regex PATTERN and every selection option. procps' pkill(1), on\n"
        "the finder of 'supervise kill': never itself or its ancestors, never pid 1\n"
        "or a kernel thread, and never a process whose pid was reused meanwhile.\n"
        "\n"
        "  -SIGNAL, --signal SIG  signal to send: -9, -KILL, -SIGKILL (default TERM)\n"
        "  -e, --echo             print each process signalled\n";

static const char common_usage[] =
        "  -c, --count            print the number of matches instead\n"
        "  -f, --full             match PATTERN against the full command line\n"
        "  -x, --exact            PATTERN must match the whole name (command line)\n"
        "  -i, --ignore-case      match case-insensitively\n"
        "  -n, --newest           select only the most recently started\n"
        "  -o, --oldest           select only the least recently started\n"
        "  -u, --euid ID,...      effective user (name or number)\n"
        "  -U, --uid ID,...       real user (name or number)\n"
        "  -G, --group GID,...    real group (name or number)\n"
        "  -P, --parent PPID,...  children of these pids\n"
        "  -g, --pgroup PGID,...  process groups (0: our own)\n"
        "  -s, --session SID,...  sessions (0: our own)\n"
        "  -t, --terminal TTY,... controlling terminals (pts/3, tty1; ?: none)\n"
        "  -A, --ignore-ancestors accepted for procps; our ancestors never match\n"
        "  -h, --help             show this help and exit\n"
        "  -V, --version          show the version and exit\n"
        "\n"
        "Exit status: 0 something matched (pkill: at least one was signalled),\n"
        "  1 nothing matched, 2 usage error, 3 fatal error (cannot read /proc).\n";

static int pg_error(const pg_opts *o, const char *fmt, const char *arg) {
        fprintf(stderr, "supervise %s: ", o->cmd);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry 'supervise %s --help' for more information.\n", o->cmd);
        return SV_FIND_EXIT_USAGE;
}

static bool parse_num(const char *s, long long *out) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end)
                return false;
        *out = v;
        return true;
}

/* One element of a list: a number, or a name for users and groups, "0" for
 * our own group or session, a terminal name. */
static bool conv(int which, const char *s, int64_t *out) {
        char path[PATH_MAX];
        struct passwd *pw;
        struct group *gr;
        struct stat st;
        long long v;

        switch (which) {
        case L_EUID:
        case L_RUID:
                if (parse_num(s, &v))
                        break;
                pw = getpwnam(s);
                if (!pw)
                        return false;
                v = pw->pw_uid;
                break;
        case L_RGID:
                if (parse_num(s, &v))
                        break;
                gr = getgrnam(s);
                if (!gr)
                        return false;
                v = gr->gr_gid;
                break;
        case L_PGRP:
        case L_SID:
                if (!parse_num(s, &v))
                        return false;
                if (v == 0)
                        v = which == L_PGRP ? getpgrp() : getsid(0);
                break;
        case L_TTY:
                /* procps compares names; we compare the device they name. A
                 * name that is no terminal matches nothing, as there. */
                if (strcmp(s, "?") == 0) {
                        v = 0;
                        break;
                }
                (void) snprintf(path, sizeof(path), "%s%s", strncmp(s, "/dev/", 5) ? "/dev/" : "", s);
                if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode)) {
                        v = -1;
                        break;
                }
                v = (long long) ((minor(st.st_rdev) & 0xffu) | (major(st.st_rdev) << 8) |
                                 ((minor(st.st_rdev) & ~0xffu) << 12));
                break;
        default:
                if (!parse_num(s, &v))
                        return false;
                break;
        }
        *out = (int64_t) v;
        return true;
}

static int parse_list(pg_opts *o, int which, const char *arg, sv_find_list *l) {
        static const char *const what[] = { "user", "user", "group", "parent pid", "process group",
                                            "session", "terminal" };
        char *copy, *tok, *save = NULL;
        int64_t *v;
        size_t n = 0;
        int rc = 0;

        copy = strdup(arg);
        v = calloc(strlen(arg) / 2 + 2, sizeof(*v));
        if (!copy || !v) {
                free(copy);
                free(v);
                return SV_FIND_EXIT_FATAL;
        }
        for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
                if (!conv(which, tok, &v[n++])) {
                        char msg[160];

                        (void) snprintf(msg, sizeof(msg), "invalid %s '%s'", what[which], tok);
                        rc = pg_error(o, "%s", msg);
                }
        }
        free(copy);
        if (!rc && n == 0)
                rc = pg_error(o, "empty list '%s'", arg);
        if (rc) {
                free(v);
                return rc;
        }
        free(o->lists[which]);
        o->lists[which] = v;
        l->v = v;
        l->n = n;
        o->criteria++;
        return 0;
}

/* pkill's -SIGNAL: procps takes the first word anywhere that is '-' and a
 * signal name or number, and removes it before reading the options. */
static int take_signal_word(int *argc, char **argv) {
        int i, sig;

        for (i = 1; i < *argc; i++) {
                if (argv[i][0] != '-' || strcmp(argv[i], "--") == 0)
                        continue;
                sig = sv_signal_parse(argv[i] + 1);
                if (sig < 0)
                        continue;
                memmove(argv + i, argv + i + 1, sizeof(*argv) * (size_t) (*argc - i));
                (*argc)--;
                return sig;
        }
        return -1;
}

static sv_find_list *list_of(pg_opts *o, int which) {
        sv_find_list *l[] = { &o->f.euids, &o->f.ruids, &o->f.rgids, &o->f.ppids,
                              &o->f.pgrps, &o->f.sids,  &o->f.ttys };

        return l[which];
}

/* Returns 0 to go on, or an exit code; -1 after --help/--version. */
static int parse_one(pg_opts *o, int c, const char *arg) {
        static const char lists[] = "uUGPgst";
        const char *li = c > 0 && c < 256 ? strchr(lists, c) : NULL;

        if (li)
                return parse_list(o, (int) (li - lists), arg, list_of(o, (int) (li - lists)));
        switch (c) {
        case 'd': o->delim = arg; break;
        case 'l': o->list_name = true; break;
        case 'a': o->list_full = true; break;
        case 'c': o->count = true; break;
        case 'f': o->f.flags |= SV_FIND_FULL; break;
        case 'x': o->exact = true; break;
        case 'i': o->f.flags |= SV_FIND_ICASE; break;
        case 'e': o->echo = true; break;
        case 'A': break;
        case 'n':
        case 'o':
        case 'v':
                if (o->f.flags & (SV_FIND_NEWEST | SV_FIND_OLDEST | SV_FIND_INVERT))
                        return pg_error(o, "%s", "-n, -o and -v exclude each other");
                o->f.flags |= c == 'n' ? SV_FIND_NEWEST : c == 'o' ? SV_FIND_OLDEST : SV_FIND_INVERT;
                if (c != 'v')
                        o->criteria++;
                break;
        case 'S':
                o->sig = sv_signal_parse(arg);
                if (o->sig < 0)
                        return pg_error(o, "unknown signal '%s'", arg);
                break;
        case 'h':
                fputs(o->is_pkill ? pkill_usage : pgrep_usage, stdout);
                fputs(common_usage, stdout);
                return -1;
        case 'V':
                printf("supervise %s %s\n", o->cmd, SV_VERSION);
                return -1;
        default:
                return SV_FIND_EXIT_USAGE;
        }
        return 0;
}

static int parse_args(pg_opts *o, int argc, char **argv) {
        static const struct option longopts[] = {
                { "delimiter", required_argument, NULL, 'd' },
                { "list-name", no_argument, NULL, 'l' },
                { "list-full", no_argument, NULL, 'a' },
                { "inverse", no_argument, NULL, 'v' },
                { "count", no_argument, NULL, 'c' },
                { "full", no_argument, NULL, 'f' },
                { "exact", no_argument, NULL, 'x' },
                { "ignore-case", no_argument, NULL, 'i' },
                { "newest", no_argument, NULL, 'n' },
                { "oldest", no_argument, NULL, 'o' },
                { "euid", required_argument, NULL, 'u' },
                { "uid", required_argument, NULL, 'U' },
                { "group", required_argument, NULL, 'G' },
                { "parent", required_argument, NULL, 'P' },
                { "pgroup", required_argument, NULL, 'g' },
                { "session", required_argument, NULL, 's' },
                { "terminal", required_argument, NULL, 't' },
                { "ignore-ancestors", no_argument, NULL, 'A' },
                { "echo", no_argument, NULL, 'e' },
                { "signal", required_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        char bad[8];
        int c, rc;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, o->is_pkill ? ":ecfxinou:U:G:P:g:s:t:AhV" : ":d:lavcfxinou:U:G:P:g:s:t:AhV",
                                longopts, NULL)) != -1) {
                if (c == '?')
                        return pg_error(o, "unknown option '%s'", sv_cli_bad_option(argv, bad, sizeof(bad)));
                if (c == ':')
                        return pg_error(o, "option '%s' needs a value", sv_cli_bad_option(argv, bad, sizeof(bad)));
                /* Long forms reach here whatever the short list says. */
                if (o->is_pkill ? strchr("vlad", c) != NULL : (c == 'e' || c == 'S'))
                        return pg_error(o, "option '%s' is not for this command", argv[optind - 1]);
                rc = parse_one(o, c, optarg);
                if (rc)
                        return rc;
        }
        if (argc - optind > 1)
                return pg_error(o, "only one pattern can be given, not also '%s'", argv[optind + 1]);
        if (argc - optind == 1)
                o->pattern = argv[optind];
        else if (o->criteria == 0)
                return pg_error(o, "%s", "no matching criteria specified");
        return 0;
}

/* -x anchors the regex as procps does: ^(PATTERN)$. */
static int set_regex(pg_opts *o) {
        char msg[160];
        size_t n;

        if (o->pattern && o->exact) {
                n = strlen(o->pattern) + 5;
                o->exact_re = malloc(n);
                if (!o->exact_re)
                        return SV_FIND_EXIT_FATAL;
                (void) snprintf(o->exact_re, n, "^(%s)$", o->pattern);
        }
        o->f.regex = o->exact_re ? o->exact_re : o->pattern;
        if (sv_find_filter_check(&o->f, msg, sizeof(msg)) < 0)
                return pg_error(o, "%s", msg);
        return 0;
}

static void print_matches(const pg_opts *o, sv_find_table *t) {
        size_t i, n = sv_find_count(t);
        const sv_find_proc *p;

        for (i = 0; i < n; i++) {
                p = sv_find_get(t, i);
                printf("%d", (int) p->pid);
                if (o->list_full || o->list_name) {
                        fputc(' ', stdout);
                        if (o->list_full)
                                sv_cli_find_put_cmdline(stdout, p);
                        else
                                sv_cli_find_put_name(stdout, p);
                }
                fputs(i + 1 < n ? (o->delim ? o->delim : "\n") : "\n", stdout);
        }
}

static int do_pkill(const pg_opts *o, sv_find_table *t) {
        size_t i, n = sv_find_count(t), sent = 0;
        const sv_find_proc *p;
        sv_find_status st;
        char err[128];

        sv_cli_find_raise_fd_limit(n);
        if (sv_find_signal(t, o->sig) < 0)
                return SV_FIND_EXIT_FATAL;
        for (i = 0; i < n; i++) {
                p = sv_find_get(t, i);
                sv_find_status_get(t, i, &st);
                if (st.outcome == SV_FIND_SIGNALLED) {
                        sent++;
                        if (o->echo) {
                                sv_cli_find_put_name(stdout, p);
                                printf(" killed (pid %d)\n", (int) p->pid);
                        }
                } else if (st.outcome == SV_FIND_FAILED) {
                        fprintf(stderr, "supervise pkill: killing pid %d failed: %s\n", (int) p->pid,
                                uv_strerror_r(st.err, err, sizeof(err)));
                } else if (st.outcome == SV_FIND_REFUSED) {
                        fprintf(stderr, "supervise pkill: refusing to signal %s %d\n",
                                p->kthread ? "kernel thread" : "init", (int) p->pid);
                }
        }
        if (o->count)
                printf("%zu\n", n);
        return sent ? SV_FIND_EXIT_OK : SV_FIND_EXIT_NONE;
}

/* procps' hint: a plain name longer than the kernel's 15 bytes of comm can
 * never match without -f. */
static void warn_long_name(const pg_opts *o) {
        if (!o->pattern || (o->f.flags & SV_FIND_FULL) || strlen(o->pattern) <= 15 ||
            strpbrk(o->pattern, "|["))
                return;
        fprintf(stderr, "supervise %s: a process name has at most 15 bytes, so '%s' matches none; "
                        "-f matches the command line\n", o->cmd, o->pattern);
}

static int pg_main(pg_opts *o, int argc, char **argv) {
        sv_find_table *t = NULL;
        int rc, i;

        if (o->is_pkill) {
                o->sig = take_signal_word(&argc, argv);
                if (o->sig < 0)
                        o->sig = SIGTERM;
        }
        rc = parse_args(o, argc, argv);
        if (rc == 0)
                rc = set_regex(o);
        if (rc)
                goto out;
        if (o->count || o->is_pkill || !(o->list_full))
                o->f.flags |= SV_FIND_NO_DETAILS;
        rc = sv_cli_find_scan(o->cmd, &o->f, &t);
        if (rc)
                goto out;
        if (o->is_pkill)
                rc = do_pkill(o, t);
        else if (o->count)
                printf("%zu\n", sv_find_count(t));
        else
                print_matches(o, t);
        if (!o->is_pkill)
                rc = sv_find_count(t) ? SV_FIND_EXIT_OK : SV_FIND_EXIT_NONE;
        if (!sv_find_count(t))
                warn_long_name(o);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "supervise %s: cannot write the output: %s\n", o->cmd, strerror(errno));
                rc = SV_FIND_EXIT_FATAL;
        }
        sv_find_table_free(t);
out:
        for (i = 0; i < L_COUNT; i++)
                free(o->lists[i]);
        free(o->exact_re);
        return rc < 0 ? SV_FIND_EXIT_OK : rc;
}

int sv_cli_pgrep(int argc, char **argv) {
        pg_opts o = { .cmd = "pgrep" };

        return pg_main(&o, argc, argv);
}

int sv_cli_pkill(int argc, char **argv) {
        pg_opts o = { .cmd = "pkill", .is_pkill = true };

        return pg_main(&o, argc, argv);
}
