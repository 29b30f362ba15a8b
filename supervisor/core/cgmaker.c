/* cgmaker.c - worker cgroups made ahead, on a thread of their own.
 *
 * A mkdir in cgroupfs costs about as much as the clone itself (a quarter
 * of the spawning thread's CPU for -n 1000 -- /bin/true). When spawns keep
 * finding the pool of empty cgroups dry, a helper thread starts and keeps
 * up to SV_CG_AHEAD fresh cgroups ready, so that the mkdir runs on another
 * core while the loop's thread clones. It only ever calls sv__cg_create;
 * it holds no fd, so the children's shared fd table never sees it work.
 * Owns sv->maker; sv->cg_made is read and advanced under its mutex once
 * the thread runs. Never touches the loop.
 *
 * NEEDSWORK: the spawn still opens each fresh cgroup's directory for
 * clone3 (a tenth of the spawning thread's CPU for -n 1000 -- /bin/true);
 * the thread could open it ahead too, at a cost of SV_CG_AHEAD fds held,
 * if the fd budget (one per worker plus a constant) allows it. */
#include <stdlib.h>

#include "core/internal.h"

/* Spawns in a row that found no empty cgroup before the thread starts:
 * a one-off `supervise -- cmd` never pays for a thread or for cgroups it
 * would not use. */
#define MISSES_TO_START 8

static void maker_main(void *arg) {
        sv_supervisor *sv = arg;
        sv__cgmaker *m = &sv->maker;
        sv__cg *cg;
        unsigned n;
        int r;

        uv_mutex_lock(&m->mu);
        for (;;) {
                while (!m->stop && m->nready == SV_CG_AHEAD)
                        uv_cond_wait(&m->cv, &m->mu);
                if (m->stop)
                        break;
                n = sv->cg_made++;
                uv_mutex_unlock(&m->mu);
                r = sv__cg_create(sv->cgroot, n, &cg);
                uv_mutex_lock(&m->mu);
                if (r == UV_EEXIST)
                        continue; /* never adopted: the next number */
                if (r < 0) {
                        /* The loop's thread makes its own from now on, and
                         * meets (and returns) the error itself. */
                        m->failed = true;
                        break;
                }
                m->ready[m->nready++] = cg;
        }
        uv_mutex_unlock(&m->mu);
}

static void maker_start(sv_supervisor *sv) {
        sv__cgmaker *m = &sv->maker;

        if (uv_mutex_init(&m->mu) < 0)
                return;
        if (uv_cond_init(&m->cv) < 0) {
                uv_mutex_destroy(&m->mu);
                return;
        }
        if (uv_thread_create(&m->thread, maker_main, sv) < 0) {
                uv_cond_destroy(&m->cv);
                uv_mutex_destroy(&m->mu);
                return;
        }
        m->started = true;
}

/* Takes the next cgroup number: each is made once, by one thread. */
static unsigned next_number(sv_supervisor *sv) {
        sv__cgmaker *m = &sv->maker;
        unsigned n;

        if (!m->started)
                return sv->cg_made++;
        uv_mutex_lock(&m->mu);
        n = sv->cg_made++;
        uv_mutex_unlock(&m->mu);
        return n;
}

/* A fresh cgroup for a spawn that found the pool empty: one made ahead,
 * or one made here. The number is taken before the thread can start:
 * taken after, the thread would take the same one, and the two cgroups
 * would be one directory -- removed with the first that got cgroup.kill
 * while the other still sat in the pool (the spawn into it then failed
 * with ENOENT), or killing two workers where one was meant. */
int sv__cgmaker_get(sv_supervisor *sv, sv__cg **out) {
        sv__cgmaker *m = &sv->maker;
        sv__cg *cg = NULL;
        int r, tries;

        if (!m->started) {
                if (++m->misses == MISSES_TO_START)
                        maker_start(sv);
        } else {
                uv_mutex_lock(&m->mu);
                if (m->nready > 0) {
                        cg = m->ready[--m->nready];
                        uv_cond_signal(&m->cv);
                }
                uv_mutex_unlock(&m->mu);
                if (cg) {
                        *out = cg;
                        return 0;
                }
        }
        /* A name taken already (never ours to adopt) costs a number. */
        for (tries = 0; tries < 4; tries++) {
                r = sv__cg_create(sv->cgroot, next_number(sv), &cg);
                if (r != UV_EEXIST)
                        break;
        }
        if (r < 0)
                return r;
        *out = cg;
        return 0;
}

/* Stops the thread and hands the cgroups it made and nobody used to the
 * pool, where free() removes them with the rest. */
void sv__cgmaker_stop(sv_supervisor *sv) {
        sv__cgmaker *m = &sv->maker;

        if (!m->started)
                return;
        uv_mutex_lock(&m->mu);
        m->stop = true;
        uv_cond_signal(&m->cv);
        uv_mutex_unlock(&m->mu);
        (void) uv_thread_join(&m->thread);
        m->started = false;
        while (m->nready > 0)
                sv__cg_put(sv, m->ready[--m->nready]);
        uv_cond_destroy(&m->cv);
        uv_mutex_destroy(&m->mu);
}
