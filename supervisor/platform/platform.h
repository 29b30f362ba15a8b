/* platform.h - what libsv needs from the operating system, and nothing
 * more. core/, find/ and run/ never spawn, wait, signal or read /proc
 * themselves (tests/layering.sh checks): they go through these sv__plat_*,
 * sv__proc_* and sv__cg_* functions, which platform/linux and platform/posix
 * (and one day platform/win) implement. */
#ifndef SV_PLATFORM_H
#define SV_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "platform/compat.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"

#define SV_CG_MAX 512

/* Everything the child needs between clone and exec, prepared by the parent
 * so that the child allocates nothing. */
typedef struct sv__spawn_req {
        const char *const *argv;
        const char *const *envp;  /* never NULL: the parent resolves "inherit" */
        const char *path;         /* PATH to search if argv[0] has no '/' */
        const char *cwd;          /* may be NULL */
        int stdio_fd[3];          /* fd to dup2 onto 0..2, or -1 to inherit */
        const char *cgroup;       /* the cgroup directory to start in, or NULL;
                                   * opened only for the spawn */
        bool want_pidfd;
        bool pidns;               /* in a PID namespace of its own, under our init (pidns.c) */
        unsigned isolate;         /* enum sv_isolate_flags: namespaces of its own (isolate.c);
                                   * sv__plat_isolate_probe said yes to them */
} sv__spawn_req;

typedef struct sv__spawn_res {
        pid_t pid;
        int pidfd; /* -1 when the kernel gave none */
        int nsfd;  /* with req->pidns: where the init reports the worker's end; the
                    * caller sets -1 before the call, and only pidns.c writes it */
} sv__spawn_res;

/* Process-wide preparation, done once: make fds 0..2 valid, ignore SIGPIPE,
 * raise RLIMIT_NOFILE, remember which signals we inherited as ignored. */
void sv__plat_init_process(void);

/* 0 if `want` more fds can be opened now, else UV_EMFILE (or the error of
 * the open that failed). libuv aborts the process when its loop cannot get
 * its pipes, so a supervisor checks before it makes a loop. */
int sv__plat_fds_available(int want);

/* Creates the child with clone(CLONE_VM|CLONE_VFORK), so its cost does not
 * grow with our memory. Returns 0 when the child has exec'd, or the negative
 * error of whatever failed in the child before exec (the child is reaped). */
int sv__plat_spawn(const sv__spawn_req *req, sv__spawn_res *out);

/* Closes an int handle an sv__plat_* call gave out: a pidfd, a wait set, a
 * timer, an nsfd. On Linux these are fds (close(2)); on Windows, slots of
 * platform/win's handle table, which close(2) must never see. */
void sv__plat_close(int fd);

/* The null device, open for reading and writing and not inherited: an fd
 * for sv__spawn_req.stdio_fd. Returns the fd or a negative error. */
int sv__plat_open_devnull(void);

/* A pipe for a worker's output, neither end inherited: fds[0] is the read
 * end (for uv_pipe_open), fds[1] the end a child gets as stdout or stderr.
 * Returns 0 or a negative error. */
int sv__plat_pipe(int fds[2]);

/* Waits until fd can be written to (a non-blocking fd we inherited said
 * EAGAIN). */
void sv__plat_wait_writable(int fd);

/* A FILE* that writes into memory: open_memstream(3) where there is one.
 * The text and its length are in *buf and *len only after
 * sv__plat_memstream_close() (0, or a negative error: then *buf may be
 * NULL or partial, and the caller frees it either way). */
FILE *sv__plat_memstream(char **buf, size_t *len);
int sv__plat_memstream_close(FILE *f);

/* Opens a report file to be replaced whole (sv_atomic_file): a new
 * temporary file beside `path` (where symlinks lead) with the mode the file
 * has or a plain fopen would give it, or `path` itself when it is not a
 * regular file (a device, a FIFO: *out_tmp is then NULL). Stores the FILE,
 * the final path and the temporary one (malloc'd); 0 or a negative error. */
int sv__plat_atomic_open(const char *path, FILE **out, char **out_path, char **out_tmp);

