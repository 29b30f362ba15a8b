/* find_posix.c - what `supervise ps` and `kill` ask of a POSIX system: user
 * names from the password database, the terminal's width, the open-file
 * limit; and the width of stderr's terminal for run's progress line.
 * win/find_win.c answers the same questions on Windows. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"

/* Each handle is an fd; a kill of thousands of processes must not run into
 * the soft limit (often 1024) while the hard limit allows more. */
void sv_cli_find_raise_fd_limit(size_t need) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need + 64)
                return;
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

/* getpwuid() per row would reread /etc/passwd; a few users cover a table. */
const char *sv_cli_find_user_name(const sv_find_proc *p, char *buf, size_t len) {
        static struct {
                uid_t uid;
                char name[33];
        } cache[16];
        static unsigned ncache;
        struct passwd *pw;
        unsigned i;

        if (!p->has_uid)
                return p->user;
        for (i = 0; i < ncache; i++)
                if (cache[i].uid == p->uid)
                        return cache[i].name;
        pw = getpwuid(p->uid);
        if (pw)
                (void) snprintf(buf, len, "%s", pw->pw_name);
        else
                (void) snprintf(buf, len, "%u", (unsigned) p->uid);
        if (ncache < sizeof(cache) / sizeof(cache[0])) {
                cache[ncache].uid = p->uid;
                (void) snprintf(cache[ncache].name, sizeof(cache[ncache].name), "%s", buf);
                ncache++;
        }
        return buf;
}

unsigned sv_cli_find_term_cols(void) {
        struct winsize ws;

        if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 0;
}

unsigned sv_cli_stderr_cols(void) {
        struct winsize ws;

        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 0;
}

int sv_cli_find_set_user(sv_find_filter *f, const char *s) {
        struct passwd *pw;
        long long v;
        char *end;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && end != s && *end == '\0' && v >= 0 && v <= (long long) UINT32_MAX - 1) {
                f->uid = (uid_t) v;
        } else {
                pw = getpwnam(s);
                if (!pw)
                        return -1;
                f->uid = pw->pw_uid;
        }
        f->has_uid = true;
        return 0;
}

FILE *sv_cli_find_memstream(char **buf, size_t *len) {
        return open_memstream(buf, len);
}

int sv_cli_find_memstream_close(FILE *f) {
        return fclose(f);
}
