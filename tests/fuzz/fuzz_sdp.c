/* fuzz_sdp.c — fuzz target over the SDP offer and answer parsers, codec
 * choice and the answer writer: any input must parse or fail with a kk_err
 * code (as an offer and as an answer to ours); a parsed
 * offer's strings stay NUL-terminated within their fields; an answer must fit
 * or report KK_ETOOBIG, and always be NUL-terminated. Violations abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one input; see the top comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static msdp_offer o; /* 30 KiB: off the stack */
    int rc = msdp_parse_answer((const char *)data, size, &o);
    if (rc != 0 && rc != KK_EPROTO && rc != KK_ETOOBIG)
        abort();
    if (rc == 0 && strcmp(o.setup, "active") != 0 && strcmp(o.setup, "passive") != 0)
        abort();
    rc = msdp_parse((const char *)data, size, &o);
    if (rc != 0) {
        if (rc != KK_EPROTO && rc != KK_ETOOBIG)
            abort();
        return 0;
    }
    if (o.nmlines < 1 || o.nmlines > MSDP_MAX_MLINES || strlen(o.ufrag) >= sizeof(o.ufrag) ||
        strlen(o.fingerprint) >= sizeof(o.fingerprint))
        abort();
    msdp_choice ch;
    if (msdp_choose(&o, &ch) != 0)
        return 0;
    if (ch.audio_m >= o.nmlines || ch.video_m >= o.nmlines)
        abort();
    const char *cands[] = {"candidate:1 1 udp 1 127.0.0.1 9 typ host"};
    msdp_local l = {.ufrag = "u", .pwd = "p", .fingerprint = "F", .cands = cands, .ncands = 1};
    static char ans[16384];
    int n = msdp_answer(&o, &ch, &l, ans, sizeof(ans));
    if (n >= 0 && (size_t)n != strlen(ans))
        abort();
    if (n < 0 && n != KK_ETOOBIG)
        abort();
    return 0;
}
