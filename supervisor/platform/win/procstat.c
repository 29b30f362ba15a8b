/* procstat.c - sv__proc_stat on Windows: one process's parent and image
 * name from a Toolhelp32 snapshot, for the descendants core lists from a
 * worker's job (tree reports, sv_worker_descendants) and the hang snapshot
 * (sv__proc_detail_read: no wait channel or kernel stack). Windows has no
 * process groups or run states: pgid is the pid of the worker's group
 * leader when it is one of ours, else 0, and state is 'R' (a process
 * listed is alive; a dead one is no longer in the snapshot). */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

#include <tlhelp32.h> /* after windows.h */

int sv__proc_stat(pid_t pid, sv_proc *out) {
        PROCESSENTRY32W pe;
        HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        char *name;
        int r = UV_ESRCH;

        if (snap == INVALID_HANDLE_VALUE)
                return sv__win_error(GetLastError());
        pe.dwSize = sizeof(pe);
        for (BOOL ok = Process32FirstW(snap, &pe); ok; ok = Process32NextW(snap, &pe)) {
                if (pe.th32ProcessID != (DWORD) pid)
                        continue;
                memset(out, 0, sizeof(*out));
                out->pid = pid;
                out->ppid = (pid_t) pe.th32ParentProcessID;
                out->pgid = sv__win_slot_by_pid((DWORD) pid) ? pid : 0;
                out->state = 'R';
                name = sv__win_utf8(pe.szExeFile);
                if (name) {
                        strncpy(out->comm, name, sizeof(out->comm) - 1);
                        free(name);
                }
                r = 0;
                break;
        }
        CloseHandle(snap);
        return r;
}

/* What a hang snapshot can show on Windows: parent and image name. The
 * stack's error is an errno value, which diag.c prints with strerror(). */
int sv__proc_detail_read(pid_t pid, sv__proc_detail *out) {
        int r;

        memset(out, 0, sizeof(*out));
        out->p.pid = pid;
        out->p.state = '?';
        strcpy(out->wchan, "-");
        out->stack_err = -ENOSYS;
        r = sv__proc_stat(pid, &out->p);
        if (r < 0)
                return r;
        out->cmdline_len = strlen(out->p.comm);
        memcpy(out->cmdline, out->p.comm, out->cmdline_len);
        return 0;
}

void sv__proc_detail_release(sv__proc_detail *d) {
        free(d->stack);
        d->stack = NULL;
}
