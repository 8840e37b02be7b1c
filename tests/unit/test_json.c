/* test_json.c — the sdkType=js envelope (NOTES.md §2.3; text frames
 * are in test_frame.c): byte-exact encoding against Go's json.Marshal, every
 * accepted and rejected input form, and truncation at every offset.
 * Expected encodings were produced by Go's encoding/json (Go 1.19 plus the
 * Go 1.22 \b/\f change) on OpenIM's Req/Resp structs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

#define U8(s) ((const uint8_t *)(s))
#define LIT(s) U8(s), sizeof(s) - 1

/* Asserts that view v holds exactly the n bytes at s. */
static void view_eq(kk_view v, const void *s, size_t n)
{
    assert_int_equal(v.len, n);
    if (n)
        assert_memory_equal(v.p, s, n);
}
#define VIEW_EQ(v, lit) view_eq((v), (lit), sizeof(lit) - 1)

/* Asserts that buffer b holds exactly the bytes of the literal. */
#define BUF_EQ(b, lit)                                                   \
    do {                                                                 \
        assert_int_equal((b).len, sizeof(lit) - 1);                      \
        assert_memory_equal((b).p, (lit), sizeof(lit) - 1);              \
    } while (0)

/* Decodes a NUL-terminated JSON text as a Req into r using text. */
static int dec_req(const char *json, codec_req *r, kk_buf *text)
{
    return codec_json_decode_req(U8(json), strlen(json), r, text);
}

/* Decodes a NUL-terminated JSON text as a Resp into r using text. */
static int dec_resp(const char *json, codec_resp *r, kk_buf *text)
{
    return codec_json_decode_resp(U8(json), strlen(json), r, text);
}

/* Asserts that every field of r is zero (what a failed decode leaves). */
static void req_is_zero(const codec_req *r)
{
    assert_int_equal(r->req_identifier, 0);
    assert_int_equal(r->token.len + r->send_id.len + r->operation_id.len + r->msg_incr.len +
                         r->data.len, 0);
    assert_null(r->data.p);
}

/* ---- encoding -------------------------------------------------------- */

