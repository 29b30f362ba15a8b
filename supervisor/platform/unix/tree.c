/* tree.c - finding and ending a worker's whole process tree.
 *
 * Two mechanisms. With a writable cgroup v2 hierarchy each worker joins its
 * own cgroup before exec; nothing it starts can leave it, cgroup.kill ends
 * them all at once and cgroup.events says when the tree is empty. Without
 * one, we walk /proc: parent links from the worker, members of its process
 * group, and processes reparented to us (we are a subreaper) whose
 * environment carries the worker's marker, which setsid and double forks
 * do not shed. Nothing here blocks for long; nothing here reaps. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"

int sv__read_file(const char *path, char *buf, size_t n) {
        ssize_t got;
        size_t len = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (len + 1 < n) {
                got = read(fd, buf + len, n - 1 - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                len += (size_t) got;
        }
        close(fd);
        buf[len] = '\0';
        return (int) len;
}

/* Lists (of pids, of environment strings) have no size limit a buffer
 * could be chosen for: a supervisor with 5,000 children has a 30 KiB
 * children file. Reads to EOF into a buffer that doubles as it fills. */
int sv__read_file_all(const char *path, char **out) {
        size_t cap = 4096, len = 0;
        char *buf, *nb;
        ssize_t got;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        buf = malloc(cap);
        if (!buf) {
                close(fd);
                return UV_ENOMEM;
        }
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap >= (size_t) INT_MAX / 2) {
                                r = UV_E2BIG;
                                goto fail;
                        }
                        nb = realloc(buf, cap * 2);
                        if (!nb) {
                                r = UV_ENOMEM;
                                goto fail;
                        }
                        buf = nb;
                        cap *= 2;
                }
                got = read(fd, buf + len, cap - 1 - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {
                        r = -errno;
                        goto fail;
                }
                if (got == 0)
                        break;
                len += (size_t) got;
        }
        close(fd);
        buf[len] = '\0';
        *out = buf;
        return (int) len;

fail:
        close(fd);
        free(buf);
        return r;
}

/* Appends the whitespace-separated decimal pids of `text` to *v. A token
 * that is not a whole positive number is an error, never a pid: a pid
 * made of the head of a cut-off number would name someone else. */
static int parse_pids(const char *text, pid_t **v, size_t *cnt, size_t *cap) {
        const char *p = text;
        char *end;
        pid_t *nv;
        long pid;

        for (;;) {
                while (*p == ' ' || *p == '\n' || *p == '\t')
                        p++;
                if (!*p)
                        return 0;
                errno = 0;
                pid = strtol(p, &end, 10);
                if (end == p || errno || pid <= 0 || pid > INT_MAX ||
                    (*end && *end != ' ' && *end != '\n' && *end != '\t'))
                        return UV_EINVAL;
                p = end;
                if (*cnt == *cap) {
                        *cap = *cap ? *cap * 2 : 64;
                        nv = realloc(*v, *cap * sizeof(**v));
                        if (!nv)
                                return UV_ENOMEM;
                        *v = nv;
                }
                (*v)[(*cnt)++] = (pid_t) pid;
        }
}

/* Appends the pids listed in `path` (a children file, cgroup.procs). */
static int append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap) {
        char *text;
        int r;

        r = sv__read_file_all(path, &text);
        if (r < 0)
                return r;
        r = parse_pids(text, v, cnt, cap);
        free(text);
        return r;
}

int sv__read_pid_list(const char *path, pid_t **out) {
        pid_t *v = NULL;
        size_t cnt = 0, cap = 0;
        int r;

        r = append_pid_file(path, &v, &cnt, &cap);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        return (int) cnt;
}

int sv__write_file(const char *path, const char *s) {
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                r = -errno;
        close(fd);
        return r;
}

static bool environ_has(pid_t pid, const char *marker) {
        return sv__proc_has_marker(pid, marker) == 1;
}

/* Only the directory: its files are opened when used (the spawn opens the
 * directory for clone3), so a pooled or busy cgroup holds no fd and a
 * worker costs one fd, its pidfd. */
