/* test_parse.c - signal names, durations, stop ladders and enum names: the
 * text forms users type on the command line. Each table row is one input and
 * what it must give; the bad rows must all come back as UV_EINVAL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "supervise/sv.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sv_signal_parse / sv_signal_name. ---- */

static void test_signal_parse_names_numbers_and_prefixes_give_the_signal(void **state) {
        static const struct {
                const char *in;
                int want;
        } rows[] = {
                { "INT", SIGINT },       { "SIGINT", SIGINT },     { "int", SIGINT },
                { "sigint", SIGINT },    { "SiGiNt", SIGINT },     { "2", SIGINT },
                { "0", 0 },              { "9", SIGKILL },         { "KILL", SIGKILL },
                { "TERM", SIGTERM },     { "SIGTERM", SIGTERM },   { "15", SIGTERM },
                { "HUP", SIGHUP },       { "QUIT", SIGQUIT },      { "USR1", SIGUSR1 },
                { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE },      { "ALRM", SIGALRM },
                { "CHLD", SIGCHLD },     { "CONT", SIGCONT },      { "STOP", SIGSTOP },
                { "TSTP", SIGTSTP },     { "WINCH", SIGWINCH },    { "SEGV", SIGSEGV },
                { "ABRT", SIGABRT },     { "IO", SIGIO },          { "POLL", SIGIO },
                { "SYS", SIGSYS },       { "PWR", SIGPWR },        { "STKFLT", SIGSTKFLT },
                { "XCPU", SIGXCPU },     { "VTALRM", SIGVTALRM },  { "64", 64 },
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                int got = sv_signal_parse(rows[i].in);

                if (got != rows[i].want)
                        fail_msg("'%s' gave %d, want %d", rows[i].in, got, rows[i].want);
        }
}

static void test_signal_parse_realtime_names_count_from_rtmin_and_rtmax(void **state) {
        (void) state;
        assert_int_equal(sv_signal_parse("RTMIN"), SIGRTMIN);
        assert_int_equal(sv_signal_parse("SIGRTMIN"), SIGRTMIN);
        assert_int_equal(sv_signal_parse("rtmin+3"), SIGRTMIN + 3);
        assert_int_equal(sv_signal_parse("SIGRTMIN+0"), SIGRTMIN);
        assert_int_equal(sv_signal_parse("RTMAX"), SIGRTMAX);
        assert_int_equal(sv_signal_parse("RTMAX-1"), SIGRTMAX - 1);
        assert_int_equal(sv_signal_parse("SIGRTMAX-2"), SIGRTMAX - 2);
}

static void test_signal_parse_garbage_returns_einval(void **state) {
        static const char *const bad[] = {
                "",         " 2",      "2 ",        "2x",       "SIG",       "-9",
                "+9",       "65",      "99999999999", "SIGSIGINT", "INTX",    "SIG INT",
                "KILL ",    "0x9",     "RTMIN+",    "RTMIN-1",  "RTMAX+1",   "RTMIN+99",
                "RTMAX-99", "RTMIN+ 1", "RTMIN+-1", "RTMINX",   "SIG2",      "NOPE",
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(bad); i++) {
                int got = sv_signal_parse(bad[i]);

                if (got != UV_EINVAL)
                        fail_msg("'%s' gave %d, want UV_EINVAL", bad[i], got);
        }
}

static void test_signal_parse_null_returns_einval(void **state) {
        (void) state;
        assert_int_equal(sv_signal_parse(NULL), UV_EINVAL);
}

static void test_signal_name_known_numbers_give_sig_names(void **state) {
        (void) state;
        assert_string_equal(sv_signal_name(SIGINT), "SIGINT");
        assert_string_equal(sv_signal_name(SIGTERM), "SIGTERM");
        assert_string_equal(sv_signal_name(SIGKILL), "SIGKILL");
        assert_string_equal(sv_signal_name(SIGHUP), "SIGHUP");
        assert_string_equal(sv_signal_name(SIGSYS), "SIGSYS");
        /* Aliases parse, but the canonical name is what we print. */
        assert_string_equal(sv_signal_name(SIGIO), "SIGIO");
        assert_string_equal(sv_signal_name(SIGABRT), "SIGABRT");
}

