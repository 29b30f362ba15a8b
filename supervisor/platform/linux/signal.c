/* signal.c - sending signals on Linux: to one process through its pidfd
 * (which cannot name a recycled pid), by pid where there is none, and to a
 * process group. Never signals 0, 1 or a negative pid it was not asked to:
 * kill(2) reads those as "our group", "everyone" and a group. */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/platform.h"

int sv__plat_kill_group(pid_t pgid, int sig) {
        if (pgid <= 1)
                return UV_EINVAL;
        if (kill(-pgid, sig) < 0)
                return -errno;
        return 0;
}

int sv__plat_kill(pid_t pid, int pidfd, int sig) {
        static int no_pidfd_send;

        if (pid <= 1)
                return UV_EINVAL;
        if (pidfd >= 0 && !no_pidfd_send) {
                if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
                        return 0;
                if (errno != ENOSYS)
                        return -errno;
                /* valgrind 3.19 lacks the syscall. kill() is still safe: the
                 * pid is ours until we reap it. */
                no_pidfd_send = 1;
        }
        if (kill(pid, sig) < 0)
                return -errno;
        return 0;
}

int sv__plat_pidfd_open(pid_t pid, int *out_fd) {
        long fd;

        if (pid <= 0)
                return UV_EINVAL;
        fd = syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH ? UV_ESRCH : -errno;
        *out_fd = (int) fd;
        return 0;
}

/* Also takes a /proc/<pid> directory fd, which the kernel accepts as a
 * handle on that process. */
int sv__plat_pidfd_signal(int fd, int sig) {
        if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0)
                return 0;
        return errno == ESRCH ? UV_ESRCH : -errno;
}

int sv__plat_pidfds_wait(const int *fds, size_t n, int timeout_ms, bool *out_gone) {
        struct pollfd *pfd;
        size_t i;
        int r;

        if (n == 0) {
                if (timeout_ms > 0)
                        (void) poll(NULL, 0, timeout_ms);
                return 0;
        }
        pfd = calloc(n, sizeof(*pfd));
        if (!pfd)
                return UV_ENOMEM;
        for (i = 0; i < n; i++) {
                pfd[i].fd = fds[i];
                pfd[i].events = POLLIN;
        }
        r = poll(pfd, (nfds_t) n, timeout_ms);
        if (r < 0) {
                r = errno == EINTR ? 0 : -errno;
                free(pfd);
                return r;
        }
        for (i = 0; i < n; i++)
                out_gone[i] = pfd[i].revents != 0;
        free(pfd);
        return r;
}
