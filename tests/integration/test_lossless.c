/* test_lossless.c - nothing is lost, or lost silently (issue 8, items 4-5).
 * Each fault is injected for real: stdout or a report on /dev/full, stdout
 * into a pipe whose reader is gone, a tiny tmpfs (as root), RLIMIT_NOFILE
 * set in the child before it runs supervise, a SIGKILL in mid-run. Output
 * with NUL bytes and invalid UTF-8 must reach every report whole; a hostile
 * command line must reach JSON whole and the terminal escaped; --json -
 * has a start record per copy. Every test waits for events (EOF, an exit, a
 * line), never sleeps, and leaves no process behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise/sv_run.h"
#include "svtest.h"

#define T_MS 60000

typedef struct fixture {
        bool mounted;
        svt_proc sup;
} fixture;

static fixture fx;

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        svt_proc_init(&fx.sup);
        if (svt_scratch_begin("/tmp/sv-lossless-XXXXXX") < 0)
                return -1;
        svt_become_subreaper();
        return 0;
}

static int teardown(void **state) {
        (void) state;
        svt_proc_release(&fx.sup, T_MS);
        if (fx.mounted)
                (void) umount2(svt_scratch_dir(), MNT_DETACH);
        return svt_scratch_end(T_MS);
}

/* How the child's stdout is set up. */
enum out_mode { OUT_PIPE, OUT_DEV_FULL, OUT_CLOSED_PIPE };

/* Runs the CLI with `args` (NULL-terminated, after the program name):
 * stdin /dev/null, stdout as `mode` says, stderr into a pipe, and with
 * RLIMIT_NOFILE set to `nofile` (soft and hard) in the child before exec if
 * it is not 0. Collects stdout (OUT_PIPE) and stderr into *out / *err
 * (kept), and returns the wait status. */
static int run_io(const char *const args[], enum out_mode mode, rlim_t nofile, char **out,
                  char **err) {
        const char *argv[40];
        int ofd[2] = { -1, -1 }, efd[2], nul, n = 0, st;
        struct pollfd p[2];
        char *text[2] = { NULL, NULL };
        size_t len[2] = { 0, 0 };
        pid_t pid;

        argv[n++] = svt_cli();
        while (*args)
                argv[n++] = *args++;
        argv[n] = NULL;
        assert_int_equal(pipe2(efd, O_CLOEXEC), 0);
        if (mode == OUT_DEV_FULL)
                ofd[1] = open("/dev/full", O_WRONLY | O_CLOEXEC);
        else
                assert_int_equal(pipe2(ofd, O_CLOEXEC), 0);
        assert_true(ofd[1] >= 0);
        if (mode == OUT_CLOSED_PIPE) {
                close(ofd[0]);
                ofd[0] = -1;
        }
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { nofile, nofile };

                nul = open("/dev/null", O_RDONLY);
                if (nul < 0 || dup2(nul, 0) < 0 || dup2(ofd[1], 1) < 0 || dup2(efd[1], 2) < 0)
                        _exit(126);
                (void) signal(SIGPIPE, SIG_DFL);
                if (nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                        /* Under valgrind, which keeps fds of its own above
                         * the limit and refuses: let a shell set it. */
                        const char *sh[44] = { "/bin/sh", "-c", "ulimit -n \"$0\" && exec \"$@\"" };
                        char num[24];
                        int k;

                        (void) snprintf(num, sizeof(num), "%llu", (unsigned long long) nofile);
                        sh[3] = num;
                        for (k = 0; argv[k]; k++)
                                sh[4 + k] = argv[k];
                        sh[4 + k] = NULL;
                        execv(sh[0], (char *const *) sh);
                        _exit(126);
                }
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(ofd[1]);
        close(efd[1]);
        p[0].fd = ofd[0];
        p[1].fd = efd[0];
        p[0].events = p[1].events = POLLIN;
        while (p[0].fd >= 0 || p[1].fd >= 0) {
                int i, r = poll(p, 2, T_MS);

                assert_true(r > 0);
                for (i = 0; i < 2; i++) {
                        char buf[4096];
                        ssize_t k;

                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        k = read(p[i].fd, buf, sizeof(buf));
                        if (k <= 0) {
                                close(p[i].fd);
                                p[i].fd = -1;
                                continue;
                        }
                        text[i] = realloc(text[i], len[i] + (size_t) k + 1);
                        assert_non_null(text[i]);
                        memcpy(text[i] + len[i], buf, (size_t) k);
                        len[i] += (size_t) k;
                        text[i][len[i]] = '\0';
                }
        }
        st = svt_wait(pid, T_MS);
        assert_int_not_equal(st, -1);
        if (!text[0])
                text[0] = strdup("");
        if (!text[1])
                text[1] = strdup("");
        svt_keep(text[0]);
        svt_keep(text[1]);
        if (out)
                *out = text[0];
        if (err)
                *err = text[1];
        return st;
}

