/* pbjson.c — protobuf wire bytes → JSON by protobuf-c reflection, plus the
 * helpers shared with pbjson_enc.c (paths, errors, type tables, descriptor
 * lookup). Base64 is in pbjson_b64.c. Contract in pbjson.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_int.h"
#include "rtc.pb-c.h"
#include "sdkws.pb-c.h"

/* ======================================================================
 * Shared helpers
 * ====================================================================== */

/* Appends n bytes of s to the path, ending it in "..." when it is full.
 * Control characters become '?' so the path stays printable. */
static void path_append(pbjson__path *p, const char *s, size_t n)
{
    const size_t room = sizeof p->s - 1;
    for (size_t i = 0; i < n; i++) {
        if (p->len >= room) {
            memcpy(p->s + room - 3, "...", 3);
            p->len = room;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        p->s[p->len++] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    p->s[p->len] = '\0';
}

/* Appends ".name" (just "name" at the root); returns the mark to pop to. */
size_t pbjson__path_field(pbjson__path *p, const char *name)
{
    return pbjson__path_key(p, name, strlen(name));
}

/* Appends ".key" (just "key" at the root); returns the mark to pop to. */
size_t pbjson__path_key(pbjson__path *p, const char *key, size_t klen)
{
    size_t mark = p->len;
    if (p->len > 0)
        path_append(p, ".", 1);
    path_append(p, key, klen);
    return mark;
}

/* Appends "[i]"; returns the mark to pop to. */
size_t pbjson__path_index(pbjson__path *p, size_t i)
{
    size_t mark = p->len;
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "[%zu]", i);
    path_append(p, tmp, (size_t)n);
    return mark;
}

/* Restores the path to mark. */
void pbjson__path_pop(pbjson__path *p, size_t mark)
{
    if (mark < p->len) {
        p->len = mark;
        p->s[mark] = '\0';
    }
}

/* Fills err with path, text and offset; returns code. */
int pbjson__fail(pbjson_err *err, const pbjson__path *p, int code, bool has_off,
                 size_t off, const char *fmt, ...)
{
    if (!err)
        return code;
    snprintf(err->path, sizeof err->path, "%s", p ? p->s : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->what, sizeof err->what, fmt, ap);
    va_end(ap);
    err->has_offset = has_off;
    err->offset = off;
    return code;
}

/* Map fields are repeated nested "<Name>Entry" messages with key=1 and
 * value=2 (protoc's synthesized map entry; protobuf-c keeps no map flag). */
bool pbjson__is_map(const ProtobufCFieldDescriptor *fd)
{
    if (fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *ed = fd->descriptor;
    size_t n = strlen(ed->short_name);
    return ed->n_fields == 2 && n > 5 && strcmp(ed->short_name + n - 5, "Entry") == 0 &&
           ed->fields[0].id == 1 && strcmp(ed->fields[0].name, "key") == 0 &&
           ed->fields[1].id == 2 && strcmp(ed->fields[1].name, "value") == 0;
}

/* Scalars other than strings, bytes and messages are packed when repeated. */
bool pbjson__packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

/* The wire type of each protobuf-c type (protobuf encoding spec). */
enum pbwire_type pbjson__wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PBWIRE_I32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PBWIRE_I64;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PBWIRE_LEN;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
        return PBWIRE_VARINT;
    }
    return PBWIRE_VARINT;
}

