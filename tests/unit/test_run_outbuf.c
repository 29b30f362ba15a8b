/* test_run_outbuf.c - per-job output capture: chunks become whole lines per
 * stream, partial lines wait for their newline or EOF, memory stays bounded
 * and the tail keeps the last lines. The feeds here are adversarial: one byte
 * at a time, interleaved streams, huge lines, floods. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervise/sv_run.h"

/* Records every delivered line as "<fd>|<flags>|<text>\n". */
typedef struct rec {
        char *p;
        size_t len;
        size_t cap;
        unsigned lines;
        size_t max_len;
} rec;

static void on_line(int fd, const char *line, size_t len, unsigned flags, void *arg) {
        rec *r = arg;
        char head[32];
        int n;

        n = snprintf(head, sizeof(head), "%d|%u|", fd, flags);
        /* Grow geometrically: valgrind's realloc always copies. */
        if (r->len + (size_t) n + len + 2 > r->cap) {
                r->cap = (r->len + (size_t) n + len + 2) * 2;
                r->p = realloc(r->p, r->cap);
                assert_non_null(r->p);
        }
        memcpy(r->p + r->len, head, (size_t) n);
        r->len += (size_t) n;
        memcpy(r->p + r->len, line, len);
        r->len += len;
        r->p[r->len++] = '\n';
        r->p[r->len] = '\0';
        r->lines++;
        if (len > r->max_len)
                r->max_len = len;
}

static sv_outbuf *make(rec *r, size_t keep) {
        sv_outbuf_opts o = { keep, on_line, r };
        sv_outbuf *b = NULL;

        memset(r, 0, sizeof(*r));
        assert_int_equal(sv_outbuf_new(&o, &b), 0);
        return b;
}

static void test_outbuf_partial_lines_wait_for_newline_per_stream(void **state) {
        const char *text;
        uint64_t dropped;
        sv_outbuf *b;
        size_t len;
        rec r;

        (void) state;
        b = make(&r, 0);
        assert_int_equal(sv_outbuf_feed(b, 1, "hel", 3), 0);
        assert_int_equal(sv_outbuf_feed(b, 2, "err", 3), 0);
        assert_int_equal(r.lines, 0);
        assert_int_equal(sv_outbuf_feed(b, 1, "lo\nwor", 6), 0);
        assert_int_equal(sv_outbuf_feed(b, 2, "or\n\n", 4), 0);
        assert_int_equal(sv_outbuf_feed(b, 1, "ld", 2), 0);
        assert_int_equal(sv_outbuf_feed(b, 1, NULL, 0), 0);
        assert_int_equal(sv_outbuf_feed(b, 2, NULL, 0), 0);
        sv_outbuf_finish(b);
        sv_outbuf_finish(b);
        assert_string_equal(r.p, "1|0|hello\n2|0|error\n2|0|\n1|2|world\n");
        text = sv_outbuf_text(b, &len, &dropped);
        assert_string_equal(text, "hello\nerror\n\nworld\n");
        assert_int_equal(len, strlen(text));
        assert_int_equal(dropped, 0);
        assert_int_equal(sv_outbuf_total_bytes(b), 18);
        assert_int_equal(sv_outbuf_total_lines(b), 4);
        assert_int_equal(sv_outbuf_feed(b, 3, "x", 1), UV_EINVAL);
        sv_outbuf_free(b);
        free(r.p);
}

static void test_outbuf_byte_at_a_time_gives_the_same_lines(void **state) {
        const char *in = "a\nbb\n\nccc\r\nd";
        sv_outbuf *b;
        size_t i;
        rec r;

        (void) state;
        b = make(&r, 0);
        for (i = 0; in[i]; i++)
                assert_int_equal(sv_outbuf_feed(b, 1, in + i, 1), 0);
        sv_outbuf_finish(b);
        assert_string_equal(r.p, "1|0|a\n1|0|bb\n1|0|\n1|0|ccc\r\n1|2|d\n");
        sv_outbuf_free(b);
        free(r.p);
}

