/* sv_find.h - find processes anywhere on the system and signal them safely.
 *
 * The library under `supervise ps` and `supervise kill`: one scan of /proc
 * (Windows: a Toolhelp32 snapshot) builds a snapshot of the process table, a filter (every criterion ANDed)
 * marks the matches, and the matches can then be listed, drawn as a tree,
 * signalled and waited for.
 *
 * Safety, always on:
 *  - The calling process and every one of its ancestors are never matched, so
 *    a command line that contains the pattern cannot kill the shell that runs
 *    it (the `pkill -f` trap).
 *  - Pid 1 and kernel threads are matched (they can be listed) but never
 *    signalled: sv_find_signal() reports them as SV_FIND_REFUSED. On Windows
 *    pid 0 (Idle) and 4 (System) count as kernel threads.
 *  - Signals are pid-reuse safe: a handle (a pidfd, or a /proc/<pid>
 *    directory fd where pidfd_open() is missing; Windows: a process handle)
 *    is opened first, the process's start time (Windows: creation time and
 *    image name) is re-read after that and compared with the snapshot, and
 *    the signal goes through the same handle. On Windows every signal is
 *    TerminateProcess with exit code 1, as `taskkill /f`.
 *
 * Nothing here prints, exits or reads argv. Errors are negative libuv codes
 * (UV_EINVAL, UV_ENOMEM, ...), as in sv.h. Not thread-safe: use a table from
 * one thread at a time. */
#ifndef SUPERVISE_SV_FIND_H
#define SUPERVISE_SV_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(_WIN32) && !defined(SV_HAVE_UID_T)
/* Windows has no uids: the uid fields stay unused there and
 * sv_find_proc.user names the account instead. */
#define SV_HAVE_UID_T 1
typedef int uid_t;
typedef int gid_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum sv_find_flags {
        /* The regex matches the whole command line (arguments joined by
         * spaces), not just the name. An empty command line (kernel thread,
         * zombie) is matched as "[name]". */
        SV_FIND_FULL = 1u << 0,
        /* With `parent`: every descendant of it, not only its children. */
        SV_FIND_TREE = 1u << 1,
        /* With `port`: owners of any socket whose local or remote port is
         * `port` (clients included), not only of listening ones. */
        SV_FIND_ANY_SOCKET = 1u << 2,
        /* Don't read the user and command line of each match: for counting
         * and killing, where only pid and name are shown. */
        SV_FIND_NO_DETAILS = 1u << 3,
        /* The regex ignores case (REG_ICASE). */
        SV_FIND_ICASE = 1u << 4,
        /* Invert: match every process the other criteria do NOT match
         * (pgrep -v). We and our ancestors stay out all the same. */
        SV_FIND_INVERT = 1u << 5,
        /* Keep only the most recently started match (pgrep -n); of those
         * started in the same clock tick, the highest pid. */
        SV_FIND_NEWEST = 1u << 6,
        /* Keep only the least recently started match (pgrep -o); of those
         * started in the same clock tick, the lowest pid. */
        SV_FIND_OLDEST = 1u << 7,
        /* Also match every descendant of each match, as `taskkill /t` does.
         * A child counts only if it started no earlier than its parent, so
         * a parent pid recycled by a newer process adopts no strangers. */
        SV_FIND_DESCENDANTS = 1u << 8,
};

/* A list criterion (pgrep's -u, -U, -G, -P, -g, -s, -t): a process matches if
 * its value is any of v[0..n-1]; n == 0 means no constraint. */
typedef struct sv_find_list {
        const int64_t *v;
        size_t n;
} sv_find_list;

enum sv_find_proto {
        SV_FIND_TCP = 1u << 0,
        SV_FIND_UDP = 1u << 1,
};

/* What to match. Zero means "no constraint" for every field, so
 * SV_FIND_FILTER_INIT matches every process (but us and our ancestors). */
typedef struct sv_find_filter {
        const char *name;          /* exact name; see sv_find_scan() for long names */
        const char *regex;         /* POSIX ERE on the name (SV_FIND_FULL: command line) */
        const pid_t *pids;         /* only these pids; each must be > 1 */
        size_t npids;
        pid_t parent;              /* only children (SV_FIND_TREE: descendants) of this pid */
        bool has_uid;              /* only processes whose effective uid is `uid` */
        uid_t uid;
        uint64_t older_than_ms;    /* age >= this */
        uint64_t younger_than_ms;  /* age < this */
        uint16_t port;             /* only owners of a socket on this port */
        unsigned protos;           /* enum sv_find_proto; 0: tcp and udp */
        unsigned flags;            /* enum sv_find_flags */
        sv_find_list euids;        /* effective uid in the list */
        sv_find_list ruids;        /* real uid */
        sv_find_list rgids;        /* real gid */
        sv_find_list ppids;        /* parent pid */
        sv_find_list pgrps;        /* process group */
        sv_find_list sids;         /* session */
        sv_find_list ttys;         /* controlling terminal, as tty_nr in
                                    * /proc/<pid>/stat (0: none) */
        const char *user;          /* only processes whose owner's account is
                                    * this name: "DOMAIN\\user", or "user" in
                                    * any domain; case-insensitive on Windows */
} sv_find_filter;

#define SV_FIND_FILTER_INIT { 0 }