/* Short type names for error texts. */
const char *pbjson__type_name(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

/* Formats an error as "path: what at offset N"; see pbjson.h. */
const char *pbjson_err_text(const pbjson_err *err, char *buf, size_t n)
{
    if (err->has_offset)
        snprintf(buf, n, "%s%s%s at offset %zu", err->path, err->path[0] ? ": " : "",
                 err->what, err->offset);
    else
        snprintf(buf, n, "%s%s%s", err->path, err->path[0] ? ": " : "", err->what);
    return buf;
}

/* Every top-level message of the proto/ .proto files, for pbjson_find. */
static const ProtobufCMessageDescriptor *const all_messages[] = {
    &kkim__offline_push_info__descriptor, &kkim__msg_data__descriptor,
    &kkim__send_msg_resp__descriptor, &kkim__get_max_seq_req__descriptor,
    &kkim__get_max_seq_resp__descriptor, &kkim__seq_range__descriptor,
    &kkim__pull_message_by_seqs_req__descriptor, &kkim__pull_msgs__descriptor,
    &kkim__pull_message_by_seqs_resp__descriptor, &kkim__push_messages__descriptor,
    &kkim__conversation_seqs__descriptor, &kkim__get_seq_message_req__descriptor,
    &kkim__get_seq_message_resp__descriptor,
    &kkim__get_conversations_has_read_and_max_seq_req__descriptor, &kkim__seqs__descriptor,
    &kkim__get_conversations_has_read_and_max_seq_resp__descriptor,
    &kkim__get_last_message_req__descriptor, &kkim__get_last_message_resp__descriptor,
    &kkim__del_user_push_token_req__descriptor,
    &kkim__set_app_background_status_req__descriptor, &kkim__notification_elem__descriptor,
    &kkim__revoke_msg_tips__descriptor, &kkim__invitation_info__descriptor,
    &kkim__public_user_info__descriptor, &kkim__group_info__descriptor,
    &kkim__group_member_full_info__descriptor, &kkim__participant_meta_data__descriptor,
    &kkim__signal_invite_req__descriptor, &kkim__signal_invite_in_group_req__descriptor,
    &kkim__signal_cancel_req__descriptor, &kkim__signal_accept_req__descriptor,
    &kkim__signal_reject_req__descriptor, &kkim__signal_hung_up_req__descriptor,
    &kkim__signal_get_token_by_room_idreq__descriptor, &kkim__signal_req__descriptor,
    &kkim__signal_invite_resp__descriptor, &kkim__signal_invite_in_group_resp__descriptor,
    &kkim__signal_cancel_resp__descriptor, &kkim__signal_accept_resp__descriptor,
    &kkim__signal_hung_up_resp__descriptor, &kkim__signal_reject_resp__descriptor,
    &kkim__signal_get_token_by_room_idresp__descriptor, &kkim__signal_resp__descriptor,
};

/* Looks a message type up by full or short name; see pbjson.h. */
const ProtobufCMessageDescriptor *pbjson_find(const char *name)
{
    for (size_t i = 0; i < sizeof all_messages / sizeof all_messages[0]; i++)
        if (strcmp(all_messages[i]->name, name) == 0 ||
            strcmp(all_messages[i]->short_name, name) == 0)
            return all_messages[i];
    return NULL;
}

/* ======================================================================
 * Decode: wire → JSON
 * ====================================================================== */

typedef struct dec_ctx {
    pbjson_opts *o;
    pbjson_err *err;
    const uint8_t *root; /* start of the whole input, for offsets */
    size_t values_left;  /* JSON values this decode may still create */
    unsigned depth;
    pbjson__path path;
} dec_ctx;

/* Takes ownership of a new JSON value v, charging it to the budget. On
 * failure v is released. Returns 0, KK_ENOMEM or KK_ETOOBIG. */
static int dec_take(dec_ctx *c, json_t *v, json_t **out)
{
    *out = NULL;
    if (!v)
        return pbjson__fail(c->err, &c->path, KK_ENOMEM, false, 0, "out of memory");
    if (c->values_left == 0) {
        json_decref(v);
        return pbjson__fail(c->err, &c->path, KK_ETOOBIG, false, 0,
                            "output would exceed the JSON value budget");
    }
    c->values_left--;
    *out = v;
    return 0;
}

/* Sets obj[key] = v (taking v). Returns 0 or KK_ENOMEM. */
static int dec_set(dec_ctx *c, json_t *obj, const char *key, size_t klen, json_t *v)
{
    if (json_object_setn_new_nocheck(obj, key, klen, v) < 0)
        return pbjson__fail(c->err, &c->path, KK_ENOMEM, false, 0, "out of memory");
    return 0;
}

/* The zero value of a scalar type, as a new JSON value (NULL on ENOMEM). */
static json_t *scalar_zero(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_BOOL:
        return json_false();
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
        return json_string("");
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(0.0);
    default:
        return json_integer(0);
    }
}

