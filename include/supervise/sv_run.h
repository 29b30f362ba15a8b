/* sv_run.h - the pieces of test-harness mode (`supervise run`) that do not
 * need a running supervisor: job lists (from a job file or from ctest),
 * per-job output capture, and the run report (events, JUnit, TAP, summary)
 * rendered from one event model.
 *
 * Nothing here starts a worker, touches the loop, calls exit() or prints,
 * except to a FILE* or fd the caller passes in. Every function may be called
 * from any one thread at a time; none keeps global state.
 *
 * Errors: negative libuv codes (UV_EINVAL, UV_ENOMEM, UV_EIO, -errno from
 * open/read/write). Functions that take `err, errlen` also write a one-line,
 * NUL-terminated message there on failure ("jobs.txt:7: unclosed single
 * quote"); `err` may be NULL. Output parameters are written only on success. */
#ifndef SUPERVISE_SV_RUN_H
#define SUPERVISE_SV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <supervise/sv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Bytes from outside as text =======================================
 *
 * Command lines, job output and names are bytes, not text, and every report
 * carries them with one scheme, so that nothing is dropped or cut:
 *   - well-formed UTF-8 is kept as it is, NUL included (JSON writes it as
 *     \u0000);
 *   - each byte that does not start a well-formed UTF-8 sequence (overlong
 *     forms, surrogates and code points above U+10FFFF count as not
 *     well-formed) becomes the four characters \xHH, HH its value in
 *     upper-case hex;
 *   - SV_TEXT_CONTROLS: C0 controls, DEL and the C1 controls U+0080..U+009F
 *     (some terminals act on U+009B as CSI) become \xHH too, a C1 control as
 *     its two bytes "\xC2\xHH";
 *   - SV_TEXT_KEEP_LINES: ... except tab, LF and CR (multi-line text);
 *   - SV_TEXT_BACKSLASH: '\\' becomes "\\\\" and tab, LF and CR become \t,
 *     \n and \r, so that the text reads back without ambiguity (terminal
 *     output: SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH, as `ps` does).
 * Without SV_TEXT_BACKSLASH a literal "\xFF" in the input reads the same as
 * an escaped byte, so the JSON writers add a base64 copy of the raw bytes
 * (field "<name>_b64") whenever a byte was escaped. */

enum sv_text_flags {
        SV_TEXT_CONTROLS = 1u << 0,
        SV_TEXT_KEEP_LINES = 1u << 1,
        SV_TEXT_BACKSLASH = 1u << 2,
};

/* Escapes `len` bytes of `s` (NULL: none) as above into a new NUL-terminated
 * string the caller frees, stores its length in *out_len and the number of
 * bytes that were not UTF-8 in *out_invalid (either may be NULL). Returns
 * NULL only when out of memory. */
char *sv_text_escape(const char *s, size_t len, unsigned flags, size_t *out_len,
                     size_t *out_invalid);

/* RFC 4648 base64 (with '=' padding) of `len` bytes, as a new string the
 * caller frees; NULL when out of memory. */
char *sv_base64(const void *data, size_t len);

/* Writes `len` bytes of `s` (a command line, a name: anything from outside)
 * to `f` as a terminal may show them: sv_text_escape() with SV_TEXT_CONTROLS
 * | SV_TEXT_BACKSLASH, so controls, escape sequences and bytes that are not
 * UTF-8 become \xHH, '\\' is doubled and tab/LF/CR become \t \n \r; a
 * hostile name can neither forge lines nor drive the terminal. Out of memory
 * writes "?" instead (never the raw bytes). Write errors are left in `f`
 * for the caller's ferror(). */
void sv_text_put_term(FILE *f, const char *s, size_t len);

/* Writes all `len` bytes of `data` to `fd`, retrying after EINTR and a short
 * write, and waiting with poll(2) while an fd left non-blocking by whoever
 * opened it says EAGAIN. Returns 0, or the write error (-errno, e.g.
 * UV_EPIPE); some bytes may have been written then. */
int sv_write_all(int fd, const void *data, size_t len);

/* ==== Jobs ============================================================== */

enum sv_job_flags {
        SV_JOB_NAMED = 1u << 0,       /* the name came from `name=` (job file) */
        SV_JOB_DISABLED = 1u << 1,    /* ctest DISABLED: report it skipped, never run it */
        SV_JOB_WILL_FAIL = 1u << 2,   /* ctest WILL_FAIL: exit code 0 fails, non-zero passes */
        SV_JOB_UNAVAILABLE = 1u << 3, /* ctest listed no command (executable not found):
                                       * argv is empty; report an error, don't spawn */
        SV_JOB_RUN_SERIAL = 1u << 4,  /* ctest RUN_SERIAL: starts when nothing runs, and
                                       * nothing else starts while it runs */
        SV_JOB_NO_TIMEOUT = 1u << 5,  /* ctest TIMEOUT 0: no deadline, not even the
                                       * run's --timeout */
};

/* One command to run. Every string and array is owned by the sv_joblist that
 * holds the job and freed by sv_joblist_release(). */
