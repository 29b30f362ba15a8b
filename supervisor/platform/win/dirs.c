/* dirs.c - platform.h's run directories on Windows (posix/dirs.c elsewhere):
 * a fresh working directory per job (--isolate cwd) and its removal. Paths
 * are UTF-8 and go to the wide calls. The removal never follows a reparse
 * point (a symlink or a junction, which is also how a volume is mounted
 * into a directory): the link itself is removed, its target is left alone,
 * as posix/dirs.c does with O_NOFOLLOW and one filesystem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <uv.h>

#include "platform/win/win.h"

/* As posix/dirs.c: deeper trees are left (and reported). */
#define RMTREE_DEPTH_MAX 128
#define MKDTEMP_TRIES 100

static int last_error(void) {
        return sv__win_error(GetLastError());
}

static bool gone(DWORD err) {
        return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND;
}

int sv__plat_mkdir(const char *path) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        int r = 0;

        if (!w)
                return UV_EINVAL;
        if (!CreateDirectoryW(w, NULL))
                r = last_error();
        free(w);
        return r;
}

int sv__plat_rmdir(const char *path) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        int r = 0;

        if (!w)
                return UV_EINVAL;
        if (!RemoveDirectoryW(w))
                r = last_error();
        free(w);
        return r;
}

/* "<parent>/<prefix>" and six random letters or digits, made with
 * CreateDirectoryW (which fails on an existing name: nobody else's
 * directory is ever taken for ours). Its ACL is inherited from parent;
 * Windows has no 0700 to ask for. */
int sv__plat_mkdtemp(const char *parent, const char *prefix, char *out, size_t n) {
        static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char rnd[6];
        char path[4096];
        int k, i, tries, r;

        k = snprintf(path, sizeof(path), "%s/%sXXXXXX", parent, prefix);
        if (k < 0 || (size_t) k >= sizeof(path) || (size_t) k >= n)
                return UV_ENAMETOOLONG;
        for (tries = 0; tries < MKDTEMP_TRIES; tries++) {
                r = uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
                if (r < 0)
                        return r;
                for (i = 0; i < 6; i++)
                        path[k - 6 + i] = set[rnd[i] % (sizeof(set) - 1)];
                r = sv__plat_mkdir(path);
                if (r != UV_EEXIST)
                        break;
        }
        if (r == 0)
                memcpy(out, path, (size_t) k + 1);
        return r;
}

/* dir + "\" + name, malloc'd; NULL without memory. */
static wchar_t *join(const wchar_t *dir, const wchar_t *name) {
        size_t a = wcslen(dir), b = wcslen(name);
        wchar_t *p = malloc((a + b + 2) * sizeof(*p));

        if (!p)
                return NULL;
        memcpy(p, dir, a * sizeof(*p));
        p[a] = L'\\';
        memcpy(p + a + 1, name, (b + 1) * sizeof(*p));
        return p;
}

static int empty_dir(const wchar_t *dir, int depth);

/* Removes one entry of the attributes `attrs`. A read-only one is made
 * writable first (a job may leave one; it is ours to remove). A reparse
 * point is removed as the link it is, never entered. */
static int remove_entry(const wchar_t *path, DWORD attrs, int depth) {
        int r = 0;

        if (attrs & FILE_ATTRIBUTE_READONLY)
                (void) SetFileAttributesW(path, attrs & ~(DWORD) FILE_ATTRIBUTE_READONLY);
        if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
                return DeleteFileW(path) || gone(GetLastError()) ? 0 : last_error();
        if (!(attrs & FILE_ATTRIBUTE_REPARSE_POINT)) {
                if (depth >= RMTREE_DEPTH_MAX)
                        return UV_ELOOP;
                r = empty_dir(path, depth + 1);
        }
        if (r == 0 && !RemoveDirectoryW(path) && !gone(GetLastError()))
                r = last_error();
        return r;
}

/* Removes everything in dir. Returns 0 or the first error; what could be
 * removed is removed either way. */
static int empty_dir(const wchar_t *dir, int depth) {
        WIN32_FIND_DATAW fd;
        wchar_t *pattern, *child;
        HANDLE h;
        int r = 0, e;

        if (!(pattern = join(dir, L"*")))
                return UV_ENOMEM;
        h = FindFirstFileW(pattern, &fd);
        free(pattern);
        if (h == INVALID_HANDLE_VALUE)
                return gone(GetLastError()) ? 0 : last_error();
        do {
                if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
                        continue;
                child = join(dir, fd.cFileName);
                e = child ? remove_entry(child, fd.dwFileAttributes, depth) : UV_ENOMEM;
                free(child);
                if (e < 0 && !r)
                        r = e;
        } while (FindNextFileW(h, &fd));
        if (GetLastError() != ERROR_NO_MORE_FILES && !r)
                r = last_error();
        (void) FindClose(h);
        return r;
}

int sv__plat_rmtree(const char *path) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        DWORD attrs;
        int r;

        if (!w)
                return UV_EINVAL;
        attrs = GetFileAttributesW(w);
        if (attrs == INVALID_FILE_ATTRIBUTES)
                r = gone(GetLastError()) ? 0 : last_error();
        else if (attrs & FILE_ATTRIBUTE_REPARSE_POINT)
                r = UV_ELOOP; /* as open(O_NOFOLLOW) on a symlink: never entered */
        else if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
                r = UV_ENOTDIR;
        else
                r = remove_entry(w, attrs, 0);
        free(w);
        return r;
}
