/* test_find_cli.c - `supervise ps` and `supervise kill` against real
 * processes: copies of sv-sleep under unique (and hostile) names made by
 * symlinks in a temporary directory, listeners and clients on loopback, a
 * small process tree. Each test checks that the survivors are exactly the
 * unmatched processes, and leaves no process and no zombie behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svtest.h"

#define TIMEOUT_MS 10000
#define MAX_KIDS 64
#define MAX_LINKS 8

typedef struct fixture {
        char dir[64];
        char *links[MAX_LINKS];
        int nlinks;
        pid_t kids[MAX_KIDS];
        int nkids;
} fixture;

static int setup(void **state) {
        fixture *fx = calloc(1, sizeof(*fx));

        if (!fx)
                return -1;
        (void) snprintf(fx->dir, sizeof(fx->dir), "/tmp/svfind.XXXXXX");
        if (!mkdtemp(fx->dir)) {
                free(fx);
                return -1;
        }
        *state = fx;
        return 0;
}

/* Kills (SIGKILL: they are our own children, not yet reaped, so the pids
 * cannot have been recycled) whatever a failed test left, then reaps all. */
static int teardown(void **state) {
        fixture *fx = *state;
        int i;

        for (i = 0; i < fx->nkids; i++)
                if (fx->kids[i] > 0)
                        (void) kill(fx->kids[i], SIGKILL);
        /* Files first: svt_reap_all() does not return if it fails. */
        for (i = 0; i < fx->nlinks; i++) {
                (void) unlink(fx->links[i]);
                free(fx->links[i]);
        }
        (void) rmdir(fx->dir);
        free(fx);
        svt_reap_all(TIMEOUT_MS);
        return 0;
}

/* Makes <dir>/<name> a symlink to a worker: exec through it gives the
 * process that name (the kernel takes comm from the path's last part). */
static const char *link_worker(fixture *fx, const char *name, const char *worker) {
        char path[256];

        assert_true(fx->nlinks < MAX_LINKS);
        (void) snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
        assert_int_equal(symlink(svt_worker(worker), path), 0);
        fx->links[fx->nlinks] = strdup(path);
        assert_non_null(fx->links[fx->nlinks]);
        return fx->links[fx->nlinks++];
}

/* Starts argv and returns once it has exec'd: a CLOEXEC pipe's write end
 * lives in the child until execve closes it, so EOF on it is the event. (Not
 * needed with a vfork-based posix_spawn, but valgrind turns vfork into fork.) */
static pid_t start(fixture *fx, const char *const argv[], int *out_fd) {
        int p[2];
        pid_t pid;
        char *rest;

        assert_true(fx->nkids < MAX_KIDS);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(svt_spawn(argv, NULL, out_fd, NULL, &pid), 0);
        (void) close(p[1]);
        rest = svt_read_all(p[0], TIMEOUT_MS);
        (void) close(p[0]);
        assert_non_null(rest);
        free(rest);
        fx->kids[fx->nkids++] = pid;
        return pid;
}

static pid_t start_sleep(fixture *fx, const char *path) {
        const char *argv[] = { path, "forever", NULL };

        return start(fx, argv, NULL);
}

/* Starts a worker that prints "ready <pid> <n>" and returns <n>. */
static int start_ready(fixture *fx, const char *const argv[], pid_t *out_pid) {
        char *line;
        int fd, pid, n = -1;

        *out_pid = start(fx, argv, &fd);
        line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
        (void) close(fd);
        assert_int_equal(sscanf(line, "ready %d %d", &pid, &n), 2);
        assert_int_equal(pid, *out_pid);
        free(line);
        return n;
}

/* Runs `supervise ARGS...` and returns its exit code; out/err may be NULL. */
static int cli(char **out, char **err, ...) {
        const char *argv[32];
        char *o = NULL, *e = NULL;
        va_list ap;
        int n = 0, status;

        argv[n++] = svt_cli();
        va_start(ap, err);
        while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
                n++;
        va_end(ap);
        argv[n] = NULL;
        status = svt_run(argv, NULL, &o, &e, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        if (out)
                *out = o;
        else
                free(o);
        if (err)
                *err = e;
        else
                free(e);
        return WEXITSTATUS(status);
}

static void forget(fixture *fx, pid_t pid) {
        int i;

        for (i = 0; i < fx->nkids; i++)
                if (fx->kids[i] == pid)
                        fx->kids[i] = 0;
}

/* Asserts that our child `pid` was ended by `sig`, and reaps it. */
static void assert_killed_by(fixture *fx, pid_t pid, int sig) {
        int status = svt_wait(pid, TIMEOUT_MS);

        assert_int_not_equal(status, -1);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sig);
        forget(fx, pid);
}

