/* cli.h - the subcommands main.c dispatches to. Each takes the argv that
 * starts at the subcommand's own name and returns the process exit status. */
#ifndef SV_CLI_H
#define SV_CLI_H

int sv_cli_ps(int argc, char **argv);
int sv_cli_kill(int argc, char **argv);
int sv_cli_run(int argc, char **argv);

#include <stdio.h>
#include <jansson.h>
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

/* Writes n bytes of s (a command line, a name: anything from outside) for a
 * terminal, as `ps` does: controls, escape sequences and bytes that are not
 * UTF-8 as \xHH, '\\' doubled, tab/LF/CR as \t \n \r (sv_text_escape with
 * SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH). The one escaping of every
 * subcommand's terminal output. */
void sv_cli_put_term(FILE *f, const char *s, size_t n);

/* Sets o[key] to n bytes of s as JSON text: valid UTF-8 (NUL included) as
 * is, each other byte as the text \xHH; if there was such a byte, also
 * o[key "_b64"] = the raw bytes in base64, so that nothing is lost. */
void sv_cli_json_set_text(json_t *o, const char *key, const char *s, size_t n);

/* The same for a NULL-terminated argv: o[key] an array of texts, and if any
 * word had such a byte, o[key "_b64"] every word in base64. */
void sv_cli_json_set_argv(json_t *o, const char *key, char *const *argv);

#endif
