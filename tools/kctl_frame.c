/* kctl_frame.c — kkimctl's frame layer: input/output encodings (raw, hex,
 * base64), gzip, telling a Req from a Resp, and the envelope through
 * codec.h, with errors that say where in the input they are. Contract in
 * kctl.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kctl.h"
#include "pbjson.h"
#include "pbwire.h"

/* ---- small helpers ----------------------------------------------------- */

/* True for the whitespace allowed between hex digits or base64 characters. */
static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value of a hex digit, or -1. */
static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A JSON string of a view, invalid UTF-8 bytes as U+FFFD; see kctl.h. */
json_t *kctl_json_view(kk_view v)
{
    if (pbwire_utf8_valid(v.p, v.len))
        return json_stringn_nocheck(v.len ? (const char *)v.p : "", v.len);
    kk_buf b;
    kk_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; i < v.len;) {
        uint8_t c = v.p[i];
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (n > v.len - i || !pbwire_utf8_valid(v.p + i, n)) {
            if (kk_buf_append(&b, "\xef\xbf\xbd", 3) < 0)
                break;
            i++;
        } else {
            if (kk_buf_append(&b, v.p + i, n) < 0)
                break;
            i += n;
        }
    }
    json_t *s = json_stringn_nocheck(b.len ? (const char *)b.p : "", b.len);
    kk_buf_free(&b);
    return s;
}

/* ---- input and output encodings ---------------------------------------- */

/* Hex: pairs of digits, whitespace anywhere between pairs or digits. */
static int input_hex(const uint8_t *in, size_t len, kk_buf *out, kctl_err *err)
{
    char where[64];
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        if (is_space(in[i]))
            continue;
        int v = hex_value(in[i]);
        snprintf(where, sizeof where, "hex input at offset %zu", i);
        if (v < 0)
            return kctl_fail(err, KK_EPROTO, where, in[i] >= 0x21 && in[i] < 0x7f ?
                             "invalid hex digit '%c'" : "invalid hex byte 0x%02x", in[i]);
        if (hi < 0) {
            hi = v;
            continue;
        }
        uint8_t b = (uint8_t)(hi << 4 | v);
        if (kk_buf_append(out, &b, 1) < 0)
            return kctl_fail(err, KK_ETOOBIG, where, "input too large");
        hi = -1;
    }
    if (hi >= 0) {
        snprintf(where, sizeof where, "hex input at offset %zu", len);
        return kctl_fail(err, KK_EPROTO, where, "odd number of hex digits");
    }
    return 0;
}

/* Base64: padded standard alphabet, whitespace ignored. Checks characters
 * first so an error can name the offending offset. */
static int input_b64(const uint8_t *in, size_t len, kk_buf *out, kctl_err *err)
{
    char where[64];
    kk_buf text;
    kk_buf_init(&text, len);
    bool pad = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (is_space(c))
            continue;
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
        if ((!alpha && c != '=') || (pad && c != '=')) {
            kk_buf_free(&text);
            snprintf(where, sizeof where, "base64 input at offset %zu", i);
            return kctl_fail(err, KK_EB64, where, c >= 0x21 && c < 0x7f ?
                             "unexpected base64 character '%c'" : "unexpected base64 byte 0x%02x", c);
        }
        pad = c == '=';
        if (kk_buf_append(&text, &c, 1) < 0) {
            kk_buf_free(&text);
            return kctl_fail(err, KK_ENOMEM, "base64 input", "out of memory");
        }
    }
    int rc = pbjson_b64_decode(text.len ? (const char *)text.p : "", text.len, out);
    kk_buf_free(&text);
    if (rc < 0) {
        snprintf(where, sizeof where, "base64 input at offset %zu", len);
        return kctl_fail(err, rc, where, rc == KK_EB64 ? "bad base64 length, padding or trailing bits"
                                                        : "input too large");
    }
    return 0;
}

/* Converts the input encoding; see kctl.h. */
int kctl_input_bytes(int fmt, const uint8_t *in, size_t len, kk_buf *out, kctl_err *err)
{
    if (fmt == KCTL_FMT_HEX)
        return input_hex(in, len, out, err);
    if (fmt == KCTL_FMT_B64)
        return input_b64(in, len, out, err);
    if (kk_buf_append(out, in, len) < 0)
        return kctl_fail(err, KK_ETOOBIG, "input", "input too large");
    return 0;
}

