/* wk.h - the few helpers the workers share: a duration in milliseconds (or
 * "forever"), a sleep to a monotonic deadline that signals cannot shorten,
 * and moving stdio to /dev/null. Header-only so that each worker stays one
 * file to read. */
#ifndef SV_WORKERS_WK_H
#define SV_WORKERS_WK_H

#include <errno.h>
#include <stdio.h>
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

/* Parses "[MS|forever] [exit]" in either order. Returns 0, or -1 on a bad
 * or repeated argument. */
static inline int wk_parse_ms_exit(int argc, char **argv, long long *ms, int *exit_after) {
        int i, have_ms = 0;

        *ms = -1;
        *exit_after = 0;
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "exit") == 0 && !*exit_after)
                        *exit_after = 1;
                else if (!have_ms && parse_ms(argv[i], ms) == 0)
                        have_ms = 1;
                else
                        return -1;
        }
        return 0;
}

/* Forks with a pipe from the child back to us, for the child to say it is
 * set up. In the child returns 0 with fds[1] open for writing; in the
 * parent the child's pid with fds[0] open for reading. On failure prints
 * "NAME: what" and exits 1. */
static inline pid_t wk_fork_with_pipe(const char *name, int fds[2]) {
        pid_t child;

        if (pipe(fds) < 0) {
                fprintf(stderr, "%s: pipe: %s\n", name, strerror(errno));
                exit(1);
        }
        fflush(NULL);
        child = fork();
        if (child < 0) {
                fprintf(stderr, "%s: fork: %s\n", name, strerror(errno));
                exit(1);
        }
        close(child == 0 ? fds[0] : fds[1]);
        return child;
}

/* Our pid as /proc names it: getpid() but outside any PID namespace a
 * supervisor put us in (it leaves /proc as it was), which is the pid the
 * test and the supervisor can act on. */
static inline pid_t wk_outer_pid(void) {
        char buf[32];
        ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

        if (n <= 0)
                return getpid();
        buf[n] = '\0';
        return (pid_t) atoi(buf);
}

/* Reads exactly n bytes from fd (the handshake), then closes it. Returns 0,
 * or -1 if the writer went away first. */
static inline int wk_read_handshake(int fd, void *buf, size_t n) {
        ssize_t r;

        while ((r = read(fd, buf, n)) < 0 && errno == EINTR)
                ;
        close(fd);
        return r == (ssize_t) n ? 0 : -1;
}

#endif
