/* ctest.c - imports a CMake build directory's test list. Owns the run of
 * `ctest --show-only=json-v1` (posix_spawn with an argv, never a shell; it
 * waits for that one pid only, never waitpid(-1), so libuv's reaping is not
 * disturbed) and the translation of its JSON into sv_jobs. Never prints. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "run/run_internal.h"

#define CTEST_LIMIT_MS 60000
#define CTEST_MAX_OUTPUT (256u * 1024u * 1024u)
#define STDERR_KEEP 400

extern char **environ;

/* ---- JSON to jobs ---- */

/* Copies a JSON array of strings into a new NULL-terminated array. Returns
 * 0, UV_EINVAL if an element is not a string, or UV_ENOMEM. */
static int str_array(json_t *a, char ***out) {
        size_t i, n = json_array_size(a);
        char **v;

        v = calloc(n + 1, sizeof(*v));
        if (!v)
                return UV_ENOMEM;
        for (i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(a, i));

                /* ctest never lists a non-string; if it did, refusing it beats
                 * running a command with a hole in its argv. */
                if (!s) {
                        sv_argv_free(v);
                        return UV_EINVAL;
                }
                v[i] = strdup(s);
                if (!v[i]) {
                        sv_argv_free(v);
                        return UV_ENOMEM;
                }
        }
        *out = v;
        return 0;
}

/* Applies one entry of "properties" to the job. Returns 0, UV_EINVAL for a
 * property of the wrong type, or UV_ENOMEM. */
static int apply_property(sv_job *job, const char *name, json_t *value) {
        double secs, ms;

        if (strcmp(name, "WORKING_DIRECTORY") == 0) {
                if (!json_is_string(value))
                        return UV_EINVAL;
                free(job->cwd);
                job->cwd = strdup(json_string_value(value));
                return job->cwd ? 0 : UV_ENOMEM;
        }
        if (strcmp(name, "ENVIRONMENT") == 0) {
                if (!json_is_array(value))
                        return UV_EINVAL;
                sv_argv_free(job->env);
                job->env = NULL;
                return str_array(value, &job->env);
        }
        if (strcmp(name, "TIMEOUT") == 0) {
                if (!json_is_number(value))
                        return UV_EINVAL;
                secs = json_number_value(value);
                /* ctest treats 0 (and negatives) as "no timeout". */
                if (!(secs > 0))
                        job->timeout_ms = 0;
                else if (secs > 1e12)
                        job->timeout_ms = UINT64_C(1000000000000000);
                else {
                        /* Round up: a 0.0001 s timeout must not become "none". */
                        ms = secs * 1000.0;
                        job->timeout_ms = (uint64_t) ms;
                        if ((double) job->timeout_ms < ms)
                                job->timeout_ms++;
                }
                return 0;
        }
        if (strcmp(name, "DISABLED") == 0 || strcmp(name, "WILL_FAIL") == 0) {
                unsigned flag = name[0] == 'D' ? SV_JOB_DISABLED : SV_JOB_WILL_FAIL;

                if (!json_is_boolean(value))
                        return UV_EINVAL;
                if (json_is_true(value))
                        job->flags |= flag;
                else
                        job->flags &= ~flag;
                return 0;
        }
        if (strcmp(name, "SKIP_RETURN_CODE") == 0) {
                if (!json_is_integer(value))
                        return UV_EINVAL;
                job->skip_code = json_integer_value(value) >= 0 && json_integer_value(value) <= 255
                                         ? (int) json_integer_value(value)
                                         : -1;
                return 0;
        }
        return 0;
}

static int add_test(json_t *t, size_t idx, sv_joblist *out, char *err, size_t errlen) {
        json_t *name = json_object_get(t, "name");
        json_t *cmd = json_object_get(t, "command");
        json_t *props = json_object_get(t, "properties");
        sv_job *job;
        size_t i;
        int r;

        if (!json_is_string(name) || json_string_length(name) == 0) {
                sv__err(err, errlen, "ctest JSON: test %zu has no name", idx);
                return UV_EINVAL;
        }
        if ((cmd && (!json_is_array(cmd) || json_array_size(cmd) == 0)) ||
            (props && !json_is_array(props))) {
                sv__err(err, errlen, "ctest JSON: test '%s' is malformed", json_string_value(name));
                return UV_EINVAL;
        }
        job = sv__joblist_push(out);
        if (!job)
                return UV_ENOMEM;
        job->name = strdup(json_string_value(name));
        if (!job->name)
                return UV_ENOMEM;
        /* No "command": ctest could not find the executable ("Not Available"). */
        if (cmd) {
                r = str_array(cmd, &job->argv);
                if (r < 0) {
                        if (r == UV_EINVAL)
                                sv__err(err, errlen, "ctest JSON: test '%s': bad command",
                                        job->name);
                        return r;
                }
        } else {
                job->argv = calloc(1, sizeof(char *));
                if (!job->argv)
                        return UV_ENOMEM;
                job->flags |= SV_JOB_UNAVAILABLE;
        }
        for (i = 0; i < json_array_size(props); i++) {
                json_t *p = json_array_get(props, i);
                const char *pn = json_string_value(json_object_get(p, "name"));

                if (!pn)
                        continue;
                r = apply_property(job, pn, json_object_get(p, "value"));
                if (r < 0) {
                        if (r == UV_EINVAL)
                                sv__err(err, errlen, "ctest JSON: test '%s': bad %s property",
                                        job->name, pn);
                        return r;
                }
        }
        return 0;
}

