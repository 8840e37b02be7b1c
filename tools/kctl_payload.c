/* kctl_payload.c — the protobuf payload of a frame, by reqIdentifier and
 * direction (NOTES.md §3.1), to and from JSON. Every MsgData also shows its
 * content decoded: contentType 1601 as the classified signal (§6.5), JSON
 * contents as `contentJSON`. SendMsgResp is read by the field-4 rule (§3.6).
 * Contract in kctl.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kctl.h"
#include "pbjson.h"
#include "pbsignal.h"
#include "pbwire.h"
#include "rtc.pb-c.h"
#include "sdkws.pb-c.h"

/* contentType of RTC signaling pushes (NOTES.md §6.5). */
#define KCTL_CONTENT_SIGNAL 1601
/* The SendMsg answer is read by wire type, not by its schema. */
#define KCTL_REQ_SENDMSG 1003

/* Payload types per reqIdentifier (NOTES.md §3.1); NULL = none. */
static const struct payload_row {
    int32_t id;
    const char *req;
    const char *resp;
} payload_rows[] = {
    { 1001, "kkim.GetMaxSeqReq", "kkim.GetMaxSeqResp" },
    { 1002, "kkim.PullMessageBySeqsReq", "kkim.PullMessageBySeqsResp" },
    { 1003, "kkim.MsgData", "kkim.SendMsgResp" },
    { 1004, "kkim.SignalReq", "kkim.SignalResp" },
    { 1005, "kkim.GetSeqMessageReq", "kkim.GetSeqMessageResp" },
    { 1006, "kkim.GetConversationsHasReadAndMaxSeqReq", "kkim.GetConversationsHasReadAndMaxSeqResp" },
    { 1007, "kkim.GetLastMessageReq", "kkim.GetLastMessageResp" },
    { 2001, NULL, "kkim.PushMessages" },
    { 2002, NULL, NULL },
    { 2003, "kkim.DelUserPushTokenReq", NULL },
    { 2004, "kkim.SetAppBackgroundStatusReq", NULL },
};

/* Returns the payload type name; see kctl.h. */
const char *kctl_payload_type(int32_t req_id, int kind)
{
    for (size_t i = 0; i < sizeof payload_rows / sizeof payload_rows[0]; i++)
        if (payload_rows[i].id == req_id)
            return kind == KCTL_KIND_REQ ? payload_rows[i].req : payload_rows[i].resp;
    return NULL;
}

/* ---- decoding: MsgData content ----------------------------------------- */

/* The Signal*Req type a bare payload is shown as: by its kind when the ex
 * hint named one, else by its layout class. */
static const ProtobufCMessageDescriptor *bare_descriptor(const pbsig_info *si)
{
    switch (si->kind) {
    case PBSIG_KIND_INVITE: return &kkim__signal_invite_req__descriptor;
    case PBSIG_KIND_INVITE_IN_GROUP: return &kkim__signal_invite_in_group_req__descriptor;
    case PBSIG_KIND_CANCEL: return &kkim__signal_cancel_req__descriptor;
    case PBSIG_KIND_ACCEPT: return &kkim__signal_accept_req__descriptor;
    case PBSIG_KIND_REJECT: return &kkim__signal_reject_req__descriptor;
    case PBSIG_KIND_HUNGUP: return &kkim__signal_hung_up_req__descriptor;
    }
    switch (si->layout) {
    case PBSIG_LAYOUT_ACCEPT: return &kkim__signal_accept_req__descriptor;
    case PBSIG_LAYOUT_HUNGUP: return &kkim__signal_hung_up_req__descriptor;
    }
    return &kkim__signal_invite_req__descriptor;
}

/* Sets obj[key] to a name, or null when name is NULL. */
static void set_name(json_t *obj, const char *key, const char *name)
{
    json_object_set_new(obj, key, name ? json_string(name) : json_null());
}

/* Builds the `contentSignal` object of a 1601 content: the classification
 * of NOTES.md §6.5 and the signal decoded with the type it implies. */
