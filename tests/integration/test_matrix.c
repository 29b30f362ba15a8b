/* test_matrix.c - the scenario matrix of tree kill and timeouts, through the
 * real `supervise` binary: every worker behaviour (exits 0, exits 3, SIGSEGV,
 * ignores TERM, SIGSTOPped, tree of 100, setsid escapee, double-fork daemon)
 * times every ending (normal end, timeout, supervise gets SIGTERM, supervise
 * gets SIGKILL), once per containment mechanism (cgroup, when this machine
 * can; procwalk always). One table row per behaviour says how to run it and
 * what its report must say; each cell derives its expectation from the row
 * and the column, runs supervise, asserts the exit status, the JSON record
 * and the stderr report, then proves that nothing survives: no process, no
 * zombie, and none of the pids the worker announced on its "ready" line.
 *
 * "Normal end" for workers that never end by themselves: sv-ignore-term and
 * the tree sleep a short while and exit 0; the SIGSTOPped worker is killed by
 * the test itself (someone else's signal: cause "signaled"); the escapee and
 * the daemon leave their descendant behind when they exit 0, so the leak
 * policy (kill and report) must find and kill it.
 *
 * Workers that end at once (exit 0, exit 3, SIGSEGV) have no moment at which
 * supervise could be signalled while they run. Their signal columns send the
 * signal after the worker's record has been read (the event); the record
 * must be the normal one, and supervise either exits as it would have or
 * dies of that signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise/sv.h"
#include "svtest.h"
#include "svt_ns.h"

#define T_MS 10000
/* The guardian scans /proc a few times after supervise is SIGKILLed. */
#define REAP_MS 10000
#define TIMEOUT_ARG "300ms"
#define TIMEOUT_TEXT "0.300 s" /* TIMEOUT_ARG as the report line writes it */
#define TIMEOUT_MS 300
/* A worker that must start 100 processes before its "ready" line gets
 * longer: on a loaded machine (ASan, Valgrind, -j2 beside other suites)
 * 300 ms were not always enough, and the tree was stopped before it was
 * whole. */
#define SLOW_TIMEOUT_ARG "3s"
#define SLOW_TIMEOUT_TEXT "3.000 s"
#define SLOW_TIMEOUT_MS 3000
#define GRACE_ARG "200ms"
#define MAX_READY 128

typedef enum column {
        COL_NORMAL,
        COL_TIMEOUT,
        COL_SIGTERM,
        COL_SIGKILL,
        COL_COUNT
} column;

static const char *const column_names[COL_COUNT] = {
        "normal end", "timeout", "supervise gets SIGTERM", "supervise gets SIGKILL",
};

/* What a worker's record and supervise's exit status must say. */
typedef struct expect {
        int code;
        const char *signal;      /* NULL: JSON null */
        const char *cause;
        int step;                /* 0: JSON null */
        const char *step_signal; /* NULL: JSON null */
        bool timed_out;
        bool leaks_ready_pid;    /* "leaked" is exactly the pid of the ready line */
        int status;              /* supervise's exit status */
} expect;

typedef struct behaviour {
        const char *name;
        const char *worker;
        const char *end_args[3];  /* arguments for "normal end" */
        const char *live_args[3]; /* arguments when it must outlive the cell's event */
        int nready;               /* pids on its "ready" line; 0: none, it ends at once */
        bool ready_is_worker;     /* that pid is the worker itself */
        bool test_kills_worker;   /* normal end: the test SIGCONTs and SIGKILLs it */
        expect normal;
        int stop_code;            /* how the ladder (TERM, grace, KILL) ends it */
        int stop_step;
        bool slow_start;          /* the timeout column uses SLOW_TIMEOUT_* */
} behaviour;

enum { B_EXIT0, B_EXIT3, B_SEGV, B_IGNTERM, B_SIGSTOP, B_TREE, B_ESCAPEE, B_DAEMON, B_COUNT };

