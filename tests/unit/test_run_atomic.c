/* test_run_atomic.c - sv_atomic_file: a report replaces the old file whole
 * or not at all. The old content stays until commit; commit renames with
 * the old file's mode; abort and a failed commit leave no temporary file;
 * a symlink's target is replaced, not the link; /dev/full is written in
 * place and its error returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "supervise/sv_run.h"

static char dir[64];

static int setup(void **state) {
        (void) state;
        (void) snprintf(dir, sizeof(dir), "/tmp/sv-atomic-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];

        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name) {
        static char buf[4][128];
        static int k;
        char *p = buf[k++ % 4];

        (void) snprintf(p, 128, "%s/%s", dir, name);
        return p;
}

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

static void expect_content(const char *path, const char *want) {
        char buf[256] = "";
        FILE *f = fopen(path, "r");
        size_t n;

        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        assert_string_equal(buf, want);
}

/* Files in the directory, "." and ".." not counted. */
static int entries(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_old_report_stays_until_commit_then_is_replaced_with_its_mode(void **state) {
        const char *p = path_of("r.xml");
        sv_atomic_file af;
        struct stat st;

        (void) state;
        put(p, "old\n");
        assert_int_equal(chmod(p, 0640), 0);
        assert_int_equal(sv_atomic_file_open(&af, p), 0);
        assert_int_equal(fputs("new\n", af.f) >= 0, 1);
        assert_int_equal(fflush(af.f), 0);
        expect_content(p, "old\n");
        assert_int_equal(entries(), 2);
        assert_int_equal(sv_atomic_file_commit(&af), 0);
        expect_content(p, "new\n");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(entries(), 1);
        sv_atomic_file_abort(&af); /* after commit: nothing to do */
}

static void test_abort_removes_the_temporary_file_and_keeps_the_old(void **state) {
        const char *p = path_of("r.tap");
        sv_atomic_file af;

        (void) state;
        put(p, "old\n");
        assert_int_equal(sv_atomic_file_open(&af, p), 0);
        assert_true(fputs("half", af.f) >= 0);
        sv_atomic_file_abort(&af);
        expect_content(p, "old\n");
        assert_int_equal(entries(), 1);
}

static void test_symlink_target_is_replaced_not_the_link(void **state) {
        const char *target = path_of("real.xml"), *link = path_of("link.xml");
        sv_atomic_file af;
        struct stat st;

        (void) state;
        put(target, "old\n");
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(sv_atomic_file_open(&af, link), 0);
        assert_true(fputs("new\n", af.f) >= 0);
        assert_int_equal(sv_atomic_file_commit(&af), 0);
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        expect_content(target, "new\n");
}

static void test_dev_full_is_written_in_place_and_commit_returns_enospc(void **state) {
        sv_atomic_file af;

        (void) state;
        assert_int_equal(sv_atomic_file_open(&af, "/dev/full"), 0);
        assert_null(af.tmp);
        (void) fputs("x", af.f);
        assert_int_equal(sv_atomic_file_commit(&af), UV_ENOSPC);
}

static void test_missing_directory_fails_at_open(void **state) {
        sv_atomic_file af;

        (void) state;
        assert_int_equal(sv_atomic_file_open(&af, "/nonexistent-dir/r.xml"), UV_ENOENT);
        assert_null(af.f);
        sv_atomic_file_abort(&af);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_old_report_stays_until_commit_then_is_replaced_with_its_mode),
                T(test_abort_removes_the_temporary_file_and_keeps_the_old),
                T(test_symlink_target_is_replaced_not_the_link),
                T(test_dev_full_is_written_in_place_and_commit_returns_enospc),
                T(test_missing_directory_fails_at_open),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
