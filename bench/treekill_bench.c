/* treekill_bench - how long a whole-tree kill takes, from the decision to
 * kill until the tree is gone, for our library and for raw killpg.
 *
 *   treekill_bench [-v] [-r ROUNDS] [-m cgroup|procwalk|killpg] [-k stop|tree] [--] TREE-CMD ARGS...
 *
 * TREE-CMD must print "ready <pid>..." on stdout once its whole tree runs
 * (workers/sv-tree N, bench/escapee_tree N).
 *
 * cgroup, procwalk: the tree is an sv_spawn worker with its stdout piped.
 *   When on_output sees the ready line we take t0 and call sv_worker_stop()
 *   with the one-step ladder "KILL" (-k stop, the default) or
 *   sv_worker_kill_tree(SIGKILL) (-k tree); t1 is taken in on_exit, which
 *   the library runs only once the leader is reaped and the tree is empty.
 * killpg: the tree is posix_spawned in its own process group, we are the
 *   child subreaper, and after the ready line: t0, killpg(SIGKILL), reap
 *   with waitpid(-1) until no member of the group is left, zombie or not,
 *   t1. Processes that left the group (setsid) survive; they are counted as
 *   "missed", then killed and reaped outside the timed window.
 *
 * One line per round: "round=I ms=T procs=P escaped=E missed=M
 * mechanism=X", then "median_ms=T" when ROUNDS > 1. Exit 1 if a library
 * round left any process of the tree alive, 2 on a usage error. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "supervise/sv.h"

#define LINE_MAX_BYTES (1 << 20)

extern char **environ;

typedef struct tree {
        char *line; /* stdout so far, until the ready line */
        size_t len;
        pid_t leader;
        pid_t *pids; /* descendants from the ready line */
        int npids;
        int escaped; /* descendants outside the leader's process group at t0 */
} tree;

typedef struct round {
        tree t;
        int use_kill_tree;
        sv_worker *w;
        int ready;
        uint64_t t0, t1;
        int exited;
        int err;
} round;

/* 1: a complete line is in t->line and its pids are parsed; 0: not yet;
 * -1: the line is not a ready line. */
static int take_output(tree *t, const char *buf, size_t len) {
        char *nl, *p, *end;
        char *nb;
        long v;

        if (t->len + len + 1 > LINE_MAX_BYTES)
                return -1;
        nb = realloc(t->line, t->len + len + 1);
        if (!nb)
                return -1;
        t->line = nb;
        memcpy(t->line + t->len, buf, len);
        t->len += len;
        t->line[t->len] = '\0';
        nl = strchr(t->line, '\n');
        if (!nl)
                return 0;
        *nl = '\0';
        if (strncmp(t->line, "ready", 5) != 0)
                return -1;
        t->pids = calloc(t->len / 2 + 1, sizeof(*t->pids));
        if (!t->pids)
                return -1;
        for (p = t->line + 5;;) {
                errno = 0;
                v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (errno || v <= 1)
                        return -1;
                t->pids[t->npids++] = (pid_t) v;
                p = end;
        }
        return 1;
}

/* The process's state letter and group from /proc, or 0 if it is gone. */
static char proc_state(pid_t pid, pid_t *out_pgid) {
        char path[64], buf[512], *r;
        char state = 0;
        int ppid, pgid = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        r = strrchr(buf, ')');
        if (!r || sscanf(r + 2, "%c %d %d", &state, &ppid, &pgid) != 3)
                return 0;
        if (out_pgid)
                *out_pgid = (pid_t) pgid;
        return state;
}

static void count_escaped(tree *t) {
        pid_t pgid;
        int i;

        t->escaped = 0;
        for (i = 0; i < t->npids; i++) {
                if (proc_state(t->pids[i], &pgid) && pgid != t->leader)
                        t->escaped++;
        }
}

/* Descendants from the ready line still running (zombies don't count). */
static int count_alive(const tree *t) {
        int i, n = 0;
        char s;

        for (i = 0; i < t->npids; i++) {
                s = proc_state(t->pids[i], NULL);
                if (s && s != 'Z' && s != 'X')
                        n++;
        }
        return n;
}

