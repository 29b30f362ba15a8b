/* test_pgrep_parity.c - `supervise pgrep` / `supervise pkill` against procps'
 * pgrep and pkill on the same process table, case by case. Three copies of
 * sv-sleep run under names unique to this run (symlinks in a temporary
 * directory), one of them in a session and process group of its own
 * (setsid), so other processes on the machine cannot interfere. Each pgrep
 * row runs both programs with the same arguments and asserts the same exit
 * status and the same output; pkill rows start fresh copies and assert the
 * same status and output and that exactly the named copy died, by the named
 * signal. Needs procps in PATH: fails, not skips, without it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svtest.h"

#define TIMEOUT_MS 10000
#define NW 3
#define MAX_ARGS 12

typedef struct fixture {
        char dir[64];
        char prefix[16];       /* unique to this run: "g<pid>" */
        char names[NW][24];    /* prefix + "a", "b", "c" */
        char links[NW][128];
        pid_t pids[NW];        /* [2] runs in its own session (setsid) */
} fixture;

static fixture *fx_global;

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Starts argv and returns once it has exec'd: the CLOEXEC pipe's write end
 * lives in the child until execve closes it (valgrind turns posix_spawn's
 * vfork into a fork, which returns earlier). */
static pid_t start(const char *const argv[]) {
        int p[2];
        pid_t pid;
        char *rest;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(svt_spawn(argv, NULL, NULL, NULL, &pid), 0);
        (void) close(p[1]);
        rest = svt_read_all(p[0], TIMEOUT_MS);
        (void) close(p[0]);
        assert_non_null(rest);
        free(rest);
        return pid;
}

/* Waits until `pid` runs under `name`: setsid(1) execs a second time, which
 * no pipe of ours sees. Polls /proc with a short backoff. */
static void wait_comm(pid_t pid, const char *name) {
        char path[64], comm[64];
        int i;

        (void) snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        for (i = 0; i < 1000; i++) {
                FILE *f = fopen(path, "re");
                bool same = false;

                assert_non_null(f);
                if (fgets(comm, sizeof(comm), f)) {
                        comm[strcspn(comm, "\n")] = '\0';
                        same = strcmp(comm, name) == 0;
                }
                (void) fclose(f);
                if (same)
                        return;
                sleep_ms(i < 10 ? 1 : 10);
        }
        fail_msg("pid %d never became '%s'", (int) pid, name);
}

/* Starts the three copies; the third through setsid(1), so it leads a
 * session and a process group of its own. */
static void start_workers(fixture *fx) {
        int i;

        for (i = 0; i < NW; i++) {
                const char *plain[] = { fx->links[i], "forever", NULL };
                const char *setsid[] = { "setsid", fx->links[i], "forever", NULL };

                fx->pids[i] = start(i == 2 ? setsid : plain);
                wait_comm(fx->pids[i], fx->names[i]);
        }
}

static void stop_workers(fixture *fx) {
        int i;

        for (i = 0; i < NW; i++) {
                if (fx->pids[i] > 0) {
                        (void) kill(fx->pids[i], SIGKILL);
                        (void) svt_wait(fx->pids[i], TIMEOUT_MS);
                        fx->pids[i] = 0;
                }
        }
}

static int setup(void **state) {
        fixture *fx = calloc(1, sizeof(*fx));
        int i;

        if (!fx)
                return -1;
        svt_become_subreaper();
        (void) snprintf(fx->dir, sizeof(fx->dir), "/tmp/svpgrep.XXXXXX");
        if (!mkdtemp(fx->dir))
                return -1;
        (void) snprintf(fx->prefix, sizeof(fx->prefix), "g%d", (int) getpid());
        for (i = 0; i < NW; i++) {
                (void) snprintf(fx->names[i], sizeof(fx->names[i]), "%s%c", fx->prefix, 'a' + i);
                (void) snprintf(fx->links[i], sizeof(fx->links[i]), "%s/%s", fx->dir, fx->names[i]);
                if (symlink(svt_worker("sv-sleep"), fx->links[i]) < 0)
                        return -1;
        }
        fx_global = fx;
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        fixture *fx = *state;
        int i;

        stop_workers(fx);
        for (i = 0; i < NW; i++)
                (void) unlink(fx->links[i]);
        (void) rmdir(fx->dir);
        svt_reap_all(TIMEOUT_MS);
        free(fx);
        return 0;
}

