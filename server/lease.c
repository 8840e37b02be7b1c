/* lease.c — Redis leases for dynamic sharding (design §6); contract: lease.h.
 * The scripts are short and run once per ttl/3 per tenant, so they go as
 * EVAL text rather than through a SCRIPT LOAD cache. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "lease_int.h"

/* View and renew: KEYS = every shard's lease key, ARGV[1] ttl ms,
 * ARGV[1+i] our value of shard i or ''. Per shard: 1 when our value was
 * there and its TTL was renewed (compare-and-PEXPIRE), else the holder's
 * value or nil. */
static const char lease_lua_view[] =
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local v = redis.call('GET', k)\n"
    "  if v and ARGV[i + 1] ~= '' and v == ARGV[i + 1] then\n"
    "    redis.call('PEXPIRE', k, ARGV[1])\n"
    "    out[i] = 1\n"
    "  else\n"
    "    out[i] = v\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Claim: KEYS[1] the tenant's epoch counter, KEYS[2..] free lease keys,
 * ARGV[1] our ID, ARGV[2] ttl ms. Per key: the fencing epoch when it was
 * still free and is now ours ("<ID>:<epoch>", PX ttl), else 0. */
static const char lease_lua_claim[] =
    "local out = {}\n"
    "for i = 2, #KEYS do\n"
    "  if redis.call('EXISTS', KEYS[i]) == 0 then\n"
    "    local e = redis.call('INCR', KEYS[1])\n"
    "    redis.call('SET', KEYS[i], ARGV[1] .. ':' .. e, 'PX', ARGV[2])\n"
    "    out[i - 1] = e\n"
    "  else\n"
    "    out[i - 1] = 0\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Release: KEYS lease keys, ARGV their values: compare-and-DEL each. */
static const char lease_lua_release[] =
    "local n = 0\n"
    "for i, k in ipairs(KEYS) do\n"
    "  if redis.call('GET', k) == ARGV[i] then n = n + redis.call('DEL', k) end\n"
    "end\n"
    "return n\n";

/* ---- helpers -------------------------------------------------------------- */

/* Now for deadline checks: the monotonic clock read afresh. uv_now is the
 * time the loop iteration began, which lags after a long iteration; send
 * times (t0) use it (early is safe), checks must not (late is not). */
static uint64_t fresh_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* Next pseudo-random number (xorshift64): spreads claims over the shards
 * so instances starting together rarely contend for the same ones. */
static uint64_t next_rand(lease_reg *r)
{
    r->seed ^= r->seed << 13;
    r->seed ^= r->seed >> 7;
    r->seed ^= r->seed << 17;
    return r->seed;
}

/* Sends an EVAL of script with keys then args; fills argv/lens on the
 * heap. Returns what rconn_cmd returns. */
