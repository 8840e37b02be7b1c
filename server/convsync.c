/* convsync.c — per-conversation ordering, holes and gaps (see convsync.h).
 *
 * Per conversation: the watermark hw, the operation in flight
 * [fl_first, fl_last], a seq-sorted array of waiting messages and the hole
 * state. "base" is the highest seq that is in Redis or on its way there:
 * fl_last while something is in flight, hw otherwise. The next batch is the
 * run base+1, base+2, ... at the front of the array; a hole is what lies
 * between base and the first waiting seq (or seen_max when the waiting
 * message was dropped for lack of room).
 *
 * A conversation whose hw is unknown runs on a provisional hw (first seq
 * seen - 1) that older messages may still lower until Redis answers.
 */
#include "convsync.h"

#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

/* Longest via_login kept for pulls ("user:platform"); longer ones are cut:
 * they only route the pull, and OpenIM user IDs are at most 64 bytes. */
#define CSYNC_VIA_MAX 255

typedef struct cs_conv {
    struct cs_conv *hnext;           /* hash chain */
    struct cs_conv *hole_prev, *hole_next; /* list of conversations with a hole */
    uint64_t hw;                     /* watermark (provisional when !hw_known) */
    bool hw_known;                   /* hw came from Redis or csync_set_hw */
    bool started;                    /* hw holds a value (known or provisional) */
    bool notif;
    bool inflight;
    uint64_t fl_first, fl_last;      /* seqs of the operation in flight */
    kk_msg **buf;                    /* waiting messages, ascending seq, unique */
    size_t nbuf, capbuf;
    uint64_t seen_max;               /* highest seq offered, dropped ones included */
    bool hole_active;
    unsigned tries;                  /* pulls of the current hole start */
    uint64_t hole_from;              /* start of the hole last looked at */
    uint64_t hole_due;               /* when csync_tick handles it next */
    char via[CSYNC_VIA_MAX + 1];     /* login for pulls */
    char key[];                      /* conversationID */
} cs_conv;

struct csync {
    csync_ops ops;
    void *ud;
    csync_limits lim;
    cs_conv **tab;                   /* hash buckets, power of two */
    size_t tabsize, nconv;
    cs_conv *holes;                  /* head of the hole list */
    kk_msg **scratch;                /* batch handed to ops->append */
    uint64_t nops;                   /* appends + skips started by cs_kick */
    csync_stats st;
};

/* Fills the defaults documented in convsync.h. */
void
csync_limits_default(csync_limits *lim)
{
    *lim = (csync_limits){
        .max_buffered_bytes = 64u << 20,
        .max_buffered_per_conv = 10000,
        .max_batch = 256,
        .max_batch_bytes = 1u << 20,
        .pull_delay_ms = 50,
        .pull_retry_ms = 1000,
        .pull_tries = 3,
        .pull_max_span = 100,
    };
}

/* FNV-1a over the conversationID. */
static uint64_t
cs_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Creates the csync; see convsync.h. */
csync *
csync_new(const csync_ops *ops, void *ud, const csync_limits *lim)
{
    if (!ops || !ops->append || !ops->pull || !ops->skip)
        return NULL;
    csync *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->ops = *ops;
    cs->ud = ud;
    if (lim)
        cs->lim = *lim;
    else
        csync_limits_default(&cs->lim);
    if (cs->lim.max_batch == 0)
        cs->lim.max_batch = 1;
    if (cs->lim.pull_max_span == 0)
        cs->lim.pull_max_span = 1;
    cs->tabsize = 64;
    cs->tab = calloc(cs->tabsize, sizeof *cs->tab);
    cs->scratch = calloc(cs->lim.max_batch, sizeof *cs->scratch);
    if (!cs->tab || !cs->scratch) {
        csync_free(cs);
        return NULL;
    }
    return cs;
}

/* Frees every conversation and its waiting messages. */
void
csync_free(csync *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; cs->tab && i < cs->tabsize; i++) {
        cs_conv *c = cs->tab[i];
        while (c) {
            cs_conv *n = c->hnext;
            for (size_t j = 0; j < c->nbuf; j++)
                kk_msg_free(c->buf[j]);
            free(c->buf);
            free(c);
            c = n;
        }
    }
    free(cs->tab);
    free(cs->scratch);
    free(cs);
}

/* Finds conv or returns NULL. */
static cs_conv *
cs_find(const csync *cs, const char *conv)
{
    cs_conv *c = cs->tab[cs_hash(conv) & (cs->tabsize - 1)];
    while (c && strcmp(c->key, conv) != 0)
        c = c->hnext;
    return c;
}