static void assert_exit(int st, int want, const char *err) {
        if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
                fail_msg("want exit %d, got wait status 0x%x (exit %d); stderr:\n%s", want, st,
                         WIFEXITED(st) ? WEXITSTATUS(st) : -1, err ? err : "");
}

/* No raw byte that could drive a terminal: ESC, BEL, C1, invalid UTF-8. */
static void assert_terminal_safe(const char *text) {
        const unsigned char *u = (const unsigned char *) text;

        for (; *u; u++)
                if (*u == 0x1b || *u == 0x07 || *u == 0xff || *u == 0x9b)
                        fail_msg("raw byte 0x%02x reached the terminal in:\n%s", *u, text);
}

/* ---- supervise --json ---- */

static void test_json_to_dev_full_exits_125_naming_the_file(void **state) {
        const char *args[] = { "--json", "/dev/full", "--", svt_worker("sv-exit"), "0", NULL };
        char *err;
        int st;

        (void) state;
        st = run_io(args, OUT_PIPE, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "supervise: cannot write '/dev/full': No space left on device\n");
}

/* The reader is gone (EPIPE; SIGPIPE is ignored): the copy, which would run
 * for a minute, is stopped through the ladder at once and reported. */
static void test_json_into_a_closed_pipe_stops_the_copies_and_exits_125(void **state) {
        const char *args[] = { "--json", "-", "-k", "10s", "--", svt_worker("sv-sleep"), "60000", NULL };
        char *err;
        int st;

        (void) state;
        st = run_io(args, OUT_CLOSED_PIPE, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "cannot write to standard output (--json -): Broken pipe\n");
        svt_assert_contains(err, "stopped by supervise (stop); killed by SIGTERM (-15), ended at step 1 (SIGTERM)");
}

/* One start record per copy, each before its copy's exit record; exit
 * records keep their shape. */
static void test_json_has_a_start_record_per_copy_before_its_exit(void **state) {
        const char *args[] = { "-q", "-n", "3", "--json", "-", "--", svt_worker("sv-exit"), "0", NULL };
        char *out, *err, *line, *save = NULL;
        json_t *o;
        long long started[3] = { 0, 0, 0 }, pid;
        int st, nstart = 0, nexit = 0, w;

        (void) state;
        st = run_io(args, OUT_PIPE, 0, &out, &err);
        assert_exit(st, 0, err);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                o = json_loads(line, 0, NULL);
                assert_non_null(o);
                w = (int) json_integer_value(json_object_get(o, "worker"));
                pid = json_integer_value(json_object_get(o, "pid"));
                assert_true(w >= 0 && w < 3 && pid > 1);
                if (json_object_get(o, "event")) {
                        assert_string_equal(json_string_value(json_object_get(o, "event")), "start");
                        assert_string_equal(json_string_value(json_array_get(json_object_get(o, "argv"), 1)),
                                            "0");
                        assert_int_equal(started[w], 0);
                        started[w] = pid;
                        nstart++;
                } else {
                        assert_int_equal(started[w], pid);
                        assert_true(json_is_integer(json_object_get(o, "code")));
                        assert_true(json_is_array(json_object_get(o, "leaked")));
                        nexit++;
                }
                json_decref(o);
        }
        assert_int_equal(nstart, 3);
        assert_int_equal(nexit, 3);
}

static const char hostile_cmdline[] = "\xff\x1b]0;pwn\x07\x1b[2J sleep 9";

/* The leaked child's command line is invalid UTF-8 with escape sequences:
 * in JSON it is escaped (and whole in cmdline_b64), on the terminal it
 * cannot set the title or clear the screen. */