static const behaviour behaviours[B_COUNT] = {
        [B_EXIT0] = {
                .name = "exits 0", .worker = "sv-exit",
                .end_args = { "0" }, .live_args = { "0" },
                .normal = { .code = 0, .cause = "exited", .status = 0 },
        },
        [B_EXIT3] = {
                .name = "exits 3", .worker = "sv-exit",
                .end_args = { "3" }, .live_args = { "3" },
                .normal = { .code = 3, .cause = "exited", .status = 3 },
        },
        [B_SEGV] = {
                .name = "SIGSEGV", .worker = "sv-crash",
                .end_args = { "SEGV" }, .live_args = { "SEGV" },
                .normal = { .code = -SIGSEGV, .signal = "SIGSEGV", .cause = "signaled",
                            .status = 128 + SIGSEGV },
        },
        [B_IGNTERM] = {
                .name = "ignores TERM", .worker = "sv-ignore-term",
                .end_args = { "200" }, .live_args = { "forever" },
                .nready = 1, .ready_is_worker = true,
                .normal = { .code = 0, .cause = "exited", .status = 0 },
                .stop_code = -SIGKILL, .stop_step = 2,
        },
        [B_SIGSTOP] = {
                .name = "SIGSTOPped", .worker = "sv-sigstop",
                .nready = 1, .ready_is_worker = true, .test_kills_worker = true,
                .normal = { .code = -SIGKILL, .signal = "SIGKILL", .cause = "signaled",
                            .status = 128 + SIGKILL },
                /* Stopped: the stop must SIGCONT it for TERM to act. */
                .stop_code = -SIGTERM, .stop_step = 1,
        },
        [B_TREE] = {
                .name = "tree of 100", .worker = "sv-tree",
                .end_args = { "100", "300" }, .live_args = { "100", "forever" },
                .nready = 100,
                .normal = { .code = 0, .cause = "exited", .status = 0 },
                .stop_code = -SIGTERM, .stop_step = 1, .slow_start = true,
        },
        [B_ESCAPEE] = {
                .name = "setsid escapee", .worker = "sv-setsid-escapee",
                .end_args = { "forever", "exit" }, .live_args = { "forever" },
                .nready = 1,
                .normal = { .code = 0, .cause = "exited", .leaks_ready_pid = true, .status = 0 },
                .stop_code = -SIGTERM, .stop_step = 1,
        },
        [B_DAEMON] = {
                .name = "double-fork daemon", .worker = "sv-daemon",
                .end_args = { "forever", "exit" }, .live_args = { "forever" },
                .nready = 1,
                .normal = { .code = 0, .cause = "exited", .leaks_ready_pid = true, .status = 0 },
                .stop_code = -SIGTERM, .stop_step = 1,
        },
};

typedef struct cell {
        const behaviour *b;
        column col;
        char name[96];
} cell;

static cell cells[B_COUNT * COL_COUNT];

/* The group's mechanism, and whether this machine has it. */
static const char *mechanism;
static bool mechanism_missing;
/* cgroup v2 is writable here but supervise refused --mechanism cgroup: its
 * stderr, to fail each cgroup cell with. */
static char *cgroup_refused;

/* What a cell holds, for teardown to release even when an assertion has
 * left the cell half-way (so a failure is not also reported as a leak). */
typedef struct fixture {
        svt_proc sup; /* the supervise of this cell, until reaped */
        char *rest, *err_text, *rec_line; /* malloc'd */
} fixture;

static fixture fx;

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        svt_proc_init(&fx.sup);
        return 0;
}

static int teardown(void **state) {
        char why[2048];

        (void) state;
        /* The guardian of a supervise killed here ends its trees; whatever
         * is left, the reap below kills. */
        svt_proc_release(&fx.sup, T_MS);
        free(fx.rest);
        free(fx.err_text);
        free(fx.rec_line);
        if (svt_reap_children(REAP_MS, why, sizeof(why)) != 0) {
                fprintf(stderr, "teardown: survivors: %s\n", why);
                return -1;
        }
        return 0;
}

/* ---- Expectations ---- */

