/* pidns_bench - what a PID namespace per worker costs per spawn, against the
 * plain spawn (the procwalk mechanism: the same clone, no namespace, no
 * cgroup) and, where writable, a cgroup per worker. In one process, rounds
 * alternate the mechanisms; each round runs TOTAL copies of CMD (default
 * /bin/true) one after another, and measures the time spent inside
 * sv_spawn (what the supervisor's loop pays) and the wall time per copy
 * from spawn to exit callback. Prints a line per mechanism with medians
 * over the rounds, and the pidns/plain ratios.
 *
 *   pidns_bench [-n TOTAL] [-r ROUNDS] [--] [CMD ARGS...]
 *
 * Exit status 0, 1 if a mechanism is missing or a copy failed, 2 on a usage
 * error. */
#include <unistd.h>

#include "bench.h"
#include "supervise/sv.h"

#define MAX_ROUNDS 64

enum { M_PLAIN, M_PIDNS, M_CGROUP, M_COUNT };
static const char *const names[M_COUNT] = { "plain (procwalk)", "pidns", "cgroup" };

typedef struct run {
        sv_supervisor *sv;
        sv_spawn_opts spawn;
        unsigned long total, done, failed;
        uint64_t in_spawn_us;
        int err;
} run;

static void start_one(run *r) {
        uint64_t t0 = bench_now_us();
        int e = sv_spawn(r->sv, &r->spawn, NULL);

        r->in_spawn_us += bench_now_us() - t0;
        if (e < 0 && !r->err)
                r->err = e;
}

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        run *r = ud;

        (void) w;
        r->done++;
        if (!info->exited || info->code != 0)
                r->failed++;
        if (r->done < r->total && !r->err)
                start_one(r);
}

/* One round of one mechanism: returns 0 and the two per-copy costs. */
static int one_round(int m, unsigned long total, const char *const *argv, double *spawn_us,
                     double *wall_us) {
        static const sv_mechanism want[M_COUNT] = { SV_MECH_PROCWALK, SV_MECH_PIDNS, SV_MECH_CGROUP };
        static const unsigned flags[M_COUNT] = { SV_SUPERVISOR_NO_CGROUP, SV_SUPERVISOR_PIDNS, 0 };
        sv_supervisor_opts so;
        uint64_t t0;
        run r;
        int i;

        memset(&so, 0, sizeof(so));
        so.flags = flags[m] | SV_SUPERVISOR_NO_GUARDIAN;
        memset(&r, 0, sizeof(r));
        r.total = total;
        if (sv_supervisor_new(&so, &r.sv) < 0)
                return -1;
        if (sv_supervisor_mechanism(r.sv) != want[m]) {
                sv_supervisor_free(r.sv);
                return -1;
        }
        r.spawn.argv = argv;
        for (i = 0; i < 3; i++)
                r.spawn.stdio[i] = SV_STDIO_NULL;
        r.spawn.on_exit = on_exit_cb;
        r.spawn.userdata = &r;
        t0 = bench_now_us();
        start_one(&r);
        (void) sv_supervisor_run(r.sv);
        *wall_us = (double) (bench_now_us() - t0) / (double) total;
        *spawn_us = (double) r.in_spawn_us / (double) total;
        sv_supervisor_free(r.sv);
        return r.err || r.failed || r.done != total ? -1 : 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static double median(double *v, int n) {
        qsort(v, (size_t) n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
        static double sp[M_COUNT][MAX_ROUNDS], wa[M_COUNT][MAX_ROUNDS];
        const char *const *cmd = bench_default_cmd;
        unsigned long total = 300, rounds = 7;
        bool have[M_COUNT] = { true, true, true };
        double msp[M_COUNT], mwa[M_COUNT];
        int i, m, rc = 0;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                if (argv[i][0] != '-')
                        break;
                if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && bench_parse_ul(argv[i + 1], &total) == 0)
                        i++;
                else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc &&
                         bench_parse_ul(argv[i + 1], &rounds) == 0 && rounds <= MAX_ROUNDS)
                        i++;
                else {
                        fprintf(stderr, "usage: pidns_bench [-n TOTAL] [-r ROUNDS (<= %d)] [--] "
                                        "[CMD ARGS...]\n", MAX_ROUNDS);
                        return 2;
                }
        }
        if (i < argc)
                cmd = (const char *const *) argv + i;

        for (i = 0; i < (int) rounds; i++) {
                for (m = 0; m < M_COUNT; m++) {
                        if (have[m] && one_round(m, total, cmd, &sp[m][i], &wa[m][i]) < 0) {
                                have[m] = false;
                                if (m != M_CGROUP) {
                                        fprintf(stderr, "pidns_bench: %s: not available or a copy "
                                                        "failed\n", names[m]);
                                        rc = 1;
                                }
                        }
                }
        }
        for (m = 0; m < M_COUNT; m++) {
                if (!have[m])
                        continue;
                msp[m] = median(sp[m], (int) rounds);
                mwa[m] = median(wa[m], (int) rounds);
                printf("mechanism=%-16s copies=%lu rounds=%lu in_sv_spawn_us=%.1f wall_per_copy_us=%.1f\n",
                       names[m], total, rounds, msp[m], mwa[m]);
        }
        if (have[M_PLAIN] && have[M_PIDNS])
                printf("ratio pidns/plain: in_sv_spawn=%.2fx wall_per_copy=%.2fx (uid %d)\n",
                       msp[M_PIDNS] / msp[M_PLAIN], mwa[M_PIDNS] / mwa[M_PLAIN], (int) geteuid());
        return rc;
}