static void test_leaked_hostile_cmdline_is_escaped_not_dropped(void **state) {
        const char *args[] = { "--json", "-", "--", svt_worker("sv-hostile"), "leak", NULL };
        char *out, *err, *b64, *nl;
        json_t *o, *l;
        int st;

        (void) state;
        st = run_io(args, OUT_PIPE, 0, &out, &err);
        assert_exit(st, 0, err);
        nl = strstr(out, "\n{\"worker\"");
        assert_non_null(nl);
        o = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(o);
        assert_int_equal(json_array_size(json_object_get(o, "leaked")), 1);
        l = json_array_get(json_object_get(o, "leaked"), 0);
        assert_string_equal(json_string_value(json_object_get(l, "cmdline")),
                            "\\xFF\x1b]0;pwn\x07\x1b[2J sleep 9");
        b64 = sv_base64(hostile_cmdline, sizeof(hostile_cmdline) - 1);
        assert_string_equal(json_string_value(json_object_get(l, "cmdline_b64")), b64);
        free(b64);
        json_decref(o);
        svt_assert_contains(err, ": \\xFF\\x1B]0;pwn\\x07\\x1B[2J sleep 9\n");
        assert_terminal_safe(err);
}

/* `supervise ps` shows the same command line escaped as ps does. */
static void test_ps_escapes_a_hostile_cmdline(void **state) {
        const char *argv[] = { svt_worker("sv-hostile"), "leak", NULL };
        char pidarg[16], *out, *err, *line;
        int st;

        (void) state;
        svt_proc_start(&fx.sup, argv);
        line = svt_expect_line_prefix(fx.sup.out, "ready ", T_MS);
        (void) snprintf(pidarg, sizeof(pidarg), "%s", line + 6);
        free(line);
        assert_int_equal(svt_proc_finish(&fx.sup, &out, &err, T_MS), 0);
        free(out);
        free(err);
        {
                const char *args[] = { "ps", "--pid", pidarg, NULL };

                st = run_io(args, OUT_PIPE, 0, &out, &err);
        }
        assert_exit(st, 0, err);
        svt_assert_contains(out, "  \\xFF\\x1B]0;pwn\\x07\\x1B[2J sleep 9\n");
        assert_terminal_safe(out);
        assert_int_equal(kill((pid_t) atoi(pidarg), SIGKILL), 0);
}

/* ---- supervise run ---- */

static const char *jobs_file(const char *text) {
        const char *p = svt_tpath("jobs.txt");

        svt_write_file(p, text);
        return p;
}

static void test_run_stdout_on_dev_full_exits_125(void **state) {
        const char *args[] = { "run", "-q", "--from", NULL, NULL };
        char *err, *jobs;
        int st;

        (void) state;
        assert_true(asprintf(&jobs, "%s output\n", svt_worker("sv-hostile")) > 0);
        args[3] = jobs_file(svt_keep(jobs));
        st = run_io(args, OUT_DEV_FULL, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "supervise run: cannot write to standard output: no space left on device\n");
}

/* The first job's output meets a closed pipe: the second job, which would
 * run a minute, is stopped through the ladder and reported. */
static void test_run_stdout_into_a_closed_pipe_stops_running_jobs(void **state) {
        const char *args[] = { "run", "-j", "2", "-k", "10s", "--from", NULL, "--events", NULL, NULL };
        char *err, *jobs, *ev;
        int st;

        (void) state;
        assert_true(asprintf(&jobs, "name=out %s output\nname=long %s 60000\n", svt_worker("sv-hostile"),
                             svt_worker("sv-sleep")) > 0);
        args[6] = jobs_file(svt_keep(jobs));
        args[8] = svt_tpath("events.jsonl");
        st = run_io(args, OUT_CLOSED_PIPE, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "supervise run: cannot write to standard output: broken pipe\n");
        ev = svt_slurp(args[8], NULL);
        svt_assert_contains(ev, "\"name\":\"long\",\"attempt\":1,\"pid\":");
        svt_assert_contains(ev, "\"reason\":\"aborted\"");
        svt_assert_contains(ev, "\"event\":\"end\"");
}