/* ---- Rows. ---- */

/* Argument templates: "@P" the prefix, "@a"/"@b"/"@c" a copy's name, "@A"
 * "@B" "@C" its pid, "@S" the session (= pid) of the setsid copy, "@T" our
 * pid (the copies' parent), "@U" our uid. */
typedef struct row {
        const char *what;
        bool ours_only; /* compare only lines naming one of the copies */
        const char *args[MAX_ARGS];
} row;

static const row pgrep_rows[] = {
        { "pattern", false, { "@P" } },
        { "-l", false, { "-l", "@P" } },
        { "-a", false, { "-a", "@P" } },
        { "--list-full", false, { "--list-full", "@P" } },
        { "-c", false, { "-c", "@P" } },
        { "-c, no match", false, { "-c", "@Pzz" } },
        { "-d ,", false, { "-d", ",", "@P" } },
        { "--delimiter=:", false, { "--delimiter=:", "-l", "@P" } },
        { "-n", false, { "-n", "@P" } },
        { "-o", false, { "-o", "@P" } },
        { "-x whole name", false, { "-x", "@a" } },
        { "-x prefix only", false, { "-x", "@P" } },
        { "ERE alternation", false, { "@P(a|c)$" } },
        { "ERE bracket", false, { "^@P[bc]" } },
        { "-f full command line", false, { "-f", "@b forever" } },
        { "-f -x", false, { "-f", "-x", ".*/@c forever" } },
        { "name only without -f", false, { "@b forever" } },
        { "-i", false, { "-i", "^G[0-9]+A$" } },
        { "no match", false, { "@Pzz" } },
        { "-P", false, { "-P", "@T", "@P" } },
        { "-P list", false, { "-P", "1,@T", "@P" } },
        { "-s", false, { "-s", "@S", "@P" } },
        { "-s 0", false, { "-s", "0", "@P" } },
        { "-g", false, { "-g", "@S" } },
        { "-g 0", false, { "-g", "0", "@P" } },
        { "-u uid", false, { "-u", "@U", "@P" } },
        { "-u name", false, { "-u", "root,@U", "@P" } },
        { "-U", false, { "-U", "@U", "@P" } },
        { "-G", false, { "-G", "0", "@P" } },
        { "-u nobody's uid", false, { "-u", "65534", "@P" } },
        { "-t ? (no terminal)", false, { "-t", "?", "@P" } },
        { "-t tty63", false, { "-t", "tty63", "@P" } },
        { "-n -P", false, { "-n", "-P", "@T" } },
        { "-v (copies only)", true, { "-v", "@P[ab]" } },
        { "-v -l (copies only)", true, { "-v", "-l", "^@P[bc]$" } },
        { "criteria without pattern", false, { "-P", "@T", "-x", "-o" } },
        { "-A", false, { "-A", "@P" } },
        { "no criteria", false, { NULL } },
        { "two patterns", false, { "@a", "@b" } },
        { "bad regex", false, { "@P(" } },
        { "bad option", false, { "--bogus", "@P" } },
        { "-n with -o", false, { "-n", "-o", "@P" } },
        { "unknown user", false, { "-u", "sv-no-such-user", "@P" } },
        { "bad -P", false, { "-P", "x1", "@P" } },
        { "-h", false, { "-h" } },
};

