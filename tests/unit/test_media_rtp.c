/* test_media_rtp.c — RFC 7983 demux, RTP header parsing (CSRC, extension,
 * padding), compound RTCP walking and the exact bytes of RR, PLI and NACK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media_int.h"

static void rtp_classify_follows_rfc7983(void **st)
{
    (void)st;
    uint8_t p[2] = {0, 0};
    assert_int_equal(mrtp_classify(p, 0), MRTP_OTHER);
    p[0] = 0x01;
    assert_int_equal(mrtp_classify(p, 2), MRTP_STUN);
    p[0] = 22; /* DTLS handshake */
    assert_int_equal(mrtp_classify(p, 2), MRTP_DTLS);
    p[0] = 64;
    assert_int_equal(mrtp_classify(p, 2), MRTP_OTHER);
    p[0] = 0x80, p[1] = 96;
    assert_int_equal(mrtp_classify(p, 2), MRTP_RTP);
    p[1] = 0x80 | 96; /* marker set, still RTP */
    assert_int_equal(mrtp_classify(p, 2), MRTP_RTP);
    p[1] = 200;
    assert_int_equal(mrtp_classify(p, 2), MRTP_RTCP);
    p[1] = 206;
    assert_int_equal(mrtp_classify(p, 2), MRTP_RTCP);
    assert_int_equal(mrtp_classify(p, 1), MRTP_OTHER);
}

static void rtp_parse_skips_csrcs_extension_and_padding(void **st)
{
    (void)st;
    uint8_t p[] = {0xb1, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
                   /* CSRC */ 0xaa, 0xbb, 0xcc, 0xdd,
                   /* extension: profile BEDE, 1 word */ 0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0, 0,
                   /* payload */ 'h', 'i', '!',
                   /* padding of 3 */ 0, 0, 3};
    mrtp_hdr h;
    assert_int_equal(mrtp_parse(p, sizeof(p), &h), 0);
    assert_true(h.marker);
    assert_int_equal(h.pt, 96);
    assert_int_equal(h.seq, 0x1234);
    assert_int_equal(h.ts, 0xdeadbeef);
    assert_int_equal(h.ssrc, 0x01020304);
    assert_int_equal(h.hdr_len, 24);
    assert_int_equal(h.payload_len, 3);
    assert_memory_equal(p + h.hdr_len, "hi!", 3);
}

static void rtp_parse_rejects_bad_headers(void **st)
{
    (void)st;
    mrtp_hdr h;
    uint8_t p[16] = {0x80, 96};
    assert_int_equal(mrtp_parse(p, 11, &h), KK_EAGAIN);
    p[0] = 0x40; /* version 1 */
    assert_int_equal(mrtp_parse(p, 12, &h), KK_EPROTO);
    p[0] = 0x8f; /* 15 CSRCs in 12 bytes */
    assert_int_equal(mrtp_parse(p, 12, &h), KK_EAGAIN);
    uint8_t x[16] = {0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x10};
    assert_int_equal(mrtp_parse(x, 16, &h), KK_EAGAIN); /* extension past the end */
    assert_int_equal(mrtp_parse(x, 14, &h), KK_EAGAIN); /* extension header cut */
    uint8_t pad[13] = {0xa0, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9};
    assert_int_equal(mrtp_parse(pad, 13, &h), KK_EPROTO); /* padding longer than payload */
    pad[12] = 0;
    assert_int_equal(mrtp_parse(pad, 13, &h), KK_EPROTO); /* padding count 0 */
}

/* Records the SRs seen. */
static mrtcp_sr g_srs[4];
static int g_nsr;
static void on_sr(void *ud, const mrtcp_sr *sr)
{
    (void)ud;
    if (g_nsr < 4)
        g_srs[g_nsr++] = *sr;
}

