/* test_find_parse.c - the finder's pure parts, without processes: parsing
 * /proc/<pid>/stat lines with hostile names, and drawing the tree of a
 * made-up snapshot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "find/find_internal.h"

/* Fields 4.. of a real stat line: ppid 1, flags 4194560, starttime 123456,
 * rss 789 pages. */
#define TAIL " S 1 100 100 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 123456 2000000 789 " \
             "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"

static void parse(const char *line, sv__stat *st) {
        assert_int_equal(sv__proc_parse_stat(line, strlen(line), st), 0);
}

static void test_stat_plain_name(void **state) {
        sv__stat st;

        (void) state;
        parse("42 (sleep)" TAIL "\n", &st);
        assert_string_equal(st.name, "sleep");
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.start_ticks, 123456);
        assert_int_equal(st.rss_pages, 789);
        assert_false(st.kthread);
}

static void test_stat_name_with_parens_spaces_and_newline(void **state) {
        sv__stat st;

        (void) state;
        /* The name itself holds ") R 9 (" and a line break: only the last
         * ')' ends it. */
        parse("42 (a) R 9 (\nb))" TAIL, &st);
        assert_string_equal(st.name, "a) R 9 (\nb)");
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.start_ticks, 123456);
}

static void test_stat_empty_name(void **state) {
        sv__stat st;

        (void) state;
        parse("42 ()" TAIL, &st);
        assert_string_equal(st.name, "");
}

/* Fields 5-7, for pgrep's -g, -s and -t: pgrp, session, tty_nr (34817 is
 * pts/1: major 136, minor 1). */
static void test_stat_group_session_and_terminal(void **state) {
        sv__stat st;
        const char *line = "4711 (bash) S 4700 4711 4711 34817 4711 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                           "555 0 321 18446744073709551615\n";

        (void) state;
        parse(line, &st);
        assert_int_equal(st.ppid, 4700);
        assert_int_equal(st.pgrp, 4711);
        assert_int_equal(st.sid, 4711);
        assert_int_equal(st.tty_nr, 34817);
        assert_int_equal(st.start_ticks, 555);
        assert_int_equal(st.rss_pages, 321);
}

static void test_stat_kernel_thread_flag(void **state) {
        sv__stat st;
        const char *line = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 13 0 0 "
                           "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

        (void) state;
        parse(line, &st);
        assert_true(st.kthread);
        assert_int_equal(st.ppid, 0);
        assert_int_equal(st.start_ticks, 13);
}

static void test_stat_long_kernel_thread_name_is_kept(void **state) {
        sv__stat st;

        (void) state;
        parse("9 (kworker/u8:1-kvfree_rcu_reclaim)" TAIL, &st);
        assert_string_equal(st.name, "kworker/u8:1-kvfree_rcu_reclaim");
}

static void test_stat_garbage_is_einval(void **state) {
        static const char *const bad[] = {
                "", "42 sleep S 1", "42 (sleep", "42 (sleep)", "42 (sleep) S", "42 (sleep) S x",
                "42 (sleep) S 1 100 100 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0", /* cut before starttime */
        };
        sv__stat st;
        size_t i;

        (void) state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(sv__proc_parse_stat(bad[i], strlen(bad[i]), &st), UV_EINVAL);
}

/* A made-up snapshot: 1 -> 10 -> {20, 21 -> 30}, 1 -> 11; 2 -> 40 (kthreads). */
static void fake_table(sv_find_table *t, sv_find_proc *procs, size_t *match, const size_t *which, size_t nwhich) {
        static const pid_t pids[] = { 1, 2, 10, 11, 20, 21, 30, 40 };
        static const pid_t ppids[] = { 0, 0, 1, 1, 10, 10, 21, 2 };
        size_t i;

        memset(t, 0, sizeof(*t));
        memset(procs, 0, 8 * sizeof(*procs));
        for (i = 0; i < 8; i++) {
                procs[i].pid = pids[i];
                procs[i].ppid = ppids[i];
                procs[i].state = 'S';
        }
        for (i = 0; i < nwhich; i++) {
                match[i] = which[i];
                procs[which[i]].matched = true;
        }
        t->procs = procs;
        t->nprocs = 8;
        t->match = match;
        t->nmatch = nwhich;
        t->pt = NULL;
        t->flags = SV_FIND_NO_DETAILS;
}