/* Writes bytes in the output encoding; see kctl.h. */
int kctl_output_bytes(int fmt, const uint8_t *p, size_t len)
{
    int ok = 1;
    if (fmt == KCTL_FMT_HEX) {
        for (size_t i = 0; i < len && ok; i++)
            ok = printf("%02x", p[i]) == 2;
        ok = ok && putchar('\n') != EOF;
    } else if (fmt == KCTL_FMT_B64) {
        kk_buf b;
        kk_buf_init(&b, SIZE_MAX);
        ok = pbjson_b64_encode(p, len, &b) == 0 && fwrite(b.p, 1, b.len, stdout) == b.len &&
             putchar('\n') != EOF;
        kk_buf_free(&b);
    } else {
        ok = fwrite(p, 1, len, stdout) == len;
    }
    return ok && fflush(stdout) == 0 ? 0 : KK_EIO;
}

/* ---- telling a Req from a Resp ----------------------------------------- */

/* Reads a gob unsigned integer (NOTES.md §2.4); returns bytes used or -1. */
static int gob_uint(const uint8_t *p, size_t len, uint64_t *v)
{
    if (len == 0)
        return -1;
    if (p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    size_t n = (size_t)(256 - p[0]);
    if (n > 8 || n + 1 > len)
        return -1;
    *v = 0;
    for (size_t i = 1; i <= n; i++)
        *v = *v << 8 | p[i];
    return (int)(n + 1);
}

/* True when the gob type definition (the first message of the stream)
 * declares a field called name: field names are gob strings there. */
static bool gob_def_has(kk_view def, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + 1 + n <= def.len; i++)
        if (def.p[i] == n && memcmp(def.p + i + 1, name, n) == 0)
            return true;
    return false;
}

/* Picks req or resp for a gob frame: a definition with an ErrCode field is
 * a Resp, one with SendID a Req. */
static int detect_gob(kk_view plain, kctl_err *err)
{
    uint64_t mlen;
    int n = gob_uint(plain.p, plain.len, &mlen);
    if (n < 0 || mlen > plain.len - (size_t)n)
        return kctl_fail(err, KK_EPROTO, "gob envelope", "malformed first gob message length");
    kk_view def = { plain.p + n, (size_t)mlen };
    if (gob_def_has(def, "ErrCode"))
        return KCTL_KIND_RESP;
    if (gob_def_has(def, "SendID"))
        return KCTL_KIND_REQ;
    return kctl_fail(err, KK_EPROTO, "gob envelope",
                     "cannot tell a Req from a Resp (no ErrCode or SendID field); use --kind");
}

/* Reports a JSON syntax error with its line and column. */
static int json_syntax_fail(const json_error_t *je, const char *what_in, kctl_err *err)
{
    char where[96];
    snprintf(where, sizeof where, "%s line %d column %d", what_in, je->line, je->column);
    return kctl_fail(err, KK_EJSON, where, "%s", je->text);
}

/* Picks req or resp for a JSON frame: an errCode key (in any case, as Go
 * matches keys) means a Resp, sendID a Req. */
static int detect_json(kk_view plain, kctl_err *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)plain.p, plain.len, 0, &je);
    if (!root)
        return json_syntax_fail(&je, "JSON envelope", err);
    int kind = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcasecmp(key, "errCode") == 0)
            kind = KCTL_KIND_RESP;
        else if (strcasecmp(key, "sendID") == 0 && kind == 0)
            kind = KCTL_KIND_REQ;
    }
    json_decref(root);
    if (kind == 0)
        return kctl_fail(err, KK_EJSON, "JSON envelope",
                         "cannot tell a Req from a Resp (no errCode or sendID key); use --kind");
    return kind;
}

/* ---- decode ------------------------------------------------------------ */

/* Explains an envelope the codec refused: a JSON syntax error with its
 * line and column when jansson finds one, else the codec's reason. */
static int envelope_fail(int sdk, kk_view plain, int rc, kctl_err *err)
{
    if (sdk == CODEC_SDK_JS) {
        json_error_t je;
        json_t *root = json_loadb((const char *)plain.p, plain.len, 0, &je);
        if (!root)
            return json_syntax_fail(&je, "JSON envelope", err);
        json_decref(root);
        return kctl_fail(err, rc, "JSON envelope", "not a valid envelope: %s", kk_strerror(rc));
    }
    return kctl_fail(err, rc, "gob envelope", "not a valid gob stream: %s", kk_strerror(rc));
}

