/* bench.h - the little the benchmark programs share: a monotonic clock,
 * the common "-n TOTAL -j INFLIGHT [-q] [--] CMD..." command line, and a
 * sort for medians. Header-only (static functions), so each bench program
 * stays one file to build. Nothing here prints except usage errors. */
#ifndef SV_BENCH_H
#define SV_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Parses a positive decimal; returns 0 and writes *out only on success. */
static inline int bench_parse_ul(const char *s, unsigned long *out) {
        char *end;
        unsigned long v;

        if (!s || !*s || *s == '-')
                return -1;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v == 0)
                return -1;
        *out = v;
        return 0;
}

static const char *const bench_default_cmd[] = { "/bin/true", NULL };

/* The spawn loops' shared command line. `extra` names one more option
 * letter taking a value (or 0), stored in *extra_val. */
typedef struct bench_opts {
        unsigned long total;
        unsigned long inflight;
        int quiet;                /* -q: stdio on /dev/null instead of inherited */
        const char *const *argv;  /* the command to run TOTAL times */
} bench_opts;

static inline int bench_parse_opts(int argc, char **argv, char extra, const char **extra_val,
                                   bench_opts *out) {
        bench_opts o = { 1000, 4, 0, bench_default_cmd };
        int i;

        for (i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (a[0] != '-')
                        break;
                if (strcmp(a, "-q") == 0) {
                        o.quiet = 1;
                } else if (strcmp(a, "-n") == 0 && i + 1 < argc) {
                        if (bench_parse_ul(argv[++i], &o.total) < 0)
                                return -1;
                } else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
                        if (bench_parse_ul(argv[++i], &o.inflight) < 0)
                                return -1;
                } else if (extra && a[1] == extra && a[2] == '\0' && i + 1 < argc) {
                        *extra_val = argv[++i];
                } else {
                        return -1;
                }
        }
        if (i < argc)
                o.argv = (const char *const *) argv + i;
        if (o.inflight > o.total)
                o.inflight = o.total;
        *out = o;
        return 0;
}

static inline int bench_cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

#endif
