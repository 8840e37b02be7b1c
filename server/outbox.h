/* outbox.h — send as users: one tenant's outbox (design §5 "Outbox entry"
 * and "Result entry", a public contract; issue 5 item 1).
 *
 * Services XADD entries to kkim:{T}:outbox. The outbox reads them in the
 * consumer group "kkim-relay" (XGROUP CREATE ... 0 MKSTREAM at start) as
 * consumer cfg.consumer (the instance ID, stable across restarts), with a
 * blocking XREADGROUP on a DEDICATED Redis connection (a blocked command
 * would stall the tenant's shared connection), and sends each entry as its
 * sendID through that user's login with 1003 (NOTES §3.6 relay rules).
 * Every entry gets exactly one result in kkim:{T}:results:
 *
 *   outboxID clientMsgID status errCode errMsg serverMsgID seq sendTime
 *
 *   sent      the gateway accepted it (seq 0 = the gateway did not say)
 *   rejected  the gateway refused it (errCode 1003, 1004, 1101, 1102, ...)
 *             or the entry is malformed (errCode 0, errMsg gives the reason:
 *             missing sendID, unknown sendID, bad sessionType, bad
 *             contentType, missing recvID/groupID, bad options, oversize)
 *   failed    the sender was not online within cfg.offline_deadline_ms
 *
 * Exactly once: the result XADD, the entry ID's mark in the sorted set
 * kkim:{T}:outbox:done and the XACK run in ONE Lua script, which writes
 * nothing but the XACK when the mark exists. So a crash can never produce
 * two results, and a redelivered entry that already has one is only acked.
 * A send whose fate is unknown (connection lost or request timed out, or an
 * entry found pending after a restart or claimed from a dead consumer) is
 * settled by pulling the conversation (1002, newest pages first) and looking
 * for its clientMsgID: found → `sent`; not found → sent again with the SAME
 * clientMsgID (kkr_<entryID> unless the entry gives one). Never twice.
 * Pending entries of consumers idle longer than cfg.claim_min_idle_ms are
 * claimed with XAUTOCLAIM; entries this consumer holds are refreshed
 * (XCLAIM ... JUSTID) every few seconds so a live consumer is never robbed.
 * docs/outbox.md has the full argument and its limits.
 *
 * Never does: logins, tokens, ordering of received messages.
 * Thread: loop thread only. Ownership: outbox_free may be called at any
 * time; memory is released once every Redis command and gateway request in
 * flight has completed (sessions cancel theirs when freed).
 */
#ifndef KK_OUTBOX_H
#define KK_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "rurl.h"

struct rconn;
struct sess;
struct metrics;
typedef struct uv_loop_s uv_loop_t;

typedef struct outbox outbox;

/* The consumer group every relay instance reads the outbox with. */
#define OUTBOX_GROUP "kkim-relay"

typedef struct outbox_cfg {
    uv_loop_t *loop;
    struct rconn *redis;          /* shared tenant connection (results, acks); borrowed */
    const rurl *url;              /* for the dedicated blocking connection; copied */
    const char *tenant;           /* copied */
    const char *consumer;         /* consumer name (instance ID); copied */
    double sends_per_second;      /* 0 → 1000 */
    uint64_t offline_deadline_ms; /* 0 → 30 000 */
    uint64_t results_maxlen;      /* MAXLEN ~ of kkim:{T}:results; 0 = none */
    uint64_t claim_min_idle_ms;   /* 0 → 30 000 */
    struct metrics *metrics;      /* may be NULL; borrowed */
    /* The login of user (any platform), or NULL when the tenant has none. */
    struct sess *(*session_of)(void *ud, const char *user);
    /* With leases (lease.h; NULL without): where the login of a sender
     * that session_of does not know lives. OUTBOX_ROUTE_AWAY fills holder
     * with that instance's consumer name: the entry is handed over to it
     * (XCLAIM ... JUSTID, it stays pending, so it is never lost; the holder
     * finds it when it re-reads its own pending entries, every claim round,
     * and settles it as a redelivered entry). OUTBOX_ROUTE_NOBODY: the
     * entry waits as for an offline sender (failed after the deadline). */
    int (*route)(void *ud, const char *user, char *holder, size_t cap);
    void *ud;
} outbox_cfg;

/* Answers of outbox_cfg.route. */
enum { OUTBOX_ROUTE_UNKNOWN = 0, OUTBOX_ROUTE_AWAY = 1, OUTBOX_ROUTE_NOBODY = 2 };

/* Totals since outbox_new. */
typedef struct outbox_stats {
    uint64_t read;            /* entries taken from the stream (new, pending, claimed) */
    uint64_t sent, rejected, failed; /* results written */
    uint64_t acked_only;      /* redelivered entries that already had a result */
    uint64_t settled_found;   /* unknown fates found in the conversation */
    uint64_t settled_missing; /* unknown fates not found: sent again */
    uint64_t claimed;         /* entries taken from dead consumers */
    uint64_t handed_over;     /* entries moved to the instance holding their sender */
    uint64_t inflight;        /* entries held now */
} outbox_stats;

/* Creates the outbox and starts reading. Returns NULL on allocation
 * failure or a bad tenant/consumer. */
struct outbox *outbox_new(const outbox_cfg *cfg);

/* Stops reading and frees (asynchronously, see above). NULL is a no-op.
 * Entries not finished stay pending in the group: the next start of this
 * consumer (or another consumer's XAUTOCLAIM) settles them. */
void outbox_free(struct outbox *ob);

/* Copies the totals. */
void outbox_get_stats(const struct outbox *ob, outbox_stats *st);

#endif
