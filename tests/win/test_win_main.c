/* test_win_main.c - what main brought to Windows after the port (under wine
 * in CI): the run directories of platform/win/dirs.c (--isolate cwd), run's
 * shards merged by `report merge`, and the pieces not ported yet, each of
 * which must fail with its one clear line rather than do nothing: `ctl`
 * and --control, --isolate net; and run's -R/-E through PCRE2. Workers are
 * workers/win/sv-*.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/win/win.h"
#include "supervise/sv.h"

static char build_dir[MAX_PATH * 3]; /* UTF-8, ...\build-win */
static char tmp_dir[MAX_PATH * 3];   /* UTF-8, %TEMP% without its last '\' */

/* tests/win/test_win_main.exe -> the build directory, three levels up. */
static int group_setup(void **state) {
        wchar_t w[MAX_PATH];
        char *u, *p;
        int up;

        (void) state;
        assert_true(GetModuleFileNameW(NULL, w, MAX_PATH) > 0);
        u = sv__win_utf8(w);
        assert_non_null(u);
        for (up = 0; up < 3; up++) {
                p = strrchr(u, '\\');
                assert_non_null(p);
                *p = '\0';
        }
        snprintf(build_dir, sizeof(build_dir), "%s", u);
        free(u);
        assert_true(GetTempPathW(MAX_PATH, w) > 0);
        u = sv__win_utf8(w);
        assert_non_null(u);
        if (*u && u[strlen(u) - 1] == '\\')
                u[strlen(u) - 1] = '\0';
        snprintf(tmp_dir, sizeof(tmp_dir), "%s", u);
        free(u);
        return 0;
}

