/* test_win_find.c - `supervise ps` and `supervise kill` on Windows, and the
 * finder under them (Toolhelp32 snapshots, process handles), run under wine
 * in CI. The seed case: twenty copies of a program named make.exe are
 * counted by name (with or without ".exe", in any case) and all killed.
 * Also: the refusals (ourselves, our ancestors, pids 0 and 4), a tree kill
 * of cmd.exe -> ping.exe like `taskkill /t`, and the pid-reuse guard (a
 * snapshot entry whose creation time differs from the live process's is
 * never terminated); --regex and --full through PCRE2.
 *
 * Every process a test starts is held by a handle here and terminated in
 * the teardown if the test did not end it, so a failing test leaves none
 * behind. Waits are on process handles, never sleeps. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "find/find_internal.h"
#include "supervise/sv_find.h"

#define COPIES 20
#define MAX_KIDS 32
#define TIMEOUT_MS 20000

typedef struct fixture {
        WCHAR dir[MAX_PATH];  /* a directory of our own, with make.exe in it */
        WCHAR make[MAX_PATH]; /* <dir>\make.exe, a copy of sv-idle.exe */
        PROCESS_INFORMATION kids[MAX_KIDS];
        int nkids;
} fixture;

/* A path from CMake, which is a Unix one in a cross build: wine maps / to
 * drive Z:. */
static void win_path(const char *in, WCHAR *out, size_t n) {
        char buf[MAX_PATH];
        size_t i;

        (void) snprintf(buf, sizeof(buf), "%s%s", in[0] == '/' ? "Z:" : "", in);
        for (i = 0; buf[i]; i++)
                if (buf[i] == '/')
                        buf[i] = '\\';
        assert_true(MultiByteToWideChar(CP_UTF8, 0, buf, -1, out, (int) n) > 0);
}

