/* wfind.h - what the process finder's Windows files (proctable.c,
 * prochandle.c, ports.c) share. Only platform/win/ includes this. */
#ifndef SV_WIN_WFIND_H
#define SV_WIN_WFIND_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

/* One scan's state: the pids that own a socket on the --port, sorted
 * (ports.c fills it). */
struct sv__ptab {
        DWORD *owners;
        size_t nowners;
};

/* A Win32 error as a negative libuv code; ERROR_INVALID_PARAMETER (what
 * OpenProcess says of a pid that names nothing) is UV_ESRCH. */
int sv__win_err(DWORD err);

/* The creation time of an open process in 100 ns units (FILETIME): 0 and
 * *out, or a negative error. */
int sv__win_start_time(HANDLE h, uint64_t *out);

/* 1 if two program names (UTF-8) are equal as Windows users mean it: case
 * ignored, a final ".exe" optional on either side. */
int sv__win_name_equal(const char *a, const char *b);

#endif