int sv__cg_create(const char *parent, unsigned n, sv__cg **out) {
        size_t len = strlen(parent) + 16;
        sv__cg *cg;
        int r;

        if (len >= SV_CG_MAX)
                return UV_ENAMETOOLONG;
        cg = malloc(sizeof(*cg) + len);
        if (!cg)
                return UV_ENOMEM;
        snprintf(cg->path, len, "%s/w%u", parent, n);
        if (mkdir(cg->path, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                free(cg);
                return r;
        }
        cg->killed = false;
        *out = cg;
        return 0;
}

int sv__cg_kill(sv__cg *cg) {
        char path[SV_CG_MAX + 32];

        cg->killed = true;
        snprintf(path, sizeof(path), "%s/cgroup.kill", cg->path);
        return sv__write_file(path, "1");
}

int sv__cg_pids(const sv__cg *cg, pid_t **out) {
        char path[SV_CG_MAX + 32];

        snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
        return sv__read_pid_list(path, out);
}

int sv__cg_signal(const sv__cg *cg, int sig, bool then_cont) {
        pid_t *pids = NULL;
        int n, i, hit = 0;

        n = sv__cg_pids(cg, &pids);
        if (n < 0)
                return n;
        /* A pid read from cgroup.procs is in our cgroup at that moment; the
         * window before kill() is the same one killpg has. */
        for (i = 0; i < n; i++) {
                if (pids[i] > 1 && kill(pids[i], sig) == 0) {
                        hit++;
                        if (then_cont)
                                (void) kill(pids[i], SIGCONT);
                }
        }
        free(pids);
        return hit;
}

int sv__cg_populated(const sv__cg *cg) {
        char path[SV_CG_MAX + 32], buf[256];
        char *p;
        int n;

        snprintf(path, sizeof(path), "%s/cgroup.events", cg->path);
        n = sv__read_file(path, buf, sizeof(buf));
        if (n < 0)
                return n;
        /* "populated N" is the first line; search only if that changes. */
        p = strncmp(buf, "populated ", 10) == 0 ? buf : strstr(buf, "\npopulated ");
        if (!p)
                return UV_EINVAL;
        if (p != buf)
                p++;
        return p[10] == '1';
}

void sv__cg_close(sv__cg *cg) {
        (void) cg; /* nothing is kept open */
}

int sv__cg_destroy(sv__cg *cg) {
        sv__cg_close(cg);
        if (rmdir(cg->path) < 0)
                return -errno;
        return 0;
}

int sv__proc_has_marker(pid_t pid, const char *marker) {
        char path[64];
        size_t mlen = strlen(marker);
        char *buf;
        int n, i, found = 0;

        snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
        /* The whole environment, however big: a marker past a fixed
         * buffer's end would make a tree member look like a stranger. */
        n = sv__read_file_all(path, &buf);
        if (n <= 0) {
                if (n == 0)
                        free(buf);
                return -1; /* exiting (its memory is gone) or gone */
        }
        for (i = 0; i < n && !found; i += (int) strlen(buf + i) + 1) {
                if (strncmp(buf + i, marker, mlen) == 0 && buf[i + (int) mlen] == '\0')
                        found = 1;
        }
        free(buf);
        return found;
}

int sv__proc_group_alive(pid_t pgid) {
        return pgid > 1 && kill(-pgid, 0) == 0;
}

/* Parses /proc/<pid>/stat. comm may hold spaces and parentheses, so the
 * fields after it are found from the last ')'. */
static int read_stat(pid_t pid, sv_proc *p) {
        char path[64], buf[1024];
        char *l, *r;
        int n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        n = sv__read_file(path, buf, sizeof(buf));
        if (n <= 0)
                return n < 0 ? n : UV_EINVAL;
        l = strchr(buf, '(');
        r = strrchr(buf, ')');
        if (!l || !r || r < l)
                return UV_EINVAL;
        memset(p, 0, sizeof(*p));
        p->pid = pid;
        n = (int) (r - l - 1);
        if (n > (int) sizeof(p->comm) - 1)
                n = (int) sizeof(p->comm) - 1;
        memcpy(p->comm, l + 1, (size_t) n);
        if (sscanf(r + 2, "%c %d %d", &p->state, &p->ppid, &p->pgid) != 3)
                return UV_EINVAL;
        return 0;
}

int sv__proc_stat(pid_t pid, sv_proc *out) {
        return read_stat(pid, out);
}

int sv__proc_tree(pid_t root, pid_t pgid, const char *marker, sv_proc **out) {
        sv_proc *all = NULL, *nv;
        size_t cap = 0, cnt = 0, i, j;
        bool *in;
        pid_t self = getpid();
        struct dirent *de;
        DIR *d;
        int found;
        bool grew;

        d = opendir("/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                pid_t pid;
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                pid = (pid_t) atoi(de->d_name);
                if (cnt == cap) {
                        cap = cap ? cap * 2 : 256;
                        nv = realloc(all, cap * sizeof(*all));
                        if (!nv) {
                                free(all);
                                closedir(d);
                                return UV_ENOMEM;
                        }
                        all = nv;
                }
                /* A process that vanished since readdir is simply skipped. */
                if (read_stat(pid, &all[cnt]) == 0)
                        cnt++;
        }
        closedir(d);

        in = calloc(cnt ? cnt : 1, sizeof(*in));
        if (!in) {
                free(all);
                return UV_ENOMEM;
        }
        for (i = 0; i < cnt; i++) {
                if (all[i].pid == self || all[i].pid == root || all[i].state == 'Z')
                        continue;
                if (pgid > 1 && all[i].pgid == pgid)
                        in[i] = true;
                else if (root > 1 && all[i].ppid == root)
                        in[i] = true;
                else if (marker && all[i].ppid == self && environ_has(all[i].pid, marker))
                        in[i] = true;
        }
        /* Close over parent links until nothing new joins. */
        do {
                grew = false;
                for (i = 0; i < cnt; i++) {
                        if (in[i] || all[i].pid == self || all[i].pid == root ||
                            all[i].state == 'Z')
                                continue;
                        for (j = 0; j < cnt; j++) {
                                if (in[j] && all[j].pid == all[i].ppid) {
                                        in[i] = grew = true;
                                        break;
                                }
                        }
                }
        } while (grew);

        found = 0;
        for (i = 0; i < cnt; i++) {
                if (in[i])
                        all[found++] = all[i];
        }
        free(in);
        if (found == 0) {
                free(all);
                all = NULL;
        }
        *out = all;
        return found;
}

int sv__proc_cmdline(pid_t pid, char *buf, size_t n) {
        char path[64];
        int len, i;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        len = sv__read_file(path, buf, n);
        if (len < 0)
                return len;
        while (len > 0 && buf[len - 1] == '\0')
                len--;
        for (i = 0; i < len; i++) {
                if (buf[i] == '\0')
                        buf[i] = ' ';
        }
        buf[len] = '\0';
        return len;
}

/* Appends the children of every thread of `pid` (a process's children
 * file is per thread: a child made by another thread is listed only in
 * that thread's file). */
static int task_children(pid_t pid, pid_t **v, size_t *cnt, size_t *cap) {
        char path[320];
        struct dirent *de;
        DIR *d;
        int r = 0;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno; /* gone */
        while (r >= 0 && (de = readdir(d))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int) pid, de->d_name);
                r = append_pid_file(path, v, cnt, cap);
                if (r == UV_ENOENT || r == UV_ESRCH)
                        r = 0; /* the thread ended */
        }
        closedir(d);
        return r;
}

