/* rsink.c — Redis stream sink (see rsink.h).
 *
 * Every call becomes one rs_req: the argv it sent (kept for script calls,
 * so a NOSCRIPT answer can be re-sent as EVAL), the messages it owns, and
 * the caller's callback. Script SHAs are learnt from SCRIPT LOAD replies.
 */
#include "rsink.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "kk_err.h"
#include "rsink_int.h"

/* Longest tenant ID: keys stay short and the {T} tag stays one slot. */
#define RSINK_TENANT_MAX 128
/* Longest key we build: prefix + conversationID + clientMsgID. */
#define RSINK_KEY_MAX (32 + RSINK_TENANT_MAX + KK_MSG_CONV_MAX + 256)
/* Longest per-conversation key without the conversation: kkim:{T:p}:name. */
#define RSINK_PKEY_MAX (RSINK_TENANT_MAX + 48)

enum rs_script { RS_S_APPEND, RS_S_SKIP, RS_S_APPEND0, RS_S_COUNT };
enum rs_kind { RS_K_SCRIPT, RS_K_HW, RS_K_EVENT, RS_K_LOAD, RS_K_GAPEV, RS_K_GAPDEL };

struct rsink {
    rconn *rc;
    rsink_cfg cfg;
    char tenant[RSINK_TENANT_MAX + 1];
    char k_events[RSINK_TENANT_MAX + 32];
    char k_calls[RSINK_TENANT_MAX + 32];
    char events_maxlen[24];
    char sha[RS_S_COUNT][41];
    bool loading[RS_S_COUNT];
    size_t inflight;
    bool freeing;
    rsink_stats st;
    csync *cs;
    uv_loop_t *loop;
    void *pull_ud;
};

/* One rsink_hw_get, split into one HMGET per partition: answers once. */
typedef struct rs_hwagg {
    rsink_hw_fn cb;
    void *ud;
    size_t n, pending;
    int rc;
    int64_t hws[];
} rs_hwagg;

typedef struct rs_req {
    rsink *rs;
    enum rs_kind kind;
    enum rs_script script;
    bool resent;
    kk_msg **v; /* owned messages */
    size_t n;
    int argc;
    const char **argv;
    size_t *argvlen;
    void (*cb)(void);
    void *ud;
    char nums[4][24];          /* numeric argv strings */
    char key[RSINK_KEY_MAX];   /* seen0 key / conversationID copy / gap event ID */
    char pkey[2][RSINK_PKEY_MAX]; /* the conversation's stream / hw keys */
    rs_hwagg *agg;             /* HMGET part: its request and ... */
    size_t *idx;               /* ... where each field's answer goes */
    char conv[KK_MSG_CONV_MAX + 1];
    char reason[16];
} rs_req;

static const char *const rs_script_src[RS_S_COUNT] = {
    rsink__lua_append, rsink__lua_skip, rsink__lua_append0,
};

/* Creates the sink; see rsink.h. */
rsink *
rsink_new(rconn *rc, const char *tenant, const rsink_cfg *cfg)
{
    if (!rc || !tenant)
        return NULL;
    size_t tl = strnlen(tenant, RSINK_TENANT_MAX + 1);
    if (tl == 0 || tl > RSINK_TENANT_MAX || strchr(tenant, '}') || strchr(tenant, '{'))
        return NULL;
    rsink *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->rc = rc;
    if (cfg)
        rs->cfg = *cfg;
    if (!rs->cfg.events_maxlen)
        rs->cfg.events_maxlen = 100000;
    if (!rs->cfg.seen0_ttl_ms)
        rs->cfg.seen0_ttl_ms = 600000;
    if (!rs->cfg.partitions)
        rs->cfg.partitions = 1;
    memcpy(rs->tenant, tenant, tl + 1);
    snprintf(rs->k_events, sizeof rs->k_events, "kkim:{%s}:events", tenant);
    snprintf(rs->k_calls, sizeof rs->k_calls, "kkim:{%s}:calls", tenant);
    snprintf(rs->events_maxlen, sizeof rs->events_maxlen, "%llu",
             (unsigned long long)rs->cfg.events_maxlen);
    return rs;
}

/* Frees the sink itself (no calls pending). */
static void
rs_destroy(rsink *rs)
{
    free(rs);
}

