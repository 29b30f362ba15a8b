/* file.c - reading and writing the small files of /proc and cgroupfs whole:
 * one open, a read to EOF, one close. Owns no state, follows no process. */
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

int sv__read_file(const char *path, char *buf, size_t n) {
        ssize_t got;
        size_t len = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (len + 1 < n) {
                got = read(fd, buf + len, n - 1 - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                len += (size_t) got;
        }
        close(fd);
        buf[len] = '\0';
        return (int) len;
}

/* Lists (of pids, of environment strings) have no size limit a buffer
 * could be chosen for: a supervisor with 5,000 children has a 30 KiB
 * children file. Reads to EOF into a buffer that doubles as it fills. */
int sv__read_file_all(const char *path, char **out) {
        size_t cap = 4096, len = 0;
        char *buf, *nb;
        ssize_t got;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        buf = malloc(cap);
        if (!buf) {
                close(fd);
                return UV_ENOMEM;
        }
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap >= (size_t) INT_MAX / 2) {
                                r = UV_E2BIG;
                                goto fail;
                        }
                        nb = realloc(buf, cap * 2);
                        if (!nb) {
                                r = UV_ENOMEM;
                                goto fail;
                        }
                        buf = nb;
                        cap *= 2;
                }
                got = read(fd, buf + len, cap - 1 - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = -errno;
                        goto fail;
                }
                if (got == 0)
                        break;
                len += (size_t) got;
        }
        close(fd);
        buf[len] = '\0';
        *out = buf;
        return (int) len;

fail:
        close(fd);
        free(buf);
        return r;
}

/* Appends the whitespace-separated decimal pids of `text` to *v. A token
 * that is not a whole positive number is an error, never a pid: a pid
 * made of the head of a cut-off number would name someone else. */
static int parse_pids(const char *text, pid_t **v, size_t *cnt, size_t *cap) {
        const char *p = text;
        char *end;
        pid_t *nv;
        long pid;

        for (;;) {
                while (*p == ' ' || *p == '\n' || *p == '\t')
                        p++;
                if (!*p)
                        return 0;
                errno = 0;
                pid = strtol(p, &end, 10);
                if (end == p || errno || pid <= 0 || pid > INT_MAX ||
                    (*end && *end != ' ' && *end != '\n' && *end != '\t'))
                        return UV_EINVAL;
                p = end;
                if (*cnt == *cap) {
                        *cap = *cap ? *cap * 2 : 64;
                        nv = realloc(*v, *cap * sizeof(**v));
                        if (!nv)
                                return UV_ENOMEM;
                        *v = nv;
                }
                (*v)[(*cnt)++] = (pid_t) pid;
        }
}

/* Appends the pids listed in `path` (a children file, cgroup.procs). */
int sv__linux_append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap) {
        char *text;
        int r;

        r = sv__read_file_all(path, &text);
        if (r < 0)
                return r;
        r = parse_pids(text, v, cnt, cap);
        free(text);
        return r;
}

int sv__read_pid_list(const char *path, pid_t **out) {
        pid_t *v = NULL;
        size_t cnt = 0, cap = 0;
        int r;

        r = sv__linux_append_pid_file(path, &v, &cnt, &cap);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        return (int) cnt;
}

int sv__write_file(const char *path, const char *s) {
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                r = -errno;
        close(fd);
        return r;
}
