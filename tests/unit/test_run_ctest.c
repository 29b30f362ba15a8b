/* test_run_ctest.c - importing a CMake build's tests: the JSON of
 * `ctest --show-only=json-v1` becomes jobs (hand-written and malformed
 * listings), and the real ctest run on this very build directory lists this
 * very test with its command, directory and timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise/sv_run.h"
#include "svtest.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char listing[] =
        "{\"kind\":\"ctestInfo\",\"version\":{\"major\":1,\"minor\":0},\"backtraceGraph\":{},"
        "\"tests\":["
        "{\"name\":\"plain\",\"command\":[\"/bin/true\"],\"backtrace\":1},"
        "{\"name\":\"full\",\"command\":[\"/usr/bin/env\",\"a b\",\"\"],\"properties\":["
        "  {\"name\":\"WORKING_DIRECTORY\",\"value\":\"/tmp\"},"
        "  {\"name\":\"ENVIRONMENT\",\"value\":[\"A=1\",\"B=x=y\"]},"
        "  {\"name\":\"TIMEOUT\",\"value\":2.5},"
        "  {\"name\":\"WILL_FAIL\",\"value\":true},"
        "  {\"name\":\"SKIP_RETURN_CODE\",\"value\":77},"
        "  {\"name\":\"LABELS\",\"value\":[\"unit\"]},"
        "  {\"name\":\"ENVIRONMENT_MODIFICATION\",\"value\":[\"X=unset:\"]}]},"
        "{\"name\":\"off\",\"command\":[\"/bin/false\"],\"properties\":["
        "  {\"name\":\"DISABLED\",\"value\":true},{\"name\":\"TIMEOUT\",\"value\":0.0001}]},"
        "{\"name\":\"gone\",\"properties\":[{\"name\":\"TIMEOUT\",\"value\":0}]},"
        "{\"name\":\"big\",\"command\":[\"x\"],\"properties\":[{\"name\":\"TIMEOUT\",\"value\":1e300},"
        "  {\"name\":\"SKIP_RETURN_CODE\",\"value\":-1}]}"
        "]}";

static void test_ctest_parse_turns_tests_into_jobs(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256] = "";
        const sv_job *j;

        (void) state;
        assert_int_equal(sv_ctest_parse(listing, strlen(listing), &l, err, sizeof(err)), 5);
        j = &l.jobs[0];
        assert_string_equal(j->name, "plain");
        assert_string_equal(j->argv[0], "/bin/true");
        assert_null(j->argv[1]);
        assert_null(j->cwd);
        assert_null(j->env);
        assert_int_equal(j->timeout_ms, 0);
        assert_int_equal(j->flags, 0);
        assert_int_equal(j->skip_code, -1);
        assert_int_equal(j->line, 0);

        j = &l.jobs[1];
        assert_string_equal(j->argv[1], "a b");
        assert_string_equal(j->argv[2], "");
        assert_null(j->argv[3]);
        assert_string_equal(j->cwd, "/tmp");
        assert_string_equal(j->env[0], "A=1");
        assert_string_equal(j->env[1], "B=x=y");
        assert_null(j->env[2]);
        assert_int_equal(j->timeout_ms, 2500);
        assert_int_equal(j->flags, SV_JOB_WILL_FAIL);
        assert_int_equal(j->skip_code, 77);

        j = &l.jobs[2];
        assert_int_equal(j->flags, SV_JOB_DISABLED);
        assert_int_equal(j->timeout_ms, 1); /* rounded up, never to "none" */

        j = &l.jobs[3];
        /* TIMEOUT 0: no deadline at all, as ctest says. */
        assert_int_equal(j->flags, SV_JOB_UNAVAILABLE | SV_JOB_NO_TIMEOUT);
        assert_non_null(j->argv);
        assert_null(j->argv[0]);
        assert_int_equal(j->timeout_ms, 0);

        j = &l.jobs[4];
        assert_true(j->timeout_ms > UINT64_C(1000000000000));
        assert_int_equal(j->skip_code, -1);
        sv_joblist_release(&l);
}

