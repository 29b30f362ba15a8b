/* test_run_text.c - bytes from outside as text: sv_text_escape's one scheme
 * (valid UTF-8 and NUL kept, other bytes as \xHH, controls for a terminal),
 * base64, and the reports carrying output with NULs and invalid UTF-8 whole:
 * the events line (\u0000 and a _b64 copy), JUnit and TAP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "supervise/sv_run.h"

static void expect_escape(const char *in, size_t n, unsigned flags, const char *want,
                          size_t want_invalid) {
        size_t len = 99, bad = 99;
        char *t = sv_text_escape(in, n, flags, &len, &bad);

        assert_non_null(t);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(t, want, len);
        assert_int_equal(bad, want_invalid);
        free(t);
}

/* The literal's bytes, NULs included. */
#define EXPECT(in, flags, want, bad) expect_escape(in, sizeof(in) - 1, flags, want, bad)

static void test_text_valid_utf8_and_nul_are_kept_as_they_are(void **state) {
        size_t len;
        char *t;

        (void) state;
        EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
                      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0);
        t = sv_text_escape("a\0b\n", 4, 0, &len, NULL);
        assert_non_null(t);
        assert_int_equal(len, 4);
        assert_memory_equal(t, "a\0b\n", 4);
        free(t);
        expect_escape(NULL, 0, 0, "", 0);
}

static void test_text_invalid_bytes_become_backslash_x_hex_and_are_counted(void **state) {
        (void) state;
        /* A stray continuation byte, an overlong '/', a surrogate, a cut
         * sequence at the end, and a byte that never starts one. */
        EXPECT("a\x80" "z \xc0\xaf \xed\xa0\x80 \xf5 \xe2\x82", 0,
                      "a\\x80z \\xC0\\xAF \\xED\\xA0\\x80 \\xF5 \\xE2\\x82", 9);
}

static void test_text_terminal_form_escapes_controls_sequences_and_backslash(void **state) {
        (void) state;
        EXPECT("\x1b]0;pwn\x07\x1b[2J\n\t\\\xc2\x9b\x7f\xff ok", SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH,
                      "\\x1B]0;pwn\\x07\\x1B[2J\\n\\t\\\\\\xC2\\x9B\\x7F\\xFF ok", 1);
        /* Multi-line text keeps its lines, and a lone backslash. */
        EXPECT("a\tb\r\nc\\\x01", SV_TEXT_CONTROLS | SV_TEXT_KEEP_LINES,
                      "a\tb\r\nc\\\\x01", 0);
}

static void test_base64_matches_rfc4648_vectors(void **state) {
        static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
        static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                           "Zm9vYmFy" };
        size_t i;
        char *b;

        (void) state;
        for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                b = sv_base64(in[i], strlen(in[i]));
                assert_non_null(b);
                assert_string_equal(b, out[i]);
                free(b);
        }
        b = sv_base64("\0\xff\xfe", 3);
        assert_string_equal(b, "AP/+");
        free(b);
}

/* ---- The reports keep every byte ---- */

static const char output[] = "before\0after \xff\xfe end\n";
#define OUTPUT_LEN (sizeof(output) - 1)

static char *slurp_fd(int fd, size_t *out_len) {
        char *p = NULL;
        size_t len = 0;
        ssize_t n;

        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        for (;;) {
                p = realloc(p, len + 4096 + 1);
                assert_non_null(p);
                n = read(fd, p + len, 4096);
                assert_true(n >= 0);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        p[len] = '\0';
        *out_len = len;
        return p;
}

/* One failing job whose output holds a NUL and invalid UTF-8, with an
 * events file. */
static sv_report *report_with_output(sv_joblist *jobs, FILE *events) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        sv_exit_info e;
        sv_report *r;

        assert_int_equal(sv_jobfile_parse_mem("name=nul ./t\n", 13, NULL, jobs, NULL, 0), 1);
        assert_int_equal(sv_report_new(jobs, &r), 0);
        sv_report_set_events_fd(r, fileno(events));
        ev.type = SV_RUN_EV_SPAWN;
        ev.pid = 42;
        assert_int_equal(sv_report_add(r, &ev), 0);
        memset(&e, 0, sizeof(e));
        e.exited = true;
        e.code = 1;
        e.stop_step = -1;
        ev.type = SV_RUN_EV_EXIT;
        ev.exit = &e;
        ev.verdict = SV_VERDICT_FAIL;
        ev.text = output;
        ev.text_len = OUTPUT_LEN;
        assert_int_equal(sv_report_add(r, &ev), 0);
        return r;
}

static void test_events_line_keeps_nul_as_u0000_and_raw_bytes_in_b64(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        FILE *ev = tmpfile();
        json_t *o;
        char *text, *nl, *b64;
        size_t len, tlen;
        sv_report *r;

        (void) state;
        assert_non_null(ev);
        r = report_with_output(&jobs, ev);
        text = slurp_fd(fileno(ev), &len);
        nl = strchr(text, '\n');
        assert_non_null(nl);
        assert_non_null(strstr(nl + 1, "\"output_tail\":\"before\\u0000after \\\\xFF\\\\xFE end\\n\""));
        o = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, NULL);
        assert_non_null(o);
        tlen = json_string_length(json_object_get(o, "output_tail"));
        assert_int_equal(tlen, OUTPUT_LEN + 6);
        b64 = sv_base64(output, OUTPUT_LEN);
        assert_string_equal(json_string_value(json_object_get(o, "output_tail_b64")), b64);
        free(b64);
        json_decref(o);
        free(text);
        sv_report_free(r);
        sv_joblist_release(&jobs);
        fclose(ev);
}

static void test_junit_and_tap_keep_the_output_after_a_nul(void **state) {
        sv_joblist jobs = SV_JOBLIST_INIT;
        FILE *ev = tmpfile(), *f = tmpfile();
        sv_report *r;
        char *text;
        size_t len;

        (void) state;
        assert_non_null(ev);
        assert_non_null(f);
        r = report_with_output(&jobs, ev);
        assert_int_equal(sv_report_write_junit(r, f, NULL), 0);
        text = slurp_fd(fileno(f), &len);
        /* XML 1.0 cannot carry NUL even as a reference: it is shown. */
        assert_int_equal(strlen(text), len);
        assert_non_null(strstr(text, "<system-out>before\\x00after \\xFF\\xFE end\n</system-out>"));
        free(text);
        assert_int_equal(ftruncate(fileno(f), 0), 0);
        rewind(f);
        assert_int_equal(sv_report_write_tap(r, f), 0);
        text = slurp_fd(fileno(f), &len);
        /* YAML's \x00 reads back as NUL; the bad bytes as the text \xFF. */
        assert_non_null(strstr(text, "  output: \"before\\x00after \\\\xFF\\\\xFE end\\n\"\n"));
        free(text);
        sv_report_free(r);
        sv_joblist_release(&jobs);
        fclose(ev);
        fclose(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_valid_utf8_and_nul_are_kept_as_they_are),
                cmocka_unit_test(test_text_invalid_bytes_become_backslash_x_hex_and_are_counted),
                cmocka_unit_test(test_text_terminal_form_escapes_controls_sequences_and_backslash),
                cmocka_unit_test(test_base64_matches_rfc4648_vectors),
                cmocka_unit_test(test_events_line_keeps_nul_as_u0000_and_raw_bytes_in_b64),
                cmocka_unit_test(test_junit_and_tap_keep_the_output_after_a_nul),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
