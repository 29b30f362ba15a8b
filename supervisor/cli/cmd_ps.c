/* cmd_ps.c - `supervise ps`: find_opts -> libsv's finder -> text or JSON ->
 * exit code, and the printing `kill` and pgrep share (the tree, escaped
 * command lines, JSON). All policy about what may be matched lives in
 * supervisor/find/; this file only prints and picks the exit code. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_find.h"
#include "supervise/sv.h"
#include "supervise/sv_find.h"
#include "supervise/sv_run.h"

/* ---- Text output. ---- */

/* Writes `len` bytes with anything unprintable escaped, so a name holding a
 * newline or an escape sequence cannot forge lines or drive the terminal. */
void sv_cli_find_put_escaped(FILE *out, const char *s, size_t len) {
        sv_text_put_term(out, s, len);
}

/* The command line as shown: argv joined by spaces, or "[name]". */
static void put_cmdline(FILE *out, const sv_find_proc *p) {
        size_t i, start = 0;

        if (!p->cmdline || p->cmdline_len <= 1) {
                fputc('[', out);
                sv_cli_find_put_escaped(out, p->name, strlen(p->name));
                fputc(']', out);
                return;
        }
        for (i = 0; i < p->cmdline_len; i++) {
                if (p->cmdline[i] != '\0')
                        continue;
                if (start)
                        fputc(' ', out);
                sv_cli_find_put_escaped(out, p->cmdline + start, i - start);
                start = i + 1;
        }
}

void sv_cli_find_put_name(FILE *out, const sv_find_proc *p) {
        sv_cli_find_put_escaped(out, p->name, strlen(p->name));
}

void sv_cli_find_put_cmdline(FILE *out, const sv_find_proc *p) {
        put_cmdline(out, p);
}

static void format_age(uint64_t ms, char *buf, size_t len) {
        uint64_t s = ms / 1000;

        if (s < 60)
                (void) snprintf(buf, len, "%us", (unsigned) s);
        else if (s < 3600)
                (void) snprintf(buf, len, "%um%02us", (unsigned) (s / 60), (unsigned) (s % 60));
        else if (s < 86400)
                (void) snprintf(buf, len, "%uh%02um", (unsigned) (s / 3600), (unsigned) (s % 3600 / 60));
        else
                (void) snprintf(buf, len, "%ud%02uh", (unsigned) (s / 86400), (unsigned) (s % 86400 / 3600));
}

/* The width rows are cut to, as procps' ps decides it: COLUMNS if set, else
 * the terminal's width when stdout is one, else no limit (0); and never
 * below 80 columns, as procps' ps never cuts below 80 either. */
static size_t out_width(void) {
        static bool known;
        static size_t width;
        const char *env = getenv("COLUMNS");
        unsigned v;

        if (known)
                return width;
        known = true;
        if (env && *env && sv_cli_parse_uint(env, 1, 1u << 20, &v) == 0)
                width = v;
        else
                width = sv_cli_find_term_cols();
        if (width && width < 80)
                width = 80;
        return width;
}

/* Writes `len` bytes of a row, cut after `width` columns (a UTF-8 sequence
 * counts as one column and is never split), then the newline. */
static void put_fitted(const char *s, size_t len, size_t width) {
        size_t i, cols = 0;

        for (i = 0; i < len; i++) {
                if (((unsigned char) s[i] & 0xc0) != 0x80 && cols++ == width)
                        break;
        }
        fwrite(s, 1, i, stdout);
        fputc('\n', stdout);
}

/* A row goes to a memory stream first when it may have to be cut. */
static FILE *row_begin(char **buf, size_t *len) {
        FILE *m;

        *buf = NULL;
        if (!out_width())
                return stdout;
        m = sv_cli_find_memstream(buf, len);
        return m ? m : stdout;
}

/* fclose() is what fills in *buf and *len: they are read only after it. */
static void row_end(FILE *out, char **buf, size_t *len) {
        if (out == stdout) {
                fputc('\n', stdout);
                return;
        }
        if (sv_cli_find_memstream_close(out) == 0)
                put_fitted(*buf, *len, out_width());
        free(*buf);
}

static void print_header(void) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = row_begin(&buf, &len);

        fprintf(out, "%7s %7s %-8s %6s %s %8s  %s", "PID", "PPID", "USER", "AGE", "S", "RSS", "COMMAND");
        row_end(out, &buf, &len);
}