static void test_ctest_parse_rejects_malformed_listings(void **state) {
        static const struct {
                const char *json;
                const char *want;
        } rows[] = {
                { "", "ctest JSON: line" },
                { "not json", "ctest JSON: line 1" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[", "ctest JSON: line" },
                { "[]", "ctest JSON: not a ctest" },
                { "{\"kind\":\"other\",\"tests\":[]}", "ctest JSON: not a ctest" },
                { "{\"kind\":\"ctestInfo\",\"tests\":{}}", "ctest JSON: not a ctest" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[1]}", "ctest JSON: test 0 is not an object" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"command\":[\"a\"]}]}", "ctest JSON: test 0 has no name" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"\"}]}", "ctest JSON: test 0 has no name" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"command\":\"a\"}]}",
                  "ctest JSON: test 'a' is malformed" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"command\":[]}]}",
                  "ctest JSON: test 'a' is malformed" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"command\":[\"x\",3]}]}",
                  "ctest JSON: test 'a': bad command" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"properties\":{}}]}",
                  "ctest JSON: test 'a' is malformed" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"properties\":"
                  "[{\"name\":\"TIMEOUT\",\"value\":\"10\"}]}]}",
                  "ctest JSON: test 'a': bad TIMEOUT property" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"properties\":"
                  "[{\"name\":\"ENVIRONMENT\",\"value\":[\"A=1\",null]}]}]}",
                  "ctest JSON: test 'a': bad ENVIRONMENT property" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"properties\":"
                  "[{\"name\":\"WORKING_DIRECTORY\",\"value\":1}]}]}",
                  "ctest JSON: test 'a': bad WORKING_DIRECTORY property" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\",\"properties\":"
                  "[{\"name\":\"DISABLED\",\"value\":\"ON\"}]}]}",
                  "ctest JSON: test 'a': bad DISABLED property" },
                { "{\"kind\":\"ctestInfo\",\"kind\":\"ctestInfo\",\"tests\":[]}", "ctest JSON: line 1" },
                { "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"ok\",\"command\":[\"a\"]},"
                  "{\"name\":\"b\",\"command\":[1]}]}",
                  "ctest JSON: test 'b': bad command" },
        };
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];
        size_t i;
        int r;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                err[0] = '\0';
                r = sv_ctest_parse(rows[i].json, strlen(rows[i].json), &l, err, sizeof(err));
                if (r != UV_EINVAL)
                        fail_msg("row %zu: got %d, want UV_EINVAL", i, r);
                if (strncmp(err, rows[i].want, strlen(rows[i].want)) != 0)
                        fail_msg("row %zu: message '%s', want '%s...'", i, err, rows[i].want);
                assert_int_equal(l.count, 0);
        }
        /* An empty listing is not an error: no tests. */
        {
                const char *empty = "{\"kind\":\"ctestInfo\",\"tests\":[]}";

                assert_int_equal(sv_ctest_parse(empty, strlen(empty), &l, err, sizeof(err)), 0);
        }
        sv_joblist_release(&l);
}

/* The directory this test binary was built in: a ctest directory that lists
 * this test (unit.test_run_ctest). */
static void self_dir(char *exe, char *dir) {
        ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
        char tmp[PATH_MAX];

        assert_true(n > 0);
        exe[n] = '\0';
        memcpy(tmp, exe, (size_t) n + 1);
        (void) snprintf(dir, PATH_MAX, "%s", dirname(tmp));
}

static void test_ctest_load_lists_this_build_and_this_test(void **state) {
        char exe[PATH_MAX], dir[PATH_MAX], err[512] = "";
        sv_joblist l = SV_JOBLIST_INIT;
        const sv_job *me = NULL;
        size_t i;
        int r;

        (void) state;
        self_dir(exe, dir);
        r = sv_ctest_load(NULL, dir, &l, err, sizeof(err));
        if (r < 1)
                fail_msg("sv_ctest_load('%s') = %d: %s", dir, r, err);
        for (i = 0; i < l.count; i++)
                if (strcmp(l.jobs[i].name, "unit.test_run_ctest") == 0)
                        me = &l.jobs[i];
        if (!me)
                fail_msg("unit.test_run_ctest is not among the %zu tests of %s", l.count, dir);
        assert_string_equal(me->argv[0], exe);
        assert_null(me->argv[1]);
        assert_string_equal(me->cwd, dir);
        assert_int_equal(me->timeout_ms, 60000);
        assert_int_equal(me->flags, 0);
        sv_joblist_release(&l);
        svt_assert_no_children();
}

static void test_ctest_list_errors_name_the_directory(void **state) {
        char *json = (char *) "untouched";
        size_t len = 12345;
        char err[512] = "";
        int r;

        (void) state;
        r = sv_ctest_list(NULL, "/nonexistent/build-dir", &json, &len, err, sizeof(err));
        assert_int_equal(r, UV_EINVAL);
        assert_non_null(strstr(err, "'/nonexistent/build-dir'"));
        assert_string_equal(json, "untouched");
        assert_int_equal(len, 12345);
        r = sv_ctest_list("/nonexistent/ctest", "/tmp", &json, &len, err, sizeof(err));
        assert_int_equal(r, UV_ENOENT);
        assert_non_null(strstr(err, "cannot run '/nonexistent/ctest'"));
        svt_assert_no_children();
}

static void test_ctest_list_of_a_program_that_fails_reports_its_stderr(void **state) {
        char *json = NULL;
        size_t len = 0;
        char err[512] = "";
        int r;

        (void) state;
        /* `false` ignores its arguments and exits 1: ctest's failure path. */
        r = sv_ctest_list("false", "/tmp", &json, &len, err, sizeof(err));
        assert_int_equal(r, UV_EINVAL);
        assert_non_null(strstr(err, "(exit 1)"));
        /* `echo` prints its arguments, which are not JSON. */
        assert_int_equal(sv_ctest_list("echo", "/tmp", &json, &len, err, sizeof(err)), 0);
        assert_string_equal(json, "--show-only=json-v1 --test-dir /tmp\n");
        assert_int_equal(len, strlen(json));
        free(json);
        svt_assert_no_children();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ctest_parse_turns_tests_into_jobs),
                cmocka_unit_test(test_ctest_parse_rejects_malformed_listings),
                cmocka_unit_test(test_ctest_load_lists_this_build_and_this_test),
                cmocka_unit_test(test_ctest_list_errors_name_the_directory),
                cmocka_unit_test(test_ctest_list_of_a_program_that_fails_reports_its_stderr),
        };

        return cmocka_run_group_tests_name("run_ctest", tests, NULL, NULL);
}
