/* call_media.c — the receive path of a call on its media thread:
 * RFC 7983 demux → DTLS or SRTP → jitter buffer (NACK, RTX) →
 * depacketizer → recorder, with RTCP SR based timestamps, receiver reports,
 * PLI until a keyframe, and the timeouts that end a call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media_call.h"

#define MCALL_RR_MS 1000        /* receiver report interval */
#define MCALL_PLI_START_MS 300  /* PLI repeat while waiting for the first keyframe */
#define MCALL_PLI_THROTTLE_MS 1000 /* at most one PLI per second after that */
#define MCALL_JB_VIDEO_MS 300   /* wait for a NACKed video packet (several RTTs) */
#define MCALL_JB_AUDIO_MS 60    /* audio is not NACKed: only reordering is waited for */
#define MCALL_NACK_RTT_MS 40    /* retry spacing of NACKs */
#define MCALL_SLEW_MS 2         /* A/V sync correction per frame: 40-100 ms/s */
#define MCALL_VIDEO_STEP_MS 20  /* a later video correction past this is taken at once */
#define MCALL_ANCHOR_MS 10      /* written audio this far off its SR moves the offset */

/* Monotonic milliseconds. */
int64_t mcall_now_ms(void) { return g_get_monotonic_time() / 1000; }

/* Sets up the tracks chosen by the answer. */
void mcall_media_init(media_call *call)
{
    const msdp_choice *ch = &call->ch;
    if (ch->audio_m >= 0) {
        mtrack *t = &call->tr[0];
        t->on = true;
        t->kind = "audio";
        t->codec = MSDP_CODEC_OPUS;
        t->pt = ch->audio_pt;
        t->rtx_pt = -1;
        t->clock = 48000;
        mjb_init(&t->jb, MCALL_JB_AUDIO_MS);
        mdepack_init(&t->dp, MSDP_CODEC_OPUS);
    }
    if (ch->video_m >= 0) {
        mtrack *t = &call->tr[1];
        t->on = true;
        t->kind = "video";
        t->codec = ch->video_codec;
        t->pt = ch->video_pt;
        t->rtx_pt = ch->video_rtx_pt;
        t->clock = 90000;
        t->need_key = true;
        mjb_init(&t->jb, ch->video_nack ? MCALL_JB_VIDEO_MS : MCALL_JB_AUDIO_MS);
        mdepack_init(&t->dp, ch->video_codec);
    }
}

/* Frees the jitter buffers and depacketizers. */
void mcall_media_close(media_call *call)
{
    free(call->held);
    call->held = NULL;
    for (int i = 0; i < 2; i++) {
        mjb_close(&call->tr[i].jb);
        mdepack_close(&call->tr[i].dp);
    }
}

/* Protects and sends one RTCP compound. */
static void send_rtcp(media_call *call, uint8_t *buf, size_t len)
{
    if (!call->srtp || len == 0)
        return;
    if (msrtp_protect_rtcp(call->srtp, buf, &len) == 0)
        mcall_send(call, buf, len);
}

/* Sends a PLI for the video track (with an empty RR first). */
static void send_pli(media_call *call, mtrack *t, int64_t now)
{
    uint8_t buf[256 + MSRTP_TRAILER];
    size_t off = 0;
    if (!t->have_ssrc)
        return;
    mrtcp_put_rr(buf, 256, &off, call->our_ssrc, NULL, 0);
    mrtcp_put_pli(buf, 256, &off, call->our_ssrc, t->ssrc);
    send_rtcp(call, buf, off);
    t->last_pli_ms = now;
}

/* Fills one RR report block (RFC 3550 §6.4.1, A.3). */
static void fill_rb(mtrack *t, int64_t now, mrtcp_rb *rb)
{
    uint32_t ext_max = t->jb.top - 1;
    uint32_t expected = t->jb.top - t->base_ext;
    uint32_t received = (uint32_t)t->jb.received;
    int32_t lost = (int32_t)(expected - received);
    uint32_t exp_int = expected - t->expected_prior, rec_int = received - t->received_prior;
    t->expected_prior = expected;
    t->received_prior = received;
    int32_t lost_int = (int32_t)(exp_int - rec_int);
    rb->ssrc = t->ssrc;
    rb->fraction = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)((lost_int << 8) / exp_int);
    rb->lost = lost;
    rb->ext_max_seq = ext_max - 0x10000u; /* mjb starts extended seqs one cycle up */
    rb->jitter = (uint32_t)t->jitter;
    rb->lsr = t->lsr;
    rb->dlsr = t->lsr ? (uint32_t)((now - t->sr_local_ms) * 65536 / 1000) : 0;
}

