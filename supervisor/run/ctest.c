/* ctest.c - imports a CMake build directory's test list: runs `ctest
 * --show-only=json-v1` through the platform (sv__plat_run_capture: an argv,
 * never a shell, and a wait for that one pid only) and translates its JSON
 * into sv_jobs. Never prints. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "platform/platform.h"
#include "run/run_internal.h"

#define CTEST_LIMIT_MS 60000
#define STDERR_KEEP 400

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

/* The list-valued properties honoured, and where each goes. */
static char ***list_slot(sv_job *job, const char *name) {
        static const struct {
                const char *name;
                size_t off;
        } lists[] = {
                { "ENVIRONMENT", offsetof(sv_job, env) },
                { "ENVIRONMENT_MODIFICATION", offsetof(sv_job, env_mod) },
                { "PASS_REGULAR_EXPRESSION", offsetof(sv_job, pass_regex) },
                { "FAIL_REGULAR_EXPRESSION", offsetof(sv_job, fail_regex) },
                { "SKIP_REGULAR_EXPRESSION", offsetof(sv_job, skip_regex) },
                { "LABELS", offsetof(sv_job, labels) },
                { "DEPENDS", offsetof(sv_job, depends) },
                { "RESOURCE_LOCK", offsetof(sv_job, locks) },
                { "FIXTURES_SETUP", offsetof(sv_job, fixtures_setup) },
                { "FIXTURES_CLEANUP", offsetof(sv_job, fixtures_cleanup) },
                { "FIXTURES_REQUIRED", offsetof(sv_job, fixtures_required) },
                { "REQUIRED_FILES", offsetof(sv_job, required_files) },
        };
        size_t i;

        for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
                if (strcmp(name, lists[i].name) == 0)
                        return (char ***) ((char *) job + lists[i].off);
        return NULL;
}

static bool honoured(const char *name) {
        static const char *const scalars[] = {
                "WORKING_DIRECTORY", "TIMEOUT", "DISABLED", "WILL_FAIL",
                "SKIP_RETURN_CODE", "RUN_SERIAL", "PROCESSORS",
        };
        sv_job dummy;
        size_t i;

        for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
                if (strcmp(name, scalars[i]) == 0)
                        return true;
        return list_slot(&dummy, name) != NULL;
}

static int set_timeout(sv_job *job, json_t *value) {
        double secs, ms;

        if (!json_is_number(value))
                return UV_EINVAL;
        secs = json_number_value(value);
        /* ctest treats an explicit 0 (and negatives) as "no timeout",
         * whatever its --timeout says. */
        job->flags &= ~SV_JOB_NO_TIMEOUT;
        if (!(secs > 0)) {
                job->timeout_ms = 0;
                job->flags |= SV_JOB_NO_TIMEOUT;
        } else if (secs > 1e12) {
                job->timeout_ms = UINT64_C(1000000000000000);
        } else {
                /* Round up: a 0.0001 s timeout must not become "none". */
                ms = secs * 1000.0;
                job->timeout_ms = (uint64_t) ms;
                if ((double) job->timeout_ms < ms)
                        job->timeout_ms++;
        }
        return 0;
}

static int set_flag(sv_job *job, unsigned flag, json_t *value) {
        if (!json_is_boolean(value))
                return UV_EINVAL;
        if (json_is_true(value))
                job->flags |= flag;
        else
                job->flags &= ~flag;
        return 0;
}

/* Applies one entry of "properties" to the job. Returns 0, UV_EINVAL for a
 * property of the wrong type, or UV_ENOMEM. Properties we do not honour
 * are left to sv_ctest_unsupported(). */
