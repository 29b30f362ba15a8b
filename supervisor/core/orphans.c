/* orphans.c - the children of ours that are not workers: orphans adopted
 * as subreaper (a tree's escapees, once their parent died), and the
 * processes of leaked trees we leave running on purpose. The one place that
 * decides which child is an orphan and reaps it. Never reaps a worker's
 * leader (reap.c does, through its pidfd or the fallback) nor the guardian
 * (guard.c), and never signals anyone. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Neither a worker whose leader is unreaped nor the guardian. */
static bool is_orphan(sv_supervisor *sv, pid_t pid) {
        return pid != sv->guardian.pid && !sv__pidmap_get(&sv->bypid, pid);
}

/* Reaps pid if it has exited: true if it did. */
static bool take(sv_supervisor *sv, pid_t pid) {
        sv__reaped r;

        if (sv__plat_reap_pid(pid, &r) != 1)
                return false;
        sv__log(sv, "reaped adopted orphan %d", (int) pid);
        return true;
}

int sv__orphans_reap(sv_supervisor *sv, const char *marker) {
        pid_t *kids = NULL;
        int n, i, alive = 0;

        /* Not a subreaper: nothing is adopted, and any other child of ours
         * belongs to the program embedding us (uv_spawn), not to us. */
        if (sv->flags & SV_SUPERVISOR_NO_SUBREAPER)
                return 0;
        /* Look at our children rather than peek with waitid(P_ALL): a peek
         * finds the first waitable child, which under load is nearly always
         * a worker the wait set's path is about to reap. Reap every zombie,
         * not only up to the first live one: an unreaped zombie still counts
         * as a member of its group. */
        n = sv__proc_children(&kids);
        for (i = 0; i < n; i++) {
                if (!is_orphan(sv, kids[i]) || take(sv, kids[i]))
                        continue;
                /* Alive, or dying with its environment already unreadable
                 * (-1): not over until it has been reaped. */
                if (!marker || sv__proc_has_marker(kids[i], marker) != 0)
                        alive++;
        }
        free(kids);
        return alive;
}

bool sv__orphans_reap_exited(sv_supervisor *sv) {
        pid_t pid;

        while (sv__plat_peek_exited(&pid) == 1) {
                if (!is_orphan(sv, pid))
                        return true;
                if (!take(sv, pid))
                        return false;
        }
        return false;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

/* The processes we leave running on purpose (leaks under --leaks report
 * or ignore), sorted: the members of retired cgroups, and what the /proc
 * fallback noted. Returns the count, or 0 with *out NULL. */
static size_t left_running(sv_supervisor *sv, pid_t **out) {
        pid_t *v = NULL, *nv, *pids;
        size_t n = 0;
        unsigned i;
        int k;

        for (i = 0; i < sv->cg_nbusy; i++) {
                k = sv__cg_pids(sv->cg_busy[i], &pids);
                if (k <= 0)
                        continue;
                nv = realloc(v, (n + (size_t) k) * sizeof(*v));
                if (nv) {
                        v = nv;
                        memcpy(v + n, pids, (size_t) k * sizeof(*v));
                        n += (size_t) k;
                }
                free(pids);
        }
        if (sv->nleft) {
                nv = realloc(v, (n + sv->nleft) * sizeof(*v));
                if (nv) {
                        v = nv;
                        memcpy(v + n, sv->left, sv->nleft * sizeof(*v));
                        n += sv->nleft;
                }
        }
        if (n)
                qsort(v, n, sizeof(*v), cmp_pid);
        *out = v;
        return n;
}

int sv__orphans_list(sv_supervisor *sv, pid_t **out) {
        pid_t *kids = NULL, *left = NULL;
        size_t nleft;
        int n, i, m = 0;

        *out = NULL;
        if (sv->flags & SV_SUPERVISOR_NO_SUBREAPER)
                return 0;
        n = sv__proc_children(&kids);
        if (n <= 0) {
                free(kids);
                return 0;
        }
        /* At free() every worker is reaped: what is left but the guardian
         * and the leaks left running is an orphan to wait for. */
        nleft = left_running(sv, &left);
        for (i = 0; i < n; i++) {
                if (kids[i] == sv->guardian.pid ||
                    (nleft && bsearch(&kids[i], left, nleft, sizeof(*left), cmp_pid)))
                        continue;
                kids[m++] = kids[i];
        }
        free(left);
        if (m == 0) {
                free(kids);
                return 0;
        }
        *out = kids;
        return m;
}

/* A tree we leave running on purpose (--leaks report or ignore) is not
 * waited for at free(). With a cgroup its members are found in the
 * retired cgroup then; without one, remember who they are now. */
void sv__note_left_running(sv_worker *w) {
        sv_supervisor *sv = w->sv;
        sv_proc *procs = NULL;
        pid_t *v;
        int n, i;

        if (sv->mech == SV_MECH_CGROUP || (sv->flags & SV_SUPERVISOR_NO_SUBREAPER))
                return;
        n = sv__proc_tree(0, w->pid, w->marker, &procs);
        for (i = 0; i < n; i++) {
                if (sv->nleft == sv->leftcap) {
                        v = realloc(sv->left, (sv->leftcap + 16) * sizeof(*v));
                        if (!v)
                                break;
                        sv->left = v;
                        sv->leftcap += 16;
                }
                sv->left[sv->nleft++] = procs[i].pid;
        }
        free(procs);
}
