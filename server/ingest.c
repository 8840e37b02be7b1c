/* ingest.c — a tenant's ingest budget (contract: ingest.h). */
#include "ingest.h"

/* Sets the burst that goes with g->rate. */
static void set_burst(ingest *g)
{
    /* A tenth of a second of tokens: enough to cover the owner's 20 ms
     * refill tick at full rate, small enough that a burst stays short. */
    g->burst = g->rate / 10 < 1 ? 1 : g->rate / 10;
}

/* Starts with a full bucket (ingest.h). */
void ingest_init(ingest *g, double rate, uint64_t now_ms)
{
    *g = (ingest){ .rate = rate > 0 ? rate : 0, .last_ms = now_ms };
    set_burst(g);
    g->level = g->burst;
}

/* Ends the current throttle, adding its time to the total. Returns true. */
static bool unthrottle(ingest *g, uint64_t now_ms)
{
    g->throttled = false;
    g->throttled_ms += now_ms - g->since_ms;
    return true;
}

/* Changes the rate, keeping the totals (ingest.h). */
bool ingest_set_rate(ingest *g, double rate, uint64_t now_ms)
{
    bool ended = ingest_refill(g, now_ms); /* tokens earned at the old rate */
    g->rate = rate > 0 ? rate : 0;
    set_burst(g);
    if (g->level > g->burst)
        g->level = g->burst;
    if (g->throttled && g->rate == 0)
        ended = unthrottle(g, now_ms);
    return ended;
}

/* Spends n tokens, running into debt if need be (ingest.h). */
bool ingest_take(ingest *g, size_t n, uint64_t now_ms)
{
    g->msgs += n;
    if (g->rate == 0)
        return false;
    g->level -= (double)n;
    if (g->throttled || g->level >= 0)
        return false;
    g->throttled = true;
    g->since_ms = now_ms;
    g->throttles++;
    return true;
}

/* Earns tokens for the time since the last refill (ingest.h). */
bool ingest_refill(ingest *g, uint64_t now_ms)
{
    if (g->rate == 0 || now_ms < g->last_ms)
        return false;
    g->level += g->rate * (double)(now_ms - g->last_ms) / 1000.0;
    if (g->level > g->burst)
        g->level = g->burst;
    g->last_ms = now_ms;
    if (!g->throttled || g->level < 0)
        return false;
    return unthrottle(g, now_ms);
}

/* Total throttled time (ingest.h). */
uint64_t ingest_throttled_ms(const ingest *g, uint64_t now_ms)
{
    return g->throttled_ms + (g->throttled && now_ms > g->since_ms ? now_ms - g->since_ms : 0);
}
