/* test_isolate.c - `supervise run --isolate` and --keep-failed with real
 * workers: two copies of sv-fixed, which listens on one fixed port and
 * creates one fixed file name, meet at a barrier (so both hold their port
 * and file at once) and both pass with --isolate net,cwd, but collide
 * without it; --keep-failed keeps exactly the failed job's directory; tmp
 * gives each job a private /tmp with TMPDIR=/tmp and leaves nothing in
 * ours; an unprivileged supervise (uid 65534 through setpriv when we are
 * root) gets the same through a user namespace, with both the PID
 * namespace and the /proc walk mechanisms; where no namespace is allowed
 * (the SUPERVISE_ISOLATE_NO_USERNS test hook, as user.max_user_namespaces=0
 * would) it exits 125 before any job starts.
 *
 * The test's files live under /var/tmp, not /tmp, since a job with a
 * private /tmp must still reach the barrier directory. Waits are for
 * exits; nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 60000
#define MAX_ARGS 32

static int setup(void **state) {
        (void) state;
        if (svt_scratch_begin("/var/tmp/sviso.XXXXXX") < 0)
                return -1;
        /* uid 65534 writes here too (the unprivileged runs). */
        return chmod(svt_scratch_dir(), 0777);
}

static int teardown(void **state) {
        (void) state;
        return svt_scratch_end(T_MS);
}

/* ---- Helpers ---- */

/* uid 65534 reads it too. */
static void write_file(const char *path, const char *text) {
        svt_write_file(path, text);
        assert_int_equal(chmod(path, 0644), 0);
}

