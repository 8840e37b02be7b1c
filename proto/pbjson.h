/* pbjson.h — protobuf payloads to and from JSON by reflection (contract).
 *
 * What it does: converts between protobuf wire bytes and jansson JSON using
 * the protobuf-c descriptors generated from the proto/ .proto files, for any message.
 * JSON shape: keys are the field names of the .proto; every scalar field is
 * present (zero values included); int64/uint64 are JSON integers (a uint64
 * above INT64_MAX becomes a decimal string); bytes are padded standard
 * base64; enums are numbers; repeated fields are arrays; maps (repeated
 * *Entry messages) are JSON objects keyed by the map key as text; an unset
 * message field is left out; of a oneof only the set member appears.
 *
 * Decoding walks the wire strictly with pbwire (groups, bad varints, lengths
 * past the end and known fields with another wire type are errors; proto3
 * strings must be valid UTF-8, as Go requires) and skips unknown fields of
 * every wire type. A singular message field given twice is merged (protobuf
 * semantics); repeated scalars are accepted packed or not. Encoding writes
 * fields in number order, leaves proto3 zero values out, packs repeated
 * scalars, writes both key and value of every map entry and always writes a
 * set oneof member — as Go's proto.Marshal does (map order aside: ours is
 * the JSON object's order).
 *
 * Bounds: message nesting is limited by PBJSON_MAX_DEPTH and the number of
 * JSON values a decode may create by PBJSON_VALUES_BASE plus
 * PBJSON_VALUES_PER_BYTE per input byte (an all-defaults MsgData is ~25
 * values from 2 input bytes: without the cap a hostile payload would expand
 * ~1000-fold).
 *
 * Errors: every function returns 0 or a negative kk_err code and, when err
 * is not NULL, fills it with the JSON path of the failing value (e.g.
 * `msgs.si_a_b.Msgs[0].seq`), a short text (`expected integer`) and, for
 * wire errors, the byte offset in the input.
 *
 * Ownership: returned json_t references belong to the caller (json_decref);
 * nothing is kept. No globals; reentrant.
 */
#ifndef KK_PBJSON_H
#define KK_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "codec.h"

/* Message nesting allowed in either direction. Our deepest schema path is
 * PushMessages → entry → PullMsgs → MsgData → OfflinePushInfo (5). */
#define PBJSON_MAX_DEPTH 32
/* JSON values a decode may create: a base plus a multiple of the input. */
#define PBJSON_VALUES_BASE 65536u
#define PBJSON_VALUES_PER_BYTE 4u
/* Longest JSON path kept in an error (longer ones end in "..."). */
#define PBJSON_PATH_MAX 256

typedef struct pbjson_err {
    char path[PBJSON_PATH_MAX]; /* "" for the root */
    char what[128];
    bool has_offset;
    size_t offset; /* byte offset in the wire input (decode only) */
} pbjson_err;

/* Called after each message object is complete (decode) so a caller can add
 * keys of its own (kkimctl adds `contentJSON` to MsgData). Return 0, or a
 * negative kk_err to fail the decode (fill err->what). */
typedef int (*pbjson_decorate_fn)(void *ud, const ProtobufCMessageDescriptor *d,
                                  json_t *obj, pbjson_err *err);
/* Asked about a JSON key that names no field (encode): true = ignore it,
 * false = fail with "unknown field". NULL means fail. */
typedef bool (*pbjson_extra_key_fn)(void *ud, const ProtobufCMessageDescriptor *d,
                                    const char *key);

typedef struct pbjson_opts {
    pbjson_decorate_fn decorate;
    pbjson_extra_key_fn extra_key;
    void *ud;
    size_t merges; /* out: singular message fields met more than once (decode) */
} pbjson_opts;

/* Decodes the wire bytes buf[0..len) of message type d into a new JSON
 * object (*out). o may be NULL. Errors: KK_EPROTO (bad wire data, wrong wire
 * type, invalid UTF-8), KK_EDEPTH, KK_ETOOBIG (value budget), KK_ENOMEM. */
int pbjson_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  pbjson_opts *o, json_t **out, pbjson_err *err);

/* Encodes the JSON object in as message type d, appending the wire bytes to
 * out (unchanged on failure). Missing keys and null are zero values.
 * Errors: KK_EJSON (wrong JSON type, unknown field, two members of a oneof,
 * number out of range, bad base64), KK_EDEPTH, KK_ETOOBIG, KK_ENOMEM. */
int pbjson_encode(const ProtobufCMessageDescriptor *d, const json_t *in,
                  pbjson_opts *o, kk_buf *out, pbjson_err *err);

/* Message → JSON: packs m with protobuf-c and decodes it as above. */
int pbjson_from_message(const ProtobufCMessage *m, pbjson_opts *o, json_t **out,
                        pbjson_err *err);

/* JSON → message: encodes, then unpacks with protobuf-c (system allocator;
 * free with protobuf_c_message_free_unpacked(*out, NULL)). */
int pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *in,
                      pbjson_opts *o, ProtobufCMessage **out, pbjson_err *err);

/* Finds a message descriptor of the proto/ .proto files by full ("kkim.MsgData") or
 * short ("MsgData") name; NULL when unknown. */
const ProtobufCMessageDescriptor *pbjson_find(const char *name);

/* Formats err as "path: what at offset N" (parts omitted when empty) into
 * buf; returns buf. */
const char *pbjson_err_text(const pbjson_err *err, char *buf, size_t n);

/* ---- base64 (RFC 4648 standard alphabet, padded: Go's StdEncoding) ---- */

/* Appends the base64 text of p[0..len) to out (no NUL). */
int pbjson_b64_encode(const uint8_t *p, size_t len, kk_buf *out);
/* Appends the bytes of a padded standard base64 text to out. KK_EB64 for any
 * character outside the alphabet, a bad length, bad padding or non-zero
 * trailing bits (Go's strict decoding). */
int pbjson_b64_decode(const char *s, size_t len, kk_buf *out);

#endif
