/* frame.c — whole binary messages: the envelope codec chosen by sdkType
 * (gob for go, JSON for js) plus gzip when compression=gzip (NOTES.md §2),
 * with the frame-size and inflated-size limits of codec_cfg. Holds no state;
 * the per-frame buffers are the caller's codec_scratch.
 */
#include <string.h>

#include "codec.h"

/* Fills cfg with the relay's defaults; see codec.h. */
void codec_cfg_default(codec_cfg *cfg, enum codec_sdk sdk)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sdk = sdk;
    cfg->gzip = false;
    cfg->js_data_as_array = false;
    cfg->max_frame = CODEC_DEFAULT_MAX_FRAME;
    cfg->max_inflated = 4 * (size_t)CODEC_DEFAULT_MAX_FRAME;
}

/* Empties both scratch buffers. Their own caps are unlimited: what may land
 * in them is bounded by the cfg limits of each decode (max_inflated, and
 * the frame itself for decoded strings, which never outgrow their text). */
void codec_scratch_init(codec_scratch *s)
{
    kk_buf_init(&s->inflated, SIZE_MAX);
    kk_buf_init(&s->text, SIZE_MAX);
}

/* Frees both scratch buffers; NULL is a no-op. */
void codec_scratch_free(codec_scratch *s)
{
    if (!s)
        return;
    kk_buf_free(&s->inflated);
    kk_buf_free(&s->text);
}

/* One envelope encoder, req or resp flavour, so the framing below is
 * written once. */
typedef struct frame_enc {
    const codec_req *req;
    const codec_resp *resp;
} frame_enc;

/* Runs the envelope encoder of cfg->sdk, appending to out. */
static int frame_enc_plain(const codec_cfg *cfg, const frame_enc *e, kk_buf *out)
{
    if (cfg->sdk == CODEC_SDK_JS)
        return e->req ? codec_json_encode_req(e->req, cfg->js_data_as_array, out)
                      : codec_json_encode_resp(e->resp, cfg->js_data_as_array, out);
    if (cfg->sdk == CODEC_SDK_GO)
        return e->req ? codec_gob_encode_req(e->req, out) : codec_gob_encode_resp(e->resp, out);
    return KK_EINVAL;
}

/* Appends one wire message to out: the envelope, gzipped when cfg->gzip.
 * out->max is lowered to len + max_frame for the duration, so an oversize
 * frame stops as soon as it passes the limit instead of being built whole;
 * KK_ETOOBIG (from either cap) leaves out as it was. */
static int frame_encode(const codec_cfg *cfg, const frame_enc *e, kk_buf *out)
{
    size_t start = out->len, saved_max = out->max;
    int rc;
    if (cfg->max_frame < out->max - out->len)
        out->max = out->len + cfg->max_frame;
    if (!cfg->gzip) {
        rc = frame_enc_plain(cfg, e, out);
    } else {
        /* The plain envelope may legitimately be larger than max_frame;
         * only the compressed bytes count on the wire (§2.5). */
        kk_buf plain;
        kk_buf_init(&plain, SIZE_MAX);
        rc = frame_enc_plain(cfg, e, &plain);
        if (rc == 0)
            rc = codec_gzip_deflate(plain.p, plain.len, out);
        kk_buf_free(&plain);
    }
    out->max = saved_max;
    if (rc < 0)
        out->len = start;
    return rc;
}

/* Encodes req as one binary message; see codec.h. */
int codec_encode_req(const codec_cfg *cfg, const codec_req *req, kk_buf *out)
{
    frame_enc e = { req, NULL };
    return frame_encode(cfg, &e, out);
}

/* Encodes resp as one binary message; see codec.h. */
int codec_encode_resp(const codec_cfg *cfg, const codec_resp *resp, kk_buf *out)
{
    frame_enc e = { NULL, resp };
    return frame_encode(cfg, &e, out);
}

/* Checks the wire size and gunzips when cfg->gzip, giving the plain
 * envelope bytes in *plain (in itself, or s->inflated). */
static int frame_unwrap(const codec_cfg *cfg, const uint8_t *in, size_t len, codec_scratch *s,
                        kk_view *plain)
{
    if (len > cfg->max_frame)
        return KK_ETOOBIG;
    if (len && !in)
        return KK_EINVAL;
    if (cfg->sdk != CODEC_SDK_GO && cfg->sdk != CODEC_SDK_JS)
        return KK_EINVAL;
    plain->p = in;
    plain->len = len;
    if (!cfg->gzip)
        return 0;
    kk_buf_reset(&s->inflated);
    int rc = codec_gzip_inflate(in, len, cfg->max_inflated, &s->inflated);
    if (rc < 0)
        return rc;
    plain->p = s->inflated.p;
    plain->len = s->inflated.len;
    return 0;
}

/* Decodes one binary message from the gateway; views point into in or s.
 * out is zeroed on failure. See codec.h. */
int codec_decode_resp(const codec_cfg *cfg, const uint8_t *in, size_t len, codec_resp *out,
                      codec_scratch *s)
{
    kk_view plain;
    memset(out, 0, sizeof *out);
    int rc = frame_unwrap(cfg, in, len, s, &plain);
    if (rc == 0)
        rc = cfg->sdk == CODEC_SDK_JS ? codec_json_decode_resp(plain.p, plain.len, out, &s->text)
                                      : codec_gob_decode_resp(plain.p, plain.len, out);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* Decodes one binary message in the client's direction; as above. */
int codec_decode_req(const codec_cfg *cfg, const uint8_t *in, size_t len, codec_req *out,
                     codec_scratch *s)
{
    kk_view plain;
    memset(out, 0, sizeof *out);
    int rc = frame_unwrap(cfg, in, len, s, &plain);
    if (rc == 0)
        rc = cfg->sdk == CODEC_SDK_JS ? codec_json_decode_req(plain.p, plain.len, out, &s->text)
                                      : codec_gob_decode_req(plain.p, plain.len, out);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}
