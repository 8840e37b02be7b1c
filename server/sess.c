/* sess.c — one gateway login: connection state machine, frames, requests,
 * heartbeats. The contract is in sess.h; protocol references are NOTES.md. */
#include <uv.h> /* before libwebsockets.h: lws guards its uv parts on UV_ERRNO_MAP */

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sess.h"
#include "sess_int.h"

/* ---- names ---------------------------------------------------------------- */

/* Returns the lower-case name of a state, as used in metrics and JSON. */
const char *sess_state_name(sess_state st)
{
    switch (st) {
    case SESS_IDLE: return "idle";
    case SESS_CONNECTING: return "connecting";
    case SESS_ONLINE: return "online";
    case SESS_BACKOFF: return "backoff";
    case SESS_PARKED: return "parked";
    case SESS_STATE_COUNT: break;
    }
    return "?";
}

/* Returns the name of a reason, as used in metrics labels and events. */
const char *sess_reason_name(sess_reason r)
{
    switch (r) {
    case SESS_R_NONE: return "none";
    case SESS_R_CONNECT_FAILED: return "connect_failed";
    case SESS_R_HANDSHAKE: return "handshake";
    case SESS_R_TOKEN_EXPIRED: return "token_expired";
    case SESS_R_TOKEN_INVALID: return "token_invalid";
    case SESS_R_NO_USER: return "no_user";
    case SESS_R_OVERLOAD: return "overload";
    case SESS_R_BAD_ARGS: return "bad_args";
    case SESS_R_CLOSED: return "closed";
    case SESS_R_DEAD: return "dead";
    case SESS_R_PROTOCOL: return "protocol";
    case SESS_R_TIMEOUT: return "timeout";
    case SESS_R_KICKED: return "kicked";
    case SESS_R_LOGOUT: return "logout";
    case SESS_R_STOPPED: return "stopped";
    case SESS_R_COUNT: break;
    }
    return "?";
}

/* ---- lifecycle ------------------------------------------------------------ */

/* Copies a string or gives NULL; NULL input gives "". */
static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

/* Creates an idle session; copies every string of cfg. */
sess *sess_new(uv_loop_t *loop, struct lws_context *lws, const sess_cfg *cfg,
               const sess_hooks *hooks, void *owner)
{
    static const sess_hooks no_hooks;
    sess *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->lws = lws;
    s->cfg = *cfg;
    s->hooks = hooks ? *hooks : no_hooks;
    s->owner = owner;
    s->tenant = dupstr(cfg->tenant);
    s->user = dupstr(cfg->user);
    s->host = dupstr(cfg->gw_host);
    s->path = dupstr(cfg->gw_path && cfg->gw_path[0] ? cfg->gw_path : "/");
    if (!s->tenant || !s->user || !s->host || !s->path) {
        sess_free(s);
        return NULL;
    }
    if (!s->cfg.ping_ms)
        s->cfg.ping_ms = 25000;
    if (!s->cfg.dead_ms)
        s->cfg.dead_ms = 30000;
    if (!s->cfg.request_timeout_ms)
        s->cfg.request_timeout_ms = 10000;
    /* Our requests must fit the gateway's inbound limit (NOTES §2.1). */
    s->out_codec = s->cfg.codec;
    s->out_codec.max_frame = CODEC_GATEWAY_MAX_IN;
    kk_buf_init(&s->rx, s->cfg.codec.max_frame);
    kk_buf_init(&s->probe_body, 64 * 1024);
    codec_scratch_init(&s->scratch);
    snprintf(s->id, sizeof s->id, "%08x", (unsigned)(((uintptr_t)s >> 4) ^ (uv_hrtime() & 0xffffffffu)));
    s->log.mod = "sess";
    s->log.tenant = s->tenant;
    s->log.user = s->user;
    s->log.platform = cfg->platform_id;
    s->log.sess = s->id;
    s->backoff_step_ms = 1000;
    s->rng = (uint32_t)uv_hrtime() ^ (uint32_t)(uintptr_t)s;
    return s;
}

