/* test_run_verdict.c - ctest's rules without ctest: the verdict from the exit
 * and the output (precedence of PASS/FAIL/SKIP regexes, the skip code,
 * WILL_FAIL, timeouts and crashes), CMake's regex syntax, label matching,
 * ENVIRONMENT_MODIFICATION, fixture pull-in by sv_joblist_keep(), and the
 * properties sv_ctest_parse() names as unsupported. The end-to-end
 * comparison with a real ctest is tests/integration/test_ctest_fidelity.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervise/sv_run.h"

static char *list_a[] = { "all go+d", NULL };
static char *list_f[] = { "[^a-z]ERROR", NULL };
static char *list_s[] = { "SKIPPED", NULL };

static sv_exit_info exited(int code) {
        sv_exit_info e;

        memset(&e, 0, sizeof(e));
        e.exited = true;
        e.code = code;
        e.cause = SV_CAUSE_EXITED;
        return e;
}

static sv_job job0(void) {
        sv_job j;

        memset(&j, 0, sizeof(j));
        j.skip_code = -1;
        return j;
}

static void test_verdict_pass_regex_ignores_the_exit_code(void **state) {
        sv_job j = job0();
        sv_exit_info e = exited(3);
        char why[128];

        (void) state;
        j.pass_regex = list_a;
        assert_int_equal(sv_verdict_judge(&j, &e, "x all good\n", why, sizeof(why)), SV_VERDICT_PASS);
        assert_int_equal(sv_verdict_judge(&j, &e, "nope\n", why, sizeof(why)), SV_VERDICT_FAIL);
        assert_non_null(strstr(why, "PASS_REGULAR_EXPRESSION"));
        e = exited(0);
        assert_int_equal(sv_verdict_judge(&j, &e, "nope\n", NULL, 0), SV_VERDICT_FAIL);
}

static void test_verdict_fail_beats_pass_and_skip_beats_both(void **state) {
        sv_job j = job0();
        sv_exit_info e = exited(0);

        (void) state;
        j.pass_regex = list_a;
        j.fail_regex = list_f;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good; ERROR\n", NULL, 0), SV_VERDICT_FAIL);
        /* "[^a-z]ERROR" needs a non-letter before it; at the very start
         * there is none, as in ctest. */
        assert_int_equal(sv_verdict_judge(&j, &e, "ERROR all good\n", NULL, 0), SV_VERDICT_PASS);
        j.skip_regex = list_s;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good; ERROR SKIPPED\n", NULL, 0),
                         SV_VERDICT_SKIP);
}

static void test_verdict_will_fail_inverts_after_the_regexes(void **state) {
        sv_job j = job0();
        sv_exit_info e = exited(1);

        (void) state;
        j.flags = SV_JOB_WILL_FAIL;
        assert_int_equal(sv_verdict_judge(&j, &e, "", NULL, 0), SV_VERDICT_PASS);
        j.pass_regex = list_a;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good", NULL, 0), SV_VERDICT_FAIL);
        assert_int_equal(sv_verdict_judge(&j, &e, "bad", NULL, 0), SV_VERDICT_PASS);
        /* The skip code is looked at before WILL_FAIL. */
        j.skip_code = 1;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good", NULL, 0), SV_VERDICT_SKIP);
}

static void test_verdict_timeout_and_crash_ignore_the_output(void **state) {
        sv_job j = job0();
        sv_exit_info e = exited(0);

        (void) state;
        j.pass_regex = list_a;
        j.skip_regex = list_s;
        j.flags = SV_JOB_WILL_FAIL;
        e.cause = SV_CAUSE_TIMEOUT;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good SKIPPED", NULL, 0), SV_VERDICT_TIMEOUT);
        e.exited = false;
        e.signal = 11;
        e.cause = SV_CAUSE_SIGNALED;
        assert_int_equal(sv_verdict_judge(&j, &e, "all good SKIPPED", NULL, 0), SV_VERDICT_CRASH);
}

