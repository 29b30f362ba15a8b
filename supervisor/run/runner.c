/* runner.c - the runner of sv_run.h: a job list run N at a time on a
 * caller's supervisor, with attempts, retries, deadlines and hang
 * diagnostics, reported as sv_run_events. A skeleton: the code moves here
 * from cli/cmd_run.c in the next step. */
#include <stdlib.h>

#include <uv.h>

#include "supervise/sv_run.h"

int sv_runner_new(const sv_runner_opts *opts, sv_runner **out) {
        (void) opts;
        (void) out;
        return UV_ENOSYS;
}

int sv_runner_start(sv_runner *rn) {
        (void) rn;
        return UV_ENOSYS;
}

void sv_runner_stop(sv_runner *rn, int sig, const char *reason) {
        (void) rn;
        (void) sig;
        (void) reason;
}

int sv_runner_error(const sv_runner *rn, const char **out_what) {
        (void) rn;
        (void) out_what;
        return 0;
}

void sv_runner_progress_get(const sv_runner *rn, sv_runner_progress *out) {
        (void) rn;
        (void) out;
}

uint64_t sv_runner_now_ms(const sv_runner *rn) {
        (void) rn;
        return 0;
}

void sv_runner_free(sv_runner *rn) {
        (void) rn;
}

int sv_run_parallel(const sv_runner_opts *opts) {
        (void) opts;
        return UV_ENOSYS;
}
