/* tenant_sync.c — resync after every (re)connect and message intake.
 *
 * Resync (NOTES §5.3, design §4): read whether the user had state before
 * (the set kkim:{T}:synced), send 1001, learn each conversation's watermark
 * (convsync, else HMGET kkim:{T}:hw), then pull [hw+1, maxSeq] in pages of
 * at most 100 seqs with 1002. A conversation without any watermark starts
 * at its current maxSeq on the user's very first login (no backfill) and
 * at 1 (or minSeq) afterwards; that start is stored with HSETNX so a crash
 * cannot move it. Pushes (2001) and pull answers feed convsync, which
 * orders, deduplicates and pulls holes through tenant__csync_pull.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "calls.h"
#include "gwreq.h"
#include "rconn.h"
#include "sdkws.pb-c.h"
#include "tenant_int.h"

/* A reply is stale when the login reconnected since the request. */
typedef struct treq {
    tuser *u;
    unsigned gen;
    bool resync; /* a resync page (counted in pulls_inflight), not a hole pull */
    char *hole;  /* a hole pull: its entry in u->holes */
} treq;

/* Allocates a request context bound to the login's current connection. */
static treq *treq_new(tuser *u)
{
    treq *r = malloc(sizeof *r);
    if (r) {
        r->u = u;
        r->gen = u->gen;
        r->resync = false;
        r->hole = NULL;
    }
    return r;
}

/* Feeds every message of a PullMsgs map to convsync; pushed 1601 and 110
 * messages of a recording login also go to the calls (never pulled ones:
 * NOTES §7 rule 20). */
static void offer_map(tuser *u, size_t n, Kkim__PullMessageBySeqsResp__MsgsEntry **entries,
                      bool notif, bool push)
{
    tenant *t = u->t;
    uint64_t now = uv_now(t->env.loop);
    for (size_t i = 0; i < n; i++) {
        const char *conv = entries[i]->key;
        Kkim__PullMsgs *pm = entries[i]->value;
        if (!conv || !pm)
            continue;
        uint64_t hw;
        /* A conversation new to this process: start at 1 so a first push
         * that skipped ahead makes convsync pull the hole (the script keeps
         * any higher watermark Redis already has). */
        if (!csync_get_hw(t->cs, conv, &hw))
            (void)csync_set_hw(t->cs, conv, 0, now);
        for (size_t j = 0; j < pm->n_msgs; j++) {
            if (push && u->record && t->calls &&
                (pm->msgs[j]->contenttype == 1601 || pm->msgs[j]->contenttype == 110))
                calls_on_push(t->calls, u->user, u->platform, pm->msgs[j]);
            kk_msg *m = kk_msg_new(pm->msgs[j], conv, notif, u->via);
            if (!m) {
                KK_LOG_WARN(&t->log, "bad_message", KK_S("conv", conv), KK_S("via", u->via));
                continue;
            }
            (void)csync_offer(t->cs, m, u->via, now);
        }
        tenant__ingested(u, pm->n_msgs);
    }
}

/* Offers both maps of a push or pull answer (same wire shape). */
static void offer_payload(tuser *u, const uint8_t *data, size_t len, const char *what)
{
    Kkim__PullMessageBySeqsResp *r = kkim__pull_message_by_seqs_resp__unpack(NULL, len, data);
    if (!r) {
        KK_LOG_WARN(&u->t->log, "bad_payload", KK_S("what", what), KK_S("via", u->via),
                    KK_U("len", len));
        return;
    }
    bool push = strcmp(what, "push") == 0;
    offer_map(u, r->n_msgs, r->msgs, false, push);
    offer_map(u, r->n_notificationmsgs,
              (Kkim__PullMessageBySeqsResp__MsgsEntry **)r->notificationmsgs, true, push);
    kkim__pull_message_by_seqs_resp__free_unpacked(r, NULL);
}

/* Frames the gateway sends on its own: pushes feed the archive; 1004
 * signaling goes to the calls of a recording login (calls.h). */
