/* regex.c - platform.h's sv__re_*: POSIX extended regular expressions from
 * the C library, for the process finder's --regex and pgrep's pattern.
 * Owns the compiled regex_t. Windows builds have no <regex.h> and use
 * platform/win/regex.c instead. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "platform/platform.h"

struct sv__re {
        regex_t re;
};

int sv__re_compile(const char *pattern, bool icase, sv__re **out, char *msg, size_t msg_len) {
        char errbuf[128];
        sv__re *re;
        int r;

        re = malloc(sizeof(*re));
        if (!re)
                return UV_ENOMEM;
        r = regcomp(&re->re, pattern, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
        if (r != 0) {
                (void) regerror(r, &re->re, errbuf, sizeof(errbuf));
                if (msg && msg_len)
                        (void) snprintf(msg, msg_len, "invalid regex: %s", errbuf);
                free(re); /* regcomp() frees what it allocated when it fails */
                return UV_EINVAL;
        }
        *out = re;
        return 0;
}

int sv__re_match(const sv__re *re, const char *s) {
        return regexec(&re->re, s, 0, NULL, 0) == 0;
}

void sv__re_free(sv__re *re) {
        if (!re)
                return;
        regfree(&re->re);
        free(re);
}