static void json_encode_req_matches_go_marshal_byte_for_byte(void **state)
{
    (void)state;
    static const uint8_t data[] = "\x0a\x05" "alice" "\x12\x03" "bob";
    codec_req r = { 1003, kk_view_str("eyJ"), kk_view_str("alice"), kk_view_str("5f0c"),
                    kk_view_str("17"), { data, sizeof data - 1 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1003,\"token\":\"eyJ\",\"sendID\":\"alice\",\"operationID\":"
              "\"5f0c\",\"msgIncr\":\"17\",\"data\":\"CgVhbGljZRIDYm9i\"}");
    kk_buf_free(&b);
}

static void json_encode_resp_writes_null_for_empty_data_like_go_nil(void **state)
{
    (void)state;
    codec_resp r = { 1003, kk_view_str("18"), kk_view_str("77aa"), 1004, kk_view_str("..."),
                     { NULL, 0 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_resp(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1003,\"msgIncr\":\"18\",\"operationID\":\"77aa\","
              "\"errCode\":1004,\"errMsg\":\"...\",\"data\":null}");
    kk_buf_free(&b);
}

static void json_encode_resp_writes_int64_extremes_of_err_code(void **state)
{
    (void)state;
    codec_resp r = { 2001, { 0 }, { 0 }, INT64_MIN, { 0 }, { 0 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_resp(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":2001,\"msgIncr\":\"\",\"operationID\":\"\","
              "\"errCode\":-9223372036854775808,\"errMsg\":\"\",\"data\":null}");
    kk_buf_reset(&b);
    r.err_code = INT64_MAX;
    r.req_identifier = INT32_MIN;
    assert_int_equal(codec_json_encode_resp(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":-2147483648,\"msgIncr\":\"\",\"operationID\":\"\","
              "\"errCode\":9223372036854775807,\"errMsg\":\"\",\"data\":null}");
    kk_buf_free(&b);
}

static void json_encode_escapes_strings_exactly_as_go(void **state)
{
    (void)state;
    static const uint8_t data[] = { 1 };
    /* The sendID holds NUL, 0x01, 0x1f, DEL (written raw by Go), \t\n\r;
     * msgIncr holds invalid UTF-8: a stray 0xff, a lead byte before '(',
     * an encoded surrogate and a truncated 3-byte sequence. */
    static const char send_id[] = "\x00\x01\x1f\x7f\t\n\r";
    codec_req r = { INT32_MIN, kk_view_str("a<b>&c\"\\/"), { U8(send_id), sizeof send_id - 1 },
                    kk_view_str("\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80"),
                    kk_view_str("\xff\xc3(\xed\xa0\x80\xe2\x82"), { data, 1 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":-2147483648,\"token\":\"a\\u003cb\\u003e\\u0026c\\\"\\\\/\","
              "\"sendID\":\"\\u0000\\u0001\\u001f\x7f\\t\\n\\r\","
              "\"operationID\":\"\xc3\xa9\\u2028\\u2029\xf0\x9f\x98\x80\","
              "\"msgIncr\":\"\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\","
              "\"data\":\"AQ==\"}");
    kk_buf_free(&b);
}

static void json_encode_uses_go_1_22_short_escapes_for_backspace_and_form_feed(void **state)
{
    (void)state;
    codec_req r = { 1, kk_view_str("\b\f\x0b"), { 0 }, { 0 }, { 0 }, { 0 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1,\"token\":\"\\b\\f\\u000b\",\"sendID\":\"\","
              "\"operationID\":\"\",\"msgIncr\":\"\",\"data\":null}");
    kk_buf_free(&b);
}

static void json_encode_base64_uses_standard_alphabet_and_padding(void **state)
{
    (void)state;
    static const uint8_t d5[] = { 0xfb, 0xff, 0xbf, 0x00, 0x01 };
    codec_req r = { 1, { 0 }, { 0 }, { 0 }, { 0 }, { d5, 5 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1,\"token\":\"\",\"sendID\":\"\",\"operationID\":\"\","
              "\"msgIncr\":\"\",\"data\":\"+/+/AAE=\"}");
    kk_buf_reset(&b);
    r.data.len = 3;
    assert_int_equal(codec_json_encode_req(&r, false, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1,\"token\":\"\",\"sendID\":\"\",\"operationID\":\"\","
              "\"msgIncr\":\"\",\"data\":\"+/+/\"}");
    kk_buf_free(&b);
}

static void json_encode_writes_data_as_number_array_when_asked(void **state)
{
    (void)state;
    static const uint8_t d[] = { 10, 0, 255 };
    codec_req r = { 1003, { 0 }, kk_view_str("u"), kk_view_str("o"), kk_view_str("1"), { d, 3 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, true, &b), 0);
    BUF_EQ(b, "{\"reqIdentifier\":1003,\"token\":\"\",\"sendID\":\"u\",\"operationID\":\"o\","
              "\"msgIncr\":\"1\",\"data\":[10,0,255]}");
    kk_buf_free(&b);
}

static void json_encode_appends_after_existing_bytes(void **state)
{
    (void)state;
    codec_resp r = { 2002, { 0 }, { 0 }, 0, { 0 }, { 0 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(kk_buf_append(&b, "AB", 2), 0);
    assert_int_equal(codec_json_encode_resp(&r, false, &b), 0);
    BUF_EQ(b, "AB{\"reqIdentifier\":2002,\"msgIncr\":\"\",\"operationID\":\"\",\"errCode\":0,"
              "\"errMsg\":\"\",\"data\":null}");
    kk_buf_free(&b);
}

static void json_encode_leaves_buffer_unchanged_when_over_its_cap(void **state)
{
    (void)state;
    codec_resp r = { 2002, { 0 }, { 0 }, 0, { 0 }, { 0 } };
    kk_buf b;
    kk_buf_init(&b, 50);
    assert_int_equal(kk_buf_append(&b, "AB", 2), 0);
    assert_int_equal(codec_json_encode_resp(&r, false, &b), KK_ETOOBIG);
    BUF_EQ(b, "AB");
    kk_buf_free(&b);
}

static void json_encode_rejects_view_with_length_but_no_pointer(void **state)
{
    (void)state;
    codec_req r = { 1, { NULL, 3 }, { 0 }, { 0 }, { 0 }, { 0 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_json_encode_req(&r, false, &b), KK_EINVAL);
    assert_int_equal(b.len, 0);
    kk_buf_free(&b);
}

/* ---- the NOTES.md §2.3 example lines --------------------------------- */

static void json_decode_notes_example_lines_as_printed(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    codec_resp p;
    /* Lines 1 and 2 shorten their payloads with "...", which is not base64. */
    assert_int_equal(dec_req("{\"reqIdentifier\":1003,\"token\":\"eyJ...\",\"sendID\":\"alice\","
                             "\"operationID\":\"5f0c...\",\"msgIncr\":\"17\","
                             "\"data\":\"CgVhbGljZRIDYm9i...\"}", &q, &t),
                     KK_EB64);
    req_is_zero(&q);
    assert_int_equal(dec_resp("{\"reqIdentifier\":1003,\"msgIncr\":\"17\",\"operationID\":"
                              "\"5f0c...\",\"errCode\":0,\"errMsg\":\"\",\"data\":\"CiA0ZmFi...\"}",
                              &p, &t),
                     KK_EB64);
    assert_int_equal(dec_resp("{\"reqIdentifier\":1003,\"msgIncr\":\"18\",\"operationID\":"
                              "\"77aa...\",\"errCode\":1004,\"errMsg\":\"...\",\"data\":null}",
                              &p, &t),
                     0);
    assert_int_equal(p.req_identifier, 1003);
    VIEW_EQ(p.msg_incr, "18");
    VIEW_EQ(p.operation_id, "77aa...");
    assert_int_equal(p.err_code, 1004);
    VIEW_EQ(p.err_msg, "...");
    assert_int_equal(p.data.len, 0);
    assert_null(p.data.p);
    kk_buf_free(&t);
}

static void json_decode_notes_example_send_request_field_by_field(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"reqIdentifier\":1003,\"token\":\"eyJ...\",\"sendID\":\"alice\","
                             "\"operationID\":\"5f0c...\",\"msgIncr\":\"17\","
                             "\"data\":\"CgVhbGljZRIDYm9i\"}", &q, &t),
                     0);
    assert_int_equal(q.req_identifier, 1003);
    VIEW_EQ(q.token, "eyJ...");
    VIEW_EQ(q.send_id, "alice");
    VIEW_EQ(q.operation_id, "5f0c...");
    VIEW_EQ(q.msg_incr, "17");
    /* MsgData{sendID=1:"alice", recvID=2:"bob"} */
    VIEW_EQ(q.data, "\x0a\x05" "alice" "\x12\x03" "bob");
    kk_buf_free(&t);
}

static void json_decode_notes_example_send_response_field_by_field(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"reqIdentifier\":1003,\"msgIncr\":\"17\",\"operationID\":"
                              "\"5f0c...\",\"errCode\":0,\"errMsg\":\"\",\"data\":\"CiA0ZmFi\"}",
                              &p, &t),
                     0);
    assert_int_equal(p.req_identifier, 1003);
    VIEW_EQ(p.msg_incr, "17");
    VIEW_EQ(p.operation_id, "5f0c...");
    assert_int_equal(p.err_code, 0);
    assert_int_equal(p.err_msg.len, 0);
    VIEW_EQ(p.data, "\x0a\x20" "4fab");
    /* Everything decoded lives in text, back to back in field order. */
    assert_int_equal(t.len, 2 + 7 + 6);
    assert_ptr_equal(p.msg_incr.p, t.p);
    assert_ptr_equal(p.operation_id.p, t.p + 2);
    assert_ptr_equal(p.data.p, t.p + 9);
    kk_buf_free(&t);
}

/* ---- keys ------------------------------------------------------------ */

static void json_decode_matches_keys_case_insensitively(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"REQIDENTIFIER\":7,\"Token\":\"t\",\"SendId\":\"s\","
                             "\"OPERATIONid\":\"o\",\"msgincr\":\"m\",\"Data\":\"AQI=\"}", &q, &t),
                     0);
    assert_int_equal(q.req_identifier, 7);
    VIEW_EQ(q.token, "t");
    VIEW_EQ(q.send_id, "s");
    VIEW_EQ(q.operation_id, "o");
    VIEW_EQ(q.msg_incr, "m");
    VIEW_EQ(q.data, "\x01\x02");
    kk_buf_free(&t);
}

static void json_decode_folds_long_s_kelvin_and_turkish_i_like_go(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    /* ſendID (U+017F), to\u212Aen (Kelvin sign), req\u0130dentifier and
     * msg\u0131ncr all fold onto the ASCII names in Go >= 1.21. */
    assert_int_equal(dec_req("{\"\xc5\xbf" "endID\":\"x\",\"to\xe2\x84\xaa" "en\":\"y\","
                             "\"req\xc4\xb0" "dentifier\":5,\"msg\xc4\xb1" "ncr\":\"z\"}", &q, &t),
                     0);
    VIEW_EQ(q.send_id, "x");
    VIEW_EQ(q.token, "y");
    assert_int_equal(q.req_identifier, 5);
    VIEW_EQ(q.msg_incr, "z");
    /* Other non-ASCII look-alikes do not fold: the fullwidth S is unknown. */
    assert_int_equal(dec_req("{\"\xef\xbc\xb3" "endID\":\"x\"}", &q, &t), 0);
    assert_int_equal(q.send_id.len, 0);
    kk_buf_free(&t);
}

static void json_decode_keeps_the_last_of_case_variant_keys(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"SENDID\":\"a\",\"sendID\":\"b\"}", &q, &t), 0);
    VIEW_EQ(q.send_id, "b");
    assert_int_equal(dec_req("{\"sendID\":\"b\",\"SENDID\":\"a\"}", &q, &t), 0);
    VIEW_EQ(q.send_id, "a");
    kk_buf_free(&t);
}

static void json_decode_rejects_exactly_repeated_keys(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"sendID\":\"a\",\"token\":\"\",\"sendID\":\"b\"}", &q, &t),
                     KK_EJSON);
    req_is_zero(&q);
    /* ... in unknown keys and nested objects too. */
    assert_int_equal(dec_req("{\"x\":{\"k\":1,\"k\":2}}", &q, &t), KK_EJSON);
    kk_buf_free(&t);
}

static void json_decode_null_keeps_strings_and_ints_but_clears_data(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"sendID\":\"a\",\"SendID\":null,\"reqIdentifier\":3,"
                             "\"REQIDENTIFIER\":null,\"data\":\"AQ==\",\"DATA\":null,"
                             "\"token\":null}", &q, &t),
                     0);
    VIEW_EQ(q.send_id, "a");
    assert_int_equal(q.req_identifier, 3);
    assert_int_equal(q.data.len, 0);
    assert_null(q.data.p);
    assert_int_equal(q.token.len, 0);
    kk_buf_free(&t);
}

static void json_decode_ignores_unknown_keys_of_any_shape(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"errDlt\":\"x\",\"reqIdentifier\":2001,\"n\":[1,{\"a\":[]},null,"
                              "true,-1.5e-3],\"o\":{\"errCode\":\"no\"},\"errCode\":-1}", &p, &t),
                     0);
    assert_int_equal(p.req_identifier, 2001);
    assert_int_equal(p.err_code, -1);
    assert_int_equal(t.len, 0);
    kk_buf_free(&t);
}

