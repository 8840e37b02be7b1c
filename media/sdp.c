/* sdp.c — bounded SDP offer parser and answer writer (RFC 8866, JSEP).
 *
 * Only what an answering recorder needs: ICE credentials, the DTLS
 * fingerprint and setup role, m-lines with their payload types (rtpmap,
 * fmtp, rtcp-fb, RTX apt), mids and the candidates already in the offer.
 * Every copy is bounded by the field; unknown lines are skipped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "media_int.h"

/* Copies at most cap-1 bytes of [p, p+n) into dst; KK_ETOOBIG if it does not fit. */
static int copy_tok(char *dst, size_t cap, const char *p, size_t n)
{
    if (n >= cap)
        return KK_ETOOBIG;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

/* Parses a decimal integer of at most 10 digits from *pp; -1 if none. */
static long parse_num(const char **pp, const char *end)
{
    const char *p = *pp;
    long v = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || (p < end && *p >= '0' && *p <= '9'))
        return -1;
    *pp = p;
    return v;
}

/* Returns the length of the token starting at p (up to a space or end). */
static size_t tok_len(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && *q != ' ')
        q++;
    return (size_t)(q - p);
}

/* Finds the payload-type record for pt in m, or NULL. */
static msdp_pt *find_pt(msdp_mline *m, long pt)
{
    for (int i = 0; i < m->npts; i++)
        if (m->pts[i].pt == pt)
            return &m->pts[i];
    return NULL;
}

/* Maps an rtpmap encoding name to our codec enum (case-insensitive). */
static msdp_codec codec_of(const char *name)
{
    if (!strcasecmp(name, "opus"))
        return MSDP_CODEC_OPUS;
    if (!strcasecmp(name, "VP8"))
        return MSDP_CODEC_VP8;
    if (!strcasecmp(name, "VP9"))
        return MSDP_CODEC_VP9;
    if (!strcasecmp(name, "H264"))
        return MSDP_CODEC_H264;
    if (!strcasecmp(name, "rtx"))
        return MSDP_CODEC_RTX;
    return MSDP_CODEC_OTHER;
}

/* Parses "m=<kind> <port> <proto> <fmt> ...". */
static int parse_mline(msdp_offer *o, const char *p, const char *end)
{
    if (o->nmlines >= MSDP_MAX_MLINES)
        return KK_ETOOBIG;
    msdp_mline *m = &o->m[o->nmlines];
    memset(m, 0, sizeof(*m));
    size_t n = tok_len(p, end);
    if (n == 0 || copy_tok(m->kind, sizeof(m->kind), p, n) < 0)
        return KK_EPROTO;
    p += n;
    if (p >= end || *p++ != ' ')
        return KK_EPROTO;
    long port = parse_num(&p, end);
    if (port < 0 || port > 65535)
        return KK_EPROTO;
    m->port = (int)port;
    if (p < end && *p == '/') { /* port/count */
        p++;
        if (parse_num(&p, end) < 0)
            return KK_EPROTO;
    }
    if (p >= end || *p++ != ' ')
        return KK_EPROTO;
    n = tok_len(p, end);
    if (n == 0 || copy_tok(m->proto, sizeof(m->proto), p, n) < 0)
        return KK_EPROTO;
    p += n;
    bool first = true;
    while (p < end && *p == ' ') {
        p++;
        n = tok_len(p, end);
        if (n == 0)
            return KK_EPROTO;
        if (first && copy_tok(m->fmt, sizeof(m->fmt), p, n) < 0)
            return KK_ETOOBIG;
        first = false;
        const char *q = p;
        long pt = parse_num(&q, p + n);
        if (!strncmp(m->proto, "UDP/TLS/RTP", 11) || !strncmp(m->proto, "RTP/", 4)) {
            if (pt < 0 || pt > 127 || q != p + n)
                return KK_EPROTO;
            if (m->npts >= MSDP_MAX_PTS)
                return KK_ETOOBIG;
            msdp_pt *t = &m->pts[m->npts++];
            memset(t, 0, sizeof(*t));
            t->pt = (int)pt;
            t->apt = -1;
        }
        p += n;
    }
    if (p != end)
        return KK_EPROTO;
    o->nmlines++;
    return 0;
}

/* Parses "<pt> <rest>" returning the pt record of the current m-line. */
static msdp_pt *pt_attr(msdp_offer *o, const char **pp, const char *end)
{
    if (o->nmlines == 0)
        return NULL;
    long pt = parse_num(pp, end);
    if (pt < 0 || *pp >= end || **pp != ' ')
        return NULL;
    (*pp)++;
    return find_pt(&o->m[o->nmlines - 1], pt);
}

