/* escapee_tree N - the shape of workers/sv-tree N (so the two trees differ
 * only in escapees): (N+1)/2 children, each but the last (N odd) with one
 * grandchild, N descendants in all, every one sleeping until killed with
 * stdio on /dev/null. Every second grandchild calls setsid() first, leaving
 * our process group and session, the way a daemonizing program does; those
 * are the processes killpg cannot reach.
 *
 * Prints "ready <pid> x N" (each pid once, any order) when every descendant
 * runs and every escapee has left the group, then waits for its children.
 * Bench-only: workers/ holds the test workers, and this shape is what the
 * tree-kill benchmark needs. Errors: exit 1; bad args: exit 2. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_N 100000

static void stdio_to_null(void) {
        int fd = open("/dev/null", O_RDWR);

        if (fd < 0)
                _exit(1);
        (void) dup2(fd, 0);
        (void) dup2(fd, 1);
        (void) dup2(fd, 2);
        if (fd > 2)
                close(fd);
}

/* One atomic pipe write per descendant; EOF once every writer has closed. */
static void report_up(int wfd) {
        pid_t self = getpid();

        if (write(wfd, &self, sizeof(self)) != (ssize_t) sizeof(self))
                _exit(1);
        close(wfd);
}

static void sleep_forever(void) {
        for (;;)
                pause();
}

static void child_main(int wfd, int with_grandchild, int escape) {
        pid_t grandchild;

        stdio_to_null();
        if (!with_grandchild) {
                report_up(wfd);
                sleep_forever();
        }
        grandchild = fork();
        if (grandchild == 0) {
                if (escape && setsid() < 0)
                        _exit(1);
                report_up(wfd);
                sleep_forever();
        }
        report_up(wfd);
        if (grandchild < 0)
                _exit(1);
        while (waitpid(grandchild, NULL, 0) < 0 && errno == EINTR)
                ;
        _exit(0);
}

int main(int argc, char **argv) {
        unsigned long n = 0, i, got = 0;
        pid_t *pids, pid;
        int fds[2];
        ssize_t r;

        if (argc != 2 || bench_parse_ul(argv[1], &n) < 0 || n > MAX_N) {
                fprintf(stderr, "usage: escapee_tree N (1..%d)\n", MAX_N);
                return 2;
        }
        pids = calloc(n, sizeof(*pids));
        if (!pids || pipe(fds) < 0) {
                perror("escapee_tree: setup");
                return 1;
        }
        fflush(NULL);
        for (i = 0; i < (n + 1) / 2; i++) {
                pid = fork();
                if (pid < 0) {
                        perror("escapee_tree: fork");
                        break;
                }
                if (pid == 0) {
                        close(fds[0]);
                        child_main(fds[1], 2 * i + 1 < n, (int) (i % 2));
                }
        }
        close(fds[1]);

        /* Read to EOF, not to n pids: after a failed fork we still learn
         * every pid we must clean up. */
        for (;;) {
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
                fprintf(stderr, "escapee_tree: only %lu of %lu descendants started\n", got, n);
                for (i = 0; i < got; i++)
                        (void) kill(pids[i], SIGKILL);
        }
        free(pids);
        while (wait(NULL) >= 0 || errno == EINTR)
                ;
        return got == n ? 0 : 1;
}
