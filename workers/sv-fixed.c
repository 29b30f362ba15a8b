/* sv-fixed [-p PORT] [-f PATH]... [-e NAME=VALUE] [-b DIR N] [-x CODE] - a
 * test that uses fixed names, as many real suites do: listens on
 * 127.0.0.1:PORT (without SO_REUSEADDR), creates each PATH (up to 4) with
 * O_EXCL (relative: in the working directory) and checks that $NAME is
 * VALUE. With -b it then
 * adds an entry to DIR and waits (inotify, at most 30 s) until DIR holds N
 * entries, so that N copies are all holding their port and file at once
 * and a collision cannot be missed. Leaves PATH behind.
 * Exit: CODE (default 0) if all went well, 1 if a check failed (one stderr
 * line each), 2 on bad arguments, 3 if the others never came. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#define BARRIER_MS 30000

static int listen_on(long port) {
        struct sockaddr_in addr;
        int fd;

        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
                return -1;
        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t) port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
                fprintf(stderr, "sv-fixed: cannot listen on 127.0.0.1:%ld: %s\n", port,
                        strerror(errno));
                close(fd);
                return -1;
        }
        return fd; /* held until we exit */
}

static int count_entries(const char *dir) {
        struct dirent *d;
        DIR *dp = opendir(dir);
        int n = 0;

        if (!dp)
                return -1;
        while ((d = readdir(dp)) != NULL) {
                if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
                        n++;
        }
        closedir(dp);
        return n;
}

/* Adds our entry to dir, then waits for n entries. 0, or -1 (timed out or
 * failed). */
static int barrier(const char *dir, long n) {
        char path[4096];
        struct pollfd pfd;
        char buf[4096];
        int ifd, fd, waited = 0;

        ifd = inotify_init1(IN_CLOEXEC);
        if (ifd < 0 || inotify_add_watch(ifd, dir, IN_CREATE | IN_MOVED_TO) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/tok.XXXXXX", dir);
        fd = mkstemp(path);
        if (fd < 0)
                return -1;
        close(fd);
        while (count_entries(dir) < n) {
                if (waited >= BARRIER_MS)
                        return -1;
                pfd.fd = ifd;
                pfd.events = POLLIN;
                if (poll(&pfd, 1, 1000) > 0)
                        (void) !read(ifd, buf, sizeof(buf));
                waited += 1000; /* an upper bound: a wake-up counts as a second */
        }
        close(ifd);
        return 0;
}

int main(int argc, char **argv) {
        const char *files[4], *env = NULL, *bdir = NULL;
        long port = -1, n = 0, code = 0;
        int i, k, nfiles = 0, ok = 1, fd;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
                        port = strtol(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc && nfiles < 4)
                        files[nfiles++] = argv[++i];
                else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
                        env = argv[++i];
                else if (strcmp(argv[i], "-b") == 0 && i + 2 < argc) {
                        bdir = argv[++i];
                        n = strtol(argv[++i], NULL, 10);
                } else if (strcmp(argv[i], "-x") == 0 && i + 1 < argc)
                        code = strtol(argv[++i], NULL, 10);
                else {
                        fprintf(stderr, "usage: sv-fixed [-p PORT] [-f PATH] [-e NAME=VALUE] "
                                        "[-b DIR N] [-x CODE]\n");
                        return 2;
                }
        }
        if (port > 0 && listen_on(port) < 0)
                ok = 0;
        for (k = 0; k < nfiles; k++) {
                fd = open(files[k], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0) {
                        fprintf(stderr, "sv-fixed: cannot create '%s': %s\n", files[k],
                                strerror(errno));
                        ok = 0;
                } else {
                        (void) !write(fd, "sv-fixed\n", 9);
                        close(fd);
                }
        }
        if (env) {
                const char *eq = strchr(env, '=');
                char name[256];
                const char *v;

                snprintf(name, sizeof(name), "%.*s", eq ? (int) (eq - env) : 0, env);
                v = getenv(name);
                if (!eq || !v || strcmp(v, eq + 1) != 0) {
                        fprintf(stderr, "sv-fixed: %s is '%s', want '%s'\n", name, v ? v : "(unset)",
                                eq ? eq + 1 : "");
                        ok = 0;
                }
        }
        if (bdir && barrier(bdir, n) < 0) {
                fprintf(stderr, "sv-fixed: the others never came to '%s'\n", bdir);
                return 3;
        }
        return ok ? (int) code : 1;
}
