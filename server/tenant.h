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

/* Publishes the tenant's metrics into reg: sessions by state, frames in and
 * out, messages appended, duplicates dropped, holes, gaps, queue depths. */
void tenant_metrics_collect(const tenant *t, struct metrics *reg);

#endif
