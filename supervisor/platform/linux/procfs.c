/* procfs.c - the one /proc reader of libsv: the stat parser (hardened by
 * fuzzing, tests/fuzz/fuzz_procstat.c), a process's stat, command line and
 * environment marker, our children, and the /proc walk that finds a
 * worker's tree without a cgroup: parent links from the worker, members of
 * its process group, and processes reparented to us (we are a subreaper)
 * whose environment carries the worker's marker, which setsid and double
 * forks do not shed. A process may vanish between any two reads; nothing
 * here blocks for long, and nothing here reaps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/linux/linux.h"

/* The kernel's PF_KTHREAD bit in the `flags` field of /proc/<pid>/stat. */
#define SV__PF_KTHREAD 0x00200000u

/* Parses an unsigned decimal field at *p, skipping leading spaces, and moves
 * *p past it. Returns false if there is no digit, if the field goes on with
 * something else ("12x"), or if it does not fit in 64 bits: a wrapped number
 * would be a wrong pid, not a parse error. */
static bool next_u64(const char **p, const char *end, uint64_t *out) {
        const char *s = *p;
        uint64_t v = 0, d;

        while (s < end && *s == ' ')
                s++;
        if (s >= end || *s < '0' || *s > '9')
                return false;
        while (s < end && *s >= '0' && *s <= '9') {
                d = (uint64_t) (*s++ - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (s < end && *s != ' ' && *s != '\n')
                return false;
        *p = s;
        *out = v;
        return true;
}

/* Parses a decimal that may be negative (pgrp 0 of a kernel thread, tty_nr,
 * tpgid -1) at *p, skipping leading spaces. */
static bool next_i64(const char **p, const char *end, int64_t *out) {
        const char *s = *p;
        uint64_t v;
        bool neg;

        while (s < end && *s == ' ')
                s++;
        neg = s < end && *s == '-';
        if (neg)
                s++;
        if (!next_u64(&s, end, &v))
                return false;
        *p = s;
        *out = neg ? -(int64_t) v : (int64_t) v;
        return true;
}

/* Skips one space-separated field, which may be negative (tty_nr, tpgid). */
static bool skip_field(const char **p, const char *end) {
        const char *s = *p;

        while (s < end && *s == ' ')
                s++;
        if (s >= end)
                return false;
        while (s < end && *s != ' ')
                s++;
        *p = s;
        return true;
}

int sv__proc_parse_stat(const char *buf, size_t len, sv__stat *out) {
        const char *open, *close, *p, *end = buf + len;
        uint64_t ppid, flags, v;
        int64_t pgrp, sid, tty;
        sv__stat st;
        size_t n;
        int field;

        memset(&st, 0, sizeof(st));
        open = memchr(buf, '(', len);
        close = memrchr(buf, ')', len);
        if (!open || !close || close < open)
                return UV_EINVAL;
        n = (size_t) (close - open - 1);
        if (n >= sizeof(st.name))
                n = sizeof(st.name) - 1;
        memcpy(st.name, open + 1, n);
        st.name[n] = '\0';

        p = close + 1;
        if (end - p < 2 || p[0] != ' ')
                return UV_EINVAL;
        st.state = p[1];
        p += 2;
        /* Fields 4 (ppid) to 24 (rss) of proc(5); the state was field 3. */
        if (!next_u64(&p, end, &ppid))
                return UV_EINVAL;
        /* 5 pgrp, 6 session, 7 tty_nr, 8 tpgid. */
        if (!next_i64(&p, end, &pgrp) || !next_i64(&p, end, &sid) || !next_i64(&p, end, &tty) ||
            !skip_field(&p, end))
                return UV_EINVAL;
        st.pgrp = (pid_t) pgrp;
        st.sid = (pid_t) sid;
        st.tty_nr = (int) tty;
        if (!next_u64(&p, end, &flags))
                return UV_EINVAL;
        for (field = 10; field <= 21; field++)
                if (!skip_field(&p, end))
                        return UV_EINVAL;
        if (!next_u64(&p, end, &st.start_ticks))
                return UV_EINVAL;
        if (!skip_field(&p, end) || !next_u64(&p, end, &v))
                return UV_EINVAL;
        /* pid_t is an int: a larger ppid is no pid at all. */
        if (ppid > INT_MAX)
                return UV_EINVAL;
        st.rss_pages = v;
        st.ppid = (pid_t) ppid;
        st.kthread = (flags & SV__PF_KTHREAD) != 0;
        *out = st;
        return 0;
}

static bool environ_has(pid_t pid, const char *marker) {
        return sv__proc_has_marker(pid, marker) == 1;
}

int sv__proc_has_marker(pid_t pid, const char *marker) {
        char path[64];
        size_t mlen = strlen(marker);
        char *buf;
        int n, i, found = 0;

        snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
        /* The whole environment, however big: a marker past a fixed
         * buffer's end would make a tree member look like a stranger. */
        n = sv__read_file_all(path, &buf);
        if (n <= 0) {
                if (n == 0)
                        free(buf);
                return -1; /* exiting (its memory is gone) or gone */
        }
        for (i = 0; i < n && !found; i += (int) strlen(buf + i) + 1) {
                if (strncmp(buf + i, marker, mlen) == 0 && buf[i + (int) mlen] == '\0')
                        found = 1;
        }
        free(buf);
        return found;
}

int sv__proc_group_alive(pid_t pgid) {
        return pgid > 1 && kill(-pgid, 0) == 0;
}

/* Reads /proc/<pid>/stat through the one parser (sv__proc_parse_stat): the
 * fields after the name are found from its last ')', and a text cut short
 * anywhere is an error, never a read past its end. */
static int read_stat(pid_t pid, sv_proc *p) {
        char path[64], buf[2048];
        sv__stat st;
        size_t len;
        int n, r;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        n = sv__read_file(path, buf, sizeof(buf));
        if (n <= 0)
                return n < 0 ? n : UV_EINVAL;
        r = sv__proc_parse_stat(buf, (size_t) n, &st);
        if (r < 0)
                return r;
        memset(p, 0, sizeof(*p));
        p->pid = pid;
        p->ppid = st.ppid;
        p->pgid = st.pgrp;
        p->state = st.state;
        len = strlen(st.name);
        if (len > sizeof(p->comm) - 1)
                len = sizeof(p->comm) - 1;
        memcpy(p->comm, st.name, len);
        return 0;
}

int sv__proc_stat(pid_t pid, sv_proc *out) {
        return read_stat(pid, out);
}

int sv__proc_tree(pid_t root, pid_t pgid, const char *marker, sv_proc **out) {
        sv_proc *all = NULL, *nv;
        size_t cap = 0, cnt = 0, i, j;
        bool *in;
        pid_t self = getpid();
        struct dirent *de;
        DIR *d;
        int found;
        bool grew;

        d = opendir("/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                pid_t pid;
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                pid = (pid_t) atoi(de->d_name);
                if (cnt == cap) {
                        cap = cap ? cap * 2 : 256;
                        nv = realloc(all, cap * sizeof(*all));
                        if (!nv) {
                                free(all);
                                closedir(d);
                                return UV_ENOMEM;
                        }
                        all = nv;
                }
                /* A process that vanished since readdir is simply skipped. */
                if (read_stat(pid, &all[cnt]) == 0)
                        cnt++;
        }
        closedir(d);

        in = calloc(cnt ? cnt : 1, sizeof(*in));
        if (!in) {
                free(all);
                return UV_ENOMEM;
        }
        for (i = 0; i < cnt; i++) {
                if (all[i].pid == self || all[i].pid == root || all[i].state == 'Z')
                        continue;
                if (pgid > 1 && all[i].pgid == pgid)
                        in[i] = true;
                else if (root > 1 && all[i].ppid == root)
                        in[i] = true;
                else if (marker && all[i].ppid == self && environ_has(all[i].pid, marker))
                        in[i] = true;
        }
        /* Close over parent links until nothing new joins. */
        do {
                grew = false;
                for (i = 0; i < cnt; i++) {
                        if (in[i] || all[i].pid == self || all[i].pid == root ||
                            all[i].state == 'Z')
                                continue;
                        for (j = 0; j < cnt; j++) {
                                if (in[j] && all[j].pid == all[i].ppid) {
                                        in[i] = grew = true;
                                        break;
                                }
                        }
                }
        } while (grew);

        found = 0;
        for (i = 0; i < cnt; i++) {
                if (in[i])
                        all[found++] = all[i];
        }
        free(in);
        if (found == 0) {
                free(all);
                all = NULL;
        }
        *out = all;
        return found;
}

int sv__proc_cmdline(pid_t pid, char *buf, size_t n) {
        char path[64];
        int len, i;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        len = sv__read_file(path, buf, n);
        if (len < 0)
                return len;
        while (len > 0 && buf[len - 1] == '\0')
                len--;
        for (i = 0; i < len; i++) {
                if (buf[i] == '\0')
                        buf[i] = ' ';
        }
        buf[len] = '\0';
        return len;
}

/* Appends the children of every thread of `pid` (a process's children
 * file is per thread: a child made by another thread is listed only in
 * that thread's file). */
static int task_children(pid_t pid, pid_t **v, size_t *cnt, size_t *cap) {
        char path[320];
        struct dirent *de;
        DIR *d;
        int r = 0;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno; /* gone */
        while (r >= 0 && (de = readdir(d))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int) pid, de->d_name);
                r = sv__linux_append_pid_file(path, v, cnt, cap);
                if (r == UV_ENOENT || r == UV_ESRCH)
                        r = 0; /* the thread ended */
        }
        closedir(d);
        return r;
}