/* Asserts that our child `pid` still runs (not even a zombie). */
static void assert_alive(pid_t pid) {
        int status;

        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
}

/* Ends a survivor ourselves: it is our unreaped child, so kill() is safe. */
static void finish(fixture *fx, pid_t pid) {
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_killed_by(fx, pid, SIGKILL);
}

static void unique(char *buf, size_t len, const char *tag) {
        (void) snprintf(buf, len, "f%d%s", (int) getpid() % 100000, tag);
}

static void assert_one_line(const char *s) {
        assert_non_null(s);
        assert_true(strlen(s) > 1);
        assert_non_null(strchr(s, '\n'));
        assert_true(strchr(s, '\n') == s + strlen(s) - 1);
}

/* ---- The seed case and plain name matching. ---- */

static void test_seed_twenty_copies_are_counted_killed_and_gone(void **state) {
        fixture *fx = *state;
        char name[32], *out;
        const char *path;
        pid_t pids[20];
        int i;

        unique(name, sizeof(name), "prog");
        path = link_worker(fx, name, "sv-sleep");
        for (i = 0; i < 20; i++)
                pids[i] = start_sleep(fx, path);

        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--count", NULL), 0);
        assert_string_equal(out, "20\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--name", name, NULL), 0);
        for (i = 0; i < 20; i++)
                assert_killed_by(fx, pids[i], SIGTERM);
        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--count", NULL), 1);
        assert_string_equal(out, "0\n");
        free(out);
}

static void test_kill_by_name_spares_every_other_name(void **state) {
        fixture *fx = *state;
        char a[32], b[32];
        const char *pa, *pb;
        pid_t ka[3], kb[2];
        int i;

        unique(a, sizeof(a), "a");
        unique(b, sizeof(b), "ab"); /* a longer name sharing the prefix */
        pa = link_worker(fx, a, "sv-sleep");
        pb = link_worker(fx, b, "sv-sleep");
        for (i = 0; i < 3; i++)
                ka[i] = start_sleep(fx, pa);
        for (i = 0; i < 2; i++)
                kb[i] = start_sleep(fx, pb);

        assert_int_equal(cli(NULL, NULL, "kill", "--name", a, "-s", "INT", NULL), 0);
        for (i = 0; i < 3; i++)
                assert_killed_by(fx, ka[i], SIGINT);
        for (i = 0; i < 2; i++) {
                assert_alive(kb[i]);
                finish(fx, kb[i]);
        }
}

static void test_regex_matches_names_and_full_matches_arguments(void **state) {
        fixture *fx = *state;
        char a[32], re[160], *out;
        const char *pa;
        const char *argv[] = { NULL, "forever", NULL };
        pid_t k;

        unique(a, sizeof(a), "rx");
        pa = link_worker(fx, a, "sv-sleep");
        argv[0] = pa;
        k = start(fx, argv, NULL);

        (void) snprintf(re, sizeof(re), "^%s$", a);
        assert_int_equal(cli(&out, NULL, "ps", "--regex", re, "--count", NULL), 0);
        assert_string_equal(out, "1\n");
        free(out);
        /* The whole command line: the directory is in argv[0] only. */
        (void) snprintf(re, sizeof(re), "%s/%s forever$", fx->dir, a);
        assert_int_equal(cli(&out, NULL, "ps", "--full", "--regex", re, "--count", NULL), 0);
        assert_string_equal(out, "1\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--full", "--regex", re, NULL), 0);
        assert_killed_by(fx, k, SIGTERM);
}

/* ---- Hostile names. ---- */

