/* json.c — the JSON envelope of sdkType=js (NOTES.md §2.3) and the text
 * frames of §1.3/§4.2, byte-compatible with Go's encoding/json.
 *
 * Encoding writes what json.Marshal writes for OpenIM's Req/Resp structs as
 * built by the gateway's Go (≥ 1.22, OpenIM v3.8): keys in struct order, no
 * spaces, strings escaped like Go (<, >, & as \u003c..., \b \f \n \r \t
 * short, other controls \u00xx, U+2028/9 escaped, each invalid UTF-8 byte as
 * \ufffd), []byte as padded standard base64. Empty data is written `null`
 * (Go writes null for a nil slice and "" for an empty non-nil one; the relay
 * has no such distinction and picks null).
 *
 * Decoding parses with jansson and then applies Go's rules for a struct:
 * keys match exactly or case-folded (Go ≥ 1.21 foldName, so "SENDID",
 * "ſendID" and "tOKEN" with a Kelvin sign all hit), the last occurrence in
 * document order wins, unknown keys are ignored, null leaves a string or
 * int field unchanged and sets data to nil.
 *
 * Where jansson and Go differ (all forms the gateway never writes):
 * exactly repeated keys are rejected (JSON_REJECT_DUPLICATES) because
 * jansson would keep the first key's position with the last value and break
 * "last occurrence wins" against case-folded variants; invalid UTF-8, lone
 * surrogate escapes, a NUL in a key, integers outside int64 and reals
 * outside double are rejected anywhere in the document (Go accepts them in
 * unknown keys); "-0" in a data number array is taken as 0 (Go rejects it);
 * a top-level null is KK_EJSON (Go leaves the struct zero).
 */
#include <jansson.h>
#include <string.h>

#include "codec.h"

/* jansson builds a tree of 40-70 bytes per value, so a 16 MiB frame of
 * "0," pairs would cost ~500 MB. Every value after the first is introduced
 * by '[', '{' or ','; capping those caps the tree near 20 MB. The gateway's
 * envelopes hold under 20 values, and a data number array (KKIM doc §3.1)
 * of a maximal 51 200-byte request under 26 000. */
#define JSON_MAX_VALUES (1u << 18)

/* Value kinds of the envelope fields. */
enum json_kind { JK_INT32, JK_INT64, JK_STR, JK_BYTES };

/* One field of a Go struct: its JSON key and Go type. */
typedef struct json_slot {
    const char *name;
    enum json_kind kind;
} json_slot;

#define JSON_NSLOTS 6

/* OpenIM's Req and Resp, in struct (and wire) order. */
static const json_slot json_req_slots[JSON_NSLOTS] = {
    { "reqIdentifier", JK_INT32 }, { "token", JK_STR },       { "sendID", JK_STR },
    { "operationID", JK_STR },     { "msgIncr", JK_STR },     { "data", JK_BYTES },
};
static const json_slot json_resp_slots[JSON_NSLOTS] = {
    { "reqIdentifier", JK_INT32 }, { "msgIncr", JK_STR },     { "operationID", JK_STR },
    { "errCode", JK_INT64 },       { "errMsg", JK_STR },      { "data", JK_BYTES },
};

/* An envelope in slot order, before it is mapped onto codec_req/resp. */
typedef struct json_env {
    int64_t num[JSON_NSLOTS];
    kk_view view[JSON_NSLOTS];
} json_env;

/* ======================================================================
 * Base64 (standard alphabet, padded)
 * ==================================================================== */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 1 + the sextet of each alphabet byte (1..64), B64_SKIP for '\r' and '\n'
 * (Go skips them anywhere), B64_PAD for '='; 0 (unlisted) is invalid. */
enum { B64_SKIP = 65, B64_PAD = 66 };
static const uint8_t b64_table[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
    ['\r'] = B64_SKIP, ['\n'] = B64_SKIP, ['='] = B64_PAD,
};

/* Decodes s as Go's base64.StdEncoding.Decode does: '\r' and '\n' are
 * skipped anywhere, the last quantum must be padded with '=' and nothing but
 * newlines may follow the padding; unused bits of the last sextet are
 * ignored (Go's non-strict mode). Writes to dst when it is not NULL (room for
 * 3 * n / 4 bytes) and stores the decoded length in *out_len. Returns
 * KK_EB64 for any other byte, misplaced padding or a partial quantum.
 * Whole quanta of four alphabet bytes take a table-driven fast path (the
 * data of a large push is one long run of them). */
