/* sv-break EVENT - a console program with a Ctrl handler: exits 77 on
 * CTRL_BREAK_EVENT, 78 on CTRL_C_EVENT, 79 on CTRL_CLOSE_EVENT. Sets the
 * named event EVENT once the handler is in place, then waits 60 s and
 * exits 99 (nothing arrived). The CTRL_BREAK delivery test's worker. */
#include <stdio.h>
#include <windows.h>

static BOOL WINAPI on_ctrl(DWORD type) {
        switch (type) {
        case CTRL_BREAK_EVENT:
                ExitProcess(77);
        case CTRL_C_EVENT:
                ExitProcess(78);
        case CTRL_CLOSE_EVENT:
                ExitProcess(79);
        default:
                return FALSE;
        }
}

int main(int argc, char **argv) {
        HANDLE ready;

        if (argc != 2)
                return 2;
        if (!SetConsoleCtrlHandler(on_ctrl, TRUE))
                return 3;
        ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, argv[1]);
        if (!ready || !SetEvent(ready))
                return 4;
        Sleep(60000);
        return 99;
}
