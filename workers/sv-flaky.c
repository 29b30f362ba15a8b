/* sv-flaky FILE - fails once, then passes: if FILE does not exist it creates
 * it (empty) and exits 1; if FILE exists it exits 0. Prints nothing except on
 * error (cannot create FILE: exit 2, like a bad argument). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: sv-flaky FILE\n");
                return 2;
        }
        fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
                close(fd);
                return 1;
        }
        if (errno == EEXIST)
                return 0;
        fprintf(stderr, "sv-flaky: cannot create '%s': %s\n", argv[1], strerror(errno));
        return 2;
}
