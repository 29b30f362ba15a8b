/* test_run_flow.c - `supervise run`'s CI options with the real binary and
 * real workers: a suite split with --shard (disjoint shards whose union is
 * the suite, also from JOB_COMPLETION_INDEX) and merged back by `report
 * merge` into the JUnit and TAP of one unsharded run; --rerun-failed picking
 * exactly the jobs that failed; --fail-fast and --max-fail starting nothing
 * after the limit; --list and --dry-run starting nothing; an empty
 * selection failing with 125; --shuffle reproducible from its seed;
 * --repeat and --until-fail counts. "Started nothing" is proved by marker
 * files that a started job would have made (sv-flaky, sv-nth), never by
 * time. Every test ends by reaping every child and failing on a survivor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 60000
#define SUITE 16

static int setup(void **state) {
        (void) state;
        return svt_scratch_begin("/tmp/svflow.XXXXXX");
}

static int teardown(void **state) {
        (void) state;
        return svt_scratch_end(T_MS);
}

/* ---- Helpers ---- */

static bool exists(const char *path) {
        struct stat st;

        return stat(path, &st) == 0;
}

static long file_size(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 ? (long) st.st_size : -1;
}

/* Runs `supervise SUB ARGS` with `env` added; returns its exit status. */
static int run_env(const char *sub, const char *const args[], const char *const env[], char **out,
                   char **err) {
        char *o = NULL, *e = NULL;
        int st = svt_run_cli(sub, args, env, &o, &e, T_MS);

        if (out)
                *out = o;
        if (err)
                *err = e;
        if (!WIFEXITED(st))
                fail_msg("supervise %s did not exit (wait status 0x%x)", sub, st);
        return WEXITSTATUS(st);
}

static int run(const char *const args[], char **out, char **err) {
        return run_env("run", args, NULL, out, err);
}

static void expect(int got, int want, const char *err) {
        if (got != want)
                fail_msg("exit status %d, want %d; stderr:\n%s", got, want, err ? err : "");
}

/* The status is known before `err`, which the call fills in, is read. */
#define EXPECT(call, want)                        \
        do {                                      \
                int st_ = (call);                 \
                expect(st_, (want), err);         \
        } while (0)

static int count_lines(const char *s) {
        int n = 0;

        for (; s && *s; s++)
                n += *s == '\n';
        return n;
}

