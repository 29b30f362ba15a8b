/* spawn.c - starting a worker on Windows with our own CreateProcessW, since
 * libuv's uv_spawn can neither give a child a process group of its own
 * while it shares our console (what CTRL_BREAK_EVENT needs) nor keep its
 * grandchildren from breaking away from its job. The child is created
 * suspended in a new process group, put in a job object (the worker's
 * sv__cg, or one of its own) that allows no breakaway and kills on close,
 * and only then resumed: nothing it starts can be outside the job. Never
 * goes through cmd.exe; the command line is quoted from argv (quote.c). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/win/win.h"


/* The environment block: "k=v\0...\0\0" in UTF-16. Entries that are our
 * own inherited environment (core copies _environ's pointers) are in the
 * ANSI code page, as the C runtime keeps them; all others are UTF-8. */
static wchar_t *make_env(const char *const *envp) {
        size_t total = 1, used = 0, i, k;
        wchar_t **parts;
        wchar_t *block = NULL;

        for (i = 0; envp[i]; i++)
                ;
        parts = calloc(i + 1, sizeof(*parts));
        if (!parts)
                return NULL;
        for (k = 0; k < i; k++) {
                bool ours = _environ && envp[k] == _environ[k];

                parts[k] = sv__win_wide(envp[k], ours ? CP_ACP : CP_UTF8);
                if (!parts[k])
                        goto out;
                total += wcslen(parts[k]) + 1;
        }
        block = malloc(total * sizeof(*block));
        for (k = 0; block && k < i; k++) {
                size_t n = wcslen(parts[k]) + 1;

                memcpy(block + used, parts[k], n * sizeof(*block));
                used += n;
        }
        if (block)
                block[used] = L'\0';
out:
        for (k = 0; k < i; k++)
                free(parts[k]);
        free(parts);
        return block;
}

/* argv[0] as a path: as given if it names a directory, else looked up in
 * the child's PATH with ".exe" added when it has no extension. NULL means
 * "let CreateProcessW search" (its own directory, system32, our PATH),
 * which finds cmd.exe and the like when the PATH given does not. */
static wchar_t *find_program(const char *arg0, const char *path) {
        wchar_t *name, *dirs = NULL, *found = NULL;
        wchar_t buf[MAX_PATH];
        DWORD n;

        if (strpbrk(arg0, "/\\:") || !path)
                return NULL;
        name = sv__win_wide(arg0, CP_UTF8);
        dirs = sv__win_wide(path, CP_UTF8);
        if (name && dirs) {
                n = SearchPathW(dirs, name, L".exe", MAX_PATH, buf, NULL);
                if (n > 0 && n < MAX_PATH)
                        found = _wcsdup(buf);
        }
        free(name);
        free(dirs);
        return found;
}

/* The three handles the child gets: ours where the request says inherit,
 * else the CRT fd's. They are made inheritable for the call only, and the
 * handle list limits inheritance to exactly these, so that a child spawned
 * at the same time on another thread gets none of them. */
typedef struct stdio_set {
        HANDLE h[3];
        HANDLE list[3];
        DWORD nlist;
        LPPROC_THREAD_ATTRIBUTE_LIST attrs;
} stdio_set;

static int stdio_prepare(const HANDLE std[3], stdio_set *s) {
        static const DWORD std_ids[3] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE };
        SIZE_T size = 0;
        DWORD i, k;

        memset(s, 0, sizeof(*s));
        for (i = 0; i < 3; i++) {
                s->h[i] = std[i] ? std[i] : GetStdHandle(std_ids[i]);
                if (s->h[i] == INVALID_HANDLE_VALUE || s->h[i] == NULL) {
                        s->h[i] = NULL; /* no console and no redirection: none */
                        continue;
                }
                for (k = 0; k < s->nlist && s->list[k] != s->h[i]; k++)
                        ;
                if (k == s->nlist && SetHandleInformation(s->h[i], HANDLE_FLAG_INHERIT,
                                                          HANDLE_FLAG_INHERIT))
                        s->list[s->nlist++] = s->h[i];
        }
        (void) InitializeProcThreadAttributeList(NULL, 1, 0, &size);
        s->attrs = malloc(size);
        if (!s->attrs || !InitializeProcThreadAttributeList(s->attrs, 1, 0, &size)) {
                free(s->attrs);
                s->attrs = NULL;
                return UV_ENOMEM;
        }
        if (s->nlist > 0 &&
            !UpdateProcThreadAttribute(s->attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, s->list,
                                       s->nlist * sizeof(HANDLE), NULL, NULL))
                return sv__win_error(GetLastError());
        return 0;
}

static void stdio_release(stdio_set *s) {
        DWORD i;

        /* Our own stdio stays inheritable as we found it: only the fds'
         * handles (pipes, NUL) lose the flag again. */
        for (i = 0; i < s->nlist; i++)
                if (s->list[i] != GetStdHandle(STD_INPUT_HANDLE) &&
                    s->list[i] != GetStdHandle(STD_OUTPUT_HANDLE) &&
                    s->list[i] != GetStdHandle(STD_ERROR_HANDLE))
                        (void) SetHandleInformation(s->list[i], HANDLE_FLAG_INHERIT, 0);
        if (s->attrs) {
                DeleteProcThreadAttributeList(s->attrs);
                free(s->attrs);
        }
}

