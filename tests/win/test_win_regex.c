/* test_win_regex.c - regular expressions on Windows (under wine in CI),
 * where PCRE2 stands in for the C library's <regex.h>: platform/win's
 * sv__re_* behave as POSIX EREs do on Linux for our uses (a match anywhere,
 * '.' across a newline, '$' only at the very end, bytes not UTF-8, a bad
 * pattern refused with PCRE2's reason); CMake's syntax through
 * sv_regex_match(); and ctest's PASS/FAIL/SKIP_REGULAR_EXPRESSION and -L /
 * -LE end to end: `supervise.exe run --ctest DIR` against this very program
 * copied as ctest.exe into a directory put first in PATH, which then prints
 * a listing instead of running the tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/win/win.h"
#include "supervise/sv.h"
#include "supervise/sv_run.h"

#define FAKE_CTEST_ARG "--show-only=json-v1"

/* What our ctest.exe prints: three tests whose verdicts only the regexes
 * give (the exit codes say the opposite), labelled for -L / -LE. */
static const char listing[] =
        "{\"kind\":\"ctestInfo\",\"version\":{\"major\":1,\"minor\":0},\"tests\":["
        "{\"name\":\"by-pass-re\",\"command\":[\"cmd\",\"/c\",\"echo all good& exit 3\"],"
        "\"properties\":[{\"name\":\"PASS_REGULAR_EXPRESSION\",\"value\":[\"all go+d\"]},"
        "{\"name\":\"LABELS\",\"value\":[\"fast\"]}]},"
        "{\"name\":\"by-fail-re\",\"command\":[\"cmd\",\"/c\",\"echo an ERROR here& exit 0\"],"
        "\"properties\":[{\"name\":\"FAIL_REGULAR_EXPRESSION\",\"value\":[\"[^a-z]ERROR\"]},"
        "{\"name\":\"LABELS\",\"value\":[\"slow\"]}]},"
        "{\"name\":\"by-skip-re\",\"command\":[\"cmd\",\"/c\",\"echo SKIPPED& exit 1\"],"
        "\"properties\":[{\"name\":\"SKIP_REGULAR_EXPRESSION\",\"value\":[\"SKIP+ED\"]}]}]}";

static char build_dir[MAX_PATH * 3]; /* UTF-8, ...\build-win */
static char tmp_dir[MAX_PATH * 3];   /* UTF-8, %TEMP% without its last '\' */

/* tests/win/test_win_regex.exe -> the build directory, three levels up. */
static int group_setup(void **state) {
        wchar_t w[MAX_PATH];
        char *u, *p;
        int up;

        (void) state;
        assert_true(GetModuleFileNameW(NULL, w, MAX_PATH) > 0);
        u = sv__win_utf8(w);
        assert_non_null(u);
        for (up = 0; up < 3; up++) {
                p = strrchr(u, '\\');
                assert_non_null(p);
                *p = '\0';
        }
        snprintf(build_dir, sizeof(build_dir), "%s", u);
        free(u);
        assert_true(GetTempPathW(MAX_PATH, w) > 0);
        u = sv__win_utf8(w);
        assert_non_null(u);
        if (*u && u[strlen(u) - 1] == '\\')
                u[strlen(u) - 1] = '\0';
        snprintf(tmp_dir, sizeof(tmp_dir), "%s", u);
        free(u);
        return 0;
}

static bool re_matches(const char *pattern, bool icase, const char *s) {
        sv__re *re = NULL;
        char msg[200];
        bool r;

        assert_int_equal(sv__re_compile(pattern, icase, &re, msg, sizeof(msg)), 0);
        r = sv__re_match(re, s) == 1;
        sv__re_free(re);
        return r;
}

/* ---- platform/win/regex.c ---- */

static void test_re_matches_like_posix_ere(void **state) {
        (void) state;
        assert_true(re_matches("ma?ke", false, "gmake.exe"));     /* anywhere, leftmost */
        assert_true(re_matches("^(make|nmake)\\.exe$", false, "nmake.exe"));
        assert_false(re_matches("^make$", false, "gmake"));
        assert_true(re_matches("[[:digit:]]{3}", false, "port 8080"));
        assert_false(re_matches("MAKE", false, "make.exe"));
        assert_true(re_matches("MAKE", true, "make.exe"));          /* icase */
        assert_true(re_matches("a.b", false, "a\nb"));             /* '.' takes a newline */
        assert_false(re_matches("b$", false, "ab\n"));              /* '$' only at the end */
        assert_true(re_matches("b$", false, "ab"));
        assert_true(re_matches("\xe9t\xe9", false, "caf\xe9 \xe9t\xe9")); /* bytes, not UTF-8 */
        assert_true(re_matches("", false, "anything"));
        sv__re_free(NULL);
}