static int b64_decode(const uint8_t *s, size_t n, uint8_t *dst, size_t *out_len)
{
    uint32_t acc = 0;
    unsigned q = 0, pad = 0;
    size_t o = 0, i = 0;
    for (;;) {
        while (q == 0 && !pad && i + 4 <= n) {
            /* unsigned wrap: 0 (invalid) and 65/66 all fail "< 64" */
            uint32_t a = b64_table[s[i]] - 1u, b = b64_table[s[i + 1]] - 1u;
            uint32_t c = b64_table[s[i + 2]] - 1u, d = b64_table[s[i + 3]] - 1u;
            if ((a | b | c | d) >= 64)
                break;
            uint32_t v = a << 18 | b << 12 | c << 6 | d;
            if (dst) {
                dst[o] = (uint8_t)(v >> 16);
                dst[o + 1] = (uint8_t)(v >> 8);
                dst[o + 2] = (uint8_t)v;
            }
            o += 3;
            i += 4;
        }
        if (i >= n)
            break;
        uint8_t v = b64_table[s[i++]];
        if (v == 0)
            return KK_EB64;
        if (v == B64_SKIP)
            continue;
        if (v == B64_PAD) {
            /* "x===" and "====" are never valid; "xy=" needs a second '='. */
            if ((pad == 0 && q < 2) || q + pad + 1 > 4)
                return KK_EB64;
            pad++;
            continue;
        }
        if (pad)
            return KK_EB64;
        acc = (acc << 6) | (uint32_t)(v - 1);
        if (++q == 4) {
            if (dst) {
                dst[o] = (uint8_t)(acc >> 16);
                dst[o + 1] = (uint8_t)(acc >> 8);
                dst[o + 2] = (uint8_t)acc;
            }
            o += 3;
            q = 0;
            acc = 0;
        }
    }
    if (q != 0 && q + pad != 4)
        return KK_EB64;
    if (q == 2) {
        if (dst)
            dst[o] = (uint8_t)(acc >> 4);
        o += 1;
    } else if (q == 3) {
        if (dst) {
            dst[o] = (uint8_t)(acc >> 10);
            dst[o + 1] = (uint8_t)(acc >> 2);
        }
        o += 2;
    }
    *out_len = o;
    return 0;
}

/* Appends the padded standard base64 of n bytes to b; see codec.h. */
int kk_b64_encode(kk_buf *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > (SIZE_MAX - 2) / 4 * 3)
        return KK_ETOOBIG;
    size_t olen = (n + 2) / 3 * 4;
    int rc = kk_buf_reserve(b, olen);
    if (rc < 0)
        return rc;
    uint8_t *o = b->p + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)b64_alphabet[v >> 18];
        *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
        *o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
        *o++ = (uint8_t)b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)b64_alphabet[v >> 18];
        *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)b64_alphabet[v >> 18];
        *o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
        *o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    b->len += olen;
    return 0;
}

/* ======================================================================
 * Writing JSON the way Go's encoding/json does
 * ==================================================================== */

/* An appender that remembers its first error, so a sequence of writes is
 * checked once at the end. */
typedef struct json_w {
    kk_buf *b;
    int rc;
} json_w;

/* Appends n bytes unless an earlier write failed. */
static void jw_put(json_w *w, const void *p, size_t n)
{
    if (w->rc == 0)
        w->rc = kk_buf_append(w->b, p, n);
}

/* Appends s[from..to), if any; s may be NULL when the range is empty. */
static void jw_span(json_w *w, const uint8_t *s, size_t from, size_t to)
{
    if (to > from)
        jw_put(w, s + from, to - from);
}

/* Appends a C string literal. */
static void jw_lit(json_w *w, const char *s)
{
    jw_put(w, s, strlen(s));
}

/* Appends the decimal form of v (strconv.FormatInt). */
static void jw_int(json_w *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    jw_put(w, tmp + i, sizeof tmp - i);
}

/* Returns the length of the valid UTF-8 sequence at s[0..n), or 0 when it
 * is invalid, as Go's utf8.DecodeRune judges it (no overlongs, no
 * surrogates, nothing above U+10FFFF, no truncated sequences). */
static size_t utf8_seq_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    uint8_t lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Appends v as a quoted JSON string escaped exactly as Go ≥ 1.22's
 * encodeState.string with escapeHTML. */
