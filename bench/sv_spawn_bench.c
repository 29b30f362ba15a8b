/* sv_spawn_bench - our core's spawn-and-reap throughput: TOTAL copies of CMD
 * (default /bin/true) through sv_spawn, INFLIGHT alive at once, each exit
 * callback starting the next one. Same command line and output as
 * raw_spawn, so the driver can compare the two line by line.
 *
 *   sv_spawn_bench [-n TOTAL] [-j INFLIGHT] [-q] [-m cgroup|procwalk] [--] [CMD ARGS...]
 *
 * -m picks the tree mechanism (default: the library's choice, cgroup where
 * writable). Exit status 0 if every child exited 0, 1 otherwise, 2 on a
 * usage error. */
#include <unistd.h>

#include "bench.h"
#include "supervise/sv.h"

typedef struct bench {
        sv_supervisor *sv;
        sv_spawn_opts spawn;
        unsigned long total, started, done, failed;
        int err; /* first sv_spawn error; no more spawns after it */
} bench;

static int start_one(bench *b) {
        int r;

        r = sv_spawn(b->sv, &b->spawn, NULL);
        if (r < 0) {
                if (!b->err)
                        b->err = r;
                return r;
        }
        b->started++;
        return 0;
}

static void worker_exited(sv_worker *w, const sv_exit_info *info, void *userdata) {
        bench *b = userdata;

        (void) w;
        b->done++;
        if (!info->exited || info->code != 0)
                b->failed++;
        if (b->started < b->total && !b->err)
                (void) start_one(b);
}

int main(int argc, char **argv) {
        sv_supervisor_opts so;
        const char *mech = NULL;
        uint64_t t0, t1;
        bench_opts o;
        bench b;
        int i, r;

        if (bench_parse_opts(argc, argv, 'm', &mech, &o) < 0 ||
            (mech && strcmp(mech, "cgroup") != 0 && strcmp(mech, "procwalk") != 0)) {
                fprintf(stderr, "usage: sv_spawn_bench [-n TOTAL] [-j INFLIGHT] [-q] "
                                "[-m cgroup|procwalk] [--] [CMD ARGS...]\n");
                return 2;
        }
        memset(&so, 0, sizeof(so));
        if (mech && strcmp(mech, "procwalk") == 0)
                so.flags |= SV_SUPERVISOR_NO_CGROUP;
        memset(&b, 0, sizeof(b));
        b.total = o.total;
        r = sv_supervisor_new(&so, &b.sv);
        if (r < 0) {
                fprintf(stderr, "sv_spawn_bench: cannot create supervisor: %s\n", uv_strerror(r));
                return 1;
        }
        if (mech && strcmp(mech, "cgroup") == 0 && sv_supervisor_mechanism(b.sv) != SV_MECH_CGROUP) {
                fprintf(stderr, "sv_spawn_bench: cgroup mechanism not available here\n");
                sv_supervisor_free(b.sv);
                return 1;
        }
        b.spawn.argv = o.argv;
        for (i = 0; i < 3; i++)
                b.spawn.stdio[i] = o.quiet ? SV_STDIO_NULL : SV_STDIO_INHERIT;
        b.spawn.on_exit = worker_exited;
        b.spawn.userdata = &b;

        t0 = bench_now_us();
        while (b.started < o.inflight && start_one(&b) == 0)
                ;
        (void) sv_supervisor_run(b.sv);
        t1 = bench_now_us();
        if (b.err)
                fprintf(stderr, "sv_spawn_bench: cannot spawn '%s': %s\n", o.argv[0],
                        uv_strerror(b.err));

        printf("variant=sv mechanism=%s total=%lu inflight=%lu done=%lu failed=%lu wall_us=%llu "
               "procs_per_s=%.1f pid=%d\n",
               sv_mechanism_name(sv_supervisor_mechanism(b.sv)), o.total, o.inflight, b.done,
               b.failed, (unsigned long long) (t1 - t0),
               (double) b.done * 1e6 / (double) (t1 - t0 ? t1 - t0 : 1), (int) getpid());
        sv_supervisor_free(b.sv);
        return b.failed || b.done != o.total ? 1 : 0;
}
