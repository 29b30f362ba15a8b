/* sched.c - the runner's order and resource constraints, as ctest keeps
 * them: DEPENDS and fixtures order the jobs (a fixture's setups before the
 * jobs that require it, its cleanups after them), a required fixture whose
 * setup did not pass means "not run", RESOURCE_LOCK names are held by one
 * job at a time, RUN_SERIAL runs alone, PROCESSORS counts against -j. Also
 * sv_joblist_keep(), which pulls in the fixtures of the jobs a filter
 * kept. Owns rn->pending and each job's prerequisite list; never spawns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/run_internal.h"
#include "run/runner_internal.h"

static bool has(char *const *list, const char *s) {
        for (size_t i = 0; list && list[i]; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

static bool constrained(const sv_job *d) {
        return d->depends || d->fixtures_required || d->fixtures_cleanup || d->locks ||
               (d->flags & SV_JOB_RUN_SERIAL) || d->processors > 1;
}

/* ---- Prerequisites ---- */

typedef struct prelist {
        size_t *v;
        size_t n, cap;
        bool oom;
} prelist;

static void pre_add(prelist *p, size_t k) {
        size_t *nv;

        for (size_t i = 0; i < p->n; i++)
                if (p->v[i] == k)
                        return;
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 8;
                nv = realloc(p->v, p->cap * sizeof(*nv));
                if (!nv) {
                        p->oom = true;
                        return;
                }
                p->v = nv;
        }
        p->v[p->n++] = k;
}

/* j's prerequisites: the setups of the fixtures it requires first (their
 * verdict matters), then DEPENDS and, for a cleanup, the setups and users
 * of its fixture (order only). O(jobs) per name: fixtures are few. */
static int job_pre(sv_runner *rn, sv__rjob *j) {
        const sv_job *d = j->def, *o;
        prelist p = { 0 };
        size_t i, k;

        for (i = 0; d->fixtures_required && d->fixtures_required[i]; i++)
                for (k = 0; k < rn->count; k++)
                        if (k != j->index && has(rn->jobs[k].def->fixtures_setup, d->fixtures_required[i]))
                                pre_add(&p, k);
        j->nsetup = p.n;
        for (i = 0; d->depends && d->depends[i]; i++)
                for (k = 0; k < rn->count; k++)
                        if (k != j->index && strcmp(rn->jobs[k].def->name, d->depends[i]) == 0)
                                pre_add(&p, k);
        for (i = 0; d->fixtures_cleanup && d->fixtures_cleanup[i]; i++) {
                const char *f = d->fixtures_cleanup[i];

                for (k = 0; k < rn->count; k++) {
                        o = rn->jobs[k].def;
                        if (k != j->index && !has(o->fixtures_cleanup, f) &&
                            (has(o->fixtures_setup, f) || has(o->fixtures_required, f)))
                                pre_add(&p, k);
                }
        }
        if (p.oom) {
                free(p.v);
                return UV_ENOMEM;
        }
        j->pre = p.v;
        j->npre = p.n;
        return 0;
}

int sv__sched_init(sv_runner *rn) {
        size_t i;
        int e;

        for (i = 0; i < rn->count; i++) {
                const sv_job *d = rn->jobs[i].def;
                unsigned c = d->processors > 1 ? d->processors : 1;

                /* ctest: a job asking for more than -j gets all of it. */
                rn->jobs[i].cpus = c < rn->o.parallel ? c : rn->o.parallel;
                if (constrained(d))
                        rn->sched = true;
        }
        if (!rn->sched)
                return 0;
        rn->pending = calloc(rn->count ? rn->count : 1, sizeof(*rn->pending));
        if (!rn->pending)
                return UV_ENOMEM;
        for (i = 0; i < rn->count; i++) {
                e = job_pre(rn, &rn->jobs[i]);
                if (e < 0)
                        return e;
        }
        return 0;
}

void sv__sched_release(sv_runner *rn) {
        for (size_t i = 0; rn->jobs && i < rn->count; i++)
                free(rn->jobs[i].pre);
        free(rn->pending);
}

/* ---- Not run ---- */

/* A job that will never run, as ctest's "Not Run": an ERROR with `how`. */
static void not_run(sv_runner *rn, sv__rjob *j, const char *how) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_run_attempt a;
        char why[700];

        /* The reason (without "not run: ") is the job's diagnostic, so the
         * events, JUnit and the summary carry it. */
        snprintf(why, sizeof(why), "%s\n", how + strlen("not run: "));
        sv__run_diag_add(rn, j, "not run", why, 0);
        ev.type = SV_RUN_EV_EXIT;
        ev.job = j->index;
        ev.attempt = 1;
        ev.verdict = SV_VERDICT_ERROR;
        ev.error = UV_ECANCELED;
        sv__run_event(rn, &ev);
        rn->done++;
        rn->failed++;
        j->finished = true;
        j->final = SV_VERDICT_ERROR;
        memset(&a, 0, sizeof(a));
        a.job = j->index;
        a.attempt = 1;
        a.verdict = SV_VERDICT_ERROR;
        a.error = UV_ECANCELED;
        a.how = how;
        sv__run_notify(rn, &a);
}

