/* sess.h — one login to the KKIM gateway: a WebSocket client session.
 *
 * A session is one (tenant, user, platformID) login. It owns its socket (an
 * lws client connection on the shared foreign libuv loop), its codec choice
 * (go/js, gzip: NOTES.md §2), its heartbeat (a WebSocket ping every 25 s,
 * dead after 30 s without any inbound frame: NOTES.md §4.1), its request
 * table (msgIncr → completion, with a timeout: §2.6) and its reconnect
 * backoff (exponential with full jitter, 1 s → 60 s, reset only after 30 s
 * online: §5.2).
 *
 * What it never does: resync, ordering or Redis. Pushes, kicks, logouts and
 * state changes go to the owner (the tenant) through sess_hooks; the owner
 * decides. Tokens come from the owner at each connect attempt and never
 * reach a log line.
 *
 * Threading: loop thread only (lws is not thread-safe, platform-notes §3).
 * Ownership: the owner creates with sess_new and destroys with sess_free;
 * sess_free on a connected session closes the socket first and completes
 * every pending request with KK_ECANCELED (the completion is called, then
 * never again).
 */
#ifndef KK_SESS_H
#define KK_SESS_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "codec.h"
#include "log.h"

struct lws_context;
struct lws_vhost;
typedef struct uv_loop_s uv_loop_t;

typedef enum sess_state {
    SESS_IDLE = 0,    /* created or stopped; not trying */
    SESS_CONNECTING,  /* TCP + WebSocket handshake in progress */
    SESS_ONLINE,      /* upgraded; requests flow */
    SESS_BACKOFF,     /* waiting before the next attempt */
    SESS_PARKED,      /* needs outside action: kicked too often, token rejected, logged out */
    SESS_STATE_COUNT,
} sess_state;

/* Why a connection ended or a handshake failed; the owner's policy input. */
typedef enum sess_reason {
    SESS_R_NONE = 0,
    SESS_R_CONNECT_FAILED, /* TCP refused/unreachable, TLS error */
    SESS_R_HANDSHAKE,      /* non-101 answer without a usable verdict */
    SESS_R_TOKEN_EXPIRED,  /* verdict 1001 / 1501 */
    SESS_R_TOKEN_INVALID,  /* verdict 1002 / 1502-1507 */
    SESS_R_NO_USER,        /* verdict 1003 */
    SESS_R_OVERLOAD,       /* verdict 1601 */
    SESS_R_BAD_ARGS,       /* verdict 1602 */
    SESS_R_CLOSED,         /* the gateway closed an online connection */
    SESS_R_DEAD,           /* 30 s without any inbound frame */
    SESS_R_PROTOCOL,       /* undecodable frame from the gateway: we reset */
    SESS_R_TIMEOUT,        /* a request timed out: the connection is stuck */
    SESS_R_KICKED,         /* 2002 */
    SESS_R_LOGOUT,         /* 2003 */
    SESS_R_STOPPED,        /* sess_stop / sess_free */
    SESS_R_COUNT,
} sess_reason;

const char *sess_state_name(sess_state st);
const char *sess_reason_name(sess_reason r);

typedef struct sess sess;

/* Completion of a request: rc is 0 with the gateway's errCode/errMsg/data
 * (data borrowed for the call only), or a negative kk_err (KK_ECANCELED when
 * the connection died or the session was freed, KK_EAGAIN on timeout). */
typedef void (*sess_done_fn)(void *ud, sess *s, int rc, int64_t err_code, kk_view err_msg,
                             kk_view data);

/* What the session reports to its owner. Any hook may be NULL. */
typedef struct sess_hooks {
    /* State changed; reason says why (SESS_R_NONE for normal progress). */
    void (*on_state)(void *owner, sess *s, sess_state from, sess_state to, sess_reason why);
    /* A frame without a pending request: 2001 pushes, 1004 unsolicited
     * signaling, unknown identifiers. data is borrowed for the call. */
    void (*on_unsolicited)(void *owner, sess *s, int32_t req_identifier, kk_view data);
} sess_hooks;

/* Where and how to connect; strings are copied by sess_new. */
typedef struct sess_cfg {
    struct lws_vhost *vhost; /* client vhost whose protocol list has sess_lws_protocol() */
    const char *tenant;
    const char *user;
    int platform_id;
    const char *gw_host;    /* IP literal (resolve names before: no blocking) */
    int gw_port;
    const char *gw_path;    /* base path, "/" by default */
    bool gw_tls;            /* wss:// */
    codec_cfg codec;        /* sdk, gzip, frame limits */
    bool fill_req_token;    /* Req.token filled (NOTES §2.2) */
    unsigned ping_ms;       /* default 25 000 */
    unsigned dead_ms;       /* default 30 000 */
    unsigned request_timeout_ms; /* default 10 000 */
    uint64_t *frames_in;    /* owner's counters, incremented per message (may be NULL) */
    uint64_t *frames_out;
} sess_cfg;

/* Creates an idle session. Returns NULL on allocation failure. */
sess *sess_new(uv_loop_t *loop, struct lws_context *lws, const sess_cfg *cfg,
               const sess_hooks *hooks, void *owner);
/* Closes (if connected), cancels pending requests and frees. NULL is fine. */
void sess_free(sess *s);

/* Starts a connection attempt now with this token (copied, never logged).
 * Only from IDLE or BACKOFF. */
int sess_connect(sess *s, const char *token);
/* Drops the connection (if any) and goes to the given state (IDLE, BACKOFF
 * with delay_ms, or PARKED). Pending requests complete with KK_ECANCELED. */
void sess_stop(sess *s, sess_state to, sess_reason why);

/* Sends a request; done is called exactly once unless this returns < 0.
 * KK_ETOOBIG when the encoded frame would pass the gateway's 51 200-byte
 * limit, KK_EINVAL when not online. */
int sess_request(sess *s, int32_t req_identifier, const uint8_t *data, size_t len,
                 unsigned timeout_ms, sess_done_fn done, void *ud);

/* Stops or resumes reading from the socket (backpressure: Redis is slow;
 * the tenant's ingest budget is spent). While stopped, neither silence nor
 * a late answer ends the connection; a resume moves the pending requests'
 * deadlines by the time reads were stopped. */
void sess_pause_rx(sess *s, bool paused);

/* Called by the owner's 1 Hz sweep: heartbeats, dead-connection detection,
 * request timeouts. */
void sess_tick(sess *s, uint64_t now_ms);

sess_state sess_get_state(const sess *s);
const char *sess_user(const sess *s);
int sess_platform(const sess *s);
/* The next backoff delay in ms (full jitter over the current step). */
unsigned sess_backoff_next(sess *s);
/* Milliseconds since the current connection came online (0 if not online). */
uint64_t sess_online_ms(const sess *s, uint64_t now_ms);
/* Number of requests waiting for an answer. */
unsigned sess_pending(const sess *s);
/* Owner's per-session pointer (set by the owner, untouched by sess). */
void sess_set_data(sess *s, void *data);
void *sess_get_data(const sess *s);

/* Sessions ready to (re)connect: BACKOFF sessions whose delay has passed,
 * and IDLE ones. The owner's login-rate limiter calls sess_connect on them. */
bool sess_due(const sess *s, uint64_t now_ms);
/* When a BACKOFF session becomes due; UINT64_MAX in every other state. */
uint64_t sess_retry_at(const sess *s);

/* The lws protocol of gateway connections (name "kkim-gw"); the app puts a
 * copy in the context's protocol list before the terminator. */
struct lws_protocols;
const struct lws_protocols *sess_lws_protocol(void);

#endif