typedef struct sv_job {
        char *name;          /* never NULL, never empty */
        char **argv;         /* NULL-terminated; argv[0] != NULL unless SV_JOB_UNAVAILABLE */
        char **env;          /* NULL, or NULL-terminated "K=V" entries to add to or
                              * override the inherited environment */
        char *cwd;           /* NULL: the supervisor's working directory */
        uint64_t timeout_ms; /* 0: none given; use the run's --timeout */
        int skip_code;       /* exit code that means "skipped" (ctest SKIP_RETURN_CODE); -1: none */
        unsigned flags;      /* enum sv_job_flags */
        unsigned line;       /* 1-based line of the job file where it starts; 0 for ctest */
        /* What ctest's other test properties say (sv_verdict_judge(), the
         * runner's scheduler). Each list is NULL or NULL-terminated. */
        char **pass_regex;   /* PASS_REGULAR_EXPRESSION: one must match the output; the exit
                              * code is then ignored */
        char **fail_regex;   /* FAIL_REGULAR_EXPRESSION: a match fails the job */
        char **skip_regex;   /* SKIP_REGULAR_EXPRESSION: a match skips it (beats the others) */
        char **env_mod;      /* ENVIRONMENT_MODIFICATION "NAME=op:value", applied after env
                              * (sv_job_environ()) */
        char **labels;       /* LABELS (sv_joblist_keep()) */
        char **depends;      /* DEPENDS: names of jobs that must end before this one starts
                              * (order only; their verdicts do not matter) */
        char **locks;        /* RESOURCE_LOCK: no two jobs holding one name run at once */
        char **fixtures_setup;    /* FIXTURES_SETUP: runs before the jobs requiring these */
        char **fixtures_cleanup;  /* FIXTURES_CLEANUP: runs after them */
        char **fixtures_required; /* FIXTURES_REQUIRED: a failed setup of one of these means
                                   * this job is not run (an ERROR, as ctest's "Not Run") */
        char **required_files;    /* REQUIRED_FILES: a missing one means not run (ERROR) */
        unsigned processors; /* PROCESSORS: counts this many against -j (capped at -j); 0: 1 */
} sv_job;

typedef struct sv_joblist {
        sv_job *jobs;
        size_t count;
        size_t cap; /* private */
} sv_joblist;

#define SV_JOBLIST_INIT { 0 }

void sv_joblist_init(sv_joblist *l);
/* Frees every job and the array; `l` is left empty and reusable. Accepts NULL. */
void sv_joblist_release(sv_joblist *l);

/* Frees a NULL-terminated array of strings and the strings. Accepts NULL. */
void sv_argv_free(char **argv);

/* ---- Job files ----
 *
 * One command per logical line, split into words the way a POSIX shell
 * splits them, and NOTHING else: no expansion of any kind ($VAR, `cmd`, *, ~
 * stay literal), no redirection, never a shell.
 *
 *   - Words are separated by spaces and tabs.
 *   - '...' is literal; it cannot contain '.
 *   - "..." is literal except that backslash escapes \" \\ \$ \` and removes
 *     a backslash-newline; before any other character it is kept literally.
 *   - Outside quotes a backslash makes the next character literal, and a
 *     backslash-newline joins the next line (a continuation).
 *   - A quote must close on its own logical line (a raw newline inside quotes
 *     is "unclosed single/double quote" at the line the quote opened).
 *   - A word that starts with an unquoted '#' begins a comment to the end of
 *     the line (`a#b` is one word). Blank and comment-only lines are skipped.
 *   - An unquoted shell operator character (| & ; < > ( )) is an error, since
 *     it would mean something else to a shell: quote it, or write
 *     `sh -c '...'` explicitly.
 *   - "\r\n" ends a line like "\n"; a NUL byte is an error.
 *
 * Names. If the first word, as written, starts with the unquoted characters
 * `name=`, the rest of that word (after quote removal) is the job's name and
 * the command starts at the second word:
 *     name=unit-fast ./t --fast
 *     name='db tests' ./t --db
 * The name must be non-empty, contain no control characters, be followed by a
 * command, and be unique among `name=` names in the file. To run a program
 * literally called `name=x`, quote it: 'name=x'. Since we never run a shell,
 * there are no `VAR=value cmd` environment assignments to collide with; a
 * first word such as FOO=1 is simply argv[0].
 * Without `name=`, the name is the command as written: the source text from
 * the first word to the end of the last one, with backslash-newlines removed.
 * Such names need not be unique (running one command twice is legitimate), so
 * consumers that need a key (log file names) should use the job's index. */

/* Parses `len` bytes of `text`. `fname` names the source in messages
 * ("jobs.txt:7: ..."; NULL: "<jobs>"). On success appends the jobs to `out`
 * and returns how many it appended (possibly 0). On failure returns UV_EINVAL
 * (syntax) or UV_ENOMEM, writes the message, and leaves `out` as it was. */
int sv_jobfile_parse_mem(const char *text, size_t len, const char *fname,
                         sv_joblist *out, char *err, size_t errlen);

/* Reads `f` to EOF and parses it as above. Read errors return -errno (UV_EIO
 * if unknown). The caller owns `f` and closes it. */
int sv_jobfile_parse(FILE *f, const char *fname, sv_joblist *out, char *err, size_t errlen);

/* Opens `path` ("-": stdin, named "<stdin>" in messages), parses it and
 * closes it (never stdin). A missing or unreadable file returns -errno with
 * "cannot open 'jobs.txt': No such file or directory". */
int sv_jobfile_load(const char *path, sv_joblist *out, char *err, size_t errlen);

/* Splits one command string with the job-file rules above (no `name=`
 * handling, no comments spanning lines), for options such as --on-timeout
 * 'gdb -p {pid}'. On success stores a new NULL-terminated argv (free it with
 * sv_argv_free) in *out_argv and returns the word count, which is >= 1; an
 * empty command is UV_EINVAL. */
int sv_words_split(const char *s, char ***out_argv, char *err, size_t errlen);

/* ---- ctest ---- */

