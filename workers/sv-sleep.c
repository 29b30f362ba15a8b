/* sv-sleep MS - sleeps MS milliseconds ("forever" or omitted: until killed),
 * then exits 0. Prints nothing. Bad argument: one line on stderr, exit 2.
 * The sleep is against an absolute monotonic deadline, so SIGSTOP/SIGCONT
 * cannot stretch it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Returns 0 and stores the milliseconds (-1 for "forever"), or -1. */
static int parse_ms(const char *s, long long *out) {
        char *end;
        long long v;

        if (strcmp(s, "forever") == 0) {
                *out = -1;
                return 0;
        }
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < 0)
                return -1;
        *out = v;
        return 0;
}

static void sleep_ms(long long ms) {
        struct timespec until;

        if (ms < 0)
                for (;;)
                        pause();
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
                ;
}

int main(int argc, char **argv) {
        long long ms = -1;

        if (argc > 2 || (argc == 2 && parse_ms(argv[1], &ms) < 0)) {
                fprintf(stderr, "usage: sv-sleep [MS|forever]\n");
                return 2;
        }
        sleep_ms(ms);
        return 0;
}
