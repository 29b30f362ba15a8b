/* sv.h - the public interface of libsv, the library under `supervise`.
 *
 * A supervisor runs on a libuv loop (its own, or the caller's), spawns worker
 * processes from an argv (never through a shell), signals them without ever
 * hitting a recycled pid, stops them through an escalation ladder, and reports
 * how each one ended, with its resource usage.
 *
 * Threading: every function must be called from the thread that runs the
 * loop. Callbacks run on that thread, from inside uv_run().
 *
 * Errors: functions return 0 (or a count) on success and a negative libuv
 * error code (UV_ENOENT, UV_EINVAL, ...) on failure.
 *
 * Compiling: `pkg-config --cflags --libs supervise`, or find_package(supervise)
 * and supervise::sv in CMake, give everything needed, including
 * -D_POSIX_C_SOURCE=200809L: uv.h uses POSIX types (pthread_rwlock_t) that
 * glibc hides under a strict -std=c11 unless a POSIX level is asked for.
 * Any POSIX level from 2001 up (or _DEFAULT_SOURCE, _GNU_SOURCE) will do.
 * The library's own lifecycle and ownership rules: libsv(3). */
#ifndef SUPERVISE_SV_H
#define SUPERVISE_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Say what is wrong here rather than let uv.h fail on an unknown type. */
#if defined(__GLIBC__) && (!defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200112L)
#error "supervise/sv.h needs POSIX 2001 or later: compile with -D_POSIX_C_SOURCE=200809L (pkg-config --cflags supervise has it)"
#endif

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SV_VERSION_STRING "0.2.0"

typedef struct sv_supervisor sv_supervisor; /* opaque */
typedef struct sv_worker sv_worker;         /* opaque; owned by the supervisor */

/* ---- Signals and durations: the parsing the CLI and callers share. ---- */

/* Returns the signal number for "INT", "SIGINT", "int" or "2"; 0 is accepted
 * only as a number ("0"). Returns UV_EINVAL for anything else. "BREAK" (or
 * "SIGBREAK") is valid everywhere: on Windows it is SIGBREAK, sent as
 * CTRL_BREAK_EVENT to the worker's process group; elsewhere, which has no
 * such event, it is SIGTERM, the polite stop there. So a ladder like
 * "BREAK:5s,KILL" means "ask politely, then kill" on every platform. */
int sv_signal_parse(const char *s);

/* Returns "SIGINT" for 2, or NULL if `sig` is not a signal we know by name.
 * The string is static. */
const char *sv_signal_name(int sig);

/* The one signal namer for reports: "SIGKILL", "SIGRTMIN+2", "SIGRTMAX-1"
 * (the halves of `kill -l`, so that sv_signal_parse reads every name back),
 * else "SIG<n>". Writes buf (at least 16 bytes) and returns it; never NULL. */
const char *sv_signal_name_r(int sig, char buf[16]);

/* The name of a Windows NTSTATUS exit code a user meets when a program
 * crashes or is interrupted: "STATUS_ACCESS_VIOLATION" for 0xC0000005
 * (sv_exit_info.code holds it as a negative int, as cmd.exe's %ERRORLEVEL%
 * shows it), "STATUS_CONTROL_C_EXIT" for 0xC000013A. NULL for any other
 * code, so for every exit status of a POSIX system (0-255). Static. */
const char *sv_ntstatus_name(uint32_t code);

/* Parses a duration into milliseconds, rounded up to whole milliseconds: a
 * number as strtod(3) writes it without sign ("10", "1.5", ".5", "1e-1",
 * "2E3") followed by a unit (ms, s, m, h, d; none: seconds, as for sleep(1)
 * and timeout(1)), or "inf"/"infinity" (any case, unit allowed). Infinity and
 * values too large for 64 bits give SV_DURATION_INF. Rejects negatives,
 * signs, spaces, hex, "nan", unknown units and trailing garbage with
 * UV_EINVAL. *out is written only on success. */
int sv_duration_parse(const char *s, uint64_t *out_ms);

/* "Forever": as a timeout or a grace period it never runs out in practice
 * (it is 584 million years). */