static void rtcp_parse_finds_sender_reports_and_bye(void **st)
{
    (void)st;
    uint8_t p[] = {
        /* SR, no report blocks */
        0x80, 200, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0xe0, 0x00, 0x00, 0x01, 0x80, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00,
        /* SDES, empty chunk list padded */
        0x80, 202, 0x00, 0x00,
        /* BYE */
        0x81, 203, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44};
    g_nsr = 0;
    int byes = 0;
    assert_int_equal(mrtcp_parse(p, sizeof(p), on_sr, NULL, &byes), 3);
    assert_int_equal(byes, 1);
    assert_int_equal(g_nsr, 1);
    assert_int_equal(g_srs[0].ssrc, 0x11223344);
    assert_true(g_srs[0].ntp == 0xe000000180000000ull);
    assert_int_equal(g_srs[0].rtp_ts, 0x10000);
    /* a length past the end, a truncated header, a short SR */
    p[3] = 0x20;
    assert_int_equal(mrtcp_parse(p, sizeof(p), on_sr, NULL, &byes), KK_EPROTO);
    assert_int_equal(mrtcp_parse(p, 3, on_sr, NULL, &byes), KK_EPROTO);
    uint8_t short_sr[8] = {0x80, 200, 0x00, 0x01, 1, 2, 3, 4};
    assert_int_equal(mrtcp_parse(short_sr, 8, on_sr, NULL, &byes), KK_EPROTO);
    uint8_t v1[4] = {0x40, 201, 0, 0};
    assert_int_equal(mrtcp_parse(v1, 4, on_sr, NULL, &byes), KK_EPROTO);
}

static void rtcp_rr_pli_and_nack_have_exact_bytes(void **st)
{
    (void)st;
    uint8_t buf[256];
    size_t off = 0;
    mrtcp_rb rb = {.ssrc = 0xa1a2a3a4, .fraction = 0x19, .lost = 3, .ext_max_seq = 0x00011234,
                   .jitter = 7, .lsr = 0x01020304, .dlsr = 0x00010000};
    assert_int_equal(mrtcp_put_rr(buf, sizeof(buf), &off, 0x0b0c0d0e, &rb, 1), 0);
    const uint8_t rr[] = {0x81, 201, 0x00, 0x07, 0x0b, 0x0c, 0x0d, 0x0e, 0xa1, 0xa2, 0xa3,
                          0xa4, 0x19, 0x00, 0x00, 0x03, 0x00, 0x01, 0x12, 0x34, 0x00, 0x00,
                          0x00, 0x07, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(off, sizeof(rr));
    assert_memory_equal(buf, rr, sizeof(rr));
    off = 0;
    assert_int_equal(mrtcp_put_pli(buf, sizeof(buf), &off, 1, 0xa1a2a3a4), 0);
    const uint8_t pli[] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0xa1, 0xa2, 0xa3, 0xa4};
    assert_int_equal(off, 12);
    assert_memory_equal(buf, pli, 12);
    off = 0;
    uint16_t seqs[] = {100, 101, 116, 117, 65535};
    assert_int_equal(mrtcp_put_nack(buf, sizeof(buf), &off, 1, 2, seqs, 5), 0);
    /* 100 with 101 (bit 0) and 116 (bit 15); 117 starts a new FCI and
     * 65535 another (it is not within 16 after 117). */
    const uint8_t nack[] = {0x81, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2,
                            0x00, 100, 0x80, 0x01, 0x00, 117, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00};
    assert_int_equal(off, sizeof(nack));
    assert_memory_equal(buf, nack, sizeof(nack));
    /* a short buffer leaves the offset alone */
    off = 250;
    assert_int_equal(mrtcp_put_pli(buf, sizeof(buf), &off, 1, 2), KK_ETOOBIG);
    assert_int_equal(off, 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rtp_classify_follows_rfc7983),
        cmocka_unit_test(rtp_parse_skips_csrcs_extension_and_padding),
        cmocka_unit_test(rtp_parse_rejects_bad_headers),
        cmocka_unit_test(rtcp_parse_finds_sender_reports_and_bye),
        cmocka_unit_test(rtcp_rr_pli_and_nack_have_exact_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
