/* sv-tick MS - writes "tick <n>\n" to stdout (n = 1, 2, ...) every MS
 * milliseconds until killed: a worker whose progress a test can watch stop
 * while it is paused and go on when it is resumed. A failed write: exit 1.
 * Bad argument: one line on stderr, exit 2. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wk.h"

int main(int argc, char **argv) {
        long long ms = -1, n;
        char line[32];
        int len;

        if (argc != 2 || parse_ms(argv[1], &ms) < 0 || ms < 1) {
                fprintf(stderr, "usage: sv-tick MS\n");
                return 2;
        }
        for (n = 1;; n++) {
                len = snprintf(line, sizeof(line), "tick %lld\n", n);
                if (write(1, line, (size_t) len) != len)
                        return 1;
                sleep_ms(ms);
        }
}
