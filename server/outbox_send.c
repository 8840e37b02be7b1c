/* outbox_send.c — outbox entries: parsing and validation, the 1003 send
 * through the sender's login (NOTES §3.6 relay rules), and settling a send
 * of unknown fate by pulling its conversation (1002) for its clientMsgID.
 * Contract: outbox.h. */
#include <hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwreq.h"
#include "outbox_int.h"
#include "pbwire.h"
#include "sdkws.pb-c.h"

/* Copies a field value (binary-safe, NUL-terminated). */
static char *dup_val(const redisReply *v, size_t *len)
{
    char *p = malloc(v->len + 1);
    if (!p)
        return NULL;
    memcpy(p, v->str, v->len);
    p[v->len] = '\0';
    if (len)
        *len = v->len;
    return p;
}

/* Parses a decimal int32 in [min, max]; false when v is not one. */
static bool parse_i32(const char *v, int32_t min, int32_t max, int32_t *out)
{
    if (!v || !v[0] || strlen(v) > 10)
        return false;
    long long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (*p - '0');
    }
    if (n < min || n > max)
        return false;
    *out = (int32_t)n;
    return true;
}

/* Checks an options value: a JSON object whose values are all booleans. */
static bool options_valid(const char *s)
{
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    bool ok = j && json_is_object(j) && json_object_size(j) <= 32;
    const char *k;
    json_t *v;
    if (ok)
        json_object_foreach(j, k, v) ok = ok && json_is_boolean(v);
    json_decref(j);
    return ok;
}

/* Reads the entry's fields into e; returns NULL when valid, else the
 * reason of the rejection. */
static const char *parse_fields(obx_entry *e, const redisReply *f)
{
    char *st = NULL, *ct = NULL;
    const char *why = NULL;
    if (!f || f->type != REDIS_REPLY_ARRAY)
        return "entry deleted";
    for (size_t i = 0; i + 1 < f->elements && !why; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (v->len > OUTBOX_FIELD_MAX) {
            why = "oversize";
            break;
        }
        char **slot = NULL;
        if (strcmp(k->str, "sendID") == 0)
            slot = &e->send_id;
        else if (strcmp(k->str, "recvID") == 0)
            slot = &e->recv_id;
        else if (strcmp(k->str, "groupID") == 0)
            slot = &e->group_id;
        else if (strcmp(k->str, "clientMsgID") == 0)
            slot = &e->client_msg_id;
        else if (strcmp(k->str, "ex") == 0)
            slot = &e->ex;
        else if (strcmp(k->str, "options") == 0)
            slot = &e->options;
        else if (strcmp(k->str, "sessionType") == 0)
            slot = &st;
        else if (strcmp(k->str, "contentType") == 0)
            slot = &ct;
        else if (strcmp(k->str, "content") == 0)
            slot = &e->content;
        if (!slot)
            continue; /* unknown fields are ignored */
        free(*slot);
        *slot = dup_val(v, slot == &e->content ? &e->content_len : NULL);
        if (!*slot)
            why = "out of memory";
        else if (slot != &e->content && strlen(*slot) != v->len)
            why = "NUL byte in a field";
    }
    e->session_type = 1;
    e->content_type = 101;
    if (!why && (!e->send_id || !e->send_id[0]))
        why = "missing sendID";
    if (!why && st && !parse_i32(st, 1, 4, &e->session_type))
        why = "bad sessionType";
    if (!why && e->session_type == 2)
        why = "bad sessionType"; /* NOTES §3.7: never send 2 */
    if (!why && ct && !parse_i32(ct, 1, 1000000, &e->content_type))
        why = "bad contentType";
    if (!why && e->session_type == 3 && (!e->group_id || !e->group_id[0]))
        why = "missing groupID";
    if (!why && e->session_type != 3 && (!e->recv_id || !e->recv_id[0]))
        why = "missing recvID";
    if (!why && e->options && !options_valid(e->options))
        why = "bad options";
    if (!why && e->client_msg_id &&
        (!e->client_msg_id[0] || strlen(e->client_msg_id) > OUTBOX_CLIENT_MSG_ID_MAX))
        why = "bad clientMsgID";
    free(st);
    free(ct);
    return why;
}

