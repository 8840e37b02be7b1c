/* fuzz_json.c — fuzz target over the sdkType=js envelope and text frames:
 * codec_json_decode_req/resp and codec_text_classify on arbitrary bytes.
 * Whatever decodes must re-encode (base64 and number-array forms) and
 * decode again to the same fields; whatever fails must leave the output
 * zeroed and the text buffer empty. Any violation aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the two views hold the same bytes. */
static void same(kk_view a, kk_view b)
{
    if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
        abort();
}

/* Decodes as a Req; on success checks encode→decode gives the same. */
static void check_req(const uint8_t *data, size_t size, kk_buf *text)
{
    codec_req q, q2;
    int rc = codec_json_decode_req(data, size, &q, text);
    if (rc < 0) {
        if (q.req_identifier || q.token.len || q.send_id.len || q.operation_id.len ||
            q.msg_incr.len || q.data.len || text->len)
            abort();
        return;
    }
    for (int arr = 0; arr < 2; arr++) {
        kk_buf enc, text2;
        kk_buf_init(&enc, SIZE_MAX);
        kk_buf_init(&text2, SIZE_MAX);
        if (codec_json_encode_req(&q, arr, &enc) != 0 ||
            codec_json_decode_req(enc.p, enc.len, &q2, &text2) != 0)
            abort();
        if (q2.req_identifier != q.req_identifier)
            abort();
        same(q.token, q2.token);
        same(q.send_id, q2.send_id);
        same(q.operation_id, q2.operation_id);
        same(q.msg_incr, q2.msg_incr);
        same(q.data, q2.data);
        kk_buf_free(&enc);
        kk_buf_free(&text2);
    }
}

/* Decodes as a Resp; on success checks encode→decode gives the same. */
static void check_resp(const uint8_t *data, size_t size, kk_buf *text)
{
    codec_resp p, p2;
    int rc = codec_json_decode_resp(data, size, &p, text);
    if (rc < 0) {
        if (p.req_identifier || p.err_code || p.msg_incr.len || p.operation_id.len ||
            p.err_msg.len || p.data.len || text->len)
            abort();
        return;
    }
    kk_buf enc, text2;
    kk_buf_init(&enc, SIZE_MAX);
    kk_buf_init(&text2, SIZE_MAX);
    if (codec_json_encode_resp(&p, size & 1, &enc) != 0 ||
        codec_json_decode_resp(enc.p, enc.len, &p2, &text2) != 0)
        abort();
    if (p2.req_identifier != p.req_identifier || p2.err_code != p.err_code)
        abort();
    same(p.msg_incr, p2.msg_incr);
    same(p.operation_id, p2.operation_id);
    same(p.err_msg, p2.err_msg);
    same(p.data, p2.data);
    kk_buf_free(&enc);
    kk_buf_free(&text2);
}

/* Runs every JSON entry point over the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Decoded data stays under 150 000 bytes, so its number-array form
     * stays under the decoder's value cap. */
    if (size > 200000)
        return 0;
    kk_buf text;
    kk_buf_init(&text, SIZE_MAX);
    check_req(data, size, &text);
    check_resp(data, size, &text);
    kk_buf_free(&text);
    int64_t code = 0;
    int kind = codec_text_classify(data, size, &code);
    if (kind != KK_EJSON && kind != KK_ETOOBIG && kind != KK_ENOMEM &&
        (kind < CODEC_TEXT_PING || kind > CODEC_TEXT_OTHER))
        abort();
    return 0;
}
