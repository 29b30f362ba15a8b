/* test_pool_backoff.c - the arithmetic under sv_pool's restarts: delays
 * that double from the minimum, carry at most a quarter of jitter, grow
 * strictly until the cap and never exceed it; the crash-loop window; and
 * the parsers of --restart and --restart-delay. No process, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/pool_internal.h"

static void test_delay_doubles_to_the_cap_without_jitter(void **state) {
        (void) state;
        assert_int_equal(sv__backoff_delay(100, 30000, 1, 0), 100);
        assert_int_equal(sv__backoff_delay(100, 30000, 2, 0), 200);
        assert_int_equal(sv__backoff_delay(100, 30000, 5, 0), 1600);
        assert_int_equal(sv__backoff_delay(100, 30000, 9, 0), 25600);
        assert_int_equal(sv__backoff_delay(100, 30000, 10, 0), 30000);
        assert_int_equal(sv__backoff_delay(100, 30000, 1000000, 0), 30000);
        /* A cap below the minimum is the minimum. */
        assert_int_equal(sv__backoff_delay(500, 100, 3, 0), 500);
}

static void test_jitter_stays_within_a_quarter_and_delays_grow(void **state) {
        uint32_t rnd = 12345;
        uint64_t prev_max = 0, d, base;
        unsigned n, k;

        (void) state;
        for (n = 1; n <= 12; n++) {
                base = sv__backoff_delay(100, 30000, n, 0);
                /* The largest jitter: rnd % (base/4 + 1) == base/4. */
                assert_int_equal(sv__backoff_delay(100, 30000, n, (uint32_t) (base / 4)),
                                 base - base / 4);
                for (k = 0; k < 200; k++) {
                        d = sv__backoff_delay(100, 30000, n, sv__backoff_rand(&rnd));
                        assert_true(d <= base && d <= 30000);
                        assert_true(d >= base - base / 4);
                        if (base < 30000)
                                assert_true(d > prev_max || n == 1);
                }
                prev_max = base;
        }
}

static void test_crash_window(void **state) {
        sv__crashes *c = NULL;

        (void) state;
        /* 3 within 1000 ms: the fourth inside the window is refused. */
        assert_true(sv__crashes_allow(&c, 3, 1000, 10));
        assert_true(sv__crashes_allow(&c, 3, 1000, 20));
        assert_true(sv__crashes_allow(&c, 3, 1000, 30));
        assert_false(sv__crashes_allow(&c, 3, 1000, 1009));
        /* The first fell out of the window at 1010. */
        assert_true(sv__crashes_allow(&c, 3, 1000, 1010));
        assert_false(sv__crashes_allow(&c, 3, 1000, 1011));
        sv__crashes_clear(&c);
        /* Window 0: 2 ever. */
        assert_true(sv__crashes_allow(&c, 2, 0, 1));
        assert_true(sv__crashes_allow(&c, 2, 0, 1000000));
        assert_false(sv__crashes_allow(&c, 2, 0, 99000000));
        sv__crashes_clear(&c);
        /* max 0: never give up. */
        assert_true(sv__crashes_allow(&c, 0, 0, 1));
        sv__crashes_clear(&c);
}

static void test_parsers(void **state) {
        sv_restart_policy p = SV_RESTART_COUNT;
        uint64_t lo = 7, hi = 7;

        (void) state;
        assert_int_equal(sv_restart_policy_parse("on-failure", &p), 0);
        assert_int_equal(p, SV_RESTART_ON_FAILURE);
        assert_int_equal(sv_restart_policy_parse("always", &p), 0);
        assert_int_equal(p, SV_RESTART_ALWAYS);
        assert_int_equal(sv_restart_policy_parse("no", &p), 0);
        assert_int_equal(p, SV_RESTART_NO);
        assert_int_equal(sv_restart_policy_parse("On-Failure", &p), UV_EINVAL);
        assert_int_equal(sv_restart_policy_parse("", &p), UV_EINVAL);
        assert_string_equal(sv_restart_policy_name(SV_RESTART_ON_FAILURE), "on-failure");
        assert_string_equal(sv_slot_state_name(SV_SLOT_BACKOFF), "backoff");

        assert_int_equal(sv_restart_delay_parse("100ms..30s", &lo, &hi), 0);
        assert_int_equal(lo, 100);
        assert_int_equal(hi, 30000);
        assert_int_equal(sv_restart_delay_parse("2s", &lo, &hi), 0);
        assert_int_equal(lo, 2000);
        assert_int_equal(hi, 30000);
        assert_int_equal(sv_restart_delay_parse("1m", &lo, &hi), 0);
        assert_int_equal(lo, 60000);
        assert_int_equal(hi, 60000);
        lo = hi = 7;
        assert_int_equal(sv_restart_delay_parse("5s..1s", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("0..1s", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("1s..inf", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("1s..", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("..1s", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("1s...2s", &lo, &hi), UV_EINVAL);
        assert_int_equal(sv_restart_delay_parse("", &lo, &hi), UV_EINVAL);
        assert_int_equal(lo, 7);
        assert_int_equal(hi, 7);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_delay_doubles_to_the_cap_without_jitter),
                cmocka_unit_test(test_jitter_stays_within_a_quarter_and_delays_grow),
                cmocka_unit_test(test_crash_window),
                cmocka_unit_test(test_parsers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
