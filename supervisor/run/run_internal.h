/* run_internal.h - helpers shared by the supervisor/run/ modules (job lists,
 * output capture, reports). Nothing here is public; names are sv__. */
#ifndef SV_RUN_INTERNAL_H
#define SV_RUN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <supervise/sv_run.h>

/* A growable byte buffer, kept NUL-terminated once it has memory (p may be
 * NULL while empty). After the first allocation failure it stays
 * failed (`oom`), so a caller can append many pieces and check once. */
typedef struct sv__buf {
        char *p;
        size_t len;
        size_t cap;
        bool oom;
} sv__buf;

#define SV__BUF_INIT { NULL, 0, 0, false }

int sv__buf_add(sv__buf *b, const void *data, size_t n);
int sv__buf_addc(sv__buf *b, char c);
int sv__buf_adds(sv__buf *b, const char *s);
int sv__buf_printf(sv__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `n` bytes of `s` escaped as sv_text_escape() does with `flags`
 * (enum sv_text_flags). Returns how many bytes were not UTF-8, or
 * UV_ENOMEM. */
int sv__buf_add_text(sv__buf *b, const char *s, size_t n, unsigned flags);
/* Returns the NUL-terminated contents (never NULL unless out of memory) and
 * leaves `b` empty; the caller frees the string. */
char *sv__buf_steal(sv__buf *b);
/* Empties `b` but keeps its memory. */
void sv__buf_reset(sv__buf *b);
void sv__buf_release(sv__buf *b);

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if s[0] does not
 * start one. */
size_t sv__utf8_seq(const unsigned char *s, size_t n);

/* Writes a one-line message into err[errlen] if err is not NULL. */
void sv__err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Deep copy of a NULL-terminated string array; NULL in, NULL out. Sets *ok
 * false on ENOMEM. */
char **sv__strv_dup(char *const *v, bool *ok);
size_t sv__strv_len(char *const *v);

/* Appends a zeroed job to `l` and returns it, or NULL on ENOMEM. */
sv_job *sv__joblist_push(sv_joblist *l);
/* Frees jobs [from, count) and sets count = from. */
void sv__joblist_truncate(sv_joblist *l, size_t from);
/* Undoes a failed append: truncates to `from` and, if the list had no array
 * before (old_cap == 0), frees the one we allocated, so that a caller who
 * never saw a job has nothing to release. */
void sv__joblist_rollback(sv_joblist *l, size_t from, size_t old_cap);

#endif
