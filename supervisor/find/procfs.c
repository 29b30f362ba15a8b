/* procfs.c - the /proc readers under sv_find_scan(): stat, status, cmdline,
 * fd links and the socket tables. Owns no state. A process may vanish between
 * any two system calls here, so every "no such file" or ESRCH becomes
 * UV_ESRCH, which callers treat as "gone", never as a failure. Never follows
 * a path that another process could swap under us: everything is read
 * relative to an open /proc directory fd. */
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

#include "find/find_internal.h"

/* The kernel's PF_KTHREAD bit in the `flags` field of /proc/<pid>/stat. */
#define SV__PF_KTHREAD 0x00200000u

static int gone_or(int err) {
        if (err == ENOENT || err == ESRCH)
                return UV_ESRCH;
        return -err;
}

/* Parses an unsigned decimal field at *p, skipping leading spaces, and moves
 * *p past it. Returns false if there is no digit, if the field goes on with
 * something else ("12x"), or if it does not fit in 64 bits: a wrapped number
 * would be a wrong pid, not a parse error. */
static bool next_u64(const char **p, const char *end, uint64_t *out) {
        const char *s = *p;
        uint64_t v = 0, d;

        while (s < end && *s == ' ')
                s++;
        if (s >= end || *s < '0' || *s > '9')
                return false;
        while (s < end && *s >= '0' && *s <= '9') {
                d = (uint64_t) (*s++ - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (s < end && *s != ' ' && *s != '\n')
                return false;
        *p = s;
        *out = v;
        return true;
}

/* Parses a decimal that may be negative (pgrp 0 of a kernel thread, tty_nr,
 * tpgid -1) at *p, skipping leading spaces. */
static bool next_i64(const char **p, const char *end, int64_t *out) {
        const char *s = *p;
        uint64_t v;
        bool neg;

        while (s < end && *s == ' ')
                s++;
        neg = s < end && *s == '-';
        if (neg)
                s++;
        if (!next_u64(&s, end, &v))
                return false;
        *p = s;
        *out = neg ? -(int64_t) v : (int64_t) v;
        return true;
}

/* Skips one space-separated field, which may be negative (tty_nr, tpgid). */
static bool skip_field(const char **p, const char *end) {
        const char *s = *p;

        while (s < end && *s == ' ')
                s++;
        if (s >= end)
                return false;
        while (s < end && *s != ' ')
                s++;
        *p = s;
        return true;
}

int sv__proc_parse_stat(const char *buf, size_t len, sv__stat *out) {
        const char *open, *close, *p, *end = buf + len;
        uint64_t ppid, flags, v;
        int64_t pgrp, sid, tty;
        sv__stat st;
        size_t n;
        int field;

        memset(&st, 0, sizeof(st));
        open = memchr(buf, '(', len);
        close = memrchr(buf, ')', len);
        if (!open || !close || close < open)
                return UV_EINVAL;
        n = (size_t) (close - open - 1);
        if (n >= sizeof(st.name))
                n = sizeof(st.name) - 1;
        memcpy(st.name, open + 1, n);
        st.name[n] = '\0';

        p = close + 1;
        if (end - p < 2 || p[0] != ' ')
                return UV_EINVAL;
        st.state = p[1];
        p += 2;
        /* Fields 4 (ppid) to 24 (rss) of proc(5); the state was field 3. */
        if (!next_u64(&p, end, &ppid))
                return UV_EINVAL;
        /* 5 pgrp, 6 session, 7 tty_nr, 8 tpgid. */
        if (!next_i64(&p, end, &pgrp) || !next_i64(&p, end, &sid) || !next_i64(&p, end, &tty) ||
            !skip_field(&p, end))
                return UV_EINVAL;
        st.pgrp = (pid_t) pgrp;
        st.sid = (pid_t) sid;
        st.tty_nr = (int) tty;
        if (!next_u64(&p, end, &flags))
                return UV_EINVAL;
        for (field = 10; field <= 21; field++)
                if (!skip_field(&p, end))
                        return UV_EINVAL;
        if (!next_u64(&p, end, &st.start_ticks))
                return UV_EINVAL;
        if (!skip_field(&p, end) || !next_u64(&p, end, &v))
                return UV_EINVAL;
        /* pid_t is an int: a larger ppid is no pid at all. */
        if (ppid > INT_MAX)
                return UV_EINVAL;
        st.rss_pages = v;
        st.ppid = (pid_t) ppid;
        st.kthread = (flags & SV__PF_KTHREAD) != 0;
        *out = st;
        return 0;
}

int sv__find_parse_stat(const char *buf, size_t len, sv__stat *out) {
        return sv__proc_parse_stat(buf, len, out);
}

int sv__find_read_stat(int dirfd, const char *path, sv__stat *out) {
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

ssize_t sv__find_read_file(int dirfd, const char *path, char **out) {
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

int sv__find_read_ids(int proc_fd, pid_t pid, sv__ids *out) {
        char path[32], *buf, *uline, *gline;
        unsigned long ruid, euid, rgid;
        ssize_t n;

        (void) snprintf(path, sizeof(path), "%d/status", (int) pid);
        n = sv__find_read_file(proc_fd, path, &buf);
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

int sv__find_read_euid(int proc_fd, pid_t pid, uid_t *out) {
        sv__ids ids;
        int r;

        r = sv__find_read_ids(proc_fd, pid, &ids);
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

        n = sv__find_read_file(AT_FDCWD, path, &buf);
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

int sv__find_port_inodes(uint16_t port, unsigned protos, bool any_socket, sv__inodes *out) {
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

int sv__find_owns_inode(int proc_fd, pid_t pid, const sv__inodes *set) {
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

uint64_t sv__find_now_boot_ms(void) {
        struct timespec ts;

        /* /proc/<pid>/stat's starttime counts from boot, suspend included. */
        if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

uint64_t sv__find_ticks_to_ms(uint64_t ticks) {
        static long hz;

        if (hz <= 0) {
                hz = sysconf(_SC_CLK_TCK);
                if (hz <= 0)
                        hz = 100;
        }
        return ticks * 1000u / (uint64_t) hz;
}
