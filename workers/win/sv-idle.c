/* sv-idle.c - a Windows test worker that only waits: it sleeps MS
 * milliseconds (default 120000) and exits 0, so that one a test forgot
 * ends by itself. tests/win/test_win_find.c copies it to make.exe and
 * starts twenty of it, the seed case of `supervise ps` and `kill`. */
#include <windows.h>

#include <stdlib.h>

int main(int argc, char **argv) {
        DWORD ms = 120000;

        if (argc > 1)
                ms = (DWORD) strtoul(argv[1], NULL, 10);
        Sleep(ms);
        return 0;
}
