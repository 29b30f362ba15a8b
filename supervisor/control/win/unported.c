/* unported.c - Windows only: the control server's public functions, which
 * have no Windows version yet (the server in control/ listens on a
 * Unix-domain socket and hands out fds; a named pipe would be the Windows
 * way). Opening and dialling answer UV_ENOSYS, so `--control` fails with
 * one clear line and `supervise ctl` is refused by the CLI
 * (cli/win/unported.c); the rest accept the NULL server an owner keeps
 * after that failure. */
#include <stddef.h>

#include "supervise/sv_control.h"

int sv_control_open(sv_pool *p, const char *path, const sv_control_opts *o, sv_control **out) {
        (void) p;
        (void) path;
        (void) o;
        *out = NULL;
        return UV_ENOSYS;
}

void sv_control_pool_event(sv_control *c, const sv_pool_event *ev) {
        (void) c;
        (void) ev;
}

unsigned sv_control_clients(const sv_control *c) {
        (void) c;
        return 0;
}

void sv_control_close(sv_control *c) {
        (void) c;
}

int sv_control_dial(const char *path, int *out_fd) {
        (void) path;
        *out_fd = -1;
        return UV_ENOSYS;
}
