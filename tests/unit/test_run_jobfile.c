/* test_run_jobfile.c - job files split into argv like a shell splits words,
 * with no expansion; names; comments; and errors that name the file and line.
 * Each table row is one input and the words it must give. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise/sv_run.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Parses `text` and fails the test unless it gives exactly one job whose argv
 * is `want` (NULL-terminated). */
static void expect_argv(const char *text, size_t len, const char *const *want) {
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256] = "";
        size_t i;
        int r;

        r = sv_jobfile_parse_mem(text, len, "t.jobs", &l, err, sizeof(err));
        if (r != 1)
                fail_msg("'%s': got %d (%s), want 1 job", text, r, err);
        for (i = 0; want[i]; i++) {
                if (!l.jobs[0].argv[i] || strcmp(l.jobs[0].argv[i], want[i]) != 0)
                        fail_msg("'%s': word %zu is '%s', want '%s'", text, i,
                                 l.jobs[0].argv[i] ? l.jobs[0].argv[i] : "(end)", want[i]);
        }
        if (l.jobs[0].argv[i])
                fail_msg("'%s': extra word '%s'", text, l.jobs[0].argv[i]);
        sv_joblist_release(&l);
}


static void test_jobfile_words_split_like_sh_without_expansion(void **state) {
        static const struct {
                const char *in;
                const char *want[8]; /* NULL-terminated by the zeroed rest */
        } rows[] = {
                { "a b c", { "a", "b", "c" } },
                { "  a\t\tb  ", { "a", "b" } },
                { "'a b' c", { "a b", "c" } },
                { "\"a b\" c", { "a b", "c" } },
                { "a'b'c", { "abc" } },
                { "a\"b\"'c'd", { "abcd" } },
                { "a ''", { "a", "" } },
                { "a \"\"", { "a", "" } },
                { "a \\ b", { "a", " b" } },
                { "a\\ b", { "a b" } },
                { "a \\'", { "a", "'" } },
                { "a \\\\", { "a", "\\" } },
                { "'a\\nb'", { "a\\nb" } },
                { "\"a\\\"b\"", { "a\"b" } },
                { "\"a\\\\b\"", { "a\\b" } },
                { "\"a\\$b\"", { "a$b" } },
                { "\"a\\`b\"", { "a`b" } },
                { "\"a\\nb\"", { "a\\nb" } },
                { "\"it's\"", { "it's" } },
                { "'say \"hi\"'", { "say \"hi\"" } },
                { "echo $HOME ~ *.c `id` ${X}", { "echo", "$HOME", "~", "*.c", "`id`", "${X}" } },
                { "FOO=1 env", { "FOO=1", "env" } },
                { "a#b c", { "a#b", "c" } },
                { "a #b c", { "a" } },
                { "a '#b'", { "a", "#b" } },
                { "a \\#b", { "a", "#b" } },
                { "a '|' \"&\" \\;", { "a", "|", "&", ";" } },
                { "x 'name=y'", { "x", "name=y" } },
                { "'name=y' x", { "name=y", "x" } },
                { "a b\\", { "a", "b\\" } },
                { "caf\xc3\xa9 \xff", { "caf\xc3\xa9", "\xff" } },
        };
        size_t i;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                expect_argv(rows[i].in, strlen(rows[i].in), rows[i].want);
        }
}

static void test_jobfile_backslash_newline_continues_the_line(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        const char *text = "./t \\\n  --fast\\\n-x \"a\\\nb\"\nnext\r\n";
        int r;

        (void) state;
        r = sv_jobfile_parse_mem(text, strlen(text), "t.jobs", &l, NULL, 0);
        assert_int_equal(r, 2);
        assert_string_equal(l.jobs[0].argv[0], "./t");
        assert_string_equal(l.jobs[0].argv[1], "--fast-x");
        assert_string_equal(l.jobs[0].argv[2], "ab");
        assert_null(l.jobs[0].argv[3]);
        assert_int_equal(l.jobs[0].line, 1);
        /* The default name is the command as written, continuations removed. */
        assert_string_equal(l.jobs[0].name, "./t   --fast-x \"ab\"");
        assert_string_equal(l.jobs[1].argv[0], "next");
        assert_null(l.jobs[1].argv[1]);
        assert_int_equal(l.jobs[1].line, 5);
        sv_joblist_release(&l);
}

