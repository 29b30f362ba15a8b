/* copies.h - the main command's state, shared by its files: cmd_copies.c
 * (running the copies), copies_opts.c (argv -> options) and copies_report.c
 * (the stderr line and the --json records). Nothing outside them uses it. */
#ifndef SV_CLI_COPIES_H
#define SV_CLI_COPIES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "supervise/sv.h"
#include "supervise/sv_control.h"
#include "supervise/sv_pool.h"

#define EXIT_TIMEDOUT 124
#define EXIT_FAILURE_OWN 125
#define EXIT_CANNOT_INVOKE 126
#define EXIT_ENOENT 127

typedef struct cli_opts {
        unsigned copies;
        uint64_t timeout_ms;
        uint64_t idle_timeout_ms;
        uint64_t warn_after_ms;
        sv_ladder ladder;
        sv_leaks leaks;
        sv_restart_opts restart; /* --restart, --restart-delay, --max-restarts, --within */
        const char *mechanism;
        const char *json_path;
        const char *control_path; /* --control: the control socket, or NULL */
        bool quiet, verbose;
        bool gnu_timeout, preserve_status, foreground; /* `supervise timeout` */
        char **argv;
} cli_opts;

/* A copy that ended, as the report shows it. */
typedef struct slot {
        unsigned index;
        unsigned restarts; /* which restart of the slot it was (0: its first copy) */
        sv_exit_info info; /* its leaks and reason are valid during the report */
} slot;

typedef struct run {
        cli_opts *o;
        sv_supervisor *sv;
        /* The copies, as a pool of slots: the control server (--control)
         * drives the run through it (sv_pool.h), and its events reach the
         * report through cmd_copies.c's on_pool_event. It keeps each
         * slot's last exit, which the exit status is made of. */
        sv_pool *pool;
        sv_control *ctl;   /* --control; closed with the run's handles */
        bool ctl_failed;   /* it could not listen: exit 125, nothing started */
        unsigned expected; /* copies spawned (restarts included) */
        unsigned done;     /* copies ended */
        char **env;        /* the copies' environment but SUPERVISE_WORKER */
        FILE *json;
        bool out_failed; /* a report could not be written: exit 125 */
        int stop_signal; /* the signal that stopped us, 0 if none */
        uv_signal_t sigs[6];
        uv_timer_t warn;
        bool warn_active;
        int nsigs;
        int tty; /* the terminal given to the copy (supervise timeout --foreground), or -1 */
        char run_id[40];
} run;

/* Returns -1 to go on, or an exit status (help, version, usage error). */
int sv_copies_parse_args(int argc, char **argv, cli_opts *o);

/* A report could not be written: says so once, stops every copy, exit 125. */
void sv_copies_output_failed(run *r, const char *name, int err);
/* Notices a lost stderr report (the exit status says so). */
void sv_copies_check_stderr(run *r);
/* {"event":"start",...} for copy `index`, its `restarts`-th restart. */
void sv_copies_json_start(run *r, unsigned index, pid_t pid, unsigned restarts);
/* The stderr line and the --json line of a restart scheduled (delay_ms)
 * or done by hand (manual), and of a slot given up on. */
void sv_copies_report_restart(run *r, unsigned index, unsigned restarts, uint64_t delay_ms,
                              bool manual);
void sv_copies_report_gave_up(run *r, unsigned index, unsigned restarts);
/* Stops every copy and cancels restarts (a report was lost). */
void sv_copies_stop_all(run *r);
/* The stderr line (and the leak lines) of a copy that ended. */
void sv_copies_report_line(const run *r, const slot *s);
/* The --json exit record of a copy that ended. */
void sv_copies_json_line(run *r, const slot *s);

#endif
