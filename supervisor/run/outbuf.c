/* outbuf.c - one job's captured output. Owns the partial line of each stream
 * and a byte ring of the lines kept for the grouped print. It never prints
 * and never reads a pipe: the caller feeds it chunks and receives whole lines
 * through its callback. Memory is bounded by keep_bytes + 2 * LINE_MAX. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "run/run_internal.h"

#define TAIL_MAX_BYTES (64u * 1024u)

typedef struct partial {
        char *p;
        size_t len; /* <= SV_OUTBUF_LINE_MAX */
        bool eof;
} partial;

struct sv_outbuf {
        sv_outbuf_line_cb on_line;
        void *arg;
        partial part[2]; /* [0] stdout, [1] stderr */

        /* The kept lines: a ring of `cap` bytes once it has grown to `keep`.
         * Until the first wrap, start == 0 and the ring is a plain buffer. */
        char *ring;
        size_t cap;
        size_t keep;
        size_t start;
        size_t len;
        uint64_t dropped; /* bytes overwritten or refused */

        char *flat; /* linearised copy for sv_outbuf_text */
        uint64_t total_bytes;
        uint64_t total_lines;
};

int sv_outbuf_new(const sv_outbuf_opts *opts, sv_outbuf **out) {
        sv_outbuf *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return UV_ENOMEM;
        b->keep = SV_OUTBUF_KEEP_DEFAULT;
        if (opts) {
                if (opts->keep_bytes)
                        b->keep = opts->keep_bytes;
                b->on_line = opts->on_line;
                b->arg = opts->arg;
        }
        if (b->keep < SV_OUTBUF_KEEP_MIN)
                b->keep = SV_OUTBUF_KEEP_MIN;
        *out = b;
        return 0;
}

void sv_outbuf_free(sv_outbuf *b) {
        if (!b)
                return;
        free(b->part[0].p);
        free(b->part[1].p);
        free(b->ring);
        free(b->flat);
        free(b);
}

/* Grows the ring, while it has not wrapped, towards `keep`. */
static void ring_grow(sv_outbuf *b, size_t need) {
        size_t cap;
        char *p;

        if (b->start != 0 || need <= b->cap || b->cap >= b->keep)
                return;
        cap = b->cap ? b->cap : 4096;
        while (cap < need && cap < b->keep)
                cap *= 2;
        if (cap > b->keep)
                cap = b->keep;
        p = realloc(b->ring, cap);
        /* Out of memory: keep what fits in the ring we have; the rest is
         * counted as dropped by ring_put. */
        if (!p)
                return;
        b->ring = p;
        b->cap = cap;
}

static void ring_put(sv_outbuf *b, const char *d, size_t n) {
        size_t w, first, over;

        ring_grow(b, b->len + n);
        if (b->cap == 0) {
                b->dropped += n;
                return;
        }
        if (n >= b->cap) {
                b->dropped += b->len + (n - b->cap);
                d += n - b->cap;
                n = b->cap;
                b->start = 0;
                b->len = 0;
        }
        over = b->len + n > b->cap ? b->len + n - b->cap : 0;
        w = (b->start + b->len) % b->cap;
        first = n < b->cap - w ? n : b->cap - w;
        memcpy(b->ring + w, d, first);
        memcpy(b->ring, d + first, n - first);
        b->len += n - over;
        b->start = (b->start + over) % b->cap;
        b->dropped += over;
}

static void emit(sv_outbuf *b, int fd, const char *line, size_t len, unsigned flags) {
        b->total_lines++;
        ring_put(b, line, len);
        ring_put(b, "\n", 1);
        if (b->on_line)
                b->on_line(fd, line, len, flags, b->arg);
}

/* Appends to the stream's partial line, emitting a cut piece whenever it
 * reaches LINE_MAX. */