static void print_row(const sv_find_proc *p, const char *prefix) {
        char age[24], ubuf[264], *buf = NULL;
        const char *user = sv_cli_find_user_name(p, ubuf, sizeof(ubuf));
        size_t len = 0;
        FILE *out = row_begin(&buf, &len);

        format_age(p->age_ms, age, sizeof(age));
        fprintf(out, "%7d %7d %-8s %6s %c %8llu  %s", (int) p->pid, (int) p->ppid, user ? user : "?", age,
                p->state, (unsigned long long) p->rss_kb, prefix);
        put_cmdline(out, p);
        row_end(out, &buf, &len);
}

/* Tree rows: "|- " / "`- " before each node and "|  " / "   " for each open
 * ancestor level, as pstree -A draws. `mark` flags the matches. */
static void print_tree(const sv_find_row *rows, int n, const char *match_mark) {
        char prefix[512];
        bool open_level[128] = { false };
        size_t pos;
        unsigned d;
        int i;

        for (i = 0; i < n; i++) {
                pos = 0;
                prefix[0] = '\0';
                if (match_mark)
                        pos += (size_t) snprintf(prefix, sizeof(prefix), "%s",
                                                 !rows[i].proc->matched ? "  "
                                                 : rows[i].proc->kthread || rows[i].proc->pid <= 1 ? "! "
                                                                                                   : match_mark);
                for (d = 1; d < rows[i].depth && pos + 4 < sizeof(prefix); d++)
                        pos += (size_t) snprintf(prefix + pos, sizeof(prefix) - pos, "%s",
                                                 d < 128 && open_level[d] ? "|  " : "   ");
                if (rows[i].depth > 0 && pos + 4 < sizeof(prefix))
                        (void) snprintf(prefix + pos, sizeof(prefix) - pos, "%s",
                                        rows[i].last ? "`- " : "|- ");
                if (rows[i].depth < 128)
                        open_level[rows[i].depth] = !rows[i].last;
                print_row(rows[i].proc, prefix);
        }
}

/* ---- JSON output. ---- */

/* jansson rejects invalid UTF-8, and a process name is raw bytes: each byte
 * that is not UTF-8 becomes the text \xHH (sv_text_escape's scheme); the
 * command line's raw bytes also go in "cmdline_b64" then (json_proc). */
json_t *sv_cli_find_json_bytes(const char *s, size_t len) {
        size_t n;
        char *t = sv_text_escape(s, len, 0, &n, NULL);
        json_t *j = t ? json_stringn(t, n) : NULL;

        free(t);
        return j;
}

static json_t *json_argv(const sv_find_proc *p) {
        json_t *arr;
        size_t i, start = 0;

        if (!p->cmdline)
                return json_null();
        arr = json_array();
        for (i = 0; arr && i < p->cmdline_len; i++) {
                if (p->cmdline[i] != '\0')
                        continue;
                (void) json_array_append_new(arr, sv_cli_find_json_bytes(p->cmdline + start, i - start));
                start = i + 1;
        }
        return arr;
}

static json_t *json_cmdline(const sv_find_proc *p) {
        json_t *j;
        char *s;
        size_t i;

        if (!p->cmdline || p->cmdline_len == 0)
                return json_null();
        s = malloc(p->cmdline_len);
        if (!s)
                return NULL;
        memcpy(s, p->cmdline, p->cmdline_len);
        for (i = 0; i + 1 < p->cmdline_len; i++)
                if (s[i] == '\0')
                        s[i] = ' ';
        j = sv_cli_find_json_bytes(s, p->cmdline_len - 1);
        free(s);
        return j;
}

/* When the command line has bytes that are not UTF-8: "cmdline_b64", the
 * raw argv (NUL-separated) in base64, so that nothing is lost. */
static void add_raw_cmdline(json_t *o, const sv_find_proc *p) {
        size_t bad = 0;
        char *t = sv_text_escape(p->cmdline, p->cmdline_len - 1, 0, NULL, &bad), *b64;

        free(t);
        if (!bad)
                return;
        b64 = sv_base64(p->cmdline, p->cmdline_len - 1);
        if (b64)
                (void) json_object_set_new(o, "cmdline_b64", json_string(b64));
        free(b64);
}

static json_t *json_proc(const sv_find_proc *p) {
        char state[2] = { p->state, '\0' }, ubuf[264];
        const char *user = sv_cli_find_user_name(p, ubuf, sizeof(ubuf));
        json_t *o;

        o = json_pack("{s:i, s:i, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:b, s:o, s:o}",
                         "pid", (int) p->pid,
                         "ppid", (int) p->ppid,
                         "name", sv_cli_find_json_bytes(p->name, strlen(p->name)),
                         "state", state,
                         "user", user ? sv_cli_find_json_bytes(user, strlen(user)) : json_null(),
                         "uid", p->has_uid ? json_integer((json_int_t) p->uid) : json_null(),
                         "age_ms", (json_int_t) p->age_ms,
                         "start_ticks", (json_int_t) p->start_ticks,
                         "rss_kb", (json_int_t) p->rss_kb,
                         "kernel_thread", p->kthread,
                         "cmdline", json_cmdline(p),
                         "argv", json_argv(p));
        if (o && p->cmdline && p->cmdline_len > 0)
                add_raw_cmdline(o, p);
        return o;
}

