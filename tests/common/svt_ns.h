/* svt_ns.h - helpers for tests that run supervise in other PID namespaces,
 * beside its neighbours: the unshare(1) prefix that makes a program PID 1
 * of a new namespace, the host pids of a process's children, and the cgroup
 * directory our supervisors put theirs in.
 *
 * Include after <cmocka.h> (and its prerequisites) and svtest.h. */
#ifndef SVT_NS_H
#define SVT_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The argv prefix ("unshare", "--pid", "--fork" [, "--mount-proc"], and
 * "--user", "--map-root-user" first when plain root cannot) that runs the
 * rest of an argv as PID 1 of a new PID namespace, with a /proc of its own
 * if `mount_proc`. NULL when neither root nor a user namespace allows a PID
 * namespace here: the only reason to skip. Probed once per variant. */
const char *const *svt_pidns_prefix(bool mount_proc);

/* Writes prefix + argv (both NULL-terminated) into out[0..max-1], NULL-
 * terminated; fails the test if it does not fit. Returns out. */
const char **svt_argv_join(const char **out, size_t max, const char *const *prefix,
                           const char *const *argv);

/* The children of every thread of `pid`, in our PID namespace: like
 * svt_list_children() for another process. */
int svt_children_of(pid_t pid, pid_t *out, int max);

/* The cgroup2 mount point. Returns 0, or -1 without cgroup2. */
int svt_cgroup2_mount(char *out, size_t n);

/* The cgroup v2 directory a supervise started by us creates its own in
 * ("<cgroup2 mount><our cgroup>"). Returns 0, or -1 without cgroup2. */
int svt_cgroup_parent(char *out, size_t n);

/* Whether a supervise started by us must be able to use the cgroup
 * mechanism: cgroup2 is mounted (at /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid host), our own cgroup directory
 * takes a mkdir and an rmdir, the new directory has cgroup.kill, and
 * cgroup.subtree_control is writable. Where it holds, a refusal of
 * --mechanism cgroup is a bug, not a reason to skip. If not, writes why
 * into why[n] (for the skip message). */
bool svt_cgroup2_writable(char *why, size_t n);

#endif