static const char *expand(const fixture *fx, const char *a, char *buf, size_t len) {
        const char *rest = a + 2;

        if (a[0] != '@' && !strstr(a, "@"))
                return a;
        if (a[0] != '@') {
                /* "^@P[bc]", ".*\/@c forever": a template after a prefix. */
                size_t k = (size_t) (strchr(a, '@') - a);
                char tail[128];

                (void) expand(fx, a + k, tail, sizeof(tail));
                (void) snprintf(buf, len, "%.*s%s", (int) k, a, tail);
                return buf;
        }
        switch (a[1]) {
        case 'P': (void) snprintf(buf, len, "%s%s", fx->prefix, rest); break;
        case 'a': case 'b': case 'c':
                (void) snprintf(buf, len, "%s%s", fx->names[a[1] - 'a'], rest);
                break;
        case 'A': case 'B': case 'C':
                (void) snprintf(buf, len, "%d%s", (int) fx->pids[a[1] - 'A'], rest);
                break;
        case 'S': (void) snprintf(buf, len, "%d%s", (int) fx->pids[2], rest); break;
        case 'T': (void) snprintf(buf, len, "%d%s", (int) getpid(), rest); break;
        case 'U': (void) snprintf(buf, len, "%d%s", (int) geteuid(), rest); break;
        default: return a;
        }
        return buf;
}

/* Runs prefix + expanded args; returns the exit status, stdout in *out. */
static int run(const fixture *fx, const char *const *prefix, const char *const *args, char **out) {
        static char bufs[MAX_ARGS][160];
        const char *argv[MAX_ARGS + 4];
        char *err = NULL;
        int n = 0, i, ws;

        for (i = 0; prefix[i]; i++)
                argv[n++] = prefix[i];
        for (i = 0; i < MAX_ARGS && args[i]; i++)
                argv[n++] = expand(fx, args[i], bufs[i], sizeof(bufs[i]));
        argv[n] = NULL;
        ws = svt_run(argv, NULL, out, &err, TIMEOUT_MS);
        free(err);
        assert_true(ws != -1 && WIFEXITED(ws));
        return WEXITSTATUS(ws);
}

/* Keeps only the lines (or -d items) that start with a copy's pid. */
static void keep_copies(const fixture *fx, char *s) {
        char *line, *save = NULL, *res = calloc(1, strlen(s) + 2);
        int i;

        assert_non_null(res);
        for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                for (i = 0; i < NW; i++) {
                        char pid[16];

                        (void) snprintf(pid, sizeof(pid), "%d", (int) fx->pids[i]);
                        if (strncmp(line, pid, strlen(pid)) == 0 &&
                            (line[strlen(pid)] == '\0' || line[strlen(pid)] == ' ')) {
                                strcat(res, line);
                                strcat(res, "\n");
                        }
                }
        }
        strcpy(s, res);
        free(res);
}

static void test_pgrep_every_row_matches_procps(void **state) {
        fixture *fx = *state;
        const char *procps[] = { "pgrep", NULL };
        const char *ours[] = { svt_cli(), "pgrep", NULL };
        int failures = 0;
        size_t i;

        start_workers(fx);
        for (i = 0; i < sizeof(pgrep_rows) / sizeof(pgrep_rows[0]); i++) {
                const row *r = &pgrep_rows[i];
                char *po = NULL, *oo = NULL;
                int ps = run(fx, procps, r->args, &po);
                int os = run(fx, ours, r->args, &oo);
                bool same_out;

                if (r->ours_only) {
                        keep_copies(fx, po);
                        keep_copies(fx, oo);
                }
                /* Usage errors and help differ in wording, not in status. */
                same_out = ps >= 2 || strcmp(r->args[0] ? r->args[0] : "", "-h") == 0 ||
                           strcmp(po, oo) == 0;
                print_message("%-28s procps %d  ours %d  output %s\n", r->what, ps, os,
                              same_out ? "same" : "DIFFERS");
                if (ps != os || !same_out) {
                        print_message("  procps: [%s]\n  ours:   [%s]\n", po, oo);
                        failures++;
                }
                free(po);
                free(oo);
        }
        stop_workers(fx);
        assert_int_equal(failures, 0);
}

/* ---- pkill: fresh copies per row, one of them named. ---- */

