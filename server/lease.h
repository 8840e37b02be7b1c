/* lease.h — dynamic sharding of a tenant's users across instances with
 * Redis leases (design §6; docs/scaling.md has the argument).
 *
 * Two objects:
 *  - lease_reg, one per process: this instance's ID (instance.id, pid and
 *    random bits, so a restart is a new instance) and its heartbeat in the
 *    global sorted set kkim:instances (member = ID, score = expiry in Redis
 *    TIME ms; stale members are pruned by every heartbeat). It counts live
 *    instances, which sets each instance's share.
 *  - lease, one per tenant, on the tenant's Redis connection: its users are
 *    hashed into S shards (shard_of in shard.h). Every ttl/3 one script
 *    renews each held lease (compare-and-PEXPIRE) and returns the holder of
 *    every shard; then the lease claims free shards up to ceil(S / live)
 *    (one script: INCR kkim:{T}:lease:epoch, SET NX PX, so each claim gets a
 *    fencing epoch and the value is "<instance>:<epoch>") and releases the
 *    extras (hooks.changed first parks their sessions, then
 *    compare-and-DEL).
 *
 * Safety: a held lease has a deadline = the send time of its last
 * confirmed renewal (or claim) + ttl - margin (ttl/4). When a renewal
 * fails, or is not confirmed before the deadline, the lease is LOST at the
 * deadline: hooks.changed parks its sessions at once, before the key can
 * expire in Redis, so no other instance logs a user in while we still do.
 * Redis down therefore parks every session after at most ttl - margin.
 *
 * Thread: loop thread only. Lifetime: lease_reg_new → lease_new per tenant
 * → lease_free (any time; memory goes once its Redis replies are in) →
 * lease_reg_free after every lease of it.
 */
#ifndef KK_LEASE_H
#define KK_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "shard.h"

struct rconn;
struct metrics;

/* Renewals per TTL: renew at ttl/3, so two may fail before the deadline. */
#define LEASE_RENEWS_PER_TTL 3u
/* The deadline margin is ttl / LEASE_MARGIN_DIV before the key expires. */
#define LEASE_MARGIN_DIV 4u
/* Longest instance ID (instance.id + "-pid-random"). */
#define LEASE_INSTANCE_MAX 160

typedef struct lease_reg lease_reg;
typedef struct lease lease;

/* What changed in one pass, per shard: gained, lost or unchanged (0). */
enum lease_delta { LEASE_SAME = 0, LEASE_GAINED = 1, LEASE_LOST = 2 };

typedef struct lease_hooks {
    /* delta[0..shards): LEASE_GAINED / LEASE_LOST / LEASE_SAME. Called when
     * at least one shard changed. Lost shards' sessions must be closed
     * before it returns (their leases may be released right after). */
    void (*changed)(void *ud, const uint8_t *delta, uint32_t shards);
} lease_hooks;

/* Per-tenant totals (metrics, /v1/tenants). */
typedef struct lease_stats {
    uint32_t held;       /* shards held now */
    uint32_t target;     /* ceil(S / live instances) */
    uint32_t live;       /* live instances at the last round */
    uint64_t claims;     /* shards claimed */
    uint64_t losses;     /* shards lost (renewal refused or deadline passed) */
    uint64_t releases;   /* shards given back (rebalance, drain) */
} lease_stats;

/* Creates the registry and starts the heartbeat on global (borrowed; must
 * outlive the registry). base_id: instance.id; the instance ID becomes
 * "<base_id>-<pid>-<8 hex>". shards 1..SHARD_COUNT_MAX, ttl_ms >= 300.
 * metrics may be NULL. Returns NULL on bad arguments or ENOMEM. */
lease_reg *lease_reg_new(uv_loop_t *loop, struct rconn *global, const char *base_id,
                         uint32_t shards, uint64_t ttl_ms, struct metrics *metrics);
/* Stops the heartbeat (ZREM of our member is sent). Every lease of the
 * registry must be freed first. NULL is a no-op. */
void lease_reg_free(lease_reg *r);
/* This instance's ID (the outbox consumer name and lease value prefix). */
const char *lease_reg_instance(const lease_reg *r);
/* Drain: every lease parks its sessions (hooks.changed with all LOST) and
 * releases its shards; done(ud) runs from a loop timer once every release
 * is answered or failed. Heartbeats and new claims stop for good. */
void lease_reg_drain(lease_reg *r, void (*done)(void *ud), void *ud);

/* Creates tenant's lease set on redis (the tenant's connection; borrowed)
 * and starts its rounds. Returns NULL on ENOMEM. */
lease *lease_new(lease_reg *r, struct rconn *redis, const char *tenant, const lease_hooks *h,
                 void *ud);
/* Stops; hooks are never called again. Held leases are NOT released here
 * (lease_reg_drain does that); they expire. NULL is a no-op. */
void lease_free(lease *l);

/* Number of shards S. */
uint32_t lease_shards(const lease *l);
/* True when this instance holds user's shard and its deadline has not
 * passed: the fencing check before acting as user (outbox sends). */
bool lease_holds_user(const lease *l, const char *user);
/* The instance holding user's shard per the last round (not us), copied
 * into out; false when nobody holds it or we do. */
bool lease_holder_of(const lease *l, const char *user, char *out, size_t cap);
/* Copies the totals. */
void lease_get_stats(const lease *l, lease_stats *st);
/* Room for every shard number in a JSON array ("4095," is 5 bytes). */
#define LEASE_HELD_JSON_MAX (SHARD_COUNT_MAX * 5 + 8)
/* Writes the held shards as a JSON array of numbers into buf (at most cap
 * bytes, NUL-terminated); returns false when it does not fit. */
bool lease_held_json(const lease *l, char *buf, size_t cap);

#endif
