/* tree.c - a worker's tree: signalling it, knowing when it is gone, and
 * what it left behind.
 *
 * Three mechanisms (sv_mechanism): with a cgroup the tree is its members,
 * signalled one by one or killed whole with cgroup.kill, and cgroup.events
 * says when it is empty; with the /proc walk it is the leader's process
 * group and every process carrying the worker's marker, frozen before a
 * SIGKILL so that nobody forks out of reach; in a PID namespace only the
 * init can reach into it. Decides nothing: worker.c says when to signal,
 * and hears of an empty tree as SV_EV_TREE_EMPTY. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* How often the /proc fallback looks whether a dying tree is gone. The
 * cgroup path needs no polling: cgroup.events tells. */
#define TREE_POLL_MS 1
/* With a cgroup, cgroup.events says when the tree is empty; the poll is
 * only the safety net for a watch that could not be set up or an event
 * missed, so it may be slow. */
#define CG_POLL_MS 20

/* A polite signal is followed by SIGCONT, so that a stopped process can
 * act on it; a stop signal is not, or it would be undone at once (a pool
 * slot's pause is SIGSTOP of the tree). */
static bool then_cont(int sig) {
        return sig != SIGCONT && sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU;
}

static void signal_tree_procwalk(sv_worker *w, int sig) {
        pid_t root = w->state == SV_WORKER_EXITED ? 0 : w->pid;
        sv_proc *procs = NULL;
        pid_t *pids = NULL;
        int n, i, before = -1;

        /* SIGKILL: freeze the tree as we walk it (a stopped process cannot
         * fork), walk again until a pass finds nobody new, then kill. */
        if (sig == SIGKILL) {
                for (;;) {
                        free(pids);
                        pids = NULL;
                        n = sv__proc_freeze_tree(root, w->marker, &pids);
                        if (n <= 0 || n == before)
                                break;
                        before = n;
                }
                for (i = 0; i < n; i++)
                        (void) sv__plat_kill(pids[i], -1, SIGKILL);
                free(pids);
                /* Members of the group that the walk could not reach (their
                 * parent lives outside the tree). Only while the leader is
                 * unreaped: then its pid cannot name another group. */
                if (root > 1)
                        (void) sv__plat_kill_group(root, SIGKILL);
                return;
        }
        n = sv__proc_tree(root, w->pid, w->marker, &procs);
        for (i = 0; i < n; i++) {
                (void) sv__plat_kill(procs[i].pid, -1, sig);
                if (then_cont(sig))
                        (void) sv__plat_kill(procs[i].pid, -1, SIGCONT);
        }
        free(procs);
}

/* Signals every process in the worker's cgroup, and notes whether the
 * tree is more than its leader: a cgroup that held nobody else is the
 * common case sv__tree_alive() takes cheaply. Note it by pid, never by how
 * many were reached: a leader that died of our pidfd signal before the
 * read leaves one other process reached. (A process forked after the read
 * is not noted; if it dies an orphan, the coalesced sweep reaps it.) */
static void signal_cgroup(sv_worker *w, int sig) {
        pid_t *pids = NULL;
        int n, i;

        n = sv__cg_pids(w->cg, &pids);
        if (n < 0)
                w->tree_multi = true;
        /* A pid read from cgroup.procs is in our cgroup at that moment;
         * the window before kill() is the same one killpg has. */
        for (i = 0; i < n; i++) {
                if (pids[i] != w->pid)
                        w->tree_multi = true;
                if (sv__plat_kill(pids[i], -1, sig) == 0 && then_cont(sig))
                        (void) sv__plat_kill(pids[i], -1, SIGCONT);
        }
        free(pids);
}

/* Signals every process of the tree, the leader through its pidfd. A
 * stopped process is sent SIGCONT too, so it can act on a polite signal. */
