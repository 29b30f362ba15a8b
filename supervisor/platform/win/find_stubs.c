/* find_stubs.c - the /proc readers of platform.h that Windows does not
 * have (hang diagnosis, ctest -N, and the Linux finder's sv__proc_*; the
 * finder itself runs on proctable.c's sv__ptab_* there): each answers
 * UV_ENOSYS, so every caller takes its "cannot read" path. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

int sv__read_file(const char *path, char *buf, size_t n) {
        (void) path;
        (void) buf;
        (void) n;
        return UV_ENOSYS;
}

int sv__read_file_all(const char *path, char **out) {
        (void) path;
        (void) out;
        return UV_ENOSYS;
}

int sv__read_pid_list(const char *path, pid_t **out) {
        (void) path;
        (void) out;
        return UV_ENOSYS;
}

int sv__write_file(const char *path, const char *s) {
        (void) path;
        (void) s;
        return UV_ENOSYS;
}

int sv__proc_cmdline(pid_t pid, char *buf, size_t n) {
        (void) pid;
        (void) buf;
        (void) n;
        return UV_ENOSYS;
}

int sv__proc_parse_stat(const char *buf, size_t len, sv__stat *out) {
        (void) buf;
        (void) len;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_open_dir(void) {
        return UV_ENOSYS;
}

int sv__proc_list_pids(int proc_fd, pid_t **out) {
        (void) proc_fd;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_read_stat_at(int dirfd, const char *path, sv__stat *out) {
        (void) dirfd;
        (void) path;
        (void) out;
        return UV_ENOSYS;
}

ssize_t sv__proc_read_file_at(int dirfd, const char *path, char **out) {
        (void) dirfd;
        (void) path;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_read_euid(int proc_fd, pid_t pid, uid_t *out) {
        (void) proc_fd;
        (void) pid;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_read_ids(int proc_fd, pid_t pid, sv__ids *out) {
        (void) proc_fd;
        (void) pid;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_port_inodes(uint16_t port, unsigned protos, bool any_socket, sv__inodes *out) {
        (void) port;
        (void) protos;
        (void) any_socket;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_owns_inode(int proc_fd, pid_t pid, const sv__inodes *set) {
        (void) proc_fd;
        (void) pid;
        (void) set;
        return UV_ENOSYS;
}

uint64_t sv__proc_now_boot_ms(void) {
        return GetTickCount64();
}

uint64_t sv__proc_ticks_to_ms(uint64_t ticks) {
        return ticks;
}

int sv__plat_pidfd_open(pid_t pid, int *out_fd) {
        (void) pid;
        (void) out_fd;
        return UV_ENOSYS;
}

int sv__plat_pidfd_signal(int fd, int sig) {
        (void) fd;
        (void) sig;
        return UV_ENOSYS;
}

int sv__plat_pidfds_wait(const int *fds, size_t n, int timeout_ms, bool *out_gone) {
        (void) fds;
        (void) n;
        (void) timeout_ms;
        (void) out_gone;
        return UV_ENOSYS;
}
