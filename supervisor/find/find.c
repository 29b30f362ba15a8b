/* find.c - sv_find_scan(): one pass over /proc into a pid-sorted snapshot,
 * then the filter. Owns the table's memory. Reads only /proc/<pid>/stat for
 * every process (one open, one read, one close) and touches the slower files
 * (cmdline, status, fd/) only for processes that passed the cheaper tests, so
 * a scan makes about a sixth of the system calls of procps' pgrep. Never
 * matches the calling process or its ancestors. Never prints. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "find/find_internal.h"

/* The kernel truncates a process name (comm) to this many bytes. */
#define SV__COMM_MAX 15

/* What a scan needs besides the table: compiled regex, sorted pid list,
 * descendant marks, socket inodes. Lives only during sv_find_scan(). */
typedef struct scan_ctx {
        const sv_find_filter *f;
        regex_t re;
        bool has_re;
        pid_t *pids;       /* sorted copy of f->pids */
        bool *excluded;    /* per proc: us or an ancestor of ours */
        bool *desc;        /* per proc: a descendant of f->parent (SV_FIND_TREE) */
        sv__inodes inodes; /* sockets on f->port */
} scan_ctx;

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

static int cmp_proc(const void *a, const void *b) {
        return cmp_pid(&((const sv_find_proc *) a)->pid, &((const sv_find_proc *) b)->pid);
}

static void set_msg(char *msg, size_t msg_len, const char *text, const char *arg) {
        if (msg && msg_len)
                (void) snprintf(msg, msg_len, text, arg);
}

int sv_find_filter_check(const sv_find_filter *f, char *msg, size_t msg_len) {
        char errbuf[128], num[24];
        regex_t re;
        size_t i;
        int r;

        for (i = 0; i < f->npids; i++) {
                if (f->pids[i] > 1)
                        continue;
                (void) snprintf(num, sizeof(num), "%d", (int) f->pids[i]);
                set_msg(msg, msg_len,
                        f->pids[i] == 1 ? "refusing pid %s: it is init, never a target"
                                        : "refusing pid %s: only single processes (pid > 1) can be named",
                        num);
                return UV_EINVAL;
        }
        if (f->parent < 0) {
                (void) snprintf(num, sizeof(num), "%d", (int) f->parent);
                set_msg(msg, msg_len, "invalid parent pid %s", num);
                return UV_EINVAL;
        }
        if (f->regex) {
                r = regcomp(&re, f->regex, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        (void) regerror(r, &re, errbuf, sizeof(errbuf));
                        set_msg(msg, msg_len, "invalid regex: %s", errbuf);
                        regfree(&re);
                        return UV_EINVAL;
                }
                regfree(&re);
        }
        return 0;
}

const sv_find_proc *sv__find_lookup(const sv_find_table *t, pid_t pid) {
        sv_find_proc key;

        key.pid = pid;
        return bsearch(&key, t->procs, t->nprocs, sizeof(*t->procs), cmp_proc);
}

