/* sv-env - prints "SUPERVISE_WORKER=<value>" (or "SUPERVISE_WORKER unset"), the
 * same for SUPERVISE_RUN, then "pgid-leader=1" if we lead our process group
 * (else "pgid-leader=0"), one per line, and exits 0. No arguments (exit 2). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void show(const char *name) {
        const char *value = getenv(name);

        if (value)
                printf("%s=%s\n", name, value);
        else
                printf("%s unset\n", name);
}

int main(int argc, char **argv) {
        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "usage: sv-env\n");
                return 2;
        }
        show("SUPERVISE_WORKER");
        show("SUPERVISE_RUN");
        printf("pgid-leader=%d\n", getpgid(0) == getpid());
        return fflush(stdout) == 0 ? 0 : 1;
}
