/* atomic.c - a report file that is replaced whole or not at all: written to
 * a temporary file beside it and renamed over it only once complete, so an
 * old report survives a SIGKILL, a full disk or a crash of the writer.
 * Owns the temporary file until commit or abort; never prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/platform.h"
#include "run/run_internal.h"

int sv_atomic_file_open(sv_atomic_file *af, const char *path) {
        int e;

        memset(af, 0, sizeof(*af));
        e = sv__plat_atomic_open(path, &af->f, &af->path, &af->tmp);
        if (e < 0)
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
                if (e == 0)
                        e = sv__plat_rename_over(af->tmp, af->path);
                if (e < 0)
                        (void) remove(af->tmp);
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
                (void) remove(af->tmp);
        free(af->tmp);
        free(af->path);
        memset(af, 0, sizeof(*af));
}
