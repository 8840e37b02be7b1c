/* tenant.c — a tenant's logins: creation, login pacing, the policy on
 * session endings, heartbeats, backpressure and metrics. Resync and message
 * intake are in tenant_sync.c. Contract: tenant.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "lease.h"
#include "rconn.h"
#include "tenant_int.h"
#include "users.h"

/* Tick of the tenant's timer: login pacing and hole work need ~20 ms
 * granularity; heartbeats and backpressure run at 1 Hz inside it. */
#define TENANT_TICK_MS 20

/* Adds a login record for one configured user and creates its session. */
static tuser *user_add(tenant *t, const cfg_user *cu);
static void on_sess_state(void *owner, sess *s, sess_state from, sess_state to, sess_reason why);

/* Returns the tenant ID. */
const char *tenant_id(const tenant *t)
{
    return t->id;
}

/* Ends live recorded calls for a drain (tenant.h). */
int tenant_calls_drain(tenant *t, void (*done)(void *ud), void *ud)
{
    return calls_drain(t->calls, done, ud);
}

/* Writes an event to kkim:{T}:events with the login and one extra pair. */
void tenant__event(tenant *t, const char *type, const tuser *u, const char *k, const char *v)
{
    char plat[16];
    snprintf(plat, sizeof plat, "%d", u ? u->platform : 0);
    const char *kv[6] = { "user", u ? u->user : "", "platform", plat, k ? k : "", v ? v : "" };
    (void)rsink_event(t->rs, type, kv, k ? 3 : 2, NULL, NULL);
}

/* Fills the session settings of a login from the tenant's config. */
static void sess_cfg_of(tenant *t, const tuser *u, sess_cfg *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->vhost = t->env.vhost;
    sc->tenant = t->id;
    sc->user = u->user;
    sc->platform_id = u->platform;
    sc->gw_host = t->cfg->gateway.host;
    sc->gw_port = t->cfg->gateway.port;
    sc->gw_path = t->cfg->gateway.path;
    sc->gw_tls = t->cfg->gateway.tls;
    codec_cfg_default(&sc->codec, u->sdk == CFG_SDK_JS ? CODEC_SDK_JS : CODEC_SDK_GO);
    sc->codec.gzip = t->cfg->gateway.compression == CFG_COMP_GZIP;
    sc->fill_req_token = true;
    sc->frames_in = &t->frames_in;
    sc->frames_out = &t->frames_out;
}

static const sess_hooks tenant_sess_hooks = {
    .on_state = on_sess_state,
    .on_unsolicited = tenant__on_unsolicited,
};