#define SV_DURATION_INF UINT64_MAX

/* ---- Stop ladders. ---- */

#define SV_LADDER_MAX 8

typedef struct sv_stop_step {
        int signal;        /* e.g. SIGTERM */
        uint64_t grace_ms; /* wait this long for the tree to end before the next step */
} sv_stop_step;

/* A ladder is walked step by step until the worker's tree is gone. The last
 * step's signal should be SIGKILL; if it is not, SIGKILL is sent after the
 * last grace anyway, so a stop always ends. */
typedef struct sv_ladder {
        unsigned count;
        sv_stop_step steps[SV_LADDER_MAX];
} sv_ladder;

/* Parses "INT:5s,TERM:5s,KILL". A step without ":DUR" gets `default_grace_ms`.
 * Returns UV_EINVAL on a bad signal, bad duration or more than SV_LADDER_MAX
 * steps. *out is written only on success. */
int sv_ladder_parse(const char *s, uint64_t default_grace_ms, sv_ladder *out);

/* The default ladder: TERM, 5 s, KILL. */
void sv_ladder_default(sv_ladder *out);

/* ---- Workers. ---- */

typedef enum sv_stdio {
        SV_STDIO_INHERIT = 0, /* the supervisor's own fd */
        SV_STDIO_NULL,        /* /dev/null */
        SV_STDIO_PIPE,        /* a pipe to the supervisor; data goes to on_output */
        SV_STDIO_COUNT
} sv_stdio;

typedef enum sv_worker_state {
        SV_WORKER_RUNNING,  /* pid valid, no stop in progress */
        SV_WORKER_STOPPING, /* walking the stop ladder; pid valid until reaped */
        SV_WORKER_EXITED,   /* reaped; pid no longer ours; never signalled again */
        SV_WORKER_STATE_COUNT
} sv_worker_state;

/* A process of a worker's tree, as read from /proc. */
typedef struct sv_proc {
        pid_t pid;
        pid_t ppid;
        pid_t pgid;
        char state;     /* 'R', 'S', 'Z', ... */
        char comm[16];
} sv_proc;

/* What to do with descendants still alive when a worker exits by itself. */
typedef enum sv_leaks {
        SV_LEAKS_KILL = 0, /* kill them and report them (the default) */
        SV_LEAKS_REPORT,   /* report them and leave them running */
        SV_LEAKS_FAIL,     /* kill and report them, and count the worker as failed */
        SV_LEAKS_IGNORE,   /* neither report nor kill */
        SV_LEAKS_COUNT
} sv_leaks;

/* Parses "kill", "report", "fail" or "ignore". Returns 0 and writes *out,
 * or UV_EINVAL. */
int sv_leaks_parse(const char *s, sv_leaks *out);

/* A leaked descendant: its pid and command line. */
typedef struct sv_leak {
        pid_t pid;
        char cmdline[240];
} sv_leak;

/* Why a worker ended. */
typedef enum sv_cause {
        SV_CAUSE_EXITED,   /* it exited by itself (any exit code) */
        SV_CAUSE_SIGNALED, /* a signal we did not send: a crash or someone else's kill */
        SV_CAUSE_STOPPED,  /* our stop: sv_worker_stop() or a forwarded signal */
        SV_CAUSE_TIMEOUT,  /* our timeout fired and the stop ladder ended it */
        SV_CAUSE_COUNT
} sv_cause;

/* "exited", "signaled", "stopped", "timeout". */
const char *sv_cause_name(sv_cause c);

/* How a worker's whole tree is contained and killed. */
typedef enum sv_mechanism {
        SV_MECH_CGROUP,  /* a cgroup v2 per worker; cgroup.kill. On Windows: a
                          * job object per worker (TerminateJobObject), named
                          * "job" by sv_mechanism_name() */
        SV_MECH_PROCWALK, /* subreaper + SIGSTOP freeze + /proc walk + process group */
        SV_MECH_PIDNS,   /* a PID namespace per worker, under an init of ours:
                          * the kernel kills the tree with it, even when we are
                          * SIGKILLed. sv_exit_info.pid and sv_worker_pid() are
                          * then the init's: signals sent to it go to the worker,
                          * and SIGKILL to it ends the whole tree. What the worker
                          * leaves behind dies with it at once, whatever the
                          * leaks policy (SV_LEAKS_REPORT cannot leave it running),
                          * and is reported as leaked. */
        SV_MECH_COUNT
} sv_mechanism;

