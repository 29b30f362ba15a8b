/* fuzz_jobfile.c - sv_jobfile_parse_mem() on arbitrary bytes, appended to a
 * list that already holds one job. On success: the count returned is the
 * count appended, every job has a non-empty name and program, lines rise,
 * `name=` names are unique and free of control characters, and each job's
 * argv, written back with single quotes, parses to the same argv (through
 * sv_words_split and through the job file parser, with its name). On failure:
 * the list is as it was and the message is one line naming the file. */
#include <stdbool.h>

#include "fuzz.h"
#include "supervise/sv_run.h"

/* Appends `w` to *p as one single-quoted shell word ('\'' for a quote). */
static char *quote(char *p, const char *w) {
        *p++ = '\'';
        for (; *w; w++) {
                if (*w == '\'') {
                        memcpy(p, "'\\''", 4);
                        p += 4;
                } else {
                        *p++ = *w;
                }
        }
        *p++ = '\'';
        *p = '\0';
        return p;
}

static size_t quoted_len(const sv_job *j) {
        size_t n = 16 + 4 * strlen(j->name);
        char **a;

        for (a = j->argv; *a; a++)
                n += 4 * strlen(*a) + 3;
        return n;
}

static void check_same_argv(char **got, char **want, const char *line) {
        size_t i;

        for (i = 0; want[i]; i++)
                FUZZ_CHECK(got[i] && strcmp(got[i], want[i]) == 0, "'%s': word %zu '%s' vs '%s'",
                           line, i, got[i] ? got[i] : "(null)", want[i]);
        FUZZ_CHECK(got[i] == NULL, "'%s': extra word '%s'", line, got[i]);
}

static void check_requote(const sv_job *j) {
        char *line = malloc(quoted_len(j)), *p = line, *named, **argv = NULL, err[256];
        sv_joblist again = SV_JOBLIST_INIT;
        char **a;
        int r;

        if (!line)
                abort();
        for (a = j->argv; *a; a++) {
                if (a != j->argv)
                        *p++ = ' ';
                p = quote(p, *a);
        }
        r = sv_words_split(line, &argv, err, sizeof(err));
        FUZZ_CHECK(r >= 1, "'%s' does not split: %s", line, err);
        check_same_argv(argv, j->argv, line);
        sv_argv_free(argv);

        if (j->flags & SV_JOB_NAMED) {
                /* "name=" must stay unquoted; the rest of the word may be. */
                named = malloc(quoted_len(j) + strlen(line));
                if (!named)
                        abort();
                memcpy(named, "name=", 5);
                p = quote(named + 5, j->name);
                *p++ = ' ';
                strcpy(p, line);
                free(line);
                line = named;
        }
        r = sv_jobfile_parse_mem(line, strlen(line), "q", &again, err, sizeof(err));
        FUZZ_CHECK(r == 1, "'%s' -> %d: %s", line, r, err);
        check_same_argv(again.jobs[0].argv, j->argv, line);
        if (j->flags & SV_JOB_NAMED)
                FUZZ_CHECK(strcmp(again.jobs[0].name, j->name) == 0, "'%s' name", line);
        sv_joblist_release(&again);
        free(line);
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static void check_jobs(const sv_joblist *l, size_t from, unsigned max_line) {
        unsigned prev = 0;
        size_t i, k;

        for (i = from; i < l->count; i++) {
                const sv_job *j = &l->jobs[i];

                FUZZ_CHECK(j->name && j->name[0], "job %zu has no name", i);
                FUZZ_CHECK(j->argv && j->argv[0] && j->argv[0][0], "job %zu has no program", i);
                FUZZ_CHECK(j->line > prev && j->line <= max_line, "job %zu line %u (prev %u, max %u)",
                           i, j->line, prev, max_line);
                FUZZ_CHECK(!j->env && !j->cwd && j->timeout_ms == 0 && j->skip_code == -1,
                           "job %zu has ctest fields", i);
                prev = j->line;
                if (j->flags & SV_JOB_NAMED) {
                        FUZZ_CHECK(!has_control(j->name), "job %zu name", i);
                        for (k = from; k < i; k++)
                                FUZZ_CHECK(!(l->jobs[k].flags & SV_JOB_NAMED) ||
                                                   strcmp(l->jobs[k].name, j->name) != 0,
                                           "jobs %zu and %zu share '%s'", k, i, j->name);
                }
                check_requote(j);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sv_joblist l = SV_JOBLIST_INIT;
        unsigned max_line = 1;
        char err[512];
        size_t i;
        int r;

        r = sv_jobfile_parse_mem("name=first sentinel\n", 20, "s", &l, err, sizeof(err));
        FUZZ_CHECK(r == 1, "sentinel: %d", r);
        for (i = 0; i < size; i++)
                max_line += data[i] == '\n';
        err[0] = '\0';
        r = sv_jobfile_parse_mem((const char *) data, size, "f", &l, err, sizeof(err));
        if (r < 0) {
                FUZZ_CHECK(r == UV_EINVAL, "r=%d", r);
                FUZZ_CHECK(l.count == 1 && strcmp(l.jobs[0].name, "first") == 0,
                           "list changed on failure");
                FUZZ_CHECK(strncmp(err, "f:", 2) == 0 && !strchr(err, '\n'), "message '%s'", err);
        } else {
                FUZZ_CHECK((size_t) r == l.count - 1, "returned %d, appended %zu", r, l.count - 1);
                FUZZ_CHECK(strcmp(l.jobs[0].name, "first") == 0, "sentinel changed");
                check_jobs(&l, 1, max_line);
        }
        sv_joblist_release(&l);
        return 0;
}