/* Creates the login record and its idle session. */
static tuser *user_add(tenant *t, const cfg_user *cu)
{
    if (t->n_users == t->cap_users) {
        size_t ncap = t->cap_users ? t->cap_users * 2 : 16;
        tuser **nv = realloc(t->users, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        t->users = nv;
        t->cap_users = ncap;
    }
    tuser *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->t = t;
    u->user = strdup(cu->user_id);
    u->platform = cu->platform_id;
    u->sdk = cu->sdk;
    u->record = cu->record == CFG_RECORD_AUTO;
    if (!u->user) {
        free(u);
        return NULL;
    }
    snprintf(u->via, sizeof u->via, "%s:%d", u->user, u->platform);
    sess_cfg sc;
    sess_cfg_of(t, u, &sc);
    u->s = sess_new(t->env.loop, t->env.lws, &sc, &tenant_sess_hooks, u);
    if (!u->s) {
        free(u->user);
        free(u);
        return NULL;
    }
    t->users[t->n_users++] = u;
    t->pace_dirty = true;
    return u;
}

/* Stops and frees one login (its pending requests are cancelled first, so
 * their callbacks still see a live record). */
static void user_free(tuser *u)
{
    tenant *t = u->t;
    for (size_t i = 0; u->thr_paused && i < t->n_thr; i++) {
        if (t->thr[i] == u) {
            t->thr[i] = t->thr[--t->n_thr]; /* order does not matter */
            break;
        }
    }
    tenant__resync_stop(u);
    sess_free(u->s);
    free(u->user);
    if (u->redis_refs) {
        u->gone = true; /* a resync reply still points here (tenant__user_unhold) */
        return;
    }
    free(u);
}

/* Records a kick; true when the login was kicked more than limits.maxKicks
 * times within limits.kickWindow. */
static bool kicked_too_often(tuser *u, uint64_t now)
{
    const cfg_tenant *tc = u->t->cfg;
    unsigned limit = tc->limits.max_kicks < TENANT_KICKS_MAX ? tc->limits.max_kicks : TENANT_KICKS_MAX;
    uint64_t window = tc->limits.kick_window_ms;
    unsigned keep = 0;
    for (unsigned i = 0; i < u->nkicks; i++)
        if (now - u->kicks[i] < window)
            u->kicks[keep++] = u->kicks[i];
    u->nkicks = keep;
    if (u->nkicks < limit + 1)
        u->kicks[u->nkicks++] = now;
    return u->nkicks > limit;
}

/* Re-reads the token source after a token failure; logs without tokens. */
static void tokens_refresh(tenant *t, tuser *u)
{
    char err[256] = "";
    if (tok_store_refresh(t->tokens, u->user, u->platform, err, sizeof err) < 0)
        KK_LOG_WARN(&t->log, "token_reload_failed", KK_S("detail", err));
    else
        tenant__event(t, "token_refreshed", u, NULL, NULL);
}

/* The policy on session state changes (tenant.h). */
static void on_sess_state(void *owner, sess *s, sess_state from, sess_state to, sess_reason why)
{
    tuser *u = owner;
    tenant *t = u->t;
    (void)from;
    if (to == SESS_IDLE || to == SESS_BACKOFF)
        t->pace_dirty = true;
    if (to == SESS_ONLINE) {
        u->token_retried = false;
        u->gen++;
        tenant__event(t, "login", u, NULL, NULL);
        tenant__resync_start(u);
        return;
    }
    if (from == SESS_ONLINE)
        tenant__resync_stop(u);
    if (why != SESS_R_NONE && why < SESS_R_COUNT && t->m_reconnects[why])
        metric_inc(t->m_reconnects[why], 1);
    if (to != SESS_BACKOFF)
        return;
    uint64_t now = uv_now(t->env.loop);
    switch (why) {
    case SESS_R_TOKEN_EXPIRED:
        tenant__event(t, "auth_failed", u, "reason", "token_expired");
        tokens_refresh(t, u);
        return;
    case SESS_R_TOKEN_INVALID:
        tenant__event(t, "auth_failed", u, "reason", "token_invalid");
        if (!u->token_retried) {
            u->token_retried = true;
            tokens_refresh(t, u);
            return;
        }
        break; /* park */
    case SESS_R_NO_USER:
    case SESS_R_BAD_ARGS:
        tenant__event(t, "auth_failed", u, "reason", sess_reason_name(why));
        break; /* park */
    case SESS_R_KICKED:
        tenant__event(t, "kicked", u, NULL, NULL);
        if (!kicked_too_often(u, now))
            return;
        break; /* park */
    default:
        if (from == SESS_ONLINE)
            tenant__event(t, "logout", u, "reason", sess_reason_name(why));
        return;
    }
    sess_stop(s, SESS_PARKED, why);
    tenant__event(t, "parked", u, "reason", sess_reason_name(why));
}

/* Starts due logins within the tenant's login rate (token bucket). A walk
 * over every login that started all it could remembers the earliest retry
 * still ahead, so idle ticks skip the walk until then or until a login
 * becomes due-able (pace_dirty). */
static void pace_logins(tenant *t, uint64_t now)
{
    double rate = t->cfg->limits.logins_per_second > 0 ? t->cfg->limits.logins_per_second : 200;
    double burst = rate < 1 ? 1 : rate;
    t->bucket += rate * (double)(now - t->bucket_ms) / 1000.0;
    if (t->bucket > burst)
        t->bucket = burst;
    t->bucket_ms = now;
    if (!t->pace_dirty && now < t->pace_next_ms)
        return;
    t->pace_dirty = false;
    uint64_t next = UINT64_MAX;
    size_t i = 0;
    for (; i < t->n_users && t->bucket >= 1; i++) {
        tuser *u = t->users[i];
        if (!sess_due(u->s, now)) {
            uint64_t at = sess_retry_at(u->s);
            next = at < next ? at : next;
            continue;
        }
        const kk_secret *tok = NULL;
        int trc = tok_store_want(t->tokens, u->user, u->platform, &tok);
        if (trc == KK_EAGAIN) {
            next = 0;
            continue; /* fetching (tokens.h): ask again next tick */
        }
        if (trc < 0 || !tok) {
            KK_LOG_WARN(&t->log, "no_token", KK_S("user", u->user));
            sess_stop(u->s, SESS_PARKED, SESS_R_TOKEN_INVALID);
            tenant__event(t, "parked", u, "reason", "no_token");
            continue;
        }
        t->bucket -= 1;
        (void)sess_connect(u->s, kk_secret_reveal(tok));
    }
    t->pace_next_ms = i == t->n_users ? next : 0;
}

/* Counts messages against limits.maxMsgsPerSec. While the budget is spent,
 * a login that delivers stops reading: only logins that have traffic are
 * touched, however many idle ones the tenant has (tenant_int.h). */
void tenant__ingested(tuser *u, size_t n)
{
    tenant *t = u->t;
    (void)ingest_take(&t->in, n, uv_now(t->env.loop));
    if (!t->in.throttled || u->thr_paused)
        return;
    if (t->n_thr == t->cap_thr) {
        size_t cap = t->cap_thr ? 2 * t->cap_thr : 16;
        tuser **v = realloc(t->thr, cap * sizeof *v);
        if (!v)
            return; /* reads on; the debt still holds the rate */
        t->thr = v;
        t->cap_thr = cap;
    }
    t->thr[t->n_thr++] = u;
    u->thr_paused = true;
    sess_pause_rx(u->s, true);
}

/* The budget refilled: the logins it stopped read again (unless the
 * tenant's backpressure holds them). */
static void throttle_release(tenant *t)
{
    for (size_t i = 0; i < t->n_thr; i++) {
        t->thr[i]->thr_paused = false;
        sess_pause_rx(t->thr[i]->s, t->paused);
    }
    t->n_thr = 0;
}

/* Pauses or resumes reading on every login (backpressure). */
static void backpressure(tenant *t)
{
    size_t bytes = csync_buffered_bytes(t->cs);
    size_t inflight = rsink_inflight(t->rs);
    bool pause = t->paused;
    if (!t->paused && (bytes > TENANT_BP_HIGH_BYTES || inflight > TENANT_BP_HIGH_INFLIGHT ||
                       !rconn_is_up(t->env.redis)))
        pause = true;
    else if (t->paused && bytes < TENANT_BP_LOW_BYTES && inflight < TENANT_BP_LOW_INFLIGHT &&
             rconn_is_up(t->env.redis))
        pause = false;
    if (pause == t->paused)
        return;
    t->paused = pause;
    KK_LOG_INFO(&t->log, pause ? "backpressure_on" : "backpressure_off", KK_U("bufferedBytes", bytes),
                KK_U("inflight", inflight));
    for (size_t i = 0; i < t->n_users; i++)
        sess_pause_rx(t->users[i]->s, pause || t->users[i]->thr_paused);
}

/* The tenant's timer: pacing, hole work, then 1 Hz heartbeats and resyncs. */
static void on_tick(uv_timer_t *h)
{
    tenant *t = h->data;
    uint64_t now = uv_now(t->env.loop);
    pace_logins(t, now);
    if (ingest_refill(&t->in, now))
        throttle_release(t);
    csync_tick(t->cs, now);
    backpressure(t);
    if (now - t->last_sec_ms < 1000)
        return;
    t->last_sec_ms = now;
    for (size_t i = 0; i < t->n_users; i++) {
        tuser *u = t->users[i];
        sess_tick(u->s, now);
        /* Periodic resync catches a lost last push, which no later push
         * would reveal as a hole. */
        if (sess_get_state(u->s) == SESS_ONLINE && !u->resyncing && now >= u->next_resync_ms)
            tenant__resync_start(u);
    }
}

/* Registers the tenant's metric series. */
static void metrics_init(tenant *t)
{
    metrics *m = t->env.metrics;
    if (!m)
        return;
    metric *rc = metrics_counter(m, "kkim_reconnects_total", "Session endings by reason.",
                                 (const char *[]){ "tenant", "reason", NULL });
    for (int r = 1; r < SESS_R_COUNT; r++)
        t->m_reconnects[r] = metric_series_get(rc, (const char *[]){ t->id, sess_reason_name(r) });
    t->m_pulls = metric_series_get(
        metrics_counter(m, "kkim_pulls_total", "Pull requests (1002) sent: resync pages and holes.",
                        (const char *[]){ "tenant", NULL }),
        (const char *[]){ t->id });
    t->m_resyncs = metric_series_get(
        metrics_counter(m, "kkim_resyncs_total", "Resyncs started (after connects and periodic).",
                        (const char *[]){ "tenant", NULL }),
        (const char *[]){ t->id });
}

/* The outbox's lookup of a sender's login: none without its lease (the
 * fencing check before a send, docs/scaling.md). */
static sess *outbox_session_of(void *ud, const char *user)
{
    return tenant__holds(ud, user) ? tenant_session_of(ud, user) : NULL;
}

/* Creates the tenant's outbox on its Redis server (outbox.h). */
static int outbox_start(tenant *t, char *err, size_t errlen)
{
    outbox_cfg oc = {
        .loop = t->env.loop,
        .redis = t->env.redis,
        .url = rconn_url(t->env.redis),
        .tenant = t->id,
        .consumer = t->env.instance_id && t->env.instance_id[0] ? t->env.instance_id : "relay",
        .sends_per_second = t->cfg->limits.sends_per_second,
        .results_maxlen = t->cfg->streams.maxlen,
        .metrics = t->env.metrics,
        .session_of = outbox_session_of,
        .route = t->env.leases ? tenant__outbox_route : NULL,
        .ud = t,
    };
    t->ob = outbox_new(&oc);
    if (!t->ob) {
        snprintf(err, errlen, "cannot create the outbox");
        return KK_ENOMEM;
    }
    return 0;
}

/* State of the tenant's own Redis connection (tenant isolation). */
static void on_own_redis_state(void *ud, bool up, const char *reason)
{
    tenant *t = ud;
    if (up)
        KK_LOG_INFO(&t->log, "tenant_redis_up");
    else
        KK_LOG_WARN(&t->log, "tenant_redis_down", KK_S("reason", reason ? reason : ""));
}

/* Opens the tenant's own Redis connection (its "redis" key: own URL and
 * ACL user); the sink, tokens, outbox and run-time users use it. */
static int own_redis_start(tenant *t, char *err, size_t errlen)
{
    rconn_opts o = { .url = &t->cfg->redis.url, .name = t->cfg->id };
    int rc = rconn_new(t->env.loop, &o, on_own_redis_state, t, &t->own_redis);
    if (rc == 0)
        rc = rconn_start(t->own_redis);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create the tenant's Redis connection");
        return rc;
    }
    t->env.redis = t->own_redis;
    return 0;
}

