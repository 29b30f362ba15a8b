/* regex.c - platform.h's sv__re_* on Windows, where the C runtime has no
 * <regex.h>: PCRE2 (8-bit, static, built from Debian's sources by
 * scripts/windows.sh) through its native API, set to behave as POSIX
 * extended regexes do on Linux for the uses we have (a yes/no match):
 * bytes, not UTF-8; a match anywhere in the string; '.' matches a newline
 * and '$' only the very end, as regexec() without REG_NEWLINE; case
 * ignored with PCRE2_CASELESS. PCRE2's syntax is a superset of ERE for
 * everyday patterns; the differences are in README, "Windows". Owns the
 * compiled code and its match data. */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "platform/platform.h"

struct sv__re {
        pcre2_code *code;
        /* Reused by every match: one compiled pattern is only ever matched
         * from one thread at a time (the loop's, or the CLI's). */
        pcre2_match_data *md;
};

int sv__re_compile(const char *pattern, bool icase, sv__re **out, char *msg, size_t msg_len) {
        uint32_t opts = PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | (icase ? PCRE2_CASELESS : 0);
        PCRE2_UCHAR errbuf[128];
        PCRE2_SIZE erroff = 0;
        int errcode = 0;
        sv__re *re;

        re = calloc(1, sizeof(*re));
        if (!re)
                return UV_ENOMEM;
        re->code = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, opts, &errcode,
                                 &erroff, NULL);
        if (!re->code) {
                free(re);
                if (errcode == PCRE2_ERROR_HEAP_FAILED)
                        return UV_ENOMEM;
                if (pcre2_get_error_message(errcode, errbuf, sizeof(errbuf)) < 0)
                        (void) snprintf((char *) errbuf, sizeof(errbuf), "error %d", errcode);
                if (msg && msg_len)
                        (void) snprintf(msg, msg_len, "invalid regex: %s (at offset %zu)",
                                        (const char *) errbuf, (size_t) erroff);
                return UV_EINVAL;
        }
        /* One pair of offsets: we ask only whether it matches. */
        re->md = pcre2_match_data_create(1, NULL);
        if (!re->md) {
                pcre2_code_free(re->code);
                free(re);
                return UV_ENOMEM;
        }
        *out = re;
        return 0;
}

/* 1 on a match, 0 otherwise. A match that hits PCRE2's limits (a pattern
 * that backtracks without end) counts as no match, as the contract has no
 * third answer. */
int sv__re_match(const sv__re *re, const char *s) {
        return pcre2_match(re->code, (PCRE2_SPTR) s, PCRE2_ZERO_TERMINATED, 0, 0, re->md, NULL) >= 0;
}

void sv__re_free(sv__re *re) {
        if (!re)
                return;
        pcre2_match_data_free(re->md);
        pcre2_code_free(re->code);
        free(re);
}