/* ---- data ------------------------------------------------------------ */

static void json_decode_accepts_data_as_number_array(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"reqIdentifier\":1003,\"data\":[10, 5 ,0,255]}", &q, &t), 0);
    VIEW_EQ(q.data, "\x0a\x05\x00\xff");
    assert_int_equal(dec_req("{\"data\":[]}", &q, &t), 0);
    assert_int_equal(q.data.len, 0);
    kk_buf_free(&t);
}

static void json_decode_rejects_number_array_with_values_outside_a_byte(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"data\":[256]}",   "{\"data\":[-1]}",     "{\"data\":[1.0]}",  "{\"data\":[\"1\"]}",
        "{\"data\":[null]}",  "{\"data\":[[1]]}",    "{\"data\":[true]}", "{\"data\":[1,{}]}",
        "{\"data\":{}}",      "{\"data\":7}",        "{\"data\":false}",
    };
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dec_req(bad[i], &q, &t), KK_EJSON);
        req_is_zero(&q);
        assert_int_equal(t.len, 0);
    }
    kk_buf_free(&t);
}

static void json_decode_accepts_null_empty_and_missing_data(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"reqIdentifier\":2004,\"data\":null}", &p, &t), 0);
    assert_int_equal(p.data.len, 0);
    assert_int_equal(dec_resp("{\"reqIdentifier\":2003,\"data\":\"\"}", &p, &t), 0);
    assert_int_equal(p.data.len, 0);
    assert_int_equal(dec_resp("{\"reqIdentifier\":2002}", &p, &t), 0);
    assert_int_equal(p.req_identifier, 2002);
    assert_int_equal(p.data.len, 0);
    kk_buf_free(&t);
}