int lease__eval(rconn *rc, const char *script, uint32_t nkeys, char *const *keys, uint32_t nargs,
                char *const *args, rconn_reply_fn cb, void *ud)
{
    size_t argc = 3 + (size_t)nkeys + nargs;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char nk[16];
    snprintf(nk, sizeof nk, "%u", nkeys);
    int rc_ = KK_ENOMEM;
    if (argv && lens) {
        argv[0] = "EVAL";
        argv[1] = script;
        argv[2] = nk;
        for (uint32_t i = 0; i < nkeys; i++)
            argv[3 + i] = keys[i];
        for (uint32_t i = 0; i < nargs; i++)
            argv[3 + nkeys + i] = args[i];
        for (size_t i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        rc_ = rconn_cmd(rc, (int)argc, argv, lens, cb, ud);
    }
    free(argv);
    free(lens);
    return rc_;
}

/* Reports the pass's changes (if any) and clears delta. */
void lease__report(lease *l)
{
    bool any = false;
    for (uint32_t i = 0; i < l->S && !any; i++)
        any = l->delta[i] != LEASE_SAME;
    if (any && !l->closing && l->hooks.changed)
        l->hooks.changed(l->ud, l->delta, l->S);
    memset(l->delta, 0, l->S);
    if (l->m_held)
        metric_set(l->m_held, l->st.held);
}

/* Marks shard i no longer ours (lost or given back). */
void lease__drop(lease *l, uint32_t i, bool lost)
{
    l->sh[i].held = false;
    /* the parked logins' closes must reach the gateway before we log them
     * in again: no claim of this shard before the next round */
    l->sh[i].cool_until = uv_now(l->reg->loop) + l->reg->ttl_ms / LEASE_RENEWS_PER_TTL;
    l->delta[i] = LEASE_LOST;
    l->st.held--;
    if (lost) {
        l->st.losses++;
        if (l->m_losses)
            metric_inc(l->m_losses, 1);
    } else {
        l->st.releases++;
    }
}

/* Frees l once closing and nothing is in flight. */
static void lease_unref(lease *l)
{
    if (--l->refs || !l->closing)
        return;
    for (uint32_t i = 0; i < l->S && l->keys; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->sh);
    free(l->delta);
    free(l->tenant);
    free(l);
}

/* ---- release -------------------------------------------------------------- */

/* A release answered: counts down a drain. */
static void on_release(void *ud, int status, const redisReply *reply)
{
    lcmd *c = ud;
    lease *l = c->l;
    lease_reg *r = l->reg;
    if (status != 0 || !reply || reply->type == REDIS_REPLY_ERROR)
        KK_LOG_WARN(&l->log, "lease_release_failed", KK_U("shards", c->n),
                    KK_S("detail", status ? kk_strerror(status) : reply ? reply->str : "?"));
    bool drain = c->drain;
    free(c);
    if (drain)
        lease__reg_drain_step(r);
    lease_unref(l);
}

/* Compare-and-DELs n values (vals[i] of keys[i]); drain: count it in the
 * registry's drain. Returns true when sent. */
bool lease__release(lease *l, uint32_t n, char **keys, char **vals, bool drain)
{
    if (n == 0)
        return false;
    lcmd *c = malloc(sizeof *c);
    if (!c)
        return false;
    c->l = l;
    c->n = n;
    c->drain = drain;
    l->refs++;
    if (lease__eval(l->redis, lease_lua_release, n, keys, n, vals, on_release, c) < 0) {
        l->refs--;
        free(c);
        return false;
    }
    return true;
}

/* ---- claims --------------------------------------------------------------- */

/* The claim script answered: the shards whose epoch came back are ours. */
static void on_claim(void *ud, int status, const redisReply *reply)
{
    lcmd *c = ud;
    lease *l = c->l;
    /* a claim answered during a drain is not taken: its keys expire */
    if (!l->closing && !l->reg->draining && status == 0 && reply &&
        reply->type == REDIS_REPLY_ARRAY && reply->elements == c->n) {
        lease_reg *r = l->reg;
        uint64_t deadline = c->t0 + r->ttl_ms - r->ttl_ms / LEASE_MARGIN_DIV;
        uint32_t got = 0;
        for (uint32_t k = 0; k < c->n; k++) {
            const redisReply *e = reply->element[k];
            if (e->type != REDIS_REPLY_INTEGER || e->integer <= 0)
                continue;
            lshard *s = &l->sh[c->idx[k]];
            snprintf(s->mine, sizeof s->mine, "%s:%lld", r->id, (long long)e->integer);
            snprintf(s->owner, sizeof s->owner, "%s", s->mine);
            s->held = true;
            s->deadline = deadline;
            l->delta[c->idx[k]] = LEASE_GAINED;
            got++;
        }
        l->st.held += got;
        l->st.claims += got;
        if (l->m_claims)
            metric_inc(l->m_claims, got);
        if (got)
            KK_LOG_INFO(&l->log, "lease_claimed", KK_U("shards", got), KK_U("held", l->st.held));
        lease__report(l);
    }
    /* a failed claim may still have set keys: the next view shows them as
     * ours but not held, and they are released */
    l->busy = false;
    free(c);
    lease_unref(l);
}

/* Claims up to want free shards, starting at a random one. */
static void claim_free(lease *l, uint32_t want)
{
    lcmd *c = malloc(sizeof *c + want * sizeof c->idx[0]);
    char **keys = malloc((want + 1) * sizeof *keys);
    if (!c || !keys) {
        free(c);
        free(keys);
        l->busy = false;
        return;
    }
    c->l = l;
    c->n = 0;
    c->drain = false;
    c->t0 = uv_now(l->reg->loop);
    keys[0] = l->epoch_key;
    uint32_t start = (uint32_t)(next_rand(l->reg) % l->S);
    for (uint32_t k = 0; k < l->S && c->n < want; k++) {
        uint32_t i = (start + k) % l->S;
        if (!l->sh[i].held && !l->sh[i].owner[0] && c->t0 >= l->sh[i].cool_until) {
            c->idx[c->n] = i;
            keys[1 + c->n++] = l->keys[i];
        }
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)l->reg->ttl_ms);
    char *args[2] = { l->reg->id, ttl };
    l->refs++;
    if (c->n == 0 ||
        lease__eval(l->redis, lease_lua_claim, 1 + c->n, keys, 2, args, on_claim, c) < 0) {
        l->refs--;
        free(c);
        l->busy = false;
    }
    free(keys);
}

