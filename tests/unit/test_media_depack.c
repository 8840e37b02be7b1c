/* test_media_depack.c — depacketizers: Opus passthrough, VP8 and VP9
 * descriptors and frame assembly, H264 single NAL / STAP-A / FU-A into
 * Annex B with SPS/PPS captured, and lost or malformed packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media_int.h"

static void depack_opus_passes_each_packet_through(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_OPUS);
    mdepack_frame f;
    const uint8_t p[] = {0x78, 1, 2, 3};
    assert_int_equal(mdepack_push(&d, p, 4, 960, false, &f), 1);
    assert_int_equal(f.len, 4);
    assert_memory_equal(f.data, p, 4);
    assert_int_equal(f.ts, 960);
    assert_true(f.key);
    assert_int_equal(mdepack_push(&d, p, 0, 1920, false, &f), 0); /* DTX */
    mdepack_close(&d);
}

/* A VP8 keyframe payload start: tag (P=0), start code, 640x480. */
static const uint8_t vp8_key[] = {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};

static void depack_vp8_assembles_a_keyframe_across_packets(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_VP8);
    mdepack_frame f;
    /* X=1,S=1,PID=0; I=1 with a 15-bit picture id; then the first half */
    uint8_t p1[4 + 10];
    p1[0] = 0x90, p1[1] = 0x80, p1[2] = 0x81, p1[3] = 0x23;
    memcpy(p1 + 4, vp8_key, 10);
    uint8_t p2[1 + 1];
    p2[0] = 0x00; /* continuation */
    memcpy(p2 + 1, vp8_key + 10, 1);
    assert_int_equal(mdepack_push(&d, p1, sizeof(p1), 3000, false, &f), 0);
    assert_int_equal(mdepack_push(&d, p2, sizeof(p2), 3000, true, &f), 1);
    assert_int_equal(f.len, sizeof(vp8_key));
    assert_memory_equal(f.data, vp8_key, sizeof(vp8_key));
    assert_true(f.key);
    assert_int_equal(f.ts, 3000);
    assert_int_equal(d.width, 640);
    assert_int_equal(d.height, 480);
    int w, h;
    assert_true(mdepack_vp8_dims(vp8_key, sizeof(vp8_key), &w, &h));
    assert_false(mdepack_vp8_dims(vp8_key, 9, &w, &h));
    mdepack_close(&d);
}

static void depack_vp8_drops_a_frame_with_a_lost_packet(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_VP8);
    mdepack_frame f;
    uint8_t start[] = {0x10, 0x01, 0xaa}; /* S=1, delta frame (P=1) */
    uint8_t mid[] = {0x00, 0xbb};
    assert_int_equal(mdepack_push(&d, start, 3, 10, false, &f), 0);
    mdepack_lost(&d);
    assert_int_equal(mdepack_push(&d, mid, 2, 10, true, &f), 0);
    assert_int_equal(d.dropped, 1);
    /* the next frame is whole again, and not a keyframe */
    assert_int_equal(mdepack_push(&d, start, 3, 20, true, &f), 1);
    assert_false(f.key);
    /* a continuation whose start was never seen is ignored */
    assert_int_equal(mdepack_push(&d, mid, 2, 30, true, &f), 0);
    /* a descriptor that claims bytes it does not have */
    uint8_t bad[] = {0x90, 0x80};
    assert_int_equal(mdepack_push(&d, bad, 2, 40, true, &f), KK_EPROTO);
    mdepack_close(&d);
}

