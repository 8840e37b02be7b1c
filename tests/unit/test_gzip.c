/* test_gzip.c — compression=gzip (NOTES.md §2.5): one member per message,
 * Go's gzip.Writer output read back, the inflate cap against gzip bombs,
 * corrupt, truncated and trailing input, and buffers left as they were on
 * every failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "codec.h"

/* Go 1.19 gzip.NewWriter + Write + Close of the JSON kick below. */
static const uint8_t go_gzip_kick[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xaa, 0x56, 0x2a, 0x4a, 0x2d,
    0xf4, 0x4c, 0x49, 0xcd, 0x2b, 0xc9, 0x4c, 0xcb, 0x4c, 0x2d, 0x52, 0xb2, 0x32, 0x32, 0x30,
    0x30, 0xd2, 0x51, 0xca, 0x2d, 0x4e, 0xf7, 0xcc, 0x4b, 0x2e, 0x52, 0xb2, 0x52, 0x52, 0xd2,
    0x51, 0xca, 0x2f, 0x48, 0x2d, 0x4a, 0x2c, 0xc9, 0xcc, 0xcf, 0xf3, 0x74, 0x81, 0x08, 0xa4,
    0x16, 0x15, 0x39, 0xe7, 0xa7, 0xa4, 0x2a, 0x59, 0x19, 0x80, 0xd9, 0xbe, 0xc5, 0xe9, 0x10,
    0xf1, 0x94, 0xc4, 0x92, 0x44, 0x25, 0xab, 0xbc, 0xd2, 0x9c, 0x9c, 0x5a, 0x40, 0x00, 0x00,
    0x00, 0xff, 0xff, 0x0a, 0xc2, 0xe1, 0x6c, 0x58, 0x00, 0x00, 0x00,
};
static const char go_kick_json[] = "{\"reqIdentifier\":2002,\"msgIncr\":\"\",\"operationID\":\"\","
                                   "\"errCode\":0,\"errMsg\":\"\",\"data\":null}";

/* Fills b (already initialized) with n pseudo-random, poorly compressible
 * bytes from a fixed seed. */
static void fill_noise(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Deflates in into a fresh buffer (asserting success) and returns it. */
static kk_buf gz(const void *in, size_t len)
{
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_gzip_deflate(in, len, &b), 0);
    return b;
}

static void gzip_deflate_writes_one_member_that_inflates_back(void **state)
{
    (void)state;
    kk_buf z = gz(go_kick_json, sizeof go_kick_json - 1);
    /* RFC 1952 header: magic, CM=8 (deflate), no flags, mtime 0. */
    static const uint8_t head[] = { 0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0 };
    assert_true(z.len > 18);
    assert_memory_equal(z.p, head, sizeof head);
    /* Trailer: CRC-32 then ISIZE, little-endian. */
    uLong crc = crc32(0, (const Bytef *)go_kick_json, sizeof go_kick_json - 1);
    uint8_t tail[8] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                        (uint8_t)(crc >> 24), sizeof go_kick_json - 1, 0, 0, 0 };
    assert_memory_equal(z.p + z.len - 8, tail, 8);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, 1 << 20, &out), 0);
    assert_int_equal(out.len, sizeof go_kick_json - 1);
    assert_memory_equal(out.p, go_kick_json, out.len);
    kk_buf_free(&z);
    kk_buf_free(&out);
}

static void gzip_deflate_round_trips_empty_and_incompressible_input(void **state)
{
    (void)state;
    size_t n = 200000;
    uint8_t *noise = malloc(n);
    assert_non_null(noise);
    fill_noise(noise, n, 7);
    kk_buf z = gz(noise, n);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, n, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, noise, n);
    kk_buf_free(&z);
    z = gz(NULL, 0);
    assert_int_equal(z.len, 20);
    kk_buf_reset(&out);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, 0, &out), 0);
    assert_int_equal(out.len, 0);
    kk_buf_free(&z);
    kk_buf_free(&out);
    free(noise);
}

static void gzip_deflate_appends_after_existing_bytes(void **state)
{
    (void)state;
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(kk_buf_append(&b, "xy", 2), 0);
    assert_int_equal(codec_gzip_deflate((const uint8_t *)"hello", 5, &b), 0);
    assert_memory_equal(b.p, "xy\x1f\x8b", 4);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(b.p + 2, b.len - 2, 5, &out), 0);
    assert_memory_equal(out.p, "hello", 5);
    kk_buf_free(&b);
    kk_buf_free(&out);
}