/* ---- Our library ---- */

/* -v: the library's debug log, stamped with ms since start, on stderr. */
static void lib_log(const char *msg, void *userdata) {
        const uint64_t *start = userdata;

        fprintf(stderr, "[%8.3f ms] %s\n", (double) (bench_now_us() - *start) / 1000.0, msg);
}

static void lib_output(sv_worker *w, int fd, const char *buf, size_t len, void *userdata) {
        round *rd = userdata;
        int r;

        if (fd != 1 || rd->ready || len == 0)
                return;
        r = take_output(&rd->t, buf, len);
        if (r == 0)
                return;
        if (r < 0) {
                rd->err = 1;
                (void) sv_worker_kill_tree(w, SIGKILL);
                return;
        }
        rd->ready = 1;
        rd->t.leader = sv_worker_pid(w);
        count_escaped(&rd->t);
        /* The decision to kill. */
        rd->t0 = bench_now_us();
        if (rd->use_kill_tree)
                (void) sv_worker_kill_tree(w, SIGKILL);
        else
                (void) sv_worker_stop(w);
}

static void lib_exit(sv_worker *w, const sv_exit_info *info, void *userdata) {
        round *rd = userdata;

        (void) w;
        (void) info;
        rd->t1 = bench_now_us();
        rd->exited = 1;
}

static int lib_round(sv_supervisor *sv, const char *const *argv, int use_kill_tree, round *rd) {
        sv_spawn_opts o;
        sv_ladder kill_only;
        int r;

        memset(&o, 0, sizeof(o));
        memset(&kill_only, 0, sizeof(kill_only));
        kill_only.count = 1;
        kill_only.steps[0].signal = SIGKILL;
        kill_only.steps[0].grace_ms = 1000;
        rd->use_kill_tree = use_kill_tree;
        o.argv = argv;
        o.stdio[1] = SV_STDIO_PIPE;
        o.ladder = &kill_only;
        o.on_output = lib_output;
        o.on_exit = lib_exit;
        o.userdata = rd;
        r = sv_spawn(sv, &o, &rd->w);
        if (r < 0) {
                fprintf(stderr, "treekill_bench: cannot spawn '%s': %s\n", argv[0], uv_strerror(r));
                return -1;
        }
        (void) sv_supervisor_run(sv);
        if (!rd->ready || !rd->exited || rd->err) {
                fprintf(stderr, "treekill_bench: '%s' did not print a ready line\n", argv[0]);
                return -1;
        }
        return 0;
}

/* ---- Raw killpg ---- */

static int read_ready(int fd, tree *t) {
        char buf[4096];
        ssize_t n;
        int r;

        for (;;) {
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                r = take_output(t, buf, (size_t) n);
                if (r != 0)
                        return r > 0 ? 0 : -1;
        }
}

/* Kills and reaps what killpg missed, outside the timed window. The missed
 * processes are our children now (we are the subreaper), so their pids
 * cannot be recycled before we reap them. */
static void sweep_missed(const tree *t) {
        char s;
        int i;

        for (i = 0; i < t->npids; i++) {
                s = proc_state(t->pids[i], NULL);
                if (s && s != 'Z' && s != 'X')
                        (void) kill(t->pids[i], SIGKILL);
        }
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
}

static int killpg_round(const char *const *argv, round *rd) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int pipefd[2], r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        r = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                fprintf(stderr, "treekill_bench: cannot spawn '%s': %s\n", argv[0], strerror(r));
                return -1;
        }
        rd->t.leader = pid;
        r = read_ready(pipefd[0], &rd->t);
        close(pipefd[0]);
        if (r < 0) {
                (void) killpg(pid, SIGKILL);
                sweep_missed(&rd->t);
                fprintf(stderr, "treekill_bench: '%s' did not print a ready line\n", argv[0]);
                return -1;
        }
        count_escaped(&rd->t);

        /* Wait until the group is empty, not for a number of reaps: a
         * member blocked in waitpid may reap a child killed just before it,
         * so some members are never ours to reap. The last member to go is
         * always reaped by us (any other reaper would be a member itself),
         * and kill(-pgid, 0) fails only once no member, zombie or not, is
         * left. */
        rd->t0 = bench_now_us();
        (void) killpg(pid, SIGKILL);
        while (kill(-pid, 0) == 0) {
                if (waitpid(-1, NULL, 0) < 0 && errno != EINTR)
                        break;
        }
        rd->t1 = bench_now_us();
        return 0;
}

