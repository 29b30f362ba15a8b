/* cmd_ctl.c - `supervise ctl PATH REQUEST [ARG]...`: one request to a
 * running supervisor's control socket (`supervise --control PATH`), its
 * answer as a table, or as the raw JSON lines with --json. `events` prints
 * the stream until the supervisor closes it. The protocol is
 * docs/control.md's; this file only builds requests and prints answers. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "supervise/sv_control.h"

#define EXIT_REFUSED 1

static const char ctl_usage[] =
        "Usage: supervise ctl [OPTION]... PATH REQUEST [ARG]...\n"
        "Talk to a running supervise through its control socket PATH (opened with\n"
        "'supervise --control PATH'). ID is a worker's index or 'all'.\n"
        "\n"
        "Requests:\n"
        "  list               the workers: pid, state, uptime, restarts, last exit\n"
        "  tree [ID]          each worker's processes, with their parents\n"
        "  signal ID SIG      send SIG (a name or a number) to the worker's leader,\n"
        "                     or to its whole tree with --tree\n"
        "  stop ID            stop through the ladder; no restart after it\n"
        "  restart ID         stop through the ladder, then start again\n"
        "  scale N            grow or shrink to N workers\n"
        "  pause ID           freeze (cgroup.freeze, else SIGSTOP of the tree)\n"
        "  resume ID          thaw\n"
        "  events             follow lifecycle events until supervise ends\n"
        "  shutdown           stop every worker; supervise then exits\n"
        "\n"
        "      --json         print the answers as JSON lines, as they come\n"
        "      --tree         signal: the whole process tree\n"
        "  -h, --help         show this help and exit\n"
        "\n"
        "Exit status:\n"
        "  0      the request was done\n"
        "  1      supervise refused it or it failed (one line says why)\n"
        "  125    a usage error, or no answer: the socket could not be reached,\n"
        "         was refused to us, or closed before answering\n";

typedef struct ctl_args {
        const char *path, *cmd;
        char **args;
        int nargs;
        bool json, tree;
} ctl_args;

static int ctl_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise ctl", fmt, arg);
}

static int parse_ctl(int argc, char **argv, ctl_args *a) {
        enum { OPT_JSON = 256, OPT_TREE };
        static const struct option longopts[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "tree", no_argument, NULL, OPT_TREE },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        char bad[8];
        int c;

        memset(a, 0, sizeof(*a));
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_TREE:
                        a->tree = true;
                        break;
                case 'h':
                        fputs(ctl_usage, stdout);
                        return 0;
                default:
                        return ctl_error("unknown option '%s'", sv_cli_bad_option(argv, bad, sizeof(bad)));
                }
        }
        if (argc - optind < 2)
                return ctl_error("%s", argc - optind ? "no request given" : "no socket path given");
        a->path = argv[optind];
        a->cmd = argv[optind + 1];
        a->args = argv + optind + 2;
        a->nargs = argc - optind - 2;
        return -1;
}

/* "all" or an index, as the request's "worker". */
static json_t *worker_arg(const char *s) {
        unsigned i;

        if (strcmp(s, "all") == 0)
                return json_string("all");
        if (sv_cli_parse_uint(s, 0, 1000000, &i) < 0)
                return NULL;
        return json_integer(i);
}

