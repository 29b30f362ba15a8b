/* wall - times a command from spawn to reap, so the driver needs no shell
 * arithmetic and no `date` processes in the timed window.
 *
 *   wall [-n RUNS] [-q] [--] CMD ARGS...
 *
 * Runs CMD RUNS times (default 1), one after another, and prints one line
 * per run: "wall_us=<microseconds> status=<shell-style status>". -q puts the
 * command's stdout and stderr on /dev/null. Exit status 0 unless CMD could
 * not be started (1) or the command line is wrong (2). */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

int main(int argc, char **argv) {
        posix_spawn_file_actions_t fa, *fap = NULL;
        unsigned long runs = 1, i;
        uint64_t t0, t1;
        int status, quiet = 0, a, r;
        pid_t pid;

        for (a = 1; a < argc && argv[a][0] == '-'; a++) {
                if (strcmp(argv[a], "--") == 0) {
                        a++;
                        break;
                }
                if (strcmp(argv[a], "-q") == 0) {
                        quiet = 1;
                } else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc &&
                           bench_parse_ul(argv[a + 1], &runs) == 0) {
                        a++;
                } else {
                        a = argc;
                        break;
                }
        }
        if (a >= argc) {
                fprintf(stderr, "usage: wall [-n RUNS] [-q] [--] CMD ARGS...\n");
                return 2;
        }
        if (quiet) {
                posix_spawn_file_actions_init(&fa);
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
                fap = &fa;
        }
        for (i = 0; i < runs; i++) {
                t0 = bench_now_us();
                r = posix_spawnp(&pid, argv[a], fap, NULL, argv + a, environ);
                if (r != 0) {
                        fprintf(stderr, "wall: cannot spawn '%s': %s\n", argv[a], strerror(r));
                        return 1;
                }
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                t1 = bench_now_us();
                printf("wall_us=%llu status=%d\n", (unsigned long long) (t1 - t0),
                       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                fflush(stdout);
        }
        if (fap)
                posix_spawn_file_actions_destroy(fap);
        return 0;
}
