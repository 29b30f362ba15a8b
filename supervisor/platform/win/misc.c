/* misc.c - the parts of platform.h with little or nothing to do on Windows:
 * process set-up, the supervisor's token, and the Linux-only facilities
 * (PID namespaces, the subreaper, the guardian, /proc walks), which answer
 * UV_ENOSYS or "none" so that core takes its job-object path. A job with
 * KILL_ON_JOB_CLOSE already does the guardian's work: when we die, the
 * system closes our handles and every worker's tree dies with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

void sv__plat_init_process(void) {
        /* No error dialog for a crash of ours or of a child (the mode is
         * inherited): a crash must end with its NTSTATUS, not wait for a
         * click that never comes. */
        (void) SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
}

int sv__plat_fds_available(int want) {
        (void) want;
        return 0;
}

int sv__plat_token(char *out, size_t n) {
        unsigned char rnd[8];
        uint64_t v = 0;
        int i, r;

        r = uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
        if (r < 0)
                return r;
        for (i = 0; i < 8; i++)
                v = v << 8 | rnd[i];
        if ((size_t) snprintf(out, n, "%lu-%016llx", (unsigned long) GetCurrentProcessId(),
                              (unsigned long long) v) >= n)
                return UV_ENOBUFS;
        return 0;
}

/* No namespaces: --isolate net,tmp is refused before any job starts. */
int sv__plat_isolate_probe(unsigned isolate) {
        (void) isolate;
        return UV_ENOSYS;
}

bool sv__plat_pidns_usable(void) {
        return false;
}

int sv__plat_pidns_signal(pid_t init, int pidfd, int sig, bool tree) {
        (void) init;
        (void) pidfd;
        (void) sig;
        (void) tree;
        return UV_ENOSYS;
}

int sv__plat_pidns_end(int nsfd, sv__reaped *r, sv_leak *left, int max) {
        (void) nsfd;
        (void) r;
        (void) left;
        (void) max;
        return 0;
}

int sv__plat_set_subreaper(void) {
        return UV_ENOSYS;
}

bool sv__plat_is_ns_init(void) {
        return false;
}

int sv__plat_peek_exited(pid_t *out) {
        (void) out;
        return UV_ESRCH;
}

int sv__guardian_start(const char *token, const char *cgroot, sv__guardian *out) {
        (void) token;
        (void) cgroot;
        (void) out;
        return UV_ENOSYS;
}

int sv__guardian_reap(sv__guardian *g) {
        (void) g;
        return -1;
}

void sv__guardian_stop(sv__guardian *g, bool nowait, bool cleanup) {
        (void) g;
        (void) nowait;
        (void) cleanup;
}

/* Nobody is adopted by us on Windows (a job holds the whole tree). */
int sv__proc_children(pid_t **out) {
        *out = NULL;
        return 0;
}

int sv__proc_has_marker(pid_t pid, const char *marker) {
        (void) pid;
        (void) marker;
        return -1;
}

int sv__proc_group_alive(pid_t pgid) {
        sv__win_slot *s = sv__win_slot_by_pid((DWORD) pgid);

        return s && WaitForSingleObject(s->h, 0) == WAIT_TIMEOUT;
}

int sv__proc_freeze_tree(pid_t root, const char *marker, pid_t **out) {
        (void) root;
        (void) marker;
        (void) out;
        return UV_ENOSYS;
}

int sv__proc_tree(pid_t root, pid_t pgid, const char *marker, sv_proc **out) {
        (void) root;
        (void) pgid;
        (void) marker;
        (void) out;
        return UV_ENOSYS;
}