static void depack_vp9_reads_descriptor_and_keyframe_size(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_VP9);
    mdepack_frame f;
    /* I=1 (7-bit pid), B=1, V=1; SS: N_S=0, Y=1, G=0 → 1280x720 */
    uint8_t p1[] = {0x8a, 0x05, 0x10, 0x05, 0x00, 0x02, 0xd0, 0x82, 0x49};
    uint8_t p2[] = {0x84, 0x05, 0x83}; /* I=1, E=1 */
    assert_int_equal(mdepack_push(&d, p1, sizeof(p1), 90, false, &f), 0);
    assert_int_equal(mdepack_push(&d, p2, sizeof(p2), 90, true, &f), 1);
    const uint8_t want[] = {0x82, 0x49, 0x83};
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.data, want, 3);
    assert_true(f.key);
    assert_int_equal(d.width, 1280);
    assert_int_equal(d.height, 720);
    /* P=1: an inter frame */
    uint8_t p3[] = {0xcc, 0x06, 0x11};
    assert_int_equal(mdepack_push(&d, p3, sizeof(p3), 180, true, &f), 1);
    assert_false(f.key);
    /* an SS that claims more sizes than the packet holds */
    uint8_t bad[] = {0x0a, 0xf0, 0x01};
    assert_int_equal(mdepack_push(&d, bad, sizeof(bad), 270, true, &f), KK_EPROTO);
    mdepack_close(&d);
}

static void depack_h264_builds_annexb_from_stapa_and_fua(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_H264);
    mdepack_frame f;
    /* STAP-A: SPS (3 bytes) and PPS (2 bytes) */
    uint8_t stap[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02, 0x68, 0xce};
    /* FU-A IDR in two parts: start, end */
    uint8_t fu1[] = {0x7c, 0x85, 0xaa, 0xbb};
    uint8_t fu2[] = {0x7c, 0x45, 0xcc};
    assert_int_equal(mdepack_push(&d, stap, sizeof(stap), 900, false, &f), 0);
    assert_int_equal(mdepack_push(&d, fu1, sizeof(fu1), 900, false, &f), 0);
    assert_int_equal(mdepack_push(&d, fu2, sizeof(fu2), 900, true, &f), 1);
    const uint8_t want[] = {0, 0, 0, 1, 0x67, 0x42, 0xe0, 0, 0, 0, 1, 0x68, 0xce,
                            0, 0, 0, 1, 0x65, 0xaa, 0xbb, 0xcc};
    assert_int_equal(f.len, sizeof(want));
    assert_memory_equal(f.data, want, sizeof(want));
    assert_true(f.key);
    assert_true(d.have_params);
    assert_int_equal(d.sps_len, 3);
    assert_int_equal(d.pps_len, 2);
    assert_memory_equal(d.pps, "\x68\xce", 2);
    /* single NAL, non-IDR */
    uint8_t one[] = {0x41, 0x9a};
    assert_int_equal(mdepack_push(&d, one, 2, 1800, true, &f), 1);
    assert_int_equal(f.len, 6);
    assert_false(f.key);
    mdepack_close(&d);
}

static void depack_h264_rejects_broken_aggregates_and_fragments(void **st)
{
    (void)st;
    mdepack d;
    mdepack_init(&d, MSDP_CODEC_H264);
    mdepack_frame f;
    uint8_t cont[] = {0x7c, 0x05, 0xcc}; /* FU-A continuation, no start */
    assert_int_equal(mdepack_push(&d, cont, 3, 1, true, &f), KK_EPROTO);
    uint8_t stap[] = {0x78, 0x00, 0x09, 0x67}; /* size past the end */
    assert_int_equal(mdepack_push(&d, stap, 4, 2, true, &f), KK_EPROTO);
    uint8_t stapb[] = {0x79, 0, 0}; /* STAP-B */
    assert_int_equal(mdepack_push(&d, stapb, 3, 3, true, &f), KK_EPROTO);
    /* a packet lost between frames breaks the next frame (no start flag) */
    mdepack_lost(&d);
    uint8_t one[] = {0x41, 0x9a};
    assert_int_equal(mdepack_push(&d, one, 2, 4, true, &f), 0);
    assert_int_equal(mdepack_push(&d, one, 2, 5, true, &f), 1);
    mdepack_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(depack_opus_passes_each_packet_through),
        cmocka_unit_test(depack_vp8_assembles_a_keyframe_across_packets),
        cmocka_unit_test(depack_vp8_drops_a_frame_with_a_lost_packet),
        cmocka_unit_test(depack_vp9_reads_descriptor_and_keyframe_size),
        cmocka_unit_test(depack_h264_builds_annexb_from_stapa_and_fua),
        cmocka_unit_test(depack_h264_rejects_broken_aggregates_and_fragments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