/* Frees now or after the last pending call; see rsink.h. */
void
rsink_free(rsink *rs)
{
    if (!rs)
        return;
    if (rs->inflight == 0)
        rs_destroy(rs);
    else
        rs->freeing = true;
}

/* Frees a request and the messages it owns. */
static void
rs_req_free(rs_req *q)
{
    if (!q)
        return;
    for (size_t i = 0; q->v && i < q->n; i++)
        kk_msg_free(q->v[i]);
    free(q->v);
    free(q->argv);
    free(q->argvlen);
    free(q->idx);
    free(q);
}

/* Partition of conv: crc32(conversationID) mod partitions (design §5). */
unsigned
rsink_partition(const rsink *rs, const char *conv)
{
    if (rs->cfg.partitions <= 1)
        return 0;
    return (unsigned)(crc32(0, (const Bytef *)conv, (uInt)strlen(conv)) % rs->cfg.partitions);
}

/* Writes conv's key "name" into buf: kkim:{T}:name, or kkim:{T:p}:name
 * with partitions; see rsink.h. */
const char *
rsink_conv_key(const rsink *rs, const char *conv, const char *name, char *buf, size_t cap)
{
    if (rs->cfg.partitions <= 1)
        snprintf(buf, cap, "kkim:{%s}:%s", rs->tenant, name);
    else
        snprintf(buf, cap, "kkim:{%s:%u}:%s", rs->tenant, rsink_partition(rs, conv), name);
    return buf;
}

/* Allocates a request with room for argc argv entries. */
static rs_req *
rs_req_new(rsink *rs, enum rs_kind kind, int argc)
{
    rs_req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->rs = rs;
    q->kind = kind;
    q->argc = argc;
    q->argv = calloc((size_t)argc, sizeof *q->argv);
    q->argvlen = calloc((size_t)argc, sizeof *q->argvlen);
    if (!q->argv || !q->argvlen) {
        rs_req_free(q);
        return NULL;
    }
    return q;
}

/* Sets argv[i] to the NUL-terminated s. */
static void
rs_arg(rs_req *q, int i, const char *s)
{
    q->argv[i] = s;
    q->argvlen[i] = strlen(s);
}

static void rs_on_reply(void *ud, int status, const struct redisReply *reply);
static rs_req *rs_event_req(rsink *rs, const char *key, const char *type, const char *const *kv,
                            size_t npairs);

/* Points argv[0..1] at EVALSHA+sha when the SHA is known, else EVAL+source. */
static void
rs_script_head(rs_req *q)
{
    rsink *rs = q->rs;
    if (rs->sha[q->script][0] && !q->resent) {
        rs_arg(q, 0, "EVALSHA");
        rs_arg(q, 1, rs->sha[q->script]);
    } else {
        rs_arg(q, 0, "EVAL");
        rs_arg(q, 1, rs_script_src[q->script]);
    }
}

/* Sends SCRIPT LOAD for script s once, to learn its SHA (the EVAL that
 * goes with it caches the script in Redis anyway). Failure is harmless:
 * calls keep using EVAL. */
static void
rs_script_load(rsink *rs, enum rs_script s)
{
    if (rs->sha[s][0] || rs->loading[s])
        return;
    rs_req *q = rs_req_new(rs, RS_K_LOAD, 3);
    if (!q)
        return;
    q->script = s;
    rs_arg(q, 0, "SCRIPT");
    rs_arg(q, 1, "LOAD");
    rs_arg(q, 2, rs_script_src[s]);
    if (rconn_cmd(rs->rc, q->argc, q->argv, q->argvlen, rs_on_reply, q) != 0) {
        rs_req_free(q);
        return;
    }
    rs->loading[s] = true;
    rs->inflight++;
}

/* Sends q; on failure frees it (and its messages) and returns the error. */
static int
rs_send(rs_req *q)
{
    rsink *rs = q->rs;
    if (q->kind == RS_K_SCRIPT)
        rs_script_head(q);
    int rc = rconn_cmd(rs->rc, q->argc, q->argv, q->argvlen, rs_on_reply, q);
    if (rc != 0) {
        rs_req_free(q);
        return rc;
    }
    rs->inflight++;
    if (q->kind == RS_K_SCRIPT)
        rs_script_load(rs, q->script);
    return 0;
}