/* Turns the JSON printed by `ctest --show-only=json-v1` into jobs, appended to
 * `out` in ctest's order: name, argv (the "command" array), cwd
 * (WORKING_DIRECTORY), env (ENVIRONMENT), timeout (TIMEOUT seconds -> ms,
 * rounded up), flags (DISABLED, WILL_FAIL, RUN_SERIAL; no "command":
 * SV_JOB_UNAVAILABLE), skip_code (SKIP_RETURN_CODE), processors, and the
 * list properties into the sv_job lists of the same meaning. Other
 * properties are left out (sv_ctest_unsupported() names them).
 * Returns the number of jobs appended, or UV_EINVAL (bad JSON, wrong shape,
 * a regular expression that does not compile, a malformed
 * ENVIRONMENT_MODIFICATION) or UV_ENOMEM with a message; `out` is unchanged
 * on failure. */
int sv_ctest_parse(const char *json, size_t len, sv_joblist *out, char *err, size_t errlen);

/* The properties the same listing names that sv_ctest_parse() does not
 * honour, each once, in order of first use: a new NULL-terminated array the
 * caller frees with sv_argv_free() (empty when all are honoured). Returns
 * their count, or UV_EINVAL / UV_ENOMEM. Honoured: WORKING_DIRECTORY,
 * ENVIRONMENT, ENVIRONMENT_MODIFICATION, TIMEOUT, DISABLED, WILL_FAIL,
 * SKIP_RETURN_CODE, PASS_/FAIL_/SKIP_REGULAR_EXPRESSION, LABELS, DEPENDS,
 * RESOURCE_LOCK, RUN_SERIAL, PROCESSORS, FIXTURES_SETUP/CLEANUP/REQUIRED and
 * REQUIRED_FILES. */
int sv_ctest_unsupported(const char *json, size_t len, char ***out_names);

/* Keeps the jobs of `l` whose keep[i] is true, plus, as ctest does, the
 * FIXTURES_SETUP and FIXTURES_CLEANUP jobs of every fixture a kept job
 * requires (and theirs in turn), in their order; frees the others. `keep`
 * has l->count entries and may be changed. Returns the number of jobs
 * left. */
size_t sv_joblist_keep(sv_joblist *l, bool *keep);

/* ctest -L / -LE: true if `job` has a label that `regex` (sv_regex_match()
 * syntax) matches somewhere; false for a job without labels. Returns
 * UV_EINVAL (with a message) for a bad regex, else 1 or 0. */
int sv_job_label_match(const sv_job *job, const char *regex, char *err, size_t errlen);

/* ---- CMake's regular expressions ----
 *
 * ctest's PASS/FAIL/SKIP_REGULAR_EXPRESSION and -L use CMake's own syntax
 * (^ $ . [ ] [^ ] * + ? | ( ), a backslash makes the next character
 * literal, no {m,n}), searched anywhere in the text. sv_regex_match() takes
 * that syntax to POSIX extended regexes. The text is searched up to its
 * first NUL, as ctest does. Returns 1 (match), 0, or UV_EINVAL for a
 * pattern that does not compile (message in err). */
int sv_regex_match(const char *pattern, const char *text, char *err, size_t errlen);

/* The environment a job runs with: `base` (NULL: ours), then the job's env
 * entries (later ones win), then its env_mod operations as ctest applies
 * them (reset, set, unset, string_append/_prepend, path_list_append/
 * _prepend with ':', cmake_list_append/_prepend with ';'). Stores a new
 * NULL-terminated array (free with sv_argv_free()) in *out. Returns 0,
 * UV_EINVAL (a malformed operation; message in err) or UV_ENOMEM. */
int sv_job_environ(const sv_job *job, char *const *base, char ***out, char *err, size_t errlen);

/* Runs `ctest --show-only=json-v1 --test-dir BUILD_DIR` without a shell
 * (posix_spawn; `ctest` NULL means "ctest", searched in PATH like execvp), stdin /dev/null, and
 * returns its stdout in a new NUL-terminated buffer the caller frees, with
 * its length. Blocks until ctest exits (at most 60 s, then it is killed);
 * waits only for that pid, so it is safe next to a libuv loop, but call it
 * before starting jobs. Fails with ctest's exit status and the end of its
 * stderr in the message: UV_ENOENT (ctest not found), UV_EINVAL (non-zero
 * exit), UV_ETIMEDOUT, or the error of the failing call. */
int sv_ctest_list(const char *ctest, const char *build_dir, char **out_json, size_t *out_len,
                  char *err, size_t errlen);

/* sv_ctest_list() then sv_ctest_parse(). Returns the number of jobs appended. */
int sv_ctest_load(const char *ctest, const char *build_dir, sv_joblist *out, char *err,
                  size_t errlen);

/* ==== Output capture ====================================================
 *
 * One sv_outbuf per job takes the chunks read from its stdout and stderr
 * pipes. It cuts each stream into complete lines separately (a partial line
 * is held until its newline or that stream's EOF, so a stdout line is never
 * mixed with a stderr line), hands each line to an optional callback (for
 * --tag), and keeps the lines, in arrival order, for the grouped print at the
 * end: everything up to `keep_bytes`, after that the most recent
 * `keep_bytes`, counting what it dropped.
 *
 * At most SV_OUTBUF_LINE_MAX bytes of a line are held while it waits for its
 * newline: a longer unfinished line is delivered in pieces of that size
 * (flag SV_OUTBUF_LINE_CUT), so memory stays bounded; a long line that
 * arrives whole in one chunk is delivered whole. A last line without a
 * newline is delivered at EOF with SV_OUTBUF_LINE_NO_EOL.
 * Stored lines always end in '\n' (one is added for cut and unterminated
 * lines), so the grouped print never leaves the terminal mid-line. */

