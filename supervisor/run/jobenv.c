/* jobenv.c - the environment a job runs with: the base environment, the
 * job's "K=V" entries, then ctest's ENVIRONMENT_MODIFICATION operations,
 * applied the way ctest applies them (cmCTestRunTest::ForkProcess): each
 * operation works on the value the earlier ones left, or else on the
 * environment after ENVIRONMENT; `reset` forgets the earlier operations on
 * that name. Builds a new array; never touches our own environment. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "run/run_internal.h"

extern char **environ;

/* A growable "K=V" array that owns its strings. */
typedef struct envv {
        char **v;
        size_t n, cap;
} envv;

/* The index of `name` (len bytes) in `e`, or e->n. */
static size_t env_find(const envv *e, const char *name, size_t len) {
        size_t i;

        for (i = 0; i < e->n; i++)
                if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
                        return i;
        return e->n;
}

/* Sets name=value, or removes name when value is NULL. */
static int env_put(envv *e, const char *name, size_t len, const char *value) {
        size_t i = env_find(e, name, len), vl;
        char *s;

        if (!value) {
                if (i < e->n) {
                        free(e->v[i]);
                        e->v[i] = e->v[--e->n];
                        e->v[e->n] = NULL;
                }
                return 0;
        }
        vl = strlen(value);
        s = malloc(len + vl + 2);
        if (!s)
                return UV_ENOMEM;
        memcpy(s, name, len);
        s[len] = '=';
        memcpy(s + len + 1, value, vl + 1);
        if (i < e->n) {
                free(e->v[i]);
                e->v[i] = s;
                return 0;
        }
        if (e->n + 2 > e->cap) {
                size_t cap = e->cap ? e->cap * 2 : 64;
                char **nv = realloc(e->v, cap * sizeof(*nv));

                if (!nv) {
                        free(s);
                        return UV_ENOMEM;
                }
                e->v = nv;
                e->cap = cap;
        }
        e->v[e->n++] = s;
        e->v[e->n] = NULL;
        return 0;
}

static int env_put_kv(envv *e, const char *kv) {
        const char *eq = strchr(kv, '=');

        if (!eq || eq == kv)
                return 0; /* not an assignment: nothing a child could read */
        return env_put(e, kv, (size_t) (eq - kv), eq + 1);
}

/* One operation's effect on the running value `cur` (NULL: unset), as a new
 * string; `op` is known to be one of the append/prepend ones. */
static char *apply_op(const char *op, size_t oplen, const char *cur, const char *value) {
        const char *sep = "";
        bool prepend = oplen >= 7 && memcmp(op + oplen - 7, "prepend", 7) == 0;
        size_t cl, vl = strlen(value);
        char *s;

        if (!cur)
                cur = "";
        cl = strlen(cur);
        if (cl > 0 && strncmp(op, "path_list", 9) == 0)
                sep = ":";
        else if (cl > 0 && strncmp(op, "cmake_list", 10) == 0)
                sep = ";";
        s = malloc(cl + vl + 2);
        if (!s)
                return NULL;
        strcpy(s, prepend ? value : cur);
        strcat(s, sep);
        strcat(s, prepend ? cur : value);
        return s;
}

static bool op_is(const char *op, size_t len, const char *name) {
        return strlen(name) == len && memcmp(op, name, len) == 0;
}

/* The operations so far: the names they set (with their values) and the
 * names they unset; a name is in one of the two at most. */
typedef struct pending {
        envv set;
        envv unset; /* "NAME=" entries */
} pending;

/* Records name=value (value NULL: unset) or, with forget, neither. */
static int pending_put(pending *p, const char *name, size_t len, const char *value, bool forget) {
        int r;

        r = env_put(&p->set, name, len, forget || !value ? NULL : value);
        if (r == 0)
                r = env_put(&p->unset, name, len, forget || value ? NULL : "");
        return r;
}

/* Applies one "NAME=op:value" to `p`, reading names that no operation has
 * set from `env`. */
static int apply_mod(pending *p, const envv *env, const char *m, char *err, size_t errlen) {
        const char *eq = strchr(m, '='), *colon, *op, *value, *cur = NULL;
        size_t nl, ol, i;
        char *s;
        int r;

        colon = eq ? strchr(eq + 1, ':') : NULL;
        if (!eq || eq == m || !colon) {
                sv__err(err, errlen, "bad ENVIRONMENT_MODIFICATION '%.200s' (want NAME=op:value)", m);
                return UV_EINVAL;
        }
        nl = (size_t) (eq - m);
        op = eq + 1;
        ol = (size_t) (colon - op);
        value = colon + 1;
        if (op_is(op, ol, "reset"))
                return pending_put(p, m, nl, NULL, true);
        if (op_is(op, ol, "set"))
                return pending_put(p, m, nl, value, false);
        if (op_is(op, ol, "unset"))
                return pending_put(p, m, nl, NULL, false);
        if (!op_is(op, ol, "string_append") && !op_is(op, ol, "string_prepend") &&
            !op_is(op, ol, "path_list_append") && !op_is(op, ol, "path_list_prepend") &&
            !op_is(op, ol, "cmake_list_append") && !op_is(op, ol, "cmake_list_prepend")) {
                sv__err(err, errlen, "ENVIRONMENT_MODIFICATION '%.200s': unknown operation '%.*s'", m,
                        (int) ol, op);
                return UV_EINVAL;
        }
        /* ctest reads the environment when the name was never set by an
         * operation: "unset" then "string_append" appends to the old value. */
        if ((i = env_find(&p->set, m, nl)) < p->set.n)
                cur = p->set.v[i] + nl + 1;
        else if ((i = env_find(env, m, nl)) < env->n)
                cur = env->v[i] + nl + 1;
        s = apply_op(op, ol, cur, value);
        if (!s)
                return UV_ENOMEM;
        r = pending_put(p, m, nl, s, false);
        free(s);
        return r;
}

static void envv_free(envv *e) {
        size_t i;

        for (i = 0; i < e->n; i++)
                free(e->v[i]);
        free(e->v);
}

/* Applies `p` to `env`. */
static int pending_apply(const pending *p, envv *env) {
        size_t i;
        int r = 0;

        for (i = 0; i < p->set.n && r == 0; i++)
                r = env_put_kv(env, p->set.v[i]);
        for (i = 0; i < p->unset.n && r == 0; i++)
                r = env_put(env, p->unset.v[i], strlen(p->unset.v[i]) - 1, NULL);
        return r;
}

int sv_job_environ(const sv_job *job, char *const *base, char ***out, char *err, size_t errlen) {
        envv env = { 0 };
        pending p = { { 0 }, { 0 } };
        size_t i;
        int r = 0;

        if (!base)
                base = environ;
        for (i = 0; base[i] && r == 0; i++)
                r = env_put_kv(&env, base[i]);
        for (i = 0; job->env && job->env[i] && r == 0; i++)
                r = env_put_kv(&env, job->env[i]);
        for (i = 0; job->env_mod && job->env_mod[i] && r == 0; i++)
                r = apply_mod(&p, &env, job->env_mod[i], err, errlen);
        if (r == 0)
                r = pending_apply(&p, &env);
        envv_free(&p.set);
        envv_free(&p.unset);
        if (r == 0 && !env.v) {
                env.v = calloc(1, sizeof(char *));
                if (!env.v)
                        r = UV_ENOMEM;
        }
        if (r < 0) {
                if (r == UV_ENOMEM)
                        sv__err(err, errlen, "out of memory");
                envv_free(&env);
                return r;
        }
        *out = env.v;
        return 0;
}