int sv__tree_signal(sv_worker *w, int sig) {
        bool leader = w->state != SV_WORKER_EXITED;
        int r = 0;

        /* The tree is the init's namespace, and only the init can reach
         * into it; once the init is reaped, the namespace is gone. */
        if (w->sv->mech == SV_MECH_PIDNS)
                return leader ? sv__plat_pidns_signal(w->pid, w->pidfd, sig, true) : 0;

        if (sig == SIGKILL) {
                /* The tree first and the leader last, so that nobody is
                 * reparented while the /proc walk follows parent links.
                 * cgroup.kill does not say whom it reached. */
                w->tree_multi = true;
                if (w->cg)
                        (void) sv__cg_kill(w->cg);
                else
                        signal_tree_procwalk(w, SIGKILL);
                return leader ? sv__plat_kill(w->pid, w->pidfd, SIGKILL) : 0;
        }
        if (leader) {
                r = sv__plat_kill(w->pid, w->pidfd, sig);
                if (then_cont(sig))
                        (void) sv__plat_kill(w->pid, w->pidfd, SIGCONT);
        }
        if (w->cg) {
                signal_cgroup(w, sig);
        } else {
                signal_tree_procwalk(w, sig);
        }
        return r;
}

/* Looks at our own children that are not live workers (nor the guardian):
 * orphans adopted as subreaper. Zombies among them are reaped on the spot.
 * Returns 1 if one of them is still alive and carries `w`'s marker, or is
 * dying (its environment already unreadable): the tree is not over until
 * such a process has been reaped. */
static int adopted_pending(sv_worker *w) {
        return sv__orphans_reap(w->sv, w->marker) > 0;
}

/* 1 if any process of the tree but the reaped leader is left, or has died
 * but is not yet reaped. Called at every exit, so it must be cheap: one
 * pread with a cgroup; without one, a group probe; then a look at our own
 * children. Never a scan of /proc. */
int sv__tree_alive(sv_worker *w) {
        int r;

        /* The kernel lets a namespace's init be reaped only once every
         * other member is gone. */
        if (w->sv->mech == SV_MECH_PIDNS)
                return 0;
        if (w->cg) {
                /* An error (EMFILE at the limit) counts as alive: the tree
                 * is looked at again. But a cgroup that is gone (someone
                 * removed it, which rmdir allows only when it is empty)
                 * holds nobody, and looking again would spin forever. */
                r = sv__cg_populated(w->cg);
                if (r != 0 && r != UV_ENOENT)
                        return 1;
                /* The cgroup holds escapees while they live; an adopted one
                 * that died may still wait to be reaped, and on_exit must
                 * not run before. That takes a look at all our children,
                 * so only trees known (or not known not) to be more than
                 * their leader pay for it: a mass stop of thousands of
                 * single-process workers would read the whole children
                 * list at every exit. */
                if (!w->tree_multi && !w->leaked)
                        return 0;
                return adopted_pending(w);
        }
        /* Reap adopted zombies first: they would keep the group probe
         * answering yes. */
        if (adopted_pending(w))
                return 1;
        return sv__proc_group_alive(w->pid);
}

void sv__tree_collect_leaks(sv_worker *w) {
        pid_t *pids = NULL;
        sv_proc *procs = NULL;
        int n, i;

        if (w->cg) {
                n = sv__cg_pids(w->cg, &pids);
        } else {
                n = sv__proc_tree(0, w->pid, w->marker, &procs);
                if (n > 0) {
                        pids = malloc((size_t) n * sizeof(*pids));
                        for (i = 0; pids && i < n; i++)
                                pids[i] = procs[i].pid;
                }
                free(procs);
        }
        if (n <= 0 || !pids) {
                free(pids);
                return;
        }
        w->leaked = (unsigned) n;
        w->leak_list = calloc((size_t) (n < SV_LEAKS_MAX ? n : SV_LEAKS_MAX), sizeof(sv_leak));
        for (i = 0; w->leak_list && i < n && i < SV_LEAKS_MAX; i++) {
                w->leak_list[i].pid = pids[i];
                if (sv__proc_cmdline(pids[i], w->leak_list[i].cmdline,
                                     sizeof(w->leak_list[i].cmdline)) <= 0)
                        strcpy(w->leak_list[i].cmdline, "?");
        }
        free(pids);
}

/* What the init of a pidns worker says of the worker's own end replaces the
 * init's; what the worker left behind has died with the namespace and is
 * reported as leaked. */