static void test_outbuf_long_line_is_cut_at_line_max(void **state) {
        size_t n = SV_OUTBUF_LINE_MAX * 2 + 10, i;
        char *big;
        sv_outbuf *b;
        rec r;

        (void) state;
        big = malloc(n);
        assert_non_null(big);
        memset(big, 'x', n);
        b = make(&r, 0);
        /* Fed in odd pieces, so the line is held across chunks. */
        for (i = 0; i < n; i += 1000)
                assert_int_equal(sv_outbuf_feed(b, 1, big + i, n - i < 1000 ? n - i : 1000), 0);
        assert_int_equal(r.lines, 2);
        assert_int_equal(r.max_len, SV_OUTBUF_LINE_MAX);
        assert_int_equal(sv_outbuf_feed(b, 1, "\n", 1), 0);
        assert_int_equal(r.lines, 3);
        sv_outbuf_free(b);
        free(r.p);

        /* A line of exactly LINE_MAX bytes, then its newline: one line, uncut. */
        b = make(&r, 0);
        assert_int_equal(sv_outbuf_feed(b, 2, big, 10), 0);
        assert_int_equal(sv_outbuf_feed(b, 2, big, SV_OUTBUF_LINE_MAX - 10), 0);
        assert_int_equal(r.lines, 0);
        assert_int_equal(sv_outbuf_feed(b, 2, "\n", 1), 0);
        assert_int_equal(r.lines, 1);
        assert_int_equal(strncmp(r.p, "2|0|xxx", 7), 0);
        sv_outbuf_free(b);
        free(r.p);
        free(big);
}

static void test_outbuf_flood_keeps_the_tail_and_counts_dropped_bytes(void **state) {
        char line[64];
        const char *text;
        uint64_t dropped, total = 0;
        size_t len, keep = SV_OUTBUF_KEEP_MIN;
        sv_outbuf *b;
        char *tail;
        unsigned i;
        int n;
        rec r;

        (void) state;
        /* No recording callback here: 100000 reallocs are slow under valgrind. */
        memset(&r, 0, sizeof(r));
        {
                sv_outbuf_opts o = { keep, NULL, NULL };

                assert_int_equal(sv_outbuf_new(&o, &b), 0);
        }
        for (i = 0; i < 100000; i++) {
                n = snprintf(line, sizeof(line), "line %u\n", i);
                assert_int_equal(sv_outbuf_feed(b, 1 + (i & 1), line, (size_t) n), 0);
                total += (uint64_t) n;
        }
        assert_int_equal(sv_outbuf_total_lines(b), 100000);
        text = sv_outbuf_text(b, &len, &dropped);
        assert_true(len <= keep);
        assert_true(len > keep - 64);
        assert_int_equal(len + dropped, total);
        /* The kept text starts with a whole line and ends with the last one. */
        assert_int_equal(strncmp(text, "line ", 5), 0);
        assert_int_equal(strcmp(text + len - 11, "line 99999\n"), 0);
        tail = sv_outbuf_tail(b, 0);
        assert_non_null(tail);
        assert_int_equal(strncmp(tail, "line 99950\n", 11), 0);
        assert_int_equal(strcmp(tail + strlen(tail) - 11, "line 99999\n"), 0);
        free(tail);
        tail = sv_outbuf_tail(b, 1);
        assert_string_equal(tail, "line 99999\n");
        free(tail);
        sv_outbuf_free(b);
}

static void test_outbuf_one_chunk_bigger_than_keep(void **state) {
        size_t n = SV_OUTBUF_KEEP_MIN * 3, len;
        uint64_t dropped;
        const char *text;
        sv_outbuf *b;
        char *big;

        (void) state;
        big = malloc(n);
        assert_non_null(big);
        memset(big, 'y', n);
        big[n - 1] = '\n';
        big[n / 2] = '\n';
        assert_int_equal(sv_outbuf_new(NULL, &b), 0);
        sv_outbuf_free(b);
        {
                sv_outbuf_opts o = { 1, NULL, NULL }; /* raised to KEEP_MIN */

                assert_int_equal(sv_outbuf_new(&o, &b), 0);
        }
        assert_int_equal(sv_outbuf_feed(b, 1, big, n), 0);
        text = sv_outbuf_text(b, &len, &dropped);
        assert_int_equal(len + dropped, n);
        assert_true(len < SV_OUTBUF_KEEP_MIN);
        assert_int_equal(text[len - 1], '\n');
        sv_outbuf_free(b);
        sv_outbuf_free(NULL);
        free(big);
}