static int setup(void **state) {
        WCHAR tmp[MAX_PATH], worker[MAX_PATH];
        fixture *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
        (void) _snwprintf(fx->dir, MAX_PATH, L"%lssv-find-%lu", tmp, (unsigned long) GetCurrentProcessId());
        assert_true(CreateDirectoryW(fx->dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
        (void) _snwprintf(fx->make, MAX_PATH, L"%ls\\make.exe", fx->dir);
        win_path(SV_WORKERS_DIR "/sv-idle.exe", worker, MAX_PATH);
        assert_true(CopyFileW(worker, fx->make, FALSE));
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        fixture *fx = *state;
        int i;

        for (i = 0; i < fx->nkids; i++) {
                if (WaitForSingleObject(fx->kids[i].hProcess, 0) != WAIT_OBJECT_0) {
                        (void) TerminateProcess(fx->kids[i].hProcess, 99);
                        (void) WaitForSingleObject(fx->kids[i].hProcess, TIMEOUT_MS);
                }
                (void) CloseHandle(fx->kids[i].hProcess);
                (void) CloseHandle(fx->kids[i].hThread);
        }
        (void) DeleteFileW(fx->make);
        (void) RemoveDirectoryW(fx->dir);
        free(fx);
        return 0;
}

/* Starts `cmdline` (the program is `app`, or searched for when NULL) and
 * keeps its handle; returns its pid. */
static DWORD start(fixture *fx, const WCHAR *app, const WCHAR *cmdline, DWORD flags) {
        STARTUPINFOW si;
        WCHAR line[1024];
        PROCESS_INFORMATION *pi;

        assert_true(fx->nkids < MAX_KIDS);
        pi = &fx->kids[fx->nkids];
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        (void) _snwprintf(line, 1024, L"%ls", cmdline);
        line[1023] = L'\0';
        assert_true(CreateProcessW(app, line, NULL, NULL, FALSE, flags, NULL, NULL, &si, pi));
        fx->nkids++;
        return pi->dwProcessId;
}

static DWORD start_make(fixture *fx) {
        /* No console: a sleeper needs none, and none is left behind. */
        return start(fx, fx->make, L"make.exe 120000", DETACHED_PROCESS);
}

static sv_find_table *scan(const char *name, pid_t parent, unsigned flags) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        sv_find_table *t = NULL;

        f.name = name;
        f.parent = parent;
        f.flags = flags;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_non_null(t);
        return t;
}

static pid_t self_pid(void) {
        return (pid_t) GetCurrentProcessId();
}

static sv_find_outcome outcome(const sv_find_table *t, size_t i) {
        sv_find_status st;

        sv_find_status_get(t, i, &st);
        return st.outcome;
}

/* Runs supervise.exe with `args` (its stdout captured into *out when out is
 * not NULL) and returns its exit code. */
static int cli(fixture *fx, char **out, const char *args) {
        WCHAR exe[MAX_PATH], line[2048], wargs[1024];
        SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
        PROCESS_INFORMATION pi;
        STARTUPINFOW si;
        HANDLE rd, wr;
        char *buf = NULL;
        size_t len = 0, cap = 0, i, j;
        DWORD n, code = 0;

        (void) fx;
        win_path(SV_CLI_PATH, exe, MAX_PATH);
        assert_true(MultiByteToWideChar(CP_UTF8, 0, args, -1, wargs, 1024) > 0);
        (void) _snwprintf(line, 2048, L"supervise.exe %ls", wargs);
        line[2047] = L'\0';
        assert_true(CreatePipe(&rd, &wr, &sa, 0));
        assert_true(SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0));
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
        si.hStdOutput = wr;
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
        assert_true(CreateProcessW(exe, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
        (void) CloseHandle(wr);
        for (;;) {
                if (cap - len < 512) {
                        cap = cap ? cap * 2 : 4096;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                if (!ReadFile(rd, buf + len, (DWORD) (cap - len - 1), &n, NULL) || n == 0)
                        break;
                len += n;
        }
        buf = buf ? buf : malloc(1);
        assert_non_null(buf);
        buf[len] = '\0';
        /* Text-mode stdout writes "\r\n": compare lines, not line ends. */
        for (i = 0, j = 0; i <= len; i++)
                if (buf[i] != '\r')
                        buf[j++] = buf[i];
        (void) CloseHandle(rd);
        assert_int_equal(WaitForSingleObject(pi.hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
        assert_true(GetExitCodeProcess(pi.hProcess, &code));
        (void) CloseHandle(pi.hProcess);
        (void) CloseHandle(pi.hThread);
        if (out)
                *out = buf;
        else
                free(buf);
        return (int) code;
}

static void assert_all_ended(fixture *fx, int from, int to) {
        DWORD code;
        int i;

        for (i = from; i < to; i++) {
                assert_int_equal(WaitForSingleObject(fx->kids[i].hProcess, 0), WAIT_OBJECT_0);
                assert_true(GetExitCodeProcess(fx->kids[i].hProcess, &code));
                assert_int_equal(code, 1); /* TerminateProcess, as taskkill /f */
        }
}

/* ---- The library ---- */

static void test_scan_counts_twenty_make_copies_with_or_without_exe(void **state) {
        static const char *const names[] = { "make", "make.exe", "MAKE", "Make.EXE" };
        fixture *fx = *state;
        sv_find_table *t;
        size_t i, k;

        for (i = 0; i < COPIES; i++)
                (void) start_make(fx);
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
                t = scan(names[k], self_pid(), 0);
                assert_int_equal(sv_find_count(t), COPIES);
                for (i = 0; i < COPIES; i++) {
                        const sv_find_proc *p = sv_find_get(t, i);

                        assert_int_equal(p->ppid, self_pid());
                        assert_true(p->start_ticks > 0);
                        assert_string_equal(p->name, "make.exe");
                }
                sv_find_table_free(t);
        }
        t = scan("mak", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 0); /* a prefix is not the name */
        sv_find_table_free(t);
}

static void test_signal_terminates_every_copy_and_wait_sees_them_end(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        size_t i;

        for (i = 0; i < COPIES; i++)
                (void) start_make(fx);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), COPIES);
        assert_int_equal(sv_find_signal(t, SIGTERM), COPIES);
        assert_int_equal(sv_find_wait(t, TIMEOUT_MS), 0);
        for (i = 0; i < COPIES; i++) {
                assert_int_equal(outcome(t, i), SV_FIND_SIGNALLED);
        }
        sv_find_table_free(t);
        assert_all_ended(fx, 0, COPIES);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 0);
        sv_find_table_free(t);
}

static void test_changed_creation_time_is_never_terminated(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        sv_find_status st;

        (void) start_make(fx);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 1);
        /* Stage a recycled pid: the snapshot describes a process created at
         * another time than the one holding this pid now. */
        t->procs[t->match[0]].start_ticks += 1;
        assert_int_equal(sv_find_signal(t, SIGKILL), 0);
        sv_find_status_get(t, 0, &st);
        assert_int_equal(st.outcome, SV_FIND_GONE);
        assert_int_equal(st.signal, 0);
        sv_find_table_free(t);
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, 0), WAIT_TIMEOUT);
}