/* Doubles the bucket array; on allocation failure keeps the old one (the
 * table still works, only with longer chains). */
static void
cs_grow(csync *cs)
{
    size_t nsize = cs->tabsize * 2;
    cs_conv **ntab = calloc(nsize, sizeof *ntab);
    if (!ntab)
        return;
    for (size_t i = 0; i < cs->tabsize; i++) {
        cs_conv *c = cs->tab[i];
        while (c) {
            cs_conv *n = c->hnext;
            size_t b = cs_hash(c->key) & (nsize - 1);
            c->hnext = ntab[b];
            ntab[b] = c;
            c = n;
        }
    }
    free(cs->tab);
    cs->tab = ntab;
    cs->tabsize = nsize;
}

/* Finds conv or creates it; NULL on allocation failure or a conv longer
 * than KK_MSG_CONV_MAX. */
static cs_conv *
cs_get(csync *cs, const char *conv)
{
    cs_conv *c = cs_find(cs, conv);
    if (c)
        return c;
    size_t len = strnlen(conv, KK_MSG_CONV_MAX + 1);
    if (len == 0 || len > KK_MSG_CONV_MAX)
        return NULL;
    c = calloc(1, sizeof *c + len + 1);
    if (!c)
        return NULL;
    memcpy(c->key, conv, len + 1);
    if (cs->nconv >= cs->tabsize)
        cs_grow(cs);
    size_t b = cs_hash(conv) & (cs->tabsize - 1);
    c->hnext = cs->tab[b];
    cs->tab[b] = c;
    cs->nconv++;
    cs->st.conversations = cs->nconv;
    return c;
}

/* Highest seq in Redis or on its way there. */
static uint64_t
cs_base(const cs_conv *c)
{
    return c->inflight && c->fl_last > c->hw ? c->fl_last : c->hw;
}

/* Removes buf[0..n) from the array (the messages are not freed). */
static void
cs_buf_shift(csync *cs, cs_conv *c, size_t n)
{
    if (n == 0)
        return; /* c->buf may still be NULL */
    for (size_t i = 0; i < n; i++) {
        cs->st.buffered_bytes -= c->buf[i]->bytes;
        cs->st.buffered_msgs--;
    }
    memmove(c->buf, c->buf + n, (c->nbuf - n) * sizeof *c->buf);
    c->nbuf -= n;
}

/* Removes and frees buf[0..n). */
static void
cs_buf_drop(csync *cs, cs_conv *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs->st.buffered_bytes -= c->buf[i]->bytes;
        cs->st.buffered_msgs--;
        kk_msg_free(c->buf[i]);
        c->buf[i] = NULL;
    }
    if (n == 0)
        return;
    memmove(c->buf, c->buf + n, (c->nbuf - n) * sizeof *c->buf);
    c->nbuf -= n;
}

/* Frees waiting messages with seq <= hw: Redis already has them. */
static void
cs_drop_below(csync *cs, cs_conv *c, uint64_t hw)
{
    size_t n = 0;
    while (n < c->nbuf && c->buf[n]->seq <= hw)
        n++;
    cs->st.dups += n;
    cs_buf_drop(cs, c, n);
}

/* Links c into the hole list. */
static void
cs_hole_link(csync *cs, cs_conv *c)
{
    c->hole_prev = NULL;
    c->hole_next = cs->holes;
    if (cs->holes)
        cs->holes->hole_prev = c;
    cs->holes = c;
}

/* Unlinks c from the hole list. */
static void
cs_hole_unlink(csync *cs, cs_conv *c)
{
    if (c->hole_prev)
        c->hole_prev->hole_next = c->hole_next;
    else
        cs->holes = c->hole_next;
    if (c->hole_next)
        c->hole_next->hole_prev = c->hole_prev;
    c->hole_prev = c->hole_next = NULL;
}

/* Computes c's hole [*from, *to]: the first missing seqs after the run
 * that is in flight or waiting to go; false when there is none. */