/* "cgroup" ("job" on Windows), "procwalk", "pidns". */
const char *sv_mechanism_name(sv_mechanism m);

typedef struct sv_exit_info {
        pid_t pid;
        bool exited;       /* true: normal exit, `code` is the exit status */
        int code;          /* exit status, or -signal (-9: SIGKILL), Python's convention */
        int signal;        /* terminating signal, 0 if it exited */
        bool core_dumped;
        sv_cause cause;
        uint64_t wall_us;  /* from the sv_spawn call (exec included) to the reap */
        uint64_t user_us;  /* CPU of the worker and the children it waited for */
        uint64_t sys_us;
        uint64_t max_rss_kb;
        int stop_step;        /* ladder step (0-based) whose signal ended it, -1 if none */
        int step_signal;      /* the signal that step sent (a received signal we
                               * forwarded replaces the ladder's first), 0 if none */
        uint64_t timeout_ms;  /* the timeout that fired, 0 if none */
        bool idle;            /* the timeout that fired was the idle timeout */
        sv_mechanism mechanism;
        unsigned leaked;      /* descendants still alive when the worker exited */
        const sv_leak *leaks; /* the first min(leaked, SV_LEAKS_MAX) of them */
        const char *reason;   /* why we stopped it ("timeout", "idle", "stop",
                               * "signal", the caller's word); NULL if we did
                               * not; valid during the callback */
} sv_exit_info;

#define SV_LEAKS_MAX 32

/* Called once, when the worker has been reaped and its tree dealt with.
 * `w` and `info` are valid only during the call; the worker is freed after it
 * returns. The callback may spawn new workers or stop others. */
typedef void (*sv_exit_cb)(sv_worker *w, const sv_exit_info *info, void *userdata);

/* Called with each chunk read from a piped stdout (fd 1) or stderr (fd 2).
 * `len == 0` means end of file. The buffer is valid only during the call. */
typedef void (*sv_output_cb)(sv_worker *w, int fd, const char *buf, size_t len, void *userdata);

/* ---- Lifecycle events ---- */

typedef enum sv_event_type {
        SV_EVENT_SPAWN,   /* started: pid (delivered inside sv_spawn, before it returns) */
        SV_EVENT_TIMEOUT, /* timeout_ms or idle_timeout_ms ran out; the ladder has NOT started */
        SV_EVENT_STEP,    /* a ladder step's signal was just sent to the tree */
        SV_EVENT_LEAKS,   /* the leader exited with descendants alive (policy != IGNORE) */
        SV_EVENT_EXIT,    /* reaped, tree dealt with; same info on_exit gets, right before it */
        SV_EVENT_COUNT
} sv_event_type;

typedef struct sv_event {
        sv_event_type type;
        pid_t pid;             /* the leader */
        uint64_t at_us;        /* since sv_spawn(), the clock of sv_exit_info.wall_us */
        uint64_t timeout_ms;   /* TIMEOUT: the one that ran out */
        bool idle;             /* TIMEOUT: it was idle_timeout_ms */
        int step;              /* STEP: 0-based; == ladder.count past the end (KILL again) */
        int signal;            /* STEP: the signal sent */
        uint64_t grace_ms;     /* STEP: until the next step (deadline = at_us/1000 + grace_ms) */
        sv_cause cause;        /* STEP: SV_CAUSE_STOPPED or SV_CAUSE_TIMEOUT */
        const char *reason;    /* STEP: "timeout", "idle", "stop", "signal" or the caller's word */
        unsigned leaked;       /* LEAKS: how many */
        const sv_leak *leaks;  /* LEAKS: the first min(leaked, SV_LEAKS_MAX) */
        bool leaks_killed;     /* LEAKS: policy KILL or FAIL: they are being killed */
        const sv_exit_info *exit; /* EXIT */
} sv_event;