static void test_run_events_on_dev_full_exits_125_before_any_job(void **state) {
        const char *args[] = { "run", "-q", "--events", "/dev/full", "--from", NULL, NULL };
        char *err, *jobs;
        int st;

        (void) state;
        assert_true(asprintf(&jobs, "%s 60000\n", svt_worker("sv-sleep")) > 0);
        args[5] = jobs_file(svt_keep(jobs));
        st = run_io(args, OUT_PIPE, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "supervise run: cannot write the events file '/dev/full': no space left on device\n");
}

/* Output with a NUL and invalid UTF-8 reaches every report whole. */
static const char bytes_out[] = "before\0after \xff\xfe end\n";

static void test_run_nul_and_invalid_utf8_reach_every_report(void **state) {
        const char *args[] = { "run", "-q", "--from", NULL, "--events", NULL, "--junit", NULL, "--tap", NULL,
                               NULL };
        char *out, *err, *jobs, *ev, *xml, *tap;
        size_t n;
        int st;

        (void) state;
        assert_true(asprintf(&jobs, "name=bytes %s output\n", svt_worker("sv-hostile")) > 0);
        args[3] = jobs_file(svt_keep(jobs));
        args[5] = svt_tpath("ev.jsonl");
        args[7] = svt_tpath("r.xml");
        args[9] = svt_tpath("r.tap");
        st = run_io(args, OUT_PIPE, 0, &out, &err);
        assert_exit(st, 1, err);
        /* The grouped output on our stdout is the job's bytes. */
        assert_int_equal(memcmp(out, bytes_out, sizeof(bytes_out) - 1), 0);
        ev = svt_slurp(args[5], NULL);
        svt_assert_contains(ev, "before\\u0000after \\\\xFF\\\\xFE end\\n");
        svt_assert_contains(ev, "err\\u0000\\\\xC0 tail\\n");
        svt_assert_contains(ev, "\"output_tail_b64\":\"");
        xml = svt_slurp(args[7], &n);
        assert_int_equal(strlen(xml), n);
        svt_assert_contains(xml, "before\\x00after \\xFF\\xFE end\n");
        svt_assert_contains(xml, "err\\x00\\xC0 tail\n");
        tap = svt_slurp(args[9], NULL);
        svt_assert_contains(tap, "before\\x00after \\\\xFF\\\\xFE end\\n");
}

/* A previous report survives a SIGKILL in mid-run: the new one is written
 * beside it and renamed into place only when complete. */
