/* parse.c - the text forms the CLI and callers share: signal names and
 * numbers, durations, stop ladders, and the names of causes and mechanisms.
 * Pure functions: no allocation, no I/O (snprintf into the caller's buffer
 * only), no global state, no floating point
 * (a duration like "1.5s" or "1e-1" must come out as exactly 1500 or 100 ms,
 * rounded up, never down, however many digits it has). */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "platform/platform.h" /* signal numbers Windows lacks (compat.h) */
#include "supervise/sv.h"

/* ---- Signals. ---- */

struct signame {
        const char *name; /* with the "SIG" prefix, as sv_signal_name returns it */
        int sig;
};

/* The order of `kill -l`. Aliases come after the name they alias, so the first
 * match for a number is the name we print. */
static const struct signame signames[] = {
        { "SIGHUP", SIGHUP },       { "SIGINT", SIGINT },       { "SIGQUIT", SIGQUIT },
        { "SIGILL", SIGILL },       { "SIGTRAP", SIGTRAP },     { "SIGABRT", SIGABRT },
        { "SIGIOT", SIGIOT },       { "SIGBUS", SIGBUS },       { "SIGFPE", SIGFPE },
        { "SIGKILL", SIGKILL },     { "SIGUSR1", SIGUSR1 },     { "SIGSEGV", SIGSEGV },
        { "SIGUSR2", SIGUSR2 },     { "SIGPIPE", SIGPIPE },     { "SIGALRM", SIGALRM },
        { "SIGTERM", SIGTERM },
#ifdef SIGSTKFLT
        { "SIGSTKFLT", SIGSTKFLT },
#endif
        { "SIGCHLD", SIGCHLD },     { "SIGCONT", SIGCONT },     { "SIGSTOP", SIGSTOP },
        { "SIGTSTP", SIGTSTP },
#ifdef SIGTTIN
        { "SIGTTIN", SIGTTIN },
#endif
        { "SIGTTOU", SIGTTOU },
        { "SIGURG", SIGURG },       { "SIGXCPU", SIGXCPU },     { "SIGXFSZ", SIGXFSZ },
        { "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF },     { "SIGWINCH", SIGWINCH },
        { "SIGIO", SIGIO },
#ifdef SIGPOLL
        { "SIGPOLL", SIGPOLL },
#endif
#ifdef SIGPWR
        { "SIGPWR", SIGPWR },
#endif
        { "SIGSYS", SIGSYS },
#ifdef SIGBREAK
        /* Windows: CTRL_BREAK_EVENT to the worker's console group (win/signal.c). */
        { "SIGBREAK", SIGBREAK },
#endif
};

/* Real-time signals have no fixed numbers (glibc reserves the first few for
 * itself, so SIGRTMIN is a function call), so they are named relative to
 * SIGRTMIN or SIGRTMAX as `kill -l` does: the lower half from SIGRTMIN, the
 * upper half from SIGRTMAX. Linux has at most 33 of them. */
#define RT_NAMES(base, op)                                                                          \
        { base, base op "1", base op "2", base op "3", base op "4", base op "5", base op "6",        \
          base op "7", base op "8", base op "9", base op "10", base op "11", base op "12",           \
          base op "13", base op "14", base op "15", base op "16", base op "17", base op "18",        \
          base op "19", base op "20", base op "21", base op "22", base op "23", base op "24",        \
          base op "25", base op "26", base op "27", base op "28", base op "29", base op "30",        \
          base op "31", base op "32" }
static const char *const rtmin_names[] = RT_NAMES("SIGRTMIN", "+");
static const char *const rtmax_names[] = RT_NAMES("SIGRTMAX", "-");
#define RT_NAMES_COUNT ((int) (sizeof(rtmin_names) / sizeof(rtmin_names[0])))

/* Parses a non-empty run of decimal digits that fills all of `s` and is at
 * most `max`. Signs, spaces and anything else make it fail, unlike strtol. */
static int parse_small_uint(const char *s, int max, int *out) {
        int v = 0;

        if (*s == '\0')
                return UV_EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return UV_EINVAL;
                v = v * 10 + (*s - '0');
                if (v > max)
                        return UV_EINVAL;
        }
        *out = v;
        return 0;
}

/* "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-1" (the "SIG" already stripped). */
static int parse_rt(const char *s) {
        int lo = SIGRTMIN, hi = SIGRTMAX;
        int off = 0;
        int r;

        if (strncasecmp(s, "RTMIN", 5) == 0) {
                if (s[5] != '\0') {
                        if (s[5] != '+')
                                return UV_EINVAL;
                        r = parse_small_uint(s + 6, hi - lo, &off);
                        if (r < 0)
                                return r;
                }
                return lo + off;
        }
        if (strncasecmp(s, "RTMAX", 5) == 0) {
                if (s[5] != '\0') {
                        if (s[5] != '-')
                                return UV_EINVAL;
                        r = parse_small_uint(s + 6, hi - lo, &off);
                        if (r < 0)
                                return r;
                }
                return hi - off;
        }
        return UV_EINVAL;
}

