/* media_call.h — the call object and media threads, inside media/.
 *
 * A media_call is touched only on its worker's thread, except for the
 * refcount (atomic) and the immutable fields set in media_call_new. Other
 * threads reach it only through messages posted with mworker_post.
 */
#ifndef KK_MEDIA_CALL_H
#define KK_MEDIA_CALL_H

#include <glib.h>
#include <nice/agent.h>

#include "media.h"
#include "media_int.h"
#include "media_rec.h"
#include "media_sec.h"

typedef struct mworker {
    struct media_pool *pool;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    gint ncalls;             /* atomic: live calls, for placement */
    GList *calls;            /* media thread only */
    bool stopping;           /* media thread only: the pool is being freed */
} mworker;

struct media_pool {
    media_cfg cfg;           /* strings below are owned copies */
    char *public_ip, *stun_host, *turn_host, *turn_user, *turn_pass, *recordings;
    mdtls_ctx *dtls;
    int nworkers;
    mworker *workers;
};

/* One received stream (audio or video). */
typedef struct mtrack {
    bool on;
    const char *kind;
    msdp_codec codec;
    int pt, rtx_pt;
    uint32_t clock;
    uint32_t ssrc;
    bool have_ssrc;
    mjb jb;
    mdepack dp;
    /* receiver statistics for RR */
    uint32_t base_ext;       /* first extended seq */
    uint32_t expected_prior, received_prior;
    double jitter;
    int64_t transit_prev;
    bool transit_set;
    uint32_t lsr;            /* middle 32 bits of the last SR's NTP */
    int64_t sr_local_ms;     /* when it arrived */
    /* RTP clock → call time */
    bool have_sr;
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    bool base_set;
    int64_t base_wall_ms;
    uint32_t base_rtp;
    int64_t ts_ext;          /* RTP ticks since the first frame (unwrapped) */
    uint32_t ts_last;
    bool ts_set;
    int64_t corr;            /* applied SR correction, slewed */
    /* keyframes */
    bool need_key;
    int64_t last_pli_ms;
    uint64_t frames_written;
} mtrack;

struct media_call {
    gint refs;               /* atomic */
    mworker *w;
    media_call_cbs cbs;
    char *offer, *tenant, *room_id, *caller, *callee; /* offer: freed once parsed (mcall_start) */
    /* media thread only from here */
    bool finished;
    bool offerer;            /* we offered (immutable, set in media_call_new) */
    bool offer_video;
    bool have_answer;        /* offerer: the answer was applied */
    GPtrArray *early_cands;  /* offerer: remote candidates before the answer */
    GPtrArray *early_dtls;   /* GBytes: DTLS datagrams before ICE was ready */
    uint64_t sess_id;        /* o= of our descriptions, kept across renegotiations */
    msdp_offer *sdp;         /* the remote description while it is applied, then NULL */
    char remote_ufrag[MSDP_TOKEN], remote_pwd[MSDP_TOKEN * 2], remote_fp[128]; /* kept from it */
    bool remote_done;        /* answerer: the offer's ICE side is applied */
    msdp_choice ch;
    NiceAgent *agent;
    guint stream_id;
    bool ice_ready, ever_ready, answered;
    int nremote;
    mdtls *dtls;
    msrtp *srtp;
    bool connected, media_started;
    uint32_t our_ssrc;
    mtrack tr[2];            /* 0 audio, 1 video */
    rec *rec;
    char path[4096];
    int64_t created_ms, connected_ms, last_rtp_ms, last_rr_ms;
    int64_t started_unix_ms;
    bool have_offset;
    int64_t ntp_offset_ms;   /* local ms = sender NTP ms + offset */
    GSource *tick;
    uint64_t srtp_errors, rtp_errors;
    uint32_t rng;            /* test impairment PRNG (xorshift32) */
    uint8_t *held;           /* test impairment: one packet held back */
    size_t held_len;
};

/* Posts fn(call, arg) to the call's media thread; holds a call reference
 * until it ran. arg (may be NULL) is freed with g_free after. */
void mworker_post(media_call *call, void (*fn)(media_call *, void *), void *arg);
/* Reference counting (any thread). */
void mcall_ref(media_call *call);
void mcall_unref(media_call *call);

/* call.c — media thread. */
void mcall_start(media_call *call, void *arg);
void mcall_add_candidate(media_call *call, void *arg);
void mcall_set_answer(media_call *call, void *arg);
void mcall_renegotiate(media_call *call, void *arg);
void mcall_end_msg(media_call *call, void *arg);
void mcall_finish(media_call *call, media_end_reason reason);
/* Sends a datagram on the selected pair. */
void mcall_send(media_call *call, const uint8_t *p, size_t len);

/* call_media.c — media thread. */
void mcall_media_init(media_call *call);
void mcall_recv(media_call *call, uint8_t *p, size_t len);
gboolean mcall_tick(gpointer data);
void mcall_media_close(media_call *call);
int64_t mcall_now_ms(void);

#endif
