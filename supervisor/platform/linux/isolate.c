/* isolate.c - namespaces of a worker's own (sv_spawn_opts.isolate): a
 * network namespace whose loopback is up, and a mount namespace with a
 * fresh tmpfs on /tmp. Fixed-port, fixed-file test suites then run side by
 * side without colliding.
 *
 * Root makes the namespaces directly. Anyone else (and root without
 * CAP_SYS_ADMIN, in a container) makes them inside a user namespace that
 * maps only our own uid and gid, as the PID namespace of pidns.c does; the
 * worker keeps its ids. Which of the two works is found once per set of
 * namespaces by a probe child that does the whole setup and exits; when
 * neither does, sv__plat_isolate_probe says so before any worker starts,
 * so isolation is never silently skipped.
 *
 * The child side runs between clone and exec, in spawn.c's child or in the
 * init of pidns_init.c: system calls and string functions only, no
 * allocation, no stdio. It never unmounts anything: the namespaces, and the
 * tmpfs with them, go away when their last process does.
 *
 * NEEDSWORK: the setup runs while the supervisor waits for the exec (the
 * vfork of spawn.c, the first record of pidns.c), so at -j N the jobs'
 * setups are serial: a few ms each (bench/isolate.sh), mostly bringing
 * loopback up under the kernel's rtnl lock. Reporting the exec later, as
 * the pidns init could, would let them overlap. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/linux/linux.h"

#define ISO_PATH_MAX 4096
#define TMP_DIR "/tmp"

/* Per set of flags (SV_ISOLATE_NET | SV_ISOLATE_TMP): 0 not probed yet,
 * 1 made directly, 2 made inside a user namespace, or the negative error
 * of the probe. */
static int probed[4];

int sv__linux_isolate_clone_flags(unsigned isolate) {
        int flags = 0;

        if (isolate & SV_ISOLATE_NET)
                flags |= CLONE_NEWNET;
        if (isolate & SV_ISOLATE_TMP)
                flags |= CLONE_NEWNS;
        return flags;
}

/* ---- The child's side: async-signal-safe only ---- */

/* A new network namespace has only `lo`, and it is down. */
SV_CHILD_CODE static int lo_up(void) {
        struct ifreq ifr;
        int fd, err = 0;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return errno;
        memset(&ifr, 0, sizeof(ifr));
        memcpy(ifr.ifr_name, "lo", 3);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                err = errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                err = errno;
        close(fd);
        return err;
}

/* Makes every directory of `path` below /tmp in the fresh tmpfs, so that
 * the old working directory can be bound at the same path. */
SV_CHILD_CODE static int make_parents(char *path) {
        char *p;

        for (p = path + sizeof(TMP_DIR); *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                        *p = '/';
                        return errno;
                }
                *p = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return errno;
        return 0;
}

/* "/proc/self/fd/<fd>" into buf (at least 32 bytes). */
SV_CHILD_CODE static void fd_path(char *buf, int fd) {
        char d[16];
        size_t n = 0, k = 14;

        memcpy(buf, "/proc/self/fd/", 14);
        do {
                d[n++] = (char) ('0' + fd % 10);
                fd /= 10;
        } while (fd);
        while (n)
                buf[k++] = d[--n];
        buf[k] = '\0';
}

/* A fresh tmpfs on /tmp in our own mount namespace, whose mounts are
 * made private first, so that nothing we mount reaches the supervisor's
 * namespace. A working directory under /tmp (the runner's per-job
 * directory, or a supervisor started there) would be hidden by it and no
 * longer reachable by its path: it is bound back at the same path inside
 * the new tmpfs. A worker started in /tmp itself starts in the new one. */
SV_CHILD_CODE static int tmp_setup(void) {
        char cwd[ISO_PATH_MAX], src[32];
        int fd = -1, err = 0;
        long n;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return errno;
        n = syscall(SYS_getcwd, cwd, sizeof(cwd));
        if (n > 0 && strncmp(cwd, TMP_DIR "/", sizeof(TMP_DIR)) == 0) {
                fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return errno;
        }
        if (mount("tmpfs", TMP_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                err = errno;
        /* Started in /tmp itself: in the private one, not under it. */
        if (!err && n > 0 && strcmp(cwd, TMP_DIR) == 0 && chdir(TMP_DIR) < 0)
                err = errno;
        if (!err && fd >= 0) {
                fd_path(src, fd);
                err = make_parents(cwd);
                if (!err && mount(src, cwd, NULL, MS_BIND | MS_REC, NULL) < 0)
                        err = errno;
                if (!err && chdir(cwd) < 0)
                        err = errno;
        }
        if (fd >= 0)
                close(fd);
        return err;
}

SV_CHILD_CODE int sv__linux_isolate_setup(unsigned isolate) {
        int err;

        if (isolate & SV_ISOLATE_NET) {
                err = lo_up();
                if (err)
                        return err;
        }
        if (isolate & SV_ISOLATE_TMP)
                return tmp_setup();
        return 0;
}

SV_CHILD_CODE int sv__linux_isolate_enter(unsigned isolate, bool userns, uid_t uid, gid_t gid) {
        int flags = sv__linux_isolate_clone_flags(isolate);

        if (!flags)
                return 0;
        if (unshare(flags | (userns ? CLONE_NEWUSER : 0)) < 0)
                return errno;
        if (userns && sv__linux_write_id_maps(uid, gid) < 0)
                return errno ? errno : EPERM;
        return sv__linux_isolate_setup(isolate);
}

/* ---- The supervisor's side ---- */

/* A test hook: with SUPERVISE_ISOLATE_NO_USERNS=1 a user namespace is
 * taken as refused, as on a kernel with user.max_user_namespaces=0, so the
 * "nothing allows it" path can be tested without changing the machine. */
static bool userns_forbidden(void) {
        const char *v = getenv("SUPERVISE_ISOLATE_NO_USERNS");

        return v && *v && strcmp(v, "0") != 0;
}

/* Does the whole setup in a child that then exits: 0, or the errno of the
 * step that failed. fork() is fine here: the probe runs once per set,
 * before workers start, and the child makes system calls only. */
static int try_setup(unsigned isolate, bool userns) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        pid_t pid;
        int st;

        pid = fork();
        if (pid < 0)
                return errno;
        if (pid == 0)
                _exit(sv__linux_isolate_enter(isolate, userns, uid, gid) & 0xff);
        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR)
                        return errno;
        }
        if (!WIFEXITED(st))
                return ECHILD;
        return WEXITSTATUS(st);
}

int sv__plat_isolate_probe(unsigned isolate) {
        unsigned set = isolate & (SV_ISOLATE_NET | SV_ISOLATE_TMP);
        int err = EPERM;

        if (isolate & ~(unsigned) (SV_ISOLATE_NET | SV_ISOLATE_TMP))
                return UV_EINVAL;
        if (!set || probed[set] > 0)
                return 0;
        if (probed[set] < 0)
                return probed[set];
        if (geteuid() == 0) {
                err = try_setup(set, false);
                if (!err) {
                        probed[set] = 1;
                        return 0;
                }
        }
        if (!userns_forbidden()) {
                err = try_setup(set, true);
                if (!err) {
                        probed[set] = 2;
                        return 0;
                }
        }
        probed[set] = -err;
        return -err;
}

int sv__linux_isolate_userns(unsigned isolate) {
        int r = sv__plat_isolate_probe(isolate);

        if (r < 0)
                return r;
        return probed[isolate & (SV_ISOLATE_NET | SV_ISOLATE_TMP)] == 2;
}