bool sv__sched_missing_file(sv_runner *rn, sv__rjob *j) {
        char how[512];

        for (size_t i = 0; j->def->required_files && j->def->required_files[i]; i++) {
                if (access(j->def->required_files[i], F_OK) == 0)
                        continue;
                snprintf(how, sizeof(how), "not run: required file '%.400s' is missing",
                         j->def->required_files[i]);
                not_run(rn, j, how);
                return true;
        }
        return false;
}

/* ---- Picking ---- */

static bool lock_free(const sv_runner *rn, const sv__rjob *j) {
        for (unsigned s = 0; s < rn->nslots; s++) {
                const sv__rjob *o = rn->slots[s].job;

                for (size_t i = 0; o && j->def->locks && j->def->locks[i]; i++)
                        if (has(o->def->locks, j->def->locks[i]))
                                return false;
        }
        return true;
}

static bool may_start(const sv_runner *rn, const sv__rjob *j) {
        for (size_t i = 0; i < j->npre; i++)
                if (!rn->jobs[j->pre[i]].finished)
                        return false;
        if (rn->running == 0)
                return true;
        if (rn->serial || (j->def->flags & SV_JOB_RUN_SERIAL))
                return false;
        return rn->cpus_used + j->cpus <= rn->o.parallel && lock_free(rn, j);
}

/* The first required setup of j that did not pass, or NULL. */
static const sv__rjob *failed_setup(const sv_runner *rn, const sv__rjob *j) {
        for (size_t i = 0; i < j->nsetup; i++) {
                const sv__rjob *s = &rn->jobs[j->pre[i]];

                if (s->final != SV_VERDICT_PASS && s->final != SV_VERDICT_SKIP)
                        return s;
        }
        return NULL;
}

static void take(sv_runner *rn, size_t i) {
        memmove(&rn->pending[i], &rn->pending[i + 1], (rn->npending - i - 1) * sizeof(*rn->pending));
        rn->npending--;
}

sv__rjob *sv__sched_pick(sv_runner *rn) {
        sv_runner_next_cb next = rn->o.get_next;
        const sv__rjob *bad;
        char how[600];
        size_t i, k;

        if (!rn->pending_loaded) {
                rn->pending_loaded = true;
                for (i = 0; i < rn->count; i++) {
                        if (next && next(rn, &k, rn->o.userdata) != 1)
                                break;
                        rn->pending[rn->npending++] = &rn->jobs[next ? k : i];
                }
        }
        for (i = 0; i < rn->npending; i++) {
                sv__rjob *j = rn->pending[i];

                if (!may_start(rn, j))
                        continue;
                take(rn, i);
                bad = failed_setup(rn, j);
                if (!bad)
                        return j;
                snprintf(how, sizeof(how), "not run: fixture setup '%.500s' did not pass",
                         bad->def->name);
                not_run(rn, j, how);
                i = (size_t) -1; /* a job finished: look again from the start */
        }
        /* Nothing runs and nothing may start: they wait on each other. */
        if (rn->running == 0 && rn->ndeferred == 0)
                while (rn->npending > 0) {
                        sv__rjob *j = rn->pending[0];

                        take(rn, 0);
                        not_run(rn, j, "not run: its DEPENDS or fixtures form a cycle");
                }
        return NULL;
}

void sv__sched_hold(sv_runner *rn, sv__rjob *j, bool taken) {
        bool serial = (j->def->flags & SV_JOB_RUN_SERIAL) != 0;

        if (taken) {
                rn->cpus_used += j->cpus;
                rn->serial += serial;
        } else {
                rn->cpus_used -= j->cpus;
                rn->serial -= serial;
        }
}

void sv__sched_drop(sv_runner *rn, void (*skip)(sv_runner *, sv__rjob *, const char *),
                    const char *reason) {
        rn->pending_loaded = true;
        while (rn->npending > 0) {
                sv__rjob *j = rn->pending[0];

                take(rn, 0);
                skip(rn, j, reason);
        }
}

/* ---- Selection ---- */

/* Keeps the setups and cleanups of fixtures that kept jobs require.
 * Returns true if it kept one more. */
static bool pull_fixtures(const sv_joblist *l, bool *keep) {
        bool more = false;

        for (size_t i = 0; i < l->count; i++) {
                char **req = l->jobs[i].fixtures_required;

                for (size_t f = 0; keep[i] && req && req[f]; f++)
                        for (size_t k = 0; k < l->count; k++)
                                if (!keep[k] && (has(l->jobs[k].fixtures_setup, req[f]) ||
                                                 has(l->jobs[k].fixtures_cleanup, req[f])))
                                        keep[k] = more = true;
        }
        return more;
}

size_t sv_joblist_keep(sv_joblist *l, bool *keep) {
        size_t i, k = 0;
        sv_job tmp;

        while (pull_fixtures(l, keep))
                ;
        /* Stable partition: kept jobs first, in order; then drop the rest. */
        for (i = 0; i < l->count; i++) {
                if (!keep[i])
                        continue;
                if (i != k) {
                        tmp = l->jobs[i];
                        memmove(&l->jobs[k + 1], &l->jobs[k], (i - k) * sizeof(*l->jobs));
                        l->jobs[k] = tmp;
                }
                k++;
        }
        sv__joblist_truncate(l, k);
        return k;
}
