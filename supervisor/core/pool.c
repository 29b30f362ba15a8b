/* pool.c - N numbered slots running copies of one command (sv_pool.h).
 * STUB: the API only, so that the control server can be built against it;
 * the real bodies follow. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "supervise/sv_pool.h"

int sv_restart_policy_parse(const char *s, sv_restart_policy *out) {
        (void) s; (void) out;
        return UV_ENOSYS;
}
const char *sv_restart_policy_name(sv_restart_policy p) {
        (void) p;
        return "?";
}
int sv_restart_delay_parse(const char *s, uint64_t *out_min_ms, uint64_t *out_max_ms) {
        (void) s; (void) out_min_ms; (void) out_max_ms;
        return UV_ENOSYS;
}
const char *sv_slot_state_name(sv_slot_state s) {
        (void) s;
        return "?";
}
int sv_pool_new(sv_supervisor *sv, const sv_pool_opts *o, sv_pool **out) {
        (void) sv; (void) o; (void) out;
        return UV_ENOSYS;
}
int sv_pool_start(sv_pool *p) { (void) p; return UV_ENOSYS; }
sv_supervisor *sv_pool_supervisor(const sv_pool *p) { (void) p; return NULL; }
unsigned sv_pool_size(const sv_pool *p) { (void) p; return 0; }
unsigned sv_pool_slots(const sv_pool *p) { (void) p; return 0; }
int sv_pool_slot(const sv_pool *p, unsigned index, sv_slot_info *out) {
        (void) p; (void) index; (void) out;
        return UV_ENOSYS;
}
sv_worker *sv_pool_worker(sv_pool *p, unsigned index) { (void) p; (void) index; return NULL; }
int sv_pool_index_of(const sv_pool *p, const sv_worker *w) { (void) p; (void) w; return -1; }
bool sv_pool_done(const sv_pool *p) { (void) p; return true; }
int sv_pool_signal(sv_pool *p, unsigned index, int sig, bool tree) {
        (void) p; (void) index; (void) sig; (void) tree;
        return UV_ENOSYS;
}
int sv_pool_stop(sv_pool *p, unsigned index) { (void) p; (void) index; return UV_ENOSYS; }
int sv_pool_stop_with(sv_pool *p, unsigned index, const sv_stop_opts *o) {
        (void) p; (void) index; (void) o;
        return UV_ENOSYS;
}
int sv_pool_restart(sv_pool *p, unsigned index) { (void) p; (void) index; return UV_ENOSYS; }
int sv_pool_pause(sv_pool *p, unsigned index) { (void) p; (void) index; return UV_ENOSYS; }
int sv_pool_resume(sv_pool *p, unsigned index) { (void) p; (void) index; return UV_ENOSYS; }
int sv_pool_scale(sv_pool *p, unsigned n) { (void) p; (void) n; return UV_ENOSYS; }
int sv_pool_shutdown(sv_pool *p) { (void) p; return UV_ENOSYS; }
int sv_pool_shutdown_with(sv_pool *p, const sv_stop_opts *o) { (void) p; (void) o; return UV_ENOSYS; }
void sv_pool_free(sv_pool *p) { (void) p; }
