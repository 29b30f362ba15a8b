/* test_win_core.c - platform/win against real Windows processes (under wine
 * in CI): the command-line quoting, spawn and exit codes, NTSTATUS names,
 * the CLI's exit status, a timed-out tree that must leave no survivor
 * (checked from the Windows side, by pid, with OpenProcess), and CTRL_BREAK
 * delivery, which wine 8.0 cannot do (GenerateConsoleCtrlEvent always
 * fails there): under wine that test skips with the reason, anywhere else
 * a failure is a failure. Workers are workers/win/sv-*.c. */
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
#include "supervise/sv_run.h"

#include <shellapi.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Paths: the build tree, seen from this executable ---- */

static char build_dir[MAX_PATH * 3]; /* UTF-8, ...\build-win */

/* tests/win/test_win_core.exe -> the build directory, three levels up;
 * SV_WORKERS_DIR is a Unix path that wine would not map. */
static void find_build_dir(void) {
        wchar_t w[MAX_PATH];
        char *u, *p;
        int up;

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
}

static void worker_path(char *out, size_t n, const char *name) {
        snprintf(out, n, "%s\\workers\\%s.exe", build_dir, name);
}

static void temp_file(char *out, size_t n, const char *tag) {
        wchar_t w[MAX_PATH];
        char *u;

        assert_true(GetTempPathW(MAX_PATH, w) > 0);
        u = sv__win_utf8(w);
        assert_non_null(u);
        snprintf(out, n, "%ssv-%s-%lu.txt", u, tag, (unsigned long) GetCurrentProcessId());
        free(u);
}