/* Parses an a= attribute line (value without "a="). */
static int parse_attr(msdp_offer *o, const char *p, const char *end)
{
    msdp_mline *m = o->nmlines ? &o->m[o->nmlines - 1] : NULL;
    size_t n = (size_t)(end - p);
#define IS(lit) (n >= sizeof(lit) - 1 && !memcmp(p, lit, sizeof(lit) - 1))
#define SKIP(lit) (p += sizeof(lit) - 1)
    if (IS("ice-ufrag:")) {
        SKIP("ice-ufrag:");
        return o->ufrag[0] ? 0 : copy_tok(o->ufrag, sizeof(o->ufrag), p, (size_t)(end - p));
    }
    if (IS("ice-pwd:")) {
        SKIP("ice-pwd:");
        return o->pwd[0] ? 0 : copy_tok(o->pwd, sizeof(o->pwd), p, (size_t)(end - p));
    }
    if (IS("fingerprint:")) {
        SKIP("fingerprint:");
        size_t a = tok_len(p, end);
        if (o->fingerprint[0])
            return 0;
        if (copy_tok(o->fp_alg, sizeof(o->fp_alg), p, a) < 0 || p + a >= end)
            return KK_EPROTO;
        p += a + 1;
        return copy_tok(o->fingerprint, sizeof(o->fingerprint), p, (size_t)(end - p));
    }
    if (IS("setup:")) {
        SKIP("setup:");
        return copy_tok(o->setup, sizeof(o->setup), p, (size_t)(end - p));
    }
    if (IS("candidate:")) {
        if (o->ncands >= MSDP_MAX_CANDS)
            return 0; /* trickle is the normal path; extra ones are dropped */
        if (copy_tok(o->cands[o->ncands], MEDIA_MAX_CANDIDATE_LEN, p, n) < 0)
            return KK_ETOOBIG;
        o->ncands++;
        return 0;
    }
    if (!m)
        return 0;
    if (IS("mid:")) {
        SKIP("mid:");
        return copy_tok(m->mid, sizeof(m->mid), p, (size_t)(end - p));
    }
    if (IS("rtcp-mux") && n == 8) {
        m->rtcp_mux = true;
        return 0;
    }
    if (IS("rtpmap:")) {
        SKIP("rtpmap:");
        msdp_pt *t = pt_attr(o, &p, end);
        if (!t)
            return 0; /* rtpmap for a pt not on the m-line: ignore */
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (!slash || copy_tok(t->name, sizeof(t->name), p, (size_t)(slash - p)) < 0)
            return KK_EPROTO;
        p = slash + 1;
        long clock = parse_num(&p, end);
        if (clock <= 0)
            return KK_EPROTO;
        t->clock = (uint32_t)clock;
        t->channels = 1;
        if (p < end && *p == '/') {
            p++;
            long ch = parse_num(&p, end);
            if (ch <= 0 || ch > 8)
                return KK_EPROTO;
            t->channels = (int)ch;
        }
        t->codec = codec_of(t->name);
        return 0;
    }
    if (IS("fmtp:")) {
        SKIP("fmtp:");
        msdp_pt *t = pt_attr(o, &p, end);
        if (!t)
            return 0;
        if (copy_tok(t->fmtp, sizeof(t->fmtp), p, (size_t)(end - p)) < 0)
            return KK_ETOOBIG;
        const char *a = strstr(t->fmtp, "apt=");
        if (a) {
            const char *q = a + 4;
            long apt = parse_num(&q, t->fmtp + strlen(t->fmtp));
            t->apt = (apt >= 0 && apt <= 127) ? (int)apt : -1;
        }
        return 0;
    }
    if (IS("rtcp-fb:")) {
        SKIP("rtcp-fb:");
        msdp_pt *t = pt_attr(o, &p, end);
        if (!t)
            return 0;
        size_t r = (size_t)(end - p);
        if (r == 4 && !memcmp(p, "nack", 4))
            t->nack = true;
        else if (r == 8 && !memcmp(p, "nack pli", 8))
            t->pli = true;
        return 0;
    }
#undef IS
#undef SKIP
    return 0;
}

/* Parses SDP text into out: the session and media lines both roles share,
 * with ICE credentials and a sha-256 fingerprint required. */