static void gzip_deflate_fits_a_cap_below_the_worst_case_bound(void **state)
{
    (void)state;
    /* 100 000 zeros compress to ~130 bytes; deflateBound is ~100 KB. */
    uint8_t *zeros = calloc(1, 100000);
    assert_non_null(zeros);
    kk_buf b;
    kk_buf_init(&b, 400);
    assert_int_equal(codec_gzip_deflate(zeros, 100000, &b), 0);
    assert_true(b.len < 400);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(b.p, b.len, 100000, &out), 0);
    assert_int_equal(out.len, 100000);
    assert_memory_equal(out.p, zeros, 100000);
    kk_buf_free(&b);
    kk_buf_free(&out);
    free(zeros);
}

static void gzip_deflate_leaves_buffer_unchanged_when_the_member_does_not_fit(void **state)
{
    (void)state;
    uint8_t noise[4000];
    fill_noise(noise, sizeof noise, 3);
    kk_buf b;
    kk_buf_init(&b, 1000);
    assert_int_equal(kk_buf_append(&b, "keep", 4), 0);
    assert_int_equal(codec_gzip_deflate(noise, sizeof noise, &b), KK_ETOOBIG);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.p, "keep", 4);
    kk_buf_free(&b);
}

static void gzip_deflate_never_writes_past_max_when_the_allocation_is_larger(void **state)
{
    (void)state;
    uint8_t noise[4000];
    fill_noise(noise, sizeof noise, 5);
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(kk_buf_reserve(&b, 8192), 0);
    /* A caller (frame.c) may lower max below the current allocation. */
    b.max = 3000;
    assert_int_equal(codec_gzip_deflate(noise, sizeof noise, &b), KK_ETOOBIG);
    assert_int_equal(b.len, 0);
    b.max = 4100;
    assert_int_equal(codec_gzip_deflate(noise, sizeof noise, &b), 0);
    assert_true(b.len > 4000 && b.len <= 4100);
    kk_buf_free(&b);
}

static void gzip_inflate_reads_go_gzip_writer_output(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(go_gzip_kick, sizeof go_gzip_kick, 4096, &out), 0);
    assert_int_equal(out.len, sizeof go_kick_json - 1);
    assert_memory_equal(out.p, go_kick_json, out.len);
    kk_buf_free(&out);
}

static void gzip_inflate_stops_a_bomb_at_the_cap_without_allocating_past_it(void **state)
{
    (void)state;
    size_t n = 10u << 20;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    kk_buf z = gz(zeros, n);
    free(zeros);
    assert_true(z.len < 12000); /* 10 MB of zeros is ~10 KB of gzip */
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(kk_buf_append(&out, "ab", 2), 0);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, 1u << 20, &out), KK_ETOOBIG);
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.p, "ab", 2);
    assert_true(out.cap <= 2 + (1u << 20));
    assert_true(out.max == SIZE_MAX);
    /* Exactly at the cap is fine; one byte less is a bomb. */
    kk_buf_reset(&out);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, n, &out), 0);
    assert_int_equal(out.len, n);
    kk_buf_free(&out);
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(z.p, z.len, n - 1, &out), KK_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= n - 1);
    kk_buf_free(&out);
    kk_buf_free(&z);
}

static void gzip_inflate_obeys_the_output_buffer_cap_too(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, 50);
    assert_int_equal(codec_gzip_inflate(go_gzip_kick, sizeof go_gzip_kick, 4096, &out),
                     KK_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_int_equal(out.max, 50);
    kk_buf_free(&out);
}

static void gzip_inflate_rejects_corrupt_members(void **state)
{
    (void)state;
    uint8_t m[sizeof go_gzip_kick];
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    /* {offset, xor}: magic, method, reserved flag bits, a data byte, the
     * CRC, the length. */
    static const struct { size_t at; uint8_t x; } flips[] = {
        { 0, 0x01 }, { 1, 0x80 }, { 2, 0x01 }, { 3, 0xe0 }, { 12, 0xff },
        { sizeof go_gzip_kick - 8, 0x01 }, { sizeof go_gzip_kick - 4, 0x01 },
    };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(m, go_gzip_kick, sizeof m);
        m[flips[i].at] ^= flips[i].x;
        assert_int_equal(kk_buf_append(&out, "z", 1), 0);
        assert_int_equal(codec_gzip_inflate(m, sizeof m, 4096, &out), KK_EGZIP);
        assert_int_equal(out.len, 1);
        kk_buf_reset(&out);
    }
    assert_int_equal(codec_gzip_inflate((const uint8_t *)"{\"reqIdentifier\":1}", 19, 4096, &out),
                     KK_EGZIP);
    kk_buf_free(&out);
}

