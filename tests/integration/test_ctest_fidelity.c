/* test_ctest_fidelity.c - `supervise run --ctest` judges and schedules a
 * CMake project's tests as plain `ctest` does. The project is generated
 * here: every property that decides a verdict or the schedule is used at
 * least once by a test that passes and once by one that fails. It is
 * configured twice (one build tree per runner, so that marker files of one
 * run cannot help the other), run under `ctest -j 2` and under
 * `supervise run --ctest -j 2`, and the verdicts must agree test by test.
 * The tests' own commands check the schedule (a DEPENDS or fixture order,
 * a lock, RUN_SERIAL, PROCESSORS): a broken schedule fails them under one
 * runner and not the other. Also: -L/-LE select what ctest selects, and an
 * unsupported property is named once. Needs cmake and ctest in PATH, as
 * the build does. */
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

#define T_MS 120000
#define MAX_TESTS 64

/* The commands, one shell script: ctest's own input may use a shell. Each
 * checks on entry and exit that no RUN_SERIAL (serial.d) or PROCESSORS 2
 * (p2.d) test is running beside it. */
static const char script[] =
        "busy() { for d in serial.d p2.d; do [ \"$d\" = \"$1\" ] && continue;\n"
        "  [ -e \"$d\" ] && { echo \"ran while $d\"; exit 9; }; done; return 0; }\n"
        "mode=$1; shift\n"
        "busy \"$1\"\n"
        "case $mode in\n"
        "out) printf '%s\\n' \"$1\"; exit \"${2:-0}\" ;;\n"
        "err) printf '%s\\n' \"$1\" >&2; exit \"${2:-0}\" ;;\n"
        "code) exit \"$1\" ;;\n"
        "hang) echo \"$1\"; exec sleep 60 ;;\n"
        "crash) kill -SEGV $$ ;;\n"
        "envis) eval \"v=\\${$1-UNSET}\"; [ \"$v\" = \"$2\" ] || { echo \"$1='$v'\"; exit 1; } ;;\n"
        "envmod) [ \"$A\" = 1 ] && [ \"${B-UNSET}\" = UNSET ] && [ \"$P\" = x:/base:y ] &&\n"
        "  [ \"$L\" = 'l1;base;l2' ] && [ \"$S\" = prebasepost ] && [ \"$R\" = orig ] &&\n"
        "  [ \"$N\" = new ] || { env | grep -E '^(A|B|P|L|S|R|N)='; exit 1; } ;;\n"
        "pwdis) [ \"$(pwd)\" = \"$1\" ] || { echo \"in $(pwd)\"; exit 1; } ;;\n"
        "excl) mkdir \"$1\" || exit 1; sleep 0.3; busy \"$1\"; rmdir \"$1\"; exit \"${2:-0}\" ;;\n"
        "touch) sleep 0.2; : > \"$1\" ;;\n"
        "exists) [ -e \"$1\" ] ;;\n"
        "cleanup) [ -e \"$1\" ] && rm -f \"$1\" ;;\n"
        "esac\n"
        "busy \"$1\"\n";

/* Each property, once passing and once failing (the comment after a test
 * says what ctest makes of it). */
