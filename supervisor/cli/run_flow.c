/* run_flow.c - `supervise run`'s CI options: parsing them, and the step
 * between loading the jobs and running them that narrows the list
 * (sv_joblist_select), refuses an empty selection, and answers --list and
 * --dry-run without starting anything. Runs before any report file is
 * opened, so --list and --dry-run truncate nothing and --rerun-failed can
 * read the events file that the same run's --events will overwrite. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_flow.h"
#include "cli/run_term.h"

#define MAX_FAIL_LIMIT 1000000u
#define REPEAT_LIMIT 100000u
#define SHARD_LIMIT 100000u
#define SEED_MAX ((uint64_t) INT64_MAX) /* the events file carries it as a JSON integer */

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise run", fmt, arg);
}

static int parse_seed(const char *s, uint64_t *out) {
        unsigned long long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > SEED_MAX)
                return -1;
        *out = v;
        return 0;
}

/* "I/N" (1-based I) or "auto/N": I is Kubernetes' JOB_COMPLETION_INDEX + 1
 * (an Indexed Job's pods are numbered from 0). */
static int parse_shard(const char *arg, sv_cli_run_flow *f) {
        const char *slash = strchr(arg, '/'), *env;
        char first[32];
        unsigned i, n;

        if (!slash || (size_t) (slash - arg) >= sizeof(first))
                return usage_error("invalid shard '%s' (want I/N, e.g. 1/4, or auto/N)", arg);
        memcpy(first, arg, (size_t) (slash - arg));
        first[slash - arg] = '\0';
        if (sv_cli_parse_uint(slash + 1, 1, SHARD_LIMIT, &n) < 0)
                return usage_error("invalid shard count in '%s' (want 1-100000)", arg);
        if (strcmp(first, "auto") == 0) {
                env = getenv("JOB_COMPLETION_INDEX");
                if (!env)
                        return usage_error("--shard %s: JOB_COMPLETION_INDEX is not set", arg);
                if (sv_cli_parse_uint(env, 0, n - 1, &i) < 0) {
                        fprintf(stderr, "supervise run: --shard %s: JOB_COMPLETION_INDEX '%s' is "
                                        "not 0 to %u\n", arg, env, n - 1);
                        return SV_CLI_EXIT_OWN;
                }
        } else if (sv_cli_parse_uint(first, 1, n, &i) < 0 || i == 0) {
                return usage_error("invalid shard '%s' (the index counts from 1 to N)", arg);
        } else {
                i--;
        }
        f->shard_index = i;
        f->shard_count = n;
        return 1;
}

int sv_cli_run_flow_opt(int c, const char *arg, sv_cli_run_flow *f) {
        switch (c) {
        case 'R': f->include_re = arg; return 1;
        case 'E': f->exclude_re = arg; return 1;
        case SV_CLI_OPT_RERUN_FAILED: f->rerun_failed = arg; return 1;
        case SV_CLI_OPT_FAIL_FAST: f->fail_fast = true; return 1;
        case SV_CLI_OPT_LIST: f->list = true; return 1;
        case SV_CLI_OPT_DRY_RUN: f->dry_run = true; return 1;
        case SV_CLI_OPT_UNTIL_FAIL: f->until_fail = true; return 1;
        case SV_CLI_OPT_SHUFFLE: f->shuffle = true; return 1;
        case SV_CLI_OPT_ALLOW_EMPTY: f->allow_empty = true; return 1;
        case SV_CLI_OPT_MAX_FAIL:
                if (sv_cli_parse_uint(arg, 1, MAX_FAIL_LIMIT, &f->max_fail) < 0)
                        return usage_error("invalid --max-fail '%s' (want 1-1000000)", arg);
                return 1;
        case SV_CLI_OPT_REPEAT:
                if (sv_cli_parse_uint(arg, 1, REPEAT_LIMIT, &f->repeat) < 0)
                        return usage_error("invalid --repeat '%s' (want 1-100000)", arg);
                return 1;
        case SV_CLI_OPT_SEED:
                if (parse_seed(arg, &f->seed) < 0)
                        return usage_error("invalid --seed '%s' (want 0-9223372036854775807)", arg);
                f->have_seed = f->shuffle = true;
                return 1;
        case SV_CLI_OPT_SHARD:
                return parse_shard(arg, f);
        default:
                return 0;
        }
}

int sv_cli_run_flow_check(sv_cli_run_flow *f, unsigned retries) {
        if (f->list && f->dry_run)
                return usage_error("%s", "give --list or --dry-run, not both");
        if (f->repeat > 1 && retries > 0)
                return usage_error("%s", "--repeat and --retries do not mix: a repeated job "
                                         "fails at its first failing run");
        if (f->until_fail && f->repeat == 0)
                return usage_error("%s", "--until-fail needs --repeat N, the most times to run "
                                         "each job");
        /* The first failure anywhere stops the hunt. */
        if ((f->fail_fast || f->until_fail) && f->max_fail == 0)
                f->max_fail = 1;
        return -1;
}