/* users.h hook: a member was added to kkim:{T}:users. */
static void on_rt_add(void *ud, const char *user)
{
    (void)tenant_user_add(ud, user);
}

/* users.h hook: a member was removed from kkim:{T}:users. */
static void on_rt_remove(void *ud, const char *user)
{
    (void)tenant_user_remove(ud, user);
}

/* Starts polling kkim:{T}:users (a failure only loses run-time users). */
static void runtime_users_start(tenant *t)
{
    static const users_hooks h = { .add = on_rt_add, .remove = on_rt_remove };
    char key[160];
    snprintf(key, sizeof key, "kkim:{%s}:users", t->id);
    t->rt = users_new(t->env.loop, t->env.redis, key, &h, t);
    if (!t->rt)
        KK_LOG_ERROR(&t->log, "runtime_users_failed");
}

/* Creates the tenant and its logins; they connect from the first tick. */
tenant *tenant_new(const tenant_env *env, const cfg_tenant *tc, char *err, size_t errlen)
{
    tenant *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->env = *env;
    t->cfg = tc;
    t->id = strdup(tc->id);
    t->log.mod = "tenant";
    t->log.tenant = t->id;
    t->resync_interval_ms = tc->resync_interval_ms ? tc->resync_interval_ms : 60000;
    snprintf(t->synced_key, sizeof t->synced_key, "kkim:{%s}:synced", tc->id);
    if (tc->redis.set && own_redis_start(t, err, errlen) < 0) {
        tenant_free(t);
        return NULL;
    }
    t->tokens = tok_store_open(tc, env->loop, t->env.redis, err, errlen);
    if (t->tokens && err[0]) {
        KK_LOG_ERROR(&t->log, "token_source_failed", KK_S("detail", err));
        err[0] = '\0';
    }
    rsink_cfg rcfg = { .maxlen = tc->streams.maxlen, .retention_ms = tc->streams.retention_ms,
                       .partitions = (unsigned)tc->streams.partitions };
    t->rs = t->id ? rsink_new(t->env.redis, t->id, &rcfg) : NULL;
    csync_ops ops;
    rsink_csync_ops(&ops, tenant__csync_pull);
    t->cs = t->rs ? csync_new(&ops, t->rs, NULL) : NULL;
    if (!t->id || !t->tokens || !t->rs || !t->cs) {
        if (!err[0])
            snprintf(err, errlen, "cannot create tenant (out of memory?)");
        tenant_free(t);
        return NULL;
    }
    rsink_attach_csync(t->rs, t->cs, env->loop, t);
    metrics_init(t);
    if (outbox_start(t, err, errlen) < 0) {
        tenant_free(t);
        return NULL;
    }
    if (env->media) {
        calls_env ce = { .loop = env->loop, .pool = env->media, .rs = t->rs, .tenant = t->id,
                         .session_of = outbox_session_of, .ud = t };
        t->calls = calls_new(&ce);
    }
    if (env->leases && tenant__lease_start(t) < 0) {
        snprintf(err, errlen, "cannot create the tenant's leases");
        tenant_free(t);
        return NULL;
    }
    for (size_t i = 0; i < tc->n_users; i++) {
        if (!tenant__holds(t, tc->users[i].user_id))
            continue; /* another instance's static shard or lease */
        if (tc->limits.max_logins && t->n_users >= tc->limits.max_logins) {
            KK_LOG_WARN(&t->log, "max_logins", KK_U("maxLogins", tc->limits.max_logins),
                        KK_U("users", tc->n_users));
            break;
        }
        if (!user_add(t, &tc->users[i])) {
            snprintf(err, errlen, "cannot create session for user %zu", i);
            tenant_free(t);
            return NULL;
        }
    }
    uv_timer_init(env->loop, &t->timer);
    t->timer.data = t;
    t->bucket_ms = uv_now(env->loop);
    t->bucket = 1;
    ingest_init(&t->in, tc->limits.max_msgs_per_sec, t->bucket_ms);
    uv_timer_start(&t->timer, on_tick, 0, TENANT_TICK_MS);
    runtime_users_start(t);
    KK_LOG_INFO(&t->log, "tenant_started", KK_U("users", t->n_users));
    return t;
}