static void test_re_bad_pattern_says_why(void **state) {
        sv__re *re = NULL;
        char msg[200] = "";

        (void) state;
        assert_int_equal(sv__re_compile("make(", false, &re, msg, sizeof(msg)), UV_EINVAL);
        assert_null(re);
        assert_non_null(strstr(msg, "invalid regex: missing closing parenthesis"));
        assert_int_equal(sv__re_compile("[z-a]", false, &re, msg, sizeof(msg)), UV_EINVAL);
        assert_non_null(strstr(msg, "invalid regex: "));
        assert_int_equal(sv__re_compile("*", false, &re, NULL, 0), UV_EINVAL);
}

/* CMake's syntax: a backslash before a letter is that letter, braces are
 * plain characters. */
static void test_cmake_syntax_through_sv_regex_match(void **state) {
        char err[256] = "";

        (void) state;
        assert_int_equal(sv_regex_match("all go+d", "x all good\r\n", NULL, 0), 1);
        assert_int_equal(sv_regex_match("\\w", "w", NULL, 0), 1);
        assert_int_equal(sv_regex_match("\\w", "a", NULL, 0), 0);
        assert_int_equal(sv_regex_match("a{2}", "a{2}", NULL, 0), 1);
        assert_int_equal(sv_regex_match("a{2}", "aa", NULL, 0), 0);
        assert_int_equal(sv_regex_match("(oops", "", err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, "bad regular expression '(oops'"));
}

/* ---- run --ctest, with this program as ctest.exe ---- */

/* The line of `err` that names `test`, which must also say `verdict`. */
static void assert_verdict(const char *err, const char *test, const char *verdict) {
        const char *p = strstr(err, test), *sol;

        assert_non_null(p);
        for (sol = p; sol > err && sol[-1] != '\n'; sol--)
                ;
        assert_true(strstr(sol, verdict) && strstr(sol, verdict) < p);
}

/* supervise.exe with args; its exit status, and its stderr in *err. */
static int cli(const char *const *args, char **err) {
        char exe[MAX_PATH * 3];
        const char *argv[16];
        char *out = NULL;
        size_t olen = 0, elen = 0;
        int i, status = -1;

        snprintf(exe, sizeof(exe), "%s\\supervisor\\supervise.exe", build_dir);
        argv[0] = exe;
        for (i = 0; args[i] && i < 14; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        assert_int_equal(sv__plat_run_capture(argv, 60000, &out, &olen, err, &elen, &status), 0);
        free(out);
        return status;
}

static void test_run_ctest_judges_by_output_and_labels(void **state) {
        char dir[MAX_PATH * 3], exe[MAX_PATH * 3 + 16], path[32768], *err = NULL;
        const char *all[] = { "run", "--ctest", dir, NULL };
        const char *fast[] = { "run", "--ctest", dir, "-L", "^fa", NULL };
        const char *not_slow[] = { "run", "--ctest", dir, "-LE", "^sl", NULL };
        wchar_t self[MAX_PATH], *wexe;
        const char *old;

        (void) state;
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-ctest-", dir, sizeof(dir)), 0);
        snprintf(exe, sizeof(exe), "%s\\ctest.exe", dir);
        assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
        wexe = sv__win_wide(exe, CP_UTF8);
        assert_non_null(wexe);
        assert_true(CopyFileW(self, wexe, FALSE));
        free(wexe);
        old = getenv("PATH");
        snprintf(path, sizeof(path), "PATH=%s;%s", dir, old ? old : "");
        assert_int_equal(_putenv(path), 0);

        assert_int_equal(cli(all, &err), 1);
        print_message("%s", err);
        assert_verdict(err, "by-pass-re", "PASS");
        assert_verdict(err, "by-fail-re", "FAIL");
        assert_verdict(err, "by-skip-re", "SKIP");
        free(err);
        assert_int_equal(cli(fast, &err), 0);
        assert_verdict(err, "by-pass-re", "PASS");
        assert_null(strstr(err, "by-fail-re"));
        assert_null(strstr(err, "by-skip-re"));
        free(err);
        assert_int_equal(cli(not_slow, &err), 0);
        assert_verdict(err, "by-skip-re", "SKIP");
        assert_null(strstr(err, "by-fail-re"));
        free(err);

        snprintf(path, sizeof(path), "PATH=%s", old ? old : "");
        assert_int_equal(_putenv(path), 0);
        assert_int_equal(sv__plat_rmtree(dir), 0);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_re_matches_like_posix_ere),
                cmocka_unit_test(test_re_bad_pattern_says_why),
                cmocka_unit_test(test_cmake_syntax_through_sv_regex_match),
                cmocka_unit_test(test_run_ctest_judges_by_output_and_labels),
        };

        /* Started as ctest.exe by `supervise run --ctest`: the listing. */
        if (argc > 1 && strcmp(argv[1], FAKE_CTEST_ARG) == 0)
                return fputs(listing, stdout) < 0 || fflush(stdout) != 0;
        return cmocka_run_group_tests(tests, group_setup, NULL);
}