static void test_regex_uses_cmakes_syntax(void **state) {
        char err[256];

        (void) state;
        /* A backslash makes the next character literal: \w is "w". */
        assert_int_equal(sv_regex_match("a\\wb", "awb", NULL, 0), 1);
        assert_int_equal(sv_regex_match("a\\wb", "a_b", NULL, 0), 0);
        assert_int_equal(sv_regex_match("1\\.5", "1x5", NULL, 0), 0);
        assert_int_equal(sv_regex_match("1\\.5", "v1.5", NULL, 0), 1);
        /* Braces are plain characters. */
        assert_int_equal(sv_regex_match("a{2}", "a{2}", NULL, 0), 1);
        assert_int_equal(sv_regex_match("a{2}", "aa", NULL, 0), 0);
        /* ^ and $ anchor the whole text, '.' crosses lines. */
        assert_int_equal(sv_regex_match("^two", "one\ntwo\n", NULL, 0), 0);
        assert_int_equal(sv_regex_match("one.two", "one\ntwo", NULL, 0), 1);
        assert_int_equal(sv_regex_match("[]x]+", "a]]x", NULL, 0), 1);
        assert_int_equal(sv_regex_match("", "anything", NULL, 0), 1);
        assert_int_equal(sv_regex_match("(a", "a", err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, "'(a'"));
}

static void test_label_match_needs_a_matching_label(void **state) {
        static char *labels[] = { "unit", "fast", NULL };
        sv_job j = job0();

        (void) state;
        assert_int_equal(sv_job_label_match(&j, "unit", NULL, 0), 0);
        j.labels = labels;
        assert_int_equal(sv_job_label_match(&j, "^fa", NULL, 0), 1);
        assert_int_equal(sv_job_label_match(&j, "^ast", NULL, 0), 0);
        assert_int_equal(sv_job_label_match(&j, "(", NULL, 0), UV_EINVAL);
}

static const char *get(char **env, const char *name) {
        size_t n = strlen(name);

        for (; *env; env++)
                if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
                        return *env + n + 1;
        return NULL;
}

static void test_environ_applies_every_modification_as_ctest(void **state) {
        static char *base[] = { "KEEP=1", "P=/usr/bin", "GONE=x", "R=orig", NULL };
        static char *env[] = { "R=fromenv", "L=base", "E=a", "E=b", NULL };
        static char *mods[] = { "P=path_list_prepend:/opt", "P=path_list_append:/z",
                                "L=cmake_list_append:x", "L=cmake_list_prepend:w",
                                "GONE=unset:", "S=string_append:post", "S=string_prepend:pre",
                                "R=set:changed", "R=reset:", "N=unset:", "N=string_append:v",
                                "Q=path_list_append:only", NULL };
        sv_job j = job0();
        char **out = NULL, err[200];

        (void) state;
        j.env = env;
        j.env_mod = mods;
        assert_int_equal(sv_job_environ(&j, base, &out, err, sizeof(err)), 0);
        assert_string_equal(get(out, "KEEP"), "1");
        assert_string_equal(get(out, "P"), "/opt:/usr/bin:/z");
        assert_string_equal(get(out, "L"), "w;base;x");
        assert_null(get(out, "GONE"));
        assert_string_equal(get(out, "S"), "prepost");
        assert_string_equal(get(out, "R"), "fromenv");
        assert_string_equal(get(out, "N"), "v");
        assert_string_equal(get(out, "Q"), "only");
        assert_string_equal(get(out, "E"), "b"); /* the later ENVIRONMENT entry wins */
        sv_argv_free(out);
}

static void test_environ_refuses_a_malformed_modification(void **state) {
        static char *bad1[] = { "NOEQUALS", NULL };
        static char *bad2[] = { "A=frobnicate:1", NULL };
        static char *bad3[] = { "A=set", NULL };
        char **bads[] = { bad1, bad2, bad3 };
        sv_job j = job0();
        char **out = NULL, err[200];

        (void) state;
        for (size_t i = 0; i < 3; i++) {
                j.env_mod = bads[i];
                err[0] = '\0';
                assert_int_equal(sv_job_environ(&j, NULL, &out, err, sizeof(err)), UV_EINVAL);
                assert_non_null(strstr(err, "ENVIRONMENT_MODIFICATION"));
                assert_null(out);
        }
}

static const char listing[] =
        "{\"kind\":\"ctestInfo\",\"version\":{\"major\":1,\"minor\":0},\"tests\":["
        "{\"name\":\"user\",\"command\":[\"/bin/true\"],\"properties\":["
        "{\"name\":\"FIXTURES_REQUIRED\",\"value\":[\"db\"]},{\"name\":\"LABELS\",\"value\":[\"x\"]},"
        "{\"name\":\"COST\",\"value\":2.0}]},"
        "{\"name\":\"other\",\"command\":[\"/bin/true\"],\"properties\":["
        "{\"name\":\"COST\",\"value\":1.0},{\"name\":\"MEASUREMENT\",\"value\":[\"a=b\"]},"
        "{\"name\":\"TIMEOUT\",\"value\":0}]},"
        "{\"name\":\"setup\",\"command\":[\"/bin/true\"],\"properties\":["
        "{\"name\":\"FIXTURES_SETUP\",\"value\":[\"db\"]},{\"name\":\"RUN_SERIAL\",\"value\":true},"
        "{\"name\":\"PROCESSORS\",\"value\":3}]},"
        "{\"name\":\"cleanup\",\"command\":[\"/bin/true\"],\"properties\":["
        "{\"name\":\"FIXTURES_CLEANUP\",\"value\":[\"db\"]},"
        "{\"name\":\"PASS_REGULAR_EXPRESSION\",\"value\":[\"ok\",\"fine\"]}]}]}";

