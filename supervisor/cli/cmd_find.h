/* cmd_find.h - the `ps` and `kill` subcommands of `supervise`. */
#ifndef SV_CLI_CMD_FIND_H
#define SV_CLI_CMD_FIND_H

/* Exit codes of both subcommands, pkill's table plus one row. They are part
 * of the interface: --help, docs/ps-kill.md and the tests assert them. */
enum sv_cli_find_exit {
        SV_FIND_EXIT_OK = 0,      /* something matched (kill: and every match was dealt with) */
        SV_FIND_EXIT_NONE = 1,    /* nothing matched */
        SV_FIND_EXIT_USAGE = 2,   /* bad command line, including refused pids */
        SV_FIND_EXIT_FATAL = 3,   /* could not read the process table, out of memory */
        SV_FIND_EXIT_PARTIAL = 4, /* kill: some matches could not be signalled, or outlived --wait */
};

/* `supervise ps [filters] [--tree|--count] [--json]`. argv[0] is "ps".
 * Returns the process exit code. Prints to stdout and stderr. */
int sv_cli_ps(int argc, char **argv);

/* `supervise kill [filters] [-s SIG] [--wait] [--kill-after DUR] [--dry-run]
 * [--json]`. argv[0] is "kill". Returns the process exit code. */
int sv_cli_kill(int argc, char **argv);

/* For pgrep/pkill (cmd_pgrep.c): a process's name, and its command line
 * (argv joined by spaces, or "[name]"), written as `ps` writes them, with
 * anything unprintable escaped. */
struct sv_find_proc;
#include <stdio.h>
void sv_cli_find_put_name(FILE *out, const struct sv_find_proc *p);
void sv_cli_find_put_cmdline(FILE *out, const struct sv_find_proc *p);

/* ---- What ps and kill ask of the OS (find_posix.c; win/find_win.c) ---- */

/* Raises the soft limit on open files towards the hard one when `need`
 * handles (one pidfd per match) would not fit under it (no-op on Windows). */
void sv_cli_find_raise_fd_limit(size_t need);

/* The USER column: p's owner's name in buf (or a uid in digits), or NULL
 * when unknown. */
const char *sv_cli_find_user_name(const struct sv_find_proc *p, char *buf, size_t len);

/* The column count of the terminal on stdout, or 0 when it is not one. */
unsigned sv_cli_find_term_cols(void);

/* A FILE* writing into memory, one at a time: the text and its length are
 * in *buf and *len once sv_cli_find_memstream_close() returned 0 (the
 * caller frees *buf either way). */
FILE *sv_cli_find_memstream(char **buf, size_t *len);
int sv_cli_find_memstream_close(FILE *f);


/* ---- Shared by find_opts.c, cmd_ps.c and cmd_kill.c. ---- */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "supervise/sv_find.h"

typedef struct find_opts {
        const char *cmd;          /* "ps" or "kill", for messages */
        bool is_kill;
        sv_find_filter f;
        pid_t *pids;
        size_t cap;
        bool count, json, tree, dry_run, wait, quiet, any_filter;
        int sig;
        uint64_t kill_after_ms;   /* 0: no escalation */
        int64_t wait_timeout_ms;  /* -1: no limit */
} find_opts;

/* argv -> *o. Returns 0 to go on, -1 after --help/--version (exit 0), or
 * the usage-error exit code (2) after printing the one line. */
int sv_cli_find_parse_args(find_opts *o, int argc, char **argv);

/* -u NAME|UID into f (a uid on Linux, an account name on Windows): 0, or
 * -1 if no such user exists. */
int sv_cli_find_set_user(sv_find_filter *f, const char *s);
void sv_cli_find_opts_release(find_opts *o);

/* Reads the process table with filter f into *out; 0 or an exit code after
 * the one line "supervise CMD: cannot read the process table: ...". Shared
 * by ps, kill, pgrep and pkill so all four fail alike. */
int sv_cli_find_scan(const char *cmd, const sv_find_filter *f, sv_find_table **out);
/* Prints the matches as a tree (text, or JSON with `extra` merged in). */
int sv_cli_find_show_tree(find_opts *o, sv_find_table *t, const char *mark, json_t *extra);
/* Writes root as one JSON line on stdout and frees it; 0 or an exit code. */
int sv_cli_find_json_emit(json_t *root);
/* n bytes as JSON text, escaped as sv_text_escape does. */
json_t *sv_cli_find_json_bytes(const char *s, size_t len);
/* n bytes of s for a terminal, escaped as ps escapes them. */
void sv_cli_find_put_escaped(FILE *out, const char *s, size_t len);

#endif
