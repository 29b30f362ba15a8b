/* sv-demo - the README's demo worker. Reads its index i from SUPERVISE_WORKER
 * (default 0), touches (2 + i % 4) MiB and hashes it for ~100 ms, prints
 * "worker <i>: did <n> rounds" and exits 0; worker 3 exits 3 instead, so a
 * demo run shows a failure. No arguments (exit 2). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS_BASE 120

/* Kept so the compiler cannot drop the hashing as unused work. */
static volatile uint64_t sink;

/* One round: FNV-1a style over every 64-bit word, written back so the pages
 * are dirtied (the memory shows up in the worker's RSS, not just its VSZ). */
static uint64_t hash_round(uint64_t *words, size_t count, uint64_t h) {
        size_t i;

        for (i = 0; i < count; i++) {
                h = (h ^ words[i]) * 0x100000001b3ULL;
                words[i] = h;
        }
        return h;
}

int main(int argc, char **argv) {
        const char *env = getenv("SUPERVISE_WORKER");
        long index = 0, rounds, r;
        size_t count;
        uint64_t *words, h = 0xcbf29ce484222325ULL;
        char *end;

        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "usage: sv-demo (index from SUPERVISE_WORKER)\n");
                return 2;
        }
        if (env && *env) {
                errno = 0;
                index = strtol(env, &end, 10);
                if (errno || *end || index < 0)
                        index = 0;
        }

        count = (size_t) (2 + index % 4) * 1024 * 1024 / sizeof(*words);
        words = malloc(count * sizeof(*words));
        if (!words) {
                fprintf(stderr, "sv-demo: out of memory\n");
                return 1;
        }
        for (size_t i = 0; i < count; i++)
                words[i] = i;
        /* Fewer rounds over a bigger buffer, so every worker does about the same work. */
        rounds = ROUNDS_BASE * 2 / (2 + index % 4) * 2;
        for (r = 0; r < rounds; r++)
                h = hash_round(words, count, h);
        sink = h;
        free(words);

        printf("worker %ld: did %ld rounds\n", index, rounds);
        fflush(stdout);
        return index == 3 ? 3 : 0;
}
