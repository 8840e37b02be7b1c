/* test_frame.c — whole binary messages (NOTES.md §2): sdk choice, gzip,
 * max_frame on the wire size in both directions, max_inflated, where decoded
 * views point, round trips for go/js with and without gzip, and the
 * classification of text frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

#define VIEW_EQ(v, lit)                                                  \
    do {                                                                 \
        assert_int_equal((v).len, sizeof(lit) - 1);                      \
        if (sizeof(lit) > 1)                                             \
            assert_memory_equal((v).p, (lit), sizeof(lit) - 1);          \
    } while (0)

/* Parses hex digits (spaces and newlines ignored) into out; returns the
 * byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* NOTES.md §2.4: Req{1003, "t", "u1", "op", "1", {01 02}}, whole frame. */
static const char notes_req_hex[] =
    "5d ff81 03 01 01 03 526571 01 ff82 00 01 06"
    "01 0d 5265714964656e746966696572 01 04 00   01 05 546f6b656e 01 0c 00"
    "01 06 53656e644944 01 0c 00                01 0b 4f7065726174696f6e4944 01 0c 00"
    "01 07 4d7367496e6372 01 0c 00              01 04 44617461 01 0a 00   00 00"
    "19 ff82 01 fe07d6 01 01 74 01 02 7531 01 02 6f70 01 01 31 01 02 0102 00";

/* NOTES.md §2.4: Resp{ReqIdentifier: 2002}, a kick. */
static const char notes_kick_hex[] =
    "60 ff81 03 01 01 04 52657370 01 ff82 00 01 06"
    "01 0d 5265714964656e746966696572 01 04 00   01 07 4d7367496e6372 01 0c 00"
    "01 0b 4f7065726174696f6e4944 01 0c 00      01 07 457272436f6465 01 04 00"
    "01 06 4572724d7367 01 0c 00                01 04 44617461 01 0a 00   00 00"
    "07 ff82 01 fe0fa4 00";

/* Returns a cfg with the defaults of sdk and the given gzip switch. */
static codec_cfg cfg_of(enum codec_sdk sdk, bool gzip)
{
    codec_cfg c;
    codec_cfg_default(&c, sdk);
    c.gzip = gzip;
    return c;
}

static void frame_cfg_default_sets_the_relay_defaults(void **state)
{
    (void)state;
    codec_cfg c;
    memset(&c, 0xa5, sizeof c);
    codec_cfg_default(&c, CODEC_SDK_JS);
    assert_int_equal(c.sdk, CODEC_SDK_JS);
    assert_false(c.gzip);
    assert_false(c.js_data_as_array);
    assert_int_equal(c.max_frame, 16u << 20);
    assert_int_equal(c.max_inflated, 64u << 20);
    codec_cfg_default(&c, CODEC_SDK_GO);
    assert_int_equal(c.sdk, CODEC_SDK_GO);
}

static void frame_encode_go_req_is_the_notes_vector(void **state)
{
    (void)state;
    static const uint8_t d[] = { 1, 2 };
    codec_req r = { 1003, kk_view_str("t"), kk_view_str("u1"), kk_view_str("op"),
                    kk_view_str("1"), { d, 2 } };
    uint8_t want[256];
    size_t n = unhex(notes_req_hex, want, sizeof want);
    codec_cfg c = cfg_of(CODEC_SDK_GO, false);
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_encode_req(&c, &r, &b), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, want, n);
    /* Exactly max_frame fits; one byte less does not, and nothing is left. */
    kk_buf_reset(&b);
    c.max_frame = n;
    assert_int_equal(codec_encode_req(&c, &r, &b), 0);
    assert_int_equal(b.len, n);
    c.max_frame = n - 1;
    assert_int_equal(codec_encode_req(&c, &r, &b), KK_ETOOBIG);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, want, n);
    assert_int_equal(b.max, SIZE_MAX);
    kk_buf_free(&b);
}

