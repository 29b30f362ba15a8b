/* fuzz_ctest.c - sv_ctest_parse() on arbitrary bytes (mostly JSON, from the
 * seeds), appended to a list that already holds one job. On success: the
 * count returned is the count appended; each job has a non-empty name, an
 * argv that is empty exactly when it is marked unavailable, env entries that
 * are strings, a skip code of -1 or 0..255; no job-file fields. On failure:
 * the list is as it was and the message is one non-empty line. */
#include <stdbool.h>

#include "fuzz.h"
#include "supervise/sv_run.h"

static const char sentinel[] =
        "{\"kind\":\"ctestInfo\",\"tests\":[{\"name\":\"first\",\"command\":[\"/bin/true\"]}]}";

static void check_job(const sv_job *j, size_t i) {
        char **e;

        FUZZ_CHECK(j->name && j->name[0], "job %zu has no name", i);
        FUZZ_CHECK(j->argv, "job %zu has no argv", i);
        FUZZ_CHECK((j->argv[0] == NULL) == ((j->flags & SV_JOB_UNAVAILABLE) != 0),
                   "job %zu '%s': argv[0] %s, flags %#x", i, j->name,
                   j->argv[0] ? j->argv[0] : "NULL", j->flags);
        for (e = j->env; e && *e; e++)
                FUZZ_CHECK(strlen(*e) < SIZE_MAX, "env");
        FUZZ_CHECK(j->skip_code >= -1 && j->skip_code <= 255, "job %zu skip code %d", i,
                   j->skip_code);
        FUZZ_CHECK(!(j->flags & SV_JOB_NAMED) && j->line == 0, "job %zu has job-file fields", i);
        FUZZ_CHECK(j->timeout_ms <= UINT64_C(1000000000000000), "job %zu timeout", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sv_joblist l = SV_JOBLIST_INIT;
        char err[512];
        size_t i;
        int r;

        r = sv_ctest_parse(sentinel, sizeof(sentinel) - 1, &l, err, sizeof(err));
        FUZZ_CHECK(r == 1, "sentinel: %d %s", r, err);
        err[0] = '\0';
        r = sv_ctest_parse((const char *) data, size, &l, err, sizeof(err));
        if (r < 0) {
                FUZZ_CHECK(r == UV_EINVAL, "r=%d", r);
                FUZZ_CHECK(l.count == 1 && strcmp(l.jobs[0].name, "first") == 0,
                           "list changed on failure");
                FUZZ_CHECK(err[0] && !strchr(err, '\n'), "message '%s'", err);
        } else {
                FUZZ_CHECK((size_t) r == l.count - 1, "returned %d, appended %zu", r, l.count - 1);
                FUZZ_CHECK(strcmp(l.jobs[0].name, "first") == 0, "sentinel changed");
                for (i = 1; i < l.count; i++)
                        check_job(&l.jobs[i], i);
        }
        sv_joblist_release(&l);
        return 0;
}
