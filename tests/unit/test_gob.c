/* test_gob.c — the gob codec against frames written by Go (NOTES.md §2.4
 * and test_gob_vectors.h): byte-identical encoding, decoding as Go's own
 * fresh decoder does, every truncation rejected, encode→decode round trips. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_gob_util.h"
#include "test_gob_vectors.h"

/* What Go's decoder produced for a vector, decoded into Resp. */
typedef struct exp_resp {
    int rc;
    int32_t id;
    const char *msg_incr, *op, *err_msg;
    int64_t code;
    const char *data_hex;
} exp_resp;

/* The same, decoded into Req. */
typedef struct exp_req {
    int rc;
    int32_t id;
    const char *token, *send_id, *op, *msg_incr;
    const char *data_hex;
} exp_req;

typedef struct vec_case {
    const char *name;
    const char *hex;
    exp_resp resp;
    exp_req req;
} vec_case;

#define R0 "", "", ""
#define Q0 "", "", "", ""

/* Expectations copied from Go's output (the "as Resp"/"as Req" oracle). */
static const vec_case vecs[] = {
    { "req_notes", V_REQ_NOTES, { 0, 1003, "1", "op", "", 0, "0102" }, { 0, 1003, "t", "u1", "op", "1", "0102" } },
    { "resp_kick", V_RESP_KICK, { 0, 2002, R0, 0, "" }, { 0, 2002, Q0, "" } },
    { "resp_send", V_RESP_SEND, { 0, 1003, "1", "op", "", 0, "0a" }, { 0, 1003, "", "", "op", "1", "0a" } },
    { "resp_empty", V_RESP_EMPTY, { 0, 0, R0, 0, "" }, { 0, 0, Q0, "" } },
    { "req_empty", V_REQ_EMPTY, { 0, 0, R0, 0, "" }, { 0, 0, Q0, "" } },
    { "resp_min", V_RESP_MIN, { 0, INT32_MIN, "m", "", "", INT64_MIN, "" }, { 0, INT32_MIN, "", "", "", "m", "" } },
    { "resp_max", V_RESP_MAX, { 0, INT32_MAX, "", "o", "e", INT64_MAX, "" }, { 0, INT32_MAX, "", "", "o", "", "" } },
    { "resp_neg", V_RESP_NEG, { 0, -1, "", "", "x", -65, "" }, { 0, -1, Q0, "" } },
    { "req_min", V_REQ_MIN, { 0, INT32_MIN, R0, 0, "" }, { 0, INT32_MIN, "T", "", "", "", "" } },
    { "req_max", V_REQ_MAX, { 0, INT32_MAX, R0, 0, "00" }, { 0, INT32_MAX, Q0, "00" } },
    { "resp_utf8", V_RESP_UTF8,
      { 0, 2001, "пакет", "操作-1", "トークン無効 🚫", 1002, "ff0080" },
      { 0, 2001, "", "", "操作-1", "пакет", "ff0080" } },
    { "req_utf8", V_REQ_UTF8,
      { 0, 1003, "λ", "opé", "", 0, "e695b0e68dae" },
      { 0, 1003, "ток", "用户", "opé", "λ", "e695b0e68dae" } },
    { "sdk_resp", V_SDK_RESP,
      { 0, 1003, "42", "op-sdk", "same", 1004, "0801" },
      { 0, 1003, "", "", "op-sdk", "42", "0801" } },
    { "sdk_req", V_SDK_REQ,
      { 0, 1001, "7", "op-sdk", "", 0, "0a05616c696365" },
      { 0, 1001, "", "alice", "op-sdk", "7", "0a05616c696365" } },
    { "resp_id_later", V_RESP_ID_LATER, { 0, 2001, R0, 0, "01" }, { 0, 2001, Q0, "01" } },
    { "resp_extra", V_RESP_EXTRA,
      { 0, 2001, "mi", "opx", "group", 1201, "dead" },
      { 0, 2001, "", "", "opx", "mi", "dead" } },
    { "resp_extra_zero", V_RESP_EXTRA_ZERO, { 0, 5, R0, 0, "" }, { 0, 5, Q0, "" } },
    { "resp_extra_nilany", V_RESP_EXTRA_NILANY, { 0, 6, R0, 0, "01" }, { 0, 6, Q0, "01" } },
    { "resp_any_int", V_RESP_ANY_INT, { 0, 3, "", "", "z", 0, "" }, { 0, 3, Q0, "" } },
    { "resp_any_slice", V_RESP_ANY_SLICE, { 0, 4, "", "", "y", 0, "" }, { 0, 4, Q0, "" } },
    { "resp_ifaces", V_RESP_IFACES, { 0, 9, "if", "", "", 0, "" }, { 0, 9, "", "", "", "if", "" } },
    /* Go's own decoder fails here (see the vector); the right answer is: */
    { "resp_nil_in_slice", V_RESP_NIL_IN_SLICE, { 0, 1, "m", "", "", 0, "" }, { 0, 1, "", "", "", "m", "" } },
    { "resp_list_31", V_RESP_LIST_31, { 0, 7, R0, 0, "" }, { 0, 7, Q0, "" } },
    /* Go accepts 32 nested Nodes; our depth limit does not (depth 33). */
    { "resp_list_32", V_RESP_LIST_32, { KK_EDEPTH, 0, R0, 0, "" }, { KK_EDEPTH, 0, Q0, "" } },
    { "wrong_uint_id", V_WRONG_UINT_ID, { KK_ETYPE, 0, R0, 0, "" }, { KK_ETYPE, 0, Q0, "" } },
    { "wrong_string_data", V_WRONG_STRING_DATA, { KK_ETYPE, 0, R0, 0, "" }, { KK_ETYPE, 0, Q0, "" } },
    { "wrong_bytes_errmsg", V_WRONG_BYTES_ERRMSG, { KK_ETYPE, 0, R0, 0, "" }, { 0, 1, Q0, "" } },
    { "wide_id_overflow", V_WIDE_ID_OVERFLOW, { KK_EOVERFLOW, 0, R0, 0, "" }, { KK_EOVERFLOW, 0, Q0, "" } },
    { "wide_id_underflow", V_WIDE_ID_UNDERFLOW, { KK_EOVERFLOW, 0, R0, 0, "" }, { KK_EOVERFLOW, 0, Q0, "" } },
    { "wide_id_ok", V_WIDE_ID_OK, { 0, INT32_MIN, R0, INT64_MAX, "" }, { 0, INT32_MIN, Q0, "" } },
    /* Resp: ErrCode float64 is the wrong type; Req: no field in common. */
    { "wrong_float_code", V_WRONG_FLOAT_CODE, { KK_ETYPE, 0, R0, 0, "" }, { KK_ETYPE, 0, Q0, "" } },
    { "no_common_fields", V_NO_COMMON_FIELDS, { KK_ETYPE, 0, R0, 0, "" }, { KK_ETYPE, 0, Q0, "" } },
};

