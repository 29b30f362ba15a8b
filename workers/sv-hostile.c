/* sv-hostile output|leak|sleep - bytes that are not text, for the reports.
 *   output: prints "before\0after \xff\xfe end\n" on stdout and
 *           "err\0\xc0 tail\n" on stderr, then exits 1.
 *   leak:   starts a child whose command line is
 *           "\xff\x1b]0;pwn\x07\x1b[2J" "sleep" "9" (invalid UTF-8, a terminal
 *           title and a clear-screen sequence), waits until it runs with
 *           stdio on /dev/null, prints "ready <childpid>" and exits 0,
 *           leaving the child behind.
 *   sleep:  (what that child runs) sleeps until killed.
 * Bad argument: one line on stderr, exit 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk.h"

#define HOSTILE_ARGV0 "\xff\x1b]0;pwn\x07\x1b[2J"

static int output(void) {
        static const char out[] = "before\0after \xff\xfe end\n";
        static const char err[] = "err\0\xc0 tail\n";

        if (write(1, out, sizeof(out) - 1) != (ssize_t) sizeof(out) - 1 ||
            write(2, err, sizeof(err) - 1) != (ssize_t) sizeof(err) - 1)
                return 3;
        return 1;
}

static int leak(void) {
        char fdarg[16], byte;
        int fds[2];
        pid_t child;

        child = wk_fork_with_pipe("sv-hostile", fds);
        if (child == 0) {
                char *argv[] = { HOSTILE_ARGV0, "sleep", fdarg, NULL };

                /* A fixed fd, so that the command line is known exactly. */
                if (fds[1] != 9 && (dup2(fds[1], 9) < 0 || close(fds[1]) < 0))
                        _exit(126);
                (void) snprintf(fdarg, sizeof(fdarg), "%d", 9);
                execv("/proc/self/exe", argv);
                _exit(127);
        }
        if (wk_read_handshake(fds[0], &byte, 1) < 0) {
                fprintf(stderr, "sv-hostile: child did not start\n");
                return 1;
        }
        printf("ready %d\n", (int) child);
        return 0;
}

/* The child: says it runs (after giving up our stdio), then sleeps. */
static int sleep_forever(const char *fdarg) {
        int fd = atoi(fdarg);

        stdio_to_null();
        if (write(fd, "k", 1) != 1)
                return 1;
        close(fd);
        sleep_ms(-1);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "output") == 0)
                return output();
        if (argc == 2 && strcmp(argv[1], "leak") == 0)
                return leak();
        if (argc == 3 && strcmp(argv[1], "sleep") == 0)
                return sleep_forever(argv[2]);
        fprintf(stderr, "usage: sv-hostile output|leak\n");
        return 2;
}