static bool elsewhere(outbox *ob, const char *user, char *holder, size_t cap);

/* Creates the entry id from its XREADGROUP fields and appends it to the
 * outbox's list. A malformed entry gets its `rejected` result decided here.
 * redelivered: pending before (restart, claim): settle before sending. */
obx_entry *outbox__entry_new(outbox *ob, const char *id, const redisReply *fields,
                             bool redelivered)
{
    obx_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ob = ob;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->id_ms = strtoull(id, NULL, 10);
    e->wait_since = uv_now(ob->loop);
    e->prev = ob->tail;
    if (ob->tail)
        ob->tail->next = e;
    else
        ob->head = e;
    ob->tail = e;
    ob->n++;
    const char *why = parse_fields(e, fields);
    if (!why && !e->client_msg_id) {
        /* derived from the entry ID: a retried entry is the same message */
        char cm[64];
        snprintf(cm, sizeof cm, "kkr_%s", e->id);
        e->client_msg_id = strdup(cm);
        if (!e->client_msg_id)
            why = "out of memory";
    }
    if (!why && !ob->session_of(ob->ud, e->send_id) && !elsewhere(ob, e->send_id, NULL, 0))
        why = "unknown sendID";
    if (why) {
        /* a redelivered entry may already have this result: the script
         * writes nothing then */
        e->status = "rejected";
        snprintf(e->err_msg, sizeof e->err_msg, "%s", why);
        e->st = OBE_RESULT;
        return e;
    }
    e->st = redelivered ? OBE_CHECK : OBE_READY;
    e->not_before = redelivered ? e->wait_since + OUTBOX_SETTLE_GRACE_MS : 0;
    return e;
}

/* ---- sending ------------------------------------------------------------- */

/* The send's answer: sent, rejected, or fate unknown. */
static void on_sent(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    obx_entry *e = ud;
    outbox *ob = e->ob;
    (void)s;
    if (ob->closing) {
        outbox__entry_free(e);
        outbox__unref(ob);
        return;
    }
    uint64_t now = uv_now(ob->loop);
    if (rc == 0 && err_code == 0) {
        pbwire_send_resp r;
        if (pbwire_send_resp_decode(data.p, data.len, &r) == 0) {
            snprintf(e->server_msg_id, sizeof e->server_msg_id, "%.*s", (int)r.server_msg_id.len,
                     (const char *)r.server_msg_id.p);
            e->seq = r.seq;
            e->send_time = r.send_time;
        } else {
            KK_LOG_WARN(&ob->log, "bad_send_resp", KK_S("outboxID", e->id), KK_U("len", data.len));
        }
        outbox__result(e, "sent", 0, "");
    } else if (rc == 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "%.*s", (int)(err_msg.len < 199 ? err_msg.len : 199),
                 (const char *)err_msg.p);
        outbox__result(e, "rejected", err_code, msg);
    } else {
        /* connection lost or timed out: the gateway may have stored it */
        KK_LOG_INFO(&ob->log, "send_unknown", KK_S("outboxID", e->id), KK_ERR(rc));
        e->st = OBE_UNKNOWN;
        e->wait_since = now;
        e->not_before = now + OUTBOX_SETTLE_GRACE_MS;
    }
    outbox__unref(ob);
}

/* Fills md's options from the entry's JSON object (validated before);
 * entries and pointers live in the arrays the caller gives. */
static size_t fill_options(const char *json, json_t **keep, Kkim__MsgData__OptionsEntry *ents,
                           Kkim__MsgData__OptionsEntry **ptrs, size_t cap)
{
    *keep = json ? json_loads(json, 0, NULL) : NULL;
    size_t n = 0;
    const char *k;
    json_t *v;
    if (*keep)
        json_object_foreach(*keep, k, v)
        {
            if (n == cap)
                break;
            Kkim__MsgData__OptionsEntry init = KKIM__MSG_DATA__OPTIONS_ENTRY__INIT;
            ents[n] = init;
            ents[n].key = (char *)k;
            ents[n].value = json_is_true(v);
            ptrs[n] = &ents[n];
            n++;
        }
    return n;
}