typedef struct kill_row {
        const char *what;
        const char *args[MAX_ARGS];
        int victim; /* index of the copy that must die, -1: none */
        int sig;    /* the signal it must die of */
        int status; /* exit status both must give */
} kill_row;

static const kill_row pkill_rows[] = {
        { "default TERM", { "-x", "@a" }, 0, SIGTERM, 0 },
        { "-9", { "-9", "-x", "@b" }, 1, SIGKILL, 0 },
        { "-KILL", { "-KILL", "-x", "@a" }, 0, SIGKILL, 0 },
        { "-SIGKILL", { "-SIGKILL", "-x", "@a" }, 0, SIGKILL, 0 },
        { "-kill (any case)", { "-kill", "-x", "@a" }, 0, SIGKILL, 0 },
        { "-SIGNAL after the pattern", { "-x", "@c", "-INT" }, 2, SIGINT, 0 },
        { "--signal TERM", { "--signal", "TERM", "-x", "@b" }, 1, SIGTERM, 0 },
        { "--signal=USR1", { "--signal=USR1", "-x", "@a" }, 0, SIGUSR1, 0 },
        { "--signal 2", { "--signal", "2", "-x", "@a" }, 0, SIGINT, 0 },
        { "-e echo", { "-e", "-x", "@b" }, 1, SIGTERM, 0 },
        { "-c count", { "-c", "-HUP", "@Pc" }, 2, SIGHUP, 0 },
        { "-n newest", { "-n", "-USR2", "@P" }, 2, SIGUSR2, 0 },
        { "-o oldest", { "-o", "@P" }, 0, SIGTERM, 0 },
        { "-s session", { "-s", "@S" }, 2, SIGTERM, 0 },
        { "no match", { "-x", "@Pzz" }, -1, 0, 1 },
        { "-v is not pkill's", { "-v", "@P" }, -1, 0, 2 },
        { "bad signal name", { "-x", "@a", "-NOSUCH" }, -1, 0, 2 },
};

/* The signal our cleanup sends: numbered above every signal a row sends, so
 * if a row had also signalled a copy, that signal would be seen first. */
#define CLEANUP_SIG SIGPROF

static int died_of(pid_t pid) {
        int ws = svt_wait(pid, TIMEOUT_MS);

        if (ws == -1)
                fail_msg("pid %d did not end", (int) pid);
        return WIFSIGNALED(ws) ? WTERMSIG(ws) : -1;
}

/* Runs one row through `prefix` on fresh copies; returns 0 if all held. */
static int pkill_row(fixture *fx, const char *const *prefix, const kill_row *r, char **out) {
        int status, i, sig, bad = 0;

        start_workers(fx);
        status = run(fx, prefix, r->args, out);
        if (status != r->status) {
                print_message("  %s: exit %d, want %d\n", prefix[0], status, r->status);
                bad++;
        }
        for (i = 0; i < NW; i++) {
                if (i != r->victim)
                        (void) kill(fx->pids[i], CLEANUP_SIG);
                sig = died_of(fx->pids[i]);
                fx->pids[i] = 0;
                if (sig != (i == r->victim ? r->sig : CLEANUP_SIG)) {
                        print_message("  %s: copy %d died of %d\n", prefix[0], i, sig);
                        bad++;
                }
        }
        return bad;
}

/* Replaces each copy's pid in `s` by its letter: fresh copies per run. */
static void pids_to_names(char *s, const pid_t pids[NW]) {
        char pid[16], *p;
        int i;

        for (i = 0; i < NW; i++) {
                (void) snprintf(pid, sizeof(pid), "%d", (int) pids[i]);
                while ((p = strstr(s, pid)) != NULL) {
                        *p = (char) ('A' + i);
                        memmove(p + 1, p + strlen(pid), strlen(p + strlen(pid)) + 1);
                }
        }
}