static void jw_str(json_w *w, kk_view v)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = v.p;
    size_t start = 0, i = 0;
    jw_put(w, "\"", 1);
    while (i < v.len) {
        uint8_t c = s[i];
        char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
        size_t elen = 2, adv = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        } else {
            size_t n = utf8_seq_len(s + i, v.len - i);
            if (n == 0) {
                memcpy(esc, "\\ufffd", 6);
                elen = 6;
            } else if (n == 3 && c == 0xE2 && s[i + 1] == 0x80 &&
                       (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                memcpy(esc, "\\u202", 5);
                esc[5] = s[i + 2] == 0xA8 ? '8' : '9';
                elen = 6;
                adv = 3;
            } else {
                i += n;
                continue;
            }
        }
        jw_span(w, s, start, i);
        jw_put(w, esc, elen);
        i += adv;
        start = i;
    }
    jw_span(w, s, start, i);
    jw_put(w, "\"", 1);
}

/* Appends data as Go writes a []byte (base64 string, null when empty), or
 * as the KKIM doc's number array when as_array. */
static void jw_data(json_w *w, kk_view d, bool as_array)
{
    if (d.len == 0) {
        jw_lit(w, "null");
    } else if (!as_array) {
        jw_put(w, "\"", 1);
        if (w->rc == 0)
            w->rc = kk_b64_encode(w->b, d.p, d.len);
        jw_put(w, "\"", 1);
    } else {
        for (size_t i = 0; i < d.len; i++) {
            jw_put(w, i ? "," : "[", 1);
            jw_int(w, d.p[i]);
        }
        jw_put(w, "]", 1);
    }
}

/* Appends one envelope in slot order. out is unchanged on failure. */
static int json_encode_env(const json_slot *slots, const json_env *env, bool as_array,
                           kk_buf *out)
{
    json_w w = { out, 0 };
    size_t start = out->len;
    for (int i = 0; i < JSON_NSLOTS; i++) {
        if (env->view[i].len && !env->view[i].p)
            return KK_EINVAL;
    }
    for (int i = 0; i < JSON_NSLOTS; i++) {
        jw_put(&w, i ? ",\"" : "{\"", 2);
        jw_lit(&w, slots[i].name);
        jw_put(&w, "\":", 2);
        switch (slots[i].kind) {
        case JK_INT32:
        case JK_INT64: jw_int(&w, env->num[i]); break;
        case JK_STR: jw_str(&w, env->view[i]); break;
        case JK_BYTES: jw_data(&w, env->view[i], as_array); break;
        }
    }
    jw_put(&w, "}", 1);
    if (w.rc < 0)
        out->len = start;
    return w.rc;
}

/* Appends req as Go's json.Marshal of OpenIM's Req; see codec.h. */
int codec_json_encode_req(const codec_req *req, bool data_as_array, kk_buf *out)
{
    json_env e = { .num = { req->req_identifier },
                   .view = { { 0 }, req->token, req->send_id, req->operation_id, req->msg_incr,
                             req->data } };
    return json_encode_env(json_req_slots, &e, data_as_array, out);
}

/* Appends resp as Go's json.Marshal of OpenIM's Resp; see codec.h. */
int codec_json_encode_resp(const codec_resp *resp, bool data_as_array, kk_buf *out)
{
    json_env e = { .num = { resp->req_identifier, 0, 0, resp->err_code },
                   .view = { { 0 }, resp->msg_incr, resp->operation_id, { 0 }, resp->err_msg,
                             resp->data } };
    return json_encode_env(json_resp_slots, &e, data_as_array, out);
}

/* ======================================================================
 * Reading: jansson plus Go's struct rules
 * ==================================================================== */

/* Counts the values of a JSON text without parsing it (every value after
 * the first follows '[', '{' or ',' outside a string) and returns
 * KK_ETOOBIG past JSON_MAX_VALUES, before jansson allocates anything.
 * A raw NUL byte is never valid JSON, but jansson 2.14 accepts one right
 * after a number ({"a":7<NUL>} parses), so any NUL is KK_EJSON here. */
static int json_check_size(const uint8_t *in, size_t len)
{
    size_t n = 1;
    if (memchr(in, 0, len))
        return KK_EJSON;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if ((c == ',' || c == '[' || c == '{') && ++n > JSON_MAX_VALUES) {
            return KK_ETOOBIG;
        }
    }
    return 0;
}

/* Parses one JSON text (any top-level value) into *out, which the caller
 * must json_decref. KK_EAGAIN when the text ends inside a value,
 * KK_EOVERFLOW for a number jansson cannot hold, KK_EJSON otherwise. */
