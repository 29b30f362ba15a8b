/* test_run_select.c - sv_joblist_select() and sv_job_shard(): shards that
 * are disjoint, whole and stable when jobs come and go; the filters' order
 * and the message of the step that left nothing; a shuffle that is a
 * permutation fixed by its seed; bad input that leaves the list alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervise/sv_run.h"

#define NJOBS 1000
#define NSHARDS 7

/* NJOBS jobs named "case_<i>", or, with `extra`, one more named "new_job"
 * in the middle. */
static void make_list(sv_joblist *l, bool extra) {
        char *text = NULL, *line;
        size_t len = 0, i;
        char err[256];
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        for (i = 0; i < NJOBS; i++) {
                if (extra && i == NJOBS / 2)
                        fprintf(f, "name=new_job /bin/true\n");
                fprintf(f, "name=case_%zu /bin/true %zu\n", i, i);
        }
        assert_int_equal(fclose(f), 0);
        sv_joblist_init(l);
        line = text;
        assert_int_equal(sv_jobfile_parse_mem(line, len, "t", l, err, sizeof(err)),
                         NJOBS + (extra ? 1 : 0));
        free(text);
}

static int select_shard(sv_joblist *l, unsigned index, unsigned count) {
        sv_select_opts o;
        char err[256];

        memset(&o, 0, sizeof(o));
        o.shard_index = index;
        o.shard_count = count;
        return sv_joblist_select(l, &o, err, sizeof(err));
}

/* Every name lands in exactly one shard's selection, and each shard gets a
 * fair part (7 shards of 1000: 143 expected; a bad hash gives far fewer). */
static void test_shards_are_disjoint_whole_and_fair(void **state) {
        unsigned seen[NJOBS] = { 0 }, s;
        sv_joblist l;
        size_t i, total = 0;
        int n;

        (void) state;
        for (s = 0; s < NSHARDS; s++) {
                make_list(&l, false);
                n = select_shard(&l, s, NSHARDS);
                assert_true(n > 100 && n < 190);
                for (i = 0; i < l.count; i++)
                        seen[strtoul(l.jobs[i].name + 5, NULL, 10)]++;
                total += l.count;
                sv_joblist_release(&l);
        }
        assert_int_equal(total, NJOBS);
        for (i = 0; i < NJOBS; i++)
                assert_int_equal(seen[i], 1);
}

/* Adding a job moves no other job to another shard. */
static void test_adding_a_job_moves_no_other(void **state) {
        sv_joblist a, b;
        size_t i, k;
        unsigned s;

        (void) state;
        for (s = 0; s < NSHARDS; s++) {
                make_list(&a, false);
                make_list(&b, true);
                (void) select_shard(&a, s, NSHARDS);
                (void) select_shard(&b, s, NSHARDS);
                for (i = k = 0; k < b.count; k++) {
                        if (strcmp(b.jobs[k].name, "new_job") == 0)
                                continue;
                        assert_true(i < a.count);
                        assert_string_equal(a.jobs[i++].name, b.jobs[k].name);
                }
                assert_int_equal(i, a.count);
                sv_joblist_release(&a);
                sv_joblist_release(&b);
        }
        assert_int_equal(sv_job_shard("x", 0), 0);
        assert_int_equal(sv_job_shard("x", 1), 0);
}

static void test_filters_apply_in_order_and_say_what_left_nothing(void **state) {
        sv_select_opts o;
        sv_joblist l;
        char err[256] = "";
        char *names[] = { "case_10", "case_11", "case_999", "no_such", NULL };

        (void) state;
        make_list(&l, false);
        memset(&o, 0, sizeof(o));
        o.include_re = "^case_1[0-9]$";
        o.exclude_re = "5$";
        o.names = names;
        assert_int_equal(sv_joblist_select(&l, &o, err, sizeof(err)), 2);
        assert_string_equal(l.jobs[0].name, "case_10");
        assert_string_equal(l.jobs[1].name, "case_11");
        memset(&o, 0, sizeof(o));
        o.exclude_re = "case";
        assert_int_equal(sv_joblist_select(&l, &o, err, sizeof(err)), 0);
        assert_string_equal(err, "-E 'case' excluded all 2 jobs");
        assert_int_equal(l.count, 0);
        sv_joblist_release(&l);
}

static void test_bad_input_leaves_the_list_alone(void **state) {
        sv_select_opts o;
        sv_joblist l;
        char err[256] = "";

        (void) state;
        make_list(&l, false);
        memset(&o, 0, sizeof(o));
        o.include_re = "(";
        assert_int_equal(sv_joblist_select(&l, &o, err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, "-R '('"));
        memset(&o, 0, sizeof(o));
        o.shard_index = 3;
        o.shard_count = 3;
        assert_int_equal(sv_joblist_select(&l, &o, err, sizeof(err)), UV_EINVAL);
        assert_int_equal(l.count, NJOBS);
        sv_joblist_release(&l);
}

/* A permutation, the same for the same seed, another for another seed. */
static void test_shuffle_is_a_permutation_fixed_by_its_seed(void **state) {
        sv_joblist a, b, c;
        sv_select_opts o;
        unsigned seen[NJOBS] = { 0 };
        size_t i, same_ab = 0, same_ac = 0;

        (void) state;
        make_list(&a, false);
        make_list(&b, false);
        make_list(&c, false);
        memset(&o, 0, sizeof(o));
        o.shuffle = true;
        o.seed = 42;
        assert_int_equal(sv_joblist_select(&a, &o, NULL, 0), NJOBS);
        assert_int_equal(sv_joblist_select(&b, &o, NULL, 0), NJOBS);
        o.seed = 43;
        assert_int_equal(sv_joblist_select(&c, &o, NULL, 0), NJOBS);
        for (i = 0; i < NJOBS; i++) {
                seen[strtoul(a.jobs[i].name + 5, NULL, 10)]++;
                same_ab += strcmp(a.jobs[i].name, b.jobs[i].name) == 0;
                same_ac += strcmp(a.jobs[i].name, c.jobs[i].name) == 0;
        }
        for (i = 0; i < NJOBS; i++)
                assert_int_equal(seen[i], 1);
        assert_int_equal(same_ab, NJOBS);
        /* Two random orders share about one place in a thousand. */
        assert_true(same_ac < 20);
        sv_joblist_release(&a);
        sv_joblist_release(&b);
        sv_joblist_release(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shards_are_disjoint_whole_and_fair),
                cmocka_unit_test(test_adding_a_job_moves_no_other),
                cmocka_unit_test(test_filters_apply_in_order_and_say_what_left_nothing),
                cmocka_unit_test(test_bad_input_leaves_the_list_alone),
                cmocka_unit_test(test_shuffle_is_a_permutation_fixed_by_its_seed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