#define SV_OUTBUF_LINE_MAX (64u * 1024u)
#define SV_OUTBUF_KEEP_DEFAULT (8u * 1024u * 1024u)
#define SV_OUTBUF_KEEP_MIN (64u * 1024u)
#define SV_OUTBUF_TAIL_LINES 50u

enum sv_outbuf_line_flags {
        SV_OUTBUF_LINE_CUT = 1u << 0,    /* more of this line follows in the next call */
        SV_OUTBUF_LINE_NO_EOL = 1u << 1, /* the stream ended without a final newline */
};

/* `line` excludes the '\n', is not NUL-terminated, and is valid only during
 * the call. `fd` is 1 or 2. */
typedef void (*sv_outbuf_line_cb)(int fd, const char *line, size_t len, unsigned flags,
                                  void *arg);

typedef struct sv_outbuf_opts {
        size_t keep_bytes;         /* 0: SV_OUTBUF_KEEP_DEFAULT; raised to SV_OUTBUF_KEEP_MIN */
        sv_outbuf_line_cb on_line; /* may be NULL */
        void *arg;
} sv_outbuf_opts;

typedef struct sv_outbuf sv_outbuf; /* opaque */

/* `opts` may be NULL (defaults). Returns 0 or UV_ENOMEM. */
int sv_outbuf_new(const sv_outbuf_opts *opts, sv_outbuf **out);
void sv_outbuf_free(sv_outbuf *b); /* accepts NULL */

/* Feeds a chunk read from fd 1 or 2; len 0 means EOF on that fd (its partial
 * line, if any, is delivered). Calls on_line for each completed line before
 * returning. Returns 0, UV_EINVAL (fd not 1 or 2), or UV_ENOMEM (the chunk
 * is then counted as dropped). */
int sv_outbuf_feed(sv_outbuf *b, int fd, const char *buf, size_t len);

/* Delivers both streams' partial lines as at EOF (for a job whose pipes were
 * never read to the end). Idempotent. */
void sv_outbuf_finish(sv_outbuf *b);

/* The kept output as one buffer (NUL-terminated, owned by `b`, valid until the
 * next feed/finish/free). If bytes were dropped, the text starts at the first
 * whole line after the cut and *out_dropped counts every byte not returned. */
const char *sv_outbuf_text(sv_outbuf *b, size_t *out_len, uint64_t *out_dropped);

/* The last `nlines` kept lines (0: SV_OUTBUF_TAIL_LINES), at most 64 KiB (the
 * start is cut), as a new NUL-terminated string the caller frees; NULL on
 * ENOMEM. Returns "" if nothing was kept. */
char *sv_outbuf_tail(sv_outbuf *b, unsigned nlines);
/* The same, with the tail's length (it may hold NUL bytes) in *out_len (may
 * be NULL). */
char *sv_outbuf_tailn(sv_outbuf *b, unsigned nlines, size_t *out_len);

uint64_t sv_outbuf_total_bytes(const sv_outbuf *b); /* all bytes fed */
uint64_t sv_outbuf_total_lines(const sv_outbuf *b); /* all lines delivered */

/* ==== The run report ====================================================
 *
 * A run is a stream of events. sv_report_add() applies each event to an
 * in-memory record per job and, if an events fd is set, appends it to the
 * events file as one JSON object per line. JUnit, TAP and the summary are
 * rendered only from those records, so every report says the same thing and
 * could be rebuilt from the events file. */

typedef enum sv_run_event_type {
        SV_RUN_EV_START,  /* the run began: unix_ms, count = parallel jobs */
        SV_RUN_EV_SPAWN,  /* an attempt started: job, attempt, pid */
        SV_RUN_EV_SIGNAL, /* we sent `signal` to the job's tree: reason ("timeout", "idle",
                           * "interrupt", ...) */
        SV_RUN_EV_STEP,   /* the stop ladder reached `step` (signal, grace_ms, reason) */
        SV_RUN_EV_DIAG,   /* hang diagnostics for the attempt: reason = kind ("snapshot",
                           * "on-timeout"), text = the diagnostics */
        SV_RUN_EV_LEAK,   /* count descendants outlived the attempt's leader */
        SV_RUN_EV_EXIT,   /* the attempt ended: exit, verdict, text = output tail;
                           * verdict SV_VERDICT_ERROR: never started, error = why */
        SV_RUN_EV_RETRY,  /* the job will be run again as attempt + 1 */
        SV_RUN_EV_SKIP,   /* the job will not run: reason ("disabled", "interrupted") */
        SV_RUN_EV_END,    /* the run ended */
        SV_RUN_EV_COUNT
} sv_run_event_type;

/* How an attempt ended, judged by sv_verdict_of(). */
typedef enum sv_verdict {
        SV_VERDICT_PASS,
        SV_VERDICT_FAIL,    /* exited with a failing code */
        SV_VERDICT_TIMEOUT, /* our timeout fired (cause SV_CAUSE_TIMEOUT) */
        SV_VERDICT_CRASH,   /* killed by a signal we did not send */
        SV_VERDICT_STOPPED, /* we stopped it for another reason (interrupt) */
        SV_VERDICT_SKIP,    /* exited with the job's skip_code, or never run on purpose */
        SV_VERDICT_ERROR,   /* could not be started */
        SV_VERDICT_NOTRUN,  /* no attempt finished (the run was cut short) */
        SV_VERDICT_COUNT
} sv_verdict;

/* "pass", "fail", "timeout", "crash", "stopped", "skip", "error", "notrun". */
const char *sv_verdict_name(sv_verdict v);
const char *sv_run_event_name(sv_run_event_type t); /* "start", "spawn", ... */

