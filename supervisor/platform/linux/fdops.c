/* fdops.c - the fd and file chores core/ and run/ ask of the platform
 * (platform.h): closing the fds sv__plat_* gave out, the null device, pipes
 * for output, waiting out EAGAIN, memory streams, and the temporary file
 * and rename behind sv_atomic_file. Each is a call or two here; they are
 * platform functions because Windows does them its own way (platform/win). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "platform/platform.h"

void sv__plat_close(int fd) {
        (void) close(fd);
}

int sv__plat_open_devnull(void) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int sv__plat_pipe(int fds[2]) {
        return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

void sv__plat_wait_writable(int fd) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };

        (void) poll(&pfd, 1, -1);
}

FILE *sv__plat_memstream(char **buf, size_t *len) {
        return open_memstream(buf, len);
}

int sv__plat_memstream_close(FILE *f) {
        return fclose(f) != 0 ? -errno : 0;
}

/* The mode a plain fopen(path, "w") would give a new file. */
static mode_t new_file_mode(void) {
        mode_t mask = umask(022);

        (void) umask(mask);
        return 0666 & ~mask;
}

/* Not a regular file (/dev/stdout, /dev/full, a FIFO): there is nothing to
 * keep and nothing to rename over, so it is written in place. */
static int open_in_place(const char *path, FILE **out, char **out_path) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        *out_path = strdup(path);
        if (!*out_path) {
                (void) fclose(f);
                return UV_ENOMEM;
        }
        *out = f;
        return 0;
}

int sv__plat_atomic_open(const char *path, FILE **out, char **out_path, char **out_tmp) {
        struct stat st;
        mode_t mode;
        char *real, *tmp = NULL;
        FILE *f;
        int fd, e;

        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                *out_tmp = NULL;
                return open_in_place(path, out, out_path);
        }
        mode = stat(path, &st) == 0 ? st.st_mode & 07777 : new_file_mode();
        /* Through a symlink, replace the file it names, not the link. */
        real = realpath(path, NULL);
        if (!real)
                real = strdup(path);
        if (!real || asprintf(&tmp, "%s.tmp.XXXXXX", real) < 0) {
                tmp = NULL;
                e = UV_ENOMEM;
                goto fail;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                e = -errno;
                goto fail;
        }
        if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
                e = -errno;
                (void) close(fd);
                (void) unlink(tmp);
                goto fail;
        }
        *out = f;
        *out_path = real;
        *out_tmp = tmp;
        return 0;

fail:
        free(tmp);
        free(real);
        return e;
}

int sv__plat_rename_over(const char *from, const char *to) {
        return rename(from, to) < 0 ? -errno : 0;
}
