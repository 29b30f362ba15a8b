/* sv-idle-then-print MS - prints "start", stays silent for MS milliseconds,
 * prints "end" and exits 0 (each line flushed at once). Bad argument: exit 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void sleep_ms(long long ms) {
        struct timespec until;

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
        char *end;

        if (argc == 2) {
                errno = 0;
                ms = strtoll(argv[1], &end, 10);
                if (errno || end == argv[1] || *end)
                        ms = -1;
        }
        if (argc != 2 || ms < 0) {
                fprintf(stderr, "usage: sv-idle-then-print MS\n");
                return 2;
        }
        printf("start\n");
        fflush(stdout);
        sleep_ms(ms);
        printf("end\n");
        return fflush(stdout) == 0 ? 0 : 1;
}
