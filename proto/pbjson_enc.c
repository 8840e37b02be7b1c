/* pbjson_enc.c — JSON → protobuf wire bytes by protobuf-c reflection.
 * Contract in pbjson.h; the JSON shape is the one pbjson_decode produces. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_int.h"

typedef struct enc_ctx {
    pbjson_opts *o;
    pbjson_err *err;
    size_t max; /* cap of every scratch buffer: the caller's output cap */
    unsigned depth;
    pbjson__path path;
} enc_ctx;

/* Fails at the current path with a JSON shape error. */
#define ENC_FAIL(c, ...) pbjson__fail((c)->err, &(c)->path, KK_EJSON, false, 0, __VA_ARGS__)

/* Translates a kk_buf failure (KK_ETOOBIG / KK_ENOMEM) into an error. */
static int enc_buf_fail(enc_ctx *c, int rc)
{
    return pbjson__fail(c->err, &c->path, rc, false, 0, "%s",
                        rc == KK_ETOOBIG ? "encoded message exceeds the output cap" : "out of memory");
}

/* Parses a decimal uint64 text (digits only, no sign, no overflow). */
static bool parse_u64_text(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Reads a JSON integer within [lo, hi] into *out. */
static int enc_int(enc_ctx *c, const json_t *v, int64_t lo, int64_t hi, const char *type,
                   int64_t *out)
{
    if (!json_is_integer(v))
        return ENC_FAIL(c, "expected integer");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return ENC_FAIL(c, "integer %lld out of range for %s", (long long)x, type);
    *out = x;
    return 0;
}

/* Reads a float/double: a JSON number or "NaN", "Infinity", "-Infinity". */
static int enc_float(enc_ctx *c, const json_t *v, bool single, double *out)
{
    const char *s = json_string_value(v);
    if (s && strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (s && strcmp(s, "Infinity") == 0)
        *out = INFINITY;
    else if (s && strcmp(s, "-Infinity") == 0)
        *out = -INFINITY;
    else if (json_is_number(v))
        *out = json_number_value(v);
    else
        return ENC_FAIL(c, "expected number");
    if (single && isfinite(*out) && fabs(*out) > FLT_MAX)
        return ENC_FAIL(c, "number out of range for float");
    return 0;
}

/* A scalar ready for the wire: a numeric payload (varint value or fixed
 * bits) or a byte string. */
typedef struct enc_val {
    uint64_t u;
    kk_view s;
} enc_val;

/* Parses the JSON value v as an integer-like scalar of type t (enum names
 * via fd) into its wire value: sign-extended, zigzagged or as fixed bits. */
static int enc_parse_int(enc_ctx *c, const ProtobufCFieldDescriptor *fd, ProtobufCType t,
                         const json_t *v, uint64_t *u)
{
    int64_t x = 0;
    int rc = 0;
    switch (t) {
    case PROTOBUF_C_TYPE_ENUM:
        if (json_is_string(v)) {
            const ProtobufCEnumValue *e =
                protobuf_c_enum_descriptor_get_value_by_name(fd->descriptor, json_string_value(v));
            if (!e)
                return ENC_FAIL(c, "unknown enum name \"%s\"", json_string_value(v));
            x = e->value;
        } else {
            rc = enc_int(c, v, INT32_MIN, INT32_MAX, "enum", &x);
        }
        *u = (uint64_t)x; /* negative int32 is sign-extended to 10 bytes */
        break;
    case PROTOBUF_C_TYPE_INT32:
        rc = enc_int(c, v, INT32_MIN, INT32_MAX, "int32", &x);
        *u = (uint64_t)x;
        break;
    case PROTOBUF_C_TYPE_SFIXED32:
        rc = enc_int(c, v, INT32_MIN, INT32_MAX, "sfixed32", &x);
        *u = (uint32_t)(int32_t)x;
        break;
    case PROTOBUF_C_TYPE_SINT32:
        rc = enc_int(c, v, INT32_MIN, INT32_MAX, "sint32", &x);
        *u = ((uint32_t)x << 1) ^ (uint32_t)(x < 0 ? -1 : 0);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        rc = enc_int(c, v, 0, UINT32_MAX, pbjson__type_name(t), &x);
        *u = (uint64_t)x;
        break;
    case PROTOBUF_C_TYPE_SINT64:
        rc = enc_int(c, v, INT64_MIN, INT64_MAX, "sint64", &x);
        *u = ((uint64_t)x << 1) ^ (uint64_t)(x < 0 ? -1 : 0);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (json_is_string(v))
            return parse_u64_text(json_string_value(v), u) ? 0 : ENC_FAIL(c, "expected unsigned integer");
        rc = enc_int(c, v, 0, INT64_MAX, pbjson__type_name(t), &x);
        *u = (uint64_t)x;
        break;
    default: /* INT64, SFIXED64 */
        rc = enc_int(c, v, INT64_MIN, INT64_MAX, pbjson__type_name(t), &x);
        *u = (uint64_t)x;
        break;
    }
    return rc;
}

/* Parses the JSON value v as a scalar of type t. Bytes are base64-decoded
 * into tmp, which the caller frees. */
static int enc_parse(enc_ctx *c, const ProtobufCFieldDescriptor *fd, ProtobufCType t,
                     const json_t *v, enc_val *ev, kk_buf *tmp)
{
    int rc = 0;
    memset(ev, 0, sizeof *ev);
    switch (t) {
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return ENC_FAIL(c, "expected boolean");
        ev->u = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d = 0;
        rc = enc_float(c, v, t == PROTOBUF_C_TYPE_FLOAT, &d);
        if (rc == 0 && t == PROTOBUF_C_TYPE_FLOAT) {
            float f = (float)d;
            uint32_t b;
            memcpy(&b, &f, sizeof b);
            ev->u = b;
        } else if (rc == 0) {
            memcpy(&ev->u, &d, sizeof d);
        }
        return rc;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return ENC_FAIL(c, "expected string");
        ev->s.p = (const uint8_t *)json_string_value(v);
        ev->s.len = json_string_length(v);
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v))
            return ENC_FAIL(c, "expected base64 string");
        rc = pbjson_b64_decode(json_string_value(v), json_string_length(v), tmp);
        if (rc == KK_EB64)
            return ENC_FAIL(c, "expected base64 string");
        if (rc < 0)
            return enc_buf_fail(c, rc);
        ev->s.p = tmp->p;
        ev->s.len = tmp->len;
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return ENC_FAIL(c, "internal: message parsed as scalar");
    default:
        return enc_parse_int(c, fd, t, v, &ev->u);
    }
}