/* Renames `from` over `to`, replacing it in one step. */
int sv__plat_rename_over(const char *from, const char *to);

/* Signals one process through its pidfd if it has one, else by pid. The
 * caller guarantees the pid is still ours (not yet reaped). */
int sv__plat_kill(pid_t pid, int pidfd, int sig);

/* Signals process group `pgid` (never 0 or 1, which kill(2) would read
 * as "our group" and "everyone"). */
int sv__plat_kill_group(pid_t pgid, int sig);

/* The exit of one child, reaped with its resource usage. */
typedef struct sv__reaped {
        pid_t pid;
        bool exited;
        int code;   /* exit status, or the signal */
        bool core_dumped;
        uint64_t user_us, sys_us, max_rss_kb;
} sv__reaped;

/* Reaps the child behind `pidfd` if it has exited. Returns 1 and fills *out,
 * 0 if it is still running, or a negative error. */
int sv__plat_reap_pidfd(int pidfd, sv__reaped *out);

/* Reaps a specific pid (pidfd == -1), same returns. */
int sv__plat_reap_pid(pid_t pid, sv__reaped *out);

/* Reaps any child: 1 with *out, 0 if none is waitable, UV_ECHILD if we have
 * no children. Only for the fallback without pidfds. */
int sv__plat_reap_any(sv__reaped *out);

/* Waits until each of our children in pids[0..n-1] has exited, reaping
 * each as it does, for at most `timeout_ms` in all. Waits on the
 * children's pidfds (polls only where pidfd_open is missing). Returns how
 * many are still unreaped at the end, or a negative error. */
int sv__plat_reap_wait(const pid_t *pids, int n, unsigned timeout_ms);

/* ---- PID namespaces (pidns.c): a tree contained without cgroups ----
 *
 * With req->pidns, sv__plat_spawn makes the child pid 1 of a new PID
 * namespace (with a user namespace unless we are root) and that child, our
 * init, starts the worker. out->pid and out->pidfd are the init's: it is
 * the process we reap, and when it ends the kernel kills the rest of the
 * namespace, escapees included. It forwards to the worker every signal it
 * gets, and dies with us (PR_SET_PDEATHSIG). */

/* True if this process may give each worker a PID namespace: decided by a
 * probe clone the first time, then cached. */
bool sv__plat_pidns_usable(void);

/* Sends `sig` through the init at `init`: to the worker alone, or with
 * `tree` to every process of the namespace (then SIGCONT, so a stopped one
 * can act on it). A tree SIGKILL goes to the init itself. */
int sv__plat_pidns_signal(pid_t init, int pidfd, int sig, bool tree);

/* After the init is reaped into *r: replaces the status and resource usage
 * in *r with the worker's own, as the init saw them, and stores in left[]
 * up to `max` of the processes the worker left behind (pid and command line,
 * read just before they died with the namespace). Returns how many it left
 * (0 if the init was killed before it could tell us: *r then stays as
 * reaped). Closes nsfd. */
int sv__plat_pidns_end(int nsfd, sv__reaped *r, sv_leak *left, int max);

/* ---- Isolation (isolate.c): namespaces of a worker's own ---- */

/* 0 if workers may get the namespaces `isolate` (enum sv_isolate_flags)
 * asks for: made directly as root, else inside a user namespace. Decided
 * by a probe child that does the whole setup, once per set of flags, then
 * cached. Otherwise the probe's negative error (UV_EPERM, UV_ENOSPC: user
 * namespaces are off or used up; UV_EINVAL: an unknown flag). The test
 * hook SUPERVISE_ISOLATE_NO_USERNS=1 makes user namespaces count as
 * refused. */
int sv__plat_isolate_probe(unsigned isolate);

/* ---- A run's directories (posix/dirs.c) ---- */

/* Makes "<parent>/<prefix>XXXXXX", mode 0700, and writes its path into
 * out (n bytes): 0 or a negative error. */
int sv__plat_mkdtemp(const char *parent, const char *prefix, char *out, size_t n);

