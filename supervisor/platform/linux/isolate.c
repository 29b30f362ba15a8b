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

/* The entry of /tmp that `path` lies in ("/tmp/ci/build/x" -> "/tmp/ci")
 * into top (ISO_PATH_MAX bytes); false when path is not below /tmp. */
SV_CHILD_CODE static bool tmp_top(const char *path, char *top) {
        size_t n = sizeof(TMP_DIR) - 1, k;

        if (!path || strncmp(path, TMP_DIR "/", n + 1) != 0 || !path[n + 1])
                return false;
        for (k = n + 1; path[k] && path[k] != '/'; k++)
                ;
        if (k >= ISO_PATH_MAX || (k == n + 2 && path[n + 1] == '.') ||
            (k == n + 3 && path[n + 1] == '.' && path[n + 2] == '.'))
                return false;
        memcpy(top, path, k);
        top[k] = '\0';
        return true;
}

/* What the fresh /tmp must not hide: the entries of the old one that hold
 * the working directory and the program (a project checked out and built
 * under /tmp, as CI clones often are). Opened before the tmpfs goes on. */
typedef struct keep_entry {
        char path[ISO_PATH_MAX];
        int fd;
        bool dir;
} keep_entry;

SV_CHILD_CODE static int keep_open(keep_entry *k, const char *path) {
        struct stat st;

        k->fd = -1;
        if (!tmp_top(path, k->path))
                return 0;
        k->fd = open(k->path, O_PATH | O_CLOEXEC);
        if (k->fd < 0)
                return errno == ENOENT ? 0 : errno;
        if (fstat(k->fd, &st) < 0)
                return errno;
        k->dir = S_ISDIR(st.st_mode);
        return 0;
}

/* Binds a kept entry back at its own path in the fresh tmpfs. */
SV_CHILD_CODE static int keep_bind(const keep_entry *k) {
        char src[32];
        int fd;

        if (k->fd < 0)
                return 0;
        if (k->dir) {
                if (mkdir(k->path, 0700) < 0 && errno != EEXIST)
                        return errno;
        } else {
                fd = open(k->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0 && errno != EEXIST)
                        return errno;
                if (fd >= 0)
                        close(fd);
        }
        fd_path(src, k->fd);
        if (mount(src, k->path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno;
        return 0;
}

/* A fresh tmpfs on /tmp in our own mount namespace, whose mounts are
 * made private first, so that nothing we mount reaches the supervisor's
 * namespace. The entries of the old /tmp that hold the working directory
 * (the runner's per-job directory, or a project under /tmp) and the
 * program are bound back at their own paths, so both stay reachable; the
 * rest of the old /tmp (its fixed file and socket names) is hidden. A
 * worker started in /tmp itself starts in the new one. */
SV_CHILD_CODE static int tmp_setup(const char *prog) {
        keep_entry keep[2];
        char cwd[ISO_PATH_MAX];
        int err = 0, i;
        long n;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return errno;
        n = syscall(SYS_getcwd, cwd, sizeof(cwd));
        if (n <= 0)
                cwd[0] = '\0';
        err = keep_open(&keep[0], cwd);
        if (!err)
                err = keep_open(&keep[1], prog && prog[0] == '/' ? prog : NULL);
        if (!err && keep[1].fd >= 0 && keep[0].fd >= 0 && strcmp(keep[0].path, keep[1].path) == 0) {
                close(keep[1].fd);
                keep[1].fd = -1;
        }
        if (!err && mount("tmpfs", TMP_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                err = errno;
        for (i = 0; i < 2 && !err; i++)
                err = keep_bind(&keep[i]);
        /* Back to the same path: in the new /tmp, or bound back into it. */
        if (!err && cwd[0] && strncmp(cwd, TMP_DIR, sizeof(TMP_DIR) - 1) == 0 &&
            (cwd[sizeof(TMP_DIR) - 1] == '\0' || cwd[sizeof(TMP_DIR) - 1] == '/') && chdir(cwd) < 0)
                err = errno;
        for (i = 0; i < 2; i++)
                if (keep[i].fd >= 0)
                        close(keep[i].fd);
        return err;
}

SV_CHILD_CODE int sv__linux_isolate_setup(unsigned isolate, const char *prog) {
        int err;

        if (isolate & SV_ISOLATE_NET) {
                err = lo_up();
                if (err)
                        return err;
        }
        if (isolate & SV_ISOLATE_TMP)
                return tmp_setup(prog);
        return 0;
}

SV_CHILD_CODE int sv__linux_isolate_enter(unsigned isolate, bool userns, uid_t uid, gid_t gid,
                                          const char *prog) {
        int flags = sv__linux_isolate_clone_flags(isolate);

        if (!flags)
                return 0;
        if (unshare(flags | (userns ? CLONE_NEWUSER : 0)) < 0)
                return errno;
        if (userns && sv__linux_write_id_maps(uid, gid) < 0)
                return errno ? errno : EPERM;
        return sv__linux_isolate_setup(isolate, prog);
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
                _exit(sv__linux_isolate_enter(isolate, userns, uid, gid, NULL) & 0xff);
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