/* ---- the round ------------------------------------------------------------ */

/* Gives back shards above target (their sessions are parked by the hook
 * first) and our stale keys (ours in Redis, not held here). */
static void rebalance_down(lease *l, uint32_t target, bool *stale)
{
    bool any = l->st.held > target;
    for (uint32_t i = 0; i < l->S && !any; i++)
        any = stale[i];
    if (!any)
        return;
    char **keys = malloc(l->S * sizeof *keys), **vals = malloc(l->S * sizeof *vals);
    char (*held_vals)[LEASE_VAL_MAX] = malloc(l->S * sizeof *held_vals);
    if (!keys || !vals || !held_vals) {
        free(keys);
        free(vals);
        free(held_vals);
        return;
    }
    uint32_t n = 0;
    for (uint32_t i = l->S; i-- > 0;) {
        lshard *s = &l->sh[i];
        if (s->held && l->st.held > target) {
            snprintf(held_vals[n], LEASE_VAL_MAX, "%s", s->mine);
            lease__drop(l, i, false);
            s->owner[0] = '\0';
        } else if (stale[i]) {
            snprintf(held_vals[n], LEASE_VAL_MAX, "%s", s->owner);
            s->owner[0] = '\0';
        } else {
            continue;
        }
        keys[n] = l->keys[i];
        vals[n] = held_vals[n];
        n++;
    }
    lease__report(l); /* parks before the keys go */
    if (n)
        KK_LOG_INFO(&l->log, "lease_released", KK_U("shards", n), KK_U("held", l->st.held));
    (void)lease__release(l, n, keys, vals, false);
    free(keys);
    free(vals);
    free(held_vals);
}

/* The view script answered: renewals confirmed, holders known; then give
 * back extras or claim up to the target. */