int sv__proc_children(pid_t **out) {
        pid_t *v = NULL;
        size_t cnt = 0, cap = 0;
        int r;

        r = task_children(getpid(), &v, &cnt, &cap);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        return (int) cnt;
}

/* A growable set of pids, kept in discovery order. */
typedef struct pidset {
        pid_t *v;
        size_t n, cap;
} pidset;

static bool pidset_has(const pidset *s, pid_t pid) {
        size_t i;

        for (i = 0; i < s->n; i++) {
                if (s->v[i] == pid)
                        return true;
        }
        return false;
}

static int pidset_add(pidset *s, pid_t pid) {
        pid_t *nv;

        if (pidset_has(s, pid))
                return 0;
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                nv = realloc(s->v, s->cap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                s->v = nv;
        }
        s->v[s->n++] = pid;
        return 1;
}

/* Adds the children of every thread of `pid` to the set. */
static int add_children(pidset *s, pid_t pid) {
        pid_t *kids = NULL;
        size_t cnt = 0, cap = 0, i;
        int r;

        r = task_children(pid, &kids, &cnt, &cap);
        for (i = 0; r >= 0 && i < cnt; i++) {
                if (kids[i] > 1)
                        r = pidset_add(s, kids[i]);
        }
        free(kids);
        return r < 0 ? r : 0;
}