/* Reads integer element i of an array reply; false when it is not one. */
static bool
rs_int_at(const redisReply *r, size_t i, long long *out)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
        r->element[i]->type != REDIS_REPLY_INTEGER)
        return false;
    *out = r->element[i]->integer;
    return true;
}

/* With partitions the gap event was written before the skip (rsink_skip);
 * the skip did not advance (another writer moved on), so XDEL event id.
 * Failure leaves one extra event, never a missing one. */
static void
rs_gap_take_back(rsink *rs, const char *id)
{
    rs_req *q = rs_req_new(rs, RS_K_GAPDEL, 3);
    if (!q)
        return;
    snprintf(q->key, sizeof q->key, "%s", id);
    rs_arg(q, 0, "XDEL");
    rs_arg(q, 1, rs->k_events);
    rs_arg(q, 2, q->key);
    (void)rs_send(q);
}

/* Reply to a partition's gap event (q->ud: its skip, not yet sent): the
 * event is in, so the skip may advance the watermark now; on failure the
 * skip's callback gets the error and nothing moved. */
static void
rs_gap_event_done(rs_req *q, int status, const redisReply *r)
{
    rs_req *sk = q->ud;
    rsink_skip_fn cb = (rsink_skip_fn)sk->cb;
    void *ud = sk->ud;
    int rc = status ? status : r->type == REDIS_REPLY_STRING ? 0 : KK_EIO;
    if (rc == 0) {
        q->rs->st.events++;
        snprintf(sk->key, sizeof sk->key, "%s", r->str);
        rc = rs_send(sk);
    } else {
        q->rs->st.errors++;
        rs_req_free(sk);
    }
    if (rc != 0)
        cb(ud, rc, false, 0);
}

/* Turns a reply into the caller's callback for a script call. */
static void
rs_script_done(rs_req *q, int status, const redisReply *r)
{
    rsink *rs = q->rs;
    long long a = 0, b = 0, c = 0, d = 0;
    int rc = status;
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = KK_EIO;
    if (q->script == RS_S_SKIP) {
        if (rc == 0 && !(rs_int_at(r, 0, &a) && rs_int_at(r, 1, &b) && b >= 0))
            rc = KK_EPROTO;
        if (rc == 0) {
            rs->st.calls++;
            rs->st.skips += a == 1;
            if (a == 0 && q->key[0])
                rs_gap_take_back(rs, q->key);
        } else {
            rs->st.errors++;
        }
        ((rsink_skip_fn)q->cb)(q->ud, rc, a == 1, (uint64_t)b);
        return;
    }
    rsink_result res = { 0, 0, 0, 0 };
    if (rc == 0 && q->script == RS_S_APPEND &&
        !(rs_int_at(r, 0, &a) && rs_int_at(r, 1, &b) && rs_int_at(r, 2, &c) &&
          rs_int_at(r, 3, &d) && a >= 0 && b >= 0 && c >= 0 && d >= 0))
        rc = KK_EPROTO;
    if (rc == 0 && q->script == RS_S_APPEND0 &&
        !(rs_int_at(r, 0, &a) && rs_int_at(r, 1, &b) && a >= 0 && b >= 0))
        rc = KK_EPROTO;
    if (rc == 0) {
        res = (rsink_result){ (uint64_t)a, (uint64_t)b, (uint64_t)c, (uint64_t)d };
        rs->st.calls++;
        rs->st.appended += res.appended;
        rs->st.dups += res.dups;
        rs->st.gaps_stopped += res.stop != 0;
    } else {
        rs->st.errors++;
    }
    if (q->cb)
        ((rsink_append_fn)q->cb)(q->ud, rc, rc == 0 ? &res : NULL);
}