static void test_jobfile_blank_and_comment_lines_are_skipped(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        const char *text = "\n   \n\t\n# comment 'unclosed\n   # indented\none # trailing \"x\n"
                           "#\\\ntwo\n\n";
        int r;

        (void) state;
        r = sv_jobfile_parse_mem(text, strlen(text), "t.jobs", &l, NULL, 0);
        assert_int_equal(r, 2);
        assert_string_equal(l.jobs[0].name, "one");
        assert_int_equal(l.jobs[0].line, 6);
        /* A backslash at the end of a comment continues nothing. */
        assert_string_equal(l.jobs[1].name, "two");
        assert_int_equal(l.jobs[1].line, 8);
        sv_joblist_release(&l);
}

static void test_jobfile_name_prefix_names_the_job(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        const char *text = "name=unit-fast ./t --fast\n"
                           "name='db tests' ./t --db\n"
                           "  ./plain   arg  # note\n"
                           "'name=x' y\n";
        int r;

        (void) state;
        r = sv_jobfile_parse_mem(text, strlen(text), "t.jobs", &l, NULL, 0);
        assert_int_equal(r, 4);
        assert_string_equal(l.jobs[0].name, "unit-fast");
        assert_true(l.jobs[0].flags & SV_JOB_NAMED);
        assert_string_equal(l.jobs[0].argv[0], "./t");
        assert_string_equal(l.jobs[0].argv[1], "--fast");
        assert_null(l.jobs[0].argv[2]);
        assert_string_equal(l.jobs[1].name, "db tests");
        assert_string_equal(l.jobs[1].argv[0], "./t");
        assert_string_equal(l.jobs[2].name, "./plain   arg");
        assert_false(l.jobs[2].flags & SV_JOB_NAMED);
        assert_string_equal(l.jobs[3].name, "'name=x' y");
        assert_string_equal(l.jobs[3].argv[0], "name=x");
        assert_int_equal(l.jobs[3].skip_code, -1);
        assert_null(l.jobs[3].env);
        assert_null(l.jobs[3].cwd);
        sv_joblist_release(&l);
}

static void test_jobfile_errors_name_file_and_line(void **state) {
        static const struct {
                const char *in;
                const char *want;
        } rows[] = {
                { "ok\nok2\n\nx 'abc\n", "t.jobs:4: unclosed single quote" },
                { "x \"abc\n", "t.jobs:1: unclosed double quote" },
                { "x \"abc", "t.jobs:1: unclosed double quote" },
                { "x 'abc", "t.jobs:1: unclosed single quote" },
                { "a \\\nb 'c\nd'\n", "t.jobs:2: unclosed single quote" },
                { "x \"a\\\nb\\\nc\n", "t.jobs:1: unclosed double quote" },
                { "a | b\n", "t.jobs:1: unquoted '|'" },
                { "a > out\n", "t.jobs:1: unquoted '>'" },
                { "a;b\n", "t.jobs:1: unquoted ';'" },
                { "a &\n", "t.jobs:1: unquoted '&'" },
                { "echo $(id)\n", "t.jobs:1: unquoted '('" },
                { "\n\nname=x\n", "t.jobs:3: 'name=x' is not followed by a command" },
                { "name=x # only a comment\n", "t.jobs:1: 'name=x' is not followed by a command" },
                { "name= a\n", "t.jobs:1: empty job name" },
                { "name='a\tb' c\n", "t.jobs:1: job name has a control character" },
                { "'' a\n", "t.jobs:1: empty program name" },
                { "name=a x\nname=b y\nname=a z\n", "t.jobs:3: duplicate job name 'a' (first on line 1)" },
        };
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];
        size_t i;
        int r;

        (void) state;
        for (i = 0; i < COUNT(rows); i++) {
                err[0] = '\0';
                r = sv_jobfile_parse_mem(rows[i].in, strlen(rows[i].in), "t.jobs", &l, err, sizeof(err));
                if (r != UV_EINVAL)
                        fail_msg("row %zu: got %d, want UV_EINVAL", i, r);
                if (strncmp(err, rows[i].want, strlen(rows[i].want)) != 0)
                        fail_msg("row %zu: message '%s', want '%s...'", i, err, rows[i].want);
                assert_int_equal(l.count, 0);
        }
        sv_joblist_release(&l);
}

