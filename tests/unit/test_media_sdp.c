/* test_media_sdp.c — SDP offer parsing (a real Chromium 156 offer), codec
 * choice, our answer, malformed offers, our own offer and the parsing of
 * the answer to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media_int.h"

#define OFFER_PATH KK_TESTDATA "/../media/data/chrome_offer.sdp"

/* Reads the captured Chromium offer (VP8, VP9, H264, AV1, Opus, ...). */
static char *read_offer(size_t *len)
{
    FILE *f = fopen(OFFER_PATH, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    *len = fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

/* Finds a payload type record. */
static const msdp_pt *pt_of(const msdp_mline *m, int pt)
{
    for (int i = 0; i < m->npts; i++)
        if (m->pts[i].pt == pt)
            return &m->pts[i];
    return NULL;
}

static void sdp_parses_chromium_offer(void **st)
{
    (void)st;
    size_t len;
    char *sdp = read_offer(&len);
    msdp_offer *o = calloc(1, sizeof(*o));
    assert_int_equal(msdp_parse(sdp, len, o), 0);
    assert_string_equal(o->ufrag, "/1wH");
    assert_string_equal(o->fp_alg, "sha-256");
    assert_string_equal(o->fingerprint, "EA:D0:CB:29:BF:C9:AE:02:EC:5A:89:B1:1A:7D:30:10:F9:3A:1E:9F:"
                                        "C1:E2:6D:CC:B7:00:55:22:52:9A:87:D4");
    assert_string_equal(o->setup, "actpass");
    assert_int_equal(o->nmlines, 2);
    assert_string_equal(o->m[0].kind, "audio");
    assert_string_equal(o->m[0].mid, "0");
    assert_true(o->m[0].rtcp_mux);
    assert_int_equal(o->m[0].npts, 8);
    const msdp_pt *opus = pt_of(&o->m[0], 111);
    assert_non_null(opus);
    assert_int_equal(opus->codec, MSDP_CODEC_OPUS);
    assert_int_equal(opus->clock, 48000);
    assert_int_equal(opus->channels, 2);
    assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
    assert_string_equal(o->m[1].kind, "video");
    assert_string_equal(o->m[1].mid, "1");
    assert_int_equal(o->m[1].npts, 23);
    const msdp_pt *vp8 = pt_of(&o->m[1], 96), *rtx = pt_of(&o->m[1], 97);
    assert_int_equal(vp8->codec, MSDP_CODEC_VP8);
    assert_true(vp8->nack);
    assert_true(vp8->pli);
    assert_int_equal(rtx->codec, MSDP_CODEC_RTX);
    assert_int_equal(rtx->apt, 96);
    assert_int_equal(pt_of(&o->m[1], 45)->codec, MSDP_CODEC_OTHER); /* AV1 */
    free(o);
    free(sdp);
}

static void sdp_choose_takes_opus_and_first_video_with_its_rtx(void **st)
{
    (void)st;
    size_t len;
    char *sdp = read_offer(&len);
    msdp_offer *o = calloc(1, sizeof(*o));
    assert_int_equal(msdp_parse(sdp, len, o), 0);
    msdp_choice ch;
    assert_int_equal(msdp_choose(o, &ch), 0);
    assert_int_equal(ch.audio_m, 0);
    assert_int_equal(ch.audio_pt, 111);
    assert_int_equal(ch.video_m, 1);
    assert_int_equal(ch.video_pt, 96);
    assert_int_equal(ch.video_codec, MSDP_CODEC_VP8);
    assert_int_equal(ch.video_rtx_pt, 97);
    assert_true(ch.video_nack);
    free(o);
    free(sdp);
}

static void sdp_answer_is_active_recvonly_and_bundled(void **st)
{
    (void)st;
    size_t len;
    char *sdp = read_offer(&len);
    msdp_offer *o = calloc(1, sizeof(*o));
    assert_int_equal(msdp_parse(sdp, len, o), 0);
    msdp_choice ch;
    assert_int_equal(msdp_choose(o, &ch), 0);
    const char *cands[] = {"candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host"};
    msdp_local l = {.ufrag = "uf", .pwd = "pw0123456789012345678901", .fingerprint = "AA:BB",
                    .cands = cands, .ncands = 1, .sess_id = 42};
    char ans[16384];
    int n = msdp_answer(o, &ch, &l, ans, sizeof(ans));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(ans));
    assert_non_null(strstr(ans, "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\n"));
    assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
    assert_non_null(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
    assert_non_null(strstr(ans, "a=rtpmap:111 opus/48000/2\r\n"));
    assert_non_null(strstr(ans, "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"));
    assert_non_null(strstr(ans, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
    assert_null(strstr(ans, "VP9"));
    assert_null(strstr(ans, "a=setup:actpass"));
    assert_non_null(strstr(ans, "a=setup:active\r\n"));
    assert_non_null(strstr(ans, "a=fingerprint:sha-256 AA:BB\r\n"));
    assert_non_null(strstr(ans, "a=recvonly\r\n"));
    /* candidates once, in the first bundled m-line */
    const char *c1 = strstr(ans, "a=candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host\r\n");
    assert_non_null(c1);
    assert_true(c1 < strstr(ans, "m=video"));
    assert_null(strstr(c1 + 1, "a=candidate:"));
    /* the answer is short and exact in size */
    char small[64];
    assert_int_equal(msdp_answer(o, &ch, &l, small, sizeof(small)), KK_ETOOBIG);
    free(o);
    free(sdp);
}

/* A minimal valid offer with the given media section. */
static int parse_with(const char *media, msdp_offer *o)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
             "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
             "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n%s",
             media);
    return msdp_parse(buf, strlen(buf), o);
}

static void sdp_choose_reports_offer_without_recordable_codec(void **st)
{
    (void)st;
    msdp_offer o;
    assert_int_equal(parse_with("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=rtcp-mux\r\n"
                                "a=rtpmap:0 PCMU/8000\r\n"
                                "m=video 9 UDP/TLS/RTP/SAVPF 45\r\na=mid:1\r\na=rtcp-mux\r\n"
                                "a=rtpmap:45 AV1/90000\r\n",
                                &o),
                     0);
    msdp_choice ch;
    assert_int_equal(msdp_choose(&o, &ch), KK_ENOTFOUND);
}

static void sdp_answer_rejects_datachannel_and_h264_mode0(void **st)
{
    (void)st;
    msdp_offer o;
    assert_int_equal(parse_with("m=video 9 UDP/TLS/RTP/SAVPF 102 104\r\na=mid:v\r\na=rtcp-mux\r\n"
                                "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=0\r\n"
                                "a=rtpmap:104 H264/90000\r\n"
                                "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1\r\n"
                                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n",
                                &o),
                     0);
    msdp_choice ch;
    assert_int_equal(msdp_choose(&o, &ch), 0);
    assert_int_equal(ch.audio_m, -1);
    assert_int_equal(ch.video_pt, 104);
    assert_int_equal(ch.video_codec, MSDP_CODEC_H264);
    msdp_local l = {.ufrag = "u", .pwd = "p", .fingerprint = "F", .sess_id = 1};
    char ans[8192];
    assert_true(msdp_answer(&o, &ch, &l, ans, sizeof(ans)) > 0);
    assert_non_null(strstr(ans, "a=group:BUNDLE v\r\n"));
    assert_non_null(strstr(ans, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d\r\n"));
    assert_non_null(strstr(ans, "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1\r\n"));
}

static void sdp_rejects_malformed_offers(void **st)
{
    (void)st;
    msdp_offer o;
    const char *base = "v=0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n";
    char buf[512];
    /* no fingerprint */
    snprintf(buf, sizeof(buf), "%sm=audio 9 RTP/SAVPF 111\r\n", base);
    assert_int_equal(msdp_parse(buf, strlen(buf), &o), KK_EPROTO);
    /* the offerer insists on the DTLS client role */
    snprintf(buf, sizeof(buf), "%sa=fingerprint:sha-256 AA\r\na=setup:active\r\nm=audio 9 RTP/SAVPF 1\r\n", base);
    assert_int_equal(msdp_parse(buf, strlen(buf), &o), KK_EPROTO);
    /* unsupported hash */
    snprintf(buf, sizeof(buf), "%sa=fingerprint:md5 AA\r\nm=audio 9 RTP/SAVPF 1\r\n", base);
    assert_int_equal(msdp_parse(buf, strlen(buf), &o), KK_EPROTO);
    /* does not start with v= */
    assert_int_equal(msdp_parse("m=audio 9 RTP/SAVPF 1\r\n", 22, &o), KK_EPROTO);
    /* bad m-lines */
    assert_int_equal(parse_with("m=audio x RTP/SAVPF 1\r\n", &o), KK_EPROTO);
    assert_int_equal(parse_with("m=audio 9 RTP/SAVPF 300\r\n", &o), KK_EPROTO);
    assert_int_equal(parse_with("m=audio 99999 RTP/SAVPF 1\r\n", &o), KK_EPROTO);
    assert_int_equal(parse_with("m=audio 9\r\n", &o), KK_EPROTO);
    /* a line that is not x=... */
    assert_int_equal(parse_with("m=audio 9 RTP/SAVPF 1\r\ngarbage\r\n", &o), KK_EPROTO);
    /* an embedded NUL */
    char nul[] = "v=0\r\na=ice-ufrag:a\0b\r\n";
    assert_int_equal(msdp_parse(nul, sizeof(nul) - 1, &o), KK_EPROTO);
}

static void sdp_enforces_size_and_count_limits(void **st)
{
    (void)st;
    msdp_offer *o = calloc(1, sizeof(*o));
    char *big = malloc(MEDIA_MAX_SDP_LEN + 2);
    memset(big, 'a', MEDIA_MAX_SDP_LEN + 1);
    assert_int_equal(msdp_parse(big, MEDIA_MAX_SDP_LEN + 1, o), KK_ETOOBIG);
    /* one line longer than MSDP_MAX_LINE */
    memcpy(big, "v=0\r\na=", 7);
    big[MSDP_MAX_LINE + 100] = '\n';
    assert_int_equal(msdp_parse(big, MSDP_MAX_LINE + 101, o), KK_ETOOBIG);
    /* too many m-lines */
    char many[2048] = "";
    for (int i = 0; i < MSDP_MAX_MLINES + 1; i++)
        strcat(many, "m=audio 9 RTP/SAVPF 1\r\n");
    assert_int_equal(parse_with(many, o), KK_ETOOBIG);
    /* too many payload types on one m-line */
    char pts[512] = "m=video 9 UDP/TLS/RTP/SAVPF";
    for (int i = 0; i < MSDP_MAX_PTS + 1; i++) {
        char t[8];
        snprintf(t, sizeof(t), " %d", i);
        strcat(pts, t);
    }
    strcat(pts, "\r\n");
    assert_int_equal(parse_with(pts, o), KK_ETOOBIG);
    free(big);
    free(o);
}

static void sdp_parses_every_prefix_of_the_offer_without_harm(void **st)
{
    (void)st;
    size_t len;
    char *sdp = read_offer(&len);
    msdp_offer *o = calloc(1, sizeof(*o));
    int ok = 0;
    for (size_t i = 0; i <= len; i++) {
        char *copy = malloc(i + 1); /* exact size: ASan catches any overread */
        memcpy(copy, sdp, i);
        int rc = msdp_parse(copy, i, o);
        assert_true(rc == 0 || rc == KK_EPROTO || rc == KK_ETOOBIG);
        ok += rc == 0;
        free(copy);
    }
    /* complete once the video m-line's first attributes (mid) are in */
    assert_true(ok > 0);
    free(o);
    free(sdp);
}

static void sdp_own_offer_is_actpass_recvonly_and_parses_back(void **st)
{
    (void)st;
    const char *cands[] = {"candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host"};
    msdp_local l = {.ufrag = "uf", .pwd = "pw0123456789012345678901", .fingerprint = "AA:BB",
                    .cands = cands, .ncands = 1, .sess_id = 7};
    char off[8192];
    int n = msdp_write_offer(&l, true, off, sizeof(off));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(off));
    assert_non_null(strstr(off, "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\n"));
    assert_non_null(strstr(off, "a=group:BUNDLE 0 1\r\n"));
    assert_non_null(strstr(off, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    assert_non_null(strstr(off, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
    assert_non_null(strstr(off, "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    assert_non_null(strstr(off, "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"));
    assert_non_null(strstr(off, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
    assert_null(strstr(off, "a=setup:active"));
    const char *c1 = strstr(off, "a=candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host\r\n");
    assert_non_null(c1);
    assert_true(c1 < strstr(off, "m=video"));
    assert_null(strstr(c1 + 1, "a=candidate:"));
    /* it is a valid offer for our own parser, with what we can record */
    msdp_offer *o = calloc(1, sizeof(*o));
    assert_int_equal(msdp_parse(off, (size_t)n, o), 0);
    assert_string_equal(o->setup, "actpass");
    assert_string_equal(o->ufrag, "uf");
    assert_int_equal(o->nmlines, 2);
    assert_string_equal(o->m[0].mid, "0");
    assert_string_equal(o->m[1].mid, "1");
    assert_string_equal(o->m[1].kind, "video");
    assert_int_equal(o->ncands, 1);
    msdp_choice ch;
    assert_int_equal(msdp_choose(o, &ch), 0);
    assert_int_equal(ch.audio_pt, 111);
    assert_int_equal(ch.video_pt, 96);
    assert_int_equal(ch.video_rtx_pt, 97);
    assert_int_equal(ch.video_codec, MSDP_CODEC_VP8);
    assert_true(ch.video_nack);
    /* audio only: one m-line */
    n = msdp_write_offer(&l, false, off, sizeof(off));
    assert_true(n > 0);
    assert_non_null(strstr(off, "a=group:BUNDLE 0\r\n"));
    assert_null(strstr(off, "m=video"));
    char small[64];
    assert_int_equal(msdp_write_offer(&l, true, small, sizeof(small)), KK_ETOOBIG);
    free(o);
}

/* A minimal answer with the given session-level setup line ("" for none). */
static int parse_answer_with(const char *setup, msdp_offer *o)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
             "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
             "a=fingerprint:sha-256 AA:BB\r\n%sm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
             "a=mid:0\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n",
             setup);
    return msdp_parse_answer(buf, strlen(buf), o);
}

static void sdp_answer_parser_takes_active_or_passive_only(void **st)
{
    (void)st;
    msdp_offer *o = calloc(1, sizeof(*o));
    assert_int_equal(parse_answer_with("a=setup:active\r\n", o), 0);
    assert_string_equal(o->setup, "active");
    assert_int_equal(parse_answer_with("a=setup:passive\r\n", o), 0);
    assert_string_equal(o->setup, "passive");
    /* RFC 4145: an answer without a=setup is active */
    assert_int_equal(parse_answer_with("", o), 0);
    assert_string_equal(o->setup, "active");
    /* RFC 8842 §5.3: an answerer must not say actpass */
    assert_int_equal(parse_answer_with("a=setup:actpass\r\n", o), KK_EPROTO);
    assert_int_equal(parse_answer_with("a=setup:holdconn\r\n", o), KK_EPROTO);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdp_parses_chromium_offer),
        cmocka_unit_test(sdp_choose_takes_opus_and_first_video_with_its_rtx),
        cmocka_unit_test(sdp_answer_is_active_recvonly_and_bundled),
        cmocka_unit_test(sdp_choose_reports_offer_without_recordable_codec),
        cmocka_unit_test(sdp_answer_rejects_datachannel_and_h264_mode0),
        cmocka_unit_test(sdp_rejects_malformed_offers),
        cmocka_unit_test(sdp_enforces_size_and_count_limits),
        cmocka_unit_test(sdp_parses_every_prefix_of_the_offer_without_harm),
        cmocka_unit_test(sdp_own_offer_is_actpass_recvonly_and_parses_back),
        cmocka_unit_test(sdp_answer_parser_takes_active_or_passive_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
