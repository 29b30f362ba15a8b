/* reap.c - exits and timers reach the loop on Windows. core/reap.c wants one
 * int it can uv_poll whose readiness means "some member is ready", and asks
 * it for the ready members' tags. uv_poll watches sockets only, so a wait
 * set is a loopback socket pair: each member (a process or a waitable timer)
 * has a RegisterWaitForSingleObject wait, run by the system's wait threads
 * (one thread waits for up to 63 handles: no thread per worker), whose
 * callback writes the member's tag into the socket. The loop reads the tags
 * back. A member closed since (a stale wake-up) is recognised by its slot's
 * generation and dropped, as epoll forgets a closed fd. */
#include <winsock2.h> /* before windows.h (win.h, uv.h) */

#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

#include <psapi.h> /* after windows.h, which it needs */

typedef struct wake {
        uint64_t tag;
        int32_t fd;
        uint32_t gen;
} wake;

typedef struct waitset {
        int fd;  /* the CRT fd on `rd`, what core polls */
        SOCKET rd, wr;
        unsigned char part[sizeof(wake)];
        size_t have;
        struct waitset *next;
} waitset;

typedef struct wait_ctx {
        SOCKET wr;
        wake msg;
} wait_ctx;

static waitset *sets;

/* A connected pair over 127.0.0.1, since Windows has no socketpair(). */
static int socket_pair(SOCKET *rd, SOCKET *wr) {
        struct sockaddr_in a;
        int alen = sizeof(a);
        SOCKET l, c = INVALID_SOCKET, s = INVALID_SOCKET;
        u_long nb = 1;

        l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (l == INVALID_SOCKET)
                return sv__win_error(WSAGetLastError());
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(l, (struct sockaddr *) &a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
            getsockname(l, (struct sockaddr *) &a, &alen) != 0)
                goto fail;
        c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (c == INVALID_SOCKET || connect(c, (struct sockaddr *) &a, sizeof(a)) != 0)
                goto fail;
        s = accept(l, NULL, NULL);
        if (s == INVALID_SOCKET || ioctlsocket(s, FIONBIO, &nb) != 0)
                goto fail;
        closesocket(l);
        *rd = s;
        *wr = c;
        return 0;
fail:
        {
                int r = sv__win_error(WSAGetLastError());

                closesocket(l);
                if (c != INVALID_SOCKET)
                        closesocket(c);
                if (s != INVALID_SOCKET)
                        closesocket(s);
                return r < 0 ? r : UV_EIO;
        }
}

int sv__plat_waitset_new(void) {
        WSADATA wsa;
        waitset *w;
        int r;

        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
                return UV_EIO;
        w = calloc(1, sizeof(*w));
        if (!w)
                return UV_ENOMEM;
        r = socket_pair(&w->rd, &w->wr);
        if (r < 0) {
                free(w);
                return r;
        }
        w->fd = _open_osfhandle((intptr_t) w->rd, 0);
        if (w->fd < 0) {
                closesocket(w->rd);
                closesocket(w->wr);
                free(w);
                return UV_EMFILE;
        }
        w->next = sets;
        sets = w;
        return w->fd;
}

static waitset *set_get(int fd) {
        waitset *w;

        for (w = sets; w; w = w->next)
                if (w->fd == fd)
                        return w;
        return NULL;
}

bool sv__win_waitset_close(int fd);
bool sv__win_waitset_close(int fd) {
        waitset **p, *w;

        for (p = &sets; (w = *p); p = &w->next) {
                if (w->fd != fd)
                        continue;
                *p = w->next;
                closesocket(w->wr);
                /* _close ends the CRT fd and, with it, the read socket. */
                (void) _close(w->fd);
                free(w);
                WSACleanup();
                return true;
        }
        return false;
}

/* On a wait thread: one small send, whole or not at all in practice; a
 * short one would only cost that wake-up (the reader keeps partial ones). */
static void CALLBACK on_signalled(void *arg, BOOLEAN timed_out) {
        wait_ctx *c = arg;

        (void) timed_out;
        (void) send(c->wr, (const char *) &c->msg, sizeof(c->msg), 0);
}

int sv__plat_waitset_add(int set, int fd, uint64_t tag) {
        waitset *w = set_get(set);
        sv__win_slot *s = sv__win_slot_get(fd);
        wait_ctx *c;
        ULONG flags = WT_EXECUTEINWAITTHREAD;

        if (!w || !s || s->wait)
                return UV_EBADF;
        c = malloc(sizeof(*c));
        if (!c)
                return UV_ENOMEM;
        c->wr = w->wr;
        c->msg.tag = tag;
        c->msg.fd = fd;
        c->msg.gen = s->gen;
        /* A process signals once; a timer at every expiry (auto-reset). */
        if (s->kind == SV__WIN_PROC)
                flags |= WT_EXECUTEONLYONCE;
        if (!RegisterWaitForSingleObject(&s->wait, s->h, on_signalled, c, INFINITE, flags)) {
                free(c);
                s->wait = NULL;
                return sv__win_error(GetLastError());
        }
        s->wait_ctx = c;
        return 0;
}

