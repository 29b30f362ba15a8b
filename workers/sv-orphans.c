/* sv-orphans N MS - makes N orphans, one after another: a child forks a
 * grandchild and exits, the grandchild exits at once, so whoever adopts it
 * (our subreaper, or PID 1 of our namespace) must reap it. After each, waits
 * until the orphan's pid is gone (reaped, not merely a zombie) and fails if
 * that takes longer than MS milliseconds. Prints "reaped N orphans, slowest
 * <ms> ms" and exits 0; too slow: one line on stderr, exit 1. Errors: exit 1;
 * bad args: exit 2. */
#include <signal.h>
#include <sys/wait.h>

#include "wk.h"

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The orphan's pid, once its parent has exited. */
static pid_t make_orphan(void) {
        pid_t child, orphan;
        int fds[2];

        child = wk_fork_with_pipe("sv-orphans", fds);
        if (child == 0) {
                orphan = fork();
                if (orphan < 0)
                        _exit(1);
                if (orphan == 0)
                        _exit(0);
                if (write(fds[1], &orphan, sizeof(orphan)) != (ssize_t) sizeof(orphan))
                        _exit(1);
                _exit(0);
        }
        if (wk_read_handshake(fds[0], &orphan, sizeof(orphan)) < 0 ||
            waitpid(child, NULL, 0) != child) {
                fprintf(stderr, "sv-orphans: the middle child failed\n");
                exit(1);
        }
        return orphan;
}

int main(int argc, char **argv) {
        long long n, limit, i, t0, waited, slowest = 0;
        pid_t orphan;

        if (argc != 3 || parse_ms(argv[1], &n) < 0 || n < 1 || parse_ms(argv[2], &limit) < 0 ||
            limit < 0) {
                fprintf(stderr, "usage: sv-orphans N MS\n");
                return 2;
        }
        for (i = 0; i < n; i++) {
                orphan = make_orphan();
                t0 = now_ms();
                /* A zombie still answers kill(0); only its reaping ends that.
                 * Nothing to block on for someone else's reap: poll. */
                while (kill(orphan, 0) == 0) {
                        waited = now_ms() - t0;
                        if (waited > limit) {
                                fprintf(stderr, "sv-orphans: orphan %d not reaped after %lld ms\n",
                                        (int) orphan, waited);
                                return 1;
                        }
                        sleep_ms(1);
                }
                waited = now_ms() - t0;
                if (waited > slowest)
                        slowest = waited;
        }
        printf("reaped %lld orphans, slowest %lld ms\n", n, slowest);
        return 0;
}
