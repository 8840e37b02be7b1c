/* sess_lws.c — the lws side of a session: the protocol callback, inbound
 * message dispatch and the handshake-verdict probe.
 *
 * A refused handshake is answered by the gateway with HTTP 200 and a JSON
 * body {"errCode":...} instead of 101 (NOTES §1.3). lws fails such a
 * WebSocket client with "HS: ..." and does not read the body, so the session
 * sends the same URL once more as a plain GET (the "probe"), reads the body
 * and maps its errCode to a reason. A non-JSON or non-200 answer is a
 * transient failure. */
#include <uv.h> /* before libwebsockets.h */

#include <libwebsockets.h>
#include <string.h>

#include "sess.h"
#include "sess_int.h"

/* Maps a handshake errCode to a reason (NOTES §1.4 and §5.2). */
static sess_reason verdict_reason(int64_t code)
{
    if (code == 1001 || code == 1501)
        return SESS_R_TOKEN_EXPIRED;
    if (code == 1002 || (code >= 1502 && code <= 1507))
        return SESS_R_TOKEN_INVALID;
    if (code == 1003)
        return SESS_R_NO_USER;
    if (code == 1601)
        return SESS_R_OVERLOAD;
    if (code == 1602)
        return SESS_R_BAD_ARGS;
    return SESS_R_HANDSHAKE;
}

/* Ends the attempt with the verdict found in a probe body or text frame. */
static void apply_verdict(sess *s, const uint8_t *body, size_t len, int http_status)
{
    int64_t code = 0;
    int kind = codec_text_classify(body, len, &code);
    sess_reason why = SESS_R_HANDSHAKE;
    if (kind == CODEC_TEXT_VERDICT && code != 0)
        why = verdict_reason(code);
    KK_LOG_WARN(&s->log, "handshake_refused", KK_I("httpStatus", http_status),
                KK_I("errCode", kind == CODEC_TEXT_VERDICT ? code : -1),
                KK_S("reason", sess_reason_name(why)));
    sess__end(s, SESS_BACKOFF, why);
}

/* Handles one complete text message: heartbeat answers and the isMsgResp
 * verdict (NOTES §1.3, §4.2). Anything else is logged and ignored. */
static void on_text(sess *s)
{
    int64_t code = 0;
    int kind = codec_text_classify(s->rx.p, s->rx.len, &code);
    if (kind == CODEC_TEXT_VERDICT && code != 0) {
        apply_verdict(s, s->rx.p, s->rx.len, 101);
        return;
    }
    if (kind == CODEC_TEXT_PONG || kind == CODEC_TEXT_PING || kind == CODEC_TEXT_VERDICT)
        return;
    KK_LOG_WARN(&s->log, "unexpected_text", KK_U("len", s->rx.len));
}

/* Handles one complete binary message: answers to pending requests, kicks,
 * logouts, and unsolicited frames for the owner. A frame that does not
 * decode resets the session (NOTES §4.3 is the gateway's view; for the
 * relay a garbled stream means the connection is not trustworthy). */
static void on_binary(sess *s)
{
    codec_resp resp;
    int rc = codec_decode_resp(&s->cfg.codec, s->rx.p, s->rx.len, &resp, &s->scratch);
    if (rc < 0) {
        KK_LOG_WARN(&s->log, "bad_frame", KK_U("len", s->rx.len), KK_ERR(rc));
        sess__end(s, SESS_BACKOFF, SESS_R_PROTOCOL);
        return;
    }
    s->frames_in++;
    if (s->cfg.frames_in)
        (*s->cfg.frames_in)++;
    sess_pending_req *r = sess__take_pending(s, resp.msg_incr);
    if (r) {
        r->done(r->ud, s, 0, resp.err_code, resp.err_msg, resp.data);
        free(r);
        return;
    }
    switch (resp.req_identifier) {
    case 2002: /* kicked by another login (NOTES §4.4): the owner decides */
        KK_LOG_WARN(&s->log, "kicked");
        sess__end(s, SESS_BACKOFF, SESS_R_KICKED);
        return;
    case 2003: /* logout, solicited or not (NOTES §4.5) */
        KK_LOG_WARN(&s->log, "logout");
        sess__end(s, SESS_PARKED, SESS_R_LOGOUT);
        return;
    default:
        if (resp.msg_incr.len && resp.req_identifier != 1004)
            KK_LOG_WARN(&s->log, "unmatched_response", KK_I("reqIdentifier", resp.req_identifier));
        else if (s->hooks.on_unsolicited)
            s->hooks.on_unsolicited(s->owner, s, resp.req_identifier, resp.data);
    }
}

/* Writes an empty WebSocket ping (NOTES §4.2) without allocating: the
 * header goes into the headroom of a stack buffer, and lws copies whatever
 * the socket does not take. Returns 0, or -1 when the write failed. */
int sess__write_ping(sess *s, struct lws *wsi)
{
    uint8_t buf[LWS_PRE + 1];
    if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0) {
        KK_LOG_WARN(&s->log, "write_failed", KK_I("n", -1));
        return -1;
    }
    return 0;
}

/* Writes a due ping, else the head of the output queue: one write per
 * callback. Returns -1 to make lws close. */
static int on_writeable(sess *s, struct lws *wsi)
{
    if (s->ping_due) {
        s->ping_due = false;
        if (sess__write_ping(s, wsi) < 0)
            return -1;
        if (s->outq)
            lws_callback_on_writable(wsi);
        return 0;
    }
    sess_frame *f = s->outq;
    if (!f)
        return 0;
    int n = lws_write(wsi, f->bytes + LWS_PRE, f->len, LWS_WRITE_BINARY);
    if (n < (int)f->len) {
        KK_LOG_WARN(&s->log, "write_failed", KK_I("n", n));
        return -1;
    }
    s->outq = f->next;
    if (!s->outq)
        s->outq_tail = NULL;
    s->outq_bytes -= f->len;
    free(f);
    if (s->outq)
        lws_callback_on_writable(wsi);
    return 0;
}

