/* job.c - a worker's job object, behind the sv__cg interface core uses for
 * a Linux cgroup: the tree is the job's members, killed whole with
 * TerminateJobObject, listed with JobObjectBasicProcessIdList, empty when
 * its accounting says no process is active. A job is named
 * "supervise-<token>.w<n>" so that spawn.c can open it from the request's
 * string, and lives while the sv__cg holds its handle; closing that handle
 * kills what is left (KILL_ON_JOB_CLOSE), which is also what happens to
 * every tree of ours when we die. The mechanism is reported as "job". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

int sv__win_job_new(const wchar_t *name, HANDLE *out) {
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
        HANDLE job = CreateJobObjectW(NULL, name);
        int r;

        if (!job)
                return sv__win_error(GetLastError());
        if (name && GetLastError() == ERROR_ALREADY_EXISTS) {
                CloseHandle(job);
                return UV_EEXIST;
        }
        memset(&lim, 0, sizeof(lim));
        lim.BasicLimitInformation.LimitFlags =
                JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
        if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof(lim))) {
                r = sv__win_error(GetLastError());
                CloseHandle(job);
                return r;
        }
        *out = job;
        return 0;
}

/* The job's handle is kept after the name in the same allocation (core
 * frees an sv__cg with free()). */
static HANDLE *cg_handle(const sv__cg *cg) {
        size_t off = offsetof(sv__cg, path) + strlen(cg->path) + 1;

        off = (off + sizeof(HANDLE) - 1) / sizeof(HANDLE) * sizeof(HANDLE);
        return (HANDLE *) ((char *) cg + off);
}

/* No directory to make: the "root" is the jobs' name prefix, and the lock
 * an open NUL, for core to close like the Linux flock fd. */
int sv__cg_setup(const char *token, char *out, size_t n, int *out_lock) {
        int fd;

        if ((size_t) snprintf(out, n, "supervise-%s", token) >= n)
                return UV_ENAMETOOLONG;
        fd = sv__plat_open_devnull();
        if (fd < 0)
                return fd;
        *out_lock = fd;
        return 0;
}

int sv__cg_create(const char *parent, unsigned n, sv__cg **out) {
        char name[SV_CG_MAX];
        wchar_t *wname;
        size_t len, off;
        sv__cg *cg;
        HANDLE job;
        int r;

        if ((size_t) snprintf(name, sizeof(name), "%s.w%u", parent, n) >= sizeof(name))
                return UV_ENAMETOOLONG;
        wname = sv__win_wide(name, CP_UTF8);
        if (!wname)
                return UV_ENOMEM;
        r = sv__win_job_new(wname, &job);
        free(wname);
        if (r < 0)
                return r;
        len = strlen(name) + 1;
        off = offsetof(sv__cg, path) + len;
        off = (off + sizeof(HANDLE) - 1) / sizeof(HANDLE) * sizeof(HANDLE);
        cg = calloc(1, off + sizeof(HANDLE));
        if (!cg) {
                CloseHandle(job);
                return UV_ENOMEM;
        }
        memcpy(cg->path, name, len);
        *cg_handle(cg) = job;
        *out = cg;
        return 0;
}

/* The members we started are marked as ended by us, so that reap.c reports
 * them killed (SIGKILL) rather than as exiting with our kill code. */
static void mark_terminated(HANDLE job) {
        pid_t *pids = NULL;
        sv__win_slot *s;
        int n, i;

        n = sv__win_job_pids(job, &pids);
        for (i = 0; i < n; i++)
                if ((s = sv__win_slot_by_pid((DWORD) pids[i])))
                        s->terminated = true;
        free(pids);
}

int sv__cg_kill(sv__cg *cg) {
        cg->killed = true;
        mark_terminated(*cg_handle(cg));
        if (!TerminateJobObject(*cg_handle(cg), SV__WIN_KILL_CODE))
                return sv__win_error(GetLastError());
        return 0;
}

/* Only SIGKILL reaches every member: a console event goes to a process
 * group, and each member's group is unknown here (the worker's leader is
 * signalled on its own, signal.c). */
int sv__cg_signal(const sv__cg *cg, int sig, bool then_cont) {
        (void) then_cont;
        if (sig != SIGKILL)
                return 0;
        mark_terminated(*cg_handle(cg));
        return TerminateJobObject(*cg_handle(cg), SV__WIN_KILL_CODE) ? 1 : 0;
}

/* A job object cannot be frozen (NtSuspendProcess one member at a time
 * would race a member starting another): a pool slot's pause then falls
 * back to SIGSTOP, which Windows refuses too (UV_ENOSYS), so pausing is
 * an error there, not a pause that does nothing. */
int sv__cg_freeze(sv__cg *cg, bool frozen) {
        (void) cg;
        (void) frozen;
        return UV_ENOSYS;
}

int sv__cg_populated(const sv__cg *cg) {
        JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acct;

        if (!QueryInformationJobObject(*cg_handle(cg), JobObjectBasicAccountingInformation, &acct,
                                       sizeof(acct), NULL))
                return sv__win_error(GetLastError());
        return acct.ActiveProcesses > 0;
}

int sv__cg_pids(const sv__cg *cg, pid_t **out) {
        return sv__win_job_pids(*cg_handle(cg), out);
}

int sv__win_job_pids(HANDLE job, pid_t **out) {
        JOBOBJECT_BASIC_PROCESS_ID_LIST *list = NULL;
        DWORD cap = 64, i;
        pid_t *pids;

        for (;;) {
                free(list);
                list = malloc(sizeof(*list) + cap * sizeof(ULONG_PTR));
                if (!list)
                        return UV_ENOMEM;
                list->NumberOfAssignedProcesses = 0;
                list->NumberOfProcessIdsInList = 0;
                if (QueryInformationJobObject(job, JobObjectBasicProcessIdList, list,
                                              sizeof(*list) + cap * sizeof(ULONG_PTR), NULL) ||
                    GetLastError() == ERROR_MORE_DATA) {
                        if (list->NumberOfAssignedProcesses <= list->NumberOfProcessIdsInList)
                                break;
                        cap = list->NumberOfAssignedProcesses + 16;
                        continue;
                }
                free(list);
                return sv__win_error(GetLastError());
        }
        pids = malloc((list->NumberOfProcessIdsInList + 1) * sizeof(*pids));
        if (!pids) {
                free(list);
                return UV_ENOMEM;
        }
        for (i = 0; i < list->NumberOfProcessIdsInList; i++)
                pids[i] = (pid_t) list->ProcessIdList[i];
        *out = pids;
        free(list);
        return (int) i;
}

int sv__cg_destroy(sv__cg *cg) {
        HANDLE *h = cg_handle(cg);

        if (*h) {
                CloseHandle(*h);
                *h = NULL;
        }
        return 0;
}

/* A job cannot vanish while we hold its handle. */
int sv__cg_gone(const sv__cg *cg) {
        (void) cg;
        return 0;
}

/* Closing the handle is all there is to forget, and it kills whatever is
 * still in the job: unlike a cgroup, a job cannot outlive its last handle
 * with processes in it. */
void sv__cg_close(sv__cg *cg) {
        (void) sv__cg_destroy(cg);
}

void sv__cg_remove_tree(const char *root) {
        (void) root;
}

int sv__cg_remove_root(const char *root) {
        (void) root;
        return 0;
}