/* Sends the periodic RR, plus NACKs due now. */
static void send_rr(media_call *call, int64_t now)
{
    uint8_t buf[1200 + MSRTP_TRAILER];
    size_t off = 0;
    mrtcp_rb rb[2];
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (call->tr[i].on && call->tr[i].have_ssrc)
            fill_rb(&call->tr[i], now, &rb[n++]);
    mrtcp_put_rr(buf, 1200, &off, call->our_ssrc, rb, n);
    send_rtcp(call, buf, off);
}

/* Sends NACKs for missing video packets. */
static void send_nacks(media_call *call, mtrack *t, int64_t now)
{
    uint16_t seqs[64];
    int n = mjb_nacks(&t->jb, (uint32_t)now, MCALL_NACK_RTT_MS, seqs, 64);
    if (n <= 0)
        return;
    uint8_t buf[600 + MSRTP_TRAILER];
    size_t off = 0;
    mrtcp_put_rr(buf, 600, &off, call->our_ssrc, NULL, 0);
    mrtcp_put_nack(buf, 600, &off, call->our_ssrc, t->ssrc, seqs, n);
    send_rtcp(call, buf, off);
}

/* Maps a frame's RTP timestamp to ms since the call connected. The raw
 * mapping is the track's first frame arrival extrapolated with its RTP
 * clock; the target maps through the sender's last SR (NTP) and one
 * sender→local offset shared by all tracks, which is what keeps audio and
 * video in sync. The correction between the two is slewed by at most
 * MCALL_SLEW_MS per frame so timestamps never jump backwards; video takes a
 * large later one at once. Written audio is never corrected (on_sr). */
static int64_t frame_pts(media_call *call, mtrack *t, uint32_t ts)
{
    int64_t now = mcall_now_ms();
    if (!t->base_set) {
        t->base_set = true;
        t->base_wall_ms = now;
        t->base_rtp = ts;
        t->ts_ext = 0;
    } else {
        t->ts_ext += (int32_t)(ts - t->ts_last);
    }
    t->ts_last = ts;
    int64_t raw = t->base_wall_ms + t->ts_ext * 1000 / (int64_t)t->clock;
    if (t->have_sr && call->have_offset) {
        int64_t ntp_ms =
            (int64_t)((t->sr_ntp >> 32) * 1000 + ((t->sr_ntp & 0xffffffffu) * 1000 >> 32));
        int64_t d = (int64_t)(int32_t)(ts - t->sr_rtp);
        int64_t want = ntp_ms + call->ntp_offset_ms + d * 1000 / (int64_t)t->clock - raw;
        if (t->frames_written == 0) {
            t->corr = want; /* nothing written yet: no jump to hide */
        } else if (t == &call->tr[1]) { /* written audio keeps its place (on_sr) */
            if (want > t->corr + MCALL_VIDEO_STEP_MS)
                t->corr = want; /* skips ahead: one frame shows longer */
            else if (want > t->corr + MCALL_SLEW_MS)
                t->corr += MCALL_SLEW_MS;
            else if (want < t->corr - MCALL_SLEW_MS)
                t->corr -= MCALL_SLEW_MS;
            else
                t->corr = want;
        }
    }
    int64_t pts = raw + t->corr - call->connected_ms;
    return pts < 0 ? 0 : pts;
}

/* Opens the recording file at the first frame. */
static int open_rec(media_call *call)
{
    const media_cfg *cfg = &call->w->pool->cfg;
    const char *ext = call->ch.video_codec == MSDP_CODEC_H264 ? "mkv" : "webm";
    int rc = rec_make_path(cfg->recordings, call->tenant, call->room_id, call->caller, ext,
                           call->started_unix_ms / 1000, call->path, sizeof(call->path));
    if (rc == 0)
        rc = rec_open(call->path, call->tr[0].on, call->tr[1].on ? call->ch.video_codec
                                                                   : MSDP_CODEC_NONE, &call->rec);
    if (rc < 0)
        call->path[0] = '\0';
    return rc;
}