/* Nests pre-order rows into {"...", "matched": b, "children": [...]} objects. */
static json_t *json_tree(const sv_find_row *rows, int n) {
        json_t *top = json_array(), *stack[130], *node;
        int i;
        unsigned d;

        if (!top)
                return NULL;
        stack[0] = top;
        for (i = 0; i < n; i++) {
                d = rows[i].depth < 128 ? rows[i].depth : 127;
                node = json_proc(rows[i].proc);
                if (!node)
                        continue;
                (void) json_object_set_new(node, "matched", json_boolean(rows[i].proc->matched));
                (void) json_object_set_new(node, "children", json_array());
                (void) json_array_append_new(stack[d], node);
                stack[d + 1] = json_object_get(node, "children");
        }
        return top;
}

int sv_cli_find_json_emit(json_t *root) {
        int r;

        if (!root)
                return SV_FIND_EXIT_FATAL;
        r = json_dumpf(root, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
        return r == 0 ? 0 : SV_FIND_EXIT_FATAL;
}

/* ---- The commands. ---- */

int sv_cli_find_scan(const char *cmd, const sv_find_filter *f, sv_find_table **out) {
        char err[128];
        int r;

        r = sv_find_scan(f, out);
        if (r < 0) {
                fprintf(stderr, "supervise %s: cannot read the process table: %s\n", cmd,
                        uv_strerror_r(r, err, sizeof(err)));
                return SV_FIND_EXIT_FATAL;
        }
        return 0;
}

static int ps_list(find_opts *o, sv_find_table *t) {
        size_t i, n = sv_find_count(t);
        json_t *arr;

        if (!o->json) {
                print_header();
                for (i = 0; i < n; i++)
                        print_row(sv_find_get(t, i), "");
                return 0;
        }
        arr = json_array();
        for (i = 0; arr && i < n; i++)
                (void) json_array_append_new(arr, json_proc(sv_find_get(t, i)));
        return sv_cli_find_json_emit(json_pack("{s:I, s:o}", "count", (json_int_t) n, "processes", arr));
}

/* Draws the matches with their ancestors; `mark` flags matches (dry run). */
int sv_cli_find_show_tree(find_opts *o, sv_find_table *t, const char *mark, json_t *extra) {
        sv_find_row *rows;
        json_t *root;
        int n;

        n = sv_find_tree(t, &rows);
        if (n < 0) {
                json_decref(extra);
                fprintf(stderr, "supervise %s: out of memory\n", o->cmd);
                return SV_FIND_EXIT_FATAL;
        }
        if (o->json) {
                root = extra ? extra : json_object();
                if (root) {
                        (void) json_object_set_new(root, "count", json_integer((json_int_t) sv_find_count(t)));
                        (void) json_object_set_new(root, "tree", json_tree(rows, n));
                }
                free(rows);
                return sv_cli_find_json_emit(root);
        }
        print_header();
        print_tree(rows, n, mark);
        free(rows);
        return 0;
}


int sv_cli_ps(int argc, char **argv) {
        find_opts o = { .cmd = "ps", .wait_timeout_ms = -1 };
        sv_find_table *t = NULL;
        size_t n;
        int rc;

        rc = sv_cli_find_parse_args(&o, argc, argv);
        if (rc)
                goto out;
        if (o.count)
                o.f.flags |= SV_FIND_NO_DETAILS;
        rc = sv_cli_find_scan(o.cmd, &o.f, &t);
        if (rc)
                goto out;
        n = sv_find_count(t);
        if (o.count && o.json)
                rc = sv_cli_find_json_emit(json_pack("{s:I}", "count", (json_int_t) n));
        else if (o.count)
                printf("%zu\n", n);
        else if (o.tree)
                rc = sv_cli_find_show_tree(&o, t, NULL, NULL);
        else
                rc = ps_list(&o, t);
        if (rc == 0 && n == 0)
                rc = SV_FIND_EXIT_NONE;
        sv_find_table_free(t);
out:
        sv_cli_find_opts_release(&o);
        return rc < 0 ? SV_FIND_EXIT_OK : rc;
}