/* Adds the envelope fields of a decoded Req/Resp to obj in §2.2 order. */
static void put_envelope(json_t *obj, int kind, const codec_req *rq, const codec_resp *rs)
{
    if (kind == KCTL_KIND_REQ) {
        json_object_set_new(obj, "reqIdentifier", json_integer(rq->req_identifier));
        json_object_set_new(obj, "token", kctl_json_view(rq->token));
        json_object_set_new(obj, "sendID", kctl_json_view(rq->send_id));
        json_object_set_new(obj, "operationID", kctl_json_view(rq->operation_id));
        json_object_set_new(obj, "msgIncr", kctl_json_view(rq->msg_incr));
    } else {
        json_object_set_new(obj, "reqIdentifier", json_integer(rs->req_identifier));
        json_object_set_new(obj, "msgIncr", kctl_json_view(rs->msg_incr));
        json_object_set_new(obj, "operationID", kctl_json_view(rs->operation_id));
        json_object_set_new(obj, "errCode", json_integer(rs->err_code));
        json_object_set_new(obj, "errMsg", kctl_json_view(rs->err_msg));
    }
}

/* Decodes the envelope of plain (already gunzipped) and builds the JSON. */
static int decode_plain(const kctl_opts *o, kk_view plain, json_t **out, kctl_err *err)
{
    int kind = o->kind;
    if (kind == KCTL_KIND_AUTO) {
        kind = o->sdk == CODEC_SDK_JS ? detect_json(plain, err) : detect_gob(plain, err);
        if (kind < 0)
            return kind;
    }
    codec_cfg cfg;
    codec_cfg_default(&cfg, (enum codec_sdk)o->sdk);
    codec_scratch s;
    codec_scratch_init(&s);
    codec_req rq = { 0 };
    codec_resp rs = { 0 };
    int rc = kind == KCTL_KIND_REQ ? codec_decode_req(&cfg, plain.p, plain.len, &rq, &s)
                                   : codec_decode_resp(&cfg, plain.p, plain.len, &rs, &s);
    if (rc < 0) {
        codec_scratch_free(&s);
        return envelope_fail(o->sdk, plain, rc, err);
    }
    int32_t id = kind == KCTL_KIND_REQ ? rq.req_identifier : rs.req_identifier;
    kk_view data = kind == KCTL_KIND_REQ ? rq.data : rs.data;
    json_t *obj = json_object();
    json_object_set_new(obj, "sdk", json_string(o->sdk == CODEC_SDK_JS ? "js" : "go"));
    json_object_set_new(obj, "gzip", json_boolean(o->gzip));
    json_object_set_new(obj, "kind", json_string(kind == KCTL_KIND_REQ ? "req" : "resp"));
    put_envelope(obj, kind, &rq, &rs);
    kk_buf b64;
    kk_buf_init(&b64, SIZE_MAX);
    rc = pbjson_b64_encode(data.p, data.len, &b64);
    json_object_set_new(obj, "data", json_stringn_nocheck(b64.len ? (const char *)b64.p : "", b64.len));
    kk_buf_free(&b64);
    const char *type = kctl_payload_type(id, kind);
    json_object_set_new(obj, "payloadType", type ? json_string(type) : json_null());
    json_t *payload = NULL;
    if (rc == 0 && kind == KCTL_KIND_RESP && rs.err_code != 0 && data.len == 0)
        payload = json_null(); /* an error answer carries no payload */
    else if (rc == 0)
        rc = kctl_payload_decode(id, kind, data, &payload, err);
    else
        kctl_fail(err, rc, "data", "%s", kk_strerror(rc));
    codec_scratch_free(&s);
    if (rc < 0) {
        json_decref(obj);
        return rc;
    }
    json_object_set_new(obj, "payload", payload);
    *out = obj;
    return 0;
}

