/* svt_fake_run.c - the fake-platform runner the state-machine unit tests
 * share (see svt_fake_run.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "platform_fake.h"
#include "svt_fake_run.h"

void svt_fake_run_init(svt_fake_run *r, const char *jobs, unsigned parallel, void *userdata) {
        char err[128];
        sv_supervisor_opts so;

        sv_fake_reset();
        memset(r, 0, sizeof(*r));
        memset(&so, 0, sizeof(so));
        assert_int_equal(sv_ladder_parse("TERM:5s,KILL:1s", 0, &so.ladder), 0);
        assert_int_equal(sv_supervisor_new(&so, &r->sv), 0);
        sv_joblist_init(&r->list);
        assert_true(sv_jobfile_parse_mem(jobs, strlen(jobs), NULL, &r->list, err, sizeof(err)) > 0);
        r->ro.sv = r->sv;
        r->ro.jobs = &r->list;
        r->ro.parallel = parallel;
        r->ro.ladder = so.ladder;
        r->ro.userdata = userdata;
}

void svt_fake_run_start(svt_fake_run *r) {
        assert_int_equal(sv_runner_new(&r->ro, &r->rn), 0);
        assert_int_equal(sv_runner_start(r->rn), 0);
}

void svt_fake_run_spin(svt_fake_run *r) {
        int i;

        for (i = 0; i < 8; i++)
                (void) uv_run(sv_supervisor_loop(r->sv), UV_RUN_NOWAIT);
}

void svt_fake_run_reap(svt_fake_run *r, pid_t pid, bool exited, int code) {
        sv_worker *w = sv__worker_by_pid(r->sv, pid);
        sv__reaped rp;

        assert_non_null(w);
        memset(&rp, 0, sizeof(rp));
        rp.pid = pid;
        rp.exited = exited;
        rp.code = code;
        sv__worker_reaped(w, &rp);
        svt_fake_run_spin(r);
}

void svt_fake_run_free(svt_fake_run *r) {
        sv_runner_free(r->rn);
        sv_supervisor_free(r->sv);
        sv_report_free(r->rep);
        sv_joblist_release(&r->list);
}
