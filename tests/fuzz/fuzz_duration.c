/* fuzz_duration.c - sv_duration_parse() against an exact reference of the
 * grammar sv.h documents (a strtod(3) number without sign, hex or nan, or
 * inf/infinity in any case, then an optional unit; rounded up to whole ms;
 * too large for 64 bits saturates to SV_DURATION_INF). A parsed value
 * reprinted (as ms, as s with a fraction, with an exponent, in its largest
 * whole unit) must parse back to itself. A failed parse must leave *out
 * untouched.
 *
 * The reference is independent of parse.c: strtod(3) decides where the
 * number ends, and the rounding is found by comparing the fraction with the
 * decimal expansions of c/m (long division), where parse.c multiplies. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <strings.h>

#include "fuzz.h"
#include "supervise/sv.h"

typedef unsigned __int128 u128;

#define CANARY UINT64_C(0xdeadbeefcafef00d)
/* Exponents saturate here; the reference is exact for inputs shorter than it. */
#define EXP_CAP (LLONG_MAX / 20)

/* A unit is m * 10^k ms with m small, so the fraction's rounding needs only
 * a comparison against c/m for c in 0..m. */
typedef struct unit {
        const char *name;
        unsigned m;
        int k;
        double ms; /* m * 10^k, for the coarse check against strtod */
} unit;

static const unit units[] = { { "", 1, 3, 1e3 },    { "ms", 1, 0, 1 },   { "s", 1, 3, 1e3 },
                              { "m", 6, 4, 6e4 },   { "h", 36, 5, 36e5 }, { "d", 864, 5, 864e5 } };

static const unit *unit_of(const char *u) {
        size_t i;

        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strcmp(u, units[i].name) == 0)
                        return &units[i];
        return NULL;
}

/* The number in [s, end) as 0.digits * 10^point with no leading zero in
 * `digits` (n == 0: the number is zero). `digits` has room for end - s. */
static void number_split(const char *s, const char *end, char *digits, size_t *n,
                         long long *point) {
        const char *p = s;
        long long exp = 0;
        bool neg = false;

        *n = 0;
        *point = 0;
        for (; p < end && isdigit((unsigned char) *p); p++) {
                if (*n == 0 && *p == '0')
                        continue;
                digits[(*n)++] = *p;
                ++*point;
        }
        if (p < end && *p == '.')
                for (p++; p < end && isdigit((unsigned char) *p); p++) {
                        if (*n == 0 && *p == '0')
                                --*point;
                        else
                                digits[(*n)++] = *p;
                }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (*p == '+' || *p == '-')
                        neg = *p++ == '-';
                for (; p < end; p++)
                        exp = exp < EXP_CAP ? exp * 10 + (*p - '0') : exp;
        }
        *point += neg ? -exp : exp;
        while (*n > 0 && digits[*n - 1] == '0')
                --*n; /* trailing zeros do not change the value */
}

/* Whether 0.<z zeros><f[0..n)> <= c/m, digit by digit against the long
 * division of c by m. c <= m. */
static bool frac_le(const char *f, size_t n, size_t z, unsigned c, unsigned m) {
        unsigned rem = c;
        size_t i;

        for (i = 0; i < z + n; i++) {
                unsigned fd = i < z ? 0 : (unsigned) (f[i - z] - '0');
                unsigned qd;

                rem *= 10;
                qd = rem / m;
                rem %= m;
                if (fd != qd)
                        return fd < qd;
        }
        return true; /* f ended; the rest of c/m is >= 0 */
}

