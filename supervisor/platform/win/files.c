/* files.c - the file chores of platform.h on Windows: waiting out EAGAIN,
 * memory streams (no open_memstream: a temporary file read back whole at
 * close), and sv_atomic_file's temporary file and replacing rename
 * (MoveFileExW, since rename() there refuses an existing target). Paths
 * are UTF-8 and go to the wide calls. */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

void sv__plat_wait_writable(int fd) {
        (void) fd;
        Sleep(1);
}

/* The open memory streams: few, short-lived (diagnostics), so a list. */
typedef struct memstream {
        FILE *f;
        char **buf;
        size_t *len;
        struct memstream *next;
} memstream;

static memstream *streams;
static uv_mutex_t streams_mu;
static uv_once_t streams_once = UV_ONCE_INIT;

static void streams_init(void) {
        if (uv_mutex_init(&streams_mu) < 0)
                abort();
}

FILE *sv__plat_memstream(char **buf, size_t *len) {
        memstream *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->f = tmpfile();
        if (!m->f) {
                free(m);
                return NULL;
        }
        m->buf = buf;
        m->len = len;
        *buf = NULL;
        *len = 0;
        uv_once(&streams_once, streams_init);
        uv_mutex_lock(&streams_mu);
        m->next = streams;
        streams = m;
        uv_mutex_unlock(&streams_mu);
        return m->f;
}

static int read_back(FILE *f, char **buf, size_t *len) {
        long n;
        char *p;

        if (fflush(f) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
                return UV_EIO;
        p = malloc((size_t) n + 1);
        if (!p)
                return UV_ENOMEM;
        if (fread(p, 1, (size_t) n, f) != (size_t) n) {
                free(p);
                return UV_EIO;
        }
        p[n] = '\0';
        *buf = p;
        *len = (size_t) n;
        return 0;
}

int sv__plat_memstream_close(FILE *f) {
        memstream **pp, *m = NULL;
        int r;

        uv_mutex_lock(&streams_mu);
        for (pp = &streams; *pp; pp = &(*pp)->next) {
                if ((*pp)->f == f) {
                        m = *pp;
                        *pp = m->next;
                        break;
                }
        }
        uv_mutex_unlock(&streams_mu);
        if (!m)
                return fclose(f) != 0 ? UV_EIO : 0;
        r = read_back(f, m->buf, m->len);
        if (fclose(f) != 0 && r == 0)
                r = UV_EIO;
        free(m);
        return r;
}

static FILE *open_utf8(const char *path, const wchar_t *mode) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        FILE *f;

        if (!w)
                return NULL;
        f = _wfopen(w, mode);
        free(w);
        return f;
}

/* NUL, CON and the like are written in place, as devices are on Linux. */
static bool is_device(const char *path) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        HANDLE h;
        DWORD type = FILE_TYPE_DISK;

        if (!w)
                return false;
        h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        free(w);
        if (h != INVALID_HANDLE_VALUE) {
                type = GetFileType(h);
                CloseHandle(h);
        }
        return type != FILE_TYPE_DISK;
}

int sv__plat_atomic_open(const char *path, FILE **out, char **out_path, char **out_tmp) {
        unsigned char rnd[6];
        char *real, *tmp;
        FILE *f;
        size_t n;

        *out_tmp = NULL;
        real = strdup(path);
        if (!real)
                return UV_ENOMEM;
        if (is_device(path)) {
                f = open_utf8(path, L"wb");
                if (!f) {
                        free(real);
                        return UV_EIO;
                }
                *out = f;
                *out_path = real;
                return 0;
        }
        n = strlen(real) + 32;
        tmp = malloc(n);
        if (!tmp || uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) < 0) {
                free(tmp);
                free(real);
                return UV_ENOMEM;
        }
        snprintf(tmp, n, "%s.tmp.%02x%02x%02x%02x%02x%02x", real, rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
        f = open_utf8(tmp, L"wxbN"); /* x: a new file only; N: not inherited */
        if (!f) {
                free(tmp);
                free(real);
                return UV_EIO;
        }
        *out = f;
        *out_path = real;
        *out_tmp = tmp;
        return 0;
}

int sv__plat_rename_over(const char *from, const char *to) {
        wchar_t *wf = sv__win_wide(from, CP_UTF8), *wt = sv__win_wide(to, CP_UTF8);
        int r = 0;

        if (!wf || !wt)
                r = UV_ENOMEM;
        else if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
                r = sv__win_error(GetLastError());
        free(wf);
        free(wt);
        return r;
}