static void test_ctest_parse_reads_properties_and_names_the_rest(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256], **names = NULL;

        (void) state;
        assert_int_equal(sv_ctest_parse(listing, strlen(listing), &l, err, sizeof(err)), 4);
        assert_string_equal(l.jobs[0].fixtures_required[0], "db");
        assert_true(l.jobs[2].flags & SV_JOB_RUN_SERIAL);
        assert_int_equal(l.jobs[2].processors, 3);
        /* An explicit TIMEOUT 0 is "none", not "the run's --timeout". */
        assert_true(l.jobs[1].flags & SV_JOB_NO_TIMEOUT);
        assert_false(l.jobs[0].flags & SV_JOB_NO_TIMEOUT);
        assert_string_equal(l.jobs[3].pass_regex[1], "fine");
        assert_int_equal(sv_ctest_unsupported(listing, strlen(listing), &names), 2);
        assert_string_equal(names[0], "COST");
        assert_string_equal(names[1], "MEASUREMENT");
        assert_null(names[2]);
        sv_argv_free(names);
        sv_joblist_release(&l);
}

static void test_ctest_parse_refuses_a_bad_regex_before_anything_runs(void **state) {
        static const char bad[] =
                "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"t\",\"command\":[\"x\"],"
                "\"properties\":[{\"name\":\"FAIL_REGULAR_EXPRESSION\",\"value\":[\"(oops\"]}]}]}";
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];

        (void) state;
        assert_int_equal(sv_ctest_parse(bad, strlen(bad), &l, err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, "'t'"));
        assert_non_null(strstr(err, "(oops"));
        assert_int_equal(l.count, 0);
}

static void test_select_keeps_the_fixtures_of_kept_jobs(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        bool keep[4] = { true, false, false, false };
        char err[256];

        (void) state;
        assert_int_equal(sv_ctest_parse(listing, strlen(listing), &l, err, sizeof(err)), 4);
        assert_int_equal(sv_joblist_keep(&l, keep), 3);
        assert_string_equal(l.jobs[0].name, "user");
        assert_string_equal(l.jobs[1].name, "setup");
        assert_string_equal(l.jobs[2].name, "cleanup");
        sv_joblist_release(&l);
}

/* -R (and the other name steps of sv_joblist_select()) bring a kept job's
 * fixture setup and cleanup along, as ctest -R does. */
static void test_name_filter_keeps_the_fixtures_of_kept_jobs(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        sv_select_opts o;
        char err[256];

        (void) state;
        memset(&o, 0, sizeof(o));
        o.include_re = "^user$";
        assert_int_equal(sv_ctest_parse(listing, strlen(listing), &l, err, sizeof(err)), 4);
        assert_int_equal(sv_joblist_select(&l, &o, err, sizeof(err)), 3);
        assert_string_equal(l.jobs[0].name, "user");
        assert_string_equal(l.jobs[1].name, "setup");
        assert_string_equal(l.jobs[2].name, "cleanup");
        sv_joblist_release(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verdict_pass_regex_ignores_the_exit_code),
                cmocka_unit_test(test_verdict_fail_beats_pass_and_skip_beats_both),
                cmocka_unit_test(test_verdict_will_fail_inverts_after_the_regexes),
                cmocka_unit_test(test_verdict_timeout_and_crash_ignore_the_output),
                cmocka_unit_test(test_regex_uses_cmakes_syntax),
                cmocka_unit_test(test_label_match_needs_a_matching_label),
                cmocka_unit_test(test_environ_applies_every_modification_as_ctest),
                cmocka_unit_test(test_environ_refuses_a_malformed_modification),
                cmocka_unit_test(test_ctest_parse_reads_properties_and_names_the_rest),
                cmocka_unit_test(test_ctest_parse_refuses_a_bad_regex_before_anything_runs),
                cmocka_unit_test(test_select_keeps_the_fixtures_of_kept_jobs),
                cmocka_unit_test(test_name_filter_keeps_the_fixtures_of_kept_jobs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
