/* sv-nth FILE N - passes N-1 times, then fails: each run appends one byte
 * to FILE (created if missing) and exits 1 if FILE now holds N bytes or
 * more, else 0. For counting repetitions (`run --repeat`): FILE's size is
 * the number of runs. Bad arguments or FILE errors: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct stat st;
        char *end;
        long n;
        int fd;

        if (argc != 3 || (n = strtol(argv[2], &end, 10)) < 1 || *end) {
                fprintf(stderr, "usage: sv-nth FILE N (N >= 1)\n");
                return 2;
        }
        /* O_APPEND: one byte per run, whole, even if two runs overlap. */
        fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1 || fstat(fd, &st) < 0) {
                fprintf(stderr, "sv-nth: '%s': %s\n", argv[1], strerror(errno));
                return 2;
        }
        close(fd);
        return st.st_size >= n ? 1 : 0;
}
