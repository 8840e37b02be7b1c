/* fuzz_rtcp.c — fuzz target over the compound RTCP walker, then the RTCP
 * builders with values taken from the input: every built packet must have a
 * length field that matches its size and parse back. Violations abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Counts SRs. */
static void on_sr(void *ud, const mrtcp_sr *sr)
{
    (void)sr;
    (*(int *)ud)++;
}

/* Feeds one input; see the top comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int nsr = 0, byes = 0;
    int rc = mrtcp_parse(data, size, on_sr, &nsr, &byes);
    if (rc < 0 && rc != KK_EPROTO)
        abort();
    if (rc >= 0 && (nsr > rc || byes > rc))
        abort();
    /* build NACK + RR from the input's bytes as sequence numbers */
    uint16_t seqs[64];
    int n = 0;
    for (size_t i = 0; i + 1 < size && n < 64; i += 2)
        seqs[n++] = (uint16_t)(data[i] << 8 | data[i + 1]);
    uint8_t buf[1500];
    size_t off = 0;
    if (mrtcp_put_rr(buf, sizeof(buf), &off, 1, NULL, 0) != 0)
        abort();
    if (mrtcp_put_nack(buf, sizeof(buf), &off, 1, 2, seqs, n) != 0)
        abort();
    if (mrtcp_put_pli(buf, sizeof(buf), &off, 1, 2) != 0)
        abort();
    if (mrtcp_parse(buf, off, NULL, NULL, NULL) != (n ? 3 : 2))
        abort();
    return 0;
}