/* A TCP port free on the host right now: what the kernel hands out for 0. */
static int free_port(void) {
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

/* A job file of `n` copies of sv-fixed `args`, meeting at a fresh barrier
 * directory; returns its path. */
static const char *fixed_jobs(int n, const char *args) {
        const char *bar = svt_tpath("barrier");
        char *text = NULL, *more;
        int i;

        assert_true(mkdir(bar, 0777) == 0 || errno == EEXIST);
        assert_int_equal(chmod(bar, 0777), 0);
        for (i = 0; i < n; i++) {
                assert_true(asprintf(&more, "%sname=job%d %s %s -b %s %d\n", text ? text : "", i + 1,
                                     svt_worker("sv-fixed"), args, bar, n) > 0);
                free(text);
                text = more;
        }
        write_file(svt_tpath("jobs.txt"), text);
        free(text);
        return svt_tpath("jobs.txt");
}

enum { AS_US = 0, AS_NOBODY = 1 };

/* Runs `supervise run ARGS` in the test's directory with TMPDIR there
 * (and `extra`, "K=V" or NULL, in its environment), as us or as uid 65534
 * (setpriv, when we are root; not root, we are unprivileged already).
 * Returns the exit code; *err gets stderr, and the job output (stdout)
 * goes to the end of it. */
static int run_cli(int who, const char *extra, const char *const args[], char **err) {
        const char *argv[MAX_ARGS];
        char *tmpdir = NULL, *out = NULL;
        int n = 0, i, st;

        argv[n++] = "env";
        argv[n++] = "-C";
        argv[n++] = svt_scratch_dir();
        assert_true(asprintf(&tmpdir, "TMPDIR=%s", svt_scratch_dir()) > 0);
        svt_keep(tmpdir);
        argv[n++] = tmpdir;
        if (extra)
                argv[n++] = extra;
        if (who == AS_NOBODY && geteuid() == 0) {
                argv[n++] = "setpriv";
                argv[n++] = "--reuid=65534";
                argv[n++] = "--regid=65534";
                argv[n++] = "--clear-groups";
        }
        argv[n++] = svt_cli();
        argv[n++] = "run";
        for (i = 0; args[i]; i++) {
                assert_true(n + 1 < MAX_ARGS);
                argv[n++] = args[i];
        }
        argv[n] = NULL;
        st = svt_run_kept(argv, NULL, &out, err, T_MS);
        {
                char *both = NULL;

                assert_true(asprintf(&both, "%s--- stdout ---\n%s", *err, out) > 0);
                *err = svt_keep(both);
        }
        if (!WIFEXITED(st))
                fail_msg("supervise run did not exit (wait status 0x%x)", st);
        return WEXITSTATUS(st);
}

static void assert_exit(int code, int want, const char *err) {
        if (code != want)
                fail_msg("supervise run exited %d, want %d; stderr:\n%s", code, want, err);
}

/* How many entries of the test's directory start with `prefix`. */
static int count_prefixed(const char *dir, const char *prefix, char *first, size_t n) {
        struct dirent *d;
        DIR *dp = opendir(dir);
        int k = 0;

        assert_non_null(dp);
        while ((d = readdir(dp)) != NULL) {
                if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                if (k++ == 0 && first)
                        snprintf(first, n, "%s", d->d_name);
        }
        closedir(dp);
        return k;
}

/* The /tmp mounts we see: isolation must never add one here. */
static int tmp_mounts(void) {
        char *text = svt_slurp("/proc/self/mountinfo", NULL), *p = text;
        int n = 0;

        while ((p = strstr(p, " /tmp ")) != NULL) {
                n++;
                p++;
        }
        return n;
}

/* True if uid 65534 may make a network namespace inside a user namespace:
 * then the unprivileged tests must pass, not skip. */
static bool nobody_userns_allowed(void) {
        return svt_unshare_works(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS, geteuid() == 0);
}

/* ---- Tests ---- */

static void test_isolate_net_cwd_lets_fixed_port_and_file_jobs_run_together(void **state) {
        char args[64], *err = NULL;
        const char *jobs;
        int code;

        (void) state;
        snprintf(args, sizeof(args), "-p %d -f fixed.txt", free_port());
        jobs = fixed_jobs(2, args);
        code = run_cli(AS_US, NULL,
                       (const char *[]){ "-j", "2", "--isolate", "net,cwd", "--from", jobs, NULL },
                       &err);
        assert_exit(code, 0, err);
        svt_assert_contains(err, "2 passed");
        /* Each job wrote its file in a directory of its own, now gone. */
        assert_int_equal(count_prefixed(svt_scratch_dir(), "supervise-run-", NULL, 0), 0);
        assert_int_equal(count_prefixed(svt_scratch_dir(), "fixed.txt", NULL, 0), 0);
}

static void test_isolate_none_fixed_port_jobs_collide(void **state) {
        char args[64], *err = NULL;
        const char *jobs;
        int code;

        (void) state;
        snprintf(args, sizeof(args), "-p %d", free_port());
        jobs = fixed_jobs(2, args);
        code = run_cli(AS_US, NULL, (const char *[]){ "-j", "2", "--from", jobs, NULL }, &err);
        assert_exit(code, 1, err);
        svt_assert_contains(err, "1 passed, 1 failed");
        svt_assert_contains(err, "Address already in use");
}

static void test_isolate_none_fixed_file_jobs_collide(void **state) {
        char *err = NULL;
        const char *jobs;
        int code;

        (void) state;
        jobs = fixed_jobs(2, "-f fixed.txt");
        code = run_cli(AS_US, NULL, (const char *[]){ "-j", "2", "--from", jobs, NULL }, &err);
        assert_exit(code, 1, err);
        svt_assert_contains(err, "1 passed, 1 failed");
        svt_assert_contains(err, "File exists");
}

static void test_isolate_keep_failed_keeps_exactly_the_failed_jobs_dir(void **state) {
        char run[256], path[512], *err = NULL, *ev;
        const char *jobs = svt_tpath("jobs.txt");
        struct stat st;
        int code;

        (void) state;
        {
                char *text = NULL;

                assert_true(asprintf(&text, "name=ok %s -f out.txt\nname=bad %s -f out.txt -x 3\n",
                                     svt_worker("sv-fixed"), svt_worker("sv-fixed")) > 0);
                write_file(jobs, text);
                free(text);
        }
        code = run_cli(AS_US, NULL,
                       (const char *[]){ "-j", "2", "--isolate", "cwd", "--keep-failed", "--events",
                                         svt_tpath("ev.jsonl"), "--from", jobs, NULL },
                       &err);
        assert_exit(code, 1, err);
        assert_int_equal(count_prefixed(svt_scratch_dir(), "supervise-run-", run, sizeof(run)), 1);
        snprintf(path, sizeof(path), "%s/%s", svt_scratch_dir(), run);
        assert_int_equal(count_prefixed(path, "", NULL, 0), 1 + 2); /* ".", ".." and one */
        snprintf(path, sizeof(path), "%s/%s/2-bad/out.txt", svt_scratch_dir(), run);
        assert_int_equal(stat(path, &st), 0);
        snprintf(path, sizeof(path), "kept: %s/%s/2-bad", svt_scratch_dir(), run);
        svt_assert_contains(err, path);
        ev = svt_slurp(svt_tpath("ev.jsonl"), NULL);
        svt_assert_contains(ev, "\"kind\":\"workdir\"");
        svt_assert_contains(ev, path);
}

static void test_isolate_tmp_gives_each_job_a_private_tmp_with_tmpdir(void **state) {
        char args[128], probe[64], *err = NULL;
        const char *jobs;
        int code, before = tmp_mounts();

        (void) state;
        snprintf(probe, sizeof(probe), "/tmp/sv-fixed-probe.%d", (int) getpid());
        snprintf(args, sizeof(args), "-f %s -e TMPDIR=/tmp", probe);
        jobs = fixed_jobs(2, args);
        code = run_cli(AS_US, NULL,
                       (const char *[]){ "-j", "2", "--isolate", "tmp", "--from", jobs, NULL }, &err);
        assert_exit(code, 0, err);
        assert_int_equal(access(probe, F_OK), -1);
        assert_int_equal(tmp_mounts(), before);
}

/* Every mode at once as uid 65534, with `mechanism` forced (NULL: the
 * default, a PID namespace for an ordinary user). */
static void unprivileged_all_modes(const char *mechanism) {
        char args[160], probe[64], *err = NULL;
        const char *jobs;
        int code;

        if (!nobody_userns_allowed())
                skip();
        snprintf(probe, sizeof(probe), "/tmp/sv-fixed-probe.%d", (int) getpid());
        snprintf(args, sizeof(args), "-p %d -f fixed.txt -f %s -e TMPDIR=/tmp", free_port(), probe);
        jobs = fixed_jobs(2, args);
        code = run_cli(AS_NOBODY, mechanism,
                       (const char *[]){ "-j", "2", "--isolate", "net,cwd,tmp", "--from", jobs, NULL },
                       &err);
        assert_exit(code, 0, err);
        svt_assert_contains(err, "2 passed");
        assert_int_equal(access(probe, F_OK), -1);
        assert_int_equal(count_prefixed(svt_scratch_dir(), "supervise-run-", NULL, 0), 0);
}

static void test_isolate_unprivileged_uses_a_user_namespace(void **state) {
        (void) state;
        unprivileged_all_modes(NULL);
}

static void test_isolate_unprivileged_procwalk_uses_a_user_namespace(void **state) {
        (void) state;
        unprivileged_all_modes("SUPERVISE_MECHANISM=procwalk");
}

static void test_isolate_refused_exits_125_before_any_job(void **state) {
        char *err = NULL, *line_end;
        const char *jobs, *marker = svt_tpath("started");
        char job[512];
        int code;

        (void) state;
        snprintf(job, sizeof(job), "%s -f %s\n", svt_worker("sv-fixed"), marker);
        jobs = svt_tpath("jobs.txt");
        write_file(jobs, job);
        code = run_cli(AS_NOBODY, "SUPERVISE_ISOLATE_NO_USERNS=1",
                       (const char *[]){ "--isolate", "net", "--events", svt_tpath("ev.jsonl"), "--from",
                                         jobs, NULL },
                       &err);
        assert_exit(code, 125, err);
        svt_assert_contains(err, "supervise run: --isolate net: cannot make namespaces here");
        line_end = strchr(err, '\n');
        assert_non_null(line_end);
        assert_string_equal(line_end + 1, "--- stdout ---\n");
        assert_int_equal(access(marker, F_OK), -1);
        assert_string_equal(svt_slurp(svt_tpath("ev.jsonl"), NULL), "");
}

static void test_isolate_bad_words_keep_failed_alone_and_no_tmpdir_exit_125(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        char *err = NULL;

        (void) state;
        write_file(jobs, "true\n");
        assert_exit(run_cli(AS_US, NULL, (const char *[]){ "--isolate", "net,disk", "--from", jobs, NULL },
                            &err), 125, err);
        svt_assert_contains(err, "invalid --isolate 'net,disk'");
        assert_exit(run_cli(AS_US, NULL, (const char *[]){ "--isolate", "net,", "--from", jobs, NULL },
                            &err), 125, err);
        assert_exit(run_cli(AS_US, NULL, (const char *[]){ "--keep-failed", "--from", jobs, NULL }, &err),
                    125, err);
        svt_assert_contains(err, "--keep-failed needs --isolate cwd");
        assert_exit(run_cli(AS_US, "TMPDIR=/nonexistent/sv",
                            (const char *[]){ "--isolate", "cwd", "--from", jobs, NULL }, &err),
                    125, err);
        svt_assert_contains(err, "--isolate cwd: cannot make a directory in '/nonexistent/sv'");
}

/* A job file's "./prog" meant the directory supervise ran in; the fresh
 * directory must not break it. */
static void test_isolate_cwd_keeps_relative_programs_working(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        char dst[512], *err = NULL;
        int in, out;
        char buf[65536];
        ssize_t n;

        (void) state;
        snprintf(dst, sizeof(dst), "%s/sv-fixed", svt_scratch_dir());
        in = open(svt_worker("sv-fixed"), O_RDONLY | O_CLOEXEC);
        out = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        assert_true(in >= 0 && out >= 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, (size_t) n), n);
        close(in);
        assert_int_equal(close(out), 0);
        write_file(jobs, "./sv-fixed -f here.txt\n");
        assert_exit(run_cli(AS_US, NULL, (const char *[]){ "--isolate", "cwd", "--from", jobs, NULL },
                            &err), 0, err);
        assert_int_equal(count_prefixed(svt_scratch_dir(), "here.txt", NULL, 0), 0);
}

