/* cmd_run.c - `supervise run`: a job list (a job file or a CMake build's
 * tests) -> N workers at a time -> one event stream -> reports and an exit
 * code. It wires libsv (spawn, tree kill, stop ladder) to the run pieces of
 * sv_run.h (job parsing, output capture, the report model) and owns only the
 * policy in between: scheduling, retries, deadlines, hang diagnostics,
 * printing and the exit status.
 *
 * Deadlines are ours, not the library's: a timed-out job must be looked at
 * (its process tree, its last output, the --on-timeout command) BEFORE its
 * stop ladder starts, so every job is spawned with timeout_ms = 0 and one
 * uv_timer per slot watches both the job's deadline and its idle time.
 * Every byte of job output goes to our stdout and every message of ours to
 * stderr, each with write(2), whole lines (or a whole job's output) at a
 * time, so two jobs' output never mixes.
 *
 * Nothing is lost silently: a write that fails (stdout, stderr, the events
 * file, a log, a report) ends the run through output_failed() with 125, and
 * a spawn that fails for a passing reason (EMFILE, EAGAIN, ...) is retried
 * at a lower effective -j by throttle() before the job is an ERROR. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supervise/sv.h"
#include "supervise/sv_run.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_TIMEDOUT 124
#define EXIT_OWN 125

#define MAX_JOBS_PARALLEL 4096u
#define MAX_RETRIES 100u
#define DIAG_LIMIT_DEFAULT_MS 30000u
#define HELPER_OUT_MAX (256u * 1024u)
#define CMDLINE_MAX 512
#define PROGRESS_MS 250
/* A job that cannot start for a passing reason while nothing else runs is
 * tried again after 10 ms, 20 ms, ... (about 5 s in all) before it is an
 * ERROR. */
#define SPAWN_BACKOFF_MS 10u
#define SPAWN_BACKOFF_TRIES 9u

extern char **environ;

static const char usage_text[] =
        "Usage: supervise run [OPTION]... (--from FILE | --ctest BUILD_DIR)\n"
        "Run many commands, N at a time, each with a deadline; diagnose and kill\n"
        "the hung ones with their whole process tree; report in JSON lines, JUnit\n"
        "and TAP. Commands never run through a shell.\n"
        "\n"
        "Jobs:\n"
        "  -f, --from FILE        one command per line ('-': stdin), split like sh\n"
        "                         words with no expansion; '#' comments, blank\n"
        "                         lines skipped; 'name=NAME cmd...' names a job\n"
        "      --ctest BUILD_DIR  the tests of a CMake build directory (from\n"
        "                         'ctest --show-only=json-v1'): command, working\n"
        "                         directory, environment, TIMEOUT, WILL_FAIL,\n"
        "                         DISABLED, SKIP_RETURN_CODE\n"
        "  -j, --jobs N           run N jobs at once (default: number of CPUs); fewer\n"
        "                         for a while if a start fails with EMFILE, ENFILE,\n"
        "                         EAGAIN or ENOMEM (said once; the job is retried)\n"
        "  -t, --timeout DUR      stop a job running longer than DUR (250ms, 1.5s,\n"
        "                         2m; bare number: seconds); ctest's TIMEOUT wins\n"
        "      --idle-timeout DUR a job with no output for DUR counts as hung\n"
        "  -r, --retries K        run a failing job up to K more times; a job that\n"
        "                         passes on a retry is flaky and counts as passed\n"
        "  -s, --signal SIG       first signal of the stop ladder (default TERM)\n"
        "  -k, --kill-after DUR   grace after it before KILL (default 5s)\n"
        "      --stop LADDER      the whole ladder, e.g. 'INT:5s,TERM:5s,KILL'\n"
        "      --leaks POLICY     descendants alive when a job exits: kill (default),\n"
        "                         report, fail (kill them and fail the job), ignore\n"
        "\n"
        "Hung jobs: before a timed-out job is stopped, its process tree (pid, ppid,\n"
        "state, wchan, kernel stack where readable, command line) and its last 50\n"
        "output lines are recorded.\n"
        "      --on-timeout CMD   then run CMD ({pid}: the job's pid), e.g.\n"
        "                         'gdb -batch -p {pid} -ex \"thread apply all bt\"';\n"
        "                         its output goes into the report\n"
        "      --on-timeout-limit DUR  stop CMD after DUR (default 30s)\n"
        "\n"
        "Output (job output goes to stdout, supervise's own messages to stderr):\n"
        "      (default)          each job's output, whole, when the job ends\n"
        "      --tag              complete lines as they come, as '[name] line'\n"
        "      --logs DIR         also keep each job's output in DIR/<n>-<name>.log\n"
        "      --events FILE      JSON lines as things happen (spawn, signal, step,\n"
        "                         diag, leak, exit, retry, skip)\n"
        "      --junit FILE       JUnit XML, one testcase per job\n"
        "      --tap FILE         TAP version 13\n"
        "                         (JUnit and TAP are written beside FILE and renamed\n"
        "                         over it when complete: an old report survives)\n"
        "  -q, --quiet            no progress line, job status lines or summary\n"
        "  -h, --help             show this help and exit\n"
        "      --version          show the version and exit\n"
        "\n"
        "On a terminal, one status line (done/total, running, failed, elapsed, ETA)\n"
        "is redrawn on stderr. INT, TERM or HUP stop the running jobs through the\n"
        "ladder, start no new ones and write the reports; a second one kills the\n"
        "remaining trees at once.\n"
        "\n"
        "Exit status:\n"
        "  0      every job passed (a flaky pass or a skip counts as passed)\n"
        "  1      a job failed, crashed or could not be started\n"
        "  124    a job timed out, and every other job passed\n"
        "  125    supervise run itself failed: a bad option, job file or report\n"
        "         path (no job was started); or job output, the events file, a log\n"
        "         or a report could not be written (one line names the file and\n"
        "         the error; the running jobs were stopped through the ladder)\n"
        "  128+N  supervise run was stopped by signal N (INT 130, TERM 143, HUP 129)\n";

typedef struct run_opts {
        unsigned jobs;
        uint64_t timeout_ms;
        uint64_t idle_ms;
        uint64_t diag_limit_ms;
        unsigned retries;
        sv_ladder ladder;
        sv_leaks leaks;
        const char *from;
        const char *ctest_dir;
        const char *logs;
        const char *events;
        const char *junit;
        const char *tap;
        const char *on_timeout;
        bool tag;
        bool quiet;
} run_opts;

struct run;
struct slot;

/* A job's state across its attempts. The slot is held from the first
 * attempt's spawn until the last attempt (and its --on-timeout command) is
 * over, so retries and diagnostics count against -j. */
typedef struct job {
        struct run *r;
        const sv_job *def;
        size_t index;
        unsigned attempt;  /* current or last attempt, 1-based; 0: never started */
        struct slot *slot; /* NULL unless running */
        sv_worker *w;      /* the running attempt; NULL once it has exited */
        pid_t pid;
        sv_outbuf *out;
        int log_fd;
        uint64_t deadline; /* absolute uv_now() ms; 0: none */
        uint64_t last_out; /* uv_now() of the last output, for --idle-timeout */
        bool hung;         /* our deadline fired for this attempt */
        bool hung_idle;    /* ... and it was the idle one */
        bool stopping;     /* we started this attempt's stop ladder */
        int step;          /* ladder step announced in the events */
        unsigned spawn_tries; /* backoff retries of a spawn that failed for a passing reason */
        const char *stop_reason;
        /* --on-timeout: while `helper` runs, the attempt's exit is held back
         * (exit_pending), so its diagnostics come before its EXIT event. */
        sv_worker *helper;
        char *helper_out;
        size_t helper_len;
        uint64_t helper_dropped;
        bool exit_pending;
        sv_exit_info exit;
        sv_leak *leaks;
        char *diag; /* this attempt's diagnostics, for the terminal and the log */
        size_t diag_len; /* bytes of diag: job output in it may hold NULs */
} job;

typedef struct slot {
        uv_timer_t timer; /* deadline and idle watch, then the ladder's steps */
        struct run *r;
        job *job;         /* NULL: free */
} slot;