/* Sends e as its sender through login s (online). */
static void send_entry(obx_entry *e, sess *s)
{
    outbox *ob = e->ob;
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    md.sendid = e->send_id;
    if (e->recv_id)
        md.recvid = e->recv_id;
    if (e->group_id)
        md.groupid = e->group_id;
    md.clientmsgid = e->client_msg_id;
    md.senderplatformid = sess_platform(s);
    md.sessiontype = e->session_type;
    md.msgfrom = 100;
    md.contenttype = e->content_type;
    md.content.data = (uint8_t *)e->content;
    md.content.len = e->content_len;
    md.createtime = (int64_t)outbox__wall_ms(); /* sendTime stays 0: the gateway sets it */
    if (e->ex)
        md.ex = e->ex;
    json_t *opts = NULL;
    Kkim__MsgData__OptionsEntry ents[32], *ptrs[32];
    md.n_options = fill_options(e->options, &opts, ents, ptrs, 32);
    md.options = md.n_options ? ptrs : NULL;
    size_t len = kkim__msg_data__get_packed_size(&md);
    uint8_t *buf = malloc(len ? len : 1);
    int rc = KK_ENOMEM;
    if (buf) {
        kkim__msg_data__pack(&md, buf);
        ob->refs++;
        e->st = OBE_SENDING;
        rc = sess_request(s, 1003, buf, len, OUTBOX_SEND_TIMEOUT_MS, on_sent, e);
        if (rc < 0) {
            ob->refs--;
            e->st = OBE_READY;
        }
    }
    free(buf);
    json_decref(opts);
    if (rc == KK_ETOOBIG)
        outbox__result(e, "rejected", 0, "oversize: the encoded frame exceeds 51200 bytes");
    else if (rc < 0 && rc != KK_EINVAL)
        KK_LOG_WARN(&ob->log, "send_failed", KK_S("outboxID", e->id), KK_ERR(rc));
}

/* ---- settling ------------------------------------------------------------ */

/* Writes the conversationID of e (NOTES §3.9) into buf. */
static void conv_of(const obx_entry *e, char *buf, size_t cap)
{
    bool notif = false;
    if (e->options) {
        json_t *j = json_loads(e->options, 0, NULL);
        json_t *v = j ? json_object_get(j, "isNotNotification") : NULL;
        notif = v && json_is_false(v);
        json_decref(j);
    }
    if (e->session_type == 3) {
        snprintf(buf, cap, "%s%s", notif ? "n_" : "sg_", e->group_id);
        return;
    }
    const char *a = e->send_id, *b = e->recv_id;
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    snprintf(buf, cap, "%s%s_%s", notif ? "n_" : e->session_type == 4 ? "sn_" : "si_", a, b);
}

static int settle_pull(obx_entry *e, sess *s);

/* Looks for e's clientMsgID in one PullMsgs map; tracks the lowest seq and
 * the oldest sendTime seen. True when found (the result is decided). */
static bool scan_map(obx_entry *e, size_t n, Kkim__PullMessageBySeqsResp__MsgsEntry **m,
                     int64_t *low, int64_t *oldest, size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        Kkim__PullMsgs *pm = m[i]->value;
        for (size_t j = 0; pm && j < pm->n_msgs; j++) {
            const Kkim__MsgData *md = pm->msgs[j];
            (*count)++;
            if (md->seq > 0 && (*low == 0 || md->seq < *low))
                *low = md->seq;
            if (md->sendtime > 0 && (*oldest == 0 || md->sendtime < *oldest))
                *oldest = md->sendtime;
            if (md->clientmsgid && strcmp(md->clientmsgid, e->client_msg_id) == 0 &&
                md->sendid && strcmp(md->sendid, e->send_id) == 0) {
                snprintf(e->server_msg_id, sizeof e->server_msg_id, "%s",
                         md->servermsgid ? md->servermsgid : "");
                e->seq = md->seq;
                e->send_time = md->sendtime;
                return true;
            }
        }
    }
    return false;
}

/* A settle page's answer: found → sent; an older page → pull on; else the
 * gateway never stored it → send again with the same clientMsgID. */