/* Whether r is Redis's "script not cached" error. */
static bool
rs_is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Completion of every command this sink sends. */
static void
rs_on_reply(void *ud, int status, const struct redisReply *reply)
{
    rs_req *q = ud;
    rsink *rs = q->rs;
    rs->inflight--;
    switch (q->kind) {
    case RS_K_LOAD:
        rs->loading[q->script] = false;
        if (status == 0 && reply->type == REDIS_REPLY_STRING && reply->len == 40) {
            memcpy(rs->sha[q->script], reply->str, 40);
            rs->sha[q->script][40] = '\0';
        }
        break;
    case RS_K_SCRIPT:
        if (status == 0 && rs_is_noscript(reply) && !q->resent) {
            /* Redis lost its script cache: send the source once more, and
             * learn the SHA again. */
            rs->st.noscript++;
            rs->sha[q->script][0] = '\0';
            q->resent = true;
            rs_script_head(q);
            if (rconn_cmd(rs->rc, q->argc, q->argv, q->argvlen, rs_on_reply, q) == 0) {
                rs->inflight++;
                rs_script_load(rs, q->script);
                return;
            }
            status = KK_EIO;
        }
        rs_script_done(q, status, reply);
        break;
    case RS_K_HW: {
        rs_hwagg *agg = q->agg;
        int rc = status;
        if (rc == 0 && (reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)q->n))
            rc = KK_EIO;
        for (size_t i = 0; rc == 0 && i < q->n; i++) {
            const redisReply *e = reply->element[i];
            agg->hws[q->idx[i]] = -1;
            if (e->type == REDIS_REPLY_STRING) {
                char *end = NULL;
                unsigned long long v = strtoull(e->str, &end, 10);
                if (end == e->str || *end != '\0' || v > INT64_MAX)
                    rc = KK_EPROTO;
                else
                    agg->hws[q->idx[i]] = (int64_t)v;
            }
        }
        if (rc != 0 && agg->rc == 0)
            agg->rc = rc;
        if (--agg->pending == 0) {
            agg->cb(agg->ud, agg->rc, agg->rc == 0 ? agg->n : 0, agg->rc == 0 ? agg->hws : NULL);
            free(agg);
        }
        break;
    }
    case RS_K_GAPEV:
        rs_gap_event_done(q, status, reply);
        break;
    case RS_K_GAPDEL:
        rs->st.errors += status != 0 || reply->type == REDIS_REPLY_ERROR;
        break;
    case RS_K_EVENT: {
        int rc = status;
        if (rc == 0 && reply->type == REDIS_REPLY_ERROR)
            rc = KK_EIO;
        if (rc == 0)
            rs->st.events++;
        else
            rs->st.errors++;
        if (q->cb)
            ((rsink_done_fn)q->cb)(q->ud, rc);
        break;
    }
    }
    rs_req_free(q);
    if (rs->freeing && rs->inflight == 0)
        rs_destroy(rs);
}

/* Formats v into buf as decimal. */
static const char *
rs_u64(char buf[24], uint64_t v)
{
    snprintf(buf, 24, "%llu", (unsigned long long)v);
    return buf;
}

/* Fills the trim arguments (MAXLEN, MINID thresholds or ""). */
static void
rs_trim_args(rs_req *q, int at)
{
    rsink *rs = q->rs;
    rs_arg(q, at, rs->cfg.maxlen ? rs_u64(q->nums[0], rs->cfg.maxlen) : "");
    if (rs->cfg.retention_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        uint64_t cut = now > rs->cfg.retention_ms ? now - rs->cfg.retention_ms : 0;
        /* A stream ID's first part is the ms time of the entry. */
        snprintf(q->nums[1], sizeof q->nums[1], "%llu-0", (unsigned long long)cut);
        rs_arg(q, at + 1, q->nums[1]);
    } else {
        rs_arg(q, at + 1, "");
    }
}

/* Frees messages the caller handed over on an early failure. */
static void
rs_free_msgs(kk_msg **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        kk_msg_free(v[i]);
}

