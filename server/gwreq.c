/* gwreq.c — packing of the relay's gateway request payloads (gwreq.h). */
#include "gwreq.h"
#include "kk_err.h"
#include "sdkws.pb-c.h"

/* One SeqRange in one PullMessageBySeqsReq (NOTES §3.3, §3.4). */
int gwreq_pull_pack(const char *user, const char *conv, int64_t begin, int64_t end, int64_t num,
                    uint8_t *buf, size_t cap)
{
    Kkim__SeqRange range = KKIM__SEQ_RANGE__INIT;
    range.conversationid = (char *)conv;
    range.begin = begin;
    range.end = end;
    range.num = num;
    Kkim__SeqRange *ranges[1] = { &range };
    Kkim__PullMessageBySeqsReq req = KKIM__PULL_MESSAGE_BY_SEQS_REQ__INIT;
    req.userid = (char *)user;
    req.n_seqranges = 1;
    req.seqranges = ranges;
    size_t len = kkim__pull_message_by_seqs_req__get_packed_size(&req);
    if (len > cap || len > INT32_MAX)
        return KK_ETOOBIG;
    kkim__pull_message_by_seqs_req__pack(&req, buf);
    return (int)len;
}
