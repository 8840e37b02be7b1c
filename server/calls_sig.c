/* calls_sig.c — what the calls module sends to the gateway: 1004 accept and
 * hungUp (NOTES §6.2, §6.3) and contentType-110 WebRTC signals as 1003
 * custom messages (§6.7), and the parser of received 110 contents. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>

#include "calls_int.h"
#include "pbwire.h"
#include "sess.h"

/* Timeout of our 1004 and 1003 requests. */
#define CALLS_REQ_TIMEOUT_MS 10000
/* Largest 1004 payload we build (an invitation is a few hundred bytes). */
#define CALLS_PB_MAX 32768

/* Wall clock in ms (clientMsgIDs and createTime). */
static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Appends a string field when s is not empty. */
static int put_str(kk_buf *b, uint32_t num, const char *s)
{
    return s && s[0] ? pbwire_put_len(b, num, (const uint8_t *)s, strlen(s)) : 0;
}

/* Appends a VARINT field. */
static int put_int(kk_buf *b, uint32_t num, uint64_t v)
{
    int rc = pbwire_put_tag(b, num, PBWIRE_VARINT);
    return rc ? rc : pbwire_put_varint(b, v);
}

/* ParticipantMetaData{userInfo{userID, nickname}} as the KKIM doc fills it. */
static int put_participant(kk_buf *out, uint32_t num, const char *user)
{
    kk_buf ui, pm;
    kk_buf_init(&ui, CALLS_PB_MAX);
    kk_buf_init(&pm, CALLS_PB_MAX);
    int rc = put_str(&ui, 1, user);
    if (!rc)
        rc = put_str(&ui, 2, user);
    if (!rc)
        rc = pbwire_put_len(&pm, 3, ui.p, ui.len);
    if (!rc)
        rc = pbwire_put_len(out, num, pm.p, pm.len);
    kk_buf_free(&ui);
    kk_buf_free(&pm);
    return rc;
}

/* Answer of our accept or hungUp: hands the verdict to calls.c. */
static void on_accept(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data);

/* The hungUp or reject answer: nothing to do but let the call go. */
static void on_hungup(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    call *k = ud;
    (void)s;
    (void)data;
    if (rc < 0 || err_code != 0)
        KK_LOG_INFO(&k->c->log, "hungup_answer", KK_S("roomID", k->room), KK_I("rc", rc),
                    KK_I("errCode", err_code), KK_U("errMsgLen", err_msg.len));
    calls__hangup_done(k);
}

/* Sends SignalReq{member{invitation, ...}} through k's login; answer_layout:
 * the accept/reject body (participant, opUserPlatformID, userID), else the
 * hungUp body (userID). */
static int send_1004(call *k, uint32_t member, bool answer_layout, sess_done_fn done)
{
    sess *s = k->c->env.session_of(k->c->env.ud, k->user);
    if (!s || sess_get_state(s) != SESS_ONLINE)
        return KK_EINVAL;
    kk_buf body, req;
    kk_buf_init(&body, CALLS_PB_MAX);
    kk_buf_init(&req, CALLS_PB_MAX);
    int rc = pbwire_put_len(&body, 1, k->inv, k->inv_len);
    if (answer_layout) {
        if (!rc)
            rc = put_participant(&body, 3, k->user);
        if (!rc)
            rc = put_int(&body, 4, (uint64_t)(int64_t)k->platform);
        if (!rc)
            rc = put_str(&body, 5, k->user);
    } else if (!rc) {
        rc = put_str(&body, 3, k->user);
    }
    if (!rc)
        rc = pbwire_put_len(&req, member, body.p, body.len);
    if (!rc) {
        k->refs++;
        rc = sess_request(s, 1004, req.p, req.len, CALLS_REQ_TIMEOUT_MS, done, k);
        if (rc < 0)
            k->refs--;
    }
    kk_buf_free(&body);
    kk_buf_free(&req);
    return rc;
}

/* 1004 SignalReq.accept (member 4) with the invitation as received. */
int calls__send_accept(call *k)
{
    return send_1004(k, 4, true, on_accept);
}

/* 1004 SignalReq.hungUp (member 5); the answer calls calls__hangup_done. */
int calls__send_hungup(call *k)
{
    return send_1004(k, 5, false, on_hungup);
}

/* 1004 SignalReq.reject (member 6); the answer calls calls__hangup_done. */
int calls__send_reject(call *k)
{
    return send_1004(k, 6, true, on_hungup);
}

