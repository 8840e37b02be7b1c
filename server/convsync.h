/* convsync.h — exactly-once, in-order hand-off of a tenant's messages.
 *
 * One csync per tenant in this process; every login of the tenant offers
 * what it receives (pushes, pulls). Per conversation it keeps:
 *   - hw: the watermark, highest seq known to be in Redis. The authoritative
 *     value comes from Redis (csync_set_hw after HMGET, csync_append_done /
 *     csync_skip_done with the script's reply);
 *   - one operation in flight (an append batch or a skip) — never two, so
 *     Redis sees each conversation's seqs in order;
 *   - a bounded, seq-sorted buffer of messages above hw that are not in
 *     flight: the contiguous run from the in-flight tail goes out as the next
 *     batch, anything beyond a hole waits;
 *   - a hole: the missing seqs between the tail and the first buffered seq
 *     (or the highest seq seen, if an overflowing message was dropped).
 *     A pull of the hole is debounced (limits.pull_delay_ms), retried every
 *     limits.pull_retry_ms, and after limits.pull_tries pulls without the
 *     seqs arriving the hole is stepped over with ops->skip (a gap).
 *
 * Status-4 placeholders (kk_msg.placeholder) are ordered like messages but
 * never archived: a run of them becomes one ops->skip when it is next.
 * Seq-0 messages (push-only, NOTES §5.4) bypass ordering: they go straight
 * to ops->append as a batch of one, and no csync_append_done follows; the
 * sink deduplicates them by clientMsgID in Redis (design: rsink.h).
 *
 * A conversation whose hw was never set (no csync_set_hw, no reply yet)
 * sends its first offered message as is: the append script starts a
 * conversation that has no hw field at the first seq it appends, and the
 * reply then gives the authoritative hw. A session that wants a backfill or
 * a fixed start must call csync_set_hw before offering.
 *
 * Pure logic: no I/O, no clock (callers pass now_ms), no globals. Not
 * thread-safe: call it from the loop thread only. The ops must not call
 * back into csync synchronously: completions and pulled messages arrive
 * later, from the loop (a synchronous failure is a negative return).
 * Conversation state is kept until csync_free (a few hundred bytes each).
 */
#ifndef KK_CONVSYNC_H
#define KK_CONVSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

typedef struct csync csync;

typedef struct csync_ops {
    /* Archive v[0..n) of conv, in order. Ownership of the messages moves
     * to the callee, whatever it returns (the array itself is only valid
     * during the call). For seq > 0 the callee later calls
     * csync_append_done exactly once, or returns < 0 and never calls it.
     * For a seq-0 batch (n == 1) nothing is reported back. */
    int (*append)(void *ud, const char *conv, bool notif, kk_msg **v, size_t n);
    /* Ask the login via_login to pull seqs [from, to] of conv (1002/1005);
     * what arrives comes back through csync_offer. Returns 0 when the pull
     * was sent, < 0 when it could not be (the login is offline): that does
     * not count as a try, so a hole is never stepped over only because
     * the one login that can fill it was away (it resyncs on return). */
    int (*pull)(void *ud, const char *conv, uint64_t from, uint64_t to, const char *via_login);
    /* Step the Redis watermark over [from, to] (a gap event names why:
     * reason is "missing" or "placeholder"). The callee later calls
     * csync_skip_done exactly once, or returns < 0 and does not. */
    int (*skip)(void *ud, const char *conv, bool notif, uint64_t from, uint64_t to,
                const char *reason);
} csync_ops;

typedef struct csync_limits {
    size_t max_buffered_bytes;  /* all conversations; over it new ahead msgs are dropped */
    size_t max_buffered_per_conv; /* messages waiting per conversation */
    size_t max_batch;           /* messages per append call */
    size_t max_batch_bytes;     /* bytes per append call (at least one message) */
    uint64_t pull_delay_ms;     /* debounce before the first pull of a hole */
    uint64_t pull_retry_ms;     /* between pulls of the same hole */
    unsigned pull_tries;        /* pulls before the hole is skipped */
    uint64_t pull_max_span;     /* most seqs asked in one pull (gateway page: 100) */
} csync_limits;