/* Overwrites and frees the token copy. */
static void token_forget(sess *s)
{
    if (s->token) {
        memset(s->token, 0, strlen(s->token));
        free(s->token);
        s->token = NULL;
    }
}

/* Frees the session; a live socket is detached and killed asynchronously. */
void sess_free(sess *s)
{
    if (!s)
        return;
    sess__drop_conn(s, SESS_R_STOPPED);
    token_forget(s);
    kk_buf_free(&s->rx);
    kk_buf_free(&s->probe_body);
    codec_scratch_free(&s->scratch);
    free(s->tenant);
    free(s->user);
    free(s->host);
    free(s->path);
    free(s);
}

/* ---- state changes -------------------------------------------------------- */

/* Moves to a new state and tells the owner. */
void sess__set_state(sess *s, sess_state to, sess_reason why)
{
    sess_state from = s->state;
    if (from == to)
        return;
    s->state = to;
    if (to == SESS_ONLINE)
        s->online_since_ms = uv_now(s->loop);
    KK_LOG_INFO(&s->log, "state", KK_S("from", sess_state_name(from)), KK_S("to", sess_state_name(to)),
                KK_S("reason", sess_reason_name(why)));
    if (s->hooks.on_state)
        s->hooks.on_state(s->owner, s, from, to, why);
}

/* Fails every pending request with rc (KK_ECANCELED on connection loss). */
static void fail_pending(sess *s, int rc)
{
    kk_view none = { NULL, 0 };
    while (s->pending) {
        sess_pending_req *r = s->pending;
        s->pending = r->next;
        s->npending--;
        r->done(r->ud, s, rc, 0, none, none);
        free(r);
    }
    s->pending_tail = NULL;
}

/* Frees queued outgoing frames. */
static void drop_outq(sess *s)
{
    while (s->outq) {
        sess_frame *f = s->outq;
        s->outq = f->next;
        free(f);
    }
    s->outq_tail = NULL;
    s->outq_bytes = 0;
    s->ping_due = false;
}

/* Detaches from the socket(s): lws kills them asynchronously and their late
 * callbacks find no session. Pending requests are cancelled. */