static bool under_wine(void) {
        HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

        return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* ---- The quoting, against the system's own parser ---- */

static const char *const tricky[] = {
        "plain",         "",            "two words",     "tab\there",      "a\"b",
        "\"",            "\\",          "a\\b",          "a\\\\b",         "trailing\\",
        "trail space\\", "a\\\"b",      "a\\\\\"b",      "\\\\srv\\share", "\"quoted\"",
        "%PATH%",        "^&|<>()",     "h\xc3\xa9llo w\xc3\xb6rld",       "new\nline",
        "end\\\\",       "x y\\\\",
};

static void test_quote_round_trips_through_commandlinetoargvw(void **state) {
        const char *argv[COUNT(tricky) + 2];
        wchar_t *wline, **wargv;
        char *line, *got;
        int n, i;

        (void) state;
        argv[0] = "prog";
        for (i = 0; i < (int) COUNT(tricky); i++)
                argv[i + 1] = tricky[i];
        argv[COUNT(tricky) + 1] = NULL;
        line = sv__win_quote_argv(argv);
        assert_non_null(line);
        wline = sv__win_wide(line, CP_UTF8);
        assert_non_null(wline);
        wargv = CommandLineToArgvW(wline, &n);
        assert_non_null(wargv);
        assert_int_equal(n, (int) COUNT(tricky) + 1);
        for (i = 0; i < n; i++) {
                got = sv__win_utf8(wargv[i]);
                if (strcmp(got, argv[i]) != 0)
                        fail_msg("argument %d: sent [%s], parsed back [%s] from [%s]", i, argv[i],
                                 got, line);
                free(got);
        }
        LocalFree(wargv);
        free(wline);
        free(line);
}

static void test_quote_leaves_simple_arguments_bare(void **state) {
        const char *argv[] = { "cmd", "/c", "exit", "3", NULL };
        char *line = sv__win_quote_argv(argv);

        (void) state;
        assert_string_equal(line, "cmd /c exit 3");
        free(line);
}

static void test_quote_doubles_backslashes_only_before_a_quote(void **state) {
        const char *argv[] = { "p", "a\\b c\\", "d\\\"e", NULL };
        char *line = sv__win_quote_argv(argv);

        (void) state;
        assert_string_equal(line, "p \"a\\b c\\\\\" \"d\\\\\\\"e\"");
        free(line);
}

/* ---- Names ---- */

static void test_break_ladder_is_ctrl_break_then_the_job(void **state) {
        sv_ladder l;
        char buf[16];

        (void) state;
        assert_int_equal(sv_signal_parse("BREAK"), SIGBREAK);
        assert_int_equal(sv_signal_parse("SIGBREAK"), SIGBREAK);
        assert_string_equal(sv_signal_name_r(SIGBREAK, buf), "SIGBREAK");
        assert_int_equal(sv_ladder_parse("BREAK:5s,KILL", 777, &l), 0);
        assert_int_equal(l.count, 2);
        assert_int_equal(l.steps[0].signal, SIGBREAK);
        assert_int_equal(l.steps[0].grace_ms, 5000);
        assert_int_equal(l.steps[1].signal, SIGKILL);
        assert_string_equal(sv_signal_name_r(SIGKILL, buf), "SIGKILL");
}

/* ---- Workers through libsv ---- */

typedef struct ctx {
        sv_supervisor *sv;
        sv_exit_info info;
        char *json;
        int exits;
} ctx;

static void on_exit_cb(sv_worker *w, const sv_exit_info *info, void *ud) {
        ctx *c = ud;

        (void) w;
        c->info = *info;
        c->info.leaks = NULL;
        c->json = sv_exit_json(info);
        c->exits++;
}

static int setup(void **state) {
        static ctx c;
        sv_supervisor_opts o;

        memset(&c, 0, sizeof(c));
        memset(&o, 0, sizeof(o));
        if (sv_supervisor_new(&o, &c.sv) != 0)
                return -1;
        *state = &c;
        return 0;
}

static int teardown(void **state) {
        ctx *c = *state;

        sv_supervisor_free(c->sv);
        free(c->json);
        return 0;
}

static int spawn(ctx *c, const char *const *argv, uint64_t timeout_ms, sv_worker **out) {
        sv_spawn_opts o;

        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.stdio[0] = SV_STDIO_NULL;
        o.on_exit = on_exit_cb;
        o.userdata = c;
        o.timeout_ms = timeout_ms;
        return sv_spawn(c->sv, &o, out);
}

static void run_worker(ctx *c, const char *const *argv) {
        assert_int_equal(spawn(c, argv, 0, NULL), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
}

static void test_supervisor_mechanism_is_a_job(void **state) {
        ctx *c = *state;

        assert_int_equal(sv_supervisor_mechanism(c->sv), SV_MECH_CGROUP);
        assert_string_equal(sv_mechanism_name(sv_supervisor_mechanism(c->sv)), "job");
}

static void test_exit_code_42_is_reported_exited(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3];
        const char *argv[] = { exe, "42", NULL };

        worker_path(exe, sizeof(exe), "sv-winexit");
        run_worker(c, argv);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 42);
        assert_null(sv_ntstatus_name((uint32_t) c->info.code));
        assert_non_null(strstr(c->json, "\"ntstatus\":null"));
}

static void test_ntstatus_exit_code_is_named_in_the_record(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3];
        const char *argv[] = { exe, "0xC0000409", NULL };

        worker_path(exe, sizeof(exe), "sv-winexit");
        run_worker(c, argv);
        assert_true(c->info.exited);
        assert_int_equal((uint32_t) c->info.code, 0xC0000409u);
        assert_non_null(strstr(c->json, "\"ntstatus\":\"STATUS_STACK_BUFFER_OVERRUN\""));
}

static void test_access_violation_crash_is_named(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], line[256];
        const char *argv[] = { exe, "--segv", NULL };

        worker_path(exe, sizeof(exe), "sv-winexit");
        run_worker(c, argv);
        assert_true(c->info.exited);
        assert_int_equal((uint32_t) c->info.code, 0xC0000005u);
        assert_non_null(strstr(c->json, "\"ntstatus\":\"STATUS_ACCESS_VIOLATION\""));
        (void) sv_exit_describe(&c->info, 0, line, sizeof(line));
        assert_string_equal(line, "exit code -1073741819 (0xC0000005 STATUS_ACCESS_VIOLATION)");
}

static void test_missing_program_returns_enoent(void **state) {
        ctx *c = *state;
        const char *argv[] = { "sv-no-such-program-here", NULL };

        assert_int_equal(spawn(c, argv, 0, NULL), UV_ENOENT);
        assert_int_equal(c->exits, 0);
}