/* Creates the JSON object of an empty message of type d: every scalar at
 * its zero value, [] for repeated, {} for maps, and null placeholders for
 * message fields and oneof members (removed by dec_finish when unset) so the
 * keys keep field-number order. */
static int dec_new_message(dec_ctx *c, const ProtobufCMessageDescriptor *d, json_t **out)
{
    json_t *obj;
    int rc = dec_take(c, json_object(), &obj);
    for (unsigned i = 0; rc == 0 && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        json_t *v;
        if (pbjson__is_map(fd))
            v = json_object();
        else if (fd->label == PROTOBUF_C_LABEL_REPEATED)
            v = json_array();
        else if (fd->type == PROTOBUF_C_TYPE_MESSAGE || (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            v = json_null();
        else
            v = scalar_zero(fd->type);
        rc = dec_take(c, v, &v);
        if (rc == 0)
            rc = dec_set(c, obj, fd->name, strlen(fd->name), v);
    }
    if (rc < 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

/* A JSON number for a float/double; protojson's strings for NaN and the
 * infinities, which JSON cannot hold. */
static json_t *json_float(double x)
{
    if (isnan(x))
        return json_string("NaN");
    if (isinf(x))
        return json_string(x > 0 ? "Infinity" : "-Infinity");
    return json_real(x);
}

/* Converts one scalar field value (any type but MESSAGE) to JSON. f->off is
 * the absolute offset of the field. Fails on a wrong wire type or invalid
 * UTF-8 in a string. */
static int dec_scalar(dec_ctx *c, ProtobufCType t, const pbwire_field *f, json_t **out)
{
    enum pbwire_type want = pbjson__wire_type(t);
    if (f->wtype != want)
        return pbjson__fail(c->err, &c->path, KK_EPROTO, true, f->off,
                            "wire type %u for a %s field (expected %u)", f->wtype,
                            pbjson__type_name(t), want);
    uint64_t u = f->u;
    uint32_t u32 = (uint32_t)u;
    json_t *v = NULL;
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        v = json_integer((int32_t)u32); /* Go: int32(v), the low 32 bits */
        break;
    case PROTOBUF_C_TYPE_SINT32:
        v = json_integer((int32_t)((u32 >> 1) ^ (0u - (u32 & 1))));
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        v = json_integer((json_int_t)u32);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        v = json_integer((json_int_t)(int64_t)u);
        break;
    case PROTOBUF_C_TYPE_SINT64:
        v = json_integer((json_int_t)(int64_t)((u >> 1) ^ (0 - (u & 1))));
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (u <= INT64_MAX) {
            v = json_integer((json_int_t)u);
        } else {
            char tmp[24];
            snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)u);
            v = json_string(tmp);
        }
        break;
    case PROTOBUF_C_TYPE_BOOL:
        v = json_boolean(u != 0);
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        float x;
        memcpy(&x, &u32, sizeof x);
        v = json_float(x);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double x;
        memcpy(&x, &u, sizeof x);
        v = json_float(x);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!pbwire_utf8_valid(f->bytes.p, f->bytes.len))
            return pbjson__fail(c->err, &c->path, KK_EPROTO, true, f->off,
                                "string is not valid UTF-8");
        v = json_stringn_nocheck((const char *)f->bytes.p, f->bytes.len);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        kk_buf b;
        kk_buf_init(&b, SIZE_MAX);
        if (pbjson_b64_encode(f->bytes.p, f->bytes.len, &b) == 0)
            v = json_stringn_nocheck(b.len ? (const char *)b.p : "", b.len);
        kk_buf_free(&b);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break; /* handled by the callers */
    }
    return dec_take(c, v, out);
}

static int dec_message(dec_ctx *c, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                       size_t len, json_t *obj);

/* Decodes a LEN field holding a message of type d: merges into *slot when it
 * already holds an object (protobuf semantics for a repeated singular
 * field), else creates the object and stores it in *slot (a new reference). */