static void on_settle(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    obx_entry *e = ud;
    outbox *ob = e->ob;
    if (ob->closing) {
        outbox__entry_free(e);
        outbox__unref(ob);
        return;
    }
    uint64_t now = uv_now(ob->loop);
    if (rc < 0) {
        e->st = OBE_UNKNOWN;
        e->not_before = now + OUTBOX_SETTLE_GRACE_MS;
        outbox__unref(ob);
        return;
    }
    if (err_code != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "fate unknown, the conversation cannot be pulled: %.*s",
                 (int)(err_msg.len < 120 ? err_msg.len : 120), (const char *)err_msg.p);
        outbox__result(e, "failed", err_code, msg);
        outbox__unref(ob);
        return;
    }
    Kkim__PullMessageBySeqsResp *r = kkim__pull_message_by_seqs_resp__unpack(NULL, data.len, data.p);
    int64_t low = 0, oldest = 0;
    size_t count = 0;
    bool found = r && (scan_map(e, r->n_msgs, r->msgs, &low, &oldest, &count) ||
                       scan_map(e, r->n_notificationmsgs,
                                (Kkim__PullMessageBySeqsResp__MsgsEntry **)r->notificationmsgs,
                                &low, &oldest, &count));
    if (r)
        kkim__pull_message_by_seqs_resp__free_unpacked(r, NULL);
    e->settle_pages++;
    if (found) {
        ob->stats.settled_found++;
        if (ob->m_settled[1])
            metric_inc(ob->m_settled[1], 1);
        KK_LOG_INFO(&ob->log, "settled_sent", KK_S("outboxID", e->id), KK_I("seq", e->seq));
        outbox__result(e, "sent", 0, "");
        outbox__unref(ob);
        return;
    }
    bool older = count > 0 && low > 1 && e->settle_pages < OUTBOX_SETTLE_MAX_PAGES &&
                 (oldest == 0 || (uint64_t)oldest + OUTBOX_SETTLE_SKEW_MS >= e->id_ms);
    if (older) {
        e->settle_hi = low - 1;
        if (settle_pull(e, s) == 0) {
            outbox__unref(ob);
            return;
        }
        e->st = OBE_UNKNOWN; /* the login went away: settle again later */
        e->settle_pages = 0;
        outbox__unref(ob);
        return;
    }
    ob->stats.settled_missing++;
    if (ob->m_settled[0])
        metric_inc(ob->m_settled[0], 1);
    KK_LOG_INFO(&ob->log, "settled_missing", KK_S("outboxID", e->id), KK_U("pages", e->settle_pages));
    e->st = OBE_READY;
    e->wait_since = now;
    outbox__unref(ob);
    outbox__entry_step(e, now);
}

/* Pulls the page of e's conversation ending at e->settle_hi (newest
 * OUTBOX_SETTLE_PAGE seqs up to it: the gateway returns the last num). */
static int settle_pull(obx_entry *e, sess *s)
{
    char conv[600];
    conv_of(e, conv, sizeof conv);
    uint8_t buf[1024];
    int len = gwreq_pull_pack(e->send_id, conv, 1, e->settle_hi, OUTBOX_SETTLE_PAGE, buf, sizeof buf);
    if (len < 0)
        return len;
    e->ob->refs++;
    e->st = OBE_SETTLING;
    int rc = sess_request(s, 1002, buf, (size_t)len, OUTBOX_PULL_TIMEOUT_MS, on_settle, e);
    if (rc < 0) {
        e->ob->refs--;
        e->st = OBE_UNKNOWN;
    }
    return rc;
}

/* ---- leases: entries whose sender is logged in elsewhere ----------------- */

/* True when the sender is a user of the tenant logged in by another
 * instance (holder filled) or by none yet (holder ""). */
static bool elsewhere(outbox *ob, const char *user, char *holder, size_t cap)
{
    char tmp[OUTBOX_HOLDER_MAX];
    if (!ob->route)
        return false;
    int r = ob->route(ob->ud, user, holder ? holder : tmp, holder ? cap : sizeof tmp);
    if (r == OUTBOX_ROUTE_NOBODY && holder)
        holder[0] = '\0';
    return r == OUTBOX_ROUTE_AWAY || r == OUTBOX_ROUTE_NOBODY;
}

/* The XCLAIM to the holder answered: the entry is the holder's now (it
 * stays pending in the group, so a failed hand-over only waits). */