static void test_signal_name_realtime_names_match_kill_l(void **state) {
        (void) state;
        assert_string_equal(sv_signal_name(SIGRTMIN), "SIGRTMIN");
        assert_string_equal(sv_signal_name(SIGRTMIN + 1), "SIGRTMIN+1");
        assert_string_equal(sv_signal_name(SIGRTMAX), "SIGRTMAX");
        assert_string_equal(sv_signal_name(SIGRTMAX - 1), "SIGRTMAX-1");
}

static void test_signal_name_unknown_numbers_give_null(void **state) {
        (void) state;
        assert_null(sv_signal_name(0));
        assert_null(sv_signal_name(-1));
        assert_null(sv_signal_name(SIGRTMAX + 1));
        assert_null(sv_signal_name(1000));
}

static void test_signal_name_round_trips_through_parse(void **state) {
        int sig;

        (void) state;
        for (sig = 1; sig <= SIGRTMAX; sig++) {
                const char *name = sv_signal_name(sig);

                if (!name)
                        continue; /* 32 and 33 belong to glibc and have no name */
                if (sv_signal_parse(name) != sig || sv_signal_parse(name + 3) != sig)
                        fail_msg("signal %d is named '%s', which parses as %d", sig, name,
                                 sv_signal_parse(name));
        }
}

/* sv_signal_name_r: the one namer of reports. Every name it writes for a
 * signal we can send must read back through sv_signal_parse, the upper
 * real-time half included. */
static void test_signal_name_r_every_signal_reads_back(void **state) {
        char buf[16];
        int sig;

        (void) state;
        for (sig = 1; sig <= SIGRTMAX; sig++) {
                /* The few glibc keeps for itself below SIGRTMIN have no name. */
                if (sig < SIGRTMIN && !sv_signal_name(sig))
                        continue;
                assert_int_equal(sv_signal_parse(sv_signal_name_r(sig, buf)), sig);
        }
        assert_string_equal(sv_signal_name_r(SIGRTMAX - 1, buf), "SIGRTMAX-1");
        assert_string_equal(sv_signal_name_r(SIGRTMIN + 2, buf), "SIGRTMIN+2");
}

static void test_signal_name_r_unknown_numbers_give_sig_n(void **state) {
        char buf[16];

        (void) state;
        assert_string_equal(sv_signal_name_r(0, buf), "SIG0");
        assert_string_equal(sv_signal_name_r(1000, buf), "SIG1000");
        assert_string_equal(sv_signal_name_r(-2147483647 - 1, buf), "SIG-2147483648");
}

/* ---- sv_duration_parse. ---- */

static void test_duration_units_convert_to_milliseconds(void **state) {
        static const struct {
                const char *in;
                uint64_t want;
        } rows[] = {
                { "250ms", 250 },
                { "1.5s", 1500 },
                { "2m", 120000 },
                { "1h", 3600000 },
                { "1d", 86400000 },
                { "10", 10000 },
                { "1.5", 1500 },
                { "0", 0 },
                { "0s", 0 },
                { "0ms", 0 },
                { "0.0", 0 },
                { "007s", 7000 },
                { "1.25m", 75000 },
                { "0.5h", 1800000 },
                { "0.001s", 1 },
                { "1.000000000000000000000000s", 1000 },
                { "18446744073709551615ms", UINT64_MAX },
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                uint64_t got = 12345;
                int r = sv_duration_parse(rows[i].in, &got);

                if (r != 0 || got != rows[i].want)
                        fail_msg("'%s' gave %d, %llu ms; want 0, %llu ms", rows[i].in, r,
                                 (unsigned long long) got, (unsigned long long) rows[i].want);
        }
}