static bool
cs_hole_range(const cs_conv *c, uint64_t *from, uint64_t *to)
{
    if (!c->started)
        return false;
    uint64_t base = cs_base(c);
    if (c->nbuf > 0 && c->buf[0]->seq <= base)
        return false; /* provisional hw: Redis decides where it starts */
    /* Seqs are unique and ascending, so buf[i].seq == base+1+i holds for a
     * prefix of the array: binary-search its length k. */
    size_t lo = 0, hi = c->nbuf;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->buf[mid]->seq == base + 1 + mid)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t tail = base + lo;
    if (lo < c->nbuf) {
        *from = tail + 1;
        *to = c->buf[lo]->seq - 1;
        return true;
    }
    if (c->seen_max > tail) {
        *from = tail + 1;
        *to = c->seen_max;
        return true;
    }
    return false;
}

/* Re-evaluates c's hole after any change: starts one (pull after the
 * debounce), notes progress (tries start over) or closes it. */
static void
cs_hole_update(csync *cs, cs_conv *c, uint64_t now_ms)
{
    uint64_t from, to;
    bool has = cs_hole_range(c, &from, &to);
    if (has && !c->hole_active) {
        c->hole_active = true;
        c->tries = 0;
        c->hole_from = from;
        c->hole_due = now_ms + cs->lim.pull_delay_ms;
        cs->st.holes++;
        cs_hole_link(cs, c);
    } else if (has && from > c->hole_from) {
        /* Part of the hole arrived: the rest gets fresh tries. */
        c->hole_from = from;
        c->tries = 0;
    } else if (!has && c->hole_active) {
        c->hole_active = false;
        cs->st.holes_filled++;
        cs_hole_unlink(cs, c);
    }
}

static void cs_fail(csync *cs, cs_conv *c, uint64_t now_ms);

/* Starts the next operation of c if nothing is in flight: a skip over a
 * run of placeholders at the front, or a batch of the contiguous run. */
static void
cs_kick(csync *cs, cs_conv *c, uint64_t now_ms)
{
    if (c->inflight || c->nbuf == 0)
        return;
    if (!c->hw_known && c->buf[0]->seq <= c->hw)
        c->hw = c->buf[0]->seq - 1; /* provisional: an older message came in */
    if (c->buf[0]->seq != c->hw + 1)
        return;
    size_t n = 0;
    if (c->buf[0]->placeholder) {
        while (n < c->nbuf && c->buf[n]->placeholder && c->buf[n]->seq == c->hw + 1 + n)
            n++;
        cs_buf_drop(cs, c, n);
        cs->st.placeholders += n;
        cs->st.gap_seqs += n;
        c->inflight = true;
        c->fl_first = c->hw + 1;
        c->fl_last = c->hw + n;
        cs->nops++;
        if (cs->ops.skip(cs->ud, c->key, c->notif, c->fl_first, c->fl_last, "placeholder") < 0)
            cs_fail(cs, c, now_ms);
        return;
    }
    size_t bytes = 0;
    while (n < c->nbuf && n < cs->lim.max_batch && !c->buf[n]->placeholder &&
           c->buf[n]->seq == c->hw + 1 + n &&
           (n == 0 || bytes + c->buf[n]->bytes <= cs->lim.max_batch_bytes)) {
        bytes += c->buf[n]->bytes;
        cs->scratch[n] = c->buf[n];
        n++;
    }
    cs_buf_shift(cs, c, n);
    c->inflight = true;
    c->fl_first = c->hw + 1;
    c->fl_last = c->hw + n;
    cs->st.handed += n;
    cs->st.batches++;
    cs->nops++;
    if (cs->ops.append(cs->ud, c->key, c->notif, cs->scratch, n) < 0)
        cs_fail(cs, c, now_ms);
}

/* The operation in flight failed: its messages are gone, so the range is
 * a hole again, pulled after the retry interval (Redis is likely down;
 * pulling at once would only fail again). */
static void
cs_fail(csync *cs, cs_conv *c, uint64_t now_ms)
{
    cs->st.append_errors++;
    c->inflight = false;
    if (c->fl_last > c->seen_max)
        c->seen_max = c->fl_last;
    cs_hole_update(cs, c, now_ms);
    if (c->hole_active) {
        c->tries = 0;
        c->hole_due = now_ms + cs->lim.pull_retry_ms;
    }
    cs_kick(cs, c, now_ms);
}

/* Whether waiting seq s is in the run that goes out next (contiguous from
 * base); false when s is not waiting. */
static bool
cs_in_run(const cs_conv *c, uint64_t s)
{
    size_t lo = 0, hi = c->nbuf;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->buf[mid]->seq < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Seqs are unique and ascending, so s at index lo closes a contiguous
     * run from base exactly when s == base + 1 + lo. */
    return lo < c->nbuf && c->buf[lo]->seq == s && s == cs_base(c) + 1 + lo;
}