/* What a job leaves in its directory is removed without following a
 * symlink out of it, even a directory locked with mode 000. */
static void test_isolate_cwd_removal_never_follows_symlinks_out(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *outside = svt_tpath("outside");
        char *text = NULL, *err = NULL, keep_path[512];
        struct stat st;

        (void) state;
        assert_int_equal(mkdir(outside, 0777), 0);
        snprintf(keep_path, sizeof(keep_path), "%s/keep.txt", outside);
        write_file(keep_path, "keep\n");
        assert_true(asprintf(&text,
                             "sh -c 'ln -s %s link && ln -s %s file-link && mkdir -p d/e && "
                             "touch d/e/f && ln -s %s d/e/up && chmod 000 d'\n",
                             outside, keep_path, outside) > 0);
        write_file(jobs, text);
        free(text);
        assert_exit(run_cli(AS_NOBODY, NULL, (const char *[]){ "--isolate", "cwd", "--from", jobs, NULL },
                            &err), 0, err);
        assert_int_equal(stat(keep_path, &st), 0);
        assert_int_equal(count_prefixed(outside, "keep.txt", NULL, 0), 1);
        assert_int_equal(count_prefixed(svt_scratch_dir(), "supervise-run-", NULL, 0), 0);
}

/* A program that lives under /tmp (a project cloned and built there, as CI
 * runners often do) stays reachable behind --isolate tmp: the entry of the
 * old /tmp that holds it is bound back, while the job's own /tmp files stay
 * private. */