static void on_handed(void *ud, int status, const redisReply *reply)
{
    obx_entry *e = ud;
    outbox *ob = e->ob;
    bool ok = status == 0 && reply && reply->type == REDIS_REPLY_ARRAY;
    if (ob->closing || ok) {
        if (ok) {
            ob->stats.handed_over++;
            KK_LOG_DEBUG(&ob->log, "outbox_handed_over", KK_S("outboxID", e->id));
        }
        outbox__entry_free(e);
    } else {
        /* whether it was sent before is not known here: settle it */
        e->st = OBE_CHECK;
        e->not_before = uv_now(ob->loop) + OUTBOX_RESULT_RETRY_MS;
    }
    outbox__unref(ob);
}

/* Moves e to holder's pending list and forgets it here. */
static void hand_over(obx_entry *e, const char *holder)
{
    outbox *ob = e->ob;
    const char *argv[] = { "XCLAIM", ob->key_outbox, OUTBOX_GROUP, holder, "0", e->id, "JUSTID" };
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    obe_state was = e->st;
    e->st = OBE_HANDOVER;
    ob->refs++;
    if (rconn_cmd(ob->shared, 7, argv, lens, on_handed, e) < 0) {
        ob->refs--;
        e->st = was;
    }
}

/* ---- the state machine --------------------------------------------------- */

/* ZSCORE kkim:{T}:outbox:done answered for a redelivered entry. */
static void on_done_check(void *ud, int status, const redisReply *reply)
{
    obx_entry *e = ud;
    outbox *ob = e->ob;
    if (ob->closing) {
        outbox__entry_free(e);
        outbox__unref(ob);
        return;
    }
    if (status != 0 || !reply || reply->type == REDIS_REPLY_ERROR) {
        e->st = OBE_CHECK;
        e->not_before = uv_now(ob->loop) + OUTBOX_RESULT_RETRY_MS;
    } else if (reply->type != REDIS_REPLY_NIL) {
        /* it has its result already: the script only acks */
        e->status = "sent";
        e->st = OBE_RESULT;
        e->not_before = 0;
    } else {
        e->st = OBE_UNKNOWN; /* not_before keeps the start grace */
    }
    outbox__unref(ob);
}

/* Advances e as far as it can go now (entries wait in READY for their
 * sender and the rate limit, in UNKNOWN for the grace and their sender). */
void outbox__entry_step(obx_entry *e, uint64_t now)
{
    outbox *ob = e->ob;
    if (e->st == OBE_CHECK) {
        const char *argv[] = { "ZSCORE", ob->key_done, e->id };
        size_t lens[3] = { 6, strlen(ob->key_done), strlen(e->id) };
        e->st = OBE_CHECKING;
        ob->refs++;
        if (rconn_cmd(ob->shared, 3, argv, lens, on_done_check, e) < 0) {
            ob->refs--;
            e->st = OBE_CHECK;
        }
        return;
    }
    if (e->st != OBE_READY && e->st != OBE_UNKNOWN)
        return;
    if (now < e->not_before)
        return;
    sess *s = ob->session_of(ob->ud, e->send_id);
    char holder[OUTBOX_HOLDER_MAX];
    if (!s && elsewhere(ob, e->send_id, holder, sizeof holder)) {
        if (holder[0])
            hand_over(e, holder);
        else if (now - e->wait_since >= ob->deadline_ms)
            outbox__result(e, "failed", 0, "no instance held the sender past the deadline");
        return;
    }
    if (!s) {
        outbox__result(e, e->st == OBE_READY ? "rejected" : "failed", 0,
                       e->st == OBE_READY ? "unknown sendID"
                                          : "fate unknown: the sender was removed before it could be checked");
        return;
    }
    if (sess_get_state(s) != SESS_ONLINE) {
        if (now - e->wait_since >= ob->deadline_ms)
            outbox__result(e, "failed", 0,
                           e->st == OBE_READY
                               ? "sender offline past the deadline"
                               : "fate unknown: the sender stayed offline past the deadline");
        return;
    }
    if (e->st == OBE_UNKNOWN) {
        e->settle_pages = 0;
        e->settle_hi = INT64_MAX;
        (void)settle_pull(e, s);
        return;
    }
    if (ob->bucket < 1)
        return;
    ob->bucket -= 1;
    send_entry(e, s);
}
