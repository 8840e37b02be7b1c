/* fuzz_gob.c — libFuzzer target for the gob decoders (codec/gob_dec.c).
 *
 * Feeds the input to codec_gob_decode_resp and codec_gob_decode_req and
 * checks, besides "no crash, no leak, no hang" (the sanitizers' part):
 * - every result is 0 or a kk_err code, and a failure leaves the output zero;
 * - a frame that decodes cannot decode once its last byte is cut (the value
 *   message ends the frame, so any shorter input is KK_EAGAIN);
 * - a decoded envelope re-encodes, the re-encoding decodes to equal fields
 *   and re-encodes to the very same bytes (the encoder is Go-canonical);
 * - when both decoders accept the frame, the fields they share agree;
 * - a frame that starts with our own Req/Resp definition (the decoder's
 *   fast path) decodes exactly as the same frame with the type renamed
 *   (the general path).
 * A broken check calls __builtin_trap() so libFuzzer records the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define FUZZ_CHECK(c)            \
    do {                         \
        if (!(c))                \
            __builtin_trap();    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when two views hold the same bytes. */
static int view_eq(kk_view a, kk_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* True when rc is success or one of the codes the decoder may return. */
static int rc_known(int rc)
{
    return rc == 0 || rc == KK_EPROTO || rc == KK_ETOOBIG || rc == KK_EAGAIN ||
           rc == KK_EDEPTH || rc == KK_EOVERFLOW || rc == KK_ETYPE;
}

/* True when every byte of the struct at p is zero. */
static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Field-by-field equality of two Resp envelopes. */
static int resp_eq(const codec_resp *a, const codec_resp *b)
{
    return a->req_identifier == b->req_identifier && view_eq(a->msg_incr, b->msg_incr) &&
           view_eq(a->operation_id, b->operation_id) && a->err_code == b->err_code &&
           view_eq(a->err_msg, b->err_msg) && view_eq(a->data, b->data);
}

/* Field-by-field equality of two Req envelopes. */
static int req_eq(const codec_req *a, const codec_req *b)
{
    return a->req_identifier == b->req_identifier && view_eq(a->token, b->token) &&
           view_eq(a->send_id, b->send_id) && view_eq(a->operation_id, b->operation_id) &&
           view_eq(a->msg_incr, b->msg_incr) && view_eq(a->data, b->data);
}

/* Re-encodes a decoded Resp, decodes and re-encodes that, compares. */
static void check_resp_round_trip(const codec_resp *r)
{
    kk_buf a, b;
    kk_buf_init(&a, 64u << 20);
    kk_buf_init(&b, 64u << 20);
    codec_resp back;
    FUZZ_CHECK(codec_gob_encode_resp(r, &a) == 0);
    FUZZ_CHECK(codec_gob_decode_resp(a.p, a.len, &back) == 0);
    FUZZ_CHECK(resp_eq(r, &back));
    FUZZ_CHECK(codec_gob_encode_resp(&back, &b) == 0);
    FUZZ_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    kk_buf_free(&a);
    kk_buf_free(&b);
}

/* Same for Req. */
static void check_req_round_trip(const codec_req *q)
{
    kk_buf a, b;
    kk_buf_init(&a, 64u << 20);
    kk_buf_init(&b, 64u << 20);
    codec_req back;
    FUZZ_CHECK(codec_gob_encode_req(q, &a) == 0);
    FUZZ_CHECK(codec_gob_decode_req(a.p, a.len, &back) == 0);
    FUZZ_CHECK(req_eq(q, &back));
    FUZZ_CHECK(codec_gob_encode_req(&back, &b) == 0);
    FUZZ_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    kk_buf_free(&a);
    kk_buf_free(&b);
}

/* If data starts with the exact Req or Resp definition our encoder writes,
 * renames the type in a copy ("Resp" → "Resb": a frame Go reads the same)
 * and checks that both copies decode alike, through both decoders. */
static void check_fast_path(const uint8_t *data, size_t size)
{
    size_t at;
    if (size > 11 && memcmp(data, "\x60\xff\x81\x03\x01\x01\x04Resp", 11) == 0)
        at = 10;
    else if (size > 10 && memcmp(data, "\x5d\xff\x81\x03\x01\x01\x03Req", 10) == 0)
        at = 9;
    else
        return;
    uint8_t *copy = malloc(size);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[at] = 'b';
    codec_resp ra, rb;
    codec_req qa, qb;
    FUZZ_CHECK(codec_gob_decode_resp(data, size, &ra) == codec_gob_decode_resp(copy, size, &rb));
    FUZZ_CHECK(codec_gob_decode_req(data, size, &qa) == codec_gob_decode_req(copy, size, &qb));
    FUZZ_CHECK(resp_eq(&ra, &rb) && req_eq(&qa, &qb));
    free(copy);
}

/* libFuzzer entry point: both decoders on the input, then the oracles. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec_resp r, rcut;
    codec_req q, qcut;
    int rr = codec_gob_decode_resp(data, size, &r);
    int rq = codec_gob_decode_req(data, size, &q);
    FUZZ_CHECK(rc_known(rr) && rc_known(rq));
    if (rr < 0)
        FUZZ_CHECK(all_zero(&r, sizeof r));
    if (rq < 0)
        FUZZ_CHECK(all_zero(&q, sizeof q));
    if (rr == 0) {
        FUZZ_CHECK(codec_gob_decode_resp(data, size - 1, &rcut) == KK_EAGAIN);
        check_resp_round_trip(&r);
    }
    if (rq == 0) {
        FUZZ_CHECK(codec_gob_decode_req(data, size - 1, &qcut) == KK_EAGAIN);
        check_req_round_trip(&q);
    }
    check_fast_path(data, size);
    if (rr == 0 && rq == 0) {
        FUZZ_CHECK(r.req_identifier == q.req_identifier);
        FUZZ_CHECK(view_eq(r.msg_incr, q.msg_incr) && view_eq(r.operation_id, q.operation_id));
        FUZZ_CHECK(view_eq(r.data, q.data));
    }
    return 0;
}