/* Asserts that v holds the bytes written as hex. */
static void assert_view_hex(kk_view v, const char *hex)
{
    kk_buf b = th_from_hex(hex);
    assert_int_equal(v.len, b.len);
    if (b.len)
        assert_memory_equal(v.p, b.p, b.len);
    kk_buf_free(&b);
}

/* Asserts a decoded Resp equals e field by field (all zero on failure). */
static void assert_resp(const codec_resp *r, const exp_resp *e)
{
    assert_int_equal(r->req_identifier, e->id);
    th_view_eq(r->msg_incr, e->msg_incr);
    th_view_eq(r->operation_id, e->op);
    assert_true(r->err_code == e->code);
    th_view_eq(r->err_msg, e->err_msg);
    assert_view_hex(r->data, e->data_hex);
}

/* Asserts a decoded Req equals e field by field. */
static void assert_req(const codec_req *q, const exp_req *e)
{
    assert_int_equal(q->req_identifier, e->id);
    th_view_eq(q->token, e->token);
    th_view_eq(q->send_id, e->send_id);
    th_view_eq(q->operation_id, e->op);
    th_view_eq(q->msg_incr, e->msg_incr);
    assert_view_hex(q->data, e->data_hex);
}

/* Decodes a heap copy of exactly len bytes (ASan sees any over-read). */
static void decode_exact(const uint8_t *p, size_t len, int *rc_resp, codec_resp *r, int *rc_req,
                         codec_req *q)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    *rc_resp = codec_gob_decode_resp(copy, len, r);
    *rc_req = codec_gob_decode_req(copy, len, q);
    /* The views must point into the input, so check before freeing. */
    if (*rc_resp == 0 && r->data.len)
        assert_true(r->data.p >= copy && r->data.p + r->data.len <= copy + len);
    free(copy);
}

