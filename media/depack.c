/* depack.c — RTP depacketizers: Opus (RFC 7587), VP8 (RFC 7741), VP9
 * (RFC 9628) and H264 (RFC 6184: single NAL, STAP-A, FU-A, output in Annex B
 * with SPS/PPS captured from the stream). A frame with a lost packet is
 * dropped whole and counted; the caller asks for a keyframe.
 */
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

/* Initializes a depacketizer for one codec. */
void mdepack_init(mdepack *d, msdp_codec codec)
{
    memset(d, 0, sizeof(*d));
    d->codec = codec;
}

/* Frees the frame buffer. */
void mdepack_close(mdepack *d)
{
    if (!d)
        return;
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

/* Marks the frame being assembled as broken. */
void mdepack_lost(mdepack *d)
{
    if (d->active)
        d->broken = true;
    else
        d->lost_before = true;
    d->in_fu = false;
}

/* Appends bytes to the frame, growing the buffer up to MDEPACK_MAX_FRAME. */
static int append(mdepack *d, const uint8_t *p, size_t n)
{
    if (n > MDEPACK_MAX_FRAME - d->len)
        return KK_ETOOBIG;
    if (d->len + n > d->cap) {
        size_t nc = d->cap ? d->cap : 16384;
        while (nc < d->len + n)
            nc *= 2;
        if (nc > MDEPACK_MAX_FRAME)
            nc = MDEPACK_MAX_FRAME;
        uint8_t *nb = realloc(d->buf, nc);
        if (!nb)
            return KK_ENOMEM;
        d->buf = nb;
        d->cap = nc;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

/* Starts a new frame at ts (dropping an unfinished one). */
static void begin(mdepack *d, uint32_t ts)
{
    if (d->active)
        d->dropped++;
    d->active = true;
    /* H264 has no start-of-frame flag: a loss between frames may have been
     * this frame's first packet. VP8/VP9 starts are explicit. */
    d->broken = d->lost_before && d->codec == MSDP_CODEC_H264;
    d->lost_before = false;
    d->key = false;
    d->len = 0;
    d->ts = ts;
}

/* Reads width/height of a VP8 keyframe (RFC 6386 §9.1). */
bool mdepack_vp8_dims(const uint8_t *f, size_t len, int *w, int *h)
{
    if (len < 10 || (f[0] & 1) || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a)
        return false;
    *w = (f[6] | f[7] << 8) & 0x3fff;
    *h = (f[8] | f[9] << 8) & 0x3fff;
    return true;
}

/* Parses the VP8 payload descriptor; returns its length or KK_EPROTO. */
static int vp8_desc(const uint8_t *p, size_t len, bool *start)
{
    size_t off = 1;
    if (len < 1)
        return KK_EPROTO;
    if (p[0] & 0x80) {
        if (len < 2)
            return KK_EPROTO;
        uint8_t x = p[1];
        off = 2;
        if (x & 0x80) {
            if (off >= len)
                return KK_EPROTO;
            off += (p[off] & 0x80) ? 2 : 1;
        }
        if (x & 0x40)
            off++;
        if (x & 0x30)
            off++;
    }
    if (off >= len)
        return KK_EPROTO;
    *start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
    return (int)off;
}

/* Parses the VP9 payload descriptor; returns its length or KK_EPROTO. */
static int vp9_desc(mdepack *d, const uint8_t *p, size_t len, bool *start, bool *key)
{
    size_t off = 1;
    if (len < 1)
        return KK_EPROTO;
    uint8_t b = p[0];
    if (b & 0x80) { /* I: picture ID */
        if (off >= len)
            return KK_EPROTO;
        off += (p[off] & 0x80) ? 2 : 1;
    }
    int sid = 0;
    if (b & 0x20) { /* L: layer indices */
        if (off >= len)
            return KK_EPROTO;
        sid = (p[off] >> 1) & 0x07;
        off += (b & 0x10) ? 1 : 2;
    }
    if ((b & 0x10) && (b & 0x40)) { /* F and P: up to 3 reference diffs */
        for (int i = 0; i < 3; i++) {
            if (off >= len)
                return KK_EPROTO;
            if (!(p[off++] & 0x01))
                break;
        }
    }
    if (b & 0x02) { /* V: scalability structure */
        if (off >= len)
            return KK_EPROTO;
        uint8_t ss = p[off++];
        int ns = (ss >> 5) + 1;
        if (ss & 0x10) {
            if (off + 4u * (size_t)ns > len)
                return KK_EPROTO;
            d->width = p[off] << 8 | p[off + 1];
            d->height = p[off + 2] << 8 | p[off + 3];
            off += 4u * (size_t)ns;
        }
        if (ss & 0x08) {
            if (off >= len)
                return KK_EPROTO;
            int ng = p[off++];
            for (int i = 0; i < ng; i++) {
                if (off >= len)
                    return KK_EPROTO;
                off += 1 + (size_t)((p[off] >> 2) & 0x03);
            }
        }
    }
    if (off >= len)
        return KK_EPROTO;
    *start = (b & 0x08) != 0;
    *key = *start && !(b & 0x40) && sid == 0;
    return (int)off;
}

/* Remembers SPS/PPS and flags IDR for one H264 NAL unit. */
static void h264_note(mdepack *d, const uint8_t *nal, size_t n)
{
    uint8_t t = nal[0] & 0x1f;
    if (t == 5)
        d->key = true;
    if (t == 7 && n <= sizeof(d->sps)) {
        memcpy(d->sps, nal, n);
        d->sps_len = n;
    } else if (t == 8 && n <= sizeof(d->pps)) {
        memcpy(d->pps, nal, n);
        d->pps_len = n;
    }
    d->have_params = d->sps_len && d->pps_len;
}

/* Appends one whole NAL unit in Annex B form. */
static int h264_nal(mdepack *d, const uint8_t *nal, size_t n)
{
    static const uint8_t sc[4] = {0, 0, 0, 1};
    if (n < 1)
        return KK_EPROTO;
    h264_note(d, nal, n);
    int rc = append(d, sc, 4);
    return rc < 0 ? rc : append(d, nal, n);
}

/* Depacketizes one H264 payload into the current frame. */
static int h264_push(mdepack *d, const uint8_t *p, size_t len)
{
    if (len < 1)
        return KK_EPROTO;
    uint8_t t = p[0] & 0x1f;
    if (t >= 1 && t <= 23) {
        d->in_fu = false;
        return h264_nal(d, p, len);
    }
    if (t == 24) { /* STAP-A */
        size_t off = 1;
        d->in_fu = false;
        while (off < len) {
            if (len - off < 2)
                return KK_EPROTO;
            size_t n = (size_t)(p[off] << 8 | p[off + 1]);
            off += 2;
            if (n == 0 || n > len - off)
                return KK_EPROTO;
            int rc = h264_nal(d, p + off, n);
            if (rc < 0)
                return rc;
            off += n;
        }
        return 0;
    }
    if (t == 28) { /* FU-A */
        if (len < 3)
            return KK_EPROTO;
        uint8_t fu = p[1];
        if (fu & 0x80) {
            uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (fu & 0x1f));
            static const uint8_t sc[4] = {0, 0, 0, 1};
            int rc = append(d, sc, 4);
            if (rc == 0)
                rc = append(d, &hdr, 1);
            if (rc < 0)
                return rc;
            if ((fu & 0x1f) == 5)
                d->key = true;
            d->in_fu = true;
        } else if (!d->in_fu) {
            return KK_EPROTO; /* continuation without a start: its start was lost */
        }
        int rc = append(d, p + 2, len - 2);
        if (fu & 0x40)
            d->in_fu = false;
        return rc;
    }
    return KK_EPROTO; /* STAP-B, MTAP, FU-B: not in packetization-mode 1 from browsers */
}

/* Finishes the frame when marker is set; returns 1 with *f, or 0. */
static int finish(mdepack *d, bool marker, mdepack_frame *f)
{
    if (!marker)
        return 0;
    d->active = false;
    if (d->broken || d->len == 0) {
        d->dropped++;
        return 0;
    }
    d->frames++;
    f->data = d->buf;
    f->len = d->len;
    f->ts = d->ts;
    f->key = d->key;
    return 1;
}

/* Pushes one RTP payload; see media_int.h. */
int mdepack_push(mdepack *d, const uint8_t *p, size_t len, uint32_t ts, bool marker,
                 mdepack_frame *f)
{
    int rc;
    if (d->codec == MSDP_CODEC_OPUS) {
        if (len == 0)
            return 0; /* DTX keep-alive */
        d->len = 0;
        if ((rc = append(d, p, len)) < 0)
            return rc;
        d->frames++;
        *f = (mdepack_frame){.data = d->buf, .len = d->len, .ts = ts, .key = true};
        return 1;
    }
    if (d->active && ts != d->ts) { /* marker of the previous frame was lost */
        d->dropped++;
        d->active = false;
        d->lost_before = true;
    }
    bool start = false, key = false;
    if (d->codec == MSDP_CODEC_VP8 || d->codec == MSDP_CODEC_VP9) {
        int off = d->codec == MSDP_CODEC_VP8 ? vp8_desc(p, len, &start)
                                             : vp9_desc(d, p, len, &start, &key);
        if (off < 0) {
            mdepack_lost(d);
            return off;
        }
        if (start) {
            begin(d, ts);
            d->key = key;
        } else if (!d->active) {
            return 0; /* middle of a frame whose start we never saw */
        }
        if ((rc = append(d, p + off, len - (size_t)off)) < 0) {
            mdepack_lost(d);
            return rc;
        }
        if (d->codec == MSDP_CODEC_VP8 && start) {
            int w, h;
            d->key = (p[off] & 1) == 0;
            if (mdepack_vp8_dims(p + off, len - (size_t)off, &w, &h)) {
                d->width = w;
                d->height = h;
            }
        }
        return finish(d, marker, f);
    }
    if (d->codec == MSDP_CODEC_H264) {
        if (!d->active)
            begin(d, ts);
        if ((rc = h264_push(d, p, len)) < 0) {
            mdepack_lost(d);
            return rc;
        }
        return finish(d, marker, f);
    }
    return KK_EINVAL;
}
