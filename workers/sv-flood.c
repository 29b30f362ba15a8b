/* sv-flood LINES [LEN] - writes LINES lines "line <n> xxx...", n = 1..LINES,
 * each padded with 'x' to LEN characters (default 80) before the newline (a
 * line is never shorter than its "line <n> " prefix), as fast as stdio allows,
 * then exits 0 (1 if a write failed). Bad arguments: one line on stderr, exit 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_count(const char *s, long long max, long long *out) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < 0 || v > max)
                return -1;
        *out = v;
        return 0;
}

int main(int argc, char **argv) {
        static char outbuf[1 << 16];
        long long lines, len = 80, n;
        char *pad;

        if (argc < 2 || argc > 3 || parse_count(argv[1], 1LL << 40, &lines) < 0
            || (argc == 3 && parse_count(argv[2], 1 << 20, &len) < 0)) {
                fprintf(stderr, "usage: sv-flood LINES [LEN]\n");
                return 2;
        }
        pad = malloc((size_t) len + 1);
        if (!pad) {
                fprintf(stderr, "sv-flood: out of memory\n");
                return 1;
        }
        memset(pad, 'x', (size_t) len);
        pad[len] = '\0';
        setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

        for (n = 1; n <= lines; n++) {
                int prefix = printf("line %lld ", n);

                if (prefix < 0)
                        break;
                if (prefix < len)
                        fputs(pad + prefix, stdout);
                putchar('\n');
        }
        free(pad);
        if (fflush(stdout) != 0 || ferror(stdout))
                return 1;
        return 0;
}
