/* test_pidns.c - `supervise --mechanism pidns` as an ordinary user (uid
 * 65534, through setpriv), where there is no writable cgroup: an `env -i
 * setsid` escapee dies with its worker on a timeout, on a leak, and when
 * supervise itself is SIGKILLed; exit codes and signals come through the
 * init unchanged; and auto picks pidns there. Skips only where the kernel
 * refuses uid 65534 a user and PID namespace (svt_pidns_allowed); where it
 * allows one, every check must hold. Escapees are not our children, so a
 * failing test kills any it saw before it ends. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 10000
#define MAX_ARGS 24

typedef struct fixture {
        svt_proc sup;
        char dir[64];  /* for the JSON file, writable by uid 65534 */
        char json[96];
        pid_t escapee; /* seen alive; killed at teardown if still there */
        char *out, *err;
        json_t *rec;
} fixture;

static fixture fx;

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        svt_proc_init(&fx.sup);
        if (!svt_pidns_allowed(true))
                skip();
        strcpy(fx.dir, "/tmp/test_pidns.XXXXXX");
        assert_non_null(mkdtemp(fx.dir));
        assert_int_equal(chmod(fx.dir, 0777), 0);
        snprintf(fx.json, sizeof(fx.json), "%s/run.json", fx.dir);
        return 0;
}

/* The escapee is named by its command line before it is killed, so that a
 * recycled pid is never hit. */
static void kill_escapee(void) {
        char path[64], cmd[256] = "";
        FILE *f;

        if (fx.escapee <= 1)
                return;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) fx.escapee);
        f = fopen(path, "re");
        if (!f)
                return;
        if (!fgets(cmd, sizeof(cmd), f))
                cmd[0] = '\0';
        fclose(f);
        if (strcmp(cmd, "sv-env-escapee") == 0)
                (void) kill(fx.escapee, SIGKILL);
}

static int teardown(void **state) {
        char why[1024];

        (void) state;
        svt_proc_release(&fx.sup, T_MS);
        kill_escapee();
        if (fx.dir[0]) {
                (void) unlink(fx.json);
                (void) rmdir(fx.dir);
        }
        free(fx.out);
        free(fx.err);
        json_decref(fx.rec);
        if (svt_reap_children(T_MS, why, sizeof(why)) != 0) {
                fprintf(stderr, "teardown: survivors: %s\n", why);
                return -1;
        }
        return 0;
}

/* Starts `setpriv --reuid=65534 ... supervise ARGS`; setpriv execs, so the
 * pid we hold is supervise's. */
static void start_as_nobody(const char *const args[]) {
        const char *argv[MAX_ARGS] = { "setpriv", "--reuid=65534", "--regid=65534",
                                       "--clear-groups", svt_cli() };
        int i, n = 5;

        for (i = 0; args[i]; i++) {
                assert_true(n + 1 < MAX_ARGS);
                argv[n++] = args[i];
        }
        argv[n] = NULL;
        svt_proc_start(&fx.sup, argv);
}

/* The escapee's "ready <pid>" line, then (with `alive`) that it lives. A
 * worker that exits after the line may take its escapee along before we
 * look. */
static pid_t read_escapee(bool alive) {
        char *line = svt_expect_line_prefix(fx.sup.out, "ready ", T_MS);
        pid_t pid = (pid_t) atoi(line + 6);

        free(line);
        assert_true(pid > 1);
        fx.escapee = pid;
        if (alive)
                assert_int_equal(kill(pid, 0), 0);
        return pid;
}

static int finish(void) {
        return svt_proc_finish(&fx.sup, &fx.out, &fx.err, T_MS);
}

static void assert_exit_status(int st, int want) {
        if (!WIFEXITED(st))
                fail_msg("supervise did not exit (wait status 0x%x); stderr: %s", st,
                         fx.err ? fx.err : "");
        if (WEXITSTATUS(st) != want)
                fail_msg("supervise exited %d, want %d; stderr: %s", WEXITSTATUS(st), want,
                         fx.err ? fx.err : "");
}

/* The exit record of the --json file: its line that is not an event. */
static json_t *record(void) {
        char line[8192];
        json_error_t e;
        FILE *f;

        f = fopen(fx.json, "re");
        assert_non_null(f);
        while (!fx.rec && fgets(line, sizeof(line), f)) {
                fx.rec = json_loads(line, 0, &e);
                if (!fx.rec)
                        fail_msg("bad JSON line: %s", e.text);
                if (json_object_get(fx.rec, "event")) {
                        json_decref(fx.rec);
                        fx.rec = NULL;
                }
        }
        fclose(f);
        if (!fx.rec)
                fail_msg("no exit record in %s", fx.json);
        return fx.rec;
}

static const char *rec_str(json_t *rec, const char *key) {
        const char *s = json_string_value(json_object_get(rec, key));

        assert_non_null(s);
        return s;
}

static void assert_gone(pid_t pid) {
        assert_int_equal(kill(pid, 0), -1);
        assert_int_equal(errno, ESRCH);
}