static void test_duration_fraction_rounds_up_to_whole_milliseconds(void **state) {
        static const struct {
                const char *in;
                uint64_t want;
        } rows[] = {
                { "0.0001s", 1 },
                { "1.0001s", 1001 },
                { "0.5ms", 1 },
                { "1.1ms", 2 },
                { "2.9ms", 3 },
                { "0.00000000000000000000001s", 1 },
                { "0.3333333333333333333333m", 20000 },
                { "0.1d", 8640000 },
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                uint64_t got = 12345;
                int r = sv_duration_parse(rows[i].in, &got);

                if (r != 0 || got != rows[i].want)
                        fail_msg("'%s' gave %d, %llu ms; want 0, %llu ms", rows[i].in, r,
                                 (unsigned long long) got, (unsigned long long) rows[i].want);
        }
}

static void test_duration_garbage_returns_einval_and_leaves_out_alone(void **state) {
        static const char *const bad[] = {
                "",     "-1",   "+1",   "1x",   "1.5.2", "ms",   " 1",   "1 ",   "1 s",  "nan",
                "NaN",  "-inf", "+inf", "infx", "inff",  "in",   "1S",   "1sec", "1mss", "0x10",
                "s",    "1,5s", "1..5", "1us",  ".",     ".s",   "e5",   "1e",   "1e+",  "1e-",
                "1e1.5", "1e 1", "-1e1", "1e-1x", "-0",  "--1",  "1ee1", "inf inf", "nans", "infinit",
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(bad); i++) {
                uint64_t got = 12345;
                int r = sv_duration_parse(bad[i], &got);

                if (r != UV_EINVAL || got != 12345)
                        fail_msg("'%s' gave %d, %llu ms; want UV_EINVAL, output untouched",
                                 bad[i], r, (unsigned long long) got);
        }
}

/* GNU timeout's forms: strtod(3) numbers, exponents, "inf". */
static void test_duration_floating_forms_and_inf_parse_as_strtod_reads_them(void **state) {
        static const struct {
                const char *in;
                uint64_t want;
        } rows[] = {
                { "1e-1", 100 },         { ".5", 500 },           { "0.2", 200 },
                { "1.", 1000 },          { "1.s", 1000 },         { "1e3", 1000000 },
                { "1E3ms", 1000 },       { "2.5e-3", 3 },         { "1e-3", 1 },
                { "1e+2s", 100000 },     { "0e999999999", 0 },    { "0.000e5", 0 },
                { "12.5e1ms", 125 },     { "1e-9", 1 },           { "1e-400", 1 },
                { "0.1e-1m", 600 },      { "000.0100e2", 1000 },  { ".5m", 30000 },
                { "inf", SV_DURATION_INF }, { "INF", SV_DURATION_INF }, { "Infinity", SV_DURATION_INF },
                { "infs", SV_DURATION_INF }, { "infd", SV_DURATION_INF }, { "infinityms", SV_DURATION_INF },
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                uint64_t got = 12345;
                int r = sv_duration_parse(rows[i].in, &got);

                if (r != 0 || got != rows[i].want)
                        fail_msg("'%s' gave %d, %llu ms; want 0, %llu ms", rows[i].in, r,
                                 (unsigned long long) got, (unsigned long long) rows[i].want);
        }
}

/* Too large for 64 bits is "forever", as GNU timeout treats it, not an error. */
static void test_duration_too_large_saturates_to_inf(void **state) {
        static const char *const big[] = {
                "18446744073709551616ms", "18446744073709551615s", "213503982334601d",
                "99999999999999999999999999", "1e20ms", "1e300", "1e99999999999999999999",
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(big); i++) {
                uint64_t got = 12345;
                int r = sv_duration_parse(big[i], &got);

                if (r != 0 || got != SV_DURATION_INF)
                        fail_msg("'%s' gave %d, %llu ms; want 0, SV_DURATION_INF", big[i], r,
                                 (unsigned long long) got);
        }
}