/* True when a parsed scalar is its type's zero value (proto3 leaves it out;
 * -0.0 is not zero, as in Go). */
static bool enc_is_zero(ProtobufCType t, const enc_val *ev)
{
    return pbjson__wire_type(t) == PBWIRE_LEN ? ev->s.len == 0 : ev->u == 0;
}

/* Appends the value alone (no tag): varint, little-endian fixed bits, or
 * length + bytes. */
static int enc_put_value(kk_buf *out, ProtobufCType t, const enc_val *ev)
{
    enum pbwire_type wt = pbjson__wire_type(t);
    if (wt == PBWIRE_VARINT)
        return pbwire_put_varint(out, ev->u);
    if (wt == PBWIRE_LEN) {
        size_t mark = out->len;
        int rc = pbwire_put_varint(out, ev->s.len);
        if (rc == 0)
            rc = kk_buf_append(out, ev->s.p, ev->s.len);
        if (rc < 0)
            out->len = mark;
        return rc;
    }
    uint8_t b[8];
    size_t w = wt == PBWIRE_I64 ? 8 : 4;
    for (size_t i = 0; i < w; i++)
        b[i] = (uint8_t)(ev->u >> (8 * i));
    return kk_buf_append(out, b, w);
}

/* Appends tag and value of one scalar field. */
static int enc_put_field(kk_buf *out, uint32_t num, ProtobufCType t, const enc_val *ev)
{
    size_t mark = out->len;
    int rc = pbwire_put_tag(out, num, pbjson__wire_type(t));
    if (rc == 0)
        rc = enc_put_value(out, t, ev);
    if (rc < 0)
        out->len = mark;
    return rc;
}

/* Parses and appends one scalar as field num; zero values are skipped
 * unless always is set (oneof members, map keys and values). */
static int enc_scalar(enc_ctx *c, const ProtobufCFieldDescriptor *fd, ProtobufCType t,
                      uint32_t num, const json_t *v, bool always, kk_buf *out)
{
    kk_buf tmp;
    enc_val ev;
    kk_buf_init(&tmp, c->max);
    int rc = enc_parse(c, fd, t, v, &ev, &tmp);
    if (rc == 0 && (always || !enc_is_zero(t, &ev))) {
        rc = enc_put_field(out, num, t, &ev);
        if (rc < 0)
            rc = enc_buf_fail(c, rc);
    }
    kk_buf_free(&tmp);
    return rc;
}

