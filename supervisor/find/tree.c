/* tree.c - sv_find_tree(): the matches and their ancestors as a forest, in
 * pre-order, for pstree-like drawings and the dry run. Works on the snapshot
 * only (it never rescans), so the drawing shows exactly the set that
 * sv_find_signal() would reach. */
#include <stdlib.h>
#include <uv.h>

#include "find/find_internal.h"

/* Marks every match and the chain of its ancestors in `in`. Stops at a pid
 * missing from the snapshot and at a node already marked, so a racing
 * reparent that made a cycle cannot loop. */
static void mark_set(const sv_find_table *t, bool *in) {
        const sv_find_proc *parent;
        size_t m, i;

        for (m = 0; m < t->nmatch; m++) {
                i = t->match[m];
                while (!in[i]) {
                        in[i] = true;
                        parent = sv__find_lookup(t, t->procs[i].ppid);
                        if (!parent)
                                break;
                        i = (size_t) (parent - t->procs);
                }
        }
}

static int load_ancestors(sv_find_table *t, const bool *in) {
        size_t i;
        int r;

        if (t->flags & SV_FIND_NO_DETAILS)
                return 0;
        for (i = 0; i < t->nprocs; i++) {
                if (!in[i] || t->procs[i].matched)
                        continue;
                r = sv__find_load_details(t, &t->procs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Links children lists inside the set; index `root` (= nprocs) is a virtual
 * parent of every node whose parent is outside the set. Walking the procs
 * backwards and prepending keeps siblings in ascending pid order. */
static void link_children(const sv_find_table *t, const bool *in, size_t *first, size_t *next) {
        const sv_find_proc *parent;
        size_t i, p, root = t->nprocs, none = (size_t) -1;

        for (i = 0; i <= t->nprocs; i++)
                first[i] = next[i] = none;
        for (i = t->nprocs; i-- > 0;) {
                if (!in[i])
                        continue;
                parent = sv__find_lookup(t, t->procs[i].ppid);
                p = parent ? (size_t) (parent - t->procs) : root;
                if (p == i || (p != root && !in[p]))
                        p = root;
                next[i] = first[p];
                first[p] = i;
        }
}

/* Pre-order walk with one cursor per depth instead of recursion: a chain of
 * thousands of processes must not overflow our stack. */
static size_t walk(const sv_find_table *t, const size_t *first, const size_t *next, size_t *cur,
                   sv_find_row *rows) {
        size_t depth = 0, i, n = 0, none = (size_t) -1;

        cur[0] = first[t->nprocs];
        for (;;) {
                i = cur[depth];
                if (i == none) {
                        if (depth == 0)
                                break;
                        depth--;
                        continue;
                }
                cur[depth] = next[i];
                rows[n].proc = &t->procs[i];
                rows[n].depth = (unsigned) depth;
                rows[n].last = next[i] == none;
                n++;
                if (first[i] != none)
                        cur[++depth] = first[i];
        }
        return n;
}

int sv_find_tree(sv_find_table *t, sv_find_row **out) {
        size_t *first = NULL, *next = NULL, *cur = NULL, n;
        sv_find_row *rows = NULL;
        bool *in;
        int r = UV_ENOMEM;

        if (t->nmatch == 0) {
                *out = NULL;
                return 0;
        }
        in = calloc(t->nprocs, sizeof(*in));
        if (!in)
                return UV_ENOMEM;
        mark_set(t, in);
        r = load_ancestors(t, in);
        if (r < 0)
                goto out;
        r = UV_ENOMEM;
        first = malloc((t->nprocs + 1) * sizeof(*first));
        next = malloc((t->nprocs + 1) * sizeof(*next));
        cur = malloc((t->nprocs + 1) * sizeof(*cur));
        rows = malloc(t->nprocs * sizeof(*rows));
        if (!first || !next || !cur || !rows)
                goto out;
        link_children(t, in, first, next);
        n = walk(t, first, next, cur, rows);
        *out = rows;
        rows = NULL;
        r = (int) n;
out:
        free(rows);
        free(cur);
        free(next);
        free(first);
        free(in);
        return r;
}
