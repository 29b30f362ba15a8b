/* describe.c - the one line for people that says how a worker ended, shared
 * by every report (the main command's stderr line, run's status lines, its
 * JUnit and TAP files). Pure: it writes only into the caller's buffer, with
 * snprintf's contract, so a caller can size the buffer or accept a cut. */
#include <stdarg.h>
#include <stdio.h>

#include "supervise/sv.h"

/* An snprintf that appends: `len` counts what the whole line needs even after
 * the buffer is full, so the caller learns the size it should have given. */
typedef struct line {
        char *buf;
        size_t n;
        size_t len;
} line;

static void add(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(line *l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        if (l->len < l->n)
                r = vsnprintf(l->buf + l->len, l->n - l->len, fmt, ap);
        else
                r = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (r > 0)
                l->len += (size_t) r;
}

/* Milliseconds as "1.500": what run's status lines have always shown. */
static void add_secs(line *l, uint64_t ms) {
        add(l, "%llu.%03llu s", (unsigned long long) (ms / 1000), (unsigned long long) (ms % 1000));
}

static void add_cause(line *l, const sv_exit_info *e) {
        if (e->cause == SV_CAUSE_TIMEOUT) {
                add(l, "%s after ", e->idle ? "no output" : "timed out");
                add_secs(l, e->timeout_ms);
                add(l, "; ");
        } else if (e->cause == SV_CAUSE_STOPPED) {
                if (e->reason)
                        add(l, "stopped by supervise (%s); ", e->reason);
                else
                        add(l, "stopped by supervise; ");
        }
}

size_t sv_exit_describe(const sv_exit_info *e, unsigned flags, char *buf, size_t n) {
        line l = { buf, buf ? n : 0, 0 };
        char sig[16];
        bool ours = e->cause == SV_CAUSE_TIMEOUT || e->cause == SV_CAUSE_STOPPED;

        if (l.n)
                l.buf[0] = '\0';
        add_cause(&l, e);
        if (e->exited && sv_ntstatus_name((uint32_t) e->code))
                add(&l, "exit code %d (0x%08X %s)", e->code, (unsigned) e->code,
                    sv_ntstatus_name((uint32_t) e->code));
        else if (e->exited)
                add(&l, "exit code %d", e->code);
        else
                add(&l, "killed by %s (-%d)", sv_signal_name_r(e->signal, sig), e->signal);
        if (e->core_dumped)
                add(&l, ", core dumped");
        if ((flags & SV_DESCRIBE_STEP) && e->stop_step >= 0)
                add(&l, ", ended at step %d (%s)", e->stop_step + 1,
                    sv_signal_name_r(e->step_signal, sig));
        if ((flags & SV_DESCRIBE_MECH) && ours)
                add(&l, ", tree stopped via %s", sv_mechanism_name(e->mechanism));
        if ((flags & SV_DESCRIBE_LEAKS) && e->leaked)
                add(&l, ", %u process%s left behind", e->leaked, e->leaked == 1 ? "" : "es");
        return l.len;
}