static json_t *signal_json(const uint8_t *content, size_t len, kk_view ex)
{
    json_t *s = json_object();
    pbsig_info si;
    if (!s)
        return NULL;
    if (pbsig_classify(content, len, ex, &si) < 0) {
        json_object_set_new(s, "error", json_string("neither a wrapped SignalReq nor a bare "
                                                    "Signal*Req (NOTES.md §6.5): dropped"));
        return s;
    }
    json_object_set_new(s, "form", json_string(si.form == PBSIG_FORM_WRAPPED ? "wrapped" : "bare"));
    set_name(s, "kind", pbsig_kind_name(si.kind));
    set_name(s, "layout", pbsig_layout_name(si.layout));
    set_name(s, "exHint", pbsig_kind_name(si.ex_kind));
    json_object_set_new(s, "roomID", kctl_json_view(si.room_id));
    json_object_set_new(s, "inviterUserID", kctl_json_view(si.inviter_id));
    json_object_set_new(s, "userID", kctl_json_view(si.user_id));
    if (si.has_op_platform)
        json_object_set_new(s, "opUserPlatformID", json_integer(si.op_platform_id));
    const ProtobufCMessageDescriptor *d =
        si.form == PBSIG_FORM_WRAPPED ? &kkim__signal_req__descriptor : bare_descriptor(&si);
    kk_view v = si.form == PBSIG_FORM_WRAPPED ? (kk_view){ content, len } : si.payload;
    json_t *sig;
    pbjson_err pe;
    json_object_set_new(s, "signalType", json_string(d->name));
    if (pbjson_decode(d, v.p, v.len, NULL, &sig, &pe) == 0) {
        json_object_set_new(s, "signal", sig);
    } else {
        char buf[400];
        json_object_set_new(s, "signalError", json_string(pbjson_err_text(&pe, buf, sizeof buf)));
    }
    return s;
}

/* pbjson decorate hook: adds contentSignal (1601) or contentJSON (content
 * that parses as JSON) to every MsgData object. Never fails the decode: a
 * content that decodes to nothing stays base64 only. */
static int decorate_msgdata(void *ud, const ProtobufCMessageDescriptor *d, json_t *obj,
                            pbjson_err *err)
{
    (void)ud;
    (void)err;
    if (d != &kkim__msg_data__descriptor)
        return 0;
    json_t *c = json_object_get(obj, "content");
    kk_buf content;
    kk_buf_init(&content, SIZE_MAX);
    if (pbjson_b64_decode(json_string_value(c), json_string_length(c), &content) < 0) {
        kk_buf_free(&content);
        return KK_ENOMEM; /* our own base64: only memory can fail */
    }
    if (json_integer_value(json_object_get(obj, "contentType")) == KCTL_CONTENT_SIGNAL) {
        json_t *ex = json_object_get(obj, "ex");
        kk_view exv = { (const uint8_t *)json_string_value(ex), json_string_length(ex) };
        json_t *s = signal_json(content.p, content.len, exv);
        if (s)
            json_object_set_new(obj, "contentSignal", s);
    } else if (content.len > 0) {
        json_error_t je;
        json_t *cj = json_loadb((const char *)content.p, content.len, JSON_DECODE_ANY, &je);
        if (cj)
            json_object_set_new(obj, "contentJSON", cj);
    }
    kk_buf_free(&content);
    return 0;
}

/* ---- decoding: payloads ------------------------------------------------ */

/* Decodes a SendMsgResp by wire type: seq from a VARINT field 4, or the
 * MsgData of a LEN field 4 (shown as msgData, its seq winning). */
static int sendresp_decode(kk_view data, json_t **out, kctl_err *err)
{
    pbwire_send_resp r;
    if (pbwire_send_resp_decode(data.p, data.len, &r) < 0)
        return kctl_fail(err, KK_EPROTO, "payload kkim.SendMsgResp",
                         "malformed SendMsgResp (fields 1-3 strings/int64, field 4 VARINT or "
                         "LEN MsgData, NOTES.md §3.6)");
    static const char *const from[] = { "absent", "varint", "msgData" };
    json_t *o = json_object();
    json_object_set_new(o, "serverMsgID", kctl_json_view(r.server_msg_id));
    json_object_set_new(o, "clientMsgID", kctl_json_view(r.client_msg_id));
    json_object_set_new(o, "sendTime", json_integer(r.send_time));
    json_object_set_new(o, "seq", json_integer(r.seq));
    json_object_set_new(o, "seqFrom", json_string(from[r.seq_from]));
    if (r.seq_from == PBWIRE_SEQ_MSGDATA) {
        pbjson_opts po = { .decorate = decorate_msgdata };
        pbjson_err pe;
        json_t *md;
        if (pbjson_decode(&kkim__msg_data__descriptor, r.msg_data.p, r.msg_data.len, &po, &md, &pe) < 0) {
            char buf[400];
            json_decref(o);
            return kctl_fail(err, KK_EPROTO, "payload kkim.SendMsgResp", "msgData.%s",
                             pbjson_err_text(&pe, buf, sizeof buf));
        }
        json_object_set_new(o, "msgData", md);
    }
    *out = o;
    return 0;
}