/* The record the cell must produce. Returns false if it must produce none
 * (supervise is SIGKILLed while the worker lives). */
static bool cell_expect(const cell *c, expect *out) {
        const behaviour *b = c->b;
        int sig = b->stop_code < 0 ? -b->stop_code : 0;

        if (b->nready == 0 || c->col == COL_NORMAL) {
                /* Ends at once, whatever comes later; or ends by itself. */
                *out = b->normal;
                return true;
        }
        if (c->col == COL_SIGKILL)
                return false;
        memset(out, 0, sizeof(*out));
        out->code = b->stop_code;
        out->signal = sv_signal_name(sig);
        out->step = b->stop_step;
        out->step_signal = sv_signal_name(sig);
        if (c->col == COL_TIMEOUT) {
                out->cause = "timeout";
                out->timed_out = true;
                out->status = 124;
        } else {
                out->cause = "stopped";
                out->status = 128 + SIGTERM;
        }
        return true;
}

/* ---- Records ---- */

static const char *str_or_null(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool same_str(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Checks the record against `e`; fails the test with the whole record. */
static void check_record(const cell *c, const char *line, const expect *e, const pid_t *ready,
                         int nready) {
        json_error_t jerr;
        json_t *o, *leaked, *step, *l0;
        const char *why = NULL;
        bool leaks_ok;

        o = json_loads(line, 0, &jerr);
        if (!o)
                fail_msg("%s: not JSON (%s): %s", c->name, jerr.text, line);
        if (!json_is_object(o)) {
                json_decref(o);
                fail_msg("%s: not a JSON object: %s", c->name, line);
        }
        leaked = json_object_get(o, "leaked");
        step = json_object_get(o, "step");
        l0 = json_array_get(leaked, 0);
        if (e->leaks_ready_pid)
                leaks_ok = json_array_size(leaked) == 1 &&
                           json_integer_value(json_object_get(l0, "pid")) == ready[0] &&
                           json_is_string(json_object_get(l0, "cmdline"));
        else
                leaks_ok = json_is_array(leaked) && json_array_size(leaked) == 0;

        if (json_integer_value(json_object_get(o, "worker")) != 0)
                why = "worker";
        else if (!json_is_integer(json_object_get(o, "code")) ||
                 json_integer_value(json_object_get(o, "code")) != e->code)
                why = "code";
        else if (!same_str(str_or_null(o, "signal"), e->signal))
                why = "signal";
        else if (!same_str(str_or_null(o, "cause"), e->cause))
                why = "cause";
        else if (json_is_true(json_object_get(o, "timed_out")) != e->timed_out)
                why = "timed_out";
        else if (e->timed_out && json_integer_value(json_object_get(o, "timeout_ms")) !=
                                         (c->b->slow_start ? SLOW_TIMEOUT_MS : TIMEOUT_MS))
                why = "timeout_ms";
        else if (e->step ? json_integer_value(step) != e->step : !json_is_null(step))
                why = "step";
        else if (!same_str(str_or_null(o, "step_signal"), e->step_signal))
                why = "step_signal";
        else if (!leaks_ok)
                why = "leaked";
        else if (!same_str(str_or_null(o, "mechanism"), mechanism))
                why = "mechanism";
        else if (json_is_true(json_object_get(o, "core_dumped")))
                why = "core_dumped";
        /* With pidns the record's pid is the worker's init, its parent. */
        else if (nready > 0 && c->b->ready_is_worker && strcmp(mechanism, "pidns") != 0 &&
                 json_integer_value(json_object_get(o, "pid")) != ready[0])
                why = "pid";
        json_decref(o);
        if (why)
                fail_msg("%s [%s]: wrong \"%s\": want code %d signal %s cause %s timed_out %d step %d "
                         "step_signal %s leaked %s; got %s",
                         c->name, mechanism, why, e->code, e->signal ? e->signal : "null", e->cause,
                         e->timed_out, e->step, e->step_signal ? e->step_signal : "null",
                         e->leaks_ready_pid ? "[ready pid]" : "[]", line);
}

/* "ready <pid> <pid>..." -> pids; returns how many. */
static int parse_ready(const char *line, pid_t *pids, int max) {
        const char *p = line + strlen("ready");
        char *end;
        int n = 0;
        long v;

        while (*p == ' ' && n < max) {
                v = strtol(p, &end, 10);
                if (end == p || v <= 1)
                        break;
                pids[n++] = (pid_t) v;
                p = end;
        }
        return n;
}

/* Reads the next line of supervise's stdout; fails at EOF or timeout. */
static char *must_read_line(const cell *c, const char *what) {
        char *line;

        /* Start records ({"event":"start",...}) come in any order with the
         * worker's own lines; the cells check exits. */
        while ((line = svt_read_line(fx.sup.out, T_MS)) != NULL &&
               strncmp(line, "{\"event\":\"start\"", 16) == 0)
                free(line);

        if (!line)
                fail_msg("%s [%s]: no %s on stdout within %d ms", c->name, mechanism, what, T_MS);
        return line;
}

/* Removes the start records from `text` in place. */
static void drop_start_records(char *text) {
        char *r = text, *w = text, *nl;
        size_t n;

        while (*r) {
                nl = strchr(r, '\n');
                n = nl ? (size_t) (nl - r) + 1 : strlen(r);
                if (strncmp(r, "{\"event\":\"start\"", 16) != 0) {
                        memmove(w, r, n);
                        w += n;
                }
                r += n;
        }
        *w = '\0';
}

/* ---- One cell ---- */

static void build_argv(const cell *c, const char **argv) {
        const behaviour *b = c->b;
        const char *const *args = c->col == COL_NORMAL ? b->end_args : b->live_args;
        int n = 0, i;

        argv[n++] = svt_cli();
        argv[n++] = "--mechanism";
        argv[n++] = mechanism;
        argv[n++] = "--json";
        argv[n++] = "-";
        argv[n++] = "--kill-after";
        argv[n++] = GRACE_ARG;
        if (c->col == COL_TIMEOUT) {
                argv[n++] = "--timeout";
                argv[n++] = b->slow_start ? SLOW_TIMEOUT_ARG : TIMEOUT_ARG;
        }
        argv[n++] = "--";
        argv[n++] = svt_worker(b->worker);
        for (i = 0; i < 3 && args[i]; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
}

/* The status supervise must end with: exited `e->status`, or, for a worker
 * that was already gone when supervise got `sig`, possibly killed by it. */
static void check_status(const cell *c, int st, const expect *e, bool have_record) {
        int sig = c->col == COL_SIGTERM ? SIGTERM : c->col == COL_SIGKILL ? SIGKILL : 0;

        if (!have_record) {
                if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
                        fail_msg("%s [%s]: supervise was SIGKILLed, wait status 0x%x", c->name,
                                 mechanism, st);
                return;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == e->status)
                return;
        if (c->b->nready == 0 && sig) {
                /* The signal came after the worker's end: supervise may have
                 * been past its signal handling, or still had it (TERM: 143). */
                if (WIFSIGNALED(st) && WTERMSIG(st) == sig)
                        return;
                if (sig == SIGTERM && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM)
                        return;
        }
        fail_msg("%s [%s]: supervise ended with wait status 0x%x (exit %d, signal %d), want exit %d",
                 c->name, mechanism, st, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0, e->status);
}

/* The stderr report names the worker's pid and says how it ended. */
static void check_report(const cell *c, const char *err, const char *rec_line, const expect *e) {
        json_t *o = json_loads(rec_line, 0, NULL);
        char head[64];
        const char *p;

        assert_non_null(o);
        (void) snprintf(head, sizeof(head), "supervise: worker 0 pid %lld: ",
                        (long long) json_integer_value(json_object_get(o, "pid")));
        json_decref(o);
        p = strstr(err, head);
        if (!p)
                fail_msg("%s [%s]: no report line '%s' in stderr:\n%s", c->name, mechanism, head, err);
        if (e->timed_out && !strstr(p, c->b->slow_start ? "timed out after " SLOW_TIMEOUT_TEXT
                                                        : "timed out after " TIMEOUT_TEXT))
                fail_msg("%s [%s]: report does not say it timed out:\n%s", c->name, mechanism, err);
        if (strcmp(e->cause, "stopped") == 0 && !strstr(p, "stopped by supervise"))
                fail_msg("%s [%s]: report does not say we stopped it:\n%s", c->name, mechanism, err);
        if (e->leaks_ready_pid && !strstr(p, "left 1 descendant running (killed)"))
                fail_msg("%s [%s]: report does not name the leak:\n%s", c->name, mechanism, err);
}

static void test_cell(void **state) {
        const cell *c = *state;
        const behaviour *b = c->b;
        const char *argv[24];
        pid_t ready[MAX_READY];
        char *line;
        bool want_record;
        expect e;
        int nready = 0, st, i;

        if (mechanism_missing)
                skip();
        if (cgroup_refused && strcmp(mechanism, "cgroup") == 0)
                fail_msg("%s: cgroup v2 is writable here, yet supervise refused --mechanism "
                         "cgroup: %s", c->name, cgroup_refused);
        want_record = cell_expect(c, &e);
        build_argv(c, argv);
        svt_proc_start(&fx.sup, argv);

        if (b->nready > 0) {
                line = must_read_line(c, "ready line");
                nready = strncmp(line, "ready ", 6) == 0 ? parse_ready(line, ready, MAX_READY) : -1;
                if (nready < 0) {
                        char copy[256];
                        (void) snprintf(copy, sizeof(copy), "%s", line);
                        free(line);
                        fail_msg("%s [%s]: want a ready line, got: %s", c->name, mechanism, copy);
                }
                free(line);
                assert_int_equal(nready, b->nready);
        } else if (c->col == COL_SIGTERM || c->col == COL_SIGKILL) {
                /* The event for a worker that ends at once: its record. */
                fx.rec_line = must_read_line(c, "record");
        }

        switch (c->col) {
        case COL_NORMAL:
                if (b->test_kills_worker) {
                        /* Stopped and unreaped: the pid is still the worker's. */
                        assert_int_equal(kill(ready[0], SIGCONT), 0);
                        assert_int_equal(kill(ready[0], SIGKILL), 0);
                }
                break;
        case COL_TIMEOUT:
                break;
        case COL_SIGTERM:
                assert_int_equal(kill(fx.sup.pid, SIGTERM), 0);
                break;
        case COL_SIGKILL:
                assert_int_equal(kill(fx.sup.pid, SIGKILL), 0);
                break;
        case COL_COUNT:
                fail();
        }

        /* Everything else on stdout, up to EOF: at most the record. EOF
         * itself says no worker holds stdout any more. */
        fx.rest = svt_read_all(fx.sup.out, T_MS);
        if (!fx.rest)
                fail_msg("%s [%s]: stdout still open after %d ms: a worker lives on", c->name,
                         mechanism, T_MS);
        (void) close(fx.sup.out);
        fx.sup.out = -1;
        drop_start_records(fx.rest);
        if (!fx.rec_line && fx.rest[0]) {
                line = strchr(fx.rest, '\n');
                fx.rec_line = strndup(fx.rest, line ? (size_t) (line - fx.rest) : strlen(fx.rest));
                assert_non_null(fx.rec_line);
                if (line && line[1])
                        fail_msg("%s [%s]: more than one record on stdout:\n%s", c->name, mechanism,
                                 fx.rest);
        } else if (fx.rest[0]) {
                fail_msg("%s [%s]: more than one record on stdout:\n%s", c->name, mechanism, fx.rest);
        }
        fx.err_text = svt_read_all(fx.sup.err, T_MS);
        assert_non_null(fx.err_text);
        (void) close(fx.sup.err);
        fx.sup.err = -1;
        st = svt_wait(fx.sup.pid, T_MS);
        assert_int_not_equal(st, -1);
        fx.sup.pid = 0;

        /* Nothing survives, whoever had to end it: supervise, its leak
         * policy, or (SIGKILL) its guardian. Fails naming any survivor. */
        svt_reap_all(REAP_MS);
        for (i = 0; i < nready; i++) {
                if (kill(ready[i], 0) == 0 || errno != ESRCH)
                        fail_msg("%s [%s]: ready pid %d still exists", c->name, mechanism,
                                 (int) ready[i]);
        }

        check_status(c, st, &e, want_record);
        if (!want_record) {
                if (fx.rec_line)
                        fail_msg("%s [%s]: SIGKILLed supervise wrote a record: %s", c->name,
                                 mechanism, fx.rec_line);
                return;
        }
        if (!fx.rec_line)
                fail_msg("%s [%s]: no record on stdout; stderr:\n%s", c->name, mechanism,
                         fx.err_text);
        check_record(c, fx.rec_line, &e, ready, nready);
        check_report(c, fx.err_text, fx.rec_line, &e);
}

/* ---- Groups ---- */

static int group_setup(void **state) {
        struct rlimit no_core = { 0, 0 };

        (void) state;
        svt_become_subreaper();
        /* sv-crash turns core dumps off itself; this is for the rest. */
        (void) setrlimit(RLIMIT_CORE, &no_core);
        return 0;
}

/* cgroup: skipped only where cgroup v2 is not writable for us
 * (svt_cgroup2_writable says why). Where it is, supervise must take
 * --mechanism cgroup: a refusal fails every cgroup cell instead of skipping
 * them, so the cells cannot pass by not running. */
static int use_cgroup(void **state) {
        const char *argv[] = { svt_cli(), "-q", "--mechanism", "cgroup", "--",
                               svt_worker("sv-exit"), "0", NULL };
        char *err = NULL, why[512];
        int st;

        group_setup(state);
        mechanism = "cgroup";
        mechanism_missing = !svt_cgroup2_writable(why, sizeof(why));
        if (mechanism_missing) {
                fprintf(stderr, "cgroup cells skipped: %s\n", why);
                return 0;
        }
        st = svt_run(argv, NULL, NULL, &err, T_MS);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                cgroup_refused = strdup(err ? err : "supervise failed\n");
        free(err);
        svt_reap_all(T_MS);
        return 0;
}

static int use_procwalk(void **state) {
        free(cgroup_refused);
        cgroup_refused = NULL;
        group_setup(state);
        mechanism = "procwalk";
        mechanism_missing = false;
        return 0;
}

/* pidns: skipped only where the kernel gives us no PID namespace; where it
 * does, supervise must take --mechanism pidns. */
static int use_pidns(void **state) {
        group_setup(state);
        mechanism = "pidns";
        mechanism_missing = !svt_pidns_allowed(false);
        return 0;
}

int main(void) {
        struct CMUnitTest tests[B_COUNT * COL_COUNT];
        int b, col, n = 0, failed = 0;

        for (b = 0; b < B_COUNT; b++) {
                for (col = 0; col < COL_COUNT; col++) {
                        cell *c = &cells[n];

                        c->b = &behaviours[b];
                        c->col = (column) col;
                        (void) snprintf(c->name, sizeof(c->name), "%s x %s", behaviours[b].name,
                                        column_names[col]);
                        memset(&tests[n], 0, sizeof(tests[n]));
                        tests[n].name = c->name;
                        tests[n].test_func = test_cell;
                        tests[n].setup_func = setup;
                        tests[n].teardown_func = teardown;
                        tests[n].initial_state = c;
                        n++;
                }
        }
        failed += cmocka_run_group_tests_name("matrix (cgroup)", tests, use_cgroup, NULL);
        failed += cmocka_run_group_tests_name("matrix (procwalk)", tests, use_procwalk, NULL);
        failed += cmocka_run_group_tests_name("matrix (pidns)", tests, use_pidns, NULL);
        return failed ? 1 : 0;
}
