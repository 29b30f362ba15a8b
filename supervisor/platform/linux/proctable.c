/* proctable.c - the /proc readers of the process finder (sv_find_scan):
 * the listing of /proc, stat, status, cmdline, fd links and the socket
 * tables; procfs.c holds the parser and the readers core uses. Owns no
 * state. A process may vanish between any two system calls here, so every
 * "no such file" or ESRCH becomes UV_ESRCH, which callers treat as "gone",
 * never as a failure. Never follows a path that another process could swap
 * under us: everything is read relative to an open /proc directory fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "platform/platform.h"
#include "supervise/sv_find.h" /* SV_FIND_TCP, SV_FIND_UDP: the protos bits */

static int gone_or(int err) {
        if (err == ENOENT || err == ESRCH)
                return UV_ESRCH;
        return -err;
}

int sv__proc_read_stat_at(int dirfd, const char *path, sv__stat *out) {
        /* 52 fields of at most 20 digits plus a 64-byte name fit. */
        char buf[2048];
        ssize_t n;
        int fd, r;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return gone_or(errno);
        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        r = n < 0 ? gone_or(errno) : 0;
        (void) close(fd);
        if (r < 0)
                return r;
        if (n == 0)
                return UV_ESRCH;
        return sv__proc_parse_stat(buf, (size_t) n, out);
}