/* Hands one complete frame to the recorder. */
static void on_frame(media_call *call, mtrack *t, const mdepack_frame *f, int64_t now)
{
    if (!call->rec && open_rec(call) < 0) {
        mcall_finish(call, MEDIA_END_INTERNAL);
        return;
    }
    int64_t pts = frame_pts(call, t, f->ts);
    int rc;
    if (t == &call->tr[1]) {
        if (t->need_key && !f->key) {
            if (now - t->last_pli_ms > MCALL_PLI_START_MS)
                send_pli(call, t, now);
            return; /* undecodable until the next keyframe */
        }
        t->need_key = false;
        rc = rec_write_video(call->rec, f, pts, &t->dp);
    } else {
        rc = rec_write_audio(call->rec, f->data, f->len, pts);
    }
    if (rc < 0) {
        mcall_finish(call, MEDIA_END_INTERNAL);
        return;
    }
    t->frames_written++;
    if (!call->media_started && rec_started(call->rec)) {
        call->media_started = true;
        if (call->cbs.on_state)
            call->cbs.on_state(call->cbs.ud, MEDIA_STATE_MEDIA_STARTED);
    }
}

/* Pops every ready packet of a track through depacketizer and recorder. */
static void drain(media_call *call, mtrack *t, int64_t now)
{
    uint8_t pkt[MJB_MAX_PKT];
    uint16_t seq;
    int n;
    while (!call->finished && (n = mjb_pop(&t->jb, (uint32_t)now, pkt, &seq)) != 0) {
        if (n < 0) {
            mdepack_lost(&t->dp);
            continue;
        }
        mrtp_hdr h;
        if (mrtp_parse(pkt, (size_t)n, &h) < 0)
            continue;
        uint64_t dropped = t->dp.dropped;
        mdepack_frame f;
        int rc = mdepack_push(&t->dp, pkt + h.hdr_len, h.payload_len, h.ts, h.marker, &f);
        if (t->dp.dropped != dropped || rc < 0) {
            if (t == &call->tr[1] && !t->need_key) {
                t->need_key = true; /* a lost frame breaks the references of later ones */
                if (now - t->last_pli_ms > MCALL_PLI_THROTTLE_MS)
                    send_pli(call, t, now);
            }
        }
        if (rc == 1)
            on_frame(call, t, &f, now);
    }
}

/* Updates the RFC 3550 interarrival jitter of a track. */
static void update_jitter(mtrack *t, uint32_t ts, int64_t now)
{
    int64_t arrival = now * (int64_t)t->clock / 1000;
    int64_t transit = arrival - (int64_t)ts;
    if (t->transit_set) {
        int64_t d = (int64_t)(int32_t)(transit - t->transit_prev);
        t->jitter += (fabs((double)d) - t->jitter) / 16.0;
    }
    t->transit_prev = transit;
    t->transit_set = true;
}

