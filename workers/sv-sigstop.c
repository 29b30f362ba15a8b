/* sv-sigstop - prints "ready <pid>" (as /proc names it), then stops itself with SIGSTOP; once
 * continued (SIGCONT) it pauses until killed. Takes no arguments (exit 2). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "wk.h"

int main(int argc, char **argv) {
        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "usage: sv-sigstop\n");
                return 2;
        }
        printf("ready %d\n", (int) wk_outer_pid());
        fflush(stdout);
        raise(SIGSTOP);
        for (;;)
                pause();
}