void tenant__on_unsolicited(void *owner, sess *s, int32_t req_identifier, kk_view data)
{
    tuser *u = owner;
    (void)s;
    if (req_identifier == 2001) {
        /* PushMessages and PullMessageBySeqsResp share field numbers and types. */
        offer_payload(u, data.p, data.len, "push");
        return;
    }
    if (req_identifier == 1004 && u->record && u->t->calls) {
        calls_on_signal_resp(u->t->calls, u->user, data);
        return;
    }
    KK_LOG_DEBUG(&u->t->log, "unsolicited", KK_I("reqIdentifier", req_identifier),
                 KK_S("via", u->via));
}

/* ---- pulls ---------------------------------------------------------------- */

static void pull_next(tuser *u);
static void hole_done(tuser *u, char *hole);

/* Completion of one 1002 page. */
static void on_pull(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    treq *r = ud;
    tuser *u = r->u;
    (void)s;
    (void)err_msg;
    bool current = r->gen == u->gen;
    bool resync = r->resync;
    char *hole = r->hole;
    free(r);
    if (!current)
        return; /* tenant__resync_stop freed the hole entry */
    hole_done(u, hole);
    if (rc == 0 && err_code == 0)
        offer_payload(u, data.p, data.len, "pull");
    else if (rc == 0)
        KK_LOG_WARN(&u->t->log, "pull_failed", KK_I("errCode", err_code), KK_S("via", u->via));
    if (!resync)
        return; /* a hole pull: convsync follows up on its own */
    if (u->pulls_inflight)
        u->pulls_inflight--;
    pull_next(u);
}

/* Forgets an answered hole pull (hole: its u->holes entry, or NULL). */
static void hole_done(tuser *u, char *hole)
{
    for (unsigned i = 0; hole && i < u->n_holes; i++) {
        if (u->holes[i] == hole) {
            u->holes[i] = u->holes[--u->n_holes];
            free(hole);
            return;
        }
    }
}

/* Sends one 1002 for [from, to] of conv (resync: a page of the resync,
 * else a hole pull, remembered in u->holes until answered). Returns 0 or a
 * negative code. */
static int send_pull(tuser *u, const char *conv, uint64_t from, uint64_t to, bool resync)
{
    uint8_t buf[1024];
    int len = gwreq_pull_pack(u->user, conv, (int64_t)from, (int64_t)to, (int64_t)(to - from + 1),
                              buf, sizeof buf);
    if (len < 0)
        return len;
    treq *r = treq_new(u);
    if (!r)
        return KK_ENOMEM;
    r->resync = resync;
    if (!resync && !(r->hole = strdup(conv))) {
        free(r);
        return KK_ENOMEM;
    }
    int rc = sess_request(u->s, 1002, buf, (size_t)len, 30000, on_pull, r);
    if (rc < 0) {
        free(r->hole);
        free(r);
        return rc;
    }
    if (r->hole)
        u->holes[u->n_holes++] = r->hole;
    return 0;
}

/* Completion of a command whose answer does not matter (its failure only
 * means the next resync repeats the work). */
static void on_ignored(void *ud, int status, const struct redisReply *reply)
{
    (void)ud;
    (void)status;
    (void)reply;
}

/* Issues queued resync pages up to TENANT_PULLS_INFLIGHT; when all are done
 * the resync is complete. */
static void pull_next(tuser *u)
{
    tenant *t = u->t;
    while (u->pulls && u->pulls_inflight < TENANT_PULLS_INFLIGHT) {
        tpull *p = u->pulls;
        uint64_t to = p->to;
        if (to - p->from + 1 > TENANT_PULL_PAGE)
            to = p->from + TENANT_PULL_PAGE - 1;
        if (send_pull(u, p->conv, p->from, to, true) < 0)
            return; /* offline: the next connection resyncs again */
        u->pulls_inflight++;
        if (t->m_pulls)
            metric_inc(t->m_pulls, 1);
        if (to == p->to) {
            u->pulls = p->next;
            if (!u->pulls)
                u->pulls_tail = NULL;
            free(p);
        } else {
            p->from = to + 1;
        }
    }
    if (!u->pulls && u->pulls_inflight == 0 && u->resyncing) {
        u->resyncing = false;
        u->next_resync_ms = uv_now(t->env.loop) + t->resync_interval_ms;
        if (!u->synced) {
            const char *argv[3] = { "SADD", t->synced_key, u->user };
            size_t lens[3] = { 4, strlen(t->synced_key), strlen(u->user) };
            if (rconn_cmd(t->env.redis, 3, argv, lens, on_ignored, NULL) == 0)
                u->synced = true;
        }
        tenant__event(t, "resync", u, NULL, NULL);
    }
}