/* ---- Choosing the jobs ---- */

/* A seed short enough to type back: 32 bits from the clock and our pid. */
static uint64_t draw_seed(void) {
        uint64_t x = uv_hrtime() ^ ((uint64_t) getpid() << 32);

        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdu;
        x ^= x >> 33;
        return x & 0xffffffffu;
}

/* --rerun-failed: the failed jobs' names. Returns -1 and the names (an empty
 * list when nothing failed), or 125 after one line. */
static int failed_names(const char *path, char ***out) {
        char err[512];
        int n = sv_events_failed_names(path, out, err, sizeof(err));

        if (n < 0) {
                fprintf(stderr, "supervise run: --rerun-failed: %s\n", err);
                return SV_CLI_EXIT_OWN;
        }
        return -1;
}

/* A word as a job file would read it back: bare when it is plain, else in
 * single quotes ('\'' for a quote); then escaped for the terminal. */
static void put_word(FILE *f, const char *w) {
        size_t n = strlen(w), plain = strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                   "0123456789_@%+=:,./-");
        const char *q;

        if (n > 0 && plain == n && w[0] != '#') {
                sv_text_put_term(f, w, n);
                return;
        }
        fputc('\'', f);
        for (; (q = strchr(w, '\'')) != NULL; w = q + 1) {
                sv_text_put_term(f, w, (size_t) (q - w));
                fputs("'\\''", f);
        }
        sv_text_put_term(f, w, strlen(w));
        fputc('\'', f);
}

/* --list: names; --dry-run: "name: argv" (or why it would not run). */
static void print_jobs(const sv_joblist *l, bool argv) {
        size_t i, k;

        for (i = 0; i < l->count; i++) {
                const sv_job *j = &l->jobs[i];

                sv_text_put_term(stdout, j->name, strlen(j->name));
                if (argv && (j->flags & SV_JOB_DISABLED))
                        fputs(": (disabled: reported as skipped, not run)", stdout);
                else if (argv && (j->flags & SV_JOB_UNAVAILABLE))
                        fputs(": (no command: ctest found no executable)", stdout);
                else if (argv)
                        for (k = 0; j->argv[k]; k++) {
                                fputs(k ? " " : ": ", stdout);
                                put_word(stdout, j->argv[k]);
                        }
                fputc('\n', stdout);
        }
}

static int list_jobs(const sv_cli_run_state *st) {
        const sv_cli_run_flow *f = &st->o->flow;

        print_jobs(&st->list, f->dry_run);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "supervise run: cannot write to standard output: %s\n",
                        strerror(errno));
                return SV_CLI_EXIT_OWN;
        }
        if (f->dry_run && !st->o->quiet)
                fprintf(stderr, "supervise run: --dry-run: %zu job%s, none started\n",
                        st->list.count, st->list.count == 1 ? "" : "s");
        return 0;
}

int sv_cli_run_choose(sv_cli_run_state *st, uint64_t *out_seed) {
        const sv_cli_run_flow *f = &st->o->flow;
        sv_select_opts so;
        char err[512], what[600], **names = NULL;
        size_t loaded;
        int n, r;

        memset(&so, 0, sizeof(so));
        if (f->rerun_failed && (r = failed_names(f->rerun_failed, &names)) >= 0)
                return r;
        so.include_re = f->include_re;
        so.exclude_re = f->exclude_re;
        so.names = names;
        if (f->rerun_failed) {
                (void) snprintf(what, sizeof(what), "--rerun-failed '%.500s'", f->rerun_failed);
                so.names_what = what;
        }
        so.shard_index = f->shard_index;
        so.shard_count = f->shard_count;
        so.shuffle = f->shuffle;
        so.seed = f->have_seed ? f->seed : draw_seed();
        loaded = st->list.count;
        n = sv_joblist_select(&st->list, &so, err, sizeof(err));
        if (n == 0 && loaded == 0 && st->o->ctest_dir)
                (void) snprintf(err, sizeof(err), "ctest lists no test in '%.400s'", st->o->ctest_dir);
        else if (n == 0 && loaded == 0)
                (void) snprintf(err, sizeof(err), "the job file '%.400s' has no job", st->o->from);
        else if (n == 0 && names && !names[0])
                (void) snprintf(err, sizeof(err), "--rerun-failed '%.400s': no job failed, timed "
                                "out or could not start in it", f->rerun_failed);
        sv_argv_free(names);
        if (n < 0) {
                fprintf(stderr, "supervise run: %s\n", err);
                return SV_CLI_EXIT_OWN;
        }
        if (n == 0 && !f->allow_empty) {
                fprintf(stderr, "supervise run: nothing to run: %s (--allow-empty accepts that)\n",
                        err);
                return SV_CLI_EXIT_OWN;
        }
        if (f->shuffle && !st->o->quiet)
                fprintf(stderr, "supervise run: shuffled with --seed %" PRIu64 "\n", so.seed);
        if (f->list || f->dry_run)
                return list_jobs(st);
        *out_seed = so.seed;
        return -1;
}