static void json_decode_accepts_base64_with_newlines_and_loose_last_bits_like_go(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"data\":\"AQ\\n=\\r=\"}", &q, &t), 0);
    VIEW_EQ(q.data, "\x01");
    /* "AR==" has non-zero unused bits; Go's StdEncoding is not Strict. */
    assert_int_equal(dec_req("{\"data\":\"AR==\"}", &q, &t), 0);
    VIEW_EQ(q.data, "\x01");
    assert_int_equal(dec_req("{\"data\":\"+/+/AAE=\"}", &q, &t), 0);
    VIEW_EQ(q.data, "\xfb\xff\xbf\x00\x01");
    /* Escaped characters are base64 after unescaping. */
    assert_int_equal(dec_req("{\"data\":\"\\u0041\\/8=\"}", &q, &t), 0);
    VIEW_EQ(q.data, "\x03\xff");
    kk_buf_free(&t);
}

static void json_decode_rejects_malformed_base64(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"data\":\"AQ\"}",     "{\"data\":\"AQI\"}",     "{\"data\":\"A\"}",
        "{\"data\":\"A===\"}",   "{\"data\":\"====\"}",    "{\"data\":\"AQ=\"}",
        "{\"data\":\"AQI==\"}",  "{\"data\":\"AQ==AQ==\"}", "{\"data\":\"AQ== \"}",
        "{\"data\":\"AQ-_\"}",   "{\"data\":\"AQ\\tI=\"}", "{\"data\":\"=AQI\"}",
        "{\"data\":\"AQ==\\u0000\"}",
    };
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dec_req(bad[i], &q, &t), KK_EB64);
        req_is_zero(&q);
    }
    kk_buf_free(&t);
}