void sess__drop_conn(sess *s, sess_reason why)
{
    (void)why;
    if (s->wsi) {
        lws_set_opaque_user_data(s->wsi, NULL);
        /* KILL_ASYNC alone waits for lws's next timer, which may be far off
         * without validity timers: the gateway kept a dropped login for
         * seconds (a lease given back must be closed before the next holder
         * logs in). The detached wsi closes at its next writeable callback
         * (sess_lws.c returns -1 there). */
        lws_callback_on_writable(s->wsi);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        s->wsi = NULL;
    }
    if (s->probe) {
        lws_set_opaque_user_data(s->probe, NULL);
        lws_set_timeout(s->probe, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        s->probe = NULL;
    }
    drop_outq(s);
    kk_buf_reset(&s->rx);
    fail_pending(s, KK_ECANCELED);
}

/* Returns a full-jitter delay over the current backoff step and doubles
 * the step (1 s → 60 s, NOTES §5.2). */
unsigned sess_backoff_next(sess *s)
{
    /* xorshift32: jitter needs spread, not cryptographic quality. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    unsigned step = s->backoff_step_ms;
    unsigned delay = step / 4 + s->rng % (step - step / 4 + 1);
    s->backoff_step_ms = step >= 30000 ? 60000 : step * 2;
    return delay;
}

/* Ends the current connection and goes to state `to` (BACKOFF schedules a
 * retry with the next jittered delay). */
void sess__end(sess *s, sess_state to, sess_reason why)
{
    uint64_t now = uv_now(s->loop);
    /* A connection that stayed up 30 s resets the backoff (NOTES §5.2). */
    if (s->state == SESS_ONLINE && now - s->online_since_ms >= 30000)
        s->backoff_step_ms = 1000;
    sess__drop_conn(s, why);
    s->online_since_ms = 0;
    if (to == SESS_BACKOFF)
        s->retry_at_ms = now + sess_backoff_next(s);
    s->last_reason = why;
    sess__set_state(s, to, why);
}

/* Public stop: see sess.h. */
void sess_stop(sess *s, sess_state to, sess_reason why)
{
    if (to == SESS_ONLINE || to == SESS_CONNECTING)
        to = SESS_IDLE;
    sess__end(s, to, why);
}

/* ---- connecting ----------------------------------------------------------- */

/* Appends v percent-encoded (RFC 3986 unreserved kept) to buf. */
static int put_qvalue(kk_buf *b, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                         (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        int rc = unreserved ? kk_buf_append(b, p, 1) : kk_buf_append(b, enc, 3);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Builds the connect path with its query (NOTES §1.1) into b, NUL-ended.
 * The result holds the token: never log it. */
int sess__build_path(const sess *s, const char *token, kk_buf *b)
{
    char num[32];
    char opid[48];
    snprintf(num, sizeof num, "%d", s->cfg.platform_id);
    snprintf(opid, sizeof opid, "%s-%u", s->id, s->attempts);
    const char *sep = strchr(s->path, '?') ? "&" : "?";
    int rc = kk_buf_append(b, s->path, strlen(s->path));
    rc = rc ? rc : kk_buf_append(b, sep, 1);
    rc = rc ? rc : kk_buf_append(b, "sendID=", 7);
    rc = rc ? rc : put_qvalue(b, s->user);
    rc = rc ? rc : kk_buf_append(b, "&platformID=", 12);
    rc = rc ? rc : put_qvalue(b, num);
    rc = rc ? rc : kk_buf_append(b, "&token=", 7);
    rc = rc ? rc : put_qvalue(b, token);
    rc = rc ? rc : kk_buf_append(b, "&sdkType=", 9);
    rc = rc ? rc : put_qvalue(b, s->cfg.codec.sdk == CODEC_SDK_JS ? "js" : "go");
    if (s->cfg.codec.gzip)
        rc = rc ? rc : kk_buf_append(b, "&compression=gzip", 17);
    rc = rc ? rc : kk_buf_append(b, "&operationID=", 13);
    rc = rc ? rc : put_qvalue(b, opid);
    rc = rc ? rc : kk_buf_append(b, "", 1);
    return rc;
}

/* No lws validity timer: the session runs its own heartbeat (sess_tick).
 * lws 4.1 keeps a thread's timers in one sorted list and re-arms a wsi's
 * validity timer on every frame received, an O(logins) insertion per frame:
 * with 18 000 idle logins that alone took ~58 % of a core (perf, docs/
 * benchmarks.md). secs_since_valid_hangup = 0 turns it off. */
static const lws_retry_bo_t sess_no_validity = { .secs_since_valid_ping = 0,
                                                 .secs_since_valid_hangup = 0 };

/* Opens one lws client connection (WebSocket, or the plain-GET verdict
 * probe when probe is true). Returns the wsi or NULL. */
struct lws *sess__open(sess *s, bool probe)
{
    kk_buf path;
    kk_buf_init(&path, 8192);
    if (sess__build_path(s, s->token, &path) < 0) {
        kk_buf_free(&path);
        return NULL;
    }
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", s->host, s->cfg.gw_port);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = s->lws;
    ci.vhost = s->cfg.vhost;
    ci.address = s->host;
    ci.port = s->cfg.gw_port;
    ci.path = (const char *)path.p;
    ci.host = hostport;
    ci.origin = hostport;
    ci.ssl_connection = s->cfg.gw_tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "kkim-gw";
    ci.opaque_user_data = s;
    ci.retry_and_idle_policy = &sess_no_validity;
    if (probe)
        ci.method = "GET";
    /* pwsi makes lws store the wsi before any callback runs, so a callback
     * during the call (an immediate connection error) finds its session. */
    ci.pwsi = probe ? &s->probe : &s->wsi;
    struct lws *r = lws_client_connect_via_info(&ci);
    /* lws copies the path into its header table during the call. */
    memset(path.p, 0, path.len);
    kk_buf_free(&path);
    return r;
}

/* Starts a connection attempt; see sess.h. */
int sess_connect(sess *s, const char *token)
{
    if (s->state != SESS_IDLE && s->state != SESS_BACKOFF)
        return KK_EINVAL;
    token_forget(s);
    s->token = strdup(token ? token : "");
    if (!s->token)
        return KK_ENOMEM;
    s->attempts++;
    s->handshake_failed = false;
    sess__set_state(s, SESS_CONNECTING, SESS_R_NONE);
    s->last_rx_ms = uv_now(s->loop);
    struct lws *w = sess__open(s, false);
    if (s->state != SESS_CONNECTING || s->probe)
        return 0; /* a callback during the call already moved the session on */
    s->wsi = w;
    if (!w) {
        sess__end(s, SESS_BACKOFF, SESS_R_CONNECT_FAILED);
        return KK_EIO;
    }
    return 0;
}

/* True when the owner should start a connection attempt. */
bool sess_due(const sess *s, uint64_t now_ms)
{
    return s->state == SESS_IDLE || (s->state == SESS_BACKOFF && now_ms >= s->retry_at_ms);
}

/* Retry time of a BACKOFF session; see sess.h. */
uint64_t sess_retry_at(const sess *s)
{
    return s->state == SESS_BACKOFF ? s->retry_at_ms : UINT64_MAX;
}

/* ---- requests ------------------------------------------------------------- */

/* Queues one encoded frame (with LWS_PRE headroom) for writing. */
static int queue_frame(sess *s, const kk_buf *enc)
{
    sess_frame *f = malloc(sizeof *f + LWS_PRE + enc->len);
    if (!f)
        return KK_ENOMEM;
    f->next = NULL;
    f->len = enc->len;
    if (enc->len)
        memcpy(f->bytes + LWS_PRE, enc->p, enc->len);
    if (s->outq_tail)
        s->outq_tail->next = f;
    else
        s->outq = f;
    s->outq_tail = f;
    s->outq_bytes += enc->len;
    lws_callback_on_writable(s->wsi);
    return 0;
}

/* Encodes and queues a request; see sess.h. */
int sess_request(sess *s, int32_t req_identifier, const uint8_t *data, size_t len,
                 unsigned timeout_ms, sess_done_fn done, void *ud)
{
    if (s->state != SESS_ONLINE || !s->wsi)
        return KK_EINVAL;
    char incr[24];
    char opid[48];
    uint64_t n = ++s->next_incr;
    snprintf(incr, sizeof incr, "%llu", (unsigned long long)n);
    snprintf(opid, sizeof opid, "%s-%llu", s->id, (unsigned long long)n);
    codec_req req = {
        .req_identifier = req_identifier,
        .token = s->cfg.fill_req_token ? kk_view_str(s->token) : kk_view_str(NULL),
        .send_id = kk_view_str(s->user),
        .operation_id = kk_view_str(opid),
        .msg_incr = kk_view_str(incr),
        .data = { data, len },
    };
    kk_buf enc;
    kk_buf_init(&enc, CODEC_GATEWAY_MAX_IN);
    int rc = codec_encode_req(&s->out_codec, &req, &enc);
    if (rc < 0) {
        kk_buf_free(&enc);
        return rc;
    }
    sess_pending_req *r = calloc(1, sizeof *r);
    if (!r) {
        kk_buf_free(&enc);
        return KK_ENOMEM;
    }
    rc = queue_frame(s, &enc);
    kk_buf_free(&enc);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->incr = n;
    r->req_identifier = req_identifier;
    /* Sent while reads are stopped: its clock starts when they resume. */
    r->deadline_ms = (s->rx_paused ? s->rx_paused_ms : uv_now(s->loop)) +
                     (timeout_ms ? timeout_ms : s->cfg.request_timeout_ms);
    r->done = done;
    r->ud = ud;
    if (s->pending_tail)
        s->pending_tail->next = r;
    else
        s->pending = r;
    s->pending_tail = r;
    s->npending++;
    s->frames_out++;
    if (s->cfg.frames_out)
        (*s->cfg.frames_out)++;
    return 0;
}

/* Removes and returns the pending request with this msgIncr, or NULL. */
sess_pending_req *sess__take_pending(sess *s, kk_view incr)
{
    if (incr.len == 0 || incr.len > 20)
        return NULL;
    uint64_t n = 0;
    for (size_t i = 0; i < incr.len; i++) {
        if (incr.p[i] < '0' || incr.p[i] > '9')
            return NULL;
        n = n * 10 + (uint64_t)(incr.p[i] - '0');
    }
    sess_pending_req *prev = NULL;
    for (sess_pending_req *r = s->pending; r; prev = r, r = r->next) {
        if (r->incr != n)
            continue;
        if (prev)
            prev->next = r->next;
        else
            s->pending = r->next;
        if (s->pending_tail == r)
            s->pending_tail = prev;
        s->npending--;
        return r;
    }
    return NULL;
}

/* ---- heartbeat and timeouts ----------------------------------------------- */

/* 1 Hz duties: ping every ping_ms, declare the connection dead after dead_ms
 * of silence, time out requests (a timeout means a stuck connection:
 * NOTES §2.6). */
void sess_tick(sess *s, uint64_t now_ms)
{
    if (s->state == SESS_CONNECTING && now_ms - s->last_rx_ms > s->cfg.dead_ms) {
        sess__end(s, SESS_BACKOFF, SESS_R_CONNECT_FAILED);
        return;
    }
    if (s->state != SESS_ONLINE)
        return;
    if (!s->rx_paused && now_ms - s->last_rx_ms > s->cfg.dead_ms) {
        KK_LOG_WARN(&s->log, "dead", KK_U("silentMs", now_ms - s->last_rx_ms));
        sess__end(s, SESS_BACKOFF, SESS_R_DEAD);
        return;
    }
    for (sess_pending_req *r = s->pending; r && !s->rx_paused; r = r->next) {
        if (now_ms >= r->deadline_ms) {
            KK_LOG_WARN(&s->log, "request_timeout", KK_I("reqIdentifier", r->req_identifier));
            sess__end(s, SESS_BACKOFF, SESS_R_TIMEOUT);
            return;
        }
    }
    if (now_ms - s->last_ping_ms >= s->cfg.ping_ms) {
        s->last_ping_ms = now_ms;
        /* Nothing queued: write the ping now. Asking lws for a writeable
         * callback costs two epoll_ctl (POLLOUT on, then off) per ping, the
         * bulk of an idle login's CPU (docs/benchmarks.md). lws keeps the
         * unsent rest of a short write; while it holds one, a new write
         * must wait for the writeable callback (lws_partial_buffered), and
         * so does a ping behind queued frames. */
        if (s->outq || lws_partial_buffered(s->wsi)) {
            s->ping_due = true;
            lws_callback_on_writable(s->wsi);
        } else if (sess__write_ping(s, s->wsi) < 0) {
            sess__end(s, SESS_BACKOFF, SESS_R_CLOSED);
        }
    }
}

/* Stops/resumes reading (backpressure, ingest budget). While paused the
 * dead-connection and request-timeout checks are suspended, and a resume
 * moves every pending deadline by the pause: the wait is ours, not the
 * gateway's (answers sit unread behind it). */
void sess_pause_rx(sess *s, bool paused)
{
    if (s->rx_paused == paused)
        return;
    s->rx_paused = paused;
    if (s->wsi)
        lws_rx_flow_control(s->wsi, paused ? 0 : 1);
    uint64_t now = uv_now(s->loop);
    if (paused) {
        s->rx_paused_ms = now;
        return;
    }
    s->last_rx_ms = now;
    for (sess_pending_req *r = s->pending; r; r = r->next)
        r->deadline_ms += now - s->rx_paused_ms;
}

/* ---- accessors ------------------------------------------------------------ */

sess_state sess_get_state(const sess *s) { return s->state; }
const char *sess_user(const sess *s) { return s->user; }
int sess_platform(const sess *s) { return s->cfg.platform_id; }
unsigned sess_pending(const sess *s) { return s->npending; }
void sess_set_data(sess *s, void *data) { s->data = data; }
void *sess_get_data(const sess *s) { return s->data; }

/* Milliseconds online, 0 when not online. */
uint64_t sess_online_ms(const sess *s, uint64_t now_ms)
{
    return s->state == SESS_ONLINE ? now_ms - s->online_since_ms : 0;
}
