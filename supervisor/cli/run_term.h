/* run_term.h - `supervise run`'s state as the CLI holds it, and its terminal
 * side (run_term.c): the progress line, status lines, job output and our
 * messages. The scheduling is the library's runner (sv_run.h). */
#ifndef SV_CLI_RUN_TERM_H
#define SV_CLI_RUN_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "supervise/sv.h"
#include "supervise/sv_run.h"

/* The status line is redrawn this often, and on the next loop turn after a
 * job starts or ends. */
#define SV_CLI_RUN_PROGRESS_MS 250

/* --color=WHEN, GNU's spelling. */
typedef enum sv_cli_color {
        SV_CLI_COLOR_AUTO,   /* stderr is a terminal, TERM is set and not "dumb", NO_COLOR
                              * is unset or empty */
        SV_CLI_COLOR_ALWAYS, /* even with NO_COLOR: the command line wins */
        SV_CLI_COLOR_NEVER,
        SV_CLI_COLOR_COUNT
} sv_cli_color;
#define SV_CLI_LABEL_MAX 32
#include "cli/run_flow.h"

typedef struct sv_cli_run_opts {
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
        const char *timeline; /* --timeline FILE.html */
        sv_cli_color color;
        unsigned isolate;     /* sv_runner_opts.isolate */
        bool keep_failed;
        bool tag;
        bool quiet;
        /* -L / -LE, as ctest: every -L must match a label of the job, and a
         * job is left out when every -LE matches one of its labels. */
        const char *label_in[SV_CLI_LABEL_MAX];
        unsigned nlabel_in;
        const char *label_out[SV_CLI_LABEL_MAX];
        unsigned nlabel_out;
        sv_cli_run_flow flow; /* the CI options: run_flow.h */
} sv_cli_run_opts;

typedef struct sv_cli_run_state {
        const sv_cli_run_opts *o;
        sv_supervisor *sv;
        uv_loop_t *loop;
        sv_runner *rn;
        sv_joblist list;
        sv_report *rep;
        int events_fd;
        sv_atomic_file junit, tap; /* renamed into place when complete */
        char **on_timeout_argv;
        int stop_signal;
        uv_signal_t sigs[3];
        int nsigs;
        uv_timer_t progress;
        bool progress_init;
        bool progress_on;     /* stderr is a terminal and not --quiet */
        bool progress_shown;  /* a status line is on screen now */
        bool out_failed;      /* something could not be written: exit 125 */
        bool stdout_failed;   /* stop printing job output */
        bool stderr_failed;
        char *line;           /* --tag line assembly */
        size_t line_cap;
        sv_atomic_file timeline;
        bool color;           /* SGR colours on stderr (--color, NO_COLOR, a terminal) */
        /* Per job, where its current attempt's diagnostics went: the events
         * line of its first DIAG (0: none written) and the kinds seen (bit 0
         * snapshot, 1 on-timeout, 2 leaks, 3 others). */
        uint64_t *diag_line;
        unsigned char *diag_kinds;
        uint64_t events_seen; /* events lines written when the last event came */
} sv_cli_run_state;

/* run_opts.c: parses argv into `o`. Returns -1 to go on, or the exit status
 * (0 after --help or --version, 125 after a usage error's one line). */
int sv_cli_run_parse(int argc, char **argv, sv_cli_run_opts *o);

/* Whether to colour stderr for --color=WHEN (see sv_cli_color). */
bool sv_cli_run_color_wanted(sv_cli_color when);

/* Takes the status line off the screen before anything else is printed. */
void sv_cli_run_progress_clear(sv_cli_run_state *st);
void sv_cli_run_progress_draw(sv_cli_run_state *st);
void sv_cli_run_on_progress_timer(uv_timer_t *t);

/* Something could not be written (`what` NULL: stderr itself, where nothing
 * can be said): one line, no new job, the running ones stopped, exit 125. */
void sv_cli_run_failed(sv_cli_run_state *st, const char *what, int err);

/* The runner's callbacks; userdata is the sv_cli_run_state. */
void sv_cli_run_on_line(sv_runner *rn, size_t job, int fd, const char *line, size_t len,
                        unsigned flags, void *ud);
void sv_cli_run_on_attempt(sv_runner *rn, const sv_run_attempt *a, void *ud);
/* Notes where each DIAG event went, for the one diagnostics line. */
void sv_cli_run_on_event(sv_runner *rn, const sv_run_event *ev, void *ud);
void sv_cli_run_on_throttle(sv_runner *rn, int err, unsigned running, void *ud);
void sv_cli_run_on_error(sv_runner *rn, const char *what, int err, void *ud);

#endif
