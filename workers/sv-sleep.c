/* sv-sleep MS - sleeps MS milliseconds ("forever" or omitted: until killed),
 * then exits 0. Prints nothing. Bad argument: one line on stderr, exit 2.
 * The sleep is against an absolute monotonic deadline, so SIGSTOP/SIGCONT
 * cannot stretch it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

/* Returns 0 and stores the milliseconds (-1 for "forever"), or -1. */
int main(int argc, char **argv) {
        long long ms = -1;

        if (argc > 2 || (argc == 2 && parse_ms(argv[1], &ms) < 0)) {
                fprintf(stderr, "usage: sv-sleep [MS|forever]\n");
                return 2;
        }
        sleep_ms(ms);
        return 0;
}
