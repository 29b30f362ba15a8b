/* cli.h - the subcommands main.c dispatches to. Each takes the argv that
 * starts at the subcommand's own name and returns the process exit status. */
#ifndef SV_CLI_H
#define SV_CLI_H

int sv_cli_ps(int argc, char **argv);
int sv_cli_kill(int argc, char **argv);
int sv_cli_run(int argc, char **argv);

#endif
