/* jobfile.c - splits a job file into commands the way a POSIX shell splits
 * words, and nothing more: it never expands, never redirects and never runs
 * a shell. The rules are in sv_run.h; this file owns only the parse. It never
 * prints; errors come back as a code and a "file:line: what" message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "run/run_internal.h"

typedef struct lexer {
        const char *s;
        size_t len;
        size_t pos;
        unsigned line;     /* physical line of s[pos] */
        const char *fname; /* NULL: messages have no "file:line: " prefix */
        char *err;
        size_t errlen;
} lexer;

/* The words of one logical line, and where they were written. */
typedef struct words {
        char **v;
        size_t n;
        size_t cap;
        unsigned line;      /* where the line starts */
        size_t first_start; /* source span of the command, for default names */
        size_t last_end;
        size_t cmd_start;   /* the first word after name=, or the first word */
        bool named;
} words;

static int fail(lexer *lx, unsigned line, const char *fmt, const char *arg) {
        char what[160];

        (void) snprintf(what, sizeof(what), fmt, arg);
        if (lx->fname)
                sv__err(lx->err, lx->errlen, "%s:%u: %s", lx->fname, line, what);
        else
                sv__err(lx->err, lx->errlen, "%s", what);
        return UV_EINVAL;
}

static void words_release(words *w) {
        size_t i;

        for (i = 0; i < w->n; i++)
                free(w->v[i]);
        free(w->v);
        memset(w, 0, sizeof(*w));
}