int sv__proc_children(pid_t **out) {
        pid_t *v = NULL;
        size_t cnt = 0, cap = 0;
        int r;

        r = task_children(getpid(), &v, &cnt, &cap);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        return (int) cnt;
}

/* A growable set of pids, kept in discovery order. */
typedef struct pidset {
        pid_t *v;
        size_t n, cap;
} pidset;

static bool pidset_has(const pidset *s, pid_t pid) {
        size_t i;

        for (i = 0; i < s->n; i++) {
                if (s->v[i] == pid)
                        return true;
        }
        return false;
}

static int pidset_add(pidset *s, pid_t pid) {
        pid_t *nv;

        if (pidset_has(s, pid))
                return 0;
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                nv = realloc(s->v, s->cap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                s->v = nv;
        }
        s->v[s->n++] = pid;
        return 1;
}

/* Adds the children of every thread of `pid` to the set. */
static int add_children(pidset *s, pid_t pid) {
        pid_t *kids = NULL;
        size_t cnt = 0, cap = 0, i;
        int r;

        r = task_children(pid, &kids, &cnt, &cap);
        for (i = 0; r >= 0 && i < cnt; i++) {
                if (kids[i] > 1)
                        r = pidset_add(s, kids[i]);
        }
        free(kids);
        return r < 0 ? r : 0;
}

int sv__proc_freeze_tree(pid_t root, const char *marker, pid_t **out) {
        pidset s = { NULL, 0, 0 };
        pid_t self = getpid();
        pid_t *kids = NULL;
        size_t i;
        int n, r;

        /* Seeds: the root's children, and orphans adopted by us that carry
         * the marker. Each found process is stopped before its children are
         * read, so it cannot fork behind our back, and a stopped process's
         * children file is exact (proc(5)). */
        if (root > 1 && (r = add_children(&s, root)) < 0)
                goto fail;
        n = sv__proc_children(&kids);
        for (i = 0; n > 0 && i < (size_t) n; i++) {
                if (kids[i] != root && sv__proc_has_marker(kids[i], marker) == 1 &&
                    (r = pidset_add(&s, kids[i])) < 0)
                        goto fail;
        }
        free(kids);
        kids = NULL;
        for (i = 0; i < s.n; i++) {
                if (s.v[i] == self || s.v[i] <= 1)
                        continue;
                (void) kill(s.v[i], SIGSTOP);
                if ((r = add_children(&s, s.v[i])) < 0)
                        goto fail;
        }
        *out = s.v;
        return (int) s.n;

fail:
        free(kids);
        free(s.v);
        return r;
}
