/* report_internal.h - the per-job records of a run report, shared by
 * report.c (which builds them from events) and report_fmt.c (which renders
 * them). Nothing else may write these fields. */
#ifndef SV_REPORT_INTERNAL_H
#define SV_REPORT_INTERNAL_H

#include "run/run_internal.h"

/* One run of one job, from SPAWN (or its first event) to EXIT. */
typedef struct sv__attempt {
        unsigned attempt;  /* 1-based */
        pid_t pid;
        uint64_t start_ms; /* t_ms of SPAWN */
        uint64_t end_ms;   /* t_ms of EXIT */
        bool spawned;      /* SPAWN seen: start_ms and slot are valid */
        unsigned slot;     /* SPAWN's runner slot */
        bool finished;     /* EXIT seen: verdict, error, exit are valid */
        sv_verdict verdict;
        int error;         /* verdict ERROR: why it could not start */
        bool has_exit;
        sv_exit_info exit;
        unsigned leaked;
        int last_signal;   /* the last signal we sent, 0 if none */
        char *stop_reason; /* why we sent it ("timeout", "interrupt"), or NULL */
        char *output;      /* output tail from EXIT (output_len bytes, may hold NULs), or NULL */
        size_t output_len;
        char *diag;        /* DIAG texts, each under a "--- kind ---" line (diag_len
                            * bytes, may hold NULs), or NULL */
        size_t diag_len;
} sv__attempt;

typedef struct sv__jobrec {
        char *name;
        char **argv;
        unsigned flags;
        uint64_t timeout_ms;
        bool skipped;
        char *skip_reason;
        sv__attempt *att; /* in attempt order */
        size_t natt;
} sv__jobrec;

struct sv_report {
        sv__jobrec *jobs;
        size_t njobs;
        int fd;
        uint64_t unix_ms; /* START's wall clock */
        unsigned parallel;
        uint64_t last_t_ms;
        uint64_t end_ms;
        bool ended;
        uint64_t lines; /* events file lines written whole */
        /* For the start line only: sv_report_set_seed(), _set_shard(). */
        bool has_seed;
        uint64_t seed;
        unsigned shard_index, shard_count; /* count 0: not sharded */
};

const sv__attempt *sv__last_finished(const sv__jobrec *jr);
sv_verdict sv__job_verdict(const sv__jobrec *jr);
bool sv__job_flaky(const sv__jobrec *jr);
uint64_t sv__job_wall_ms(const sv__jobrec *jr); /* all attempts */
/* report_fmt.c: `rawlen` bytes from outside as XML 1.0 text (`attr`: inside
 * a quoted attribute), which HTML reads the same: sv_text_escape's scheme
 * with SV_TEXT_CONTROLS | SV_TEXT_KEEP_LINES, then the XML entities. */
void sv__xml_escape(FILE *f, const char *raw, size_t rawlen, bool attr);
/* The command as one readable line, each word quoted for sh if it needs it. */
void sv__command_line(sv__buf *b, char *const *argv);
/* 0, or why writing to f failed (-errno; UV_EIO if unknown), after a flush. */
int sv__write_result(FILE *f);

#endif