/* Takes a message; see convsync.h. */
int
csync_offer(csync *cs, kk_msg *m, const char *via_login, uint64_t now_ms)
{
    if (!cs || !m) {
        kk_msg_free(m);
        return KK_EINVAL;
    }
    cs->st.offered++;
    if (m->seq == 0) {
        /* Push-only: not stored by the gateway, never pulled; the sink
         * deduplicates by clientMsgID. */
        cs->st.seq0++;
        (void)cs->ops.append(cs->ud, m->conv, m->notif, &m, 1);
        return CSYNC_SENT;
    }
    cs_conv *c = cs_get(cs, m->conv);
    if (!c) {
        kk_msg_free(m);
        return KK_ENOMEM;
    }
    uint64_t s = m->seq;
    c->notif = m->notif;
    if (via_login && strncmp(c->via, via_login, sizeof c->via) != 0) {
        size_t vl = strnlen(via_login, CSYNC_VIA_MAX);
        memcpy(c->via, via_login, vl);
        c->via[vl] = '\0';
    }
    if (!c->started) {
        c->started = true;
        c->hw = s - 1;
    }
    bool dup;
    if (c->hw_known)
        dup = s <= cs_base(c);
    else
        dup = c->inflight ? (s >= c->fl_first && s <= c->fl_last) : false;
    /* Binary search for the slot; an equal seq is a duplicate. */
    size_t lo = 0, hi = c->nbuf;
    while (!dup && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->buf[mid]->seq < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!dup && lo < c->nbuf && c->buf[lo]->seq == s)
        dup = true;
    if (dup) {
        cs->st.dups++;
        kk_msg_free(m);
        return CSYNC_DUP;
    }
    if (s > c->seen_max)
        c->seen_max = s;
    uint64_t base = cs_base(c);
    bool next = s == base + 1 && (c->nbuf == 0 || lo == 0);
    bool over = c->nbuf >= cs->lim.max_buffered_per_conv ||
                cs->st.buffered_bytes + m->bytes > cs->lim.max_buffered_bytes;
    if (over && !next) {
        /* seen_max keeps the seq known: the hole logic pulls it later. */
        cs->st.overflow++;
        kk_msg_free(m);
        cs_hole_update(cs, c, now_ms);
        return CSYNC_DROPPED;
    }
    if (c->nbuf == c->capbuf) {
        size_t ncap = c->capbuf ? c->capbuf * 2 : 8;
        kk_msg **nb = realloc(c->buf, ncap * sizeof *nb);
        if (!nb) {
            kk_msg_free(m);
            cs_hole_update(cs, c, now_ms); /* seen_max has s: it is pulled later */
            return KK_ENOMEM;
        }
        c->buf = nb;
        c->capbuf = ncap;
    }
    memmove(c->buf + lo + 1, c->buf + lo, (c->nbuf - lo) * sizeof *c->buf);
    c->buf[lo] = m;
    c->nbuf++;
    cs->st.buffered_msgs++;
    cs->st.buffered_bytes += m->bytes;

    uint64_t nops = cs->nops;
    cs_kick(cs, c, now_ms);
    cs_hole_update(cs, c, now_ms);
    /* m may be freed by now (sent, or a placeholder): only s is used. */
    if (cs->nops != nops && s >= c->fl_first && s <= c->fl_last)
        return CSYNC_SENT;
    return cs_in_run(c, s) ? CSYNC_QUEUED : CSYNC_BUFFERED;
}

/* Shared completion of an append or a skip. */
static void
cs_done(csync *cs, const char *conv, int rc, uint64_t redis_hw, uint64_t now_ms, bool skip)
{
    cs_conv *c = cs ? cs_find(cs, conv) : NULL;
    if (!c || !c->inflight)
        return; /* stray completion: nothing of ours is in flight */
    if (rc < 0) {
        cs_fail(cs, c, now_ms);
        return;
    }
    c->inflight = false;
    uint64_t before = c->fl_first - 1;
    if (!skip && redis_hw > before) {
        uint64_t top = redis_hw < c->fl_last ? redis_hw : c->fl_last;
        cs->st.appended += top - before;
    }
    if (redis_hw < c->fl_last) {
        /* Not everything got in (a gap in Redis, or the skip was refused):
         * the rest is a hole to pull again. */
        uint64_t lost_from = redis_hw >= c->fl_first ? redis_hw + 1 : c->fl_first;
        if (!skip)
            cs->st.unappended += c->fl_last - lost_from + 1;
        if (c->fl_last > c->seen_max)
            c->seen_max = c->fl_last;
    }
    c->hw = redis_hw;
    c->hw_known = true;
    c->started = true;
    cs_drop_below(cs, c, c->hw);
    if (skip && c->hole_active) {
        /* The hole was given up, not filled: restart its accounting. */
        c->hole_active = false;
        cs_hole_unlink(cs, c);
    }
    cs_kick(cs, c, now_ms);
    cs_hole_update(cs, c, now_ms);
}