static void json_decode_rejects_bad_base64_even_when_a_later_key_replaces_it(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    assert_int_equal(dec_req("{\"data\":\"!!!!\",\"DATA\":\"AQ==\"}", &q, &t), KK_EB64);
    assert_int_equal(dec_req("{\"data\":[300],\"DATA\":\"AQ==\"}", &q, &t), KK_EJSON);
    kk_buf_free(&t);
}

/* ---- types ----------------------------------------------------------- */

static void json_decode_rejects_non_strings_where_strings_belong(void **state)
{
    (void)state;
    static const char *keys[] = { "token", "sendID", "operationID", "msgIncr" };
    static const char *vals[] = { "17", "true", "{}", "[\"a\"]", "1.5" };
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_req q;
    codec_resp p;
    char json[96];
    for (size_t k = 0; k < 4; k++) {
        for (size_t v = 0; v < 5; v++) {
            int n = snprintf(json, sizeof json, "{\"reqIdentifier\":1003,\"%s\":%s}", keys[k],
                             vals[v]);
            assert_true(n > 0 && (size_t)n < sizeof json);
            assert_int_equal(dec_req(json, &q, &t), KK_EJSON);
            req_is_zero(&q);
        }
    }
    assert_int_equal(dec_resp("{\"errMsg\":404}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"msgIncr\":17}", &p, &t), KK_EJSON);
    kk_buf_free(&t);
}

static void json_decode_requires_req_identifier_to_be_an_int32(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"reqIdentifier\":2147483647}", &p, &t), 0);
    assert_int_equal(p.req_identifier, INT32_MAX);
    assert_int_equal(dec_resp("{\"reqIdentifier\":-2147483648}", &p, &t), 0);
    assert_int_equal(p.req_identifier, INT32_MIN);
    assert_int_equal(dec_resp("{\"reqIdentifier\":-0}", &p, &t), 0);
    assert_int_equal(p.req_identifier, 0);
    assert_int_equal(dec_resp("{\"reqIdentifier\":2147483648}", &p, &t), KK_EOVERFLOW);
    assert_int_equal(dec_resp("{\"reqIdentifier\":-2147483649}", &p, &t), KK_EOVERFLOW);
    assert_int_equal(dec_resp("{\"reqIdentifier\":1003.0}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"reqIdentifier\":1e3}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"reqIdentifier\":\"1003\"}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"reqIdentifier\":true}", &p, &t), KK_EJSON);
    assert_int_equal(p.req_identifier, 0);
    kk_buf_free(&t);
}