/* Appends a batch; see rsink.h. */
int
rsink_append(rsink *rs, const char *conv, bool notif, kk_msg **v, size_t n, rsink_append_fn cb,
             void *ud)
{
    if (!rs || !conv || !v || n == 0 || rs->freeing) {
        rs_free_msgs(v, n);
        return KK_EINVAL;
    }
    bool seq0 = v[0]->seq == 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i]->conv, conv) != 0 || (seq0 && n != 1) || (!seq0 && v[i]->seq == 0)) {
            rs_free_msgs(v, n);
            return KK_EINVAL;
        }
    }
    const size_t per = 2 + 2 * KK_MSG_NFIELDS;
    int argc = seq0 ? 8 + 2 * KK_MSG_NFIELDS : (int)(8 + n * per);
    rs_req *q = rs_req_new(rs, RS_K_SCRIPT, argc);
    if (q)
        q->v = malloc(n * sizeof *q->v);
    if (!q || !q->v) {
        rs_req_free(q);
        rs_free_msgs(v, n);
        return KK_ENOMEM;
    }
    memcpy(q->v, v, n * sizeof *v);
    q->n = n;
    q->cb = (void (*)(void))cb;
    q->ud = ud;
    rs_arg(q, 2, "2");
    rs_arg(q, 3, rsink_conv_key(rs, conv, notif ? "notifications" : "msgs", q->pkey[0],
                                sizeof q->pkey[0]));
    rs_trim_args(q, 6);
    int at = 8;
    static const char kstr[] = "46"; /* 2 * KK_MSG_NFIELDS */
    _Static_assert(2 * KK_MSG_NFIELDS == 46, "kstr must be 2 * KK_MSG_NFIELDS");
    if (seq0) {
        q->script = RS_S_APPEND0;
        const char *cm = v[0]->client_msg_id;
        snprintf(q->key, sizeof q->key, "%s:%s:%s",
                 rsink_conv_key(rs, conv, "seen0", q->pkey[1], sizeof q->pkey[1]), conv, cm);
        rs_arg(q, 4, q->key);
        rs_arg(q, 5, cm[0] ? rs_u64(q->nums[2], rs->cfg.seen0_ttl_ms) : "0");
    } else {
        q->script = RS_S_APPEND;
        rs_arg(q, 4, rsink_conv_key(rs, conv, "hw", q->pkey[1], sizeof q->pkey[1]));
        rs_arg(q, 5, v[0]->conv);
    }
    for (size_t i = 0; i < n; i++) {
        const kk_msg *m = v[i];
        if (!seq0) {
            q->argv[at] = m->argv[3]; /* the seq value */
            q->argvlen[at++] = m->argvlen[3];
            rs_arg(q, at++, kstr);
        }
        for (size_t k = 0; k < m->argc; k++) {
            q->argv[at] = m->argv[k];
            q->argvlen[at++] = m->argvlen[k];
        }
    }
    return rs_send(q);
}

/* Skips a range; see rsink.h. */
int
rsink_skip(rsink *rs, const char *conv, uint64_t from, uint64_t to, const char *reason,
           rsink_skip_fn cb, void *ud)
{
    if (!rs || !conv || !cb || from == 0 || to < from || rs->freeing ||
        strlen(conv) > KK_MSG_CONV_MAX)
        return KK_EINVAL;
    bool split = rs->cfg.partitions > 1; /* the gap event is written first, apart */
    rs_req *q = rs_req_new(rs, RS_K_SCRIPT, split ? 9 : 10);
    if (!q)
        return KK_ENOMEM;
    q->script = RS_S_SKIP;
    q->cb = (void (*)(void))cb;
    q->ud = ud;
    snprintf(q->conv, sizeof q->conv, "%s", conv);
    snprintf(q->reason, sizeof q->reason, "%s", reason ? reason : "missing");
    rs_arg(q, 2, split ? "1" : "2");
    rs_arg(q, 3, rsink_conv_key(rs, conv, "hw", q->pkey[1], sizeof q->pkey[1]));
    int at = 4;
    if (!split)
        rs_arg(q, at++, rs->k_events);
    rs_arg(q, at++, q->conv);
    rs_arg(q, at++, rs_u64(q->nums[0], from));
    rs_arg(q, at++, rs_u64(q->nums[1], to));
    rs_arg(q, at++, q->reason);
    /* skip.lua's ARGV[5]: events MAXLEN. */
    rs_arg(q, at, rs->events_maxlen);
    if (!split)
        return rs_send(q);
    const char *kv[8] = { "conversationID", q->conv, "from", q->nums[0],
                          "to", q->nums[1], "reason", q->reason };
    rs_req *ev = rs_event_req(rs, rs->k_events, "gap", kv, 4);
    if (!ev) {
        rs_req_free(q);
        return KK_ENOMEM;
    }
    ev->kind = RS_K_GAPEV;
    ev->ud = q;
    int rc = rs_send(ev);
    if (rc != 0)
        rs_req_free(q);
    return rc;
}

