/* main.c - `supervise`: dispatch only. The first word picks a subcommand
 * (a file each: cmd_*.c); anything else is the main command, which runs
 * copies of a COMMAND (cmd_copies.c). Each returns the process exit status. */
#include <string.h>

#include "cli/cli.h"

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv);
        } subcommands[] = {
                { "ps", sv_cli_ps },         { "kill", sv_cli_kill },   { "run", sv_cli_run },
                { "timeout", sv_cli_timeout }, { "pgrep", sv_cli_pgrep }, { "pkill", sv_cli_pkill },
                { "report", sv_cli_report },
                { "ctl", sv_cli_ctl },
        };
        size_t i;

        for (i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
                if (strcmp(argv[1], subcommands[i].name) == 0)
                        return subcommands[i].fn(argc - 1, argv + 1);
        return sv_cli_copies(argc, argv);
}
