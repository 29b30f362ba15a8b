/* svtest.h - helpers shared by the cmocka tests: where the workers and the CLI
 * live, starting programs with piped output, reading their lines with a
 * deadline, and proving that a test left no process or zombie behind.
 *
 * Include after <cmocka.h> (and its prerequisites). Every helper that can
 * "fail the test" does so with cmocka's fail_msg(), which returns from the
 * test at once. Timeouts only guard against hangs: every wait here ends on an
 * event (a line, EOF, an exit) and never sleeps to let something happen. */
#ifndef SVTEST_H
#define SVTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "supervise/sv.h"

/* The full path of a worker binary, SV_WORKERS_DIR "/" name. The string lives
 * in one of a few rotating static buffers, so several calls may appear in one
 * expression; copy it if you keep it for long. */
const char *svt_worker(const char *name);

/* The full path of the `supervise` binary (SV_CLI_PATH). */
const char *svt_cli(void);

/* Makes this process a child subreaper, so every descendant that outlives its
 * parent is reparented to us, where svt_list_children() and svt_reap_all()
 * see it. Fails the test if prctl() fails. */
void svt_become_subreaper(void);

/* Stores the pids of this process's direct children (any state, zombies
 * included) into out[0..max-1]. Returns how many children there are, which
 * may exceed `max` (then only `max` are stored), or a negative errno. */
int svt_list_children(pid_t *out, int max);

/* Fails the test, naming each one (pid, state, comm), if this process has any
 * child at all, zombies included. For in-process library tests, where the
 * library must have reaped everything it started. */
void svt_assert_no_children(void);

/* Waits up to `timeout_ms` until every child of ours (and every orphan
 * reparented to us meanwhile) has exited, reaping each. At the deadline, each
 * survivor is SIGKILLed and reaped and the test fails, naming them. */
void svt_reap_all(int timeout_ms);

/* The non-failing core of svt_reap_all(): returns how many survivors had to
 * be SIGKILLed at the deadline (0: all ended by themselves), or a negative
 * errno, and describes them in `why` (may be NULL). Tests of the helper itself
 * use this. */
int svt_reap_children(int timeout_ms, char *why, size_t why_len);

/* Starts argv[0] (searched in PATH if it has no '/') with stdin on /dev/null
 * and the environment of this process plus `envp_extra` ("K=V" strings that
 * add or replace variables; NULL-terminated, may be NULL). If out_stdout_fd /
 * out_stderr_fd is non-NULL, that stream goes to a new pipe whose read end
 * (O_CLOEXEC) is stored there and belongs to the caller; NULL inherits ours.
 * Signal mask and dispositions are reset for the child. Returns 0 and stores
 * the pid, or a negative errno (-ENOENT: not found) with nothing to clean up. */
int svt_spawn(const char *const argv[], const char *const envp_extra[], int *out_stdout_fd,
              int *out_stderr_fd, pid_t *out_pid);

/* Reads one line from `fd`, without its '\n', waiting at most `timeout_ms` in
 * total. Reads a byte at a time, so whatever follows the line stays in the
 * pipe for the next call. Returns a malloc'd string, or NULL on EOF before
 * any byte, on timeout, or on error. A last line without '\n' is returned. */
char *svt_read_line(int fd, int timeout_ms);

/* Reads the next line like svt_read_line() and fails the test unless it
 * starts with `prefix`. Returns the malloc'd line; the caller frees it. */
char *svt_expect_line_prefix(int fd, const char *prefix, int timeout_ms);

/* Reads until EOF, waiting at most `timeout_ms` in total. Returns a malloc'd
 * NUL-terminated string, or NULL on timeout or error. */
char *svt_read_all(int fd, int timeout_ms);

/* Runs argv like svt_spawn() and collects its stdout and stderr (both read
 * together, so neither pipe can fill and block it) into malloc'd strings the
 * caller frees; a NULL out pointer leaves that stream inherited. Waits for EOF
 * on both and for the exit. Returns the raw wait status (WEXITSTATUS etc.),
 * or -1 if `timeout_ms` passed first, in which case the child has been
 * SIGKILLed and reaped and the outputs are not stored. Fails the test if
 * argv[0] cannot be started (use svt_spawn() to test that). */
int svt_run(const char *const argv[], const char *const envp_extra[], char **out_stdout,
            char **out_stderr, int timeout_ms);

/* Waits up to `timeout_ms` for child `pid` to exit and reaps it. Returns the
 * raw wait status, or -1 on timeout (the child is left running) or error. */
int svt_wait(pid_t pid, int timeout_ms);

/* A program a test started and has not reaped yet, with the read ends of its
 * stdout and stderr pipes (-1 once closed). Kept in a test's fixture, so that
 * teardown can release what an assertion left half-way. */
typedef struct svt_proc {
        pid_t pid; /* 0 once reaped */
        int out, err;
} svt_proc;

/* No program, no pipes. */
void svt_proc_init(svt_proc *p);

/* Starts argv as svt_spawn() does, with stdout and stderr piped to us.
 * Fails the test if it cannot. */
void svt_proc_start(svt_proc *p, const char *const argv[]);

