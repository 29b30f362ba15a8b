/* quote.c - an argv as one Windows command line. A Windows program gets its
 * arguments as one string and splits it itself; nearly all (the Microsoft
 * C runtime, CommandLineToArgvW, mingw) split it by the same documented
 * rules ("Parsing C command-line arguments"), which this inverts, so that
 * the child's argv is ours byte for byte. cmd.exe's own rules (^, %, &)
 * are never involved: we start programs, never a shell. Pure: no OS call. */
#include <stdlib.h>
#include <string.h>

#include "platform/win/win.h"

static bool needs_quotes(const char *a) {
        return *a == '\0' || strpbrk(a, " \t\n\v\"") != NULL;
}

/* The length of a quoted, in the worst case (every byte a quote or a
 * backslash, each doubled, plus the quotes and a separator). */
static size_t worst_len(const char *const *argv) {
        size_t n = 1;

        for (; *argv; argv++)
                n += 2 * strlen(*argv) + 3;
        return n;
}

static char *put_backslashes(char *p, size_t n) {
        while (n--)
                *p++ = '\\';
        return p;
}

/* Inside quotes, backslashes are literal unless a quote follows them: then
 * 2n of them stand for n, and an odd one escapes the quote. */
static char *put_quoted(char *p, const char *a) {
        size_t bs;

        *p++ = '"';
        for (;;) {
                for (bs = 0; *a == '\\'; a++)
                        bs++;
                if (*a == '\0') {
                        p = put_backslashes(p, 2 * bs); /* before our closing quote */
                        break;
                }
                if (*a == '"') {
                        p = put_backslashes(p, 2 * bs + 1);
                } else {
                        p = put_backslashes(p, bs);
                }
                *p++ = *a++;
        }
        *p++ = '"';
        return p;
}

char *sv__win_quote_argv(const char *const *argv) {
        char *line = malloc(worst_len(argv)), *p = line;
        size_t len;

        if (!line)
                return NULL;
        for (; *argv; argv++) {
                if (p != line)
                        *p++ = ' ';
                if (!needs_quotes(*argv)) {
                        len = strlen(*argv);
                        memcpy(p, *argv, len);
                        p += len;
                } else {
                        p = put_quoted(p, *argv);
                }
        }
        *p = '\0';
        return line;
}
