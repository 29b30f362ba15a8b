/* fuzz_signal.c - sv_signal_parse() and sv_signal_name(). A parsed signal is
 * in range, its name parses back to it (with or without "SIG", in any case),
 * and so does its number; case never changes what a string parses to. The
 * first bytes, read as an int, also go through the namer, which must return
 * NULL or a name that parses back to that int. */
#include <ctype.h>
#include <signal.h>

#include "fuzz.h"
#include "supervise/sv.h"

static void check_name_round_trip(int sig) {
        const char *name = sv_signal_name(sig);
        char lower[32], num[16];
        size_t i;

        if (!name) {
                /* Every real-time signal has a name relative to RTMIN/RTMAX. */
                FUZZ_CHECK(sig < SIGRTMIN || sig > SIGRTMAX, "%d has no name", sig);
                return;
        }
        FUZZ_CHECK(sig >= 1 && sig <= SIGRTMAX, "%d named '%s'", sig, name);
        FUZZ_CHECK(strncmp(name, "SIG", 3) == 0 && strlen(name) < sizeof(lower), "'%s'", name);
        FUZZ_CHECK(sv_signal_parse(name) == sig, "'%s' -> %d, not %d", name,
                   sv_signal_parse(name), sig);
        FUZZ_CHECK(sv_signal_parse(name + 3) == sig, "'%s' without SIG", name);
        for (i = 0; name[i]; i++)
                lower[i] = (char) tolower((unsigned char) name[i]);
        lower[i] = '\0';
        FUZZ_CHECK(sv_signal_parse(lower) == sig, "'%s' -> %d", lower, sv_signal_parse(lower));
        (void) snprintf(num, sizeof(num), "%d", sig);
        FUZZ_CHECK(sv_signal_parse(num) == sig, "'%s'", num);
}

/* Once per process: every signal number round-trips, and names are unique
 * (a name that parsed to two numbers would fail the round trip above). */
static void check_table(void) {
        static int done;
        int sig;

        if (done)
                return;
        done = 1;
        for (sig = -2; sig <= SIGRTMAX + 2; sig++)
                check_name_round_trip(sig);
}

static void check_case_blind(const char *s, int sig) {
        char *up = strdup(s), *down = strdup(s);
        size_t i;

        if (!up || !down)
                abort();
        for (i = 0; s[i]; i++) {
                up[i] = (char) toupper((unsigned char) s[i]);
                down[i] = (char) tolower((unsigned char) s[i]);
        }
        FUZZ_CHECK(sv_signal_parse(up) == sig && sv_signal_parse(down) == sig,
                   "'%s' -> %d but upper %d, lower %d", s, sig, sv_signal_parse(up),
                   sv_signal_parse(down));
        free(up);
        free(down);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_cstr(data, size);
        int sig, n;

        check_table();
        sig = sv_signal_parse(s);
        if (sig < 0) {
                FUZZ_CHECK(sig == UV_EINVAL, "'%s' -> %d", s, sig);
        } else {
                FUZZ_CHECK(sig <= SIGRTMAX, "'%s' -> %d", s, sig);
                /* 0 is only ever the number, never a name. */
                FUZZ_CHECK(sig != 0 || (s[0] >= '0' && s[0] <= '9'), "'%s' -> 0", s);
                if (sig > 0)
                        check_name_round_trip(sig);
        }
        check_case_blind(s, sig);
        if (size >= sizeof(n)) {
                memcpy(&n, data, sizeof(n));
                check_name_round_trip(n);
        }
        free(s);
        return 0;
}
