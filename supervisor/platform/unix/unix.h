/* unix.h - what the files of platform/unix share and nothing outside may
 * use: the child-side exec and signal set of spawn.c, which pidns.c reuses
 * for the worker it starts inside a PID namespace. */
#ifndef SV_PLATFORM_UNIX_H
#define SV_PLATFORM_UNIX_H

#include <signal.h>

#include "platform/platform.h"

/* Code that runs in a clone child on a stack the sanitizers never saw; it
 * calls only system calls and string functions on memory prepared for it,
 * so it stays uninstrumented. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define SV_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
#endif
#endif
#ifndef SV_CHILD_CODE
#define SV_CHILD_CODE
#endif

/* The signals our own parent left ignored: a child resets them to SIG_DFL
 * before exec, since execve keeps ignored signals ignored. */
const sigset_t *sv__unix_ignored_at_start(void);

/* execvpe without malloc, for a child between clone and exec: returns the
 * errno to report if no exec worked. Async-signal-safe. */
int sv__unix_child_exec(const sv__spawn_req *req);

/* sv__plat_spawn for req->pidns (pidns.c). */
int sv__unix_pidns_spawn(const sv__spawn_req *req, sv__spawn_res *out);

#endif
