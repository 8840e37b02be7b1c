/* relay.c — the glue between the app (process, loop, config, admin) and the
 * tenants: the app_hooks of kkim-relay. It creates the gateway client vhost,
 * one tenant per configured tenant, applies reloads (tenants added, removed
 * or changed), answers /readyz and /v1/sessions, and frees the tenants at
 * shutdown. Contract: relay.h. */
#include <uv.h> /* before libwebsockets.h */

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "adminv1.h"
#include "lease.h"
#include "media.h"
#include "app.h"
#include "metrics.h"
#include "rconn.h"
#include "relay.h"
#include "sess.h"
#include "tenant.h"

/* /readyz: ready when at least this share of each tenant's logins is
 * online ("sessions mostly online"). */
#define RELAY_READY_RATIO 0.9

struct relay {
    app *a;
    struct lws_vhost *vhost;
    struct lws_protocols protos[2];
    tenant **tenants;
    size_t n;
    kk_log_ctx log;
    metric_series *m_rtt;
    adminv1_ops v1; /* /v1/tenants, /v1/reload, .../reconnect (adminv1.h) */
    media_pool *media; /* ONE per process, when recordings.dir is set (calls.h) */
    size_t draining;   /* tenants whose calls are still ending + 1 while starting */
    lease_reg *leases; /* dynamic sharding (lease.h), NULL when off */
};

/* Redis round-trip buckets, seconds: loopback answers in ~0.1 ms; a slow
 * or remote Redis shows in the upper buckets. */
static const double relay_rtt_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   1.0 };

/* /metrics collect hook: every tenant's series. */
static void relay_collect(void *ud, metrics *reg)
{
    relay *r = ud;
    for (size_t i = 0; i < r->n; i++)
        tenant_metrics_collect(r->tenants[i], reg);
}

/* RTT observer of the global Redis connection. */
static void relay_on_rtt(void *ud, double seconds)
{
    relay *r = ud;
    metric_observe(r->m_rtt, seconds);
}

/* Creates the tenant of tc and appends it. */
static int add_tenant(relay *r, const cfg_tenant *tc)
{
    tenant_env env = {
        .loop = app_loop(r->a),
        .lws = app_lws(r->a),
        .vhost = r->vhost,
        .redis = app_redis(r->a),
        .metrics = app_metrics(r->a),
        .instance_id = r->leases ? lease_reg_instance(r->leases) : app_config(r->a)->instance.id,
        .shard = app_shard(r->a),
        .media = r->media,
        .leases = r->leases,
    };
    char err[256] = "";
    tenant *t = tenant_new(&env, tc, err, sizeof err);
    if (!t) {
        KK_LOG_ERROR(&r->log, "tenant_failed", KK_S("tenant", tc->id), KK_S("detail", err));
        return KK_EINVAL;
    }
    tenant **nv = realloc(r->tenants, (r->n + 1) * sizeof *nv);
    if (!nv) {
        tenant_free(t);
        return KK_ENOMEM;
    }
    r->tenants = nv;
    r->tenants[r->n++] = t;
    return 0;
}

/* adminv1_ops: the tenants and the reload path. */
static size_t v1_n_tenants(void *ud)
{
    return ((relay *)ud)->n;
}

/* adminv1_ops: tenant i. */
static tenant *v1_tenant_at(void *ud, size_t i)
{
    return ((relay *)ud)->tenants[i];
}

/* adminv1_ops: POST /v1/reload takes the SIGHUP path. */
static void v1_reload(void *ud)
{
    app_request_reload(((relay *)ud)->a);
}

/* Creates the process's media pool from the "media" and "recordings"
 * sections (no pool without recordings.dir: calls are then ignored). STUN
 * takes the first "[stun:]IP:port" entry; TURN entries are not used yet. */
static int media_start(relay *r, const kk_config *cfg)
{
    if (!cfg->recordings.dir)
        return 0;
    char stun[128] = "";
    unsigned long stun_port = 0;
    if (cfg->media.n_stun) {
        const char *s = cfg->media.stun[0];
        if (strncmp(s, "stun:", 5) == 0)
            s += 5;
        snprintf(stun, sizeof stun, "%s", s);
        char *colon = strrchr(stun, ':');
        if (colon) {
            *colon = '\0';
            stun_port = strtoul(colon + 1, NULL, 10);
        }
    }
    if (cfg->media.n_turn)
        KK_LOG_WARN(&r->log, "turn_ignored", KK_U("entries", cfg->media.n_turn));
    media_cfg mc = {
        .threads = cfg->media.threads,
        .port_min = (uint16_t)cfg->media.port_min,
        .port_max = (uint16_t)cfg->media.port_max,
        .public_ip = cfg->media.public_ip,
        .stun_host = stun[0] && stun_port ? stun : NULL,
        .stun_port = (uint16_t)stun_port,
        .recordings = cfg->recordings.dir,
        .max_duration_ms = (int)cfg->recordings.max_duration_ms,
    };
    int rc = media_pool_new(&mc, &r->media);
    if (rc < 0)
        KK_LOG_ERROR(&r->log, "media_failed", KK_ERR(rc));
    return rc;
}