static const char project[] =
        "cmake_minimum_required(VERSION 3.16)\n"
        "project(fidelity NONE)\n"
        "enable_testing()\n"
        "set(T /bin/sh ${CMAKE_SOURCE_DIR}/t.sh)\n"
        "function(t name)\n"
        "  add_test(NAME ${name} COMMAND ${T} ${ARGN} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})\n"
        "endfunction()\n"
        "t(pass_re_ok out \"all good\" 3)\n" /* passed: exit code ignored */
        "set_tests_properties(pass_re_ok PROPERTIES PASS_REGULAR_EXPRESSION \"nothing;all go+d\")\n"
        "t(pass_re_miss out nope)\n" /* failed */
        "set_tests_properties(pass_re_miss PROPERTIES PASS_REGULAR_EXPRESSION \"all good\")\n"
        "t(fail_re_hit out \"x ERROR: y\")\n" /* failed */
        "set_tests_properties(fail_re_hit PROPERTIES FAIL_REGULAR_EXPRESSION \"[^a-z]ERROR\")\n"
        "t(fail_re_miss out fine)\n" /* passed */
        "set_tests_properties(fail_re_miss PROPERTIES FAIL_REGULAR_EXPRESSION ERROR)\n"
        "t(fail_re_stderr err Err!)\n" /* failed: stderr is output too */
        "set_tests_properties(fail_re_stderr PROPERTIES FAIL_REGULAR_EXPRESSION ^Err)\n"
        "t(fail_beats_pass out \"ok ERROR\")\n" /* failed */
        "set_tests_properties(fail_beats_pass PROPERTIES PASS_REGULAR_EXPRESSION ok\n"
        "  FAIL_REGULAR_EXPRESSION ERROR)\n"
        "t(skip_re_hit out \"SKIPPED: no gpu\" 1)\n" /* skipped */
        "set_tests_properties(skip_re_hit PROPERTIES SKIP_REGULAR_EXPRESSION SKIPPED)\n"
        "t(skip_re_miss out ran 1)\n" /* failed */
        "set_tests_properties(skip_re_miss PROPERTIES SKIP_REGULAR_EXPRESSION SKIPPED)\n"
        "t(skip_beats_fail out \"ERROR SKIPPED\")\n" /* skipped */
        "set_tests_properties(skip_beats_fail PROPERTIES SKIP_REGULAR_EXPRESSION SKIPPED\n"
        "  FAIL_REGULAR_EXPRESSION ERROR)\n"
        "t(will_fail_ok code 1)\n" /* passed */
        "set_tests_properties(will_fail_ok PROPERTIES WILL_FAIL ON)\n"
        "t(will_fail_bad code 0)\n" /* failed */
        "set_tests_properties(will_fail_bad PROPERTIES WILL_FAIL ON)\n"
        "t(will_fail_pass_re out ok)\n" /* failed: the match inverted */
        "set_tests_properties(will_fail_pass_re PROPERTIES WILL_FAIL ON PASS_REGULAR_EXPRESSION ok)\n"
        "t(will_fail_crash crash)\n" /* failed: a crash is never excused */
        "set_tests_properties(will_fail_crash PROPERTIES WILL_FAIL ON)\n"
        "t(skip_code_hit code 77)\n" /* skipped */
        "set_tests_properties(skip_code_hit PROPERTIES SKIP_RETURN_CODE 77)\n"
        "t(skip_code_miss code 1)\n" /* failed */
        "set_tests_properties(skip_code_miss PROPERTIES SKIP_RETURN_CODE 77)\n"
        "t(disabled_on code 1)\n" /* disabled */
        "set_tests_properties(disabled_on PROPERTIES DISABLED ON)\n"
        "t(disabled_off code 0)\n" /* passed */
        "set_tests_properties(disabled_off PROPERTIES DISABLED OFF)\n"
        "t(timeout_hit hang started)\n" /* timeout, though its regex matched */
        "set_tests_properties(timeout_hit PROPERTIES TIMEOUT 1 PASS_REGULAR_EXPRESSION started)\n"
        "t(timeout_ok code 0)\n" /* passed */
        "set_tests_properties(timeout_ok PROPERTIES TIMEOUT 60)\n"
        "t(env_ok envis FOO \"bar baz\")\n" /* passed */
        "set_tests_properties(env_ok PROPERTIES ENVIRONMENT \"FOO=bar baz;OTHER=1\")\n"
        "t(env_bad envis FOO bar)\n" /* failed */
        "set_tests_properties(env_bad PROPERTIES ENVIRONMENT \"FOO=bar baz\")\n"
        "t(envmod_ok envmod)\n" /* passed: every operation */
        "set_tests_properties(envmod_ok PROPERTIES ENVIRONMENT \"P=/base;L=base;S=base;R=orig;B=gone\"\n"
        "  ENVIRONMENT_MODIFICATION \"A=set:1;B=unset:;P=path_list_append:y;P=path_list_prepend:x;"
        "L=cmake_list_append:l2;L=cmake_list_prepend:l1;S=string_append:post;S=string_prepend:pre;"
        "R=set:changed;R=reset:;N=unset:;N=string_append:new\")\n"
        "t(envmod_bad envmod)\n" /* failed */
        "set_tests_properties(envmod_bad PROPERTIES ENVIRONMENT_MODIFICATION A=set:2)\n"
        "file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/wd)\n"
        "add_test(NAME wd_ok COMMAND ${T} pwdis ${CMAKE_BINARY_DIR}/wd\n"
        "  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/wd)\n" /* passed */
        "add_test(NAME wd_bad COMMAND ${T} pwdis ${CMAKE_BINARY_DIR}\n"
        "  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/wd)\n" /* failed */
        "t(files_ok code 0)\n" /* passed */
        "set_tests_properties(files_ok PROPERTIES REQUIRED_FILES ${CMAKE_SOURCE_DIR}/t.sh)\n"
        "t(files_missing code 0)\n" /* not run */
        "set_tests_properties(files_missing PROPERTIES REQUIRED_FILES ${CMAKE_SOURCE_DIR}/none)\n"
        "t(dep_first touch dep.mark)\n" /* passed */
        "t(dep_second exists dep.mark)\n" /* passed: only after dep_first */
        "set_tests_properties(dep_second PROPERTIES DEPENDS dep_first)\n"
        "t(dep_on_failed code 0)\n" /* passed: DEPENDS is order only */
        "set_tests_properties(dep_on_failed PROPERTIES DEPENDS pass_re_miss)\n"
        "t(dep_fails code 1)\n" /* failed */
        "set_tests_properties(dep_fails PROPERTIES DEPENDS dep_first)\n"
        "t(fx_user exists db.mark)\n" /* passed: only after fx_setup */
        "set_tests_properties(fx_user PROPERTIES FIXTURES_REQUIRED db LABELS \"fast;db\")\n"
        "t(fx_cleanup cleanup db.mark)\n" /* passed: only after the setup */
        "set_tests_properties(fx_cleanup PROPERTIES FIXTURES_CLEANUP db)\n"
        "t(fx_setup touch db.mark)\n" /* passed */
        "set_tests_properties(fx_setup PROPERTIES FIXTURES_SETUP db)\n"
        "t(fxbad_setup code 1)\n" /* failed */
        "set_tests_properties(fxbad_setup PROPERTIES FIXTURES_SETUP broken)\n"
        "t(fxbad_user code 0)\n" /* not run */
        "set_tests_properties(fxbad_user PROPERTIES FIXTURES_REQUIRED broken LABELS fast)\n"
        "t(fxbad_cleanup code 0)\n" /* passed: a cleanup runs anyway */
        "set_tests_properties(fxbad_cleanup PROPERTIES FIXTURES_CLEANUP broken)\n"
        "t(lock_a excl lock.d)\n" /* passed: never beside lock_b */
        "t(lock_b excl lock.d)\n" /* passed */
        "t(lock_fail excl lock.d 1)\n" /* failed */
        "set_tests_properties(lock_a lock_b lock_fail PROPERTIES RESOURCE_LOCK \"res;other\"\n"
        "  LABELS slow)\n"
        "t(serial_ok excl serial.d)\n" /* passed: alone */
        "set_tests_properties(serial_ok PROPERTIES RUN_SERIAL ON LABELS \"fast;slow\")\n"
        "t(serial_fail excl serial.d 1)\n" /* failed */
        "set_tests_properties(serial_fail PROPERTIES RUN_SERIAL ON)\n"
        "t(procs_ok excl p2.d)\n" /* passed: takes both of -j 2 */
        "t(procs_fail excl p2.d 1)\n" /* failed */
        "set_tests_properties(procs_ok procs_fail PROPERTIES PROCESSORS 2 COST 2)\n"
        "t(labelled_ok code 0)\n" /* passed */
        "set_tests_properties(labelled_ok PROPERTIES LABELS fast\n"
        "  ATTACHED_FILES ${CMAKE_SOURCE_DIR}/t.sh)\n"
        "t(labelled_bad code 1)\n" /* failed */
        "set_tests_properties(labelled_bad PROPERTIES LABELS \"fast;wip\")\n";

