/* codec.h — the frame codecs of the KKIM gateway protocol (contract).
 *
 * What it does: turns the gateway's WebSocket binary messages into the
 * Req/Resp envelope of NOTES.md §2.2 and back, for sdkType=js (JSON, §2.3)
 * and sdkType=go (Go encoding/gob, §2.4), each optionally gzip-compressed
 * (§2.5). It also classifies the text frames of §1.3 and §4.2.
 *
 * What it never does: I/O, logging, globals, or protobuf decoding of the
 * `data` payload (that is proto/). Every function is reentrant and may be
 * called from any thread on distinct objects.
 *
 * Ownership: decoded envelopes hold kk_view fields that point into the caller's
 * input buffer or into the caller's codec_scratch; they stay valid until the
 * next decode with that scratch, or until either buffer is freed. Encoders
 * append to a caller-owned kk_buf. On failure an output kk_buf is left as it
 * was (its length is restored); decoded structs are zeroed.
 *
 * Hostile input: every decoder checks every length against its input,
 * bounds nesting, counts and inflated size by the named limits below, and
 * returns a negative kk_err code — never aborts, never loops unbounded, and
 * never allocates more than a fixed multiple of the frame size.
 */
#ifndef KK_CODEC_H
#define KK_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_err.h"

/* ---- byte views and buffers ------------------------------------------- */

/* A borrowed byte range; p may be NULL when len is 0. Not NUL-terminated. */
typedef struct kk_view {
    const uint8_t *p;
    size_t len;
} kk_view;

/* A growable byte buffer with a hard cap chosen at init (curl's dynbuf).
 * Zero-filled plus kk_buf_init() is a valid empty buffer. */
typedef struct kk_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* appends beyond this many bytes fail with KK_ETOOBIG */
} kk_buf;

/* Initializes an empty buffer that may grow to max bytes. Allocates nothing. */
void kk_buf_init(kk_buf *b, size_t max);
/* Ensures room for extra more bytes. KK_ETOOBIG past max, KK_ENOMEM. */
int kk_buf_reserve(kk_buf *b, size_t extra);
/* Appends n bytes. On failure the buffer is unchanged. */
int kk_buf_append(kk_buf *b, const void *data, size_t n);
/* Forgets the contents, keeps the memory. */
void kk_buf_reset(kk_buf *b);
/* Frees the memory; the buffer is then empty and may be reused. NULL ok. */
void kk_buf_free(kk_buf *b);

/* ---- the envelope (NOTES.md §2.2) -------------------------------------- */

/* Req: client → gateway. Field order is OpenIM's `Req` struct. */
typedef struct codec_req {
    int32_t req_identifier;
    kk_view token;
    kk_view send_id;
    kk_view operation_id;
    kk_view msg_incr;
    kk_view data; /* protobuf payload */
} codec_req;

/* Resp: gateway → client (responses, pushes 2001, kicks 2002). */
typedef struct codec_resp {
    int32_t req_identifier;
    kk_view msg_incr;
    kk_view operation_id;
    int64_t err_code;
    kk_view err_msg;
    kk_view data; /* protobuf payload; empty for nil, "" and absent alike */
} codec_resp;

/* Makes a view of a NUL-terminated string (NULL gives an empty view). */
kk_view kk_view_str(const char *s);

/* ---- limits ------------------------------------------------------------ */

/* The gateway drops any incoming message over 51 200 bytes on the wire
 * (NOTES.md §2.1): the relay checks its own requests against this. */
#define CODEC_GATEWAY_MAX_IN 51200u
/* Messages from the gateway have no limit; a pull answer can be megabytes.
 * The relay accepts up to 16 MiB by default (NOTES.md §2.1). */
#define CODEC_DEFAULT_MAX_FRAME (16u * 1024u * 1024u)
/* Gob: type definitions per frame. The gateway sends one (Resp); anything
 * much larger is hostile. */
#define CODEC_GOB_MAX_TYPES 64
/* Gob: nesting of types and values (struct in slice in map ...). */
#define CODEC_GOB_MAX_DEPTH 32

/* ---- per-connection codec settings ------------------------------------ */

enum codec_sdk {
    CODEC_SDK_GO = 0, /* Go encoding/gob, a fresh encoder per frame */
    CODEC_SDK_JS = 1, /* JSON; binary WebSocket messages */
};

typedef struct codec_cfg {
    enum codec_sdk sdk;
    bool gzip;            /* compression=gzip: every binary message both ways */
    bool js_data_as_array; /* JSON: send data as [n,...] instead of base64 */
    size_t max_frame;     /* max encoded size (wire bytes, after gzip) */
    size_t max_inflated;  /* max size after gunzip (the gzip-bomb cap) */
} codec_cfg;

/* Fills cfg with the relay's defaults for sdk: gzip off, base64 data,
 * max_frame = CODEC_DEFAULT_MAX_FRAME, max_inflated = 4 * max_frame. */
