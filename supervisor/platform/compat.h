/* compat.h - the few POSIX names core/, run/ and find/ use that Windows
 * (mingw-w64) lacks, so that those layers compile unchanged there. Signal
 * numbers keep their Linux values: they are only names for the actions
 * platform/win maps them to (SIGTERM and SIGBREAK: CTRL_BREAK_EVENT,
 * SIGINT: CTRL_C_EVENT, SIGKILL: TerminateJobObject), and the rest are never
 * delivered there (sv__plat_kill answers UV_ENOSYS). Included by platform.h
 * only; on Linux it adds nothing. */
#ifndef SV_PLATFORM_COMPAT_H
#define SV_PLATFORM_COMPAT_H

/* What a worker's own tree container is called in reports: core's cgroup
 * path runs on a job object per worker on Windows (platform/win/job.c). */
#ifdef _WIN32
#define SV__PLAT_CGROUP_NAME "job"
#else
#define SV__PLAT_CGROUP_NAME "cgroup"
#endif

#ifdef _WIN32
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>

typedef int uid_t;
typedef int gid_t;

/* libuv's uv/win.h defines SIGHUP, SIGKILL and SIGWINCH; mingw's signal.h
 * SIGINT, SIGILL, SIGFPE, SIGSEGV, SIGTERM, SIGBREAK (21) and SIGABRT (22). */
#ifndef SIGHUP
#define SIGHUP 1
#endif
#ifndef SIGQUIT
#define SIGQUIT 3
#endif
#define SIGTRAP 5
#define SIGIOT 6
#define SIGBUS 7
#ifndef SIGKILL
#define SIGKILL 9
#endif
#define SIGUSR1 10
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
/* Linux's 21 and 22 (SIGTTIN, SIGTTOU) are SIGBREAK and SIGABRT there:
 * numbers of their own from the two Linux leaves unused (32, 33), so that
 * core's stop-signal checks name them and tell them from the others. */
#define SIGTTIN 32
#define SIGTTOU 33
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGVTALRM 26
#define SIGPROF 27
#ifndef SIGWINCH
#define SIGWINCH 28
#endif
#define SIGIO 29
#define SIGSYS 31
#define SIGRTMIN 34
#define SIGRTMAX 64

#ifndef O_CLOEXEC
/* mingw's _open knows O_NOINHERIT, the same promise: not inherited by children. */
#define O_CLOEXEC O_NOINHERIT
#endif
#endif /* _WIN32 */

#endif