void sv__tree_pidns_end(sv_worker *w) {
        sv_leak left[SV_LEAKS_MAX];
        size_t keep;
        int n;

        n = sv__plat_pidns_end(w->nsfd, &w->reaped, left, SV_LEAKS_MAX);
        w->nsfd = -1;
        if (n <= 0 || w->step >= 0 || w->leaks == SV_LEAKS_IGNORE)
                return;
        keep = (size_t) (n < SV_LEAKS_MAX ? n : SV_LEAKS_MAX);
        w->leak_list = malloc(keep * sizeof(sv_leak));
        if (!w->leak_list)
                return;
        memcpy(w->leak_list, left, keep * sizeof(sv_leak));
        w->leaked = (unsigned) n;
}

static void on_cg_event(uv_fs_event_t *h, const char *file, int events, int status) {
        sv_worker *w = h->data;

        (void) file;
        (void) events;
        if (status == 0)
                sv__worker_step(w, SV_EV_TREE_EMPTY);
}

/* Only a tree that outlives its leader needs cgroup.events watched; most
 * never do, and pay nothing for it. */
void sv__tree_watch(sv_worker *w) {
        char file[SV_CG_MAX + 32];
        int r;

        if (w->cgev_active || sv__worker_need_io(w) < 0)
                return; /* without the watch, the poll finds the end */
        r = uv_fs_event_init(w->sv->loop, &w->io->cgev);
        if (r < 0)
                return;
        w->io->cgev.data = w;
        w->handles++;
        w->cgev_active = true;
        snprintf(file, sizeof(file), "%s/cgroup.events", w->cg->path);
        r = uv_fs_event_start(&w->io->cgev, on_cg_event, file, 0);
        w->cgev_watching = r == 0;
        if (r < 0)
                sv__log(w->sv, "worker %u: cannot watch '%s': %s", w->id, file, uv_strerror(r));
}

/* How soon to look again at a tree that outlived its leader. */
uint64_t sv__tree_poll_ms(const sv_worker *w) {
        return w->cgev_watching ? CG_POLL_MS : TREE_POLL_MS;
}

static void note_sent(sv_worker *w, int sig) {
        if (sig > 0 && sig < 64)
                w->sent_sigs |= UINT64_C(1) << sig;
}

int sv_worker_kill(sv_worker *w, int sig) {
        if (w->state == SV_WORKER_EXITED)
                return UV_ESRCH;
        note_sent(w, sig);
        if (w->sv->mech == SV_MECH_PIDNS)
                return sv__plat_pidns_signal(w->pid, w->pidfd, sig, false);
        return sv__plat_kill(w->pid, w->pidfd, sig);
}

int sv_worker_kill_tree(sv_worker *w, int sig) {
        if (w->state == SV_WORKER_EXITED)
                return UV_ESRCH;
        note_sent(w, sig);
        return sv__tree_signal(w, sig);
}

/* With a cgroup, the tree is its members: one read of cgroup.procs and one
 * stat per member, where the /proc walk reads every process on the machine
 * (2,000 hung jobs diagnosed at once took minutes: O(n^2) reads). */
static int cg_descendants(const sv_worker *w, sv_proc **out) {
        pid_t *pids = NULL;
        sv_proc *procs;
        int n, i, k = 0;

        n = sv__cg_pids(w->cg, &pids);
        if (n <= 0) {
                free(pids);
                if (n == 0)
                        *out = NULL;
                return n;
        }
        procs = malloc((size_t) n * sizeof(*procs));
        if (!procs) {
                free(pids);
                return UV_ENOMEM;
        }
        for (i = 0; i < n; i++)
                if (pids[i] != w->pid && sv__proc_stat(pids[i], &procs[k]) == 0 &&
                    procs[k].state != 'Z')
                        k++;
        free(pids);
        if (k == 0) {
                free(procs);
                procs = NULL;
        }
        *out = procs;
        return k;
}

int sv_worker_descendants(const sv_worker *w, sv_proc **out) {
        if (w->cg)
                return cg_descendants(w, out);
        return sv__proc_tree(w->state == SV_WORKER_EXITED ? 0 : w->pid, w->pid, w->marker, out);
}