/* mkdir(path, 0700) and rmdir(path): 0 or a negative error. */
int sv__plat_mkdir(const char *path);
int sv__plat_rmdir(const char *path);

/* Removes the directory `path` and everything in it without following a
 * symlink (one is removed, never entered) or leaving its filesystem. A
 * missing path is 0. Otherwise 0 or the first error (UV_EXDEV: a mount
 * inside; UV_ELOOP: deeper than 128); the rest is removed either way. */
int sv__plat_rmtree(const char *path);

/* True if this kernel gives pidfds (and we were not told to avoid them). */
bool sv__plat_have_pidfd(void);

/* Makes this process a child subreaper. */
int sv__plat_set_subreaper(void);

uint64_t sv__plat_now_us(void);

/* Sleeps; only for bounded waits outside the loop (sv_supervisor_free). */
void sv__plat_nap_us(unsigned us);

/* Reads a small file (most of /proc and cgroupfs) whole into buf, NUL-
 * terminated; returns its length or a negative error. */
int sv__read_file(const char *path, char *buf, size_t n);

/* Reads a file of any size (a list: pids, environment strings) to EOF
 * into a malloc'd, NUL-terminated buffer; returns its length or a
 * negative error. */
int sv__read_file_all(const char *path, char **out);

/* Reads a file of whitespace-separated pids (a children file,
 * cgroup.procs) into a malloc'd array; returns the count, or a negative
 * error (UV_EINVAL if a token is not a pid). */
int sv__read_pid_list(const char *path, pid_t **out);

/* Writes s to an existing file (cgroup.kill, cgroup.procs). */
int sv__write_file(const char *path, const char *s);

/* ---- A wait set: the fds whose readiness the reaper follows ---- */

/* A set of fds (pidfds, timers), itself one fd libuv can poll. Each member
 * carries a 64-bit tag that sv__plat_waitset_ready() hands back. */
int sv__plat_waitset_new(void);
int sv__plat_waitset_add(int set, int fd, uint64_t tag);

/* Stores the tags of up to `max` ready members without blocking; returns
 * how many, or a negative error. A closed fd leaves the set by itself. */
int sv__plat_waitset_ready(int set, uint64_t *tags, int max);

/* A timer fd, unarmed, for a wait set. */
int sv__plat_timer_new(void);

/* Makes it readable at `at_us` on the sv__plat_now_us() clock (0: never). */
int sv__plat_timer_set(int fd, uint64_t at_us);

/* Makes a fired timer fd unreadable again until it is next set. */
void sv__plat_timer_ack(int fd);

/* ---- Trees ---- */

/* Writes "<pid>-<64 random bits in hex>": a name for this supervisor that
 * no other supervisor shares, in any PID namespace, across reboots (the
 * cgroup directory's and the SUPERVISE_TREE marker's). */
int sv__plat_token(char *out, size_t n);

/* The cgroup v2 directory all our workers' cgroups go under, created for this
 * supervisor ("<our cgroup>/supervise-<token>"), first removing the ones
 * whose owners are provably gone (cgroot.c says how). Returns 0, writes the
 * path, and stores an fd whose flock is our proof of life: keep it open
 * until the directory is removed. UV_EEXIST: the name is taken, try again
 * with a new token. Other negative errors: no writable cgroup2 (the
 * fallback). */
int sv__cg_setup(const char *token, char *out, size_t n, int *out_lock);

/* One worker cgroup. No fd is kept open: a worker would then cost four
 * fds instead of its pidfd. Empty cgroups are reused for later workers
 * rather than removed and made again. */
typedef struct sv__cg {
        bool killed; /* cgroup.kill was written: never reuse it */
        bool frozen; /* cgroup.freeze is 1 (a paused pool slot): thaw before reuse */
        char path[];  /* sized to fit: 512 bytes each were a third of a
                       * worker's memory */
} sv__cg;

/* Creates the directory "<parent>/w<n>" and stores a malloc'd sv__cg for
 * it in *out (the caller frees it, after sv__cg_destroy if need be).
 * UV_EEXIST if the directory exists: it is never adopted. */