static void on_view(void *ud, int status, const redisReply *reply)
{
    lcmd *c = ud;
    lease *l = c->l;
    lease_reg *r = l->reg;
    bool ok = !l->closing && status == 0 && reply && reply->type == REDIS_REPLY_ARRAY &&
              reply->elements == l->S;
    if (!ok && !l->closing)
        KK_LOG_WARN(&l->log, "lease_renew_failed",
                    KK_S("detail", status ? kk_strerror(status)
                                          : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "?"));
    bool *stale = ok ? calloc(l->S, sizeof *stale) : NULL;
    if (ok && stale && !r->draining) {
        if (r->m_rtt)
            metric_observe(r->m_rtt, (double)(uv_now(r->loop) - c->t0) / 1000.0);
        uint64_t deadline = c->t0 + r->ttl_ms - r->ttl_ms / LEASE_MARGIN_DIV;
        size_t idlen = strlen(r->id);
        for (uint32_t i = 0; i < l->S; i++) {
            const redisReply *e = reply->element[i];
            lshard *s = &l->sh[i];
            if (e->type == REDIS_REPLY_INTEGER && e->integer == 1 && s->held) {
                s->deadline = deadline;
                continue;
            }
            s->owner[0] = '\0';
            if (e->type == REDIS_REPLY_STRING)
                snprintf(s->owner, sizeof s->owner, "%s", e->str);
            if (s->held) {
                KK_LOG_WARN(&l->log, "lease_lost", KK_U("shard", i), KK_S("holder", s->owner));
                lease__drop(l, i, true);
            } else if (s->owner[0] && strncmp(s->owner, r->id, idlen) == 0 && s->owner[idlen] == ':') {
                stale[i] = true;
            }
        }
        lease__report(l); /* lost shards are parked now, whatever follows */
        uint32_t live = r->live ? r->live : 1;
        l->st.live = live;
        l->st.target = (l->S + live - 1) / live;
        rebalance_down(l, l->st.target, stale);
        if (l->st.held < l->st.target) {
            free(stale);
            free(c);
            claim_free(l, l->st.target - l->st.held); /* ends the round */
            lease_unref(l);
            return;
        }
    }
    free(stale);
    free(c);
    l->busy = false;
    lease_unref(l);
}

/* Starts a round: one view-and-renew script over every shard. */
static void round_start(lease *l)
{
    lcmd *c = malloc(sizeof *c);
    char **args = malloc((1 + (size_t)l->S) * sizeof *args);
    char ttl[24];
    if (!c || !args) {
        free(c);
        free(args);
        return;
    }
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)l->reg->ttl_ms);
    args[0] = ttl;
    for (uint32_t i = 0; i < l->S; i++)
        args[1 + i] = l->sh[i].held ? l->sh[i].mine : "";
    c->l = l;
    c->n = 0;
    c->drain = false;
    c->t0 = uv_now(l->reg->loop);
    l->refs++;
    l->busy = true;
    if (lease__eval(l->redis, lease_lua_view, l->S, l->keys, 1 + l->S, args, on_view, c) < 0) {
        l->refs--;
        l->busy = false;
        free(c);
    }
    free(args);
}

/* The lease timer: deadlines every LEASE_CHECK_MS, a round every ttl/3. */
static void on_lease_tick(uv_timer_t *h)
{
    lease *l = h->data;
    uint64_t now = fresh_ms();
    uint32_t lost = 0;
    for (uint32_t i = 0; i < l->S; i++)
        if (l->sh[i].held && now >= l->sh[i].deadline) {
            lease__drop(l, i, true);
            lost++;
        }
    if (lost) {
        KK_LOG_WARN(&l->log, "lease_deadline_passed", KK_U("shards", lost),
                    KK_U("held", l->st.held));
        lease__report(l);
    }
    /* no round before live is known: a first round that counted only the
     * instances already registered would claim too many shards and give
     * most back a moment later */
    if (!l->busy && !l->reg->draining && l->reg->live_known && now >= l->next_round_ms) {
        l->next_round_ms = now + l->reg->ttl_ms / LEASE_RENEWS_PER_TTL;
        round_start(l);
    }
}

/* ---- per-tenant lifetime and queries ------------------------------------- */

/* Registers the tenant's lease series. */
static void lease_metrics(lease *l, metrics *m)
{
    const char *const lbl[] = { "tenant", NULL };
    const char *const val[] = { l->tenant, NULL };
    l->m_claims = metric_series_get(
        metrics_counter(m, "kkim_lease_claims_total", "Shards claimed.", lbl), val);
    l->m_losses = metric_series_get(
        metrics_counter(m, "kkim_lease_losses_total",
                        "Shards lost (renewal refused or not confirmed before the deadline).", lbl),
        val);
    l->m_held = metric_series_get(metrics_gauge(m, "kkim_leases_held", "Shards held now.", lbl),
                                  val);
}

