/* pool_internal.h - sv__ pieces of the pool (pool.c, backoff.c) that the
 * unit tests reach: the backoff arithmetic, the crash-loop window, and the
 * restart timer's body, which a test on the fake clock calls itself. */
#ifndef SV_POOL_INTERNAL_H
#define SV_POOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "supervise/sv_pool.h"

/* The delay before the n-th restart in a row (n >= 1): min_ms doubled
 * n - 1 times, capped at max_ms, less rnd modulo (a quarter of it + 1). So
 * the delays grow strictly until the cap (the least of the next one, 1.5
 * times this one's most, is above this one's most) and never exceed it. */
uint64_t sv__backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned n, uint32_t rnd);

/* One step of a xorshift32 generator: the jitter needs no more. */
uint32_t sv__backoff_rand(uint32_t *state);

/* The times of a slot's last restarts, for the crash-loop give-up: made
 * at the first restart (a slot that never restarts costs a NULL). */
typedef struct sv__crashes {
        unsigned max, n, head;
        uint64_t at_ms[]; /* a ring of `max` entries */
} sv__crashes;

/* Answers whether one more restart at now_ms keeps within `max` restarts
 * in the last within_ms (0: ever), and if so records it, making *c if need
 * be. max 0: always true. Out of memory is answered true (better a restart
 * than a lost one). */
bool sv__crashes_allow(sv__crashes **c, unsigned max, uint64_t within_ms, uint64_t now_ms);
/* Frees *c and sets it to NULL. */
void sv__crashes_clear(sv__crashes **c);

/* Starts every slot whose backoff has run out by the platform clock, then
 * sets the timer for the next one. The timer calls it. */
void sv__pool_tick(sv_pool *p);

#endif
