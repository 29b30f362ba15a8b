/* test_embed.c - the library inside someone else's libuv program: on the
 * caller's loop, beside the caller's own uv_spawn children, which it must
 * never reap, and leaving the loop closable when freed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "supervise/sv.h"
#include "svtest.h"

typedef struct ctx {
        int sv_exits;
        int sv_code;
        int uv_exits;
        int64_t uv_status;
} ctx;

static void on_sv_exit(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;

        (void) w;
        c->sv_exits++;
        c->sv_code = info->code;
}

static void on_uv_exit(uv_process_t *p, int64_t status, int sig) {
        ctx *c = p->data;

        (void) sig;
        c->uv_exits++;
        c->uv_status = status;
        uv_close((uv_handle_t *) p, NULL);
}

static void test_runs_on_the_callers_loop_and_leaves_it_closable(void **state) {
        const char *argv[] = { svt_worker("sv-exit"), "4", NULL };
        sv_supervisor_opts so;
        sv_spawn_opts o;
        sv_supervisor *sv;
        uv_loop_t loop;
        ctx c;

        (void) state;
        memset(&c, 0, sizeof(c));
        assert_int_equal(uv_loop_init(&loop), 0);
        memset(&so, 0, sizeof(so));
        so.loop = &loop;
        assert_int_equal(sv_supervisor_new(&so, &sv), 0);
        assert_ptr_equal(sv_supervisor_loop(sv), &loop);

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.on_exit = on_sv_exit;
        o.userdata = &c;
        assert_int_equal(sv_spawn(sv, &o, NULL), 0);
        /* The caller runs its own loop; our handles must not keep it alive
         * once the worker is done. */
        assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
        assert_int_equal(c.sv_exits, 1);
        assert_int_equal(c.sv_code, 4);

        sv_supervisor_free(sv);
        assert_int_equal(uv_loop_close(&loop), 0);
        svt_assert_no_children();
}

/* Without the subreaper role we must leave every child we did not spawn to
 * its owner: libuv reaps its uv_spawn child with waitpid(pid), and would
 * never call its exit callback if we had taken the status first. */
static void test_uv_spawn_children_of_the_host_are_never_reaped_by_us(void **state) {
        const char *sv_argv[] = { svt_worker("sv-exit"), "0", NULL };
        char *uv_argv[] = { (char *) svt_worker("sv-exit"), "7", NULL };
        uv_process_options_t po;
        uv_process_t proc;
        sv_supervisor_opts so;
        sv_spawn_opts o;
        sv_supervisor *sv;
        uv_loop_t loop;
        ctx c;
        int i;

        (void) state;
        memset(&c, 0, sizeof(c));
        assert_int_equal(uv_loop_init(&loop), 0);
        memset(&so, 0, sizeof(so));
        so.loop = &loop;
        so.flags = SV_SUPERVISOR_NO_SUBREAPER;
        assert_int_equal(sv_supervisor_new(&so, &sv), 0);

        memset(&po, 0, sizeof(po));
        po.file = uv_argv[0];
        po.args = uv_argv;
        po.exit_cb = on_uv_exit;
        proc.data = &c;
        assert_int_equal(uv_spawn(&loop, &proc, &po), 0);

        memset(&o, 0, sizeof(o));
        o.argv = sv_argv;
        o.on_exit = on_sv_exit;
        o.userdata = &c;
        /* Several of ours exit around the host's child. */
        for (i = 0; i < 5; i++)
                assert_int_equal(sv_spawn(sv, &o, NULL), 0);
        assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
        assert_int_equal(c.sv_exits, 5);
        assert_int_equal(c.uv_exits, 1);
        assert_int_equal(c.uv_status, 7);

        sv_supervisor_free(sv);
        assert_int_equal(uv_loop_close(&loop), 0);
        svt_assert_no_children();
}

static int group_setup(void **state) {
        (void) state;
        svt_become_subreaper();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runs_on_the_callers_loop_and_leaves_it_closable),
                cmocka_unit_test(test_uv_spawn_children_of_the_host_are_never_reaped_by_us),
        };

        return cmocka_run_group_tests_name("embedding", tests, group_setup, NULL);
}