/* Queues [from, to] of conv for this resync. */
static void queue_pull(tuser *u, const char *conv, uint64_t from, uint64_t to)
{
    if (to < from)
        return;
    size_t n = strlen(conv);
    tpull *p = malloc(sizeof *p + n + 1);
    if (!p)
        return;
    p->next = NULL;
    p->from = from;
    p->to = to;
    memcpy(p->conv, conv, n + 1);
    if (u->pulls_tail)
        u->pulls_tail->next = p;
    else
        u->pulls = p;
    u->pulls_tail = p;
}

/* Pull of a hole found by convsync, through the login that saw it. An
 * offline login refuses (< 0): convsync retries without using a try. So
 * does a login with an unanswered pull of the same conversation (or
 * TENANT_HOLES_INFLIGHT of them): its answer waits behind what the socket
 * already holds (a backlog read at the ingest budget's pace), and a try
 * must mean "answered without the seqs", not "still queued" — else a
 * throttled or backlogged login gives holes up. */
int tenant__csync_pull(void *ud, const char *conv, uint64_t from, uint64_t to, const char *via)
{
    tenant *t = rsink_pull_ud(ud); /* the csync's ud is the rsink (rsink.h) */
    tuser *u = tenant__find_via(t, via);
    if (!u || sess_get_state(u->s) != SESS_ONLINE || u->n_holes == TENANT_HOLES_INFLIGHT)
        return KK_EAGAIN;
    for (unsigned i = 0; i < u->n_holes; i++)
        if (strcmp(u->holes[i], conv) == 0)
            return KK_EAGAIN;
    int rc = send_pull(u, conv, from, to, false);
    if (rc == 0 && t->m_pulls)
        metric_inc(t->m_pulls, 1);
    /* Under backpressure the buffer waits for this hole: the login must
     * read the answer, or the hole is skipped and its messages lost. */
    if (rc == 0 && t->paused)
        sess_pause_rx(u->s, false);
    return rc;
}

/* Finds the login named by a via string ("user:platform"). */
tuser *tenant__find_via(const tenant *t, const char *via)
{
    for (size_t i = 0; i < t->n_users; i++)
        if (strcmp(t->users[i]->via, via) == 0)
            return t->users[i];
    return NULL;
}

/* ---- resync ----------------------------------------------------------------- */

/* State of one resync between 1001 and the watermark reads. */
typedef struct tsync {
    tuser *u;
    unsigned gen;
    size_t n;
    char **convs;
    int64_t *max, *min;
} tsync;

/* Frees a resync context. */
static void tsync_free(tsync *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->convs[i]);
    free(c->convs);
    free(c->max);
    free(c->min);
    free(c);
}

/* Completion of the HSETNX+HGET that fixes a new conversation's start. */
typedef struct tstart {
    tenant *t;
    char conv[];
} tstart;

/* Applies the stored start watermark to convsync. */
static void on_start_hw(void *ud, int status, const struct redisReply *reply)
{
    tstart *st = ud;
    if (status == 0 && reply && reply->type == REDIS_REPLY_STRING) {
        uint64_t hw = strtoull(reply->str, NULL, 10);
        (void)csync_set_hw(st->t->cs, st->conv, hw, uv_now(st->t->env.loop));
    }
    free(st);
}

/* Stores hw as conv's watermark unless one exists (HSETNX), then reads it
 * back: the first login starts at the current maxSeq, durably. */