/* Frees the tenant's memory once its timer handle has closed. */
static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Stops the logins and frees everything; see tenant.h. */
void tenant_free(tenant *t)
{
    if (!t)
        return;
    lease_free(t->lease); /* its hooks must not run on a half-freed tenant */
    calls_free(t->calls); /* before the logins: they cancel its requests */
    users_free(t->rt);
    for (size_t i = 0; i < t->n_users; i++)
        user_free(t->users[i]);
    free(t->users);
    free(t->thr);
    outbox_free(t->ob); /* after the logins: their requests are cancelled */
    if (t->rs)
        rsink_attach_csync(t->rs, NULL, NULL, NULL); /* appends still in flight end here */
    csync_free(t->cs);
    rsink_free(t->rs);
    tok_store_free(t->tokens);
    if (t->own_redis)
        rconn_close(t->own_redis, NULL, NULL); /* after every user of it */
    free(t->id);
    if (uv_is_active((uv_handle_t *)&t->timer) || t->bucket_ms) {
        uv_timer_stop(&t->timer);
        uv_close((uv_handle_t *)&t->timer, on_timer_closed);
        return;
    }
    free(t);
}

/* Applies a reloaded tenant config: added users start, removed ones stop. */
int tenant_reload(tenant *t, const cfg_tenant *tc)
{
    char err[256] = "";
    t->cfg = tc;
    if (ingest_set_rate(&t->in, tc->limits.max_msgs_per_sec, uv_now(t->env.loop)))
        throttle_release(t);
    if (tok_store_reload(t->tokens, err, sizeof err) < 0)
        KK_LOG_WARN(&t->log, "token_reload_failed", KK_S("detail", err));
    size_t keep = 0;
    for (size_t i = 0; i < t->n_users; i++) {
        tuser *u = t->users[i];
        bool found = u->dynamic; /* run-time users leave by SREM only */
        for (size_t j = 0; j < tc->n_users && !found; j++) {
            found = strcmp(tc->users[j].user_id, u->user) == 0 && tc->users[j].platform_id == u->platform;
            if (found) /* the recording policy may change without a new login */
                u->record = tc->users[j].record == CFG_RECORD_AUTO;
        }
        if (found) {
            t->users[keep++] = u;
            /* a parked login gets another chance after a reload */
            if (sess_get_state(u->s) == SESS_PARKED)
                sess_stop(u->s, SESS_IDLE, SESS_R_STOPPED);
        } else {
            KK_LOG_INFO(&t->log, "user_removed", KK_S("user", u->user));
            user_free(u);
        }
    }
    t->n_users = keep;
    for (size_t j = 0; j < tc->n_users; j++) {
        bool found = false;
        for (size_t i = 0; i < t->n_users && !found; i++)
            found = strcmp(tc->users[j].user_id, t->users[i]->user) == 0 &&
                    tc->users[j].platform_id == t->users[i]->platform;
        if (!found && tenant__holds(t, tc->users[j].user_id)) {
            KK_LOG_INFO(&t->log, "user_added", KK_S("user", tc->users[j].user_id));
            if (!user_add(t, &tc->users[j]))
                return KK_ENOMEM;
        }
    }
    return 0;
}

