/* reap.c - collecting our children's exit statuses on Linux, and the wait
 * set the core's reaper sleeps on (an epoll fd holding pidfds and one timer
 * fd). Reaps with the waitid system call, which also returns the rusage
 * that glibc's waitid drops. Never reaps a child it was not named (only
 * sv__plat_reap_any, the no-pidfd fallback, takes any child). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static uint64_t tv_us(const struct timeval *tv) {
        return (uint64_t) tv->tv_sec * 1000000u + (uint64_t) tv->tv_usec;
}

static void fill_reaped(const siginfo_t *si, const struct rusage *ru, sv__reaped *out) {
        out->pid = si->si_pid;
        out->exited = si->si_code == CLD_EXITED;
        out->code = si->si_status;
        out->core_dumped = si->si_code == CLD_DUMPED;
        out->user_us = tv_us(&ru->ru_utime);
        out->sys_us = tv_us(&ru->ru_stime);
        out->max_rss_kb = (uint64_t) ru->ru_maxrss;
}

/* glibc's waitid has no rusage argument; the system call does. */
static int reap(int idtype, int id, sv__reaped *out) {
        siginfo_t si;
        struct rusage ru;
        long r;

        memset(&si, 0, sizeof(si));
        memset(&ru, 0, sizeof(ru));
        do {
                r = syscall(SYS_waitid, idtype, id, &si, WEXITED | WNOHANG, &ru);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (si.si_pid == 0)
                return 0;
        fill_reaped(&si, &ru, out);
        return 1;
}

int sv__plat_reap_pidfd(int pidfd, sv__reaped *out) {
        return reap(P_PIDFD, pidfd, out);
}

int sv__plat_reap_pid(pid_t pid, sv__reaped *out) {
        return reap(P_PID, pid, out);
}

int sv__plat_reap_any(sv__reaped *out) {
        return reap(P_ALL, 0, out);
}

/* The fallback of sv__plat_reap_wait: naps of 1 ms. Reaps what it can;
 * pids[i] is set to 0 once reaped. */
static int reap_wait_nap(pid_t *pids, int n, uint64_t deadline_us) {
        sv__reaped r;
        int i, left;

        for (;;) {
                left = 0;
                for (i = 0; i < n; i++) {
                        if (pids[i] > 0 && reap(P_PID, pids[i], &r) != 0)
                                pids[i] = 0; /* reaped, or not ours (ECHILD) */
                        if (pids[i] > 0)
                                left++;
                }
                if (left == 0 || sv__plat_now_us() >= deadline_us)
                        return left;
                sv__plat_nap_us(1000);
        }
}

int sv__plat_reap_wait(const pid_t *pids_in, int n, unsigned timeout_ms) {
        uint64_t deadline = sv__plat_now_us() + (uint64_t) timeout_ms * 1000u;
        struct pollfd *pfd = NULL;
        pid_t *pids;
        sv__reaped r;
        int i, left = 0, nap = 0, ms;

        if (n <= 0)
                return 0;
        pids = malloc((size_t) n * sizeof(*pids));
        pfd = calloc((size_t) n, sizeof(*pfd));
        if (!pids || !pfd) {
                free(pids);
                free(pfd);
                return UV_ENOMEM;
        }
        memcpy(pids, pids_in, (size_t) n * sizeof(*pids));
        for (i = 0; i < n; i++) {
                pfd[i].fd = -1;
                if (reap(P_PID, pids[i], &r) != 0) {
                        pids[i] = 0; /* a zombie already, or not ours */
                        continue;
                }
                pfd[i].fd = (int) syscall(SYS_pidfd_open, pids[i], 0);
                pfd[i].events = POLLIN;
                if (pfd[i].fd < 0 && errno != ESRCH)
                        nap = 1; /* no pidfd_open (valgrind), or EMFILE */
                if (pfd[i].fd >= 0)
                        left++;
        }
        while (left > 0 && !nap) {
                uint64_t now = sv__plat_now_us();
                if (now >= deadline)
                        break;
                ms = (int) ((deadline - now + 999u) / 1000u);
                if (poll(pfd, (nfds_t) n, ms) < 0 && errno != EINTR)
                        break;
                for (i = 0; i < n; i++) {
                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        (void) reap(P_PID, pids[i], &r);
                        pids[i] = 0;
                        close(pfd[i].fd);
                        pfd[i].fd = -1;
                        left--;
                }
        }
        for (i = 0; i < n; i++) {
                if (pfd[i].fd >= 0)
                        close(pfd[i].fd);
        }
        free(pfd);
        left = reap_wait_nap(pids, n, nap ? deadline : 0);
        free(pids);
        return left;
}

int sv__plat_set_subreaper(void) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return -errno;
        return 0;
}

int sv__plat_waitset_new(void) {
        int fd = epoll_create1(EPOLL_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int sv__plat_waitset_add(int set, int fd, uint64_t tag) {
        struct epoll_event ev;

        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        if (epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        return 0;
}

int sv__plat_waitset_ready(int set, uint64_t *tags, int max) {
        struct epoll_event ev[64];
        int n, i;

        if (max > 64)
                max = 64;
        do {
                n = epoll_wait(set, ev, max, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (i = 0; i < n; i++)
                tags[i] = ev[i].data.u64;
        return n;
}

int sv__plat_timer_new(void) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

        return fd < 0 ? -errno : fd;
}

int sv__plat_timer_set(int fd, uint64_t at_us) {
        struct itimerspec its;

        memset(&its, 0, sizeof(its));
        /* An absolute time of 0 would disarm it: a deadline already past
         * is made the clock's first microsecond instead. */
        if (at_us) {
                its.it_value.tv_sec = (time_t) (at_us / 1000000u);
                its.it_value.tv_nsec = (long) (at_us % 1000000u) * 1000L;
        }
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return -errno;
        return 0;
}

void sv__plat_timer_ack(int fd) {
        uint64_t ticks;

        (void) !read(fd, &ticks, sizeof(ticks));
}
