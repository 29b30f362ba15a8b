/* unixsock.c - the Unix-domain socket under the control server: binding it
 * with mode 0600 and no window in which anyone else could connect, telling
 * a stale socket (its supervisor died) from a live one, asking the kernel
 * who the peer is, and removing only the socket we made. Owns no state;
 * the server (control/control.c) keeps the fds and the inode. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/platform.h"

static int make_addr(const char *path, struct sockaddr_un *sa) {
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sa->sun_path))
                return UV_ENAMETOOLONG;
        memcpy(sa->sun_path, path, strlen(path));
        return 0;
}

int sv__plat_unix_dial(const char *path, bool nonblock, int *out_fd) {
        struct sockaddr_un sa;
        int fd, r;

        r = make_addr(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
        if (fd < 0)
                return -errno;
        while ((r = connect(fd, (struct sockaddr *) &sa, sizeof(sa))) < 0 && errno == EINTR)
                ;
        if (r < 0) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        *out_fd = fd;
        return 0;
}

/* What is at `path` now: 0 nothing (or a stale socket, removed), or
 * UV_EADDRINUSE (a live supervisor answers there), UV_EEXIST (not a socket:
 * never removed), or another error. A stale socket refuses connections
 * (ECONNREFUSED); a live one accepts, or is busy (EAGAIN: backlog full). */
static int clear_stale(const char *path) {
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return UV_EEXIST;
        r = sv__plat_unix_dial(path, true, &fd);
        if (r == 0) {
                (void) close(fd);
                return UV_EADDRINUSE;
        }
        if (r == UV_EAGAIN)
                return UV_EADDRINUSE;
        if (r == UV_ENOENT)
                return 0;
        if (r != UV_ECONNREFUSED)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Binds fd inside a fresh 0700 directory beside `path`, makes the socket
 * 0600, then links it into place: nobody can reach it before its mode is
 * final, and the process umask is never touched (other threads may be
 * creating files). The link is the same inode, and the kernel finds a Unix
 * socket by its inode, so connecting to `path` reaches fd. link(), unlike
 * rename(), never replaces what someone put at `path` since clear_stale()
 * looked (EEXIST). */
static int bind_private(int fd, const char *path) {
        char dir[PATH_MAX], tmp[PATH_MAX + 8];
        const char *slash = strrchr(path, '/');
        struct sockaddr_un sa;
        int r;

        if (snprintf(dir, sizeof(dir), "%.*s.sv-bind-XXXXXX", slash ? (int) (slash - path + 1) : 0,
                     path) >= (int) sizeof(dir))
                return UV_ENAMETOOLONG;
        if (!mkdtemp(dir))
                return -errno;
        (void) snprintf(tmp, sizeof(tmp), "%s/s", dir);
        r = make_addr(tmp, &sa);
        if (r == 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                r = -errno;
        if (r == 0 && chmod(tmp, 0600) < 0)
                r = -errno;
        if (r == 0 && link(tmp, path) < 0)
                r = -errno;
        (void) unlink(tmp);
        (void) rmdir(dir);
        return r;
}

int sv__plat_unix_listen(const char *path, int backlog, int *out_fd, sv__file_id *out_id) {
        struct sockaddr_un sa;
        struct stat st;
        int fd, r;

        r = make_addr(path, &sa);
        if (r < 0)
                return r;
        r = clear_stale(path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        r = bind_private(fd, path);
        if (r == 0 && listen(fd, backlog) < 0)
                r = -errno;
        if (r == 0 && lstat(path, &st) < 0)
                r = -errno;
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        out_id->dev = (uint64_t) st.st_dev;
        out_id->ino = (uint64_t) st.st_ino;
        *out_fd = fd;
        return 0;
}

int sv__plat_unix_unlink(const char *path, const sv__file_id *id) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return -errno;
        /* Another supervisor may have replaced ours (after deciding it was
         * stale): its socket is not ours to remove. */
        if (!S_ISSOCK(st.st_mode) || (uint64_t) st.st_dev != id->dev ||
            (uint64_t) st.st_ino != id->ino)
                return UV_EEXIST;
        return unlink(path) < 0 ? -errno : 0;
}

int sv__plat_unix_peer(int fd, uint32_t *out_uid, pid_t *out_pid) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        *out_uid = (uint32_t) cred.uid;
        *out_pid = cred.pid;
        return 0;
}

uint32_t sv__plat_euid(void) {
        return (uint32_t) geteuid();
}

void sv__plat_fd_close(int fd) {
        (void) close(fd);
}
