/* signal.c - what a signal number means on Windows, which has none to send:
 *   SIGTERM, SIGBREAK, SIGINT: CTRL_BREAK_EVENT to the worker's process
 *     group (its leader was created with CREATE_NEW_PROCESS_GROUP and shares
 *     our console). SIGINT too, since Windows cannot aim CTRL_C_EVENT at one
 *     group (the call succeeds and nothing arrives), so Ctrl+Break is the
 *     only polite stop one worker can be sent;
 *   SIGKILL: TerminateJobObject on the worker's own job, and TerminateProcess
 *     (exit code 1, as taskkill /f and libuv give);
 *   SIGCONT: nothing (no process is ever stopped), 0: a liveness probe.
 * Anything else is UV_ENOSYS. A console event goes only to a group leader we
 * started (a pid in our handle table, whose handle pins the pid): an event
 * for an arbitrary pid could reach the whole console, us included. */
#include <uv.h>

#include "platform/win/win.h"

static int alive(HANDLE h) {
        return WaitForSingleObject(h, 0) == WAIT_TIMEOUT ? 0 : UV_ESRCH;
}

static int terminate_slot(sv__win_slot *s) {
        int r = alive(s->h);

        if (r < 0)
                return r;
        s->terminated = true; /* before: its exit may be seen at once */
        if (s->job)
                (void) TerminateJobObject(s->job, SV__WIN_KILL_CODE);
        if (!TerminateProcess(s->h, SV__WIN_KILL_CODE))
                return alive(s->h) < 0 ? UV_ESRCH : sv__win_error(GetLastError());
        return 0;
}

/* A process we did not start (a member of a worker's job): opened by pid,
 * which the caller has just read from the job, so it is the same window a
 * kill(2) by pid has. */
static int terminate_pid(DWORD pid) {
        HANDLE h = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid);
        int r = 0;

        if (!h)
                return GetLastError() == ERROR_INVALID_PARAMETER ? UV_ESRCH
                                                                 : sv__win_error(GetLastError());
        if (!TerminateProcess(h, SV__WIN_KILL_CODE))
                r = alive(h) < 0 ? UV_ESRCH : sv__win_error(GetLastError());
        CloseHandle(h);
        return r;
}

static int console_break(sv__win_slot *s) {
        int r = alive(s->h);

        if (r < 0)
                return r;
        if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, s->pid))
                return sv__win_error(GetLastError());
        return 0;
}

int sv__plat_kill(pid_t pid, int pidfd, int sig) {
        sv__win_slot *s = pidfd >= 0 ? sv__win_slot_get(pidfd) : NULL;

        if (pid <= 0 || (DWORD) pid == GetCurrentProcessId())
                return UV_EINVAL;
        if (pidfd >= 0 && (!s || s->kind != SV__WIN_PROC))
                return UV_EBADF;
        switch (sig) {
        case 0:
                return s ? alive(s->h) : UV_ENOSYS;
        case SIGCONT:
                return 0;
        case SIGKILL:
                return s ? terminate_slot(s) : terminate_pid((DWORD) pid);
        case SIGTERM:
        case SIGBREAK:
        case SIGINT:
                /* Only through the leader's own handle: see above. */
                return s ? console_break(s) : UV_ENOSYS;
        default:
                return UV_ENOSYS;
        }
}

/* The group of a worker we started is its leader's pid. */
int sv__plat_kill_group(pid_t pgid, int sig) {
        sv__win_slot *s = pgid > 0 ? sv__win_slot_by_pid((DWORD) pgid) : NULL;

        if (!s)
                return UV_ESRCH;
        if (sig == SIGKILL)
                return terminate_slot(s);
        if (sig == SIGTERM || sig == SIGBREAK || sig == SIGINT)
                return console_break(s);
        return sig == SIGCONT ? 0 : UV_ENOSYS;
}
