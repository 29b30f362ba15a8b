/* proctable.c - the process finder's view of Windows (platform.h's
 * sv__ptab_*): a Toolhelp32 snapshot for pid, parent and name, then a
 * query-only handle per process for the creation time (with the pid, the
 * identity that tells a recycled pid apart), working set and session, and,
 * lazily, the owner's account and the command line. Owns nothing past a
 * call but the strings it hands to the table. Lists pid 0 (the Idle
 * process) and 4 (System) as kernel threads, so find/signal.c never
 * touches them. The handles of a kill are prochandle.c's, --port is
 * ports.c's. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <iphlpapi.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <winternl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/platform.h"
#include "platform/win/wfind.h"

/* FILETIME ticks (100 ns) per millisecond. */
#define TICKS_PER_MS 10000u

int sv__ptab_open(sv__ptab **out) {
        sv__ptab *pt = calloc(1, sizeof(*pt));

        if (!pt)
                return UV_ENOMEM;
        *out = pt;
        return 0;
}

void sv__ptab_free(sv__ptab *pt) {
        if (!pt)
                return;
        free(pt->owners);
        free(pt);
}

static uint64_t ft_u64(FILETIME ft) {
        return ((uint64_t) ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

int sv__win_err(DWORD err) {
        switch (err) {
        case ERROR_INVALID_PARAMETER: /* OpenProcess: no such pid (any more) */
                return UV_ESRCH;
        case ERROR_ACCESS_DENIED:
                return UV_EPERM;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
                return UV_ENOMEM;
        default:
                return uv_translate_sys_error((int) err);
        }
}

/* The creation time of an open process: 0 or a negative error. */
int sv__win_start_time(HANDLE h, uint64_t *out) {
        FILETIME created, exited, kernel, user;

        if (!GetProcessTimes(h, &created, &exited, &kernel, &user))
                return sv__win_err(GetLastError());
        *out = ft_u64(created);
        return 0;
}

/* UTF-16 to UTF-8 into buf (truncated on a character boundary). */
static void to_utf8(const WCHAR *w, char *buf, size_t len) {
        int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int) len, NULL, NULL);

        if (n <= 0) {
                /* Too long for buf: convert a shorter prefix. */
                size_t wl = wcslen(w);

                buf[0] = '\0';
                while (wl > 0 && n <= 0) {
                        wl--;
                        n = WideCharToMultiByte(CP_UTF8, 0, w, (int) wl, buf, (int) len - 1, NULL, NULL);
                }
                buf[n > 0 ? n : 0] = '\0';
        }
}

/* Creation time and working set, through a query-only handle; a process
 * we may not open keeps start_ticks 0 (its identity cannot be checked, so
 * it is never terminated: sv__phandle_open refuses it). */
static void fill_times(sv_find_proc *p, uint64_t now) {
        PROCESS_MEMORY_COUNTERS mc;
        uint64_t start = 0;
        HANDLE h;

        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD) p->pid);
        if (!h)
                return;
        if (sv__win_start_time(h, &start) == 0) {
                p->start_ticks = start;
                p->age_ms = now > start ? (now - start) / TICKS_PER_MS : 0;
        }
        memset(&mc, 0, sizeof(mc));
        if (K32GetProcessMemoryInfo(h, &mc, sizeof(mc)))
                p->rss_kb = mc.WorkingSetSize / 1024;
        (void) CloseHandle(h);
}

static void fill(sv_find_proc *p, const PROCESSENTRY32W *pe, uint64_t now) {
        DWORD session = 0;

        memset(p, 0, sizeof(*p));
        p->pid = (pid_t) pe->th32ProcessID;
        p->ppid = (pid_t) pe->th32ParentProcessID;
        p->state = 'R'; /* Windows lists no zombies: every process runs */
        to_utf8(pe->szExeFile, p->name, sizeof(p->name));
        if (ProcessIdToSessionId(pe->th32ProcessID, &session))
                p->sid = (pid_t) session;
        /* The Idle process (0) and System (4) are the kernel's own. */
        p->kthread = p->pid == 0 || p->pid == 4;
        if (p->pid == 0)
                p->ppid = 0;
        if (!p->kthread)
                fill_times(p, now);
}

int sv__ptab_list(sv__ptab *pt, sv_find_proc **out) {
        PROCESSENTRY32W pe;
        sv_find_proc *v = NULL, *nv;
        size_t n = 0, cap = 0;
        FILETIME now_ft;
        HANDLE snap;
        BOOL more;

        (void) pt;
        snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if (snap == INVALID_HANDLE_VALUE)
                return sv__win_err(GetLastError());
        GetSystemTimeAsFileTime(&now_ft);
        pe.dwSize = sizeof(pe);
        for (more = Process32FirstW(snap, &pe); more; more = Process32NextW(snap, &pe)) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        nv = realloc(v, cap * sizeof(*v));
                        if (!nv) {
                                free(v);
                                (void) CloseHandle(snap);
                                return UV_ENOMEM;
                        }
                        v = nv;
                }
                fill(&v[n++], &pe, ft_u64(now_ft));
        }
        (void) CloseHandle(snap);
        if (!v && !(v = malloc(sizeof(*v))))
                return UV_ENOMEM;
        *out = v;
        return (int) n;
}

