/* select.c - which jobs of a list a run runs, and in what order: name
 * filters (-R/-E), a list of names (--rerun-failed), one shard of a split
 * by a hash of the name (--shard), and a seeded shuffle (--shuffle). Works
 * on a job list only: never starts, prints or reads anything. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "platform/platform.h"
#include "run/run_internal.h"

/* FNV-1a over the name's bytes, then splitmix64's finaliser, so that names
 * differing in one last character still spread over every shard. */
unsigned sv_job_shard(const char *name, unsigned count) {
        uint64_t h = 0xcbf29ce484222325u;
        const unsigned char *p;

        if (count <= 1)
                return 0;
        for (p = (const unsigned char *) name; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3u;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9u;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebu;
        h ^= h >> 31;
        return (unsigned) (h % count);
}

/* splitmix64: small, and the same sequence on every platform, so a seed
 * printed on one machine reproduces the order on another. */
static uint64_t next_random(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15u);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

/* A uniform draw in [0, bound): draws in the short top range are thrown
 * back, so no index is favoured. */
static size_t draw_below(uint64_t *state, size_t bound) {
        uint64_t limit = UINT64_MAX - UINT64_MAX % bound, r;

        do
                r = next_random(state);
        while (r >= limit);
        return (size_t) (r % bound);
}

static void shuffle(sv_joblist *l, uint64_t seed) {
        uint64_t state = seed;
        size_t i, k;
        sv_job t;

        for (i = l->count; i > 1; i--) {
                k = draw_below(&state, i);
                t = l->jobs[i - 1];
                l->jobs[i - 1] = l->jobs[k];
                l->jobs[k] = t;
        }
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The filters, compiled once; `names` sorted, so that a rerun of 10000
 * failures out of 100000 jobs is a search, not a scan, per job. */
typedef struct filters {
        sv__re *inc, *exc; /* NULL: no such filter */
        const char **names;
        size_t nnames;
} filters;

static bool in_names(const filters *f, const char *name) {
        return bsearch(&name, f->names, f->nnames, sizeof(*f->names), cmp_str) != NULL;
}

static int compile(sv__re **re, const char *pat, const char *opt, char *err, size_t errlen) {
        char why[200];
        int rc;

        why[0] = '\0';
        rc = sv__re_compile(pat, false, re, why, sizeof(why));
        if (rc == UV_ENOMEM)
                sv__err(err, errlen, "out of memory");
        else if (rc < 0)
                sv__err(err, errlen, "%s '%s': %s", opt, pat, why);
        return rc;
}

static void filters_release(filters *f) {
        sv__re_free(f->inc);
        sv__re_free(f->exc);
        free(f->names);
}

static int sort_names(filters *f, char *const *names, char *err, size_t errlen) {
        size_t n;

        for (n = 0; names[n]; n++)
                ;
        f->names = malloc((n ? n : 1) * sizeof(*f->names));
        if (!f->names) {
                sv__err(err, errlen, "out of memory");
                return UV_ENOMEM;
        }
        memcpy(f->names, names, n * sizeof(*f->names));
        qsort(f->names, n, sizeof(*f->names), cmp_str);
        f->nnames = n;
        return 0;
}

static int filters_init(filters *f, const sv_select_opts *o, char *err, size_t errlen) {
        int rc;

        memset(f, 0, sizeof(*f));
        if (o->include_re && (rc = compile(&f->inc, o->include_re, "-R", err, errlen)) < 0)
                return rc;
        if (o->exclude_re && (rc = compile(&f->exc, o->exclude_re, "-E", err, errlen)) < 0) {
                filters_release(f);
                return rc;
        }
        if (o->names && sort_names(f, o->names, err, errlen) < 0) {
                filters_release(f);
                return UV_ENOMEM;
        }
        return 0;
}

/* The steps, in order; keep() says whether a job passes step `s`. */
enum { STEP_INCLUDE, STEP_EXCLUDE, STEP_NAMES, STEP_SHARD, STEP_COUNT };

static bool keep(const filters *f, const sv_select_opts *o, int s, const char *name) {
        switch (s) {
        case STEP_INCLUDE:
                return !f->inc || sv__re_match(f->inc, name);
        case STEP_EXCLUDE:
                return !f->exc || !sv__re_match(f->exc, name);
        case STEP_NAMES:
                return !o->names || in_names(f, name);
        default:
                return o->shard_count == 0 ||
                       sv_job_shard(name, o->shard_count) == o->shard_index;
        }
}

/* The message for a step that left no job of the `before` it was given. */
static void say_empty(const sv_select_opts *o, int s, size_t before, char *err, size_t errlen) {
        const char *jobs = before == 1 ? "job" : "jobs";

        if (before == 0)
                sv__err(err, errlen, "the job list is empty");
        else if (s == STEP_INCLUDE)
                sv__err(err, errlen, "-R '%s' matched none of %zu %s", o->include_re, before, jobs);
        else if (s == STEP_EXCLUDE)
                sv__err(err, errlen, "-E '%s' excluded all %zu %s", o->exclude_re, before, jobs);
        else if (s == STEP_NAMES)
                sv__err(err, errlen, "%s named none of the %zu %s", o->names_what ? o->names_what
                        : "the list of names", before, jobs);
        else
                sv__err(err, errlen, "shard %u/%u got none of %zu %s", o->shard_index + 1,
                        o->shard_count, before, jobs);
}

/* Keeps the first `nkeep` jobs of `l` and, as ctest does for -R, -E and
 * --rerun-failed, the fixture setups and cleanups they require, which may be
 * among the dropped ones behind them (sv_joblist_keep()). */
static int keep_with_fixtures(sv_joblist *l, size_t nkeep, char *err, size_t errlen) {
        bool *mask = calloc(l->count + 1, sizeof(*mask));
        size_t i;

        if (!mask) {
                sv__err(err, errlen, "out of memory");
                return UV_ENOMEM;
        }
        for (i = 0; i < nkeep; i++)
                mask[i] = true;
        nkeep = sv_joblist_keep(l, mask);
        free(mask);
        return (int) nkeep;
}

/* Keeps the jobs that pass every step, in order, and frees the others (moved
 * behind the kept ones, then truncated). */
static int narrow(sv_joblist *l, const filters *f, const sv_select_opts *o, char *err,
                  size_t errlen) {
        sv_job *tmp;
        size_t i, nkeep = 0, ndrop = 0, before;
        int s;

        tmp = malloc((l->count ? l->count : 1) * sizeof(*tmp));
        if (!tmp) {
                sv__err(err, errlen, "out of memory");
                return UV_ENOMEM;
        }
        for (s = 0; s < STEP_COUNT; s++) {
                before = l->count - ndrop;
                nkeep = 0;
                for (i = 0; i < before; i++) {
                        if (keep(f, o, s, l->jobs[i].name))
                                l->jobs[nkeep++] = l->jobs[i];
                        else
                                tmp[ndrop++] = l->jobs[i];
                }
                /* Dropped jobs go behind the kept ones, to be freed at the end. */
                if (ndrop > 0)
                        memcpy(&l->jobs[nkeep], tmp, ndrop * sizeof(*tmp));
                if (nkeep == 0 && before > 0) {
                        say_empty(o, s, before, err, errlen);
                        break;
                }
        }
        if (l->count == 0)
                say_empty(o, 0, 0, err, errlen);
        free(tmp);
        return keep_with_fixtures(l, nkeep, err, errlen);
}

int sv_joblist_select(sv_joblist *l, const sv_select_opts *o, char *err, size_t errlen) {
        filters f;
        int n;

        if (o->shard_count > 0 && o->shard_index >= o->shard_count) {
                sv__err(err, errlen, "shard %u/%u: the index must be 1 to %u", o->shard_index + 1,
                        o->shard_count, o->shard_count);
                return UV_EINVAL;
        }
        n = filters_init(&f, o, err, errlen);
        if (n < 0)
                return n;
        n = narrow(l, &f, o, err, errlen);
        filters_release(&f);
        if (n > 0 && o->shuffle)
                shuffle(l, o->seed);
        return n;
}
