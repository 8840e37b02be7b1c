/* media_int.h — helpers shared inside media/ (never by other modules).
 *
 * Pure pieces (SDP, RTP/RTCP, jitter buffer, depacketizers) do no I/O and
 * hold no globals; they are unit-tested and fuzzed on their own. The stateful
 * pieces (DTLS, SRTP, recorder, sidecar) belong to one call on one media
 * thread.
 */
#ifndef KK_MEDIA_INT_H
#define KK_MEDIA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_err.h"
#include "media.h"

/* ---- SDP (sdp.c) ------------------------------------------------------- */

#define MSDP_MAX_MLINES 8      /* Chromium offers 2-3; more is hostile */
#define MSDP_MAX_PTS 32        /* payload types per m-line (Chromium: ~20 video) */
#define MSDP_MAX_CANDS 16      /* candidates kept from the offer itself */
#define MSDP_MAX_LINE 2048     /* one SDP line */
#define MSDP_TOKEN 64          /* mid, ufrag, codec names */
#define MSDP_FMTP 256          /* one fmtp value */

typedef enum msdp_codec {
    MSDP_CODEC_NONE = 0,
    MSDP_CODEC_OPUS,
    MSDP_CODEC_VP8,
    MSDP_CODEC_VP9,
    MSDP_CODEC_H264,
    MSDP_CODEC_RTX,
    MSDP_CODEC_OTHER,
} msdp_codec;

typedef struct msdp_pt {
    int pt;
    msdp_codec codec;
    char name[MSDP_TOKEN];
    uint32_t clock;
    int channels;
    char fmtp[MSDP_FMTP];
    int apt;                /* RTX: associated payload type, else -1 */
    bool nack, pli;
} msdp_pt;

typedef struct msdp_mline {
    char kind[16];          /* audio, video, application, ... */
    char proto[MSDP_TOKEN];
    char fmt[MSDP_TOKEN];   /* first format token, echoed when rejecting */
    int port;
    char mid[MSDP_TOKEN];
    bool rtcp_mux;
    int npts;
    msdp_pt pts[MSDP_MAX_PTS];
} msdp_mline;

typedef struct msdp_offer {
    char ufrag[MSDP_TOKEN];
    char pwd[MSDP_TOKEN * 2];
    char fp_alg[16];
    char fingerprint[128];  /* "AB:CD:..." */
    char setup[16];
    int nmlines;
    msdp_mline m[MSDP_MAX_MLINES];
    int ncands;
    char cands[MSDP_MAX_CANDS][MEDIA_MAX_CANDIDATE_LEN];
} msdp_offer;

/* What we accept: index of the m-line and chosen payload types (-1 none). */
typedef struct msdp_choice {
    int audio_m, audio_pt;
    int video_m, video_pt, video_rtx_pt;
    msdp_codec video_codec;
    bool video_nack;
} msdp_choice;

/* Parses an offer. KK_EPROTO for malformed or incomplete SDP (missing
 * ufrag/pwd/fingerprint), KK_ETOOBIG past a limit. */
int msdp_parse(const char *sdp, size_t len, msdp_offer *out);

/* Parses the answer to our own offer: like msdp_parse, but a=setup must be
 * active or passive (absent means active); KK_EPROTO otherwise. */
int msdp_parse_answer(const char *sdp, size_t len, msdp_offer *out);

/* Picks Opus and the first recordable video codec in offer order.
 * KK_ENOTFOUND when nothing can be recorded. */
int msdp_choose(const msdp_offer *o, msdp_choice *ch);

/* Local parameters of an answer. */
typedef struct msdp_local {
    const char *ufrag, *pwd, *fingerprint;
    const char *const *cands; /* "candidate:..." lines */
    int ncands;
    uint64_t sess_id;
} msdp_local;

/* Writes the answer into buf (NUL-terminated). KK_ETOOBIG if cap is short. */
int msdp_answer(const msdp_offer *o, const msdp_choice *ch, const msdp_local *l, char *buf,
                size_t cap);

/* Writes our own receive-only offer into buf (NUL-terminated): Opus, and
 * VP8 with RTX when video; DTLS setup actpass; l->cands in the first
 * m-line. Returns the length, or KK_ETOOBIG if cap is short. */
int msdp_write_offer(const msdp_local *l, bool video, char *buf, size_t cap);

/* ---- RTP / RTCP (rtp.c) ------------------------------------------------ */

/* RFC 7983 first-byte demultiplexing. */
typedef enum mrtp_kind { MRTP_OTHER, MRTP_STUN, MRTP_DTLS, MRTP_RTP, MRTP_RTCP } mrtp_kind;
mrtp_kind mrtp_classify(const uint8_t *p, size_t len);

typedef struct mrtp_hdr {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts, ssrc;
    size_t hdr_len;         /* payload offset */
    size_t payload_len;     /* padding removed */
} mrtp_hdr;

/* Parses an RTP header with CSRCs, extension and padding, every offset
 * checked. KK_EPROTO for bad version/lengths, KK_EAGAIN if truncated. */