/* Past the 64 significant digits we keep, a non-zero digit still rounds up. */
static void test_duration_digits_past_64_still_round_up(void **state) {
        char in[200];
        uint64_t got = 0;

        (void) state;
        (void) snprintf(in, sizeof(in), "1.%0100ums", 1u);
        assert_int_equal(sv_duration_parse(in, &got), 0);
        assert_int_equal(got, 2);
        (void) snprintf(in, sizeof(in), "1.%0100ums", 0u);
        assert_int_equal(sv_duration_parse(in, &got), 0);
        assert_int_equal(got, 1);
}

static void test_duration_largest_day_count_fits_and_the_next_saturates(void **state) {
        uint64_t got = 0;
        char in[64];

        (void) state;
        /* UINT64_MAX / 86400000 whole days fit; one more does not. */
        (void) snprintf(in, sizeof(in), "%llud", (unsigned long long) (UINT64_MAX / 86400000));
        assert_int_equal(sv_duration_parse(in, &got), 0);
        assert_int_equal(got, (UINT64_MAX / 86400000) * 86400000);
        (void) snprintf(in, sizeof(in), "%llud", (unsigned long long) (UINT64_MAX / 86400000 + 1));
        assert_int_equal(sv_duration_parse(in, &got), 0);
        assert_true(got == SV_DURATION_INF);
}

static void test_duration_fraction_that_overflows_when_rounded_saturates(void **state) {
        uint64_t got = 0;

        (void) state;
        assert_int_equal(sv_duration_parse("18446744073709551613.5ms", &got), 0);
        assert_true(got == UINT64_MAX - 1);
        assert_int_equal(sv_duration_parse("18446744073709551615.5ms", &got), 0);
        assert_true(got == SV_DURATION_INF);
}

/* ---- sv_ladder_parse / sv_ladder_default. ---- */

static void test_ladder_three_steps_keep_their_order_and_graces(void **state) {
        sv_ladder l;

        (void) state;
        assert_int_equal(sv_ladder_parse("INT:5s,TERM:250ms,KILL", 777, &l), 0);
        assert_int_equal(l.count, 3);
        assert_int_equal(l.steps[0].signal, SIGINT);
        assert_int_equal(l.steps[0].grace_ms, 5000);
        assert_int_equal(l.steps[1].signal, SIGTERM);
        assert_int_equal(l.steps[1].grace_ms, 250);
        assert_int_equal(l.steps[2].signal, SIGKILL);
        assert_int_equal(l.steps[2].grace_ms, 777);
}

/* The Windows ladder parses on Linux too, where BREAK is the polite stop,
 * SIGTERM (sv.h). */
static void test_ladder_break_parses_everywhere_as_the_polite_stop(void **state) {
        sv_ladder l;

        (void) state;
        assert_int_equal(sv_ladder_parse("BREAK:5s,KILL", 777, &l), 0);
        assert_int_equal(l.count, 2);
        assert_int_equal(l.steps[0].signal, SIGTERM);
        assert_int_equal(l.steps[0].grace_ms, 5000);
        assert_int_equal(l.steps[1].signal, SIGKILL);
        assert_int_equal(sv_signal_parse("SIGBREAK"), SIGTERM);
        assert_int_equal(sv_signal_parse("break"), SIGTERM);
        assert_int_equal(sv_signal_parse("BREAKX"), UV_EINVAL);
}

/* ---- sv_ntstatus_name. ---- */