static void test_pkill_every_row_matches_procps(void **state) {
        fixture *fx = *state;
        const char *procps[] = { "pkill", NULL };
        const char *ours[] = { svt_cli(), "pkill", NULL };
        int failures = 0;
        size_t i;

        for (i = 0; i < sizeof(pkill_rows) / sizeof(pkill_rows[0]); i++) {
                const kill_row *r = &pkill_rows[i];
                char *po = NULL, *oo = NULL;
                pid_t pp[NW], op[NW];
                int pb, ob;

                pb = pkill_row(fx, procps, r, &po);
                memcpy(pp, fx->pids, sizeof(pp));
                ob = pkill_row(fx, ours, r, &oo);
                memcpy(op, fx->pids, sizeof(op));
                print_message("%-28s procps %s  ours %s\n", r->what, pb ? "WRONG" : "ok", ob ? "WRONG" : "ok");
                failures += pb + ob;
                free(po);
                free(oo);
        }
        assert_int_equal(failures, 0);
}

/* -e and -c print the same text as procps (pids aside: fresh copies). */
static void test_pkill_echo_and_count_print_as_procps(void **state) {
        fixture *fx = *state;
        static const char *const rows[][4] = { { "-e", "-x", "@b", NULL }, { "-c", "@P[ab]", NULL } };
        const char *procps[] = { "pkill", NULL };
        const char *ours[] = { svt_cli(), "pkill", NULL };
        size_t i;
        int k;

        for (i = 0; i < 2; i++) {
                char *out[2] = { NULL, NULL };
                const char *const *prefix[2] = { procps, ours };

                for (k = 0; k < 2; k++) {
                        pid_t pids[NW];
                        int j;

                        start_workers(fx);
                        memcpy(pids, fx->pids, sizeof(pids));
                        assert_int_equal(run(fx, prefix[k], rows[i], &out[k]), 0);
                        for (j = 0; j < NW; j++) {
                                (void) kill(fx->pids[j], SIGKILL);
                                (void) died_of(fx->pids[j]);
                                fx->pids[j] = 0;
                        }
                        pids_to_names(out[k], pids);
                }
                print_message("%s: procps [%s] ours [%s]\n", rows[i][0], out[0], out[1]);
                assert_string_equal(out[0], out[1]);
                free(out[0]);
                free(out[1]);
        }
}

/* A difference on purpose: procps 4.0.2 takes `--signal NOSUCH` silently
 * (and then fails to send it: exit 1); ours refuses it as a usage error. */
static void test_pkill_unknown_signal_is_a_usage_error_not_a_silent_failure(void **state) {
        fixture *fx = *state;
        const char *procps[] = { "pkill", NULL };
        const char *ours[] = { svt_cli(), "pkill", NULL };
        const char *args[] = { "--signal", "NOSUCH", "-x", "@Pzz", NULL };
        char *out = NULL;

        assert_int_equal(run(fx, procps, args, &out), 1);
        free(out);
        assert_int_equal(run(fx, ours, args, &out), 2);
        free(out);
}

/* The other documented difference: procps' pgrep -f lists the shell whose
 * command line holds the pattern (its parent); ours never lists an ancestor. */
static void test_pgrep_never_lists_its_ancestors_where_procps_does(void **state) {
        fixture *fx = *state;
        char script[256], word[40];
        const char *argv[] = { "/bin/sh", "-c", script, NULL };
        char *out = NULL;
        int ws;

        (void) snprintf(word, sizeof(word), "%sancestor", fx->prefix);
        (void) snprintf(script, sizeof(script), "pgrep -f %s; echo procps=$?; %s pgrep -f %s; echo ours=$?; : %s",
                        word, svt_cli(), word, word);
        ws = svt_run(argv, NULL, &out, NULL, TIMEOUT_MS);
        assert_true(WIFEXITED(ws));
        print_message("%s", out);
        assert_non_null(strstr(out, "procps=0"));
        assert_non_null(strstr(out, "ours=1"));
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pgrep_every_row_matches_procps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pkill_every_row_matches_procps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pkill_echo_and_count_print_as_procps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pkill_unknown_signal_is_a_usage_error_not_a_silent_failure,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_pgrep_never_lists_its_ancestors_where_procps_does, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
