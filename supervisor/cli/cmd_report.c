/* cmd_report.c - `supervise report merge`: the events files of a run split
 * over machines (`run --shard I/N`) -> one report (sv_report_merge) -> the
 * same JUnit, TAP and summary writers `run` uses, and run's exit status for
 * the merged verdicts. A name found in two files is said on stderr; a
 * shard missing from a set of files that carry their shard is too. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "supervise/sv_run.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_TIMEDOUT 124
#define EXIT_OWN SV_CLI_EXIT_OWN

static const char usage_text[] =
        "Usage: supervise report merge [--junit FILE] [--tap FILE] [--summary] EVENTS...\n"
        "Combine the events files of several runs (the shards of one suite, from\n"
        "'supervise run --shard I/N --events FILE') into one JUnit, TAP and summary,\n"
        "as if one run had made them.\n"
        "\n"
        "      --junit FILE       JUnit XML, one testcase per job\n"
        "      --tap FILE         TAP version 13\n"
        "      --summary          the summary 'run' prints, on stdout (the default\n"
        "                         when neither --junit nor --tap is given)\n"
        "  -h, --help             show this help and exit\n"
        "      --version          show the version and exit\n"
        "\n"
        "A job name in more than one file (shards that overlapped) is reported once,\n"
        "with the worse verdict (the first file's on a tie), and one line on stderr\n"
        "names it and both files. When every file says which shard it was and one\n"
        "of 1..N is missing, a line says so, and the status is at least 1.\n"
        "\n"
        "Exit status:\n"
        "  0      every merged job passed (a flaky pass or a skip counts as passed)\n"
        "  1      a job failed, crashed, could not start or did not run; or a shard\n"
        "         is missing\n"
        "  124    a job timed out, and every other job passed\n"
        "  125    a bad option, an events file that cannot be read or is not one,\n"
        "         or a report that cannot be written\n";

typedef struct report_opts {
        const char *junit, *tap;
        bool summary;
        const char *const *files;
        size_t nfiles;
} report_opts;

static int usage_error(const char *fmt, const char *arg) {
        return sv_cli_usage_error("supervise report", fmt, arg);
}

/* Returns -1 to go on, or the exit status (0 after --help). */
static int parse(int argc, char **argv, report_opts *o) {
        enum { OPT_JUNIT = 256, OPT_TAP, OPT_SUMMARY, OPT_VERSION };
        static const struct option longopts[] = {
                { "junit", required_argument, NULL, OPT_JUNIT },
                { "tap", required_argument, NULL, OPT_TAP },
                { "summary", no_argument, NULL, OPT_SUMMARY },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        int c;

        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_JUNIT: o->junit = optarg; break;
                case OPT_TAP: o->tap = optarg; break;
                case OPT_SUMMARY: o->summary = true; break;
                default:
                        return sv_cli_opt_other(c, 'h', OPT_VERSION, argv, "supervise report", usage_text);
                }
        }
        if (optind >= argc)
                return usage_error("%s", "no events file given");
        o->files = (const char *const *) argv + optind;
        o->nfiles = (size_t) (argc - optind);
        if (!o->junit && !o->tap)
                o->summary = true;
        return -1;
}

static void on_conflict(const char *name, const char *kept, const char *dropped, void *ud) {
        (void) ud;
        fputs("supervise report merge: '", stderr);
        sv_text_put_term(stderr, name, strlen(name));
        fprintf(stderr, "' is in both '%s' and '%s' (shards overlap); kept the record from '%s'\n",
                kept, dropped, kept);
}

/* The "shard" of a file's start line ("2/3" -> 1, 3), or -1. */
static int shard_of(const char *path, unsigned *index, unsigned *count) {
        char *line = NULL;
        size_t cap = 0;
        FILE *f = fopen(path, "re");
        json_t *o = NULL;
        int r = -1;

        if (f && sv_cli_getline(&line, &cap, f) > 0)
                o = json_loads(line, 0, NULL);
        if (o && json_is_string(json_object_get(o, "shard")) &&
            sscanf(json_string_value(json_object_get(o, "shard")), "%u/%u", index, count) == 2 &&
            *index >= 1 && *index <= *count) {
                (*index)--;
                r = 0;
        }
        json_decref(o);
        free(line);
        if (f)
                (void) fclose(f);
        return r;
}

/* When every file names its shard of one split, the shards none of them
 * is: their jobs are missing from the report. Returns how many. */
static unsigned missing_shards(const report_opts *o) {
        unsigned idx, count = 0, n, missing = 0, k;
        bool *seen = NULL;
        size_t i;

        for (i = 0; i < o->nfiles; i++) {
                if (shard_of(o->files[i], &idx, &n) < 0 || (count && n != count))
                        goto out;
                if (!seen) {
                        count = n;
                        seen = calloc(n, sizeof(*seen));
                        if (!seen)
                                goto out;
                }
                seen[idx] = true;
        }
        for (k = 0; seen && k < count; k++)
                if (!seen[k]) {
                        fprintf(stderr, "supervise report merge: shard %u/%u is missing: its "
                                        "jobs are not in the report\n", k + 1, count);
                        missing++;
                }
out:
        free(seen);
        return missing;
}

static int write_one(const sv_report *r, const char *path, const char *what, bool junit) {
        sv_atomic_file af;
        int e, c;

        e = sv_atomic_file_open(&af, path);
        if (e == 0) {
                e = junit ? sv_report_write_junit(r, af.f, NULL) : sv_report_write_tap(r, af.f);
                c = sv_atomic_file_commit(&af);
                if (e == 0)
                        e = c;
        }
        if (e < 0) {
                fprintf(stderr, "supervise report merge: cannot write %s '%s': %s\n", what, path,
                        uv_strerror(e));
                return EXIT_OWN;
        }
        return 0;
}

static int status_of(const sv_report *r, unsigned missing) {
        sv_report_counts c;

        sv_report_get_counts(r, &c);
        if (c.failed || c.crashed || c.errors || c.stopped || c.not_run || missing)
                return EXIT_FAILED;
        return c.timed_out ? EXIT_TIMEDOUT : EXIT_OK;
}

static int merge_main(int argc, char **argv) {
        report_opts o;
        sv_report *r = NULL;
        char err[1024];
        unsigned missing;
        int status;

        memset(&o, 0, sizeof(o));
        status = parse(argc, argv, &o);
        if (status >= 0)
                return status;
        if (sv_report_merge(o.files, o.nfiles, on_conflict, NULL, &r, err, sizeof(err)) < 0) {
                fprintf(stderr, "supervise report merge: %s\n", err);
                return EXIT_OWN;
        }
        missing = missing_shards(&o);
        status = 0;
        if (o.junit && write_one(r, o.junit, "JUnit report", true))
                status = EXIT_OWN;
        if (o.tap && write_one(r, o.tap, "TAP report", false))
                status = EXIT_OWN;
        if (o.summary && (sv_report_write_summary(r, stdout) < 0 || fflush(stdout) != 0)) {
                fprintf(stderr, "supervise report merge: cannot write the summary\n");
                status = EXIT_OWN;
        }
        if (status == 0)
                status = status_of(r, missing);
        sv_report_free(r);
        return status;
}

int sv_cli_report(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "merge") == 0)
                return merge_main(argc - 1, argv + 1);
        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                fputs(usage_text, stdout);
                return EXIT_OK;
        }
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("supervise report %s\n", SV_VERSION);
                return EXIT_OK;
        }
        return usage_error("%s", argc > 1 ? "unknown command (the one command is 'merge')"
                                          : "no command (the one command is 'merge')");
}
