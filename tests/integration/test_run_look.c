/* test_run_look.c - what `supervise run` shows people: the --timeline page
 * (valid HTML read by python3's html.parser and as XML by xml.etree, one
 * bar per attempt, hostile names escaped, a write error noticed), colours
 * (--color, NO_COLOR, TERM, a terminal or not), the progress bar on a
 * pseudo-terminal cut to its width, and hang diagnostics that stay off the
 * terminal but for one line naming the files that hold them. Real binary,
 * real workers; waits are for EOF and exits, and every test ends by proving
 * that no process and no zombie is left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svtest.h"

#define T_MS 30000

typedef struct fixture {
        svt_proc sup;
} fixture;

static fixture fx;

static int setup(void **state) {
        (void) state;
        memset(&fx, 0, sizeof(fx));
        svt_proc_init(&fx.sup);
        return svt_scratch_begin("/tmp/svlook.XXXXXX");
}

static int teardown(void **state) {
        (void) state;
        svt_proc_release(&fx.sup, T_MS);
        return svt_scratch_end(T_MS);
}

/* ---- Helpers ---- */

/* Runs `supervise run ARGS` with `env` added to ours; returns its wait status. */
static int run_cli(const char *const args[], const char *const env[], char **out, char **err) {
        return svt_run_cli("run", args, env, out, err, T_MS);
}

/* Runs a program (no shell) to its end; fails unless it exits 0. */
static char *tool_output(const char *const argv[]) {
        char *out = NULL, *err = NULL;
        int st;

        st = svt_run_kept(argv, NULL, &out, &err, T_MS);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("%s failed (wait status 0x%x):\n%s%s", argv[0], st, out, err);
        return out;
}

/* ---- The events file ---- */

/* Line `n` (1-based) of the events file, parsed; NULL if there is none. */
static json_t *events_line(const char *text, unsigned long n) {
        const char *p = text, *nl;
        json_error_t jerr;
        json_t *o;

        while (--n > 0 && p && *p) {
                nl = strchr(p, '\n');
                p = nl ? nl + 1 : NULL;
        }
        if (!p || !*p)
                return NULL;
        nl = strchr(p, '\n');
        o = json_loadb(p, nl ? (size_t) (nl - p) : strlen(p), 0, &jerr);
        if (!o)
                fail_msg("events line is not JSON (%s)", jerr.text);
        return o;
}

/* ---- The timeline ---- */

/* Reads the page twice: with html.parser, checking that every element is
 * closed in order (void elements aside) and that no <script> element or
 * external reference exists; and with xml.etree (the page is well-formed
 * XML too). Prints "bars N", "slots N", then one "bar NAME|VERDICT|ATTEMPT"
 * per bar, then one "row NAME" per table row. */
static const char timeline_py[] =
        "import sys, html.parser, xml.etree.ElementTree as ET\n"
        "VOID = {'meta', 'br', 'img', 'link', 'input', 'hr', 'col', 'wbr'}\n"
        "class P(html.parser.HTMLParser):\n"
        "    def __init__(s):\n"
        "        super().__init__(convert_charrefs=True)\n"
        "        s.stack, s.bars, s.titles, s.rows, s.cell, s.intitle = [], 0, [], [], None, False\n"
        "    def handle_starttag(s, tag, attrs):\n"
        "        a = dict(attrs)\n"
        "        assert tag not in ('script', 'link', 'img', 'iframe', 'object'), tag\n"
        "        for k, v in attrs:\n"
        "            assert not k.startswith('on'), k\n"
        "            assert not (v or '').startswith(('http:', 'https:', '//')) or k == 'xmlns', v\n"
        "        if tag not in VOID: s.stack.append(tag)\n"
        "        if tag == 'g' and 'bar' in (a.get('class') or '').split(): s.bars += 1\n"
        "        if tag == 'title' and 'svg' in s.stack: s.intitle = True; s.titles.append('')\n"
        "        if tag == 'tr' and 'tbody' in s.stack: s.rows.append([])\n"
        "        if tag == 'td' and 'tbody' in s.stack: s.rows[-1].append('')\n"
        "    def handle_startendtag(s, tag, attrs):\n"
        "        s.handle_starttag(tag, attrs)\n"
        "        if tag not in VOID: s.stack.pop()\n"
        "    def handle_endtag(s, tag):\n"
        "        if tag in VOID: return\n"
        "        top = s.stack.pop() if s.stack else None\n"
        "        assert top == tag, 'end tag %s closes %s' % (tag, top)\n"
        "        if tag == 'title': s.intitle = False\n"
        "    def handle_data(s, d):\n"
        "        if s.intitle: s.titles[-1] += d\n"
        "        if 'td' in s.stack and 'tbody' in s.stack: s.rows[-1][-1] += d\n"
        "text = open(sys.argv[1], encoding='utf-8', errors='strict').read()\n"
        "assert text.startswith('<!DOCTYPE html>'), text[:40]\n"
        "p = P(); p.feed(text); p.close()\n"
        "assert not p.stack, 'unclosed: %r' % p.stack\n"
        "ET.fromstring(text[text.index('<html'):])\n"
        "print('bars %d' % p.bars)\n"
        "for t in p.titles:\n"
        "    if '\\n' not in t: continue\n"
        "    f = dict(l.split(': ', 1) for l in t.split('\\n')[1:] if ': ' in l)\n"
        "    head = t.split('\\n')[0]\n"
        "    name, att = head.rsplit(' (attempt ', 1)\n"
        "    print('bar %s|%s|%s|%s' % (name, f['verdict'], att.rstrip(')'), f['exit']))\n"
        "for r in p.rows: print('row %s|%s' % (r[1], r[2]))\n";

