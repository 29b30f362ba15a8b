/* raw_spawn - the practical limit for spawn-and-reap throughput: a plain C
 * loop of posix_spawnp and waitpid(-1), with no bookkeeping beyond a
 * counter. Runs TOTAL copies of CMD (default /bin/true) with INFLIGHT alive
 * at once and prints one line of key=value results.
 *
 *   raw_spawn [-n TOTAL] [-j INFLIGHT] [-q] [--] [CMD ARGS...]
 *
 * -q puts the children's stdio on /dev/null (default: inherited). Exit
 * status 0 if every child exited 0, 1 otherwise, 2 on a usage error. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static int start(const bench_opts *o, const posix_spawn_file_actions_t *fa) {
        pid_t pid;
        int r;

        r = posix_spawnp(&pid, o->argv[0], fa, NULL, (char *const *) o->argv, environ);
        if (r != 0) {
                fprintf(stderr, "raw_spawn: cannot spawn '%s': %s\n", o->argv[0], strerror(r));
                return -1;
        }
        return 0;
}

int main(int argc, char **argv) {
        posix_spawn_file_actions_t fa, *fap = NULL;
        unsigned long started = 0, done = 0, failed = 0;
        uint64_t t0, t1;
        bench_opts o;
        int status, i;
        pid_t pid;

        if (bench_parse_opts(argc, argv, 0, NULL, &o) < 0) {
                fprintf(stderr, "usage: raw_spawn [-n TOTAL] [-j INFLIGHT] [-q] [--] [CMD ARGS...]\n");
                return 2;
        }
        if (o.quiet) {
                posix_spawn_file_actions_init(&fa);
                for (i = 0; i < 3; i++)
                        posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
                fap = &fa;
        }

        t0 = bench_now_us();
        while (started < o.inflight) {
                if (start(&o, fap) < 0)
                        break;
                started++;
        }
        while (done < started) {
                pid = waitpid(-1, &status, 0);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                done++;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
                if (started < o.total) {
                        if (start(&o, fap) < 0)
                                break;
                        started++;
                }
        }
        t1 = bench_now_us();
        /* A failed spawn leaves children behind: reap them before leaving. */
        while (done < started && waitpid(-1, &status, 0) > 0)
                done++;

        printf("variant=raw total=%lu inflight=%lu done=%lu failed=%lu wall_us=%llu procs_per_s=%.1f "
               "pid=%d\n",
               o.total, o.inflight, done, failed, (unsigned long long) (t1 - t0),
               (double) done * 1e6 / (double) (t1 - t0 ? t1 - t0 : 1), (int) getpid());
        if (fap)
                posix_spawn_file_actions_destroy(fap);
        return failed || done != o.total ? 1 : 0;
}
