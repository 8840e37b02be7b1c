/* ingest.h — a tenant's ingest budget: limits.maxMsgsPerSec as a token
 * bucket that may run into debt.
 *
 * Every message taken in from the gateway (pushes and pull answers) costs
 * one token, whether or not the budget had it: reads cannot be undone, so
 * an overdraft becomes debt that the refill pays back before the tenant may
 * read again. While `throttled` is set the owner stops reading (tenant.c:
 * each login that delivers stops) and resumes when ingest_refill reports
 * the end; TCP keeps the unread data, nothing is dropped. Over any window of W
 * seconds a tenant takes in at most rate * W + burst messages plus what was
 * already being delivered when its reads stopped (the overshoot, repaid).
 *
 * No allocation, no clock of its own (callers pass now_ms), no I/O: the
 * state is a plain struct the owner embeds. Rate 0 means no limit: nothing
 * is ever throttled.
 */
#ifndef KK_INGEST_H
#define KK_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest {
    double rate;          /* tokens per second; 0 = unlimited */
    double burst;         /* the most tokens saved up: rate / 10, at least 1 */
    double level;         /* tokens now; negative while in debt */
    uint64_t last_ms;     /* time of the last refill */
    bool throttled;       /* the owner's reads are stopped */
    uint64_t since_ms;    /* start of the current throttle */
    uint64_t throttled_ms; /* total of the finished throttles */
    uint64_t throttles;   /* throttles started */
    uint64_t msgs;        /* messages taken in */
} ingest;

/* Starts with a full bucket at now_ms. rate < 0 is taken as 0 (no limit). */
void ingest_init(ingest *g, double rate, uint64_t now_ms);

/* Changes the rate (a reload), keeping the totals and the current level
 * (capped at the new burst). Rate 0 ends a throttle at once. True when the
 * call ended a throttle: the owner may read again. */
bool ingest_set_rate(ingest *g, double rate, uint64_t now_ms);

/* Counts n messages taken in. True when this call started a throttle: the
 * owner must stop reading now. */
bool ingest_take(ingest *g, size_t n, uint64_t now_ms);

/* Adds the tokens earned since the last refill. True when this call ended
 * the throttle (the debt is paid): the owner may read again. */
bool ingest_refill(ingest *g, uint64_t now_ms);

/* Milliseconds spent throttled since ingest_init, the current throttle
 * included. */
uint64_t ingest_throttled_ms(const ingest *g, uint64_t now_ms);

#endif
