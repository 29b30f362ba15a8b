/* dirs.c - the directories a run makes for its jobs (a fresh working
 * directory per job) and their removal. Removal works on directory fds
 * (openat/unlinkat, O_NOFOLLOW), so a symlink a job leaves behind is
 * removed itself, never followed, and a path swapped for a symlink while
 * we work cannot lead us out of the tree; it stays on one filesystem, as
 * `rm --one-file-system` does, so a mount inside is never emptied. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"

/* Deeper trees are left (and reported): the fds we hold grow with depth. */
#define RMTREE_DEPTH_MAX 128

int sv__plat_mkdtemp(const char *parent, const char *prefix, char *out, size_t n) {
        char path[PATH_MAX];
        int k;

        k = snprintf(path, sizeof(path), "%s/%sXXXXXX", parent, prefix);
        if (k < 0 || (size_t) k >= sizeof(path) || (size_t) k >= n)
                return UV_ENAMETOOLONG;
        if (!mkdtemp(path))
                return -errno;
        memcpy(out, path, (size_t) k + 1);
        return 0;
}

int sv__plat_mkdir(const char *path) {
        return mkdir(path, 0700) < 0 ? -errno : 0;
}

int sv__plat_rmdir(const char *path) {
        return rmdir(path) < 0 ? -errno : 0;
}

static int empty_dir(int dfd, dev_t dev, int depth);

/* Removes entry `name` of directory `dfd`: a directory is emptied first.
 * A directory without search or write permission (a job may chmod 0) is
 * made ours again first; it is ours to remove. */
static int remove_entry(int dfd, const char *name, dev_t dev, int depth) {
        struct stat st;
        int fd, r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (st.st_dev != dev)
                return UV_EXDEV;
        if (depth >= RMTREE_DEPTH_MAX)
                return UV_ELOOP;
        if ((st.st_mode & 0700) != 0700)
                (void) fchmodat(dfd, name, (st.st_mode & 07777) | 0700, 0);
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = empty_dir(fd, dev, depth + 1);
        if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}

/* Empties the directory open at `dfd` and closes it. Returns 0 or the
 * first error; what could be removed is removed either way. */
static int empty_dir(int dfd, dev_t dev, int depth) {
        struct dirent *de;
        DIR *d;
        int r = 0, e;

        d = fdopendir(dfd);
        if (!d) {
                e = -errno;
                close(dfd);
                return e;
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno && !r)
                                r = -errno;
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                e = remove_entry(dirfd(d), de->d_name, dev, depth);
                if (e < 0 && !r)
                        r = e;
        }
        closedir(d);
        return r;
}

int sv__plat_rmtree(const char *path) {
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = empty_dir(fd, st.st_dev, 0);
        if (r == 0 && rmdir(path) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}