/* Counters; all monotonic except buffered_*. */
typedef struct csync_stats {
    uint64_t offered;       /* messages given to csync_offer */
    uint64_t dups;          /* dropped here: seq <= tail, or already buffered */
    uint64_t handed;        /* messages given to ops->append (seq > 0) */
    uint64_t appended;      /* seqs confirmed by Redis (hw advances by append) */
    uint64_t batches;       /* ops->append calls for seq > 0 */
    uint64_t append_errors; /* append failures (rc < 0) */
    uint64_t unappended;    /* handed but not appended: gap or other writer (re-pulled) */
    uint64_t seq0;          /* seq-0 messages passed through */
    uint64_t holes;         /* holes detected */
    uint64_t holes_pulled;  /* ops->pull calls that were sent */
    uint64_t pulls_unsent;  /* ops->pull calls refused (login offline), retried */
    uint64_t holes_filled;  /* holes closed by arriving messages */
    uint64_t gaps;          /* ops->skip calls for missing seqs */
    uint64_t gap_seqs;      /* seqs stepped over (placeholders included) */
    uint64_t placeholders;  /* status-4 messages skipped */
    uint64_t overflow;      /* messages dropped because a buffer limit was hit */
    uint64_t buffered_msgs; /* messages held now */
    uint64_t buffered_bytes;
    uint64_t conversations; /* conversations tracked */
} csync_stats;

/* Outcome of csync_offer (>= 0); negative kk_err codes on failure. */
enum csync_offer_result {
    CSYNC_SENT = 0,     /* handed to ops->append at once */
    CSYNC_QUEUED = 1,   /* next in line, waits for the batch in flight */
    CSYNC_BUFFERED = 2, /* ahead of a hole; a pull is scheduled */
    CSYNC_DUP = 3,      /* duplicate, freed */
    CSYNC_DROPPED = 4,  /* over a buffer limit, freed; its seq will be pulled */
};

/* Fills lim with the defaults: 64 MiB, 10000 per conv, batch 256 / 1 MiB,
 * pull after 50 ms, retry every 1 s, 3 tries, 100 seqs per pull. */
void csync_limits_default(csync_limits *lim);

/* Creates an empty csync. ops is copied; ud is passed to every op; lim
 * NULL = defaults. Returns NULL on allocation failure or a NULL op. */
csync *csync_new(const csync_ops *ops, void *ud, const csync_limits *lim);

/* Frees the csync and every buffered message; in-flight operations stay
 * with the sink and their completions must not be reported afterwards.
 * NULL is a no-op. */
void csync_free(csync *cs);

/* Takes m (always: on any result it is sent, kept or freed). via_login
 * ("user:platform") is copied and used for hole pulls of m's conversation.
 * Returns an enum csync_offer_result, or KK_EINVAL (m NULL) /
 * KK_ENOMEM (m freed; its seq is remembered and pulled as a hole). */
int csync_offer(csync *cs, kk_msg *m, const char *via_login, uint64_t now_ms);

/* Completion of an ops->append for conv: rc 0 with redis_hw = the hash's
 * value after the script (authoritative; messages above it were not
 * appended and are pulled again), rc < 0 on failure (the messages are lost
 * and re-pulled after limits.pull_retry_ms). Sends the next batch. */
void csync_append_done(csync *cs, const char *conv, int rc, uint64_t redis_hw, uint64_t now_ms);

/* Completion of an ops->skip; same meaning as csync_append_done. */
void csync_skip_done(csync *cs, const char *conv, int rc, uint64_t redis_hw, uint64_t now_ms);

/* Sets conv's watermark from Redis (HMGET at resync) or from a session's
 * decision (first login: current max seq). Raises hw only (never lowers a
 * known one), drops buffered messages <= hw and sends what became next.
 * Returns 0 or KK_ENOMEM / KK_EINVAL. */
int csync_set_hw(csync *cs, const char *conv, uint64_t hw, uint64_t now_ms);

/* Returns conv's watermark in *hw (false when unknown or untracked). */
bool csync_get_hw(const csync *cs, const char *conv, uint64_t *hw);

/* Runs due hole work: pulls, retries and skips. Call every ~10-50 ms. */
void csync_tick(csync *cs, uint64_t now_ms);

/* Earliest now_ms at which csync_tick has work, or UINT64_MAX. */
uint64_t csync_next_due(const csync *cs);

/* Bytes held in buffers (backpressure: stop reading above a threshold). */
size_t csync_buffered_bytes(const csync *cs);

/* Copies the counters into *st. */
void csync_get_stats(const csync *cs, csync_stats *st);

#endif