int sv_signal_parse(const char *s) {
        const char *bare;
        size_t i;
        int sig;

        if (!s || *s == '\0')
                return UV_EINVAL;
        if (*s >= '0' && *s <= '9') {
                /* 0 is "check that it exists", which kill(2) also accepts. */
                if (parse_small_uint(s, SIGRTMAX, &sig) < 0)
                        return UV_EINVAL;
                return sig;
        }

        bare = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        if (*bare == '\0')
                return UV_EINVAL;
#ifndef SIGBREAK
        /* Valid everywhere (sv.h): without Windows' console event, the
         * polite stop is SIGTERM. */
        if (strcasecmp(bare, "BREAK") == 0)
                return SIGTERM;
#endif
        for (i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
                if (strcasecmp(bare, signames[i].name + 3) == 0)
                        return signames[i].sig;
        return parse_rt(bare);
}

const char *sv_signal_name(int sig) {
        size_t i;
        int lo = SIGRTMIN, hi = SIGRTMAX;

        for (i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
                if (signames[i].sig == sig)
                        return signames[i].name;
        if (sig < lo || sig > hi || hi - lo >= RT_NAMES_COUNT)
                return NULL;
        if (sig - lo <= (hi - lo) / 2)
                return rtmin_names[sig - lo];
        return rtmax_names[hi - sig];
}

const char *sv_signal_name_r(int sig, char buf[16]) {
        const char *name = sv_signal_name(sig);

        if (name)
                (void) snprintf(buf, 16, "%s", name);
        else
                (void) snprintf(buf, 16, "SIG%d", sig);
        return buf;
}

/* ---- Windows exit codes. ---- */

/* The NTSTATUS codes a program ends with when it crashes or is interrupted,
 * as Windows reports them for the process's exit code. */
static const struct {
        uint32_t code;
        const char *name;
} ntstatus_names[] = {
        { 0x80000003u, "STATUS_BREAKPOINT" },
        { 0xC0000005u, "STATUS_ACCESS_VIOLATION" },
        { 0xC0000006u, "STATUS_IN_PAGE_ERROR" },
        { 0xC0000017u, "STATUS_NO_MEMORY" },
        { 0xC000001Du, "STATUS_ILLEGAL_INSTRUCTION" },
        { 0xC0000025u, "STATUS_NONCONTINUABLE_EXCEPTION" },
        { 0xC000008Cu, "STATUS_ARRAY_BOUNDS_EXCEEDED" },
        { 0xC000008Eu, "STATUS_FLOAT_DIVIDE_BY_ZERO" },
        { 0xC0000094u, "STATUS_INTEGER_DIVIDE_BY_ZERO" },
        { 0xC0000095u, "STATUS_INTEGER_OVERFLOW" },
        { 0xC0000096u, "STATUS_PRIVILEGED_INSTRUCTION" },
        { 0xC00000FDu, "STATUS_STACK_OVERFLOW" },
        { 0xC0000135u, "STATUS_DLL_NOT_FOUND" },
        { 0xC0000138u, "STATUS_ORDINAL_NOT_FOUND" },
        { 0xC0000139u, "STATUS_ENTRYPOINT_NOT_FOUND" },
        { 0xC000013Au, "STATUS_CONTROL_C_EXIT" },
        { 0xC0000142u, "STATUS_DLL_INIT_FAILED" },
        { 0xC0000374u, "STATUS_HEAP_CORRUPTION" },
        { 0xC0000409u, "STATUS_STACK_BUFFER_OVERRUN" },
        { 0xC0000417u, "STATUS_INVALID_CRUNTIME_PARAMETER" },
        { 0xC0000420u, "STATUS_ASSERTION_FAILURE" },
};

const char *sv_ntstatus_name(uint32_t code) {
        size_t i;

        for (i = 0; i < sizeof(ntstatus_names) / sizeof(ntstatus_names[0]); i++)
                if (ntstatus_names[i].code == code)
                        return ntstatus_names[i].name;
        return NULL;
}

/* ---- Durations. ---- */

static int duration_unit(const char *s, uint64_t *out_ms) {
        static const struct {
                const char *suffix;
                uint64_t ms;
        } units[] = {
                { "", 1000 }, /* a bare number is seconds, as for sleep(1) and timeout(1) */
                { "ms", 1 },
                { "s", 1000 },
                { "m", 60 * 1000 },
                { "h", 60 * 60 * 1000 },
                { "d", 24 * 60 * 60 * 1000 },
        };
        size_t i;

        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(s, units[i].suffix) == 0) {
                        *out_ms = units[i].ms;
                        return 0;
                }
        }
        return UV_EINVAL;
}