static void frame_decode_go_kick_of_the_notes_within_max_frame_only(void **state)
{
    (void)state;
    uint8_t in[256];
    size_t n = unhex(notes_kick_hex, in, sizeof in);
    codec_cfg c = cfg_of(CODEC_SDK_GO, false);
    codec_scratch s;
    codec_scratch_init(&s);
    codec_resp p;
    assert_int_equal(codec_decode_resp(&c, in, n, &p, &s), 0);
    assert_int_equal(p.req_identifier, 2002);
    assert_int_equal(p.msg_incr.len + p.operation_id.len + p.err_msg.len + p.data.len, 0);
    assert_int_equal(p.err_code, 0);
    c.max_frame = n - 1;
    assert_int_equal(codec_decode_resp(&c, in, n, &p, &s), KK_ETOOBIG);
    codec_scratch_free(&s);
}

static void frame_encode_js_resp_is_the_json_envelope(void **state)
{
    (void)state;
    static const uint8_t d[] = { 0x0a, 0x20, '4', 'f', 'a', 'b' };
    codec_resp r = { 1003, kk_view_str("17"), kk_view_str("5f0c"), 0, kk_view_str(""), { d, 6 } };
    static const char want[] = "{\"reqIdentifier\":1003,\"msgIncr\":\"17\",\"operationID\":"
                               "\"5f0c\",\"errCode\":0,\"errMsg\":\"\",\"data\":\"CiA0ZmFi\"}";
    codec_cfg c = cfg_of(CODEC_SDK_JS, false);
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_encode_resp(&c, &r, &b), 0);
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.p, want, b.len);
    kk_buf_reset(&b);
    c.js_data_as_array = true;
    assert_int_equal(codec_encode_resp(&c, &r, &b), 0);
    static const char want_arr[] = "{\"reqIdentifier\":1003,\"msgIncr\":\"17\",\"operationID\":"
                                   "\"5f0c\",\"errCode\":0,\"errMsg\":\"\","
                                   "\"data\":[10,32,52,102,97,98]}";
    assert_int_equal(b.len, sizeof want_arr - 1);
    assert_memory_equal(b.p, want_arr, b.len);
    kk_buf_free(&b);
}

static void frame_gzip_wraps_exactly_the_plain_envelope(void **state)
{
    (void)state;
    static const uint8_t d[] = { 1, 2, 3 };
    codec_req r = { 1001, kk_view_str("tok"), kk_view_str("alice"), kk_view_str("op-1"),
                    kk_view_str("9"), { d, 3 } };
    for (int sdk = 0; sdk < 2; sdk++) {
        codec_cfg plain = cfg_of((enum codec_sdk)sdk, false);
        codec_cfg zipped = cfg_of((enum codec_sdk)sdk, true);
        kk_buf a, z, un;
        kk_buf_init(&a, SIZE_MAX);
        kk_buf_init(&z, SIZE_MAX);
        kk_buf_init(&un, SIZE_MAX);
        assert_int_equal(codec_encode_req(&plain, &r, &a), 0);
        assert_int_equal(codec_encode_req(&zipped, &r, &z), 0);
        assert_memory_equal(z.p, "\x1f\x8b\x08", 3);
        assert_int_equal(codec_gzip_inflate(z.p, z.len, 1 << 20, &un), 0);
        assert_int_equal(un.len, a.len);
        assert_memory_equal(un.p, a.p, a.len);
        kk_buf_free(&a);
        kk_buf_free(&z);
        kk_buf_free(&un);
    }
}

/* Encodes q and p with c, decodes them back and compares every field;
 * checks where the decoded views live. */