int mrtp_parse(const uint8_t *p, size_t len, mrtp_hdr *h);

/* One SR found in a compound packet. */
typedef struct mrtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;           /* 32.32 fixed point */
    uint32_t rtp_ts;
} mrtcp_sr;

/* Walks a compound RTCP packet; calls on_sr for each SR and counts BYEs.
 * Returns the number of packets, or KK_EPROTO on a malformed one. */
int mrtcp_parse(const uint8_t *p, size_t len, void (*on_sr)(void *ud, const mrtcp_sr *sr),
                void *ud, int *byes);

/* A report block for one received SSRC. */
typedef struct mrtcp_rb {
    uint32_t ssrc;
    uint8_t fraction;
    int32_t lost;           /* cumulative, 24-bit signed */
    uint32_t ext_max_seq, jitter, lsr, dlsr;
} mrtcp_rb;

/* Builders append one RTCP packet at buf[*off], return KK_ETOOBIG if cap is short. */
int mrtcp_put_rr(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, const mrtcp_rb *rb,
                 int nrb);
int mrtcp_put_pli(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, uint32_t media);
/* Generic NACK for the given sequence numbers (packed into PID+BLP pairs). */
int mrtcp_put_nack(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, uint32_t media,
                   const uint16_t *seqs, int n);

/* ---- depacketizers (depack.c) ----------------------------------------- */

#define MDEPACK_MAX_FRAME (4u << 20) /* one video frame; 4 MiB ≫ 1080p keyframe */

typedef struct mdepack {
    msdp_codec codec;
    uint8_t *buf;           /* frame being assembled */
    size_t len, cap;
    uint32_t ts;
    bool active;            /* a frame is being assembled */
    bool broken;            /* a packet of this frame was lost */
    bool key;
    int width, height;      /* from the last keyframe, 0 unknown */
    uint8_t sps[256], pps[256];
    size_t sps_len, pps_len;
    bool have_params;       /* H264: SPS and PPS seen */
    bool in_fu;             /* H264: inside an FU-A */
    bool lost_before;       /* a packet was lost between frames */
    uint64_t frames, dropped; /* completed / dropped (broken) frames */
} mdepack;

/* A finished frame; data valid until the next mdepack_push. */
typedef struct mdepack_frame {
    const uint8_t *data;
    size_t len;
    uint32_t ts;
    bool key;
} mdepack_frame;

void mdepack_init(mdepack *d, msdp_codec codec);
void mdepack_close(mdepack *d);
/* Marks that packets were lost before the next one (drops the frame). */
void mdepack_lost(mdepack *d);
/* Pushes one RTP payload. Returns 1 and *f when a frame is complete, 0 when
 * more is needed, KK_EPROTO for a malformed payload (the frame is dropped),
 * KK_ETOOBIG past MDEPACK_MAX_FRAME. */
int mdepack_push(mdepack *d, const uint8_t *p, size_t len, uint32_t ts, bool marker,
                 mdepack_frame *f);
/* Reads width/height of a VP8 keyframe; false if not a keyframe. */
bool mdepack_vp8_dims(const uint8_t *f, size_t len, int *w, int *h);

/* ---- jitter buffer with NACK (jb.c) ----------------------------------- */

#define MJB_SLOTS 512          /* ~1.7 s of 480 kbit/s video at 1200 B/packet */
#define MJB_MAX_PKT 1500

typedef struct mjb_pkt {
    uint8_t *data;
    uint16_t len;
    uint32_t arrival_ms;
    uint32_t nack_ms;       /* when last NACKed, 0 never */
    uint8_t nacks;
} mjb_pkt;

typedef struct mjb {
    mjb_pkt slot[MJB_SLOTS];
    bool started;
    uint32_t head;          /* extended seq of the next packet to emit */
    uint32_t top;           /* highest extended seq seen + 1 */
    uint32_t wait_ms;       /* how long to wait for a missing packet */
    uint32_t missing_since; /* when head became missing */
    uint64_t received, lost, recovered, late, gaps;
    uint32_t max_missing;   /* packets we are waiting for */
} mjb;

void mjb_init(mjb *j, uint32_t wait_ms);
void mjb_close(mjb *j);
/* Inserts a packet (copied). Returns 1 inserted, 0 duplicate/late, or
 * KK_ETOOBIG for a packet over MJB_MAX_PKT. recovered marks an RTX repair. */
int mjb_put(mjb *j, uint16_t seq, const uint8_t *p, size_t len, uint32_t now_ms, bool recovered);
/* Pops the next packet in order into out (cap MJB_MAX_PKT). Returns its
 * length, 0 if nothing is ready, or -1 meaning "one packet was given up
 * (lost)"; *seq is set in both cases. */
int mjb_pop(mjb *j, uint32_t now_ms, uint8_t *out, uint16_t *seq);
/* Collects missing seqs due for a NACK (retry every rtt_ms, 3 times). */
int mjb_nacks(mjb *j, uint32_t now_ms, uint32_t rtt_ms, uint16_t *seqs, int max);

#endif
