/* lease_int.h — private to the lease module (lease.c: per-tenant rounds;
 * lease_reg.c: the instance registry and drain). */
#ifndef KK_LEASE_INT_H
#define KK_LEASE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "rconn.h"

/* Deadlines are checked at this period: a lost lease is parked at most
 * this long after its deadline, still well before the key expires. */
#define LEASE_CHECK_MS 100u
/* Longest lease value: "<instance>:<epoch>". */
#define LEASE_VAL_MAX (LEASE_INSTANCE_MAX + 24)

/* One shard as this instance sees it. */
typedef struct lshard {
    bool held;
    uint64_t deadline;         /* loop ms; meaningful while held */
    uint64_t cool_until;       /* loop ms: not claimed again before (just dropped) */
    char mine[LEASE_VAL_MAX];  /* our value while held */
    char owner[LEASE_VAL_MAX]; /* holder per the last view ("" = free) */
} lshard;

struct lease_reg {
    uv_loop_t *loop;
    rconn *global;
    char id[LEASE_INSTANCE_MAX];
    uint32_t shards;
    uint64_t ttl_ms;
    unsigned live;
    uint64_t seed;
    uv_timer_t hb;
    bool hb_busy, draining, closing;
    unsigned heartbeats; /* answered; rounds start after the second (live_known) */
    bool live_known;     /* instances started together have seen each other */
    unsigned refs; /* timer + commands in flight */
    lease **leases;
    size_t n;
    void (*drain_done)(void *ud);
    void *drain_ud;
    unsigned drain_pending;
    kk_log_ctx log;
    metrics *metrics;
    metric_series *m_rtt;
};

struct lease {
    lease_reg *reg;
    rconn *redis;
    char *tenant;
    lease_hooks hooks;
    void *ud;
    uint32_t S;
    char **keys;      /* S lease keys */
    char epoch_key[160];
    lshard *sh;
    uint8_t *delta;
    uv_timer_t timer;
    uint64_t next_round_ms;
    bool busy, closing;
    unsigned refs;    /* timer + commands in flight */
    lease_stats st;
    kk_log_ctx log;
    metric_series *m_claims, *m_losses, *m_held;
};

/* A command in flight: its owner and when it was sent. */
typedef struct lcmd {
    lease *l;
    uint64_t t0;
    uint32_t n;
    bool drain;     /* a drain's release: counted down in the registry */
    uint32_t idx[]; /* shards concerned (claims) */
} lcmd;

/* lease.c */
int lease__eval(rconn *rc, const char *script, uint32_t nkeys, char *const *keys, uint32_t nargs,
                char *const *args, rconn_reply_fn cb, void *ud);
void lease__report(lease *l);
void lease__drop(lease *l, uint32_t i, bool lost);
bool lease__release(lease *l, uint32_t n, char **keys, char **vals, bool drain);
/* lease_reg.c */
void lease__reg_drain_step(lease_reg *r);

#endif