void codec_cfg_default(codec_cfg *cfg, enum codec_sdk sdk);

/* Reusable decode scratch: inflated frames and unescaped JSON strings live
 * here. One per thread or connection; free with codec_scratch_free. */
typedef struct codec_scratch {
    kk_buf inflated;
    kk_buf text;
} codec_scratch;

void codec_scratch_init(codec_scratch *s);
void codec_scratch_free(codec_scratch *s);

/* ---- whole frames (envelope codec + optional gzip) --------------------- */

/* Encodes req as one binary WebSocket message, appended to out.
 * KK_ETOOBIG when the wire size would pass cfg->max_frame (nothing appended). */
int codec_encode_req(const codec_cfg *cfg, const codec_req *req, kk_buf *out);
/* Encodes resp (the gateway's direction; used by tools and tests). */
int codec_encode_resp(const codec_cfg *cfg, const codec_resp *resp, kk_buf *out);
/* Decodes one binary message (len wire bytes) into out. */
int codec_decode_resp(const codec_cfg *cfg, const uint8_t *in, size_t len,
                      codec_resp *out, codec_scratch *s);
/* Decodes one binary message in the client's direction (tools and tests). */
int codec_decode_req(const codec_cfg *cfg, const uint8_t *in, size_t len,
                     codec_req *out, codec_scratch *s);

/* ---- Go gob (sdkType=go) ----------------------------------------------- */

/* Appends a complete gob stream (type definition of OpenIM's `Req`, id 65,
 * then the value) byte-identical to Go's fresh-encoder output. */
int codec_gob_encode_req(const codec_req *req, kk_buf *out);
/* Same for `Resp` (type id 65). */
int codec_gob_encode_resp(const codec_resp *resp, kk_buf *out);
/* Decodes a gob stream holding type definitions and one value of a struct
 * type; fields are matched by name as Go does, unknown fields of any type
 * are skipped, missing ones are zero. Views point into in. Trailing bytes
 * after the value are an error (KK_EPROTO); a stream with definitions but
 * no value yet is KK_EAGAIN, like a truncated one. Allocates nothing (its
 * state is on the stack); codec/gob_int.h names the internal limits
 * (struct fields per frame, message size). */
int codec_gob_decode_req(const uint8_t *in, size_t len, codec_req *out);
int codec_gob_decode_resp(const uint8_t *in, size_t len, codec_resp *out);

/* ---- JSON (sdkType=js) ------------------------------------------------- */

/* Appends the JSON object with keys in OpenIM's order; data as padded
 * standard base64 (or a number array when data_as_array). */
int codec_json_encode_req(const codec_req *req, bool data_as_array, kk_buf *out);
int codec_json_encode_resp(const codec_resp *resp, bool data_as_array, kk_buf *out);
/* Decodes a JSON envelope. Keys match case-insensitively (Go's encoding/json),
 * unknown keys are ignored; data may be base64, a number array, null, "" or
 * absent; msgIncr and the other strings must be JSON strings. Decoded strings
 * and data live in text (reset first). */
int codec_json_decode_req(const uint8_t *in, size_t len, codec_req *out, kk_buf *text);
int codec_json_decode_resp(const uint8_t *in, size_t len, codec_resp *out, kk_buf *text);

/* Appends the padded standard base64 (RFC 4648 §4, Go's StdEncoding) of
 * p[0..n) to b. KK_ETOOBIG/KK_ENOMEM from the buffer; b is unchanged on
 * failure. Shared by the JSON envelope, pbjson and kkimctl. */
int kk_b64_encode(kk_buf *b, const uint8_t *p, size_t n);

/* ---- gzip (compression=gzip) ------------------------------------------- */

/* Appends one gzip member (RFC 1952) of in to out. */
int codec_gzip_deflate(const uint8_t *in, size_t len, kk_buf *out);
/* Appends the inflated bytes of one gzip member to out. KK_ETOOBIG when the
 * output would pass max_out (a gzip bomb), KK_EGZIP when corrupt,
 * KK_EAGAIN when truncated, KK_EPROTO for trailing bytes after the member. */
int codec_gzip_inflate(const uint8_t *in, size_t len, size_t max_out, kk_buf *out);

/* ---- text frames (NOTES.md §1.3, §4.2) --------------------------------- */

enum codec_text_kind {
    CODEC_TEXT_PING = 1,    /* {"type":"ping"} */
    CODEC_TEXT_PONG = 2,    /* {"type":"pong",...} */
    CODEC_TEXT_VERDICT = 3, /* {"errCode":N,...} without reqIdentifier */
    CODEC_TEXT_OTHER = 4,   /* valid JSON of another shape */
};

/* Classifies a text message. For a verdict, *err_code gets errCode.
 * Returns a codec_text_kind, or KK_EJSON when the text is not JSON. */
int codec_text_classify(const uint8_t *in, size_t len, int64_t *err_code);

#endif
