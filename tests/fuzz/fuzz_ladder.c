/* fuzz_ladder.c - sv_ladder_parse(). A parsed ladder has 1..SV_LADDER_MAX
 * steps, one per comma-separated piece, each with a deliverable signal
 * (1..SIGRTMAX) and the grace its piece names (or the default). Reprinted
 * with explicit graces and parsed with another default it is the same
 * ladder. A failed parse leaves *out untouched. The first input byte picks
 * the default grace. */
#include <inttypes.h>
#include <signal.h>

#include "fuzz.h"
#include "supervise/sv.h"

static const uint64_t defaults[] = { 0, 1, 5000, UINT64_MAX };

/* Checks step i against the i-th piece of the text, parsed on its own. */
static void check_step(const char *piece, size_t len, uint64_t dflt, const sv_stop_step *st) {
        char *p = strndup(piece, len), *colon;
        uint64_t grace = dflt;

        if (!p)
                abort();
        colon = strchr(p, ':');
        if (colon) {
                *colon = '\0';
                FUZZ_CHECK(sv_duration_parse(colon + 1, &grace) == 0, "'%s' grace", colon + 1);
        }
        FUZZ_CHECK(st->signal >= 1 && st->signal <= SIGRTMAX, "signal %d", st->signal);
        FUZZ_CHECK(sv_signal_parse(p) == st->signal, "'%s' -> %d, step has %d", p,
                   sv_signal_parse(p), st->signal);
        FUZZ_CHECK(st->grace_ms == grace, "grace %" PRIu64 ", want %" PRIu64, st->grace_ms, grace);
        free(p);
}

/* Field by field: struct padding need not survive the parser's copy. */
static int ladder_equal(const sv_ladder *a, const sv_ladder *b) {
        unsigned i;

        if (a->count != b->count)
                return 0;
        for (i = 0; i < SV_LADDER_MAX; i++)
                if (a->steps[i].signal != b->steps[i].signal ||
                    a->steps[i].grace_ms != b->steps[i].grace_ms)
                        return 0;
        return 1;
}

static void check_reprint(const sv_ladder *l) {
        char text[SV_LADDER_MAX * 64], *p = text;
        const char *name;
        sv_ladder again;
        unsigned i;

        for (i = 0; i < l->count; i++) {
                name = sv_signal_name(l->steps[i].signal);
                if (name)
                        p += sprintf(p, "%s%s:%" PRIu64 "ms", i ? "," : "", name,
                                     l->steps[i].grace_ms);
                else
                        p += sprintf(p, "%s%d:%" PRIu64 "ms", i ? "," : "", l->steps[i].signal,
                                     l->steps[i].grace_ms);
        }
        memset(&again, 0x5a, sizeof(again));
        FUZZ_CHECK(sv_ladder_parse(text, 12345, &again) == 0, "reprint '%s' rejected", text);
        FUZZ_CHECK(ladder_equal(&again, l), "reprint '%s' differs", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sv_ladder l, canary;
        const char *piece, *comma;
        uint64_t dflt;
        unsigned i, commas = 0;
        char *s;
        int r;

        if (size == 0)
                return 0;
        dflt = defaults[data[0] % (sizeof(defaults) / sizeof(defaults[0]))];
        s = fuzz_cstr(data + 1, size - 1);
        memset(&canary, 0xa5, sizeof(canary));
        l = canary;
        r = sv_ladder_parse(s, dflt, &l);
        if (r < 0) {
                FUZZ_CHECK(r == UV_EINVAL, "'%s' -> %d", s, r);
                FUZZ_CHECK(memcmp(&l, &canary, sizeof(l)) == 0, "'%s': out written on failure", s);
                goto out;
        }
        for (piece = s; (comma = strchr(piece, ',')) != NULL; piece = comma + 1)
                commas++;
        FUZZ_CHECK(l.count >= 1 && l.count <= SV_LADDER_MAX && l.count == commas + 1,
                   "'%s': %u steps, %u commas", s, l.count, commas);
        for (i = l.count; i < SV_LADDER_MAX; i++)
                FUZZ_CHECK(l.steps[i].signal == 0 && l.steps[i].grace_ms == 0, "step %u unused", i);
        piece = s;
        for (i = 0; i < l.count; i++) {
                comma = strchr(piece, ',');
                if (!comma)
                        comma = piece + strlen(piece);
                check_step(piece, (size_t) (comma - piece), dflt, &l.steps[i]);
                piece = comma + 1;
        }
        check_reprint(&l);
out:
        free(s);
        return 0;
}