int sv__cg_create(const char *parent, unsigned n, sv__cg **out);

/* Writes "1" to cgroup.kill. */
int sv__cg_kill(sv__cg *cg);

/* Sends sig (then SIGCONT, if `then_cont`) to every process in the
 * cgroup. Returns how many it reached. */
int sv__cg_signal(const sv__cg *cg, int sig, bool then_cont);

/* Writes cgroup.freeze ("1" or "0") and notes it in cg->frozen. Does not
 * wait for cgroup.events to say "frozen 1": a frozen cgroup's members run
 * no more user code once the write returns, however long the kernel takes
 * to report it. UV_ENOENT where the kernel has no cgroup.freeze (< 5.2). */
int sv__cg_freeze(sv__cg *cg, bool frozen);

/* 1 if the cgroup still has processes, 0 if empty, negative on error. */
int sv__cg_populated(const sv__cg *cg);

/* Lists the pids in the cgroup into a malloc'd array; returns the count. */
int sv__cg_pids(const sv__cg *cg, pid_t **out);

/* Removes the (empty) directory. */
int sv__cg_destroy(sv__cg *cg);

/* 1 if the directory is gone (removed behind our back), else 0. */
int sv__cg_gone(const sv__cg *cg);

/* Forgets the cgroup without removing it (nothing is held open). */
void sv__cg_close(sv__cg *cg);

/* Removes the empty worker cgroups under a supervisor's directory, then
 * the directory; what is still populated stays. */
void sv__cg_remove_tree(const char *root);

/* Removes a directory made by sv__cg_setup. */
int sv__cg_remove_root(const char *root);

/* Finds the descendants of `root` and the orphans adopted by us that carry
 * `marker`, stopping each with SIGSTOP before reading its children (all
 * threads' children files), so the set cannot grow behind the walk. Reads
 * only the tree's own files, not all of /proc. Returns the count and a
 * malloc'd array, or a negative error. */
int sv__proc_freeze_tree(pid_t root, const char *marker, pid_t **out);

/* 1 if /proc/<pid>/environ holds `marker` ("NAME=value"), 0 if not, -1 if
 * it cannot be read (the process is exiting, or gone). */
int sv__proc_has_marker(pid_t pid, const char *marker);

/* 1 if any process is left in process group `pgid`. */
int sv__proc_group_alive(pid_t pgid);

/* Lists the descendants of `root` (by parent links, including processes
 * that left its group), plus processes adopted by us whose environment
 * carries `marker` ("NAME=value"), plus members of process group `pgid`.
 * Returns the count and a malloc'd array, or a negative error. */
int sv__proc_tree(pid_t root, pid_t pgid, const char *marker, sv_proc **out);

/* Reads /proc/<pid>/stat into *out (pid, ppid, pgid, state, comm): 0, or a
 * negative error (the process is gone). */
int sv__proc_stat(pid_t pid, sv_proc *out);

/* ---- The guardian: ends our trees if we die without cleaning up ---- */

#define SV_GUARD_PATH_MAX 512

typedef struct sv__guardian {
        pid_t pid;  /* 0: none */
        int fd;     /* write end of its pipe */
        int pidfd;  /* the guardian's pidfd, or -1 where there is none */
} sv__guardian;

/* Forks the guardian. `token` is ours (sv__plat_token; the guardian ends
 * the processes carrying SUPERVISE_TREE=<token>.), `cgroot` our cgroup
 * directory, or "" without one. The write end in out->fd becomes an error
 * (POLLERR) when the guardian is gone: watch it to notice. */
int sv__guardian_start(const char *token, const char *cgroot, sv__guardian *out);

/* After the guardian's pipe reported POLLERR: reaps the guardian, which is
 * gone or exiting, and forgets it. Returns its raw wait status when we
 * reaped it, or -1 when it was not ours to wait for (see guardian.c). */
int sv__guardian_reap(sv__guardian *g);

/* ---- PID 1 of a PID namespace ---- */

/* True if we are the init of our PID namespace: the kernel sends us every
 * orphan of the namespace, and kills the whole namespace when we die. */
