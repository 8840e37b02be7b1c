/* rsink.h — the Redis stream sink of one tenant (design §5, a public
 * contract): message batches, gap skips, watermarks and session events.
 *
 * Keys (T = tenant ID; every key carries the hash tag {T}):
 *   kkim:{T}:msgs / kkim:{T}:notifications  streams of message entries
 *   kkim:{T}:hw                              hash conversationID → hw
 *   kkim:{T}:events                          stream of session events
 *   kkim:{T}:seen0:<conversationID>:<clientMsgID>
 *        string with a TTL (cfg.seen0_ttl_ms): marks a seq-0 (push-only)
 *        message as archived, so a second login's copy is dropped.
 * With cfg.partitions N > 1 the msgs, notifications, hw and seen0 keys of
 * a conversation carry {T:p} instead, p = crc32(conversationID) mod N, so
 * a Redis Cluster spreads one tenant over its masters; events and calls
 * stay kkim:{T}:*. A skip then advances hw in its script and writes the
 * gap event with a second command (no crash-atomicity between the two).
 *
 * Appends are one Lua script call per batch (server/lua/append.lua,
 * embedded as C strings by tests/integration/rsink_lua_gen.sh): EVALSHA
 * once the script's SHA is known (a SCRIPT LOAD is sent with the first
 * EVAL), and EVAL again on NOSCRIPT (Redis restarted or flushed its cache).
 * A conversation that has no hw field starts at the first seq appended.
 * Trimming: MAXLEN ~ cfg.maxlen and/or MINID ~ (now - cfg.retention_ms),
 * once per batch inside the script.
 *
 * Never does: ordering (convsync does it), retries (a failed call reports
 * its error; the caller pulls again), blocking. Loop thread only.
 * Ownership: rsink_append takes the messages in every case. Callbacks fire
 * exactly once when the call returned 0, never when it returned < 0.
 */
#ifndef KK_RSINK_H
#define KK_RSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convsync.h"
#include "msg.h"
#include "rconn.h"

typedef struct rsink rsink;

typedef struct rsink_cfg {
    uint64_t maxlen;        /* MAXLEN ~ of the message streams; 0 = none */
    uint64_t retention_ms;  /* MINID ~ now - retention; 0 = none */
    uint64_t events_maxlen; /* MAXLEN ~ of kkim:{T}:events; 0 → 100000 */
    uint64_t seen0_ttl_ms;  /* seq-0 dedup window; 0 → 600000 (10 min) */
    unsigned partitions;    /* streams.partitions; 0 or 1 = one set per tenant */
} rsink_cfg;

/* Reply of the append scripts. */
typedef struct rsink_result {
    uint64_t appended;   /* entries written */
    uint64_t dups;       /* entries dropped as duplicates */
    uint64_t hw;         /* conversation's hw after the call (0 for seq 0) */
    uint64_t stop;       /* first seq not appended because of a gap, or 0 */
} rsink_result;

/* rc 0 with res, or KK_EIO (Redis down / timeout / error reply),
 * KK_EPROTO (unexpected reply), KK_ECANCELED (connection closed). */
typedef void (*rsink_append_fn)(void *ud, int rc, const rsink_result *res);
/* Skip reply: advanced true when hw moved to `to`; hw = value after. */
typedef void (*rsink_skip_fn)(void *ud, int rc, bool advanced, uint64_t hw);
/* HMGET reply: hws[i] = hw of convs[i], -1 when the field is absent. */
typedef void (*rsink_hw_fn)(void *ud, int rc, size_t n, const int64_t *hws);
/* Generic completion (events). */
typedef void (*rsink_done_fn)(void *ud, int rc);

/* Totals since rsink_new. */
typedef struct rsink_stats {
    uint64_t calls;        /* script calls completed with a reply */
    uint64_t appended;     /* entries written */
    uint64_t dups;         /* entries dropped by the scripts */
    uint64_t gaps_stopped; /* batches cut short by a gap */
    uint64_t skips;        /* skips that advanced hw */
    uint64_t noscript;     /* EVALSHA answered NOSCRIPT and was re-sent */
    uint64_t errors;       /* calls that failed */
    uint64_t events;       /* events written */
} rsink_stats;

