/* init.c - what the platform tells a supervisor that is PID 1 of a PID
 * namespace (a container's entrypoint). Such a process is sent every orphan
 * of its namespace, has no default action for signals it does not handle,
 * and takes the whole namespace with it when it dies. Nothing here reaps:
 * it only looks, so that core/ can leave its workers to their pidfds. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"

bool sv__plat_is_ns_init(void) {
        return getpid() == 1;
}

int sv__plat_peek_exited(pid_t *out) {
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        if (si.si_pid == 0)
                return 0;
        *out = si.si_pid;
        return 1;
}