static int dec_submessage(dec_ctx *c, const ProtobufCMessageDescriptor *d,
                          const pbwire_field *f, json_t **slot)
{
    if (f->wtype != PBWIRE_LEN)
        return pbjson__fail(c->err, &c->path, KK_EPROTO, true, f->off,
                            "wire type %u for a message field (expected 2)", f->wtype);
    if (json_is_object(*slot)) {
        if (c->o)
            c->o->merges++;
        return dec_message(c, d, f->bytes.p, f->bytes.len, *slot);
    }
    json_t *sub;
    int rc = dec_new_message(c, d, &sub);
    if (rc == 0)
        rc = dec_message(c, d, f->bytes.p, f->bytes.len, sub);
    if (rc < 0) {
        json_decref(sub);
        return rc;
    }
    *slot = sub;
    return 0;
}

/* Decodes one occurrence of a repeated field into the array arr: a message,
 * a packed run of scalars (LEN) or a single scalar. */
static int dec_repeated(dec_ctx *c, const ProtobufCFieldDescriptor *fd, const pbwire_field *f,
                        json_t *arr)
{
    size_t mark = pbjson__path_index(&c->path, json_array_size(arr));
    json_t *v = NULL;
    int rc = 0;
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        rc = dec_submessage(c, fd->descriptor, f, &v);
        if (rc == 0 && json_array_append_new(arr, v) < 0)
            rc = pbjson__fail(c->err, &c->path, KK_ENOMEM, false, 0, "out of memory");
    } else if (f->wtype == PBWIRE_LEN && pbjson__packable(fd->type)) {
        enum pbwire_type wt = pbjson__wire_type(fd->type);
        const uint8_t *q = f->bytes.p;
        size_t n = f->bytes.len, at = 0;
        while (rc == 0 && at < n) {
            pbwire_field e = { .wtype = (uint8_t)wt, .off = (size_t)(q + at - c->root) };
            if (wt == PBWIRE_VARINT) {
                int k = pbwire_varint(q + at, n - at, &e.u);
                if (k < 0)
                    return pbjson__fail(c->err, &c->path, KK_EPROTO, true, e.off,
                                        "malformed varint in packed field");
                at += (size_t)k;
            } else {
                size_t w = wt == PBWIRE_I64 ? 8 : 4;
                if (n - at < w)
                    return pbjson__fail(c->err, &c->path, KK_EPROTO, true, e.off,
                                        "truncated value in packed field");
                for (size_t i = 0; i < w; i++)
                    e.u |= (uint64_t)q[at + i] << (8 * i);
                at += w;
            }
            rc = dec_scalar(c, fd->type, &e, &v);
            if (rc == 0 && json_array_append_new(arr, v) < 0)
                rc = pbjson__fail(c->err, &c->path, KK_ENOMEM, false, 0, "out of memory");
        }
    } else {
        rc = dec_scalar(c, fd->type, f, &v);
        if (rc == 0 && json_array_append_new(arr, v) < 0)
            rc = pbjson__fail(c->err, &c->path, KK_ENOMEM, false, 0, "out of memory");
    }
    if (rc == 0)
        pbjson__path_pop(&c->path, mark);
    return rc;
}

/* Turns a decoded map key into the text of its JSON object key: a view of
 * the string itself, or the number / "true" / "false" written into buf.
 * Fails on a wrong wire type or invalid UTF-8. */
static int map_key_text(dec_ctx *c, const ProtobufCFieldDescriptor *kfd, const pbwire_field *kf,
                        char *buf, size_t n, const char **key, size_t *klen)
{
    if (kfd->type == PROTOBUF_C_TYPE_STRING) {
        if (kf->wtype != PBWIRE_LEN || !pbwire_utf8_valid(kf->bytes.p, kf->bytes.len))
            return pbjson__fail(c->err, &c->path, KK_EPROTO, true, kf->off,
                                "map key is not a valid UTF-8 string");
        *key = kf->bytes.len ? (const char *)kf->bytes.p : "";
        *klen = kf->bytes.len;
        return 0;
    }
    json_t *v;
    int rc = dec_scalar(c, kfd->type, kf, &v);
    if (rc < 0)
        return rc;
    c->values_left++; /* a temporary: refund it */
    if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, n, "%s", json_string_value(v)); /* uint64 above INT64_MAX */
    json_decref(v);
    *key = buf;
    *klen = strlen(buf);
    return 0;
}