/* Decodes one frame into JSON; see kctl.h. */
int kctl_frame_decode(const kctl_opts *o, const uint8_t *frame, size_t len, json_t **out,
                      kctl_err *err)
{
    *out = NULL;
    if (len == 0)
        return kctl_fail(err, KK_EAGAIN, "input", "empty frame");
    /* 1f 8b can never start a gob stream or a JSON text: name the mistake */
    if (!o->gzip && len >= 2 && frame[0] == 0x1f && frame[1] == 0x8b)
        return kctl_fail(err, KK_EPROTO, "gzip", "the frame is gzip-compressed (starts with 1f 8b); add --gzip");
    kk_view plain = { frame, len };
    kk_buf inflated;
    kk_buf_init(&inflated, SIZE_MAX);
    if (o->gzip) {
        codec_cfg cfg;
        codec_cfg_default(&cfg, (enum codec_sdk)o->sdk);
        int rc = codec_gzip_inflate(frame, len, cfg.max_inflated, &inflated);
        if (rc < 0) {
            kk_buf_free(&inflated);
            return kctl_fail(err, rc, "gzip", "%s",
                             rc == KK_EAGAIN   ? "gzip member truncated"
                             : rc == KK_EPROTO ? "bytes after the gzip member"
                             : rc == KK_ETOOBIG ? "inflated size over the limit (gzip bomb?)"
                                               : "corrupt gzip data");
        }
        plain = (kk_view){ inflated.p, inflated.len };
    }
    int rc = decode_plain(o, plain, out, err);
    kk_buf_free(&inflated);
    return rc;
}

/* ---- encode ------------------------------------------------------------ */

/* Keys an input object may hold, per direction (NOTES.md §2.2 plus the
 * decode output's own keys). */
static const char *const req_keys[] = { "sdk", "gzip", "kind", "reqIdentifier", "token", "sendID",
                                        "operationID", "msgIncr", "data", "payloadType", "payload",
                                        NULL };
static const char *const resp_keys[] = { "sdk", "gzip", "kind", "reqIdentifier", "msgIncr",
                                         "operationID", "errCode", "errMsg", "data", "payloadType",
                                         "payload", NULL };

/* Fetches the optional string key as a view (absent or null: empty). */
static int get_str(const json_t *in, const char *key, kk_view *v, kctl_err *err)
{
    const json_t *s = json_object_get(in, key);
    *v = (kk_view){ NULL, 0 };
    if (!s || json_is_null(s))
        return 0;
    if (!json_is_string(s))
        return kctl_fail(err, KK_EJSON, "JSON input", "%s: expected string", key);
    *v = (kk_view){ (const uint8_t *)json_string_value(s), json_string_length(s) };
    return 0;
}

/* Settles sdk, gzip and kind: the command line wins, then the input's
 * own "sdk"/"gzip"/"kind" keys, then (kind only) the keys present. */
static int encode_settings(const kctl_opts *o, const json_t *in, kctl_opts *eff, kctl_err *err)
{
    *eff = *o;
    const char *sdk = json_string_value(json_object_get(in, "sdk"));
    if (eff->sdk < 0 && sdk && strcmp(sdk, "go") == 0)
        eff->sdk = CODEC_SDK_GO;
    else if (eff->sdk < 0 && sdk && strcmp(sdk, "js") == 0)
        eff->sdk = CODEC_SDK_JS;
    if (eff->sdk < 0)
        return kctl_fail(err, KK_EINVAL, "JSON input", "no --sdk and no \"sdk\": \"go\"|\"js\" key");
    if (!o->gzip_given)
        eff->gzip = json_is_true(json_object_get(in, "gzip"));
    const char *kind = json_string_value(json_object_get(in, "kind"));
    if (eff->kind == KCTL_KIND_AUTO && kind) {
        if (strcmp(kind, "req") != 0 && strcmp(kind, "resp") != 0)
            return kctl_fail(err, KK_EJSON, "JSON input", "kind: expected \"req\" or \"resp\"");
        eff->kind = strcmp(kind, "req") == 0 ? KCTL_KIND_REQ : KCTL_KIND_RESP;
    }
    if (eff->kind == KCTL_KIND_AUTO && json_object_get(in, "errCode"))
        eff->kind = KCTL_KIND_RESP;
    else if (eff->kind == KCTL_KIND_AUTO && json_object_get(in, "sendID"))
        eff->kind = KCTL_KIND_REQ;
    if (eff->kind == KCTL_KIND_AUTO)
        return kctl_fail(err, KK_EINVAL, "JSON input",
                         "cannot tell a Req from a Resp (no errCode or sendID key); use --kind");
    return 0;
}

/* Checks the input's keys and reqIdentifier, and builds the data bytes from
 * payload (encoded) or data (base64). */