/* Judges an exit record against the job's expectations (`job` may be NULL):
 * cause TIMEOUT -> TIMEOUT, STOPPED -> STOPPED, SIGNALED -> CRASH (WILL_FAIL
 * does not excuse a crash); an exit with skip_code -> SKIP; otherwise code 0
 * passes, inverted by SV_JOB_WILL_FAIL. */
sv_verdict sv_verdict_of(const sv_job *job, const sv_exit_info *e);

/* sv_verdict_of() with ctest's output rules (verdict.c), for an attempt
 * whose whole output is `output` (NUL-terminated; NULL: none):
 * a timeout, a stop or a crash keep their verdict whatever the output says;
 * otherwise a FAIL regex match fails, no PASS regex match fails, and if the
 * job has PASS regexes the exit code is ignored; then a SKIP regex match or
 * the skip code skips; then WILL_FAIL inverts pass and fail. When a regex
 * decided, a one-line reason goes to why[whylen] (else why[0] = 0; why may
 * be NULL). A regex that does not compile never matches (sv_ctest_parse()
 * refuses those). */
sv_verdict sv_verdict_judge(const sv_job *job, const sv_exit_info *e, const char *output,
                            char *why, size_t whylen);

/* The exit record as one JSON object text (docs/json.md; the contract is
 * docs/exit-record.schema.json): the shape `supervise --json` writes per copy
 * and `run --events` carries in its exit lines. Every key is present, null
 * where there is no value. Returns a string the caller frees with free(), or
 * NULL when out of memory. `e` is only read, leaks included. */
char *sv_exit_json(const sv_exit_info *e);

/* Deprecated: sv_signal_name_r() under its old name ("SIGKILL", "SIGRTMIN+2",
 * "SIGRTMAX-1", or "SIG<n>"; buf at least 16 bytes, returned). */
const char *sv_run_signame(int sig, char buf[16]);

/* One event. Zero every field (SV_RUN_EVENT_INIT), then set those the type
 * uses; pointers are borrowed for the duration of sv_report_add() only. */
typedef struct sv_run_event {
        sv_run_event_type type;
        uint64_t t_ms;            /* monotonic ms since the run started */
        size_t job;               /* index in the job list given to sv_report_new */
        unsigned attempt;         /* 1-based; 0 is taken as 1 */
        pid_t pid;                /* SPAWN, SIGNAL, STEP, EXIT */
        int signal;               /* SIGNAL, STEP */
        int step;                 /* STEP: 0-based ladder step */
        uint64_t grace_ms;        /* STEP */
        const char *reason;       /* SIGNAL, STEP, DIAG, RETRY, SKIP; may be NULL */
        const char *text;         /* DIAG: diagnostics; EXIT: output tail; may be NULL */
        size_t text_len;          /* bytes of text, NULs included; 0: strlen(text) */
        const sv_exit_info *exit; /* EXIT, unless verdict is SV_VERDICT_ERROR */
        sv_verdict verdict;       /* EXIT */
        int error;                /* EXIT with SV_VERDICT_ERROR: negative error code */
        unsigned count;           /* START: parallel jobs; LEAK: processes left */
        uint64_t unix_ms;         /* START: wall-clock time, ms since the epoch */
        unsigned slot;            /* SPAWN: the runner's parallel slot, 0-based: the
                                   * lowest one free when the job first started; its
                                   * retries keep it */
} sv_run_event;

#define SV_RUN_EVENT_INIT { 0 }

typedef struct sv_report sv_report; /* opaque */

/* Creates a report for `jobs` (names, argv and flags are copied; the list may
 * be released afterwards). Every job starts as SV_VERDICT_NOTRUN. Returns 0
 * or UV_ENOMEM. */
int sv_report_new(const sv_joblist *jobs, sv_report **out);
void sv_report_free(sv_report *r); /* accepts NULL; never closes the events fd */

/* Sets the fd that events are appended to (-1: none). The caller opens it
 * (e.g. O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, before any job starts, so a bad
 * path fails early), keeps it open while the report lives, and closes it. */
void sv_report_set_events_fd(sv_report *r, int fd);

/* Applies `ev` to the job's record and appends it to the events fd as one
 * JSON line written with a single write(2) (retried only on EINTR or a short
 * write), so a supervisor killed at any moment leaves a file of complete
 * lines. The one exception: Linux may cut a write of several pages when
 * SIGKILL lands during it; the cut line then has no final '\n', so readers
 * should ignore an unterminated last line. Event order rules: attempts of one job are sequential; an EXIT
 * closes the attempt; a RETRY means another SPAWN follows.
 * Returns 0; UV_EINVAL for a job index out of range (nothing written); or
 * the write error (-errno), in which case the record was still updated and
 * later events keep being tried. */
int sv_report_add(sv_report *r, const sv_run_event *ev);

typedef struct sv_report_counts {
        unsigned total;     /* jobs */
        unsigned passed;    /* including flaky ones */
        unsigned failed;
        unsigned timed_out;
        unsigned crashed;
        unsigned stopped;
        unsigned skipped;
        unsigned errors;    /* could not start */
        unsigned not_run;
        unsigned flaky;     /* passed after at least one failed attempt */
        uint64_t wall_ms;   /* END's t_ms, or the latest event's */
} sv_report_counts;

void sv_report_get_counts(const sv_report *r, sv_report_counts *out);

/* The final verdict of job `i` (its last finished attempt). */
sv_verdict sv_report_verdict(const sv_report *r, size_t i);

