/* tenant_int.h — private to the tenant module (tenant.c, tenant_sync.c). */
#ifndef KK_TENANT_INT_H
#define KK_TENANT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "convsync.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "rsink.h"
#include "sess.h"
#include "tenant.h"
#include "tokens.h"

/* Kicks remembered per login: more than limits.maxKicks (at most this)
 * within limits.kickWindow park the login (never fight another login). */
#define TENANT_KICKS_MAX 32
/* Pull requests in flight per login during resync: the gateway answers a
 * connection's requests one after another (NOTES §2.1), so a few in flight
 * hide the round trip without hogging the connection. */
#define TENANT_PULLS_INFLIGHT 4
/* Hole pulls one login may have unanswered, one per conversation. */
#define TENANT_HOLES_INFLIGHT 16
/* Seqs per pull page (NOTES §5.3: pages of at most 100). */
#define TENANT_PULL_PAGE 100
/* Backpressure: sessions stop reading above the high marks and resume
 * below the low ones (design §3: backpressure instead of buffering). */
#define TENANT_BP_HIGH_BYTES (48u * 1024 * 1024)
#define TENANT_BP_LOW_BYTES (16u * 1024 * 1024)
#define TENANT_BP_HIGH_INFLIGHT 2048
#define TENANT_BP_LOW_INFLIGHT 512

/* One range still to pull for a login's resync. */
typedef struct tpull {
    struct tpull *next;
    uint64_t from, to;
    char conv[];
} tpull;

/* One configured login. */
typedef struct tuser {
    struct tenant *t;
    char *user;
    int platform;
    enum cfg_sdk sdk;
    char via[200]; /* "user:platform", the `via` of archived messages */
    sess *s;
    bool removed;
    bool dynamic;        /* from kkim:{T}:users (users.h), not the config */
    bool record;         /* "record": "auto": pushes go to calls.h too */
    bool token_retried;  /* token invalid: re-read once, then park */
    bool synced;         /* kkim:{T}:synced has this user: resyncs fill from 1 */
    bool synced_known;   /* synced was read from Redis in this process */
    bool thr_paused;     /* reads stopped by the ingest budget (in tenant.thr) */
    uint64_t kicks[TENANT_KICKS_MAX + 1];
    unsigned nkicks;
    unsigned gen;        /* connection generation: stale replies are ignored */
    bool resyncing;
    uint64_t next_resync_ms;
    tpull *pulls, *pulls_tail;
    unsigned pulls_inflight;
    char *holes[TENANT_HOLES_INFLIGHT]; /* conversations of unanswered hole pulls */
    unsigned n_holes;
    unsigned redis_refs; /* resync Redis replies in flight that point here */
    bool gone;           /* freed while redis_refs > 0: the last reply frees it */
} tuser;

struct tenant {
    tenant_env env;
    const cfg_tenant *cfg;
    char *id;
    kk_log_ctx log;
    tok_store *tokens;
    csync *cs;
    rsink *rs;
    struct outbox *ob;    /* send as users (outbox.h) */
    struct rconn *own_redis; /* the tenant's own "redis" (isolation), else NULL */
    struct users *rt;     /* run-time users from kkim:{T}:users (users.h) */
    struct calls *calls;  /* recorded calls (calls.h), NULL without a media pool */
    struct lease *lease;  /* dynamic sharding (lease.h), NULL when off */
    tuser **users;
    size_t n_users, cap_users;
    uv_timer_t timer;
    bool timer_closed;
    uint64_t last_sec_ms;
    double bucket;
    uint64_t bucket_ms;
    uint64_t pace_next_ms; /* pace_logins: no login is due before this */
    bool pace_dirty;       /* a login may have become due since the last walk */
    bool paused;
    ingest in;            /* limits.maxMsgsPerSec (ingest.h) */
    tuser **thr;          /* logins stopped by the spent budget, resumed at refill */
    size_t n_thr, cap_thr;
    uint64_t resync_interval_ms;
    char synced_key[160]; /* kkim:{T}:synced */
    /* metrics */
    uint64_t frames_in, frames_out; /* all logins, incremented by sess */
    metric_series *m_reconnects[SESS_R_COUNT];
    metric_series *m_pulls;
    metric_series *m_resyncs;
};

/* tenant.c: a login record and its session, created / freed */
tuser *tenant__user_add(struct tenant *t, const cfg_user *cu);
void tenant__user_free(tuser *u);

/* tenant_lease.c */
bool tenant__holds(const struct tenant *t, const char *user);
int tenant__lease_start(struct tenant *t);
int tenant__outbox_route(void *ud, const char *user, char *holder, size_t cap);

/* tenant_sync.c */
bool tenant__user_unhold(tuser *u);
void tenant__resync_start(tuser *u);
void tenant__resync_stop(tuser *u);
void tenant__on_unsolicited(void *owner, sess *s, int32_t req_identifier, kk_view data);
int tenant__csync_pull(void *ud, const char *conv, uint64_t from, uint64_t to, const char *via);
tuser *tenant__find_via(const struct tenant *t, const char *via);
void tenant__event(struct tenant *t, const char *type, const tuser *u, const char *k, const char *v);
/* tenant.c: login u took in n messages (the ingest budget) */
void tenant__ingested(tuser *u, size_t n);

#endif