static int encode_data(const kctl_opts *eff, const json_t *in, int32_t *id, kk_buf *data,
                       kctl_err *err)
{
    const char *const *allowed = eff->kind == KCTL_KIND_REQ ? req_keys : resp_keys;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i])
            return kctl_fail(err, KK_EJSON, "JSON input", "unknown key \"%s\" for a %s", key,
                             eff->kind == KCTL_KIND_REQ ? "Req" : "Resp");
    }
    const json_t *rid = json_object_get(in, "reqIdentifier");
    if (!json_is_integer(rid) || json_integer_value(rid) < INT32_MIN || json_integer_value(rid) > INT32_MAX)
        return kctl_fail(err, KK_EJSON, "JSON input", "reqIdentifier: expected a 32-bit integer");
    *id = (int32_t)json_integer_value(rid);
    const char *want = kctl_payload_type(*id, eff->kind);
    const json_t *pt = json_object_get(in, "payloadType");
    if (pt && !json_is_null(pt) && (!json_is_string(pt) || !want || strcmp(json_string_value(pt), want) != 0))
        return kctl_fail(err, KK_EJSON, "JSON input", "payloadType does not match reqIdentifier %d (%s)",
                         (int)*id, want ? want : "no payload");
    const json_t *payload = json_object_get(in, "payload");
    if (payload && !json_is_null(payload))
        return kctl_payload_encode(*id, eff->kind, payload, data, err);
    const json_t *d = json_object_get(in, "data");
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_string(d) || pbjson_b64_decode(json_string_value(d), json_string_length(d), data) < 0)
        return kctl_fail(err, KK_EJSON, "JSON input", "data: expected padded standard base64");
    return 0;
}

/* Encodes a frame from its JSON description; see kctl.h. */
int kctl_frame_encode(const kctl_opts *o, const json_t *in, kk_buf *out, kctl_err *err)
{
    if (!json_is_object(in))
        return kctl_fail(err, KK_EJSON, "JSON input", "expected a JSON object");
    kctl_opts eff;
    int32_t id = 0;
    kk_buf data;
    kk_buf_init(&data, CODEC_DEFAULT_MAX_FRAME);
    int rc = encode_settings(o, in, &eff, err);
    if (rc == 0)
        rc = encode_data(&eff, in, &id, &data, err);
    codec_req rq = { 0 };
    codec_resp rs = { 0 };
    if (rc == 0 && eff.kind == KCTL_KIND_REQ) {
        rq.req_identifier = id;
        rq.data = (kk_view){ data.p, data.len };
        if ((rc = get_str(in, "token", &rq.token, err)) == 0 &&
            (rc = get_str(in, "sendID", &rq.send_id, err)) == 0 &&
            (rc = get_str(in, "operationID", &rq.operation_id, err)) == 0)
            rc = get_str(in, "msgIncr", &rq.msg_incr, err);
    } else if (rc == 0) {
        const json_t *ec = json_object_get(in, "errCode");
        rs.req_identifier = id;
        rs.data = (kk_view){ data.p, data.len };
        if (ec && !json_is_null(ec) && !json_is_integer(ec))
            rc = kctl_fail(err, KK_EJSON, "JSON input", "errCode: expected integer");
        rs.err_code = json_integer_value(ec);
        if (rc == 0 && (rc = get_str(in, "msgIncr", &rs.msg_incr, err)) == 0 &&
            (rc = get_str(in, "operationID", &rs.operation_id, err)) == 0)
            rc = get_str(in, "errMsg", &rs.err_msg, err);
    }
    if (rc == 0) {
        codec_cfg cfg;
        codec_cfg_default(&cfg, (enum codec_sdk)eff.sdk);
        cfg.gzip = eff.gzip;
        rc = eff.kind == KCTL_KIND_REQ ? codec_encode_req(&cfg, &rq, out) : codec_encode_resp(&cfg, &rs, out);
        if (rc < 0)
            kctl_fail(err, rc, eff.sdk == CODEC_SDK_JS ? "JSON envelope" : "gob envelope", "%s",
                      kk_strerror(rc));
    }
    if (rc == 0 && eff.kind == KCTL_KIND_REQ && out->len > CODEC_GATEWAY_MAX_IN)
        fprintf(stderr, "kkimctl: encode: warning: the frame is %zu bytes; the gateway drops "
                        "requests over %u (NOTES.md §2.1)\n", out->len, CODEC_GATEWAY_MAX_IN);
    kk_buf_free(&data);
    return rc;
}
