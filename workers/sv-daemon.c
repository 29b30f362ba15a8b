/* sv-daemon [MS] [exit] - classic double fork: fork, setsid, fork, the middle
 * one exits; the daemon does chdir("/"), stdio on /dev/null, sleeps MS (default
 * "forever"). Prints "ready <daemonpid>" after reaping the middle one, then
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
        daemon_pid = getpid();
        if (write(wfd, &daemon_pid, sizeof(daemon_pid)) != (ssize_t) sizeof(daemon_pid))
                _exit(1);
        close(wfd);
        sleep_ms(ms);
        _exit(0);
}

int main(int argc, char **argv) {
        long long ms = -1;
        int exit_after = 0, have_ms = 0, i, fds[2], status;
        pid_t child, daemon_pid;
        ssize_t r;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "exit") == 0 && !exit_after)
                        exit_after = 1;
                else if (!have_ms && parse_ms(argv[i], &ms) == 0)
                        have_ms = 1;
                else
                        goto usage;
        }
        if (pipe(fds) < 0) {
                perror("sv-daemon: pipe");
                return 1;
        }
        fflush(NULL);
        child = fork();
        if (child < 0) {
                perror("sv-daemon: fork");
                return 1;
        }
        if (child == 0) {
                close(fds[0]);
                intermediate_main(fds[1], ms);
        }
        close(fds[1]);
        while ((r = read(fds[0], &daemon_pid, sizeof(daemon_pid))) < 0 && errno == EINTR)
                ;
        close(fds[0]);
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return 1;
        if (r != (ssize_t) sizeof(daemon_pid) || !WIFEXITED(status) || WEXITSTATUS(status)) {
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
