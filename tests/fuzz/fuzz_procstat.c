/* fuzz_procstat.c - sv__proc_parse_stat(), the one /proc/<pid>/stat parser
 * (platform/linux/procfs.c), two ways. The raw input: if it parses, the name
 * is the text between the first '(' and the last ')' (cut to fit), the
 * state is the byte after ") ", and the ppid is a possible pid. And a stat line built from
 * the input (a hostile 0-15 byte comm, negative fields where the kernel
 * allows them, numbers up to 2^64-1) must parse to exactly what was put in. */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>

#include "platform/platform.h"
#include "fuzz.h"

/* Takes the next `n` input bytes as a little-endian number (0 past the end). */
static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned n) {
        uint64_t v = 0;
        unsigned i;

        for (i = 0; i < n && *p < end; i++, (*p)++)
                v |= (uint64_t) **p << (8 * i);
        return v;
}

static void check_raw(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data, *open, *close;
        sv__stat st;
        size_t n;

        if (sv__proc_parse_stat(buf, size, &st) != 0)
                return;
        open = memchr(buf, '(', size);
        close = memrchr(buf, ')', size);
        FUZZ_CHECK(open && close && open < close, "parsed without a (name)");
        n = (size_t) (close - open - 1);
        if (n > sizeof(st.name) - 1)
                n = sizeof(st.name) - 1;
        FUZZ_CHECK(memcmp(st.name, open + 1, n) == 0 && st.name[n] == '\0', "name");
        FUZZ_CHECK(close[1] == ' ' && st.state == close[2], "state '%c'", st.state);
        FUZZ_CHECK(st.ppid >= 0, "ppid %d", (int) st.ppid);
}

static void check_built(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *end = data + size;
        char line[1024], comm[16];
        uint64_t ppid, flags, start, rss;
        int64_t tty, tpgid, prio, nice;
        size_t clen, i;
        sv__stat st;
        char state;
        int len;

        clen = (size_t) take(&p, end, 1) % sizeof(comm);
        for (i = 0; i < clen; i++) {
                comm[i] = (char) take(&p, end, 1);
                if (comm[i] == '\0')
                        comm[i] = ')'; /* the kernel's comm has no NUL */
        }
        comm[clen] = '\0';
        state = "RSDZTtXxKWPI"[take(&p, end, 1) % 12];
        ppid = take(&p, end, 4) % (UINT64_C(1) << 22); /* PID_MAX_LIMIT */
        tty = (int64_t) (int32_t) take(&p, end, 4);
        tpgid = (int64_t) (int32_t) take(&p, end, 4);
        flags = take(&p, end, 4);
        prio = (int64_t) (int8_t) take(&p, end, 1);
        nice = (int64_t) (int8_t) take(&p, end, 1);
        start = take(&p, end, 8);
        rss = take(&p, end, 8);
        len = snprintf(line, sizeof(line),
                       "4242 (%.*s) %c %" PRIu64 " 4242 4242 %" PRId64 " %" PRId64 " %" PRIu64
                       " 1 0 0 0 5 6 -7 -8 %" PRId64 " %" PRId64 " 1 0 %" PRIu64 " 2000000 %" PRIu64
                       " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0\n",
                       (int) clen, comm, state, ppid, tty, tpgid, flags, prio, nice, start, rss);
        FUZZ_CHECK(len > 0 && (size_t) len < sizeof(line), "line length %d", len);
        /* memcpy through %.*s stops at nothing: comm has no NUL. */
        FUZZ_CHECK(sv__proc_parse_stat(line, (size_t) len, &st) == 0, "'%s' rejected", line);
        FUZZ_CHECK(strlen(st.name) == clen && memcmp(st.name, comm, clen) == 0, "name '%s' vs '%s'",
                   st.name, comm);
        FUZZ_CHECK(st.state == state && (uint64_t) st.ppid == ppid, "state/ppid of '%s'", line);
        FUZZ_CHECK(st.start_ticks == start && st.rss_pages == rss, "start/rss of '%s'", line);
        FUZZ_CHECK(st.kthread == ((flags & 0x00200000u) != 0), "kthread of '%s'", line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_raw(data, size);
        check_built(data, size);
        return 0;
}
