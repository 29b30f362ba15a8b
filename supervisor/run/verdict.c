/* verdict.c - how ctest judges a test, for any job: the exit, then the
 * PASS/FAIL/SKIP regular expressions against the attempt's whole output,
 * the skip code and WILL_FAIL, in ctest's order (cmCTestRunTest::EndTest);
 * CMake's regex syntax taken to POSIX extended regexes (platform's
 * sv__re_*: PCRE2 on Windows); label
 * filters. Pure functions: no I/O, no state. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "platform/platform.h"
#include "run/run_internal.h"

/* CMake's syntax (cmsys::RegularExpression, after Henry Spencer's) as a
 * POSIX ERE: a backslash makes any next character literal (ERE gives \w,
 * \< and friends a meaning, so "\w" becomes "w"), and braces are plain
 * characters (ERE reads them as a count). Brackets are copied as they are:
 * both read them the same way. Returns a new string or NULL (ENOMEM). */
static char *cmake_to_ere(const char *p) {
        size_t n = strlen(p), k = 0;
        char *out = malloc(2 * n + 1);
        bool in_bracket = false;
        size_t bracket_start = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char c = p[i];

                if (in_bracket) {
                        /* A ']' first in the set ("[]a]", "[^]a]") is literal. */
                        if (c == ']' && i > bracket_start)
                                in_bracket = false;
                        out[k++] = c;
                        continue;
                }
                if (c == '[') {
                        in_bracket = true;
                        out[k++] = c;
                        if (p[i + 1] == '^')
                                out[k++] = p[++i];
                        bracket_start = i + 1;
                        continue;
                }
                if (c == '\\') {
                        c = p[i + 1];
                        if (c == '\0') {
                                out[k++] = '\\';
                                out[k++] = '\\';
                                continue;
                        }
                        i++;
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9')))
                                out[k++] = '\\';
                        out[k++] = c;
                        continue;
                }
                if (c == '{' || c == '}')
                        out[k++] = '\\';
                out[k++] = c;
        }
        out[k] = '\0';
        return out;
}

int sv_regex_match(const char *pattern, const char *text, char *err, size_t errlen) {
        char *ere, msg[200];
        sv__re *re;
        int r;

        /* An empty expression matches everything (ERE may refuse it). */
        if (pattern[0] == '\0')
                return 1;
        ere = cmake_to_ere(pattern);
        if (!ere)
                return UV_ENOMEM;
        msg[0] = '\0';
        r = sv__re_compile(ere, false, &re, msg, sizeof(msg));
        free(ere);
        if (r == UV_ENOMEM)
                return r;
        if (r < 0) {
                sv__err(err, errlen, "bad regular expression '%.200s': %s", pattern, msg);
                return r;
        }
        r = sv__re_match(re, text ? text : "");
        sv__re_free(re);
        return r;
}

/* The first of `list` that matches `text`, or NULL. */
static const char *first_match(char *const *list, const char *text) {
        for (size_t i = 0; list && list[i]; i++)
                if (sv_regex_match(list[i], text, NULL, 0) == 1)
                        return list[i];
        return NULL;
}

/* The verdict of an exit by its code and cause alone (WILL_FAIL and
 * SKIP_RETURN_CODE included; no regular expression). */
sv_verdict sv_verdict_of(const sv_job *job, const sv_exit_info *e) {
        bool will_fail = job && (job->flags & SV_JOB_WILL_FAIL);
        bool ok;

        switch (e->cause) {
        case SV_CAUSE_TIMEOUT:
                return SV_VERDICT_TIMEOUT;
        case SV_CAUSE_STOPPED:
                return SV_VERDICT_STOPPED;
        case SV_CAUSE_SIGNALED:
                return SV_VERDICT_CRASH;
        default:
                break;
        }
        if (!e->exited)
                return SV_VERDICT_CRASH;
        if (job && job->skip_code >= 0 && e->code == job->skip_code)
                return SV_VERDICT_SKIP;
        ok = (e->code == 0) != will_fail;
        return ok ? SV_VERDICT_PASS : SV_VERDICT_FAIL;
}

sv_verdict sv_verdict_judge(const sv_job *job, const sv_exit_info *e, const char *output,
                            char *why, size_t whylen) {
        sv_verdict v = sv_verdict_of(job, e);
        bool force_fail = false, force_skip = false, success, has_pass;
        const char *m;

        if (why && whylen)
                why[0] = '\0';
        /* A timeout, a stop or a crash is judged without the output (ctest:
         * only an exited test is looked at). */
        if (!job || v == SV_VERDICT_TIMEOUT || v == SV_VERDICT_STOPPED || v == SV_VERDICT_CRASH)
                return v;
        has_pass = job->pass_regex && job->pass_regex[0];
        if (has_pass && !first_match(job->pass_regex, output)) {
                force_fail = true;
                sv__err(why, whylen, "no PASS_REGULAR_EXPRESSION matched the output");
        } else if (has_pass && e->code != 0) {
                sv__err(why, whylen, "PASS_REGULAR_EXPRESSION matched; exit code ignored");
        }
        if ((m = first_match(job->fail_regex, output)) != NULL) {
                force_fail = true;
                sv__err(why, whylen, "FAIL_REGULAR_EXPRESSION '%.200s' matched the output", m);
        }
        if ((m = first_match(job->skip_regex, output)) != NULL) {
                force_skip = true;
                sv__err(why, whylen, "SKIP_REGULAR_EXPRESSION '%.200s' matched the output", m);
        }
        if (force_skip || (job->skip_code >= 0 && e->code == job->skip_code))
                return SV_VERDICT_SKIP;
        success = !force_fail && (e->code == 0 || has_pass);
        return success != ((job->flags & SV_JOB_WILL_FAIL) != 0) ? SV_VERDICT_PASS
                                                                 : SV_VERDICT_FAIL;
}

int sv_job_label_match(const sv_job *job, const char *regex, char *err, size_t errlen) {
        int r;

        for (size_t i = 0; job->labels && job->labels[i]; i++) {
                r = sv_regex_match(regex, job->labels[i], err, errlen);
                if (r != 0)
                        return r;
        }
        /* A bad pattern must be an error even for a job without labels. */
        r = sv_regex_match(regex, "", err, errlen);
        return r < 0 ? r : 0;
}