/* Reads stdout, then stderr, to EOF into malloc'd strings the caller frees,
 * reaps the program and closes the pipes. Returns the raw wait status. Fails
 * the test if an EOF or the exit does not come within `timeout_ms`. */
int svt_proc_finish(svt_proc *p, char **out, char **err, int timeout_ms);

/* For teardown: SIGKILLs and reaps the program if it is still ours (its pid
 * cannot have been recycled before we reap it), and closes the pipes. */
void svt_proc_release(svt_proc *p, int timeout_ms);

/* True if the kernel gives this process a PID namespace (as root: alone, or
 * inside a user namespace), or with `as_nobody` gives uid 65534 one inside a
 * user namespace: /proc/sys/kernel/unprivileged_userns_clone and
 * max_user_namespaces are read, then a forked child tries unshare(2). The
 * answer is cached. A test skips on false, and must not skip on true. */
bool svt_pidns_allowed(bool as_nobody);

/* True if a forked child may unshare(2) `flags` (CLONE_NEW*), after
 * dropping to uid and gid 65534 with no groups if `as_nobody` (false if it
 * cannot drop). Not cached. */
bool svt_unshare_works(int flags, bool as_nobody);

/* Waits up to `timeout_ms` until `pid`, which need not be our child, no
 * longer exists (a pidfd where there is one, else a polling backoff).
 * Returns 0 once it is gone, -1 if it is still there. */
int svt_wait_gone(pid_t pid, int timeout_ms);

/* An exit record as the library makes one for a program that exited with
 * `code` after `wall_ms`: 1.5 ms user and 0.7 ms system time, 2048 KiB peak
 * RSS, no stop step. For unit tests that feed reports and verdicts. */
sv_exit_info svt_exited(int code, uint64_t wall_ms);

/* ---- A test's scratch space (svt_cli.c) ----
 * One temporary directory per test and the memory the test keeps until its
 * teardown. A setup calls svt_scratch_begin(), a teardown svt_scratch_end();
 * everything svt_keep()s in between is freed there. */

/* Remembers malloc'd `p` (NULL is ignored) so svt_scratch_end() frees it;
 * returns p. */
void *svt_keep(void *p);

/* Makes a fresh directory from `template` (mkdtemp(3): ends in XXXXXX).
 * Returns 0, or -1 (for a setup to return) if it cannot. */
int svt_scratch_begin(const char *template);

/* The directory svt_scratch_begin() made ("" outside a test). */
const char *svt_scratch_dir(void);

/* Reaps every child as svt_reap_children() does (naming survivors on
 * stderr), frees what was kept and removes the directory tree. Returns 0,
 * or -1 if a survivor had to be killed (for a teardown to return). */
int svt_scratch_end(int timeout_ms);

/* Removes a tree of plain files and directories (ours only: no symlink is
 * followed). */
void svt_rm_tree(const char *path);

/* `name` inside the scratch directory; kept. */
const char *svt_tpath(const char *name);

/* Creates or truncates `path` with `text`; fails the test on any error. */
void svt_write_file(const char *path, const char *text);

/* The whole of file `path`, NUL-terminated and kept; its length goes to
 * *out_len (may be NULL). Fails the test if it cannot be read. */
char *svt_slurp(const char *path, size_t *out_len);

/* svt_run() that fails the test if `timeout_ms` passes first, and keeps
 * the outputs it collects. Returns the raw wait status. */
int svt_run_kept(const char *const argv[], const char *const env[], char **out, char **err,
                 int timeout_ms);

/* Runs `supervise SUB ARGS...` (args NULL-terminated; SUB NULL: none)
 * like svt_run_kept(), with `env` ("K=V", may be NULL) added to ours (NULL
 * out/err: that stream is inherited). Returns the raw wait status. */
int svt_run_cli(const char *sub, const char *const args[], const char *const env[], char **out,
                char **err, int timeout_ms);

/* Starts `supervise SUB ARGS...` into `p` like svt_proc_start(). */
void svt_start_cli(svt_proc *p, const char *sub, const char *const args[]);

/* Fails the test unless wait status `st` is an exit with code `want`,
 * showing *errp (stderr, read after the status is known; errp or *errp
 * may be NULL). */
void svt_assert_exit(int st, int want, char *const *errp);

/* Fail the test unless `hay` contains `needle` / unless it does not. */
void svt_assert_contains(const char *hay, const char *needle);
void svt_assert_lacks(const char *hay, const char *needle);

/* Cuts `s` at the first `sep` (writing a NUL there) and returns what
 * follows it, or NULL if there is none: for walking pieces in a loop. */
char *svt_cut(char *s, const char *sep);

/* Starts `supervise SUB ARGS...` into `p` with stdout on a pipe (p->out)
 * and stderr on a new raw pseudo-terminal, `cols` wide (0: the kernel's
 * default size), and `env` ("K=V", may be NULL) added to our environment.
 * Returns the terminal's master, which the caller closes. */
int svt_start_cli_on_pty(svt_proc *p, const char *sub, const char *const args[],
                         const char *const env[], unsigned short cols);

/* Reads the terminal until every writer is gone (EIO on the master), at
 * most `timeout_ms` between reads; returns the bytes, NUL-terminated and
 * kept. */
char *svt_read_pty(int master, int timeout_ms);

#endif