static void test_names_with_spaces_parens_and_newlines_match_exactly(void **state) {
        fixture *fx = *state;
        char evil[32], decoy[32], *out;
        const char *pe, *pd;
        json_t *root, *procs;
        json_error_t jerr;
        pid_t ke[2], kd;
        size_t i;

        /* 13 bytes: "fNNNNN) (\n x" - a fake ") (" and a line break. */
        (void) snprintf(evil, sizeof(evil), "f%d) S\n(x", (int) getpid() % 100000);
        (void) snprintf(decoy, sizeof(decoy), "f%d) S", (int) getpid() % 100000);
        pe = link_worker(fx, evil, "sv-sleep");
        pd = link_worker(fx, decoy, "sv-sleep");
        ke[0] = start_sleep(fx, pe);
        ke[1] = start_sleep(fx, pe);
        kd = start_sleep(fx, pd);

        assert_int_equal(cli(&out, NULL, "ps", "--name", evil, "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        /* The text listing escapes the newline, so each process is one line. */
        assert_int_equal(cli(&out, NULL, "ps", "--name", evil, NULL), 0);
        assert_non_null(strstr(out, ") S\\n(x"));
        assert_int_equal(strchr(strchr(strchr(out, '\n') + 1, '\n') + 1, '\n')[1], '\0');
        free(out);
        /* JSON carries the raw name. */
        assert_int_equal(cli(&out, NULL, "ps", "--name", evil, "--json", NULL), 0);
        root = json_loads(out, 0, &jerr);
        free(out);
        assert_non_null(root);
        assert_int_equal(json_integer_value(json_object_get(root, "count")), 2);
        procs = json_object_get(root, "processes");
        for (i = 0; i < json_array_size(procs); i++)
                assert_string_equal(json_string_value(json_object_get(json_array_get(procs, i), "name")), evil);
        json_decref(root);

        assert_int_equal(cli(NULL, NULL, "kill", "--name", evil, NULL), 0);
        assert_killed_by(fx, ke[0], SIGTERM);
        assert_killed_by(fx, ke[1], SIGTERM);
        assert_alive(kd);
        finish(fx, kd);
}

static void test_long_name_matches_through_argv0_basename(void **state) {
        fixture *fx = *state;
        char longname[48], other[48], prefix[16], *out;
        const char *pl, *po;
        pid_t kl, ko;

        (void) snprintf(longname, sizeof(longname), "f%05d-a-very-long-worker-name", (int) getpid() % 100000);
        (void) snprintf(other, sizeof(other), "f%05d-a-very-long-other-name", (int) getpid() % 100000);
        memcpy(prefix, longname, 15);
        prefix[15] = '\0';
        assert_memory_equal(longname, other, 15); /* same kernel name */
        pl = link_worker(fx, longname, "sv-sleep");
        po = link_worker(fx, other, "sv-sleep");
        kl = start_sleep(fx, pl);
        ko = start_sleep(fx, po);

        assert_int_equal(cli(&out, NULL, "ps", "--name", prefix, "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        assert_int_equal(cli(&out, NULL, "ps", "--name", longname, "--count", NULL), 0);
        assert_string_equal(out, "1\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--name", longname, NULL), 0);
        assert_killed_by(fx, kl, SIGTERM);
        assert_alive(ko);
        finish(fx, ko);
}

/* ---- Age, parent, user. ---- */

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
}

static void test_kill_by_age_spares_the_younger_copies(void **state) {
        fixture *fx = *state;
        char name[32], *out;
        const char *path;
        pid_t old[2], young[2];
        int i;

        unique(name, sizeof(name), "age");
        path = link_worker(fx, name, "sv-sleep");
        for (i = 0; i < 2; i++)
                old[i] = start_sleep(fx, path);
        /* Age is the one thing only time can make: let the first pair grow
         * older than the threshold, with a wide margin on both sides. */
        sleep_ms(1300);
        for (i = 0; i < 2; i++)
                young[i] = start_sleep(fx, path);

        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--younger-than", "1s", "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--name", name, "--older-than", "1s", NULL), 0);
        for (i = 0; i < 2; i++)
                assert_killed_by(fx, old[i], SIGTERM);
        for (i = 0; i < 2; i++) {
                assert_alive(young[i]);
                finish(fx, young[i]);
        }
}

/* sv-tree 4: two children with one grandchild each. */
static pid_t start_tree(fixture *fx, pid_t desc[4]) {
        const char *argv[] = { svt_worker("sv-tree"), "4", NULL };
        char *line;
        pid_t pid;
        int fd;

        pid = start(fx, argv, &fd);
        line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
        (void) close(fd);
        assert_int_equal(sscanf(line, "ready %d %d %d %d", &desc[0], &desc[1], &desc[2], &desc[3]), 4);
        free(line);
        return pid;
}

static void test_kill_by_parent_tree_ends_every_descendant_but_not_the_parent(void **state) {
        fixture *fx = *state;
        char ppid[16], *out;
        pid_t desc[4], root;
        int status;

        svt_become_subreaper();
        root = start_tree(fx, desc);
        (void) snprintf(ppid, sizeof(ppid), "%d", (int) root);

        assert_int_equal(cli(&out, NULL, "ps", "--parent", ppid, "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        assert_int_equal(cli(&out, NULL, "ps", "--parent", ppid, "--tree", "--json", NULL), 0);
        assert_non_null(strstr(out, "\"count\":4"));
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--parent", ppid, "--tree", "--wait", NULL), 0);
        /* Only the root was ours; it exits once its children are gone. */
        status = svt_wait(root, TIMEOUT_MS);
        assert_true(WIFEXITED(status) || WIFSIGNALED(status));
        forget(fx, root);
        svt_reap_all(TIMEOUT_MS);
}

/* taskkill /t: the named process and every descendant of it. */
static void test_kill_pid_tree_ends_the_process_and_every_descendant(void **state) {
        fixture *fx = *state;
        char pid[16], *out;
        pid_t desc[4], root;
        int status, i;

        svt_become_subreaper();
        root = start_tree(fx, desc);
        (void) snprintf(pid, sizeof(pid), "%d", (int) root);

        assert_int_equal(cli(&out, NULL, "kill", "--pid", pid, "--tree", "--wait", "--count", NULL), 0);
        assert_string_equal(out, "5\n");
        free(out);
        status = svt_wait(root, TIMEOUT_MS);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);
        forget(fx, root);
        svt_reap_all(TIMEOUT_MS);
        for (i = 0; i < 4; i++)
                assert_int_equal(kill(desc[i], 0), -1);
}

static void test_kill_by_parent_alone_spares_grandchildren(void **state) {
        fixture *fx = *state;
        char ppid[16], list[64], *out;
        pid_t desc[4], root;
        int status;

        svt_become_subreaper();
        root = start_tree(fx, desc);
        (void) snprintf(ppid, sizeof(ppid), "%d", (int) root);
        assert_int_equal(cli(&out, NULL, "ps", "--parent", ppid, "--tree", "--count", NULL), 0);
        assert_string_equal(out, "4\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--parent", ppid, "--wait", NULL), 0);
        status = svt_wait(root, TIMEOUT_MS);
        assert_true(WIFEXITED(status) || WIFSIGNALED(status));
        forget(fx, root);
        /* The grandchildren now belong to us (subreaper) and still run. */
        (void) snprintf(list, sizeof(list), "%d,%d,%d,%d", (int) desc[0], (int) desc[1], (int) desc[2],
                        (int) desc[3]);
        assert_int_equal(cli(&out, NULL, "ps", "--pid", list, "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        assert_int_equal(cli(&out, NULL, "kill", "--pid", list, "--json", NULL), 0);
        assert_non_null(strstr(out, "\"signalled\":2"));
        free(out);
        svt_reap_all(TIMEOUT_MS);
}

static void test_user_filter_matches_the_effective_uid(void **state) {
        fixture *fx = *state;
        char name[32], uid[16], *out;
        const char *path;
        pid_t k;

        unique(name, sizeof(name), "usr");
        path = link_worker(fx, name, "sv-sleep");
        k = start_sleep(fx, path);
        (void) snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid());
        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--user", uid, "--count", NULL), 0);
        assert_string_equal(out, "1\n");
        free(out);
        (void) snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid() + 4242);
        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--user", uid, "--count", NULL), 1);
        assert_string_equal(out, "0\n");
        free(out);
        finish(fx, k);
}

/* ---- Ports. ---- */

static void test_kill_by_port_spares_connected_clients(void **state) {
        fixture *fx = *state;
        const char *listen_argv[] = { svt_worker("sv-listen"), "0", NULL };
        const char *connect_argv[] = { svt_worker("sv-connect"), NULL, NULL };
        pid_t server, client;
        char port[16], *out;

        (void) snprintf(port, sizeof(port), "%d", start_ready(fx, listen_argv, &server));
        connect_argv[1] = port;
        (void) start_ready(fx, connect_argv, &client);

        assert_int_equal(cli(&out, NULL, "ps", "--port", port, "--count", NULL), 0);
        assert_string_equal(out, "1\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--port", port, "--wait", NULL), 0);
        assert_killed_by(fx, server, SIGTERM);
        assert_alive(client);
        finish(fx, client);
}

static void test_any_socket_includes_the_clients(void **state) {
        fixture *fx = *state;
        const char *listen_argv[] = { svt_worker("sv-listen"), "0", NULL };
        const char *connect_argv[] = { svt_worker("sv-connect"), NULL, NULL };
        pid_t server, client;
        char port[24], *out;
        int p;

        p = start_ready(fx, listen_argv, &server);
        (void) snprintf(port, sizeof(port), "%d", p);
        connect_argv[1] = port;
        (void) start_ready(fx, connect_argv, &client);
        (void) snprintf(port, sizeof(port), "%d/tcp", p);

        assert_int_equal(cli(&out, NULL, "ps", "--port", port, "--any-socket", "--count", NULL), 0);
        assert_string_equal(out, "2\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--port", port, "--any-socket", NULL), 0);
        assert_killed_by(fx, server, SIGTERM);
        assert_killed_by(fx, client, SIGTERM);
}