/* app start hook: the client vhost, then the tenants. */
static int relay_start(void *ud, app *a)
{
    relay *r = ud;
    r->a = a;
    r->protos[0] = *sess_lws_protocol();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = r->protos;
    info.vhost_name = "gateway-client";
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    r->vhost = lws_create_vhost(app_lws(a), &info);
    if (!r->vhost) {
        KK_LOG_ERROR(&r->log, "vhost_failed");
        return KK_EIO;
    }
    metrics *m = app_metrics(a);
    if (m) {
        r->m_rtt = metric_series_get(
            metrics_histogram(m, "kkim_redis_rtt_seconds", "Redis command round-trip time.", NULL,
                              relay_rtt_bounds, sizeof relay_rtt_bounds / sizeof relay_rtt_bounds[0]),
            NULL);
        (void)metrics_on_collect(m, relay_collect, r);
        rconn_set_rtt_observer(app_redis(a), relay_on_rtt, r);
    }
    r->v1 = (adminv1_ops){ .ud = r, .n_tenants = v1_n_tenants, .tenant_at = v1_tenant_at,
                           .reload = v1_reload };
    if (app_admin(a) && adminv1_register(app_admin(a), &r->v1) < 0)
        KK_LOG_WARN(&r->log, "admin_routes_failed");
    const kk_config *cfg = app_config(a);
    int mrc = media_start(r, cfg);
    if (mrc < 0)
        return mrc;
    if (cfg->leases.enabled) {
        r->leases = lease_reg_new(app_loop(a), app_redis(a), cfg->instance.id, cfg->leases.shards,
                                  cfg->leases.ttl_ms, app_metrics(a));
        if (!r->leases)
            return KK_ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        int rc = add_tenant(r, &cfg->tenants[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Finds a tenant by ID; returns its index or -1. */
static long find_tenant(const relay *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(tenant_id(r->tenants[i]), id) == 0)
            return (long)i;
    return -1;
}

/* app reload hook: removed tenants stop, added ones start, the others get
 * their new config (only changed users are touched). */
static void relay_reload(void *ud, app *a, const kk_config *old, const kk_config *ncfg,
                         const cfg_diff *diff)
{
    relay *r = ud;
    (void)a;
    (void)old;
    (void)diff;
    size_t keep = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (cfg_tenant_find(ncfg, tenant_id(r->tenants[i])))
            r->tenants[keep++] = r->tenants[i];
        else
            tenant_free(r->tenants[i]);
    }
    r->n = keep;
    for (size_t i = 0; i < ncfg->n_tenants; i++) {
        const cfg_tenant *tc = &ncfg->tenants[i];
        long k = find_tenant(r, tc->id);
        if (k >= 0)
            (void)tenant_reload(r->tenants[k], tc);
        else
            (void)add_tenant(r, tc);
    }
}

/* /readyz's sessions part. */
static bool relay_ready(void *ud)
{
    relay *r = ud;
    for (size_t i = 0; i < r->n; i++)
        if (tenant_online_ratio(r->tenants[i]) < RELAY_READY_RATIO)
            return false;
    return true;
}

/* /v1/sessions: {"sessions":[...]}, filtered by tenant and state. */
static int relay_sessions_json(void *ud, const char *tenant_f, const char *state, kk_buf *out)
{
    relay *r = ud;
    bool first = true;
    int rc = kk_buf_append(out, "{\"sessions\":[", 13);
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        if (tenant_f && tenant_f[0] && strcmp(tenant_f, tenant_id(r->tenants[i])) != 0)
            continue;
        rc = tenant_sessions_json(r->tenants[i], state, out, &first);
    }
    return rc ? rc : kk_buf_append(out, "]}\n", 3);
}

/* Frees every tenant (their logins close; the loop drains the rest). */
static void relay_stop_tenants(relay *r)
{
    for (size_t i = 0; i < r->n; i++)
        tenant_free(r->tenants[i]);
    free(r->tenants);
    r->tenants = NULL;
    r->n = 0;
    lease_reg_free(r->leases); /* after every tenant's lease */
    r->leases = NULL;
}

/* One tenant's calls are over; the last one stops the logins. */
static void relay_calls_drained(void *ud)
{
    relay *r = ud;
    if (--r->draining)
        return;
    relay_stop_tenants(r);
    app_drain_done(r->a);
}

/* app drain hook: live calls end (reason shutdown, hungUp sent, files
 * finalized), then the logins stop; with leases, every login is parked and
 * its lease released first, so another instance takes over at once. */
static void relay_drain(void *ud, app *a)
{
    relay *r = ud;
    r->a = a;
    r->draining = 1;
    if (r->leases) {
        r->draining++; /* before: done may come at once */
        lease_reg_drain(r->leases, relay_calls_drained, r);
    }
    for (size_t i = 0; i < r->n; i++) {
        r->draining++; /* before: done may come at once */
        if (!tenant_calls_drain(r->tenants[i], relay_calls_drained, r))
            r->draining--;
    }
    relay_calls_drained(r);
}

/* app stop hook: the media pool first (it finishes every call, whose
 * events the tenants then drop), then the tenants. */
static void relay_stop(void *ud, app *a)
{
    relay *r = ud;
    (void)a;
    media_pool_free(r->media);
    r->media = NULL;
    relay_stop_tenants(r);
}

/* Runs kkim-relay: argument parsing and the process are the app's. */
int relay_main(int argc, char **argv)
{
    relay r;
    memset(&r, 0, sizeof r);
    r.log.mod = "relay";
    app_hooks h = {
        .ud = &r,
        .start = relay_start,
        .on_reload = relay_reload,
        .sessions_ready = relay_ready,
        .sessions_json = relay_sessions_json,
        .drain = relay_drain,
        .stop = relay_stop,
    };
    return app_main_hooks(argc, argv, &h);
}
