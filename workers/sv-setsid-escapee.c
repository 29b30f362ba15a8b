/* sv-setsid-escapee [MS] [exit] - forks a child that calls setsid() (new session
 * and group), puts stdio on /dev/null, sleeps MS (default "forever"). Prints
 * "ready <escapeepid>" once setsid() is done, then pauses forever, or with "exit"
 * exits 0, orphaning the escapee. Errors: exit 1; bad args: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

int main(int argc, char **argv) {
        long long ms = -1;
        int exit_after = 0, have_ms = 0, i, fds[2];
        pid_t child;
        char byte;
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
                perror("sv-setsid-escapee: pipe");
                return 1;
        }
        fflush(NULL);
        child = fork();
        if (child < 0) {
                perror("sv-setsid-escapee: fork");
                return 1;
        }
        if (child == 0) {
                close(fds[0]);
                if (setsid() < 0)
                        _exit(1);
                stdio_to_null();
                /* The byte tells the parent the escape is complete. */
                if (write(fds[1], "k", 1) != 1)
                        _exit(1);
                close(fds[1]);
                sleep_ms(ms);
                _exit(0);
        }
        close(fds[1]);
        while ((r = read(fds[0], &byte, 1)) < 0 && errno == EINTR)
                ;
        close(fds[0]);
        if (r != 1) {
                fprintf(stderr, "sv-setsid-escapee: escapee did not start\n");
                return 1;
        }

        printf("ready %d\n", (int) child);
        fflush(stdout);
        if (exit_after)
                return 0;
        for (;;)
                pause();

usage:
        fprintf(stderr, "usage: sv-setsid-escapee [MS|forever] [exit]\n");
        return 2;
}
