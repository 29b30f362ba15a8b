/* test_fuzz_regressions.c - every input the fuzzers of tests/fuzz/ found
 * breaking an invariant, kept as a plain test, so the bug stays fixed in the
 * gcc build and under valgrind without a fuzzing toolchain. Each test names
 * the target and says what the input broke. The same inputs are in the seed
 * corpora (tests/fuzz/corpus/<target>/regress-*), which the fuzz smoke
 * replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "find/find_internal.h"
#include "supervise/sv_run.h"

/* The fields after a stat line's ppid, as the kernel writes them. */
#define STAT_REST " 100 100 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 123456 2000000 789 " \
                  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

static int parse_stat(const char *line, sv__stat *st) {
        return sv__proc_parse_stat(line, strlen(line), st);
}

/* fuzz_procstat: a ppid of 24 digits wrapped around 2^64 and came out as the
 * negative pid -2082238920. (A negative ppid matches no process, so a tree
 * walk silently lost the child.) The input as found, then the two faults it
 * combined, one at a time. */
static void test_stat_ppid_overflowing_64_bits_is_rejected(void **state) {
        static const char found[] =
                "42 `(slp) 7 0y(0700 d) 248888888888888888888888S 1\xb5"
                "888888888888888888888888888888888888844444444444444 100 0 0 20 3 0 04   0/ 0 "
                "0 0 0 17 1 0 0 0 0 0\n";
        sv__stat st;

        (void) state;
        assert_int_equal(parse_stat(found, &st), UV_EINVAL);
        assert_int_equal(parse_stat("42 (a) S 18446744073709551617" STAT_REST, &st), UV_EINVAL);
        assert_int_equal(parse_stat("42 (a) S 18446744073709551615" STAT_REST, &st), UV_EINVAL);
}

/* fuzz_procstat: a ppid that fits in 64 bits but not in pid_t was cast to
 * a negative or unrelated pid. */
static void test_stat_ppid_beyond_pid_range_is_rejected(void **state) {
        sv__stat st;

        (void) state;
        assert_int_equal(parse_stat("42 (a) S 2147483648" STAT_REST, &st), UV_EINVAL);
        assert_int_equal(parse_stat("42 (a) S 4294967297" STAT_REST, &st), UV_EINVAL);
        assert_int_equal(parse_stat("42 (a) S 2147483647" STAT_REST, &st), 0);
        assert_int_equal(st.ppid, INT_MAX);
}

/* fuzz_procstat: "248...888S" was read as a number followed by a field "S",
 * shifting every later field by one: here the vsize would have been taken
 * for the rss. A number field is digits only. */
static void test_stat_number_with_trailing_garbage_is_rejected(void **state) {
        static const char head[] = "42 (a) S 7 100 100 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 ";
        static const char tail[] = " 2000000 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17\n";
        char line[256];
        sv__stat st;

        (void) state;
        (void) snprintf(line, sizeof(line), "%s123456x%s", head, tail);
        assert_int_equal(parse_stat(line, &st), UV_EINVAL);
        (void) snprintf(line, sizeof(line), "%s123456%s", head, tail);
        assert_int_equal(parse_stat(line, &st), 0);
        assert_int_equal(st.ppid, 7);
        assert_int_equal(st.start_ticks, 123456);
        assert_int_equal(st.rss_pages, 789);
}

/* fuzz_ctest: a test name holding a line break ("a\nb" is valid JSON and a
 * valid CMake test name) split the "one clear line" error in two. */
static void test_ctest_error_naming_a_test_with_a_newline_is_one_line(void **state) {
        static const char json[] =
                "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"a\\nb\",\"command\":5}]}";
        static const char bad_cmd[] =
                "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"x\\ty\",\"command\":[1]}]}";
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];

        (void) state;
        assert_int_equal(sv_ctest_parse(json, sizeof(json) - 1, &l, err, sizeof(err)), UV_EINVAL);
        assert_null(strchr(err, '\n'));
        assert_string_equal(err, "ctest JSON: test 'a?b' is malformed");
        assert_int_equal(l.count, 0);

        assert_int_equal(sv_ctest_parse(bad_cmd, sizeof(bad_cmd) - 1, &l, err, sizeof(err)),
                         UV_EINVAL);
        assert_string_equal(err, "ctest JSON: test 'x?y': bad command");
        assert_int_equal(l.count, 0);
}