/* Creates a sink on rc (borrowed: it must outlive the sink) for tenant
 * (copied; 1..128 bytes, no '}' ). cfg NULL = defaults. Returns NULL on a
 * bad tenant or allocation failure. */
rsink *rsink_new(rconn *rc, const char *tenant, const rsink_cfg *cfg);

/* Frees the sink now if nothing is in flight, otherwise once the last
 * pending call completed (its callback still fires, with its result or
 * KK_ECANCELED). NULL is a no-op. */
void rsink_free(rsink *rs);

/* Appends v[0..n) of conv to the msgs (or notifications when notif)
 * stream in one script call. All messages must be of conv; a batch whose
 * first message has seq 0 must have n == 1 (seq-0 dedup script). Takes the
 * messages (freed after the reply, or now on error). Returns 0 (cb fires
 * once), KK_EINVAL, KK_ENOMEM or KK_EAGAIN (Redis not up). */
int rsink_append(rsink *rs, const char *conv, bool notif, kk_msg **v, size_t n,
                 rsink_append_fn cb, void *ud);

/* Steps hw of conv over [from, to] if hw == from-1 and writes a gap event
 * (reason "missing" or "placeholder"). Returns like rsink_append. With
 * partitions the event is written first and the skip sent once it is in
 * (an XADD failure fails the skip, hw unmoved); a skip that does not
 * advance XDELs it. A crash in between repeats the event, never loses it. */
int rsink_skip(rsink *rs, const char *conv, uint64_t from, uint64_t to, const char *reason,
               rsink_skip_fn cb, void *ud);

/* HMGET kkim:{T}:hw convs[0..n) (one HMGET per partition; cb fires once
 * with every answer). n >= 1. Returns like rsink_append. */
int rsink_hw_get(rsink *rs, const char *const *convs, size_t n, rsink_hw_fn cb, void *ud);

/* XADD kkim:{T}:events MAXLEN ~ N * type <type> k1 v1 k2 v2 ... (kv has
 * 2*npairs strings). type is one of login, logout, kicked,
 * token_refreshed, auth_failed, parked, resync, gap. cb may be NULL.
 * Returns like rsink_append. */
int rsink_event(rsink *rs, const char *type, const char *const *kv, size_t npairs,
                rsink_done_fn cb, void *ud);

/* XADD kkim:{T}:calls MAXLEN ~ N (the events maxlen) * type <type> k1 v1
 * ... (design §7: invited, accepted, media_started, ended, failed). cb may
 * be NULL. Returns like rsink_append. */
int rsink_call_event(rsink *rs, const char *type, const char *const *kv, size_t npairs,
                     rsink_done_fn cb, void *ud);

/* The partition of conv: crc32(conversationID) mod partitions, 0 when
 * there is one. */
unsigned rsink_partition(const rsink *rs, const char *conv);

/* Writes conv's key "name" (msgs, notifications, hw, seen0) into buf (cap
 * bytes): kkim:{T}:name, or kkim:{T:p}:name with partitions. Returns buf. */
const char *rsink_conv_key(const rsink *rs, const char *conv, const char *name, char *buf,
                           size_t cap);

/* Calls of this sink waiting for Redis (backpressure). */
size_t rsink_inflight(const rsink *rs);

/* Copies the totals. */
void rsink_get_stats(const rsink *rs, rsink_stats *st);

/* Glue to convsync: fills ops so that append/skip go through rs and
 * report back with csync_append_done / csync_skip_done (now from
 * uv_now(loop)); pull is the caller's (sessions). Call
 * rsink_attach_csync(rs, cs, loop) once the csync exists; create the csync
 * with ud = rs. */
void rsink_csync_ops(csync_ops *ops,
                     int (*pull)(void *ud, const char *conv, uint64_t from, uint64_t to,
                                 const char *via_login));
void rsink_attach_csync(rsink *rs, csync *cs, uv_loop_t *loop, void *pull_ud);

/* The pull_ud given to rsink_attach_csync (for the pull op, whose ud is rs). */
void *rsink_pull_ud(const rsink *rs);

#endif
