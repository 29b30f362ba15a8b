/* find_internal.h - what the files of supervisor/find/ share: the table
 * layout and the /proc readers. Nothing outside supervisor/find/ (and its
 * unit tests) includes this. */
#ifndef SV_FIND_INTERNAL_H
#define SV_FIND_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/platform.h"
#include "supervise/sv_find.h"

/* Per-match signalling state. `fd` is the handle opened by the first
 * sv_find_signal(): a pidfd when `is_pidfd`, else an O_PATH-less directory fd
 * on /proc/<pid>; -1 before that and after the process was seen gone. */
typedef struct sv__find_kill {
        int fd;
        bool is_pidfd;
        sv_find_status st;
} sv__find_kill;

struct sv_find_table {
        sv_find_proc *procs;    /* every process read, sorted by pid */
        size_t nprocs;
        size_t *match;          /* indexes into procs of the matches, ascending */
        size_t nmatch;
        sv__find_kill *kill;    /* nmatch entries once signalling started, else NULL */
        int proc_fd;            /* open /proc directory, for lazy reads */
        unsigned flags;         /* the filter's flags */
};

/* Parses the text of /proc/<pid>/stat: sv__proc_parse_stat (platform.h),
 * under the name the fuzz target and the tests know. */
int sv__find_parse_stat(const char *buf, size_t len, sv__stat *out);

/* Reads and parses <dirfd>/<path> where path is "stat" or "<pid>/stat".
 * Returns 0, UV_ESRCH when the process is gone (ENOENT/ESRCH at any step),
 * or another negative error. */
int sv__find_read_stat(int dirfd, const char *path, sv__stat *out);

/* Reads a whole small /proc file into a new NUL-terminated buffer. Returns
 * the length (0 is valid: empty) and stores the buffer, or a negative error
 * (UV_ESRCH when gone). */
ssize_t sv__find_read_file(int dirfd, const char *path, char **out);

/* Reads the effective uid from <proc_fd>/<pid>/status. */
int sv__find_read_euid(int proc_fd, pid_t pid, uid_t *out);

/* The real and effective uid and the real gid, from the same file. */
typedef struct sv__ids {
        uid_t ruid, euid;
        gid_t rgid;
} sv__ids;

int sv__find_read_ids(int proc_fd, pid_t pid, sv__ids *out);

/* Socket inodes on `port` from /proc/net/{tcp,tcp6,udp,udp6}, sorted. */
typedef struct sv__inodes {
        uint64_t *v;
        size_t n, cap;
} sv__inodes;

int sv__find_port_inodes(uint16_t port, unsigned protos, bool any_socket, sv__inodes *out);

/* Returns 1 if an fd of process `pid` is a socket whose inode is in `set`,
 * 0 if none is, or a negative error (UV_EACCES, UV_ESRCH). */
int sv__find_owns_inode(int proc_fd, pid_t pid, const sv__inodes *set);

/* The snapshot's entry for `pid`, or NULL. */
const sv_find_proc *sv__find_lookup(const sv_find_table *t, pid_t pid);

/* Reads the effective uid and the command line of `p` if not done yet. A
 * vanished process keeps has_uid false and cmdline NULL; only UV_ENOMEM is
 * returned as an error. */
int sv__find_load_details(sv_find_table *t, sv_find_proc *p);

/* Milliseconds per clock tick conversion and the boot-relative clock. */
uint64_t sv__find_now_boot_ms(void);
uint64_t sv__find_ticks_to_ms(uint64_t ticks);

#endif