static void test_udp_port_matches_only_with_udp(void **state) {
        fixture *fx = *state;
        const char *listen_argv[] = { svt_worker("sv-listen"), "0", "udp", NULL };
        char port[24], *out;
        pid_t server;
        int p;

        p = start_ready(fx, listen_argv, &server);
        (void) snprintf(port, sizeof(port), "%d/tcp", p);
        assert_int_equal(cli(&out, NULL, "ps", "--port", port, "--count", NULL), 1);
        free(out);
        (void) snprintf(port, sizeof(port), "%d/udp", p);
        assert_int_equal(cli(NULL, NULL, "kill", "--port", port, NULL), 0);
        assert_killed_by(fx, server, SIGTERM);
}

/* ---- Actions: dry run, wait, escalation, JSON. ---- */

static void test_dry_run_draws_the_tree_and_signals_nothing(void **state) {
        fixture *fx = *state;
        char name[32], *out;
        const char *path;
        pid_t k[2];

        unique(name, sizeof(name), "dry");
        path = link_worker(fx, name, "sv-sleep");
        k[0] = start_sleep(fx, path);
        k[1] = start_sleep(fx, path);
        assert_int_equal(cli(&out, NULL, "kill", "--name", name, "--dry-run", NULL), 0);
        assert_non_null(strstr(out, "would send SIGTERM to 2 processes"));
        assert_non_null(strstr(out, "`- "));
        free(out);
        assert_int_equal(cli(&out, NULL, "kill", "--name", name, "--dry-run", "--json", NULL), 0);
        assert_non_null(strstr(out, "\"dry_run\":true"));
        free(out);
        assert_alive(k[0]);
        assert_alive(k[1]);
        finish(fx, k[0]);
        finish(fx, k[1]);
}