bool sv__plat_is_ns_init(void);

/* Looks, without reaping, for a child of ours that has exited. Returns 1
 * and stores its pid, 0 if none has, or a negative error (UV_ECHILD: we
 * have no children). It sees only the first such child, whoever owns it. */
int sv__plat_peek_exited(pid_t *out);

/* Tells the guardian we are done, and reaps it unless `nowait`. With
 * `cleanup` it also removes our (empty) cgroup directories on its way out. */
void sv__guardian_stop(sv__guardian *g, bool nowait, bool cleanup);

/* Lists this process's children (any state) into a malloc'd array;
 * returns the count or a negative error. */
int sv__proc_children(pid_t **out);

/* Reads /proc/<pid>/cmdline into buf with spaces between arguments. */
int sv__proc_cmdline(pid_t pid, char *buf, size_t n);

/* ---- /proc, one reader for all of libsv (core, find, run) ---- */

/* One parsed /proc/<pid>/stat. */
typedef struct sv__stat {
        pid_t ppid;
        pid_t pgrp;
        pid_t sid;
        int tty_nr;
        char state;
        bool kthread;
        uint64_t start_ticks;
        uint64_t rss_pages;
        char name[64];
} sv__stat;

/* Parses the text of /proc/<pid>/stat (`len` bytes, need not be
 * NUL-terminated). The name runs from the first '(' to the LAST ')', since
 * a name may itself contain ") " and newlines. Returns 0 or UV_EINVAL. */
int sv__proc_parse_stat(const char *buf, size_t len, sv__stat *out);

/* ---- /proc for the process finder (proctable.c) ---- */

/* An fd on the /proc directory, for the *_at readers: a path under it can
 * not be swapped under us. Returns the fd or a negative error. */
int sv__proc_open_dir(void);

/* Lists the pids in /proc (any order) into a malloc'd array; returns the
 * count or a negative error. */
int sv__proc_list_pids(int proc_fd, pid_t **out);

/* Reads and parses <dirfd>/<path> where path is "stat" or "<pid>/stat".
 * Returns 0, UV_ESRCH when the process is gone (ENOENT/ESRCH at any step),
 * or another negative error. */
int sv__proc_read_stat_at(int dirfd, const char *path, sv__stat *out);

/* Reads a whole small /proc file into a new NUL-terminated buffer. Returns
 * the length (0 is valid: empty) and stores the buffer, or a negative error
 * (UV_ESRCH when gone). */
ssize_t sv__proc_read_file_at(int dirfd, const char *path, char **out);

/* Reads the effective uid from <proc_fd>/<pid>/status. */
int sv__proc_read_euid(int proc_fd, pid_t pid, uid_t *out);

/* The real and effective uid and the real gid, from the same file. */
typedef struct sv__ids {
        uid_t ruid, euid;
        gid_t rgid;
} sv__ids;

int sv__proc_read_ids(int proc_fd, pid_t pid, sv__ids *out);

/* Socket inodes on `port` from /proc/net/{tcp,tcp6,udp,udp6}, sorted. */
typedef struct sv__inodes {
        uint64_t *v;
        size_t n, cap;
} sv__inodes;

int sv__proc_port_inodes(uint16_t port, unsigned protos, bool any_socket, sv__inodes *out);

/* Returns 1 if an fd of process `pid` is a socket whose inode is in `set`,
 * 0 if none is, or a negative error (UV_EACCES, UV_ESRCH). */
int sv__proc_owns_inode(int proc_fd, pid_t pid, const sv__inodes *set);

/* Milliseconds per clock tick conversion and the boot-relative clock. */
uint64_t sv__proc_now_boot_ms(void);
uint64_t sv__proc_ticks_to_ms(uint64_t ticks);

/* What a hang diagnosis shows of one process: its stat, where it sleeps in
 * the kernel, its command line, and its kernel stack where we may read it. */
typedef struct sv__proc_detail {
        sv_proc p;
        char wchan[64];
        char cmdline[512]; /* NULs between the arguments, as the kernel has it */
        size_t cmdline_len;
        char *stack;       /* malloc'd, or NULL (see stack_err) */
        int stack_err;     /* why stack is NULL: UV_EACCES without privilege */
} sv__proc_detail;