typedef struct run {
        const run_opts *o;
        sv_supervisor *sv;
        uv_loop_t *loop;
        sv_joblist list;
        job *jobs;
        slot *slots;
        unsigned nslots;
        slot **free_slots;
        unsigned nfree;
        size_t next;    /* first job not started yet */
        /* Jobs whose spawn failed for a passing reason (EMFILE, ENFILE,
         * EAGAIN, ENOMEM), to start before `next`, and the effective -j:
         * the number running when that happened, raised by one as each job
         * ends, up to nslots. */
        job **deferred;
        size_t ndeferred;
        unsigned limit;
        bool throttled;   /* said so on stderr */
        bool spawn_hopeless; /* a job gave up its backoff; no spawn worked since */
        uv_timer_t backoff; /* nothing runs to end and make room: try later */
        bool backoff_init;
        size_t done;    /* jobs with a final verdict */
        unsigned running;
        unsigned failed; /* jobs that did not pass, for the progress line */
        sv_report *rep;
        int events_fd;
        sv_atomic_file junit, tap; /* renamed into place when complete */
        char **on_timeout_argv;
        uint64_t t0;
        int stop_signal;
        unsigned nstops;
        uv_signal_t sigs[3];
        int nsigs;
        uv_timer_t progress;
        bool progress_init;
        bool progress_on;     /* stderr is a terminal and not --quiet */
        bool progress_shown;  /* a status line is on screen now */
        uint64_t progress_drawn;
        bool out_failed;      /* a report could not be written: no new job, exit 125 */
        bool stdout_failed;   /* stop printing job output */
        bool stderr_failed;
        bool events_failed;
        char *line;           /* --tag line assembly */
        size_t line_cap;
} run;

/* ---- Small helpers ---- */

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise run", fmt, arg);
}

/* Writes all of p, waiting out EAGAIN (an inherited non-blocking fd) and
 * EINTR. Returns 0 or -errno. */