static int partial_add(sv_outbuf *b, int fd, const char *d, size_t n) {
        partial *pl = &b->part[fd - 1];
        size_t take;

        while (n > 0) {
                if (!pl->p) {
                        pl->p = malloc(SV_OUTBUF_LINE_MAX);
                        if (!pl->p) {
                                b->dropped += n;
                                return UV_ENOMEM;
                        }
                }
                /* Cut only when more bytes arrive for a full line, so a line of
                 * exactly LINE_MAX bytes followed by its newline stays whole. */
                if (pl->len == SV_OUTBUF_LINE_MAX) {
                        emit(b, fd, pl->p, pl->len, SV_OUTBUF_LINE_CUT);
                        pl->len = 0;
                }
                take = SV_OUTBUF_LINE_MAX - pl->len;
                if (take > n)
                        take = n;
                memcpy(pl->p + pl->len, d, take);
                pl->len += take;
                d += take;
                n -= take;
        }
        return 0;
}

int sv_outbuf_feed(sv_outbuf *b, int fd, const char *buf, size_t len) {
        partial *pl;
        const char *nl;
        size_t n;
        int r;

        if (fd != 1 && fd != 2)
                return UV_EINVAL;
        pl = &b->part[fd - 1];
        if (len == 0) {
                if (pl->len > 0)
                        emit(b, fd, pl->p, pl->len, SV_OUTBUF_LINE_NO_EOL);
                pl->len = 0;
                pl->eof = true;
                return 0;
        }
        b->total_bytes += len;
        while (len > 0) {
                nl = memchr(buf, '\n', len);
                if (!nl)
                        return partial_add(b, fd, buf, len);
                n = (size_t) (nl - buf);
                if (pl->len == 0) {
                        /* The common case: a whole line in the chunk, no copy. */
                        emit(b, fd, buf, n, 0);
                } else {
                        r = partial_add(b, fd, buf, n);
                        if (r < 0)
                                return r;
                        emit(b, fd, pl->p, pl->len, 0);
                        pl->len = 0;
                }
                buf += n + 1;
                len -= n + 1;
        }
        return 0;
}

void sv_outbuf_finish(sv_outbuf *b) {
        (void) sv_outbuf_feed(b, 1, NULL, 0);
        (void) sv_outbuf_feed(b, 2, NULL, 0);
}

/* Copies the ring into one buffer, from the first whole line after a cut. */
const char *sv_outbuf_text(sv_outbuf *b, size_t *out_len, uint64_t *out_dropped) {
        size_t first, skip = 0, n;
        char *p;

        p = realloc(b->flat, b->len + 1);
        if (!p) {
                *out_len = 0;
                *out_dropped = b->dropped + b->len;
                return "";
        }
        b->flat = p;
        first = b->len < b->cap - b->start ? b->len : b->cap - b->start;
        if (b->len) {
                memcpy(p, b->ring + b->start, first);
                memcpy(p + first, b->ring, b->len - first);
        }
        p[b->len] = '\0';
        n = b->len;
        if (b->dropped > 0) {
                char *nl = memchr(p, '\n', n);

                skip = nl ? (size_t) (nl - p) + 1 : n;
        }
        *out_len = n - skip;
        *out_dropped = b->dropped + skip;
        return p + skip;
}

char *sv_outbuf_tail(sv_outbuf *b, unsigned nlines) {
        return sv_outbuf_tailn(b, nlines, NULL);
}

char *sv_outbuf_tailn(sv_outbuf *b, unsigned nlines, size_t *out_len) {
        size_t len, i, start;
        uint64_t dropped;
        unsigned seen = 0;
        const char *t;
        char *s;

        if (nlines == 0)
                nlines = SV_OUTBUF_TAIL_LINES;
        t = sv_outbuf_text(b, &len, &dropped);
        /* Every kept line ends in '\n'; count back nlines + 1 of them. */
        start = 0;
        for (i = len; i > 0; i--) {
                if (t[i - 1] == '\n' && i != len && ++seen == nlines) {
                        start = i;
                        break;
                }
        }
        if (len - start > TAIL_MAX_BYTES)
                start = len - TAIL_MAX_BYTES;
        s = malloc(len - start + 1);
        if (!s)
                return NULL;
        memcpy(s, t + start, len - start);
        s[len - start] = '\0';
        if (out_len)
                *out_len = len - start;
        return s;
}

uint64_t sv_outbuf_total_bytes(const sv_outbuf *b) {
        return b->total_bytes;
}

uint64_t sv_outbuf_total_lines(const sv_outbuf *b) {
        return b->total_lines;
}
