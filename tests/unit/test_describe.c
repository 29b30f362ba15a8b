/* test_describe.c - sv_exit_describe, the one line every report uses to say
 * how a worker ended: each cause's wording, each flag's part, and snprintf's
 * contract for a buffer that is too small. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "supervise/sv.h"

static sv_exit_info exited(int code) {
        sv_exit_info e;

        memset(&e, 0, sizeof(e));
        e.exited = true;
        e.code = code;
        e.cause = SV_CAUSE_EXITED;
        e.stop_step = -1;
        return e;
}

static sv_exit_info killed(int sig, sv_cause cause) {
        sv_exit_info e = exited(0);

        e.exited = false;
        e.code = -sig;
        e.signal = sig;
        e.cause = cause;
        return e;
}

static void expect(const sv_exit_info *e, unsigned flags, const char *want) {
        char buf[256];
        size_t n = sv_exit_describe(e, flags, buf, sizeof(buf));

        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
}

static void test_describe_exit_code_and_crash(void **state) {
        sv_exit_info e = exited(3);

        (void) state;
        expect(&e, 0, "exit code 3");
        e = killed(SIGSEGV, SV_CAUSE_SIGNALED);
        e.core_dumped = true;
        expect(&e, 0, "killed by SIGSEGV (-11), core dumped");
}

static void test_describe_timeout_and_idle_prefix_the_seconds(void **state) {
        sv_exit_info e = killed(SIGTERM, SV_CAUSE_TIMEOUT);

        (void) state;
        e.timeout_ms = 1500;
        expect(&e, 0, "timed out after 1.500 s; killed by SIGTERM (-15)");
        e.idle = true;
        expect(&e, 0, "no output after 1.500 s; killed by SIGTERM (-15)");
}

static void test_describe_flags_add_step_mechanism_and_leaks(void **state) {
        sv_exit_info e = killed(SIGKILL, SV_CAUSE_STOPPED);
        unsigned all = SV_DESCRIBE_STEP | SV_DESCRIBE_MECH | SV_DESCRIBE_LEAKS;

        (void) state;
        e.stop_step = 1;
        e.step_signal = SIGKILL;
        e.mechanism = SV_MECH_PROCWALK;
        e.leaked = 2;
        expect(&e, 0, "stopped by supervise; killed by SIGKILL (-9)");
        expect(&e, all, "stopped by supervise; killed by SIGKILL (-9), ended at step 2 "
                        "(SIGKILL), tree stopped via procwalk, 2 processes left behind");
        e = exited(0);
        e.leaked = 1;
        /* It exited by itself: no step and no "tree stopped" to tell. */
        expect(&e, all, "exit code 0, 1 process left behind");
}

static void test_describe_upper_realtime_signal_is_named_from_rtmax(void **state) {
        sv_exit_info e = killed(SIGRTMAX - 1, SV_CAUSE_SIGNALED);
        char want[64];

        (void) state;
        (void) snprintf(want, sizeof(want), "killed by SIGRTMAX-1 (-%d)", SIGRTMAX - 1);
        expect(&e, 0, want);
}

static void test_describe_small_buffer_is_cut_and_says_the_full_length(void **state) {
        sv_exit_info e = exited(123);
        char buf[8];

        (void) state;
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(sv_exit_describe(&e, 0, buf, sizeof(buf)), strlen("exit code 123"));
        assert_string_equal(buf, "exit co");
        assert_int_equal(sv_exit_describe(&e, 0, NULL, 0), strlen("exit code 123"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_describe_exit_code_and_crash),
                cmocka_unit_test(test_describe_timeout_and_idle_prefix_the_seconds),
                cmocka_unit_test(test_describe_flags_add_step_mechanism_and_leaks),
                cmocka_unit_test(test_describe_upper_realtime_signal_is_named_from_rtmax),
                cmocka_unit_test(test_describe_small_buffer_is_cut_and_says_the_full_length),
        };

        return cmocka_run_group_tests_name("describe", tests, NULL, NULL);
}