/* Sends the HMGET of the nk fields convs[idx[0..nk)] (one partition). */
static int
rs_hw_part(rsink *rs, rs_hwagg *agg, const char *const *convs, size_t *idx, size_t nk)
{
    rs_req *q = rs_req_new(rs, RS_K_HW, (int)(nk + 2));
    if (!q) {
        free(idx);
        return KK_ENOMEM;
    }
    q->agg = agg;
    q->idx = idx;
    q->n = nk;
    rs_arg(q, 0, "HMGET");
    rs_arg(q, 1, rsink_conv_key(rs, convs[idx[0]], "hw", q->pkey[1], sizeof q->pkey[1]));
    for (size_t i = 0; i < nk; i++)
        rs_arg(q, (int)(i + 2), convs[idx[i]]);
    /* q->n counts fields here; q->v stays NULL, so no message is freed. */
    return rs_send(q);
}

/* HMGET of watermarks, one per partition that has a field; see rsink.h. */
int
rsink_hw_get(rsink *rs, const char *const *convs, size_t n, rsink_hw_fn cb, void *ud)
{
    if (!rs || !convs || n == 0 || !cb || rs->freeing || n > 100000)
        return KK_EINVAL;
    unsigned np = rs->cfg.partitions;
    rs_hwagg *agg = calloc(1, sizeof *agg + n * sizeof agg->hws[0]);
    unsigned *part = malloc(n * sizeof *part);
    size_t *count = calloc(np, sizeof *count);
    if (!agg || !part || !count) {
        free(agg);
        free(part);
        free(count);
        return KK_ENOMEM;
    }
    *agg = (rs_hwagg){ .cb = cb, .ud = ud, .n = n, .pending = 1 };
    for (size_t i = 0; i < n; i++)
        count[part[i] = rsink_partition(rs, convs[i])]++;
    int rc = 0;
    for (unsigned p = 0; p < np; p++) {
        if (!count[p])
            continue;
        size_t *idx = malloc(count[p] * sizeof *idx), k = 0;
        for (size_t i = 0; idx && i < n; i++)
            if (part[i] == p)
                idx[k++] = i;
        agg->pending++;
        rc = idx ? rs_hw_part(rs, agg, convs, idx, k) : KK_ENOMEM;
        if (rc != 0) {
            agg->pending--;
            break;
        }
    }
    free(part);
    free(count);
    /* Parts already sent answer through agg; with none, the caller hears
     * of the failure now. */
    agg->rc = rc;
    if (--agg->pending == 0) {
        free(agg);
        return rc ? rc : KK_EINVAL;
    }
    return 0;
}

/* Builds XADD key MAXLEN ~ N * type <type> kv... (the events and calls
 * streams; kv is not copied); NULL on ENOMEM. */
static rs_req *
rs_event_req(rsink *rs, const char *key, const char *type, const char *const *kv, size_t npairs)
{
    rs_req *q = rs_req_new(rs, RS_K_EVENT, (int)(8 + 2 * npairs));
    if (!q)
        return NULL;
    rs_arg(q, 0, "XADD");
    rs_arg(q, 1, key);
    rs_arg(q, 2, "MAXLEN");
    rs_arg(q, 3, "~");
    rs_arg(q, 4, rs->events_maxlen);
    rs_arg(q, 5, "*");
    rs_arg(q, 6, "type");
    rs_arg(q, 7, type);
    for (size_t i = 0; i < 2 * npairs; i++)
        rs_arg(q, (int)(8 + i), kv[i] ? kv[i] : "");
    return q;
}

/* Sends rs_event_req's XADD; cb(ud, rc) fires with its result. */
static int
rs_xadd_event(rsink *rs, const char *key, const char *type, const char *const *kv,
              size_t npairs, rsink_done_fn cb, void *ud)
{
    if (!rs || !type || (npairs && !kv) || rs->freeing || npairs > 64)
        return KK_EINVAL;
    rs_req *q = rs_event_req(rs, key, type, kv, npairs);
    if (!q)
        return KK_ENOMEM;
    q->cb = (void (*)(void))cb;
    q->ud = ud;
    return rs_send(q);
}

/* Writes a session event to kkim:{T}:events; see rsink.h. */
int
rsink_event(rsink *rs, const char *type, const char *const *kv, size_t npairs, rsink_done_fn cb,
            void *ud)
{
    return rs ? rs_xadd_event(rs, rs->k_events, type, kv, npairs, cb, ud) : KK_EINVAL;
}

