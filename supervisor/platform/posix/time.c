/* time.c - the monotonic clock and a bounded nap, plain POSIX: what the
 * core's timeouts and free()'s last waits count with. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "platform/platform.h"

uint64_t sv__plat_now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void sv__plat_nap_us(unsigned us) {
        struct timespec ts = { 0, (long) us * 1000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
