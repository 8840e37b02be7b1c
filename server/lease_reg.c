/* lease_reg.c — the instance registry of the leases (lease.h): heartbeat
 * in kkim:instances, live count, drain. The per-tenant leases are in
 * lease.c. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_err.h"
#include "lease_int.h"

/* Heartbeat: KEYS[1] kkim:instances, ARGV[1] our ID, ARGV[2] ttl ms.
 * Scores are expiry times in Redis's own clock, so instance clocks never
 * matter. Returns the number of live instances. */
static const char lease_lua_heartbeat[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "return redis.call('ZCARD', KEYS[1])\n";

/* The drain is over: done runs from a timer, never inside a hiredis reply
 * (it frees the tenants, whose sinks may have more replies in the same
 * read: platform-notes §4). */
static void on_drain_done(uv_timer_t *h)
{
    lease_reg *r = h->data;
    if (r->drain_done)
        r->drain_done(r->drain_ud);
}

/* One of a drain's pieces is over (lease_int.h); the last one schedules
 * done on the (no longer needed) heartbeat timer. */
void lease__reg_drain_step(lease_reg *r)
{
    if (r->drain_pending && --r->drain_pending == 0 && !r->closing)
        uv_timer_start(&r->hb, on_drain_done, 0, 0);
}

/* Frees the registry once closing and nothing is in flight. */
static void reg_unref(lease_reg *r)
{
    if (--r->refs || !r->closing)
        return;
    free(r->leases);
    free(r);
}

/* The heartbeat answered: the number of live instances. */
static void on_heartbeat(void *ud, int status, const redisReply *reply)
{
    lease_reg *r = ud;
    r->hb_busy = false;
    if (!r->closing && status == 0 && reply && reply->type == REDIS_REPLY_INTEGER &&
        reply->integer > 0) {
        if ((unsigned)reply->integer != r->live)
            KK_LOG_INFO(&r->log, "instances_live", KK_I("live", reply->integer));
        r->live = (unsigned)reply->integer;
        /* the second answer, ttl/3 after the first, also counts instances
         * that started a moment after us */
        r->live_known = ++r->heartbeats >= 2;
    } else if (!r->closing) {
        KK_LOG_WARN(&r->log, "heartbeat_failed",
                    KK_S("detail", status ? kk_strerror(status)
                                          : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "?"));
    }
    reg_unref(r);
}

/* Sends the heartbeat (one in flight at most). */
static void heartbeat(lease_reg *r)
{
    if (r->hb_busy || r->draining)
        return;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)r->ttl_ms);
    char *keys[1] = { "kkim:instances" }, *args[2] = { r->id, ttl };
    r->refs++;
    r->hb_busy = true;
    if (lease__eval(r->global, lease_lua_heartbeat, 1, keys, 2, args, on_heartbeat, r) < 0) {
        r->refs--;
        r->hb_busy = false;
    }
}

/* The heartbeat timer (every ttl/3). */
static void on_hb_tick(uv_timer_t *h)
{
    heartbeat(h->data);
}

/* Creates the registry (lease.h). */
lease_reg *lease_reg_new(uv_loop_t *loop, rconn *global, const char *base_id, uint32_t shards,
                         uint64_t ttl_ms, metrics *m)
{
    static const double rtt_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1.0,  2.5 };
    if (!loop || !global || !base_id || shards == 0 || shards > SHARD_COUNT_MAX || ttl_ms < 300)
        return NULL;
    lease_reg *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    uint32_t rnd = 0;
    if (uv_random(NULL, NULL, &rnd, sizeof rnd, 0, NULL) != 0)
        rnd = (uint32_t)uv_hrtime();
    snprintf(r->id, sizeof r->id, "%.120s-%ld-%08x", base_id, (long)getpid(), rnd);
    r->seed = ((uint64_t)rnd << 32) | 0x9e3779b9u;
    r->loop = loop;
    r->global = global;
    r->shards = shards;
    r->ttl_ms = ttl_ms;
    r->live = 1;
    r->refs = 1; /* the timer */
    r->metrics = m;
    r->log.mod = "lease";
    if (m)
        r->m_rtt = metric_series_get(
            metrics_histogram(m, "kkim_lease_renew_rtt_seconds",
                              "Round trip of the lease view-and-renew script.", NULL, rtt_bounds,
                              sizeof rtt_bounds / sizeof rtt_bounds[0]),
            NULL);
    uv_timer_init(loop, &r->hb);
    r->hb.data = r;
    uv_timer_start(&r->hb, on_hb_tick, 0, ttl_ms / LEASE_RENEWS_PER_TTL);
    KK_LOG_INFO(&r->log, "lease_instance", KK_S("instance", r->id), KK_U("shards", shards),
                KK_U("ttlMs", ttl_ms));
    return r;
}

/* Instance ID (lease.h). */
const char *lease_reg_instance(const lease_reg *r)
{
    return r->id;
}

/* The ZREM of a drain answered. */
static void on_unregister(void *ud, int status, const redisReply *reply)
{
    lease_reg *r = ud;
    (void)status;
    (void)reply;
    lease__reg_drain_step(r);
    reg_unref(r);
}

/* Parks and releases every held shard of every lease (lease.h). */
void lease_reg_drain(lease_reg *r, void (*done)(void *ud), void *ud)
{
    r->draining = true;
    r->drain_done = done;
    r->drain_ud = ud;
    r->drain_pending = 1; /* ours until the end of this function */
    for (size_t k = 0; k < r->n; k++) {
        lease *l = r->leases[k];
        char **keys = malloc(l->S * sizeof *keys), **vals = malloc(l->S * sizeof *vals);
        uint32_t n = 0;
        for (uint32_t i = 0; keys && vals && i < l->S; i++) {
            if (!l->sh[i].held)
                continue;
            keys[n] = l->keys[i];
            vals[n++] = l->sh[i].mine; /* still intact after lease__drop() */
            lease__drop(l, i, false);
        }
        lease__report(l);
        if (n)
            KK_LOG_INFO(&l->log, "lease_drained", KK_U("shards", n));
        if (lease__release(l, n, keys, vals, true))
            r->drain_pending++;
        free(keys);
        free(vals);
    }
    char *keys[1] = { "kkim:instances" }, *args[1] = { r->id };
    r->refs++;
    if (lease__eval(r->global, "return redis.call('ZREM', KEYS[1], ARGV[1])", 1, keys, 1, args,
             on_unregister, r) == 0)
        r->drain_pending++;
    else
        r->refs--;
    lease__reg_drain_step(r);
}

/* The heartbeat timer closed: drops its reference. */
static void on_hb_closed(uv_handle_t *h)
{
    reg_unref(h->data);
}

/* Stops the registry (lease.h). */
void lease_reg_free(lease_reg *r)
{
    if (!r)
        return;
    r->closing = true;
    r->drain_done = NULL;
    uv_timer_stop(&r->hb);
    uv_close((uv_handle_t *)&r->hb, on_hb_closed);
}