/* Handles one decrypted RTP packet. */
static void on_rtp(media_call *call, uint8_t *p, size_t len, int64_t now)
{
    mrtp_hdr h;
    if (mrtp_parse(p, len, &h) < 0) {
        call->rtp_errors++;
        return;
    }
    mtrack *t = NULL;
    bool rtx = false;
    for (int i = 0; i < 2 && !t; i++) {
        if (!call->tr[i].on)
            continue;
        if (h.pt == call->tr[i].pt)
            t = &call->tr[i];
        else if (call->tr[i].rtx_pt >= 0 && h.pt == call->tr[i].rtx_pt)
            t = &call->tr[i], rtx = true;
    }
    if (!t)
        return; /* a payload type we did not accept */
    uint16_t seq = h.seq;
    const uint8_t *pl = p + h.hdr_len;
    size_t plen = h.payload_len;
    if (rtx) { /* RFC 4588: original seq first, then the original payload */
        if (plen < 2 || !t->have_ssrc)
            return; /* padding-only probe */
        seq = (uint16_t)(pl[0] << 8 | pl[1]);
        pl += 2;
        plen -= 2;
    } else if (!t->have_ssrc || h.ssrc != t->ssrc) {
        if (t->have_ssrc) { /* SSRC change: a new sender state */
            mjb_close(&t->jb);
            uint32_t wait = t->jb.wait_ms;
            uint64_t r = t->jb.received, l = t->jb.lost, rc = t->jb.recovered, g = t->jb.gaps;
            mjb_init(&t->jb, wait);
            t->jb.received = r, t->jb.lost = l, t->jb.recovered = rc, t->jb.gaps = g + 1;
            mdepack_lost(&t->dp);
            t->have_sr = false;
            t->base_set = false; /* a new RTP clock origin */
            t->need_key = t == &call->tr[1];
        }
        t->have_ssrc = true;
        t->ssrc = h.ssrc;
    }
    call->last_rtp_ms = now;
    /* Normalized copy: 12-byte header with the original seq and payload type. */
    uint8_t norm[MJB_MAX_PKT];
    if (plen + 12 > sizeof(norm))
        return;
    memcpy(norm, p, 12);
    norm[0] = 0x80;
    norm[1] = (uint8_t)((h.marker ? 0x80 : 0) | t->pt);
    norm[2] = (uint8_t)(seq >> 8);
    norm[3] = (uint8_t)seq;
    memcpy(norm + 12, pl, plen);
    bool first = !t->jb.started;
    if (mjb_put(&t->jb, seq, norm, plen + 12, (uint32_t)now, rtx) == 1 && !rtx)
        update_jitter(t, h.ts, now);
    if (first)
        t->base_ext = t->jb.head;
    drain(call, t, now);
}

/* SR callback: remembers the track's clock mapping and LSR. */
static void on_sr(void *ud, const mrtcp_sr *sr)
{
    media_call *call = ud;
    int64_t now = mcall_now_ms();
    for (int i = 0; i < 2; i++) {
        mtrack *t = &call->tr[i];
        if (!t->on || !t->have_ssrc || t->ssrc != sr->ssrc)
            continue;
        int64_t ntp_ms = (int64_t)((sr->ntp >> 32) * 1000 + ((sr->ntp & 0xffffffffu) * 1000 >> 32));
        if (!call->have_offset) {
            call->have_offset = true;
            call->ntp_offset_ms = now - ntp_ms;
        }
        if (i == 0 && t->frames_written) {
            /* Written audio keeps its timestamps: players place audio by its
             * sample count and would ignore a correction. An audio SR that
             * puts it over MCALL_ANCHOR_MS off moves the shared offset
             * instead (below that, SR jitter would shake the video). */
            int64_t raw = t->base_wall_ms + t->ts_ext * 1000 / (int64_t)t->clock;
            int64_t d = (int64_t)(int32_t)(t->ts_last - sr->rtp_ts);
            int64_t keep = raw + t->corr - ntp_ms - d * 1000 / (int64_t)t->clock;
            if (llabs(keep - call->ntp_offset_ms) > MCALL_ANCHOR_MS)
                call->ntp_offset_ms = keep;
        }
        t->have_sr = true;
        t->sr_ntp = sr->ntp;
        t->sr_rtp = sr->rtp_ts;
        t->lsr = (uint32_t)(sr->ntp >> 16);
        t->sr_local_ms = now;
    }
}

/* Decrypts and handles one SRTP packet. */
static void rtp_in(media_call *call, uint8_t *p, size_t len, int64_t now)
{
    if (msrtp_unprotect_rtp(call->srtp, p, &len) < 0) {
        call->srtp_errors++;
        return;
    }
    on_rtp(call, p, len, now);
}

/* Test-only impairment (cfg.test_*_permille): returns true when the packet
 * is dropped or held back to be delivered after the next one. */
static bool impair(media_call *call, const uint8_t *p, size_t len)
{
    const media_cfg *cfg = &call->w->pool->cfg;
    if (cfg->test_drop_permille <= 0 && cfg->test_reorder_permille <= 0)
        return false;
    if (!call->rng)
        call->rng = 0x9e3779b9u ^ call->our_ssrc;
    call->rng ^= call->rng << 13;
    call->rng ^= call->rng >> 17;
    call->rng ^= call->rng << 5;
    int r = (int)(call->rng % 1000);
    if (r < cfg->test_drop_permille)
        return true;
    if (r < cfg->test_drop_permille + cfg->test_reorder_permille && !call->held) {
        call->held = malloc(len);
        if (!call->held)
            return false;
        memcpy(call->held, p, len);
        call->held_len = len;
        return true;
    }
    return false;
}