static void json_decode_takes_any_int64_err_code(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"errCode\":-9223372036854775808}", &p, &t), 0);
    assert_true(p.err_code == INT64_MIN);
    assert_int_equal(dec_resp("{\"errCode\":9223372036854775807}", &p, &t), 0);
    assert_true(p.err_code == INT64_MAX);
    assert_int_equal(dec_resp("{\"errCode\":9223372036854775808}", &p, &t), KK_EOVERFLOW);
    assert_int_equal(dec_resp("{\"errCode\":1.5}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"errCode\":\"1002\"}", &p, &t), KK_EJSON);
    kk_buf_free(&t);
}

/* ---- document shape -------------------------------------------------- */

static void json_decode_rejects_anything_but_an_object(void **state)
{
    (void)state;
    static const char *bad[] = { "null", "[]", "\"x\"", "1003", "true", "[{\"reqIdentifier\":1}]" };
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(dec_resp(bad[i], &p, &t), KK_EJSON);
    kk_buf_free(&t);
}

static void json_decode_allows_whitespace_around_but_nothing_after_the_object(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp(" \t\r\n{ \"reqIdentifier\" : 2001 }\n ", &p, &t), 0);
    assert_int_equal(p.req_identifier, 2001);
    assert_int_equal(dec_resp("{\"reqIdentifier\":2001}{}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"reqIdentifier\":2001} x", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("\xef\xbb\xbf{}", &p, &t), KK_EJSON);
    assert_int_equal(codec_json_decode_resp(LIT("{}\0"), &p, &t), KK_EJSON);
    assert_int_equal(codec_json_decode_resp(NULL, 0, &p, &t), KK_EAGAIN);
    kk_buf_free(&t);
}

static void json_decode_unescapes_strings_into_text(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"errMsg\":\"\\u003cx\\u003e\\u0000\\\"\\/\\ud83d\\ude00\xc3\xa9\","
                              "\"msgIncr\":\"\\ufffd\"}", &p, &t),
                     0);
    view_eq(p.err_msg, "<x>\0\"/\xf0\x9f\x98\x80\xc3\xa9", 12);
    VIEW_EQ(p.msg_incr, "\xef\xbf\xbd");
    kk_buf_free(&t);
}

static void json_decode_rejects_what_jansson_cannot_represent(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    /* Invalid UTF-8, a lone surrogate, a control byte inside a string. */
    assert_int_equal(dec_resp("{\"errMsg\":\"\xff\"}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"errMsg\":\"\\ud800\"}", &p, &t), KK_EJSON);
    assert_int_equal(dec_resp("{\"errMsg\":\"a\tb\"}", &p, &t), KK_EJSON);
    /* Numbers beyond int64 or double, even under unknown keys. */
    assert_int_equal(dec_resp("{\"x\":123456789012345678901234}", &p, &t), KK_EOVERFLOW);
    assert_int_equal(dec_resp("{\"x\":1e999}", &p, &t), KK_EOVERFLOW);
    kk_buf_free(&t);
}

static void json_decode_reuses_text_and_resets_it_first(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(dec_resp("{\"msgIncr\":\"first-value\",\"data\":\"AQIDBA==\"}", &p, &t), 0);
    assert_int_equal(t.len, 11 + 4);
    assert_int_equal(dec_resp("{\"msgIncr\":\"2\"}", &p, &t), 0);
    assert_int_equal(t.len, 1);
    VIEW_EQ(p.msg_incr, "2");
    assert_int_equal(dec_resp("{\"msgIncr\":7}", &p, &t), KK_EJSON);
    assert_int_equal(t.len, 0);
    assert_int_equal(p.msg_incr.len, 0);
    kk_buf_free(&t);
}

