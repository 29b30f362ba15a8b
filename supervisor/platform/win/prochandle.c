/* prochandle.c - platform.h's sv__phandle_* on Windows: process handles for
 * `supervise kill`. Owns the handles it opens.
 *
 * The pid-reuse guard: OpenProcess comes FIRST, then the creation time and
 * the image name read through that handle are compared with the snapshot's,
 * and only then does TerminateProcess go through the same handle. An open
 * handle keeps its process object, and with it the pid, from being reused,
 * so once the check passes no later step can reach another process. A
 * process whose creation time could not be read at scan time is never
 * terminated: its identity cannot be checked.
 *
 * Every signal ends the process with TerminateProcess and exit code 1, as
 * `taskkill /f` and libuv's uv_process_kill do: Windows has no signals, and
 * a console control event reaches only processes on our own console. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/platform.h"
#include "platform/win/wfind.h"

/* The exit code a terminated process gets (as `taskkill /f` gives). */
#define SV_TERMINATE_CODE 1

static HANDLE as_handle(const sv__phandle *h) {
        return (HANDLE) h->v;
}

static bool has_exited(HANDLE h) {
        return WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
}

/* The final component of a Windows path. */
static const WCHAR *wbase(const WCHAR *path) {
        const WCHAR *s = path, *base = path;

        for (; *s; s++)
                if (*s == L'\\' || *s == L'/')
                        base = s + 1;
        return base;
}

/* 0 if h is the process p of the snapshot; UV_ESRCH if it has exited or
 * is another process; UV_EPERM if the snapshot could not read its identity. */
static int verify(HANDLE h, const sv_find_proc *p) {
        WCHAR path[MAX_PATH];
        char name[sizeof(p->name)];
        DWORD len = MAX_PATH;
        uint64_t start = 0;
        int r;

        if (p->start_ticks == 0)
                return UV_EPERM;
        r = sv__win_start_time(h, &start);
        if (r < 0)
                return r;
        if (start != p->start_ticks || has_exited(h))
                return UV_ESRCH;
        /* The name too, where the image path can be read: belt and braces
         * against a clock that handed two processes the same time. */
        if (QueryFullProcessImageNameW(h, 0, path, &len) &&
            WideCharToMultiByte(CP_UTF8, 0, wbase(path), -1, name, (int) sizeof(name), NULL, NULL) > 0 &&
            !sv__win_name_equal(name, p->name))
                return UV_ESRCH;
        return 0;
}

int sv__phandle_open(sv__ptab *pt, const sv_find_proc *p, sv__phandle *out) {
        HANDLE h;
        int r;

        (void) pt;
        if (p->pid <= 0 || p->pid == 4)
                return UV_EPERM;
        h = OpenProcess(PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE,
                        (DWORD) p->pid);
        if (!h)
                return sv__win_err(GetLastError());
        r = verify(h, p);
        if (r < 0) {
                (void) CloseHandle(h);
                return r;
        }
        out->v = (intptr_t) h;
        out->is_pidfd = true;
        return 0;
}

int sv__phandle_signal(sv__phandle *h, const sv_find_proc *p, int sig) {
        DWORD err;

        (void) p;
        (void) sig;
        if (has_exited(as_handle(h)))
                return UV_ESRCH;
        if (TerminateProcess(as_handle(h), SV_TERMINATE_CODE))
                return 0;
        err = GetLastError();
        /* Terminating a process that is already exiting fails with
         * ERROR_ACCESS_DENIED: it is gone, not forbidden. */
        if (has_exited(as_handle(h)))
                return UV_ESRCH;
        return sv__win_err(err);
}

int sv__phandle_wait(const sv__phandle *hs, size_t n, int timeout_ms, bool *out_gone) {
        HANDLE w[MAXIMUM_WAIT_OBJECTS];
        size_t i, k = 0;
        DWORD r;
        int gone = 0;

        for (i = 0; i < n; i++) {
                out_gone[i] = has_exited(as_handle(&hs[i]));
                gone += out_gone[i];
                if (!out_gone[i] && k < MAXIMUM_WAIT_OBJECTS)
                        w[k++] = as_handle(&hs[i]);
        }
        if (gone > 0 || k == 0)
                return gone;
        /* All must end anyway: waiting on the first 64 alive is enough,
         * the caller comes back for the rest. */
        r = WaitForMultipleObjects((DWORD) k, w, FALSE, timeout_ms < 0 ? INFINITE : (DWORD) timeout_ms);
        if (r == WAIT_FAILED)
                return sv__win_err(GetLastError());
        for (i = 0; i < n; i++) {
                out_gone[i] = has_exited(as_handle(&hs[i]));
                gone += out_gone[i];
        }
        return gone;
}

void sv__phandle_close(sv__phandle *h) {
        if (h->v >= 0 && h->v != (intptr_t) 0)
                (void) CloseHandle(as_handle(h));
        h->v = -1;
}
