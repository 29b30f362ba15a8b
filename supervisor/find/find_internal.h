/* find_internal.h - what the files of supervisor/find/ share: the table
 * layout (the OS readers are platform.h's sv__ptab_* and sv__phandle_*).
 * Nothing outside supervisor/find/ (and its unit tests) includes this. */
#ifndef SV_FIND_INTERNAL_H
#define SV_FIND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/platform.h"
#include "supervise/sv_find.h"

/* Per-match signalling state. `h` is the handle opened by the first
 * sv_find_signal() (sv__phandle_open: a pidfd, a /proc/<pid> directory fd,
 * or a Windows process handle); h.v < 0 before that and after the process
 * was seen gone. */
typedef struct sv__find_kill {
        sv__phandle h;
        sv_find_status st;
} sv__find_kill;

struct sv_find_table {
        sv_find_proc *procs;    /* every process read, sorted by pid */
        size_t nprocs;
        size_t *match;          /* indexes into procs of the matches, ascending */
        size_t nmatch;
        sv__find_kill *kill;    /* nmatch entries once signalling started, else NULL */
        sv__ptab *pt;           /* the platform's scan state, for lazy reads (may be NULL) */
        unsigned flags;         /* the filter's flags */
};

/* The snapshot's entry for `pid`, or NULL. */
const sv_find_proc *sv__find_lookup(const sv_find_table *t, pid_t pid);

/* Reads the effective uid and the command line of `p` if not done yet. A
 * vanished process keeps has_uid false and cmdline NULL; only UV_ENOMEM is
 * returned as an error. */
int sv__find_load_details(sv_find_table *t, sv_find_proc *p);

/* Sets desc[i] for every descendant of the roots (indexes into t->procs),
 * not the roots themselves unless one descends from another. A process
 * whose "parent" started after it is not that parent's child: the pid was
 * recycled. desc has t->nprocs entries, zeroed by the caller. 0 or
 * UV_ENOMEM. */
int sv__find_mark_descendants(const sv_find_table *t, const size_t *roots, size_t nroots, bool *desc);

#endif
