/* stubs.c - weak stand-ins for subcommands not linked into this build; the
 * real ones (cmd_*.c) override them. */
#include <stdio.h>

#include "cli/cli.h"

static int not_built(const char *name) {
        fprintf(stderr, "supervise: '%s' is not available in this build\n", name);
        return 125;
}

__attribute__((weak)) int sv_cli_ps(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return not_built("ps");
}

__attribute__((weak)) int sv_cli_kill(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return not_built("kill");
}

__attribute__((weak)) int sv_cli_run(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return not_built("run");
}

__attribute__((weak)) int sv_cli_pgrep(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return not_built("pgrep");
}

__attribute__((weak)) int sv_cli_pkill(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return not_built("pkill");
}