int sv__plat_waitset_ready(int set, uint64_t *tags, int max) {
        waitset *w = set_get(set);
        wake m;
        int n = 0, got;

        if (!w)
                return UV_EBADF;
        while (n < max) {
                got = recv(w->rd, (char *) w->part + w->have, (int) (sizeof(w->part) - w->have), 0);
                if (got <= 0)
                        break;
                w->have += (size_t) got;
                if (w->have < sizeof(w->part))
                        continue;
                w->have = 0;
                memcpy(&m, w->part, sizeof(m));
                if (sv__win_slot_gen(m.fd) != m.gen)
                        continue; /* closed since: a stale wake-up */
                tags[n++] = m.tag;
        }
        return n;
}

int sv__plat_timer_new(void) {
        int fd = sv__win_slot_new(SV__WIN_TIMER);
        sv__win_slot *s;

        if (fd < 0)
                return fd;
        s = sv__win_slot_get(fd);
        s->h = CreateWaitableTimerW(NULL, FALSE, NULL);
        if (!s->h) {
                sv__plat_close(fd);
                return sv__win_error(GetLastError());
        }
        return fd;
}

int sv__plat_timer_set(int fd, uint64_t at_us) {
        sv__win_slot *s = sv__win_slot_get(fd);
        uint64_t now = sv__plat_now_us();
        LARGE_INTEGER due;

        if (!s || s->kind != SV__WIN_TIMER)
                return UV_EBADF;
        if (at_us == 0)
                return CancelWaitableTimer(s->h) ? 0 : sv__win_error(GetLastError());
        /* Relative, in 100 ns units (negative), at least one. */
        due.QuadPart = at_us > now ? -(LONGLONG) ((at_us - now) * 10) : -1;
        if (!SetWaitableTimer(s->h, &due, 0, NULL, NULL, FALSE))
                return sv__win_error(GetLastError());
        return 0;
}

/* An auto-reset timer is unsignalled again once its wait fired. */
void sv__plat_timer_ack(int fd) {
        (void) fd;
}

static uint64_t filetime_us(FILETIME t) {
        return (((uint64_t) t.dwHighDateTime << 32) | t.dwLowDateTime) / 10;
}

/* A process we ended with TerminateJobObject/TerminateProcess reports
 * SIGKILL, as on Linux, if its exit code is the one we gave it. Anything
 * else is its own exit code, NTSTATUS crashes included. */
static int reap_slot(sv__win_slot *s, sv__reaped *out) {
        FILETIME c, e, k, u;
        PROCESS_MEMORY_COUNTERS mem;
        DWORD code;

        if (WaitForSingleObject(s->h, 0) == WAIT_TIMEOUT)
                return 0;
        if (!GetExitCodeProcess(s->h, &code))
                return sv__win_error(GetLastError());
        memset(out, 0, sizeof(*out));
        out->pid = (pid_t) s->pid;
        out->exited = !(s->terminated && code == SV__WIN_KILL_CODE);
        out->code = out->exited ? (int) code : SIGKILL;
        if (GetProcessTimes(s->h, &c, &e, &k, &u)) {
                out->user_us = filetime_us(u);
                out->sys_us = filetime_us(k);
        }
        if (GetProcessMemoryInfo(s->h, &mem, sizeof(mem)))
                out->max_rss_kb = mem.PeakWorkingSetSize / 1024;
        return 1;
}

int sv__plat_reap_pidfd(int pidfd, sv__reaped *out) {
        sv__win_slot *s = sv__win_slot_get(pidfd);

        return s && s->kind == SV__WIN_PROC ? reap_slot(s, out) : UV_EBADF;
}

int sv__plat_reap_pid(pid_t pid, sv__reaped *out) {
        sv__win_slot *s = sv__win_slot_by_pid((DWORD) pid);

        return s ? reap_slot(s, out) : UV_ESRCH;
}

/* Every exit comes through a wait set: there is no "any child" on Windows. */
int sv__plat_reap_any(sv__reaped *out) {
        (void) out;
        return UV_ESRCH;
}

int sv__plat_reap_wait(const pid_t *pids, int n, unsigned timeout_ms) {
        uint64_t end = sv__plat_now_us() / 1000 + timeout_ms, now;
        sv__win_slot *s;
        int i, left = 0;

        for (i = 0; i < n; i++) {
                s = sv__win_slot_by_pid((DWORD) pids[i]);
                if (!s)
                        continue;
                now = sv__plat_now_us() / 1000;
                if (WaitForSingleObject(s->h, now < end ? (DWORD) (end - now) : 0) != WAIT_OBJECT_0)
                        left++;
        }
        return left;
}

bool sv__plat_have_pidfd(void) {
        return true;
}

uint64_t sv__plat_now_us(void) {
        return uv_hrtime() / 1000;
}

void sv__plat_nap_us(unsigned us) {
        Sleep((us + 999) / 1000);
}