/* Handles one datagram from ICE, on the call's media thread. */
void mcall_recv(media_call *call, uint8_t *p, size_t len)
{
    int64_t now = mcall_now_ms();
    switch (mrtp_classify(p, len)) {
    case MRTP_DTLS: {
        int rc = mdtls_feed(call->dtls, p, len);
        if (rc == KK_EINVAL) {
            mcall_finish(call, MEDIA_END_BAD_FINGERPRINT);
        } else if (rc < 0) {
            if (!call->connected)
                mcall_finish(call, MEDIA_END_DTLS_FAILED);
        } else if (rc == MDTLS_CLOSED) {
            mcall_finish(call, MEDIA_END_HANGUP);
        } else if (rc == MDTLS_CONNECTED && !call->connected) {
            if (msrtp_new(mdtls_get_keys(call->dtls), &call->srtp) < 0) {
                mcall_finish(call, MEDIA_END_DTLS_FAILED);
                return;
            }
            call->connected = true;
            call->connected_ms = call->last_rtp_ms = now;
            if (call->cbs.on_state)
                call->cbs.on_state(call->cbs.ud, MEDIA_STATE_CONNECTED);
        }
        return;
    }
    case MRTP_RTP:
        if (!call->srtp || len > MJB_MAX_PKT + 64)
            return;
        if (impair(call, p, len))
            return;
        rtp_in(call, p, len, now);
        if (call->held && !call->finished) { /* the reordered one comes after */
            uint8_t *q = call->held;
            size_t qlen = call->held_len;
            call->held = NULL;
            rtp_in(call, q, qlen, now);
            free(q);
        }
        return;
    case MRTP_RTCP:
        if (!call->srtp)
            return;
        if (msrtp_unprotect_rtcp(call->srtp, p, &len) < 0) {
            call->srtp_errors++;
            return;
        }
        if (mrtcp_parse(p, len, on_sr, call, NULL) < 0)
            call->rtp_errors++;
        return;
    default:
        return;
    }
}

/* The 20 ms tick: DTLS retransmits, jitter buffer timeouts, NACK, PLI,
 * RR, and the timeouts that end a call. */
gboolean mcall_tick(gpointer data)
{
    media_call *call = data;
    const media_cfg *cfg = &call->w->pool->cfg;
    int64_t now = mcall_now_ms();
    if (call->finished)
        return G_SOURCE_REMOVE;
    if (!call->connected) {
        mdtls_tick(call->dtls);
        if (now - call->created_ms > cfg->connect_timeout_ms)
            mcall_finish(call, call->ice_ready ? MEDIA_END_DTLS_FAILED : MEDIA_END_ICE_FAILED);
        return G_SOURCE_CONTINUE; /* finish destroyed this source if it ran */
    }
    for (int i = 0; i < 2 && !call->finished; i++) {
        mtrack *t = &call->tr[i];
        if (!t->on)
            continue;
        drain(call, t, now);
        if (i == 1 && t->rtx_pt >= 0 && !call->finished)
            send_nacks(call, t, now);
        if (i == 1 && t->need_key && now - t->last_pli_ms > MCALL_PLI_START_MS && !call->finished)
            send_pli(call, t, now);
    }
    if (call->finished)
        return G_SOURCE_REMOVE;
    if (now - call->last_rr_ms >= MCALL_RR_MS) {
        call->last_rr_ms = now;
        send_rr(call, now);
    }
    if (now - call->last_rtp_ms > cfg->media_timeout_ms)
        mcall_finish(call, MEDIA_END_MEDIA_TIMEOUT);
    else if (cfg->max_duration_ms > 0 && now - call->connected_ms > cfg->max_duration_ms)
        mcall_finish(call, MEDIA_END_MAX_DURATION);
    return G_SOURCE_CONTINUE;
}
