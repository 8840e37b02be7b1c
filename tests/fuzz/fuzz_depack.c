/* fuzz_depack.c — fuzz target over the depacketizers. The first byte picks
 * the codec (Opus, VP8, VP9, H264); the rest is a sequence of packets, each
 * a 2-byte length, a flags byte (bit 0 marker, bit 1 "lost before", bit 2
 * new timestamp) and the payload. Frames must lie within the limit;
 * results must be 0, 1 or a kk_err code. Violations abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one input; see the top comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const msdp_codec codecs[] = {MSDP_CODEC_OPUS, MSDP_CODEC_VP8, MSDP_CODEC_VP9,
                                        MSDP_CODEC_H264};
    if (size < 1)
        return 0;
    mdepack d;
    mdepack_init(&d, codecs[data[0] % 4]);
    size_t off = 1;
    uint32_t ts = 0;
    while (size - off >= 3) {
        size_t len = (size_t)(data[off] << 8 | data[off + 1]);
        uint8_t flags = data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        if (flags & 2)
            mdepack_lost(&d);
        if (flags & 4)
            ts += 3000;
        uint8_t *pkt = malloc(len ? len : 1); /* exact size for ASan */
        memcpy(pkt, data + off, len);
        mdepack_frame f;
        int rc = mdepack_push(&d, pkt, len, ts, flags & 1, &f);
        if (rc == 1) {
            if (f.len > MDEPACK_MAX_FRAME || (f.len && !f.data))
                abort();
            volatile uint8_t x = 0;
            for (size_t i = 0; i < f.len; i++)
                x ^= f.data[i];
            (void)x;
        } else if (rc != 0 && rc != KK_EPROTO && rc != KK_ETOOBIG && rc != KK_ENOMEM) {
            abort();
        }
        free(pkt);
        off += len;
    }
    mdepack_close(&d);
    return 0;
}
