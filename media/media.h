/* media.h — the WebRTC recording endpoint (contract).
 *
 * What it does: answers a caller's SDP offer, or makes its own receive-only
 * offer and takes the answer, terminates ICE (libnice, full ICE, UDP only),
 * DTLS (OpenSSL; answering we are `active`, offering `actpass` and then
 * whatever the answer leaves us; remote fingerprint verified) and SRTP (libsrtp2, AES-GCM and AES-CM profiles), receives RTP
 * (jitter buffer, NACK/RTX, PLI until the first keyframe, receiver reports,
 * RTCP SR based A/V sync), depacketizes Opus/VP8/VP9/H264 and muxes them
 * without transcoding into a WebM (VP8/VP9+Opus) or Matroska (H264+Opus)
 * file written live, plus a sidecar JSON with the file's sha256
 * (design §7).
 *
 * What it never does: it knows nothing of sessions, tenants' policies,
 * Redis or the gateway (design §2). It is given an offer and callbacks; it
 * gives back an answer, candidates, state changes and a finished recording.
 *
 * Threads: a media_pool runs N media threads, each a GLib main context. A
 * call lives on one media thread from offer to final file. Every media_*
 * function below may be called from any thread: it only posts a message to
 * the call's media thread (g_main_context_invoke) and returns. Callbacks run
 * ON THE MEDIA THREAD: they must copy what they need and hand it to their own
 * loop (uv_async_send); they must not block and must not call media_pool_free.
 *
 * Ownership: media_call_new returns a reference owned by the caller, dropped
 * with media_call_release. After on_finished (always the last callback, and
 * always delivered exactly once for a call whose media_call_new succeeded)
 * further media_call_* requests are ignored. Strings passed in are copied.
 */
#ifndef KK_MEDIA_H
#define KK_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_err.h"

/* Limits on hostile input, each with its reason. */
#define MEDIA_MAX_SDP_LEN 65536        /* Chromium offers are ~6 KiB; 10x margin */
#define MEDIA_MAX_REMOTE_CANDIDATES 64 /* a flood of candidates fails the call */
#define MEDIA_MAX_CANDIDATE_LEN 512    /* one a=candidate line */

/* Pool-wide configuration (design §8.1 "media"). Strings are copied. */
typedef struct media_cfg {
    int threads;             /* media threads; <= 0 means 1 */
    uint16_t port_min;       /* ICE UDP port range; 0/0 = any */
    uint16_t port_max;
    const char *public_ip;   /* 1:1 NAT: advertise this address for host candidates */
    const char *stun_host;   /* IP literal of a STUN server, or NULL */
    uint16_t stun_port;
    const char *turn_host;   /* IP literal of a TURN server (UDP), or NULL */
    uint16_t turn_port;
    const char *turn_user;
    const char *turn_pass;
    bool add_loopback;       /* add 127.0.0.1 as a local address (tests, one box) */
    const char *recordings;  /* root directory of recordings (design §7 paths) */
    int media_timeout_ms;    /* no RTP for this long after connect → ended; <= 0: 10000 */
    int connect_timeout_ms;  /* ICE+DTLS not up within this → failed; <= 0: 20000 */
    int max_duration_ms;     /* <= 0: unlimited */
    /* Tests only: impair received RTP on the way in (before SRTP), to
     * exercise NACK/RTX on loopback. 0 in production. */
    int test_drop_permille;
    int test_reorder_permille;
} media_cfg;

/* Why a call ended. "Failed" reasons are the ones media_end_is_failure says. */
typedef enum media_end_reason {
    MEDIA_END_NONE = 0,
    MEDIA_END_HANGUP,        /* hungUp from either side (signaling) */
    MEDIA_END_CANCEL,        /* caller cancelled (signaling) */
    MEDIA_END_REJECT,        /* rejected (signaling) */
    MEDIA_END_SHUTDOWN,      /* process is stopping (SIGTERM) */
    MEDIA_END_MAX_DURATION,  /* cfg.max_duration_ms reached */
    MEDIA_END_MEDIA_TIMEOUT, /* no RTP for cfg.media_timeout_ms */
    MEDIA_END_ICE_FAILED,    /* ICE failed or never connected */
    MEDIA_END_CONSENT_LOST,  /* RFC 7675 consent expired */
    MEDIA_END_DTLS_FAILED,   /* handshake failed or DTLS garbage */
    MEDIA_END_BAD_FINGERPRINT, /* peer certificate does not match the SDP */
    MEDIA_END_BAD_OFFER,     /* malformed SDP */
    MEDIA_END_NO_CODEC,      /* the offer has nothing we can record */
    MEDIA_END_CANDIDATE_FLOOD, /* more than MEDIA_MAX_REMOTE_CANDIDATES */
    MEDIA_END_INTERNAL,      /* our own failure (disk, muxer, allocation) */
} media_end_reason;