/* No parent pid of our own here: find.c walks up from our entry in the
 * snapshot, which Toolhelp32 always lists (we are alive), checking each
 * parent's creation time; a second snapshot would only cost time. */
void sv__ptab_self(sv__ptab *pt, pid_t *out_self, pid_t *out_parent) {
        (void) pt;
        *out_self = (pid_t) GetCurrentProcessId();
        *out_parent = 0;
}

/* ---- Names ---- */

/* The length of name without one final ".exe" (any case). */
static size_t stem_len(const WCHAR *w) {
        size_t n = wcslen(w);

        if (n > 4 && CompareStringOrdinal(w + n - 4, 4, L".exe", 4, TRUE) == CSTR_EQUAL)
                return n - 4;
        return n;
}

int sv__win_name_equal(const char *a, const char *b) {
        WCHAR wa[MAX_PATH], wb[MAX_PATH];

        if (!MultiByteToWideChar(CP_UTF8, 0, a, -1, wa, MAX_PATH) ||
            !MultiByteToWideChar(CP_UTF8, 0, b, -1, wb, MAX_PATH))
                return strcmp(a, b) == 0;
        return CompareStringOrdinal(wa, (int) stem_len(wa), wb, (int) stem_len(wb), TRUE) == CSTR_EQUAL;
}

/* As Windows users name programs (`taskkill /im make.exe`): case ignored,
 * ".exe" optional on either side, so "make", "MAKE" and "make.exe" all
 * name make.exe. */
int sv__ptab_name_is(sv__ptab *pt, sv_find_proc *p, const char *name) {
        (void) pt;
        return sv__win_name_equal(p->name, name);
}

/* ---- Owner and command line ---- */

/* "DOMAIN\user" of the process's token, malloc'd into *out; 0, or a
 * negative error (UV_EPERM for a process we may not query). */
static int token_user(HANDLE proc, char **out) {
        WCHAR name[256], domain[256], both[514];
        DWORD nlen = 256, dlen = 256, need = 0;
        SID_NAME_USE use;
        TOKEN_USER *tu = NULL;
        HANDLE tok;
        char *s;
        int r = UV_EPERM;

        if (!OpenProcessToken(proc, TOKEN_QUERY, &tok))
                return sv__win_err(GetLastError());
        (void) GetTokenInformation(tok, TokenUser, NULL, 0, &need);
        if (need == 0 || !(tu = malloc(need)))
                goto out;
        if (!GetTokenInformation(tok, TokenUser, tu, need, &need) ||
            !LookupAccountSidW(NULL, tu->User.Sid, name, &nlen, domain, &dlen, &use))
                goto out;
        (void) _snwprintf(both, sizeof(both) / sizeof(both[0]), dlen ? L"%ls\\%ls" : L"%ls%ls", domain, name);
        both[sizeof(both) / sizeof(both[0]) - 1] = L'\0';
        s = malloc(sizeof(both) * 2);
        r = UV_ENOMEM;
        if (s) {
                to_utf8(both, s, sizeof(both) * 2);
                *out = s;
                r = 0;
        }
out:
        free(tu);
        (void) CloseHandle(tok);
        return r;
}

int sv__ptab_load_user(sv__ptab *pt, sv_find_proc *p) {
        char *user = NULL;
        HANDLE h;
        int r;

        (void) pt;
        if (p->user || p->kthread)
                return 0;
        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD) p->pid);
        if (!h)
                return 0;
        r = token_user(h, &user);
        (void) CloseHandle(h);
        if (r == UV_ENOMEM)
                return r;
        if (r == 0)
                p->user = user;
        return 0;
}

/* ProcessCommandLineInformation (Windows 8.1 and later): the command line
 * as the process was given it, read without touching its memory. */
#define SV_PROCESS_COMMAND_LINE_INFORMATION 60

typedef NTSTATUS(NTAPI *query_fn)(HANDLE, PROCESSINFOCLASS, PVOID, ULONG, PULONG);

static query_fn nt_query(void) {
        static query_fn query;

        if (!query)
                query = (query_fn) (void (*)(void)) GetProcAddress(GetModuleHandleW(L"ntdll.dll"),
                                                                 "NtQueryInformationProcess");
        return query;
}

