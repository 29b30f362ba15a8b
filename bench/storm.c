/* storm - 100,000 short workers, at most 64 alive at once, with random
 * stops (see storm.h), must leave the supervisor's fd count and RSS where
 * they were. The fd baseline is taken once INFLIGHT workers have been alive
 * at once, the RSS baseline after a warm-up storm of WARMUP workers as well:
 * the first 64 live workers legitimately grow the heap, libuv's tables and
 * the cgroup pool (3 fds per pooled cgroup) once. What a storm must not do
 * is grow them further, worker after worker.
 *
 *   storm [-n TOTAL] [-j INFLIGHT] [-s SEED] [-w WARMUP] [-F FD_SLACK]
 *         [-R RSS_SLACK_KB] [-m cgroup|procwalk] [-d WORKERS_DIR]
 *
 * Prints the seed first (-s repeats a storm), then one line of results;
 * fds are shown as OTHER+CGROUP: fds on the cgroup pool's files are counted
 * (and bounded by the filled pool) apart from all others, since the pool
 * shrinks during a storm and would hide a leak of other fds.
 * Exit status 0: every worker reaped and ending as its kind says, fds within
 * FD_SLACK (default 2) and RSS within RSS_SLACK_KB (default 1024) of the
 * baseline; 1 otherwise; 2 on a usage error. */
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "storm.h"

#ifndef SV_WORKERS_DIR
#define SV_WORKERS_DIR "workers"
#endif

typedef struct storm_opts {
        unsigned long total, inflight, warmup, fd_slack, rss_slack_kb;
        uint64_t seed;
        const char *mech;
        const char *dir;
} storm_opts;

static int parse_args(int argc, char **argv, storm_opts *o) {
        int c;

        o->total = 100000;
        o->inflight = 64;
        o->warmup = 2000;
        o->fd_slack = 2;
        o->rss_slack_kb = 1024;
        o->seed = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        o->mech = NULL;
        o->dir = SV_WORKERS_DIR;
        while ((c = getopt(argc, argv, "n:j:s:w:F:R:m:d:")) != -1) {
                unsigned long v = 0;

                if (c == 'm' || c == 'd') {
                        if (c == 'm')
                                o->mech = optarg;
                        else
                                o->dir = optarg;
                        continue;
                }
                /* -w and -F may be 0; the others must be positive. */
                if (c == '?' || (bench_parse_ul(optarg, &v) < 0 && strcmp(optarg, "0") != 0))
                        return -1;
                if (v == 0 && c != 'w' && c != 'F' && c != 's')
                        return -1;
                switch (c) {
                case 'n': o->total = v; break;
                case 'j': o->inflight = v; break;
                case 's': o->seed = strtoull(optarg, NULL, 10); break;
                case 'w': o->warmup = v; break;
                case 'F': o->fd_slack = v; break;
                case 'R': o->rss_slack_kb = v; break;
                }
        }
        if (optind != argc || (o->mech && strcmp(o->mech, "cgroup") != 0 &&
                               strcmp(o->mech, "procwalk") != 0))
                return -1;
        return 0;
}

/* Runs one storm and says on stderr what went wrong with it. Returns 0 if
 * every worker was reaped and ended as its kind says. */
static int run_one(sv_supervisor *sv, const storm_opts *o, unsigned long total, uint64_t *seed,
                   storm *st) {
        int r = storm_run(sv, o->dir, total, o->inflight, seed, st);

        if (r < 0)
                fprintf(stderr, "storm: cannot spawn in '%s': %s\n", o->dir, uv_strerror(r));
        if (st->done != total)
                fprintf(stderr, "storm: %lu of %lu workers reaped\n", st->done, total);
        if (st->unexpected)
                fprintf(stderr, "storm: %lu workers ended unlike their kind; first: %s\n",
                        st->unexpected, st->first_unexpected);
        return r < 0 || st->done != total || st->unexpected ? 1 : 0;
}

