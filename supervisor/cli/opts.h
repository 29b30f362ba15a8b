/* opts.h - the options the main command and `run` share (-t -s -k --stop
 * --idle-timeout --leaks): one parser, so that both read them alike and
 * reject the same things with the same words. */
#ifndef SV_CLI_OPTS_H
#define SV_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "supervise/sv.h"

typedef struct sv_cli_common {
        uint64_t timeout_ms;      /* -t; 0: none */
        uint64_t idle_timeout_ms; /* --idle-timeout; 0: none */
        uint64_t kill_after_ms;   /* -k: grace after the first signal (default 5 s) */
        int first_signal;         /* -s (default SIGTERM) */
        bool have_ladder;         /* --stop was given: `ladder` wins over -s and -k */
        sv_ladder ladder;
        sv_leaks leaks;           /* --leaks (default SV_LEAKS_KILL) */
} sv_cli_common;

/* getopt_long values of the long-only options, above any subcommand's own. */
enum { SV_CLI_OPT_STOP = 0x1000, SV_CLI_OPT_IDLE, SV_CLI_OPT_LEAKS };

#define SV_CLI_COMMON_SHORTOPTS "t:s:k:"
#define SV_CLI_COMMON_LONGOPTS                                                  \
        { "timeout", required_argument, NULL, 't' },                            \
        { "signal", required_argument, NULL, 's' },                             \
        { "kill-after", required_argument, NULL, 'k' },                         \
        { "stop", required_argument, NULL, SV_CLI_OPT_STOP },                   \
        { "idle-timeout", required_argument, NULL, SV_CLI_OPT_IDLE },           \
        { "leaks", required_argument, NULL, SV_CLI_OPT_LEAKS }

/* The defaults: no timeouts, TERM, 5 s, KILL; leaks killed and reported. */
void sv_cli_common_init(sv_cli_common *o);

/* Takes getopt_long's `c` and `arg` for subcommand `cmd` ("supervise",
 * "supervise run"). Returns 1 if it was a common option (stored in *o), 0 if
 * it was not one, or, for a bad value, the usage-error exit status (125)
 * after printing the one line that says why. */
int sv_cli_common_opt(const char *cmd, int c, const char *arg, sv_cli_common *o);

/* The ladder the options ask for: --stop's, else first_signal for
 * kill_after_ms, then KILL. */
void sv_cli_common_ladder(const sv_cli_common *o, sv_ladder *out);

#endif
