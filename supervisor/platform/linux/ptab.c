/* ptab.c - the process finder's view of Linux (platform.h's sv__ptab_* and
 * sv__phandle_*), on the /proc readers of proctable.c and the pidfd calls of
 * signal.c. Owns the scan's /proc directory fd and socket inodes, and the
 * handles it opens. Everything is read relative to that directory fd, and a
 * process that vanishes between two calls is "gone" (UV_ESRCH), never an
 * error. Never signals a process whose start time differs from the
 * snapshot's, nor a zombie. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "platform/platform.h"

/* The kernel truncates a process name (comm) to this many bytes. */
#define COMM_MAX 15

/* A directory-fd handle cannot be polled: sv__phandle_wait re-reads its
 * stat this often while one is alive. */
#define DIRFD_POLL_MS 10

struct sv__ptab {
        int proc_fd;
        sv__inodes inodes; /* sockets on the port of sv__ptab_port_load */
};

int sv__ptab_open(sv__ptab **out) {
        sv__ptab *pt = calloc(1, sizeof(*pt));

        if (!pt)
                return UV_ENOMEM;
        pt->proc_fd = sv__proc_open_dir();
        if (pt->proc_fd < 0) {
                int r = pt->proc_fd;

                free(pt);
                return r;
        }
        *out = pt;
        return 0;
}

void sv__ptab_free(sv__ptab *pt) {
        if (!pt)
                return;
        if (pt->proc_fd >= 0)
                (void) close(pt->proc_fd);
        free(pt->inodes.v);
        free(pt);
}

static void fill(sv_find_proc *p, pid_t pid, const sv__stat *st, uint64_t now_ms, uint64_t page_kb) {
        uint64_t start_ms = sv__proc_ticks_to_ms(st->start_ticks);

        memset(p, 0, sizeof(*p));
        p->pid = pid;
        p->ppid = st->ppid;
        p->pgrp = st->pgrp;
        p->sid = st->sid;
        p->tty_nr = st->tty_nr;
        p->state = st->state;
        p->kthread = st->kthread;
        p->start_ticks = st->start_ticks;
        p->age_ms = now_ms > start_ms ? now_ms - start_ms : 0;
        p->rss_kb = st->rss_pages * page_kb;
        memcpy(p->name, st->name, sizeof(p->name));
}

/* One /proc/<pid>/stat per process: one open, one read, one close. */
int sv__ptab_list(sv__ptab *pt, sv_find_proc **out) {
        sv_find_proc *v;
        char path[32];
        pid_t *pids = NULL;
        uint64_t now_ms, page_kb;
        sv__stat st;
        int r = 0, n, i, k = 0;

        n = sv__proc_list_pids(pt->proc_fd, &pids);
        if (n < 0)
                return n;
        v = malloc(((size_t) n + 1) * sizeof(*v));
        if (!v) {
                free(pids);
                return UV_ENOMEM;
        }
        now_ms = sv__proc_now_boot_ms();
        page_kb = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
        for (i = 0; i < n; i++) {
                (void) snprintf(path, sizeof(path), "%d/stat", (int) pids[i]);
                r = sv__proc_read_stat_at(pt->proc_fd, path, &st);
                if (r == UV_ESRCH || r == UV_EINVAL) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                fill(&v[k++], pids[i], &st, now_ms, page_kb);
        }
        free(pids);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        return k;
}

void sv__ptab_self(sv__ptab *pt, pid_t *out_self, pid_t *out_parent) {
        (void) pt;
        *out_self = getpid();
        *out_parent = getppid();
}