/* Decodes one map entry (a LEN field) into the JSON object map: a first
 * walk finds the key (last occurrence wins), a second decodes the value
 * under path ".key" (message values given twice are merged). A missing key
 * or value is its zero value, as in Go. */
static int dec_map_entry(dec_ctx *c, const ProtobufCFieldDescriptor *fd, const pbwire_field *f,
                         json_t *map)
{
    if (f->wtype != PBWIRE_LEN)
        return pbjson__fail(c->err, &c->path, KK_EPROTO, true, f->off,
                            "wire type %u for a map entry (expected 2)", f->wtype);
    const ProtobufCMessageDescriptor *ed = fd->descriptor;
    const ProtobufCFieldDescriptor *kfd = &ed->fields[0], *vfd = &ed->fields[1];
    pbwire_reader r;
    pbwire_field e, kf = { .wtype = (uint8_t)pbjson__wire_type(kfd->type) };
    int rc;
    pbwire_reader_init(&r, f->bytes.p, f->bytes.len);
    while ((rc = pbwire_next(&r, &e)) == 1)
        if (e.num == 1) {
            kf = e;
            kf.off += (size_t)(f->bytes.p - c->root);
        }
    if (rc < 0)
        return pbjson__fail(c->err, &c->path, KK_EPROTO, true,
                            (size_t)(f->bytes.p - c->root) + r.err_off, "%s", r.err_what);
    char buf[32];
    const char *key = NULL;
    size_t klen = 0;
    rc = map_key_text(c, kfd, &kf, buf, sizeof buf, &key, &klen);
    if (rc < 0)
        return rc;
    size_t mark = pbjson__path_key(&c->path, key, klen);
    json_t *val = NULL;
    pbwire_reader_init(&r, f->bytes.p, f->bytes.len);
    while (rc == 0 && pbwire_next(&r, &e) == 1) {
        if (e.num != 2)
            continue;
        e.off += (size_t)(f->bytes.p - c->root);
        if (vfd->type == PROTOBUF_C_TYPE_MESSAGE) {
            rc = dec_submessage(c, vfd->descriptor, &e, &val);
        } else {
            json_t *nv;
            rc = dec_scalar(c, vfd->type, &e, &nv);
            if (rc == 0) {
                json_decref(val);
                val = nv;
            }
        }
    }
    if (rc == 0 && !val) {
        if (vfd->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = dec_new_message(c, vfd->descriptor, &val);
        else
            rc = dec_take(c, scalar_zero(vfd->type), &val);
    }
    if (rc < 0) {
        json_decref(val);
        return rc;
    }
    pbjson__path_pop(&c->path, mark);
    return dec_set(c, map, key, klen, val);
}

/* Replaces the other members of fd's oneof in obj by null placeholders:
 * a later member replaces an earlier one (protobuf semantics). */
static void clear_oneof(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *fd,
                        json_t *obj)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *o = &d->fields[i];
        if (o != fd && (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            o->quantifier_offset == fd->quantifier_offset && !json_is_null(json_object_get(obj, o->name)))
            json_object_set_new(obj, o->name, json_null()); /* null needs no memory */
    }
}

/* Decodes one known field occurrence f of message d into obj. */
static int dec_field(dec_ctx *c, const ProtobufCMessageDescriptor *d,
                     const ProtobufCFieldDescriptor *fd, const pbwire_field *f, json_t *obj)
{
    const char *name = fd->name;
    if (pbjson__is_map(fd))
        return dec_map_entry(c, fd, f, json_object_get(obj, name));
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        return dec_repeated(c, fd, f, json_object_get(obj, name));
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        clear_oneof(d, fd, obj);
    json_t *v = NULL;
    int rc;
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        json_t *cur = json_object_get(obj, name);
        if (json_is_object(cur))
            return dec_submessage(c, fd->descriptor, f, &cur);
        rc = dec_submessage(c, fd->descriptor, f, &v);
    } else {
        rc = dec_scalar(c, fd->type, f, &v);
    }
    return rc < 0 ? rc : dec_set(c, obj, name, strlen(name), v);
}

