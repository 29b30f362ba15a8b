/* platform_fake.h - what the fake platform records and what a test sets. */
#ifndef SV_PLATFORM_FAKE_H
#define SV_PLATFORM_FAKE_H

#include "platform/platform.h"

#define SV_FAKE_MAX_SENT 64

typedef struct sv_fake {
        uint64_t now_us;           /* the clock sv__plat_now_us() reads */
        pid_t next_pid;            /* the pid the next spawn gets */
        int spawn_error;           /* nonzero: sv__plat_spawn fails with it */
        int tree_alive;            /* descendants exist (group probe, /proc walk) */
        int tree_size;             /* how many the walk finds when alive */
        struct {
                pid_t pid;
                int sig;
        } sent[SV_FAKE_MAX_SENT];  /* every signal sent to a leader, in order */
        int nsent;
        int group_kills;           /* sv__plat_kill_group calls */
        sv__reaped reap_any[8];    /* what sv__plat_reap_any hands out, in order */
        int nreap_any;
        bool cgroups;              /* sv__cg_setup succeeds: the cgroup mechanism */
        int freezes;               /* sv__cg_freeze calls */
} sv_fake;

extern sv_fake sv_fake_state;

void sv_fake_reset(void);

/* The numbers sv__cg_create was called with, from any thread, in order:
 * waits (up to timeout_ms) until there are at least `atleast`, copies up
 * to `max` into out and returns how many there are. */
int sv_fake_cg_created(unsigned *out, int max, int atleast, uint64_t timeout_ms);

#endif
