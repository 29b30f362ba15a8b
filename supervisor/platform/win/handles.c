/* handles.c - the table of Windows handles behind the int "fds" of
 * platform.h (win.h says why), and the fd chores core asks for: closing
 * them, the null device, output pipes. The table is touched only from the
 * loop's thread; wait callbacks see a slot's generation, never the slot.
 * NEEDSWORK: two supervisors on two threads would share it unguarded (and a
 * realloc would move slots under the other); a lock and fixed-size chunks
 * would allow that, which nothing here does yet. */
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

static sv__win_slot *slots;
static int nslots, cap;

int sv__win_error(DWORD err) {
        return uv_translate_sys_error((int) err);
}

int sv__win_slot_new(sv__win_kind kind) {
        sv__win_slot *v;
        int i, ncap;

        for (i = 0; i < nslots; i++)
                if (slots[i].kind == SV__WIN_FREE)
                        break;
        if (i == nslots) {
                if (nslots == SV__WIN_SLOTS_MAX)
                        return UV_EMFILE;
                if (nslots == cap) {
                        ncap = cap ? cap * 2 : 64;
                        v = realloc(slots, (size_t) ncap * sizeof(*v));
                        if (!v)
                                return UV_ENOMEM;
                        slots = v;
                        cap = ncap;
                }
                memset(&slots[nslots], 0, sizeof(slots[0]));
                nslots++;
        }
        slots[i].kind = kind;
        slots[i].h = NULL;
        slots[i].job = NULL;
        slots[i].pid = 0;
        slots[i].terminated = false;
        slots[i].wait = NULL;
        slots[i].wait_ctx = NULL;
        slots[i].gen++;
        return SV__WIN_SLOT_BASE + i;
}

sv__win_slot *sv__win_slot_get(int fd) {
        int i = fd - SV__WIN_SLOT_BASE;

        if (fd < SV__WIN_SLOT_BASE || i >= nslots || slots[i].kind == SV__WIN_FREE)
                return NULL;
        return &slots[i];
}

unsigned sv__win_slot_gen(int fd) {
        sv__win_slot *s = sv__win_slot_get(fd);

        return s ? s->gen : 0;
}

sv__win_slot *sv__win_slot_by_pid(DWORD pid) {
        int i;

        for (i = 0; i < nslots; i++)
                if (slots[i].kind == SV__WIN_PROC && slots[i].pid == pid)
                        return &slots[i];
        return NULL;
}

/* Wait sets live in reap.c; it closes its own. */
bool sv__win_waitset_close(int fd);

void sv__plat_close(int fd) {
        sv__win_slot *s = sv__win_slot_get(fd);

        if (!s) {
                if (!sv__win_waitset_close(fd) && fd >= 0)
                        (void) _close(fd);
                return;
        }
        /* INVALID_HANDLE_VALUE: wait for a callback already running, so
         * that it is done with wait_ctx before we free it. */
        if (s->wait)
                (void) UnregisterWaitEx(s->wait, INVALID_HANDLE_VALUE);
        free(s->wait_ctx);
        if (s->h)
                CloseHandle(s->h);
        /* A job of its own has KILL_ON_JOB_CLOSE: closing it ends whatever
         * of the tree is left, as the worker's end should. */
        if (s->job)
                CloseHandle(s->job);
        s->kind = SV__WIN_FREE;
        s->gen++;
}

int sv__plat_open_devnull(void) {
        int fd = _open("NUL", _O_RDWR | _O_BINARY | _O_NOINHERIT);

        return fd < 0 ? UV_EIO : fd;
}

/* libuv's own pipe pair: the read end overlapped, for uv_pipe_open; the
 * write end blocking, as a child's stdout expects. Neither is inherited
 * until spawn.c hands the write end to one child. */
int sv__plat_pipe(int fds[2]) {
        return uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
}

wchar_t *sv__win_wide(const char *s, UINT cp) {
        int n = MultiByteToWideChar(cp, 0, s, -1, NULL, 0);
        wchar_t *w;

        if (n <= 0)
                return NULL;
        w = malloc((size_t) n * sizeof(*w));
        if (w && MultiByteToWideChar(cp, 0, s, -1, w, n) != n) {
                free(w);
                return NULL;
        }
        return w;
}

char *sv__win_utf8(const wchar_t *w) {
        int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
        char *s;

        if (n <= 0)
                return NULL;
        s = malloc((size_t) n);
        if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
                free(s);
                return NULL;
        }
        return s;
}