/* Runs on the loop thread, in this order for a worker: SPAWN once, TIMEOUT at
 * most once, STEP per step sent, LEAKS at most once, EXIT once. `ev` and what
 * it points to are valid only during the call. The callback may call any
 * sv_worker_* on `w`; sv_worker_hold() only during TIMEOUT. */
typedef void (*sv_event_cb)(sv_worker *w, const sv_event *ev, void *userdata);

/* Namespaces of a worker's own (sv_spawn_opts.isolate), so that tests
 * binding fixed ports or writing fixed names under /tmp can run side by
 * side. Root makes them directly; anyone else inside a user namespace that
 * maps only our uid and gid (the worker keeps its ids; files it makes
 * belong to us). The namespaces, and the tmpfs with them, end with the
 * worker's last process; nothing is left mounted. */
enum sv_isolate_flags {
        SV_ISOLATE_NET = 1u << 0, /* a network namespace: only loopback, up */
        SV_ISOLATE_TMP = 1u << 1, /* a mount namespace with a fresh tmpfs on /tmp
                                   * (mode 1777) and TMPDIR=/tmp in the
                                   * environment; a working directory under /tmp
                                   * stays reachable at its path */
};

/* Returns 0 if workers of this process can get the namespaces `isolate`
 * asks for, else why not: UV_EPERM or UV_ENOSPC (not root, and user
 * namespaces are off or used up: see /proc/sys/user/max_user_namespaces),
 * UV_EINVAL (an unknown flag), or the error of the step that failed. The
 * answer comes from a probe process, once per set of flags, and is cached;
 * call it before starting anything, since sv_spawn() with `isolate` fails
 * with the same error. The environment variable
 * SUPERVISE_ISOLATE_NO_USERNS=1 (a test hook) makes user namespaces count
 * as refused. */
int sv_isolate_check(unsigned isolate);

typedef struct sv_spawn_opts {
        const char *const *argv; /* required; argv[0] is searched in PATH if it has no '/' */
        const char *const *env;  /* NULL: inherit ours; copied before sv_spawn returns */
        const char *cwd;         /* NULL: inherit ours */
        sv_stdio stdio[3];       /* zero: inherit all three */
        const sv_ladder *ladder; /* NULL: the supervisor's ladder; copied */
        uint64_t timeout_ms;     /* 0: none; when it fires, the ladder runs */
        uint64_t idle_timeout_ms; /* 0: none; no output on a piped stdout or
                                   * stderr for this long counts as hung, and
                                   * the ladder runs (cause SV_CAUSE_TIMEOUT) */
        sv_leaks leaks;          /* descendants alive at exit; zero: SV_LEAKS_KILL */
        sv_exit_cb on_exit;      /* may be NULL */
        sv_output_cb on_output;  /* needed if any stdio is SV_STDIO_PIPE */
        void *userdata;          /* passed back untouched */
        unsigned isolate;        /* enum sv_isolate_flags; 0: none */
        sv_event_cb on_event;    /* lifecycle events; NULL: none. Stays the
                                  * last member, so that zeroed options and
                                  * positional initialisers keep working. */
} sv_spawn_opts;

/* Starts a worker in its own process group. Before exec the child resets its
 * signal mask and dispositions, sets SIGKILL as its parent-death signal,
 * gets back the soft RLIMIT_NOFILE the process started with (the library
 * raises ours to the hard limit), and closes every fd but its stdio.
 * Returns 0 and stores the worker in *out (out may be NULL); the worker
 * stays valid until its on_exit callback has returned, and on_exit always
 * runs once. On failure, including a failure of the child before exec
 * (UV_ENOENT: not found, UV_EACCES: not executable, UV_EMFILE, UV_ENFILE,
 * UV_EAGAIN: a process limit, UV_ENOMEM), returns the negative error, leaves
 * *out untouched, and on_exit never runs. A child that started but could
 * not be watched (its exit would never be reported: the wait set refused
 * its pidfd) is killed and reaped, with its cgroup, before that error is
 * returned: a 0 return always means an exit will be reported. */