static char *timeline_check(const char *path) {
        const char *argv[] = { "python3", "-c", timeline_py, path, NULL };

        return tool_output(argv);
}

/* A pass, a failure retried, a hang retried, a flaky pass, a job that
 * cannot start, and a hostile name: markup, quotes and a byte that is not
 * UTF-8. */
static void test_timeline_is_valid_html_with_a_bar_per_attempt_and_escaped_names(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *tl = svt_tpath("t.html"), *evf = svt_tpath("ev.jsonl");
        const char *args[] = { "-q", "-j", "2", "--retries", "1", "--timeout", "400ms", "-k", "200ms",
                               "--from", jobs, "--timeline", tl, "--events", evf, NULL };
        char *text = NULL, *out, *err, *page, *check, *evs, *line, *save = NULL;
        size_t len, spawns = 0;
        long bars = -1;

        (void) state;
        assert_true(asprintf(&text,
                             "name=ok %s 0\n"
                             "name=broken %s 3\n"
                             "name=hangs %s forever\n"
                             "name=flaky %s %s\n"
                             "name=missing /nonexistent/sv-look-missing\n"
                             "name='<script>alert(\"x\")</script>&\xff' %s 0\n",
                             svt_worker("sv-exit"), svt_worker("sv-exit"), svt_worker("sv-sleep"),
                             svt_worker("sv-flaky"), svt_tpath("flaky.mark"), svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, NULL, &out, &err), 1, &err);

        page = svt_slurp(tl, &len);
        /* Nothing raw from the hostile name: no markup, no byte that is not
         * UTF-8, and its escaped form is there. */
        svt_assert_lacks(page, "<script");
        assert_null(memchr(page, 0xff, len));
        svt_assert_contains(page, "&lt;script&gt;alert(\"x\")&lt;/script&gt;&amp;\\xFF");
        check = timeline_check(tl);

        /* One bar per spawn in the events file. */
        evs = svt_slurp(evf, NULL);
        for (line = strtok_r(evs, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strstr(line, "\"event\":\"spawn\""))
                        spawns++;
        assert_int_equal(sscanf(check, "bars %ld", &bars), 1);
        assert_int_equal(spawns, 8);
        assert_int_equal((size_t) bars, spawns);
        svt_assert_contains(check, "bar ok|pass|1|0\n");
        svt_assert_contains(check, "bar broken|fail|1|3\n");
        svt_assert_contains(check, "bar broken|fail|2|3\n");
        svt_assert_contains(check, "bar hangs|timeout|1|-15 (SIGTERM)\n");
        svt_assert_contains(check, "bar hangs|timeout|2|-15 (SIGTERM)\n");
        svt_assert_contains(check, "bar flaky|fail|1|1\n");
        svt_assert_contains(check, "bar flaky|pass|2|0\n");
        svt_assert_contains(check, "bar <script>alert(\"x\")</script>&\\xFF|pass|1|0\n");
        /* Every job is in the table, the one that never ran included. */
        svt_assert_contains(check, "row ok|pass\n");
        svt_assert_contains(check, "row flaky|pass (flaky)\n");
        svt_assert_contains(check, "row missing|error\n");
        svt_assert_contains(check, "row <script>alert(\"x\")</script>&\\xFF|pass\n");
        svt_reap_all(T_MS);
}

/* Two attempts in one slot never overlap, -j 2 uses slots 0 and 1 only,
 * and a job gets slot 1 only while slot 0 is busy: the runner hands out
 * the lowest free slot. */
static void test_spawn_events_carry_the_lowest_free_slot(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("ev.jsonl");
        const char *args[] = { "-q", "-j", "2", "--from", jobs, "--events", evf, NULL };
        char *text = NULL, *out, *err, *evs;
        long long busy_until[2] = { 0, 0 }, slot_of[8];
        json_t *o;
        unsigned long n;
        int spawned = 0;

        (void) state;
        assert_true(asprintf(&text, "%s 150\n%s 10\n%s 10\n%s 10\n%s 100\n%s 10\n",
                             svt_worker("sv-sleep"), svt_worker("sv-sleep"), svt_worker("sv-sleep"),
                             svt_worker("sv-sleep"), svt_worker("sv-sleep"),
                             svt_worker("sv-sleep")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, NULL, &out, &err), 0, &err);
        evs = svt_slurp(evf, NULL);
        for (n = 1; (o = events_line(evs, n)) != NULL; n++) {
                const char *ev = json_string_value(json_object_get(o, "event"));
                long long t = json_integer_value(json_object_get(o, "t_ms"));
                long long job = json_integer_value(json_object_get(o, "job"));

                if (strcmp(ev, "spawn") == 0) {
                        long long slot = json_integer_value(json_object_get(o, "slot"));

                        assert_true(json_is_integer(json_object_get(o, "slot")));
                        assert_true(slot == 0 || slot == 1);
                        if (busy_until[slot] < 0)
                                fail_msg("slot %lld given to job %lld while in use", slot, job);
                        if (slot == 1 && busy_until[0] >= 0)
                                fail_msg("job %lld got slot 1 while slot 0 was free", job);
                        spawned++;
                        busy_until[slot] = -1;
                        slot_of[job] = slot;
                } else if (strcmp(ev, "exit") == 0) {
                        busy_until[slot_of[job]] = t;
                }
                json_decref(o);
        }
        assert_int_equal(spawned, 6);
        svt_reap_all(T_MS);
}

static void test_timeline_write_errors_exit_125(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        const char *full[] = { "-q", "--from", jobs, "--timeline", "/dev/full", NULL };
        const char *bad[] = { "-q", "--from", jobs, "--timeline", svt_tpath("no/such/dir/t.html"), NULL };
        char *text = NULL, *out, *err;

        (void) state;
        assert_true(asprintf(&text, "%s 0\n", svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(full, NULL, &out, &err), 125, &err);
        svt_assert_contains(err, "supervise run: cannot write timeline '/dev/full': no space left on device");
        /* A path that cannot be written fails before any job starts. */
        svt_assert_exit(run_cli(bad, NULL, &out, &err), 125, &err);
        svt_assert_contains(err, "supervise run: cannot write timeline '");
        assert_string_equal(out, "");
        svt_reap_all(T_MS);
}

/* ---- A pseudo-terminal ---- */

/* Runs `args` on a terminal to the end; returns what the terminal got and
 * stores stdout. */
static char *run_on_pty(const char *const args[], const char *const env[], unsigned short cols,
                        int want, char **out) {
        int master, outfd, st;
        char *tty;

        master = svt_start_cli_on_pty(&fx.sup, "run", args, env, cols);
        outfd = fx.sup.out;
        tty = svt_read_pty(master, T_MS);
        (void) close(master);
        *out = svt_keep(svt_read_all(outfd, T_MS));
        assert_non_null(*out);
        (void) close(outfd);
        fx.sup.out = -1;
        st = svt_wait(fx.sup.pid, T_MS);
        fx.sup.pid = 0;
        svt_assert_exit(st, want, &tty);
        return tty;
}

/* ---- Colours ---- */

typedef struct colour_row {
        bool tty;
        const char *opt;      /* NULL: none (auto) */
        const char *no_color; /* NO_COLOR's value ("": empty, which does not count) */
        const char *term;
        bool want;
} colour_row;

static void test_colours_follow_color_no_color_term_and_the_terminal(void **state) {
        static const colour_row rows[] = {
                { true, NULL, "", "xterm", true },
                { true, NULL, "1", "xterm", false },
                { true, NULL, "", "dumb", false },
                { true, "--color=never", "", "xterm", false },
                { true, "--color=always", "1", "xterm", true },
                { false, NULL, "", "xterm", false },
                { false, "--color=always", "", "dumb", true },
                { false, "--color", "", "xterm", true },
                { false, "--color=auto", "", "xterm", false },
        };
        const char *jobs = svt_tpath("jobs.txt");
        char *text = NULL, *out, *err, nc[64], term[64];
        size_t i;

        (void) state;
        assert_true(asprintf(&text, "name=good %s 0\nname=bad %s 1\n", svt_worker("sv-exit"),
                             svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const colour_row *r = &rows[i];
                const char *args[] = { "-j", "1", "--from", jobs, r->opt, NULL };
                const char *env[] = { nc, term, NULL };

                (void) snprintf(nc, sizeof(nc), "NO_COLOR=%s", r->no_color);
                (void) snprintf(term, sizeof(term), "TERM=%s", r->term);
                if (r->tty)
                        err = run_on_pty(args, env, 200, 1, &out);
                else
                        svt_assert_exit(run_cli(args, env, &out, &err), 1, &err);
                if (r->want) {
                        svt_assert_contains(err, "] \033[32mPASS\033[0m ");
                        svt_assert_contains(err, "] \033[31mFAIL\033[0m ");
                } else if (strstr(err, "\033[3") || strstr(err, "\033[0m")) {
                        fail_msg("row %zu: colour where none was wanted:\n%s", i, err);
                }
                /* Job output on stdout never gets a byte of ours. */
                assert_null(strchr(out, '\033'));
        }
        svt_reap_all(T_MS);
}

static void test_color_rejects_an_unknown_word(void **state) {
        const char *args[] = { "--color=sometimes", "--from", "/dev/null", NULL };
        char *out, *err;

        (void) state;
        svt_assert_exit(run_cli(args, NULL, &out, &err), 125, &err);
        svt_assert_contains(err, "supervise run: invalid argument 'sometimes' for --color");
        svt_reap_all(T_MS);
}

/* ---- The progress bar ---- */

/* Visible columns of a piece of terminal output: SGR sequences take none. */
static size_t visible(const char *s) {
        size_t n = 0;

        while (*s) {
                if (*s == '\033') {
                        while (*s && *s != 'm')
                                s++;
                        if (*s)
                                s++;
                        continue;
                }
                n++;
                s++;
        }
        return n;
}

/* Splits the terminal's bytes at each erase; every piece is a progress line
 * (no newline, narrower than the terminal) or whole lines. Returns how many
 * progress lines had a bar. */
static int check_pieces(char *tty, size_t cols) {
        char *piece, *next;
        int bars = 0, progress = 0;

        for (piece = tty; piece; piece = next) {
                next = svt_cut(piece, "\r\033[K");
                if (!*piece)
                        continue;
                if (strstr(piece, " running ")) {
                        if (strchr(piece, '\n') || piece[0] != '[')
                                fail_msg("progress text mixed with a line: '%s'", piece);
                        if (visible(piece) > cols - 1)
                                fail_msg("progress line of %zu columns on a %zu-column terminal: '%s'",
                                         visible(piece), cols, piece);
                        progress++;
                        if (strstr(piece, "] [#") || strstr(piece, "] [-") || strstr(piece, "] [\033["))
                                bars++;
                } else if (piece[strlen(piece) - 1] != '\n') {
                        fail_msg("a line was left unfinished: '%s'", piece);
                }
        }
        assert_true(progress >= 2);
        return bars;
}

static void test_progress_bar_fits_the_terminal_and_stays_off_stdout(void **state) {
        const char *jobs = svt_tpath("jobs.txt");
        const char *args[] = { "-j", "2", "--from", jobs, NULL };
        const char *env[] = { "NO_COLOR=", "TERM=xterm", NULL };
        char *text = NULL, *out, *tty;

        (void) state;
        assert_true(asprintf(&text, "%s 300\n%s 3\n%s 300\n%s 0\n", svt_worker("sv-sleep"),
                             svt_worker("sv-flood"), svt_worker("sv-sleep"), svt_worker("sv-exit")) > 0);
        svt_write_file(jobs, svt_keep(text));

        tty = run_on_pty(args, env, 120, 0, &out);
        svt_assert_contains(tty, "[4/4] [\033[32m####################\033[0m] running ");
        assert_true(check_pieces(tty, 120) >= 2);
        svt_assert_contains(out, "line 3 ");
        assert_null(strchr(out, '\r'));
        assert_null(strchr(out, '\033'));

        /* 50 columns: no room for the bar, and the line is cut. */
        tty = run_on_pty(args, env, 50, 0, &out);
        assert_int_equal(check_pieces(tty, 50), 0);
        svt_reap_all(T_MS);
}

/* ---- Hang diagnostics ---- */

static void test_hang_diagnostics_leave_one_line_on_the_terminal_naming_the_files(void **state) {
        const char *jobs = svt_tpath("jobs.txt"), *evf = svt_tpath("ev.jsonl"), *logs = svt_tpath("logs"),
                   *junit = svt_tpath("r.xml");
        const char *args[] = { "--timeout", "300ms", "-k", "200ms", "--from", jobs, "--events", evf,
                               "--logs", logs, "--junit", junit, NULL };
        const char *bare[] = { "--timeout", "300ms", "-k", "200ms", "--from", jobs, NULL };
        char *text = NULL, *out, *err, *want = NULL, *p, *log;
        unsigned long line = 0;
        json_t *o;

        (void) state;
        assert_true(asprintf(&text, "name=hang %s 2\n", svt_worker("sv-tree")) > 0);
        svt_write_file(jobs, svt_keep(text));
        svt_assert_exit(run_cli(args, NULL, &out, &err), 124, &err);

        assert_true(asprintf(&want, "    diagnostics (snapshot): %s/1-hang.log, line ", logs) > 0);
        p = strstr(err, svt_keep(want));
        if (!p)
                fail_msg("no diagnostics line '%s' in:\n%s", want, err);
        assert_int_equal(sscanf(p + strlen(want), "%lu", &line), 1);
        assert_true(asprintf(&want, "%lu of events %s, JUnit %s\n", line, evf, junit) > 0);
        svt_assert_contains(p, svt_keep(want));
        /* Only that line: no tree, no kernel stack on the terminal. */
        svt_assert_lacks(err, "kernel stack");
        svt_assert_lacks(err, "WCHAN");
        svt_assert_lacks(err, "--- snapshot ---");

        /* The line it names is the snapshot, and the log holds it too. */
        o = events_line(svt_slurp(evf, NULL), line);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "event")), "diag");
        assert_string_equal(json_string_value(json_object_get(o, "kind")), "snapshot");
        assert_string_equal(json_string_value(json_object_get(o, "name")), "hang");
        json_decref(o);
        assert_true(asprintf(&want, "%s/1-hang.log", logs) > 0);
        log = svt_slurp(svt_keep(want), NULL);
        svt_assert_contains(log, "--- snapshot ---");
        svt_assert_contains(log, "kernel stack of");
        svt_assert_contains(svt_slurp(junit, NULL), "kernel stack of");

        /* With no file to keep them, the line says so. */
        svt_assert_exit(run_cli(bare, NULL, &out, &err), 124, &err);
        svt_assert_contains(err, "    diagnostics (snapshot): not kept; --logs DIR, --events FILE");
        svt_assert_lacks(err, "kernel stack");
        svt_reap_all(T_MS);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_timeline_is_valid_html_with_a_bar_per_attempt_and_escaped_names),
                T(test_spawn_events_carry_the_lowest_free_slot),
                T(test_timeline_write_errors_exit_125),
                T(test_colours_follow_color_no_color_term_and_the_terminal),
                T(test_color_rejects_an_unknown_word),
                T(test_progress_bar_fits_the_terminal_and_stays_off_stdout),
                T(test_hang_diagnostics_leave_one_line_on_the_terminal_naming_the_files),
        };

        svt_become_subreaper();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