static void json_decode_fails_cleanly_when_text_cap_is_too_small(void **state)
{
    (void)state;
    kk_buf t;
    kk_buf_init(&t, 4);
    codec_resp p;
    assert_int_equal(dec_resp("{\"msgIncr\":\"12\",\"errMsg\":\"34\"}", &p, &t), 0);
    assert_int_equal(dec_resp("{\"msgIncr\":\"12\",\"errMsg\":\"345\"}", &p, &t), KK_ETOOBIG);
    assert_int_equal(p.msg_incr.len + p.err_msg.len, 0);
    kk_buf_free(&t);
}

static void json_decode_fails_at_every_truncation(void **state)
{
    (void)state;
    static const char full[] =
        "{\"reqIdentifier\":1003,\"msgIncr\":\"17\",\"operationID\":\"5f0c\",\"errCode\":0,"
        "\"errMsg\":\"\",\"data\":\"CiA0ZmFi\",\"x\":[true,null,1.5e3]}";
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    size_t n = sizeof full - 1, eagain = 0;
    for (size_t i = 0; i < n; i++) {
        /* Copy the prefix so ASan sees any read past it. */
        uint8_t *cut = malloc(i ? i : 1);
        assert_non_null(cut);
        memcpy(cut, full, i);
        int rc = codec_json_decode_resp(cut, i, &p, &t);
        free(cut);
        /* A cut inside a literal (tru, nul, 1.5e) is a bad token to
         * jansson; any other cut is a premature end. */
        assert_true(rc == KK_EAGAIN || rc == KK_EJSON);
        eagain += rc == KK_EAGAIN;
        assert_int_equal(p.req_identifier, 0);
        assert_int_equal(t.len, 0);
    }
    assert_int_equal(n - eagain, 8);
    assert_int_equal(codec_json_decode_resp(U8(full), n, &p, &t), 0);
    VIEW_EQ(p.data, "\x0a\x20" "4fab");
    kk_buf_free(&t);
}

static void json_decode_rejects_more_values_than_the_limit(void **state)
{
    (void)state;
    size_t n = 300000;
    char *json = malloc(n * 2 + 16);
    assert_non_null(json);
    size_t o = 0;
    memcpy(json + o, "{\"x\":[", 6);
    o += 6;
    for (size_t i = 0; i < n; i++) {
        json[o++] = '0';
        json[o++] = ',';
    }
    memcpy(json + o, "0]}", 3);
    o += 3;
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(codec_json_decode_resp(U8(json), o, &p, &t), KK_ETOOBIG);
    /* Commas inside strings do not count. */
    o = 0;
    memcpy(json + o, "{\"errMsg\":\"", 11);
    o += 11;
    memset(json + o, ',', n);
    o += n;
    memcpy(json + o, "\"}", 2);
    o += 2;
    assert_int_equal(codec_json_decode_resp(U8(json), o, &p, &t), 0);
    assert_int_equal(p.err_msg.len, n);
    free(json);
    kk_buf_free(&t);
}

static void json_decode_rejects_deep_nesting_without_crashing(void **state)
{
    (void)state;
    size_t n = 100000;
    char *json = malloc(n + 8);
    assert_non_null(json);
    memcpy(json, "{\"x\":", 5);
    memset(json + 5, '[', n);
    kk_buf t;
    kk_buf_init(&t, SIZE_MAX);
    codec_resp p;
    assert_int_equal(codec_json_decode_resp(U8(json), n + 5, &p, &t), KK_EJSON);
    free(json);
    kk_buf_free(&t);
}

/* ---- round trips ----------------------------------------------------- */

