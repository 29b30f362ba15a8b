/* sv-env-escapee [MS] [exit] - leaves an escapee the way `env -i setsid CMD &`
 * does: a child that starts a new session and re-executes this program with
 * an empty environment, so it carries neither our group nor any variable a
 * supervisor put there. The escapee sleeps MS (default "forever") with stdio
 * on /dev/null. Prints "ready <pid>" once the escapee runs, <pid> as /proc
 * names it (/proc/self), which is its pid outside any PID namespace we were
 * put in, then pauses forever, or with "exit" exits 0, orphaning the
 * escapee. Errors: exit 1; bad args: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

/* The escapee, after its exec: "--escapee FD MS". It says its pid down FD
 * once it runs with the empty environment. */
static int escapee(const char *fdarg, const char *msarg) {
        char self[32];
        long long ms;
        int n, fd = atoi(fdarg);

        if (parse_ms(msarg, &ms) < 0)
                return 2;
        n = snprintf(self, sizeof(self), "%d", (int) wk_outer_pid());
        if (write(fd, self, (size_t) n) != n)
                return 1;
        close(fd);
        stdio_to_null();
        sleep_ms(ms);
        return 0;
}

int main(int argc, char **argv) {
        char fdarg[16], msarg[24], pidbuf[32];
        char *const empty_env[] = { NULL };
        long long ms;
        int exit_after, fds[2];
        size_t got = 0;
        ssize_t n;
        pid_t child;

        if (argc == 4 && strcmp(argv[1], "--escapee") == 0)
                return escapee(argv[2], argv[3]);
        if (wk_parse_ms_exit(argc, argv, &ms, &exit_after) < 0)
                goto usage;
        child = wk_fork_with_pipe("sv-env-escapee", fds);
        if (child == 0) {
                char *args[5];

                if (setsid() < 0)
                        _exit(1);
                snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
                snprintf(msarg, sizeof(msarg), "%lld", ms);
                args[0] = "sv-env-escapee";
                args[1] = "--escapee";
                args[2] = fdarg;
                args[3] = ms < 0 ? "forever" : msarg;
                args[4] = NULL;
                execve("/proc/self/exe", args, empty_env);
                _exit(1);
        }
        /* The pid, then EOF when the escapee closes its end. */
        while (got < sizeof(pidbuf) - 1) {
                n = read(fds[0], pidbuf + got, sizeof(pidbuf) - 1 - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        close(fds[0]);
        pidbuf[got] = '\0';
        if (got == 0) {
                fprintf(stderr, "sv-env-escapee: escapee did not start\n");
                return 1;
        }

        printf("ready %s\n", pidbuf);
        fflush(stdout);
        if (exit_after)
                return 0;
        for (;;)
                pause();

usage:
        fprintf(stderr, "usage: sv-env-escapee [MS|forever] [exit]\n");
        return 2;
}
