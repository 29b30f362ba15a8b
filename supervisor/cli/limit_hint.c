/* limit_hint.c - which knob a resource error points at, for the one line
 * the main command (or run's --isolate) prints about it (POSIX rlimits and
 * user namespaces; Windows has its own in cli/win/unported.c). */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"

/* The limit behind a resource error, for the one line we print about it:
 * "too many open files" alone does not say which knob to turn. */
void sv_cli_limit_hint(int err, char *buf, size_t n) {
        struct rlimit rl;

        buf[0] = '\0';
        if (err == UV_EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
                snprintf(buf, n, " (the open-file limit, RLIMIT_NOFILE, is %llu; 'ulimit -n')",
                         (unsigned long long) rl.rlim_cur);
        else if (err == UV_ENFILE)
                snprintf(buf, n, " (the system-wide open-file limit, fs.file-max)");
        else if (err == UV_EAGAIN && getrlimit(RLIMIT_NPROC, &rl) == 0)
                snprintf(buf, n, " (a process limit: RLIMIT_NPROC is %s%llu, or the cgroup's "
                         "pids.max, or kernel.pid_max)",
                         rl.rlim_cur == RLIM_INFINITY ? "unlimited, " : "",
                         rl.rlim_cur == RLIM_INFINITY ? 0ULL : (unsigned long long) rl.rlim_cur);
        else if (err == UV_ENOMEM)
                snprintf(buf, n, " (out of memory, or a memory limit)");
}

/* Root makes namespaces directly; anyone else needs a user namespace. */
const char *sv_cli_isolate_hint(void) {
        return geteuid() != 0 ? " (not root, and no user namespace is allowed: see sysctl "
                                "user.max_user_namespaces)"
                              : "";
}