static int parse_sdp(const char *sdp, size_t len, msdp_offer *out)
{
    memset(out, 0, sizeof(*out));
    if (!sdp || len > MEDIA_MAX_SDP_LEN)
        return KK_ETOOBIG;
    const char *p = sdp, *end = sdp + len;
    bool saw_v = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        if (le - p > MSDP_MAX_LINE)
            return KK_ETOOBIG;
        if (le - p == 0) {
            p = next;
            continue;
        }
        if (le - p < 2 || p[1] != '=' || memchr(p, '\0', (size_t)(le - p)))
            return KK_EPROTO;
        if (!saw_v && p[0] != 'v')
            return KK_EPROTO;
        int rc = 0;
        switch (p[0]) {
        case 'v':
            saw_v = true;
            if (le - p != 3 || p[2] != '0')
                return KK_EPROTO;
            break;
        case 'm':
            rc = parse_mline(out, p + 2, le);
            break;
        case 'a':
            rc = parse_attr(out, p + 2, le);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
        p = next;
    }
    if (!saw_v || out->nmlines == 0 || !out->ufrag[0] || !out->pwd[0] || !out->fingerprint[0])
        return KK_EPROTO;
    if (strcasecmp(out->fp_alg, "sha-256") != 0)
        return KK_EPROTO;
    return 0;
}

/* Parses an offer; see media_int.h. */
int msdp_parse(const char *sdp, size_t len, msdp_offer *out)
{
    int rc = parse_sdp(sdp, len, out);
    if (rc < 0)
        return rc;
    /* We take the DTLS client role; an offerer insisting on it cannot be answered. */
    if (out->setup[0] && strcmp(out->setup, "actpass") && strcmp(out->setup, "passive"))
        return KK_EPROTO;
    return 0;
}

/* Parses the answer to our offer; see media_int.h. */
int msdp_parse_answer(const char *sdp, size_t len, msdp_offer *out)
{
    int rc = parse_sdp(sdp, len, out);
    if (rc < 0)
        return rc;
    /* RFC 8842 §5.3: the answerer picks active or passive, never actpass;
     * without a=setup it is active (RFC 4145 §4.1 default of an answer). */
    if (!out->setup[0])
        memcpy(out->setup, "active", sizeof "active");
    if (strcmp(out->setup, "active") && strcmp(out->setup, "passive"))
        return KK_EPROTO;
    return 0;
}

/* True when an H264 fmtp is packetization-mode=1 (all we depacketize
 * besides single NAL, which mode 1 includes). */
static bool h264_ok(const msdp_pt *t)
{
    return strstr(t->fmtp, "packetization-mode=1") != NULL;
}

/* True when a VP9 pt is profile 0 (8-bit 4:2:0, what WebM players expect). */
static bool vp9_ok(const msdp_pt *t)
{
    return !strstr(t->fmtp, "profile-id=") || strstr(t->fmtp, "profile-id=0");
}

/* Picks codecs; see media_int.h. */
int msdp_choose(const msdp_offer *o, msdp_choice *ch)
{
    ch->audio_m = ch->audio_pt = ch->video_m = ch->video_pt = ch->video_rtx_pt = -1;
    ch->video_codec = MSDP_CODEC_NONE;
    ch->video_nack = false;
    for (int i = 0; i < o->nmlines; i++) {
        const msdp_mline *m = &o->m[i];
        if (m->port == 0 || !m->mid[0] || !m->rtcp_mux)
            continue;
        if (!strcmp(m->kind, "audio") && ch->audio_m < 0) {
            for (int k = 0; k < m->npts; k++)
                if (m->pts[k].codec == MSDP_CODEC_OPUS && m->pts[k].clock == 48000) {
                    ch->audio_m = i;
                    ch->audio_pt = m->pts[k].pt;
                    break;
                }
        } else if (!strcmp(m->kind, "video") && ch->video_m < 0) {
            for (int k = 0; k < m->npts; k++) {
                const msdp_pt *t = &m->pts[k];
                bool ok = (t->codec == MSDP_CODEC_VP8) ||
                          (t->codec == MSDP_CODEC_VP9 && vp9_ok(t)) ||
                          (t->codec == MSDP_CODEC_H264 && h264_ok(t));
                if (!ok || t->clock != 90000)
                    continue;
                ch->video_m = i;
                ch->video_pt = t->pt;
                ch->video_codec = t->codec;
                ch->video_nack = t->nack;
                for (int r = 0; r < m->npts; r++)
                    if (m->pts[r].codec == MSDP_CODEC_RTX && m->pts[r].apt == t->pt)
                        ch->video_rtx_pt = m->pts[r].pt;
                break;
            }
        }
    }
    return (ch->audio_m < 0 && ch->video_m < 0) ? KK_ENOTFOUND : 0;
}

/* Appends printf-formatted text; sets *err on overflow. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t cap, size_t *off,
                                                        const char *fmt, ...);
static void put(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
    if (*off >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    *off = (n < 0) ? cap : *off + (size_t)n;
}

/* Writes one accepted payload type (rtpmap, fmtp, rtcp-fb). */
static void put_pt(char *buf, size_t cap, size_t *off, const msdp_pt *t)
{
    put(buf, cap, off, "a=rtpmap:%d %s/%u", t->pt, t->name, t->clock);
    if (t->channels > 1)
        put(buf, cap, off, "/%d", t->channels);
    put(buf, cap, off, "\r\n");
    if (t->fmtp[0])
        put(buf, cap, off, "a=fmtp:%d %s\r\n", t->pt, t->fmtp);
    if (t->nack)
        put(buf, cap, off, "a=rtcp-fb:%d nack\r\n", t->pt);
    if (t->pli)
        put(buf, cap, off, "a=rtcp-fb:%d nack pli\r\n", t->pt);
}