static int json_parse(const uint8_t *in, size_t len, size_t flags, json_t **out)
{
    *out = NULL;
    if (len == 0)
        return KK_EAGAIN;
    int rc = json_check_size(in, len);
    if (rc < 0)
        return rc;
    json_error_t err;
    json_t *j = json_loadb((const char *)in, len, flags | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (j) {
        *out = j;
        return 0;
    }
    switch (json_error_code(&err)) {
    case json_error_premature_end_of_input: return KK_EAGAIN;
    case json_error_numeric_overflow: return KK_EOVERFLOW;
    case json_error_out_of_memory: return KK_ENOMEM;
    default: return KK_EJSON;
    }
}

/* Upper-cases key rune by rune as Go ≥ 1.21's foldName does and compares
 * it with the ASCII name: ASCII letters fold to upper case, and the only
 * other runes that fold into ASCII are İ, ı (to I), ſ (to S) and the
 * Kelvin sign (to K). */
static bool json_key_is(const char *key, const char *name)
{
    const uint8_t *k = (const uint8_t *)key;
    for (; *name; name++) {
        uint8_t want = (uint8_t)*name, got;
        if (want >= 'a' && want <= 'z')
            want = (uint8_t)(want - 32);
        if (*k < 0x80) {
            got = *k >= 'a' && *k <= 'z' ? (uint8_t)(*k - 32) : *k;
            k += 1;
        } else if (k[0] == 0xC4 && (k[1] == 0xB0 || k[1] == 0xB1)) {
            got = 'I';
            k += 2;
        } else if (k[0] == 0xC5 && k[1] == 0xBF) {
            got = 'S';
            k += 2;
        } else if (k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA) {
            got = 'K';
            k += 3;
        } else {
            return false;
        }
        if (got != want || got == 0)
            return false;
    }
    return *k == 0;
}

/* Returns the decoded size of a data value (a string or an array already
 * checked by json_check_data), or a negative code for bad base64. */
static int json_data_len(const json_t *v, size_t *len)
{
    if (json_is_array(v)) {
        *len = json_array_size(v);
        return 0;
    }
    return b64_decode((const uint8_t *)json_string_value(v), json_string_length(v), NULL, len);
}

/* Checks one occurrence of a key against its Go type, as Go checks every
 * occurrence even when a later one replaces it. */
static int json_check_value(const json_slot *slot, const json_t *v)
{
    size_t n;
    switch (slot->kind) {
    case JK_INT32:
        if (!json_is_integer(v))
            return KK_EJSON;
        if (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
            return KK_EOVERFLOW;
        return 0;
    case JK_INT64:
        return json_is_integer(v) ? 0 : KK_EJSON;
    case JK_STR:
        return json_is_string(v) ? 0 : KK_EJSON;
    case JK_BYTES:
        if (json_is_string(v))
            return json_data_len(v, &n);
        if (!json_is_array(v))
            return KK_EJSON;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 255)
                return KK_EJSON;
        }
        return 0;
    }
    return KK_EJSON;
}

/* Walks the members of obj in document order and keeps, per slot, the value
 * Go would end with: the last non-null occurrence for strings and ints, the
 * last occurrence for data (null makes it nil). picked[i] is NULL when the
 * field stays zero. */
static int json_pick(const json_t *obj, const json_slot *slots, const json_t **picked)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int i = 0;
        while (i < JSON_NSLOTS && !json_key_is(key, slots[i].name))
            i++;
        if (i == JSON_NSLOTS)
            continue;
        if (json_is_null(v)) {
            if (slots[i].kind == JK_BYTES)
                picked[i] = NULL;
            continue;
        }
        int rc = json_check_value(&slots[i], v);
        if (rc < 0)
            return rc;
        picked[i] = v;
    }
    return 0;
}

/* Copies the picked strings and decoded data into text (reset first, grown
 * once) and points env's views at them. */
static int json_fill(const json_slot *slots, const json_t **picked, json_env *env, kk_buf *text)
{
    size_t total = 0, off[JSON_NSLOTS] = { 0 };
    for (int i = 0; i < JSON_NSLOTS; i++) {
        if (!picked[i])
            continue;
        size_t n = 0;
        if (slots[i].kind == JK_INT32 || slots[i].kind == JK_INT64)
            env->num[i] = json_integer_value(picked[i]);
        else if (slots[i].kind == JK_STR)
            n = json_string_length(picked[i]);
        else if (json_data_len(picked[i], &n) < 0)
            return KK_EB64; /* checked in json_pick; kept for safety */
        if (n > SIZE_MAX - total)
            return KK_ETOOBIG;
        env->view[i].len = n;
        total += n;
    }
    kk_buf_reset(text);
    int rc = kk_buf_reserve(text, total);
    if (rc < 0)
        return rc;
    for (int i = 0; i < JSON_NSLOTS; i++) {
        size_t n = env->view[i].len;
        off[i] = text->len;
        if (n == 0)
            continue;
        const json_t *v = picked[i];
        uint8_t *dst = text->p + text->len;
        if (slots[i].kind == JK_STR) {
            memcpy(dst, json_string_value(v), n);
        } else if (json_is_array(v)) {
            for (size_t k = 0; k < n; k++)
                dst[k] = (uint8_t)json_integer_value(json_array_get(v, k));
        } else {
            size_t got;
            b64_decode((const uint8_t *)json_string_value(v), json_string_length(v), dst, &got);
        }
        text->len += n;
    }
    /* Views are taken only now: text was reserved once, but the pointer
     * arithmetic stays right even if that ever changes. */
    for (int i = 0; i < JSON_NSLOTS; i++)
        env->view[i].p = env->view[i].len ? text->p + off[i] : NULL;
    return 0;
}

