/* tenant_lease.c — a tenant's side of dynamic sharding (lease.h): logins
 * start when their shard is gained and stop (parked: closed at once) when
 * it is lost or given back; the outbox learns where a sender's login lives.
 * Contract: tenant.h. */
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "outbox.h"
#include "shard.h"
#include "tenant_int.h"
#include "users.h"

/* True when this instance logs user in: its static shard and, with leases,
 * a held lease whose deadline has not passed (the fencing check). */
bool tenant__holds(const tenant *t, const char *user)
{
    if (!shard_holds(t->env.shard, t->id, user))
        return false;
    return !t->lease || lease_holds_user(t->lease, user);
}

/* Closes the logins of lost shards (event "parked", reason lease_lost). */
static void park_lost(tenant *t, const uint8_t *delta, uint32_t S)
{
    size_t keep = 0, parked = 0;
    for (size_t i = 0; i < t->n_users; i++) {
        tuser *u = t->users[i];
        if (delta[shard_of(t->id, u->user, S)] != LEASE_LOST) {
            t->users[keep++] = u;
            continue;
        }
        tenant__event(t, "parked", u, "reason", "lease_lost");
        tenant__user_free(u);
        parked++;
    }
    t->n_users = keep;
    if (parked)
        KK_LOG_INFO(&t->log, "lease_parked", KK_U("logins", parked));
}

/* Starts the logins of gained shards: config users, then run-time users. */
static void start_gained(tenant *t, const uint8_t *delta, uint32_t S)
{
    const cfg_tenant *tc = t->cfg;
    for (size_t i = 0; i < tc->n_users; i++) {
        if (delta[shard_of(t->id, tc->users[i].user_id, S)] != LEASE_GAINED)
            continue;
        if (tc->limits.max_logins && t->n_users >= tc->limits.max_logins) {
            KK_LOG_WARN(&t->log, "max_logins", KK_U("maxLogins", tc->limits.max_logins));
            return;
        }
        tuser *u = tenant__user_add(t, &tc->users[i]);
        if (!u) {
            KK_LOG_ERROR(&t->log, "lease_login_failed", KK_S("user", tc->users[i].user_id));
            continue;
        }
        if (t->paused)
            sess_pause_rx(u->s, true);
    }
    size_t n;
    char *const *rt = users_list(t->rt, &n);
    for (size_t i = 0; i < n; i++)
        if (delta[shard_of(t->id, rt[i], S)] == LEASE_GAINED)
            (void)tenant_user_add(t, rt[i]);
}

/* lease_hooks.changed: park first (a lost shard may be released next). */
static void on_lease_changed(void *ud, const uint8_t *delta, uint32_t S)
{
    park_lost(ud, delta, S);
    start_gained(ud, delta, S);
}

/* Starts the tenant's leases on its Redis connection. */
int tenant__lease_start(tenant *t)
{
    static const lease_hooks h = { .changed = on_lease_changed };
    t->lease = lease_new(t->env.leases, t->env.redis, t->id, &h, t);
    return t->lease ? 0 : KK_ENOMEM;
}

/* True when user is one of the tenant's users (config or run-time). */
static bool is_user(const tenant *t, const char *user)
{
    for (size_t i = 0; i < t->cfg->n_users; i++)
        if (strcmp(t->cfg->users[i].user_id, user) == 0)
            return true;
    return users_has(t->rt, user);
}

/* outbox_cfg.route: where the login of a sender without a session here
 * lives (outbox.h). */
int tenant__outbox_route(void *ud, const char *user, char *holder, size_t cap)
{
    const tenant *t = ud;
    if (!is_user(t, user))
        return OUTBOX_ROUTE_UNKNOWN;
    if (t->lease && lease_holder_of(t->lease, user, holder, cap))
        return OUTBOX_ROUTE_AWAY;
    return OUTBOX_ROUTE_NOBODY;
}

/* The tenant's leases (tenant.h). */
const struct lease *tenant_lease(const tenant *t)
{
    return t->lease;
}
