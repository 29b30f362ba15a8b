/* platform_fake.c - a platform layer with no processes in it, linked in
 * place of platform/linux for the state machine's unit tests. Spawning
 * hands out made-up pids, every signal is recorded instead of sent, the
 * clock moves only when a test moves it, and what the /proc and cgroup
 * probes answer is set by the test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform_fake.h"

sv_fake sv_fake_state;

/* sv__cg_create runs on the cgroup maker's thread too: what it records
 * is guarded apart from sv_fake_state. */
#define CG_MAX 256
static uv_once_t cg_once = UV_ONCE_INIT;
static uv_mutex_t cg_mu;
static uv_cond_t cg_cv;
static unsigned cg_made[CG_MAX];
static int cg_nmade;

static void cg_init(void) {
        if (uv_mutex_init(&cg_mu) < 0 || uv_cond_init(&cg_cv) < 0)
                abort();
}

int sv_fake_cg_created(unsigned *out, int max, int atleast, uint64_t timeout_ms) {
        uint64_t end = uv_hrtime() + timeout_ms * 1000000;
        int n, i;

        uv_once(&cg_once, cg_init);
        uv_mutex_lock(&cg_mu);
        while (cg_nmade < atleast && uv_hrtime() < end)
                (void) uv_cond_timedwait(&cg_cv, &cg_mu, end - uv_hrtime());
        n = cg_nmade;
        for (i = 0; i < n && i < max; i++)
                out[i] = cg_made[i];
        uv_mutex_unlock(&cg_mu);
        return n;
}

void sv_fake_reset(void) {
        uv_once(&cg_once, cg_init);
        uv_mutex_lock(&cg_mu);
        cg_nmade = 0;
        uv_mutex_unlock(&cg_mu);
        memset(&sv_fake_state, 0, sizeof(sv_fake_state));
        sv_fake_state.now_us = 1000000;
        sv_fake_state.next_pid = 40000;
}

void sv__plat_init_process(void) {
}

int sv__plat_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        if (sv_fake_state.spawn_error)
                return sv_fake_state.spawn_error;
        if (!req->argv || !req->argv[0])
                return UV_EINVAL;
        out->pid = sv_fake_state.next_pid++;
        out->pidfd = -1;
        return 0;
}

int sv__plat_kill(pid_t pid, int pidfd, int sig) {
        (void) pidfd;
        if (sv_fake_state.nsent < SV_FAKE_MAX_SENT) {
                sv_fake_state.sent[sv_fake_state.nsent].pid = pid;
                sv_fake_state.sent[sv_fake_state.nsent].sig = sig;
        }
        sv_fake_state.nsent++;
        return 0;
}

int sv__plat_kill_group(pid_t pgid, int sig) {
        (void) pgid;
        (void) sig;
        sv_fake_state.group_kills++;
        return 0;
}

int sv__plat_reap_pidfd(int pidfd, sv__reaped *out) {
        (void) pidfd;
        (void) out;
        return 0;
}

int sv__plat_reap_pid(pid_t pid, sv__reaped *out) {
        (void) pid;
        (void) out;
        return 0;
}

int sv__plat_reap_any(sv__reaped *out) {
        if (sv_fake_state.nreap_any == 0)
                return 0;
        *out = sv_fake_state.reap_any[0];
        sv_fake_state.nreap_any--;
        memmove(&sv_fake_state.reap_any[0], &sv_fake_state.reap_any[1],
                (size_t) sv_fake_state.nreap_any * sizeof(sv_fake_state.reap_any[0]));
        return 1;
}

int sv__plat_reap_wait(const pid_t *pids, int n, unsigned timeout_ms) {
        (void) pids;
        (void) n;
        (void) timeout_ms;
        return 0;
}

int sv__plat_fds_available(int want) {
        (void) want;
        return 0;
}

bool sv__plat_have_pidfd(void) {
        return false;
}

int sv__plat_set_subreaper(void) {
        return 0;
}

uint64_t sv__plat_now_us(void) {
        return sv_fake_state.now_us;
}

void sv__plat_nap_us(unsigned us) {
        sv_fake_state.now_us += us;
}

/* Without pidfds the core never makes a wait set: these are never called. */
int sv__plat_waitset_new(void) {
        return UV_ENOSYS;
}

