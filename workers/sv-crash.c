/* sv-crash SIG [--core] - dies of signal SIG (a number, "SEGV" or "SIGSEGV")
 * under its default disposition; SEGV is a real NULL store, not raise(). Core
 * dumps are off, or with --core allowed up to the hard limit. Prints nothing;
 * if SIG does not kill it (e.g. CHLD) says so on stderr, exit 1. Bad args: 2. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

static int parse_signal(const char *s) {
        char *end;
        long n;
        int sig;

        errno = 0;
        n = strtol(s, &end, 10);
        if (!errno && end != s && !*end)
                return n > 0 && n < NSIG ? (int) n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (sig = 1; sig < NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcasecmp(s, abbrev) == 0)
                        return sig;
        }
        return -1;
}

/* The sanitizers would turn the fault into a report and an exit status of their
 * own; the point of this program is a genuine SIGSEGV. */
__attribute__((no_sanitize("address", "undefined"), noinline))
static void segfault(void) {
        volatile int *volatile p = NULL;

        *p = 1;
}

int main(int argc, char **argv) {
        struct rlimit core_limit = { 0, 0 };
        sigset_t set;
        int sig = -1;
        int core = 0;
        int i;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--core") == 0)
                        core = 1;
                else if (sig == -1)
                        sig = parse_signal(argv[i]);
                else
                        sig = -2;
        }
        if (sig < 0) {
                fprintf(stderr, "usage: sv-crash SIG [--core]\n");
                return 2;
        }
        if (core && getrlimit(RLIMIT_CORE, &core_limit) == 0)
                core_limit.rlim_cur = core_limit.rlim_max;
        (void) setrlimit(RLIMIT_CORE, &core_limit);

        /* Whatever we inherited (and the sanitizers' own handlers) must not
         * stand between the signal and its default action. */
        signal(sig, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);

        if (sig == SIGSEGV)
                segfault();
        raise(sig);
        fprintf(stderr, "sv-crash: signal %d did not terminate us\n", sig);
        return 1;
}