static void store_start(tenant *t, const char *conv, uint64_t hw)
{
    static const char script[] =
        "redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGET', KEYS[1], ARGV[1])";
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)hw);
    size_t n = strlen(conv);
    tstart *st = malloc(sizeof *st + n + 1);
    if (!st)
        return;
    st->t = t;
    memcpy(st->conv, conv, n + 1);
    char key[256];
    rsink_conv_key(t->rs, conv, "hw", key, sizeof key);
    const char *argv[6] = { "EVAL", script, "1", key, conv, num };
    size_t lens[6] = { 4, sizeof script - 1, 1, strlen(key), n, strlen(num) };
    if (rconn_cmd(t->env.redis, 6, argv, lens, on_start_hw, st) < 0)
        free(st);
}

/* A Redis reply that pointed at u arrived: drops its hold. True when the
 * login was freed meanwhile (the reply is stale; u is freed by the last
 * one), so a login can be stopped while its resync waits for Redis. */
bool tenant__user_unhold(tuser *u)
{
    u->redis_refs--;
    if (!u->gone)
        return false;
    if (u->redis_refs == 0)
        free(u);
    return true;
}

/* Decides where each conversation resumes, given Redis's watermarks. */
static void on_hws(void *ud, int rc, size_t n, const int64_t *hws)
{
    tsync *c = ud;
    tuser *u = c->u;
    if (tenant__user_unhold(u)) {
        tsync_free(c);
        return;
    }
    tenant *t = u->t;
    if (c->gen != u->gen || rc < 0) {
        if (c->gen == u->gen)
            u->resyncing = false; /* retried by the periodic resync */
        tsync_free(c);
        return;
    }
    uint64_t now = uv_now(t->env.loop);
    bool fresh = !u->synced && t->cfg->backfill == CFG_BACKFILL_NONE;
    for (size_t i = 0; i < n && i < c->n; i++) {
        const char *conv = c->convs[i];
        uint64_t maxs = (uint64_t)c->max[i];
        uint64_t mins = c->min[i] > 0 ? (uint64_t)c->min[i] : 1;
        uint64_t hw;
        if (hws[i] >= 0) {
            (void)csync_set_hw(t->cs, conv, (uint64_t)hws[i], now);
            hw = (uint64_t)hws[i];
        } else if (fresh) {
            store_start(t, conv, maxs);
            continue;
        } else {
            hw = mins - 1;
            if (t->cfg->backfill == CFG_BACKFILL_COUNT && maxs > t->cfg->backfill_count &&
                !u->synced)
                hw = maxs - t->cfg->backfill_count;
            (void)csync_set_hw(t->cs, conv, hw, now);
        }
        if (maxs > hw)
            queue_pull(u, conv, hw + 1 > mins ? hw + 1 : mins, maxs);
    }
    tsync_free(c);
    pull_next(u);
}

/* Reads the seqs of a GetMaxSeqResp map entry list into the context. */
static int collect(tsync *c, const Kkim__GetMaxSeqResp *r)
{
    c->convs = calloc(r->n_maxseqs ? r->n_maxseqs : 1, sizeof *c->convs);
    c->max = calloc(r->n_maxseqs ? r->n_maxseqs : 1, sizeof *c->max);
    c->min = calloc(r->n_maxseqs ? r->n_maxseqs : 1, sizeof *c->min);
    if (!c->convs || !c->max || !c->min)
        return KK_ENOMEM;
    for (size_t i = 0; i < r->n_maxseqs; i++) {
        const Kkim__GetMaxSeqResp__MaxSeqsEntry *e = r->maxseqs[i];
        if (!e->key || !e->key[0] || e->value <= 0)
            continue;
        c->convs[c->n] = strdup(e->key);
        if (!c->convs[c->n])
            return KK_ENOMEM;
        c->max[c->n] = e->value;
        for (size_t j = 0; j < r->n_minseqs; j++)
            if (r->minseqs[j]->key && strcmp(r->minseqs[j]->key, e->key) == 0)
                c->min[c->n] = r->minseqs[j]->value;
        c->n++;
    }
    return 0;
}

