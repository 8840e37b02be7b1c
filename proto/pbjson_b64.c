/* pbjson_b64.c — padded standard base64 (RFC 4648 §4, Go's StdEncoding)
 * for bytes fields and kkimctl's input/output. Contract in pbjson.h. */
#include <stdint.h>
#include <string.h>

#include "pbjson.h"

/* Appends the padded standard base64 of p[0..len); out unchanged on failure.
 * The encoder is codec's (one implementation for the whole tree). */
int pbjson_b64_encode(const uint8_t *p, size_t len, kk_buf *out)
{
    return kk_b64_encode(out, p, len);
}

/* The 6-bit value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strictly decodes padded standard base64; out unchanged on failure. */
int pbjson_b64_decode(const char *s, size_t len, kk_buf *out)
{
    if (len % 4 != 0)
        return KK_EB64;
    size_t mark = out->len;
    int rc = kk_buf_reserve(out, len / 4 * 3);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            /* '=' only in the last quantum, only at its end */
            if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = b64_value(c)) < 0)
                goto bad;
        }
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Bits under the padding must be zero (Go's Strict mode). */
        if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
            goto bad;
        uint8_t b[3] = { (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
        memcpy(out->p + out->len, b, (size_t)(3 - pad));
        out->len += (size_t)(3 - pad);
    }
    return 0;
bad:
    out->len = mark;
    return KK_EB64;
}