static void test_ntstatus_crash_codes_have_names_and_posix_codes_none(void **state) {
        int code;

        (void) state;
        assert_string_equal(sv_ntstatus_name(0xC0000005u), "STATUS_ACCESS_VIOLATION");
        assert_string_equal(sv_ntstatus_name(0xC000013Au), "STATUS_CONTROL_C_EXIT");
        assert_string_equal(sv_ntstatus_name(0xC0000409u), "STATUS_STACK_BUFFER_OVERRUN");
        assert_string_equal(sv_ntstatus_name(0xC00000FDu), "STATUS_STACK_OVERFLOW");
        assert_string_equal(sv_ntstatus_name(0xC0000094u), "STATUS_INTEGER_DIVIDE_BY_ZERO");
        assert_string_equal(sv_ntstatus_name(0xC000001Du), "STATUS_ILLEGAL_INSTRUCTION");
        assert_string_equal(sv_ntstatus_name(0xC0000374u), "STATUS_HEAP_CORRUPTION");
        assert_string_equal(sv_ntstatus_name(0x80000003u), "STATUS_BREAKPOINT");
        assert_string_equal(sv_ntstatus_name(0xC0000135u), "STATUS_DLL_NOT_FOUND");
        for (code = 0; code < 256; code++)
                assert_null(sv_ntstatus_name((uint32_t) code));
        assert_null(sv_ntstatus_name(0xC0000000u));
}

static void test_ladder_step_without_duration_gets_default_grace(void **state) {
        sv_ladder l;

        (void) state;
        assert_int_equal(sv_ladder_parse("sigterm,9:0", 1234, &l), 0);
        assert_int_equal(l.count, 2);
        assert_int_equal(l.steps[0].signal, SIGTERM);
        assert_int_equal(l.steps[0].grace_ms, 1234);
        assert_int_equal(l.steps[1].signal, SIGKILL);
        assert_int_equal(l.steps[1].grace_ms, 0);
}

static void test_ladder_single_step_is_a_ladder_of_one(void **state) {
        sv_ladder l;

        (void) state;
        assert_int_equal(sv_ladder_parse("KILL", 5000, &l), 0);
        assert_int_equal(l.count, 1);
        assert_int_equal(l.steps[0].signal, SIGKILL);
        assert_int_equal(l.steps[0].grace_ms, 5000);
}

static void test_ladder_max_steps_fit_and_one_more_returns_einval(void **state) {
        char in[256] = "";
        sv_ladder l;
        int i;

        (void) state;
        for (i = 0; i < SV_LADDER_MAX; i++)
                (void) strcat(in, i ? ",HUP:1ms" : "HUP:1ms");
        assert_int_equal(sv_ladder_parse(in, 0, &l), 0);
        assert_int_equal(l.count, SV_LADDER_MAX);
        assert_int_equal(l.steps[SV_LADDER_MAX - 1].grace_ms, 1);

        (void) strcat(in, ",KILL");
        l.count = 42;
        assert_int_equal(sv_ladder_parse(in, 0, &l), UV_EINVAL);
        assert_int_equal(l.count, 42);
}

static void test_ladder_bad_parts_return_einval_and_leave_out_alone(void **state) {
        static const char *const bad[] = {
                "",          ",",          "TERM,",       ",KILL",      "TERM,,KILL",
                "TERM:",     ":5s",        "TERM:5x",     "TERM:5s:1s", "NOPE:5s",
                "TERM;KILL", "TERM, KILL", " TERM",       "0",          "SIG0:1s",
                "TERM:-1s",
                "AVERYLONGSTEPTHATDOESNOTFITINTHEBUFFERAVERYLONGSTEPTHATDOESNOTFIT:1s",
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(bad); i++) {
                sv_ladder l;

                int r;

                memset(&l, 0xab, sizeof(l));
                r = sv_ladder_parse(bad[i], 5000, &l);
                if (r != UV_EINVAL || l.count != 0xababababu)
                        fail_msg("'%s' gave %d, count %u; want UV_EINVAL, output untouched",
                                 bad[i], r, l.count);
        }
}

