/* isolate.c - the runner's side of --isolate and --keep-failed: the
 * namespaces are the library's (sv_spawn_opts.isolate, checked before any
 * job starts); the fresh working directory of each attempt is made and
 * removed here, under one run directory that goes away at the end unless
 * a failed attempt's directory was kept in it.
 *
 * An attempt's directory is never reused: a retry gets a new one, so what
 * a failed attempt left is exactly what --keep-failed keeps.
 *
 * NEEDSWORK: the removal runs on the loop thread, before the attempt's EXIT
 * event (which then says if it failed). On tmpfs that is nothing; on a busy
 * ext4 a mkdir and rmdir cost 3-5 ms, and more when a job's fsyncs force
 * journal commits. A removal in the thread pool would need the failure to
 * be reported after EXIT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"
#include "run/runner_internal.h"

extern char **environ;

#define NS_FLAGS (SV_ISOLATE_NET | SV_ISOLATE_TMP)

int sv__run_iso_check(const sv_runner *rn) {
        unsigned iso = rn->o.isolate;

        if (iso & ~(unsigned) (NS_FLAGS | SV_RUN_ISOLATE_CWD))
                return UV_EINVAL;
        return (iso & NS_FLAGS) ? sv_isolate_check(iso & NS_FLAGS) : 0;
}

int sv__run_iso_start(sv_runner *rn) {
        char path[4096], cwd[4096];
        const char *base = rn->o.work_dir;
        int e;

        if (!(rn->o.isolate & SV_RUN_ISOLATE_CWD) || rn->run_dir)
                return 0;
        if (!base || !*base)
                base = getenv("TMPDIR");
        if (!base || !*base)
                base = "/tmp";
        if (!getcwd(cwd, sizeof(cwd)))
                return -errno;
        e = sv__plat_mkdtemp(base, "supervise-run-", path, sizeof(path));
        if (e < 0)
                return e;
        rn->run_dir = strdup(path);
        rn->cwd = strdup(cwd);
        if (!rn->run_dir || !rn->cwd) {
                (void) sv__plat_rmdir(path);
                return UV_ENOMEM;
        }
        return 0;
}

/* "<run dir>/<n>-<name>", ".<attempt>" from the second attempt on. */
static char *attempt_dir(const sv_runner *rn, const sv__rjob *j) {
        char name[64], path[4096];
        int k;

        sv__run_file_name(j, name, sizeof(name));
        k = snprintf(path, sizeof(path), "%s/%zu%s%s", rn->run_dir, j->index + 1,
                     name[0] ? "-" : "", name);
        if (k > 0 && j->attempt > 1 && (size_t) k < sizeof(path))
                snprintf(path + k, sizeof(path) - (size_t) k, ".%u", j->attempt);
        return strdup(path);
}

/* The environment `base` (NULL: ours) with PWD naming `pwd_entry`. */
static char **env_with_pwd(char **base, char *pwd_entry) {
        char **src = base ? base : environ;
        size_t n = 0, i, k = 0;
        char **env;

        while (src[n])
                n++;
        env = calloc(n + 2, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < n; i++) {
                if (strncmp(src[i], "PWD=", 4) != 0)
                        env[k++] = src[i];
        }
        env[k++] = pwd_entry;
        return env;
}

/* A relative program path with a '/' ("./t", "build/t") meant the
 * directory the job would have run in: the job's own, or ours. */
static char *absolute_program(const sv_runner *rn, const sv__rjob *j) {
        const char *prog = j->def->argv[0], *dir = j->def->cwd;
        size_t n;
        char *p;

        if (prog[0] == '/' || !strchr(prog, '/'))
                return NULL;
        n = strlen(rn->cwd) + (dir ? strlen(dir) : 0) + strlen(prog) + 3;
        p = malloc(n);
        if (!p)
                return NULL;
        if (dir && dir[0] == '/')
                snprintf(p, n, "%s/%s", dir, prog);
        else if (dir)
                snprintf(p, n, "%s/%s/%s", rn->cwd, dir, prog);
        else
                snprintf(p, n, "%s/%s", rn->cwd, prog);
        return p;
}

static int cwd_attempt(sv_runner *rn, sv__rjob *j, sv_spawn_opts *sp, char ***env,
                       sv__iso_hold *h) {
        char **nenv;
        size_t n = 0;
        int e;

        j->work = attempt_dir(rn, j);
        if (!j->work)
                return UV_ENOMEM;
        e = sv__plat_mkdir(j->work);
        if (e < 0)
                goto fail;
        e = UV_ENOMEM;
        h->pwd = malloc(strlen(j->work) + 5);
        if (!h->pwd)
                goto fail_dir;
        memcpy(h->pwd, "PWD=", 4);
        strcpy(h->pwd + 4, j->work);
        nenv = env_with_pwd(*env, h->pwd);
        if (!nenv)
                goto fail_dir;
        /* The old array and its strings stay the caller's: nenv borrows
         * them. */
        *env = nenv;
        h->prog = absolute_program(rn, j);
        if (h->prog) {
                while (j->def->argv[n])
                        n++;
                h->argv = calloc(n + 1, sizeof(*h->argv));
                if (!h->argv)
                        goto fail_dir;
                memcpy(h->argv, j->def->argv, n * sizeof(*h->argv));
                h->argv[0] = h->prog;
                sp->argv = (const char *const *) h->argv;
        }
        sp->cwd = j->work;
        return 0;

fail_dir:
        sv__run_iso_hold_release(h);
        (void) sv__plat_rmdir(j->work);
fail:
        free(j->work);
        j->work = NULL;
        return e;
}

int sv__run_iso_attempt(sv_runner *rn, sv__rjob *j, sv_spawn_opts *sp, char ***env,
                        sv__iso_hold *h) {
        memset(h, 0, sizeof(*h));
        sp->isolate = rn->o.isolate & NS_FLAGS;
        if (!(rn->o.isolate & SV_RUN_ISOLATE_CWD))
                return 0;
        return cwd_attempt(rn, j, sp, env, h);
}

void sv__run_iso_hold_release(sv__iso_hold *h) {
        free(h->pwd);
        free(h->prog);
        free(h->argv);
        memset(h, 0, sizeof(*h));
}

void sv__run_iso_end(sv_runner *rn, sv__rjob *j, sv_verdict v, bool ran) {
        char text[4200];
        int e;

        if (!j->work)
                return;
        if (ran && rn->o.keep_failed && v != SV_VERDICT_PASS && v != SV_VERDICT_SKIP) {
                snprintf(text, sizeof(text), "kept: %s\n", j->work);
                sv__run_diag_add(rn, j, "workdir", text, 0);
        } else {
                e = sv__plat_rmtree(j->work);
                /* Never a silent leftover: the attempt's report says so. */
                if (e < 0 && ran) {
                        snprintf(text, sizeof(text), "not removed: %s: %s\n", j->work,
                                 uv_strerror(e));
                        sv__run_diag_add(rn, j, "workdir", text, 0);
                }
        }
        free(j->work);
        j->work = NULL;
}

void sv__run_iso_free(sv_runner *rn) {
        size_t i;

        for (i = 0; rn->jobs && i < rn->count; i++) {
                if (rn->jobs[i].work) {
                        (void) sv__plat_rmtree(rn->jobs[i].work);
                        free(rn->jobs[i].work);
                        rn->jobs[i].work = NULL;
                }
        }
        /* Still holding a kept directory: then it stays, for the user. */
        if (rn->run_dir)
                (void) sv__plat_rmdir(rn->run_dir);
        free(rn->run_dir);
        free(rn->cwd);
        rn->run_dir = rn->cwd = NULL;
}