static bool exists(const char *path) {
        wchar_t *w = sv__win_wide(path, CP_UTF8);
        DWORD a;

        assert_non_null(w);
        a = GetFileAttributesW(w);
        free(w);
        return a != INVALID_FILE_ATTRIBUTES;
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* supervise.exe with args; its exit status, and its stderr in *err. */
static int cli(const char *const *args, char **err) {
        char exe[MAX_PATH * 3], *out = NULL;
        const char *argv[32];
        size_t olen = 0, elen = 0;
        int i, status = -1;

        snprintf(exe, sizeof(exe), "%s\\supervisor\\supervise.exe", build_dir);
        argv[0] = exe;
        for (i = 0; args[i] && i < 30; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        assert_int_equal(sv__plat_run_capture(argv, 60000, &out, &olen, err, &elen, &status), 0);
        free(out);
        return status;
}

/* ---- The run directories ---- */

/* A tree a job could leave: nested directories, a read-only file, a
 * read-only directory. All of it goes; a missing path is no error. */
static void test_rmtree_removes_nested_and_read_only_entries(void **state) {
        char top[MAX_PATH * 3], sub[MAX_PATH * 3 + 8], deep[MAX_PATH * 3 + 16], file[MAX_PATH * 3 + 32];
        wchar_t *w;

        (void) state;
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-rmtree-", top, sizeof(top)), 0);
        snprintf(sub, sizeof(sub), "%s/sub", top);
        snprintf(deep, sizeof(deep), "%s/deep", sub);
        assert_int_equal(sv__plat_mkdir(sub), 0);
        assert_int_equal(sv__plat_mkdir(deep), 0);
        assert_int_equal(sv__plat_mkdir(deep), UV_EEXIST);
        snprintf(file, sizeof(file), "%s/a.txt", top);
        write_file(file, "a\n");
        snprintf(file, sizeof(file), "%s/ro.txt", deep);
        write_file(file, "read-only\n");
        w = sv__win_wide(file, CP_UTF8);
        assert_true(SetFileAttributesW(w, FILE_ATTRIBUTE_READONLY));
        free(w);
        w = sv__win_wide(deep, CP_UTF8);
        assert_true(SetFileAttributesW(w, FILE_ATTRIBUTE_READONLY));
        free(w);
        assert_int_equal(sv__plat_rmtree(top), 0);
        assert_false(exists(top));
        assert_int_equal(sv__plat_rmtree(top), 0);
}

static void test_mkdtemp_makes_a_new_directory_each_time(void **state) {
        char a[MAX_PATH * 3], b[MAX_PATH * 3], small[8];

        (void) state;
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-tmp-", a, sizeof(a)), 0);
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-tmp-", b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        assert_true(exists(a) && exists(b));
        assert_int_equal(sv__plat_rmdir(a), 0);
        assert_int_equal(sv__plat_rmdir(b), 0);
        assert_false(exists(a));
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-tmp-", small, sizeof(small)),
                         UV_ENAMETOOLONG);
}

/* ---- run and report merge ---- */

static void jobs_file(char *path, size_t n, const char *tag, const char *text) {
        snprintf(path, n, "%s\\sv-%s-%lu.jobs", tmp_dir, tag, (unsigned long) GetCurrentProcessId());
        write_file(path, text);
}

/* Two jobs write the same file name in their working directory and fail
 * if it is there already: both pass only in directories of their own, and
 * the run leaves none of them behind in $TMPDIR. */
static void test_run_isolate_cwd_gives_each_job_a_fresh_directory(void **state) {
        char jobs[MAX_PATH * 3], work[MAX_PATH * 3], *err = NULL;
        const char *args[] = { "run", "-q", "-j", "1", "--isolate", "cwd", "--from", jobs, NULL };
        char env[MAX_PATH * 3 + 8];
        const char *text = "name=a cmd /c 'if exist m.txt (exit 1) else (echo a> m.txt)'\n"
                           "name=b cmd /c 'if exist m.txt (exit 1) else (echo b> m.txt)'\n";
        wchar_t *w, *pat;
        WIN32_FIND_DATAW fd;
        HANDLE h;
        int left = 0;

        (void) state;
        jobs_file(jobs, sizeof(jobs), "iso", text);
        assert_int_equal(sv__plat_mkdtemp(tmp_dir, "sv-work-", work, sizeof(work)), 0);
        snprintf(env, sizeof(env), "TMPDIR=%s", work);
        assert_int_equal(_putenv(env), 0);
        assert_int_equal(cli(args, &err), 0);
        free(err);
        assert_int_equal(_putenv("TMPDIR="), 0);
        w = sv__win_wide(work, CP_UTF8);
        pat = malloc((wcslen(w) + 3) * sizeof(*pat));
        assert_non_null(pat);
        swprintf(pat, wcslen(w) + 3, L"%ls\\*", w);
        h = FindFirstFileW(pat, &fd);
        if (h != INVALID_HANDLE_VALUE) {
                do
                        left += wcscmp(fd.cFileName, L".") != 0 && wcscmp(fd.cFileName, L"..") != 0;
                while (FindNextFileW(h, &fd));
                FindClose(h);
        }
        free(pat);
        free(w);
        assert_int_equal(left, 0);
        assert_int_equal(sv__plat_rmtree(work), 0);
        remove(jobs);
}

/* Each shard's events file starts with a line naming its shard, which
 * `report merge` reads (sv_cli_getline) to see that none is missing. */
static void test_report_merge_joins_shards_and_misses_none(void **state) {
        char jobs[MAX_PATH * 3], e1[MAX_PATH * 3 + 8], e2[MAX_PATH * 3 + 8], *err = NULL;
        const char *run1[] = { "run", "-q", "--shard", "1/2", "--events", e1, "--from", jobs, NULL };
        const char *run2[] = { "run", "-q", "--shard", "2/2", "--events", e2, "--from", jobs, NULL };
        const char *both[] = { "report", "merge", e1, e2, NULL };
        const char *one[] = { "report", "merge", e1, NULL };
        char text[512] = "";
        int i;

        (void) state;
        for (i = 0; i < 6; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text),
                         "name=j%d cmd /c exit 0\n", i);
        jobs_file(jobs, sizeof(jobs), "shards", text);
        snprintf(e1, sizeof(e1), "%s.e1", jobs);
        snprintf(e2, sizeof(e2), "%s.e2", jobs);
        assert_int_equal(cli(run1, &err), 0);
        free(err);
        assert_int_equal(cli(run2, &err), 0);
        free(err);
        assert_int_equal(cli(both, &err), 0);
        free(err);
        assert_int_equal(cli(one, &err), 1);
        assert_non_null(strstr(err, "2/2"));
        free(err);
        remove(e1);
        remove(e2);
        remove(jobs);
}

