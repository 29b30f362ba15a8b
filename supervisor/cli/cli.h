/* cli.h - the subcommands main.c dispatches to. Each takes the argv that
 * starts at the subcommand's own name and returns the process exit status. */
#ifndef SV_CLI_H
#define SV_CLI_H

int sv_cli_ps(int argc, char **argv);
int sv_cli_kill(int argc, char **argv);
int sv_cli_run(int argc, char **argv);

#include <uv.h>

/* The exit status of our own failure or a usage error, as GNU timeout. */
#define SV_CLI_EXIT_OWN 125

/* Parses a decimal in [min, max]: 0, or -1 for anything else. */
int sv_cli_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* Prints "CMD: <fmt with arg>" and the --help hint; returns 125. */
int sv_cli_usage_error(const char *cmd, const char *fmt, const char *arg);

/* Starts an unref'd watcher for each of signums[0..n-1] into handles[],
 * counting each one initialised in *nstarted (they must all be closed). */
int sv_cli_watch_signals(uv_loop_t *loop, uv_signal_t *handles, const int *signums, int n,
                         uv_signal_cb cb, void *data, int *nstarted);

#endif