/* A report file replaced whole or not at all. sv_atomic_file_open() creates
 * "<path>.tmp.XXXXXX" beside the file (a symlink's target, if path is one;
 * with the old file's mode, or 0666 & ~umask) and opens `f` on it; the
 * caller writes, then sv_atomic_file_commit() flushes, closes and renames it
 * over `path`, so that the old report stays as it was until the new one is
 * complete (a SIGKILL between the two leaves the old report and a stray
 * .tmp file). A path that exists and is not a regular file (/dev/stdout, a
 * FIFO) is written in place. Open returns 0 or -errno (nothing to clean up);
 * commit returns 0 or the first error (-errno: ENOSPC, EIO, ...), and then
 * removes the temporary file and leaves the old report untouched. Either
 * way the file is closed. sv_atomic_file_abort() closes and removes the
 * temporary file; it accepts a zeroed or already committed struct. */
typedef struct sv_atomic_file {
        FILE *f;    /* write here */
        char *path; /* private */
        char *tmp;  /* private; NULL when written in place */
} sv_atomic_file;

int sv_atomic_file_open(sv_atomic_file *af, const char *path);
int sv_atomic_file_commit(sv_atomic_file *af);
void sv_atomic_file_abort(sv_atomic_file *af);

/* JUnit XML (surefire flavour): <testsuites><testsuite name=suite> with one
 * <testcase> per job; time = all attempts' wall time; <failure> for fail,
 * timeout, crash and stopped (type = verdict, message with the exit code or
 * the signal as name and -N, body with the command, exit details and
 * diagnostics), <error> when it could not start, <skipped/> for skip and
 * not-run; a flaky job passes with <property name="flaky" value="true"/> and
 * one <flakyFailure> per failed attempt; <system-out> has the output tail.
 * Text is escaped for XML 1.0 with sv_text_escape's scheme: bytes that are
 * not UTF-8 and the characters XML 1.0 forbids (NUL and the other C0
 * controls but tab, LF and CR) become the visible text "\xNN"; nothing is
 * dropped. `suite` NULL: "supervise".
 * Returns 0, or the error of the write that failed (-errno, e.g. UV_ENOSPC;
 * UV_EIO if unknown). */
int sv_report_write_junit(const sv_report *r, FILE *f, const char *suite);

/* TAP version 13: "1..N", then "ok N - name" / "not ok N - name" (skips as
 * "ok N - name # SKIP reason"), each failure and each flaky pass followed by
 * a YAML block (---/...) with verdict, code, signal, timed_out, wall_ms,
 * attempts, and output/diagnostics. Returns 0 or the write error, as above. */
int sv_report_write_tap(const sv_report *r, FILE *f);

/* The end-of-run summary for humans: counts (passed, failed, timed out,
 * crashed with signal names, flaky, skipped), one line per job that did not
 * pass cleanly, the 5 slowest jobs, and the total time. Returns 0 or the write
 * error, as above. */
int sv_report_write_summary(const sv_report *r, FILE *f);

/* The run as one self-contained HTML page (inline CSS and SVG; no script,
 * nothing fetched, readable offline): a Gantt chart with one row per runner
 * slot (SPAWN's `slot`) and one bar per attempt from its SPAWN to its EXIT,
 * coloured by verdict, each with an SVG <title> (shown on hover) holding the
 * job's name, attempt, command, exit (code, or minus the signal, as the exit
 * record says), duration and verdict; a legend, a time axis, and a table of
 * every job, those that never ran included. All text from outside is
 * escaped for HTML with sv_text_escape's scheme (bytes that are not UTF-8
 * and controls become the visible text "\xNN"; nothing is dropped). `title`
 * NULL: "supervise run". Returns 0 or the write error, as above. */
int sv_report_write_timeline(const sv_report *r, FILE *f, const char *title);

/* How many lines have been written whole to the events fd so far: after an
 * event was added, its line number in the events file (1-based), if the
 * file was empty when the fd was set. */
uint64_t sv_report_events_lines(const sv_report *r);

/* ==== The runner ========================================================
 *
 * Runs a job list N jobs at a time on a caller's supervisor, the way git's
 * run_processes_parallel() does: the caller hands out jobs and gets
 * callbacks; the runner owns everything in between (slots, attempts,
 * retries, a lower -j while spawns fail for a passing reason, deadlines,
 * hang diagnostics, per-job log files) and adds every event to the report.
 * It never prints: output, status lines and the exit status are the
 * caller's. Every callback runs on the loop thread, from inside
 * sv_supervisor_run() or sv_runner_start(). */

typedef struct sv_runner sv_runner; /* opaque */

/* One finished attempt, or a job that never ran (ERROR, SKIP). Every pointer
 * is valid during the callback only. */
typedef struct sv_run_attempt {
        size_t job;               /* index in opts.jobs */
        unsigned attempt;         /* 1-based */
        sv_verdict verdict;
        bool will_retry;          /* attempt + 1 starts right after this callback */
        int error;                /* SV_VERDICT_ERROR: why it could not start */
        const sv_exit_info *exit; /* NULL unless it ran */
        const char *how;          /* one line: how it ended ("exit code 1", "cannot run
                                   * 'x': ..."); "" for a pass or a skip that ran */
        const char *output;       /* kept output (grouped mode); may hold NULs */
        size_t output_len;
        uint64_t output_dropped;  /* bytes cut from its front */
        const char *diag;         /* "--- kind ---\n..." blocks, NULL if none */
        size_t diag_len;
        const char *reason;       /* SKIP that never ran: "disabled", "interrupted", "aborted" */
} sv_run_attempt;