/* Fraction of logins online. */
double tenant_online_ratio(const tenant *t)
{
    if (t->n_users == 0)
        return 1.0;
    size_t on = 0;
    for (size_t i = 0; i < t->n_users; i++)
        on += sess_get_state(t->users[i]->s) == SESS_ONLINE;
    return (double)on / (double)t->n_users;
}

/* Raises a counter series to v (stats are monotonic; metrics counters only
 * grow by increments). */
static void counter_to(metric_series *s, double v)
{
    double cur = s ? metric_value(s) : 0;
    if (s && v > cur)
        metric_inc(s, v - cur);
}

/* Looks up (registering on first use) a series with labels tenant [,x]. */
static metric_series *series(metrics *reg, bool counter, const char *name, const char *help,
                             const char *tenant_id_, const char *label2, const char *value2)
{
    const char *const names2[] = { "tenant", label2, NULL };
    const char *const names1[] = { "tenant", NULL };
    const char *const *names = label2 ? names2 : names1;
    metric *m = counter ? metrics_counter(reg, name, help, names) : metrics_gauge(reg, name, help, names);
    return metric_series_get(m, (const char *[]){ tenant_id_, value2 });
}

/* Publishes the tenant's counters and gauges (called at each /metrics). */
void tenant_metrics_collect(const tenant *t, metrics *reg)
{
    size_t by_state[SESS_STATE_COUNT] = { 0 };
    for (size_t i = 0; i < t->n_users; i++)
        by_state[sess_get_state(t->users[i]->s)]++;
    for (int st = 0; st < SESS_STATE_COUNT; st++)
        metric_set(series(reg, false, "kkim_sessions", "Logins by state.", t->id, "state",
                          sess_state_name(st)),
                   (double)by_state[st]);
    counter_to(series(reg, true, "kkim_frames_total", "WebSocket messages by direction.", t->id,
                      "dir", "in"),
               t->frames_in);
    counter_to(series(reg, true, "kkim_frames_total", "WebSocket messages by direction.", t->id,
                      "dir", "out"),
               t->frames_out);
    csync_stats cs;
    rsink_stats rs;
    csync_get_stats(t->cs, &cs);
    rsink_get_stats(t->rs, &rs);
    counter_to(series(reg, true, "kkim_messages_appended_total", "Stream entries written.", t->id,
                      NULL, NULL),
               rs.appended);
    counter_to(series(reg, true, "kkim_duplicates_dropped_total",
                      "Messages dropped as duplicates (in the relay or by the append script).",
                      t->id, NULL, NULL),
               cs.dups + rs.dups);
    counter_to(series(reg, true, "kkim_holes_total", "Seq holes detected.", t->id, NULL, NULL),
               cs.holes);
    counter_to(series(reg, true, "kkim_holes_pulled_total", "Pulls of seq holes.", t->id, NULL, NULL),
               cs.holes_pulled);
    counter_to(series(reg, true, "kkim_holes_filled_total", "Holes closed by later messages.",
                      t->id, NULL, NULL),
               cs.holes_filled);
    counter_to(series(reg, true, "kkim_gaps_total", "Holes given up (gap events).", t->id, NULL,
                      NULL),
               cs.gaps);
    metric_set(series(reg, false, "kkim_buffered_bytes", "Bytes of messages waiting for order.",
                      t->id, NULL, NULL),
               (double)cs.buffered_bytes);
    metric_set(series(reg, false, "kkim_redis_inflight", "Sink calls waiting for Redis.", t->id,
                      NULL, NULL),
               (double)rsink_inflight(t->rs));
    metric_set(series(reg, false, "kkim_backpressure", "1 while logins stop reading.", t->id,
                      NULL, NULL),
               t->paused ? 1 : 0);
    uint64_t now = uv_now(t->env.loop);
    metric_set(series(reg, false, "kkim_throttled", "1 while logins stop reading: limits.maxMsgsPerSec spent.",
                      t->id, NULL, NULL),
               t->in.throttled ? 1 : 0);
    counter_to(series(reg, true, "kkim_throttled_seconds_total",
                      "Time logins stopped reading for limits.maxMsgsPerSec.", t->id, NULL, NULL),
               (double)ingest_throttled_ms(&t->in, now) / 1000.0);
    counter_to(series(reg, true, "kkim_messages_ingested_total",
                      "Messages taken in from the gateway (pushes and pulls), counted by limits.maxMsgsPerSec.",
                      t->id, NULL, NULL),
               (double)t->in.msgs);
}