/* Builds the request for a->cmd; on a usage error returns NULL with *status set. */
static json_t *build_request(const ctl_args *a, int *status) {
        static const char *const by_id[] = { "stop", "restart", "pause", "resume" };
        json_t *req = json_pack("{s:i, s:s}", "id", 1, "cmd", a->cmd), *w;
        unsigned n;
        size_t i;
        int want = 0;

        *status = SV_CLI_EXIT_OWN;
        if (!req)
                return NULL;
        if (strcmp(a->cmd, "list") == 0 || strcmp(a->cmd, "events") == 0 ||
            strcmp(a->cmd, "shutdown") == 0) {
                want = 0;
        } else if (strcmp(a->cmd, "tree") == 0) {
                want = a->nargs ? 1 : 0;
        } else if (strcmp(a->cmd, "signal") == 0) {
                want = 2;
                if (a->nargs == 2 && sv_signal_parse(a->args[1]) <= 0) {
                        *status = ctl_error("invalid signal '%s'", a->args[1]);
                        goto fail;
                }
                if (a->nargs == 2)
                        (void) json_object_set_new(req, "signal", json_string(a->args[1]));
                (void) json_object_set_new(req, "tree", json_boolean(a->tree));
        } else if (strcmp(a->cmd, "scale") == 0) {
                want = 1;
                if (a->nargs == 1 && sv_cli_parse_uint(a->args[0], 0, 100000, &n) < 0) {
                        *status = ctl_error("invalid number of workers '%s' (want 0-100000)", a->args[0]);
                        goto fail;
                }
                if (a->nargs == 1)
                        (void) json_object_set_new(req, "n", json_integer(n));
        } else {
                for (i = 0; i < sizeof(by_id) / sizeof(by_id[0]) && strcmp(a->cmd, by_id[i]); i++)
                        ;
                if (i == sizeof(by_id) / sizeof(by_id[0])) {
                        *status = ctl_error("unknown request '%s'", a->cmd);
                        goto fail;
                }
                want = 1;
        }
        if (a->nargs != want) {
                *status = ctl_error("wrong number of arguments for '%s'", a->cmd);
                goto fail;
        }
        if (a->tree && strcmp(a->cmd, "signal")) {
                *status = ctl_error("%s", "--tree goes with signal only");
                goto fail;
        }
        if (want && strcmp(a->cmd, "scale")) {
                w = worker_arg(a->args[0]);
                if (!w) {
                        *status = ctl_error("invalid worker '%s' (want an index or 'all')", a->args[0]);
                        goto fail;
                }
                (void) json_object_set_new(req, "worker", w);
        }
        return req;

fail:
        json_decref(req);
        return NULL;
}

/* "1h02m", "3m05s", "4.2s": how long, for a table. */
static void fmt_duration(json_t *v, char *buf, size_t n) {
        unsigned long long ms;

        if (!json_is_integer(v)) {
                (void) snprintf(buf, n, "-");
                return;
        }
        ms = (unsigned long long) json_integer_value(v);
        if (ms >= 3600000)
                (void) snprintf(buf, n, "%lluh%02llum", ms / 3600000, ms / 60000 % 60);
        else if (ms >= 60000)
                (void) snprintf(buf, n, "%llum%02llus", ms / 60000, ms / 1000 % 60);
        else
                (void) snprintf(buf, n, "%llu.%llus", ms / 1000, ms / 100 % 10);
}

/* An exit record in a few words: "exit 0", "SIGKILL (stop)", "exit 1 (timeout)". */
static void fmt_exit(json_t *e, char *buf, size_t n) {
        json_t *sig = json_object_get(e, "signal");
        const char *cause = json_string_value(json_object_get(e, "cause"));
        int k;

        if (!json_is_object(e)) {
                (void) snprintf(buf, n, "-");
                return;
        }
        if (json_is_string(sig))
                k = snprintf(buf, n, "%s", json_string_value(sig));
        else
                k = snprintf(buf, n, "exit %lld", (long long) json_integer_value(json_object_get(e, "code")));
        if (cause && strcmp(cause, "exited") && strcmp(cause, "signaled") && k > 0 && (size_t) k < n)
                (void) snprintf(buf + k, n - (size_t) k, " (%s)", cause);
}

