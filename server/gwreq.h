/* gwreq.h — protobuf payloads of the relay's own gateway requests.
 *
 * The sessions' callers (resync, hole pulls, outbox settling) send the same
 * few requests; their payloads are packed here once. No I/O, no state. */
#ifndef KK_GWREQ_H
#define KK_GWREQ_H

#include <stddef.h>
#include <stdint.h>

/* Packs a PullMessageBySeqsReq (reqIdentifier 1002) for one range of conv
 * into buf (cap bytes), ascending. Returns the length, or KK_ETOOBIG. */
int gwreq_pull_pack(const char *user, const char *conv, int64_t begin, int64_t end, int64_t num,
                    uint8_t *buf, size_t cap);

#endif