static void test_kill_after_escalates_a_term_ignorer_to_kill(void **state) {
        fixture *fx = *state;
        const char *argv[] = { NULL, "forever", NULL };
        char name[32], *out;
        pid_t k;
        int pid;

        unique(name, sizeof(name), "ign");
        argv[0] = link_worker(fx, name, "sv-ignore-term");
        {
                int fd;
                char *line;

                k = start(fx, argv, &fd);
                line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
                (void) close(fd);
                assert_int_equal(sscanf(line, "ready %d", &pid), 1);
                free(line);
        }
        assert_int_equal(cli(&out, NULL, "kill", "--name", name, "--kill-after", "100ms", "--wait", "--json", NULL),
                         0);
        assert_non_null(strstr(out, "\"escalated\":1"));
        assert_non_null(strstr(out, "\"signal\":\"SIGKILL\""));
        free(out);
        assert_killed_by(fx, k, SIGKILL);
}

static void test_wait_timeout_reports_a_survivor_as_partial_failure(void **state) {
        fixture *fx = *state;
        const char *argv[] = { NULL, "forever", NULL };
        char name[32], *err, *line;
        pid_t k;
        int fd;

        unique(name, sizeof(name), "surv");
        argv[0] = link_worker(fx, name, "sv-ignore-term");
        k = start(fx, argv, &fd);
        line = svt_expect_line_prefix(fd, "ready ", TIMEOUT_MS);
        (void) close(fd);
        free(line);
        assert_int_equal(cli(NULL, &err, "kill", "--name", name, "--wait-timeout", "150ms", NULL), 4);
        assert_non_null(strstr(err, "still alive"));
        free(err);
        assert_alive(k);
        finish(fx, k);
}

