/* test_fsm_cgpool.c - the pool of worker cgroups on the fake platform:
 * every cgroup number is made once, by one thread, also while the thread
 * that makes them ahead starts up. Two cgroups of one number were one
 * directory: removed with the first that got cgroup.kill while the other
 * still sat in the pool, so the next spawn into it failed with ENOENT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "platform_fake.h"

/* More than the 8 misses in a row that start the maker thread. */
#define NGET 12
#define NALL (NGET + SV_CG_AHEAD)

static void test_each_cgroup_number_is_made_once(void **state) {
        unsigned made[NALL + 8];
        sv__cg *cgs[NGET];
        sv_supervisor *sv;
        int i, j, n;

        (void) state;
        sv_fake_reset();
        sv_fake_state.cgroups = true;
        assert_int_equal(sv_supervisor_new(NULL, &sv), 0);
        assert_int_equal(sv_supervisor_mechanism(sv), SV_MECH_CGROUP);
        for (i = 0; i < NGET; i++)
                assert_int_equal(sv__cg_get(sv, &cgs[i]), 0);
        /* The thread fills its SV_CG_AHEAD; a name made twice would be
         * refused (as Linux's mkdir does) and stop it short of that. */
        n = sv_fake_cg_created(made, NALL + 8, NALL, 10000);
        assert_int_equal(n, NALL);
        for (i = 0; i < n; i++)
                for (j = i + 1; j < n; j++)
                        if (made[i] == made[j])
                                fail_msg("cgroup w%u made twice (calls %d and %d)", made[i], i, j);
        for (i = 0; i < NGET; i++)
                for (j = i + 1; j < NGET; j++)
                        assert_string_not_equal(cgs[i]->path, cgs[j]->path);
        for (i = 0; i < NGET; i++)
                sv__cg_put(sv, cgs[i]);
        sv_supervisor_free(sv);
        sv_fake_state.cgroups = false;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_cgroup_number_is_made_once),
        };

        return cmocka_run_group_tests_name("cgroup pool (fake)", tests, NULL, NULL);
}
