/* diag.c - hang diagnostics of the runner: when a job's deadline fires, the
 * snapshot of its process tree and last output, then the user's
 * --on-timeout command, all before the stop ladder starts; and the list of
 * descendants that outlived a job's leader. Each becomes a DIAG event and a
 * "--- kind ---" block of the attempt's diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "run/runner_internal.h"

#define HELPER_OUT_MAX (256u * 1024u)

void sv__run_fmt_secs(char buf[32], uint64_t ms) {
        snprintf(buf, 32, "%llu.%03llu s", (unsigned long long) (ms / 1000),
                 (unsigned long long) (ms % 1000));
}

void sv__run_describe(char *buf, size_t n, const sv_exit_info *e, sv_verdict v) {
        /* The verdict adds nothing here: TIMEOUT and STOPPED are the cause's. */
        (void) v;
        (void) sv_exit_describe(e, SV_DESCRIBE_LEAKS, buf, n);
}

/* ---- The snapshot ---- */

/* One line of the tree table for pid, and its kernel stack (or why it is
 * unreadable) into `stacks`. */
static void snap_one(FILE *m, FILE *stacks, pid_t pid) {
        sv__proc_detail d;
        size_t n, i;
        char *p, *save = NULL;

        /* Filled by the reader either way; the defaults are for a reader
         * that gives up early (the fake platform's). */
        memset(&d, 0, sizeof(d));
        d.p.state = '?';
        d.wchan[0] = '-';
        d.stack_err = UV_ESRCH;
        (void) sv__proc_detail_read(pid, &d);
        n = d.cmdline_len;
        while (n > 0 && d.cmdline[n - 1] == '\0')
                n--;
        for (i = 0; i < n; i++)
                if (d.cmdline[i] == '\0')
                        d.cmdline[i] = ' ';
        fprintf(m, "%8d %8d %c     %-24s ", (int) pid, (int) d.p.ppid, d.p.state, d.wchan);
        if (n > 0)
                sv_text_put_term(m, d.cmdline, n);
        else
                fputc('?', m);
        fputc('\n', m);
        if (!d.stack) {
                fprintf(stacks, "kernel stack of %d: unreadable (%s)\n", (int) pid,
                        strerror(-d.stack_err));
                sv__proc_detail_release(&d);
                return;
        }
        fprintf(stacks, "kernel stack of %d:\n", (int) pid);
        for (p = strtok_r(d.stack, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
                fprintf(stacks, "    %s\n", p);
        sv__proc_detail_release(&d);
}

static void snap_tail(FILE *m, sv__rjob *j) {
        size_t tlen = 0;
        char *tail;

        tail = sv_outbuf_tailn(j->out, SV_OUTBUF_TAIL_LINES, &tlen);
        fprintf(m, "last %u output lines:\n", SV_OUTBUF_TAIL_LINES);
        if (tail && tlen)
                (void) fwrite(tail, 1, tlen, m);
        else
                fputs("(no output)\n", m);
        if (tail && tlen && tail[tlen - 1] != '\n')
                fputc('\n', m);
        free(tail);
}

/* The job's tree (leader first) and its last output lines, as text the
 * caller frees, with its length in *out_len (the output may hold NULs).
 * NULL only when out of memory. */
static char *snapshot(sv_runner *rn, sv__rjob *j, size_t *out_len) {
        char *text = NULL, *stext = NULL, secs[32];
        size_t len = 0, slen = 0;
        sv_proc *procs = NULL;
        FILE *m, *stacks;
        int n, i;

        m = sv__plat_memstream(&text, &len);
        if (!m)
                return NULL;
        stacks = sv__plat_memstream(&stext, &slen);
        if (!stacks) {
                sv__plat_memstream_close(m);
                free(text);
                return NULL;
        }
        n = sv_worker_descendants(j->w, &procs);
        sv__run_fmt_secs(secs, j->hung_idle ? rn->o.idle_timeout_ms : sv__run_job_timeout(rn, j));
        fprintf(m, "job '%s' (attempt %u) %s after %s; process tree (%d process%s):\n",
                j->def->name, j->attempt, j->hung_idle ? "had no output" : "timed out", secs,
                n > 0 ? n + 1 : 1, n > 0 ? "es" : "");
        fprintf(m, "%8s %8s %-5s %-24s %s\n", "PID", "PPID", "STATE", "WCHAN", "COMMAND");
        snap_one(m, stacks, j->pid);
        for (i = 0; i < n; i++)
                snap_one(m, stacks, procs[i].pid);
        if (n < 0)
                fprintf(m, "(descendants unknown: %s)\n", uv_strerror(n));
        free(procs);
        sv__plat_memstream_close(stacks);
        if (stext)
                fputs(stext, m);
        free(stext);
        snap_tail(m, j);
        if (sv__plat_memstream_close(m) != 0) {
                free(text);
                return NULL;
        }
        *out_len = len;
        return text;
}

void sv__run_diag_add(sv_runner *rn, sv__rjob *j, const char *kind, const char *text, size_t len) {
        sv_run_event ev = SV_RUN_EVENT_INIT;
        size_t klen = strlen(kind), n;
        char *d;

        if (!len)
                len = strlen(text);
        ev.type = SV_RUN_EV_DIAG;
        ev.job = j->index;
        ev.attempt = j->attempt;
        ev.reason = kind;
        ev.text = text;
        ev.text_len = len;
        sv__run_event(rn, &ev);
        n = j->diag_len + klen + 9 + len;
        d = realloc(j->diag, n + 1);
        if (!d)
                return;
        memcpy(d + j->diag_len, "--- ", 4);
        memcpy(d + j->diag_len + 4, kind, klen);
        memcpy(d + j->diag_len + 4 + klen, " ---\n", 5);
        memcpy(d + j->diag_len + 9 + klen, text, len);
        d[n] = '\0';
        j->diag = d;
        j->diag_len = n;
}

/* ---- --on-timeout ---- */

static void on_helper_output(sv_worker *w, int fd, const char *buf, size_t len, void *ud) {
        sv__rjob *j = ud;
        size_t room;
        char *p;

        (void) w;
        (void) fd;
        if (len == 0)
                return;
        room = j->helper_len < HELPER_OUT_MAX ? HELPER_OUT_MAX - j->helper_len : 0;
        if (len > room) {
                j->helper_dropped += len - room;
                len = room;
        }
        if (len == 0)
                return;
        p = realloc(j->helper_out, j->helper_len + len + 1);
        if (!p) {
                j->helper_dropped += len;
                return;
        }
        memcpy(p + j->helper_len, buf, len);
        j->helper_len += len;
        p[j->helper_len] = '\0';
        j->helper_out = p;
}

/* The helper's output and how it ended, as text the caller frees; NULL on
 * ENOMEM. */
static char *helper_text(sv__rjob *j, const sv_exit_info *e, size_t *out_len) {
        char *text = NULL, secs[32], sig[16];
        size_t len = 0;
        FILE *m;

        m = sv__plat_memstream(&text, &len);
        if (!m)
                return NULL;
        if (j->helper_out)
                (void) fwrite(j->helper_out, 1, j->helper_len, m);
        if (j->helper_len && j->helper_out[j->helper_len - 1] != '\n')
                fputc('\n', m);
        if (j->helper_dropped)
                fprintf(m, "[%llu more bytes dropped]\n", (unsigned long long) j->helper_dropped);
        sv__run_fmt_secs(secs, e->wall_us / 1000);
        if (e->cause == SV_CAUSE_TIMEOUT)
                fprintf(m, "[on-timeout command timed out after %s and was stopped]\n", secs);
        else if (e->exited)
                fprintf(m, "[on-timeout command exited %d after %s]\n", e->code, secs);
        else
                fprintf(m, "[on-timeout command killed by %s after %s]\n",
                        sv_run_signame(e->signal, sig), secs);
        if (sv__plat_memstream_close(m) != 0) {
                free(text);
                return NULL;
        }
        *out_len = len;
        return text;
}

void sv__run_helper_release(sv__rjob *j) {
        free(j->helper_out);
        j->helper_out = NULL;
        j->helper_len = 0;
        j->helper_dropped = 0;
        j->helper = NULL;
}

static void on_helper_exit(sv_worker *w, const sv_exit_info *e, void *ud) {
        sv__rjob *j = ud;
        sv_runner *rn = j->rn;
        size_t len = 0;
        char *text;

        (void) w;
        text = helper_text(j, e, &len);
        sv__run_diag_add(rn, j, "on-timeout", text ? text : "[out of memory]\n", text ? len : 0);
        free(text);
        sv__run_helper_release(j);
        if (j->exit_pending)
                sv__run_attempt_over(rn, j);
        else
                sv__run_stop_job(rn, j, j->stop_reason, 0);
}

/* Returns `word` with each "{pid}" replaced, as a new string; NULL on ENOMEM. */
static char *subst_pid(const char *word, pid_t pid) {
        char num[16], *out, *o;
        const char *p;
        size_t n = 0, nlen;

        nlen = (size_t) snprintf(num, sizeof(num), "%d", (int) pid);
        for (p = word; (p = strstr(p, "{pid}")) != NULL; p += 5)
                n++;
        out = malloc(strlen(word) + n * nlen + 1);
        if (!out)
                return NULL;
        for (o = out, p = word; *p;) {
                if (strncmp(p, "{pid}", 5) == 0) {
                        memcpy(o, num, nlen);
                        o += nlen;
                        p += 5;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

static int start_helper(sv_runner *rn, sv__rjob *j) {
        sv_spawn_opts sp;
        char **argv;
        size_t n = 0, i;
        int e = UV_ENOMEM;

        while (rn->o.on_timeout[n])
                n++;
        argv = calloc(n + 1, sizeof(*argv));
        if (!argv)
                return UV_ENOMEM;
        for (i = 0; i < n; i++) {
                argv[i] = subst_pid(rn->o.on_timeout[i], j->pid);
                if (!argv[i])
                        goto out;
        }
        memset(&sp, 0, sizeof(sp));
        sp.argv = (const char *const *) argv;
        sp.stdio[0] = SV_STDIO_NULL;
        sp.stdio[1] = SV_STDIO_PIPE;
        sp.stdio[2] = SV_STDIO_PIPE;
        sp.timeout_ms = rn->o.on_timeout_limit_ms ? rn->o.on_timeout_limit_ms
                                                  : SV__RUN_DIAG_LIMIT_DEFAULT_MS;
        sp.on_exit = on_helper_exit;
        sp.on_output = on_helper_output;
        sp.userdata = j;
        e = sv_spawn(rn->o.sv, &sp, &j->helper);
out:
        sv_argv_free(argv);
        return e;
}

void sv__run_hang(sv_runner *rn, sv__rjob *j, bool idle) {
        char *text, msg[512];
        size_t len = 0;
        int e;

        j->hung = true;
        j->hung_idle = idle;
        j->stop_reason = idle ? "idle" : "timeout";
        text = snapshot(rn, j, &len);
        sv__run_diag_add(rn, j, "snapshot", text ? text : "[out of memory]\n", text ? len : 0);
        free(text);
        /* Returning without a hold lets the library start the ladder. */
        if (!rn->o.on_timeout || rn->stop_signal)
                return;
        e = start_helper(rn, j);
        if (e < 0) {
                snprintf(msg, sizeof(msg), "[cannot run on-timeout command '%s': %s]\n",
                         rn->o.on_timeout[0], uv_strerror(e));
                sv__run_diag_add(rn, j, "on-timeout", msg, 0);
                return;
        }
        /* The ladder waits for the helper: on_helper_exit lets it go. */
        (void) sv_worker_hold(j->w);
}

/* Which descendants outlived the leader, as a diagnostic: the leak event
 * itself carries only the count. */
void sv__run_leak_diag(sv_runner *rn, sv__rjob *j, const sv_exit_info *e) {
        char *text = NULL;
        size_t len = 0, i, n;
        FILE *m;

        m = sv__plat_memstream(&text, &len);
        if (!m)
                return;
        fprintf(m, "%u process%s outlived the job's leader (%s):\n", e->leaked,
                e->leaked == 1 ? "" : "es", rn->o.leaks == SV_LEAKS_REPORT ? "left running" : "killed");
        n = e->leaked < SV_LEAKS_MAX ? e->leaked : SV_LEAKS_MAX;
        for (i = 0; j->leaks && i < n; i++) {
                fprintf(m, "    pid %d: ", (int) j->leaks[i].pid);
                sv_text_put_term(m, j->leaks[i].cmdline, strlen(j->leaks[i].cmdline));
                fputc('\n', m);
        }
        if (sv__plat_memstream_close(m) == 0)
                sv__run_diag_add(rn, j, "leaks", text, len);
        free(text);
}
