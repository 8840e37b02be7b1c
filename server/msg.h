/* msg.h — one message ready to archive in a Redis stream (design §5).
 *
 * A kk_msg is built once from a decoded MsgData (pushed or pulled) and then
 * only moves: session → convsync (ordering) → rsink (the XADD argv). It
 * holds the conversation ID, the seq, where it goes (msgs or notifications)
 * and the stream entry's field/value argv in the contract order:
 *
 *   conversationID seq serverMsgID clientMsgID sendID recvID groupID
 *   sessionType contentType msgFrom senderPlatformID senderNickname
 *   senderFaceURL sendTime createTime status content ex atUserIDList
 *   options attachedInfo via raw
 *
 * Integers are decimal text; `content` is the content bytes as received;
 * atUserIDList is a JSON array of strings and options a JSON object of
 * booleans (wire order kept); `raw` is the MsgData re-packed with
 * protobuf_c_message_pack (unknown fields are kept by protobuf-c).
 *
 * Everything — struct, argv arrays, strings, raw bytes — lives in ONE
 * allocation, so kk_msg_free is a single free() and kk_msg.bytes is the
 * exact memory the message holds (convsync uses it for backpressure).
 *
 * No I/O, no globals; a kk_msg is owned by one thread at a time and by
 * whoever was handed it last (the function that takes it says so).
 */
#ifndef KK_MSG_H
#define KK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdkws.pb-c.h"

/* Number of field/value pairs of a message entry (the list above). */
#define KK_MSG_NFIELDS 23

/* Longest conversationID accepted: OpenIM IDs are "si_<a>_<b>" / "sg_<g>"
 * built from user IDs of at most 64 bytes, so 512 leaves a wide margin
 * while bounding the per-conversation key memory of convsync. */
#define KK_MSG_CONV_MAX 512

/* A status-4 MsgData is the gateway's placeholder for a deleted seq
 * (NOTES §3.4): it is ordered like a message but never archived. */
#define KK_MSG_STATUS_PLACEHOLDER 4

typedef struct kk_msg {
    struct kk_msg *next;     /* free link for the current owner's lists */
    const char *conv;        /* conversationID, NUL-terminated */
    uint64_t seq;            /* 0 = push-only message (NOTES §5.4) */
    bool notif;              /* goes to kkim:{T}:notifications */
    bool placeholder;        /* status 4: ordered, skipped, never archived */
    const char *client_msg_id; /* NUL-terminated, may be "" */
    size_t argc;             /* 2 * KK_MSG_NFIELDS */
    const char **argv;       /* field, value, field, value, ... */
    const size_t *argvlen;   /* byte length of each argv entry */
    size_t bytes;            /* size of the single allocation */
} kk_msg;

/* Builds a message from md for conversation conv (NOT taken from md: the
 * gateway keys messages by conversation in PullMsgs maps), notif as the map
 * it came from, via = the login that received it ("user:platform").
 * Copies everything; md, conv and via may be freed afterwards.
 * Returns NULL on allocation failure, a negative seq, an empty conv or a
 * conv longer than KK_MSG_CONV_MAX. Free with kk_msg_free. */
kk_msg *kk_msg_new(const Kkim__MsgData *md, const char *conv, bool notif, const char *via);

/* Frees a message (one free); NULL is a no-op. */
void kk_msg_free(kk_msg *m);

/* Returns the value of field name (e.g. "clientMsgID") and its length in
 * *len, or NULL when the message has no such field. For tests and logs. */
const char *kk_msg_field(const kk_msg *m, const char *name, size_t *len);

#endif
