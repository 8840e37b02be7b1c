/* tenant.h — one tenant's logins, ordering and sink (design §4, §5).
 *
 * A tenant owns: a session per configured user (sess.h), the token store
 * (tokens.h), the per-tenant ordering (convsync.h) and Redis sink (rsink.h)
 * on the app's Redis connection, the login-rate limiter, the resync of each
 * login after every (re)connect, and backpressure (sessions stop reading
 * while the sink is behind).
 *
 * Policy on session endings (NOTES §5.2, design §4):
 *   token expired → re-read the token source, retry with backoff;
 *   token invalid → re-read once and retry, then park;
 *   no such user, bad arguments, logout → park;
 *   kicked → re-login unless kicked more than limits allow in 10 minutes
 *            (then park: never fight another login);
 *   anything else → backoff.
 * Every login, logout, kick, park, auth failure and resync is an event in
 * kkim:{T}:events.
 *
 * Loop thread only. tenant_free must be called from the loop with the loop
 * still running (the sink drains its in-flight calls).
 */
#ifndef KK_TENANT_H
#define KK_TENANT_H

#include <stdbool.h>

#include "codec.h"
#include "config.h"
#include "convsync.h"
#include "outbox.h"
#include "rsink.h"
#include "sess.h"

struct lws_context;
struct lws_vhost;
struct rconn;
struct metrics;
typedef struct uv_loop_s uv_loop_t;

/* What a tenant borrows from the process; all must outlive it. */
typedef struct tenant_env {
    uv_loop_t *loop;
    struct lws_context *lws;
    struct lws_vhost *vhost; /* gateway client vhost */
    struct rconn *redis;
    struct metrics *metrics;
    const char *instance_id; /* outbox consumer name; read by tenant_new only */
    const struct kk_shard *shard; /* static shard (shard.h); NULL = every user */
    struct media_pool *media; /* call recording (calls.h); NULL = calls are ignored */
    struct lease_reg *leases; /* dynamic sharding (lease.h); NULL = off */
} tenant_env;

typedef struct tenant tenant;

/* Creates a tenant for tc (copied as needed) and starts its logins.
 * On failure returns NULL and writes a reason (no secrets) to err. */
tenant *tenant_new(const tenant_env *env, const cfg_tenant *tc, char *err, size_t errlen);
/* Stops every login and frees the tenant. NULL is fine. */
void tenant_free(tenant *t);

/* Applies a reloaded config of the same tenant: re-reads tokens, starts
 * logins of added users, stops removed ones, leaves the others untouched.
 * tc must outlive the tenant (the app keeps the newest config). */
int tenant_reload(tenant *t, const cfg_tenant *tc);

/* Fraction of logins online (1.0 with no users). */
double tenant_online_ratio(const tenant *t);

/* Appends a JSON array of sessions (optionally filtered by state name) to
 * out, without the surrounding brackets' comma handling: items are
 * separated by commas, *first tracks whether one was written. */
int tenant_sessions_json(const tenant *t, const char *state, kk_buf *out, bool *first);

const char *tenant_id(const tenant *t);

/* Ends the tenant's recorded calls (reason shutdown) for a drain. Returns 0
 * when none was live (done not called), else 1 and done(ud) is called once
 * they are over (maybe already). */
int tenant_calls_drain(tenant *t, void (*done)(void *ud), void *ud);

/* The login of user (its first platform), or NULL when the tenant has no
 * such user. Borrowed: valid until the next reload or tenant_free. */
sess *tenant_session_of(tenant *t, const char *user);

/* Drops every login of user and lets the pacer log it in again (admin
 * POST /v1/sessions/{tenant}/{user}/reconnect; a parked login too).
 * Returns the number of logins restarted (0: no such user). */
int tenant_reconnect(tenant *t, const char *user);

/* Starts a run-time login of user on the tenant's gateway platform (the
 * Redis set kkim:{T}:users, users.h). Returns 1 when added, 0 when the
 * user already has a login, KK_ETOOBIG past limits.maxLogins, KK_ENOMEM. */
int tenant_user_add(tenant *t, const char *user);
/* Stops a run-time login (config users stay). Returns 1 when removed, 0
 * when user has no run-time login. */
int tenant_user_remove(tenant *t, const char *user);

/* The tenant's leases (lease.h), NULL when leases are off. */
const struct lease *tenant_lease(const tenant *t);

/* Per-tenant counters for GET /v1/tenants. */
typedef struct tenant_counters {
    size_t users;
    size_t sessions[SESS_STATE_COUNT]; /* by sess_state */
    csync_stats cs;
    rsink_stats rs;
    outbox_stats ob;
} tenant_counters;
void tenant_counters_get(const tenant *t, tenant_counters *c);

/* Publishes the tenant's metrics into reg: sessions by state, frames in and
 * out, messages appended, duplicates dropped, holes, gaps, queue depths. */
void tenant_metrics_collect(const tenant *t, struct metrics *reg);

#endif