/* Writes a call event to kkim:{T}:calls; see rsink.h. */
int
rsink_call_event(rsink *rs, const char *type, const char *const *kv, size_t npairs,
                 rsink_done_fn cb, void *ud)
{
    return rs ? rs_xadd_event(rs, rs->k_calls, type, kv, npairs, cb, ud) : KK_EINVAL;
}

/* Calls waiting for Redis. */
size_t
rsink_inflight(const rsink *rs)
{
    return rs ? rs->inflight : 0;
}

/* Copies the totals. */
void
rsink_get_stats(const rsink *rs, rsink_stats *st)
{
    if (rs && st)
        *st = rs->st;
}

/* ---- glue to convsync ------------------------------------------------ */

/* What an append/skip made for convsync needs to report back. */
typedef struct rs_cs_ctx {
    rsink *rs;
    char conv[];
} rs_cs_ctx;

/* Allocates the report-back context for conv. */
static rs_cs_ctx *
rs_cs_ctx_new(rsink *rs, const char *conv)
{
    size_t len = strlen(conv);
    rs_cs_ctx *x = malloc(sizeof *x + len + 1);
    if (x) {
        x->rs = rs;
        memcpy(x->conv, conv, len + 1);
    }
    return x;
}

/* Current loop time for convsync's clock (0 before attach). */
static uint64_t
rs_cs_now(const rsink *rs)
{
    return rs->loop ? uv_now(rs->loop) : 0;
}

/* Append reply → csync_append_done. */
static void
rs_cs_append_cb(void *ud, int rc, const rsink_result *res)
{
    rs_cs_ctx *x = ud;
    if (x->rs->cs)
        csync_append_done(x->rs->cs, x->conv, rc, res ? res->hw : 0, rs_cs_now(x->rs));
    free(x);
}

/* Skip reply → csync_skip_done. */
static void
rs_cs_skip_cb(void *ud, int rc, bool advanced, uint64_t hw)
{
    (void)advanced;
    rs_cs_ctx *x = ud;
    if (x->rs->cs)
        csync_skip_done(x->rs->cs, x->conv, rc, hw, rs_cs_now(x->rs));
    free(x);
}

/* csync_ops.append over rsink_append (seq 0: no report back). */
static int
rs_cs_append(void *ud, const char *conv, bool notif, kk_msg **v, size_t n)
{
    rsink *rs = ud;
    if (n == 1 && v[0]->seq == 0)
        return rsink_append(rs, conv, notif, v, n, NULL, NULL);
    rs_cs_ctx *x = rs_cs_ctx_new(rs, conv);
    if (!x) {
        rs_free_msgs(v, n);
        return KK_ENOMEM;
    }
    int rc = rsink_append(rs, conv, notif, v, n, rs_cs_append_cb, x);
    if (rc < 0)
        free(x);
    return rc;
}

/* csync_ops.skip over rsink_skip (the stream is not involved: notif is
 * not needed). */
static int
rs_cs_skip(void *ud, const char *conv, bool notif, uint64_t from, uint64_t to, const char *reason)
{
    (void)notif;
    rsink *rs = ud;
    rs_cs_ctx *x = rs_cs_ctx_new(rs, conv);
    if (!x)
        return KK_ENOMEM;
    int rc = rsink_skip(rs, conv, from, to, reason, rs_cs_skip_cb, x);
    if (rc < 0)
        free(x);
    return rc;
}

/* Fills ops for a csync whose ud is an rsink; see rsink.h. */
void
rsink_csync_ops(csync_ops *ops,
                int (*pull)(void *ud, const char *conv, uint64_t from, uint64_t to,
                            const char *via_login))
{
    ops->append = rs_cs_append;
    ops->skip = rs_cs_skip;
    ops->pull = pull;
}

/* Binds (or with cs NULL, unbinds) the csync that completions go to. */
void
rsink_attach_csync(rsink *rs, csync *cs, uv_loop_t *loop, void *pull_ud)
{
    rs->cs = cs;
    rs->loop = loop;
    rs->pull_ud = pull_ud;
}

/* The pull_ud given to rsink_attach_csync. */
void *
rsink_pull_ud(const rsink *rs)
{
    return rs ? rs->pull_ud : NULL;
}
