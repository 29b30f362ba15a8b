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
#include "supervise/sv_run.h"

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

int sv_cli_opt_other(int c, int help_opt, int version_opt, char **argv, const char *cmd,
                     const char *usage) {
        char bad[8];

        if (c == 'h' || c == help_opt) {
                fputs(usage, stdout);
                return 0;
        }
        if (c == version_opt) {
                printf("%s %s\n", cmd, SV_VERSION);
                return 0;
        }
        return sv_cli_usage_error(cmd, c == ':' ? "option '%s' needs an argument" : "unknown option '%s'",
                                  sv_cli_bad_option(argv, bad, sizeof(bad)));
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

void sv_cli_json_set_text(json_t *o, const char *key, const char *s, size_t n) {
        char k[64], *t, *b64;
        size_t len, bad;

        t = sv_text_escape(s, n, 0, &len, &bad);
        if (!t)
                return;
        (void) json_object_set_new(o, key, json_stringn(t, len));
        free(t);
        if (!bad)
                return;
        b64 = sv_base64(s, n);
        (void) snprintf(k, sizeof(k), "%s_b64", key);
        if (b64)
                (void) json_object_set_new(o, k, json_string(b64));
        free(b64);
}

void sv_cli_json_set_argv(json_t *o, const char *key, char *const *argv) {
        json_t *a = json_array(), *raw;
        char k[64], *t;
        size_t i, len, bad, nbad = 0;

        for (i = 0; a && argv[i]; i++) {
                t = sv_text_escape(argv[i], strlen(argv[i]), 0, &len, &bad);
                (void) json_array_append_new(a, t ? json_stringn(t, len) : json_null());
                free(t);
                nbad += bad;
        }
        (void) json_object_set_new(o, key, a);
        if (!nbad)
                return;
        raw = json_array();
        for (i = 0; raw && argv[i]; i++) {
                t = sv_base64(argv[i], strlen(argv[i]));
                (void) json_array_append_new(raw, t ? json_string(t) : json_null());
                free(t);
        }
        (void) snprintf(k, sizeof(k), "%s_b64", key);
        (void) json_object_set_new(o, k, raw);
}

/* getline() is POSIX 2008, which the Windows C runtime lacks; lines here
 * are short (a report's start line, a ctl command), so a getc() loop does. */
long sv_cli_getline(char **buf, size_t *cap, FILE *f) {
        size_t n = 0;
        int c;

        while ((c = getc(f)) != EOF) {
                if (n + 2 > *cap) {
                        size_t ncap = *cap ? 2 * *cap : 128;
                        char *nb = realloc(*buf, ncap);

                        if (!nb)
                                return -1;
                        *buf = nb;
                        *cap = ncap;
                }
                (*buf)[n++] = (char) c;
                if (c == '\n')
                        break;
        }
        if (n == 0)
                return -1;
        (*buf)[n] = '\0';
        return (long) n;
}