/* The message quotes test and property names and jansson's text near the
 * error, all from the listing, which may hold line breaks ("a\nb" is a valid
 * test name): make it the one line the caller prints. */
static void one_line(char *err) {
        for (; err && *err; err++)
                if ((unsigned char) *err < 0x20 || *err == 0x7f)
                        *err = '?';
}

int sv_ctest_parse(const char *json, size_t len, sv_joblist *out, char *err, size_t errlen) {
        size_t from = out->count, old_cap = out->cap, i;
        json_error_t je;
        json_t *root, *tests;
        const char *kind;
        int r = 0;

        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
                sv__err(err, errlen, "ctest JSON: line %d: %s", je.line, je.text);
                one_line(errlen ? err : NULL);
                return UV_EINVAL;
        }
        tests = json_object_get(root, "tests");
        kind = json_string_value(json_object_get(root, "kind"));
        if (!json_is_array(tests) || !kind || strcmp(kind, "ctestInfo") != 0) {
                sv__err(err, errlen, "ctest JSON: not a ctest --show-only=json-v1 listing");
                r = UV_EINVAL;
                goto out;
        }
        for (i = 0; i < json_array_size(tests) && r == 0; i++) {
                json_t *t = json_array_get(tests, i);

                if (!json_is_object(t)) {
                        sv__err(err, errlen, "ctest JSON: test %zu is not an object", i);
                        r = UV_EINVAL;
                        break;
                }
                r = add_test(t, i, out, err, errlen);
        }
        if (r == UV_ENOMEM)
                sv__err(err, errlen, "ctest JSON: out of memory");
out:
        json_decref(root);
        if (r < 0) {
                one_line(errlen ? err : NULL);
                sv__joblist_rollback(out, from, old_cap);
                return r;
        }
        return (int) (out->count - from);
}

/* ---- Running ctest ---- */

static uint64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Reads stdout and stderr until both are closed or the deadline passes.
 * Returns 0, UV_ETIMEDOUT, UV_E2BIG or a read error. */
static int drain(int fds[2], sv__buf *bufs[2], uint64_t deadline) {
        struct pollfd pfd[2];
        char chunk[65536];
        uint64_t now;
        ssize_t n;
        int i, r;

        while (fds[0] >= 0 || fds[1] >= 0) {
                now = now_ms();
                if (now >= deadline)
                        return UV_ETIMEDOUT;
                for (i = 0; i < 2; i++) {
                        pfd[i].fd = fds[i];
                        pfd[i].events = POLLIN;
                        pfd[i].revents = 0;
                }
                r = poll(pfd, 2, (int) (deadline - now));
                if (r < 0 && errno != EINTR)
                        return -errno;
                for (i = 0; r > 0 && i < 2; i++) {
                        if (fds[i] < 0 || !pfd[i].revents)
                                continue;
                        n = read(fds[i], chunk, sizeof(chunk));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                (void) close(fds[i]);
                                fds[i] = -1;
                                continue;
                        }
                        if (i == 1 && bufs[1]->len > 64 * 1024)
                                continue; /* ctest's stderr: the start is enough */
                        if (bufs[i]->len + (size_t) n > CTEST_MAX_OUTPUT)
                                return UV_E2BIG;
                        if (sv__buf_add(bufs[i], chunk, (size_t) n) < 0)
                                return UV_ENOMEM;
                }
        }
        return 0;
}

/* Finds `prog` as execvp would (PATH, default "/bin:/usr/bin"), so a missing
 * ctest is UV_ENOENT even where posix_spawn cannot report exec failures
 * (valgrind runs it as a plain fork, and the child just exits 127). */
static int resolve(const char *prog, char *out, size_t outlen) {
        const char *path = getenv("PATH"), *p, *end;
        int r = UV_ENOENT;

        if (strchr(prog, '/')) {
                if (access(prog, X_OK) < 0)
                        return -errno;
                (void) snprintf(out, outlen, "%s", prog);
                return 0;
        }
        if (!path || !*path)
                path = "/bin:/usr/bin";
        for (p = path; p; p = *end ? end + 1 : NULL) {
                end = strchr(p, ':');
                if (!end)
                        end = p + strlen(p);
                if ((size_t) snprintf(out, outlen, "%.*s%s%s", (int) (end - p), p,
                                      end == p ? "" : "/", prog) >= outlen)
                        continue;
                if (access(out, X_OK) == 0)
                        return 0;
                if (errno == EACCES)
                        r = UV_EACCES;
        }
        return r;
}