static int write_all(int fd, const char *p, size_t n) {
        struct pollfd pfd;
        ssize_t w;

        while (n > 0) {
                w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                pfd.fd = fd;
                                pfd.events = POLLOUT;
                                (void) poll(&pfd, 1, -1);
                                continue;
                        }
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

static uint64_t now_ms(const run *r) {
        return uv_now(r->loop) - r->t0;
}

static void fmt_secs(char buf[32], uint64_t ms) {
        snprintf(buf, 32, "%llu.%03llu s", (unsigned long long) (ms / 1000),
                 (unsigned long long) (ms % 1000));
}

static void fmt_clock(char buf[32], uint64_t ms) {
        uint64_t s = ms / 1000;

        if (s >= 3600)
                snprintf(buf, 32, "%llu:%02llu:%02llu", (unsigned long long) (s / 3600),
                         (unsigned long long) (s / 60 % 60), (unsigned long long) (s % 60));
        else
                snprintf(buf, 32, "%llu:%02llu", (unsigned long long) (s / 60),
                         (unsigned long long) (s % 60));
}

static uint64_t job_timeout(const run *r, const job *j) {
        return j->def->timeout_ms ? j->def->timeout_ms : r->o->timeout_ms;
}

/* ---- The progress line ---- */

/* Takes the status line off the screen before anything else is printed, so
 * job output and our messages always start at column 0 of a clean line. */
static void progress_clear(run *r) {
        if (r->progress_shown) {
                (void) write_all(2, "\r\033[K", 4);
                r->progress_shown = false;
        }
}

static void progress_draw(run *r) {
        char buf[200], el[32], eta[32];
        uint64_t t;
        size_t total = r->list.count;
        int n;

        if (!r->progress_on)
                return;
        uv_update_time(r->loop);
        t = now_ms(r);
        r->progress_drawn = t;
        fmt_clock(el, t);
        if (r->done > 0 && r->done < total)
                fmt_clock(eta, t / r->done * (total - r->done));
        else
                snprintf(eta, sizeof(eta), r->done ? "0:00" : "?");
        n = snprintf(buf, sizeof(buf), "\r\033[K[%zu/%zu] running %u, failed %u, %s elapsed, ETA %s",
                     r->done, total, r->running, r->failed, el, eta);
        if (n > 0 && (size_t) n < sizeof(buf) && write_all(2, buf, (size_t) n) == 0)
                r->progress_shown = true;
}

static void on_progress_timer(uv_timer_t *t) {
        progress_draw(t->data);
}

/* ---- Output ---- */

static void output_failed(run *r, const char *what, int err);

/* A full disk or a reader gone (EPIPE; SIGPIPE is ignored) loses job
 * output: that ends the run (output_failed). */
static void out_write(run *r, const char *p, size_t n) {
        int e;

        if (r->stdout_failed || n == 0)
                return;
        e = write_all(1, p, n);
        if (e < 0) {
                r->stdout_failed = true;
                output_failed(r, "to standard output", e);
        }
}

/* A lost stderr cannot be reported on stderr; the exit status says it. */
static void err_write(run *r, const char *p, size_t n) {
        if (r->stderr_failed)
                return;
        if (write_all(2, p, n) < 0) {
                r->stderr_failed = true;
                output_failed(r, NULL, 0);
        }
}

static int tag_reserve(run *r, size_t n) {
        char *p;

        if (n <= r->line_cap)
                return 0;
        p = realloc(r->line, n);
        if (!p)
                return UV_ENOMEM;
        r->line = p;
        r->line_cap = n;
        return 0;
}

/* --tag: "[name] line\n" in one write(2), so concurrent jobs' lines never
 * split each other. */
static void on_tag_line(int fd, const char *line, size_t len, unsigned flags, void *arg) {
        job *j = arg;
        run *r = j->slot->r;
        size_t nl = strlen(j->def->name), n = nl + 3 + len + 1;

        (void) fd;
        (void) flags;
        if (r->stdout_failed || tag_reserve(r, n) < 0)
                return;
        r->line[0] = '[';
        memcpy(r->line + 1, j->def->name, nl);
        memcpy(r->line + 1 + nl, "] ", 2);
        memcpy(r->line + 3 + nl, line, len);
        r->line[n - 1] = '\n';
        progress_clear(r);
        out_write(r, r->line, n);
}

/* ---- Per-job log files (--logs) ---- */

/* Opens the job's log. Returns 0 or -errno: EMFILE and ENFILE are the
 * caller's to retry, any other error has ended the run. */
static int log_open(run *r, job *j) {
        char path[4096], name[64], what[4200];
        size_t i, k = 0;
        int width = 1, e;
        size_t c;

        for (c = r->list.count; c >= 10; c /= 10)
                width++;
        for (i = 0; j->def->name[i] && k < sizeof(name) - 1; i++) {
                char ch = j->def->name[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';

                if (ok)
                        name[k++] = ch;
                else if (k > 0 && name[k - 1] != '_')
                        name[k++] = '_';
        }
        while (k > 0 && (name[k - 1] == '_' || name[k - 1] == '.'))
                k--;
        name[k] = '\0';
        /* The index keeps names unique (two jobs may share a command line). */
        snprintf(path, sizeof(path), "%s/%0*zu%s%s.log", r->o->logs, width, j->index + 1,
                 k ? "-" : "", name);
        j->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (j->log_fd >= 0)
                return 0;
        e = -errno;
        if (e != UV_EMFILE && e != UV_ENFILE) {
                snprintf(what, sizeof(what), "log file '%s'", path);
                output_failed(r, what, e);
        }
        return e;
}

static void log_write(job *j, const char *p, size_t n) {
        char what[600];
        int e;

        if (j->log_fd < 0)
                return;
        e = write_all(j->log_fd, p, n);
        if (e < 0) {
                close(j->log_fd);
                j->log_fd = -1;
                snprintf(what, sizeof(what), "the log file of job '%.500s'", j->def->name);
                output_failed(j->r, what, e);
        }
}

static void log_printf(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_printf(job *j, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        if (j->log_fd < 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                log_write(j, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
}

/* ---- Events ---- */

static void event(run *r, sv_run_event *ev) {
        int e;

        ev->t_ms = now_ms(r);
        e = sv_report_add(r->rep, ev);
        if (e < 0 && e != UV_ENOMEM && r->events_fd >= 0 && !r->events_failed) {
                char what[4200];

                /* The lines already written stay valid; later ones would
                 * fail the same way. */
                r->events_failed = true;
                sv_report_set_events_fd(r->rep, -1);
                snprintf(what, sizeof(what), "the events file '%.4096s'", r->o->events);
                output_failed(r, what, e);
        }
}

static void event_signal(run *r, job *j, sv_run_event_type type, int sig, int step,
                         uint64_t grace) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        ev.type = type;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        ev.signal = sig;
        ev.step = step;
        ev.grace_ms = grace;
        ev.reason = j->stop_reason;
        event(r, &ev);
}

/* ---- Hang diagnostics ---- */

/* Reads a small /proc file into buf (NUL-terminated). Returns its length or
 * -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
        ssize_t n, total = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while ((size_t) total < cap - 1) {
                n = read(fd, buf + total, cap - 1 - (size_t) total);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        n = -errno;
                        close(fd);
                        return n;
                }
                if (n == 0)
                        break;
                total += n;
        }
        close(fd);
        buf[total] = '\0';
        return total;
}

static void snap_one(FILE *m, FILE *stacks, pid_t pid) {
        char path[64], stat[1024], wchan[128], cmd[CMDLINE_MAX], stack[4096];
        char state = '?';
        int ppid = 0;
        ssize_t n, i;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        if (read_small(path, stat, sizeof(stat)) > 0 && (p = strrchr(stat, ')')) != NULL)
                (void) sscanf(p + 1, " %c %d", &state, &ppid);
        snprintf(path, sizeof(path), "/proc/%d/wchan", (int) pid);
        if (read_small(path, wchan, sizeof(wchan)) <= 0 || strcmp(wchan, "0") == 0)
                snprintf(wchan, sizeof(wchan), "-");
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        n = read_small(path, cmd, sizeof(cmd));
        while (n > 0 && cmd[n - 1] == '\0')
                n--;
        for (i = 0; i < n; i++)
                if (cmd[i] == '\0')
                        cmd[i] = ' ';
        fprintf(m, "%8d %8d %c     %-24s ", (int) pid, ppid, state, wchan);
        /* A hostile command line must not drive the terminal it is shown on. */
        if (n > 0)
                sv_cli_put_term(m, cmd, (size_t) n);
        else
                fputc('?', m);
        fputc('\n', m);

        snprintf(path, sizeof(path), "/proc/%d/stack", (int) pid);
        n = read_small(path, stack, sizeof(stack));
        if (n < 0) {
                fprintf(stacks, "kernel stack of %d: unreadable (%s)\n", (int) pid,
                        strerror((int) -n));
                return;
        }
        fprintf(stacks, "kernel stack of %d:\n", (int) pid);
        for (p = strtok(stack, "\n"); p; p = strtok(NULL, "\n"))
                fprintf(stacks, "    %s\n", p);
}

/* The job's tree (leader first) and its last output lines, as text the
 * caller frees, with its length in *out_len (the output may hold NULs).
 * NULL only when out of memory. */
static char *snapshot(run *r, job *j, size_t *out_len) {
        char *text = NULL, *stext = NULL, secs[32], *tail;
        size_t len = 0, slen = 0, tlen = 0;
        sv_proc *procs = NULL;
        FILE *m, *stacks;
        int n, i;

        m = open_memstream(&text, &len);
        if (!m)
                return NULL;
        stacks = open_memstream(&stext, &slen);
        if (!stacks) {
                fclose(m);
                free(text);
                return NULL;
        }
        n = sv_worker_descendants(j->w, &procs);
        fmt_secs(secs, j->hung_idle ? r->o->idle_ms : job_timeout(r, j));
        fprintf(m, "job '%s' (attempt %u) %s after %s; process tree (%d process%s):\n",
                j->def->name, j->attempt, j->hung_idle ? "had no output" : "timed out", secs,
                n > 0 ? n + 1 : 1, n > 0 ? "es" : "");
        fprintf(m, "%8s %8s %-5s %-24s %s\n", "PID", "PPID", "STATE", "WCHAN", "COMMAND");
        snap_one(m, stacks, j->pid);
        for (i = 0; i < n; i++)
                snap_one(m, stacks, procs[i].pid);
        if (n < 0)
                fprintf(m, "(descendants unknown: %s)\n", uv_strerror(n));
        free(procs);
        fclose(stacks);
        if (stext)
                fputs(stext, m);
        free(stext);
        tail = sv_outbuf_tailn(j->out, SV_OUTBUF_TAIL_LINES, &tlen);
        fprintf(m, "last %u output lines:\n", SV_OUTBUF_TAIL_LINES);
        if (tail && tlen)
                (void) fwrite(tail, 1, tlen, m);
        else
                fputs("(no output)\n", m);
        if (tail && tlen && tail[tlen - 1] != '\n')
                fputc('\n', m);
        free(tail);
        if (fclose(m) != 0) {
                free(text);
                return NULL;
        }
        *out_len = len;
        return text;
}

/* Records `len` bytes of diagnostics (len 0: up to the NUL). */
static void diag_add(run *r, job *j, const char *kind, const char *text, size_t len) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        size_t klen = strlen(kind), n;
        char *d;

        if (!len)
                len = strlen(text);
        ev.type = SV_RUN_EV_DIAG;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.reason = kind;
        ev.text = text;
        ev.text_len = len;
        event(r, &ev);
        n = j->diag_len + klen + 9 + len;
        d = realloc(j->diag, n + 1);
        if (!d)
                return;
        memcpy(d + j->diag_len, "--- ", 4);
        memcpy(d + j->diag_len + 4, kind, klen);
        memcpy(d + j->diag_len + 4 + klen, " ---\n", 5);
        memcpy(d + j->diag_len + 9 + klen, text, len);
        d[n] = '\0';
        j->diag = d;
        j->diag_len = n;
}

/* ---- Stopping a job ---- */

static void arm_ladder(run *r, job *j);

static void stop_job(run *r, job *j, const char *reason, int sig) {
        if (!j->w || j->stopping)
                return;
        if (sv_worker_stop_signal(j->w, sig) < 0)
                return;
        j->stopping = true;
        j->stop_reason = reason;
        j->step = 0;
        event_signal(r, j, SV_RUN_EV_SIGNAL, sig ? sig : r->o->ladder.steps[0].signal, 0, 0);
        arm_ladder(r, j);
}

static void on_slot_timer(uv_timer_t *t);

/* While the library walks the ladder, this timer runs on the same
 * schedule to put each step into the events as it is due. The exit record's
 * stop_step stays the authority on which step ended the job. */
static void arm_ladder(run *r, job *j) {
        const sv_ladder *l = &r->o->ladder;
        unsigned k = (unsigned) j->step;

        if (k >= l->count || l->steps[k].signal == SIGKILL) {
                uv_timer_stop(&j->slot->timer);
                return;
        }
        uv_timer_start(&j->slot->timer, on_slot_timer, l->steps[k].grace_ms, 0);
}

static void ladder_tick(run *r, job *j) {
        const sv_ladder *l = &r->o->ladder;
        unsigned k = (unsigned) ++j->step;
        int sig = k < l->count ? l->steps[k].signal : SIGKILL;

        event_signal(r, j, SV_RUN_EV_STEP, sig, j->step, k < l->count ? l->steps[k].grace_ms : 0);
        arm_ladder(r, j);
}

/* ---- --on-timeout ---- */

static void on_helper_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        job *j = ud;
        size_t room;
        char *p;

        (void) w;
        (void) fd;
        if (len == 0)
                return;
        room = j->helper_len < HELPER_OUT_MAX ? HELPER_OUT_MAX - j->helper_len : 0;
        if (len > room) {
                j->helper_dropped += len - room;
                len = room;
        }
        if (len == 0)
                return;
        p = realloc(j->helper_out, j->helper_len + len + 1);
        if (!p) {
                j->helper_dropped += len;
                return;
        }
        memcpy(p + j->helper_len, buf, len);
        j->helper_len += len;
        p[j->helper_len] = '\0';
        j->helper_out = p;
}

static void finish_attempt(run *r, job *j);
static void fill(run *r);

static void on_helper_exit(sv_worker *w, const sv_exit_info *e, void *ud) {
        job *j = ud;
        run *r = j->slot->r;
        char *text = NULL, secs[32], sig[16];
        size_t len = 0;
        FILE *m;

        (void) w;
        m = open_memstream(&text, &len);
        if (m) {
                if (j->helper_out)
                        (void) fwrite(j->helper_out, 1, j->helper_len, m);
                if (j->helper_len && j->helper_out[j->helper_len - 1] != '\n')
                        fputc('\n', m);
                if (j->helper_dropped)
                        fprintf(m, "[%llu more bytes dropped]\n", (unsigned long long) j->helper_dropped);
                fmt_secs(secs, e->wall_us / 1000);
                if (e->cause == SV_CAUSE_TIMEOUT)
                        fprintf(m, "[on-timeout command timed out after %s and was stopped]\n", secs);
                else if (e->exited)
                        fprintf(m, "[on-timeout command exited %d after %s]\n", e->code, secs);
                else
                        fprintf(m, "[on-timeout command killed by %s after %s]\n",
                                sv_run_signame(e->signal, sig), secs);
                if (fclose(m) != 0) {
                        free(text);
                        text = NULL;
                }
        }
        diag_add(r, j, "on-timeout", text ? text : "[out of memory]\n", text ? len : 0);
        free(text);
        free(j->helper_out);
        j->helper_out = NULL;
        j->helper_len = 0;
        j->helper_dropped = 0;
        j->helper = NULL;
        if (j->exit_pending) {
                finish_attempt(r, j);
                fill(r);
                progress_draw(r);
        } else {
                stop_job(r, j, j->stop_reason, 0);
        }
}

/* Returns `word` with each "{pid}" replaced, as a new string; NULL on ENOMEM. */
static char *subst_pid(const char *word, pid_t pid) {
        char num[16], *out, *o;
        const char *p;
        size_t n = 0, nlen;

        nlen = (size_t) snprintf(num, sizeof(num), "%d", (int) pid);
        for (p = word; (p = strstr(p, "{pid}")) != NULL; p += 5)
                n++;
        out = malloc(strlen(word) + n * nlen + 1);
        if (!out)
                return NULL;
        for (o = out, p = word; *p;) {
                if (strncmp(p, "{pid}", 5) == 0) {
                        memcpy(o, num, nlen);
                        o += nlen;
                        p += 5;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

static int start_helper(run *r, job *j) {
        sv_spawn_opts sp;
        char **argv;
        size_t n = 0, i;
        int e = UV_ENOMEM;

        while (r->on_timeout_argv[n])
                n++;
        argv = calloc(n + 1, sizeof(*argv));
        if (!argv)
                return UV_ENOMEM;
        for (i = 0; i < n; i++) {
                argv[i] = subst_pid(r->on_timeout_argv[i], j->pid);
                if (!argv[i])
                        goto out;
        }
        memset(&sp, 0, sizeof(sp));
        sp.argv = (const char *const *) argv;
        sp.stdio[0] = SV_STDIO_NULL;
        sp.stdio[1] = SV_STDIO_PIPE;
        sp.stdio[2] = SV_STDIO_PIPE;
        sp.timeout_ms = r->o->diag_limit_ms;
        sp.on_exit = on_helper_exit;
        sp.on_output = on_helper_output;
        sp.userdata = j;
        e = sv_spawn(r->sv, &sp, &j->helper);
out:
        sv_argv_free(argv);
        return e;
}

/* The deadline fired: record the tree and the output tail, run the user's
 * command, and only then start the ladder. */
static void hang(run *r, job *j, bool idle) {
        char *text, msg[512];
        size_t len = 0;
        int e;

        j->hung = true;
        j->hung_idle = idle;
        j->stop_reason = idle ? "idle" : "timeout";
        uv_timer_stop(&j->slot->timer);
        text = snapshot(r, j, &len);
        diag_add(r, j, "snapshot", text ? text : "[out of memory]\n", text ? len : 0);
        free(text);
        if (!r->on_timeout_argv || r->stop_signal) {
                stop_job(r, j, j->stop_reason, 0);
                return;
        }
        e = start_helper(r, j);
        if (e < 0) {
                snprintf(msg, sizeof(msg), "[cannot run on-timeout command '%s': %s]\n",
                         r->on_timeout_argv[0], uv_strerror(e));
                diag_add(r, j, "on-timeout", msg, 0);
                stop_job(r, j, j->stop_reason, 0);
        }
}

static void arm_deadline(run *r, job *j) {
        uint64_t now = uv_now(r->loop), next = 0;

        if (j->deadline)
                next = j->deadline;
        if (r->o->idle_ms && (!next || j->last_out + r->o->idle_ms < next))
                next = j->last_out + r->o->idle_ms;
        if (!next) {
                uv_timer_stop(&j->slot->timer);
                return;
        }
        uv_timer_start(&j->slot->timer, on_slot_timer, next > now ? next - now : 0, 0);
}

static void on_slot_timer(uv_timer_t *t) {
        slot *s = t->data;
        job *j = s->job;
        run *r = s->r;
        uint64_t now;

        if (!j || !j->w)
                return;
        if (j->stopping) {
                ladder_tick(r, j);
                return;
        }
        now = uv_now(r->loop);
        if (j->deadline && now >= j->deadline)
                hang(r, j, false);
        else if (r->o->idle_ms && now - j->last_out >= r->o->idle_ms)
                hang(r, j, true);
        else
                arm_deadline(r, j);
}

/* ---- Attempts ---- */

static void describe(char *buf, size_t n, const sv_exit_info *e, sv_verdict v) {
        char sig[16], secs[32];
        int len = 0;

        if (v == SV_VERDICT_TIMEOUT) {
                fmt_secs(secs, e->timeout_ms);
                len = snprintf(buf, n, "%s after %s; ", e->idle ? "no output" : "timed out", secs);
        } else if (v == SV_VERDICT_STOPPED) {
                len = snprintf(buf, n, "stopped by supervise; ");
        }
        if (len < 0 || (size_t) len >= n)
                return;
        if (e->exited)
                snprintf(buf + len, n - (size_t) len, "exit code %d%s", e->code,
                         e->leaked ? ", left processes behind" : "");
        else
                snprintf(buf + len, n - (size_t) len, "killed by %s (-%d)%s",
                         sv_run_signame(e->signal, sig), e->signal,
                         e->core_dumped ? ", core dumped" : "");
}

static const char *verdict_label(sv_verdict v) {
        switch (v) {
        case SV_VERDICT_PASS: return "PASS";
        case SV_VERDICT_FAIL: return "FAIL";
        case SV_VERDICT_TIMEOUT: return "TIMEOUT";
        case SV_VERDICT_CRASH: return "CRASH";
        case SV_VERDICT_STOPPED: return "STOPPED";
        case SV_VERDICT_SKIP: return "SKIP";
        case SV_VERDICT_ERROR: return "ERROR";
        default: return "NOTRUN";
        }
}

/* One status line on stderr, e.g. "[ 3/10] FAIL      0.004 s  name: exit code 1". */
static void status_line(run *r, job *j, sv_verdict v, uint64_t wall_ms, const char *how,
                        const char *note) {
        char buf[1024], secs[32], label[32], *name;
        size_t total = r->list.count;
        int width = 1, n;
        size_t c;

        if (r->o->quiet)
                return;
        /* A name is the job file's text or ctest's: it may hold anything. */
        name = sv_text_escape(j->def->name, strlen(j->def->name), SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH,
                              NULL, NULL);
        for (c = total; c >= 10; c /= 10)
                width++;
        fmt_secs(secs, wall_ms);
        if (v == SV_VERDICT_PASS && j->attempt > 1)
                snprintf(label, sizeof(label), "FLAKY");
        else
                snprintf(label, sizeof(label), "%s", verdict_label(v));
        n = snprintf(buf, sizeof(buf), "[%*zu/%zu] %-7s %11s  %s%s%s%s\n", width, r->done, total,
                     label, secs, name ? name : "?", how && *how ? ": " : "", how ? how : "",
                     note ? note : "");
        free(name);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof(buf)) {
                n = (int) sizeof(buf) - 1;
                buf[n - 1] = '\n';
        }
        progress_clear(r);
        err_write(r, buf, (size_t) n);
}

static void job_done(run *r, job *j, sv_verdict v) {
        slot *s = j->slot;

        if (v != SV_VERDICT_PASS && v != SV_VERDICT_SKIP)
                r->failed++;
        sv_outbuf_free(j->out);
        j->out = NULL;
        if (j->log_fd >= 0) {
                close(j->log_fd);
                j->log_fd = -1;
        }
        if (s) {
                uv_timer_stop(&s->timer);
                s->job = NULL;
                j->slot = NULL;
                r->free_slots[r->nfree++] = s;
                r->running--;
                /* Room was made: probe one more at once than before. */
                if (r->limit < r->nslots)
                        r->limit++;
        }
}

/* A job that never ran: DISABLED, no command, or a failed spawn. */
static void job_error(run *r, job *j, int err) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        char how[256];

        ev.type = SV_RUN_EV_EXIT;
        ev.job = j->index;
        ev.attempt = j->attempt ? j->attempt : 1;
        ev.verdict = SV_VERDICT_ERROR;
        ev.error = err;
        event(r, &ev);
        r->done++;
        if (j->def->flags & SV_JOB_UNAVAILABLE)
                snprintf(how, sizeof(how), "not found (ctest lists no command for it)");
        else {
                char *cmd = sv_text_escape(j->def->argv[0], strlen(j->def->argv[0]),
                                           SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH, NULL, NULL);

                snprintf(how, sizeof(how), "cannot run '%.200s': %s", cmd ? cmd : "?", uv_strerror(err));
                free(cmd);
        }
        log_printf(j, "--- supervise: %s ---\n", how);
        job_done(r, j, SV_VERDICT_ERROR);
        status_line(r, j, SV_VERDICT_ERROR, 0, how, NULL);
}

/* Our environment with the job's "K=V" entries added or replacing ours. */
static char **job_env(const sv_job *d) {
        size_t n = 0, k = 0, m = 0, i, x;
        char **env;

        while (environ[n])
                n++;
        while (d->env[m])
                m++;
        env = calloc(n + m + 1, sizeof(*env));
        if (!env)
                return NULL;
        for (i = 0; i < n; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t kl = eq ? (size_t) (eq - environ[i]) : strlen(environ[i]);
                bool replaced = false;

                for (x = 0; x < m && !replaced; x++)
                        replaced = strncmp(d->env[x], environ[i], kl) == 0 && d->env[x][kl] == '=';
                if (!replaced)
                        env[k++] = environ[i];
        }
        for (x = 0; x < m; x++)
                env[k++] = d->env[x];
        return env;
}

static void on_job_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud);
static void on_job_exit(sv_worker *w, const sv_exit_info *info, void *ud);

static int start_attempt(run *r, job *j) {
        sv_outbuf_opts oo;
        sv_spawn_opts sp;
        sv_run_event ev = SV_RUN_EVENT_INIT;
        char **env = NULL;
        uint64_t t;
        int e;

        j->attempt++;
        j->hung = j->hung_idle = j->stopping = j->exit_pending = false;
        j->stop_reason = NULL;
        j->step = 0;
        memset(&oo, 0, sizeof(oo));
        if (r->o->tag) {
                /* Lines go out live; only the tail is kept, for the report. */
                oo.keep_bytes = SV_OUTBUF_KEEP_MIN;
                oo.on_line = on_tag_line;
                oo.arg = j;
        }
        e = sv_outbuf_new(&oo, &j->out);
        if (e < 0)
                return e;
        if (r->o->logs && j->log_fd < 0 && j->attempt == 1) {
                e = log_open(r, j);
                if (e < 0)
                        return e;
        }
        if (j->attempt > 1)
                log_printf(j, "--- supervise: attempt %u ---\n", j->attempt);
        if (j->def->env) {
                env = job_env(j->def);
                if (!env)
                        return UV_ENOMEM;
        }
        memset(&sp, 0, sizeof(sp));
        sp.argv = (const char *const *) j->def->argv;
        sp.env = (const char *const *) env;
        sp.cwd = j->def->cwd;
        sp.stdio[0] = SV_STDIO_NULL;
        sp.stdio[1] = SV_STDIO_PIPE;
        sp.stdio[2] = SV_STDIO_PIPE;
        sp.leaks = r->o->leaks;
        sp.on_exit = on_job_exit;
        sp.on_output = on_job_output;
        sp.userdata = j;
        e = sv_spawn(r->sv, &sp, &j->w);
        free(env);
        if (e < 0)
                return e;
        j->pid = sv_worker_pid(j->w);
        /* The deadline counts from this job's own start: fill() may have
         * spent seconds starting the jobs before it. */
        uv_update_time(r->loop);
        ev.type = SV_RUN_EV_SPAWN;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        event(r, &ev);
        t = uv_now(r->loop);
        j->last_out = t;
        j->deadline = job_timeout(r, j) ? t + job_timeout(r, j) : 0;
        arm_deadline(r, j);
        return 0;
}

static bool should_retry(const run *r, const job *j, sv_verdict v) {
        if (r->stop_signal || r->out_failed || j->attempt > r->o->retries)
                return false;
        return v == SV_VERDICT_FAIL || v == SV_VERDICT_TIMEOUT || v == SV_VERDICT_CRASH;
}

static void print_attempt(run *r, job *j, const sv_exit_info *e, sv_verdict v, bool retry) {
        char how[256], note[64] = "";
        const char *text;
        uint64_t dropped;
        size_t len;

        if (v == SV_VERDICT_PASS || v == SV_VERDICT_SKIP)
                how[0] = '\0';
        else
                describe(how, sizeof(how), e, v);
        if (retry)
                snprintf(note, sizeof(note), " (attempt %u of %u; will retry)", j->attempt,
                         r->o->retries + 1);
        else if (v == SV_VERDICT_PASS && j->attempt > 1)
                snprintf(note, sizeof(note), " (passed on attempt %u)", j->attempt);
        status_line(r, j, v, e->wall_us / 1000, how, note);
        log_printf(j, "--- supervise: attempt %u: %s%s%s ---\n", j->attempt, verdict_label(v),
                   how[0] ? ": " : "", how);
        if (!r->o->tag) {
                char msg[96];
                int n;

                text = sv_outbuf_text(j->out, &len, &dropped);
                progress_clear(r);
                if (dropped) {
                        n = snprintf(msg, sizeof(msg), "[supervise: %llu earlier bytes of output dropped]\n",
                                     (unsigned long long) dropped);
                        out_write(r, msg, (size_t) n);
                }
                out_write(r, text, len);
        }
        if (j->diag) {
                log_write(j, j->diag, j->diag_len);
                if (!r->o->quiet) {
                        progress_clear(r);
                        err_write(r, j->diag, j->diag_len);
                }
        }
}

static void fill(run *r);

/* Which descendants outlived the leader, as a diagnostic: the leak event
 * itself carries only the count. */
static void leak_diag(run *r, job *j, const sv_exit_info *e) {
        char *text = NULL;
        size_t len = 0, i, n;
        FILE *m;

        m = open_memstream(&text, &len);
        if (!m)
                return;
        fprintf(m, "%u process%s outlived the job's leader (%s):\n", e->leaked,
                e->leaked == 1 ? "" : "es", r->o->leaks == SV_LEAKS_REPORT ? "left running" : "killed");
        n = e->leaked < SV_LEAKS_MAX ? e->leaked : SV_LEAKS_MAX;
        for (i = 0; j->leaks && i < n; i++) {
                fprintf(m, "    pid %d: ", (int) j->leaks[i].pid);
                sv_cli_put_term(m, j->leaks[i].cmdline, strlen(j->leaks[i].cmdline));
                fputc('\n', m);
        }
        if (fclose(m) == 0)
                diag_add(r, j, "leaks", text, len);
        free(text);
}

static bool passing_error(int e);
static bool throttle(run *r, job *j, int err);

static void finish_attempt(run *r, job *j) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e = j->exit;
        sv_verdict v;
        char *tail;
        size_t tail_len = 0;
        bool retry;
        int err;

        e.leaks = j->leaks;
        if (j->hung) {
                /* The library saw our sv_worker_stop() ("stopped"); the
                 * reason we stopped it was the deadline. */
                e.cause = SV_CAUSE_TIMEOUT;
                e.idle = j->hung_idle;
                e.timeout_ms = j->hung_idle ? r->o->idle_ms : job_timeout(r, j);
        }
        v = sv_verdict_of(j->def, &e);
        if (v == SV_VERDICT_PASS && e.leaked && r->o->leaks == SV_LEAKS_FAIL)
                v = SV_VERDICT_FAIL;
        sv_outbuf_finish(j->out);
        if (e.leaked && r->o->leaks != SV_LEAKS_IGNORE) {
                leak_diag(r, j, &e);
                ev.type = SV_RUN_EV_LEAK;
                ev.job = j->index;
                ev.attempt = j->attempt;
                ev.count = e.leaked;
                event(r, &ev);
        }
        tail = sv_outbuf_tailn(j->out, SV_OUTBUF_TAIL_LINES, &tail_len);
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_EXIT;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.pid = j->pid;
        ev.exit = &e;
        ev.verdict = v;
        ev.text = tail;
        ev.text_len = tail_len;
        retry = should_retry(r, j, v);
        if (!retry)
                r->done++;
        event(r, &ev);
        free(tail);
        print_attempt(r, j, &e, v, retry);
        free(j->diag);
        j->diag = NULL;
        j->diag_len = 0;
        free(j->leaks);
        j->leaks = NULL;
        if (!retry) {
                job_done(r, j, v);
                return;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = SV_RUN_EV_RETRY;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.reason = sv_verdict_name(v);
        event(r, &ev);
        sv_outbuf_free(j->out);
        j->out = NULL;
        err = start_attempt(r, j);
        if (err < 0 && !(passing_error(err) && throttle(r, j, err)))
                job_error(r, j, err);
}

static void on_job_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        job *j = ud;

        (void) w;
        j->last_out = uv_now(j->slot->r->loop);
        if (len)
                log_write(j, buf, len);
        (void) sv_outbuf_feed(j->out, fd, buf, len);
}