static void test_changed_name_is_never_terminated(void **state) {
        fixture *fx = *state;
        sv_find_table *t;

        (void) start_make(fx);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 1);
        (void) snprintf(t->procs[t->match[0]].name, sizeof(t->procs[0].name), "ninja.exe");
        assert_int_equal(sv_find_signal(t, SIGKILL), 0);
        assert_int_equal(outcome(t, 0), SV_FIND_GONE);
        sv_find_table_free(t);
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, 0), WAIT_TIMEOUT);
}

static void test_process_ended_after_the_scan_is_reported_gone(void **state) {
        fixture *fx = *state;
        sv_find_table *t;

        (void) start_make(fx);
        (void) start_make(fx);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 2);
        assert_true(TerminateProcess(fx->kids[0].hProcess, 7));
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
        assert_int_equal(sv_find_signal(t, SIGTERM), 1);
        assert_int_equal(outcome(t, 0), SV_FIND_GONE);
        assert_int_equal(outcome(t, 1), SV_FIND_SIGNALLED);
        sv_find_table_free(t);
        assert_all_ended(fx, 1, 2);
}

/* We and every ancestor are never matched; pid 0 and 4 are never touched. */
static void test_self_ancestors_and_system_are_refused(void **state) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        sv_find_proc procs[2];
        sv_find_table *t, hand;
        size_t match[2] = { 0, 1 }, i;
        pid_t pids[1];
        pid_t parent = 0;

        (void) state;
        /* Everything but the excluded: neither we nor our parent is in it. */
        f.flags = SV_FIND_NO_DETAILS;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        for (i = 0; i < t->nprocs; i++) {
                if (t->procs[i].pid == self_pid())
                        parent = t->procs[i].ppid;
                if (t->procs[i].pid == 0 || t->procs[i].pid == 4)
                        assert_true(t->procs[i].kthread);
        }
        for (i = 0; i < sv_find_count(t); i++) {
                assert_int_not_equal(sv_find_get(t, i)->pid, self_pid());
                if (parent > 0)
                        assert_int_not_equal(sv_find_get(t, i)->pid, parent);
        }
        sv_find_table_free(t);

        pids[0] = self_pid();
        f.pids = pids;
        f.npids = 1;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_int_equal(sv_find_count(t), 0);
        sv_find_table_free(t);

        pids[0] = 0;
        assert_int_equal(sv_find_filter_check(&f, NULL, 0), UV_EINVAL);

        /* Pid 0 (Idle) and 4 (System) in a table are refused, never opened. */
        memset(procs, 0, sizeof(procs));
        procs[0].pid = 0;
        procs[0].kthread = true;
        procs[1].pid = 4;
        procs[1].kthread = true;
        memset(&hand, 0, sizeof(hand));
        hand.procs = procs;
        hand.nprocs = 2;
        hand.match = match;
        hand.nmatch = 2;
        assert_int_equal(sv_find_signal(&hand, SIGKILL), 0);
        assert_int_equal(outcome(&hand, 0), SV_FIND_REFUSED);
        assert_int_equal(outcome(&hand, 1), SV_FIND_REFUSED);
        free(hand.kill);
}

/* Keeps a handle on a process we did not start ourselves (a grandchild),
 * so that the teardown ends it if the test does not. */
