/* pbwire.c — strict protobuf wire walker and the SendMsgResp field-4 rule.
 * Contract in pbwire.h. */
#include <string.h>

#include "pbwire.h"

/* ---- varints and fields ------------------------------------------------ */

/* Decodes a varint; see pbwire.h. */
int pbwire_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    size_t n = len < PBWIRE_VARINT_MAX ? len : PBWIRE_VARINT_MAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        /* The tenth byte holds bit 63 only: anything above is overflow
         * (Go's protowire.ConsumeVarint rejects it too). */
        if (i == PBWIRE_VARINT_MAX - 1 && b > 1)
            return KK_EPROTO;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return (int)(i + 1);
        }
    }
    return KK_EPROTO;
}

/* Starts a walk over p[0..len). */
void pbwire_reader_init(pbwire_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->err_off = 0;
    r->err_what = NULL;
}

/* Marks the reader failed at off with a static reason; returns KK_EPROTO. */
static int reader_fail(pbwire_reader *r, size_t off, const char *what)
{
    r->err_off = off;
    r->err_what = what;
    r->off = r->len; /* a failed reader yields nothing more */
    return KK_EPROTO;
}

/* Reads the next field; see pbwire.h. */
int pbwire_next(pbwire_reader *r, pbwire_field *f)
{
    if (r->err_what)
        return KK_EPROTO;
    if (r->off >= r->len)
        return 0;
    size_t start = r->off;
    uint64_t tag;
    int n = pbwire_varint(r->p + r->off, r->len - r->off, &tag);
    if (n < 0)
        return reader_fail(r, start, "malformed tag varint");
    if (tag >> 3 == 0 || tag >> 3 > PBWIRE_FIELD_MAX)
        return reader_fail(r, start, "field number out of range");
    size_t at = r->off + (size_t)n;
    memset(f, 0, sizeof *f);
    f->num = (uint32_t)(tag >> 3);
    f->wtype = (uint8_t)(tag & 7);
    f->off = start;
    switch (f->wtype) {
    case PBWIRE_VARINT:
        n = pbwire_varint(r->p + at, r->len - at, &f->u);
        if (n < 0)
            return reader_fail(r, at, "malformed varint");
        at += (size_t)n;
        break;
    case PBWIRE_I64:
    case PBWIRE_I32: {
        size_t w = f->wtype == PBWIRE_I64 ? 8 : 4;
        if (r->len - at < w)
            return reader_fail(r, at, "truncated fixed-width value");
        for (size_t i = 0; i < w; i++)
            f->u |= (uint64_t)r->p[at + i] << (8 * i);
        at += w;
        break;
    }
    case PBWIRE_LEN: {
        uint64_t l;
        n = pbwire_varint(r->p + at, r->len - at, &l);
        if (n < 0)
            return reader_fail(r, at, "malformed length varint");
        at += (size_t)n;
        if (l > r->len - at)
            return reader_fail(r, at, "length past end");
        f->bytes.p = r->p + at;
        f->bytes.len = (size_t)l;
        at += (size_t)l;
        break;
    }
    case PBWIRE_SGROUP:
    case PBWIRE_EGROUP:
        return reader_fail(r, start, "group wire type (3/4) not supported");
    default:
        return reader_fail(r, start, "invalid wire type");
    }
    r->off = at;
    return 1;
}

/* Counts the fields of a flat walk; see pbwire.h. */
int pbwire_check(const uint8_t *p, size_t len)
{
    pbwire_reader r;
    pbwire_field f;
    int rc, count = 0;
    pbwire_reader_init(&r, p, len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        if (count == INT32_MAX)
            return KK_ETOOBIG;
        count++;
    }
    return rc < 0 ? rc : count;
}

/* ---- UTF-8 ------------------------------------------------------------- */

/* Validates UTF-8 the way Go's unicode/utf8.Valid does (RFC 3629). */
bool pbwire_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k < n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

/* ---- writing ----------------------------------------------------------- */

/* Appends v as a varint; out unchanged on failure. */
int pbwire_put_varint(kk_buf *out, uint64_t v)
{
    uint8_t tmp[PBWIRE_VARINT_MAX];
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        tmp[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return kk_buf_append(out, tmp, n);
}

/* Appends the tag of field num with wire type wt. */
int pbwire_put_tag(kk_buf *out, uint32_t num, enum pbwire_type wt)
{
    return pbwire_put_varint(out, ((uint64_t)num << 3) | (uint64_t)wt);
}

/* Appends a whole LEN field; out unchanged on failure. */
int pbwire_put_len(kk_buf *out, uint32_t num, const uint8_t *p, size_t len)
{
    size_t mark = out->len;
    int rc = pbwire_put_tag(out, num, PBWIRE_LEN);
    if (rc == 0)
        rc = pbwire_put_varint(out, len);
    if (rc == 0)
        rc = kk_buf_append(out, p, len);
    if (rc < 0)
        out->len = mark;
    return rc;
}

/* ---- SendMsgResp ------------------------------------------------------- */

/* MsgData.seq is field 14 (NOTES.md §3.2). */
#define PBWIRE_MSGDATA_SEQ 14

/* Finds MsgData.seq in a MsgData (last occurrence wins). Returns 0 and the
 * seq (0 when absent), or KK_EPROTO. */
static int msgdata_seq(kk_view md, int64_t *seq)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    *seq = 0;
    pbwire_reader_init(&r, md.p, md.len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        if (f.num != PBWIRE_MSGDATA_SEQ)
            continue;
        if (f.wtype != PBWIRE_VARINT)
            return KK_EPROTO;
        *seq = (int64_t)f.u;
    }
    return rc;
}

/* Decodes a SendMsgResp by the field-4 rule; see pbwire.h. */
int pbwire_send_resp_decode(const uint8_t *p, size_t len, pbwire_send_resp *out)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    memset(out, 0, sizeof *out);
    pbwire_reader_init(&r, p, len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        switch (f.num) {
        case 1:
        case 2:
            if (f.wtype != PBWIRE_LEN || !pbwire_utf8_valid(f.bytes.p, f.bytes.len))
                goto bad;
            if (f.num == 1)
                out->server_msg_id = f.bytes;
            else
                out->client_msg_id = f.bytes;
            break;
        case 3:
            if (f.wtype != PBWIRE_VARINT)
                goto bad;
            out->send_time = (int64_t)f.u;
            break;
        case 4:
            /* NOTES.md §3.6: the wire type decides what field 4 is. */
            if (f.wtype == PBWIRE_VARINT) {
                out->seq_from = PBWIRE_SEQ_VARINT;
                out->seq = (int64_t)f.u;
                out->msg_data = (kk_view){ NULL, 0 };
            } else if (f.wtype == PBWIRE_LEN) {
                if (msgdata_seq(f.bytes, &out->seq) < 0)
                    goto bad;
                out->seq_from = PBWIRE_SEQ_MSGDATA;
                out->msg_data = f.bytes;
            } else {
                goto bad;
            }
            break;
        default:
            break; /* unknown fields of every wire type are skipped */
        }
    }
    if (rc == 0)
        return 0;
bad:
    memset(out, 0, sizeof *out);
    return KK_EPROTO;
}