static void on_job_exit(sv_worker *w, const sv_exit_info *info, void *ud) {
        job *j = ud;
        run *r = j->slot->r;
        unsigned n;

        (void) w;
        j->w = NULL;
        uv_timer_stop(&j->slot->timer);
        j->exit = *info;
        j->exit.leaks = NULL;
        j->leaks = NULL;
        n = info->leaked < SV_LEAKS_MAX ? info->leaked : SV_LEAKS_MAX;
        if (n && info->leaks) {
                j->leaks = malloc(n * sizeof(*j->leaks));
                if (j->leaks)
                        memcpy(j->leaks, info->leaks, n * sizeof(*j->leaks));
        }
        if (j->helper) {
                /* Diagnostics first: on_helper_exit finishes the attempt. */
                j->exit_pending = true;
                return;
        }
        finish_attempt(r, j);
        fill(r);
        progress_draw(r);
}

/* ---- Scheduling ---- */

static void skip_job(run *r, job *j, const char *reason) {
        sv_run_event ev = SV_RUN_EVENT_INIT;

        ev.type = SV_RUN_EV_SKIP;
        ev.job = j->index;
        ev.reason = reason;
        event(r, &ev);
        r->done++;
        if (strcmp(reason, "interrupted") != 0 && strcmp(reason, "aborted") != 0)
                status_line(r, j, SV_VERDICT_SKIP, 0, reason, NULL);
}