static void print_list(json_t *resp) {
        json_t *w, *arr = json_object_get(resp, "workers");
        char up[32], last[96], pid[16];
        size_t i;

        printf("%-7s %-8s %-9s %-8s %-9s %s\n", "WORKER", "PID", "STATE", "UPTIME", "RESTARTS", "LAST EXIT");
        json_array_foreach(arr, i, w) {
                fmt_duration(json_object_get(w, "uptime_ms"), up, sizeof(up));
                fmt_exit(json_object_get(w, "last_exit"), last, sizeof(last));
                if (json_is_integer(json_object_get(w, "pid")))
                        (void) snprintf(pid, sizeof(pid), "%lld",
                                        (long long) json_integer_value(json_object_get(w, "pid")));
                else
                        (void) snprintf(pid, sizeof(pid), "-");
                printf("%-7lld %-8s %-9s %-8s %-9lld %s\n",
                       (long long) json_integer_value(json_object_get(w, "worker")), pid,
                       json_string_value(json_object_get(w, "state")), up,
                       (long long) json_integer_value(json_object_get(w, "restarts")), last);
        }
}

/* Prints the procs whose parent is ppid, indented by depth, then theirs. */
static void print_children(json_t *procs, json_int_t ppid, int depth, char *printed) {
        json_t *p;
        size_t i;

        if (depth > 64)
                return;
        json_array_foreach(procs, i, p) {
                if (printed[i] || json_integer_value(json_object_get(p, "ppid")) != ppid)
                        continue;
                printed[i] = 1;
                printf("%*s%lld %s %s\n", 2 * depth, "", (long long) json_integer_value(json_object_get(p, "pid")),
                       json_string_value(json_object_get(p, "state")),
                       json_string_value(json_object_get(p, "comm")));
                print_children(procs, json_integer_value(json_object_get(p, "pid")), depth + 1, printed);
        }
}

static void print_tree(json_t *resp) {
        json_t *w, *procs, *p;
        size_t i, k;
        char *printed;

        json_array_foreach(json_object_get(resp, "workers"), i, w) {
                procs = json_object_get(w, "procs");
                printf("worker %lld: pid %lld\n", (long long) json_integer_value(json_object_get(w, "worker")),
                       (long long) json_integer_value(json_object_get(w, "pid")));
                printed = calloc(json_array_size(procs) + 1, 1);
                if (!printed)
                        continue;
                print_children(procs, json_integer_value(json_object_get(w, "pid")), 1, printed);
                /* Reparented to us (the subreaper) or to an init: parent shown. */
                json_array_foreach(procs, k, p) {
                        if (!printed[k])
                                printf("  %lld %s %s (parent %lld)\n",
                                       (long long) json_integer_value(json_object_get(p, "pid")),
                                       json_string_value(json_object_get(p, "state")),
                                       json_string_value(json_object_get(p, "comm")),
                                       (long long) json_integer_value(json_object_get(p, "ppid")));
                }
                free(printed);
        }
}

/* "stop: 2", "signal KILL (tree): 0 1 3", then the skipped ones. */
static void print_action(const ctl_args *a, json_t *resp) {
        json_t *v;
        size_t i;

        if (strcmp(a->cmd, "signal") == 0)
                printf("signal %s%s:", a->args[1], a->tree ? " (tree)" : "");
        else
                printf("%s:", a->cmd);
        json_array_foreach(json_object_get(resp, "workers"), i, v)
                printf(" %lld", (long long) json_integer_value(v));
        if (!json_array_size(json_object_get(resp, "workers")))
                printf(" no worker");
        printf("\n");
        json_array_foreach(json_object_get(resp, "skipped"), i, v)
                printf("  worker %lld skipped: %s\n", (long long) json_integer_value(json_object_get(v, "worker")),
                       json_string_value(json_object_get(v, "error")));
}

