/* backoff.c - the arithmetic of sv_pool's restarts: exponential delays with
 * jitter and a cap, and the window of the crash-loop give-up. Holds no
 * clock and no randomness of its own (the caller passes both in), so that
 * unit tests can pin every number. */
#include <stdlib.h>

#include "core/pool_internal.h"

uint64_t sv__backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned n, uint32_t rnd) {
        uint64_t d = min_ms ? min_ms : 1;
        unsigned i;

        if (max_ms < d)
                max_ms = d;
        for (i = 1; i < n && d < max_ms; i++)
                d = d > max_ms / 2 ? max_ms : d * 2;
        return d - (uint64_t) rnd % (d / 4 + 1);
}

uint32_t sv__backoff_rand(uint32_t *state) {
        uint32_t x = *state ? *state : 0x9e3779b9u;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *state = x;
        return x;
}

bool sv__crashes_allow(sv__crashes **cp, unsigned max, uint64_t within_ms, uint64_t now_ms) {
        sv__crashes *c = *cp;
        unsigned oldest;

        if (max == 0)
                return true;
        if (!c || c->max != max) {
                free(c);
                c = calloc(1, sizeof(*c) + max * sizeof(c->at_ms[0]));
                *cp = c;
                if (!c)
                        return true;
                c->max = max;
        }
        /* Forget the restarts that fell out of the window, oldest first. */
        while (within_ms && c->n > 0) {
                oldest = (c->head + c->max - c->n) % c->max;
                if (now_ms - c->at_ms[oldest] < within_ms)
                        break;
                c->n--;
        }
        if (c->n >= max)
                return false;
        c->at_ms[c->head] = now_ms;
        c->head = (c->head + 1) % c->max;
        c->n++;
        return true;
}

void sv__crashes_clear(sv__crashes **cp) {
        free(*cp);
        *cp = NULL;
}