static int apply_property(sv_job *job, const char *name, json_t *value) {
        char ***list = list_slot(job, name);
        json_int_t n;

        if (list) {
                if (!json_is_array(value))
                        return UV_EINVAL;
                sv_argv_free(*list);
                *list = NULL;
                return str_array(value, list);
        }
        if (strcmp(name, "WORKING_DIRECTORY") == 0) {
                if (!json_is_string(value))
                        return UV_EINVAL;
                free(job->cwd);
                job->cwd = strdup(json_string_value(value));
                return job->cwd ? 0 : UV_ENOMEM;
        }
        if (strcmp(name, "TIMEOUT") == 0)
                return set_timeout(job, value);
        if (strcmp(name, "DISABLED") == 0)
                return set_flag(job, SV_JOB_DISABLED, value);
        if (strcmp(name, "WILL_FAIL") == 0)
                return set_flag(job, SV_JOB_WILL_FAIL, value);
        if (strcmp(name, "RUN_SERIAL") == 0)
                return set_flag(job, SV_JOB_RUN_SERIAL, value);
        if (strcmp(name, "PROCESSORS") == 0) {
                if (!json_is_integer(value))
                        return UV_EINVAL;
                n = json_integer_value(value);
                job->processors = n < 1 ? 1 : n > 65535 ? 65535 : (unsigned) n;
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

/* A regex that does not compile or an environment operation ctest would
 * refuse is an error now, before any job starts, rather than a verdict. */
static int check_job(const sv_job *job, char *err, size_t errlen) {
        char *const *lists[] = { job->pass_regex, job->fail_regex, job->skip_regex };
        char msg[300], **env = NULL;
        size_t i, k;
        int r;

        for (k = 0; k < 3; k++)
                for (i = 0; lists[k] && lists[k][i]; i++) {
                        r = sv_regex_match(lists[k][i], "", msg, sizeof(msg));
                        if (r < 0) {
                                sv__err(err, errlen, "ctest JSON: test '%s': %s", job->name, msg);
                                return r;
                        }
                }
        if (!job->env_mod)
                return 0;
        r = sv_job_environ(job, NULL, &env, msg, sizeof(msg));
        if (r < 0 && r != UV_ENOMEM)
                sv__err(err, errlen, "ctest JSON: test '%s': %s", job->name, msg);
        sv_argv_free(env);
        return r;
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
        return check_job(job, err, errlen);
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

int sv_ctest_unsupported(const char *json, size_t len, char ***out_names) {
        json_t *root, *tests, *seen;
        char **names;
        size_t i, k, n = 0;
        int r = 0;

        root = json_loadb(json, len, 0, NULL);
        tests = json_object_get(root, "tests");
        if (!json_is_array(tests)) {
                json_decref(root);
                return UV_EINVAL;
        }
        seen = json_array();
        for (i = 0; seen && i < json_array_size(tests); i++) {
                json_t *props = json_object_get(json_array_get(tests, i), "properties");

                for (k = 0; k < json_array_size(props); k++) {
                        json_t *pn = json_object_get(json_array_get(props, k), "name");
                        const char *s = json_string_value(pn);
                        size_t m;

                        if (!s || honoured(s))
                                continue;
                        for (m = 0; m < json_array_size(seen); m++)
                                if (json_equal(json_array_get(seen, m), pn))
                                        break;
                        if (m == json_array_size(seen) && json_array_append(seen, pn) < 0)
                                r = UV_ENOMEM;
                }
        }
        n = seen ? json_array_size(seen) : 0;
        names = calloc(n + 1, sizeof(*names));
        if (!seen || !names || r < 0) {
                free(names);
                json_decref(seen);
                json_decref(root);
                return UV_ENOMEM;
        }
        for (i = 0; i < n; i++) {
                names[i] = strdup(json_string_value(json_array_get(seen, i)));
                if (!names[i])
                        r = UV_ENOMEM;
        }
        json_decref(seen);
        json_decref(root);
        if (r < 0) {
                sv_argv_free(names);
                return r;
        }
        *out_names = names;
        return (int) n;
}

/* ---- Running ctest ---- */

static void stderr_tail(const char *text, char out[STDERR_KEEP + 1]) {
        size_t n = strlen(text), i;

        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
                n--;
        if (n > STDERR_KEEP)
                n = STDERR_KEEP;
        for (i = 0; i < n; i++)
                out[i] = text[i] == '\n' || (unsigned char) text[i] < 0x20 ? ' ' : text[i];
        out[n] = '\0';
}
/* The one-line reason for a run that did not end in a zero exit. */
static void explain_failure(const char *ctest, const char *build_dir, int status, const char *errt,
                            char *err, size_t errlen) {
        char tail[STDERR_KEEP + 1];

        stderr_tail(errt, tail);
        if (status < 0)
                sv__err(err, errlen, "'%s' in '%s' was killed by signal %d%s%s", ctest, build_dir,
                        -status, tail[0] ? ": " : "", tail);
        else
                sv__err(err, errlen, "'%s' failed for '%s' (exit %d)%s%s", ctest, build_dir,
                        status, tail[0] ? ": " : "; is it a CMake build directory with tests?",
                        tail);
}

int sv_ctest_list(const char *ctest, const char *build_dir, char **out_json, size_t *out_len,
                  char *err, size_t errlen) {
        const char *argv[5];
        char *text = NULL, *errt = NULL;
        size_t len = 0, elen = 0;
        int r, status = 0;

        if (!ctest)
                ctest = "ctest";
        argv[0] = ctest;
        argv[1] = "--show-only=json-v1";
        argv[2] = "--test-dir";
        argv[3] = build_dir;
        argv[4] = NULL;
        r = sv__plat_run_capture(argv, CTEST_LIMIT_MS, &text, &len, &errt, &elen, &status);
        if (r == UV_ETIMEDOUT || r == UV_E2BIG) {
                sv__err(err, errlen, "'%s --show-only=json-v1 --test-dir %s': %s", ctest, build_dir,
                        r == UV_ETIMEDOUT ? "did not finish within 60 s" : uv_strerror(r));
                return r;
        }
        if (r < 0) {
                sv__err(err, errlen, "cannot run '%s': %s", ctest, uv_strerror(r));
                return r;
        }
        if (status != 0) {
                explain_failure(ctest, build_dir, status, errt, err, errlen);
                free(text);
                free(errt);
                return UV_EINVAL;
        }
        free(errt);
        *out_json = text;
        *out_len = len;
        return 0;
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