/* No job waiting to start will run: fresh ones are skipped with `reason`; a
 * deferred retry keeps the verdict of the attempt it follows. */
static void drop_queue(run *r, const char *reason) {
        job *j;

        if (r->backoff_init)
                uv_timer_stop(&r->backoff);
        while (r->ndeferred > 0) {
                j = r->deferred[--r->ndeferred];
                if (j->attempt > 0)
                        r->done++;
                else
                        skip_job(r, j, reason);
        }
        while (r->next < r->list.count)
                skip_job(r, &r->jobs[r->next++], reason);
}

/* Nothing may be lost unnoticed. A report, a log or our stdout that cannot
 * be written ends the run as an interrupt does: no new job starts, the
 * running ones are stopped through the ladder and reported, and the other
 * reports are still written. One line names the file and the error (`what`
 * NULL: stderr itself, where nothing can be said); the exit status is 125. */
static void output_failed(run *r, const char *what, int err) {
        unsigned i;

        if (what) {
                progress_clear(r);
                fprintf(stderr, "supervise run: cannot write %s: %s\n", what, uv_strerror(err));
        }
        if (r->out_failed)
                return;
        r->out_failed = true;
        drop_queue(r, "aborted");
        for (i = 0; i < r->nslots; i++) {
                job *j = r->slots[i].job;

                if (!j)
                        continue;
                if (j->helper)
                        (void) sv_worker_stop_signal(j->helper, 0);
                stop_job(r, j, "aborted", 0);
        }
}