/* The bytes a char-argv program gets for a UTF-8 argument: the same text in
 * its ANSI code page (wide programs get it exactly). */
static void ansi_of(const char *utf8, char *out, size_t n) {
        wchar_t *w = sv__win_wide(utf8, CP_UTF8);

        assert_non_null(w);
        assert_true(WideCharToMultiByte(CP_ACP, 0, w, -1, out, (int) n, NULL, NULL) > 0);
        free(w);
}

/* Every argument arrives as sent: the quoting as the child's C runtime
 * reads it, not only as CommandLineToArgvW does. */
static void test_spawned_argv_arrives_byte_for_byte(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], file[MAX_PATH * 3], buf[4096], want[4096], arg[256];
        const char *argv[COUNT(tricky) + 3];
        size_t i, len = 0, got;
        FILE *f;

        worker_path(exe, sizeof(exe), "sv-argv");
        temp_file(file, sizeof(file), "argv");
        argv[0] = exe;
        argv[1] = file;
        for (i = 0; i < COUNT(tricky); i++) {
                argv[i + 2] = tricky[i];
                ansi_of(tricky[i], arg, sizeof(arg));
                len += (size_t) snprintf(want + len, sizeof(want) - len, "%u:%s\n",
                                         (unsigned) strlen(arg), arg);
        }
        argv[COUNT(tricky) + 2] = NULL;
        run_worker(c, argv);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 0);
        f = fopen(file, "rb");
        assert_non_null(f);
        got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        remove(file);
        buf[got] = '\0';
        if (strcmp(buf, want) != 0)
                fail_msg("sent:\n%s\ngot:\n%s", want, buf);
}

/* A timeout ends the whole job: the worker's child, which it started with
 * plain CreateProcess (so inside the job), is gone too. */
static void test_timeout_kills_the_whole_job(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], file[MAX_PATH * 3];
        const char *argv[] = { exe, file, NULL };
        unsigned long pid = 0;
        HANDLE h;
        FILE *f;

        worker_path(exe, sizeof(exe), "sv-tree");
        temp_file(file, sizeof(file), "tree");
        assert_int_equal(spawn(c, argv, 1500, NULL), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_string_equal(sv_mechanism_name(c->info.mechanism), "job");
        assert_non_null(strstr(c->json, "\"mechanism\":\"job\""));
        f = fopen(file, "rb");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lu", &pid), 1);
        fclose(f);
        remove(file);
        h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD) pid);
        if (h) {
                /* Only a handle to a dead process may remain. */
                DWORD still = WaitForSingleObject(h, 0);

                CloseHandle(h);
                assert_int_equal(still, WAIT_OBJECT_0);
        }
}

/* The job allows no breakaway: a child asking to leave it is refused (and
 * started inside instead), so the timeout still ends it. */
static void test_child_cannot_break_away_from_the_job(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], file[MAX_PATH * 3], how[16] = "";
        const char *argv[] = { exe, file, "--breakaway", NULL };
        unsigned long pid = 0;
        HANDLE h;
        FILE *f;

        worker_path(exe, sizeof(exe), "sv-tree");
        temp_file(file, sizeof(file), "breakaway");
        assert_int_equal(spawn(c, argv, 1500, NULL), 0);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        f = fopen(file, "rb");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lu %15s", &pid, how), 2);
        fclose(f);
        remove(file);
        assert_string_equal(how, "refused");
        h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD) pid);
        if (h) {
                DWORD still = WaitForSingleObject(h, 0);

                CloseHandle(h);
                assert_int_equal(still, WAIT_OBJECT_0);
        }
}

/* The tree report: a worker's descendants are its job's members. */
typedef struct tree_watch {
        ctx *c;
        sv_worker *w;
        const char *file;
        unsigned long child;
        pid_t leader;
        int ndesc;
        sv_proc found;
        uv_timer_t t;
} tree_watch;

