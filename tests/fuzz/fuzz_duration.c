/* fuzz_duration.c - sv_duration_parse() against a reference computed with
 * 128-bit integers, and a parsed value reprinted (as ms, as s with a
 * fraction, in its largest whole unit) must parse back to itself. A failed
 * parse must leave *out untouched. */
#include <inttypes.h>
#include <stdbool.h>

#include "fuzz.h"
#include "supervise/sv.h"

typedef unsigned __int128 u128;

#define CANARY UINT64_C(0xdeadbeefcafef00d)
#define EXACT_DIGITS 25 /* 10^25 * 86400000 still fits in 128 bits */

/* What the grammar digits+ ('.' digits+)? unit? says about `s`, worked out
 * independently of parse.c. */
typedef struct ref {
        bool valid; /* matches the grammar and the whole part fits in 64 bits */
        u128 whole;
        uint64_t unit;
        u128 frac;      /* the first `frac_len` (<= EXACT_DIGITS) digits */
        unsigned frac_len;
        bool frac_rest; /* nonzero digits beyond EXACT_DIGITS */
} ref;

static uint64_t unit_of(const char *u, bool *ok) {
        static const struct {
                const char *name;
                uint64_t ms;
        } units[] = { { "", 1000 },  { "ms", 1 },          { "s", 1000 },
                      { "m", 60000 }, { "h", 3600000 },     { "d", 86400000 } };
        size_t i;

        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strcmp(u, units[i].name) == 0) {
                        *ok = true;
                        return units[i].ms;
                }
        *ok = false;
        return 0;
}

static ref reference(const char *s) {
        ref r;
        const char *p = s;
        bool ok;

        memset(&r, 0, sizeof(r));
        if (*p < '0' || *p > '9')
                return r;
        for (; *p >= '0' && *p <= '9'; p++) {
                r.whole = r.whole * 10 + (u128) (*p - '0');
                if (r.whole > UINT64_MAX)
                        return r;
        }
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return r;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (r.frac_len < EXACT_DIGITS) {
                                r.frac = r.frac * 10 + (u128) (*p - '0');
                                r.frac_len++;
                        } else if (*p != '0') {
                                r.frac_rest = true;
                        }
                }
        }
        r.unit = unit_of(p, &ok);
        r.valid = ok;
        return r;
}

static u128 pow10_u128(unsigned n) {
        u128 v = 1;

        while (n--)
                v *= 10;
        return v;
}

static void check_reparse(const char *text, uint64_t want) {
        uint64_t got = CANARY;
        int r = sv_duration_parse(text, &got);

        FUZZ_CHECK(r == 0 && got == want, "'%s' -> r=%d %" PRIu64 ", want %" PRIu64, text, r,
                   got, want);
}

static void check_round_trips(uint64_t ms) {
        static const uint64_t units[] = { 86400000, 3600000, 60000, 1000 };
        static const char *const names[] = { "d", "h", "m", "s" };
        char text[64];
        size_t i;

        (void) snprintf(text, sizeof(text), "%" PRIu64 "ms", ms);
        check_reparse(text, ms);
        (void) snprintf(text, sizeof(text), "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
        check_reparse(text, ms);
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (ms % units[i] == 0) {
                        (void) snprintf(text, sizeof(text), "%" PRIu64 "%s", ms / units[i], names[i]);
                        check_reparse(text, ms);
                        break;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_cstr(data, size);
        uint64_t got = CANARY;
        u128 denom, num, lo, hi;
        ref want;
        int r;

        r = sv_duration_parse(s, &got);
        want = reference(s);
        if (!want.valid) {
                FUZZ_CHECK(r == UV_EINVAL && got == CANARY, "'%s' accepted as %" PRIu64, s, got);
                goto out;
        }
        /* lo = whole*unit + ceil(frac*unit); a fraction longer than we keep
         * exactly can add at most one more millisecond. */
        denom = pow10_u128(want.frac_len);
        num = want.frac * want.unit;
        lo = want.whole * want.unit + num / denom + (num % denom != 0);
        hi = lo + (want.frac_rest ? 1 : 0);
        if (lo > UINT64_MAX) {
                FUZZ_CHECK(r == UV_EINVAL && got == CANARY, "'%s' overflows but gave %" PRIu64, s,
                           got);
                goto out;
        }
        if (hi <= UINT64_MAX)
                FUZZ_CHECK(r == 0, "'%s' rejected (%d)", s, r);
        if (r == 0) {
                FUZZ_CHECK(got >= lo && got <= hi, "'%s' -> %" PRIu64 ", want %s%" PRIu64, s, got,
                           hi != lo ? "<= 1 above " : "", (uint64_t) lo);
                check_round_trips(got);
        }
out:
        free(s);
        return 0;
}
