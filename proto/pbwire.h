/* pbwire.h — a strict, bounded protobuf wire-format walker (contract).
 *
 * What it does: walks the fields of one protobuf message held in a byte
 * buffer, one field at a time, checking every varint (at most 10 bytes, no
 * bits past 64), every field number (1 .. 2^29-1), every wire type (0, 1, 2
 * and 5; the group types 3 and 4 and the undefined 6 and 7 are rejected) and
 * every length (inside the buffer). On top of it sit the readers that must
 * look at wire types rather than a schema: the SendMsgResp field-4 rule of
 * NOTES.md §3.6 (here) and the 1601 classifier (pbsignal.h).
 *
 * What it never does: allocate, recurse, log, or keep state outside the
 * reader the caller owns. Every function is reentrant.
 *
 * Ownership: pbwire_field views point into the caller's buffer and live as
 * long as it does.
 */
#ifndef KK_PBWIRE_H
#define KK_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* Wire types (protobuf encoding spec). */
enum pbwire_type {
    PBWIRE_VARINT = 0,
    PBWIRE_I64 = 1,
    PBWIRE_LEN = 2,
    PBWIRE_SGROUP = 3, /* deprecated groups: always rejected */
    PBWIRE_EGROUP = 4,
    PBWIRE_I32 = 5,
};

/* A varint never takes more than 10 bytes (64 bits in 7-bit groups). */
#define PBWIRE_VARINT_MAX 10
/* Field numbers are 29 bits (protobuf spec); 0 is invalid. */
#define PBWIRE_FIELD_MAX 536870911u

/* One field as read from the wire. */
typedef struct pbwire_field {
    uint32_t num;     /* field number, 1..PBWIRE_FIELD_MAX */
    uint8_t wtype;    /* enum pbwire_type: 0, 1, 2 or 5 */
    uint64_t u;       /* VARINT value, or the little-endian I64/I32 value */
    kk_view bytes;    /* LEN payload (empty for other wire types) */
    size_t off;       /* offset of the tag within the walked buffer */
} pbwire_field;

/* Walk state. Zero-filled then pbwire_reader_init() is valid. On an error,
 * err_off is the offset of the offending byte and err_what a static text
 * ("truncated varint", "length past end", ...). */
typedef struct pbwire_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
    size_t err_off;
    const char *err_what;
} pbwire_reader;

/* Starts a walk over p[0..len). */
void pbwire_reader_init(pbwire_reader *r, const uint8_t *p, size_t len);

/* Reads the next field into *f. Returns 1 when a field was read, 0 at the
 * clean end of the buffer, KK_EPROTO for a malformed field (err_off and
 * err_what say where and what; the reader then stays failed). */
int pbwire_next(pbwire_reader *r, pbwire_field *f);

/* Decodes one varint at p[0..len). Returns the bytes used (1..10), or
 * KK_EPROTO when it is truncated, longer than 10 bytes or overflows 64 bits. */
int pbwire_varint(const uint8_t *p, size_t len, uint64_t *v);

/* Checks that p[0..len) is a sequence of well-formed fields (no recursion).
 * Returns the number of fields, or KK_EPROTO. */
int pbwire_check(const uint8_t *p, size_t len);

/* True when p[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF), as Go's utf8.Valid and proto3 string fields require. */
bool pbwire_utf8_valid(const uint8_t *p, size_t len);

/* Appends a varint / a tag / a LEN field (tag, length, bytes) to out.
 * On failure (KK_ETOOBIG, KK_ENOMEM) out is unchanged. */
int pbwire_put_varint(kk_buf *out, uint64_t v);
int pbwire_put_tag(kk_buf *out, uint32_t num, enum pbwire_type wt);
int pbwire_put_len(kk_buf *out, uint32_t num, const uint8_t *p, size_t len);

/* ---- SendMsgResp (reqIdentifier 1003 answer), NOTES.md §3.6 ------------ */

/* Where the seq of a send came from. */
enum pbwire_seq_from {
    PBWIRE_SEQ_ABSENT = 0,  /* no field 4 (OpenIM v3, the KKIM doc's example) */
    PBWIRE_SEQ_VARINT = 1,  /* field 4 VARINT: the KKIM seq extension */
    PBWIRE_SEQ_MSGDATA = 2, /* field 4 LEN: newer OpenIM's modified MsgData */
};

typedef struct pbwire_send_resp {
    kk_view server_msg_id; /* field 1 */
    kk_view client_msg_id; /* field 2 */
    int64_t send_time;     /* field 3 */
    int seq_from;          /* enum pbwire_seq_from */
    int64_t seq;           /* the seq (0 = unknown: absent, or a MsgData without seq) */
    kk_view msg_data;      /* field 4 LEN: the MsgData bytes, whose content wins */
} pbwire_send_resp;

/* Decodes a SendMsgResp reading field 4 by wire type: VARINT is the seq;
 * LEN is a MsgData whose field 14 (seq) wins; absent leaves the seq unknown.
 * Unknown fields of every wire type are skipped; the last occurrence of a
 * field wins (a field 4 given twice is not merged). Strings must be valid
 * UTF-8. Returns 0, or KK_EPROTO
 * for malformed input or a known field with another wire type (*out is then
 * zeroed). */
int pbwire_send_resp_decode(const uint8_t *p, size_t len, pbwire_send_resp *out);

#endif
