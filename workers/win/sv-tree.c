/* sv-tree FILE [--breakaway] - starts a copy of itself ("sv-tree --child"),
 * writes that child's pid to FILE ("<pid> <how>\n"), then sleeps 100 s; the
 * child sleeps 100 s too. A tree that outlives any timeout, for the tests
 * that check nothing of it survives (tests/win). With --breakaway it first
 * asks for CREATE_BREAKAWAY_FROM_JOB: <how> is "refused" when the job would
 * not let the child out (then it is started inside), "allowed" when it did;
 * else <how> is "plain". Exit 2 on a failure before the sleep. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static BOOL start(char *cmd, DWORD flags, PROCESS_INFORMATION *pi) {
        STARTUPINFOA si;

        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        return CreateProcessA(NULL, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si, pi);
}

int main(int argc, char **argv) {
        PROCESS_INFORMATION pi;
        char self[MAX_PATH], cmd[MAX_PATH + 32];
        const char *how = "plain";
        FILE *f;

        if (argc == 2 && strcmp(argv[1], "--child") == 0) {
                Sleep(100000);
                return 0;
        }
        if (argc != 2 && !(argc == 3 && strcmp(argv[2], "--breakaway") == 0))
                return 2;
        if (GetModuleFileNameA(NULL, self, sizeof(self)) == 0)
                return 2;
        snprintf(cmd, sizeof(cmd), "\"%s\" --child", self);
        if (argc == 3) {
                how = "allowed";
                if (!start(cmd, CREATE_BREAKAWAY_FROM_JOB, &pi)) {
                        how = "refused";
                        if (!start(cmd, 0, &pi))
                                return 2;
                }
        } else if (!start(cmd, 0, &pi)) {
                return 2;
        }
        f = fopen(argv[1], "wb");
        if (!f)
                return 2;
        fprintf(f, "%lu %s\n", (unsigned long) pi.dwProcessId, how);
        if (fclose(f) != 0)
                return 2;
        Sleep(100000);
        return 0;
}
