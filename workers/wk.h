/* wk.h - the few helpers the workers share: a duration in milliseconds (or
 * "forever"), a sleep to a monotonic deadline that signals cannot shorten,
 * and moving stdio to /dev/null. Header-only so that each worker stays one
 * file to read. */
#ifndef SV_WORKERS_WK_H
#define SV_WORKERS_WK_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline int parse_ms(const char *s, long long *out) {
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

static inline void sleep_ms(long long ms) {
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

static inline void stdio_to_null(void) {
        int fd = open("/dev/null", O_RDWR);

        if (fd < 0)
                _exit(1);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
                close(fd);
}

#endif