/* Every Go vector decodes into Resp and Req exactly as Go's decoder did. */
static void gob_decode_matches_go_for_every_vector(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const vec_case *v = &vecs[i];
        kk_buf in = th_from_hex(v->hex);
        codec_resp r;
        codec_req q;
        int rr = codec_gob_decode_resp(in.p, in.len, &r);
        int rq = codec_gob_decode_req(in.p, in.len, &q);
        if (rr != v->resp.rc || rq != v->req.rc)
            fprintf(stderr, "vector %s: resp %d req %d\n", v->name, rr, rq);
        assert_int_equal(rr, v->resp.rc);
        assert_int_equal(rq, v->req.rc);
        assert_resp(&r, &v->resp);
        assert_req(&q, &v->req);
        kk_buf_free(&in);
    }
}

/* Cutting any vector at any offset gives KK_EAGAIN, never a crash or a
 * partial success, and leaves the output zeroed. */
static void gob_decode_rejects_every_truncation_of_every_vector(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        kk_buf in = th_from_hex(vecs[i].hex);
        for (size_t cut = 0; cut < in.len; cut++) {
            codec_resp r;
            codec_req q;
            int rr, rq;
            decode_exact(in.p, cut, &rr, &r, &rq, &q);
            if (rr != KK_EAGAIN || rq != KK_EAGAIN)
                fprintf(stderr, "vector %s cut at %zu: %d %d\n", vecs[i].name, cut, rr, rq);
            assert_int_equal(rr, KK_EAGAIN);
            assert_int_equal(rq, KK_EAGAIN);
            assert_int_equal(r.req_identifier, 0);
            assert_null(r.data.p);
            assert_null(q.msg_incr.p);
        }
        kk_buf_free(&in);
    }
}

/* Renames the type of a frame written by our encoder or by Go for Req or
 * Resp ("Req" → "Reb", "Resp" → "Resb"): the same frame for Go, but one
 * that no longer starts with our exact definition. Returns false when the
 * frame is not such a frame. */
static bool rename_type(kk_buf *f)
{
    if (f->len > 11 && memcmp(f->p, "\x60\xff\x81\x03\x01\x01\x04Resp", 11) == 0) {
        f->p[10] = 'b';
        return true;
    }
    if (f->len > 10 && memcmp(f->p, "\x5d\xff\x81\x03\x01\x01\x03Req", 10) == 0) {
        f->p[9] = 'b';
        return true;
    }
    return false;
}

/* Frames that start with our own definition take a fast path; the same
 * frames under another type name take the general one. Both give the same
 * code and fields, whole and at every truncation. */
static void gob_decode_fast_path_agrees_with_general_path(void **state)
{
    (void)state;
    unsigned renamed = 0;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        kk_buf a = th_from_hex(vecs[i].hex), b = th_from_hex(vecs[i].hex);
        if (!rename_type(&b)) {
            kk_buf_free(&a);
            kk_buf_free(&b);
            continue;
        }
        renamed++;
        for (size_t cut = 0; cut <= a.len; cut++) {
            codec_resp ra, rb;
            codec_req qa, qb;
            assert_int_equal(codec_gob_decode_resp(a.p, cut, &ra), codec_gob_decode_resp(b.p, cut, &rb));
            assert_int_equal(codec_gob_decode_req(a.p, cut, &qa), codec_gob_decode_req(b.p, cut, &qb));
            /* views point into different buffers at the same offsets */
            assert_int_equal(ra.req_identifier, rb.req_identifier);
            assert_true(ra.err_code == rb.err_code);
            assert_int_equal(ra.msg_incr.len, rb.msg_incr.len);
            assert_int_equal(ra.data.len, rb.data.len);
            assert_int_equal(qa.req_identifier, qb.req_identifier);
            assert_int_equal(qa.token.len, qb.token.len);
            if (ra.data.len)
                assert_int_equal(ra.data.p - a.p, rb.data.p - b.p);
        }
        kk_buf_free(&a);
        kk_buf_free(&b);
    }
    assert_int_equal(renamed, 12);
}

