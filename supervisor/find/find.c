/* find.c - sv_find_scan(): one pass over the process table into a
 * pid-sorted snapshot, then the filter. Owns the table's memory. The OS is
 * reached only through platform.h's sv__ptab_*: one cheap read per process
 * (Linux: /proc/<pid>/stat; Windows: a Toolhelp32 snapshot), and the slower
 * reads (command line, owner, sockets) only for processes that passed the
 * cheaper tests, so a Linux scan makes about a sixth of the system calls of
 * procps' pgrep. Never matches the calling process or its ancestors. Never
 * prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "find/find_internal.h"

/* What a scan needs besides the table: compiled regex, sorted pid list,
 * descendant marks. Lives only during sv_find_scan(). */
typedef struct scan_ctx {
        const sv_find_filter *f;
        sv__re *re;
        pid_t *pids;       /* sorted copy of f->pids */
        bool *excluded;    /* per proc: us or an ancestor of ours */
        bool *desc;        /* per proc: a descendant of f->parent (SV_FIND_TREE) */
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
        char num[24];
        sv__re *re;
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
                r = sv__re_compile(f->regex, false, &re, msg, msg_len);
                if (r < 0)
                        return r;
                sv__re_free(re);
        }
        return 0;
}

const sv_find_proc *sv__find_lookup(const sv_find_table *t, pid_t pid) {
        sv_find_proc key;

        key.pid = pid;
        return bsearch(&key, t->procs, t->nprocs, sizeof(*t->procs), cmp_proc);
}

/* Reads the process table into t->procs, sorted by pid. A process that
 * vanishes while it is read is simply not in the snapshot. */
static int read_table(sv_find_table *t) {
        sv_find_proc *procs = NULL;
        int n;

        n = sv__ptab_list(t->pt, &procs);
        if (n < 0)
                return n;
        t->procs = procs;
        t->nprocs = (size_t) n;
        if (t->nprocs > 1)
                qsort(t->procs, t->nprocs, sizeof(*t->procs), cmp_proc);
        return 0;
}

/* True if `parent` may really be the parent of `child`: it started no later.
 * A pid recycled by a newer process cannot then pass as a parent (Windows
 * keeps a dead parent's pid in its children; Linux reparents, so this
 * always holds there). */
static bool started_before(const sv_find_proc *parent, const sv_find_proc *child) {
        return parent->start_ticks <= child->start_ticks;
}

/* Marks us and every ancestor. Walking up stops at a pid not in the snapshot
 * (0, or an ancestor in another pid namespace), at a "parent" younger than
 * its child (a recycled pid), and at a loop, which a racing reparent could
 * fake. */
static void mark_self(const sv_find_table *t, bool *excluded) {
        const sv_find_proc *p, *child = NULL;
        pid_t self, parent, pid;
        size_t steps;

        sv__ptab_self(t->pt, &self, &parent);
        pid = self;
        for (steps = 0; steps <= t->nprocs && pid > 0; steps++) {
                p = sv__find_lookup(t, pid);
                if (!p || excluded[p - t->procs] || (child && !started_before(p, child)))
                        break;
                excluded[p - t->procs] = true;
                child = p;
                pid = p->ppid;
        }
        /* Our parent, even if our own entry were missing. */
        p = parent > 0 ? sv__find_lookup(t, parent) : NULL;
        if (p)
                excluded[p - t->procs] = true;
}

/* Children lists come from one pass over the ppids, keeping only children
 * that started no earlier than their parent; a stack walks them. */