/* Appends the tenant's sessions as JSON objects (see tenant.h). */
int tenant_sessions_json(const tenant *t, const char *state, kk_buf *out, bool *first)
{
    uint64_t now = uv_now(t->env.loop);
    for (size_t i = 0; i < t->n_users; i++) {
        const tuser *u = t->users[i];
        const char *st = sess_state_name(sess_get_state(u->s));
        if (state && state[0] && strcmp(state, st) != 0)
            continue;
        char line[1024];
        size_t pos = 0;
        line[pos++] = *first ? ' ' : ',';
        int n = snprintf(line + pos, sizeof line - pos, "{\"tenant\":");
        pos += (size_t)n;
        if (!kk_json_put_str(line, sizeof line, &pos, t->id, strlen(t->id)))
            return KK_ETOOBIG;
        n = snprintf(line + pos, sizeof line - pos, ",\"user\":");
        pos += (size_t)n;
        if (!kk_json_put_str(line, sizeof line, &pos, u->user, strlen(u->user)))
            return KK_ETOOBIG;
        n = snprintf(line + pos, sizeof line - pos,
                     ",\"platformID\":%d,\"state\":\"%s\",\"onlineMs\":%llu,\"pending\":%u}",
                     u->platform, st, (unsigned long long)sess_online_ms(u->s, now),
                     sess_pending(u->s));
        if (n < 0 || (size_t)n >= sizeof line - pos)
            return KK_ETOOBIG;
        pos += (size_t)n;
        int rc = kk_buf_append(out, line + (*first ? 1 : 0), pos - (*first ? 1 : 0));
        if (rc < 0)
            return rc;
        *first = false;
    }
    return 0;
}