/* Builds the Resp of a vector's expectation; data bytes go to store. */
static codec_resp resp_of(const exp_resp *e, kk_buf *store)
{
    th_hex(store, e->data_hex);
    codec_resp r = { e->id, kk_view_str(e->msg_incr), kk_view_str(e->op), e->code,
                     kk_view_str(e->err_msg), { store->p, store->len } };
    return r;
}

/* Builds the Req of a vector's expectation. */
static codec_req req_of(const exp_req *e, kk_buf *store)
{
    th_hex(store, e->data_hex);
    codec_req q = { e->id, kk_view_str(e->token), kk_view_str(e->send_id), kk_view_str(e->op),
                    kk_view_str(e->msg_incr), { store->p, store->len } };
    return q;
}

/* Encodes and compares with the hex Go wrote for the same value. */
static void assert_encodes_resp(const exp_resp *e, const char *hex)
{
    kk_buf data, out, want = th_from_hex(hex);
    kk_buf_init(&data, 1u << 20);
    kk_buf_init(&out, 1u << 20);
    codec_resp r = resp_of(e, &data);
    assert_int_equal(codec_gob_encode_resp(&r, &out), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    kk_buf_free(&data);
    kk_buf_free(&out);
    kk_buf_free(&want);
}

/* Same for Req. */
static void assert_encodes_req(const exp_req *e, const char *hex)
{
    kk_buf data, out, want = th_from_hex(hex);
    kk_buf_init(&data, 1u << 20);
    kk_buf_init(&out, 1u << 20);
    codec_req q = req_of(e, &data);
    assert_int_equal(codec_gob_encode_req(&q, &out), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    kk_buf_free(&data);
    kk_buf_free(&out);
    kk_buf_free(&want);
}

/* The three vectors of NOTES.md §2.4, byte for byte, as written there. */
static void gob_encode_matches_notes_vectors(void **state)
{
    (void)state;
    static const exp_req req = { 0, 1003, "t", "u1", "op", "1", "0102" };
    assert_encodes_req(&req,
        "5d ff81 03 01 01 03 526571 01 ff82 00 01 06"
        " 01 0d 5265714964656e746966696572 01 04 00   01 05 546f6b656e 01 0c 00"
        " 01 06 53656e644944 01 0c 00                01 0b 4f7065726174696f6e4944 01 0c 00"
        " 01 07 4d7367496e6372 01 0c 00              01 04 44617461 01 0a 00   00 00"
        " 19 ff82 01 fe07d6 01 01 74 01 02 7531 01 02 6f70 01 01 31 01 02 0102 00");
    static const char resp_def[] =
        "60 ff81 03 01 01 04 52657370 01 ff82 00 01 06"
        " 01 0d 5265714964656e746966696572 01 04 00   01 07 4d7367496e6372 01 0c 00"
        " 01 0b 4f7065726174696f6e4944 01 0c 00      01 07 457272436f6465 01 04 00"
        " 01 06 4572724d7367 01 0c 00                01 04 44617461 01 0a 00   00 00";
    char hex[1024];
    static const exp_resp kick = { 0, 2002, R0, 0, "" };
    snprintf(hex, sizeof hex, "%s 07 ff82 01 fe0fa4 00", resp_def);
    assert_encodes_resp(&kick, hex);
    static const exp_resp send = { 0, 1003, "1", "op", "", 0, "0a" };
    snprintf(hex, sizeof hex, "%s 11 ff82 01 fe07d6 01 01 31 01 02 6f70 03 01 0a 00", resp_def);
    assert_encodes_resp(&send, hex);
}

/* Every Go vector of a Req or Resp value (type 65) is reproduced exactly:
 * zero fields left out, extreme and negative ints, UTF-8, empty values. */
static void gob_encode_matches_go_vectors(void **state)
{
    (void)state;
    static const char *resp_names[] = { "resp_kick", "resp_send", "resp_empty", "resp_min",
                                        "resp_max", "resp_neg", "resp_utf8" };
    static const char *req_names[] = { "req_notes", "req_empty", "req_min", "req_max", "req_utf8" };
    unsigned seen = 0;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        for (size_t j = 0; j < sizeof resp_names / sizeof resp_names[0]; j++) {
            if (strcmp(vecs[i].name, resp_names[j]) == 0) {
                assert_encodes_resp(&vecs[i].resp, vecs[i].hex);
                seen++;
            }
        }
        for (size_t j = 0; j < sizeof req_names / sizeof req_names[0]; j++) {
            if (strcmp(vecs[i].name, req_names[j]) == 0) {
                assert_encodes_req(&vecs[i].req, vecs[i].hex);
                seen++;
            }
        }
    }
    assert_int_equal(seen, 12);
}

/* Builds PREFIX + pattern(51200) + SUFFIX, the 51 319-byte Go frames. */
static kk_buf big_frame(const char *prefix, kk_buf *data)
{
    kk_buf f = th_from_hex(prefix);
    kk_buf_init(data, 1u << 20);
    for (unsigned i = 0; i < 51200; i++)
        th_byte(data, (uint8_t)(i * 7u + 3u));
    assert_int_equal(kk_buf_append(&f, data->p, data->len), 0);
    th_hex(&f, V_BIG_SUFFIX);
    assert_int_equal(f.len, 51319);
    return f;
}

/* A 51 200-byte Data (the gateway's limit) encodes and decodes as in Go. */
static void gob_codec_matches_go_for_51200_byte_data(void **state)
{
    (void)state;
    kk_buf data, out;
    kk_buf want = big_frame(V_RESP_BIG_PREFIX, &data);
    kk_buf_init(&out, 1u << 20);
    codec_resp r = { 1002, kk_view_str("9"), kk_view_str("big"), 0, kk_view_str(""),
                     { data.p, data.len } };
    assert_int_equal(codec_gob_encode_resp(&r, &out), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    codec_resp back;
    assert_int_equal(codec_gob_decode_resp(want.p, want.len, &back), 0);
    assert_int_equal(back.req_identifier, 1002);
    th_view_eq(back.operation_id, "big");
    assert_int_equal(back.data.len, 51200);
    assert_ptr_equal(back.data.p, want.p + want.len - 1 - 51200); /* zero-copy */
    assert_memory_equal(back.data.p, data.p, 51200);
    kk_buf_free(&want);
    kk_buf_free(&data);

    want = big_frame(V_REQ_BIG_PREFIX, &data);
    codec_req q = { 1003, kk_view_str(""), kk_view_str("u"), kk_view_str("big"), kk_view_str("9"),
                    { data.p, data.len } };
    kk_buf_reset(&out);
    assert_int_equal(codec_gob_encode_req(&q, &out), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.p, want.p, want.len);
    codec_req qb;
    assert_int_equal(codec_gob_decode_req(want.p, want.len, &qb), 0);
    th_view_eq(qb.send_id, "u");
    th_view_eq(qb.msg_incr, "9");
    assert_memory_equal(qb.data.p, data.p, 51200);
    kk_buf_free(&want);
    kk_buf_free(&data);
    kk_buf_free(&out);
}

/* Encode→decode gives back every field, for each expectation above and
 * for long strings whose lengths need multi-byte counts. */
static void gob_encode_then_decode_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        kk_buf data, out;
        kk_buf_init(&data, 1u << 20);
        kk_buf_init(&out, 1u << 20);
        codec_resp r = resp_of(&vecs[i].resp, &data), rb;
        assert_int_equal(codec_gob_encode_resp(&r, &out), 0);
        assert_int_equal(codec_gob_decode_resp(out.p, out.len, &rb), 0);
        assert_resp(&rb, &vecs[i].resp);
        kk_buf_reset(&data);
        kk_buf_reset(&out);
        codec_req q = req_of(&vecs[i].req, &data), qb;
        assert_int_equal(codec_gob_encode_req(&q, &out), 0);
        assert_int_equal(codec_gob_decode_req(out.p, out.len, &qb), 0);
        assert_req(&qb, &vecs[i].req);
        kk_buf_free(&data);
        kk_buf_free(&out);
    }
    static const size_t lens[] = { 127, 128, 255, 256, 65535, 65536, 70000 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        kk_buf s, out;
        kk_buf_init(&s, 1u << 20);
        kk_buf_init(&out, 1u << 20);
        for (size_t k = 0; k < lens[i]; k++)
            th_byte(&s, (uint8_t)('a' + k % 26));
        kk_view v = { s.p, s.len };
        codec_resp r = { -7, v, v, -(int64_t)lens[i], v, v }, rb;
        assert_int_equal(codec_gob_encode_resp(&r, &out), 0);
        assert_int_equal(codec_gob_decode_resp(out.p, out.len, &rb), 0);
        assert_int_equal(rb.req_identifier, -7);
        assert_true(rb.err_code == -(int64_t)lens[i]);
        assert_int_equal(rb.err_msg.len, lens[i]);
        assert_memory_equal(rb.err_msg.p, s.p, lens[i]);
        assert_memory_equal(rb.data.p, s.p, lens[i]);
        kk_buf_free(&s);
        kk_buf_free(&out);
    }
}

