/* svt_cli.c - what the tests of the `supervise` CLI share (see svtest.h): a
 * test's scratch space (one temporary directory and the memory the test
 * keeps until its teardown), writing and reading files, and running the CLI
 * with captured output or on a pseudo-terminal. One scratch at a time per
 * process, as cmocka runs one test at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "svtest.h"

#define SVT_MAX_ARGS 64

extern char **environ;

static struct {
        char dir[256];
        void **mem;
        size_t n, cap;
} scratch;

void *svt_keep(void *p) {
        void **more;

        if (!p)
                return NULL;
        if (scratch.n == scratch.cap) {
                more = realloc(scratch.mem, (scratch.cap ? scratch.cap * 2 : 64) * sizeof(*more));
                if (!more) {
                        free(p);
                        fail_msg("svt_keep: out of memory");
                }
                scratch.mem = more;
                scratch.cap = scratch.cap ? scratch.cap * 2 : 64;
        }
        scratch.mem[scratch.n++] = p;
        return p;
}

int svt_scratch_begin(const char *template) {
        if (strlen(template) >= sizeof(scratch.dir))
                return -1;
        (void) snprintf(scratch.dir, sizeof(scratch.dir), "%s", template);
        if (!mkdtemp(scratch.dir)) {
                scratch.dir[0] = '\0';
                return -1;
        }
        return 0;
}

const char *svt_scratch_dir(void) {
        return scratch.dir;
}

int svt_scratch_end(int timeout_ms) {
        char why[1024];
        int rc = 0;
        size_t i;

        /* Reap first: a survivor may still be writing into the directory. */
        if (svt_reap_children(timeout_ms, why, sizeof(why)) != 0) {
                fprintf(stderr, "teardown: survivors: %s\n", why);
                rc = -1;
        }
        for (i = 0; i < scratch.n; i++)
                free(scratch.mem[i]);
        free(scratch.mem);
        scratch.mem = NULL;
        scratch.n = scratch.cap = 0;
        if (scratch.dir[0])
                svt_rm_tree(scratch.dir);
        scratch.dir[0] = '\0';
        return rc;
}

void svt_rm_tree(const char *path) {
        struct dirent *d;
        char sub[4096];
        struct stat st;
        DIR *dir = opendir(path);

        if (!dir) {
                (void) unlink(path);
                return;
        }
        while ((d = readdir(dir)) != NULL) {
                if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                        continue;
                (void) snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
                if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                        svt_rm_tree(sub);
                else
                        (void) unlink(sub);
        }
        (void) closedir(dir);
        (void) rmdir(path);
}

const char *svt_tpath(const char *name) {
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", scratch.dir, name) > 0);
        return svt_keep(p);
}

void svt_write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                fail_msg("cannot create '%s': %s", path, strerror(errno));
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

char *svt_slurp(const char *path, size_t *out_len) {
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        if (!f)
                fail_msg("cannot open '%s': %s", path, strerror(errno));
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        buf = svt_keep(calloc(1, (size_t) n + 1));
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        (void) fclose(f);
        if (out_len)
                *out_len = (size_t) n;
        return buf;
}

/* argv = { the CLI, sub (unless NULL), args..., NULL } */
static void cli_argv(const char *argv[SVT_MAX_ARGS], const char *sub, const char *const args[]) {
        int n = 0, i;

        argv[n++] = svt_cli();
        if (sub)
                argv[n++] = sub;
        for (i = 0; args[i]; i++) {
                assert_true(n + 1 < SVT_MAX_ARGS);
                argv[n++] = args[i];
        }
        argv[n] = NULL;
}

int svt_run_kept(const char *const argv[], const char *const env[], char **out, char **err,
                 int timeout_ms) {
        int st = svt_run(argv, env, out, err, timeout_ms);

        if (st == -1)
                fail_msg("%s did not finish within %d ms", argv[0], timeout_ms);
        if (out)
                svt_keep(*out);
        if (err)
                svt_keep(*err);
        return st;
}

int svt_run_cli(const char *sub, const char *const args[], const char *const env[], char **out,
                char **err, int timeout_ms) {
        const char *argv[SVT_MAX_ARGS];

        cli_argv(argv, sub, args);
        return svt_run_kept(argv, env, out, err, timeout_ms);
}

