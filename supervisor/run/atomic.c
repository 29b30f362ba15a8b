/* atomic.c - a report file that is replaced whole or not at all: written to
 * a temporary file beside it and renamed over it only once complete, so an
 * old report survives a SIGKILL, a full disk or a crash of the writer.
 * Owns the temporary file until commit or abort; never prints. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "run/run_internal.h"

/* The mode a plain fopen(path, "w") would give a new file. */
static mode_t new_file_mode(void) {
        mode_t mask = umask(022);

        (void) umask(mask);
        return 0666 & ~mask;
}

/* Not a regular file (/dev/stdout, /dev/full, a FIFO): there is nothing to
 * keep and nothing to rename over, so it is written in place. */
static int open_in_place(sv_atomic_file *af, const char *path) {
        af->f = fopen(path, "we");
        if (!af->f)
                return -errno;
        af->path = strdup(path);
        if (!af->path) {
                (void) fclose(af->f);
                af->f = NULL;
                return UV_ENOMEM;
        }
        return 0;
}

int sv_atomic_file_open(sv_atomic_file *af, const char *path) {
        struct stat st;
        mode_t mode;
        int fd, e;

        memset(af, 0, sizeof(*af));
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
                return open_in_place(af, path);
        mode = stat(path, &st) == 0 ? st.st_mode & 07777 : new_file_mode();
        /* Through a symlink, replace the file it names, not the link. */
        af->path = realpath(path, NULL);
        if (!af->path)
                af->path = strdup(path);
        if (!af->path || asprintf(&af->tmp, "%s.tmp.XXXXXX", af->path) < 0) {
                af->tmp = NULL;
                e = UV_ENOMEM;
                goto fail;
        }
        fd = mkostemp(af->tmp, O_CLOEXEC);
        if (fd < 0) {
                e = -errno;
                goto fail;
        }
        if (fchmod(fd, mode) < 0 || !(af->f = fdopen(fd, "w"))) {
                e = -errno;
                (void) close(fd);
                (void) unlink(af->tmp);
                goto fail;
        }
        return 0;

fail:
        free(af->tmp);
        free(af->path);
        memset(af, 0, sizeof(*af));
        return e;
}

int sv_atomic_file_commit(sv_atomic_file *af) {
        int e = 0;

        if (!af->f)
                return UV_EINVAL;
        errno = 0;
        if (fflush(af->f) != 0 || ferror(af->f))
                e = errno ? -errno : UV_EIO;
        if (fclose(af->f) != 0 && e == 0)
                e = -errno;
        af->f = NULL;
        if (af->tmp) {
                if (e == 0 && rename(af->tmp, af->path) < 0)
                        e = -errno;
                if (e < 0)
                        (void) unlink(af->tmp);
        }
        free(af->tmp);
        free(af->path);
        af->tmp = af->path = NULL;
        return e;
}

void sv_atomic_file_abort(sv_atomic_file *af) {
        if (!af)
                return;
        if (af->f)
                (void) fclose(af->f);
        if (af->tmp)
                (void) unlink(af->tmp);
        free(af->tmp);
        free(af->path);
        memset(af, 0, sizeof(*af));
}