/* A spawn failed for a reason that passes when other jobs end. */
static bool passing_error(int e) {
        return e == UV_EMFILE || e == UV_ENFILE || e == UV_EAGAIN || e == UV_ENOMEM;
}

static void on_backoff(uv_timer_t *t) {
        run *r = t->data;

        if (r->limit == 0)
                r->limit = 1;
        fill(r);
}

/* The spawn of j's next attempt failed with `err`, a passing error: undo the
 * attempt, put j back in front of the queue, free its slot and lower the
 * effective -j to what runs now, so that it is tried again when a job ends.
 * If nothing runs, a backoff timer tries again, a bounded number of times.
 * Returns false when j has had its tries: the caller gives up on it. */
static bool throttle(run *r, job *j, int err) {
        slot *s = j->slot;

        if (r->running <= 1 &&
            (!r->backoff_init || j->spawn_tries >= SPAWN_BACKOFF_TRIES || r->spawn_hopeless)) {
                /* Until a spawn works again, the next jobs fail at once
                 * rather than each waiting out the whole backoff. */
                r->spawn_hopeless = true;
                return false;
        }
        if (!r->throttled) {
                r->throttled = true;
                progress_clear(r);
                if (r->running > 1)
                        fprintf(stderr, "supervise run: cannot start more jobs now (%s); running at "
                                        "most %u at once and trying again as jobs end\n",
                                uv_strerror(err), r->running - 1);
                else
                        fprintf(stderr, "supervise run: cannot start a job now (%s); trying again "
                                        "shortly\n", uv_strerror(err));
        }
        j->attempt--;
        sv_outbuf_free(j->out);
        j->out = NULL;
        uv_timer_stop(&s->timer);
        s->job = NULL;
        j->slot = NULL;
        r->free_slots[r->nfree++] = s;
        r->running--;
        r->deferred[r->ndeferred++] = j;
        r->limit = r->running;
        if (r->running == 0) {
                uv_timer_start(&r->backoff, on_backoff, (uint64_t) SPAWN_BACKOFF_MS << j->spawn_tries, 0);
                j->spawn_tries++;
        }
        return true;
}

/* The next job to start: a deferred one first, else the next fresh one
 * (a DISABLED or command-less one is finished here). NULL: none. */
static job *next_job(run *r) {
        job *j;

        if (r->ndeferred > 0)
                return r->deferred[--r->ndeferred];
        while (r->next < r->list.count) {
                j = &r->jobs[r->next++];
                if (j->def->flags & SV_JOB_DISABLED)
                        skip_job(r, j, "disabled");
                else if (j->def->flags & SV_JOB_UNAVAILABLE)
                        job_error(r, j, UV_ENOENT);
                else
                        return j;
        }
        return NULL;
}

/* Starts jobs until -j (or the throttled limit) are running or none is
 * left. Never recurses: a job that cannot start is finished or deferred
 * here and the loop goes on. */
static void fill(run *r) {
        job *j;
        int e;

        while (!r->stop_signal && !r->out_failed && r->nfree > 0 && r->running < r->limit &&
               (j = next_job(r)) != NULL) {
                j->slot = r->free_slots[--r->nfree];
                j->slot->job = j;
                r->running++;
                e = start_attempt(r, j);
                if (e == 0) {
                        j->spawn_tries = 0;
                        r->spawn_hopeless = false;
                } else if (!passing_error(e) || !throttle(r, j, e)) {
                        job_error(r, j, e);
                } else {
                        break;
                }
        }
}

