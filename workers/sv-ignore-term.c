/* sv-ignore-term [MS] - ignores SIGTERM and SIGINT, prints "ready <pid>" on
 * stdout, then sleeps MS milliseconds (default or "forever": until SIGKILL)
 * and exits 0. Bad argument: one line on stderr, exit 2. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk.h"

int main(int argc, char **argv) {
        long long ms = -1;

        if (argc > 2 || (argc == 2 && parse_ms(argv[1], &ms) < 0)) {
                fprintf(stderr, "usage: sv-ignore-term [MS|forever]\n");
                return 2;
        }
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        printf("ready %d\n", (int) wk_outer_pid());
        fflush(stdout);
        sleep_ms(ms);
        return 0;
}