/* A number as strtod(3) reads it, minus sign, hex and "nan": its significant
 * digits in the text (from `first`, skipping the '.' at `dot`), and where the
 * point goes once the exponent is applied (`point` digits are whole; it may
 * be negative or past the end). Leading zeros are skipped, so a non-zero
 * number's first digit is never '0'; n == 0 means the number is zero. All
 * digits are kept: dropping any could move ceil() by a millisecond when the
 * digits kept multiply to just under a whole one. */
typedef struct decimal {
        const char *first;
        const char *dot;     /* NULL if no '.' follows `first` */
        size_t n;
        long point;
} decimal;

static uint64_t decimal_digit(const decimal *d, size_t i) {
        const char *p = d->first + i;

        if (d->dot && p >= d->dot)
                p++;
        return (uint64_t) (*p - '0');
}

/* Returns ceil(0.<zeros times '0'><digits from..n of d> * unit) exactly, by
 * multiplying the decimal fraction by `unit` from its last digit to its
 * first, like long multiplication on paper: each step keeps one digit of the
 * product's fraction and carries the rest. The carry stays below `unit`, so
 * nothing can overflow, however many digits there are. */
static uint64_t fraction_ms_ceil(const decimal *d, size_t from, size_t zeros, uint64_t unit) {
        uint64_t carry = 0;
        int inexact = 0;
        size_t i, n = d->n - from;

        for (i = n + zeros; i > 0; i--) {
                uint64_t dig = i > zeros ? decimal_digit(d, from + i - 1 - zeros) : 0;
                uint64_t t = dig * unit + carry;

                inexact |= t % 10 != 0;
                carry = t / 10;
        }
        return carry + (inexact ? 1 : 0);
}

static void decimal_push(decimal *d, const char *c, bool before_point) {
        if (d->n == 0 && *c == '0') {
                if (!before_point)
                        d->point--; /* 0.05 is 5 with the point one place further left */
                return;
        }
        if (d->n++ == 0)
                d->first = c;
        if (before_point)
                d->point++;
}

/* Reads [digits][.digits][e[+-]digits] from *s, at least one digit before the
 * exponent; advances *s past it. Returns 0 or UV_EINVAL. */
static int decimal_read(const char **s, decimal *d) {
        const char *p = *s;
        size_t ndig = 0;
        long exp = 0;
        int esign = 1;

        memset(d, 0, sizeof(*d));
        for (; *p >= '0' && *p <= '9'; p++, ndig++)
                decimal_push(d, p, true);
        if (*p == '.') {
                if (d->n > 0)
                        d->dot = p;
                for (p++; *p >= '0' && *p <= '9'; p++, ndig++)
                        decimal_push(d, p, false);
        }
        if (ndig == 0)
                return UV_EINVAL; /* "", ".", "e5", "-1", " 1", "nan" */
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        esign = *p++ == '-' ? -1 : 1;
                if (*p < '0' || *p > '9')
                        return UV_EINVAL; /* "1e", "1e+" */
                /* Saturate far beyond any text's length, which is what
                 * `point` can reach: a cap near it would let a long run of
                 * zeros cancel a capped exponent ("0.<10^5 zeros>1e1000000"). */
                for (; *p >= '0' && *p <= '9'; p++)
                        if (exp < LONG_MAX / 20)
                                exp = exp * 10 + (*p - '0');
        }
        d->point += esign * exp;
        *s = p;
        return 0;
}

/* "inf" or "infinity" in any case, as strtod(3) takes them. */
static bool read_inf(const char **s) {
        if (strncasecmp(*s, "infinity", 8) == 0) {
                *s += 8;
                return true;
        }
        if (strncasecmp(*s, "inf", 3) == 0) {
                *s += 3;
                return true;
        }
        return false;
}

/* ceil(d * unit) in milliseconds, SV_DURATION_INF when it does not fit. */
static uint64_t decimal_to_ms(const decimal *d, uint64_t unit) {
        uint64_t whole = 0, ms, extra;
        size_t i, nwhole;

        if (d->n == 0)
                return 0;
        if (d->point > 20)
                return SV_DURATION_INF; /* >= 10^20 ms */
        if (d->point <= -8)
                return 1; /* below 10^-8 of a unit, and a unit is < 10^8 ms */
        nwhole = d->point > 0 ? (size_t) d->point : 0;
        for (i = 0; i < nwhole; i++) {
                uint64_t digit = i < d->n ? decimal_digit(d, i) : 0;

                if (whole > (UINT64_MAX - digit) / 10)
                        return SV_DURATION_INF;
                whole = whole * 10 + digit;
        }
        if (whole > UINT64_MAX / unit)
                return SV_DURATION_INF;
        ms = whole * unit;
        extra = 0;
        if (d->n > nwhole)
                extra = fraction_ms_ceil(d, nwhole, d->point < 0 ? (size_t) -d->point : 0, unit);
        if (ms > UINT64_MAX - extra)
                return SV_DURATION_INF;
        return ms + extra;
}