static void test_json_kill_report_lists_each_outcome(void **state) {
        fixture *fx = *state;
        char name[32], *out;
        const char *path;
        json_t *root, *procs;
        json_error_t jerr;
        pid_t k[3];
        size_t i;

        unique(name, sizeof(name), "js");
        path = link_worker(fx, name, "sv-sleep");
        for (i = 0; i < 3; i++)
                k[i] = start_sleep(fx, path);
        assert_int_equal(cli(&out, NULL, "kill", "--name", name, "--json", "--wait", NULL), 0);
        root = json_loads(out, 0, &jerr);
        free(out);
        assert_non_null(root);
        assert_int_equal(json_integer_value(json_object_get(root, "matched")), 3);
        assert_int_equal(json_integer_value(json_object_get(root, "signalled")), 3);
        assert_int_equal(json_integer_value(json_object_get(root, "still_alive")), 0);
        procs = json_object_get(root, "processes");
        for (i = 0; i < json_array_size(procs); i++) {
                json_t *p = json_array_get(procs, i);

                assert_string_equal(json_string_value(json_object_get(p, "outcome")), "signalled");
                assert_true(json_is_true(json_object_get(p, "exited")));
        }
        json_decref(root);
        for (i = 0; i < 3; i++)
                assert_killed_by(fx, k[i], SIGTERM);
}

/* Waits until `pid` runs under `name`: for a second exec (setpriv's) that
 * no pipe of ours can observe. Polls /proc with a short backoff. */
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

/* An unprivileged supervise cannot signal our (root's) child: reported,
 * counted, exit 4, and the other match is still signalled. */
static void test_permission_denied_is_reported_as_partial_failure(void **state) {
        fixture *fx = *state;
        char name[32], pids[40], *out, *err;
        const char *path, *argv[12];
        pid_t mine, theirs;
        int status;

        if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
                skip();
        unique(name, sizeof(name), "perm");
        path = link_worker(fx, name, "sv-sleep");
        mine = start_sleep(fx, path);
        {
                /* The second copy runs as nobody, so nobody may signal it. */
                const char *nobody[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                         path, "forever", NULL };

                theirs = start(fx, nobody, NULL);
        }
        wait_comm(theirs, name); /* setpriv has dropped to nobody and exec'd */
        (void) snprintf(pids, sizeof(pids), "%d,%d", (int) mine, (int) theirs);
        argv[0] = "/usr/bin/setpriv";
        argv[1] = "--reuid=65534";
        argv[2] = "--regid=65534";
        argv[3] = "--clear-groups";
        argv[4] = svt_cli();
        argv[5] = "kill";
        argv[6] = "--pid";
        argv[7] = pids;
        argv[8] = NULL;
        status = svt_run(argv, NULL, &out, &err, TIMEOUT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 4);
        assert_non_null(strstr(err, "cannot signal"));
        assert_non_null(strstr(out, "sent SIGTERM"));
        free(out);
        free(err);
        assert_killed_by(fx, theirs, SIGTERM);
        assert_alive(mine);
        finish(fx, mine);
}

/* ---- Safety and usage. ---- */

static void test_never_matches_itself_or_its_ancestors(void **state) {
        char token[64], re[80], self[16], *out;

        (void) state;
        /* The pattern is in supervise's own argv and nowhere else. */
        (void) snprintf(token, sizeof(token), "svfind-self-%d-token", (int) getpid());
        (void) snprintf(re, sizeof(re), "%s", token);
        assert_int_equal(cli(&out, NULL, "kill", "--full", "--regex", re, "--json", NULL), 1);
        assert_non_null(strstr(out, "\"matched\":0"));
        free(out);
        /* We are its parent. */
        (void) snprintf(self, sizeof(self), "%d", (int) getpid());
        assert_int_equal(cli(&out, NULL, "ps", "--pid", self, "--count", NULL), 1);
        assert_string_equal(out, "0\n");
        free(out);
        assert_int_equal(cli(NULL, NULL, "kill", "--pid", self, NULL), 1);
        svt_assert_no_children();
}