static void test_jobfile_nul_byte_is_an_error(void **state) {
        static const char text[] = "ok\na\0b\n";
        sv_joblist l = SV_JOBLIST_INIT;
        char err[128];

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem(text, sizeof(text) - 1, "t", &l, err, sizeof(err)), UV_EINVAL);
        assert_string_equal(err, "t:2: NUL byte in line");
        assert_int_equal(sv_jobfile_parse_mem("'\0'", 3, "t", &l, err, sizeof(err)), UV_EINVAL);
        assert_int_equal(sv_jobfile_parse_mem("\"\0\"", 3, "t", &l, err, sizeof(err)), UV_EINVAL);
        assert_int_equal(sv_jobfile_parse_mem("\\\0", 2, "t", &l, err, sizeof(err)), UV_EINVAL);
        assert_int_equal(l.count, 0);
        sv_joblist_release(&l);
}

static void test_jobfile_failure_leaves_the_list_unchanged(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        const char *good = "a\nb\n", *bad = "c\nd\n'e\n";

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem(good, strlen(good), "g", &l, NULL, 0), 2);
        assert_int_equal(sv_jobfile_parse_mem(bad, strlen(bad), "b", &l, NULL, 0), UV_EINVAL);
        assert_int_equal(l.count, 2);
        assert_string_equal(l.jobs[1].name, "b");
        /* Appending works after a failure, and names may repeat across calls
         * only when they are default names. */
        assert_int_equal(sv_jobfile_parse_mem(good, strlen(good), "g", &l, NULL, 0), 2);
        assert_int_equal(l.count, 4);
        sv_joblist_release(&l);
        sv_joblist_release(&l);
        sv_joblist_release(NULL);
}

static void test_jobfile_empty_input_gives_no_jobs(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;

        (void) state;
        assert_int_equal(sv_jobfile_parse_mem("", 0, "e", &l, NULL, 0), 0);
        assert_int_equal(sv_jobfile_parse_mem("# x\n\n", 5, "e", &l, NULL, 0), 0);
        assert_int_equal(l.count, 0);
        sv_joblist_release(&l);
}

static void test_jobfile_many_lines_parse_and_duplicate_check_is_fast(void **state) {
        sv_joblist l = SV_JOBLIST_INIT;
        char *text, *p;
        size_t i, n = 20000;

        (void) state;
        text = malloc(n * 40);
        assert_non_null(text);
        p = text;
        for (i = 0; i < n; i++)
                p += sprintf(p, "name=job%zu /bin/true %zu\n", i, i);
        assert_int_equal(sv_jobfile_parse_mem(text, (size_t) (p - text), "big", &l, NULL, 0), (int) n);
        assert_string_equal(l.jobs[n - 1].name, "job19999");
        assert_int_equal(l.jobs[n - 1].line, n);
        sv_joblist_release(&l);
        free(text);
}