static int enc_message(enc_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *obj,
                       kk_buf *out);

/* Encodes v as a message of type d and appends it as LEN field num. */
static int enc_submessage(enc_ctx *c, const ProtobufCMessageDescriptor *d, uint32_t num,
                          const json_t *v, kk_buf *out)
{
    kk_buf tmp;
    kk_buf_init(&tmp, c->max);
    int rc = enc_message(c, d, v, &tmp);
    if (rc == 0) {
        rc = pbwire_put_len(out, num, tmp.p, tmp.len);
        if (rc < 0)
            rc = enc_buf_fail(c, rc);
    }
    kk_buf_free(&tmp);
    return rc;
}

/* Parses a JSON object key (klen bytes, NULs allowed) as a map key of type
 * t into a JSON value the scalar parser accepts (*owned is released by the
 * caller). */
static int enc_map_key(enc_ctx *c, ProtobufCType t, const char *key, size_t klen, json_t **owned)
{
    *owned = NULL;
    if (t == PROTOBUF_C_TYPE_STRING) {
        *owned = json_stringn(key, klen);
    } else if (strlen(key) != klen) {
        return ENC_FAIL(c, "map key holds a NUL");
    } else if (t == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return ENC_FAIL(c, "map key is not true or false");
        *owned = json_boolean(key[0] == 't');
    } else if (t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64) {
        *owned = json_string(key);
    } else {
        char *end;
        errno = 0;
        long long x = strtoll(key, &end, 10);
        if (!*key || *end || errno || (key[0] == '0' && key[1]) || (key[0] == '-' && key[1] == '0'))
            return ENC_FAIL(c, "map key is not an integer");
        *owned = json_integer(x);
    }
    return *owned ? 0 : enc_buf_fail(c, KK_ENOMEM);
}

/* Encodes a JSON object as map field fd: one entry per key, key and value
 * always written (as Go does), in the object's order. */
static int enc_map(enc_ctx *c, const ProtobufCFieldDescriptor *fd, const json_t *v, kk_buf *out)
{
    if (!json_is_object(v))
        return ENC_FAIL(c, "expected object (map)");
    const ProtobufCMessageDescriptor *ed = fd->descriptor;
    const ProtobufCFieldDescriptor *kfd = &ed->fields[0], *vfd = &ed->fields[1];
    const char *key;
    size_t klen;
    const json_t *val;
    int rc = 0;
    kk_buf entry;
    kk_buf_init(&entry, c->max);
    json_object_keylen_foreach((json_t *)v, key, klen, val) {
        size_t mark = pbjson__path_key(&c->path, key, klen);
        json_t *kv;
        kk_buf_reset(&entry);
        rc = enc_map_key(c, kfd->type, key, klen, &kv);
        if (rc == 0)
            rc = enc_scalar(c, kfd, kfd->type, 1, kv, true, &entry);
        json_decref(kv);
        if (rc == 0 && vfd->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = enc_submessage(c, vfd->descriptor, 2, val, &entry);
        else if (rc == 0)
            rc = enc_scalar(c, vfd, vfd->type, 2, val, true, &entry);
        if (rc == 0 && (rc = pbwire_put_len(out, fd->id, entry.p, entry.len)) < 0)
            rc = enc_buf_fail(c, rc);
        if (rc < 0)
            break;
        pbjson__path_pop(&c->path, mark);
    }
    kk_buf_free(&entry);
    return rc;
}

/* Encodes a JSON array as repeated field fd: packed for numeric scalars,
 * one field per element otherwise. */
static int enc_repeated(enc_ctx *c, const ProtobufCFieldDescriptor *fd, const json_t *v,
                        kk_buf *out)
{
    if (!json_is_array(v))
        return ENC_FAIL(c, "expected array");
    bool packed = pbjson__packable(fd->type);
    kk_buf run, tmp;
    kk_buf_init(&run, c->max);
    kk_buf_init(&tmp, c->max);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
        size_t mark = pbjson__path_index(&c->path, i);
        const json_t *e = json_array_get(v, i);
        enc_val ev;
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            rc = enc_submessage(c, fd->descriptor, fd->id, e, out);
        } else {
            kk_buf_reset(&tmp);
            rc = enc_parse(c, fd, fd->type, e, &ev, &tmp);
            if (rc == 0) {
                rc = packed ? enc_put_value(&run, fd->type, &ev)
                            : enc_put_field(out, fd->id, fd->type, &ev);
                if (rc < 0)
                    rc = enc_buf_fail(c, rc);
            }
        }
        if (rc == 0)
            pbjson__path_pop(&c->path, mark);
    }
    if (rc == 0 && run.len > 0 && (rc = pbwire_put_len(out, fd->id, run.p, run.len)) < 0)
        rc = enc_buf_fail(c, rc);
    kk_buf_free(&run);
    kk_buf_free(&tmp);
    return rc;
}

