/* test_proc_lists.c - the readers of process lists (children files,
 * cgroup.procs, environments) read to EOF however long the list is, and
 * never take the head of a cut-off number for a pid. Files stand in for
 * /proc here; tests/integration/test_scale.c reads a real children file of
 * thousands of workers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"

/* Writes `text` to a new temporary file and stores its path in `path`. */
static void write_temp(char *path, size_t n, const char *text) {
        FILE *f;
        int fd;

        snprintf(path, n, "/tmp/sv-test-lists.XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* 6,000 pids of 5-6 digits, as a children file of that many workers has:
 * about 40 KiB, well past the 16 KiB the reader once stopped at. */
static void test_pid_list_longer_than_16k_gives_every_pid(void **state) {
        enum { N = 6000 };
        char path[64], *text, *p;
        pid_t *pids = NULL;
        int i, n;

        (void) state;
        text = malloc(N * 8 + 1);
        assert_non_null(text);
        p = text;
        for (i = 0; i < N; i++)
                p += sprintf(p, "%d ", 25000 + i * 17);
        assert_true(p - text > 16 * 1024);
        write_temp(path, sizeof(path), text);
        n = sv__read_pid_list(path, &pids);
        unlink(path);
        free(text);
        assert_int_equal(n, N);
        for (i = 0; i < N; i++) {
                if (pids[i] != 25000 + i * 17)
                        fail_msg("pid %d read as %d, want %d", i, (int) pids[i], 25000 + i * 17);
        }
        free(pids);
}

/* cgroup.procs has one pid a line; an empty file is an empty list. */
static void test_pid_list_lines_and_empty_file(void **state) {
        char path[64];
        pid_t *pids = NULL;
        int n;

        (void) state;
        write_temp(path, sizeof(path), "12\n345\n6789\n");
        n = sv__read_pid_list(path, &pids);
        unlink(path);
        assert_int_equal(n, 3);
        assert_int_equal(pids[0], 12);
        assert_int_equal(pids[1], 345);
        assert_int_equal(pids[2], 6789);
        free(pids);

        pids = NULL;
        write_temp(path, sizeof(path), "");
        n = sv__read_pid_list(path, &pids);
        unlink(path);
        assert_int_equal(n, 0);
        free(pids);
}

/* A token that is not a whole pid is an error, not a pid. */
static void test_pid_list_garbage_returns_einval(void **state) {
        static const char *const bad[] = { "12 34x ", "12 -5 ", "0 ", "99999999999 " };
        char path[64];
        pid_t *pids = NULL;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_temp(path, sizeof(path), bad[i]);
                if (sv__read_pid_list(path, &pids) != UV_EINVAL)
                        fail_msg("'%s' was not refused", bad[i]);
                unlink(path);
        }
}

/* The whole-file reader returns every byte of a file far bigger than its
 * first buffer, NUL-terminated. */
static void test_read_file_all_reads_past_its_first_buffer(void **state) {
        enum { N = 200000 };
        char path[64], *text, *got = NULL;
        int i, n;

        (void) state;
        text = malloc(N + 1);
        assert_non_null(text);
        for (i = 0; i < N; i++)
                text[i] = (char) ('a' + i % 26);
        text[N] = '\0';
        write_temp(path, sizeof(path), text);
        n = sv__read_file_all(path, &got);
        unlink(path);
        assert_int_equal(n, N);
        assert_int_equal(got[N], '\0');
        assert_memory_equal(got, text, N);
        free(got);
        free(text);
}

static void test_read_file_all_missing_file_returns_enoent(void **state) {
        char *got = NULL;

        (void) state;
        assert_int_equal(sv__read_file_all("/nonexistent/sv-test", &got), UV_ENOENT);
        assert_null(got);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pid_list_longer_than_16k_gives_every_pid),
                cmocka_unit_test(test_pid_list_lines_and_empty_file),
                cmocka_unit_test(test_pid_list_garbage_returns_einval),
                cmocka_unit_test(test_read_file_all_reads_past_its_first_buffer),
                cmocka_unit_test(test_read_file_all_missing_file_returns_enoent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