/* Reads pid's detail into *out, which is filled either way (state '?',
 * wchan "-", empty cmdline when unreadable; release it after): 0, or
 * UV_ESRCH when its stat could not be read (it is gone). */
int sv__proc_detail_read(pid_t pid, sv__proc_detail *out);
void sv__proc_detail_release(sv__proc_detail *d);

/* ---- Signalling by a handle that cannot name a recycled pid ---- */

/* Opens a pidfd on pid into *out_fd: 0, UV_ESRCH when gone, UV_ENOSYS when
 * the kernel gives none (the caller falls back to a /proc dirfd). */
int sv__plat_pidfd_open(pid_t pid, int *out_fd);

/* Sends sig through a pidfd: 0 or a negative error (UV_ESRCH: gone). */
int sv__plat_pidfd_signal(int fd, int sig);

/* Waits up to timeout_ms (-1: forever) for any of fds[0..n-1] to become
 * readable (its process ended), setting out_gone[i] for each that did.
 * Returns how many did, or a negative error. */
int sv__plat_pidfds_wait(const int *fds, size_t n, int timeout_ms, bool *out_gone);

/* ---- Running a helper program to completion (ctest -N) ---- */

/* Runs argv (no shell, PATH searched) with stdin on /dev/null and captures
 * its stdout and stderr into malloc'd, NUL-terminated buffers. Kills it at
 * timeout_ms (0: no limit), and refuses more than 256 MiB of stdout
 * (UV_E2BIG); keeps the first 64 KiB or so of stderr. Returns 0 with
 * *out_status = its exit code, or -n if signal n killed it; or a negative
 * error, the outputs untouched (UV_ENOENT: not found; UV_ETIMEDOUT). */
int sv__plat_run_capture(const char *const *argv, unsigned timeout_ms, char **out,
                         size_t *out_len, char **err, size_t *err_len, int *out_status);

/* ---- The control socket (unixsock.c) ---- */

/* Which file a path named when we made it, to remove only that one. */
typedef struct sv__file_id {
        uint64_t dev, ino;
} sv__file_id;

/* Listens on a new Unix-domain socket at `path`, mode 0600 from the moment
 * it appears there, non-blocking and close-on-exec, into *out_fd (*out_id
 * names the file). A stale socket there (nobody accepts) is replaced.
 * UV_EADDRINUSE: a live server answers at path; UV_EEXIST: path is not a
 * socket (left alone); UV_ENAMETOOLONG: longer than sun_path. */
int sv__plat_unix_listen(const char *path, int backlog, int *out_fd, sv__file_id *out_id);

/* Removes path if it is still the socket *id names: 0, UV_EEXIST when
 * something else is there now (left alone), or the error. */
int sv__plat_unix_unlink(const char *path, const sv__file_id *id);

/* Connects to the socket at path (blocking unless nonblock), close-on-exec. */
int sv__plat_unix_dial(const char *path, bool nonblock, int *out_fd);

/* The peer's uid and pid, from the kernel (SO_PEERCRED), as of connect(). */
int sv__plat_unix_peer(int fd, uint32_t *out_uid, pid_t *out_pid);

/* Closes an fd that no handle took. */
void sv__plat_fd_close(int fd);

/* Our effective uid. */
uint32_t sv__plat_euid(void);

/* ---- The process finder's view of the OS (find/ uses only these) ----
 *
 * platform/linux/ptab.c implements them on /proc and pidfds,
 * platform/win/proctable.c on Toolhelp32 snapshots and process handles.
 * An sv_find_proc's identity is its pid plus start_ticks (Linux: clock ticks
 * after boot; Windows: the creation time in 100 ns units), so a recycled pid
 * is told apart from the process the snapshot saw. */

/* What one scan holds: Linux an fd on /proc and the socket inodes of
 * `port`; Windows the pids that own a socket on `port`. */
typedef struct sv__ptab sv__ptab;