#define NTESTS 46

typedef struct verdicts {
        char *name[MAX_TESTS];
        char *v[MAX_TESTS]; /* pass fail skip disabled notrun */
        int n;
} verdicts;

typedef struct fixture {
        verdicts a, b;
} fixture;

static fixture fx;

static char *keep(char *p) {
        assert_non_null(p);
        return svt_keep(p);
}

/* Runs argv to the end; returns its stdout, its stderr in *err (may be
 * NULL) and its exit code in *code. */
static char *run(const char *const argv[], char **err, int *code) {
        char *out = NULL, *e = NULL;
        int st = svt_run_kept(argv, NULL, &out, &e, T_MS);

        if (!WIFEXITED(st))
                fail_msg("%s died (wait status 0x%x); stderr:\n%s", argv[0], st, e);
        *code = WEXITSTATUS(st);
        if (err)
                *err = e;
        return out;
}

/* Writes the project and configures it into build directory `b`. */
static const char *configure(const char *b) {
        const char *src = svt_tpath("src"), *build = svt_tpath(b);
        const char *cmake[] = { "cmake", "-S", src, "-B", build, NULL };
        char *err;
        int code;

        (void) mkdir(src, 0755);
        svt_write_file(svt_tpath("src/t.sh"), script);
        svt_write_file(svt_tpath("src/CMakeLists.txt"), project);
        (void) run(cmake, &err, &code);
        if (code != 0)
                fail_msg("cmake failed (%d):\n%s", code, err);
        return build;
}

