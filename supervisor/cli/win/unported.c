/* unported.c - Windows only: the subcommands not ported there yet (pgrep
 * and pkill, whose patterns are POSIX regexes, `timeout`, which is built on
 * POSIX terminals, and `ctl`, whose server listens on a Unix-domain socket),
 * each one clear line and exit status 125, and
 * the terminal hand-over cmd_timeout.c gives the main command elsewhere
 * (a Windows console has no foreground process group to hand over). */
#include <stdio.h>

#include "cli/cli.h"

static int unported(const char *cmd) {
        fprintf(stderr, "supervise %s: not available on Windows yet\n", cmd);
        return 125;
}

int sv_cli_pgrep(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return unported("pgrep");
}

int sv_cli_pkill(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return unported("pkill");
}

int sv_cli_timeout(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return unported("timeout");
}

int sv_cli_ctl(int argc, char **argv) {
        (void) argc;
        (void) argv;
        return unported("ctl");
}

int sv_cli_tty_give(pid_t pgid, int *out_fd) {
        (void) pgid;
        *out_fd = -1;
        return 0;
}

void sv_cli_tty_take_back(int fd) {
        (void) fd;
}

void sv_cli_timeout_hint(char **argv) {
        (void) argv;
}

/* Windows has no rlimits: only what the error itself says. */
void sv_cli_limit_hint(int err, char *buf, size_t n) {
        buf[0] = '\0';
        if (err == UV_ENOMEM)
                snprintf(buf, n, " (out of memory, or a job's memory limit)");
}

/* --isolate net,tmp is refused there (no namespaces): nothing to add. */
const char *sv_cli_isolate_hint(void) {
        return "";
}
