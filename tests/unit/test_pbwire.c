/* test_pbwire.c — the strict protobuf wire walker (proto/pbwire.h):
 * every wire type, varint limits, lengths, groups, UTF-8, writers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbwire.h"
#include "test_pb_util.h"

static void pbwire_walks_all_four_wire_types(void **state)
{
    (void)state;
    uint8_t b[64];
    /* 1:VARINT 300, 2:I64 0x0102030405060708, 3:LEN "hi", 4:I32 0xdeadbeef */
    size_t n = unhex("08 ac02  11 0807060504030201  1a 02 6869  25 efbeadde", b, sizeof b);
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, b, n);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(f.num, 1);
    assert_int_equal(f.wtype, PBWIRE_VARINT);
    assert_int_equal(f.u, 300);
    assert_int_equal(f.off, 0);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(f.num, 2);
    assert_int_equal(f.wtype, PBWIRE_I64);
    assert_true(f.u == 0x0102030405060708ull);
    assert_int_equal(f.off, 3);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(f.num, 3);
    assert_int_equal(f.wtype, PBWIRE_LEN);
    assert_int_equal(f.bytes.len, 2);
    assert_memory_equal(f.bytes.p, "hi", 2);
    assert_int_equal(f.off, 12);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(f.num, 4);
    assert_int_equal(f.wtype, PBWIRE_I32);
    assert_true(f.u == 0xdeadbeefull);
    assert_int_equal(pbwire_next(&r, &f), 0);
    assert_int_equal(pbwire_check(b, n), 4);
}

static void pbwire_rejects_group_wire_types(void **state)
{
    (void)state;
    uint8_t sgroup[] = { 0x0b, 0x0c }; /* field 1 start group, end group */
    uint8_t egroup[] = { 0x0c };
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, sgroup, sizeof sgroup);
    assert_int_equal(pbwire_next(&r, &f), KK_EPROTO);
    assert_int_equal(r.err_off, 0);
    assert_string_equal(r.err_what, "group wire type (3/4) not supported");
    /* a failed reader stays failed */
    assert_int_equal(pbwire_next(&r, &f), KK_EPROTO);
    assert_int_equal(pbwire_check(egroup, sizeof egroup), KK_EPROTO);
}

static void pbwire_rejects_undefined_wire_types_6_and_7(void **state)
{
    (void)state;
    uint8_t w6[] = { 0x08, 0x01, 0x0e };
    uint8_t w7[] = { 0x0f };
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, w6, sizeof w6);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(pbwire_next(&r, &f), KK_EPROTO);
    assert_int_equal(r.err_off, 2);
    assert_string_equal(r.err_what, "invalid wire type");
    assert_int_equal(pbwire_check(w7, sizeof w7), KK_EPROTO);
}

static void pbwire_varint_accepts_ten_bytes_up_to_uint64_max(void **state)
{
    (void)state;
    uint8_t b[16];
    uint64_t v = 0;
    size_t n = unhex("ffffffffffffffffff01", b, sizeof b);
    assert_int_equal(pbwire_varint(b, n, &v), 10);
    assert_true(v == UINT64_MAX);
    /* non-minimal encodings are valid protobuf */
    n = unhex("8000", b, sizeof b);
    assert_int_equal(pbwire_varint(b, n, &v), 2);
    assert_true(v == 0);
}

static void pbwire_varint_rejects_eleven_bytes_and_overflow(void **state)
{
    (void)state;
    uint8_t b[16];
    uint64_t v = 7;
    size_t n = unhex("ffffffffffffffffff8001", b, sizeof b);
    assert_int_equal(pbwire_varint(b, n, &v), KK_EPROTO);
    n = unhex("ffffffffffffffffff02", b, sizeof b); /* bit 64 set */
    assert_int_equal(pbwire_varint(b, n, &v), KK_EPROTO);
    n = unhex("8080", b, sizeof b); /* truncated */
    assert_int_equal(pbwire_varint(b, n, &v), KK_EPROTO);
    assert_int_equal(pbwire_varint(b, 0, &v), KK_EPROTO);
    assert_true(v == 7); /* untouched on failure */
}

static void pbwire_rejects_length_past_end_with_its_offset(void **state)
{
    (void)state;
    uint8_t b[] = { 0x08, 0x01, 0x12, 0x05, 'a', 'b' };
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, b, sizeof b);
    assert_int_equal(pbwire_next(&r, &f), 1);
    assert_int_equal(pbwire_next(&r, &f), KK_EPROTO);
    assert_int_equal(r.err_off, 4);
    assert_string_equal(r.err_what, "length past end");
}

