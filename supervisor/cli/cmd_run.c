/* cmd_run.c - `supervise run`: a job list (a job file or a CMake build's
 * tests) -> the library's runner (sv_run.h: N workers at a time, attempts,
 * retries, deadlines, hang diagnostics, logs) -> one event stream -> reports
 * and an exit code. This file keeps the options, the reports and the exit
 * status; run_opts.c parses the options and run_term.c prints.
 *
 * Everything that can fail (job file, report paths, log directory) does so
 * before any job starts, with 125. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* Windows (mingw) says "not inherited" as O_NOINHERIT, and needs O_BINARY
 * for an fd that must not turn "\n" into "\r\n". */
#if !defined(O_CLOEXEC) && defined(O_NOINHERIT)
#define O_CLOEXEC O_NOINHERIT
#endif
#ifndef O_BINARY
#define O_BINARY 0
#endif
#include "cli/run_term.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_TIMEDOUT 124
#define EXIT_OWN 125

/* prepare(): --list or --dry-run printed the jobs; exit 0 without a run. */
#define LISTED (-2)

/* ---- Signals sent to us ---- */

/* INT, TERM, HUP: no new job, the running ones down the ladder; a second
 * one kills the trees at once (the runner counts). */
static void on_signal(uv_signal_t *h, int signum) {
        sv_cli_run_state *st = h->data;

        if (!st->stop_signal)
                st->stop_signal = signum;
        sv_runner_stop(st->rn, signum, "interrupted");
}

static int watch_signals(sv_cli_run_state *st) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        return sv_cli_watch_signals(st->loop, st->sigs, sigs, (int) (sizeof(sigs) / sizeof(sigs[0])),
                                    on_signal, st, &st->nsigs);
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

static int check_logs_dir(const char *dir) {
        struct stat st;
        uv_fs_t req;
        int r;

        /* libuv's mkdir: the same call on Linux, the wide one on Windows. */
        r = uv_fs_mkdir(NULL, &req, dir, 0755, NULL);
        uv_fs_req_cleanup(&req);
        if (r < 0 && r != UV_EEXIST) {
                fprintf(stderr, "supervise run: cannot create log directory '%s': %s\n", dir,
                        uv_strerror(r));
                return EXIT_OWN;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0) {
                fprintf(stderr, "supervise run: cannot write to log directory '%s': %s\n", dir,
                        S_ISDIR(st.st_mode) ? strerror(errno) : "Not a directory");
                return EXIT_OWN;
        }
        return 0;
}

/* The build's tests, and one warning line per property we do not honour,
 * so that none is ignored silently. */
static int load_ctest(sv_cli_run_state *st, const char *dir, char *err, size_t errlen) {
        char *json = NULL, **names = NULL;
        size_t len = 0, i;
        int e;

        e = sv_ctest_list(NULL, dir, &json, &len, err, errlen);
        if (e < 0)
                return e;
        e = sv_ctest_parse(json, len, &st->list, err, errlen);
        if (e >= 0 && sv_ctest_unsupported(json, len, &names) >= 0) {
                for (i = 0; names[i]; i++)
                        fprintf(stderr, "supervise run: warning: ctest property %s is not "
                                        "supported; ignored\n", names[i]);
                sv_argv_free(names);
        }
        free(json);
        return e;
}

/* 1 if job `j` passes -L / -LE, 0 if not, UV_EINVAL for a bad regex. */
static int label_keep(const sv_cli_run_opts *o, const sv_job *j, char *err, size_t errlen) {
        unsigned i, hits = 0;
        int r;

        for (i = 0; i < o->nlabel_in; i++) {
                r = sv_job_label_match(j, o->label_in[i], err, errlen);
                if (r <= 0)
                        return r;
        }
        for (i = 0; i < o->nlabel_out; i++) {
                r = sv_job_label_match(j, o->label_out[i], err, errlen);
                if (r < 0)
                        return r;
                hits += (unsigned) r;
        }
        return o->nlabel_out == 0 || hits < o->nlabel_out;
}