/* Writes our answer; see media_int.h. Accepted m-lines are recvonly and
 * bundled on one transport; every other m-line is rejected with port 0. */
int msdp_answer(const msdp_offer *o, const msdp_choice *ch, const msdp_local *l, char *buf,
                size_t cap)
{
    size_t off = 0;
    put(buf, cap, &off, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)l->sess_id);
    put(buf, cap, &off, "a=group:BUNDLE");
    for (int i = 0; i < o->nmlines; i++)
        if (i == ch->audio_m || i == ch->video_m)
            put(buf, cap, &off, " %s", o->m[i].mid);
    put(buf, cap, &off, "\r\n");
    bool first = true;
    for (int i = 0; i < o->nmlines; i++) {
        const msdp_mline *m = &o->m[i];
        int pt = (i == ch->audio_m) ? ch->audio_pt : (i == ch->video_m) ? ch->video_pt : -1;
        if (pt < 0) {
            put(buf, cap, &off, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind, m->proto,
                m->fmt[0] ? m->fmt : "0");
            if (m->mid[0])
                put(buf, cap, &off, "a=mid:%s\r\n", m->mid);
            continue;
        }
        int rtx = (i == ch->video_m) ? ch->video_rtx_pt : -1;
        put(buf, cap, &off, "m=%s 9 UDP/TLS/RTP/SAVPF %d", m->kind, pt);
        if (rtx >= 0)
            put(buf, cap, &off, " %d", rtx);
        put(buf, cap, &off, "\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
        put(buf, cap, &off, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n",
            l->ufrag, l->pwd);
        put(buf, cap, &off, "a=fingerprint:sha-256 %s\r\na=setup:active\r\n", l->fingerprint);
        put(buf, cap, &off, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", m->mid);
        for (int k = 0; k < m->npts; k++)
            if (m->pts[k].pt == pt || m->pts[k].pt == rtx)
                put_pt(buf, cap, &off, &m->pts[k]);
        if (first) {
            for (int c = 0; c < l->ncands; c++)
                put(buf, cap, &off, "a=%s\r\n", l->cands[c]);
            put(buf, cap, &off, "a=end-of-candidates\r\n");
            first = false;
        }
    }
    if (off >= cap)
        return KK_ETOOBIG;
    return (int)off;
}

/* Writes our own offer; see media_int.h. Payload types and mids are ours:
 * Opus 111 (mid 0), and with video VP8 96 + RTX 97 (mid 1). */
int msdp_write_offer(const msdp_local *l, bool video, char *buf, size_t cap)
{
    static const msdp_pt opus = { .pt = 111, .codec = MSDP_CODEC_OPUS, .name = "opus",
                                  .clock = 48000, .channels = 2,
                                  .fmtp = "minptime=10;useinbandfec=1", .apt = -1 };
    static const msdp_pt vp8 = { .pt = 96, .codec = MSDP_CODEC_VP8, .name = "VP8",
                                 .clock = 90000, .apt = -1, .nack = true, .pli = true };
    static const msdp_pt rtx = { .pt = 97, .codec = MSDP_CODEC_RTX, .name = "rtx",
                                 .clock = 90000, .fmtp = "apt=96", .apt = 96 };
    size_t off = 0;
    put(buf, cap, &off, "v=0\r\no=- %llu 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)l->sess_id);
    put(buf, cap, &off, "a=group:BUNDLE 0%s\r\n", video ? " 1" : "");
    for (int i = 0; i < (video ? 2 : 1); i++) {
        put(buf, cap, &off, i ? "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                              : "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
        put(buf, cap, &off, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
        put(buf, cap, &off, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n",
            l->ufrag, l->pwd);
        /* RFC 8842 §5.2: the offerer says actpass; the answer decides. */
        put(buf, cap, &off, "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\n", l->fingerprint);
        put(buf, cap, &off, "a=mid:%d\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", i);
        if (i == 0) {
            put_pt(buf, cap, &off, &opus);
            for (int c = 0; c < l->ncands; c++)
                put(buf, cap, &off, "a=%s\r\n", l->cands[c]);
            put(buf, cap, &off, "a=end-of-candidates\r\n");
        } else {
            put_pt(buf, cap, &off, &vp8);
            put_pt(buf, cap, &off, &rtx);
        }
    }
    if (off >= cap)
        return KK_ETOOBIG;
    return (int)off;
}
