/* sv-fds - prints the open file descriptors, ascending, on one line:
 * "fds 0 1 2" (the directory fd used to list /proc/self/fd is left out), then
 * exits 0. Errors: exit 1; any argument: exit 2. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;

        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        struct dirent *de;
        int *fds = NULL, nfds = 0, cap = 0, self, i;
        DIR *dir;

        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "usage: sv-fds\n");
                return 2;
        }
        dir = opendir("/proc/self/fd");
        if (!dir) {
                perror("sv-fds: /proc/self/fd");
                return 1;
        }
        self = dirfd(dir);
        while ((de = readdir(dir)) != NULL) {
                int fd;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                fd = atoi(de->d_name);
                if (fd == self)
                        continue;
                if (nfds == cap) {
                        int *bigger;

                        cap = cap ? 2 * cap : 64;
                        bigger = realloc(fds, (size_t) cap * sizeof(*fds));
                        if (!bigger) {
                                perror("sv-fds: realloc");
                                return 1;
                        }
                        fds = bigger;
                }
                fds[nfds++] = fd;
        }
        closedir(dir);

        qsort(fds, (size_t) nfds, sizeof(*fds), cmp_int);
        printf("fds");
        for (i = 0; i < nfds; i++)
                printf(" %d", fds[i]);
        printf("\n");
        free(fds);
        return fflush(stdout) == 0 ? 0 : 1;
}