static void round_trip(const codec_cfg *c, const codec_req *q, const codec_resp *p)
{
    codec_scratch s;
    codec_scratch_init(&s);
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_encode_req(c, q, &b), 0);
    codec_req q2;
    assert_int_equal(codec_decode_req(c, b.p, b.len, &q2, &s), 0);
    assert_int_equal(q2.req_identifier, q->req_identifier);
    assert_int_equal(q2.token.len, q->token.len);
    assert_memory_equal(q2.token.p, q->token.p, q->token.len);
    assert_int_equal(q2.send_id.len, q->send_id.len);
    assert_memory_equal(q2.send_id.p, q->send_id.p, q->send_id.len);
    assert_int_equal(q2.operation_id.len, q->operation_id.len);
    assert_memory_equal(q2.operation_id.p, q->operation_id.p, q->operation_id.len);
    assert_int_equal(q2.msg_incr.len, q->msg_incr.len);
    assert_memory_equal(q2.msg_incr.p, q->msg_incr.p, q->msg_incr.len);
    assert_int_equal(q2.data.len, q->data.len);
    assert_memory_equal(q2.data.p, q->data.p, q->data.len);
    /* Views live in the frame (go), the inflated frame (gzip) or text (js). */
    const kk_buf *home = c->sdk == CODEC_SDK_JS ? &s.text : c->gzip ? &s.inflated : &b;
    assert_true(q2.data.p >= home->p && q2.data.p + q2.data.len <= home->p + home->len);
    kk_buf_reset(&b);
    assert_int_equal(codec_encode_resp(c, p, &b), 0);
    codec_resp p2;
    assert_int_equal(codec_decode_resp(c, b.p, b.len, &p2, &s), 0);
    assert_int_equal(p2.req_identifier, p->req_identifier);
    assert_int_equal(p2.msg_incr.len, p->msg_incr.len);
    assert_int_equal(p2.operation_id.len, p->operation_id.len);
    assert_memory_equal(p2.operation_id.p, p->operation_id.p, p->operation_id.len);
    assert_true(p2.err_code == p->err_code);
    assert_int_equal(p2.err_msg.len, p->err_msg.len);
    assert_memory_equal(p2.err_msg.p, p->err_msg.p, p->err_msg.len);
    assert_int_equal(p2.data.len, p->data.len);
    assert_memory_equal(p2.data.p, p->data.p, p->data.len);
    kk_buf_free(&b);
    codec_scratch_free(&s);
}

static void frame_round_trips_for_go_and_js_with_and_without_gzip(void **state)
{
    (void)state;
    uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + (i >> 8));
    codec_req q = { 1003, kk_view_str("eyJhbGciOi.x.y"), kk_view_str("alice"),
                    kk_view_str("5f0c-<&>-\xe4\xb8\xad"), kk_view_str("17"),
                    { data, sizeof data } };
    codec_resp p = { 1004, kk_view_str("18"), kk_view_str("77aa"), -9000000000LL,
                     kk_view_str("user is already in a call"), { data, 40 } };
    for (int sdk = 0; sdk < 2; sdk++) {
        for (int gz = 0; gz < 2; gz++) {
            codec_cfg c = cfg_of((enum codec_sdk)sdk, gz);
            round_trip(&c, &q, &p);
            c.js_data_as_array = true;
            round_trip(&c, &q, &p);
        }
    }
}

static void frame_encode_over_max_frame_appends_nothing(void **state)
{
    (void)state;
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 3) * 7);
    codec_req q = { 1003, { 0 }, kk_view_str("u"), kk_view_str("o"), kk_view_str("1"),
                    { data, sizeof data } };
    for (int sdk = 0; sdk < 2; sdk++) {
        for (int gz = 0; gz < 2; gz++) {
            codec_cfg c = cfg_of((enum codec_sdk)sdk, gz);
            kk_buf b;
            kk_buf_init(&b, SIZE_MAX);
            assert_int_equal(kk_buf_append(&b, "head", 4), 0);
            assert_int_equal(codec_encode_req(&c, &q, &b), 0);
            size_t size = b.len - 4;
            b.len = 4;
            c.max_frame = size;
            assert_int_equal(codec_encode_req(&c, &q, &b), 0);
            assert_int_equal(b.len, 4 + size);
            b.len = 4;
            c.max_frame = size - 1;
            assert_int_equal(codec_encode_req(&c, &q, &b), KK_ETOOBIG);
            assert_int_equal(b.len, 4);
            assert_memory_equal(b.p, "head", 4);
            assert_int_equal(b.max, SIZE_MAX);
            kk_buf_free(&b);
        }
    }
}