int sv__plat_waitset_add(int set, int fd, uint64_t tag) {
        (void) set;
        (void) fd;
        (void) tag;
        return UV_ENOSYS;
}

int sv__plat_waitset_ready(int set, uint64_t *tags, int max) {
        (void) set;
        (void) tags;
        (void) max;
        return 0;
}

int sv__plat_timer_new(void) {
        return UV_ENOSYS;
}

int sv__plat_timer_set(int fd, uint64_t at_us) {
        (void) fd;
        (void) at_us;
        return UV_ENOSYS;
}

void sv__plat_timer_ack(int fd) {
        (void) fd;
}

int sv__plat_token(char *out, size_t n) {
        snprintf(out, n, "4242-0123456789abcdef");
        return 0;
}

bool sv__plat_is_ns_init(void) {
        return false;
}

int sv__plat_peek_exited(pid_t *out) {
        (void) out;
        return 0;
}

int sv__cg_setup(const char *token, char *out, size_t n, int *out_lock) {
        (void) token;
        if (!sv_fake_state.cgroups)
                return UV_ENOTSUP; /* the state machine is the same on both mechanisms */
        snprintf(out, n, "/fake/cg");
        *out_lock = -1;
        return 0;
}

/* Records the number; a name made before is refused, as on Linux. */
int sv__cg_create(const char *parent, unsigned n, sv__cg **out) {
        size_t len = strlen(parent) + 16;
        sv__cg *cg;
        int i, r = 0;

        uv_once(&cg_once, cg_init);
        uv_mutex_lock(&cg_mu);
        for (i = 0; i < cg_nmade; i++)
                if (cg_made[i] == n)
                        r = UV_EEXIST;
        if (cg_nmade < CG_MAX)
                cg_made[cg_nmade++] = n;
        uv_cond_broadcast(&cg_cv);
        uv_mutex_unlock(&cg_mu);
        if (r < 0)
                return r;
        cg = malloc(sizeof(*cg) + len);
        if (!cg)
                return UV_ENOMEM;
        snprintf(cg->path, len, "%s/w%u", parent, n);
        cg->killed = false;
        cg->frozen = false;
        *out = cg;
        return 0;
}

int sv__cg_freeze(sv__cg *cg, bool frozen) {
        sv_fake_state.freezes++;
        cg->frozen = frozen;
        return 0;
}

int sv__cg_kill(sv__cg *cg) {
        (void) cg;
        return 0;
}

int sv__cg_signal(const sv__cg *cg, int sig, bool then_cont) {
        (void) cg;
        (void) sig;
        (void) then_cont;
        return 0;
}

int sv__cg_populated(const sv__cg *cg) {
        (void) cg;
        return 0;
}

int sv__cg_pids(const sv__cg *cg, pid_t **out) {
        (void) cg;
        *out = NULL;
        return 0;
}

void sv__cg_close(sv__cg *cg) {
        (void) cg;
}

int sv__cg_destroy(sv__cg *cg) {
        (void) cg;
        return 0;
}

int sv__cg_gone(const sv__cg *cg) {
        (void) cg;
        return 0;
}

int sv__cg_remove_root(const char *root) {
        (void) root;
        return 0;
}

int sv__proc_has_marker(pid_t pid, const char *marker) {
        (void) pid;
        (void) marker;
        return 0;
}

int sv__proc_group_alive(pid_t pgid) {
        (void) pgid;
        return sv_fake_state.tree_alive;
}

int sv__proc_stat(pid_t pid, sv_proc *out) {
        (void) pid;
        (void) out;
        return UV_ESRCH;
}

int sv__proc_tree(pid_t root, pid_t pgid, const char *marker, sv_proc **out) {
        int i, n = sv_fake_state.tree_alive ? sv_fake_state.tree_size : 0;

        (void) root;
        (void) marker;
        *out = NULL;
        if (n == 0)
                return 0;
        *out = calloc((size_t) n, sizeof(**out));
        if (!*out)
                return UV_ENOMEM;
        for (i = 0; i < n; i++) {
                (*out)[i].pid = 50000 + i;
                (*out)[i].pgid = pgid;
                (*out)[i].state = 'S';
                strcpy((*out)[i].comm, "fake-child");
        }
        return n;
}

