/* gob_enc.c — writes OpenIM's `Req` and `Resp` as Go's encoding/gob does
 * with a fresh encoder (NOTES.md §2.4): one message defining the struct as
 * type 65 (a constant), then one message holding the value. The output is
 * byte-identical to Go's; tests/unit/test_gob.c checks it against frames
 * written by Go.
 */
#include <string.h>

#include "gob_int.h"

/* OpenIM `Req`: field order and names are the wire contract (§2.2). The C
 * member names differ, so offsets are spelled out. */
static const gob_field gob_req_fields[] = {
    { "ReqIdentifier", 13, GOB_F_INT32, (uint16_t)offsetof(codec_req, req_identifier) },
    { "Token", 5, GOB_F_STRING, (uint16_t)offsetof(codec_req, token) },
    { "SendID", 6, GOB_F_STRING, (uint16_t)offsetof(codec_req, send_id) },
    { "OperationID", 11, GOB_F_STRING, (uint16_t)offsetof(codec_req, operation_id) },
    { "MsgIncr", 7, GOB_F_STRING, (uint16_t)offsetof(codec_req, msg_incr) },
    { "Data", 4, GOB_F_BYTES, (uint16_t)offsetof(codec_req, data) },
};

/* OpenIM `Resp` (§2.2); ErrCode is Go int, 64-bit on the gateway. */
static const gob_field gob_resp_fields[] = {
    { "ReqIdentifier", 13, GOB_F_INT32, (uint16_t)offsetof(codec_resp, req_identifier) },
    { "MsgIncr", 7, GOB_F_STRING, (uint16_t)offsetof(codec_resp, msg_incr) },
    { "OperationID", 11, GOB_F_STRING, (uint16_t)offsetof(codec_resp, operation_id) },
    { "ErrCode", 7, GOB_F_INT64, (uint16_t)offsetof(codec_resp, err_code) },
    { "ErrMsg", 6, GOB_F_STRING, (uint16_t)offsetof(codec_resp, err_msg) },
    { "Data", 4, GOB_F_BYTES, (uint16_t)offsetof(codec_resp, data) },
};

/* The definition messages Go writes for OpenIM's structs (NOTES.md §2.4):
 * length, int -65, then wireType{StructT: structType{CommonType{Name, Id:
 * 65}, Field: [fieldType{Name, Id}...]}} where deltas are all 1, ints are
 * doubled (int 2 = 04, []byte 5 = 0a, string 6 = 0c) and 00 ends a struct.
 * String pieces are split so that no \x escape runs into a letter. */
static const char gob_req_def[] =
    "\x5d" "\xff\x81" "\x03" "\x01" "\x01\x03" "Req" "\x01\xff\x82\x00" "\x01\x06"
    "\x01\x0d" "ReqIdentifier" "\x01\x04\x00"
    "\x01\x05" "Token" "\x01\x0c\x00"
    "\x01\x06" "SendID" "\x01\x0c\x00"
    "\x01\x0b" "OperationID" "\x01\x0c\x00"
    "\x01\x07" "MsgIncr" "\x01\x0c\x00"
    "\x01\x04" "Data" "\x01\x0a\x00"
    "\x00\x00";

static const char gob_resp_def[] =
    "\x60" "\xff\x81" "\x03" "\x01" "\x01\x04" "Resp" "\x01\xff\x82\x00" "\x01\x06"
    "\x01\x0d" "ReqIdentifier" "\x01\x04\x00"
    "\x01\x07" "MsgIncr" "\x01\x0c\x00"
    "\x01\x0b" "OperationID" "\x01\x0c\x00"
    "\x01\x07" "ErrCode" "\x01\x04\x00"
    "\x01\x06" "ErrMsg" "\x01\x0c\x00"
    "\x01\x04" "Data" "\x01\x0a\x00"
    "\x00\x00";

const gob_struct codec__gob_req = { (const uint8_t *)gob_req_def, sizeof gob_req_def - 1, 6,
                                    sizeof(codec_req), gob_req_fields };
const gob_struct codec__gob_resp = { (const uint8_t *)gob_resp_def, sizeof gob_resp_def - 1, 6,
                                     sizeof(codec_resp), gob_resp_fields };

/* Returns how many bytes gob's unsigned encoding of v takes (1..9). */
static size_t gob_uint_size(uint64_t v)
{
    if (v < 128)
        return 1;
    size_t n = 1;
    while (v) {
        n++;
        v >>= 8;
    }
    return n;
}

/* Writes v in gob's unsigned encoding at p: one byte below 128, else the
 * negated byte count then big-endian bytes. Returns the bytes written. */
