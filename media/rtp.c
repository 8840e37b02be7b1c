/* rtp.c — RTP/RTCP demultiplexing, parsing and the RTCP packets we send.
 *
 * Pure functions over (buf, len): every offset is checked against len before
 * it is read (Janus's janus_rtp_payload read the extension header first —
 * the trap style.md names).
 */
#include <string.h>

#include "media_int.h"

/* Reads a big-endian 16/32-bit value. */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
/* Writes a big-endian 16/32-bit value. */
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP; RTCP when the
 * second byte is a payload type 192-223 (RFC 5761 §4). */
mrtp_kind mrtp_classify(const uint8_t *p, size_t len)
{
    if (len < 1)
        return MRTP_OTHER;
    uint8_t b = p[0];
    if (b <= 3)
        return MRTP_STUN;
    if (b >= 20 && b <= 63)
        return MRTP_DTLS;
    if (b >= 128 && b <= 191) {
        if (len < 2)
            return MRTP_OTHER;
        return (p[1] >= 192 && p[1] <= 223) ? MRTP_RTCP : MRTP_RTP;
    }
    return MRTP_OTHER;
}

/* Parses an RTP header; see media_int.h. */
int mrtp_parse(const uint8_t *p, size_t len, mrtp_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (len < 12)
        return KK_EAGAIN;
    if ((p[0] >> 6) != 2)
        return KK_EPROTO;
    size_t off = 12 + 4u * (p[0] & 0x0f);
    if (off > len)
        return KK_EAGAIN;
    if (p[0] & 0x10) {
        if (off + 4 > len)
            return KK_EAGAIN;
        size_t xlen = 4u * rd16(p + off + 2);
        off += 4;
        if (off + xlen > len)
            return KK_EAGAIN;
        off += xlen;
    }
    size_t pad = 0;
    if (p[0] & 0x20) {
        pad = p[len - 1];
        if (pad == 0 || off + pad > len)
            return KK_EPROTO;
    }
    h->marker = (p[1] & 0x80) != 0;
    h->pt = p[1] & 0x7f;
    h->seq = rd16(p + 2);
    h->ts = rd32(p + 4);
    h->ssrc = rd32(p + 8);
    h->hdr_len = off;
    h->payload_len = len - off - pad;
    return 0;
}

/* Walks a compound RTCP packet; see media_int.h. */
int mrtcp_parse(const uint8_t *p, size_t len, void (*on_sr)(void *ud, const mrtcp_sr *sr),
                void *ud, int *byes)
{
    int count = 0;
    size_t off = 0;
    if (byes)
        *byes = 0;
    if (len < 4)
        return KK_EPROTO;
    while (off < len) {
        if (len - off < 4)
            return KK_EPROTO;
        const uint8_t *q = p + off;
        if ((q[0] >> 6) != 2)
            return KK_EPROTO;
        size_t plen = 4u * ((size_t)rd16(q + 2) + 1);
        if (plen > len - off)
            return KK_EPROTO;
        uint8_t pt = q[1];
        if (pt == 200) {
            if (plen < 28)
                return KK_EPROTO;
            mrtcp_sr sr = {
                .ssrc = rd32(q + 4),
                .ntp = (uint64_t)rd32(q + 8) << 32 | rd32(q + 12),
                .rtp_ts = rd32(q + 16),
            };
            if (on_sr)
                on_sr(ud, &sr);
        } else if (pt == 203 && byes) {
            (*byes)++;
        }
        off += plen;
        count++;
    }
    return count;
}

/* Reserves n bytes at *off; NULL when the buffer is short. */
static uint8_t *reserve(uint8_t *buf, size_t cap, size_t *off, size_t n)
{
    if (cap < *off || cap - *off < n)
        return NULL;
    uint8_t *q = buf + *off;
    *off += n;
    return q;
}

/* Appends an RR (RFC 3550 §6.4.2) with up to 31 report blocks. */
int mrtcp_put_rr(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, const mrtcp_rb *rb,
                 int nrb)
{
    if (nrb < 0 || nrb > 31)
        return KK_EINVAL;
    size_t n = 8 + 24u * (size_t)nrb;
    uint8_t *q = reserve(buf, cap, off, n);
    if (!q)
        return KK_ETOOBIG;
    q[0] = (uint8_t)(0x80 | nrb);
    q[1] = 201;
    wr16(q + 2, (uint16_t)(n / 4 - 1));
    wr32(q + 4, ssrc);
    for (int i = 0; i < nrb; i++) {
        uint8_t *b = q + 8 + 24 * i;
        wr32(b, rb[i].ssrc);
        int32_t lost = rb[i].lost;
        if (lost > 0x7fffff)
            lost = 0x7fffff;
        if (lost < -0x800000)
            lost = -0x800000;
        wr32(b + 4, (uint32_t)rb[i].fraction << 24 | ((uint32_t)lost & 0xffffff));
        wr32(b + 8, rb[i].ext_max_seq);
        wr32(b + 12, rb[i].jitter);
        wr32(b + 16, rb[i].lsr);
        wr32(b + 20, rb[i].dlsr);
    }
    return 0;
}

/* Appends a PLI (RFC 4585 §6.3.1). */
int mrtcp_put_pli(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, uint32_t media)
{
    uint8_t *q = reserve(buf, cap, off, 12);
    if (!q)
        return KK_ETOOBIG;
    q[0] = 0x81;
    q[1] = 206;
    wr16(q + 2, 2);
    wr32(q + 4, ssrc);
    wr32(q + 8, media);
    return 0;
}

/* Appends a generic NACK (RFC 4585 §6.2.1); seqs need not be sorted. */
int mrtcp_put_nack(uint8_t *buf, size_t cap, size_t *off, uint32_t ssrc, uint32_t media,
                   const uint16_t *seqs, int n)
{
    uint16_t pid[64], blp[64];
    int nf = 0;
    for (int i = 0; i < n; i++) {
        int k;
        for (k = 0; k < nf; k++) {
            uint16_t d = (uint16_t)(seqs[i] - pid[k]);
            if (d == 0)
                break;
            if (d >= 1 && d <= 16) {
                blp[k] |= (uint16_t)(1u << (d - 1));
                break;
            }
        }
        if (k == nf) {
            if (nf == 64)
                break;
            pid[nf] = seqs[i];
            blp[nf] = 0;
            nf++;
        }
    }
    if (nf == 0)
        return 0;
    size_t len = 12 + 4u * (size_t)nf;
    uint8_t *q = reserve(buf, cap, off, len);
    if (!q)
        return KK_ETOOBIG;
    q[0] = 0x81;
    q[1] = 205;
    wr16(q + 2, (uint16_t)(len / 4 - 1));
    wr32(q + 4, ssrc);
    wr32(q + 8, media);
    for (int k = 0; k < nf; k++) {
        wr16(q + 12 + 4 * k, pid[k]);
        wr16(q + 14 + 4 * k, blp[k]);
    }
    return 0;
}