/* The accept's verdict (NOTES §6.4: match errMsg, ignore the code). */
static void on_accept(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg, kk_view data)
{
    call *k = ud;
    (void)s;
    (void)data;
    char msg[256];
    size_t n = err_msg.len < sizeof msg - 1 ? err_msg.len : sizeof msg - 1;
    if (n)
        memcpy(msg, err_msg.p, n);
    msg[n] = 0;
    calls__accept_done(k, rc, err_code, msg);
}

/* Nothing to do with the answer of a 110 send but log a refusal. */
static void on_signal_sent(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg,
                           kk_view data)
{
    call *k = ud;
    (void)s;
    (void)err_msg;
    (void)data;
    if (rc < 0 || err_code != 0)
        KK_LOG_WARN(&k->c->log, "signal_send_failed", KK_S("roomID", k->room), KK_I("rc", rc),
                    KK_I("errCode", err_code));
    calls__unref(k);
}

/* Builds the 110 content of one signal (NOTES §6.7); NULL on failure. */
static char *signal_json(const call *k, const char *type, const char *sdp, const char *cand,
                         const char *mid)
{
    json_t *data = sdp ? json_pack("{s:s,s:s}", "type", type, "sdp", sdp)
                       : json_pack("{s:s,s:s,s:i}", "candidate", cand ? cand : "", "sdpMid",
                                   mid ? mid : "0", "sdpMLineIndex", 0);
    json_t *o = data ? json_pack("{s:s,s:s,s:s,s:o}", "type", "webrtc_signal", "signalType", type,
                                 "roomID", k->room, "data", data)
                     : NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Sends one 110 signal to the caller with 1003 (sessionType 1). */
int calls__send_signal(call *k, const char *signal_type, const char *sdp, const char *cand,
                       const char *mid)
{
    sess *s = k->c->env.session_of(k->c->env.ud, k->user);
    if (!s || sess_get_state(s) != SESS_ONLINE)
        return KK_EINVAL;
    char *content = signal_json(k, signal_type, sdp, cand, mid);
    if (!content)
        return KK_ENOMEM;
    char cmid[200];
    int64_t now = wall_ms();
    snprintf(cmid, sizeof cmid, "%.64s_rtc_%" PRId64 "_%" PRIu64, k->user, now,
             ++k->c->msg_counter);
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    md.sendid = k->user;
    md.recvid = k->caller;
    md.clientmsgid = cmid;
    md.senderplatformid = k->platform;
    md.sessiontype = 1;
    md.msgfrom = 100;
    md.contenttype = 110;
    md.content.data = (uint8_t *)content;
    md.content.len = strlen(content);
    md.createtime = now;
    size_t len = kkim__msg_data__get_packed_size(&md);
    uint8_t *buf = malloc(len ? len : 1);
    int rc = KK_ENOMEM;
    if (buf) {
        kkim__msg_data__pack(&md, buf);
        k->refs++;
        rc = sess_request(s, 1003, buf, len, CALLS_REQ_TIMEOUT_MS, on_signal_sent, k);
        if (rc < 0)
            k->refs--;
    }
    free(buf);
    free(content);
    return rc;
}

/* Duplicates a JSON string member, or NULL. */
static char *dup_member(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

/* Parses a 110 content: {"type":"webrtc_signal","signalType":..,"roomID":..,
 * "data":{...} or "data":"<that object as JSON text>"} (NOTES §6.7, §7 rule 25). */
int calls__parse_signal(const uint8_t *p, size_t len, char **type, char **room, char **sdp,
                        char **cand)
{
    *type = *room = *sdp = *cand = NULL;
    json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *d = o ? json_object_get(o, "data") : NULL;
    json_t *dd = NULL;
    if (d && json_is_string(d)) {
        dd = json_loads(json_string_value(d), 0, NULL);
        d = dd;
    }
    const char *t = json_string_value(json_object_get(o, "type"));
    int rc = KK_EPROTO;
    if (t && strcmp(t, "webrtc_signal") == 0 && json_is_object(d)) {
        *type = dup_member(o, "signalType");
        *room = dup_member(o, "roomID");
        *sdp = dup_member(d, "sdp");
        *cand = dup_member(d, "candidate");
        if (*type && *room)
            rc = 0;
    }
    if (rc) {
        free(*type);
        free(*room);
        free(*sdp);
        free(*cand);
        *type = *room = *sdp = *cand = NULL;
    }
    json_decref(dd);
    json_decref(o);
    return rc;
}