/* Decodes one envelope in slot order; env is zeroed on failure. */
static int json_decode_env(const uint8_t *in, size_t len, const json_slot *slots, json_env *env,
                           kk_buf *text)
{
    json_t *root;
    const json_t *picked[JSON_NSLOTS] = { 0 };
    memset(env, 0, sizeof *env);
    kk_buf_reset(text);
    int rc = json_parse(in, len, JSON_REJECT_DUPLICATES, &root);
    if (rc < 0)
        return rc;
    if (!json_is_object(root))
        rc = KK_EJSON;
    else
        rc = json_pick(root, slots, picked);
    if (rc == 0)
        rc = json_fill(slots, picked, env, text);
    json_decref(root);
    if (rc < 0) {
        memset(env, 0, sizeof *env);
        kk_buf_reset(text);
    }
    return rc;
}

/* Decodes a Req envelope; strings and data live in text. See codec.h. */
int codec_json_decode_req(const uint8_t *in, size_t len, codec_req *out, kk_buf *text)
{
    json_env e;
    int rc = json_decode_env(in, len, json_req_slots, &e, text);
    out->req_identifier = (int32_t)e.num[0];
    out->token = e.view[1];
    out->send_id = e.view[2];
    out->operation_id = e.view[3];
    out->msg_incr = e.view[4];
    out->data = e.view[5];
    return rc;
}

/* Decodes a Resp envelope; strings and data live in text. See codec.h. */
int codec_json_decode_resp(const uint8_t *in, size_t len, codec_resp *out, kk_buf *text)
{
    json_env e;
    int rc = json_decode_env(in, len, json_resp_slots, &e, text);
    out->req_identifier = (int32_t)e.num[0];
    out->msg_incr = e.view[1];
    out->operation_id = e.view[2];
    out->err_code = e.num[3];
    out->err_msg = e.view[4];
    out->data = e.view[5];
    return rc;
}

/* ======================================================================
 * Text frames (NOTES.md §1.3, §4.2)
 * ==================================================================== */

/* Classifies a text message: {"type":"ping"} and {"type":"pong",...} by the
 * exact type value (as the gateway compares it), a handshake verdict by an
 * integer errCode without a reqIdentifier key, anything else that parses as
 * OTHER. Keys fold as in the envelope; repeated keys keep the last value. */
int codec_text_classify(const uint8_t *in, size_t len, int64_t *err_code)
{
    json_t *root;
    int rc = json_parse(in, len, 0, &root);
    if (rc < 0)
        return rc == KK_EAGAIN || rc == KK_EOVERFLOW ? KK_EJSON : rc;
    const json_t *type = NULL, *code = NULL;
    bool has_req = false;
    const char *key;
    json_t *v;
    if (json_is_object(root)) {
        json_object_foreach(root, key, v) {
            if (json_key_is(key, "type"))
                type = v;
            else if (json_key_is(key, "errCode"))
                code = v;
            else if (json_key_is(key, "reqIdentifier"))
                has_req = true;
        }
    }
    rc = CODEC_TEXT_OTHER;
    if (type && json_is_string(type) && strcmp(json_string_value(type), "ping") == 0 &&
        json_string_length(type) == 4)
        rc = CODEC_TEXT_PING;
    else if (type && json_is_string(type) && strcmp(json_string_value(type), "pong") == 0 &&
             json_string_length(type) == 4)
        rc = CODEC_TEXT_PONG;
    else if (code && json_is_integer(code) && !has_req) {
        rc = CODEC_TEXT_VERDICT;
        if (err_code)
            *err_code = json_integer_value(code);
    }
    json_decref(root);
    return rc;
}