static int table_push(sv_find_table *t, size_t *cap, const sv_find_proc *p) {
        sv_find_proc *nv;
        size_t ncap;

        if (t->nprocs == *cap) {
                ncap = *cap ? *cap * 2 : 512;
                nv = realloc(t->procs, ncap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                t->procs = nv;
                *cap = ncap;
        }
        t->procs[t->nprocs++] = *p;
        return 0;
}

/* Reads every /proc/<pid>/stat into t->procs, sorted by pid. A process that
 * vanishes between readdir() and the read is simply not in the snapshot. */
static int read_table(sv_find_table *t) {
        char path[32];
        sv_find_proc p;
        bool sorted = true;
        uint64_t now_ms, start_ms;
        size_t cap = 0;
        pid_t *pids = NULL;
        long page_kb;
        sv__stat st;
        int r = 0, n, i;

        n = sv__proc_list_pids(t->proc_fd, &pids);
        if (n < 0)
                return n;
        now_ms = sv__proc_now_boot_ms();
        page_kb = sysconf(_SC_PAGESIZE) / 1024;
        for (i = 0; i < n; i++) {
                (void) snprintf(path, sizeof(path), "%d/stat", (int) pids[i]);
                r = sv__proc_read_stat_at(t->proc_fd, path, &st);
                if (r == UV_ESRCH || r == UV_EINVAL) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                memset(&p, 0, sizeof(p));
                p.pid = pids[i];
                p.ppid = st.ppid;
                p.pgrp = st.pgrp;
                p.sid = st.sid;
                p.tty_nr = st.tty_nr;
                p.state = st.state;
                p.kthread = st.kthread;
                p.start_ticks = st.start_ticks;
                start_ms = sv__proc_ticks_to_ms(st.start_ticks);
                p.age_ms = now_ms > start_ms ? now_ms - start_ms : 0;
                p.rss_kb = st.rss_pages * (uint64_t) page_kb;
                memcpy(p.name, st.name, sizeof(p.name));
                if (t->nprocs && t->procs[t->nprocs - 1].pid > p.pid)
                        sorted = false;
                r = table_push(t, &cap, &p);
                if (r < 0)
                        break;
        }
        free(pids);
        if (r == 0 && !sorted)
                qsort(t->procs, t->nprocs, sizeof(*t->procs), cmp_proc);
        return r;
}

/* Marks us and every ancestor. Walking up stops at a pid not in the snapshot
 * (0, or an ancestor in another pid namespace) and at a loop, which a racing
 * reparent could fake. */
static void mark_self(const sv_find_table *t, bool *excluded) {
        const sv_find_proc *p;
        pid_t pid = getpid();
        size_t steps;

        for (steps = 0; steps <= t->nprocs && pid > 0; steps++) {
                p = sv__find_lookup(t, pid);
                if (!p || excluded[p - t->procs])
                        break;
                excluded[p - t->procs] = true;
                pid = p->ppid;
        }
        /* Our parent, even if our own entry were missing. */
        p = sv__find_lookup(t, getppid());
        if (p)
                excluded[p - t->procs] = true;
}

/* Marks every descendant of `root` (not root itself). Children lists come
 * from one pass over the ppids; a stack walks them. */
static int mark_descendants(const sv_find_table *t, pid_t root, bool *desc) {
        size_t i, *first, *next, *stack, top = 0, none = (size_t) -1;
        const sv_find_proc *parent;
        int r = 0;

        first = malloc(t->nprocs * sizeof(*first));
        next = malloc(t->nprocs * sizeof(*next));
        stack = malloc((t->nprocs + 1) * sizeof(*stack));
        if (!first || !next || !stack) {
                r = UV_ENOMEM;
                goto out;
        }
        for (i = 0; i < t->nprocs; i++)
                first[i] = next[i] = none;
        for (i = t->nprocs; i-- > 0;) {
                parent = sv__find_lookup(t, t->procs[i].ppid);
                if (!parent || parent == &t->procs[i])
                        continue;
                next[i] = first[parent - t->procs];
                first[parent - t->procs] = i;
        }
        parent = sv__find_lookup(t, root);
        if (!parent)
                goto out;
        stack[top++] = (size_t) (parent - t->procs);
        while (top > 0) {
                for (i = first[stack[--top]]; i != none; i = next[i]) {
                        if (desc[i])
                                continue; /* a cycle from a racing reparent */
                        desc[i] = true;
                        stack[top++] = i;
                }
        }
out:
        free(first);
        free(next);
        free(stack);
        return r;
}

/* Loads the command line of procs[i] once. A vanished process or an
 * unreadable file leaves cmdline NULL. */
static int load_cmdline(sv_find_table *t, sv_find_proc *p) {
        char path[32], *buf;
        ssize_t n;

        if (p->cmdline || p->kthread)
                return 0;
        (void) snprintf(path, sizeof(path), "%d/cmdline", (int) p->pid);
        n = sv__proc_read_file_at(t->proc_fd, path, &buf);
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

static int load_uid(sv_find_table *t, sv_find_proc *p) {
        uid_t uid;
        int r;

        if (p->has_uid)
                return 0;
        r = sv__proc_read_euid(t->proc_fd, p->pid, &uid);
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
static int long_name_matches(sv_find_table *t, sv_find_proc *p, const char *name) {
        char path[32], exe[4096];
        ssize_t n;
        int r;

        if (p->kthread || strlen(p->name) != SV__COMM_MAX || memcmp(p->name, name, SV__COMM_MAX) != 0)
                return 0;
        r = load_cmdline(t, p);
        if (r < 0)
                return r;
        if (p->cmdline && strcmp(base_name(p->cmdline), name) == 0)
                return 1;
        (void) snprintf(path, sizeof(path), "%d/exe", (int) p->pid);
        n = readlinkat(t->proc_fd, path, exe, sizeof(exe) - 1);
        if (n <= 0)
                return 0;
        exe[n] = '\0';
        return strcmp(base_name(exe), name) == 0;
}

static bool in_list(const sv_find_list *l, int64_t v) {
        size_t i;

        for (i = 0; i < l->n; i++)
                if (l->v[i] == v)
                        return true;
        return false;
}

/* The list criteria read from stat: no file opened. */
static bool stat_lists_match(const sv_find_filter *f, const sv_find_proc *p) {
        return (!f->ppids.n || in_list(&f->ppids, p->ppid)) &&
               (!f->pgrps.n || in_list(&f->pgrps, p->pgrp)) &&
               (!f->sids.n || in_list(&f->sids, p->sid)) &&
               (!f->ttys.n || in_list(&f->ttys, p->tty_nr));
}

/* The id lists, from /proc/<pid>/status. 1, 0, or a negative error. */
static int id_lists_match(sv_find_table *t, const sv_find_filter *f, const sv_find_proc *p) {
        sv__ids ids;
        int r;

        if (!f->euids.n && !f->ruids.n && !f->rgids.n)
                return 1;
        r = sv__proc_read_ids(t->proc_fd, p->pid, &ids);
        if (r == UV_ENOMEM)
                return r;
        if (r < 0)
                return 0; /* gone */
        return (!f->euids.n || in_list(&f->euids, ids.euid)) &&
               (!f->ruids.n || in_list(&f->ruids, ids.ruid)) &&
               (!f->rgids.n || in_list(&f->rgids, ids.rgid));
}

static bool name_matches_exact(const sv_find_proc *p, const char *name) {
        return strcmp(p->name, name) == 0;
}

/* The regex subject for SV_FIND_FULL: argv joined by spaces, or "[name]". */
static int full_matches(sv_find_table *t, sv_find_proc *p, const regex_t *re) {
        char *s;
        size_t i;
        int r;

        r = load_cmdline(t, p);
        if (r < 0)
                return r;
        if (!p->cmdline) {
                char buf[sizeof(p->name) + 2];

                (void) snprintf(buf, sizeof(buf), "[%s]", p->name);
                return regexec(re, buf, 0, NULL, 0) == 0;
        }
        s = malloc(p->cmdline_len);
        if (!s)
                return UV_ENOMEM;
        memcpy(s, p->cmdline, p->cmdline_len);
        for (i = 0; i + 1 < p->cmdline_len; i++)
                if (s[i] == '\0')
                        s[i] = ' ';
        s[p->cmdline_len - 1] = '\0';
        r = regexec(re, s, 0, NULL, 0) == 0;
        free(s);
        return r;
}

/* Returns 1 if procs[i] matches, 0 if not, negative on a hard error. The
 * tests run cheapest first; the ones that open more files come last. */
static int proc_matches(sv_find_table *t, scan_ctx *c, size_t i) {
        const sv_find_filter *f = c->f;
        sv_find_proc *p = &t->procs[i];
        int r;

        if (f->npids && !bsearch(&p->pid, c->pids, f->npids, sizeof(*c->pids), cmp_pid))
                return 0;
        if (f->parent > 0 && !((f->flags & SV_FIND_TREE) ? c->desc[i] : p->ppid == f->parent))
                return 0;
        if (!stat_lists_match(f, p))
                return 0;
        if (f->older_than_ms && p->age_ms < f->older_than_ms)
                return 0;
        if (f->younger_than_ms && p->age_ms >= f->younger_than_ms)
                return 0;
        if (f->name && !name_matches_exact(p, f->name)) {
                if (strlen(f->name) <= SV__COMM_MAX)
                        return 0;
                r = long_name_matches(t, p, f->name);
                if (r <= 0)
                        return r;
        }
        if (c->has_re && !(f->flags & SV_FIND_FULL) && regexec(&c->re, p->name, 0, NULL, 0) != 0)
                return 0;
        if (c->has_re && (f->flags & SV_FIND_FULL)) {
                r = full_matches(t, p, &c->re);
                if (r <= 0)
                        return r;
        }
        r = id_lists_match(t, f, p);
        if (r <= 0)
                return r;
        if (f->has_uid) {
                r = load_uid(t, p);
                if (r < 0)
                        return r;
                if (!p->has_uid || p->uid != f->uid)
                        return 0;
        }
        if (f->port) {
                r = sv__proc_owns_inode(t->proc_fd, p->pid, &c->inodes);
                if (r == UV_ENOMEM)
                        return r;
                if (r <= 0)
                        return 0; /* gone, or not ours to look into */
        }
        return 1;
}

static int ctx_init(scan_ctx *c, const sv_find_filter *f, const sv_find_table *t) {
        int r;

        memset(c, 0, sizeof(*c));
        c->f = f;
        if (f->regex) {
                if (regcomp(&c->re, f->regex,
                            REG_EXTENDED | REG_NOSUB | (f->flags & SV_FIND_ICASE ? REG_ICASE : 0)) != 0)
                        return UV_EINVAL;
                c->has_re = true;
        }
        if (f->npids) {
                c->pids = malloc(f->npids * sizeof(*c->pids));
                if (!c->pids)
                        return UV_ENOMEM;
                memcpy(c->pids, f->pids, f->npids * sizeof(*c->pids));
                qsort(c->pids, f->npids, sizeof(*c->pids), cmp_pid);
        }
        c->excluded = calloc(t->nprocs + 1, sizeof(bool));
        c->desc = calloc(t->nprocs + 1, sizeof(bool));
        if (!c->excluded || !c->desc)
                return UV_ENOMEM;
        mark_self(t, c->excluded);
        if (f->parent > 0 && (f->flags & SV_FIND_TREE)) {
                r = mark_descendants(t, f->parent, c->desc);
                if (r < 0)
                        return r;
        }
        if (f->port)
                return sv__proc_port_inodes(f->port, f->protos, (f->flags & SV_FIND_ANY_SOCKET) != 0,
                                            &c->inodes);
        return 0;
}

static void ctx_release(scan_ctx *c) {
        if (c->has_re)
                regfree(&c->re);
        free(c->pids);
        free(c->excluded);
        free(c->desc);
        free(c->inodes.v);
}

int sv__find_load_details(sv_find_table *t, sv_find_proc *p) {
        int r;

        r = load_uid(t, p);
        if (r < 0)
                return r;
        return load_cmdline(t, p);
}

/* SV_FIND_NEWEST / SV_FIND_OLDEST: true if procs[i] beats procs[best]. */
static bool better(const sv_find_table *t, size_t i, size_t best) {
        const sv_find_proc *a = &t->procs[i], *b = &t->procs[best];

        if (a->start_ticks != b->start_ticks)
                return (t->flags & SV_FIND_NEWEST) ? a->start_ticks > b->start_ticks
                                                   : a->start_ticks < b->start_ticks;
        return (t->flags & SV_FIND_NEWEST) ? a->pid > b->pid : a->pid < b->pid;
}

/* Keeps only the newest or the oldest match. */
static void keep_one(sv_find_table *t) {
        size_t k, best;

        if (!(t->flags & (SV_FIND_NEWEST | SV_FIND_OLDEST)) || t->nmatch < 2)
                return;
        best = t->match[0];
        for (k = 1; k < t->nmatch; k++)
                if (better(t, t->match[k], best))
                        best = t->match[k];
        for (k = 0; k < t->nmatch; k++)
                t->procs[t->match[k]].matched = t->match[k] == best;
        t->match[0] = best;
        t->nmatch = 1;
}

static int apply_filter(sv_find_table *t, scan_ctx *c) {
        size_t i, k;
        int r;

        t->match = malloc((t->nprocs + 1) * sizeof(*t->match));
        if (!t->match)
                return UV_ENOMEM;
        for (i = 0; i < t->nprocs; i++) {
                /* Never us or an ancestor, inverted or not. */
                if (c->excluded[i])
                        continue;
                r = proc_matches(t, c, i);
                if (r < 0)
                        return r;
                if (c->f->flags & SV_FIND_INVERT)
                        r = !r;
                if (!r)
                        continue;
                t->procs[i].matched = true;
                t->match[t->nmatch++] = i;
        }
        keep_one(t);
        for (k = 0; k < t->nmatch && !(t->flags & SV_FIND_NO_DETAILS); k++) {
                r = sv__find_load_details(t, &t->procs[t->match[k]]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sv_find_scan(const sv_find_filter *f, sv_find_table **out) {
        sv_find_table *t;
        scan_ctx c;
        int r;

        r = sv_find_filter_check(f, NULL, 0);
        if (r < 0)
                return r;
        t = calloc(1, sizeof(*t));
        if (!t)
                return UV_ENOMEM;
        t->flags = f->flags;
        t->proc_fd = sv__proc_open_dir();
        if (t->proc_fd < 0) {
                r = t->proc_fd;
                goto fail_table;
        }
        r = read_table(t);
        if (r < 0)
                goto fail_table;
        r = ctx_init(&c, f, t);
        if (r == 0)
                r = apply_filter(t, &c);
        ctx_release(&c);
        if (r < 0)
                goto fail_table;
        *out = t;
        return 0;

fail_table:
        sv_find_table_free(t);
        return r;
}

size_t sv_find_count(const sv_find_table *t) {
        return t->nmatch;
}

const sv_find_proc *sv_find_get(const sv_find_table *t, size_t i) {
        if (i >= t->nmatch)
                return NULL;
        return &t->procs[t->match[i]];
}

void sv_find_table_free(sv_find_table *t) {
        size_t i;

        if (!t)
                return;
        if (t->kill) {
                for (i = 0; i < t->nmatch; i++)
                        if (t->kill[i].fd >= 0)
                                (void) close(t->kill[i].fd);
                free(t->kill);
        }
        for (i = 0; i < t->nprocs; i++)
                free((char *) t->procs[i].cmdline);
        free(t->procs);
        free(t->match);
        if (t->proc_fd >= 0)
                (void) close(t->proc_fd);
        free(t);
}