/* The first login of user, or NULL (tenant.h). */
sess *tenant_session_of(tenant *t, const char *user)
{
    for (size_t i = 0; i < t->n_users; i++)
        if (strcmp(t->users[i]->user, user) == 0)
            return t->users[i]->s;
    return NULL;
}

/* Restarts every login of user (tenant.h). */
int tenant_reconnect(tenant *t, const char *user)
{
    int n = 0;
    for (size_t i = 0; i < t->n_users; i++) {
        tuser *u = t->users[i];
        if (strcmp(u->user, user) != 0)
            continue;
        u->token_retried = false;
        u->nkicks = 0;
        sess_stop(u->s, SESS_IDLE, SESS_R_STOPPED);
        n++;
    }
    return n;
}

/* Fills the counters of GET /v1/tenants (tenant.h). */
void tenant_counters_get(const tenant *t, tenant_counters *c)
{
    memset(c, 0, sizeof *c);
    c->users = t->n_users;
    for (size_t i = 0; i < t->n_users; i++) {
        sess_state st = sess_get_state(t->users[i]->s);
        if (st < SESS_STATE_COUNT)
            c->sessions[st]++;
    }
    csync_get_stats(t->cs, &c->cs);
    rsink_get_stats(t->rs, &c->rs);
    if (t->ob)
        outbox_get_stats(t->ob, &c->ob);
}

