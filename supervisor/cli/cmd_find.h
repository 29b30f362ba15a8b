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

/* Raises the soft limit on open files towards the hard one when `need`
 * handles (one pidfd per match) would not fit under it. */
void sv_cli_find_raise_fd_limit(size_t need);

#endif
