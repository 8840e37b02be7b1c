/* test_pbsendresp.c — SendMsgResp field 4 read by wire type (NOTES.md §3.6):
 * VARINT → seq, LEN → MsgData whose seq wins, absent → unknown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbjson.h"
#include "pbwire.h"
#include "test_pb_util.h"

/* The KKIM doc's §7.6 answer: fields 1–3 only (sendTime 1766630084691 by
 * the bytes; the doc's prose says ...563, NOTES.md §7 rule 6). */
static const char kkim_doc_b64[] =
    "CiA0ZmFiZTI1MzViNzkxMjljYjAwNzhjMWQwZGRkZjE1NRIWYWxpY2UxMjRfMTc2NjYzMDA4NDYzMhjToO+atTM=";

/* Builds the KKIM doc answer followed by the extra hex bytes in *b. */
static void doc_plus(kk_buf *b, const char *extra_hex)
{
    uint8_t tmp[256];
    kk_buf_init(b, 4096);
    assert_int_equal(pbjson_b64_decode(kkim_doc_b64, strlen(kkim_doc_b64), b), 0);
    assert_int_equal(b->len, 65);
    size_t n = unhex(extra_hex, tmp, sizeof tmp);
    assert_int_equal(kk_buf_append(b, tmp, n), 0);
}

/* Asserts the three fields every vector below shares. */
static void assert_doc_fields(const pbwire_send_resp *r)
{
    assert_int_equal(r->server_msg_id.len, 32);
    assert_memory_equal(r->server_msg_id.p, "4fabe2535b79129cb0078c1d0dddf155", 32);
    assert_int_equal(r->client_msg_id.len, 22);
    assert_memory_equal(r->client_msg_id.p, "alice124_1766630084632", 22);
    assert_true(r->send_time == 1766630084691LL);
}

static void sendresp_without_field4_leaves_seq_unknown(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    doc_plus(&b, "");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_doc_fields(&r);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_ABSENT);
    assert_int_equal(r.seq, 0);
    assert_int_equal(r.msg_data.len, 0);
    kk_buf_free(&b);
}

static void sendresp_field4_varint_is_the_seq(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    doc_plus(&b, "20 2a");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_doc_fields(&r);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_VARINT);
    assert_int_equal(r.seq, 42);
    assert_null(r.msg_data.p);
    kk_buf_free(&b);
}

static void sendresp_field4_len_is_a_msgdata_whose_seq_wins(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    /* MsgData{sendID:"a", seq:12345, content:"hi"} */
    doc_plus(&b, "22 0a 0a0161 70b960 62026869");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_doc_fields(&r);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_MSGDATA);
    assert_int_equal(r.seq, 12345);
    assert_ptr_equal(r.msg_data.p, b.p + 67);
    assert_int_equal(r.msg_data.len, 10);
    kk_buf_free(&b);
}

static void sendresp_msgdata_without_seq_gives_seq_zero(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    doc_plus(&b, "22 03 0a0161");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_MSGDATA);
    assert_int_equal(r.seq, 0);
    assert_int_equal(r.msg_data.len, 3);
    kk_buf_free(&b);
}

static void sendresp_last_field4_wins(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    doc_plus(&b, "20 05  22 02 7007");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_MSGDATA);
    assert_int_equal(r.seq, 7);
    kk_buf_free(&b);
    doc_plus(&b, "22 02 7007  20 05");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_VARINT);
    assert_int_equal(r.seq, 5);
    assert_int_equal(r.msg_data.len, 0);
    kk_buf_free(&b);
}

static void sendresp_skips_unknown_fields_of_every_wire_type(void **state)
{
    (void)state;
    kk_buf b;
    pbwire_send_resp r;
    doc_plus(&b, "29 0102030405060708  2d 01020304  30 07  3a 00  20 09");
    assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), 0);
    assert_doc_fields(&r);
    assert_int_equal(r.seq_from, PBWIRE_SEQ_VARINT);
    assert_int_equal(r.seq, 9);
    kk_buf_free(&b);
}

static void sendresp_rejects_bad_wire_types_and_zeroes_output(void **state)
{
    (void)state;
    const char *bad[] = {
        "25 01020304",        /* field 4 as I32 */
        "0b 0c",              /* a group */
        "22 02 7201",         /* MsgData seq as LEN: 0x72 = field 14 LEN, truncated too */
        "22 03 72 01 00",     /* MsgData seq as LEN */
        "22 05 0a01",         /* MsgData length past end */
        "08 01",              /* serverMsgID as VARINT */
        "0a 01 ff",           /* serverMsgID not UTF-8 */
        "20",                 /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kk_buf b;
        pbwire_send_resp r;
        doc_plus(&b, bad[i]);
        memset(&r, 0x55, sizeof r);
        assert_int_equal(pbwire_send_resp_decode(b.p, b.len, &r), KK_EPROTO);
        assert_int_equal(r.seq_from, 0);
        assert_int_equal(r.seq, 0);
        assert_null(r.server_msg_id.p);
        kk_buf_free(&b);
    }
}

static void sendresp_every_prefix_is_decoded_or_rejected(void **state)
{
    (void)state;
    kk_buf b;
    doc_plus(&b, "22 0a 0a0161 70b960 62026869");
    size_t ok = 0;
    for (size_t cut = 0; cut <= b.len; cut++) {
        pbwire_send_resp r;
        int rc = pbwire_send_resp_decode(b.p, cut, &r);
        assert_true(rc == 0 || rc == KK_EPROTO);
        ok += rc == 0;
    }
    /* field boundaries: 0, 34, 58, 65 and the full 77 bytes */
    assert_int_equal(ok, 5);
    kk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sendresp_without_field4_leaves_seq_unknown),
        cmocka_unit_test(sendresp_field4_varint_is_the_seq),
        cmocka_unit_test(sendresp_field4_len_is_a_msgdata_whose_seq_wins),
        cmocka_unit_test(sendresp_msgdata_without_seq_gives_seq_zero),
        cmocka_unit_test(sendresp_last_field4_wins),
        cmocka_unit_test(sendresp_skips_unknown_fields_of_every_wire_type),
        cmocka_unit_test(sendresp_rejects_bad_wire_types_and_zeroes_output),
        cmocka_unit_test(sendresp_every_prefix_is_decoded_or_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