static void pbwire_rejects_field_number_zero_and_above_29_bits(void **state)
{
    (void)state;
    uint8_t zero[] = { 0x00, 0x01 };
    uint8_t big[] = { 0x80, 0x80, 0x80, 0x80, 0x20, 0x01 }; /* field 2^29 */
    uint8_t max[] = { 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01 }; /* field 2^29-1 */
    assert_int_equal(pbwire_check(zero, sizeof zero), KK_EPROTO);
    assert_int_equal(pbwire_check(big, sizeof big), KK_EPROTO);
    assert_int_equal(pbwire_check(max, sizeof max), 1);
}

static void pbwire_rejects_truncated_fixed_values(void **state)
{
    (void)state;
    uint8_t i64[] = { 0x09, 1, 2, 3, 4, 5, 6, 7 };
    uint8_t i32[] = { 0x0d, 1, 2, 3 };
    assert_int_equal(pbwire_check(i64, sizeof i64), KK_EPROTO);
    assert_int_equal(pbwire_check(i32, sizeof i32), KK_EPROTO);
}

static void pbwire_every_prefix_ends_cleanly_or_fails(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = unhex("08 ac02  11 0807060504030201  1a 02 6869  25 efbeadde", b, sizeof b);
    /* field boundaries: 0, 3, 12, 16, 21 */
    for (size_t cut = 0; cut <= n; cut++) {
        int rc = pbwire_check(b, cut);
        int want = cut == 0 ? 0 : cut == 3 ? 1 : cut == 12 ? 2 : cut == 16 ? 3 : cut == 21 ? 4 : KK_EPROTO;
        assert_int_equal(rc, want);
    }
}

static void pbwire_utf8_follows_go_utf8_valid(void **state)
{
    (void)state;
    uint8_t b[16];
    struct {
        const char *hex;
        bool ok;
    } cases[] = {
        { "", true },
        { "616263", true },
        { "c3a9", true },            /* é */
        { "e282ac", true },          /* € */
        { "f09f9880", true },        /* U+1F600 */
        { "f48fbfbf", true },        /* U+10FFFF */
        { "c0af", false },           /* overlong '/' */
        { "e080af", false },         /* overlong */
        { "eda080", false },         /* surrogate U+D800 */
        { "f4908080", false },       /* U+110000 */
        { "e282", false },           /* truncated */
        { "80", false },             /* lone continuation */
        { "f5808080", false },       /* invalid lead */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = unhex(cases[i].hex, b, sizeof b);
        assert_int_equal(pbwire_utf8_valid(b, n), cases[i].ok);
    }
}

static void pbwire_writers_produce_canonical_bytes(void **state)
{
    (void)state;
    kk_buf out;
    kk_buf_init(&out, 64);
    assert_int_equal(pbwire_put_varint(&out, 300), 0);
    assert_int_equal(pbwire_put_tag(&out, 14, PBWIRE_VARINT), 0);
    assert_int_equal(pbwire_put_len(&out, 12, (const uint8_t *)"hi", 2), 0);
    assert_int_equal(pbwire_put_varint(&out, UINT64_MAX), 0);
    uint8_t want[32];
    size_t n = unhex("ac02 70 6202 6869 ffffffffffffffffff01", want, sizeof want);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, want, n);
    /* a failed append leaves the buffer unchanged */
    kk_buf small;
    kk_buf_init(&small, 3);
    assert_int_equal(pbwire_put_len(&small, 1, (const uint8_t *)"abc", 3), KK_ETOOBIG);
    assert_int_equal(small.len, 0);
    kk_buf_free(&small);
    kk_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pbwire_walks_all_four_wire_types),
        cmocka_unit_test(pbwire_rejects_group_wire_types),
        cmocka_unit_test(pbwire_rejects_undefined_wire_types_6_and_7),
        cmocka_unit_test(pbwire_varint_accepts_ten_bytes_up_to_uint64_max),
        cmocka_unit_test(pbwire_varint_rejects_eleven_bytes_and_overflow),
        cmocka_unit_test(pbwire_rejects_length_past_end_with_its_offset),
        cmocka_unit_test(pbwire_rejects_field_number_zero_and_above_29_bits),
        cmocka_unit_test(pbwire_rejects_truncated_fixed_values),
        cmocka_unit_test(pbwire_every_prefix_ends_cleanly_or_fails),
        cmocka_unit_test(pbwire_utf8_follows_go_utf8_valid),
        cmocka_unit_test(pbwire_writers_produce_canonical_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