/* Decodes the payload of a frame; see kctl.h. */
int kctl_payload_decode(int32_t req_id, int kind, kk_view data, json_t **out, kctl_err *err)
{
    *out = NULL;
    if (req_id == KCTL_REQ_SENDMSG && kind == KCTL_KIND_RESP)
        return sendresp_decode(data, out, err);
    const char *type = kctl_payload_type(req_id, kind);
    if (!type) {
        *out = json_null();
        return 0;
    }
    const ProtobufCMessageDescriptor *d = pbjson_find(type);
    pbjson_opts po = { .decorate = decorate_msgdata };
    pbjson_err pe;
    int rc = pbjson_decode(d, data.p, data.len, &po, out, &pe);
    if (rc < 0) {
        char buf[400], where[160];
        snprintf(where, sizeof where, "payload %s", type);
        return kctl_fail(err, rc, where, "%s", pbjson_err_text(&pe, buf, sizeof buf));
    }
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* pbjson extra_key hook: the keys decode adds are accepted (and ignored)
 * on the way back, so decode output can be fed to encode unchanged. */
static bool decoration_key(void *ud, const ProtobufCMessageDescriptor *d, const char *key)
{
    (void)ud;
    if (d == &kkim__msg_data__descriptor)
        return strcmp(key, "contentJSON") == 0 || strcmp(key, "contentSignal") == 0;
    if (d == &kkim__send_msg_resp__descriptor)
        return strcmp(key, "seqFrom") == 0 || strcmp(key, "msgData") == 0;
    return false;
}

/* Encodes payload as type d into out, reporting errors under "payload". */
static int encode_as(const ProtobufCMessageDescriptor *d, const json_t *payload, kk_buf *out,
                     const char *prefix, kctl_err *err)
{
    pbjson_opts po = { .extra_key = decoration_key };
    pbjson_err pe;
    int rc = pbjson_encode(d, payload, &po, out, &pe);
    if (rc < 0) {
        char buf[400], where[160];
        snprintf(where, sizeof where, "payload %s", d->name);
        return kctl_fail(err, rc, where, "%s%s", prefix, pbjson_err_text(&pe, buf, sizeof buf));
    }
    return 0;
}

/* Encodes a SendMsgResp: with a msgData object, field 4 is that MsgData
 * (LEN, newer OpenIM); otherwise seq is field 4 (VARINT, KKIM). */
static int sendresp_encode(const json_t *payload, kk_buf *out, kctl_err *err)
{
    const json_t *md = json_is_object(payload) ? json_object_get(payload, "msgData") : NULL;
    if (!md || json_is_null(md))
        return encode_as(&kkim__send_msg_resp__descriptor, payload, out, "", err);
    json_t *rest = json_copy((json_t *)payload);
    if (!rest)
        return kctl_fail(err, KK_ENOMEM, "payload kkim.SendMsgResp", "out of memory");
    json_object_del(rest, "seq");
    size_t mark = out->len;
    kk_buf tmp;
    kk_buf_init(&tmp, out->max);
    int rc = encode_as(&kkim__send_msg_resp__descriptor, rest, out, "", err);
    if (rc == 0)
        rc = encode_as(&kkim__msg_data__descriptor, md, &tmp, "msgData.", err);
    if (rc == 0 && (rc = pbwire_put_len(out, 4, tmp.p, tmp.len)) < 0)
        kctl_fail(err, rc, "payload kkim.SendMsgResp", "%s", kk_strerror(rc));
    if (rc < 0)
        out->len = mark;
    kk_buf_free(&tmp);
    json_decref(rest);
    return rc;
}

/* Encodes the payload of a frame; see kctl.h. */
int kctl_payload_encode(int32_t req_id, int kind, const json_t *payload, kk_buf *out,
                        kctl_err *err)
{
    if (req_id == KCTL_REQ_SENDMSG && kind == KCTL_KIND_RESP)
        return sendresp_encode(payload, out, err);
    const char *type = kctl_payload_type(req_id, kind);
    if (!type)
        return kctl_fail(err, KK_EINVAL, "payload",
                         "reqIdentifier %d carries no payload in a %s; give data (base64) instead",
                         (int)req_id, kind == KCTL_KIND_REQ ? "Req" : "Resp");
    return encode_as(pbjson_find(type), payload, out, "", err);
}