/* Walks the wire bytes of one message of type d into obj. */
static int dec_message(dec_ctx *c, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                       size_t len, json_t *obj)
{
    if (c->depth >= PBJSON_MAX_DEPTH)
        return pbjson__fail(c->err, &c->path, KK_EDEPTH, true, (size_t)(p - c->root),
                            "messages nested deeper than %d", PBJSON_MAX_DEPTH);
    c->depth++;
    pbwire_reader r;
    pbwire_field f;
    int rc;
    pbwire_reader_init(&r, p, len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
        if (!fd)
            continue; /* unknown fields of every wire type are skipped */
        f.off += (size_t)(p - c->root);
        size_t mark = pbjson__path_field(&c->path, fd->name);
        rc = dec_field(c, d, fd, &f, obj);
        if (rc < 0)
            break;
        pbjson__path_pop(&c->path, mark);
    }
    if (rc < 0 && r.err_what)
        rc = pbjson__fail(c->err, &c->path, KK_EPROTO, true, (size_t)(p - c->root) + r.err_off,
                          "%s", r.err_what);
    c->depth--;
    return rc < 0 ? rc : 0;
}

/* Last pass over a decoded object of type d: drops the null placeholders of
 * unset message fields and oneof members, recurses into sub-messages and
 * calls the decorate hook, innermost first. Depth is that of the decode. */
static int dec_finish(dec_ctx *c, const ProtobufCMessageDescriptor *d, json_t *obj)
{
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        json_t *v = json_object_get(obj, fd->name);
        if (json_is_null(v)) {
            json_object_del(obj, fd->name);
            continue;
        }
        if (!v || fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        size_t mark = pbjson__path_field(&c->path, fd->name);
        if (pbjson__is_map(fd)) {
            const ProtobufCFieldDescriptor *vfd = &((const ProtobufCMessageDescriptor *)fd->descriptor)->fields[1];
            const char *key = NULL;
            size_t klen = 0;
            json_t *item;
            if (vfd->type == PROTOBUF_C_TYPE_MESSAGE)
                json_object_keylen_foreach(v, key, klen, item) {
                    size_t km = pbjson__path_key(&c->path, key, klen);
                    rc = dec_finish(c, vfd->descriptor, item);
                    if (rc < 0)
                        break;
                    pbjson__path_pop(&c->path, km);
                }
        } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            for (size_t k = 0; rc == 0 && k < json_array_size(v); k++) {
                size_t km = pbjson__path_index(&c->path, k);
                rc = dec_finish(c, fd->descriptor, json_array_get(v, k));
                if (rc == 0)
                    pbjson__path_pop(&c->path, km);
            }
        } else {
            rc = dec_finish(c, fd->descriptor, v);
        }
        if (rc == 0)
            pbjson__path_pop(&c->path, mark);
    }
    if (rc == 0 && c->o && c->o->decorate) {
        rc = c->o->decorate(c->o->ud, d, obj, c->err);
        if (rc < 0 && c->err)
            snprintf(c->err->path, sizeof c->err->path, "%s", c->path.s);
    }
    return rc;
}

/* Decodes wire bytes into a new JSON object; see pbjson.h. */
int pbjson_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  pbjson_opts *o, json_t **out, pbjson_err *err)
{
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    dec_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.err = err;
    c.root = buf;
    c.values_left = len > (SIZE_MAX - PBJSON_VALUES_BASE) / PBJSON_VALUES_PER_BYTE
                        ? SIZE_MAX
                        : PBJSON_VALUES_BASE + PBJSON_VALUES_PER_BYTE * len;
    json_t *obj;
    int rc = dec_new_message(&c, d, &obj);
    if (rc < 0)
        return rc;
    rc = dec_message(&c, d, buf, len, obj);
    if (rc == 0)
        rc = dec_finish(&c, d, obj);
    if (rc < 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

/* Packs m with protobuf-c and decodes the bytes; see pbjson.h. */
int pbjson_from_message(const ProtobufCMessage *m, pbjson_opts *o, json_t **out,
                        pbjson_err *err)
{
    *out = NULL;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return pbjson__fail(err, NULL, KK_ENOMEM, false, 0, "out of memory");
    size_t packed = protobuf_c_message_pack(m, buf);
    int rc = pbjson_decode(m->descriptor, buf, packed, o, out, err);
    free(buf);
    return rc;
}
