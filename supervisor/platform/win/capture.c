/* capture.c - running a helper to completion on Windows (ctest's test list
 * for `run --ctest`, an --on-timeout command): started like a worker, in a
 * job of its own, stdin on NUL, stdout and stderr read by one thread each
 * (anonymous pipes cannot be waited on), the job terminated at the timeout
 * or when stdout passes its limit, which ends the pipes and so the readers. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"

#define OUT_MAX (256u << 20)
#define ERR_KEEP (64u << 10)

typedef struct reader {
        HANDLE pipe;
        HANDLE job;    /* terminated when the output passes `max` */
        size_t max;    /* bytes kept */
        bool fail_big; /* past max: fail (stdout) instead of dropping (stderr) */
        char *buf;
        size_t len, cap;
        bool too_big, oom;
} reader;

static void read_all(void *arg) {
        reader *r = arg;
        char chunk[65536], *nb;
        DWORD n;

        while (ReadFile(r->pipe, chunk, sizeof(chunk), &n, NULL) && n > 0) {
                if (r->len + n > r->max) {
                        if (r->fail_big) {
                                r->too_big = true;
                                (void) TerminateJobObject(r->job, SV__WIN_KILL_CODE);
                                break;
                        }
                        n = (DWORD) (r->max - r->len); /* keep the first part */
                }
                if (r->len + n + 1 > r->cap) {
                        size_t cap = (r->len + n + 1) * 2;

                        nb = realloc(r->buf, cap);
                        if (!nb) {
                                r->oom = true;
                                (void) TerminateJobObject(r->job, SV__WIN_KILL_CODE);
                                break;
                        }
                        r->buf = nb;
                        r->cap = cap;
                }
                memcpy(r->buf + r->len, chunk, n);
                r->len += n;
        }
}

/* A pipe whose write end the child inherits (for the call only: spawn.c's
 * handle list) and whose read end stays ours. */
static int make_pipe(HANDLE *rd, HANDLE *wr) {
        SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };

        if (!CreatePipe(rd, wr, &sa, 0))
                return sv__win_error(GetLastError());
        (void) SetHandleInformation(*rd, HANDLE_FLAG_INHERIT, 0);
        return 0;
}

/* Waits for the helper, ends its job at the timeout, then for the readers. */
static int finish(HANDLE proc, HANDLE job, unsigned timeout_ms, uv_thread_t th[2], int *status) {
        DWORD code = 0;
        bool timed_out;

        timed_out = WaitForSingleObject(proc, timeout_ms ? timeout_ms : INFINITE) == WAIT_TIMEOUT;
        /* Whatever it left behind (holding our pipes open) goes too. */
        (void) TerminateJobObject(job, SV__WIN_KILL_CODE);
        (void) WaitForSingleObject(proc, INFINITE);
        (void) uv_thread_join(&th[0]);
        (void) uv_thread_join(&th[1]);
        if (timed_out)
                return UV_ETIMEDOUT;
        (void) GetExitCodeProcess(proc, &code);
        *status = (int) code;
        return 0;
}

int sv__plat_run_capture(const char *const *argv, unsigned timeout_ms, char **out,
                         size_t *out_len, char **err, size_t *err_len, int *out_status) {
        reader rd[2] = { { .max = OUT_MAX, .fail_big = true }, { .max = ERR_KEEP } };
        HANDLE wr[2] = { NULL, NULL }, std[3] = { NULL, NULL, NULL }, job = NULL;
        PROCESS_INFORMATION pi;
        uv_thread_t th[2];
        int r, i, status = 0;

        r = sv__win_job_new(NULL, &job);
        for (i = 0; r == 0 && i < 2; i++)
                r = make_pipe(&rd[i].pipe, &wr[i]);
        if (r < 0)
                goto out;
        std[0] = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                             OPEN_EXISTING, 0, NULL);
        std[1] = wr[0];
        std[2] = wr[1];
        r = sv__win_start(argv, std, job, &pi);
        /* Only the child may hold the write ends now, or EOF never comes. */
        for (i = 0; i < 2; i++) {
                CloseHandle(wr[i]);
                wr[i] = NULL;
        }
        if (r < 0)
                goto out;
        CloseHandle(pi.hThread);
        for (i = 0; i < 2; i++) {
                rd[i].job = job;
                (void) uv_thread_create(&th[i], read_all, &rd[i]);
        }
        r = finish(pi.hProcess, job, timeout_ms, th, &status);
        CloseHandle(pi.hProcess);
        if (r == 0 && (rd[0].too_big || rd[0].oom || rd[1].oom))
                r = rd[0].too_big ? UV_E2BIG : UV_ENOMEM;
        if (r == 0) {
                for (i = 0; i < 2; i++) {
                        if (!rd[i].buf && !(rd[i].buf = malloc(1))) {
                                r = UV_ENOMEM;
                                goto out;
                        }
                        rd[i].buf[rd[i].len] = '\0';
                }
                *out = rd[0].buf;
                *out_len = rd[0].len;
                *err = rd[1].buf;
                *err_len = rd[1].len;
                *out_status = status;
                rd[0].buf = rd[1].buf = NULL;
        }
out:
        for (i = 0; i < 2; i++) {
                if (rd[i].pipe)
                        CloseHandle(rd[i].pipe);
                if (wr[i])
                        CloseHandle(wr[i]);
                free(rd[i].buf);
        }
        if (std[0] && std[0] != INVALID_HANDLE_VALUE)
                CloseHandle(std[0]);
        if (job)
                CloseHandle(job);
        return r;
}