/* ceil(m * 0.<z zeros><f>): the least c in 0..m with f <= c/m. */
static unsigned frac_ceil(const char *f, size_t n, size_t z, unsigned m) {
        unsigned lo = 0, hi = m;

        while (lo < hi) {
                unsigned mid = lo + (hi - lo) / 2;

                if (frac_le(f, n, z, mid, m))
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

/* ceil(0.digits * 10^point * unit) in ms, UINT64_MAX when it does not fit. */
static uint64_t exact_ms(const char *digits, size_t n, long long point, const unit *u) {
        long long q = point + u->k; /* value * 10^k = 0.digits * 10^q */
        u128 whole = 0, total;
        size_t i, nwhole;

        if (n == 0)
                return 0;
        if (q > 21)
                return UINT64_MAX; /* >= 10^21 ms > 2^64 */
        if (q < -3)
                return 1; /* < 10^-4 * 864 < 1 ms, and not zero */
        nwhole = q > 0 ? (size_t) q : 0;
        for (i = 0; i < nwhole; i++)
                whole = whole * 10 + (u128) (i < n ? digits[i] - '0' : 0);
        total = whole * u->m;
        if (n > nwhole)
                total += frac_ceil(digits + nwhole, n - nwhole, q < 0 ? (size_t) -q : 0, u->m);
        return total > UINT64_MAX ? UINT64_MAX : (uint64_t) total;
}

/* What sv.h says `s` means. Returns false if it must be rejected. */
static bool reference(const char *s, uint64_t *want, double *approx) {
        const unit *u;
        char *end, *digits;
        size_t n;
        long long point;
        bool inf;

        /* No sign, no space, no hex or nan, which strtod would take. */
        if (!isdigit((unsigned char) s[0]) && s[0] != '.' && s[0] != 'i' && s[0] != 'I')
                return false;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                return false;
        *approx = strtod(s, &end);
        if (end == s || !(u = unit_of(end)))
                return false;
        inf = s[0] == 'i' || s[0] == 'I';
        if (inf) {
                *want = SV_DURATION_INF;
                return true;
        }
        *approx *= u->ms;
        digits = malloc((size_t) (end - s) + 1);
        if (!digits)
                abort();
        number_split(s, end, digits, &n, &point);
        *want = exact_ms(digits, n, point, u);
        free(digits);
        return true;
}

static void check_reparse(const char *text, uint64_t want) {
        uint64_t got = CANARY;
        int r = sv_duration_parse(text, &got);

        FUZZ_CHECK(r == 0 && got == want, "'%s' -> r=%d %" PRIu64 ", want %" PRIu64, text, r,
                   got, want);
}

static void check_round_trips(uint64_t ms) {
        static const uint64_t big[] = { 86400000, 3600000, 60000, 1000 };
        static const char *const names[] = { "d", "h", "m", "s" };
        char text[64];
        size_t i;

        if (ms == SV_DURATION_INF) {
                check_reparse("inf", ms);
                check_reparse("InfinitYms", ms);
                return;
        }
        (void) snprintf(text, sizeof(text), "%" PRIu64 "ms", ms);
        check_reparse(text, ms);
        (void) snprintf(text, sizeof(text), "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
        check_reparse(text, ms);
        (void) snprintf(text, sizeof(text), "%" PRIu64 "e-3", ms); /* bare: seconds */
        check_reparse(text, ms);
        if (ms < 1000) {
                (void) snprintf(text, sizeof(text), ".%03" PRIu64, ms);
                check_reparse(text, ms);
        }
        for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
                if (ms % big[i] == 0) {
                        (void) snprintf(text, sizeof(text), "%" PRIu64 "%s", ms / big[i], names[i]);
                        check_reparse(text, ms);
                        (void) snprintf(text, sizeof(text), "%" PRIu64 ".%s", ms / big[i], names[i]);
                        check_reparse(text, ms);
                        break;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_cstr(data, size);
        uint64_t got = CANARY, want = 0;
        double approx = 0;
        bool valid;
        int r;

        r = sv_duration_parse(s, &got);
        valid = reference(s, &want, &approx);
        if (!valid) {
                FUZZ_CHECK(r == UV_EINVAL && got == CANARY, "'%s' accepted as %" PRIu64, s, got);
                goto out;
        }
        FUZZ_CHECK(r == 0 && got == want, "'%s' -> r=%d %" PRIu64 ", want %" PRIu64, s, r, got,
                   want);
        /* A coarse second opinion from strtod's double: within one ms plus
         * rounding, and INF only when the double is at least about 2^64. */
        if (got == SV_DURATION_INF)
                FUZZ_CHECK(approx >= 18446744073709e6, "'%s' gave INF, strtod says %g", s, approx);
        else
                FUZZ_CHECK(fabs((double) got - approx) <= 1.0 + approx * 1e-12,
                           "'%s' -> %" PRIu64 ", strtod says %.17g", s, got, approx);
        check_round_trips(got);
out:
        free(s);
        return 0;
}