static void adopt(fixture *fx, pid_t pid) {
        PROCESS_INFORMATION *pi;

        assert_true(fx->nkids < MAX_KIDS);
        pi = &fx->kids[fx->nkids];
        memset(pi, 0, sizeof(*pi));
        pi->hProcess = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                                   (DWORD) pid);
        assert_non_null(pi->hProcess);
        pi->dwProcessId = (DWORD) pid;
        fx->nkids++;
}

/* Starts cmd.exe running ping.exe (kids[0]) and waits, bounded, until
 * ping shows as its child; adopts ping (the last of kids). Returns cmd's pid. */
static pid_t start_cmd_ping(fixture *fx, pid_t *out_ping) {
        sv_find_table *kids;
        pid_t cmd, ping = 0;
        int tries;

        cmd = (pid_t) start(fx, NULL, L"cmd.exe /c ping -n 60 127.0.0.1", CREATE_NO_WINDOW);
        /* ping is cmd's to start. */
        for (tries = 0; tries < 2000 && !ping; tries++) {
                kids = scan("ping", cmd, SV_FIND_NO_DETAILS);
                if (sv_find_count(kids) == 1)
                        ping = sv_find_get(kids, 0)->pid;
                sv_find_table_free(kids);
                if (!ping)
                        assert_int_equal(WaitForSingleObject(fx->kids[fx->nkids - 1].hProcess, 10), WAIT_TIMEOUT);
        }
        assert_true(ping > 0);
        adopt(fx, ping);
        *out_ping = ping;
        return cmd;
}

/* taskkill /t: cmd.exe running ping.exe; both (and a conhost.exe that
 * wine may give cmd) are found by cmd's pid and SV_FIND_DESCENDANTS, and
 * all end. */