ssize_t sv__proc_read_file_at(int dirfd, const char *path, char **out) {
        size_t cap = 1024, len = 0;
        char *buf, *nbuf;
        ssize_t n;
        int fd, r = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return gone_or(errno);
        buf = malloc(cap);
        if (!buf) {
                r = UV_ENOMEM;
                goto fail_fd;
        }
        for (;;) {
                if (cap - len < 2) {
                        nbuf = realloc(buf, cap * 2);
                        if (!nbuf) {
                                r = UV_ENOMEM;
                                goto fail_buf;
                        }
                        buf = nbuf;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = gone_or(errno);
                        goto fail_buf;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        (void) close(fd);
        *out = buf;
        return (ssize_t) len;

fail_buf:
        free(buf);
fail_fd:
        (void) close(fd);
        return r;
}

int sv__proc_read_ids(int proc_fd, pid_t pid, sv__ids *out) {
        char path[32], *buf, *uline, *gline;
        unsigned long ruid, euid, rgid;
        ssize_t n;

        (void) snprintf(path, sizeof(path), "%d/status", (int) pid);
        n = sv__proc_read_file_at(proc_fd, path, &buf);
        if (n < 0)
                return (int) n;
        /* "Uid:\treal\teffective\tsaved\tfs", "Gid:" alike; a name line
         * cannot fake them, because the kernel escapes '\n' in Name:. */
        uline = strstr(buf, "\nUid:");
        gline = strstr(buf, "\nGid:");
        if (!uline || !gline || sscanf(uline + 5, "%lu %lu", &ruid, &euid) != 2 ||
            sscanf(gline + 5, "%lu", &rgid) != 1) {
                free(buf);
                return UV_EINVAL;
        }
        free(buf);
        out->ruid = (uid_t) ruid;
        out->euid = (uid_t) euid;
        out->rgid = (gid_t) rgid;
        return 0;
}

int sv__proc_read_euid(int proc_fd, pid_t pid, uid_t *out) {
        sv__ids ids;
        int r;

        r = sv__proc_read_ids(proc_fd, pid, &ids);
        if (r < 0)
                return r;
        *out = ids.euid;
        return 0;
}

static int inodes_add(sv__inodes *set, uint64_t inode) {
        uint64_t *nv;
        size_t ncap;

        if (set->n == set->cap) {
                ncap = set->cap ? set->cap * 2 : 16;
                nv = realloc(set->v, ncap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                set->v = nv;
                set->cap = ncap;
        }
        set->v[set->n++] = inode;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

/* TCP_LISTEN is 0x0A. An unconnected UDP socket shows TCP_CLOSE (0x07): that
 * is a UDP "listener"; a connected one shows 0x01. */
static bool is_listener(bool udp, unsigned st, unsigned rport) {
        if (udp)
                return st == 0x07 && rport == 0;
        return st == 0x0A;
}

static int read_net_table(const char *path, bool udp, uint16_t port, bool any, sv__inodes *set) {
        char *buf, *line, *next;
        unsigned lport, rport, st;
        uint64_t inode;
        ssize_t n;
        int r = 0;

        n = sv__proc_read_file_at(AT_FDCWD, path, &buf);
        if (n == UV_ESRCH)
                return 0; /* no IPv6 in this kernel: nothing listens there */
        if (n < 0)
                return (int) n;
        line = strchr(buf, '\n'); /* the header */
        for (; line && r == 0; line = next) {
                line++;
                next = strchr(line, '\n');
                if (sscanf(line, "%*s %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*s %*s %*s %*u %*u %" SCNu64,
                           &lport, &rport, &st, &inode) != 4)
                        continue;
                /* Inode 0: a connection still in a listener's accept queue,
                 * owned by no process yet. */
                if (inode == 0)
                        continue;
                if (any ? (lport == port || rport == port)
                        : (lport == port && is_listener(udp, st, rport)))
                        r = inodes_add(set, inode);
        }
        free(buf);
        return r;
}

int sv__proc_port_inodes(uint16_t port, unsigned protos, bool any_socket, sv__inodes *out) {
        static const struct {
                const char *path;
                bool udp;
        } tables[] = {
                { "/proc/net/tcp", false },
                { "/proc/net/tcp6", false },
                { "/proc/net/udp", true },
                { "/proc/net/udp6", true },
        };
        sv__inodes set = { 0 };
        size_t i;
        int r;

        if (protos == 0)
                protos = SV_FIND_TCP | SV_FIND_UDP;
        for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
                if (!(protos & (tables[i].udp ? SV_FIND_UDP : SV_FIND_TCP)))
                        continue;
                r = read_net_table(tables[i].path, tables[i].udp, port, any_socket, &set);
                if (r < 0) {
                        free(set.v);
                        return r;
                }
        }
        if (set.n > 1)
                qsort(set.v, set.n, sizeof(*set.v), cmp_u64);
        *out = set;
        return 0;
}

int sv__proc_owns_inode(int proc_fd, pid_t pid, const sv__inodes *set) {
        char path[32], link[64];
        struct dirent *de;
        uint64_t inode;
        ssize_t n;
        DIR *dir;
        int fd, found = 0;

        if (set->n == 0)
                return 0;
        (void) snprintf(path, sizeof(path), "%d/fd", (int) pid);
        fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return gone_or(errno);
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return UV_ENOMEM;
        }
        while (!found && (de = readdir(dir)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(fd, de->d_name, link, sizeof(link) - 1);
                if (n < 0)
                        continue; /* the fd was closed meanwhile */
                link[n] = '\0';
                if (sscanf(link, "socket:[%" SCNu64 "]", &inode) != 1)
                        continue;
                if (bsearch(&inode, set->v, set->n, sizeof(*set->v), cmp_u64))
                        found = 1;
        }
        (void) closedir(dir);
        return found;
}

uint64_t sv__proc_now_boot_ms(void) {
        struct timespec ts;

        /* /proc/<pid>/stat's starttime counts from boot, suspend included. */
        if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

uint64_t sv__proc_ticks_to_ms(uint64_t ticks) {
        static long hz;

        if (hz <= 0) {
                hz = sysconf(_SC_CLK_TCK);
                if (hz <= 0)
                        hz = 100;
        }
        return ticks * 1000u / (uint64_t) hz;
}

int sv__proc_open_dir(void) {
        int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int sv__proc_list_pids(int proc_fd, pid_t **out) {
        pid_t *v = NULL, *nv;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *dir;
        int fd;

        /* A directory stream of its own: proc_fd's offset stays put. */
        fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(dir)) != NULL) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 512;
                        nv = realloc(v, cap * sizeof(*v));
                        if (!nv) {
                                free(v);
                                (void) closedir(dir);
                                return UV_ENOMEM;
                        }
                        v = nv;
                }
                v[n++] = (pid_t) atoi(de->d_name);
        }
        (void) closedir(dir);
        *out = v;
        return (int) n;
}
