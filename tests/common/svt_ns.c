/* svt_ns.c - helpers for tests across PID namespaces (see svt_ns.h). Starts
 * only the short unshare probes, which it reaps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svt_ns.h"
#include "svtest.h"

static bool probe(const char *const *prefix) {
        const char *argv[16];
        int st;

        svt_argv_join(argv, 16, prefix, (const char *const[]) { "true", NULL });
        st = svt_run(argv, NULL, NULL, NULL, 10000);
        return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

const char *const *svt_pidns_prefix(bool mount_proc) {
        static const char *const root_mp[] = { "unshare", "--pid", "--fork", "--mount-proc", NULL };
        static const char *const root[] = { "unshare", "--pid", "--fork", NULL };
        static const char *const user_mp[] = { "unshare", "--user", "--map-root-user", "--pid",
                                                "--fork", "--mount-proc", NULL };
        static const char *const user[] = { "unshare", "--user", "--map-root-user", "--pid",
                                            "--fork", NULL };
        static int known[2]; /* 0 unknown, 1 root, 2 user, 3 none */
        int *k = &known[mount_proc];

        if (*k == 0) {
                if (probe(mount_proc ? root_mp : root))
                        *k = 1;
                else if (probe(mount_proc ? user_mp : user))
                        *k = 2;
                else
                        *k = 3;
        }
        if (*k == 1)
                return mount_proc ? root_mp : root;
        if (*k == 2)
                return mount_proc ? user_mp : user;
        return NULL;
}

const char **svt_argv_join(const char **out, size_t max, const char *const *prefix,
                           const char *const *argv) {
        size_t n = 0;

        for (; prefix && *prefix; prefix++) {
                assert_true(n + 1 < max);
                out[n++] = *prefix;
        }
        for (; *argv; argv++) {
                assert_true(n + 1 < max);
                out[n++] = *argv;
        }
        out[n] = NULL;
        return out;
}

int svt_children_of(pid_t pid, pid_t *out, int max) {
        char path[96], buf[4096], *p, *end;
        struct dirent *de;
        int n = 0;
        FILE *f;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children", (int) pid,
                         de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                while (fgets(buf, sizeof(buf), f)) {
                        for (p = buf;; p = end) {
                                long c = strtol(p, &end, 10);
                                if (end == p)
                                        break;
                                if (n < max)
                                        out[n] = (pid_t) c;
                                n++;
                        }
                }
                fclose(f);
        }
        closedir(d);
        return n;
}

int svt_cgroup2_mount(char *out, size_t n) {
        char line[4096], mnt[2048] = "";
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                char *sep = strstr(line, " - ");
                if (sep && strncmp(sep + 3, "cgroup2 ", 8) == 0 &&
                    sscanf(line, "%*s %*s %*s %*s %2047s", mnt) == 1)
                        break;
                mnt[0] = '\0';
        }
        fclose(f);
        if (!mnt[0] || strlen(mnt) >= n)
                return -1;
        strcpy(out, mnt);
        return 0;
}

int svt_cgroup_parent(char *out, size_t n) {
        char line[4096], mnt[2048], *rel = NULL;
        FILE *f;
        int r;

        if (svt_cgroup2_mount(mnt, sizeof(mnt)) < 0)
                return -1;
        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "0::", 3) == 0) {
                        rel = line + 3;
                        rel[strcspn(rel, "\n")] = '\0';
                        break;
                }
        }
        fclose(f);
        if (!rel)
                return -1;
        r = snprintf(out, n, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
        return r > 0 && (size_t) r < n ? 0 : -1;
}

bool svt_cgroup2_writable(char *why, size_t n) {
        char mnt[2048], dir[4096], probe[4200], file[4300];
        bool ok = false;

        /* Any cgroup2 mount: a hybrid host has it at /sys/fs/cgroup/unified,
         * and supervise uses it there. */
        if (svt_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
                snprintf(why, n, "no cgroup2 mount");
                return false;
        }
        if (svt_cgroup_parent(dir, sizeof(dir)) < 0) {
                snprintf(why, n, "our cgroup is unknown");
                return false;
        }
        snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
        if (access(file, W_OK) != 0) {
                snprintf(why, n, "%s is not writable: %s", file, strerror(errno));
                return false;
        }
        snprintf(probe, sizeof(probe), "%s/svt-probe-%d", dir, (int) getpid());
        if (mkdir(probe, 0755) != 0) {
                snprintf(why, n, "cannot mkdir in %s: %s", dir, strerror(errno));
                return false;
        }
        snprintf(file, sizeof(file), "%s/cgroup.kill", probe);
        ok = access(file, F_OK) == 0;
        if (!ok)
                snprintf(why, n, "no cgroup.kill (a kernel before 5.14)");
        if (rmdir(probe) != 0) {
                snprintf(why, n, "cannot rmdir %s: %s", probe, strerror(errno));
                ok = false;
        }
        return ok;
}