int main(int argc, char **argv) {
        const char *mech = "cgroup", *how = "stop";
        uint64_t start = bench_now_us();
        int verbose = 0;
        sv_supervisor *sv = NULL;
        sv_supervisor_opts so;
        unsigned long rounds = 15, i;
        uint64_t *us;
        int a, r, missed, bad = 0;
        round rd;

        for (a = 1; a < argc && argv[a][0] == '-'; a++) {
                if (strcmp(argv[a], "--") == 0) {
                        a++;
                        break;
                }
                if (strcmp(argv[a], "-v") == 0) {
                        verbose = 1;
                        continue;
                }
                if (a + 1 >= argc)
                        break;
                if (strcmp(argv[a], "-r") == 0 && bench_parse_ul(argv[a + 1], &rounds) == 0)
                        a++;
                else if (strcmp(argv[a], "-m") == 0)
                        mech = argv[++a];
                else if (strcmp(argv[a], "-k") == 0)
                        how = argv[++a];
                else
                        break;
        }
        if (a >= argc || argv[a][0] == '-' ||
            (strcmp(mech, "cgroup") && strcmp(mech, "procwalk") && strcmp(mech, "killpg")) ||
            (strcmp(how, "stop") && strcmp(how, "tree"))) {
                fprintf(stderr, "usage: treekill_bench [-v] [-r ROUNDS] [-m cgroup|procwalk|killpg] "
                                "[-k stop|tree] [--] TREE-CMD ARGS...\n");
                return 2;
        }
        us = calloc(rounds, sizeof(*us));
        if (!us)
                return 1;

        if (strcmp(mech, "killpg") == 0) {
                if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                        perror("treekill_bench: subreaper");
                        return 1;
                }
        } else {
                memset(&so, 0, sizeof(so));
                if (strcmp(mech, "procwalk") == 0)
                        so.flags |= SV_SUPERVISOR_NO_CGROUP;
                if (verbose) {
                        so.log = lib_log;
                        so.log_userdata = &start;
                }
                r = sv_supervisor_new(&so, &sv);
                if (r < 0) {
                        fprintf(stderr, "treekill_bench: cannot create supervisor: %s\n",
                                uv_strerror(r));
                        return 1;
                }
                if (strcmp(mech, "cgroup") == 0 && sv_supervisor_mechanism(sv) != SV_MECH_CGROUP) {
                        fprintf(stderr, "treekill_bench: cgroup mechanism not available here\n");
                        sv_supervisor_free(sv);
                        return 1;
                }
        }

        for (i = 0; i < rounds; i++) {
                memset(&rd, 0, sizeof(rd));
                if (sv)
                        r = lib_round(sv, (const char *const *) argv + a, strcmp(how, "tree") == 0,
                                      &rd);
                else
                        r = killpg_round((const char *const *) argv + a, &rd);
                if (r < 0) {
                        bad = 1;
                        free(rd.t.line);
                        free(rd.t.pids);
                        break;
                }
                missed = count_alive(&rd.t);
                us[i] = rd.t1 - rd.t0;
                printf("round=%lu ms=%.3f procs=%d escaped=%d missed=%d mechanism=%s\n", i,
                       (double) us[i] / 1000.0, rd.t.npids + 1, rd.t.escaped, missed, mech);
                fflush(stdout);
                if (sv && missed)
                        bad = 1;
                if (!sv)
                        sweep_missed(&rd.t);
                free(rd.t.line);
                free(rd.t.pids);
        }
        if (!bad && rounds > 1) {
                qsort(us, rounds, sizeof(*us), bench_cmp_u64);
                printf("median_ms=%.3f\n", (double) us[rounds / 2] / 1000.0);
        }
        free(us);
        sv_supervisor_free(sv);
        return bad;
}