static int words_push(words *w, sv__buf *word) {
        char **v;
        size_t cap;
        char *s;

        /* Keep one slot free so the array can become a NULL-terminated argv. */
        if (w->n + 2 > w->cap) {
                cap = w->cap ? w->cap * 2 : 8;
                v = realloc(w->v, cap * sizeof(*v));
                if (!v)
                        return UV_ENOMEM;
                w->v = v;
                w->cap = cap;
        }
        s = sv__buf_steal(word);
        if (!s)
                return UV_ENOMEM;
        w->v[w->n++] = s;
        w->v[w->n] = NULL;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Characters that a shell would treat as operators outside quotes. */
static bool is_operator(char c) {
        return c != '\0' && strchr("|&;<>()", c) != NULL;
}

/* Length of the line break at `p` ("\n" or "\r\n"), 0 if none. */
static size_t eol_at(const lexer *lx, size_t p) {
        if (p < lx->len && lx->s[p] == '\n')
                return 1;
        if (p + 1 < lx->len && lx->s[p] == '\r' && lx->s[p + 1] == '\n')
                return 2;
        return 0;
}

/* A backslash-newline at `p`? Returns its length (2 or 3), else 0. */
static size_t continuation_at(const lexer *lx, size_t p) {
        size_t e;

        if (p >= lx->len || lx->s[p] != '\\')
                return 0;
        e = eol_at(lx, p + 1);
        return e ? 1 + e : 0;
}

static int single_quoted(lexer *lx, sv__buf *word) {
        unsigned open_line = lx->line;
        size_t start = ++lx->pos;

        while (lx->pos < lx->len && lx->s[lx->pos] != '\'') {
                if (lx->s[lx->pos] == '\n')
                        break;
                if (lx->s[lx->pos] == '\0')
                        return fail(lx, lx->line, "NUL byte in line%s", "");
                lx->pos++;
        }
        if (lx->pos >= lx->len || lx->s[lx->pos] != '\'')
                return fail(lx, open_line, "unclosed single quote%s", "");
        (void) sv__buf_add(word, lx->s + start, lx->pos - start);
        lx->pos++;
        return word->oom ? UV_ENOMEM : 0;
}

static int double_quoted(lexer *lx, sv__buf *word) {
        unsigned open_line = lx->line;
        size_t k;
        char c;

        lx->pos++;
        for (;;) {
                if (lx->pos >= lx->len)
                        return fail(lx, open_line, "unclosed double quote%s", "");
                c = lx->s[lx->pos];
                if (c == '"')
                        break;
                if (c == '\n')
                        return fail(lx, open_line, "unclosed double quote%s", "");
                if (c == '\0')
                        return fail(lx, lx->line, "NUL byte in line%s", "");
                k = continuation_at(lx, lx->pos);
                if (k) {
                        lx->pos += k;
                        lx->line++;
                        continue;
                }
                if (c == '\\' && lx->pos + 1 < lx->len && strchr("\"\\$`", lx->s[lx->pos + 1]) &&
                    lx->s[lx->pos + 1] != '\0') {
                        (void) sv__buf_addc(word, lx->s[lx->pos + 1]);
                        lx->pos += 2;
                        continue;
                }
                (void) sv__buf_addc(word, c);
                lx->pos++;
        }
        lx->pos++;
        return word->oom ? UV_ENOMEM : 0;
}

/* Reads one word starting at a non-blank, non-'#', non-EOL character. */
static int read_word(lexer *lx, sv__buf *word) {
        size_t k;
        char c;
        int r;

        while (lx->pos < lx->len) {
                c = lx->s[lx->pos];
                if (is_blank(c) || eol_at(lx, lx->pos))
                        break;
                if (c == '\0')
                        return fail(lx, lx->line, "NUL byte in line%s", "");
                if (is_operator(c))
                        return fail(lx, lx->line,
                                    "unquoted '%s': jobs run without a shell; quote it, "
                                    "or run sh -c '...' explicitly",
                                    (char[2]) { c, '\0' });
                if (c == '\'') {
                        r = single_quoted(lx, word);
                } else if (c == '"') {
                        r = double_quoted(lx, word);
                } else if ((k = continuation_at(lx, lx->pos)) != 0) {
                        lx->pos += k;
                        lx->line++;
                        r = 0;
                } else if (c == '\\') {
                        /* A backslash at the very end of the input has nothing to
                         * escape and stays literal, as in sh. */
                        if (lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '\0')
                                return fail(lx, lx->line, "NUL byte in line%s", "");
                        if (lx->pos + 1 < lx->len)
                                lx->pos++;
                        r = sv__buf_addc(word, lx->s[lx->pos]);
                        lx->pos++;
                } else {
                        r = sv__buf_addc(word, c);
                        lx->pos++;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Parses one logical line into `w`. Returns 1 if a line was consumed (it may
 * have no words), 0 at end of input, or a negative error. */
static int read_line(lexer *lx, words *w) {
        sv__buf word = SV__BUF_INIT;
        size_t k, start;
        int r = 0;

        if (lx->pos >= lx->len)
                return 0;
        w->line = lx->line;
        for (;;) {
                while (lx->pos < lx->len && is_blank(lx->s[lx->pos]))
                        lx->pos++;
                if (lx->pos >= lx->len)
                        break;
                if ((k = eol_at(lx, lx->pos)) != 0) {
                        lx->pos += k;
                        lx->line++;
                        break;
                }
                if ((k = continuation_at(lx, lx->pos)) != 0) {
                        lx->pos += k;
                        lx->line++;
                        continue;
                }
                if (lx->s[lx->pos] == '#') {
                        /* A comment ends at the newline; a backslash in it
                         * continues nothing, as in sh. */
                        while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
                                lx->pos++;
                        continue;
                }
                start = lx->pos;
                if (w->n == 0) {
                        w->first_start = start;
                        w->named = lx->len - start >= 5 && memcmp(lx->s + start, "name=", 5) == 0;
                        w->cmd_start = start;
                } else if (w->n == 1 && w->named) {
                        w->cmd_start = start;
                }
                r = read_word(lx, &word);
                if (r < 0)
                        goto out;
                w->last_end = lx->pos;
                r = words_push(w, &word);
                if (r < 0)
                        goto out;
        }
        r = 1;
out:
        sv__buf_release(&word);
        return r;
}

/* The command as written: source text of the command words, without
 * backslash-newlines. */
static char *default_name(const lexer *lx, const words *w) {
        sv__buf b = SV__BUF_INIT;
        size_t p = w->cmd_start, k;

        while (p < w->last_end) {
                k = continuation_at(lx, p);
                if (k) {
                        p += k;
                        continue;
                }
                (void) sv__buf_addc(&b, lx->s[p]);
                p++;
        }
        return sv__buf_steal(&b);
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Turns a parsed line into a job at the end of `out`. */
static int add_job(lexer *lx, words *w, sv_joblist *out) {
        size_t skip = w->named ? 1 : 0;
        sv_job *job;
        char *name;

        if (w->named) {
                name = w->v[0] + 5;
                if (name[0] == '\0')
                        return fail(lx, w->line, "empty job name%s", "");
                if (has_control(name))
                        return fail(lx, w->line, "job name has a control character%s", "");
                if (w->n < 2)
                        return fail(lx, w->line, "'name=%s' is not followed by a command", name);
        }
        if (w->v[skip][0] == '\0')
                return fail(lx, w->line, "empty program name%s", "");
        job = sv__joblist_push(out);
        if (!job)
                return UV_ENOMEM;
        job->line = w->line;
        job->name = w->named ? strdup(w->v[0] + 5) : default_name(lx, w);
        if (!job->name)
                return UV_ENOMEM;
        if (w->named)
                job->flags |= SV_JOB_NAMED;
        /* Hand the word array over as argv, dropping the name= word. */
        if (skip) {
                free(w->v[0]);
                memmove(w->v, w->v + 1, w->n * sizeof(*w->v));
        }
        job->argv = w->v;
        w->v = NULL;
        w->n = w->cap = 0;
        return 0;
}

static int cmp_named(const void *a, const void *b) {
        const sv_job *x = *(const sv_job *const *) a, *y = *(const sv_job *const *) b;
        int c = strcmp(x->name, y->name);

        if (c)
                return c;
        return x->line < y->line ? -1 : x->line > y->line;
}

/* Explicit names are the user's handle on a job, so two jobs may not share
 * one. Sorting (not a pairwise scan) keeps big files fast. */
static int check_duplicates(lexer *lx, const sv_joblist *l, size_t from) {
        const sv_job **v;
        size_t n = 0, i;
        int r = 0;

        v = malloc((l->count - from + 1) * sizeof(*v));
        if (!v)
                return UV_ENOMEM;
        for (i = from; i < l->count; i++)
                if (l->jobs[i].flags & SV_JOB_NAMED)
                        v[n++] = &l->jobs[i];
        qsort(v, n, sizeof(*v), cmp_named);
        for (i = 1; i < n; i++) {
                if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
                        char what[64];

                        (void) snprintf(what, sizeof(what), "' (first on line %u)", v[i - 1]->line);
                        if (lx->fname)
                                sv__err(lx->err, lx->errlen, "%s:%u: duplicate job name '%.200s%s",
                                        lx->fname, v[i]->line, v[i]->name, what);
                        r = UV_EINVAL;
                        break;
                }
        }
        free(v);
        return r;
}

int sv_jobfile_parse_mem(const char *text, size_t len, const char *fname, sv_joblist *out,
                         char *err, size_t errlen) {
        lexer lx = { text, len, 0, 1, fname ? fname : "<jobs>", err, errlen };
        size_t from = out->count, old_cap = out->cap;
        words w;
        int r;

        for (;;) {
                memset(&w, 0, sizeof(w));
                r = read_line(&lx, &w);
                if (r <= 0)
                        break;
                if (w.n > 0)
                        r = add_job(&lx, &w, out);
                words_release(&w);
                if (r < 0)
                        break;
        }
        words_release(&w);
        if (r == 0)
                r = check_duplicates(&lx, out, from);
        if (r < 0) {
                if (r == UV_ENOMEM)
                        sv__err(err, errlen, "%s: out of memory", lx.fname);
                sv__joblist_rollback(out, from, old_cap);
                return r;
        }
        return (int) (out->count - from);
}

int sv_jobfile_parse(FILE *f, const char *fname, sv_joblist *out, char *err, size_t errlen) {
        sv__buf b = SV__BUF_INIT;
        char chunk[16384];
        size_t n;
        int r;

        errno = 0;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                if (sv__buf_add(&b, chunk, n) < 0)
                        break;
        if (b.oom) {
                sv__err(err, errlen, "%s: out of memory", fname ? fname : "<jobs>");
                r = UV_ENOMEM;
                goto out;
        }
        if (ferror(f)) {
                r = errno ? -errno : UV_EIO;
                sv__err(err, errlen, "cannot read '%s': %s", fname ? fname : "<jobs>",
                        uv_strerror(r));
                goto out;
        }
        r = sv_jobfile_parse_mem(b.p ? b.p : "", b.len, fname, out, err, errlen);
out:
        sv__buf_release(&b);
        return r;
}

int sv_jobfile_load(const char *path, sv_joblist *out, char *err, size_t errlen) {
        FILE *f;
        int r;

        if (strcmp(path, "-") == 0)
                return sv_jobfile_parse(stdin, "<stdin>", out, err, errlen);
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                sv__err(err, errlen, "cannot open '%s': %s", path, uv_strerror(r));
                return r;
        }
        r = sv_jobfile_parse(f, path, out, err, errlen);
        (void) fclose(f);
        return r;
}

int sv_words_split(const char *s, char ***out_argv, char *err, size_t errlen) {
        lexer lx = { s, strlen(s), 0, 1, NULL, err, errlen };
        words w;
        int r;

        memset(&w, 0, sizeof(w));
        r = read_line(&lx, &w);
        if (r < 0)
                goto out;
        if (lx.pos < lx.len) {
                r = fail(&lx, 1, "a command must be one line%s", "");
                goto out;
        }
        if (w.n == 0 || w.v[0][0] == '\0') {
                r = fail(&lx, 1, "empty command%s", "");
                goto out;
        }
        *out_argv = w.v;
        r = (int) w.n;
        w.v = NULL;
        w.n = 0;
out:
        if (r == UV_ENOMEM)
                sv__err(err, errlen, "out of memory");
        words_release(&w);
        return r;
}