int sv__find_mark_descendants(const sv_find_table *t, const size_t *roots, size_t nroots, bool *desc) {
        size_t i, *first, *next, *stack, top = 0, none = (size_t) -1;
        const sv_find_proc *parent;
        int r = 0;

        first = malloc(t->nprocs * sizeof(*first));
        next = malloc(t->nprocs * sizeof(*next));
        stack = malloc((t->nprocs + nroots + 1) * sizeof(*stack));
        if (!first || !next || !stack) {
                r = UV_ENOMEM;
                goto out;
        }
        for (i = 0; i < t->nprocs; i++)
                first[i] = next[i] = none;
        for (i = t->nprocs; i-- > 0;) {
                parent = sv__find_lookup(t, t->procs[i].ppid);
                if (!parent || parent == &t->procs[i] || !started_before(parent, &t->procs[i]))
                        continue;
                next[i] = first[parent - t->procs];
                first[parent - t->procs] = i;
        }
        for (i = 0; i < nroots; i++)
                stack[top++] = roots[i];
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

/* p's parent is `parent`, and started no later than p. */
static bool is_child_of(const sv_find_table *t, const sv_find_proc *p, pid_t parent) {
        const sv_find_proc *pp;

        if (p->ppid != parent)
                return false;
        pp = sv__find_lookup(t, parent);
        return !pp || started_before(pp, p);
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
        r = sv__ptab_read_ids(t->pt, p->pid, &ids);
        if (r == UV_ENOMEM)
                return r;
        if (r < 0)
                return 0; /* gone */
        return (!f->euids.n || in_list(&f->euids, ids.euid)) &&
               (!f->ruids.n || in_list(&f->ruids, ids.ruid)) &&
               (!f->rgids.n || in_list(&f->rgids, ids.rgid));
}

/* The regex subject for SV_FIND_FULL: argv joined by spaces, or "[name]". */
static int full_matches(sv_find_table *t, sv_find_proc *p, const sv__re *re) {
        char *s;
        size_t i;
        int r;

        r = sv__ptab_load_cmdline(t->pt, p);
        if (r < 0)
                return r;
        if (!p->cmdline) {
                char buf[sizeof(p->name) + 2];

                (void) snprintf(buf, sizeof(buf), "[%s]", p->name);
                return sv__re_match(re, buf);
        }
        s = malloc(p->cmdline_len);
        if (!s)
                return UV_ENOMEM;
        memcpy(s, p->cmdline, p->cmdline_len);
        for (i = 0; i + 1 < p->cmdline_len; i++)
                if (s[i] == '\0')
                        s[i] = ' ';
        s[p->cmdline_len - 1] = '\0';
        r = sv__re_match(re, s);
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
        if (f->parent > 0 && !((f->flags & SV_FIND_TREE) ? c->desc[i] : is_child_of(t, p, f->parent)))
                return 0;
        if (!stat_lists_match(f, p))
                return 0;
        if (f->older_than_ms && p->age_ms < f->older_than_ms)
                return 0;
        if (f->younger_than_ms && p->age_ms >= f->younger_than_ms)
                return 0;
        if (f->name) {
                r = sv__ptab_name_is(t->pt, p, f->name);
                if (r <= 0)
                        return r;
        }
        if (c->re && !(f->flags & SV_FIND_FULL) && !sv__re_match(c->re, p->name))
                return 0;
        if (c->re && (f->flags & SV_FIND_FULL)) {
                r = full_matches(t, p, c->re);
                if (r <= 0)
                        return r;
        }
        r = id_lists_match(t, f, p);
        if (r <= 0)
                return r;
        if (f->user) {
                r = sv__ptab_user_is(t->pt, p, f->user);
                if (r <= 0)
                        return r;
        }
        if (f->has_uid) {
                r = sv__ptab_load_user(t->pt, p);
                if (r < 0)
                        return r;
                if (!p->has_uid || p->uid != f->uid)
                        return 0;
        }
        if (f->port) {
                r = sv__ptab_port_owner(t->pt, p);
                if (r <= 0)
                        return r; /* gone, or not ours to look into: 0 */
        }
        return 1;
}

static int ctx_init(scan_ctx *c, const sv_find_filter *f, sv_find_table *t) {
        const sv_find_proc *root;
        size_t i;
        int r;

        memset(c, 0, sizeof(*c));
        c->f = f;
        if (f->regex) {
                r = sv__re_compile(f->regex, (f->flags & SV_FIND_ICASE) != 0, &c->re, NULL, 0);
                if (r < 0)
                        return r;
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
                root = sv__find_lookup(t, f->parent);
                if (root) {
                        i = (size_t) (root - t->procs);
                        r = sv__find_mark_descendants(t, &i, 1, c->desc);
                        if (r < 0)
                                return r;
                }
        }
        if (f->port)
                return sv__ptab_port_load(t->pt, f->port, f->protos, (f->flags & SV_FIND_ANY_SOCKET) != 0);
        return 0;
}

static void ctx_release(scan_ctx *c) {
        sv__re_free(c->re);
        free(c->pids);
        free(c->excluded);
        free(c->desc);
}

int sv__find_load_details(sv_find_table *t, sv_find_proc *p) {
        int r;

        if (!t->pt)
                return 0; /* a table built by hand (unit tests) */
        r = sv__ptab_load_user(t->pt, p);
        if (r < 0)
                return r;
        return sv__ptab_load_cmdline(t->pt, p);
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

/* SV_FIND_DESCENDANTS: every descendant of a match becomes a match too
 * (never us or an ancestor of ours), keeping t->match ascending. */
static int add_descendants(sv_find_table *t, scan_ctx *c) {
        size_t i;
        int r;

        if (t->nmatch == 0)
                return 0;
        memset(c->desc, 0, (t->nprocs + 1) * sizeof(bool));
        r = sv__find_mark_descendants(t, t->match, t->nmatch, c->desc);
        if (r < 0)
                return r;
        t->nmatch = 0;
        for (i = 0; i < t->nprocs; i++) {
                if (c->desc[i] && !c->excluded[i])
                        t->procs[i].matched = true;
                if (t->procs[i].matched)
                        t->match[t->nmatch++] = i;
        }
        return 0;
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
        if (t->flags & SV_FIND_DESCENDANTS) {
                r = add_descendants(t, c);
                if (r < 0)
                        return r;
        }
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
        r = sv__ptab_open(&t->pt);
        if (r < 0)
                goto fail_table;
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
                        sv__phandle_close(&t->kill[i].h);
                free(t->kill);
        }
        for (i = 0; i < t->nprocs; i++) {
                free((char *) t->procs[i].cmdline);
                free((char *) t->procs[i].user);
        }
        free(t->procs);
        free(t->match);
        sv__ptab_free(t->pt);
        free(t);
}
