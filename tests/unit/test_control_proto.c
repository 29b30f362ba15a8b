/* test_control_proto.c - sv__ctl_parse(), the control protocol's request
 * parser (control/proto.c): what each command accepts and refuses, the id
 * echoed even in a refusal, and the inputs fuzz_control found breaking an
 * invariant (tests/fuzz/corpus/control/regress-*), kept here so the gcc
 * build and valgrind check them without a fuzzing toolchain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <uv.h>

#include "control/control_internal.h"

static char err[160];

static int parse(const char *s, sv__ctl_req *q) {
        err[0] = '\0';
        return sv__ctl_parse(s, strlen(s), q, err, sizeof(err));
}

static void test_each_command_parses_with_its_arguments(void **state) {
        sv__ctl_req q;

        (void) state;
        assert_int_equal(parse("{\"id\":1,\"cmd\":\"list\"}", &q), 0);
        assert_int_equal(q.cmd, SV__CTL_LIST);
        assert_int_equal(json_integer_value(q.id), 1);
        json_decref(q.id);
        assert_int_equal(parse("{\"cmd\":\"signal\",\"worker\":3,\"signal\":\"sigterm\",\"tree\":true}", &q), 0);
        assert_true(q.cmd == SV__CTL_SIGNAL && !q.all && q.worker == 3 && q.signal == SIGTERM && q.tree);
        assert_null(q.id);
        assert_int_equal(parse("{\"cmd\":\"signal\",\"worker\":\"all\",\"signal\":9}", &q), 0);
        assert_true(q.all && q.signal == SIGKILL && !q.tree);
        assert_int_equal(parse("{\"cmd\":\"tree\"}", &q), 0);
        assert_true(q.cmd == SV__CTL_TREE && q.all);
        assert_int_equal(parse("{\"cmd\":\"scale\",\"n\":0}", &q), 0);
        assert_true(q.cmd == SV__CTL_SCALE && q.n == 0);
        assert_int_equal(parse("{\"id\":\"x\",\"cmd\":\"resume\",\"worker\":0}", &q), 0);
        assert_string_equal(json_string_value(q.id), "x");
        json_decref(q.id);
}

static void test_bad_requests_are_refused_with_the_id(void **state) {
        static const char *bad[] = {
                "", "{", "[]", "{\"cmd\":\"stop\"}", "{\"cmd\":\"stop\",\"worker\":-1}",
                "{\"cmd\":\"signal\",\"worker\":0,\"signal\":0}", "{\"cmd\":\"signal\",\"worker\":0,\"signal\":\"0\"}",
                "{\"cmd\":\"list\",\"worker\":0}", "{\"cmd\":\"scale\",\"n\":100001}",
                "{\"cmd\":\"list\",\"cmd\":\"list\"}", "{\"cmd\":\"l\\u0000ist\"}", "{\"id\":[],\"cmd\":\"list\"}",
        };
        sv__ctl_req q;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(parse(bad[i], &q), UV_EINVAL);
                assert_true(err[0] != '\0');
                json_decref(q.id);
        }
        assert_int_equal(parse("{\"id\":42,\"cmd\":\"nope\"}", &q), UV_EINVAL);
        assert_int_equal(json_integer_value(q.id), 42);
        json_decref(q.id);
}

/* fuzz_control: a command name with an escaped newline came back in the
 * reason, which is one line of the supervisor's log (regress-newline-in-command);
 * then jansson's own message quoted raw input with newlines
 * (regress-newline-in-json-error). */
static void test_reasons_stay_one_line(void **state) {
        static const char found1[] = "{\"cmd\":\"ev\\nts\",\"tree\":9}";
        static const char found2[] = "{\"cmd\":\"\\\n\n\n\xddn\"}";
        sv__ctl_req q;

        (void) state;
        assert_int_equal(parse(found1, &q), UV_EINVAL);
        assert_null(strchr(err, '\n'));
        assert_int_equal(parse(found2, &q), UV_EINVAL);
        assert_null(strchr(err, '\n'));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_command_parses_with_its_arguments),
                cmocka_unit_test(test_bad_requests_are_refused_with_the_id),
                cmocka_unit_test(test_reasons_stay_one_line),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