static int select_labels(sv_cli_run_state *st, const sv_cli_run_opts *o) {
        char err[512];
        bool *keep;
        size_t i;
        int r = 0;

        if (o->nlabel_in == 0 && o->nlabel_out == 0)
                return 0;
        keep = calloc(st->list.count + 1, sizeof(*keep));
        if (!keep) {
                fprintf(stderr, "supervise run: out of memory\n");
                return EXIT_OWN;
        }
        for (i = 0; i < st->list.count && r >= 0; i++) {
                r = label_keep(o, &st->list.jobs[i], err, sizeof(err));
                keep[i] = r == 1;
        }
        if (r < 0)
                fprintf(stderr, "supervise run: -L/-LE: %s\n", err);
        else
                (void) sv_joblist_keep(&st->list, keep);
        free(keep);
        return r < 0 ? EXIT_OWN : 0;
}

static int prepare(sv_cli_run_state *st, const sv_cli_run_opts *o) {
        char err[512];
        uint64_t seed = 0;
        int e;

        if (o->from)
                e = sv_jobfile_load(o->from, &st->list, err, sizeof(err));
        else
                e = load_ctest(st, o->ctest_dir, err, sizeof(err));
        if (e < 0) {
                fprintf(stderr, "supervise run: %s\n", err);
                return EXIT_OWN;
        }
        if (select_labels(st, o) != 0)
                return EXIT_OWN;
        /* Before any report is opened: --list opens nothing, and
         * --rerun-failed may read the file --events is about to replace. */
        e = sv_cli_run_choose(st, &seed);
        if (e >= 0)
                return e == 0 ? LISTED : e;
        if (o->on_timeout && sv_words_split(o->on_timeout, &st->on_timeout_argv, err, sizeof(err)) < 0) {
                fprintf(stderr, "supervise run: --on-timeout: %s\n", err);
                return EXIT_OWN;
        }
        if (o->events) {
                st->events_fd = open(o->events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_BINARY, 0644);
                if (st->events_fd < 0) {
                        fprintf(stderr, "supervise run: cannot write events file '%s': %s\n",
                                o->events, strerror(errno));
                        return EXIT_OWN;
                }
        }
        if ((o->junit && open_report(o->junit, "JUnit report", &st->junit) != 0) ||
            (o->tap && open_report(o->tap, "TAP report", &st->tap) != 0) ||
            (o->timeline && open_report(o->timeline, "timeline", &st->timeline) != 0) ||
            (o->logs && check_logs_dir(o->logs) != 0))
                return EXIT_OWN;
        st->diag_line = calloc(st->list.count ? st->list.count : 1, sizeof(*st->diag_line));
        st->diag_kinds = calloc(st->list.count ? st->list.count : 1, sizeof(*st->diag_kinds));
        if (!st->diag_line || !st->diag_kinds || sv_report_new(&st->list, &st->rep) < 0) {
                fprintf(stderr, "supervise run: out of memory\n");
                return EXIT_OWN;
        }
        if (o->flow.shuffle)
                sv_report_set_seed(st->rep, seed);
        if (o->flow.shard_count)
                sv_report_set_shard(st->rep, o->flow.shard_index, o->flow.shard_count);
        sv_report_set_events_fd(st->rep, st->events_fd);
        return 0;
}

static int make_runner(sv_cli_run_state *st) {
        const sv_cli_run_opts *o = st->o;
        sv_runner_opts ro;

        memset(&ro, 0, sizeof(ro));
        ro.sv = st->sv;
        ro.jobs = &st->list;
        ro.report = st->rep;
        ro.events_name = o->events;
        ro.parallel = o->jobs;
        ro.retries = o->retries;
        ro.timeout_ms = o->timeout_ms;
        ro.idle_timeout_ms = o->idle_ms;
        ro.ladder = o->ladder;
        ro.leaks = o->leaks;
        ro.on_timeout = st->on_timeout_argv;
        ro.on_timeout_limit_ms = o->diag_limit_ms;
        ro.logs_dir = o->logs;
        ro.isolate = o->isolate;
        ro.keep_failed = o->keep_failed;
        ro.on_line = o->tag ? sv_cli_run_on_line : NULL;
        ro.on_attempt = sv_cli_run_on_attempt;
        ro.on_event = sv_cli_run_on_event;
        ro.on_throttle = sv_cli_run_on_throttle;
        ro.on_error = sv_cli_run_on_error;
        ro.userdata = st;
        ro.repeat = o->flow.repeat;
        ro.max_fail = o->flow.max_fail;
        ro.repeat_rounds = o->flow.until_fail;
        return sv_runner_new(&ro, &st->rn);
}

