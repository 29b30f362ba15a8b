/* sv-gate FIFO - opens the named pipe FIFO read-write (so it never sees EOF
 * and never blocks in open), prints "ready <pid>", then waits for one byte on
 * it and exits 0. A test opens FIFO for writing without blocking only while
 * the gate is alive. Errors: exit 1; bad args: exit 2. */
#include "wk.h"

int main(int argc, char **argv) {
        char byte;
        ssize_t r;
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: sv-gate FIFO\n");
                return 2;
        }
        fd = open(argv[1], O_RDWR);
        if (fd < 0) {
                fprintf(stderr, "sv-gate: cannot open '%s': %s\n", argv[1], strerror(errno));
                return 1;
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        while ((r = read(fd, &byte, 1)) < 0 && errno == EINTR)
                ;
        return r == 1 ? 0 : 1;
}
