/* util.c - byte buffers, whole writes, UTF-8 checking, string arrays and job
 * lists for the run/ modules. Owns no global state; never prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "platform/platform.h"
#include "run/run_internal.h"

static int buf_reserve(sv__buf *b, size_t extra) {
        size_t need, cap;
        char *p;

        if (b->oom)
                return UV_ENOMEM;
        /* One byte more than asked for, so sv__buf_steal can always add the NUL. */
        if (extra >= SIZE_MAX / 2 - b->len)
                goto fail;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
                goto fail;
        b->p = p;
        b->cap = cap;
        return 0;

fail:
        b->oom = true;
        return UV_ENOMEM;
}

int sv__buf_add(sv__buf *b, const void *data, size_t n) {
        int r;

        if (n == 0)
                return b->oom ? UV_ENOMEM : 0;
        r = buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

int sv__buf_addc(sv__buf *b, char c) {
        return sv__buf_add(b, &c, 1);
}

int sv__buf_adds(sv__buf *b, const char *s) {
        return sv__buf_add(b, s, strlen(s));
}

int sv__buf_printf(sv__buf *b, const char *fmt, ...) {
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return UV_EINVAL;
        r = buf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        (void) vsnprintf(b->p + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return 0;
}

size_t sv__utf8_seq(const unsigned char *s, size_t n) {
        unsigned c = s[0];
        size_t len, i;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (n < len)
                return 0;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff)
                return 0;
        if (cp >= 0xd800 && cp <= 0xdfff)
                return 0;
        return len;
}

char *sv__buf_steal(sv__buf *b) {
        char *p;

        if (buf_reserve(b, 0) < 0) {
                sv__buf_release(b);
                return NULL;
        }
        b->p[b->len] = '\0';
        p = b->p;
        b->p = NULL;
        b->len = b->cap = 0;
        return p;
}

void sv__buf_reset(sv__buf *b) {
        b->len = 0;
        if (b->p)
                b->p[0] = '\0';
}

void sv__buf_release(sv__buf *b) {
        free(b->p);
        b->p = NULL;
        b->len = b->cap = 0;
        b->oom = false;
}

/* One loop for the runner's log files and the CLI's terminal writes, so both
 * wait out a non-blocking fd they inherited instead of failing on it. */
int sv_write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        ssize_t w;

        while (len > 0) {
                w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                sv__plat_wait_writable(fd);
                                continue;
                        }
                        return -errno;
                }
                p += w;
                len -= (size_t) w;
        }
        return 0;
}

void sv__err(char *err, size_t errlen, const char *fmt, ...) {
        va_list ap;

        if (!err || errlen == 0)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

size_t sv__strv_len(char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

char **sv__strv_dup(char *const *v, bool *ok) {
        size_t n, i;
        char **c;

        if (!v)
                return NULL;
        n = sv__strv_len(v);
        c = calloc(n + 1, sizeof(*c));
        if (!c)
                goto fail;
        for (i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i])
                        goto fail_strings;
        }
        return c;

fail_strings:
        sv_argv_free(c);
fail:
        *ok = false;
        return NULL;
}

void sv_argv_free(char **argv) {
        size_t i;

        if (!argv)
                return;
        for (i = 0; argv[i]; i++)
                free(argv[i]);
        free(argv);
}

void sv_joblist_init(sv_joblist *l) {
        memset(l, 0, sizeof(*l));
}

static void job_release(sv_job *j) {
        free(j->name);
        sv_argv_free(j->argv);
        sv_argv_free(j->env);
        free(j->cwd);
        sv_argv_free(j->pass_regex);
        sv_argv_free(j->fail_regex);
        sv_argv_free(j->skip_regex);
        sv_argv_free(j->env_mod);
        sv_argv_free(j->labels);
        sv_argv_free(j->depends);
        sv_argv_free(j->locks);
        sv_argv_free(j->fixtures_setup);
        sv_argv_free(j->fixtures_cleanup);
        sv_argv_free(j->fixtures_required);
        sv_argv_free(j->required_files);
        memset(j, 0, sizeof(*j));
}

void sv__joblist_truncate(sv_joblist *l, size_t from) {
        size_t i;

        for (i = from; i < l->count; i++)
                job_release(&l->jobs[i]);
        if (from < l->count)
                l->count = from;
}

void sv__joblist_rollback(sv_joblist *l, size_t from, size_t old_cap) {
        sv__joblist_truncate(l, from);
        if (old_cap == 0 && l->count == 0) {
                free(l->jobs);
                sv_joblist_init(l);
        }
}

void sv_joblist_release(sv_joblist *l) {
        if (!l)
                return;
        sv__joblist_truncate(l, 0);
        free(l->jobs);
        sv_joblist_init(l);
}

sv_job *sv__joblist_push(sv_joblist *l) {
        sv_job *j;
        size_t cap;

        if (l->count == l->cap) {
                cap = l->cap ? l->cap * 2 : 16;
                if (cap > SIZE_MAX / sizeof(*j))
                        return NULL;
                j = realloc(l->jobs, cap * sizeof(*j));
                if (!j)
                        return NULL;
                l->jobs = j;
                l->cap = cap;
        }
        j = &l->jobs[l->count++];
        memset(j, 0, sizeof(*j));
        j->skip_code = -1;
        return j;
}
