/* win.h - what platform/win's files share: the handle table behind the
 * int "fds" platform.h hands out (pidfds, wait sets, timers), UTF-8 <->
 * UTF-16, and the command-line quoting. Never included outside
 * platform/win. */
#ifndef SV_PLATFORM_WIN_H
#define SV_PLATFORM_WIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <windows.h>

#include "platform/platform.h"

/* The int handles platform.h gives out on Windows are slots of one table,
 * numbered from SV__WIN_SLOT_BASE so that none can be taken for a CRT fd
 * (0, 1, 2...). A wait set is the exception: it is a CRT fd on a socket,
 * since libuv's uv_poll watches sockets only. */
#define SV__WIN_SLOT_BASE 0x40000000
#define SV__WIN_SLOTS_MAX 65536

typedef enum sv__win_kind {
        SV__WIN_FREE,
        SV__WIN_PROC,  /* a child: its process handle, and its own job without a cgroup */
        SV__WIN_TIMER, /* an auto-reset waitable timer */
} sv__win_kind;

typedef struct sv__win_slot {
        sv__win_kind kind;
        HANDLE h;           /* the process or the timer */
        HANDLE job;         /* PROC: a job of its own (no sv__cg), or NULL */
        DWORD pid;
        bool terminated;    /* PROC: we called TerminateProcess/TerminateJobObject */
        HANDLE wait;        /* its RegisterWaitForSingleObject, or NULL */
        void *wait_ctx;     /* freed once the wait is unregistered */
        unsigned gen;       /* bumped at every reuse: stale wake-ups are dropped */
} sv__win_slot;

/* Takes a free slot (loop thread only); returns its int handle or UV_EMFILE. */
int sv__win_slot_new(sv__win_kind kind);
/* The slot behind an int handle, or NULL if it is not one of ours. */
sv__win_slot *sv__win_slot_get(int fd);
/* The generation of slot fd, for a wake-up to be checked against. */
unsigned sv__win_slot_gen(int fd);
/* The process slot of `pid`, if we spawned it and it is still open. */
sv__win_slot *sv__win_slot_by_pid(DWORD pid);

/* Malloc'd conversions; NULL on failure (errno-free: the caller returns
 * UV_ENOMEM or UV_EINVAL). cp is CP_UTF8 or CP_ACP. */
wchar_t *sv__win_wide(const char *s, UINT cp);
char *sv__win_utf8(const wchar_t *w);

/* Quotes argv into one command line by the rules the Microsoft C runtime
 * (and CommandLineToArgvW) parse it back with: an argument with a space,
 * a tab or a quote, or an empty one, goes in quotes; backslashes before a
 * quote (a literal one, or the closing one) are doubled, and a literal
 * quote gets one more backslash; other backslashes stay as they are.
 * Returns the malloc'd line, or NULL (out of memory). */
char *sv__win_quote_argv(const char *const *argv);

/* The exit code a job or process we terminate gets (as libuv's
 * uv_process_kill and taskkill /f give). */
#define SV__WIN_KILL_CODE 1u

/* A job object for one worker's tree: KILL_ON_JOB_CLOSE (it dies with its
 * last handle, so with us), no breakaway of any kind (a child asking for
 * CREATE_BREAKAWAY_FROM_JOB fails instead), and DIE_ON_UNHANDLED_EXCEPTION
 * (a crash ends with its NTSTATUS instead of waiting at an error dialog).
 * `name` may be NULL (anonymous). UV_EEXIST if the name is taken. */
int sv__win_job_new(const wchar_t *name, HANDLE *out);

/* The pids in a job into a malloc'd array; returns the count. */
int sv__win_job_pids(HANDLE job, pid_t **out);

/* Starts argv (PATH searched, our environment and directory) as spawn.c
 * starts a worker: new group, suspended, into `job`, resumed. std[i] NULL:
 * ours. The caller closes pi's handles. 0 or a negative error. */
int sv__win_start(const char *const *argv, const HANDLE std[3], HANDLE job,
                  PROCESS_INFORMATION *pi);

/* A Windows error as a libuv error code. */
int sv__win_error(DWORD err);

#endif
