/* fuzz_rtp.c — fuzz target over RFC 7983 demux and the RTP header parser:
 * a parsed header's payload must lie inside the input. Violations abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one input; see the top comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)mrtp_classify(data, size);
    mrtp_hdr h;
    int rc = mrtp_parse(data, size, &h);
    if (rc == 0) {
        if (h.hdr_len < 12 || h.hdr_len > size || h.payload_len > size - h.hdr_len)
            abort();
        /* touch every payload byte so ASan sees any overread */
        volatile uint8_t x = 0;
        for (size_t i = 0; i < h.payload_len; i++)
            x ^= data[h.hdr_len + i];
        (void)x;
    } else if (rc != KK_EPROTO && rc != KK_EAGAIN) {
        abort();
    }
    return 0;
}
