/* sv-setsid-escapee [MS] [exit] - forks a child that calls setsid() (new session
 * and group), puts stdio on /dev/null, sleeps MS (default "forever"). Prints
 * "ready <escapeepid>" (as /proc names it) once setsid() is done, then pauses forever, or with "exit"
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
        long long ms;
        int exit_after, fds[2];
        pid_t child, escapee;

        if (wk_parse_ms_exit(argc, argv, &ms, &exit_after) < 0)
                goto usage;
        child = wk_fork_with_pipe("sv-setsid-escapee", fds);
        if (child == 0) {
                if (setsid() < 0)
                        _exit(1);
                stdio_to_null();
                /* Its pid tells the parent the escape is complete. */
                escapee = wk_outer_pid();
                if (write(fds[1], &escapee, sizeof(escapee)) != (ssize_t) sizeof(escapee))
                        _exit(1);
                close(fds[1]);
                sleep_ms(ms);
                _exit(0);
        }
        if (wk_read_handshake(fds[0], &escapee, sizeof(escapee)) < 0) {
                fprintf(stderr, "sv-setsid-escapee: escapee did not start\n");
                return 1;
        }

        printf("ready %d\n", (int) escapee);
        fflush(stdout);
        if (exit_after)
                return 0;
        for (;;)
                pause();

usage:
        fprintf(stderr, "usage: sv-setsid-escapee [MS|forever] [exit]\n");
        return 2;
}