int sv__proc_freeze_tree(pid_t root, const char *marker, pid_t **out) {
        int i, n = sv_fake_state.tree_alive ? sv_fake_state.tree_size : 0;

        (void) root;
        (void) marker;
        *out = NULL;
        if (n == 0)
                return 0;
        *out = calloc((size_t) n, sizeof(**out));
        if (!*out)
                return UV_ENOMEM;
        for (i = 0; i < n; i++)
                (*out)[i] = 50000 + i;
        return n;
}

int sv__proc_cmdline(pid_t pid, char *buf, size_t n) {
        (void) pid;
        strncpy(buf, "fake-child --forever", n - 1);
        buf[n - 1] = '\0';
        return (int) strlen(buf);
}

int sv__proc_children(pid_t **out) {
        *out = NULL;
        return 0;
}

int sv__guardian_start(const char *token, const char *cgroot, sv__guardian *out) {
        (void) token;
        (void) cgroot;
        out->pid = 0;
        out->fd = -1;
        out->pidfd = -1;
        return 0;
}

void sv__guardian_stop(sv__guardian *g, bool nowait, bool cleanup) {
        (void) g;
        (void) nowait;
        (void) cleanup;
}

int sv__guardian_reap(sv__guardian *g) {
        g->pid = 0;
        g->fd = -1;
        g->pidfd = -1;
        return -1;
}

/* No PID namespaces here: the state machine's tests run cgroup or procwalk. */
bool sv__plat_pidns_usable(void) {
        return false;
}

int sv__plat_pidns_signal(pid_t init, int pidfd, int sig, bool tree) {
        (void) tree;
        return sv__plat_kill(init, pidfd, sig);
}

int sv__plat_pidns_end(int nsfd, sv__reaped *r, sv_leak *left, int max) {
        (void) nsfd;
        (void) r;
        (void) left;
        (void) max;
        return 0;
}

/* No /proc here: every process is gone as far as a diagnosis can tell. */
int sv__proc_parse_stat(const char *buf, size_t len, sv__stat *out) {
        (void) buf;
        (void) len;
        (void) out;
        return UV_EINVAL;
}

int sv__proc_detail_read(pid_t pid, sv__proc_detail *out) {
        (void) pid;
        (void) out;
        return UV_ESRCH;
}

void sv__proc_detail_release(sv__proc_detail *d) {
        if (!d)
                return;
        free(d->stack);
        d->stack = NULL;
}

/* No pidfds, as sv__plat_have_pidfd() says. */
int sv__plat_pidfd_open(pid_t pid, int *out_fd) {
        (void) pid;
        (void) out_fd;
        return UV_ENOSYS;
}

int sv__plat_pidfd_signal(int fd, int sig) {
        (void) fd;
        (void) sig;
        return UV_ENOSYS;
}

int sv__plat_pidfds_wait(const int *fds, size_t n, int timeout_ms, bool *out_gone) {
        (void) fds;
        (void) n;
        (void) timeout_ms;
        (void) out_gone;
        return UV_ENOSYS;
}

int sv__plat_run_capture(const char *const *argv, unsigned timeout_ms, char **out,
                         size_t *out_len, char **err, size_t *err_len, int *out_status) {
        (void) argv;
        (void) timeout_ms;
        (void) out;
        (void) out_len;
        (void) err;
        (void) err_len;
        (void) out_status;
        return UV_ENOSYS;
}

/* Isolation and a run's directories: no namespaces, no files here. */
int sv__plat_isolate_probe(unsigned isolate) {
        return isolate ? UV_ENOSYS : 0;
}

int sv__plat_mkdtemp(const char *parent, const char *prefix, char *out, size_t n) {
        (void) parent;
        (void) prefix;
        (void) out;
        (void) n;
        return UV_ENOSYS;
}

int sv__plat_mkdir(const char *path) {
        (void) path;
        return UV_ENOSYS;
}

int sv__plat_rmdir(const char *path) {
        (void) path;
        return UV_ENOSYS;
}

int sv__plat_rmtree(const char *path) {
        (void) path;
        return UV_ENOSYS;
}
