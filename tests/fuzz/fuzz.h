/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share: the entry point's
 * prototype, turning the input into a C string, and FUZZ_CHECK, which aborts
 * (libFuzzer then saves the input as a crash) when an invariant fails. A
 * target checks what its parser promises, not only that it does not crash. */
#ifndef SV_FUZZ_H
#define SV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The message names the failed condition and the values that matter, so a
 * crash file plus its log say what went wrong without a debugger. */
#define FUZZ_CHECK(cond, ...)                                                     \
        do {                                                                      \
                if (!(cond)) {                                                    \
                        fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, \
                                __LINE__, #cond);                                 \
                        fprintf(stderr, __VA_ARGS__);                             \
                        fputc('\n', stderr);                                      \
                        abort();                                                  \
                }                                                                 \
        } while (0)

/* A NUL-terminated copy of the input; the parser sees it up to the first NUL
 * byte, as it would see a string from argv. The caller frees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        if (size)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

#endif