static void add(verdicts *vs, const char *name, size_t len, const char *v) {
        assert_true(vs->n < MAX_TESTS);
        vs->name[vs->n] = keep(strndup(name, len));
        vs->v[vs->n] = keep(strdup(v));
        vs->n++;
}

static const char *lookup(const verdicts *vs, const char *name) {
        for (int i = 0; i < vs->n; i++)
                if (strcmp(vs->name[i], name) == 0)
                        return vs->v[i];
        return NULL;
}

/* ctest's result lines: "12/46 Test #12: name ......***Failed  ..."; with
 * -N: "  Test #12: name" (verdict NULL: names only). */
static void parse_ctest(const char *out, verdicts *vs, bool names_only) {
        const char *line = out, *p, *name;
        char buf[1024];
        size_t len;

        for (; *line; line += len + (line[len] == '\n')) {
                len = strcspn(line, "\n");
                (void) snprintf(buf, sizeof(buf), "%.*s", (int) len, line);
                p = strstr(buf, "Test");
                if (!p || !(p = strstr(p, "#")) || !(p = strstr(p, ": ")))
                        continue;
                name = p + 2;
                p = name + strcspn(name, " ");
                if (names_only) {
                        add(vs, name, (size_t) (p - name), "listed");
                        continue;
                }
                while (*p == ' ' || *p == '.')
                        p++;
                add(vs, name, strcspn(name, " "),
                    strncmp(p, "Passed", 6) == 0                   ? "pass"
                    : strncmp(p, "***Not Run (Disabled)", 21) == 0 ? "disabled"
                    : strncmp(p, "***Skipped", 10) == 0            ? "skip"
                    : strncmp(p, "***Not Run", 10) == 0            ? "notrun"
                                                                   : "fail");
        }
}

/* supervise's verdicts from its events file: the last exit of each job,
 * or its skip; timeout and crash are ctest's failures too, and an error
 * (not run) is ctest's "Not Run". */
static void parse_events(const char *path, verdicts *vs) {
        char line[65536];
        FILE *f = fopen(path, "re");

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                json_t *o = json_loads(line, 0, NULL);
                const char *ev = json_string_value(json_object_get(o, "event"));
                const char *name = json_string_value(json_object_get(o, "name"));
                const char *v = json_string_value(json_object_get(o, "verdict"));
                const char *reason = json_string_value(json_object_get(o, "reason"));

                assert_non_null(o);
                if (ev && name && strcmp(ev, "exit") == 0) {
                        if (strcmp(v, "timeout") == 0 || strcmp(v, "crash") == 0)
                                v = "fail";
                        else if (strcmp(v, "error") == 0)
                                v = "notrun";
                        add(vs, name, strlen(name), v);
                } else if (ev && name && strcmp(ev, "skip") == 0) {
                        add(vs, name, strlen(name),
                            reason && strcmp(reason, "disabled") == 0 ? "disabled" : "skip");
                }
                json_decref(o);
        }
        (void) fclose(f);
}

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        return svt_scratch_begin("/tmp/svfid.XXXXXX");
}

static int teardown(void **state) {
        (void) state;
        return svt_scratch_end(T_MS);
}

