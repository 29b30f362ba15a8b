/* pidmap.c - pid -> live worker, for the paths that start from a pid (the
 * fallback reaper, the orphan sweep, the look at our children at each exit).
 * Open addressing with linear probing and backward-shift deletion, so no
 * tombstones pile up across thousands of spawns. Holds only workers whose
 * leader is not yet reaped. */
#include <stdlib.h>

#include "core/internal.h"

static size_t slot_of(pid_t pid, size_t mask) {
        /* Fibonacci hashing spreads consecutive pids across the table. */
        return (size_t) (((uint32_t) pid * 2654435769u) >> 7) & mask;
}

static int grow(sv__pidmap *m) {
        size_t cap = m->cap ? m->cap * 2 : 64, i, j;
        sv_worker **old = m->slots;
        sv_worker **nv;

        nv = calloc(cap, sizeof(*nv));
        if (!nv)
                return UV_ENOMEM;
        m->slots = nv;
        for (i = 0; i < m->cap; i++) {
                if (!old[i])
                        continue;
                for (j = slot_of(old[i]->pid, cap - 1); nv[j]; j = (j + 1) & (cap - 1))
                        ;
                nv[j] = old[i];
        }
        m->cap = cap;
        free(old);
        return 0;
}

/* Makes room for one more, so that the put after a spawn cannot fail. */
int sv__pidmap_reserve(sv__pidmap *m) {
        if ((m->count + 1) * 2 > m->cap)
                return grow(m);
        return 0;
}

int sv__pidmap_put(sv__pidmap *m, sv_worker *w) {
        size_t j;
        int r;

        if ((m->count + 1) * 2 > m->cap) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        for (j = slot_of(w->pid, m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1))
                ;
        m->slots[j] = w;
        m->count++;
        return 0;
}

sv_worker *sv__pidmap_get(const sv__pidmap *m, pid_t pid) {
        size_t j;

        if (!m->cap)
                return NULL;
        for (j = slot_of(pid, m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
                if (m->slots[j]->pid == pid)
                        return m->slots[j];
        }
        return NULL;
}

void sv__pidmap_del(sv__pidmap *m, pid_t pid) {
        size_t mask = m->cap - 1, i, j, k;

        if (!m->cap)
                return;
        for (i = slot_of(pid, mask); m->slots[i]; i = (i + 1) & mask) {
                if (m->slots[i]->pid == pid)
                        break;
        }
        if (!m->slots[i])
                return;
        m->slots[i] = NULL;
        m->count--;
        /* Pull later members of the probe run back over the hole. */
        for (j = (i + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
                k = slot_of(m->slots[j]->pid, mask);
                if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
                        m->slots[i] = m->slots[j];
                        m->slots[j] = NULL;
                        i = j;
                }
        }
}

void sv__pidmap_release(sv__pidmap *m) {
        free(m->slots);
        m->slots = NULL;
        m->cap = m->count = 0;
}