/* One process of the snapshot. Strings are owned by the table. */
typedef struct sv_find_proc {
        pid_t pid;
        pid_t ppid;
        pid_t pgrp;              /* process group */
        pid_t sid;               /* session */
        int tty_nr;              /* controlling terminal (0: none), encoded as in proc(5) */
        char state;              /* 'R', 'S', 'D', 'Z', ... as in /proc/<pid>/stat */
        bool kthread;            /* a kernel thread (no command line, unkillable) */
        bool matched;            /* in the filter's result (false: tree context only) */
        bool has_uid;            /* `uid` was read (details were loaded) */
        uid_t uid;               /* effective uid */
        uint64_t start_ticks;    /* start time in clock ticks after boot (Windows: creation
                                  * time in 100 ns units, 0 if unreadable): with pid, the identity */
        uint64_t age_ms;         /* at scan time */
        uint64_t rss_kb;
        char name[64];           /* the kernel's name (comm): raw bytes, may hold
                                  * spaces, parentheses, newlines, invalid UTF-8 */
        const char *cmdline;     /* argv as NUL-separated strings, or NULL (not
                                  * loaded, kernel thread, zombie, unreadable) */
        size_t cmdline_len;      /* bytes in cmdline, the last NUL included */
        const char *user;        /* the owner's account name ("DOMAIN\\user") where
                                  * the OS names owners instead of numbering
                                  * them (Windows), else NULL */
} sv_find_proc;

typedef struct sv_find_table sv_find_table; /* opaque snapshot */

/* Checks a filter without scanning: a regex that does not compile, a pid
 * below 2 in `pids` or `parent` below 0. Returns 0, or UV_EINVAL and writes a
 * one-line reason (no trailing newline) into msg[0..msg_len-1]. */
int sv_find_filter_check(const sv_find_filter *f, char *msg, size_t msg_len);

/* Reads the process table and applies `f`. A process that vanishes while it
 * is being read is left out; a file we may not read (another user's fd
 * directory for `port`) makes that process not match. A `name` longer than
 * the kernel's 15-byte limit matches a process whose name is the first 15
 * bytes and whose argv[0] or executable has `name` as its basename.
 * Returns 0 and stores a new table in *out, which the caller frees with
 * sv_find_table_free(); UV_EINVAL for a filter sv_find_filter_check()
 * rejects; or another negative error (reading /proc failed, no memory). */
int sv_find_scan(const sv_find_filter *f, sv_find_table **out);

/* The number of matches. */
size_t sv_find_count(const sv_find_table *t);

/* The i-th match (0 <= i < sv_find_count(t)), in ascending pid order. The
 * pointer stays valid until the table is freed. */
const sv_find_proc *sv_find_get(const sv_find_table *t, size_t i);

/* One line of a tree drawing, in pre-order (a parent before its children,
 * siblings by pid). */
typedef struct sv_find_row {
        const sv_find_proc *proc;
        unsigned depth;  /* 0 for a root */
        bool last;       /* the last of its siblings */
} sv_find_row;

/* Builds the forest of the matches and all their ancestors (like pstree for
 * that set), loading the details of the ancestors unless the scan had
 * SV_FIND_NO_DETAILS. Ancestors have matched == false. Returns the number of
 * rows and stores a new array in *out, which the caller frees with free(); a
 * table without matches gives 0 rows and *out = NULL. Negative on error,
 * *out untouched. */
int sv_find_tree(sv_find_table *t, sv_find_row **out);

typedef enum sv_find_outcome {
        SV_FIND_PENDING,   /* not signalled yet */
        SV_FIND_SIGNALLED, /* the last signal was delivered */
        SV_FIND_GONE,      /* it ended (or its pid now names another process) before the signal */
        SV_FIND_REFUSED,   /* pid 1 or a kernel thread: never signalled */
        SV_FIND_FAILED,    /* the signal could not be sent; `err` says why (UV_EPERM, ...) */
        SV_FIND_OUTCOME_COUNT
} sv_find_outcome;

/* "pending", "signalled", "gone", "refused", "failed". */
const char *sv_find_outcome_name(sv_find_outcome o);

typedef struct sv_find_status {
        sv_find_outcome outcome;
        int err;          /* with SV_FIND_FAILED: the negative error */
        int signal;       /* the last signal delivered, 0 if none */
        bool exited;      /* sv_find_wait() saw it end */
} sv_find_status;

/* Sends `sig` to every match whose outcome is PENDING or SIGNALLED, pid-reuse
 * safely (see the top of this file). The first call opens a handle per match
 * and keeps it until the table is freed, so a later call (escalation) and
 * sv_find_wait() reach exactly the same processes. A failure on one process
 * is recorded in its status and never stops the others. Returns how many
 * processes this call delivered `sig` to. */
int sv_find_signal(sv_find_table *t, int sig);

/* Stores the status of the i-th match in *out. */
void sv_find_status_get(const sv_find_table *t, size_t i, sv_find_status *out);

/* Waits until every SIGNALLED match has ended (become a zombie or been
 * reaped), at most `timeout_ms` (negative: no limit). Uses poll() on the
 * pidfds, or re-reads each process's stat through its /proc handle with a
 * short backoff where there are none. Returns how many are still alive (0:
 * all gone), or a negative error. */
int sv_find_wait(sv_find_table *t, int64_t timeout_ms);

/* Closes every handle and frees the table. Accepts NULL. */
void sv_find_table_free(sv_find_table *t);

#ifdef __cplusplus
}
#endif
#endif
