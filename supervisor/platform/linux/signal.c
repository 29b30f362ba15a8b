/* signal.c - sending signals on Linux: to one process through its pidfd
 * (which cannot name a recycled pid), by pid where there is none, and to a
 * process group. Never signals 0, 1 or a negative pid it was not asked to:
 * kill(2) reads those as "our group", "everyone" and a group. */
#include <errno.h>
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