/* 1 and *out_job = the next fresh job to start; 0: none left. NULL in opts:
 * opts.jobs in order. Each index must be handed out once. */
typedef int (*sv_runner_next_cb)(sv_runner *rn, size_t *out_job, void *ud);
/* After the event went into opts.report. */
typedef void (*sv_runner_event_cb)(sv_runner *rn, const sv_run_event *ev, void *ud);
/* Raw chunks of a job's fd 1 or 2; len 0: EOF on that fd. */
typedef void (*sv_runner_output_cb)(sv_runner *rn, size_t job, int fd, const char *buf,
                                    size_t len, void *ud);
/* Complete lines (sv_outbuf's rules and flags), as they come; setting it
 * keeps only SV_OUTBUF_KEEP_MIN of each job's output for the report. */
typedef void (*sv_runner_line_cb)(sv_runner *rn, size_t job, int fd, const char *line,
                                  size_t len, unsigned flags, void *ud);
typedef void (*sv_runner_attempt_cb)(sv_runner *rn, const sv_run_attempt *a, void *ud);
/* Once, the first time a spawn fails with a passing error (EMFILE, ENFILE,
 * EAGAIN, ENOMEM): `running` jobs were running, this one included. */
typedef void (*sv_runner_throttle_cb)(sv_runner *rn, int err, unsigned running, void *ud);
/* A write of the runner's own failed (the report's events fd, a log file):
 * `what` names it ("the events file 'x'"). The runner has already stopped
 * the run as sv_runner_stop(rn, 0, "aborted") does. */
typedef void (*sv_runner_error_cb)(sv_runner *rn, const char *what, int err, void *ud);

/* sv_runner_opts.isolate, beside enum sv_isolate_flags. */
enum sv_run_isolate_flags {
        SV_RUN_ISOLATE_CWD = 1u << 8,
};

typedef struct sv_runner_opts {
        sv_supervisor *sv;            /* required; borrowed */
        const sv_joblist *jobs;       /* required; borrowed; outlives the runner */
        sv_report *report;            /* required; borrowed; made for `jobs` */
        const char *events_name;      /* the events file, for messages; may be NULL */
        unsigned parallel;            /* 0: 1 */
        unsigned retries;             /* more attempts after fail/timeout/crash */
        uint64_t timeout_ms;          /* jobs whose own timeout_ms is 0; 0: none */
        uint64_t idle_timeout_ms;     /* 0: none */
        sv_ladder ladder;             /* every job's stop ladder; count 0: sv_ladder_default() */
        sv_leaks leaks;
        char *const *on_timeout;      /* argv run at a timeout, "{pid}" replaced; NULL: none */
        uint64_t on_timeout_limit_ms; /* 0: 30 s */
        const char *logs_dir;         /* NULL: none; else DIR/<n>-<name>.log per job */
        /* Isolation: sv_isolate_flags (namespaces, sv_spawn_opts.isolate)
         * and SV_RUN_ISOLATE_CWD: each attempt runs in a fresh empty
         * directory, WORK_DIR/supervise-run-XXXXXX/<n>-<name>[.<attempt>],
         * removed when it ends (a relative argv[0] with a '/' is made
         * absolute first, and PWD names the directory). */
        unsigned isolate;
        bool keep_failed;             /* SV_RUN_ISOLATE_CWD: the directory of an attempt
                                       * that did not pass or skip stays; a DIAG event
                                       * "workdir" gives its path */
        const char *work_dir;         /* NULL: $TMPDIR, else /tmp */
        sv_runner_next_cb get_next;
        sv_runner_event_cb on_event;
        sv_runner_output_cb on_output;
        sv_runner_line_cb on_line;
        sv_runner_attempt_cb on_attempt;
        sv_runner_throttle_cb on_throttle;
        sv_runner_error_cb on_error;
        void *userdata;
        /* CI workflows (`run --repeat`, `--fail-fast`, `--max-fail`): */
        unsigned repeat;   /* run each job up to `repeat` times while it passes; a job
                            * is over at its first attempt that does not pass (0, 1:
                            * once). Meant without `retries`: with both, a failed
                            * attempt is retried and a passed one repeated, each up
                            * to its own count of attempts. RETRY reason: "repeat" */
        bool repeat_rounds; /* a passed job goes to the back of the queue instead of
                             * running again in its slot: the list runs round after
                             * round (`--until-fail`), not each job `repeat` times in
                             * a row */
        unsigned max_fail; /* once this many jobs have a final verdict that is not
                            * pass or skip, no new job or repetition starts: the
                            * waiting jobs are skipped with reason "fail-fast", and
                            * the running ones finish (retries included). 0: never */
} sv_runner_opts;

/* Makes a runner for `opts` (copied; what it points to is borrowed). Returns
 * 0 and *out, or UV_EINVAL (no sv, jobs or report) / UV_ENOMEM, or the
 * error of sv_isolate_check() for opts.isolate. Nothing starts yet. */
int sv_runner_new(const sv_runner_opts *opts, sv_runner **out);

/* Emits START and starts jobs up to `parallel`; they run as the loop runs.
 * Returns 0 or the error of the timers it needs, or (before START) of
 * making the run's directory for SV_RUN_ISOLATE_CWD. */
int sv_runner_start(sv_runner *rn);

/* No new job starts. Waiting jobs are skipped with `reason` ("interrupted",
 * "aborted"). Running ones go down the ladder with that reason ("interrupted"
 * stops them as "interrupt", the events' word), the first step sending `sig`
 * (0: the ladder's). `sig` != 0 means the user asked (a signal): a second
 * such call SIGKILLs the trees, and no --on-timeout command starts after it. */
