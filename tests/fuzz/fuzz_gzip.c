/* fuzz_gzip.c — fuzz target over codec_gzip_inflate with a 1 MiB cap:
 * on failure the output buffer must keep its old bytes and length and must
 * not have grown past old length + cap; on success the inflated bytes must
 * deflate and inflate back to themselves. Random bytes rarely pass the CRC,
 * so the input is also deflated and read back under a cap one byte short
 * (KK_ETOOBIG), cut short (KK_EAGAIN) and with a byte appended (KK_EPROTO).
 * Any violation aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough to keep the fuzzer fast, large enough for real frames. */
#define FUZZ_GZIP_CAP (1u << 20)

/* Deflates the input and checks cap, truncation and trailing bytes on the
 * (valid) member. */
static void check_member(const uint8_t *data, size_t size)
{
    kk_buf z, out;
    kk_buf_init(&z, SIZE_MAX);
    kk_buf_init(&out, SIZE_MAX);
    if (codec_gzip_deflate(data, size, &z) != 0)
        abort();
    if (codec_gzip_inflate(z.p, z.len, size, &out) != 0 || out.len != size ||
        (size && memcmp(out.p, data, size) != 0))
        abort();
    kk_buf_free(&out); /* so the cap check below sees only this call's growth */
    if (size && (codec_gzip_inflate(z.p, z.len, size - 1, &out) != KK_ETOOBIG || out.len != 0 ||
                 out.cap > size - 1))
        abort();
    size_t cut = size ? data[0] % z.len : z.len - 1;
    if (codec_gzip_inflate(z.p, cut, size, &out) != KK_EAGAIN || out.len != 0)
        abort();
    if (kk_buf_append(&z, size ? data : (const uint8_t *)"x", 1) != 0 ||
        codec_gzip_inflate(z.p, z.len, size, &out) != KK_EPROTO || out.len != 0)
        abort();
    kk_buf_free(&z);
    kk_buf_free(&out);
}

/* Inflates the input after a 3-byte prefix and checks the promises. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= 65536)
        check_member(data, size);
    kk_buf out;
    kk_buf_init(&out, SIZE_MAX);
    if (kk_buf_append(&out, "pre", 3) != 0)
        abort();
    int rc = codec_gzip_inflate(data, size, FUZZ_GZIP_CAP, &out);
    if (out.cap > 3 + FUZZ_GZIP_CAP && out.cap > 256)
        abort();
    if (memcmp(out.p, "pre", 3) != 0)
        abort();
    if (rc < 0) {
        if (out.len != 3 || (rc != KK_EGZIP && rc != KK_EAGAIN && rc != KK_EPROTO &&
                             rc != KK_ETOOBIG && rc != KK_ENOMEM))
            abort();
    } else {
        kk_buf z, back;
        kk_buf_init(&z, SIZE_MAX);
        kk_buf_init(&back, SIZE_MAX);
        if (codec_gzip_deflate(out.p + 3, out.len - 3, &z) != 0 ||
            codec_gzip_inflate(z.p, z.len, out.len - 3, &back) != 0 ||
            back.len != out.len - 3 || (back.len && memcmp(back.p, out.p + 3, back.len) != 0))
            abort();
        kk_buf_free(&z);
        kk_buf_free(&back);
    }
    kk_buf_free(&out);
    return 0;
}