int sv_spawn(sv_supervisor *sv, const sv_spawn_opts *opts, sv_worker **out);

/* Sends `sig` to the worker's leader only, through a pidfd where the kernel
 * has one, so it never reaches a recycled pid. Returns UV_ESRCH once the
 * worker has been reaped. */
int sv_worker_kill(sv_worker *w, int sig);

/* Sends `sig` to the worker's whole tree: its process group and every
 * descendant that left it. Returns UV_ESRCH once the worker has been reaped. */
int sv_worker_kill_tree(sv_worker *w, int sig);

/* Starts the worker's stop ladder (the one given at spawn). Stopping a worker
 * already stopping does nothing and returns 0; UV_ESRCH after reap. */
int sv_worker_stop(sv_worker *w);

/* As sv_worker_stop, but the first step sends `sig` instead of the
 * ladder's first signal (0: the ladder's own). Used to forward a signal we
 * received and then escalate if it is not enough. */
int sv_worker_stop_signal(sv_worker *w, int sig);

/* Only inside an SV_EVENT_TIMEOUT callback: don't start the ladder when the
 * callback returns. The worker runs on (sv_worker_state_of: RUNNING), its
 * timeout spent, until sv_worker_stop*() starts the ladder, or it exits. Either
 * way the exit's cause is SV_CAUSE_TIMEOUT. Returns 0, or UV_EINVAL outside
 * that callback. Lets a caller take diagnostics that need time (a debugger)
 * before the first signal. */
int sv_worker_hold(sv_worker *w);

typedef struct sv_stop_opts {
        int signal;         /* first step's signal; 0: the ladder's own */
        sv_cause cause;     /* SV_CAUSE_STOPPED or SV_CAUSE_TIMEOUT; 0 (EXITED): STOPPED */
        const char *reason; /* one word for reports, copied (up to 31 bytes); NULL: "stop" */
} sv_stop_opts;

/* Starts the ladder with `o` (NULL: all defaults). The first stop's cause and
 * reason are what the exit record and STEP events carry; a later stop, or a
 * stop of a held worker, keeps them (a held worker's are TIMEOUT/"timeout" or
 * "idle"). Already stopping: nothing, 0. UV_ESRCH after reap; UV_EINVAL for
 * another cause. sv_worker_stop(w) == sv_worker_stop_with(w, NULL);
 * sv_worker_stop_signal(w, sig) == { sig, SV_CAUSE_STOPPED, "signal" }. */
int sv_worker_stop_with(sv_worker *w, const sv_stop_opts *o);

unsigned sv_worker_id(const sv_worker *w); /* 0, 1, 2... in spawn order */
pid_t sv_worker_pid(const sv_worker *w);
pid_t sv_worker_pgid(const sv_worker *w);
sv_worker_state sv_worker_state_of(const sv_worker *w);
void *sv_worker_userdata(const sv_worker *w);


/* Lists the worker's live descendants (not the worker itself) into a new
 * array the caller frees with free(). Returns the count, or a negative error. */
int sv_worker_descendants(const sv_worker *w, sv_proc **out);

/* ---- The supervisor. ---- */

enum sv_supervisor_flags {
        /* Never use cgroups, even where writable: the /proc walk fallback. */
        SV_SUPERVISOR_NO_CGROUP = 1u << 0,
        /* Don't become a child subreaper (leave orphans to init). */
        SV_SUPERVISOR_NO_SUBREAPER = 1u << 1,
        /* Don't fork the guardian that kills our trees if we are SIGKILLed.
         * Implied as PID 1 of a PID namespace, whose death the kernel turns
         * into the death of every process in it. A guardian that dies is
         * replaced at once (the log says so). */
        SV_SUPERVISOR_NO_GUARDIAN = 1u << 2,
        /* The program exits right after sv_supervisor_free(): the guardian
         * is told we are done but not waited for; it exits at once, and
         * whoever reaps our orphans reaps it. Saves the wait at exit. */
        SV_SUPERVISOR_EXIT_AFTER_FREE = 1u << 3,
        /* Contain each worker in a PID namespace (SV_MECH_PIDNS) even where
         * cgroups are writable. Where the kernel refuses one, the /proc
         * walk: check sv_supervisor_mechanism(). */
        SV_SUPERVISOR_PIDNS = 1u << 4,
};