/* Whether `line` (without its newline) is one of the lines of `text`. */
static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);
        const char *p;

        for (p = text; p && (p = strstr(p, line)) != NULL; p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

/* The job file of the suite: SUITE jobs t01..t16, t05/t10/t15 fail. */
static const char *suite_file(void) {
        char *text = NULL, *line;
        int i;

        for (i = 1; i <= SUITE; i++) {
                assert_true(asprintf(&line, "%sname=t%02d %s %d\n", text ? text : "", i,
                                     svt_worker("sv-exit"), i % 5 == 0 ? 1 : 0) > 0);
                free(text);
                text = line;
        }
        svt_write_file(svt_tpath("suite.txt"), text);
        free(text);
        return svt_tpath("suite.txt");
}

/* The value of attribute `attr` of the first <`tag` in an XML text. */
static long xml_attr(const char *xml, const char *tag, const char *attr) {
        char want[64];
        const char *p = strstr(xml, tag), *a;

        assert_non_null(p);
        (void) snprintf(want, sizeof(want), " %s=\"", attr);
        a = strstr(p, want);
        assert_non_null(a);
        return strtol(a + strlen(want), NULL, 10);
}

/* Sorted testcase names of a JUnit text, one per line. */
static char *junit_names(const char *xml) {
        char *names[256], *out = svt_keep(calloc(1, 65536)), *q;
        const char *p;
        int n = 0, i, k;

        for (p = xml; (p = strstr(p, "<testcase name=\"")) != NULL; p++) {
                p += strlen("<testcase name=\"");
                assert_true(n < 256);
                names[n++] = strndup(p, strcspn(p, "\""));
        }
        for (i = 1; i < n; i++)
                for (k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
                        q = names[k];
                        names[k] = names[k - 1];
                        names[k - 1] = q;
                }
        for (i = 0; i < n; i++) {
                strcat(out, names[i]);
                strcat(out, "\n");
                free(names[i]);
        }
        return out;
}

static int tap_count(const char *tap, const char *prefix) {
        const char *p;
        int n = 0;

        for (p = tap; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                n += strncmp(p, prefix, strlen(prefix)) == 0;
        return n;
}

/* ---- Shards and merge ---- */

/* Three shards' --list are disjoint and together the whole --list; each
 * shard's run, merged, gives the JUnit and TAP counts and names of one
 * unsharded run. */
static void test_shards_are_disjoint_and_merge_back_into_the_unsharded_report(void **state) {
        const char *suite = suite_file(), *shard_ev[3], *shard_arg[3] = { "1/3", "2/3", "3/3" };
        char *all, *part, *err, *xml, *mxml, *tap, *mtap;
        int i, k, total = 0;

        (void) state;
        EXPECT(run((const char *[]){ "--from", suite, "--list", NULL }, &all, &err), 0);
        assert_int_equal(count_lines(all), SUITE);
        for (i = 0; i < 3; i++) {
                EXPECT(run((const char *[]){ "--from", suite, "--shard", shard_arg[i], "--list",
                                             NULL }, &part, &err), 0);
                total += count_lines(part);
                /* Each name of this shard is in the suite and in no other shard. */
                for (k = 1; k <= SUITE; k++) {
                        char name[16], *other;
                        int j;

                        (void) snprintf(name, sizeof(name), "t%02d", k);
                        if (!has_line(part, name))
                                continue;
                        assert_true(has_line(all, name));
                        for (j = 0; j < 3; j++) {
                                if (j == i)
                                        continue;
                                (void) run((const char *[]){ "--from", suite, "--shard",
                                                             shard_arg[j], "--list", "--allow-empty",
                                                             NULL }, &other, &err);
                                assert_false(has_line(other, name));
                        }
                }
        }
        assert_int_equal(total, SUITE);

        EXPECT(run((const char *[]){ "--from", suite, "-q", "-j", "2", "--junit", svt_tpath("full.xml"),
                                     "--tap", svt_tpath("full.tap"), NULL }, NULL, &err), 1);
        for (i = 0; i < 3; i++) {
                char ev[32];

                (void) snprintf(ev, sizeof(ev), "shard%d.jsonl", i + 1);
                shard_ev[i] = svt_tpath(ev);
                (void) run((const char *[]){ "--from", suite, "-q", "-j", "2", "--shard", shard_arg[i],
                                             "--events", shard_ev[i], NULL }, NULL, &err);
        }
        EXPECT(run_env("report", (const char *[]){ "merge", "--junit", svt_tpath("m.xml"), "--tap",
                                                   svt_tpath("m.tap"), shard_ev[0], shard_ev[1],
                                                   shard_ev[2], NULL }, NULL, NULL, &err), 1);
        assert_string_equal(err, "");
        xml = svt_slurp(svt_tpath("full.xml"), NULL);
        mxml = svt_slurp(svt_tpath("m.xml"), NULL);
        assert_int_equal(xml_attr(mxml, "<testsuite ", "tests"), SUITE);
        assert_int_equal(xml_attr(mxml, "<testsuite ", "failures"), xml_attr(xml, "<testsuite ", "failures"));
        assert_int_equal(xml_attr(mxml, "<testsuite ", "failures"), 3);
        assert_int_equal(xml_attr(mxml, "<testsuite ", "errors"), 0);
        assert_int_equal(xml_attr(mxml, "<testsuite ", "skipped"), 0);
        assert_string_equal(junit_names(mxml), junit_names(xml));
        tap = svt_slurp(svt_tpath("full.tap"), NULL);
        mtap = svt_slurp(svt_tpath("m.tap"), NULL);
        svt_assert_contains(mtap, "1..16\n");
        assert_int_equal(tap_count(mtap, "ok "), tap_count(tap, "ok "));
        assert_int_equal(tap_count(mtap, "not ok "), tap_count(tap, "not ok "));
        assert_int_equal(tap_count(mtap, "not ok "), 3);
}

/* auto/N reads Kubernetes' 0-based JOB_COMPLETION_INDEX: index 1 is 2/N. */
static void test_shard_auto_takes_the_index_from_job_completion_index(void **state) {
        const char *suite = suite_file();
        char *byenv, *byhand, *err;

        (void) state;
        EXPECT(run_env("run", (const char *[]){ "--from", suite, "--shard", "auto/3", "--list",
                                                "--allow-empty", NULL },
                       (const char *[]){ "JOB_COMPLETION_INDEX=1", NULL }, &byenv, &err), 0);
        EXPECT(run((const char *[]){ "--from", suite, "--shard", "2/3", "--list", "--allow-empty",
                                     NULL }, &byhand, &err), 0);
        assert_string_equal(byenv, byhand);
        EXPECT(run_env("run", (const char *[]){ "--from", suite, "--shard", "auto/3", "--list", NULL },
                       (const char *[]){ "JOB_COMPLETION_INDEX=3", NULL }, NULL, &err), 125);
        svt_assert_contains(err, "JOB_COMPLETION_INDEX '3'");
}

/* The same name in two shards' files is reported once, with the worse
 * verdict, and said; a missing shard is said and fails the merge. */
static void test_merge_states_overlaps_and_missing_shards(void **state) {
        const char *suite = suite_file(), *ev1 = svt_tpath("s1.jsonl"), *ev2 = svt_tpath("s2.jsonl");
        char *out, *err;

        (void) state;
        (void) run((const char *[]){ "--from", suite, "-q", "--shard", "1/2", "--events", ev1,
                                     NULL }, NULL, &err);
        EXPECT(run_env("report", (const char *[]){ "merge", ev1, NULL }, NULL, &out, &err), 1);
        svt_assert_contains(err, "shard 2/2 is missing");
        (void) run_env("report", (const char *[]){ "merge", ev1, ev1, NULL }, NULL, &out, &err);
        svt_assert_contains(err, "(shards overlap)");
        (void) run((const char *[]){ "--from", suite, "-q", "--shard", "2/2", "--events", ev2,
                                     NULL }, NULL, &err);
        (void) run_env("report", (const char *[]){ "merge", "--summary", ev1, ev2, NULL }, NULL,
                       &out, &err);
        svt_assert_contains(out, "16 jobs: 13 passed, 3 failed");
        EXPECT(run_env("report", (const char *[]){ "merge", suite, NULL }, NULL, NULL, &err), 125);
        svt_assert_contains(err, "is not an events file");
}

/* ---- Rerun what failed ---- */

static void test_rerun_failed_selects_exactly_the_failed_jobs(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *ev = svt_tpath("ev.jsonl");
        char *text = NULL, *out, *err;

        (void) state;
        assert_true(asprintf(&text,
                             "name=ok1 %s 0\nname=bad %s 3\nname=ok2 %s 0\n"
                             "name=hang %s 20000\nname=segv %s SEGV\nname=ok3 %s 0\n",
                             svt_worker("sv-exit"), svt_worker("sv-exit"), svt_worker("sv-exit"),
                             svt_worker("sv-sleep"), svt_worker("sv-crash"),
                             svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        EXPECT(run((const char *[]){ "--from", jobs, "-q", "-j", "2", "-t", "500ms", "-k", "200ms",
                                     "--events", ev, NULL }, NULL, &err), 1);
        EXPECT(run((const char *[]){ "--from", jobs, "--rerun-failed", ev, "--list", NULL }, &out,
                   &err), 0);
        assert_string_equal(out, "bad\nhang\nsegv\n");
        /* Reading the file it is about to replace. */
        EXPECT(run((const char *[]){ "--from", jobs, "-q", "--rerun-failed", ev, "-R", "bad",
                                     "--events", ev, NULL }, NULL, &err), 1);
        EXPECT(run((const char *[]){ "--from", jobs, "--rerun-failed", ev, "--list", NULL }, &out,
                   &err), 0);
        assert_string_equal(out, "bad\n");
        EXPECT(run((const char *[]){ "--from", jobs, "--rerun-failed", jobs, "--list", NULL }, NULL,
                   &err), 125);
        svt_assert_contains(err, "is not an events file");
        EXPECT(run((const char *[]){ "--from", jobs, "--rerun-failed", svt_tpath("none"), NULL }, NULL,
                   &err), 125);
        svt_assert_contains(err, "cannot open");
}

/* ---- Stopping early ---- */

/* A job file whose lines are sv-flaky with a marker file each: a job that
 * starts makes its marker. */
static const char *marker_jobs(const char *head, int nmarkers) {
        char *text = NULL, *line;
        int i;

        assert_true(asprintf(&text, "%s", head) >= 0);
        for (i = 1; i <= nmarkers; i++) {
                char m[32];

                (void) snprintf(m, sizeof(m), "marker%d", i);
                assert_true(asprintf(&line, "%sname=m%d %s %s\n", text, i, svt_worker("sv-flaky"),
                                     svt_tpath(m)) > 0);
                free(text);
                text = line;
        }
        svt_write_file(svt_tpath("markers.txt"), text);
        free(text);
        return svt_tpath("markers.txt");
}

static void test_fail_fast_starts_no_job_after_the_first_failure(void **state) {
        char *head = NULL, *out, *err, *xml;
        const char *jobs;

        (void) state;
        assert_true(asprintf(&head, "name=ok %s 0\nname=bad %s 1\n", svt_worker("sv-exit"),
                             svt_worker("sv-exit")) > 0);
        jobs = marker_jobs(svt_keep(head), 3);
        EXPECT(run((const char *[]){ "--from", jobs, "-j", "1", "--fail-fast", "--junit",
                                     svt_tpath("ff.xml"), NULL }, &out, &err), 1);
        assert_false(exists(svt_tpath("marker1")));
        assert_false(exists(svt_tpath("marker2")));
        assert_false(exists(svt_tpath("marker3")));
        svt_assert_contains(err, "m1: fail-fast");
        xml = svt_slurp(svt_tpath("ff.xml"), NULL);
        assert_int_equal(xml_attr(xml, "<testsuite ", "failures"), 1);
        assert_int_equal(xml_attr(xml, "<testsuite ", "skipped"), 3);
        svt_assert_contains(xml, "<skipped message=\"fail-fast\"");
}

static void test_max_fail_stops_after_that_many_failures(void **state) {
        char *text = NULL, *err;

        (void) state;
        assert_true(asprintf(&text, "name=bad1 %s 1\nname=m1 %s %s\nname=bad2 %s 1\nname=m2 %s %s\n",
                             svt_worker("sv-exit"), svt_worker("sv-flaky"), svt_tpath("marker1"),
                             svt_worker("sv-exit"), svt_worker("sv-flaky"), svt_tpath("marker2")) > 0);
        svt_write_file(svt_tpath("jobs.txt"), svt_keep(text));
        EXPECT(run((const char *[]){ "--from", svt_tpath("jobs.txt"), "-q", "-j", "1", "--max-fail", "2",
                                     NULL }, NULL, &err), 1);
        assert_true(exists(svt_tpath("marker1")));
        assert_false(exists(svt_tpath("marker2")));
}

/* ---- Looking without running ---- */

static void test_list_and_dry_run_start_nothing_and_open_no_report(void **state) {
        const char *jobs = marker_jobs("", 3), *ev = svt_tpath("ev.jsonl");
        char *out, *err, *want = NULL;

        (void) state;
        svt_write_file(ev, "old\n");
        EXPECT(run((const char *[]){ "--from", jobs, "--list", "--events", ev, NULL }, &out, &err), 0);
        assert_string_equal(out, "m1\nm2\nm3\n");
        EXPECT(run((const char *[]){ "--from", jobs, "--dry-run", "-E", "m2", "--events", ev,
                                     "--junit", svt_tpath("x.xml"), NULL }, &out, &err), 0);
        assert_true(asprintf(&want, "m1: %s %s\nm3: %s %s\n", svt_worker("sv-flaky"),
                             svt_tpath("marker1"), svt_worker("sv-flaky"), svt_tpath("marker3")) > 0);
        assert_string_equal(out, svt_keep(want));
        svt_assert_contains(err, "2 jobs, none started");
        assert_false(exists(svt_tpath("marker1")));
        assert_false(exists(svt_tpath("marker3")));
        assert_false(exists(svt_tpath("x.xml")));
        assert_string_equal(svt_slurp(ev, NULL), "old\n");
}

/* Words that a job file would need quoted are shown quoted. */
static void test_dry_run_quotes_words_as_a_job_file_reads_them(void **state) {
        char *out, *err;

        (void) state;
        svt_write_file(svt_tpath("q.txt"), "name=q /bin/echo 'a b' \"it's\" ''\n");
        EXPECT(run((const char *[]){ "--from", svt_tpath("q.txt"), "--dry-run", NULL }, &out, &err), 0);
        assert_string_equal(out, "q: /bin/echo 'a b' 'it'\\''s' ''\n");
}

static void test_empty_selection_exits_125_unless_allowed(void **state) {
        const char *suite = suite_file();
        char *out, *err;

        (void) state;
        EXPECT(run((const char *[]){ "--from", suite, "-R", "^nomatch$", NULL }, NULL, &err), 125);
        svt_assert_contains(err, "nothing to run: -R '^nomatch$' matched none of 16 jobs");
        assert_int_equal(count_lines(err), 1);
        EXPECT(run((const char *[]){ "--from", suite, "-R", "^nomatch$", "--allow-empty", NULL },
                   &out, &err), 0);
        svt_write_file(svt_tpath("empty.txt"), "# nothing\n");
        EXPECT(run((const char *[]){ "--from", svt_tpath("empty.txt"), NULL }, NULL, &err), 125);
        svt_assert_contains(err, "nothing to run: the job file '");
        svt_assert_contains(err, "empty.txt' has no job");
        EXPECT(run((const char *[]){ "--from", suite, "-R", "(", NULL }, NULL, &err), 125);
        svt_assert_contains(err, "-R '('");
        /* -R then -E, as ctest: t1x minus t15. */
        EXPECT(run((const char *[]){ "--from", suite, "-R", "^t1", "-E", "5$", "--list", NULL },
                   &out, &err), 0);
        assert_string_equal(out, "t10\nt11\nt12\nt13\nt14\nt16\n");
}

/* ---- Order and repetition ---- */

static void test_shuffle_with_a_seed_is_reproducible(void **state) {
        const char *suite = suite_file(), *ev = svt_tpath("ev.jsonl");
        char *a, *b, *plain, *err, *line;
        json_t *start;

        (void) state;
        EXPECT(run((const char *[]){ "--from", suite, "--list", NULL }, &plain, &err), 0);
        EXPECT(run((const char *[]){ "--from", suite, "--shuffle", "--seed", "42", "--list", NULL },
                   &a, &err), 0);
        svt_assert_contains(err, "--seed 42");
        EXPECT(run((const char *[]){ "--from", suite, "--shuffle", "--seed", "42", "--list", NULL },
                   &b, &err), 0);
        assert_string_equal(a, b);
        assert_int_equal(count_lines(a), SUITE);
        /* 16! orders: the seeded one is not the file's. */
        assert_string_not_equal(a, plain);
        (void) run((const char *[]){ "--from", suite, "-q", "--seed", "42", "--events", ev, NULL },
                   NULL, &err);
        line = svt_slurp(ev, NULL);
        line[strcspn(line, "\n")] = '\0';
        start = json_loads(line, 0, NULL);
        assert_non_null(start);
        assert_int_equal(json_integer_value(json_object_get(start, "seed")), 42);
        json_decref(start);
}

/* jobs.txt: sv-nth jobs `steady` (fails on its 100th run) and `third`
 * (on its 3rd), each counting its runs in a file of its name. */
static void nth_jobs(void) {
        char *text = NULL;

        assert_true(asprintf(&text, "name=steady %s %s 100\nname=third %s %s 3\n",
                             svt_worker("sv-nth"), svt_tpath("steady"), svt_worker("sv-nth"),
                             svt_tpath("third")) > 0);
        svt_write_file(svt_tpath("jobs.txt"), svt_keep(text));
}

static void test_repeat_runs_each_job_until_its_first_failure(void **state) {
        char *err;

        (void) state;
        nth_jobs();
        EXPECT(run((const char *[]){ "--from", svt_tpath("jobs.txt"), "-j", "2", "--repeat", "5",
                                     "--junit", svt_tpath("r.xml"), NULL }, NULL, &err), 1);
        assert_int_equal(file_size(svt_tpath("steady")), 5);
        assert_int_equal(file_size(svt_tpath("third")), 3);
        svt_assert_contains(err, "steady (run 5 of 5)");
        assert_int_equal(xml_attr(svt_slurp(svt_tpath("r.xml"), NULL), "<testsuite ", "failures"), 1);
}

/* Round after round of the whole list: `steady` runs once per round, so
 * it ran as often as `third` did when `third` failed, and no more. */
static void test_until_fail_repeats_the_list_in_rounds_until_the_first_failure(void **state) {
        char *err;

        (void) state;
        nth_jobs();
        EXPECT(run((const char *[]){ "--from", svt_tpath("jobs.txt"), "-j", "1", "--repeat", "10",
                                     "--until-fail", "--logs", svt_tpath("logs"), NULL }, NULL, &err), 1);
        assert_int_equal(file_size(svt_tpath("third")), 3);
        assert_int_equal(file_size(svt_tpath("steady")), 3);
        svt_assert_contains(err, "third: exit code 1 (run 3 of 10)");
        /* The log of a job that came back each round holds every round. */
        svt_assert_contains(svt_slurp(svt_tpath("logs/1-steady.log"), NULL), "attempt 3");
}

static void test_bad_combinations_are_usage_errors(void **state) {
        const char *suite = suite_file();
        char *err;

        (void) state;
        EXPECT(run((const char *[]){ "--from", suite, "--repeat", "3", "--retries", "1", NULL },
                   NULL, &err), 125);
        EXPECT(run((const char *[]){ "--from", suite, "--until-fail", NULL }, NULL, &err), 125);
        svt_assert_contains(err, "--until-fail needs --repeat");
        EXPECT(run((const char *[]){ "--from", suite, "--shard", "0/3", NULL }, NULL, &err), 125);
        EXPECT(run((const char *[]){ "--from", suite, "--shard", "4/3", NULL }, NULL, &err), 125);
        EXPECT(run_env("run", (const char *[]){ "--from", suite, "--shard", "auto/3", NULL },
                       (const char *[]){ "JOB_COMPLETION_INDEX=x", NULL }, NULL, &err), 125);
        EXPECT(run((const char *[]){ "--from", suite, "--list", "--dry-run", NULL }, NULL, &err), 125);
        EXPECT(run((const char *[]){ "--from", suite, "--seed", "x", NULL }, NULL, &err), 125);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_shards_are_disjoint_and_merge_back_into_the_unsharded_report),
                T(test_shard_auto_takes_the_index_from_job_completion_index),
                T(test_merge_states_overlaps_and_missing_shards),
                T(test_rerun_failed_selects_exactly_the_failed_jobs),
                T(test_fail_fast_starts_no_job_after_the_first_failure),
                T(test_max_fail_stops_after_that_many_failures),
                T(test_list_and_dry_run_start_nothing_and_open_no_report),
                T(test_dry_run_quotes_words_as_a_job_file_reads_them),
                T(test_empty_selection_exits_125_unless_allowed),
                T(test_shuffle_with_a_seed_is_reproducible),
                T(test_repeat_runs_each_job_until_its_first_failure),
                T(test_until_fail_repeats_the_list_in_rounds_until_the_first_failure),
                T(test_bad_combinations_are_usage_errors),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