/* Creates a tenant's lease set (lease.h). */
lease *lease_new(lease_reg *r, rconn *redis, const char *tenant, const lease_hooks *h, void *ud)
{
    lease **nv = realloc(r->leases, (r->n + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    r->leases = nv;
    lease *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->reg = r;
    l->redis = redis;
    l->hooks = *h;
    l->ud = ud;
    l->S = r->shards;
    l->tenant = strdup(tenant);
    l->keys = calloc(l->S, sizeof *l->keys);
    l->sh = calloc(l->S, sizeof *l->sh);
    l->delta = calloc(l->S, 1);
    l->refs = 1; /* the timer */
    bool ok = l->tenant && l->keys && l->sh && l->delta;
    for (uint32_t i = 0; ok && i < l->S; i++) {
        char k[200];
        snprintf(k, sizeof k, "kkim:{%s}:lease:%u", tenant, i);
        ok = (l->keys[i] = strdup(k)) != NULL;
    }
    if (!ok) {
        l->closing = true;
        lease_unref(l);
        return NULL;
    }
    snprintf(l->epoch_key, sizeof l->epoch_key, "kkim:{%s}:lease:epoch", tenant);
    l->log.mod = "lease";
    l->log.tenant = l->tenant;
    l->st.target = l->S;
    if (r->metrics)
        lease_metrics(l, r->metrics);
    uv_timer_init(r->loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, on_lease_tick, 0, LEASE_CHECK_MS);
    r->leases[r->n++] = l;
    return l;
}

/* The lease timer closed: drops its reference. */
static void on_lease_timer_closed(uv_handle_t *h)
{
    lease_unref(h->data);
}

/* Stops a lease set (lease.h). */
void lease_free(lease *l)
{
    if (!l)
        return;
    lease_reg *r = l->reg;
    for (size_t i = 0; i < r->n; i++)
        if (r->leases[i] == l) {
            r->leases[i] = r->leases[--r->n];
            break;
        }
    l->closing = true;
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, on_lease_timer_closed);
}

/* S (lease.h). */
uint32_t lease_shards(const lease *l)
{
    return l->S;
}

/* Fencing check (lease.h). */
bool lease_holds_user(const lease *l, const char *user)
{
    const lshard *s = &l->sh[shard_of(l->tenant, user, l->S)];
    return s->held && fresh_ms() < s->deadline;
}

/* The holder's instance ID from "<instance>:<epoch>" (lease.h). */
bool lease_holder_of(const lease *l, const char *user, char *out, size_t cap)
{
    const lshard *s = &l->sh[shard_of(l->tenant, user, l->S)];
    const char *colon = strrchr(s->owner, ':');
    if (s->held || !s->owner[0] || !colon || (size_t)(colon - s->owner) >= cap)
        return false;
    memcpy(out, s->owner, (size_t)(colon - s->owner));
    out[colon - s->owner] = '\0';
    return true;
}

/* Totals (lease.h). */
void lease_get_stats(const lease *l, lease_stats *st)
{
    *st = l->st;
}

/* Held shards as a JSON array (lease.h). */
bool lease_held_json(const lease *l, char *buf, size_t cap)
{
    size_t pos = 0;
    if (cap < 3)
        return false;
    buf[pos++] = '[';
    for (uint32_t i = 0; i < l->S; i++) {
        if (!l->sh[i].held)
            continue;
        int n = snprintf(buf + pos, cap - pos, "%s%u", pos > 1 ? "," : "", i);
        if (n < 0 || (size_t)n >= cap - pos)
            return false;
        pos += (size_t)n;
    }
    if (pos + 2 > cap)
        return false;
    buf[pos++] = ']';
    buf[pos] = '\0';
    return true;
}
