/* util.c - small pieces every subcommand's option parsing and signal
 * handling share, so that they read and fail the same way. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int sv_cli_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = (unsigned) v;
        return 0;
}

int sv_cli_usage_error(const char *cmd, const char *fmt, const char *arg) {
        fprintf(stderr, "%s: ", cmd);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry '%s --help' for more information.\n", cmd);
        return SV_CLI_EXIT_OWN;
}

int sv_cli_watch_signals(uv_loop_t *loop, uv_signal_t *handles, const int *signums, int n,
                         uv_signal_cb cb, void *data, int *nstarted) {
        int i, e;

        for (i = 0; i < n; i++) {
                e = uv_signal_init(loop, &handles[i]);
                if (e < 0)
                        return e;
                handles[i].data = data;
                (*nstarted)++;
                e = uv_signal_start(&handles[i], cb, signums[i]);
                if (e < 0)
                        return e;
                /* A watcher alone must not keep the run going. */
                uv_unref((uv_handle_t *) &handles[i]);
        }
        return 0;
}

/* A word of short options ("-qX") that holds the letter c. */
static bool cluster_has(const char *w, int c) {
        return w && w[0] == '-' && w[1] != '-' && w[1] && strchr(w + 1, c);
}

const char *sv_cli_bad_option(char **argv, char *buf, size_t len) {
        /* getopt does not say whether a short or a long option failed. A
         * short one leaves its word in argv[optind] (the letter was inside
         * the cluster, as 'K' in "-KILL") or argv[optind - 1] (it ended it);
         * anything else was a long option, the word before optind. */
        if (optopt > 0 && optopt < 256 &&
            (cluster_has(argv[optind], optopt) || (optind > 0 && cluster_has(argv[optind - 1], optopt)))) {
                (void) snprintf(buf, len, "-%c", optopt);
                return buf;
        }
        return optind > 0 && argv[optind - 1] ? argv[optind - 1] : "?";
}
