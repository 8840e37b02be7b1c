/* test_gob_util.h — helpers shared by the gob tests: hex to bytes, and a
 * small builder that writes gob messages by hand (type definitions and
 * values) for the hostile-input tests. Header-only, test code only. */
#ifndef TEST_GOB_UTIL_H
#define TEST_GOB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

/* Returns the value of one hex digit, -1 for anything else. */
static inline int th_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the bytes of a hex string (spaces allowed) to b. */
static inline void th_hex(kk_buf *b, const char *hex)
{
    for (const char *s = hex; *s;) {
        if (*s == ' ' || *s == '\n') {
            s++;
            continue;
        }
        int hi = th_nibble(s[0]), lo = th_nibble(s[1]);
        assert_true(hi >= 0 && lo >= 0);
        uint8_t byte = (uint8_t)(hi << 4 | lo);
        assert_int_equal(kk_buf_append(b, &byte, 1), 0);
        s += 2;
    }
}

/* Returns a fresh buffer (cap 16 MiB) holding the hex string's bytes. */
static inline kk_buf th_from_hex(const char *hex)
{
    kk_buf b;
    kk_buf_init(&b, 16u << 20);
    th_hex(&b, hex);
    return b;
}

/* Appends one byte. */
static inline void th_byte(kk_buf *b, uint8_t v)
{
    assert_int_equal(kk_buf_append(b, &v, 1), 0);
}

/* Appends v in gob's unsigned encoding. */
static inline void th_uint(kk_buf *b, uint64_t v)
{
    if (v < 128) {
        th_byte(b, (uint8_t)v);
        return;
    }
    uint8_t tmp[8];
    int n = 0;
    while (v) {
        tmp[n++] = (uint8_t)v;
        v >>= 8;
    }
    th_byte(b, (uint8_t)(256 - n));
    while (n)
        th_byte(b, tmp[--n]);
}

/* Appends v in gob's signed encoding. */
static inline void th_int(kk_buf *b, int64_t v)
{
    th_uint(b, v < 0 ? (~(uint64_t)v << 1) | 1u : (uint64_t)v << 1);
}

/* Appends a gob string (length, bytes). */
static inline void th_str(kk_buf *b, const char *s)
{
    th_uint(b, strlen(s));
    assert_int_equal(kk_buf_append(b, s, strlen(s)), 0);
}

/* Appends body to frame as one message (length prefix), then empties body. */
static inline void th_msg(kk_buf *frame, kk_buf *body)
{
    th_uint(frame, body->len);
    assert_int_equal(kk_buf_append(frame, body->p, body->len), 0);
    kk_buf_reset(body);
}

/* Appends CommonType{Name: name, Id: id} after its field delta. */
static inline void th_common(kk_buf *b, const char *name, int64_t id)
{
    th_byte(b, 1); /* field 0 of the kind struct: CommonType */
    th_byte(b, 1);
    th_str(b, name);
    th_byte(b, 1);
    th_int(b, id);
    th_byte(b, 0);
}

/* Appends a struct definition body: -id, wireType{StructT{..., Field}}.
 * nf fields given as name, type id pairs in the varargs. */
static inline void th_def_struct(kk_buf *b, int64_t id, const char *name, unsigned nf, ...)
{
    va_list ap;
    va_start(ap, nf);
    th_int(b, -id);
    th_byte(b, 3);
    th_common(b, name, id);
    th_byte(b, 1);
    th_uint(b, nf);
    for (unsigned i = 0; i < nf; i++) {
        const char *fname = va_arg(ap, const char *);
        int64_t fid = va_arg(ap, int64_t);
        th_byte(b, 1);
        th_str(b, fname);
        th_byte(b, 1);
        th_int(b, fid);
        th_byte(b, 0);
    }
    th_byte(b, 0);
    th_byte(b, 0);
    va_end(ap);
}

/* Appends a slice definition body: -id, wireType{SliceT{Elem: elem}}. */
static inline void th_def_slice(kk_buf *b, int64_t id, int64_t elem)
{
    th_int(b, -id);
    th_byte(b, 2);
    th_common(b, "s", id);
    th_byte(b, 1);
    th_int(b, elem);
    th_byte(b, 0);
    th_byte(b, 0);
}

/* Appends an array definition body: -id, wireType{ArrayT{Elem, Len}}. */
static inline void th_def_array(kk_buf *b, int64_t id, int64_t elem, int64_t len)
{
    th_int(b, -id);
    th_byte(b, 1);
    th_common(b, "a", id);
    th_byte(b, 1);
    th_int(b, elem);
    th_byte(b, 1);
    th_int(b, len);
    th_byte(b, 0);
    th_byte(b, 0);
}

/* Appends a map definition body: -id, wireType{MapT{Key, Elem}}. */
static inline void th_def_map(kk_buf *b, int64_t id, int64_t key, int64_t elem)
{
    th_int(b, -id);
    th_byte(b, 4);
    th_common(b, "m", id);
    th_byte(b, 1);
    th_int(b, key);
    th_byte(b, 1);
    th_int(b, elem);
    th_byte(b, 0);
    th_byte(b, 0);
}

/* Appends a GobEncoderT (field 4), BinaryMarshalerT (5) or TextMarshalerT
 * (6) definition body. */
static inline void th_def_marshaler(kk_buf *b, int64_t id, unsigned wire_field)
{
    th_int(b, -id);
    th_uint(b, wire_field + 1);
    th_common(b, "x", id);
    th_byte(b, 0);
    th_byte(b, 0);
}

/* Fills a one-struct frame: struct 65 "R" with fields ReqIdentifier (int)
 * and X of type xid, plus the extra definitions in defs (already whole
 * messages), then the value {ReqIdentifier: 21, X: the bytes of xval}. */
static inline kk_buf th_frame_with_x(int64_t xid, const kk_buf *defs, const kk_buf *xval)
{
    kk_buf f, m;
    kk_buf_init(&f, 16u << 20);
    kk_buf_init(&m, 16u << 20);
    th_def_struct(&m, 65, "R", 2, "ReqIdentifier", (int64_t)2, "X", xid);
    th_msg(&f, &m);
    if (defs && defs->len)
        assert_int_equal(kk_buf_append(&f, defs->p, defs->len), 0);
    th_int(&m, 65);
    th_byte(&m, 1);
    th_int(&m, 21);
    if (xval) {
        th_byte(&m, 1);
        assert_int_equal(kk_buf_append(&m, xval->p, xval->len), 0);
    }
    th_byte(&m, 0);
    th_msg(&f, &m);
    kk_buf_free(&m);
    return f;
}

/* Asserts that a view holds exactly the C string s. */
static inline void th_view_eq(kk_view v, const char *s)
{
    assert_int_equal(v.len, strlen(s));
    if (v.len)
        assert_memory_equal(v.p, s, v.len);
}

#endif