/* Rejects keys that name no field (unless the extra_key hook takes them)
 * and objects setting two members of one oneof. */
static int enc_check_keys(enc_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *obj)
{
    const char *key;
    size_t klen;
    const json_t *val;
    json_object_keylen_foreach((json_t *)obj, key, klen, val) {
        /* a key with a NUL names no field, whatever its first part says */
        const ProtobufCFieldDescriptor *fd =
            strlen(key) == klen ? protobuf_c_message_descriptor_get_field_by_name(d, key) : NULL;
        if (!fd) {
            if (strlen(key) == klen && c->o && c->o->extra_key && c->o->extra_key(c->o->ud, d, key))
                continue;
            size_t mark = pbjson__path_key(&c->path, key, klen);
            int rc = ENC_FAIL(c, "unknown field of %s", d->name);
            pbjson__path_pop(&c->path, mark);
            return rc;
        }
        if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || json_is_null(val))
            continue;
        for (unsigned i = 0; i < d->n_fields; i++) {
            const ProtobufCFieldDescriptor *o = &d->fields[i];
            const json_t *ov = json_object_get(obj, o->name);
            if (o != fd && (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                o->quantifier_offset == fd->quantifier_offset && ov && !json_is_null(ov))
                return ENC_FAIL(c, "both %s and %s set in one oneof", fd->name, o->name);
        }
    }
    return 0;
}

/* Encodes a JSON object (or null: the empty message) as message type d,
 * fields in number order. */
static int enc_message(enc_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *obj,
                       kk_buf *out)
{
    if (json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return ENC_FAIL(c, "expected object (%s)", d->name);
    if (c->depth >= PBJSON_MAX_DEPTH)
        return pbjson__fail(c->err, &c->path, KK_EDEPTH, false, 0,
                            "messages nested deeper than %d", PBJSON_MAX_DEPTH);
    int rc = enc_check_keys(c, d, obj);
    if (rc < 0)
        return rc;
    c->depth++;
    for (unsigned i = 0; rc == 0 && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const json_t *v = json_object_get(obj, fd->name);
        if (!v || json_is_null(v))
            continue;
        size_t mark = pbjson__path_field(&c->path, fd->name);
        if (pbjson__is_map(fd))
            rc = enc_map(c, fd, v, out);
        else if (fd->label == PROTOBUF_C_LABEL_REPEATED)
            rc = enc_repeated(c, fd, v, out);
        else if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = enc_submessage(c, fd->descriptor, fd->id, v, out);
        else
            rc = enc_scalar(c, fd, fd->type, fd->id, v,
                            (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0, out);
        if (rc == 0)
            pbjson__path_pop(&c->path, mark);
    }
    c->depth--;
    return rc;
}

/* Encodes a JSON object as message type d; see pbjson.h. */
int pbjson_encode(const ProtobufCMessageDescriptor *d, const json_t *in, pbjson_opts *o,
                  kk_buf *out, pbjson_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    enc_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.err = err;
    c.max = out->max;
    size_t mark = out->len;
    int rc = enc_message(&c, d, in, out);
    if (rc < 0)
        out->len = mark;
    return rc;
}

/* Encodes, then unpacks with protobuf-c; see pbjson.h. */
int pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *in, pbjson_opts *o,
                      ProtobufCMessage **out, pbjson_err *err)
{
    *out = NULL;
    kk_buf b;
    kk_buf_init(&b, CODEC_DEFAULT_MAX_FRAME);
    int rc = pbjson_encode(d, in, o, &b, err);
    if (rc == 0) {
        *out = protobuf_c_message_unpack(d, NULL, b.len, b.p);
        if (!*out)
            rc = pbjson__fail(err, NULL, KK_EPROTO, false, 0, "protobuf-c rejected the encoding");
    }
    kk_buf_free(&b);
    return rc;
}