static void test_outbuf_tail_of_empty_and_short_output(void **state) {
        sv_outbuf *b;
        char *t;

        (void) state;
        assert_int_equal(sv_outbuf_new(NULL, &b), 0);
        t = sv_outbuf_tail(b, 0);
        assert_string_equal(t, "");
        free(t);
        assert_int_equal(sv_outbuf_feed(b, 1, "one\ntwo", 7), 0);
        sv_outbuf_finish(b);
        t = sv_outbuf_tail(b, 50);
        assert_string_equal(t, "one\ntwo\n");
        free(t);
        sv_outbuf_free(b);
}

/* Random text fed in random chunk sizes, the two streams interleaved, gives
 * per stream exactly the lines of the text, in order. */
static void test_outbuf_random_chunks_give_the_same_lines_as_one_feed(void **state) {
        static const char alphabet[] = "xyz\n\n";
        char text[2][4000];
        rec got, want;
        size_t pos[2] = { 0, 0 }, n;
        unsigned seed = 777, round;
        sv_outbuf *b, *ref;
        int fd, i;

        (void) state;
        for (round = 0; round < 60; round++) {
                for (i = 0; i < 2; i++) {
                        for (n = 0; n < sizeof(text[i]); n++)
                                text[i][n] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
                        pos[i] = 0;
                }
                b = make(&got, 0);
                ref = make(&want, 0);
                /* The reference: each stream whole, stdout first. */
                for (i = 0; i < 2; i++) {
                        assert_int_equal(sv_outbuf_feed(ref, i + 1, text[i], sizeof(text[i])), 0);
                        assert_int_equal(sv_outbuf_feed(ref, i + 1, NULL, 0), 0);
                }
                while (pos[0] < sizeof(text[0]) || pos[1] < sizeof(text[1])) {
                        fd = (int) (rand_r(&seed) % 2);
                        n = (size_t) (rand_r(&seed) % 300) + 1;
                        if (n > sizeof(text[fd]) - pos[fd])
                                n = sizeof(text[fd]) - pos[fd];
                        assert_int_equal(sv_outbuf_feed(b, fd + 1, text[fd] + pos[fd], n), 0);
                        pos[fd] += n;
                }
                sv_outbuf_finish(b);
                /* Compare per stream: filter the "<fd>|" records of each. */
                for (i = 1; i <= 2; i++) {
                        char head[4];
                        const char *g = got.p, *w = want.p, *ge, *we;

                        (void) snprintf(head, sizeof(head), "%d|", i);
                        for (;;) {
                                while (g && *g && strncmp(g, head, 2) != 0)
                                        g = strchr(g, '\n') + 1;
                                while (w && *w && strncmp(w, head, 2) != 0)
                                        w = strchr(w, '\n') + 1;
                                if (!g || !*g || !w || !*w)
                                        break;
                                ge = strchr(g, '\n');
                                we = strchr(w, '\n');
                                if (ge - g != we - w || memcmp(g, w, (size_t) (ge - g)) != 0)
                                        fail_msg("round %u: stream %d differs", round, i);
                                g = ge + 1;
                                w = we + 1;
                        }
                        assert_true((!g || !*g) && (!w || !*w));
                }
                assert_int_equal(got.lines, want.lines);
                sv_outbuf_free(b);
                sv_outbuf_free(ref);
                free(got.p);
                free(want.p);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_outbuf_partial_lines_wait_for_newline_per_stream),
                cmocka_unit_test(test_outbuf_byte_at_a_time_gives_the_same_lines),
                cmocka_unit_test(test_outbuf_long_line_is_cut_at_line_max),
                cmocka_unit_test(test_outbuf_flood_keeps_the_tail_and_counts_dropped_bytes),
                cmocka_unit_test(test_outbuf_one_chunk_bigger_than_keep),
                cmocka_unit_test(test_outbuf_tail_of_empty_and_short_output),
                cmocka_unit_test(test_outbuf_random_chunks_give_the_same_lines_as_one_feed),
        };

        return cmocka_run_group_tests_name("run_outbuf", tests, NULL, NULL);
}