static void test_refuses_pid_zero_one_and_negative_with_one_line(void **state) {
        static const char *const bad[] = { "0", "1", "-1", "-42", "5,1" };
        char *err;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(cli(NULL, &err, "kill", "--pid", bad[i], NULL), 2);
                assert_one_line(err);
                assert_non_null(strstr(err, "refusing pid"));
                free(err);
        }
        assert_int_equal(cli(NULL, &err, "ps", "--pid", "1", NULL), 2);
        assert_one_line(err);
        free(err);
        svt_assert_no_children();
}

static void test_usage_errors_are_one_line_and_exit_2(void **state) {
        static const char *const cases[][6] = {
                { "kill", NULL },                      /* no filter at all */
                { "kill", "--name", "x", "--bogus", NULL },
                { "ps", "--name", NULL },              /* missing value */
                { "kill", "--name", "x", "-s", NULL },
                { "kill", "-s", "NOPE", "--name", "x", NULL },
                { "ps", "--older-than", "5 parsecs", NULL },
                { "ps", "--port", "70000", NULL },
                { "ps", "--full", NULL },
                { "ps", "--any-socket", NULL },
                { "ps", "--regex", "(", NULL },
                { "ps", "--user", "no-such-user-here", NULL },
                { "ps", "--wait", NULL },              /* a kill option */
                { "ps", "stray", NULL },
                { "kill", "--tree", NULL },            /* --tree is no filter */
        };
        const char *argv[8];
        char *err;
        size_t i, j;
        int status;

        (void) state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                argv[0] = svt_cli();
                for (j = 0; j < 6 && cases[i][j]; j++)
                        argv[j + 1] = cases[i][j];
                argv[j + 1] = NULL;
                status = svt_run(argv, NULL, NULL, &err, TIMEOUT_MS);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) != 2)
                        fail_msg("case %zu: exit %d, stderr: %s", i, WEXITSTATUS(status), err);
                assert_one_line(err);
                free(err);
        }
        svt_assert_no_children();
}

static void test_help_documents_the_exit_codes(void **state) {
        char *out;

        (void) state;
        assert_int_equal(cli(&out, NULL, "kill", "--help", NULL), 0);
        assert_non_null(strstr(out, "Exit status"));
        assert_non_null(strstr(out, "4 kill: partial failure"));
        free(out);
        assert_int_equal(cli(&out, NULL, "ps", "--help", NULL), 0);
        assert_non_null(strstr(out, "1 nothing matched"));
        free(out);
}

static void test_no_match_exits_1(void **state) {
        char name[48], *out;

        (void) state;
        (void) snprintf(name, sizeof(name), "nomatch%d", (int) getpid());
        assert_int_equal(cli(&out, NULL, "kill", "--name", name, NULL), 1);
        assert_string_equal(out, "");
        free(out);
        assert_int_equal(cli(&out, NULL, "ps", "--name", name, "--json", NULL), 1);
        assert_string_equal(out, "{\"count\":0,\"processes\":[]}\n");
        free(out);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_seed_twenty_copies_are_counted_killed_and_gone),
                T(test_kill_by_name_spares_every_other_name),
                T(test_regex_matches_names_and_full_matches_arguments),
                T(test_names_with_spaces_parens_and_newlines_match_exactly),
                T(test_long_name_matches_through_argv0_basename),
                T(test_kill_by_age_spares_the_younger_copies),
                T(test_kill_by_parent_tree_ends_every_descendant_but_not_the_parent),
                T(test_kill_pid_tree_ends_the_process_and_every_descendant),
                T(test_kill_by_parent_alone_spares_grandchildren),
                T(test_user_filter_matches_the_effective_uid),
                T(test_kill_by_port_spares_connected_clients),
                T(test_any_socket_includes_the_clients),
                T(test_udp_port_matches_only_with_udp),
                T(test_dry_run_draws_the_tree_and_signals_nothing),
                T(test_kill_after_escalates_a_term_ignorer_to_kill),
                T(test_wait_timeout_reports_a_survivor_as_partial_failure),
                T(test_json_kill_report_lists_each_outcome),
                T(test_permission_denied_is_reported_as_partial_failure),
                T(test_never_matches_itself_or_its_ancestors),
                T(test_refuses_pid_zero_one_and_negative_with_one_line),
                T(test_usage_errors_are_one_line_and_exit_2),
                T(test_help_documents_the_exit_codes),
                T(test_no_match_exits_1),
        };

        return cmocka_run_group_tests_name("find_cli", tests, NULL, NULL);
}
