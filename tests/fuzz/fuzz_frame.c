/* fuzz_frame.c — fuzz target over whole binary messages. The first input
 * byte picks the codec settings (bit 0: js instead of go, bit 1: gzip,
 * bit 2: data as number array); the rest is one frame, decoded as a Resp
 * and as a Req. What decodes must re-encode with the same settings and
 * decode to the same fields; failures must leave the output zeroed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The settings to re-encode a decoded envelope with: the frame's own, with
 * limits opened up (escaping can grow a frame six-fold) and base64 data
 * once a number array would pass the JSON decoder's value cap. */
static codec_cfg again_cfg(const codec_cfg *c, size_t data_len)
{
    codec_cfg c2 = *c;
    c2.max_frame = 64u << 20;
    c2.max_inflated = 256u << 20;
    if (data_len > 200000)
        c2.js_data_as_array = false;
    return c2;
}

/* Aborts unless the two views hold the same bytes. */
static void same(kk_view a, kk_view b)
{
    if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
        abort();
}

/* Decodes a Resp frame and checks the round trip. */
static void check_resp(const codec_cfg *c, const uint8_t *in, size_t len, codec_scratch *s)
{
    codec_resp p, p2;
    if (codec_decode_resp(c, in, len, &p, s) < 0) {
        if (p.req_identifier || p.err_code || p.msg_incr.len || p.operation_id.len ||
            p.err_msg.len || p.data.len)
            abort();
        return;
    }
    codec_scratch s2;
    codec_scratch_init(&s2);
    kk_buf enc;
    kk_buf_init(&enc, SIZE_MAX);
    codec_cfg c2 = again_cfg(c, p.data.len);
    if (codec_encode_resp(&c2, &p, &enc) != 0 ||
        codec_decode_resp(&c2, enc.p, enc.len, &p2, &s2) != 0)
        abort();
    if (p2.req_identifier != p.req_identifier || p2.err_code != p.err_code)
        abort();
    same(p.msg_incr, p2.msg_incr);
    same(p.operation_id, p2.operation_id);
    same(p.err_msg, p2.err_msg);
    same(p.data, p2.data);
    kk_buf_free(&enc);
    codec_scratch_free(&s2);
}

/* Decodes a Req frame and checks the round trip. */
static void check_req(const codec_cfg *c, const uint8_t *in, size_t len, codec_scratch *s)
{
    codec_req q, q2;
    if (codec_decode_req(c, in, len, &q, s) < 0) {
        if (q.req_identifier || q.token.len || q.send_id.len || q.operation_id.len ||
            q.msg_incr.len || q.data.len)
            abort();
        return;
    }
    codec_scratch s2;
    codec_scratch_init(&s2);
    kk_buf enc;
    kk_buf_init(&enc, SIZE_MAX);
    codec_cfg c2 = again_cfg(c, q.data.len);
    if (codec_encode_req(&c2, &q, &enc) != 0 ||
        codec_decode_req(&c2, enc.p, enc.len, &q2, &s2) != 0)
        abort();
    if (q2.req_identifier != q.req_identifier)
        abort();
    same(q.token, q2.token);
    same(q.send_id, q2.send_id);
    same(q.operation_id, q2.operation_id);
    same(q.msg_incr, q2.msg_incr);
    same(q.data, q2.data);
    kk_buf_free(&enc);
    codec_scratch_free(&s2);
}

/* Picks settings from the first byte and decodes the rest both ways. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    codec_cfg c;
    codec_cfg_default(&c, data[0] & 1 ? CODEC_SDK_JS : CODEC_SDK_GO);
    c.gzip = (data[0] & 2) != 0;
    c.js_data_as_array = (data[0] & 4) != 0;
    c.max_frame = 1u << 20;
    c.max_inflated = 4u << 20;
    codec_scratch s;
    codec_scratch_init(&s);
    check_resp(&c, data + 1, size - 1, &s);
    check_req(&c, data + 1, size - 1, &s);
    codec_scratch_free(&s);
    return 0;
}
