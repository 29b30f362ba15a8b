/* sv-winexit CODE | --raise CODE | --segv - ends with a 32-bit exit code:
 * ExitProcess(CODE) (hex 0x... or decimal), or an unhandled exception
 * RaiseException(CODE), or a real access violation. The Windows workers'
 * NTSTATUS cases (tests/win/test_win_core.c). Bad argument: exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static int parse_code(const char *s, DWORD *out) {
        char *end;
        unsigned long v = strtoul(s, &end, 0);

        if (end == s || *end)
                return -1;
        *out = (DWORD) v;
        return 0;
}

int main(int argc, char **argv) {
        DWORD code;

        if (argc == 2 && strcmp(argv[1], "--segv") == 0) {
                volatile int *p = NULL;

                *p = 1;
                return 3; /* not reached */
        }
        if (argc == 3 && strcmp(argv[1], "--raise") == 0 && parse_code(argv[2], &code) == 0) {
                RaiseException(code, EXCEPTION_NONCONTINUABLE, 0, NULL);
                return 3;
        }
        if (argc == 2 && parse_code(argv[1], &code) == 0)
                ExitProcess(code);
        fprintf(stderr, "usage: sv-winexit CODE | --raise CODE | --segv\n");
        return 2;
}