void sv_runner_stop(sv_runner *rn, int sig, const char *reason);

/* The first write error the runner hit itself (see sv_runner_error_cb): 0 if
 * none, else the error, with *out_what (may be NULL) naming the file; the
 * string lives as long as the runner. */
int sv_runner_error(const sv_runner *rn, const char **out_what);

typedef struct sv_runner_progress {
        size_t total;     /* jobs */
        size_t done;      /* jobs with a final verdict */
        unsigned running; /* slots in use */
        unsigned failed;  /* jobs done that did not pass */
} sv_runner_progress;

void sv_runner_progress_get(const sv_runner *rn, sv_runner_progress *out);

/* The path of job `job`'s log file under opts.logs_dir
 * ("DIR/<n>-<name>.log"), written into buf[n] with its NUL. Returns 0, or
 * UV_EINVAL (no logs_dir, job out of range) / UV_ENAMETOOLONG (buf too
 * small; buf is then untouched). The file exists once the job has started. */
int sv_runner_log_path(const sv_runner *rn, size_t job, char *buf, size_t n);

/* Milliseconds since sv_runner_start(), the clock of the events' t_ms. */
uint64_t sv_runner_now_ms(const sv_runner *rn);

/* Emits END, closes the runner's handles (running the loop once for their
 * close callbacks) and frees everything; accepts NULL. Call after the loop
 * ran out, before sv_supervisor_free(). */
void sv_runner_free(sv_runner *rn);

/* git's shape in one call: new, start, sv_supervisor_run, free. Returns 0 or
 * the first error of those; the verdicts are in opts->report. */
int sv_run_parallel(const sv_runner_opts *opts);


/* ==== Choosing the jobs of a run ========================================
 *
 * What `supervise run` does between loading a job list and running it:
 * name filters, a list of names to keep (--rerun-failed), one shard of a
 * split, and a shuffle. Every step keeps the list's order except the
 * shuffle, which comes last, so the shard a job lands in never depends on
 * the seed. */

/* The shard of `name` in a split into `count` shards, 0-based: a hash of the
 * name's bytes (FNV-1a, then a 64-bit finaliser), so a job keeps its shard
 * when other jobs come or go, and jobs of one name share a shard. `count` 0
 * is taken as 1. */
unsigned sv_job_shard(const char *name, unsigned count);

typedef struct sv_select_opts {
        const char *include_re; /* keep only names this POSIX ERE matches; NULL: all */
        const char *exclude_re; /* then drop names it matches; NULL: none */
        char *const *names;     /* NULL, or a NULL-terminated list: keep only jobs
                                 * whose name is one of these */
        const char *names_what; /* where `names` came from, for the message when they
                                 * select nothing ("--rerun-failed 'ev.jsonl'") */
        unsigned shard_index;   /* 0-based; < shard_count */
        unsigned shard_count;   /* 0: no sharding */
        bool shuffle;           /* then put the jobs in an order drawn from `seed` */
        uint64_t seed;          /* the same seed and list give the same order */
} sv_select_opts;

/* Narrows `l` in place, in the order of the fields above (keeping, as ctest
 * does, the fixture setups and cleanups the kept jobs require), freeing the jobs
 * it drops. Returns the number of jobs left; when that is 0, `err` says
 * which step left none ("-R 'foo' matched none of 12 jobs"), so a caller can
 * make an empty selection an error. A bad regular expression or shard
 * returns UV_EINVAL with a message and leaves `l` as it was; UV_ENOMEM
 * likewise. */
int sv_joblist_select(sv_joblist *l, const sv_select_opts *o, char *err, size_t errlen);

/* ==== Reading events files back =========================================
 *
 * The `run --events` files (docs/json.md) are the record of a run; these
 * read them, skipping an unterminated last line (a run killed mid-write).
 * A file whose first line is not a `start` event is not an events file. */

/* The names of the jobs whose final verdict in the events file at `path` is
 * fail, timeout, crash, stopped or error (a job's last `exit` line; a `skip`
 * is not a failure), in the file's job order (once per such job: jobs may
 * share a name), as a new NULL-terminated array (free it with sv_argv_free()). Returns how many
 * (possibly 0), or -errno / UV_EINVAL ("'x' is not an events file: ...")
 * with a message. */
int sv_events_failed_names(const char *path, char ***out_names, char *err, size_t errlen);

/* A job name found in two of the files given to sv_report_merge(): the
 * record from `kept` is used, the one from `dropped` is not (the worse
 * verdict is kept, so a failure in any shard is never hidden; on a tie, the
 * first file's). */
typedef void (*sv_merge_conflict_cb)(const char *name, const char *kept, const char *dropped,
                                     void *ud);

/* Rebuilds one report from `n` events files (a sharded run's shards), as
 * if one run had made them all: jobs in file order, each file's times
 * shifted by its start's wall clock, the run's length from the earliest
 * start to the latest event. Jobs that a cut-short run never mentioned
 * count as not run, named "<job N of FILE>". Returns 0 and a report to free
 * with sv_report_free() in *out, or an error with a message (a file that
 * cannot be read or is not an events file). */
int sv_report_merge(const char *const *paths, size_t n, sv_merge_conflict_cb on_conflict,
                    void *ud, sv_report **out, char *err, size_t errlen);

/* Run facts for the `start` line of the events file: the shuffle seed and
 * the shard, written only when set. Call before the runner starts. */
void sv_report_set_seed(sv_report *r, uint64_t seed);
void sv_report_set_shard(sv_report *r, unsigned index, unsigned count); /* 0-based index */

#ifdef __cplusplus
}
#endif
#endif