/* ---- Signals sent to us ---- */

static void on_signal(uv_signal_t *h, int signum) {
        run *r = h->data;
        unsigned i;

        r->nstops++;
        if (!r->stop_signal) {
                r->stop_signal = signum;
                drop_queue(r, "interrupted");
        }
        for (i = 0; i < r->nslots; i++) {
                job *j = r->slots[i].job;

                if (!j)
                        continue;
                if (r->nstops > 1) {
                        /* Asked twice: no more grace. */
                        if (j->w)
                                (void) sv_worker_kill_tree(j->w, SIGKILL);
                        if (j->helper)
                                (void) sv_worker_kill_tree(j->helper, SIGKILL);
                        continue;
                }
                if (j->helper)
                        (void) sv_worker_stop_signal(j->helper, signum);
                stop_job(r, j, "interrupt", signum);
        }
}

static int watch_signals(run *r) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        return sv_cli_watch_signals(r->loop, r->sigs, sigs, (int) (sizeof(sigs) / sizeof(sigs[0])),
                                    on_signal, r, &r->nsigs);
}

/* ---- Options ---- */

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, run_opts *o) {
        enum {
                OPT_IDLE = 256, OPT_STOP, OPT_LEAKS, OPT_CTEST, OPT_TAG, OPT_LOGS, OPT_EVENTS,
                OPT_JUNIT, OPT_TAP, OPT_ON_TIMEOUT, OPT_DIAG_LIMIT, OPT_HELP, OPT_VERSION,
        };
        static const struct option longopts[] = {
                { "jobs", required_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, 't' },
                { "idle-timeout", required_argument, NULL, OPT_IDLE },
                { "retries", required_argument, NULL, 'r' },
                { "signal", required_argument, NULL, 's' },
                { "kill-after", required_argument, NULL, 'k' },
                { "stop", required_argument, NULL, OPT_STOP },
                { "leaks", required_argument, NULL, OPT_LEAKS },
                { "from", required_argument, NULL, 'f' },
                { "ctest", required_argument, NULL, OPT_CTEST },
                { "tag", no_argument, NULL, OPT_TAG },
                { "logs", required_argument, NULL, OPT_LOGS },
                { "events", required_argument, NULL, OPT_EVENTS },
                { "junit", required_argument, NULL, OPT_JUNIT },
                { "tap", required_argument, NULL, OPT_TAP },
                { "on-timeout", required_argument, NULL, OPT_ON_TIMEOUT },
                { "on-timeout-limit", required_argument, NULL, OPT_DIAG_LIMIT },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        int first_signal = SIGTERM, c, s;
        char bad[8];
        uint64_t kill_after = 5000;
        bool have_ladder = false;
        long ncpu;

        memset(o, 0, sizeof(*o));
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        o->jobs = ncpu > 0 && ncpu < (long) MAX_JOBS_PARALLEL ? (unsigned) ncpu : 1;
        o->diag_limit_ms = DIAG_LIMIT_DEFAULT_MS;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+j:t:r:s:k:f:qh", longopts, NULL)) != -1) {
                switch (c) {
                case 'j':
                        if (sv_cli_parse_uint(optarg, 1, MAX_JOBS_PARALLEL, &o->jobs) < 0)
                                return usage_error("invalid number of jobs '%s' (want 1-4096)", optarg);
                        break;
                case 't':
                        if (sv_duration_parse(optarg, &o->timeout_ms) < 0)
                                return usage_error("invalid duration '%s' for --timeout", optarg);
                        break;
                case OPT_IDLE:
                        if (sv_duration_parse(optarg, &o->idle_ms) < 0)
                                return usage_error("invalid duration '%s' for --idle-timeout", optarg);
                        break;
                case 'r':
                        if (sv_cli_parse_uint(optarg, 0, MAX_RETRIES, &o->retries) < 0)
                                return usage_error("invalid number of retries '%s' (want 0-100)",
                                                   optarg);
                        break;
                case 's':
                        s = sv_signal_parse(optarg);
                        if (s <= 0)
                                return usage_error("unknown signal '%s'", optarg);
                        first_signal = s;
                        break;
                case 'k':
                        if (sv_duration_parse(optarg, &kill_after) < 0)
                                return usage_error("invalid duration '%s' for --kill-after", optarg);
                        break;
                case OPT_STOP:
                        if (sv_ladder_parse(optarg, 5000, &o->ladder) < 0 || o->ladder.count == 0)
                                return usage_error("invalid stop ladder '%s' (want e.g. "
                                                   "'INT:5s,TERM:5s,KILL')", optarg);
                        have_ladder = true;
                        break;
                case OPT_LEAKS:
                        if (sv_leaks_parse(optarg, &o->leaks) < 0)
                                return usage_error("invalid --leaks '%s' (want kill, report, fail "
                                                   "or ignore)", optarg);
                        break;
                case 'f':
                        o->from = optarg;
                        break;
                case OPT_CTEST:
                        o->ctest_dir = optarg;
                        break;
                case OPT_TAG:
                        o->tag = true;
                        break;
                case OPT_LOGS:
                        o->logs = optarg;
                        break;
                case OPT_EVENTS:
                        o->events = optarg;
                        break;
                case OPT_JUNIT:
                        o->junit = optarg;
                        break;
                case OPT_TAP:
                        o->tap = optarg;
                        break;
                case OPT_ON_TIMEOUT:
                        o->on_timeout = optarg;
                        break;
                case OPT_DIAG_LIMIT:
                        if (sv_duration_parse(optarg, &o->diag_limit_ms) < 0 || o->diag_limit_ms == 0)
                                return usage_error("invalid duration '%s' for --on-timeout-limit",
                                                   optarg);
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'h':
                case OPT_HELP:
                        fputs(usage_text, stdout);
                        return EXIT_OK;
                case OPT_VERSION:
                        printf("supervise run %s\n", SV_VERSION);
                        return EXIT_OK;
                case ':':
                        return usage_error("option '%s' needs an argument",
                                           sv_cli_bad_option(argv, bad, sizeof(bad)));
                default:
                        return usage_error("unknown option '%s'", sv_cli_bad_option(argv, bad, sizeof(bad)));
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s' (commands go in --from FILE)",
                                   argv[optind]);
        if (!o->from == !o->ctest_dir)
                return usage_error("%s", o->from ? "give --from or --ctest, not both"
                                                 : "no jobs: give --from FILE or --ctest BUILD_DIR");
        if (!have_ladder) {
                o->ladder.count = 2;
                o->ladder.steps[0].signal = first_signal;
                o->ladder.steps[0].grace_ms = kill_after;
                o->ladder.steps[1].signal = SIGKILL;
                o->ladder.steps[1].grace_ms = 5000;
        }
        return -1;
}

/* ---- Setup: everything that can fail does so before any job starts ---- */

/* The report goes to a temporary file beside `path`, made now so that a bad
 * path fails before any job starts, and renamed over it only when complete
 * (finish_reports), so an old report survives until then. */
static int open_report(const char *path, const char *what, sv_atomic_file *out) {
        int e = sv_atomic_file_open(out, path);

        if (e < 0) {
                fprintf(stderr, "supervise run: cannot write %s '%s': %s\n", what, path,
                        uv_strerror(e));
                return EXIT_OWN;
        }
        return 0;
}

static int prepare(run *r, const run_opts *o) {
        char err[512];
        struct stat st;
        size_t i;
        int e;

        if (o->from)
                e = sv_jobfile_load(o->from, &r->list, err, sizeof(err));
        else
                e = sv_ctest_load(NULL, o->ctest_dir, &r->list, err, sizeof(err));
        if (e < 0) {
                fprintf(stderr, "supervise run: %s\n", err);
                return EXIT_OWN;
        }
        if (o->on_timeout && sv_words_split(o->on_timeout, &r->on_timeout_argv, err, sizeof(err)) < 0) {
                fprintf(stderr, "supervise run: --on-timeout: %s\n", err);
                return EXIT_OWN;
        }
        if (o->events) {
                r->events_fd = open(o->events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (r->events_fd < 0) {
                        fprintf(stderr, "supervise run: cannot write events file '%s': %s\n",
                                o->events, strerror(errno));
                        return EXIT_OWN;
                }
        }
        if (o->junit && open_report(o->junit, "JUnit report", &r->junit) != 0)
                return EXIT_OWN;
        if (o->tap && open_report(o->tap, "TAP report", &r->tap) != 0)
                return EXIT_OWN;
        if (o->logs) {
                if (mkdir(o->logs, 0755) < 0 && errno != EEXIST) {
                        fprintf(stderr, "supervise run: cannot create log directory '%s': %s\n",
                                o->logs, strerror(errno));
                        return EXIT_OWN;
                }
                if (stat(o->logs, &st) < 0 || !S_ISDIR(st.st_mode) ||
                    access(o->logs, W_OK | X_OK) < 0) {
                        fprintf(stderr, "supervise run: cannot write to log directory '%s': %s\n",
                                o->logs, S_ISDIR(st.st_mode) ? strerror(errno) : "Not a directory");
                        return EXIT_OWN;
                }
        }
        e = sv_report_new(&r->list, &r->rep);
        if (e < 0)
                goto oom;
        sv_report_set_events_fd(r->rep, r->events_fd);
        r->jobs = calloc(r->list.count ? r->list.count : 1, sizeof(*r->jobs));
        /* More slots than jobs would only be timers that never run. */
        r->nslots = r->list.count && r->list.count < o->jobs ? (unsigned) r->list.count : o->jobs;
        r->slots = calloc(r->nslots, sizeof(*r->slots));
        r->free_slots = calloc(r->nslots, sizeof(*r->free_slots));
        r->deferred = calloc(r->nslots, sizeof(*r->deferred));
        r->limit = r->nslots;
        if (!r->jobs || !r->slots || !r->free_slots || !r->deferred)
                goto oom;
        for (i = 0; i < r->list.count; i++) {
                r->jobs[i].r = r;
                r->jobs[i].def = &r->list.jobs[i];
                r->jobs[i].index = i;
                r->jobs[i].log_fd = -1;
        }
        return 0;
oom:
        fprintf(stderr, "supervise run: out of memory\n");
        return EXIT_OWN;
}

static int start_loop(run *r) {
        sv_supervisor_opts so;
        unsigned i;
        int e;

        memset(&so, 0, sizeof(so));
        so.ladder = r->o->ladder;
        so.flags |= SV_SUPERVISOR_EXIT_AFTER_FREE;
        e = sv_supervisor_new(&so, &r->sv);
        if (e < 0) {
                fprintf(stderr, "supervise run: cannot start: %s\n", uv_strerror(e));
                return EXIT_OWN;
        }
        r->loop = sv_supervisor_loop(r->sv);
        for (i = 0; i < r->nslots; i++) {
                (void) uv_timer_init(r->loop, &r->slots[i].timer);
                r->slots[i].timer.data = &r->slots[i];
                r->slots[i].r = r;
                r->free_slots[r->nfree++] = &r->slots[r->nslots - 1 - i];
        }
        e = watch_signals(r);
        if (e < 0) {
                fprintf(stderr, "supervise run: cannot watch signals: %s\n", uv_strerror(e));
                return EXIT_OWN;
        }
        if (uv_timer_init(r->loop, &r->backoff) == 0) {
                r->backoff_init = true;
                r->backoff.data = r;
        }
        if (r->progress_on && uv_timer_init(r->loop, &r->progress) == 0) {
                r->progress_init = true;
                r->progress.data = r;
                uv_timer_start(&r->progress, on_progress_timer, PROGRESS_MS, PROGRESS_MS);
                uv_unref((uv_handle_t *) &r->progress);
        }
        return 0;
}

/* Writes the report and renames it into place; on any error the old file
 * stays and one line says why. Returns 0 or EXIT_OWN. */
static int commit_report(run *r, sv_atomic_file *af, const char *what, const char *path,
                         int (*write)(const sv_report *, FILE *)) {
        bool replaces = af->tmp != NULL;
        int e, c;

        errno = 0;
        e = write(r->rep, af->f);
        /* The writer knows only that a write failed; the commit's flush
         * repeats it and learns why. */
        c = sv_atomic_file_commit(af);
        if (e >= 0 && c >= 0)
                return 0;
        progress_clear(r);
        fprintf(stderr, "supervise run: cannot write %s '%s': %s%s\n", what, path,
                uv_strerror(e < 0 ? e : c), replaces ? " (the previous report, if any, is kept)" : "");
        return EXIT_OWN;
}

static int write_junit(const sv_report *rep, FILE *f) {
        return sv_report_write_junit(rep, f, NULL);
}

static int finish_reports(run *r) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        int status = 0;

        ev.type = SV_RUN_EV_END;
        event(r, &ev);
        progress_clear(r);
        if (!r->o->quiet && !r->stderr_failed && sv_report_write_summary(r->rep, stderr) < 0)
                r->stderr_failed = r->out_failed = true;
        if (r->junit.f && commit_report(r, &r->junit, "JUnit report", r->o->junit, write_junit))
                status = EXIT_OWN;
        if (r->tap.f && commit_report(r, &r->tap, "TAP report", r->o->tap, sv_report_write_tap))
                status = EXIT_OWN;
        return status;
}

static int exit_status(const run *r) {
        sv_report_counts c;

        if (r->out_failed)
                return EXIT_OWN;
        if (r->stop_signal)
                return 128 + r->stop_signal;
        sv_report_get_counts(r->rep, &c);
        if (c.failed || c.crashed || c.errors || c.stopped || c.not_run)
                return EXIT_FAILED;
        if (c.timed_out)
                return EXIT_TIMEDOUT;
        return EXIT_OK;
}

static void close_handles(run *r) {
        unsigned i;
        int k;

        for (i = 0; r->slots && i < r->nslots && r->slots[i].r; i++)
                uv_close((uv_handle_t *) &r->slots[i].timer, NULL);
        for (k = 0; k < r->nsigs; k++)
                uv_close((uv_handle_t *) &r->sigs[k], NULL);
        if (r->progress_init)
                uv_close((uv_handle_t *) &r->progress, NULL);
        if (r->backoff_init)
                uv_close((uv_handle_t *) &r->backoff, NULL);
        /* The close callbacks run on the next turn of the loop. */
        (void) uv_run(r->loop, UV_RUN_NOWAIT);
}

static void release(run *r) {
        size_t i;

        if (r->loop)
                close_handles(r);
        sv_supervisor_free(r->sv);
        for (i = 0; r->jobs && i < r->list.count; i++) {
                job *j = &r->jobs[i];

                sv_outbuf_free(j->out);
                free(j->leaks);
                free(j->diag);
                free(j->helper_out);
                if (j->log_fd >= 0)
                        close(j->log_fd);
        }
        free(r->jobs);
        free(r->slots);
        free(r->free_slots);
        free(r->deferred);
        free(r->line);
        sv_report_free(r->rep);
        sv_argv_free(r->on_timeout_argv);
        if (r->events_fd >= 0)
                close(r->events_fd);
        sv_atomic_file_abort(&r->junit);
        sv_atomic_file_abort(&r->tap);
        sv_joblist_release(&r->list);
}

int sv_cli_run(int argc, char **argv) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        struct timespec ts;
        run_opts o;
        run r;
        int status;

        status = parse_args(argc, argv, &o);
        if (status >= 0)
                return status;
        memset(&r, 0, sizeof(r));
        r.o = &o;
        r.events_fd = -1;
        sv_joblist_init(&r.list);
        /* A closed stdout must not kill us with our jobs' trees still up;
         * children get default dispositions back before exec. */
        (void) signal(SIGPIPE, SIG_IGN);
        status = prepare(&r, &o);
        if (status != 0)
                goto out;
        r.progress_on = !o.quiet && isatty(2);
        status = start_loop(&r);
        if (status != 0)
                goto out;

        r.t0 = uv_now(r.loop);
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        ev.type = SV_RUN_EV_START;
        ev.count = o.jobs;
        ev.unix_ms = (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
        event(&r, &ev);
        fill(&r);
        progress_draw(&r);
        (void) sv_supervisor_run(r.sv);
        status = finish_reports(&r);
        if (status == 0)
                status = exit_status(&r);
out:
        release(&r);
        return status;
}