static int spawn_error(DWORD err) {
        switch (err) {
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_NAME:
                return UV_ENOENT;
        case ERROR_BAD_EXE_FORMAT:
        case ERROR_EXE_MACHINE_TYPE_MISMATCH:
        case ERROR_ACCESS_DENIED:
                return UV_EACCES;
        default:
                return sv__win_error(err);
        }
}

/* The job the child goes into: the worker's (its sv__cg, opened by name)
 * or a new one of its own, which its slot then owns. */
static int open_job(const sv__spawn_req *req, HANDLE *out, bool *own) {
        wchar_t *name;

        if (!req->cgroup) {
                *own = true;
                return sv__win_job_new(NULL, out);
        }
        *own = false;
        name = sv__win_wide(req->cgroup, CP_UTF8);
        if (!name)
                return UV_ENOMEM;
        *out = OpenJobObjectW(JOB_OBJECT_ASSIGN_PROCESS | JOB_OBJECT_TERMINATE, FALSE, name);
        free(name);
        return *out ? 0 : sv__win_error(GetLastError());
}

/* CreateProcessW, then into the job, then resume. */
static int launch(const HANDLE std[3], wchar_t *app, wchar_t *cmd, wchar_t *env, wchar_t *cwd,
                  HANDLE job, PROCESS_INFORMATION *pi) {
        STARTUPINFOEXW si;
        stdio_set io;
        DWORD flags = CREATE_NEW_PROCESS_GROUP | CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT |
                      EXTENDED_STARTUPINFO_PRESENT;
        int r;

        r = stdio_prepare(std, &io);
        if (r < 0) {
                stdio_release(&io);
                return r;
        }
        memset(&si, 0, sizeof(si));
        si.StartupInfo.cb = sizeof(si);
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = io.h[0];
        si.StartupInfo.hStdOutput = io.h[1];
        si.StartupInfo.hStdError = io.h[2];
        si.lpAttributeList = io.attrs;
        if (!CreateProcessW(app, cmd, NULL, NULL, io.nlist > 0, flags, env, cwd,
                            &si.StartupInfo, pi)) {
                r = spawn_error(GetLastError());
                stdio_release(&io);
                return r;
        }
        stdio_release(&io);
        if (!AssignProcessToJobObject(job, pi->hProcess)) {
                /* Never let it run outside the job: it has not run yet. */
                r = sv__win_error(GetLastError());
                (void) TerminateProcess(pi->hProcess, SV__WIN_KILL_CODE);
                (void) WaitForSingleObject(pi->hProcess, 5000);
                CloseHandle(pi->hThread);
                CloseHandle(pi->hProcess);
                return r;
        }
        (void) ResumeThread(pi->hThread);
        CloseHandle(pi->hThread);
        return 0;
}

int sv__plat_spawn(const sv__spawn_req *req, sv__spawn_res *out) {
        wchar_t *app = NULL, *cmd = NULL, *env = NULL, *cwd = NULL;
        char *line;
        HANDLE job = NULL, std[3];
        PROCESS_INFORMATION pi;
        sv__win_slot *s;
        bool own = false;
        int r, fd, i;

        if (!req->argv || !req->argv[0])
                return UV_EINVAL;
        for (i = 0; i < 3; i++) /* NULL: ours */
                std[i] = req->stdio_fd[i] >= 0 ? (HANDLE) _get_osfhandle(req->stdio_fd[i]) : NULL;
        line = sv__win_quote_argv(req->argv);
        cmd = line ? sv__win_wide(line, CP_UTF8) : NULL;
        free(line);
        env = make_env(req->envp);
        cwd = req->cwd ? sv__win_wide(req->cwd, CP_UTF8) : NULL;
        r = UV_ENOMEM;
        if (!cmd || !env || (req->cwd && !cwd))
                goto out;
        app = find_program(req->argv[0], req->path);
        fd = sv__win_slot_new(SV__WIN_PROC);
        if (fd < 0) {
                r = fd;
                goto out;
        }
        r = open_job(req, &job, &own);
        if (r == 0)
                r = launch(std, app, cmd, env, cwd, job, &pi);
        if (r < 0) {
                if (job)
                        CloseHandle(job);
                sv__plat_close(fd);
                goto out;
        }
        s = sv__win_slot_get(fd);
        s->h = pi.hProcess;
        s->pid = pi.dwProcessId;
        s->job = own ? job : NULL;
        if (!own)
                CloseHandle(job); /* the sv__cg keeps the job's own handle */
        out->pid = (pid_t) pi.dwProcessId;
        out->pidfd = fd;
out:
        free(app);
        free(cmd);
        free(env);
        free(cwd);
        return r;
}

int sv__win_start(const char *const *argv, const HANDLE std[3], HANDLE job,
                  PROCESS_INFORMATION *pi) {
        wchar_t *app, *cmd;
        char *line;
        int r;

        if (!argv || !argv[0])
                return UV_EINVAL;
        line = sv__win_quote_argv(argv);
        cmd = line ? sv__win_wide(line, CP_UTF8) : NULL;
        free(line);
        if (!cmd)
                return UV_ENOMEM;
        app = find_program(argv[0], getenv("PATH"));
        r = launch(std, app, cmd, NULL, NULL, job, pi);
        free(app);
        free(cmd);
        return r;
}
