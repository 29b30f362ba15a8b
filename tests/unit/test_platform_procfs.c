/* test_platform_procfs.c - platform/linux/procfs.c, the one /proc reader,
 * on this very process: the hang detail that run's diagnosis shows, and the
 * stat parser's edge that tree.c's old parser read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

static void test_detail_of_ourselves_has_stat_and_cmdline(void **state) {
        sv__proc_detail d;

        (void) state;
        assert_int_equal(sv__proc_detail_read(getpid(), &d), 0);
        assert_int_equal(d.p.pid, getpid());
        assert_int_equal(d.p.ppid, getppid());
        assert_int_equal(d.p.state, 'R');
        assert_true(d.p.comm[0] != '\0'); /* ours, or valgrind's */
        assert_true(d.cmdline_len > 0);
        assert_non_null(strstr(d.cmdline, "test_platform_procfs"));
        assert_true(d.wchan[0] != '\0');
        /* Either the stack or why not, never neither. */
        assert_true(d.stack != NULL || d.stack_err < 0);
        sv__proc_detail_release(&d);
        assert_null(d.stack);
}

static void test_detail_of_a_gone_pid_is_esrch_and_filled(void **state) {
        sv__proc_detail d;

        (void) state;
        /* Above any pid_max the kernel allows (2^22). */
        assert_int_equal(sv__proc_detail_read(0x7ffffff0, &d), UV_ESRCH);
        assert_int_equal(d.p.state, '?');
        assert_string_equal(d.wchan, "-");
        assert_int_equal(d.cmdline_len, 0);
        assert_null(d.stack);
        sv__proc_detail_release(&d);
}

static void test_stat_cut_right_after_the_name_is_refused(void **state) {
        static const char *const cut[] = { "1 (x)", "1 (x) ", "1 (x) S", "1 (x) S 0" };
        sv__stat st;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
                assert_int_equal(sv__proc_parse_stat(cut[i], strlen(cut[i]), &st), UV_EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detail_of_ourselves_has_stat_and_cmdline),
                cmocka_unit_test(test_detail_of_a_gone_pid_is_esrch_and_filled),
                cmocka_unit_test(test_stat_cut_right_after_the_name_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