typedef void (*sv_log_cb)(const char *msg, void *userdata);

typedef struct sv_supervisor_opts {
        uv_loop_t *loop;       /* NULL: the supervisor owns a loop of its own */
        sv_ladder ladder;      /* count 0: sv_ladder_default() */
        unsigned flags;        /* enum sv_supervisor_flags */
        sv_log_cb log;         /* debug log of every state change; may be NULL */
        void *log_userdata;
} sv_supervisor_opts;

/* Creates a supervisor. The supervisor reaps its own workers, and, as child
 * subreaper, every orphan reparented to this process; it never reaps a child
 * it did not start or adopt (a uv_spawn child of the same process is safe).
 * The mechanism: a cgroup per worker where cgroup v2 is writable, else a PID
 * namespace per worker where the kernel allows one (as an ordinary user, with
 * a user namespace), else the /proc walk. SV_SUPERVISOR_NO_CGROUP means the
 * /proc walk, SV_SUPERVISOR_PIDNS a PID namespace. The environment variable
 * SUPERVISE_MECHANISM=procwalk (or =pidns) forces the same.
 * As PID 1 of a PID namespace (a container's
 * entrypoint) it reaps every orphan of the namespace as soon as it exits.
 * Its cgroup directory is named so that no other supervisor, in any PID
 * namespace, shares it, and is locked for the supervisor's life; only
 * unlocked, empty ones of other supervisors are ever removed. */
int sv_supervisor_new(const sv_supervisor_opts *opts, sv_supervisor **out);

uv_loop_t *sv_supervisor_loop(sv_supervisor *sv);
sv_mechanism sv_supervisor_mechanism(const sv_supervisor *sv);

/* Runs the loop until no worker is left (and, for the caller's loop, until
 * uv_run returns). Returns uv_run's result. */
int sv_supervisor_run(sv_supervisor *sv);

/* Starts every live worker's stop ladder. Returns how many were started. */
int sv_supervisor_stop_all(sv_supervisor *sv);

/* Sends `sig` to every live worker's leader; returns how many it reached. */
int sv_supervisor_kill_all(sv_supervisor *sv, int sig);

/* Calls fn for each live worker, in spawn order. fn must not free workers. */
void sv_supervisor_foreach(sv_supervisor *sv, void (*fn)(sv_worker *w, void *arg), void *arg);

unsigned sv_supervisor_live(const sv_supervisor *sv);

/* Frees the supervisor. Live workers are SIGKILLed with their trees and
 * reaped first (this blocks). Closes every handle it opened; if it owns its
 * loop, closes that too. Accepts NULL. */
void sv_supervisor_free(sv_supervisor *sv);

/* ---- Describing exits. ---- */

enum sv_describe_flags {
        SV_DESCRIBE_STEP = 1u << 0,  /* ", ended at step N (SIG)" when a ladder step ended it */
        SV_DESCRIBE_MECH = 1u << 1,  /* ", tree stopped via cgroup" when we stopped it */
        SV_DESCRIBE_LEAKS = 1u << 2, /* ", N processes left behind" when some were */
};

/* The one line for people saying how a worker ended: "exit code 3" or
 * "killed by SIGSEGV (-11), core dumped", after "timed out after 1.500 s; ",
 * "no output after 1.500 s; " (an idle timeout) or "stopped by supervise
 * (reason); " ("stopped by supervise; " without a reason) when the cause
 * says so, then the parts `flags` (enum sv_describe_flags) ask for. Writes at most n bytes into buf, NUL included (buf may be NULL
 * when n is 0), and returns the length the whole line needs, as snprintf(3)
 * does. */
size_t sv_exit_describe(const sv_exit_info *e, unsigned flags, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
