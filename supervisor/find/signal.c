/* signal.c - pid-reuse-safe signalling and waiting for the matches of a
 * snapshot. Owns the per-match handles in t->kill.
 *
 * Every system call goes through the platform (sv__phandle_*). The order is
 * what makes it safe: open a handle first (a pidfd, an fd on the /proc/<pid>
 * directory, which the kernel pins to that process as psmisc's killall uses
 * it, or a Windows process handle), then read the start time through it and
 * compare it with the snapshot's, then signal through the handle. If the pid
 * was recycled before the handle was opened, the start time differs; after
 * it was opened, the handle still names the old process and the signal
 * fails with ESRCH. Where pidfd syscalls are missing (ENOSYS: kernels before
 * 5.1/5.3, or valgrind 3.19), platform/linux re-reads the start time through
 * the directory fd right before kill(), which narrows the race to those two
 * calls.
 *
 * Never signals pid 1, a kernel thread (Windows: pid 0 and 4), or a process
 * whose identity check failed. Never blocks except in sv_find_wait(). */
#include <stdlib.h>
#include <uv.h>

#include "find/find_internal.h"

static const char *const outcome_names[] = {
        "pending", "signalled", "gone", "refused", "failed",
};
_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == SV_FIND_OUTCOME_COUNT,
               "one name per sv_find_outcome");

const char *sv_find_outcome_name(sv_find_outcome o) {
        if ((unsigned) o >= SV_FIND_OUTCOME_COUNT)
                return "?";
        return outcome_names[o];
}

static void set_outcome(sv__find_kill *k, sv_find_outcome o, int err) {
        k->st.outcome = o;
        k->st.err = err;
        if (o != SV_FIND_SIGNALLED)
                sv__phandle_close(&k->h);
}

/* Opens and verifies the handle of one match. On failure the outcome says
 * why (GONE, REFUSED or FAILED) and no handle is kept. */
static void open_handle(sv_find_table *t, const sv_find_proc *p, sv__find_kill *k) {
        int r;

        if (p->pid <= 1 || p->kthread) {
                set_outcome(k, SV_FIND_REFUSED, UV_EPERM);
                return;
        }
        r = sv__phandle_open(t->pt, p, &k->h);
        if (r == UV_ESRCH)
                set_outcome(k, SV_FIND_GONE, 0);
        else if (r < 0)
                set_outcome(k, SV_FIND_FAILED, r);
}

static int kill_init(sv_find_table *t) {
        size_t i;

        t->kill = calloc(t->nmatch ? t->nmatch : 1, sizeof(*t->kill));
        if (!t->kill)
                return UV_ENOMEM;
        for (i = 0; i < t->nmatch; i++) {
                t->kill[i].h.v = -1;
                t->kill[i].st.outcome = SV_FIND_PENDING;
        }
        return 0;
}

int sv_find_signal(sv_find_table *t, int sig) {
        const sv_find_proc *p;
        sv__find_kill *k;
        int r, sent = 0;
        size_t i;

        if (!t->kill) {
                r = kill_init(t);
                if (r < 0)
                        return r;
        }
        for (i = 0; i < t->nmatch; i++) {
                p = &t->procs[t->match[i]];
                k = &t->kill[i];
                if (k->st.outcome == SV_FIND_PENDING)
                        open_handle(t, p, k);
                if (k->st.outcome == SV_FIND_PENDING || (k->st.outcome == SV_FIND_SIGNALLED && !k->st.exited)) {
                        r = sv__phandle_signal(&k->h, p, sig);
                        if (r == 0) {
                                k->st.outcome = SV_FIND_SIGNALLED;
                                k->st.signal = sig;
                                sent++;
                        } else if (r == UV_ESRCH && k->st.outcome == SV_FIND_SIGNALLED) {
                                k->st.exited = true; /* it died of an earlier signal */
                        } else if (r == UV_ESRCH) {
                                set_outcome(k, SV_FIND_GONE, 0);
                        } else {
                                set_outcome(k, SV_FIND_FAILED, r);
                        }
                }
        }
        return sent;
}

void sv_find_status_get(const sv_find_table *t, size_t i, sv_find_status *out) {
        sv_find_status st = { SV_FIND_PENDING, 0, 0, false };

        if (t->kill && i < t->nmatch)
                st = t->kill[i].st;
        *out = st;
}

/* Waits once, at most `wait_ms` (-1: no limit), on the handles of the
 * matches signalled and not yet seen to end. Returns how many live on, or a
 * negative error. */
static int wait_once(sv_find_table *t, sv__phandle *hs, bool *gone, size_t *idx, int wait_ms) {
        size_t i, n = 0, alive;
        int r;

        for (i = 0; i < t->nmatch; i++) {
                if (t->kill[i].st.outcome != SV_FIND_SIGNALLED || t->kill[i].st.exited)
                        continue;
                hs[n] = t->kill[i].h;
                idx[n++] = i;
        }
        if (n == 0)
                return 0;
        r = sv__phandle_wait(hs, n, wait_ms, gone);
        if (r < 0)
                return r;
        alive = n;
        for (i = 0; r > 0 && i < n; i++) {
                if (gone[i]) {
                        t->kill[idx[i]].st.exited = true;
                        alive--;
                }
        }
        return (int) alive;
}

int sv_find_wait(sv_find_table *t, int64_t timeout_ms) {
        int64_t deadline = timeout_ms < 0 ? -1 : (int64_t) (uv_hrtime() / 1000000) + timeout_ms, left;
        sv__phandle *hs;
        bool *gone;
        size_t *idx;
        int r = 0;

        if (!t->kill)
                return 0;
        hs = malloc((t->nmatch + 1) * sizeof(*hs));
        gone = malloc((t->nmatch + 1) * sizeof(*gone));
        idx = malloc((t->nmatch + 1) * sizeof(*idx));
        if (!hs || !gone || !idx) {
                r = UV_ENOMEM;
                goto out;
        }
        for (;;) {
                left = deadline < 0 ? -1 : deadline - (int64_t) (uv_hrtime() / 1000000);
                if (deadline >= 0 && left < 0)
                        left = 0;
                r = wait_once(t, hs, gone, idx, (int) (left > 86400000 ? 86400000 : left));
                if (r <= 0 || (deadline >= 0 && (int64_t) (uv_hrtime() / 1000000) >= deadline))
                        break;
        }
out:
        free(hs);
        free(gone);
        free(idx);
        return r;
}
