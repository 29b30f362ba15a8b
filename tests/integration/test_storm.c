/* test_storm.c - a storm of short workers with random stops (bench/storm.h:
 * exits, ladder stops with and without escalation, SIGKILLs, timeouts), at
 * most 64 alive at once, leaves the supervisor's fd count and RSS where they
 * were, every worker reaped and ending as its kind says. The short version of
 * bench/storm (100,000 workers). SV_STORM_N scales it (default 2000),
 * SV_STORM_SEED repeats a storm; the seed is printed either way. Under
 * valgrind the default is 200 (about 40 s in all), and the RSS bound is left
 * to memcheck's leak check, since VmRSS then measures valgrind's shadow
 * memory; the same under AddressSanitizer, whose quarantine grows RSS. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../bench/storm.h"
#include "supervise/sv.h"
#include "svtest.h"

#define INFLIGHT 64
#define FD_SLACK 2
#define RSS_SLACK_KB 1024

static unsigned long env_ul(const char *name, unsigned long dflt) {
        const char *s = getenv(name);
        char *end;
        unsigned long v;

        if (!s || !*s)
                return dflt;
        v = strtoul(s, &end, 10);
        if (*end)
                fail_msg("%s='%s' is not a number", name, s);
        return v;
}

/* AddressSanitizer keeps freed memory in a quarantine of up to 256 MB, so
 * RSS grows with every free there: its leak check judges the heap instead. */
#if defined(__SANITIZE_ADDRESS__)
#define SV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SV_ASAN 1
#endif
#endif
#ifndef SV_ASAN
#define SV_ASAN 0
#endif

/* Valgrind answers /proc/self/exe with the client's path, but it must
 * preload its own libraries into the client. */
static bool under_valgrind(void) {
        const char *pre = getenv("LD_PRELOAD");

        return pre && strstr(pre, "vgpreload") != NULL;
}

#define WHY_LEN 320

/* Runs one storm; on failure says why in why[WHY_LEN] and returns false. */
static bool run_storm(sv_supervisor *sv, unsigned long n, uint64_t *seed, char *why) {
        storm st;
        int r;

        r = storm_run(sv, SV_WORKERS_DIR, n, INFLIGHT, seed, &st);
        if (r < 0)
                (void) snprintf(why, WHY_LEN, "cannot spawn: %s", uv_strerror(r));
        else if (st.done != n)
                (void) snprintf(why, WHY_LEN, "%lu of %lu workers reaped", st.done, n);
        else if (st.unexpected)
                (void) snprintf(why, WHY_LEN, "%lu of %lu workers ended unlike their kind; first: %s",
                                st.unexpected, n, st.first_unexpected);
        else
                return true;
        return false;
}

/* Before and after a storm. */
typedef struct level {
        int fds, cg_fds;
        long rss_kb;
} level;

/* Returns true if `after` is within the slack of `before`, else says why. */
static bool flat(const level *before, const level *after, unsigned long n, char *why) {
        if (before->fds <= 0 || after->fds > before->fds + FD_SLACK)
                (void) snprintf(why, WHY_LEN, "fds grew from %d to %d over %lu workers",
                                before->fds, after->fds, n);
        /* The pool was at its fullest after the fill; it shrinks when
         * killed cgroups are removed, and must never outgrow that. */
        else if (after->cg_fds > before->cg_fds + FD_SLACK)
                (void) snprintf(why, WHY_LEN, "cgroup fds grew from %d to %d over %lu workers",
                                before->cg_fds, after->cg_fds, n);
        else if (!under_valgrind() && !SV_ASAN && after->rss_kb > before->rss_kb + RSS_SLACK_KB)
                (void) snprintf(why, WHY_LEN, "RSS grew from %ld to %ld KiB over %lu workers",
                                before->rss_kb, after->rss_kb, n);
        else
                return true;
        return false;
}

/* `share`: the part of SV_STORM_N to run, in percent. */
static void check_storm(unsigned flags, unsigned long share) {
        unsigned long n = env_ul("SV_STORM_N", under_valgrind() ? 200 : 2000) * share / 100;
        uint64_t seed = env_ul("SV_STORM_SEED", (unsigned long) time(NULL) ^ (unsigned long) getpid());
        uint64_t first_seed = seed, t0;
        level before = { -1, -1, -1 }, after = { -1, -1, -1 };
        sv_supervisor_opts so;
        sv_supervisor *sv;
        char why[WHY_LEN] = "";

        print_message("storm: %lu workers, seed %" PRIu64 " (SV_STORM_SEED repeats it)\n", n, seed);
        memset(&so, 0, sizeof(so));
        so.flags = flags;
        assert_int_equal(sv_supervisor_new(&so, &sv), 0);
        /* High-water marks first (see bench/storm.c): the cgroup pool at 64,
         * then the heap after a warm-up storm. */
        if (storm_fill(sv, SV_WORKERS_DIR, INFLIGHT) < 0) {
                (void) snprintf(why, sizeof(why), "cannot fill %d workers", INFLIGHT);
                goto done;
        }
        (void) storm_fds(&before.fds, &before.cg_fds);
        if (!run_storm(sv, n / 4, &seed, why))
                goto done;
        before.rss_kb = storm_rss_kb();

        t0 = uv_hrtime();
        if (!run_storm(sv, n, &seed, why))
                goto done;
        (void) storm_fds(&after.fds, &after.cg_fds);
        after.rss_kb = storm_rss_kb();
        print_message("storm: mechanism %s, %" PRIu64 " ms, fds %d -> %d, cgroup fds %d -> %d, "
                      "RSS %ld -> %ld KiB\n",
                      sv_mechanism_name(sv_supervisor_mechanism(sv)), (uv_hrtime() - t0) / 1000000,
                      before.fds, after.fds, before.cg_fds, after.cg_fds, before.rss_kb,
                      after.rss_kb);
        (void) flat(&before, &after, n, why);
done:
        /* Free the supervisor (and its workers and guardian) before failing,
         * so that a failure here leaves nothing behind for the next test. */
        sv_supervisor_free(sv);
        svt_assert_no_children();
        if (why[0])
                fail_msg("%s (seed %" PRIu64 ")", why, first_seed);
}

static void test_storm_of_short_workers_leaves_fds_and_rss_flat(void **state) {
        (void) state;
        check_storm(0, 100);
}

static void test_storm_procwalk_leaves_fds_and_rss_flat(void **state) {
        (void) state;
        /* Every stop walks /proc here, about 4 times slower than cgroups. */
        check_storm(SV_SUPERVISOR_NO_CGROUP, 50);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_storm_of_short_workers_leaves_fds_and_rss_flat),
                cmocka_unit_test(test_storm_procwalk_leaves_fds_and_rss_flat),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
