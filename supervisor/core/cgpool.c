/* cgpool.c - the supervisor's pool of worker cgroups: empty ones ready for
 * the next spawn, and the retired ones whose leaks we left running. Hands
 * out and takes back; makes new ones through cgmaker.c, and never signals
 * or reads a cgroup's members itself. */
#include <stdlib.h>

#include "core/internal.h"

/* Workers take an empty cgroup from the pool, or a new one; making and
 * removing a cgroup per spawn would cost two directory operations each. */
int sv__cg_get(sv_supervisor *sv, sv__cg **out) {
        if (sv->cg_nfree > 0) {
                *out = sv->cg_free[--sv->cg_nfree];
                return 0;
        }
        return sv__cgmaker_get(sv, out);
}

void sv__cg_put(sv_supervisor *sv, sv__cg *cg) {
        sv__cg **v;

        if (sv->cg_nfree == sv->cg_cap) {
                v = realloc(sv->cg_free, (sv->cg_cap + 16) * sizeof(*v));
                if (!v) {
                        (void) sv__cg_destroy(cg);
                        free(cg);
                        return;
                }
                sv->cg_free = v;
                sv->cg_cap += 16;
        }
        sv->cg_free[sv->cg_nfree++] = cg;
}

/* A cgroup whose leaked processes we were told to leave running can't be
 * reused or removed yet; it is closed at free(), and removed if empty. */
void sv__cg_retire(sv_supervisor *sv, sv__cg *cg) {
        sv__cg **v;

        v = realloc(sv->cg_busy, (sv->cg_nbusy + 1) * sizeof(*v));
        if (!v) {
                (void) sv__cg_destroy(cg);
                free(cg);
                return;
        }
        sv->cg_busy = v;
        sv->cg_busy[sv->cg_nbusy++] = cg;
}