/* --isolate: the namespaces must be there before any job starts, never a
 * run without them. */
static int check_isolation(const sv_cli_run_opts *o) {
        unsigned ns = o->isolate & (SV_ISOLATE_NET | SV_ISOLATE_TMP);
        int e;

        if (!ns)
                return 0;
        e = sv_isolate_check(ns);
        if (e == 0)
                return 0;
        fprintf(stderr, "supervise run: --isolate %s%s%s: cannot make namespaces here: %s%s\n",
                (ns & SV_ISOLATE_NET) ? "net" : "", ns == (SV_ISOLATE_NET | SV_ISOLATE_TMP) ? "," : "",
                (ns & SV_ISOLATE_TMP) ? "tmp" : "",
                e == UV_ENOSYS ? "not available on this system" : uv_strerror(e),
                e == UV_ENOSYS ? "" : sv_cli_isolate_hint());
        return EXIT_OWN;
}

static int start_loop(sv_cli_run_state *st) {
        sv_supervisor_opts so;
        int e;

        memset(&so, 0, sizeof(so));
        so.ladder = st->o->ladder;
        so.flags |= SV_SUPERVISOR_EXIT_AFTER_FREE;
        e = sv_supervisor_new(&so, &st->sv);
        if (e == 0) {
                st->loop = sv_supervisor_loop(st->sv);
                e = make_runner(st);
        }
        if (e < 0) {
                fprintf(stderr, "supervise run: cannot start: %s\n", uv_strerror(e));
                return EXIT_OWN;
        }
        e = watch_signals(st);
        if (e < 0) {
                fprintf(stderr, "supervise run: cannot watch signals: %s\n", uv_strerror(e));
                return EXIT_OWN;
        }
        if (st->progress_on && uv_timer_init(st->loop, &st->progress) == 0) {
                st->progress_init = true;
                st->progress.data = st;
                uv_timer_start(&st->progress, sv_cli_run_on_progress_timer, SV_CLI_RUN_PROGRESS_MS,
                               SV_CLI_RUN_PROGRESS_MS);
                uv_unref((uv_handle_t *) &st->progress);
        }
        return 0;
}

/* ---- The end ---- */

/* Writes the report and renames it into place; on any error the old file
 * stays and one line says why. Returns 0 or EXIT_OWN. */
static int commit_report(sv_cli_run_state *st, sv_atomic_file *af, const char *what,
                         const char *path, int (*write)(const sv_report *, FILE *)) {
        bool replaces = af->tmp != NULL;
        int e, c;

        errno = 0;
        e = write(st->rep, af->f);
        /* The writer knows only that a write failed; the commit's flush
         * repeats it and learns why. */
        c = sv_atomic_file_commit(af);
        if (e >= 0 && c >= 0)
                return 0;
        sv_cli_run_progress_clear(st);
        fprintf(stderr, "supervise run: cannot write %s '%s': %s%s\n", what, path,
                uv_strerror(e < 0 ? e : c), replaces ? " (the previous report, if any, is kept)" : "");
        return EXIT_OWN;
}

static int write_junit(const sv_report *rep, FILE *f) {
        return sv_report_write_junit(rep, f, NULL);
}

static int write_timeline(const sv_report *rep, FILE *f) {
        return sv_report_write_timeline(rep, f, NULL);
}

