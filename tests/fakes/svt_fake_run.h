/* svt_fake_run.h - a runner (sv_run.h) over the fake platform, as the
 * state-machine unit tests (tests/unit/test_fsm_*.c) drive it: jobs from a
 * job file's text, exits fed to sv__worker_reaped() as the reap layer would,
 * and the loop run only to deliver what is already there. Include after
 * <cmocka.h>; a helper that fails does so with a cmocka assertion. */
#ifndef SVT_FAKE_RUN_H
#define SVT_FAKE_RUN_H

#include <stdbool.h>
#include <sys/types.h>

#include "supervise/sv_run.h"

typedef struct svt_fake_run {
        sv_supervisor *sv;
        sv_joblist list;
        sv_report *rep; /* the test makes it (after setting constraints, if any) */
        sv_runner *rn;
        sv_runner_opts ro;
} svt_fake_run;

/* Resets the fake platform, makes a supervisor (ladder TERM:5s,KILL:1s) and
 * the jobs of `jobs`, and fills the runner's options but for the report and
 * the callbacks, which get `userdata`. Nothing starts yet. */
void svt_fake_run_init(svt_fake_run *r, const char *jobs, unsigned parallel, void *userdata);

/* Makes and starts the runner with r->ro. */
void svt_fake_run_start(svt_fake_run *r);

/* Delivers what the loop has (pipe EOFs, close callbacks) without waiting. */
void svt_fake_run_spin(svt_fake_run *r);

/* Ends the fake worker `pid` (exited with `code`, or killed) and spins. */
void svt_fake_run_reap(svt_fake_run *r, pid_t pid, bool exited, int code);

/* Frees the runner, the supervisor, the report and the jobs. */
void svt_fake_run_free(svt_fake_run *r);

#endif
