/* cgroup.c - one worker's cgroup v2 directory: made before exec (the spawn
 * joins it through clone3), signalled or killed as one (cgroup.kill),
 * watched until empty, then reused or removed. Nothing it starts can leave
 * a cgroup, so this is the mechanism of choice; cgroot.c makes the
 * directory they all live under. Nothing here blocks for long or reaps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/linux/linux.h"

/* Only the directory: its files are opened when used (the spawn opens the
 * directory for clone3), so a pooled or busy cgroup holds no fd and a
 * worker costs one fd, its pidfd. An existing directory is never adopted
 * (UV_EEXIST): two sv__cg of one directory would share members, and the
 * first removed would leave the other pointing at nothing. */
int sv__cg_create(const char *parent, unsigned n, sv__cg **out) {
        size_t len = strlen(parent) + 16;
        sv__cg *cg;
        int r;

        if (len >= SV_CG_MAX)
                return UV_ENAMETOOLONG;
        cg = malloc(sizeof(*cg) + len);
        if (!cg)
                return UV_ENOMEM;
        snprintf(cg->path, len, "%s/w%u", parent, n);
        if (mkdir(cg->path, 0755) < 0) {
                r = -errno;
                free(cg);
                return r;
        }
        cg->killed = false;
        cg->frozen = false;
        *out = cg;
        return 0;
}

int sv__cg_kill(sv__cg *cg) {
        char path[SV_CG_MAX + 32];

        cg->killed = true;
        snprintf(path, sizeof(path), "%s/cgroup.kill", cg->path);
        return sv__write_file(path, "1");
}

int sv__cg_freeze(sv__cg *cg, bool frozen) {
        char path[SV_CG_MAX + 32];
        int r;

        snprintf(path, sizeof(path), "%s/cgroup.freeze", cg->path);
        r = sv__write_file(path, frozen ? "1" : "0");
        if (r == 0)
                cg->frozen = frozen;
        return r;
}

int sv__cg_pids(const sv__cg *cg, pid_t **out) {
        char path[SV_CG_MAX + 32];

        snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
        return sv__read_pid_list(path, out);
}

int sv__cg_signal(const sv__cg *cg, int sig, bool then_cont) {
        pid_t *pids = NULL;
        int n, i, hit = 0;

        n = sv__cg_pids(cg, &pids);
        if (n < 0)
                return n;
        /* A pid read from cgroup.procs is in our cgroup at that moment; the
         * window before kill() is the same one killpg has. */
        for (i = 0; i < n; i++) {
                if (pids[i] > 1 && kill(pids[i], sig) == 0) {
                        hit++;
                        if (then_cont)
                                (void) kill(pids[i], SIGCONT);
                }
        }
        free(pids);
        return hit;
}

int sv__cg_populated(const sv__cg *cg) {
        char path[SV_CG_MAX + 32], buf[256];
        char *p;
        int n;

        snprintf(path, sizeof(path), "%s/cgroup.events", cg->path);
        n = sv__read_file(path, buf, sizeof(buf));
        if (n < 0)
                return n;
        /* "populated N" is the first line; search only if that changes. */
        p = strncmp(buf, "populated ", 10) == 0 ? buf : strstr(buf, "\npopulated ");
        if (!p)
                return UV_EINVAL;
        if (p != buf)
                p++;
        return p[10] == '1';
}

void sv__cg_close(sv__cg *cg) {
        (void) cg; /* nothing is kept open */
}

int sv__cg_destroy(sv__cg *cg) {
        sv__cg_close(cg);
        if (rmdir(cg->path) < 0)
                return -errno;
        return 0;
}

int sv__cg_gone(const sv__cg *cg) {
        struct stat st;

        return stat(cg->path, &st) < 0 && errno == ENOENT;
}
