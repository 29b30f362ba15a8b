/* run_flow.h - the CI options of `supervise run` (run_flow.c): which jobs
 * run (-R, -E, --rerun-failed, --shard, --shuffle), how often (--repeat,
 * --until-fail), when to give up (--fail-fast, --max-fail), and looking
 * without running (--list, --dry-run). */
#ifndef SV_CLI_RUN_FLOW_H
#define SV_CLI_RUN_FLOW_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sv_cli_run_flow {
        const char *include_re;  /* -R */
        const char *exclude_re;  /* -E */
        const char *rerun_failed; /* events file */
        unsigned shard_index;    /* 0-based */
        unsigned shard_count;    /* 0: no sharding */
        bool shuffle;
        bool have_seed;          /* --seed given; else one is drawn */
        uint64_t seed;
        unsigned repeat;         /* 0: once */
        bool until_fail;
        bool fail_fast;
        unsigned max_fail;       /* 0: no limit */
        bool list, dry_run, allow_empty;
} sv_cli_run_flow;

/* getopt_long values, above run_opts.c's own and opts.h's common ones. */
enum {
        SV_CLI_OPT_FAIL_FAST = 0x1100, SV_CLI_OPT_MAX_FAIL, SV_CLI_OPT_LIST, SV_CLI_OPT_DRY_RUN,
        SV_CLI_OPT_RERUN_FAILED, SV_CLI_OPT_REPEAT, SV_CLI_OPT_UNTIL_FAIL, SV_CLI_OPT_SHUFFLE,
        SV_CLI_OPT_SEED, SV_CLI_OPT_SHARD, SV_CLI_OPT_ALLOW_EMPTY,
};

#define SV_CLI_RUN_FLOW_SHORTOPTS "R:E:"
#define SV_CLI_RUN_FLOW_LONGOPTS                                                     \
        { "fail-fast", no_argument, NULL, SV_CLI_OPT_FAIL_FAST },                    \
        { "max-fail", required_argument, NULL, SV_CLI_OPT_MAX_FAIL },                \
        { "list", no_argument, NULL, SV_CLI_OPT_LIST },                              \
        { "dry-run", no_argument, NULL, SV_CLI_OPT_DRY_RUN },                        \
        { "rerun-failed", required_argument, NULL, SV_CLI_OPT_RERUN_FAILED },        \
        { "repeat", required_argument, NULL, SV_CLI_OPT_REPEAT },                    \
        { "until-fail", no_argument, NULL, SV_CLI_OPT_UNTIL_FAIL },                  \
        { "shuffle", no_argument, NULL, SV_CLI_OPT_SHUFFLE },                        \
        { "seed", required_argument, NULL, SV_CLI_OPT_SEED },                        \
        { "shard", required_argument, NULL, SV_CLI_OPT_SHARD },                      \
        { "allow-empty", no_argument, NULL, SV_CLI_OPT_ALLOW_EMPTY }

/* Takes getopt_long's `c` and `arg`. Returns 1 if it was one of ours
 * (stored in *f), 0 if not, or 125 after the one line that says why a
 * value is bad. */
int sv_cli_run_flow_opt(int c, const char *arg, sv_cli_run_flow *f);

/* After the last option: the combinations that make no sense (--repeat with
 * --retries, --until-fail without --repeat, --list with --dry-run). Returns
 * -1 to go on or 125 after one line. */
int sv_cli_run_flow_check(sv_cli_run_flow *f, unsigned retries);

/* Narrows st->list to the jobs the options choose (and shuffles it) before
 * any report is opened. Returns -1 to go on, with the shuffle's seed in
 * *out_seed; 0 after --list or --dry-run printed the jobs (nothing was
 * started); or 125 after one line (a bad -R/-E or events file, or an empty
 * selection without --allow-empty). */
struct sv_cli_run_state;
int sv_cli_run_choose(struct sv_cli_run_state *st, uint64_t *out_seed);

#endif