static void frame_encode_with_gzip_counts_compressed_bytes_against_max_frame(void **state)
{
    (void)state;
    /* A 60 000-byte payload of one repeated byte passes the gateway's limit
     * plain but not once gzipped (§2.5: the limit counts wire bytes). */
    uint8_t *data = malloc(60000);
    assert_non_null(data);
    memset(data, 'A', 60000);
    codec_req q = { 1003, { 0 }, kk_view_str("u"), kk_view_str("o"), kk_view_str("1"),
                    { data, 60000 } };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    for (int sdk = 0; sdk < 2; sdk++) {
        codec_cfg c = cfg_of((enum codec_sdk)sdk, false);
        c.max_frame = CODEC_GATEWAY_MAX_IN;
        kk_buf_reset(&b);
        assert_int_equal(codec_encode_req(&c, &q, &b), KK_ETOOBIG);
        assert_int_equal(b.len, 0);
        c.gzip = true;
        assert_int_equal(codec_encode_req(&c, &q, &b), 0);
        assert_true(b.len < 1000);
    }
    kk_buf_free(&b);
    free(data);
}

static void frame_decode_rejects_an_oversize_frame_before_any_work(void **state)
{
    (void)state;
    /* Garbage that would be KK_EGZIP / KK_EJSON / a gob error if read. */
    uint8_t junk[100];
    memset(junk, 0xee, sizeof junk);
    for (int sdk = 0; sdk < 2; sdk++) {
        for (int gz = 0; gz < 2; gz++) {
            codec_scratch s;
            codec_scratch_init(&s);
            codec_cfg c = cfg_of((enum codec_sdk)sdk, gz);
            c.max_frame = 99;
            codec_resp p;
            codec_req q;
            assert_int_equal(codec_decode_resp(&c, junk, sizeof junk, &p, &s), KK_ETOOBIG);
            assert_int_equal(codec_decode_req(&c, junk, sizeof junk, &q, &s), KK_ETOOBIG);
            assert_int_equal(s.inflated.len, 0);
            assert_null(s.inflated.p);
            c.max_frame = 100;
            assert_true(codec_decode_resp(&c, junk, sizeof junk, &p, &s) != KK_ETOOBIG);
            codec_scratch_free(&s);
        }
    }
}

static void frame_decode_stops_a_gzip_bomb_at_max_inflated(void **state)
{
    (void)state;
    size_t n = 10u << 20;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    kk_buf z;
    kk_buf_init(&z, SIZE_MAX);
    assert_int_equal(codec_gzip_deflate(zeros, n, &z), 0);
    free(zeros);
    codec_cfg c = cfg_of(CODEC_SDK_JS, true);
    c.max_inflated = 1u << 20;
    codec_scratch s;
    codec_scratch_init(&s);
    codec_resp p;
    assert_int_equal(codec_decode_resp(&c, z.p, z.len, &p, &s), KK_ETOOBIG);
    assert_true(s.inflated.cap <= 1u << 20);
    assert_int_equal(s.inflated.len, 0);
    assert_int_equal(p.req_identifier, 0);
    kk_buf_free(&z);
    codec_scratch_free(&s);
}

static void frame_decode_reads_go_gzip_writer_output_as_js(void **state)
{
    (void)state;
    /* Go's gzip.NewWriter over the JSON kick the gateway writes. */
    static const char hex[] =
        "1f8b08000000000000ffaa562a4a2df44c49cd2bc94ccb4c2d52b2323230"
        "30d251ca2d4ef7cc4b2e52b25252d251ca2f482d4a2cc9cccff3748108a4"
        "161539e7a7a42a591980d9bec5e910f194c4924425abbcd29c9c5a400000"
        "00ffff0ac2e16c58000000";
    uint8_t in[128];
    size_t n = unhex(hex, in, sizeof in);
    codec_cfg c = cfg_of(CODEC_SDK_JS, true);
    codec_scratch s;
    codec_scratch_init(&s);
    codec_resp p;
    assert_int_equal(codec_decode_resp(&c, in, n, &p, &s), 0);
    assert_int_equal(p.req_identifier, 2002);
    assert_int_equal(p.data.len, 0);
    assert_int_equal(s.inflated.len, 88);
    /* Cut short: gzip's truncation code comes through, out is zeroed. */
    assert_int_equal(codec_decode_resp(&c, in, n - 1, &p, &s), KK_EAGAIN);
    assert_int_equal(p.req_identifier, 0);
    /* Without gzip the same bytes are not JSON. */
    c.gzip = false;
    assert_int_equal(codec_decode_resp(&c, in, n, &p, &s), KK_EJSON);
    codec_scratch_free(&s);
}