/* Returns the stable snake_case name of a reason ("ice_failed"), never NULL. */
const char *media_end_reason_name(media_end_reason r);

/* Returns true for reasons that mean the call failed (not a normal end). */
bool media_end_is_failure(media_end_reason r);

/* Per-call parameters. Strings are copied by media_call_new. */
typedef struct media_call_cfg {
    const char *offer_sdp;  /* the caller's offer; NULL: we offer (on_offer) */
    bool video;             /* when we offer: a video m-line besides audio */
    const char *tenant;     /* for the file path and sidecar */
    const char *room_id;
    const char *caller;
    const char *callee;
} media_call_cfg;

typedef enum media_call_state {
    MEDIA_STATE_CONNECTED = 1,     /* ICE and DTLS up, SRTP keys installed */
    MEDIA_STATE_MEDIA_STARTED = 2, /* first media written to the file */
} media_call_state;

/* What a call leaves behind; valid only during on_finished. */
typedef struct media_call_result {
    media_end_reason reason;
    bool failed;              /* media_end_is_failure(reason) */
    const char *file;         /* media file path, NULL if none was written */
    const char *sidecar;      /* sidecar JSON path, NULL if none */
    const char *sha256;       /* hex digest of the file, NULL if none */
    int64_t duration_ms;      /* media duration in the file */
} media_call_result;

/* Callbacks, all run on the call's media thread (see the top comment). */
typedef struct media_call_cbs {
    void *ud;
    /* Our SDP answer (NUL-terminated); all our candidates are in it, and
     * each is also given to on_candidate. */
    void (*on_answer)(void *ud, const char *sdp);
    /* Our own offer (offer_sdp NULL), with all our candidates, each also
     * given to on_candidate; the answer goes to media_call_set_answer. */
    void (*on_offer)(void *ud, const char *sdp);
    /* One local candidate ("candidate:..." without "a="), mid of the
     * bundle's first m-line; cand == NULL means gathering is complete. */
    void (*on_candidate)(void *ud, const char *cand, const char *mid);
    void (*on_state)(void *ud, media_call_state st);
    /* Last callback of a call. */
    void (*on_finished)(void *ud, const media_call_result *res);
} media_call_cbs;

typedef struct media_pool media_pool;
typedef struct media_call media_call;

/* Starts cfg->threads media threads and generates the DTLS certificate.
 * Returns 0 and *out, or a negative kk_err (nothing started). */
int media_pool_new(const media_cfg *cfg, media_pool **out);

/* Ends every call with MEDIA_END_SHUTDOWN, waits for their files to be
 * finalized (on_finished delivered), joins the threads and frees the pool.
 * A call whose start was still queued is finished on the calling thread.
 * Must not be called from a media thread. NULL is a no-op. */
void media_pool_free(media_pool *pool);

/* Hex SHA-256 fingerprint of our certificate ("AB:CD:..."), pool-owned. */
const char *media_pool_fingerprint(const media_pool *pool);

/* Creates a call on the least loaded media thread. Validates the offer's
 * size here; the rest happens on the media thread, which reports an answer
 * or a failure (on_finished with BAD_OFFER/NO_CODEC). Returns 0 and a
 * caller-owned reference in *out, or a negative kk_err and never calls a
 * callback. */
int media_call_new(media_pool *pool, const media_call_cfg *cfg, const media_call_cbs *cbs,
                   media_call **out);

/* The peer's answer to our offer. Ignored unless the call offered and has
 * no answer yet; a malformed or unusable one ends the call (BAD_OFFER,
 * NO_CODEC). Candidates added before it are kept until it comes. */
void media_call_set_answer(media_call *call, const char *sdp);

/* A new offer from the peer of a call we answered (it replaced a track:
 * new m-line, new SSRC). Answered through on_answer with the same ICE and
 * DTLS; ignored when it changes those or a codec, or when we offered. */
void media_call_renegotiate(media_call *call, const char *sdp);

/* Adds one trickled remote candidate ("candidate:..." with or without "a=";
 * NULL or "" means end of candidates). More than MEDIA_MAX_REMOTE_CANDIDATES
 * fails the call with MEDIA_END_CANDIDATE_FLOOD. */
void media_call_add_remote_candidate(media_call *call, const char *cand);

/* Ends the call (finalizes file and sidecar, then on_finished). */
void media_call_end(media_call *call, media_end_reason reason);

/* Drops the caller's reference. NULL is a no-op. */
void media_call_release(media_call *call);

#endif