static int spawn_ctest(const char *ctest, const char *dir, int out_fd, int err_fd, pid_t *pid) {
        const char *argv[] = { ctest, "--show-only=json-v1", "--test-dir", dir, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        r = posix_spawn_file_actions_init(&fa);
        if (r)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r) {
                (void) posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        /* The child starts clean: our signal mask and handlers are libuv's. */
        (void) sigemptyset(&none);
        (void) sigfillset(&all);
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setsigdefault(&attr, &all);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        (void) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        (void) posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        (void) posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        (void) posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        r = posix_spawn(pid, ctest, &fa, &attr, (char *const *) argv, environ);
        (void) posix_spawnattr_destroy(&attr);
        (void) posix_spawn_file_actions_destroy(&fa);
        return -r;
}

static void stderr_tail(const sv__buf *b, char out[STDERR_KEEP + 1]) {
        size_t n = b->len, i;

        while (n > 0 && (b->p[n - 1] == '\n' || b->p[n - 1] == ' '))
                n--;
        if (n > STDERR_KEEP)
                n = STDERR_KEEP;
        for (i = 0; i < n; i++)
                out[i] = b->p[i] == '\n' || (unsigned char) b->p[i] < 0x20 ? ' ' : b->p[i];
        out[n] = '\0';
}

int sv_ctest_list(const char *ctest, const char *build_dir, char **out_json, size_t *out_len,
                  char *err, size_t errlen) {
        sv__buf out = SV__BUF_INIT, errb = SV__BUF_INIT;
        sv__buf *bufs[2] = { &out, &errb };
        int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, fds[2];
        char tail[STDERR_KEEP + 1];
        pid_t pid = -1, w;
        int r, status = 0;
        char exe[PATH_MAX];
        char *text;
        size_t len;

        if (!ctest)
                ctest = "ctest";
        if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
                r = -errno;
                sv__err(err, errlen, "cannot run ctest: %s", uv_strerror(r));
                goto out;
        }
        r = resolve(ctest, exe, sizeof(exe));
        if (r == 0)
                r = spawn_ctest(exe, build_dir, po[1], pe[1], &pid);
        (void) close(po[1]);
        (void) close(pe[1]);
        po[1] = pe[1] = -1;
        if (r < 0) {
                sv__err(err, errlen, "cannot run '%s': %s", ctest, uv_strerror(r));
                pid = -1;
                goto out;
        }
        fds[0] = po[0];
        fds[1] = pe[0];
        po[0] = pe[0] = -1;
        r = drain(fds, bufs, now_ms() + CTEST_LIMIT_MS);
        if (fds[0] >= 0)
                (void) close(fds[0]);
        if (fds[1] >= 0)
                (void) close(fds[1]);
        /* On any failure the child may still be running: end it before the
         * wait so the wait cannot hang. */
        if (r < 0)
                (void) kill(pid, SIGKILL);
        do
                w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        pid = -1;
        if (r < 0) {
                sv__err(err, errlen, "'%s --show-only=json-v1 --test-dir %s': %s", ctest, build_dir,
                        r == UV_ETIMEDOUT ? "did not finish within 60 s" : uv_strerror(r));
                goto out;
        }
        if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                stderr_tail(&errb, tail);
                if (w >= 0 && WIFSIGNALED(status))
                        sv__err(err, errlen, "'%s' in '%s' was killed by signal %d%s%s", ctest,
                                build_dir, WTERMSIG(status), tail[0] ? ": " : "", tail);
                else
                        sv__err(err, errlen, "'%s' failed for '%s' (exit %d)%s%s", ctest, build_dir,
                                w >= 0 ? WEXITSTATUS(status) : -1,
                                tail[0] ? ": " : "; is it a CMake build directory with tests?",
                                tail);
                r = UV_EINVAL;
                goto out;
        }
        len = out.len;
        text = sv__buf_steal(&out);
        if (!text) {
                r = UV_ENOMEM;
                goto out;
        }
        *out_json = text;
        *out_len = len;
        r = 0;
out:
        if (po[0] >= 0)
                (void) close(po[0]);
        if (po[1] >= 0)
                (void) close(po[1]);
        if (pe[0] >= 0)
                (void) close(pe[0]);
        if (pe[1] >= 0)
                (void) close(pe[1]);
        sv__buf_release(&out);
        sv__buf_release(&errb);
        return r;
}

int sv_ctest_load(const char *ctest, const char *build_dir, sv_joblist *out, char *err,
                  size_t errlen) {
        char *json = NULL;
        size_t len = 0;
        int r;

        r = sv_ctest_list(ctest, build_dir, &json, &len, err, errlen);
        if (r < 0)
                return r;
        r = sv_ctest_parse(json, len, out, err, errlen);
        free(json);
        return r;
}