static void json_round_trips_req_and_resp_with_both_data_forms(void **state)
{
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    codec_req q = { 1004, kk_view_str("tok<&>"), kk_view_str("u\"1\\"),
                    kk_view_str("op\xe2\x80\xa8\x01"), kk_view_str("42"), { data, sizeof data } };
    codec_resp p = { 2001, kk_view_str(""), kk_view_str("op"), -5, kk_view_str("msg\n"),
                     { data, 1 } };
    kk_buf b, t;
    kk_buf_init(&b, SIZE_MAX);
    kk_buf_init(&t, SIZE_MAX);
    for (int arr = 0; arr < 2; arr++) {
        codec_req q2;
        codec_resp p2;
        kk_buf_reset(&b);
        assert_int_equal(codec_json_encode_req(&q, arr, &b), 0);
        assert_int_equal(codec_json_decode_req(b.p, b.len, &q2, &t), 0);
        assert_int_equal(q2.req_identifier, 1004);
        view_eq(q2.token, q.token.p, q.token.len);
        view_eq(q2.send_id, q.send_id.p, q.send_id.len);
        view_eq(q2.operation_id, q.operation_id.p, q.operation_id.len);
        view_eq(q2.msg_incr, q.msg_incr.p, q.msg_incr.len);
        view_eq(q2.data, data, sizeof data);
        kk_buf_reset(&b);
        assert_int_equal(codec_json_encode_resp(&p, arr, &b), 0);
        assert_int_equal(codec_json_decode_resp(b.p, b.len, &p2, &t), 0);
        assert_int_equal(p2.req_identifier, 2001);
        assert_int_equal(p2.msg_incr.len, 0);
        VIEW_EQ(p2.operation_id, "op");
        assert_int_equal(p2.err_code, -5);
        VIEW_EQ(p2.err_msg, "msg\n");
        view_eq(p2.data, data, 1);
    }
    kk_buf_free(&b);
    kk_buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_encode_req_matches_go_marshal_byte_for_byte),
        cmocka_unit_test(json_encode_resp_writes_null_for_empty_data_like_go_nil),
        cmocka_unit_test(json_encode_resp_writes_int64_extremes_of_err_code),
        cmocka_unit_test(json_encode_escapes_strings_exactly_as_go),
        cmocka_unit_test(json_encode_uses_go_1_22_short_escapes_for_backspace_and_form_feed),
        cmocka_unit_test(json_encode_base64_uses_standard_alphabet_and_padding),
        cmocka_unit_test(json_encode_writes_data_as_number_array_when_asked),
        cmocka_unit_test(json_encode_appends_after_existing_bytes),
        cmocka_unit_test(json_encode_leaves_buffer_unchanged_when_over_its_cap),
        cmocka_unit_test(json_encode_rejects_view_with_length_but_no_pointer),
        cmocka_unit_test(json_decode_notes_example_lines_as_printed),
        cmocka_unit_test(json_decode_notes_example_send_request_field_by_field),
        cmocka_unit_test(json_decode_notes_example_send_response_field_by_field),
        cmocka_unit_test(json_decode_matches_keys_case_insensitively),
        cmocka_unit_test(json_decode_folds_long_s_kelvin_and_turkish_i_like_go),
        cmocka_unit_test(json_decode_keeps_the_last_of_case_variant_keys),
        cmocka_unit_test(json_decode_rejects_exactly_repeated_keys),
        cmocka_unit_test(json_decode_null_keeps_strings_and_ints_but_clears_data),
        cmocka_unit_test(json_decode_ignores_unknown_keys_of_any_shape),
        cmocka_unit_test(json_decode_accepts_data_as_number_array),
        cmocka_unit_test(json_decode_rejects_number_array_with_values_outside_a_byte),
        cmocka_unit_test(json_decode_accepts_null_empty_and_missing_data),
        cmocka_unit_test(json_decode_accepts_base64_with_newlines_and_loose_last_bits_like_go),
        cmocka_unit_test(json_decode_rejects_malformed_base64),
        cmocka_unit_test(json_decode_rejects_bad_base64_even_when_a_later_key_replaces_it),
        cmocka_unit_test(json_decode_rejects_non_strings_where_strings_belong),
        cmocka_unit_test(json_decode_requires_req_identifier_to_be_an_int32),
        cmocka_unit_test(json_decode_takes_any_int64_err_code),
        cmocka_unit_test(json_decode_rejects_anything_but_an_object),
        cmocka_unit_test(json_decode_allows_whitespace_around_but_nothing_after_the_object),
        cmocka_unit_test(json_decode_unescapes_strings_into_text),
        cmocka_unit_test(json_decode_rejects_what_jansson_cannot_represent),
        cmocka_unit_test(json_decode_reuses_text_and_resets_it_first),
        cmocka_unit_test(json_decode_fails_cleanly_when_text_cap_is_too_small),
        cmocka_unit_test(json_decode_fails_at_every_truncation),
        cmocka_unit_test(json_decode_rejects_more_values_than_the_limit),
        cmocka_unit_test(json_decode_rejects_deep_nesting_without_crashing),
        cmocka_unit_test(json_round_trips_req_and_resp_with_both_data_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