static void test_descendants_kill_a_cmd_and_ping_tree(void **state) {
        sv_find_filter f = SV_FIND_FILTER_INIT;
        fixture *fx = *state;
        sv_find_table *t, *kids;
        pid_t cmd, ping = 0;
        bool saw_cmd = false, saw_ping = false;
        size_t i;

        cmd = start_cmd_ping(fx, &ping);

        f.pids = &cmd;
        f.npids = 1;
        f.flags = SV_FIND_DESCENDANTS | SV_FIND_NO_DETAILS;
        assert_int_equal(sv_find_scan(&f, &t), 0);
        assert_true(sv_find_count(t) >= 2);
        assert_true(sv_find_signal(t, SIGTERM) >= 1);
        for (i = 0; i < sv_find_count(t); i++) {
                const sv_find_proc *p = sv_find_get(t, i);

                /* Under wine, ending the console host (conhost.exe, cmd's
                 * child there) may end its clients first: "gone" then. */
                print_message("tree: %d %s %s\n", (int) p->pid, p->name, sv_find_outcome_name(outcome(t, i)));
                if (p->pid == cmd || p->pid == ping)
                        assert_true(outcome(t, i) == SV_FIND_SIGNALLED || outcome(t, i) == SV_FIND_GONE);
                saw_cmd |= p->pid == cmd;
                saw_ping |= p->pid == ping;
        }
        assert_true(saw_cmd && saw_ping);
        assert_int_equal(sv_find_wait(t, TIMEOUT_MS), 0);
        sv_find_table_free(t);
        /* No survivor: cmd (kids[0]) and ping (adopted last). */
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
        assert_int_equal(WaitForSingleObject(fx->kids[fx->nkids - 1].hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
        kids = scan(NULL, cmd, SV_FIND_NO_DETAILS);
        assert_int_equal(sv_find_count(kids), 0);
        sv_find_table_free(kids);
}

static void test_details_give_owner_and_command_line(void **state) {
        fixture *fx = *state;
        sv_find_table *t;
        const sv_find_proc *p;

        (void) start_make(fx);
        t = scan("make", self_pid(), 0);
        assert_int_equal(sv_find_count(t), 1);
        p = sv_find_get(t, 0);
        /* The owner as "DOMAIN\user" (wine: the Unix user's name). */
        assert_non_null(p->user);
        assert_non_null(strchr(p->user, '\\'));
        assert_non_null(p->cmdline);
        assert_string_equal(p->cmdline, "make.exe 120000");
        assert_int_equal(p->cmdline_len, strlen("make.exe 120000") + 1);
        sv_find_table_free(t);
}

/* True if the TCP listener table has a row for `port` whose owner pid is 0:
 * wine 8.0 builds the table from the host's sockets and names no owner. */
static bool table_names_no_owner(uint16_t port) {
        MIB_TCPTABLE_OWNER_PID *t;
        DWORD size = 0, i;
        bool none = false;

        (void) GetExtendedTcpTable(NULL, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_LISTENER, 0);
        size += 4096;
        t = malloc(size);
        assert_non_null(t);
        assert_int_equal(GetExtendedTcpTable(t, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_LISTENER, 0), NO_ERROR);
        for (i = 0; i < t->dwNumEntries; i++)
                if (ntohs((u_short) t->table[i].dwLocalPort) == port && t->table[i].dwOwningPid == 0)
                        none = true;
        free(t);
        return none;
}

/* --port: the owner of a listening socket is found by the platform's table
 * reader. We own the socket ourselves (the scan would never match us, so
 * the platform layer is asked directly). */
static void test_port_owner_comes_from_the_tcp_table(void **state) {
        struct sockaddr_in a;
        int alen = sizeof(a), r;
        sv_find_proc me;
        sv__ptab *pt;
        WSADATA wsa;
        SOCKET s;

        (void) state;
        assert_int_equal(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        assert_true(s != INVALID_SOCKET);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(s, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(listen(s, 1), 0);
        assert_int_equal(getsockname(s, (struct sockaddr *) &a, &alen), 0);

        memset(&me, 0, sizeof(me));
        me.pid = self_pid();
        assert_int_equal(sv__ptab_open(&pt), 0);
        assert_int_equal(sv__ptab_port_load(pt, ntohs(a.sin_port), SV_FIND_TCP, false), 0);
        r = sv__ptab_port_owner(pt, &me);
        /* Not a listener: UDP only must not find it. */
        assert_int_equal(sv__ptab_port_load(pt, ntohs(a.sin_port), SV_FIND_UDP, false), 0);
        assert_int_equal(sv__ptab_port_owner(pt, &me), 0);
        sv__ptab_free(pt);
        if (r == 0 && table_names_no_owner(ntohs(a.sin_port))) {
                (void) closesocket(s);
                (void) WSACleanup();
                print_message("skipped: the TCP table names no owner pid (wine 8.0); real Windows does\n");
                skip();
        }
        assert_int_equal(r, 1);
        (void) closesocket(s);
        (void) WSACleanup();
}

/* ---- The CLI ---- */

static void test_cli_counts_and_kills_twenty_make_exe(void **state) {
        fixture *fx = *state;
        char args[128], *out;
        int i;

        for (i = 0; i < COPIES; i++)
                (void) start_make(fx);
        /* The seed's own words; a real machine may run more make.exe. */
        assert_int_equal(cli(fx, &out, "ps --name make --count"), 0);
        assert_true(atoi(out) >= COPIES);
        free(out);
        /* --parent keeps a real machine's other make.exe out of the count,
         * and out of the kill. */
        (void) snprintf(args, sizeof(args), "ps --name make --parent %lu --count", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "20\n");
        free(out);
        (void) snprintf(args, sizeof(args), "ps --name make.exe --parent %lu --count", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "20\n");
        free(out);
        (void) snprintf(args, sizeof(args), "kill --name make --parent %lu --wait --count", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "20\n");
        free(out);
        assert_all_ended(fx, 0, COPIES);
        (void) snprintf(args, sizeof(args), "ps --name make --parent %lu --count", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, &out, args), 1); /* none left: exit 1 */
        assert_string_equal(out, "0\n");
        free(out);
}

/* kill --pid CMD --tree: cmd.exe and ping.exe end, as with taskkill /t. */
static void test_cli_tree_kill_ends_cmd_and_ping(void **state) {
        fixture *fx = *state;
        char args[96], *out;
        pid_t cmd, ping;

        cmd = start_cmd_ping(fx, &ping);
        (void) snprintf(args, sizeof(args), "kill --pid %d --tree --dry-run", (int) cmd);
        assert_int_equal(cli(fx, &out, args), 0);
        print_message("%s", out);
        assert_non_null(strstr(out, "* "));
        assert_non_null(strstr(out, "ping -n 60"));
        free(out);
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, 0), WAIT_TIMEOUT);
        (void) snprintf(args, sizeof(args), "kill --pid %d --tree --wait", (int) cmd);
        assert_int_equal(cli(fx, NULL, args), 0);
        assert_int_equal(WaitForSingleObject(fx->kids[0].hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
        assert_int_equal(WaitForSingleObject(fx->kids[fx->nkids - 1].hProcess, TIMEOUT_MS), WAIT_OBJECT_0);
}

static void test_cli_never_kills_its_caller(void **state) {
        fixture *fx = *state;
        char args[64];

        /* The test program is supervise.exe's parent: never matched. */
        (void) snprintf(args, sizeof(args), "kill --pid %lu", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, NULL, args), 1);
        assert_int_equal(cli(fx, NULL, "kill --pid 0"), 2);
}

/* --regex on the name and, with --full, on the command line (PCRE2 on
 * Windows); kill --regex ends them all. A bad pattern and an unknown
 * account are refused loudly (exit 2), never matched as "nothing". */
static void test_cli_regex_counts_and_kills_make_exe(void **state) {
        fixture *fx = *state;
        unsigned long me = (unsigned long) GetCurrentProcessId();
        char args[160], *out;
        int i;

        for (i = 0; i < 3; i++)
                (void) start_make(fx);
        (void) snprintf(args, sizeof(args), "ps --regex ^ma.e\\.exe$ --parent %lu --count", me);
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "3\n");
        free(out);
        /* Case matters, as on Linux: no MAKE.EXE here. */
        (void) snprintf(args, sizeof(args), "ps --regex ^MAKE --parent %lu --count", me);
        assert_int_equal(cli(fx, &out, args), 1);
        assert_string_equal(out, "0\n");
        free(out);
        (void) snprintf(args, sizeof(args), "ps --full --regex \"exe 12000[0]$\" --parent %lu --count", me);
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "3\n");
        free(out);
        (void) snprintf(args, sizeof(args), "kill --regex ^make --parent %lu --wait --count", me);
        assert_int_equal(cli(fx, &out, args), 0);
        assert_string_equal(out, "3\n");
        free(out);
        assert_all_ended(fx, 0, 3);
        assert_int_equal(cli(fx, NULL, "ps --regex make("), 2);
        assert_int_equal(cli(fx, NULL, "ps --user no-such-user-here"), 2);
}