/* An event line: "worker 3: exit SIGKILL (stop)", "worker 3: spawn pid 42". */
static void print_event(json_t *ev) {
        const char *key, *name = json_string_value(json_object_get(ev, "event"));
        json_t *v;
        char buf[96];

        if (json_is_integer(json_object_get(ev, "worker")))
                printf("worker %lld: ", (long long) json_integer_value(json_object_get(ev, "worker")));
        printf("%s", name ? name : "?");
        json_object_foreach(ev, key, v) {
                if (!strcmp(key, "event") || !strcmp(key, "worker"))
                        continue;
                if (json_is_object(v)) {
                        fmt_exit(v, buf, sizeof(buf));
                        printf(" %s", buf);
                } else if (json_is_string(v)) {
                        printf(" %s=%s", key, json_string_value(v));
                } else if (json_is_integer(v)) {
                        printf(" %s=%lld", key, (long long) json_integer_value(v));
                } else if (json_is_boolean(v) && json_is_true(v)) {
                        printf(" %s", key);
                }
        }
        printf("\n");
}

static void print_answer(const ctl_args *a, json_t *resp) {
        if (strcmp(a->cmd, "list") == 0)
                print_list(resp);
        else if (strcmp(a->cmd, "tree") == 0)
                print_tree(resp);
        else if (strcmp(a->cmd, "scale") == 0)
                printf("size %lld\n", (long long) json_integer_value(json_object_get(resp, "size")));
        else if (strcmp(a->cmd, "shutdown") == 0)
                printf("shutting down\n");
        else if (strcmp(a->cmd, "events") != 0)
                print_action(a, resp);
}

/* Reads the answer (and, for events, the stream after it). */
static int read_answers(const ctl_args *a, FILE *in) {
        char *line = NULL;
        size_t cap = 0;
        bool answered = false;
        int status = SV_CLI_EXIT_OWN;
        json_t *o;

        while (sv_cli_getline(&line, &cap, in) > 0) {
                if (a->json)
                        fputs(line, stdout);
                o = json_loads(line, 0, NULL);
                if (!answered) {
                        answered = true;
                        if (!json_is_object(o) || !json_object_get(o, "id")) {
                                /* No id: the server refused us before reading anything. */
                                fprintf(stderr, "supervise ctl: '%s': %s\n", a->path,
                                        json_string_value(json_object_get(o, "error"))
                                                ? json_string_value(json_object_get(o, "error"))
                                                : "not an answer");
                                json_decref(o);
                                break;
                        }
                        if (!json_is_true(json_object_get(o, "ok"))) {
                                fprintf(stderr, "supervise ctl: %s: %s\n", a->cmd,
                                        json_string_value(json_object_get(o, "error")));
                                status = EXIT_REFUSED;
                                json_decref(o);
                                break;
                        }
                        status = 0;
                        if (!a->json)
                                print_answer(a, o);
                } else if (!a->json && o) {
                        print_event(o);
                }
                json_decref(o);
                if (fflush(stdout) != 0)
                        break;
                if (strcmp(a->cmd, "events") != 0)
                        break;
        }
        free(line);
        if (!answered)
                fprintf(stderr, "supervise ctl: '%s' closed the connection before answering\n", a->path);
        return status;
}

int sv_cli_ctl(int argc, char **argv) {
        ctl_args a;
        json_t *req;
        char *text;
        FILE *io;
        int fd, r, status;

        status = parse_ctl(argc, argv, &a);
        if (status >= 0)
                return status;
        req = build_request(&a, &status);
        if (!req)
                return status;
        text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        r = text ? sv_control_dial(a.path, &fd) : UV_ENOMEM;
        if (r < 0) {
                fprintf(stderr, "supervise ctl: cannot connect to '%s': %s\n", a.path, uv_strerror(r));
                free(text);
                return SV_CLI_EXIT_OWN;
        }
        io = fdopen(fd, "r+");
        if (!io || fprintf(io, "%s\n", text) < 0 || fflush(io) != 0) {
                fprintf(stderr, "supervise ctl: cannot send to '%s': %s\n", a.path, strerror(errno));
                free(text);
                if (io)
                        (void) fclose(io);
                else
                        (void) close(fd);
                return SV_CLI_EXIT_OWN;
        }
        free(text);
        status = read_answers(&a, io);
        (void) fclose(io);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "supervise ctl: cannot write to stdout: %s\n", strerror(errno));
                return SV_CLI_EXIT_OWN;
        }
        return status;
}
