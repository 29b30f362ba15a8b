/* sv-tree FILE - starts a copy of itself ("sv-tree --child"), writes that
 * child's pid to FILE ("<pid>\n"), then sleeps 100 s; the child sleeps 100 s
 * too. A tree that outlives any timeout, for the tests that check nothing
 * of it survives (tests/win). Exit 2 on a failure before the sleep. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv) {
        STARTUPINFOA si;
        PROCESS_INFORMATION pi;
        char self[MAX_PATH], cmd[MAX_PATH + 32];
        FILE *f;

        if (argc == 2 && strcmp(argv[1], "--child") == 0) {
                Sleep(100000);
                return 0;
        }
        if (argc != 2)
                return 2;
        if (GetModuleFileNameA(NULL, self, sizeof(self)) == 0)
                return 2;
        snprintf(cmd, sizeof(cmd), "\"%s\" --child", self);
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
                return 2;
        f = fopen(argv[1], "wb");
        if (!f)
                return 2;
        fprintf(f, "%lu\n", (unsigned long) pi.dwProcessId);
        if (fclose(f) != 0)
                return 2;
        Sleep(100000);
        return 0;
}