/* A parent pid recycled by a process started after the "child": the child
 * is not its descendant (Windows keeps a dead parent's pid in its children;
 * taskkill /t must not adopt strangers). */
static void test_descendants_skip_children_older_than_their_parent(void **state) {
        static const size_t none[] = { 0 };
        sv_find_proc procs[8];
        sv_find_table t;
        size_t root = 2; /* pid 10 */
        bool desc[8] = { false };

        (void) state;
        fake_table(&t, procs, (size_t[8]){ 0 }, none, 0);
        procs[2].start_ticks = 100;  /* 10, the root */
        procs[4].start_ticks = 150;  /* 20: its child */
        procs[5].start_ticks = 50;   /* 21: ppid 10, but older than 10 */
        procs[6].start_ticks = 60;   /* 30: 21's child, so no descendant either */
        assert_int_equal(sv__find_mark_descendants(&t, &root, 1, desc), 0);
        assert_true(desc[4]);
        assert_false(desc[5]);
        assert_false(desc[6]);
        assert_false(desc[2]);
}

static void test_tree_holds_matches_and_their_ancestors_only(void **state) {
        static const size_t which[] = { 4, 6 }; /* pids 20 and 30 */
        static const pid_t want_pid[] = { 1, 10, 20, 21, 30 };
        static const unsigned want_depth[] = { 0, 1, 2, 2, 3 };
        static const bool want_last[] = { true, true, false, true, true };
        sv_find_proc procs[8];
        sv_find_table t;
        sv_find_row *rows;
        size_t match[2];
        int n, i;

        (void) state;
        fake_table(&t, procs, match, which, 2);
        n = sv_find_tree(&t, &rows);
        assert_int_equal(n, 5);
        for (i = 0; i < n; i++) {
                assert_int_equal(rows[i].proc->pid, want_pid[i]);
                assert_int_equal(rows[i].depth, want_depth[i]);
                assert_int_equal(rows[i].last, want_last[i]);
        }
        assert_false(rows[3].proc->matched); /* 21 is context */
        assert_true(rows[4].proc->matched);
        free(rows);
}

static void test_tree_of_two_roots(void **state) {
        static const size_t which[] = { 3, 7 }; /* pids 11 and 40 */
        sv_find_proc procs[8];
        sv_find_table t;
        sv_find_row *rows;
        size_t match[2];
        int n;

        (void) state;
        fake_table(&t, procs, match, which, 2);
        n = sv_find_tree(&t, &rows);
        assert_int_equal(n, 4);
        assert_int_equal(rows[0].proc->pid, 1);
        assert_int_equal(rows[0].depth, 0);
        assert_false(rows[0].last);
        assert_int_equal(rows[1].proc->pid, 11);
        assert_int_equal(rows[2].proc->pid, 2);
        assert_true(rows[2].last);
        assert_int_equal(rows[3].proc->pid, 40);
        assert_int_equal(rows[3].depth, 1);
        free(rows);
}

static void test_tree_without_matches_is_empty(void **state) {
        sv_find_proc procs[8];
        sv_find_table t;
        sv_find_row *rows = (sv_find_row *) &t;
        size_t match[1];

        (void) state;
        fake_table(&t, procs, match, NULL, 0);
        assert_int_equal(sv_find_tree(&t, &rows), 0);
        assert_null(rows);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stat_plain_name),
                cmocka_unit_test(test_stat_name_with_parens_spaces_and_newline),
                cmocka_unit_test(test_stat_empty_name),
                cmocka_unit_test(test_stat_group_session_and_terminal),
                cmocka_unit_test(test_stat_kernel_thread_flag),
                cmocka_unit_test(test_stat_long_kernel_thread_name_is_kept),
                cmocka_unit_test(test_stat_garbage_is_einval),
                cmocka_unit_test(test_descendants_skip_children_older_than_their_parent),
                cmocka_unit_test(test_tree_holds_matches_and_their_ancestors_only),
                cmocka_unit_test(test_tree_of_two_roots),
                cmocka_unit_test(test_tree_without_matches_is_empty),
        };

        return cmocka_run_group_tests_name("find_parse", tests, NULL, NULL);
}
