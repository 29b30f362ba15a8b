/* find_win.c - what `supervise ps` and `kill` ask of Windows: the owner's
 * account name (read by the finder), an account check for -u, and the
 * console's width (stdout for ps, stderr for run's progress line).
 * find_posix.c answers the same on POSIX systems. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"

/* Process handles are not CRT fds: no limit to raise. */
void sv_cli_find_raise_fd_limit(size_t need) {
        (void) need;
}

const char *sv_cli_find_user_name(const sv_find_proc *p, char *buf, size_t len) {
        (void) buf;
        (void) len;
        return p->user;
}

unsigned sv_cli_find_term_cols(void) {
        CONSOLE_SCREEN_BUFFER_INFO info;
        HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);

        if (out == INVALID_HANDLE_VALUE || !GetConsoleScreenBufferInfo(out, &info))
                return 0; /* a pipe or a file: rows stay whole */
        return (unsigned) (info.srWindow.Right - info.srWindow.Left + 1);
}

unsigned sv_cli_stderr_cols(void) {
        CONSOLE_SCREEN_BUFFER_INFO info;
        HANDLE err = GetStdHandle(STD_ERROR_HANDLE);

        if (err == INVALID_HANDLE_VALUE || !GetConsoleScreenBufferInfo(err, &info))
                return 0;
        return (unsigned) (info.srWindow.Right - info.srWindow.Left + 1);
}

/* An account the system knows, "DOMAIN\user" or "user"; matched against
 * each process's owner by name (sv_find_filter.user), case ignored. */
int sv_cli_find_set_user(sv_find_filter *f, const char *s) {
        WCHAR name[256], domain[256];
        BYTE sid[SECURITY_MAX_SID_SIZE];
        DWORD sid_len = sizeof(sid), dlen = 256;
        SID_NAME_USE use;

        if (!MultiByteToWideChar(CP_UTF8, 0, s, -1, name, 256) ||
            !LookupAccountNameW(NULL, name, sid, &sid_len, domain, &dlen, &use))
                return -1;
        f->user = s;
        return 0;
}

/* No open_memstream: a temporary file, read back whole at close. Rows are
 * written one at a time, so one stream at a time is enough. */
static struct {
        FILE *f;
        char **buf;
        size_t *len;
} stream;

FILE *sv_cli_find_memstream(char **buf, size_t *len) {
        if (stream.f)
                return NULL;
        *buf = NULL;
        *len = 0;
        stream.f = tmpfile();
        stream.buf = buf;
        stream.len = len;
        return stream.f;
}

int sv_cli_find_memstream_close(FILE *f) {
        long n;
        char *p = NULL;
        int r = -1;

        if (f != stream.f || !f)
                return -1;
        stream.f = NULL;
        if (fflush(f) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t) n + 1)) &&
            fread(p, 1, (size_t) n, f) == (size_t) n) {
                p[n] = '\0';
                *stream.buf = p;
                *stream.len = (size_t) n;
                p = NULL;
                r = 0;
        }
        free(p);
        (void) fclose(f);
        return r;
}