int sv_duration_parse(const char *s, uint64_t *out_ms) {
        const char *p = s;
        decimal d;
        uint64_t unit;
        bool inf;

        if (!s)
                return UV_EINVAL;
        inf = read_inf(&p);
        if (!inf && decimal_read(&p, &d) < 0)
                return UV_EINVAL;
        if (duration_unit(p, &unit) < 0)
                return UV_EINVAL; /* "1x", "1.5.2", "1 s", "infx" */
        *out_ms = inf ? SV_DURATION_INF : decimal_to_ms(&d, unit);
        return 0;
}

/* ---- Stop ladders. ---- */

/* Parses one "SIG" or "SIG:DUR" step of `len` bytes (not NUL-terminated). */
static int ladder_step(const char *s, size_t len, uint64_t default_grace_ms, sv_stop_step *out) {
        char buf[64];
        char *colon;
        uint64_t grace = default_grace_ms;
        int sig, r;

        if (len == 0 || len >= sizeof(buf))
                return UV_EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';

        colon = strchr(buf, ':');
        if (colon) {
                *colon = '\0';
                r = sv_duration_parse(colon + 1, &grace);
                if (r < 0)
                        return r;
        }
        sig = sv_signal_parse(buf);
        /* Signal 0 delivers nothing, so a step with it could never end a tree. */
        if (sig <= 0)
                return UV_EINVAL;
        out->signal = sig;
        out->grace_ms = grace;
        return 0;
}

int sv_ladder_parse(const char *s, uint64_t default_grace_ms, sv_ladder *out) {
        sv_ladder l;
        const char *end;
        int r;

        if (!s)
                return UV_EINVAL;
        memset(&l, 0, sizeof(l));
        for (;;) {
                if (l.count == SV_LADDER_MAX)
                        return UV_EINVAL;
                end = strchr(s, ',');
                if (!end)
                        end = s + strlen(s);
                r = ladder_step(s, (size_t) (end - s), default_grace_ms, &l.steps[l.count]);
                if (r < 0)
                        return r;
                l.count++;
                if (*end == '\0')
                        break;
                s = end + 1;
        }
        *out = l;
        return 0;
}

void sv_ladder_default(sv_ladder *out) {
        memset(out, 0, sizeof(*out));
        out->count = 2;
        out->steps[0].signal = SIGTERM;
        out->steps[0].grace_ms = 5000;
        /* After SIGKILL there is nothing left to escalate to; this grace is only
         * how long we wait for the reap before reporting the tree as stuck. */
        out->steps[1].signal = SIGKILL;
        out->steps[1].grace_ms = 5000;
}

/* ---- Names of enums. ---- */

static const char *const cause_names[] = {
        [SV_CAUSE_EXITED] = "exited",
        [SV_CAUSE_SIGNALED] = "signaled",
        [SV_CAUSE_STOPPED] = "stopped",
        [SV_CAUSE_TIMEOUT] = "timeout",
};
_Static_assert(sizeof(cause_names) / sizeof(cause_names[0]) == SV_CAUSE_COUNT,
               "every sv_cause needs a name");

static const char *const mechanism_names[] = {
        [SV_MECH_CGROUP] = SV__PLAT_CGROUP_NAME, /* "cgroup", or "job" on Windows */
        [SV_MECH_PROCWALK] = "procwalk",
        [SV_MECH_PIDNS] = "pidns",
};
_Static_assert(sizeof(mechanism_names) / sizeof(mechanism_names[0]) == SV_MECH_COUNT,
               "every sv_mechanism needs a name");

/* Out-of-range values get "unknown" rather than NULL: these names go straight
 * into log lines and JSON, where a NULL would crash the reporter. */
const char *sv_cause_name(sv_cause c) {
        if ((unsigned) c >= SV_CAUSE_COUNT)
                return "unknown";
        return cause_names[c];
}

const char *sv_mechanism_name(sv_mechanism m) {
        if ((unsigned) m >= SV_MECH_COUNT)
                return "unknown";
        return mechanism_names[m];
}

int sv_leaks_parse(const char *s, sv_leaks *out) {
        static const char *const names[] = { "kill", "report", "fail", "ignore" };
        unsigned i;

        _Static_assert(sizeof(names) / sizeof(names[0]) == SV_LEAKS_COUNT, "names must match sv_leaks");
        for (i = 0; s && i < SV_LEAKS_COUNT; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *out = (sv_leaks) i;
                        return 0;
                }
        }
        return UV_EINVAL;
}