int sv__ptab_load_cmdline(sv__ptab *pt, sv_find_proc *p) {
        char path[32], *buf;
        ssize_t n;

        if (p->cmdline || p->kthread)
                return 0;
        (void) snprintf(path, sizeof(path), "%d/cmdline", (int) p->pid);
        n = sv__proc_read_file_at(pt->proc_fd, path, &buf);
        if (n == UV_ENOMEM)
                return UV_ENOMEM;
        if (n < 0)
                return 0;
        if (n == 0) {
                free(buf); /* a zombie's or a kernel thread's: empty */
                return 0;
        }
        if (buf[n - 1] != '\0')
                n++; /* a rewritten title without a final NUL: count ours */
        p->cmdline = buf;
        p->cmdline_len = (size_t) n;
        return 0;
}

int sv__ptab_load_user(sv__ptab *pt, sv_find_proc *p) {
        uid_t uid;
        int r;

        if (p->has_uid)
                return 0;
        r = sv__proc_read_euid(pt->proc_fd, p->pid, &uid);
        if (r == UV_ENOMEM)
                return r;
        if (r == 0) {
                p->uid = uid;
                p->has_uid = true;
        }
        return 0;
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* A name longer than the kernel keeps: the 15-byte prefix must equal the
 * comm, then argv[0]'s or the executable's basename must equal the name. */
static int long_name_matches(sv__ptab *pt, sv_find_proc *p, const char *name) {
        char path[32], exe[4096];
        ssize_t n;
        int r;

        if (p->kthread || strlen(p->name) != COMM_MAX || memcmp(p->name, name, COMM_MAX) != 0)
                return 0;
        r = sv__ptab_load_cmdline(pt, p);
        if (r < 0)
                return r;
        if (p->cmdline && strcmp(base_name(p->cmdline), name) == 0)
                return 1;
        (void) snprintf(path, sizeof(path), "%d/exe", (int) p->pid);
        n = readlinkat(pt->proc_fd, path, exe, sizeof(exe) - 1);
        if (n <= 0)
                return 0;
        exe[n] = '\0';
        return strcmp(base_name(exe), name) == 0;
}

int sv__ptab_name_is(sv__ptab *pt, sv_find_proc *p, const char *name) {
        if (strcmp(p->name, name) == 0)
                return 1;
        if (strlen(name) <= COMM_MAX)
                return 0;
        return long_name_matches(pt, p, name);
}

int sv__ptab_read_ids(sv__ptab *pt, pid_t pid, sv__ids *out) {
        return sv__proc_read_ids(pt->proc_fd, pid, out);
}

int sv__ptab_port_load(sv__ptab *pt, uint16_t port, unsigned protos, bool any_socket) {
        free(pt->inodes.v);
        memset(&pt->inodes, 0, sizeof(pt->inodes));
        return sv__proc_port_inodes(port, protos, any_socket, &pt->inodes);
}

int sv__ptab_port_owner(sv__ptab *pt, const sv_find_proc *p) {
        int r = sv__proc_owns_inode(pt->proc_fd, p->pid, &pt->inodes);

        if (r == UV_ENOMEM)
                return r;
        return r > 0; /* gone, or not ours to look into: no */
}

/* ---- Handles ---- */

/* Compares the live start time with the snapshot's. Returns 0 if it is the
 * same process, UV_ESRCH if it ended or the pid now names another process
 * (or the process is a zombie: it has already exited), else an error. */
static int verify(int dirfd, const char *path, const sv_find_proc *p) {
        sv__stat st;
        int r;

        r = sv__proc_read_stat_at(dirfd, path, &st);
        if (r < 0)
                return r;
        if (st.start_ticks != p->start_ticks || st.state == 'Z' || st.state == 'X')
                return UV_ESRCH;
        return 0;
}

int sv__phandle_open(sv__ptab *pt, const sv_find_proc *p, sv__phandle *out) {
        sv__phandle h = { -1, false };
        char path[32];
        int fd, r;

        r = sv__plat_pidfd_open(p->pid, &fd);
        if (r == 0) {
                h.v = fd;
                h.is_pidfd = true;
                (void) snprintf(path, sizeof(path), "%d/stat", (int) p->pid);
                r = verify(pt->proc_fd, path, p);
        } else if (r == UV_ENOSYS) {
                (void) snprintf(path, sizeof(path), "%d", (int) p->pid);
                fd = openat(pt->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        r = errno == ENOENT || errno == ESRCH ? UV_ESRCH : -errno;
                } else {
                        h.v = fd;
                        r = verify(fd, "stat", p);
                }
        }
        if (r < 0) {
                sv__phandle_close(&h);
                return r;
        }
        *out = h;
        return 0;
}

int sv__phandle_signal(sv__phandle *h, const sv_find_proc *p, int sig) {
        int r;

        r = sv__plat_pidfd_signal((int) h->v, sig);
        if (r != UV_ENOSYS || h->is_pidfd)
                return r;
        /* No pidfd_send_signal: check the identity through the directory fd,
         * which cannot be recycled, immediately before the plain kill(). */
        r = verify((int) h->v, "stat", p);
        if (r < 0)
                return r;
        return sv__plat_kill(p->pid, -1, sig);
}

/* Checks the directory-fd handles; returns how many have ended. */
static int check_dirfds(const sv__phandle *hs, size_t n, bool *out_gone, size_t *out_alive) {
        size_t i, alive = 0;
        int gone = 0;
        sv__stat st;

        for (i = 0; i < n; i++) {
                if (hs[i].is_pidfd)
                        continue;
                /* Through the pinned directory: ESRCH once reaped, even if the
                 * pid is already someone else's. A zombie has ended too. */
                if (sv__proc_read_stat_at((int) hs[i].v, "stat", &st) < 0 || st.state == 'Z' || st.state == 'X') {
                        out_gone[i] = true;
                        gone++;
                } else {
                        alive++;
                }
        }
        *out_alive = alive;
        return gone;
}

int sv__phandle_wait(const sv__phandle *hs, size_t n, int timeout_ms, bool *out_gone) {
        int *fds, r, gone;
        size_t i, k = 0, alive_dir, *idx;
        bool *pgone;

        memset(out_gone, 0, n * sizeof(*out_gone));
        gone = check_dirfds(hs, n, out_gone, &alive_dir);
        if (gone > 0)
                return gone;
        if (alive_dir && (timeout_ms < 0 || timeout_ms > DIRFD_POLL_MS))
                timeout_ms = DIRFD_POLL_MS;
        fds = malloc((n + 1) * sizeof(*fds));
        idx = malloc((n + 1) * sizeof(*idx));
        pgone = calloc(n + 1, sizeof(*pgone));
        if (!fds || !idx || !pgone) {
                r = UV_ENOMEM;
                goto out;
        }
        for (i = 0; i < n; i++) {
                if (!hs[i].is_pidfd)
                        continue;
                fds[k] = (int) hs[i].v;
                idx[k++] = i;
        }
        r = sv__plat_pidfds_wait(fds, k, timeout_ms, pgone);
        if (r < 0)
                goto out;
        for (i = 0; i < k; i++)
                out_gone[idx[i]] = pgone[i];
        r += check_dirfds(hs, n, out_gone, &alive_dir);
out:
        free(fds);
        free(idx);
        free(pgone);
        return r;
}

void sv__phandle_close(sv__phandle *h) {
        if (h->v >= 0)
                (void) close((int) h->v);
        h->v = -1;
}

/* By the name of the effective uid: Linux has no domains, so "user" and
 * "anything\user" are the same account, and case counts. */
int sv__ptab_user_is(sv__ptab *pt, sv_find_proc *p, const char *user) {
        struct passwd pw, *res = NULL;
        const char *slash = strrchr(user, '\\');
        char buf[1024];
        int r;

        r = sv__ptab_load_user(pt, p);
        if (r < 0 || !p->has_uid)
                return r;
        if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return 0;
        return strcmp(res->pw_name, slash ? slash + 1 : user) == 0;
}