int sv__proc_freeze_tree(pid_t root, const char *marker, pid_t **out) {
        pidset s = { NULL, 0, 0 };
        pid_t self = getpid();
        pid_t *kids = NULL;
        size_t i;
        int n, r;

        /* Seeds: the root's children, and orphans adopted by us that carry
         * the marker. Each found process is stopped before its children are
         * read, so it cannot fork behind our back, and a stopped process's
         * children file is exact (proc(5)). */
        if (root > 1 && (r = add_children(&s, root)) < 0)
                goto fail;
        n = sv__proc_children(&kids);
        for (i = 0; n > 0 && i < (size_t) n; i++) {
                if (kids[i] != root && sv__proc_has_marker(kids[i], marker) == 1 &&
                    (r = pidset_add(&s, kids[i])) < 0)
                        goto fail;
        }
        free(kids);
        kids = NULL;
        for (i = 0; i < s.n; i++) {
                if (s.v[i] == self || s.v[i] <= 1)
                        continue;
                (void) kill(s.v[i], SIGSTOP);
                if ((r = add_children(&s, s.v[i])) < 0)
                        goto fail;
        }
        *out = s.v;
        return (int) s.n;

fail:
        free(kids);
        free(s.v);
        return r;
}

/* ---- What a hang diagnosis shows of one process ---- */

int sv__proc_detail_read(pid_t pid, sv__proc_detail *out) {
        char path[64];
        char *stack = NULL;
        int n, r;

        memset(out, 0, sizeof(*out));
        out->p.pid = pid;
        out->p.state = '?';
        r = read_stat(pid, &out->p);
        if (r < 0) {
                out->p.pid = pid;
                out->p.state = '?';
        }
        snprintf(path, sizeof(path), "/proc/%d/wchan", (int) pid);
        n = sv__read_file(path, out->wchan, sizeof(out->wchan));
        if (n <= 0 || strcmp(out->wchan, "0") == 0)
                snprintf(out->wchan, sizeof(out->wchan), "-");
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        n = sv__read_file(path, out->cmdline, sizeof(out->cmdline));
        out->cmdline_len = n > 0 ? (size_t) n : 0;
        snprintf(path, sizeof(path), "/proc/%d/stack", (int) pid);
        n = sv__read_file_all(path, &stack);
        if (n < 0)
                out->stack_err = n;
        else
                out->stack = stack;
        return r < 0 ? UV_ESRCH : 0;
}

void sv__proc_detail_release(sv__proc_detail *d) {
        if (!d)
                return;
        free(d->stack);
        d->stack = NULL;
}
