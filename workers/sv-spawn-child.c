/* sv-spawn-child [MS] - forks one child in our process group that sleeps MS
 * milliseconds (default or "forever": until killed) with stdio on /dev/null,
 * prints "ready <childpid>", waits for it and exits with its exit status, or
 * 128+n if a signal n killed it. Bad argument: one line on stderr, exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

/* A long-lived descendant must not hold the pipe our reader waits on for EOF. */
int main(int argc, char **argv) {
        long long ms = -1;
        pid_t child;
        int status, fds[2];
        char byte;

        if (argc > 2 || (argc == 2 && parse_ms(argv[1], &ms) < 0)) {
                fprintf(stderr, "usage: sv-spawn-child [MS|forever]\n");
                return 2;
        }
        child = wk_fork_with_pipe("sv-spawn-child", fds);
        if (child == 0) {
                stdio_to_null();
                /* "ready" must mean the child no longer holds our stdout. */
                if (write(fds[1], "k", 1) != 1)
                        _exit(1);
                close(fds[1]);
                sleep_ms(ms);
                _exit(0);
        }
        if (wk_read_handshake(fds[0], &byte, 1) < 0)
                fprintf(stderr, "sv-spawn-child: child did not start\n");
        else
                printf("ready %d\n", (int) child);
        fflush(stdout);

        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return 1;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