static void test_cli_lists_owner_and_command_line(void **state) {
        fixture *fx = *state;
        char args[64], *out;

        (void) start_make(fx);
        (void) snprintf(args, sizeof(args), "ps --name make --parent %lu", (unsigned long) GetCurrentProcessId());
        assert_int_equal(cli(fx, &out, args), 0);
        assert_non_null(strstr(out, "make.exe 120000"));
        assert_non_null(strstr(out, "\\"));
        free(out);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_scan_counts_twenty_make_copies_with_or_without_exe),
                T(test_signal_terminates_every_copy_and_wait_sees_them_end),
                T(test_changed_creation_time_is_never_terminated),
                T(test_changed_name_is_never_terminated),
                T(test_process_ended_after_the_scan_is_reported_gone),
                T(test_self_ancestors_and_system_are_refused),
                T(test_descendants_kill_a_cmd_and_ping_tree),
                T(test_details_give_owner_and_command_line),
                T(test_port_owner_comes_from_the_tcp_table),
                T(test_cli_counts_and_kills_twenty_make_exe),
                T(test_cli_tree_kill_ends_cmd_and_ping),
                T(test_cli_never_kills_its_caller),
                T(test_cli_regex_counts_and_kills_make_exe),
                T(test_cli_lists_owner_and_command_line),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