/* fuzz_ctest: jansson's own message quotes the text near a syntax error,
 * which may hold a line break of the input. */
static void test_ctest_syntax_error_message_is_one_line(void **state) {
        /* jansson: "invalid escape near '"\u12<newline>'". */
        static const char json[] = "{\"kind\":\"ctestInfo\",\"tests\":[\"\\u12\n\"]}";
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];

        (void) state;
        assert_int_equal(sv_ctest_parse(json, sizeof(json) - 1, &l, err, sizeof(err)), UV_EINVAL);
        assert_true(strncmp(err, "ctest JSON: line ", 17) == 0);
        assert_non_null(strstr(err, "invalid escape"));
        assert_null(strchr(err, '\n'));
}

/* fuzz_duration: digits past the 64th were dropped and only counted as
 * "more", so 0.0000066...668 h (87 significant digits; just over 24 ms) came
 * out as 24 ms: the kept digits multiply to just under 24, and the dropped
 * ones push it over. Then the same in minutes, about 1 ms. */
static void test_duration_digits_past_64_still_round_up(void **state) {
        static const char found[] = "0.0000066666666666666666666666666666666666666666666666"
                                    "6666666666666666666666666666666666666668h";
        char text[128];
        uint64_t ms = 0;

        (void) state;
        assert_int_equal(sv_duration_parse(found, &ms), 0);
        assert_int_equal(ms, 25);
        /* 0.00001 then 70 sixes is just under 1/60000 m, with a 7 just over. */
        (void) snprintf(text, sizeof(text), "0.00001%.70dm", 0);
        memset(text + 7, '6', 70);
        assert_int_equal(sv_duration_parse(text, &ms), 0);
        assert_int_equal(ms, 1);
        (void) snprintf(text, sizeof(text), "0.00001%.70d7m", 0);
        memset(text + 7, '6', 70);
        assert_int_equal(sv_duration_parse(text, &ms), 0);
        assert_int_equal(ms, 2);
}

/* Found reading parse.c for fuzz_duration: the exponent saturated at 10^5,
 * so 10^5 zeros after the point (a 150 KB argument still fits in argv)
 * cancelled it, and 0.<150000 zeros>1e1000000, about 10^849999 s, gave 1 ms. */
static void test_duration_long_zero_run_does_not_cancel_big_exponent(void **state) {
        enum { ZEROS = 150000 };
        char *text = malloc(ZEROS + 32);
        uint64_t ms = 0;

        (void) state;
        assert_non_null(text);
        memcpy(text, "0.", 2);
        memset(text + 2, '0', ZEROS);
        strcpy(text + 2 + ZEROS, "1e1000000");
        assert_int_equal(sv_duration_parse(text, &ms), 0);
        assert_true(ms == SV_DURATION_INF);
        strcpy(text + 2 + ZEROS, "1e150001"); /* exactly 1 s */
        assert_int_equal(sv_duration_parse(text, &ms), 0);
        assert_int_equal(ms, 1000);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stat_ppid_overflowing_64_bits_is_rejected),
                cmocka_unit_test(test_stat_ppid_beyond_pid_range_is_rejected),
                cmocka_unit_test(test_stat_number_with_trailing_garbage_is_rejected),
                cmocka_unit_test(test_ctest_error_naming_a_test_with_a_newline_is_one_line),
                cmocka_unit_test(test_ctest_syntax_error_message_is_one_line),
                cmocka_unit_test(test_duration_digits_past_64_still_round_up),
                cmocka_unit_test(test_duration_long_zero_run_does_not_cancel_big_exponent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