static void test_ladder_default_is_term_then_kill_with_5s_graces(void **state) {
        sv_ladder l;

        (void) state;
        memset(&l, 0xab, sizeof(l));
        sv_ladder_default(&l);
        assert_int_equal(l.count, 2);
        assert_int_equal(l.steps[0].signal, SIGTERM);
        assert_int_equal(l.steps[0].grace_ms, 5000);
        assert_int_equal(l.steps[1].signal, SIGKILL);
        assert_int_equal(l.steps[1].grace_ms, 5000);
}

/* ---- Enum names. ---- */

static void test_cause_names_are_lowercase_words(void **state) {
        (void) state;
        assert_string_equal(sv_cause_name(SV_CAUSE_EXITED), "exited");
        assert_string_equal(sv_cause_name(SV_CAUSE_SIGNALED), "signaled");
        assert_string_equal(sv_cause_name(SV_CAUSE_STOPPED), "stopped");
        assert_string_equal(sv_cause_name(SV_CAUSE_TIMEOUT), "timeout");
        assert_string_equal(sv_cause_name(SV_CAUSE_COUNT), "unknown");
        assert_string_equal(sv_cause_name((sv_cause) -1), "unknown");
}

static void test_mechanism_names_are_lowercase_words(void **state) {
        (void) state;
        assert_string_equal(sv_mechanism_name(SV_MECH_CGROUP), "cgroup");
        assert_string_equal(sv_mechanism_name(SV_MECH_PROCWALK), "procwalk");
        assert_string_equal(sv_mechanism_name(SV_MECH_PIDNS), "pidns");
        assert_string_equal(sv_mechanism_name(SV_MECH_COUNT), "unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_signal_parse_names_numbers_and_prefixes_give_the_signal),
                cmocka_unit_test(test_signal_parse_realtime_names_count_from_rtmin_and_rtmax),
                cmocka_unit_test(test_signal_parse_garbage_returns_einval),
                cmocka_unit_test(test_signal_parse_null_returns_einval),
                cmocka_unit_test(test_signal_name_known_numbers_give_sig_names),
                cmocka_unit_test(test_signal_name_realtime_names_match_kill_l),
                cmocka_unit_test(test_signal_name_unknown_numbers_give_null),
                cmocka_unit_test(test_signal_name_round_trips_through_parse),
                cmocka_unit_test(test_signal_name_r_every_signal_reads_back),
                cmocka_unit_test(test_signal_name_r_unknown_numbers_give_sig_n),
                cmocka_unit_test(test_duration_units_convert_to_milliseconds),
                cmocka_unit_test(test_duration_fraction_rounds_up_to_whole_milliseconds),
                cmocka_unit_test(test_duration_garbage_returns_einval_and_leaves_out_alone),
                cmocka_unit_test(test_duration_floating_forms_and_inf_parse_as_strtod_reads_them),
                cmocka_unit_test(test_duration_too_large_saturates_to_inf),
                cmocka_unit_test(test_duration_digits_past_64_still_round_up),
                cmocka_unit_test(test_duration_largest_day_count_fits_and_the_next_saturates),
                cmocka_unit_test(test_duration_fraction_that_overflows_when_rounded_saturates),
                cmocka_unit_test(test_ladder_three_steps_keep_their_order_and_graces),
                cmocka_unit_test(test_ladder_step_without_duration_gets_default_grace),
                cmocka_unit_test(test_ladder_break_parses_everywhere_as_the_polite_stop),
                cmocka_unit_test(test_ntstatus_crash_codes_have_names_and_posix_codes_none),
                cmocka_unit_test(test_ladder_single_step_is_a_ladder_of_one),
                cmocka_unit_test(test_ladder_max_steps_fit_and_one_more_returns_einval),
                cmocka_unit_test(test_ladder_bad_parts_return_einval_and_leave_out_alone),
                cmocka_unit_test(test_ladder_default_is_term_then_kill_with_5s_graces),
                cmocka_unit_test(test_cause_names_are_lowercase_words),
                cmocka_unit_test(test_mechanism_names_are_lowercase_words),
        };

        return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