/* Completion of ops->append; see convsync.h. */
void
csync_append_done(csync *cs, const char *conv, int rc, uint64_t redis_hw, uint64_t now_ms)
{
    cs_done(cs, conv, rc, redis_hw, now_ms, false);
}

/* Completion of ops->skip; see convsync.h. */
void
csync_skip_done(csync *cs, const char *conv, int rc, uint64_t redis_hw, uint64_t now_ms)
{
    cs_done(cs, conv, rc, redis_hw, now_ms, true);
}

/* Sets the watermark; see convsync.h. */
int
csync_set_hw(csync *cs, const char *conv, uint64_t hw, uint64_t now_ms)
{
    if (!cs || !conv)
        return KK_EINVAL;
    cs_conv *c = cs_get(cs, conv);
    if (!c)
        return KK_ENOMEM;
    if (!c->hw_known || hw > c->hw)
        c->hw = hw;
    c->hw_known = true;
    c->started = true;
    cs_drop_below(cs, c, cs_base(c));
    cs_kick(cs, c, now_ms);
    cs_hole_update(cs, c, now_ms);
    return 0;
}

/* Reads the watermark; see convsync.h. */
bool
csync_get_hw(const csync *cs, const char *conv, uint64_t *hw)
{
    const cs_conv *c = cs && conv ? cs_find(cs, conv) : NULL;
    if (!c || !c->hw_known)
        return false;
    *hw = c->hw;
    return true;
}

/* Handles one due hole: pull its first page, or skip that page once the
 * tries are used up (only when nothing is in flight). */
static void
cs_hole_run(csync *cs, cs_conv *c, uint64_t now_ms)
{
    uint64_t from, to;
    cs_hole_update(cs, c, now_ms);
    if (!c->hole_active || !cs_hole_range(c, &from, &to))
        return;
    if (to - from >= cs->lim.pull_max_span)
        to = from + cs->lim.pull_max_span - 1;
    c->hole_due = now_ms + cs->lim.pull_retry_ms;
    if (c->tries < cs->lim.pull_tries) {
        if (cs->ops.pull(cs->ud, c->key, from, to, c->via) < 0) {
            cs->st.pulls_unsent++;
            return; /* not sent: retried later without using a try */
        }
        c->tries++;
        cs->st.holes_pulled++;
        return;
    }
    if (c->inflight || from != cs_base(c) + 1)
        return; /* skip only right after hw, nothing in flight; retry later */
    cs->st.gaps++;
    cs->st.gap_seqs += to - from + 1;
    c->hole_active = false;
    cs_hole_unlink(cs, c);
    c->inflight = true;
    c->fl_first = from;
    c->fl_last = to;
    if (cs->ops.skip(cs->ud, c->key, c->notif, from, to, "missing") < 0)
        cs_fail(cs, c, now_ms);
}

/* Runs due hole work; see convsync.h. The next pointer is read before a
 * conversation is handled: handling may unlink it (never another one). */
void
csync_tick(csync *cs, uint64_t now_ms)
{
    if (!cs)
        return;
    cs_conv *c = cs->holes;
    while (c) {
        cs_conv *n = c->hole_next;
        if (c->hole_due <= now_ms)
            cs_hole_run(cs, c, now_ms);
        c = n;
    }
}

/* Earliest due time over the hole list. */
uint64_t
csync_next_due(const csync *cs)
{
    uint64_t due = UINT64_MAX;
    for (const cs_conv *c = cs ? cs->holes : NULL; c; c = c->hole_next)
        if (c->hole_due < due)
            due = c->hole_due;
    return due;
}

/* Bytes held in waiting buffers. */
size_t
csync_buffered_bytes(const csync *cs)
{
    return cs ? (size_t)cs->st.buffered_bytes : 0;
}

/* Copies the counters. */
void
csync_get_stats(const csync *cs, csync_stats *st)
{
    if (cs && st)
        *st = cs->st;
}