static void test_timeout_kills_env_setsid_escapee(void **state) {
        const char *args[] = { "--mechanism", "pidns", "-t", "300ms", "--json", fx.json, "--",
                               svt_worker("sv-env-escapee"), "forever", NULL };
        json_t *rec;
        pid_t esc;

        (void) state;
        start_as_nobody(args);
        esc = read_escapee(true);
        assert_exit_status(finish(), 124);
        rec = record();
        assert_string_equal(rec_str(rec, "mechanism"), "pidns");
        assert_string_equal(rec_str(rec, "cause"), "timeout");
        /* The init is reaped only once its namespace is empty. */
        assert_gone(esc);
}

static void test_leaked_env_setsid_escapee_dies_and_is_reported(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--json", fx.json, "--",
                               svt_worker("sv-env-escapee"), "forever", "exit", NULL };
        json_t *rec, *leaked;
        pid_t esc;

        (void) state;
        start_as_nobody(args);
        esc = read_escapee(false);
        assert_exit_status(finish(), 0);
        rec = record();
        assert_string_equal(rec_str(rec, "cause"), "exited");
        leaked = json_object_get(rec, "leaked");
        assert_int_equal(json_array_size(leaked), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(leaked, 0), "pid")), esc);
        assert_non_null(strstr(json_string_value(json_object_get(json_array_get(leaked, 0), "cmdline")),
                               "sv-env-escapee --escapee"));
        assert_gone(esc);
}

static void test_sigkill_of_supervise_kills_env_setsid_escapee(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--",
                               svt_worker("sv-env-escapee"), "forever", NULL };
        pid_t esc;
        int st;

        (void) state;
        start_as_nobody(args);
        esc = read_escapee(true);
        assert_int_equal(kill(fx.sup.pid, SIGKILL), 0);
        st = finish();
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        /* Nobody is left to kill it but the kernel: the init's parent-death
         * signal ends the namespace. */
        assert_int_equal(svt_wait_gone(esc, T_MS), 0);
}

static void test_sigterm_of_supervise_kills_env_setsid_escapee(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--",
                               svt_worker("sv-env-escapee"), "forever", NULL };
        pid_t esc;

        (void) state;
        start_as_nobody(args);
        esc = read_escapee(true);
        assert_int_equal(kill(fx.sup.pid, SIGTERM), 0);
        assert_exit_status(finish(), 128 + SIGTERM);
        assert_gone(esc);
}

static void test_exit_code_passes_through_init(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--json", fx.json, "--", svt_worker("sv-exit"),
                               "3", NULL };
        json_t *rec;

        (void) state;
        start_as_nobody(args);
        assert_exit_status(finish(), 3);
        rec = record();
        assert_int_equal(json_integer_value(json_object_get(rec, "code")), 3);
        assert_string_equal(rec_str(rec, "cause"), "exited");
        assert_string_equal(rec_str(rec, "mechanism"), "pidns");
}

static void test_signal_passes_through_init(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--json", fx.json, "--", svt_worker("sv-crash"),
                               "SEGV", NULL };
        json_t *rec;

        (void) state;
        start_as_nobody(args);
        assert_exit_status(finish(), 128 + SIGSEGV);
        rec = record();
        assert_int_equal(json_integer_value(json_object_get(rec, "code")), -SIGSEGV);
        assert_string_equal(rec_str(rec, "signal"), "SIGSEGV");
        assert_string_equal(rec_str(rec, "cause"), "signaled");
}

/* The worker keeps its ids inside: uid 65534 is not mapped to root. */
static void test_worker_keeps_its_uid(void **state) {
        const char *args[] = { "--mechanism", "pidns", "--", "id", "-u", NULL };

        (void) state;
        start_as_nobody(args);
        assert_exit_status(finish(), 0);
        assert_string_equal(fx.out, "65534\n");
}

/* uid 65534 has no writable cgroup here (were one delegated to it, auto
 * would rightly pick it): auto must then pick pidns, never the /proc walk,
 * and -v names what it picked. */
static void test_auto_picks_pidns_without_cgroups(void **state) {
        const char *args[] = { "-v", "--json", fx.json, "--", svt_worker("sv-exit"), "0", NULL };
        json_t *rec;

        (void) state;
        start_as_nobody(args);
        assert_exit_status(finish(), 0);
        rec = record();
        if (strcmp(rec_str(rec, "mechanism"), "cgroup") != 0) {
                assert_string_equal(rec_str(rec, "mechanism"), "pidns");
                assert_non_null(strstr(fx.err, "mechanism pidns"));
        }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_timeout_kills_env_setsid_escapee),
                T(test_leaked_env_setsid_escapee_dies_and_is_reported),
                T(test_sigkill_of_supervise_kills_env_setsid_escapee),
                T(test_sigterm_of_supervise_kills_env_setsid_escapee),
                T(test_exit_code_passes_through_init),
                T(test_signal_passes_through_init),
                T(test_worker_keeps_its_uid),
                T(test_auto_picks_pidns_without_cgroups),
        };

        return cmocka_run_group_tests_name("pidns (as uid 65534)", tests, NULL, NULL);
}