void svt_start_cli(svt_proc *p, const char *sub, const char *const args[]) {
        const char *argv[SVT_MAX_ARGS];

        cli_argv(argv, sub, args);
        svt_proc_start(p, argv);
}

void svt_assert_exit(int st, int want, char *const *errp) {
        const char *err = errp ? *errp : NULL;

        if (!WIFEXITED(st))
                fail_msg("supervise did not exit (wait status 0x%x, signal %d)", st,
                         WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (WEXITSTATUS(st) != want)
                fail_msg("supervise exited %d, want %d; stderr:\n%s", WEXITSTATUS(st), want,
                         err ? err : "(not captured)");
}

void svt_assert_contains(const char *hay, const char *needle) {
        if (!hay || !strstr(hay, needle))
                fail_msg("expected to find '%s' in:\n%s", needle, hay ? hay : "(null)");
}

char *svt_cut(char *s, const char *sep) {
        char *at = strstr(s, sep);

        if (!at)
                return NULL;
        *at = '\0';
        return at + strlen(sep);
}

void svt_assert_lacks(const char *hay, const char *needle) {
        if (hay && strstr(hay, needle))
                fail_msg("did not expect '%s' in:\n%s", needle, hay);
}

/* `env` ("K=V") replacing ours, in a new array the caller frees. */
static char **env_with(const char *const env[]) {
        size_t n = 0, m = 0, i, k = 0, j;
        char **out;

        while (environ[n])
                n++;
        while (env && env[m])
                m++;
        out = calloc(n + m + 1, sizeof(*out));
        assert_non_null(out);
        for (i = 0; i < n; i++) {
                bool replaced = false;

                for (j = 0; j < m && !replaced; j++) {
                        size_t kl = (size_t) (strchr(env[j], '=') - env[j]) + 1;

                        replaced = strncmp(environ[i], env[j], kl) == 0;
                }
                if (!replaced)
                        out[k++] = environ[i];
        }
        for (j = 0; j < m; j++)
                out[k++] = (char *) env[j];
        return out;
}

/* A new pseudo-terminal in raw mode (so bytes arrive as written), `cols`
 * wide unless 0; returns the master and stores the slave. */
static int open_pty(unsigned short cols, int *out_slave) {
        struct winsize ws = { .ws_row = 24, .ws_col = cols };
        struct termios tio;
        int master, slave;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(master >= 0);
        assert_int_equal(grantpt(master), 0);
        assert_int_equal(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(slave >= 0);
        assert_int_equal(tcgetattr(slave, &tio), 0);
        cfmakeraw(&tio);
        assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
        if (cols)
                assert_int_equal(ioctl(slave, TIOCSWINSZ, &ws), 0);
        *out_slave = slave;
        return master;
}

int svt_start_cli_on_pty(svt_proc *p, const char *sub, const char *const args[],
                         const char *const env[], unsigned short cols) {
        const char *argv[SVT_MAX_ARGS];
        posix_spawn_file_actions_t fa;
        int master, slave, fds[2];
        char **envp;
        pid_t pid;

        cli_argv(argv, sub, args);
        master = open_pty(cols, &slave);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
        assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, slave, 2), 0);
        envp = env_with(env);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, envp), 0);
        free(envp);
        (void) posix_spawn_file_actions_destroy(&fa);
        (void) close(slave);
        (void) close(fds[1]);
        p->pid = pid;
        p->out = fds[0];
        return master;
}

char *svt_read_pty(int master, int timeout_ms) {
        size_t len = 0, cap = 1 << 16;
        char *buf = svt_keep(malloc(cap));
        struct pollfd pfd = { .fd = master, .events = POLLIN };
        ssize_t n;

        assert_non_null(buf);
        for (;;) {
                if (poll(&pfd, 1, timeout_ms) <= 0)
                        fail_msg("no output on the terminal within %d ms", timeout_ms);
                if (len + 4096 > cap) {
                        char *nb = realloc(buf, cap * 2);

                        assert_non_null(nb);
                        /* buf is the last thing kept: keep its new place. */
                        scratch.mem[scratch.n - 1] = nb;
                        buf = nb;
                        cap *= 2;
                }
                n = read(master, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return buf;
}