static void frame_decode_fails_at_every_split_of_a_frame(void **state)
{
    (void)state;
    static const uint8_t d[] = { 9, 8, 7 };
    codec_resp r = { 1002, kk_view_str("5"), kk_view_str("op"), 0, kk_view_str(""), { d, 3 } };
    codec_scratch s;
    codec_scratch_init(&s);
    for (int sdk = 0; sdk < 2; sdk++) {
        for (int gz = 0; gz < 2; gz++) {
            codec_cfg c = cfg_of((enum codec_sdk)sdk, gz);
            kk_buf b;
            kk_buf_init(&b, SIZE_MAX);
            assert_int_equal(codec_encode_resp(&c, &r, &b), 0);
            for (size_t i = 0; i < b.len; i++) {
                uint8_t *cut = malloc(i ? i : 1);
                assert_non_null(cut);
                memcpy(cut, b.p, i);
                codec_resp p;
                int rc = codec_decode_resp(&c, cut, i, &p, &s);
                free(cut);
                /* A gzip or gob prefix is always "truncated"; a JSON prefix
                 * can also be a bad token (cut inside a literal). */
                if (gz || sdk == CODEC_SDK_GO)
                    assert_int_equal(rc, KK_EAGAIN);
                else
                    assert_true(rc == KK_EAGAIN || rc == KK_EJSON);
                assert_int_equal(p.req_identifier, 0);
                assert_int_equal(p.data.len, 0);
            }
            kk_buf_free(&b);
        }
    }
    codec_scratch_free(&s);
}

static void frame_rejects_an_unknown_sdk(void **state)
{
    (void)state;
    codec_cfg c = cfg_of(CODEC_SDK_GO, false);
    c.sdk = (enum codec_sdk)7;
    codec_scratch s;
    codec_scratch_init(&s);
    codec_resp p = { 0 };
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    assert_int_equal(codec_decode_resp(&c, (const uint8_t *)"{}", 2, &p, &s), KK_EINVAL);
    assert_int_equal(codec_encode_resp(&c, &p, &b), KK_EINVAL);
    assert_int_equal(b.len, 0);
    kk_buf_free(&b);
    codec_scratch_free(&s);
}

static void frame_scratch_free_takes_null_and_leaves_scratch_reusable(void **state)
{
    (void)state;
    codec_scratch_free(NULL);
    codec_scratch s;
    codec_scratch_init(&s);
    codec_cfg c = cfg_of(CODEC_SDK_JS, false);
    codec_resp p;
    static const char j[] = "{\"reqIdentifier\":2001,\"errMsg\":\"x\"}";
    assert_int_equal(codec_decode_resp(&c, (const uint8_t *)j, sizeof j - 1, &p, &s), 0);
    VIEW_EQ(p.err_msg, "x");
    codec_scratch_free(&s);
    assert_null(s.text.p);
    assert_int_equal(codec_decode_resp(&c, (const uint8_t *)j, sizeof j - 1, &p, &s), 0);
    VIEW_EQ(p.err_msg, "x");
    codec_scratch_free(&s);
}

/* ---- text frames (NOTES.md §1.3, §4.2) ----------------------------------------------------- */