/* ---- Not ported yet: one clear line each ---- */

static void test_ctl_and_control_say_not_on_windows(void **state) {
        char sock[MAX_PATH * 3], *err = NULL;
        const char *ctl[] = { "ctl", "x", "status", NULL };
        const char *control[] = { "-q", "--control", sock, "--", "cmd", "/c", "exit", "0", NULL };

        (void) state;
        snprintf(sock, sizeof(sock), "%s\\sv-ctl.sock", tmp_dir);
        assert_int_equal(cli(ctl, &err), 125);
        assert_non_null(strstr(err, "supervise ctl: not available on Windows yet"));
        free(err);
        assert_int_equal(cli(control, &err), 125);
        assert_non_null(strstr(err, "--control is not available on Windows yet"));
        free(err);
}

static void test_isolate_net_is_refused(void **state) {
        char jobs[MAX_PATH * 3], *err = NULL;
        const char *iso[] = { "run", "-q", "--isolate", "net", "--from", jobs, NULL };

        (void) state;
        jobs_file(jobs, sizeof(jobs), "refused", "name=j cmd /c exit 0\n");
        assert_int_equal(cli(iso, &err), 125);
        assert_non_null(strstr(err, "--isolate net: cannot make namespaces here: not available"));
        free(err);
        assert_int_equal(sv_isolate_check(SV_ISOLATE_TMP), UV_ENOSYS);
        remove(jobs);
}

/* ---- Regular expressions (PCRE2 stands in for <regex.h>) ---- */

/* -R keeps the names that match, -E then drops those that match: of four
 * jobs only keep-a runs (the others would fail), and a bad pattern is
 * run's usage error (125) with PCRE2's reason. */
static void test_run_selects_jobs_by_regex(void **state) {
        char jobs[MAX_PATH * 3], *err = NULL;
        const char *sel[] = { "run", "-R", "^keep-[a-c]$|^KEEP", "-E", "b$", "--from", jobs, NULL };
        const char *none[] = { "run", "-q", "-R", "^nothing", "--from", jobs, NULL };
        const char *bad[] = { "run", "-q", "-R", "keep(", "--from", jobs, NULL };

        (void) state;
        jobs_file(jobs, sizeof(jobs), "regex",
                  "name=keep-a cmd /c exit 0\n"
                  "name=keep-b cmd /c exit 1\n"
                  "name=keep-a-not cmd /c exit 1\n"
                  "name=other cmd /c exit 1\n");
        assert_int_equal(cli(sel, &err), 0);
        assert_non_null(strstr(err, "[1/1] PASS"));
        assert_non_null(strstr(err, "keep-a"));
        assert_null(strstr(err, "keep-b"));
        assert_null(strstr(err, "keep-a-not"));
        assert_null(strstr(err, "other"));
        free(err);
        assert_int_equal(cli(none, &err), 125);
        free(err);
        assert_int_equal(cli(bad, &err), 125);
        assert_non_null(strstr(err, "invalid regex: missing closing parenthesis"));
        free(err);
        remove(jobs);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rmtree_removes_nested_and_read_only_entries),
                cmocka_unit_test(test_mkdtemp_makes_a_new_directory_each_time),
                cmocka_unit_test(test_run_isolate_cwd_gives_each_job_a_fresh_directory),
                cmocka_unit_test(test_report_merge_joins_shards_and_misses_none),
                cmocka_unit_test(test_ctl_and_control_say_not_on_windows),
                cmocka_unit_test(test_isolate_net_is_refused),
                cmocka_unit_test(test_run_selects_jobs_by_regex),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