/* Polls for the worker's pid file: its child exists once it is written. */
static void on_tree_poll(uv_timer_t *t) {
        tree_watch *tw = t->data;
        sv_proc *procs = NULL;
        FILE *f = fopen(tw->file, "rb");
        int i;

        if (!f)
                return;
        if (fscanf(f, "%lu", &tw->child) != 1) {
                fclose(f);
                return;
        }
        fclose(f);
        uv_timer_stop(t);
        tw->leader = sv_worker_pid(tw->w);
        tw->ndesc = sv_worker_descendants(tw->w, &procs);
        for (i = 0; i < tw->ndesc; i++)
                if ((unsigned long) procs[i].pid == tw->child)
                        tw->found = procs[i];
        free(procs);
        (void) sv_worker_kill_tree(tw->w, SIGKILL);
        uv_close((uv_handle_t *) t, NULL);
}

static void test_descendants_are_the_job_s_members(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], file[MAX_PATH * 3];
        const char *argv[] = { exe, file, NULL };
        tree_watch tw;

        memset(&tw, 0, sizeof(tw));
        worker_path(exe, sizeof(exe), "sv-tree");
        temp_file(file, sizeof(file), "desc");
        remove(file);
        tw.c = c;
        tw.file = file;
        assert_int_equal(spawn(c, argv, 0, &tw.w), 0);
        uv_timer_init(sv_supervisor_loop(c->sv), &tw.t);
        tw.t.data = &tw;
        uv_timer_start(&tw.t, on_tree_poll, 10, 10);
        sv_supervisor_run(c->sv);
        remove(file);
        assert_int_equal(c->exits, 1);
        assert_true(tw.ndesc >= 1);
        assert_int_equal((unsigned long) tw.found.pid, tw.child);
        assert_int_equal(tw.found.ppid, tw.leader);
        assert_string_equal(tw.found.comm, "sv-tree.exe");
}

/* The issue's own tree: cmd.exe with "start /b ping" behind it. Its
 * members are read from the job while it runs, then each must be gone
 * after the timeout (wine keeps Windows processes alive under wineserver
 * after their launcher dies, so only the Windows side can tell). */
typedef struct cmd_watch {
        sv_worker *w;
        pid_t seen[16];
        int nseen;
        uv_timer_t t;
} cmd_watch;

static void on_cmd_poll(uv_timer_t *t) {
        cmd_watch *cw = t->data;
        sv_proc *procs = NULL;
        int n, i;

        n = sv_worker_descendants(cw->w, &procs);
        if (n >= 2) { /* both pings */
                for (i = 0; i < n && i < 16; i++)
                        cw->seen[i] = procs[i].pid;
                cw->nseen = i;
                uv_close((uv_handle_t *) t, NULL);
        }
        free(procs);
}

static void test_timed_out_cmd_start_ping_tree_leaves_no_survivor(void **state) {
        ctx *c = *state;
        const char *argv[] = { "cmd", "/c", "start /b ping -n 100 127.0.0.1 & ping -n 100 127.0.0.1",
                               NULL };
        cmd_watch cw;
        HANDLE h;
        int i;

        memset(&cw, 0, sizeof(cw));
        assert_int_equal(spawn(c, argv, 4000, &cw.w), 0);
        uv_timer_init(sv_supervisor_loop(c->sv), &cw.t);
        cw.t.data = &cw;
        uv_timer_start(&cw.t, on_cmd_poll, 10, 10);
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_int_equal(c->info.cause, SV_CAUSE_TIMEOUT);
        assert_true(cw.nseen >= 2);
        for (i = 0; i < cw.nseen; i++) {
                h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD) cw.seen[i]);
                if (h) {
                        DWORD still = WaitForSingleObject(h, 0);

                        CloseHandle(h);
                        if (still != WAIT_OBJECT_0)
                                fail_msg("pid %d of the tree survived", (int) cw.seen[i]);
                }
        }
}

/* ---- The CLI ---- */

