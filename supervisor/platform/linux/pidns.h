/* pidns.h - what the two sides of a PID namespace share (pidns.c, the
 * supervisor's; pidns_init.c, the init's): the record the init reports in,
 * the arguments it starts with, and the signal our requests ride on. */
#ifndef SV_PLATFORM_LINUX_PIDNS_H
#define SV_PLATFORM_LINUX_PIDNS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/platform.h"

#define NS_STACK_SIZE (64 * 1024)
#define NS_LEFT_MAX SV_LEAKS_MAX

/* Our requests to an init ride on one real-time signal (they queue, and
 * keep their order), with the request in si_value: the signal number, and
 * NS_CMD_TREE for "every process of the namespace". Other signals the init
 * receives come from users and go to the worker. */
#define NS_CMD_TREE 0x100
static inline int cmd_sig(void) {
        return SIGRTMAX - 1;
}

enum { NS_STARTED = 1, NS_ENDED = 2 };

#define NS_CMD_MAX ((int) sizeof(((sv_leak *) 0)->cmdline))

/* NS_STARTED sends the head only (up to `left`), NS_ENDED the whole record.
 * The supervisor reads the first while it waits for the exec, the second
 * only once the init has exited, so nothing is read half-written. */
typedef struct ns_record {
        int32_t kind;
        int32_t err;    /* NS_STARTED: 0, or the errno of the worker's exec */
        int32_t status; /* NS_ENDED: the worker's wait status */
        int32_t nleft;  /* NS_ENDED: processes left when it ended */
        uint64_t user_us, sys_us, max_rss_kb;
        int32_t left[NS_LEFT_MAX]; /* their pids, as /proc names them */
        char cmd[NS_LEFT_MAX][NS_CMD_MAX]; /* and their command lines */
} ns_record;

#define NS_HEAD_SIZE offsetof(ns_record, left)

typedef struct ns_args {
        const sv__spawn_req *req;
        int result_fd; /* write end of the pipe to the supervisor */
        int err_fd;    /* in the init: the worker's exec-error pipe */
        bool userns;
        uid_t uid;
        gid_t gid;
        char *worker_stack; /* top of the stack the worker runs on */
} ns_args;

/* The clone entry points (pidns_init.c): the probe writes its maps and
 * exits 0; the init starts the worker and serves it until it ends. Both run
 * in the child, async-signal-safe only, and never return into our frames. */
int sv__linux_pidns_probe_main(void *arg);
int sv__linux_pidns_init_main(void *arg);

#endif