static void text_classify_recognizes_ping_and_pong(void **state)
{
    (void)state;
    int64_t code = 77;
    assert_int_equal(codec_text_classify(LIT("{\"type\":\"ping\"}"), &code), CODEC_TEXT_PING);
    assert_int_equal(codec_text_classify(LIT("{\"type\":\"pong\",\"body\":null}"), &code),
                     CODEC_TEXT_PONG);
    assert_int_equal(codec_text_classify(LIT(" {\"TYPE\":\"pong\"} "), &code), CODEC_TEXT_PONG);
    assert_int_equal(codec_text_classify(LIT("{\"type\":\"PING\"}"), &code), CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("{\"type\":\"ping\\u0000\"}"), &code),
                     CODEC_TEXT_OTHER);
    assert_int_equal(code, 77);
}

static void text_classify_reads_the_handshake_verdict(void **state)
{
    (void)state;
    int64_t code = 77;
    assert_int_equal(codec_text_classify(LIT("{\"errCode\":1002,\"errMsg\":\"token invalid\","
                                             "\"errDlt\":\"\"}"), &code),
                     CODEC_TEXT_VERDICT);
    assert_int_equal(code, 1002);
    assert_int_equal(codec_text_classify(LIT("{\"errCode\":0,\"errMsg\":\"\",\"errDlt\":\"\"}"),
                                         &code),
                     CODEC_TEXT_VERDICT);
    assert_int_equal(code, 0);
}

static void text_classify_calls_other_shapes_other(void **state)
{
    (void)state;
    int64_t code = 77;
    assert_int_equal(codec_text_classify(LIT("{\"reqIdentifier\":1003,\"errCode\":0}"), &code),
                     CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("{\"errCode\":\"1002\"}"), &code), CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("{\"errCode\":null}"), &code), CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("[1,2]"), &code), CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("\"ping\""), &code), CODEC_TEXT_OTHER);
    assert_int_equal(codec_text_classify(LIT("{}"), &code), CODEC_TEXT_OTHER);
    assert_int_equal(code, 77);
}

static void text_classify_rejects_text_that_is_not_json(void **state)
{
    (void)state;
    int64_t code = 77;
    assert_int_equal(codec_text_classify(LIT("ping"), &code), KK_EJSON);
    assert_int_equal(codec_text_classify(LIT("{\"type\":\"ping\""), &code), KK_EJSON);
    assert_int_equal(codec_text_classify(LIT(""), &code), KK_EJSON);
    assert_int_equal(codec_text_classify(LIT("{\"errCode\":99999999999999999999}"), &code),
                     KK_EJSON);
    assert_int_equal(code, 77);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_cfg_default_sets_the_relay_defaults),
        cmocka_unit_test(frame_encode_go_req_is_the_notes_vector),
        cmocka_unit_test(frame_decode_go_kick_of_the_notes_within_max_frame_only),
        cmocka_unit_test(frame_encode_js_resp_is_the_json_envelope),
        cmocka_unit_test(frame_gzip_wraps_exactly_the_plain_envelope),
        cmocka_unit_test(frame_round_trips_for_go_and_js_with_and_without_gzip),
        cmocka_unit_test(frame_encode_over_max_frame_appends_nothing),
        cmocka_unit_test(frame_encode_with_gzip_counts_compressed_bytes_against_max_frame),
        cmocka_unit_test(frame_decode_rejects_an_oversize_frame_before_any_work),
        cmocka_unit_test(frame_decode_stops_a_gzip_bomb_at_max_inflated),
        cmocka_unit_test(frame_decode_reads_go_gzip_writer_output_as_js),
        cmocka_unit_test(frame_decode_fails_at_every_split_of_a_frame),
        cmocka_unit_test(frame_rejects_an_unknown_sdk),
        cmocka_unit_test(frame_scratch_free_takes_null_and_leaves_scratch_reusable),
        cmocka_unit_test(text_classify_recognizes_ping_and_pong),
        cmocka_unit_test(text_classify_reads_the_handshake_verdict),
        cmocka_unit_test(text_classify_calls_other_shapes_other),
        cmocka_unit_test(text_classify_rejects_text_that_is_not_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