int sv__ptab_open(sv__ptab **out);
void sv__ptab_free(sv__ptab *pt); /* accepts NULL */

/* Reads every process (pid, ppid, name, start_ticks, age_ms and whatever
 * else one cheap read gives) into a malloc'd array, in any order. A process
 * that vanishes while it is read is left out. Returns the count or a
 * negative error. */
int sv__ptab_list(sv__ptab *pt, sv_find_proc **out);

/* Our pid, and our parent's as the OS reports it (0 if unknown). */
void sv__ptab_self(sv__ptab *pt, pid_t *out_self, pid_t *out_parent);

/* 1 if p is named `name`, 0 if not, or UV_ENOMEM. Linux: byte-exact, and a
 * name longer than the kernel's 15 bytes also through argv[0] and the
 * executable; Windows: case-insensitive, with or without ".exe". */
int sv__ptab_name_is(sv__ptab *pt, sv_find_proc *p, const char *name);

/* Load p's owner (has_uid/uid, or `user`) and its command line (cmdline,
 * malloc'd, owned by the table) unless done. A process that vanished or
 * that we may not read keeps them unset: only UV_ENOMEM is an error. */
int sv__ptab_load_user(sv__ptab *pt, sv_find_proc *p);
int sv__ptab_load_cmdline(sv__ptab *pt, sv_find_proc *p);

/* 1 if p's owner is the account `user` (sv_find_filter.user), 0 if not or
 * unknown, or UV_ENOMEM. Loads the owner as sv__ptab_load_user does. */
int sv__ptab_user_is(sv__ptab *pt, sv_find_proc *p, const char *user);

/* The real and effective uid and the real gid of pid (UV_ENOTSUP where
 * the OS has none). */
int sv__ptab_read_ids(sv__ptab *pt, pid_t pid, sv__ids *out);

/* Reads the socket tables once for `port` (enum sv_find_proto bits, 0:
 * both; any_socket: clients too), then answers per process: 1 if p owns
 * such a socket, 0 if not or if that cannot be known, or UV_ENOMEM. */
int sv__ptab_port_load(sv__ptab *pt, uint16_t port, unsigned protos, bool any_socket);
int sv__ptab_port_owner(sv__ptab *pt, const sv_find_proc *p);

/* A handle on one process that cannot come to name another: a pidfd or a
 * /proc/<pid> directory fd (Linux), a process HANDLE (Windows). v < 0: none. */
typedef struct sv__phandle {
        intptr_t v;
        bool is_pidfd;
} sv__phandle;

/* Opens a handle on p FIRST, then checks through it that it is still the
 * process of the snapshot (its start time, and on Windows its name). 0 with
 * *out set; UV_ESRCH if it ended or the pid now names another process
 * (nothing is kept open); or another negative error (UV_EPERM). */
int sv__phandle_open(sv__ptab *pt, const sv_find_proc *p, sv__phandle *out);

/* Delivers sig through h (Windows: every signal is TerminateProcess, as
 * `taskkill /f`). 0, UV_ESRCH when the process has ended, or an error. */
int sv__phandle_signal(sv__phandle *h, const sv_find_proc *p, int sig);

/* Waits up to timeout_ms (-1: no limit) until at least one of hs[0..n-1]
 * has ended, and sets out_gone[i] for each that has. Returns how many have,
 * or a negative error. */
int sv__phandle_wait(const sv__phandle *hs, size_t n, int timeout_ms, bool *out_gone);

void sv__phandle_close(sv__phandle *h);

/* Regular expressions (POSIX ERE where the C library has them: posix/;
 * Windows builds answer UV_ENOTSUP). */
typedef struct sv__re sv__re;

/* Compiles pattern; 0 and *out, or UV_EINVAL / UV_ENOTSUP with a one-line
 * reason in msg (may be NULL). */
int sv__re_compile(const char *pattern, bool icase, sv__re **out, char *msg, size_t msg_len);
/* 1 if s matches, else 0. */
int sv__re_match(const sv__re *re, const char *s);
void sv__re_free(sv__re *re); /* accepts NULL */

#endif