/* Collects a complete WebSocket message and dispatches it. */
static int on_receive(sess *s, struct lws *wsi, const void *in, size_t len)
{
    s->last_rx_ms = uv_now(s->loop);
    if (kk_buf_append(&s->rx, in, len) < 0) {
        KK_LOG_WARN(&s->log, "frame_too_big", KK_U("limit", s->rx.max));
        sess__end(s, SESS_BACKOFF, SESS_R_PROTOCOL);
        return 0;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    if (lws_frame_is_binary(wsi))
        on_binary(s);
    else
        on_text(s);
    if (s->wsi != wsi)
        return 0; /* the message ended the connection: we are detached */
    kk_buf_reset(&s->rx);
    if (s->rx.cap > 256 * 1024) /* give back the memory of a large pull answer */
        kk_buf_free(&s->rx);
    return 0;
}

/* Starts the verdict probe after a refused upgrade. */
static void start_probe(sess *s)
{
    s->wsi = NULL;
    s->handshake_failed = true;
    kk_buf_reset(&s->probe_body);
    s->probe_status = 0;
    struct lws *w = sess__open(s, true);
    if (s->state != SESS_CONNECTING)
        return; /* the probe failed inside the call and was handled */
    s->probe = w;
    if (!w)
        sess__end(s, SESS_BACKOFF, SESS_R_HANDSHAKE);
}

/* Callbacks of the plain-GET verdict probe. */
static int probe_callback(sess *s, struct lws *wsi, enum lws_callback_reasons reason, void *in,
                          size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        s->probe_status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 2048];
        char *px = buf + LWS_PRE;
        int lenx = (int)sizeof buf - LWS_PRE;
        return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        (void)kk_buf_append(&s->probe_body, in, len); /* capped; a truncated body is not JSON */
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lws_set_opaque_user_data(wsi, NULL);
        s->probe = NULL;
        if (s->state == SESS_CONNECTING)
            apply_verdict(s, s->probe_body.p, s->probe_body.len,
                          s->probe_status ? s->probe_status : -1);
        return reason == LWS_CALLBACK_COMPLETED_CLIENT_HTTP ? -1 : 0;
    default:
        return 0;
    }
}

/* The protocol callback: routes lws events to the session that owns wsi. */
static int sess_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    (void)user;
    sess *s = lws_get_opaque_user_data(wsi);
    if (!s) /* detached: the session moved on or was freed; close it */
        return reason == LWS_CALLBACK_CLIENT_WRITEABLE || reason == LWS_CALLBACK_CLIENT_ESTABLISHED ||
                       reason == LWS_CALLBACK_CLIENT_RECEIVE
                   ? -1
                   : 0;
    if (reason == LWS_CALLBACK_WSI_DESTROY) {
        /* The wsi is going away on a path that did not report an error or
         * a close to us (seen under load while connecting): never keep a
         * pointer to it. */
        lws_set_opaque_user_data(wsi, NULL);
        if (wsi == s->probe)
            s->probe = NULL;
        if (wsi == s->wsi) {
            s->wsi = NULL;
            if (s->state == SESS_CONNECTING || s->state == SESS_ONLINE)
                sess__end(s, SESS_BACKOFF,
                          s->state == SESS_ONLINE ? SESS_R_CLOSED : SESS_R_CONNECT_FAILED);
        }
        return 0;
    }
    if (wsi == s->probe)
        return probe_callback(s, wsi, reason, in, len);
    if (wsi != s->wsi)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        const char *why = in ? (const char *)in : "";
        lws_set_opaque_user_data(wsi, NULL);
        s->wsi = NULL;
        KK_LOG_INFO(&s->log, "connect_error", KK_S("detail", why));
        /* "HS: ..." means HTTP answered but did not upgrade: read the verdict. */
        if (!strncmp(why, "HS: ws upgrade", 14) && !s->handshake_failed)
            start_probe(s);
        else
            sess__end(s, SESS_BACKOFF, SESS_R_CONNECT_FAILED);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        s->wsi = wsi;
        s->last_rx_ms = uv_now(s->loop);
        s->last_ping_ms = s->last_rx_ms;
        sess__set_state(s, SESS_ONLINE, SESS_R_NONE);
        if (s->rx_paused && s->wsi == wsi)
            lws_rx_flow_control(wsi, 0);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(s, wsi, in, len);
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        s->last_rx_ms = uv_now(s->loop);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(s, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        s->wsi = NULL;
        sess__end(s, SESS_BACKOFF, SESS_R_CLOSED);
        return 0;
    default:
        return 0;
    }
}

/* rx_buffer_size: lws's per-connection receive buffer. Large frames arrive
 * in pieces and are reassembled in sess->rx, so a small buffer keeps idle
 * logins cheap (platform-notes §6: 512 B gave 2.4 kB per idle connection;
 * docs/benchmarks.md: 4096 -> 1024 B took ~3 KiB off each idle login). */
#define SESS_LWS_RX_BUFFER 1024

static const struct lws_protocols sess_protocol = {
    .name = "kkim-gw",
    .callback = sess_callback,
    .per_session_data_size = 0,
    .rx_buffer_size = SESS_LWS_RX_BUFFER,
};

/* Returns the protocol descriptor for the app's protocol list. */
const struct lws_protocols *sess_lws_protocol(void)
{
    return &sess_protocol;
}