/* Runs supervise.exe with argv[1..] and returns its exit code. */
static DWORD run_cli(const char *const *args) {
        char exe[MAX_PATH * 3];
        const char *argv[32];
        wchar_t *wline;
        char *line;
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        DWORD code = 0xFFFFFFFF;
        int i;

        snprintf(exe, sizeof(exe), "%s\\supervisor\\supervise.exe", build_dir);
        argv[0] = exe;
        for (i = 0; args[i] && i < 30; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        line = sv__win_quote_argv(argv);
        wline = sv__win_wide(line, CP_UTF8);
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        assert_true(CreateProcessW(NULL, wline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
        assert_int_equal(WaitForSingleObject(pi.hProcess, 120000), WAIT_OBJECT_0);
        assert_true(GetExitCodeProcess(pi.hProcess, &code));
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
        free(wline);
        free(line);
        return code;
}

static void test_cli_two_copies_of_cmd_exit_3_exit_3(void **state) {
        const char *args[] = { "-n", "2", "--", "cmd", "/c", "exit", "3", NULL };

        (void) state;
        assert_int_equal(run_cli(args), 3);
}

static void test_cli_ntstatus_exit_passes_through(void **state) {
        char exe[MAX_PATH * 3];
        const char *args[] = { "-q", "--", exe, "0xC000013A", NULL };

        (void) state;
        worker_path(exe, sizeof(exe), "sv-winexit");
        assert_int_equal(run_cli(args), 0xC000013Au);
}

/* The Windows ladder: CTRL_BREAK, a grace, then the whole job. Under wine
 * the CTRL_BREAK fails and the ladder goes on to KILL: the escalation path.
 * Either way nothing of the tree may survive, and the status is 124. */
static void test_cli_timed_out_tree_leaves_no_survivor(void **state) {
        char exe[MAX_PATH * 3], file[MAX_PATH * 3];
        const char *args[] = { "-q", "-t", "1s", "--stop", "BREAK:1s,KILL", "--", exe, file, NULL };
        unsigned long pid = 0;
        HANDLE h;
        FILE *f;

        (void) state;
        worker_path(exe, sizeof(exe), "sv-tree");
        temp_file(file, sizeof(file), "clitree");
        assert_int_equal(run_cli(args), 124);
        f = fopen(file, "rb");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lu", &pid), 1);
        fclose(f);
        remove(file);
        h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD) pid);
        if (h) {
                DWORD still = WaitForSingleObject(h, 0);

                CloseHandle(h);
                assert_int_equal(still, WAIT_OBJECT_0);
        }
}

static char *slurp(const char *file) {
        char *buf = NULL;
        long n;
        FILE *f = fopen(file, "rb");

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        buf = malloc((size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

/* `supervise run` on Windows: the same verdicts and records as on Linux. A
 * crash is named, a hung tree is ended through its job (SIGKILL after the
 * BREAK step, which wine cannot deliver) and nothing of it is left. */
static void test_run_reports_pass_fail_crash_and_timeout(void **state) {
        char jobs[MAX_PATH * 3], events[MAX_PATH * 3], tree[MAX_PATH * 3];
        char winexit[MAX_PATH * 3], treeexe[MAX_PATH * 3];
        const char *args[] = { "run", "-q", "--from", jobs, "-j", "4", "-t", "3s",
                               "--stop", "BREAK:500ms,KILL", "--events", events, NULL };
        unsigned long pid = 0;
        char *ev;
        HANDLE h;
        FILE *f;

        (void) state;
        worker_path(winexit, sizeof(winexit), "sv-winexit");
        worker_path(treeexe, sizeof(treeexe), "sv-tree");
        temp_file(jobs, sizeof(jobs), "jobs");
        temp_file(events, sizeof(events), "events");
        temp_file(tree, sizeof(tree), "runtree");
        f = fopen(jobs, "wb");
        assert_non_null(f);
        /* Single quotes: a job file splits like sh words, where '\' escapes. */
        fprintf(f, "name=ok '%s' 0\nname=fail '%s' 3\nname=crash '%s' --segv\n"
                   "name=hang '%s' '%s'\n", winexit, winexit, winexit, treeexe, tree);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(run_cli(args), 1);
        ev = slurp(events);
        assert_non_null(strstr(ev, "\"name\":\"ok\",\"attempt\":1"));
        assert_non_null(strstr(ev, "\"verdict\":\"pass\""));
        assert_non_null(strstr(ev, "\"code\":3,\"ntstatus\":null"));
        assert_non_null(strstr(ev, "\"code\":-1073741819,\"ntstatus\":\"STATUS_ACCESS_VIOLATION\""));
        assert_non_null(strstr(ev, "\"verdict\":\"timeout\""));
        assert_non_null(strstr(ev, "\"step_signal\":\"SIGKILL\""));
        assert_non_null(strstr(ev, "\"mechanism\":\"job\""));
        /* The hang snapshot lists the tree from the job: leader and child. */
        assert_non_null(strstr(ev, "\"kind\":\"snapshot\""));
        assert_non_null(strstr(ev, "process tree (2 processes)"));
        assert_non_null(strstr(ev, "sv-tree.exe"));
        free(ev);
        f = fopen(tree, "rb");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lu", &pid), 1);
        fclose(f);
        h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD) pid);
        if (h) {
                DWORD still = WaitForSingleObject(h, 0);

                CloseHandle(h);
                assert_int_equal(still, WAIT_OBJECT_0);
        }
        remove(jobs);
        remove(events);
        remove(tree);
}

/* ---- Files: sv_atomic_file and memory streams (platform/win/files.c) ---- */

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* MoveFileExW replaces the old report in one step; until the commit the
 * old one is untouched, and an abort leaves it as it was. */
static void test_atomic_file_replaces_whole_or_not_at_all(void **state) {
        char path[MAX_PATH * 3], tmp[MAX_PATH * 3 + 32], *text;
        sv_atomic_file af;

        (void) state;
        temp_file(path, sizeof(path), "report");
        write_file(path, "old\n");
        assert_int_equal(sv_atomic_file_open(&af, path), 0);
        assert_non_null(af.tmp);
        snprintf(tmp, sizeof(tmp), "%s", af.tmp);
        fputs("new, not yet\n", af.f);
        sv_atomic_file_abort(&af);
        assert_null(fopen(tmp, "rb")); /* no stray temporary file */
        text = slurp(path);
        assert_string_equal(text, "old\n");
        free(text);
        assert_int_equal(sv_atomic_file_open(&af, path), 0);
        fputs("new\n", af.f);
        text = slurp(path);
        assert_string_equal(text, "old\n");
        free(text);
        assert_int_equal(sv_atomic_file_commit(&af), 0);
        text = slurp(path);
        assert_string_equal(text, "new\n");
        free(text);
        remove(path);
}

static void test_atomic_file_on_a_device_writes_in_place(void **state) {
        sv_atomic_file af;

        (void) state;
        assert_int_equal(sv_atomic_file_open(&af, "NUL"), 0);
        assert_null(af.tmp);
        fputs("gone\n", af.f);
        assert_int_equal(sv_atomic_file_commit(&af), 0);
}

static void test_memstream_gives_back_what_was_written(void **state) {
        char *buf = (char *) 1;
        size_t len = 99;
        FILE *m = sv__plat_memstream(&buf, &len);

        (void) state;
        assert_non_null(m);
        fprintf(m, "%d process%s\n", 2, "es");
        assert_int_equal(sv__plat_memstream_close(m), 0);
        assert_int_equal(len, 12);
        assert_string_equal(buf, "2 processes\n");
        free(buf);
}

/* ---- Helpers run to completion (run --ctest's test list, --on-timeout) ---- */

static void test_run_capture_gives_output_error_and_status(void **state) {
        const char *argv[] = { "cmd", "/c", "echo out& echo err 1>&2& exit 5", NULL };
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        int status = -1;

        (void) state;
        assert_int_equal(sv__plat_run_capture(argv, 60000, &out, &olen, &err, &elen, &status), 0);
        assert_int_equal(status, 5);
        assert_string_equal(out, "out\r\n");
        assert_int_equal(olen, 5);
        assert_non_null(strstr(err, "err"));
        free(out);
        free(err);
}

static void test_run_capture_times_out_and_ends_the_helper(void **state) {
        const char *argv[] = { "ping", "-n", "60", "127.0.0.1", NULL };
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        int status = -1;
        uint64_t t0 = uv_hrtime();

        (void) state;
        assert_int_equal(sv__plat_run_capture(argv, 500, &out, &olen, &err, &elen, &status),
                         UV_ETIMEDOUT);
        assert_null(out);
        /* Far less than ping's 59 s: the job was ended, and with it the pipes. */
        assert_true(uv_hrtime() - t0 < 30 * (uint64_t) 1000000000);
}

static void test_run_capture_missing_program_returns_enoent(void **state) {
        const char *argv[] = { "sv-no-such-helper", NULL };
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        int status = -1;

        (void) state;
        assert_int_equal(sv__plat_run_capture(argv, 1000, &out, &olen, &err, &elen, &status),
                         UV_ENOENT);
}

/* ---- CTRL_BREAK delivery ---- */

static void test_ctrl_break_reaches_the_worker_s_handler(void **state) {
        ctx *c = *state;
        char exe[MAX_PATH * 3], name[64];
        const char *argv[] = { exe, name, NULL };
        sv_worker *w;
        HANDLE ready;
        int r;

        /* Under ctest there is no console to share; the worker needs ours. */
        (void) FreeConsole();
        (void) AllocConsole();
        snprintf(name, sizeof(name), "sv-break-ready-%lu", (unsigned long) GetCurrentProcessId());
        ready = CreateEventA(NULL, TRUE, FALSE, name);
        assert_non_null(ready);
        worker_path(exe, sizeof(exe), "sv-break");
        assert_int_equal(spawn(c, argv, 0, &w), 0);
        assert_int_equal(WaitForSingleObject(ready, 30000), WAIT_OBJECT_0);
        CloseHandle(ready);
        r = sv_worker_kill(w, SIGBREAK);
        if (r < 0) {
                (void) sv_worker_kill(w, SIGKILL);
                sv_supervisor_run(c->sv);
                if (under_wine()) {
                        print_message("skipped: GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) "
                                      "failed under wine (%s); wine 8.0 implements only "
                                      "CTRL_C_EVENT. Real Windows must pass this test.\n",
                                      uv_strerror(r));
                        skip();
                }
                fail_msg("CTRL_BREAK_EVENT could not be sent: %s", uv_strerror(r));
        }
        sv_supervisor_run(c->sv);
        assert_int_equal(c->exits, 1);
        assert_true(c->info.exited);
        assert_int_equal(c->info.code, 77);
}

static int group_setup(void **state) {
        (void) state;
        find_build_dir();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quote_round_trips_through_commandlinetoargvw),
                cmocka_unit_test(test_quote_leaves_simple_arguments_bare),
                cmocka_unit_test(test_quote_doubles_backslashes_only_before_a_quote),
                cmocka_unit_test(test_break_ladder_is_ctrl_break_then_the_job),
                cmocka_unit_test_setup_teardown(test_supervisor_mechanism_is_a_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exit_code_42_is_reported_exited, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ntstatus_exit_code_is_named_in_the_record, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_access_violation_crash_is_named, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_program_returns_enoent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spawned_argv_arrives_byte_for_byte, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_timeout_kills_the_whole_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_child_cannot_break_away_from_the_job, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_descendants_are_the_job_s_members, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_timed_out_cmd_start_ping_tree_leaves_no_survivor,
                                                setup, teardown),
                cmocka_unit_test(test_cli_two_copies_of_cmd_exit_3_exit_3),
                cmocka_unit_test(test_cli_ntstatus_exit_passes_through),
                cmocka_unit_test(test_cli_timed_out_tree_leaves_no_survivor),
                cmocka_unit_test(test_run_reports_pass_fail_crash_and_timeout),
                cmocka_unit_test(test_atomic_file_replaces_whole_or_not_at_all),
                cmocka_unit_test(test_atomic_file_on_a_device_writes_in_place),
                cmocka_unit_test(test_memstream_gives_back_what_was_written),
                cmocka_unit_test(test_run_capture_gives_output_error_and_status),
                cmocka_unit_test(test_run_capture_times_out_and_ends_the_helper),
                cmocka_unit_test(test_run_capture_missing_program_returns_enoent),
                cmocka_unit_test_setup_teardown(test_ctrl_break_reaches_the_worker_s_handler, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
