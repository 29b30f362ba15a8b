/* opts.c - the one parser of the options the main command and `run` share.
 * Prints only the usage-error line (through sv_cli_usage_error); the caller
 * owns argv, getopt's state and every other option. */
#include <signal.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"

void sv_cli_common_init(sv_cli_common *o) {
        memset(o, 0, sizeof(*o));
        o->first_signal = SIGTERM;
        o->kill_after_ms = 5000;
        o->leaks = SV_LEAKS_KILL;
}

/* 0 is accepted: "none" for both timeouts (as timeout(1) reads 0), "at once"
 * for --kill-after. */
static int duration(const char *cmd, const char *fmt, const char *arg, uint64_t *out) {
        if (sv_duration_parse(arg, out) < 0)
                return sv_cli_usage_error(cmd, fmt, arg);
        return 1;
}

int sv_cli_common_opt(const char *cmd, int c, const char *arg, sv_cli_common *o) {
        int sig;

        switch (c) {
        case 't':
                return duration(cmd, "invalid duration '%s' for --timeout", arg, &o->timeout_ms);
        case SV_CLI_OPT_IDLE:
                return duration(cmd, "invalid duration '%s' for --idle-timeout", arg, &o->idle_timeout_ms);
        case 'k':
                return duration(cmd, "invalid duration '%s' for --kill-after", arg, &o->kill_after_ms);
        case 's':
                sig = sv_signal_parse(arg);
                if (sig <= 0)
                        return sv_cli_usage_error(cmd, "unknown signal '%s'", arg);
                o->first_signal = sig;
                return 1;
        case SV_CLI_OPT_STOP:
                if (sv_ladder_parse(arg, 5000, &o->ladder) < 0 || o->ladder.count == 0)
                        return sv_cli_usage_error(cmd, "invalid stop ladder '%s' (want e.g. "
                                                       "'INT:5s,TERM:5s,KILL')", arg);
                o->have_ladder = true;
                return 1;
        case SV_CLI_OPT_LEAKS:
                if (sv_leaks_parse(arg, &o->leaks) < 0)
                        return sv_cli_usage_error(cmd, "invalid --leaks '%s' (want kill, report, "
                                                       "fail or ignore)", arg);
                return 1;
        default:
                return 0;
        }
}

void sv_cli_common_ladder(const sv_cli_common *o, sv_ladder *out) {
        if (o->have_ladder) {
                *out = o->ladder;
                return;
        }
        memset(out, 0, sizeof(*out));
        out->count = 2;
        out->steps[0].signal = o->first_signal;
        out->steps[0].grace_ms = o->kill_after_ms;
        out->steps[1].signal = SIGKILL;
        out->steps[1].grace_ms = 5000;
}