/* After the runner's END: the summary, JUnit, TAP and the timeline. */
static int finish_reports(sv_cli_run_state *st) {
        int status = 0;

        sv_cli_run_progress_clear(st);
        if (!st->o->quiet && !st->stderr_failed && sv_report_write_summary(st->rep, stderr) < 0)
                st->stderr_failed = st->out_failed = true;
        if (st->junit.f && commit_report(st, &st->junit, "JUnit report", st->o->junit, write_junit))
                status = EXIT_OWN;
        if (st->tap.f && commit_report(st, &st->tap, "TAP report", st->o->tap, sv_report_write_tap))
                status = EXIT_OWN;
        if (st->timeline.f &&
            commit_report(st, &st->timeline, "timeline", st->o->timeline, write_timeline))
                status = EXIT_OWN;
        return status;
}

static int exit_status(const sv_cli_run_state *st) {
        sv_report_counts c;

        if (st->out_failed)
                return EXIT_OWN;
        if (st->stop_signal)
                return 128 + st->stop_signal;
        sv_report_get_counts(st->rep, &c);
        if (c.failed || c.crashed || c.errors || c.stopped || c.not_run)
                return EXIT_FAILED;
        if (c.timed_out)
                return EXIT_TIMEDOUT;
        return EXIT_OK;
}

static void release(sv_cli_run_state *st) {
        int k;

        /* The runner first: its END event, then its handles. */
        sv_runner_free(st->rn);
        st->rn = NULL;
        if (st->loop) {
                for (k = 0; k < st->nsigs; k++)
                        uv_close((uv_handle_t *) &st->sigs[k], NULL);
                if (st->progress_init)
                        uv_close((uv_handle_t *) &st->progress, NULL);
                (void) uv_run(st->loop, UV_RUN_NOWAIT);
        }
        sv_supervisor_free(st->sv);
        free(st->line);
        sv_report_free(st->rep);
        sv_argv_free(st->on_timeout_argv);
        if (st->events_fd >= 0)
                close(st->events_fd);
        sv_atomic_file_abort(&st->junit);
        sv_atomic_file_abort(&st->tap);
        sv_atomic_file_abort(&st->timeline);
        free(st->diag_line);
        free(st->diag_kinds);
        sv_joblist_release(&st->list);
}

int sv_cli_run(int argc, char **argv) {
        sv_cli_run_opts o;
        sv_cli_run_state st;
        int status;

        status = sv_cli_run_parse(argc, argv, &o);
        if (status >= 0)
                return status;
        memset(&st, 0, sizeof(st));
        st.o = &o;
        st.events_fd = -1;
        sv_joblist_init(&st.list);
        /* A closed stdout must not kill us with our jobs' trees still up;
         * children get default dispositions back before exec. */
#ifdef SIGPIPE
        (void) signal(SIGPIPE, SIG_IGN);
#endif
        status = prepare(&st, &o);
        if (status == LISTED) {
                release(&st);
                return EXIT_OK;
        }
        if (status == 0)
                status = check_isolation(&o);
        if (status == 0) {
                st.progress_on = !o.quiet && isatty(2);
                st.color = sv_cli_run_color_wanted(o.color);
                status = start_loop(&st);
        }
        if (status == 0) {
                int e = sv_runner_start(st.rn);

                if (e < 0 && (o.isolate & SV_RUN_ISOLATE_CWD)) {
                        /* The run's directory is the one thing start makes. */
                        const char *base = getenv("TMPDIR");

                        fprintf(stderr, "supervise run: --isolate cwd: cannot make a directory in '%s': %s\n",
                                base && *base ? base : "/tmp", uv_strerror(e));
                        status = EXIT_OWN;
                } else if (e < 0) {
                        fprintf(stderr, "supervise run: cannot start: %s\n", uv_strerror(e));
                        status = EXIT_OWN;
                }
        }
        if (status == 0) {
                sv_cli_run_progress_draw(&st);
                (void) sv_supervisor_run(st.sv);
                /* END goes into the events before the summary is written. */
                sv_runner_free(st.rn);
                st.rn = NULL;
                status = finish_reports(&st);
                if (status == 0)
                        status = exit_status(&st);
        }
        release(&st);
        return status;
}