/* Starts a run-time login of user (tenant.h). */
int tenant_user_add(tenant *t, const char *user)
{
    if (!tenant__holds(t, user))
        return 0; /* another instance's static shard or lease logs it in */
    for (size_t i = 0; i < t->n_users; i++)
        if (strcmp(t->users[i]->user, user) == 0)
            return 0;
    if (t->cfg->limits.max_logins && t->n_users >= t->cfg->limits.max_logins) {
        KK_LOG_WARN(&t->log, "max_logins", KK_S("user", user),
                    KK_U("maxLogins", t->cfg->limits.max_logins));
        return KK_ETOOBIG;
    }
    cfg_user cu = { .user_id = (char *)user, .platform_id = t->cfg->gateway.platform_id,
                    .sdk = t->cfg->gateway.sdk, .record = CFG_RECORD_OFF };
    tuser *u = user_add(t, &cu);
    if (!u)
        return KK_ENOMEM;
    u->dynamic = true;
    if (t->paused)
        sess_pause_rx(u->s, true);
    KK_LOG_INFO(&t->log, "user_added", KK_S("user", user), KK_S("from", "redis"));
    return 1;
}

/* Stops the run-time login of user (tenant.h). */
int tenant_user_remove(tenant *t, const char *user)
{
    for (size_t i = 0; i < t->n_users; i++) {
        tuser *u = t->users[i];
        if (!u->dynamic || strcmp(u->user, user) != 0)
            continue;
        KK_LOG_INFO(&t->log, "user_removed", KK_S("user", user), KK_S("from", "redis"));
        tenant__event(t, "logout", u, "reason", "removed");
        memmove(&t->users[i], &t->users[i + 1], (t->n_users - i - 1) * sizeof *t->users);
        t->n_users--;
        user_free(u);
        return 1;
    }
    return 0;
}

/* user_add for tenant_lease.c (tenant_int.h). */
tuser *tenant__user_add(tenant *t, const cfg_user *cu)
{
    return user_add(t, cu);
}

/* user_free for tenant_lease.c (tenant_int.h). */
void tenant__user_free(tuser *u)
{
    user_free(u);
}
