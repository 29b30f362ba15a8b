/* text.c - bytes from outside (command lines, job output, names) made into
 * text that every report can carry without losing a byte: the one escaping
 * scheme of sv_text_escape(), and base64 for the raw bytes beside it.
 * Owns no state; writes only to a FILE the caller hands it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "run/run_internal.h"

static const char hex[] = "0123456789ABCDEF";

static int add_hex(sv__buf *b, unsigned char c) {
        char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

        return sv__buf_add(b, e, sizeof(e));
}

/* The short form of a control character in SV_TEXT_BACKSLASH mode, or 0. */
static char short_escape(unsigned char c) {
        switch (c) {
        case '\n': return 'n';
        case '\t': return 't';
        case '\r': return 'r';
        case '\\': return '\\';
        default: return 0;
        }
}

/* Whether the single byte c (< 0x80) is shown escaped under `flags`. */
static bool escape_ascii(unsigned char c, unsigned flags) {
        if (c == '\\')
                return flags & SV_TEXT_BACKSLASH;
        if (!(flags & SV_TEXT_CONTROLS) || (c >= 0x20 && c != 0x7f))
                return false;
        if ((flags & SV_TEXT_KEEP_LINES) && (c == '\n' || c == '\t' || c == '\r'))
                return false;
        return true;
}

static int add_ascii(sv__buf *b, unsigned char c, unsigned flags) {
        char e[2] = { '\\', short_escape(c) };

        if ((flags & SV_TEXT_BACKSLASH) && e[1])
                return sv__buf_add(b, e, 2);
        return add_hex(b, c);
}

int sv__buf_add_text(sv__buf *b, const char *s, size_t n, unsigned flags) {
        const unsigned char *u = (const unsigned char *) s;
        size_t i = 0, run = 0, k;
        int escaped = 0;

        while (i < n) {
                k = sv__utf8_seq(u + i, n - i);
                if (k == 1 && !escape_ascii(u[i], flags)) {
                        i++;
                        continue;
                }
                /* C1 controls (U+0080..U+009F) act as escape sequences on
                 * some terminals (U+009B is CSI). */
                if (k > 1 && !(k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0 &&
                               (flags & SV_TEXT_CONTROLS))) {
                        i += k;
                        continue;
                }
                (void) sv__buf_add(b, s + run, i - run);
                if (k == 1) {
                        (void) add_ascii(b, u[i], flags);
                } else if (k == 2) {
                        (void) add_hex(b, u[i]);
                        (void) add_hex(b, u[i + 1]);
                } else {
                        /* Not UTF-8: the byte itself, and the caller learns it. */
                        (void) add_hex(b, u[i]);
                        escaped++;
                }
                i += k ? k : 1;
                run = i;
        }
        (void) sv__buf_add(b, s + run, n - run);
        return b->oom ? UV_ENOMEM : escaped;
}

char *sv_text_escape(const char *s, size_t len, unsigned flags, size_t *out_len,
                     size_t *out_invalid) {
        sv__buf b = SV__BUF_INIT;
        size_t n;
        int r;

        r = sv__buf_add_text(&b, s ? s : "", s ? len : 0, flags);
        n = b.len;
        if (r < 0) {
                sv__buf_release(&b);
                return NULL;
        }
        if (out_len)
                *out_len = n;
        if (out_invalid)
                *out_invalid = (size_t) r;
        return sv__buf_steal(&b);
}

/* The one terminal escaping, shared by the runner's diagnostics and every
 * CLI subcommand that shows a name or a command line. */
void sv_text_put_term(FILE *f, const char *s, size_t len) {
        char *t;
        size_t n;

        t = sv_text_escape(s, len, SV_TEXT_CONTROLS | SV_TEXT_BACKSLASH, &n, NULL);
        if (!t) {
                (void) fputs("?", f);
                return;
        }
        (void) fwrite(t, 1, n, f);
        free(t);
}

char *sv_base64(const void *data, size_t len) {
        static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = data;
        size_t i, o = 0;
        uint32_t v;
        char *out;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
                return NULL;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        for (i = 0; i + 2 < len; i += 3) {
                v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
                out[o++] = abc[v >> 18];
                out[o++] = abc[(v >> 12) & 63];
                out[o++] = abc[(v >> 6) & 63];
                out[o++] = abc[v & 63];
        }
        if (i < len) {
                v = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8 : 0);
                out[o++] = abc[v >> 18];
                out[o++] = abc[(v >> 12) & 63];
                out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
                out[o++] = '=';
        }
        out[o] = '\0';
        return out;
}