static void gzip_inflate_reports_truncation_at_every_offset(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    for (size_t i = 0; i < sizeof go_gzip_kick; i++) {
        uint8_t *cut = malloc(i ? i : 1);
        assert_non_null(cut);
        memcpy(cut, go_gzip_kick, i);
        assert_int_equal(codec_gzip_inflate(cut, i, 4096, &out), KK_EAGAIN);
        assert_int_equal(out.len, 0);
        free(cut);
    }
    kk_buf_free(&out);
}

static void gzip_inflate_rejects_bytes_after_the_member(void **state)
{
    (void)state;
    uint8_t m[2 * sizeof go_gzip_kick];
    memcpy(m, go_gzip_kick, sizeof go_gzip_kick);
    memcpy(m + sizeof go_gzip_kick, go_gzip_kick, sizeof go_gzip_kick);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    /* A second member, and a single stray byte. */
    assert_int_equal(codec_gzip_inflate(m, sizeof m, 4096, &out), KK_EPROTO);
    assert_int_equal(out.len, 0);
    assert_int_equal(codec_gzip_inflate(m, sizeof go_gzip_kick + 1, 4096, &out), KK_EPROTO);
    assert_int_equal(out.len, 0);
    kk_buf_free(&out);
}

static void gzip_inflate_accepts_optional_header_fields(void **state)
{
    (void)state;
    /* FLG = FEXTRA | FNAME | FCOMMENT, as other gzip writers may send. */
    uint8_t m[sizeof go_gzip_kick + 16];
    size_t o = 0;
    memcpy(m, go_gzip_kick, 10);
    m[3] = 0x04 | 0x08 | 0x10;
    o = 10;
    memcpy(m + o, "\x03\x00" "abc" "f.js\0" "hi\0", 2 + 3 + 5 + 3);
    o += 13;
    memcpy(m + o, go_gzip_kick + 10, sizeof go_gzip_kick - 10);
    o += sizeof go_gzip_kick - 10;
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(m, o, 4096, &out), 0);
    assert_int_equal(out.len, sizeof go_kick_json - 1);
    assert_memory_equal(out.p, go_kick_json, out.len);
    kk_buf_free(&out);
}

static void gzip_inflate_tolerates_a_zlib_wrapper_as_window_bits_47_does(void **state)
{
    (void)state;
    uint8_t z[256];
    uLongf zl = sizeof z;
    assert_int_equal(compress(z, &zl, (const Bytef *)go_kick_json, sizeof go_kick_json - 1),
                     Z_OK);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(z, zl, 4096, &out), 0);
    assert_int_equal(out.len, sizeof go_kick_json - 1);
    assert_memory_equal(out.p, go_kick_json, out.len);
    kk_buf_free(&out);
}

static void gzip_inflate_appends_after_existing_bytes(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(kk_buf_append(&out, "PRE", 3), 0);
    assert_int_equal(codec_gzip_inflate(go_gzip_kick, sizeof go_gzip_kick, 4096, &out), 0);
    assert_int_equal(out.len, 3 + sizeof go_kick_json - 1);
    assert_memory_equal(out.p, "PRE{\"req", 8);
    kk_buf_free(&out);
}

static void gzip_inflate_calls_empty_input_truncated(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    assert_int_equal(codec_gzip_inflate(NULL, 0, 4096, &out), KK_EAGAIN);
    assert_int_equal(out.len, 0);
    kk_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_deflate_writes_one_member_that_inflates_back),
        cmocka_unit_test(gzip_deflate_round_trips_empty_and_incompressible_input),
        cmocka_unit_test(gzip_deflate_appends_after_existing_bytes),
        cmocka_unit_test(gzip_deflate_fits_a_cap_below_the_worst_case_bound),
        cmocka_unit_test(gzip_deflate_leaves_buffer_unchanged_when_the_member_does_not_fit),
        cmocka_unit_test(gzip_deflate_never_writes_past_max_when_the_allocation_is_larger),
        cmocka_unit_test(gzip_inflate_reads_go_gzip_writer_output),
        cmocka_unit_test(gzip_inflate_stops_a_bomb_at_the_cap_without_allocating_past_it),
        cmocka_unit_test(gzip_inflate_obeys_the_output_buffer_cap_too),
        cmocka_unit_test(gzip_inflate_rejects_corrupt_members),
        cmocka_unit_test(gzip_inflate_reports_truncation_at_every_offset),
        cmocka_unit_test(gzip_inflate_rejects_bytes_after_the_member),
        cmocka_unit_test(gzip_inflate_accepts_optional_header_fields),
        cmocka_unit_test(gzip_inflate_tolerates_a_zlib_wrapper_as_window_bits_47_does),
        cmocka_unit_test(gzip_inflate_appends_after_existing_bytes),
        cmocka_unit_test(gzip_inflate_calls_empty_input_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
