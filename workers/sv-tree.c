/* sv-tree N [MS] - (N+1)/2 children, each but the last (N odd) with one
 * grandchild: N descendants, stdio on /dev/null, all sleeping MS (default
 * "forever"). Prints "ready <pid> x N" (any order) once all run, then waits for
 * the children (they wait for theirs), exit 0. Errors: exit 1; bad args: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

#define MAX_N 100000

/* Each descendant writes its pid (one atomic pipe write) and closes its end:
 * EOF on the read end means every descendant that exists has reported. */
static void report_up(int wfd) {
        pid_t self = wk_outer_pid();

        if (write(wfd, &self, sizeof(self)) != (ssize_t) sizeof(self))
                _exit(1);
        close(wfd);
}

static void child_main(int wfd, int with_grandchild, long long ms) {
        pid_t grandchild;

        stdio_to_null();
        if (!with_grandchild) {
                report_up(wfd);
                sleep_ms(ms);
                _exit(0);
        }
        grandchild = fork();
        if (grandchild == 0) {
                report_up(wfd);
                sleep_ms(ms);
                _exit(0);
        }
        report_up(wfd);
        if (grandchild < 0)
                _exit(1);
        while (waitpid(grandchild, NULL, 0) < 0 && errno == EINTR)
                ;
        _exit(0);
}

int main(int argc, char **argv) {
        long long n = 0, ms = -1, i, got = 0;
        pid_t *pids;
        int fds[2];
        ssize_t r;
        char *end;

        if (argc >= 2) {
                errno = 0;
                n = strtoll(argv[1], &end, 10);
                if (errno || end == argv[1] || *end)
                        n = 0;
        }
        if (argc < 2 || argc > 3 || n < 1 || n > MAX_N
            || (argc == 3 && parse_ms(argv[2], &ms) < 0)) {
                fprintf(stderr, "usage: sv-tree N (1..%d) [MS|forever]\n", MAX_N);
                return 2;
        }
        pids = calloc((size_t) n, sizeof(*pids));
        if (!pids || pipe(fds) < 0) {
                perror("sv-tree: setup");
                return 1;
        }
        fflush(NULL);
        for (i = 0; i < (n + 1) / 2; i++) {
                pid_t child = fork();

                if (child < 0) {
                        perror("sv-tree: fork");
                        break;
                }
                if (child == 0) {
                        close(fds[0]);
                        child_main(fds[1], 2 * i + 1 < n, ms);
                }
        }
        close(fds[1]);

        /* Read until EOF rather than until n pids, so that after a failed fork
         * we still learn every pid we must clean up. */
        for (;;) {
                pid_t pid;

                r = read(fds[0], &pid, sizeof(pid));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r != (ssize_t) sizeof(pid))
                        break;
                if (got < n)
                        pids[got++] = pid;
        }
        close(fds[0]);

        if (got == n) {
                printf("ready");
                for (i = 0; i < n; i++)
                        printf(" %d", (int) pids[i]);
                printf("\n");
                fflush(stdout);
        } else {
                fprintf(stderr, "sv-tree: only %lld of %lld descendants started\n", got, n);
                for (i = 0; i < got; i++)
                        kill(pids[i], SIGKILL);
        }
        free(pids);

        while (wait(NULL) >= 0 || errno == EINTR)
                ;
        return got == n ? 0 : 1;
}