static size_t gob_put_uint(uint8_t *p, uint64_t v)
{
    size_t n = gob_uint_size(v);
    if (n == 1) {
        p[0] = (uint8_t)v;
        return 1;
    }
    p[0] = (uint8_t)(256u - (n - 1));
    for (size_t i = n - 1; i >= 1; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return n;
}

/* Maps a signed value to gob's unsigned form: bit 0 says "complement". */
static uint64_t gob_zigzag(int64_t i)
{
    return i < 0 ? (~(uint64_t)i << 1) | 1u : (uint64_t)i << 1;
}

/* Returns the encoded size of a string/[]byte of length n, or 0 on overflow. */
static size_t gob_bytes_size(size_t n)
{
    size_t h = gob_uint_size(n);
    return n > SIZE_MAX - h ? 0 : h + n;
}

/* Reads field f of obj as gob's unsigned form (ints) or as a view.
 * Returns true when the field holds its zero value (Go omits those). */
static bool gob_field_get(const gob_field *f, const void *obj, uint64_t *u, kk_view *v)
{
    const uint8_t *at = (const uint8_t *)obj + f->off;
    if (f->kind == GOB_F_INT32) {
        int32_t i;
        memcpy(&i, at, sizeof i);
        *u = gob_zigzag(i);
        return i == 0;
    }
    if (f->kind == GOB_F_INT64) {
        int64_t i;
        memcpy(&i, at, sizeof i);
        *u = gob_zigzag(i);
        return i == 0;
    }
    memcpy(v, at, sizeof *v);
    return v->len == 0;
}

/* Size of the value message body (type id, fields, terminator); 0 when the
 * sizes overflow size_t, KK_EINVAL-worthy views make *bad true. */
static size_t gob_value_body_size(const gob_struct *s, const void *obj, bool *bad)
{
    size_t n = 2 + 1; /* type id 65, end of struct */
    for (unsigned i = 0; i < s->nfields; i++) {
        uint64_t u = 0;
        kk_view v = { NULL, 0 };
        if (gob_field_get(&s->fields[i], obj, &u, &v))
            continue;
        size_t fs;
        if (s->fields[i].kind == GOB_F_INT32 || s->fields[i].kind == GOB_F_INT64) {
            fs = gob_uint_size(u);
        } else {
            if (v.p == NULL)
                *bad = true;
            fs = gob_bytes_size(v.len);
            if (fs == 0)
                return 0;
        }
        if (fs > SIZE_MAX - n - 1)
            return 0;
        n += 1 + fs; /* field delta (< 128) + value */
    }
    return n;
}

/* Writes the value message body at p: (delta, value) for each non-zero
 * field, deltas counted from -1, then the 0 terminator. */
static size_t gob_put_value_body(uint8_t *p, const gob_struct *s, const void *obj)
{
    uint8_t *q = p;
    *q++ = 0xff; /* int 65: a value of type 65 */
    *q++ = 0x82;
    int last = -1;
    for (unsigned i = 0; i < s->nfields; i++) {
        uint64_t u = 0;
        kk_view v = { NULL, 0 };
        if (gob_field_get(&s->fields[i], obj, &u, &v))
            continue;
        *q++ = (uint8_t)((int)i - last);
        last = (int)i;
        if (s->fields[i].kind == GOB_F_INT32 || s->fields[i].kind == GOB_F_INT64) {
            q += gob_put_uint(q, u);
        } else {
            q += gob_put_uint(q, v.len);
            memcpy(q, v.p, v.len);
            q += v.len;
        }
    }
    *q++ = 0x00;
    return (size_t)(q - p);
}

/* Appends the fresh-encoder gob stream of obj (described by s) to out:
 * KK_EINVAL for a view with NULL bytes, KK_ETOOBIG/KK_ENOMEM from the
 * buffer. Appends nothing on failure. */
static int gob_encode(const gob_struct *s, const void *obj, kk_buf *out)
{
    if (!obj || !out)
        return KK_EINVAL;
    bool bad = false;
    size_t val = gob_value_body_size(s, obj, &bad);
    if (bad)
        return KK_EINVAL;
    if (val == 0 || val >= GOB_MAX_MSG)
        return KK_ETOOBIG;
    size_t total = s->def_len + gob_uint_size(val) + val;
    int rc = kk_buf_reserve(out, total);
    if (rc < 0)
        return rc;
    uint8_t *p = out->p + out->len;
    memcpy(p, s->def, s->def_len);
    p += s->def_len;
    p += gob_put_uint(p, val);
    p += gob_put_value_body(p, s, obj);
    out->len += total;
    return 0;
}

/* Appends OpenIM's `Req` as a fresh gob stream (type 65). */
int codec_gob_encode_req(const codec_req *req, kk_buf *out)
{
    return gob_encode(&codec__gob_req, req, out);
}

/* Appends OpenIM's `Resp` as a fresh gob stream (type 65). */
int codec_gob_encode_resp(const codec_resp *resp, kk_buf *out)
{
    return gob_encode(&codec__gob_resp, resp, out);
}