static void test_jobfile_load_reads_a_file_and_reports_missing_ones(void **state) {
        char path[] = "/tmp/test_run_jobfile.XXXXXX";
        sv_joblist l = SV_JOBLIST_INIT;
        char err[256];
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x 1\ny 'unclosed\n", 16), 16);
        assert_int_equal(close(fd), 0);
        assert_int_equal(sv_jobfile_load(path, &l, err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, ":2: unclosed single quote"));
        assert_int_equal(strncmp(err, path, strlen(path)), 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(sv_jobfile_load(path, &l, err, sizeof(err)), UV_ENOENT);
        assert_non_null(strstr(err, "cannot open '/tmp/test_run_jobfile."));
        assert_int_equal(l.count, 0);
}

static void test_jobfile_parse_reads_a_stream(void **state) {
        static char text[] = "name=a x\nname=b y z\n";
        sv_joblist l = SV_JOBLIST_INIT;
        FILE *f;

        (void) state;
        f = fmemopen(text, strlen(text), "r");
        assert_non_null(f);
        assert_int_equal(sv_jobfile_parse(f, "<stdin>", &l, NULL, 0), 2);
        assert_string_equal(l.jobs[1].argv[1], "z");
        (void) fclose(f);
        sv_joblist_release(&l);
}

static void test_words_split_splits_one_command(void **state) {
        char **argv = NULL;
        char err[128];

        (void) state;
        assert_int_equal(sv_words_split("gdb -batch -p {pid} -ex 'thread apply all bt'", &argv, err,
                                        sizeof(err)),
                         6);
        assert_string_equal(argv[3], "{pid}");
        assert_string_equal(argv[5], "thread apply all bt");
        assert_null(argv[6]);
        sv_argv_free(argv);
        argv = NULL;
        assert_int_equal(sv_words_split("", &argv, err, sizeof(err)), UV_EINVAL);
        assert_string_equal(err, "empty command");
        assert_int_equal(sv_words_split("a 'b", &argv, err, sizeof(err)), UV_EINVAL);
        assert_string_equal(err, "unclosed single quote");
        assert_int_equal(sv_words_split("a\nb", &argv, err, sizeof(err)), UV_EINVAL);
        assert_int_equal(sv_words_split("a | b", &argv, err, sizeof(err)), UV_EINVAL);
        assert_null(argv);
}

/* Random lines over the characters that matter to the lexer: every input
 * either parses into jobs with a non-empty argv[0] and name, or fails with
 * UV_EINVAL and a "file:line: " message; never anything else (ASan and
 * valgrind watch the memory). */
static void test_jobfile_random_input_parses_or_fails_cleanly(void **state) {
        static const char alphabet[] = "ab  \t'\"\\#\n\r|=name";
        sv_joblist l = SV_JOBLIST_INIT;
        unsigned seed = 12345, iter, ok = 0, bad = 0;
        char text[64], err[256];
        size_t i, n, k;
        int r;

        (void) state;
        for (iter = 0; iter < 20000; iter++) {
                n = (size_t) (rand_r(&seed) % (sizeof(text) - 1));
                for (i = 0; i < n; i++)
                        text[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
                text[n] = '\0';
                err[0] = '\0';
                r = sv_jobfile_parse_mem(text, n, "f", &l, err, sizeof(err));
                if (r >= 0) {
                        assert_int_equal((size_t) r, l.count);
                        for (k = 0; k < l.count; k++) {
                                assert_true(l.jobs[k].argv[0] && l.jobs[k].argv[0][0]);
                                assert_true(l.jobs[k].name[0]);
                                assert_true(l.jobs[k].line >= 1);
                        }
                        ok++;
                } else {
                        if (r != UV_EINVAL || strncmp(err, "f:", 2) != 0)
                                fail_msg("'%s': %d '%s'", text, r, err);
                        assert_int_equal(l.count, 0);
                        bad++;
                }
                sv_joblist_release(&l);
        }
        /* Both paths were exercised. */
        assert_true(ok > 1000);
        assert_true(bad > 1000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_jobfile_words_split_like_sh_without_expansion),
                cmocka_unit_test(test_jobfile_backslash_newline_continues_the_line),
                cmocka_unit_test(test_jobfile_blank_and_comment_lines_are_skipped),
                cmocka_unit_test(test_jobfile_name_prefix_names_the_job),
                cmocka_unit_test(test_jobfile_errors_name_file_and_line),
                cmocka_unit_test(test_jobfile_nul_byte_is_an_error),
                cmocka_unit_test(test_jobfile_failure_leaves_the_list_unchanged),
                cmocka_unit_test(test_jobfile_empty_input_gives_no_jobs),
                cmocka_unit_test(test_jobfile_many_lines_parse_and_duplicate_check_is_fast),
                cmocka_unit_test(test_jobfile_load_reads_a_file_and_reports_missing_ones),
                cmocka_unit_test(test_jobfile_parse_reads_a_stream),
                cmocka_unit_test(test_words_split_splits_one_command),
                cmocka_unit_test(test_jobfile_random_input_parses_or_fails_cleanly),
        };

        return cmocka_run_group_tests_name("run_jobfile", tests, NULL, NULL);
}