static void test_isolate_tmp_keeps_a_program_built_under_tmp(void **state) {
        char dir[] = "/tmp/sv-iso-prog.XXXXXX", prog[64], probe[64], buf[65536], *err = NULL;
        char *text = NULL;
        const char *bar = svt_tpath("barrier");
        int in, out, code;
        ssize_t n;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(prog, sizeof(prog), "%s/sv-fixed", dir);
        in = open(svt_worker("sv-fixed"), O_RDONLY | O_CLOEXEC);
        out = open(prog, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        assert_true(in >= 0 && out >= 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, (size_t) n), n);
        assert_int_equal(n, 0);
        close(in);
        assert_int_equal(close(out), 0);
        assert_true(mkdir(bar, 0777) == 0 || errno == EEXIST);
        snprintf(probe, sizeof(probe), "/tmp/sv-fixed-probe.%d", (int) getpid());
        assert_true(asprintf(&text, "name=job1 %s -f %s -e TMPDIR=/tmp -b %s 1\n", prog, probe, bar) > 0);
        write_file(svt_tpath("jobs.txt"), text);
        free(text);
        code = run_cli(AS_US, NULL, (const char *[]){ "--isolate", "tmp", "--from", svt_tpath("jobs.txt"), NULL },
                       &err);
        assert_int_equal(unlink(prog), 0);
        assert_int_equal(rmdir(dir), 0);
        assert_exit(code, 0, err);
        assert_int_equal(access(probe, F_OK), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_isolate_net_cwd_lets_fixed_port_and_file_jobs_run_together),
                T(test_isolate_none_fixed_port_jobs_collide),
                T(test_isolate_none_fixed_file_jobs_collide),
                T(test_isolate_keep_failed_keeps_exactly_the_failed_jobs_dir),
                T(test_isolate_tmp_gives_each_job_a_private_tmp_with_tmpdir),
                T(test_isolate_tmp_keeps_a_program_built_under_tmp),
                T(test_isolate_unprivileged_uses_a_user_namespace),
                T(test_isolate_unprivileged_procwalk_uses_a_user_namespace),
                T(test_isolate_refused_exits_125_before_any_job),
                T(test_isolate_bad_words_keep_failed_alone_and_no_tmpdir_exit_125),
                T(test_isolate_cwd_keeps_relative_programs_working),
                T(test_isolate_cwd_removal_never_follows_symlinks_out),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