/* Completion of 1001: reads each conversation's watermark. */
static void on_maxseq(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    treq *r = ud;
    tuser *u = r->u;
    (void)s;
    (void)err_msg;
    bool current = r->gen == u->gen;
    free(r);
    if (!current)
        return;
    if (rc < 0 || err_code != 0) {
        KK_LOG_WARN(&u->t->log, "maxseq_failed", KK_I("rc", rc), KK_I("errCode", err_code),
                    KK_S("via", u->via));
        u->resyncing = false;
        return;
    }
    Kkim__GetMaxSeqResp *resp = kkim__get_max_seq_resp__unpack(NULL, data.len, data.p);
    tsync *c = calloc(1, sizeof *c);
    if (!resp || !c || collect(c, resp) < 0) {
        KK_LOG_WARN(&u->t->log, "bad_payload", KK_S("what", "GetMaxSeqResp"), KK_S("via", u->via));
        if (resp)
            kkim__get_max_seq_resp__free_unpacked(resp, NULL);
        tsync_free(c);
        u->resyncing = false;
        return;
    }
    kkim__get_max_seq_resp__free_unpacked(resp, NULL);
    c->u = u;
    c->gen = u->gen;
    if (c->n == 0) {
        tsync_free(c);
        pull_next(u);
        return;
    }
    if (rsink_hw_get(u->t->rs, (const char *const *)c->convs, c->n, on_hws, c) < 0) {
        tsync_free(c);
        u->resyncing = false;
        return;
    }
    u->redis_refs++;
}

/* Sends 1001 (GetMaxSeqReq for the own user). */
static void send_maxseq(tuser *u)
{
    Kkim__GetMaxSeqReq req = KKIM__GET_MAX_SEQ_REQ__INIT;
    req.userid = u->user;
    uint8_t buf[512];
    size_t len = kkim__get_max_seq_req__get_packed_size(&req);
    treq *r = len <= sizeof buf ? treq_new(u) : NULL;
    if (!r) {
        u->resyncing = false;
        return;
    }
    kkim__get_max_seq_req__pack(&req, buf);
    if (sess_request(u->s, 1001, buf, len, 0, on_maxseq, r) < 0) {
        free(r);
        u->resyncing = false;
    }
}

/* Completion of SISMEMBER kkim:{T}:synced user. */
static void on_synced(void *ud, int status, const struct redisReply *reply)
{
    treq *r = ud;
    tuser *u = r->u;
    bool current = !tenant__user_unhold(u) && r->gen == u->gen;
    free(r);
    if (!current)
        return;
    if (status != 0 || !reply || reply->type != REDIS_REPLY_INTEGER) {
        u->resyncing = false;
        return;
    }
    u->synced = reply->integer == 1;
    u->synced_known = true;
    send_maxseq(u);
}

/* Starts a resync of one online login. */
void tenant__resync_start(tuser *u)
{
    tenant *t = u->t;
    if (u->resyncing)
        return;
    u->resyncing = true;
    if (t->m_resyncs)
        metric_inc(t->m_resyncs, 1);
    if (u->synced_known) {
        send_maxseq(u);
        return;
    }
    treq *r = treq_new(u);
    const char *argv[3] = { "SISMEMBER", t->synced_key, u->user };
    size_t lens[3] = { 9, strlen(t->synced_key), strlen(u->user) };
    if (!r || rconn_cmd(t->env.redis, 3, argv, lens, on_synced, r) < 0) {
        free(r);
        u->resyncing = false;
        return;
    }
    u->redis_refs++;
}

/* Forgets a resync in progress (the connection ended). */
void tenant__resync_stop(tuser *u)
{
    u->gen++;
    u->resyncing = false;
    u->pulls_inflight = 0;
    while (u->n_holes)
        free(u->holes[--u->n_holes]);
    while (u->pulls) {
        tpull *p = u->pulls;
        u->pulls = p->next;
        free(p);
    }
    u->pulls_tail = NULL;
}