/* Encoding appends after what the buffer holds; a buffer cap too small
 * leaves the buffer exactly as it was. */
static void gob_encode_appends_and_leaves_buffer_unchanged_on_failure(void **state)
{
    (void)state;
    codec_req q = { 1, kk_view_str("t"), kk_view_str("u"), kk_view_str("o"), kk_view_str("m"),
                    kk_view_str("d") };
    kk_buf out;
    kk_buf_init(&out, 100);
    assert_int_equal(kk_buf_append(&out, "xy", 2), 0);
    assert_int_equal(codec_gob_encode_req(&q, &out), KK_ETOOBIG);
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.p, "xy", 2);
    out.max = 1000;
    assert_int_equal(codec_gob_encode_req(&q, &out), 0);
    assert_memory_equal(out.p, "xy", 2);
    codec_req back;
    assert_int_equal(codec_gob_decode_req(out.p + 2, out.len - 2, &back), 0);
    th_view_eq(back.token, "t");
    th_view_eq(back.data, "d");
    kk_buf_free(&out);
}

/* A view with bytes but no pointer is a caller bug: KK_EINVAL, no output. */
static void gob_encode_rejects_view_without_bytes(void **state)
{
    (void)state;
    codec_resp r = { 1, { NULL, 3 }, { NULL, 0 }, 0, { NULL, 0 }, { NULL, 0 } };
    kk_buf out;
    kk_buf_init(&out, 1000);
    assert_int_equal(codec_gob_encode_resp(&r, &out), KK_EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(codec_gob_encode_resp(NULL, &out), KK_EINVAL);
    kk_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gob_decode_matches_go_for_every_vector),
        cmocka_unit_test(gob_decode_rejects_every_truncation_of_every_vector),
        cmocka_unit_test(gob_decode_fast_path_agrees_with_general_path),
        cmocka_unit_test(gob_encode_matches_notes_vectors),
        cmocka_unit_test(gob_encode_matches_go_vectors),
        cmocka_unit_test(gob_codec_matches_go_for_51200_byte_data),
        cmocka_unit_test(gob_encode_then_decode_round_trips),
        cmocka_unit_test(gob_encode_appends_and_leaves_buffer_unchanged_on_failure),
        cmocka_unit_test(gob_encode_rejects_view_without_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
