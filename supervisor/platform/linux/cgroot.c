/* cgroot.c - the supervisor's own cgroup directory, and its neighbours'.
 *
 * Every worker cgroup lives under one directory per supervisor, beside the
 * directories of other supervisors: on the host, in containers and on CI
 * runners that share the host's cgroup tree, in other PID namespaces where
 * our pid means nothing. So:
 *
 * - The name is "supervise-<pid>-<64 random bits>" (the token), made with a
 *   mkdir that fails if it exists; an existing directory is never adopted,
 *   we take a new token instead. The pid is only there for humans.
 * - Proof of life is a lock, not a pid: the owner holds flock(LOCK_EX) on
 *   the directory's fd for as long as it lives. The kernel drops it when the
 *   last fd goes, however the owner dies, and it means the same thing from
 *   every PID namespace. kill(pid, 0) does not: from another namespace it
 *   answers about some other process, or ESRCH for a live owner. (flock on
 *   a cgroupfs directory fd works: measured on 6.18, cgroup2; rmdir is not
 *   blocked by it.)
 * - The stale sweep at start looks only at names of exactly our form. It
 *   takes the lock without waiting; if it gets it, the owner is gone, and it
 *   removes the empty worker cgroups and then the directory. rmdir of a
 *   cgroup that still has processes fails (EBUSY), so a populated one stays
 *   whatever we believe. Names of other forms (the older "supervise.<pid>",
 *   which no lock ever guarded) are never touched: nothing proves them dead.
 *
 * Nothing here kills or waits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

#define PREFIX "supervise-"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define RAND_HEX 16

int sv__plat_token(char *out, size_t n) {
        uint64_t rnd = 0;
        struct timespec ts;
        int r;

        /* getrandom may be missing or not yet seeded (early boot): then the
         * clock and an address make a value that is merely unlikely to repeat,
         * and mkdir's EEXIST still keeps two owners apart. */
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd)) {
                clock_gettime(CLOCK_REALTIME, &ts);
                rnd = (uint64_t) ts.tv_sec * 1000000007u ^ (uint64_t) ts.tv_nsec ^
                      (uint64_t) (uintptr_t) &ts << 16;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                rnd ^= (uint64_t) ts.tv_nsec << 32;
        }
        r = snprintf(out, n, "%d-%0*llx", (int) getpid(), RAND_HEX, (unsigned long long) rnd);
        if (r < 0 || (size_t) r >= n)
                return UV_ENAMETOOLONG;
        return 0;
}

/* True for "supervise-<digits>-<16 lowercase hex>" and nothing else. */
static bool is_ours_form(const char *name) {
        const char *p = name + PREFIX_LEN;
        size_t i;

        if (strncmp(name, PREFIX, PREFIX_LEN) != 0 || *p < '0' || *p > '9')
                return false;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p++ != '-')
                return false;
        for (i = 0; i < RAND_HEX; i++) {
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
                        return false;
        }
        return p[RAND_HEX] == '\0';
}

/* The cgroup2 mount point, from /proc/self/mountinfo (field 5 is the mount
 * point; the filesystem type follows the " - " separator). */
static int cg2_mount(char *out, size_t n) {
        char line[4096];
        FILE *f;
        int r = UV_ENOENT;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char *sep = strstr(line, " - ");
                char *tok, *save = NULL;
                int field = 0;

                if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
                        continue;
                for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                        if (++field == 5)
                                break;
                }
                if (tok && strlen(tok) < n) {
                        strcpy(out, tok);
                        r = 0;
                }
                break;
        }
        fclose(f);
        return r;
}

/* "<cgroup2 mount><our own cgroup>": where our directory goes. */
static int parent_dir(char *out, size_t n) {
        char mnt[1024], self[2048];
        char *rel, *nl;
        int r;

        r = cg2_mount(mnt, sizeof(mnt));
        if (r < 0)
                return r;
        r = sv__read_file("/proc/self/cgroup", self, sizeof(self));
        if (r < 0)
                return r;
        rel = strstr(self, "0::");
        if (!rel)
                return UV_ENOENT;
        rel += 3;
        nl = strchr(rel, '\n');
        if (nl)
                *nl = '\0';
        if (strcmp(rel, "/") == 0)
                rel = "";
        r = snprintf(out, n, "%s%s", mnt, rel);
        if (r < 0 || (size_t) r >= n)
                return UV_ENAMETOOLONG;
        return 0;
}

void sv__cg_remove_tree(const char *root) {
        char path[4700];
        struct dirent *de;
        DIR *d;

        d = opendir(root);
        if (!d)
                return;
        while ((de = readdir(d))) {
                if (de->d_name[0] != 'w')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
                (void) rmdir(path);
        }
        closedir(d);
        (void) rmdir(root);
}

/* Removes the directories whose owner is provably gone: of our form, and
 * unlocked. While we hold a candidate's lock no owner can be starting in it
 * (see claim()), and rmdir leaves whatever still has processes. */
static void remove_stale(const char *parent) {
        char path[4400];
        struct dirent *de;
        DIR *d;
        int fd;

        d = opendir(parent);
        if (!d)
                return;
        while ((de = readdir(d))) {
                if (!is_ours_form(de->d_name))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        sv__cg_remove_tree(path);
                close(fd); /* drops the lock, if we took it */
        }
        closedir(d);
}

/* Makes `path` ours: a fresh directory, locked, and still the one we made.
 * Between our mkdir and our flock a sweeper may find it unlocked and remove
 * it (it is empty); then the lock fails, or we hold the lock on a directory
 * that no longer has our name. Either way the name is given up (UV_EEXIST:
 * the caller takes a new token); the sweeper removes what is left. */
static int claim(const char *path, int *out_fd) {
        struct stat a, b;
        int fd, r;

        if (mkdir(path, 0755) < 0)
                return -errno; /* EEXIST included: never adopt a directory */
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? UV_EEXIST : -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? UV_EEXIST : -errno;
                close(fd);
                return r;
        }
        if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
                close(fd);
                return UV_EEXIST;
        }
        *out_fd = fd;
        return 0;
}

int sv__cg_setup(const char *token, char *out, size_t n, int *out_lock) {
        char parent[4096], path[4200], probe[4300];
        const char *force;
        int r, fd = -1;

        force = getenv("SUPERVISE_MECHANISM");
        if (force && strcmp(force, "procwalk") == 0)
                return UV_ENOTSUP;
        r = parent_dir(parent, sizeof(parent));
        if (r < 0)
                return r;
        remove_stale(parent);
        r = snprintf(path, sizeof(path), "%s/" PREFIX "%s", parent, token);
        if (r < 0 || (size_t) r >= sizeof(path) || (size_t) r >= n)
                return UV_ENAMETOOLONG;
        r = claim(path, &fd);
        if (r < 0)
                return r;
        /* cgroup.kill arrived in 5.14; without it there is no atomic tree kill. */
        snprintf(probe, sizeof(probe), "%s/cgroup.kill", path);
        if (access(probe, W_OK) < 0) {
                r = -errno;
                (void) rmdir(path);
                close(fd);
                return r;
        }
        strcpy(out, path);
        *out_lock = fd;
        return 0;
}

int sv__cg_remove_root(const char *root) {
        if (rmdir(root) < 0)
                return -errno;
        return 0;
}