int main(int argc, char **argv) {
        sv_supervisor_opts so;
        sv_supervisor *sv;
        storm_opts o;
        storm st;
        uint64_t seed, t0, t1;
        int fd0, fd1, fd_start, cg0 = -1, cg1 = -1, cg_start, r, bad = 0, k;
        long rss0, rss1, rss_start;

        if (parse_args(argc, argv, &o) < 0) {
                fprintf(stderr, "usage: storm [-n TOTAL] [-j INFLIGHT] [-s SEED] [-w WARMUP] "
                                "[-F FD_SLACK] [-R RSS_SLACK_KB] [-m cgroup|procwalk] "
                                "[-d WORKERS_DIR]\n");
                return 2;
        }
        printf("seed=%" PRIu64 "\n", o.seed);
        fflush(stdout);
        seed = o.seed;
        memset(&so, 0, sizeof(so));
        if (o.mech && strcmp(o.mech, "procwalk") == 0)
                so.flags |= SV_SUPERVISOR_NO_CGROUP;
        r = sv_supervisor_new(&so, &sv);
        if (r < 0) {
                fprintf(stderr, "storm: cannot create supervisor: %s\n", uv_strerror(r));
                return 1;
        }
        if (o.mech && strcmp(o.mech, "cgroup") == 0 && sv_supervisor_mechanism(sv) != SV_MECH_CGROUP) {
                fprintf(stderr, "storm: cgroup mechanism not available here\n");
                sv_supervisor_free(sv);
                return 1;
        }
        if (storm_fds(&fd_start, &cg_start) < 0)
                fd_start = cg_start = -1;
        rss_start = storm_rss_kb();
        r = storm_fill(sv, o.dir, o.inflight);
        if (r < 0) {
                fprintf(stderr, "storm: cannot spawn in '%s': %s\n", o.dir, uv_strerror(r));
                bad = 1;
        }
        /* The pool now holds INFLIGHT cgroups, the most it ever holds (a
         * killed cgroup is removed, not pooled, so the count drops during a
         * storm): the fd baseline. The heap needs the warm-up storm too. */
        if (storm_fds(&fd0, &cg0) < 0)
                fd0 = cg0 = -1;
        if (o.warmup)
                bad |= run_one(sv, &o, o.warmup, &seed, &st);
        rss0 = storm_rss_kb();
        t0 = bench_now_us();
        bad |= run_one(sv, &o, o.total, &seed, &st);
        t1 = bench_now_us();
        if (storm_fds(&fd1, &cg1) < 0)
                fd1 = cg1 = -1;
        rss1 = storm_rss_kb();

        printf("mechanism=%s total=%lu inflight=%lu warmup=%lu done=%lu wall_ms=%" PRIu64
               " fds_start=%d+%d fds_filled=%d+%d fds_after=%d+%d rss_kb_start=%ld "
               "rss_kb_warm=%ld rss_kb_after=%ld",
               sv_mechanism_name(sv_supervisor_mechanism(sv)), o.total, o.inflight, o.warmup,
               st.done, (t1 - t0) / 1000, fd_start, cg_start, fd0, cg0, fd1, cg1, rss_start, rss0,
               rss1);
        for (k = 0; k < STORM_KIND_COUNT; k++)
                printf(" %s=%lu", storm_kind_names[k], st.kinds[k]);
        printf("\n");
        if (fd0 < 0 || fd1 < 0 || fd1 - fd0 > (long) o.fd_slack) {
                fprintf(stderr, "storm: fds grew from %d to %d (slack %lu)\n", fd0, fd1,
                        o.fd_slack);
                bad = 1;
        }
        if (cg1 > cg0 + (long) o.fd_slack) {
                fprintf(stderr, "storm: cgroup fds grew from %d to %d (slack %lu)\n", cg0, cg1,
                        o.fd_slack);
                bad = 1;
        }
        if (rss0 < 0 || rss1 < 0 || rss1 - rss0 > (long) o.rss_slack_kb) {
                fprintf(stderr, "storm: RSS grew from %ld to %ld KiB (slack %lu)\n", rss0, rss1,
                        o.rss_slack_kb);
                bad = 1;
        }
        sv_supervisor_free(sv);
        return bad;
}