/* The command line through the information class; a malloc'd UTF-16
 * string (wide chars in *out_n) or NULL. */
static WCHAR *cmdline_by_class(HANDLE h, size_t *out_n) {
        query_fn query = nt_query();
        UNICODE_STRING *us;
        ULONG need = 0;
        WCHAR *w = NULL;

        if (!query)
                return NULL;
        (void) query(h, (PROCESSINFOCLASS) SV_PROCESS_COMMAND_LINE_INFORMATION, NULL, 0, &need);
        if (need < sizeof(*us) || need > (1u << 20) || !(us = malloc(need)))
                return NULL;
        if (query(h, (PROCESSINFOCLASS) SV_PROCESS_COMMAND_LINE_INFORMATION, us, need, &need) >= 0 &&
            (w = malloc(us->Length + sizeof(WCHAR)))) {
                memcpy(w, us->Buffer, us->Length);
                *out_n = us->Length / sizeof(WCHAR);
        }
        free(us);
        return w;
}

/* The command line from the process's own parameter block (PEB), where the
 * information class is missing (Windows before 8.1, wine 8.0). Needs
 * PROCESS_VM_READ, which another user's process does not grant. */
static WCHAR *cmdline_by_peb(DWORD pid, size_t *out_n) {
        PROCESS_BASIC_INFORMATION pbi;
        RTL_USER_PROCESS_PARAMETERS params;
        query_fn query = nt_query();
        PEB peb;
        WCHAR *w = NULL;
        HANDLE h;

        h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
        if (!h || !query)
                goto out;
        if (query(h, ProcessBasicInformation, &pbi, sizeof(pbi), NULL) < 0 || !pbi.PebBaseAddress ||
            !ReadProcessMemory(h, pbi.PebBaseAddress, &peb, sizeof(peb), NULL) || !peb.ProcessParameters ||
            !ReadProcessMemory(h, peb.ProcessParameters, &params, sizeof(params), NULL) ||
            params.CommandLine.Length == 0 || !(w = malloc(params.CommandLine.Length + sizeof(WCHAR))))
                goto out;
        if (!ReadProcessMemory(h, params.CommandLine.Buffer, w, params.CommandLine.Length, NULL)) {
                free(w);
                w = NULL;
                goto out;
        }
        *out_n = params.CommandLine.Length / sizeof(WCHAR);
out:
        if (h)
                (void) CloseHandle(h);
        return w;
}

/* Windows keeps one command-line string, not an argv: it is stored whole,
 * as a single "argument", so ps shows it exactly as the program got it. */
int sv__ptab_load_cmdline(sv__ptab *pt, sv_find_proc *p) {
        WCHAR *w = NULL;
        size_t wn = 0;
        char *buf;
        HANDLE h;
        int n;

        (void) pt;
        if (p->cmdline || p->kthread)
                return 0;
        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD) p->pid);
        if (h) {
                w = cmdline_by_class(h, &wn);
                (void) CloseHandle(h);
        }
        if (!w)
                w = cmdline_by_peb((DWORD) p->pid, &wn);
        if (!w || wn == 0) {
                free(w);
                return 0;
        }
        n = WideCharToMultiByte(CP_UTF8, 0, w, (int) wn, NULL, 0, NULL, NULL);
        buf = n > 0 ? malloc((size_t) n + 1) : NULL;
        if (buf) {
                (void) WideCharToMultiByte(CP_UTF8, 0, w, (int) wn, buf, n, NULL, NULL);
                buf[n] = '\0';
                p->cmdline = buf;
                p->cmdline_len = (size_t) n + 1;
        }
        free(w);
        return n > 0 && !buf ? UV_ENOMEM : 0;
}

int sv__ptab_read_ids(sv__ptab *pt, pid_t pid, sv__ids *out) {
        (void) pt;
        (void) pid;
        (void) out;
        return UV_ENOTSUP;
}

/* "DOMAIN\user" must match whole; a bare "user" matches in any domain.
 * Case is ignored, as Windows ignores it in account names. */
int sv__ptab_user_is(sv__ptab *pt, sv_find_proc *p, const char *user) {
        WCHAR want[256], have[514];
        const WCHAR *cmp;
        int r;

        r = sv__ptab_load_user(pt, p);
        if (r < 0 || !p->user)
                return r;
        if (!MultiByteToWideChar(CP_UTF8, 0, user, -1, want, 256) ||
            !MultiByteToWideChar(CP_UTF8, 0, p->user, -1, have, 514))
                return 0;
        cmp = have;
        if (!wcschr(want, L'\\') && wcschr(have, L'\\'))
                cmp = wcschr(have, L'\\') + 1;
        return CompareStringOrdinal(cmp, -1, want, -1, TRUE) == CSTR_EQUAL;
}
