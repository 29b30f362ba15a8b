/* linux.h - what the files of platform/linux share and nothing outside may
 * use: the child-side exec and signal set of spawn.c, which pidns.c reuses
 * for the worker it starts inside a PID namespace. */
#ifndef SV_PLATFORM_LINUX_H
#define SV_PLATFORM_LINUX_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "platform/platform.h"

/* Code that runs in a clone child on a stack the sanitizers never saw; it
 * calls only system calls and string functions on memory prepared for it,
 * so it stays uninstrumented. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define SV_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
/* Appends the whitespace-separated pids of a file (a children file,
 * cgroup.procs) to the growing array *v (file.c). */
int sv__linux_append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap);

#endif
/* Appends the whitespace-separated pids of a file (a children file,
 * cgroup.procs) to the growing array *v (file.c). */
int sv__linux_append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap);

#endif
#ifndef SV_CHILD_CODE
#define SV_CHILD_CODE
/* Appends the whitespace-separated pids of a file (a children file,
 * cgroup.procs) to the growing array *v (file.c). */
int sv__linux_append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap);

#endif

/* The signals our own parent left ignored: a child resets them to SIG_DFL
 * before exec, since execve keeps ignored signals ignored. */
const sigset_t *sv__linux_ignored_at_start(void);

/* execvpe without malloc, for a child between clone and exec: returns the
 * errno to report if no exec worked. Async-signal-safe. */
int sv__linux_child_exec(const sv__spawn_req *req);

/* sv__plat_spawn for req->pidns (pidns.c). */
int sv__linux_pidns_spawn(const sv__spawn_req *req, sv__spawn_res *out);

/* Appends the whitespace-separated pids of a file (a children file,
 * cgroup.procs) to the growing array *v (file.c). */
int sv__linux_append_pid_file(const char *path, pid_t **v, size_t *cnt, size_t *cap);

/* Writes "uid uid 1" and "gid gid 1" as the id maps of the user namespace
 * the caller has just entered, setgroups denied first (pidns_init.c).
 * Async-signal-safe; 0, or -1 with errno. */
int sv__linux_write_id_maps(uid_t uid, gid_t gid);

/* ---- Isolation (isolate.c) ---- */

/* The clone/unshare flags of the namespaces `isolate` asks for. */
int sv__linux_isolate_clone_flags(unsigned isolate);

/* In a child that is already in its new namespaces: loopback up, a fresh
 * /tmp (keeping the entries of the old one that hold the working directory
 * and `prog`, an absolute path or NULL). Async-signal-safe; 0 or the errno
 * of the step that failed. */
int sv__linux_isolate_setup(unsigned isolate, const char *prog);

/* In a child between clone and exec: unshare the namespaces (inside a
 * new user namespace mapping only uid and gid, with `userns`), then
 * sv__linux_isolate_setup. Async-signal-safe; 0 or an errno. */
int sv__linux_isolate_enter(unsigned isolate, bool userns, uid_t uid, gid_t gid, const char *prog);

/* After a successful sv__plat_isolate_probe: 1 if the namespaces need a
 * user namespace around them, 0 if we make them directly; or the probe's
 * negative error. */
int sv__linux_isolate_userns(unsigned isolate);

#endif
