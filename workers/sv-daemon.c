/* sv-daemon [MS] [exit] - classic double fork: fork, setsid, fork, the middle
 * one exits; the daemon does chdir("/"), stdio on /dev/null, sleeps MS (default
 * "forever"). Prints "ready <daemonpid>" (as /proc names it) after reaping the middle one, then
 * pauses forever, or with "exit" exits 0. Errors: exit 1; bad args: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

static void intermediate_main(int wfd, long long ms) {
        pid_t daemon_pid;

        if (setsid() < 0)
                _exit(1);
        daemon_pid = fork();
        if (daemon_pid < 0)
                _exit(1);
        if (daemon_pid > 0)
                _exit(0);
        if (chdir("/") < 0)
                _exit(1);
        stdio_to_null();
        daemon_pid = wk_outer_pid();
        if (write(wfd, &daemon_pid, sizeof(daemon_pid)) != (ssize_t) sizeof(daemon_pid))
                _exit(1);
        close(wfd);
        sleep_ms(ms);
        _exit(0);
}

int main(int argc, char **argv) {
        long long ms;
        int exit_after, fds[2], status, started;
        pid_t child, daemon_pid;

        if (wk_parse_ms_exit(argc, argv, &ms, &exit_after) < 0)
                goto usage;
        child = wk_fork_with_pipe("sv-daemon", fds);
        if (child == 0)
                intermediate_main(fds[1], ms);
        started = wk_read_handshake(fds[0], &daemon_pid, sizeof(daemon_pid)) == 0;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return 1;
        if (!started || !WIFEXITED(status) || WEXITSTATUS(status)) {
                fprintf(stderr, "sv-daemon: daemon did not start\n");
                return 1;
        }

        printf("ready %d\n", (int) daemon_pid);
        fflush(stdout);
        if (exit_after)
                return 0;
        for (;;)
                pause();

usage:
        fprintf(stderr, "usage: sv-daemon [MS|forever] [exit]\n");
        return 2;
}