static void test_ctest_verdicts_agree_with_plain_ctest_test_by_test(void **state) {
        const char *b1 = configure("b1"), *b2 = configure("b2"), *ev = svt_tpath("ev.jsonl");
        const char *ctest[] = { "ctest", "--test-dir", b1, "-j", "2", NULL };
        const char *sv[] = { svt_cli(), "run", "-q", "-j", "2", "--ctest", b2, "--events", ev, NULL };
        int code, i, differ = 0;
        char *out;

        (void) state;
        out = run(ctest, NULL, &code);
        assert_int_not_equal(code, 0);
        parse_ctest(out, &fx.a, false);
        (void) run(sv, NULL, &code);
        assert_int_equal(code, 1);
        parse_events(ev, &fx.b);
        /* Every test is judged by both, or the comparison proves little. */
        assert_int_equal(fx.a.n, NTESTS);
        assert_int_equal(fx.b.n, NTESTS);
        for (i = 0; i < fx.a.n; i++) {
                const char *v = lookup(&fx.b, fx.a.name[i]);

                if (!v || strcmp(v, fx.a.v[i]) != 0) {
                        fprintf(stderr, "%s: ctest says %s, supervise run says %s\n", fx.a.name[i],
                                fx.a.v[i], v ? v : "nothing");
                        differ++;
                }
        }
        fprintf(stderr, "ctest fidelity: %d tests, %d agree\n", fx.a.n, fx.a.n - differ);
        assert_int_equal(differ, 0);
        /* Not a trivial agreement: every kind of verdict is in there. */
        assert_string_equal(lookup(&fx.a, "pass_re_ok"), "pass");
        assert_string_equal(lookup(&fx.a, "pass_re_miss"), "fail");
        assert_string_equal(lookup(&fx.a, "skip_re_hit"), "skip");
        assert_string_equal(lookup(&fx.a, "disabled_on"), "disabled");
        assert_string_equal(lookup(&fx.a, "fxbad_user"), "notrun");
}

/* The names `supervise run --ctest B ARGS` runs (its events file). */
static void sv_selects(const char *b, const char *const *args, verdicts *vs) {
        const char *argv[16] = { svt_cli(), "run", "-q", "-j", "2", "--ctest", b, "--events",
                                 svt_tpath("sel.jsonl") };
        int k = 9, code;

        for (; *args; args++)
                argv[k++] = *args;
        argv[k] = NULL;
        (void) run(argv, NULL, &code);
        assert_true(code == 0 || code == 1 || code == 124);
        parse_events(argv[8], vs);
}

static void test_ctest_label_filters_select_what_ctest_selects(void **state) {
        static const char *const sets[][5] = {
                { "-L", "fast", NULL },
                { "-L", "fast", "-LE", "wip", NULL },
                { "-L", "fast", "-L", "db", NULL },
                { "--label-exclude", "slow", "-LE", "fast", NULL },
        };
        const char *b = configure("b");
        size_t s;
        int code, i;

        (void) state;
        for (s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
                const char *argv[12] = { "ctest", "--test-dir", b, "-N" };
                verdicts want = { 0 }, got = { 0 };
                int k = 4;

                for (i = 0; sets[s][i]; i++)
                        argv[k++] = sets[s][i];
                argv[k] = NULL;
                parse_ctest(run(argv, NULL, &code), &want, true);
                assert_int_equal(code, 0);
                sv_selects(b, sets[s], &got);
                if (want.n != got.n)
                        fail_msg("set %zu: ctest selects %d tests, supervise run %d", s, want.n,
                                 got.n);
                for (i = 0; i < want.n; i++)
                        if (!lookup(&got, want.name[i]))
                                fail_msg("set %zu: ctest selects %s, supervise run does not", s,
                                         want.name[i]);
        }
}

static void test_ctest_unsupported_property_is_named_once(void **state) {
        const char *b = configure("b");
        const char *sv[] = { svt_cli(), "run", "-q", "--ctest", b, "-L", "^db$", NULL };
        char *err, *p;
        int code, n = 0;

        (void) state;
        (void) run(sv, &err, &code);
        assert_int_equal(code, 0);
        for (p = err; (p = strstr(p, "ctest property COST is not supported")) != NULL; p++)
                n++;
        assert_int_equal(n, 1);
        assert_non_null(strstr(err, "ctest property ATTACHED_FILES is not supported"));
        /* Honoured properties are not named. */
        assert_null(strstr(err, "PASS_REGULAR_EXPRESSION"));
        assert_null(strstr(err, "FIXTURES"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* The terminal says which regular expression failed a test that exited 0,
 * on the line under its status (not only in the logs). */
static void test_regex_verdict_is_explained_on_the_terminal(void **state) {
        const char *b = configure("b4");
        const char *sv[] = { svt_cli(), "run", "--ctest", b, "-R", "^fail_re_stderr$", NULL };
        char *err;
        int code;

        (void) state;
        (void) run(sv, &err, &code);
        assert_int_equal(code, 1);
        if (!strstr(err, "FAIL_REGULAR_EXPRESSION '^Err' matched"))
                fail_msg("no verdict note on stderr:\n%s", err);
        assert_null(strstr(err, "diagnostics ("));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_ctest_verdicts_agree_with_plain_ctest_test_by_test),
                T(test_ctest_label_filters_select_what_ctest_selects),
                T(test_ctest_unsupported_property_is_named_once),
                T(test_regex_verdict_is_explained_on_the_terminal),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
