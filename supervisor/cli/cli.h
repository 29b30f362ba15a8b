/* cli.h - the subcommands main.c dispatches to. Each takes the argv that
 * starts at the subcommand's own name and returns the process exit status. */
#ifndef SV_CLI_H
#define SV_CLI_H

int sv_cli_copies(int argc, char **argv); /* the main command: argv[0] is "supervise" */
int sv_cli_ps(int argc, char **argv);
int sv_cli_kill(int argc, char **argv);
int sv_cli_run(int argc, char **argv);
int sv_cli_timeout(int argc, char **argv);

/* Writes into buf the limit behind err (UV_EMFILE: the open-file limit...),
 * as " (...)", or "" when none applies. */
void sv_cli_limit_hint(int err, char *buf, size_t n);
int sv_cli_pgrep(int argc, char **argv);
int sv_cli_pkill(int argc, char **argv);
int sv_cli_report(int argc, char **argv); /* `report merge`: cmd_report.c */
int sv_cli_ctl(int argc, char **argv);

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <uv.h>

/* What `supervise timeout` (cmd_timeout.c) asks of the main command's runner
 * (main.c): one copy, GNU timeout's exit statuses, quiet unless `report`. */
typedef struct sv_cli_timeout {
        uint64_t duration_ms;   /* 0: no timeout */
        int signal;             /* first signal on timeout */
        uint64_t kill_after_ms; /* 0: never escalate to KILL */
        bool preserve_status, foreground, verbose, report;
        const char *json_path;  /* NULL: no JSON */
        char **argv;            /* COMMAND [ARG]... */
} sv_cli_timeout_opts;

/* Runs t->argv as `supervise timeout` does; returns the exit status. */
int sv_cli_timeout_run(const sv_cli_timeout_opts *t);

/* --foreground: makes `pgid` the foreground group of our controlling
 * terminal if we are in the foreground ourselves. Returns 1 and stores the
 * terminal's fd (for sv_cli_tty_take_back) or 0 and stores -1. */
int sv_cli_tty_give(pid_t pgid, int *out_fd);

/* Gives the terminal back to our group and closes fd; -1 does nothing. */
void sv_cli_tty_take_back(int fd);

/* After `supervise 0.2 sleep` failed to run '0.2': if argv[0] reads as a
 * duration, prints the `supervise timeout` form the user probably meant. */
void sv_cli_timeout_hint(char **argv);

/* The exit status of our own failure or a usage error, as GNU timeout. */
#define SV_CLI_EXIT_OWN 125

/* One line of f, its '\n' kept, into *buf (grown, NUL-terminated; free
 * it): its length, or -1 at the end of f, on a read error or without
 * memory (ferror and errno tell). A portable getline(). */
long sv_cli_getline(char **buf, size_t *cap, FILE *f);

/* Columns of the terminal or console on stderr; 0 if it is none or unknown
 * (find_posix.c; win/find_win.c). */
unsigned sv_cli_stderr_cols(void);

/* Why --isolate could not make namespaces, as " (...)", or "" (limit_hint.c;
 * win/unported.c). */
const char *sv_cli_isolate_hint(void);

/* Parses a decimal in [min, max]: 0, or -1 for anything else. */
int sv_cli_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* The word getopt_long() just rejected (returned '?' or ':' for), for an
 * error message: "-K" for a short option, the whole "--bogus" for a long one.
 * Uses buf (a few bytes) for the short form. */
const char *sv_cli_bad_option(char **argv, char *buf, size_t len);

/* Prints "CMD: <fmt with arg>" and the --help hint; returns 125. */
int sv_cli_usage_error(const char *cmd, const char *fmt, const char *arg);

/* The end of a subcommand's getopt_long() switch, for any `c` its own cases
 * did not take: 'h' or `help_opt` prints `usage` to stdout and `version_opt`
 * prints "CMD VERSION" (both return 0); ':' (a missing argument) and
 * anything else (an unknown option) are usage errors (125). */
int sv_cli_opt_other(int c, int help_opt, int version_opt, char **argv, const char *cmd,
                     const char *usage);

/* Starts an unref'd watcher for each of signums[0..n-1] into handles[],
 * counting each one initialised in *nstarted (they must all be closed). */
int sv_cli_watch_signals(uv_loop_t *loop, uv_signal_t *handles, const int *signums, int n,
                         uv_signal_cb cb, void *data, int *nstarted);


/* Sets o[key] to n bytes of s as JSON text: valid UTF-8 (NUL included) as
 * is, each other byte as the text \xHH; if there was such a byte, also
 * o[key "_b64"] = the raw bytes in base64, so that nothing is lost. */
void sv_cli_json_set_text(json_t *o, const char *key, const char *s, size_t n);

/* The same for a NULL-terminated argv: o[key] an array of texts, and if any
 * word had such a byte, o[key "_b64"] every word in base64. */
void sv_cli_json_set_argv(json_t *o, const char *key, char *const *argv);

#endif