static void test_run_sigkill_keeps_the_previous_report(void **state) {
        const char *args[] = { "run", "--tag", "--from", NULL, "--junit", NULL, "--tap", NULL, NULL };
        const char *argv[12];
        char *jobs, *line, *out, *err;
        int i;

        (void) state;
        assert_true(asprintf(&jobs, "name=waits %s forever\n", svt_worker("sv-spawn-child")) > 0);
        args[3] = jobs_file(svt_keep(jobs));
        args[5] = svt_tpath("r.xml");
        args[7] = svt_tpath("r.tap");
        svt_write_file(args[5], "<old/>\n");
        svt_write_file(args[7], "old tap\n");
        argv[0] = svt_cli();
        for (i = 0; args[i]; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        svt_proc_start(&fx.sup, argv);
        line = svt_expect_line_prefix(fx.sup.out, "[waits] ready ", T_MS);
        free(line);
        assert_int_equal(kill(fx.sup.pid, SIGKILL), 0);
        (void) svt_proc_finish(&fx.sup, &out, &err, T_MS);
        free(out);
        free(err);
        assert_string_equal(svt_slurp(args[5], NULL), "<old/>\n");
        assert_string_equal(svt_slurp(args[7], NULL), "old tap\n");
}

/* A full disk while the report is written: an error naming the file, exit
 * 125, the old report as it was and no temporary file left. Needs root for
 * the tmpfs; /dev/full is the always-on variant. */
static void test_run_full_disk_keeps_the_previous_report(void **state) {
        const char *args[] = { "run", "-q", "--from", "/proc/self/nonexistent", "--junit", NULL, NULL };
        char *jobs, *err, big[8192];
        int st, fd, files = 0;
        FILE *f;

        (void) state;
        if (geteuid() != 0)
                skip();
        if (mount("tmpfs", svt_scratch_dir(), "tmpfs", 0, "size=64k,nr_inodes=64") < 0) {
                if (errno == EPERM)
                        skip(); /* root without CAP_SYS_ADMIN (a container) */
                fail_msg("mount tmpfs: %s", strerror(errno));
        }
        fx.mounted = true;
        svt_write_file(svt_tpath("old.xml"), "<old/>\n");
        /* Many jobs with long names make a report bigger than what is left. */
        f = fopen("/tmp/sv-lossless-jobs.txt", "w");
        assert_non_null(f);
        memset(big, 'x', 200);
        big[200] = '\0';
        for (st = 0; st < 400; st++)
                fprintf(f, "name=%s%d %s 0\n", big, st, svt_worker("sv-exit"));
        assert_int_equal(fclose(f), 0);
        args[3] = "/tmp/sv-lossless-jobs.txt";
        /* Fill the tmpfs but a few KiB. */
        memset(big, 'y', sizeof(big));
        for (;;) {
                char name[32];
                ssize_t w;

                (void) snprintf(name, sizeof(name), "fill%d", files++);
                fd = open(svt_tpath(name), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0)
                        break;
                w = write(fd, big, sizeof(big));
                close(fd);
                if (w < (ssize_t) sizeof(big))
                        break;
        }
        (void) unlink(svt_tpath("fill0"));
        args[5] = svt_tpath("old.xml");
        st = run_io(args, OUT_PIPE, 0, NULL, &err);
        (void) unlink("/tmp/sv-lossless-jobs.txt");
        assert_exit(st, 125, err);
        svt_assert_contains(err, "cannot write JUnit report '");
        svt_assert_contains(err, "': no space left on device (the previous report, if any, is kept)\n");
        assert_string_equal(svt_slurp(svt_tpath("old.xml"), NULL), "<old/>\n");
        assert_true(asprintf(&jobs, "ls -a '%s' | grep -c 'old.xml.tmp' >/dev/null", svt_scratch_dir()) > 0);
        assert_int_not_equal(system(svt_keep(jobs)), 0);
}

static void test_run_report_on_dev_full_exits_125(void **state) {
        const char *args[] = { "run", "-q", "--from", NULL, "--tap", "/dev/full", NULL };
        char *err, *jobs;
        int st;

        (void) state;
        assert_true(asprintf(&jobs, "%s 0\n", svt_worker("sv-exit")) > 0);
        args[3] = jobs_file(svt_keep(jobs));
        st = run_io(args, OUT_PIPE, 0, NULL, &err);
        assert_exit(st, 125, err);
        svt_assert_contains(err, "supervise run: cannot write TAP report '/dev/full': no space left on device\n");
}

/* At RLIMIT_NOFILE 32 only a few jobs fit at once: run throttles and
 * retries, and all 30 pass. */
static void test_run_throttles_at_emfile_and_every_job_passes(void **state) {
        const char *args[] = { "run", "-q", "-j", "30", "--from", NULL, NULL };
        char *err, *jobs = NULL, *line;
        size_t len = 0;
        FILE *m = open_memstream(&jobs, &len);
        int st, i;

        (void) state;
        assert_non_null(m);
        for (i = 0; i < 30; i++)
                fprintf(m, "%s 50\n", svt_worker("sv-sleep"));
        assert_int_equal(fclose(m), 0);
        args[5] = jobs_file(svt_keep(jobs));
        st = run_io(args, OUT_PIPE, 32, NULL, &err);
        assert_exit(st, 0, err);
        line = strstr(err, "supervise run: cannot start more jobs now (too many open files)");
        assert_non_null(line);
        /* Said once. */
        assert_null(strstr(line + strlen("supervise run: cannot start"), "cannot start"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_json_to_dev_full_exits_125_naming_the_file),
                T(test_json_into_a_closed_pipe_stops_the_copies_and_exits_125),
                T(test_json_has_a_start_record_per_copy_before_its_exit),
                T(test_leaked_hostile_cmdline_is_escaped_not_dropped),
                T(test_ps_escapes_a_hostile_cmdline),
                T(test_run_stdout_on_dev_full_exits_125),
                T(test_run_stdout_into_a_closed_pipe_stops_running_jobs),
                T(test_run_events_on_dev_full_exits_125_before_any_job),
                T(test_run_nul_and_invalid_utf8_reach_every_report),
                T(test_run_sigkill_keeps_the_previous_report),
                T(test_run_full_disk_keeps_the_previous_report),
                T(test_run_report_on_dev_full_exits_125),
                T(test_run_throttles_at_emfile_and_every_job_passes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
