/* test_gob_hostile.c — the gob decoder against hand-built frames: each
 * limit and each rejection has its own test with the exact code, plus the
 * legal-but-unusual inputs Go accepts (cyclic types, marshaler types, type
 * ids other than 65, interfaces with type definitions). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_gob_util.h"

/* Decodes f as Resp and as Req; both must agree; returns the code. */
static int dec(const kk_buf *f)
{
    codec_resp r;
    codec_req q;
    int a = codec_gob_decode_resp(f->p, f->len, &r);
    int b = codec_gob_decode_req(f->p, f->len, &q);
    assert_int_equal(a, b);
    if (a == 0) {
        assert_int_equal(r.req_identifier, q.req_identifier);
    } else {
        assert_int_equal(r.req_identifier, 0);
        assert_int_equal(q.req_identifier, 0);
    }
    return a;
}

/* Runs the frame of th_frame_with_x: struct R{ReqIdentifier int, X xid},
 * the definitions in defs, value {21, X: xval_hex} (X left out if NULL).
 * On success checks ReqIdentifier is 21. Returns the code. */
static int run_x(int64_t xid, const kk_buf *defs, const char *xval_hex)
{
    kk_buf xv = th_from_hex(xval_hex ? xval_hex : "");
    kk_buf f = th_frame_with_x(xid, defs, xval_hex ? &xv : NULL);
    int rc = dec(&f);
    if (rc == 0) {
        codec_resp r;
        assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), 0);
        assert_int_equal(r.req_identifier, 21);
    }
    kk_buf_free(&f);
    kk_buf_free(&xv);
    return rc;
}

/* A buffer for definitions (each appended as a whole message). */
static kk_buf defs_new(void)
{
    kk_buf b;
    kk_buf_init(&b, 16u << 20);
    return b;
}

/* The body scratch used to build one message. */
static kk_buf body_new(void)
{
    return defs_new();
}

/* Nothing at all, or nothing but definitions: the value is still to come. */
static void gob_decode_returns_eagain_without_a_value_message(void **state)
{
    (void)state;
    codec_resp r;
    assert_int_equal(codec_gob_decode_resp(NULL, 0, &r), KK_EAGAIN);
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    assert_int_equal(dec(&f), KK_EAGAIN);
    th_def_slice(&m, 66, 2);
    th_msg(&f, &m);
    assert_int_equal(dec(&f), KK_EAGAIN);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* A value whose type id was never defined in the frame (or that names a
 * built-in or non-struct type) is KK_ETYPE: Go wants a struct. */
static void gob_decode_rejects_value_of_undefined_or_non_struct_type(void **state)
{
    (void)state;
    kk_buf f = th_from_hex("03 ff82 00"); /* value of 65, no definition */
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_free(&f);
    f = th_from_hex("03 04 00 54"); /* Go singleton int 42 */
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_free(&f);
    f = th_from_hex("03 00 00 00"); /* type id 0 */
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_free(&f);
    kk_buf m = body_new();
    f = defs_new();
    th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    th_def_slice(&m, 66, 2);
    th_msg(&f, &m);
    th_hex(&f, "04 ff84 00 00"); /* value of 66: a slice */
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_reset(&f);
    th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    th_hex(&f, "03 ff84 00"); /* value of 66, never defined */
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* Defining an id twice is KK_ETYPE (Go: "duplicate type received"). */
static void gob_decode_rejects_duplicate_type_definition(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    th_def_slice(&m, 65, 2);
    th_msg(&f, &m);
    th_hex(&f, "03 ff82 00");
    assert_int_equal(dec(&f), KK_ETYPE);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* Ids below 65 are gob's own and can't be (re)defined; nor can ids past
 * int32 (Go's typeId). */
static void gob_decode_rejects_definition_of_reserved_ids(void **state)
{
    (void)state;
    static const int64_t ids[] = { 1, 6, 8, 16, 23, 64, (int64_t)INT32_MAX + 1, (int64_t)1 << 40 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        kk_buf f = defs_new(), m = body_new();
        th_def_slice(&m, ids[i], 2);
        th_msg(&f, &m);
        th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
        th_msg(&f, &m);
        th_hex(&f, "03 ff82 00");
        assert_int_equal(dec(&f), KK_ETYPE);
        kk_buf_free(&f);
        kk_buf_free(&m);
    }
}

/* A field, element or key type must be a built-in 1..8 or defined in the
 * frame, even when the value leaves that field out. */
static void gob_decode_rejects_references_to_undefined_or_reserved_ids(void **state)
{
    (void)state;
    static const int64_t ids[] = { 0, 9, 15, 16, 18, 23, 64, 70, -1, -65, (int64_t)1 << 31 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(run_x(ids[i], NULL, NULL), KK_ETYPE);
        kk_buf d = defs_new(), m = body_new();
        th_def_slice(&m, 66, ids[i]);
        th_msg(&d, &m);
        assert_int_equal(run_x(66, &d, NULL), KK_ETYPE);
        kk_buf_reset(&d);
        th_def_map(&m, 66, ids[i], 2);
        th_msg(&d, &m);
        assert_int_equal(run_x(66, &d, NULL), KK_ETYPE);
        kk_buf_reset(&d);
        th_def_array(&m, 66, ids[i], 1);
        th_msg(&d, &m);
        assert_int_equal(run_x(66, &d, NULL), KK_ETYPE);
        kk_buf_free(&d);
        kk_buf_free(&m);
    }
}

/* CODEC_GOB_MAX_TYPES definitions are fine, one more is KK_ETOOBIG. */
static void gob_decode_rejects_more_than_max_types(void **state)
{
    (void)state;
    for (int extra = CODEC_GOB_MAX_TYPES - 1; extra <= CODEC_GOB_MAX_TYPES; extra++) {
        kk_buf d = defs_new(), m = body_new();
        for (int i = 0; i < extra; i++) {
            th_def_slice(&m, 66 + i, 2);
            th_msg(&d, &m);
        }
        int want = extra + 1 > CODEC_GOB_MAX_TYPES ? KK_ETOOBIG : 0;
        assert_int_equal(run_x(66, &d, "02 02 04"), want);
        kk_buf_free(&d);
        kk_buf_free(&m);
    }
}

/* 1024 struct fields per frame (GOB_MAX_FIELDS in gob_int.h) are fine; one
 * more is KK_ETOOBIG. R has 2, so the second struct gets 1022 or 1023. */
static void gob_decode_rejects_more_than_max_fields(void **state)
{
    (void)state;
    for (unsigned nf = 1022; nf <= 1023; nf++) {
        kk_buf d = defs_new(), m = body_new();
        th_int(&m, -66);
        th_byte(&m, 3);
        th_common(&m, "Wide", 66);
        th_byte(&m, 1);
        th_uint(&m, nf);
        for (unsigned i = 0; i < nf; i++) {
            char name[16];
            snprintf(name, sizeof name, "F%u", i);
            th_byte(&m, 1);
            th_str(&m, name);
            th_byte(&m, 1);
            th_int(&m, 2);
            th_byte(&m, 0);
        }
        th_hex(&m, "00 00");
        th_msg(&d, &m);
        /* X = {F1021: 5}: one delta of 1022 (a two-byte uint) */
        assert_int_equal(run_x(66, &d, "fe03fe 0a 00"), nf == 1022 ? 0 : KK_ETOOBIG);
        kk_buf_free(&d);
        kk_buf_free(&m);
    }
}

/* Appends L nested one-element slices of type 66 = []66, innermost empty. */
static void nested_slices(kk_buf *v, unsigned L)
{
    for (unsigned i = 1; i < L; i++)
        th_byte(v, 1);
    th_byte(v, 0);
}

/* The value walk stops at CODEC_GOB_MAX_DEPTH (the top struct is depth 1):
 * X = 31 nested slices reaches depth 32 and passes, 32 is KK_EDEPTH. */
static void gob_decode_rejects_value_nested_over_max_depth(void **state)
{
    (void)state;
    kk_buf d = defs_new(), m = body_new();
    th_def_slice(&m, 66, 66); /* type S []S: legal in Go */
    th_msg(&d, &m);
    for (unsigned L = CODEC_GOB_MAX_DEPTH - 1; L <= CODEC_GOB_MAX_DEPTH; L++) {
        kk_buf xv;
        kk_buf_init(&xv, 1024);
        nested_slices(&xv, L);
        kk_buf f = th_frame_with_x(66, &d, &xv);
        assert_int_equal(dec(&f), L + 1 > CODEC_GOB_MAX_DEPTH ? KK_EDEPTH : 0);
        kk_buf_free(&f);
        kk_buf_free(&xv);
    }
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* Type cycles are legal to define: A = [1]A has no finite value, yet the
 * definition passes while the value leaves X out, and a value that tries
 * is cut at the depth limit, not followed forever. */
static void gob_decode_stops_array_of_itself_at_depth_limit(void **state)
{
    (void)state;
    kk_buf d = defs_new(), m = body_new();
    th_def_array(&m, 66, 66, 1);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, NULL), 0);
    char hex[3 * 200 + 1] = "";
    for (int i = 0; i < 200; i++)
        strcat(hex, "01 ");
    assert_int_equal(run_x(66, &d, hex), KK_EDEPTH);
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* Mutually recursive structs (A{B *B}, B{A *A}) with a finite value are
 * skipped like any other struct. */
static void gob_decode_skips_mutually_recursive_structs(void **state)
{
    (void)state;
    kk_buf d = defs_new(), m = body_new();
    th_def_struct(&m, 66, "A", 1, "B", (int64_t)67);
    th_msg(&d, &m);
    th_def_struct(&m, 67, "B", 1, "A", (int64_t)66);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, "01 01 00 00 00"), 0);
    assert_int_equal(run_x(66, &d, "00"), 0);
    assert_int_equal(run_x(66, &d, "02 00"), KK_EPROTO); /* A has one field */
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* Bytes after the value — in its message or as another message — are
 * KK_EPROTO, as is a value without its terminating 0. */
static void gob_decode_rejects_trailing_bytes_and_missing_terminator(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 1, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    size_t def_len = f.len;
    th_hex(&f, "05 ff82 01 2a 00");
    assert_int_equal(dec(&f), 0);
    th_hex(&f, "00");
    assert_int_equal(dec(&f), KK_EPROTO); /* one stray byte */
    f.len = def_len;
    th_hex(&f, "05 ff82 01 2a 00 03 ff82 00"); /* a second value */
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "06 ff82 01 2a 00 00"); /* extra byte inside the message */
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "04 ff82 01 2a"); /* no terminator */
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "02 ff82"); /* a type id and nothing else */
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "00"); /* an empty message */
    assert_int_equal(dec(&f), KK_EPROTO);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* Message lengths: at or over 1 GiB (GOB_MAX_MSG) is KK_ETOOBIG whatever
 * follows; below that, longer than the input is KK_EAGAIN; a length of
 * more than 8 bytes is KK_EPROTO. */
static void gob_decode_bounds_message_lengths(void **state)
{
    (void)state;
    kk_buf f = th_from_hex("f8 ffffffffffffffff ff82 00");
    assert_int_equal(dec(&f), KK_ETOOBIG);
    kk_buf_free(&f);
    f = th_from_hex("fc 40000000 ff82 00");
    assert_int_equal(dec(&f), KK_ETOOBIG);
    kk_buf_free(&f);
    f = th_from_hex("fc 3fffffff ff82 00");
    assert_int_equal(dec(&f), KK_EAGAIN);
    kk_buf_free(&f);
    f = th_from_hex("f7 0000000000000000 03 ff82 00");
    assert_int_equal(dec(&f), KK_EPROTO);
    kk_buf_free(&f);
    f = th_from_hex("80 03 ff82 00");
    assert_int_equal(dec(&f), KK_EPROTO);
    kk_buf_free(&f);
}

/* Inside a complete message, integers of more than 8 bytes, and lengths
 * and counts past the bytes left are KK_EPROTO, decided before any loop. */
static void gob_decode_bounds_lengths_and_counts_inside_messages(void **state)
{
    (void)state;
    assert_int_equal(run_x(2, NULL, "f7 000000000000000001"), KK_EPROTO);
    assert_int_equal(run_x(2, NULL, "80"), KK_EPROTO);
    assert_int_equal(run_x(2, NULL, "fd 01"), KK_EPROTO); /* int cut by the message end */
    assert_int_equal(run_x(6, NULL, "64 6162"), KK_EPROTO);                 /* 100-byte string */
    assert_int_equal(run_x(5, NULL, "f8 ffffffffffffffff 00"), KK_EPROTO);  /* huge []byte */
    kk_buf d = defs_new(), m = body_new();
    th_def_slice(&m, 66, 2);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, "f8 4000000000000000 00"), KK_EPROTO);
    assert_int_equal(run_x(66, &d, "04 02 04 06"), KK_EPROTO); /* 4 ints, 3 bytes */
    assert_int_equal(run_x(66, &d, "03 02 04 06"), 0);
    kk_buf_reset(&d);
    th_def_map(&m, 66, 2, 2);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, "fb 0100000000 00"), KK_EPROTO);
    assert_int_equal(run_x(66, &d, "02 02 04 06"), KK_EPROTO); /* 2 pairs, 3 bytes */
    assert_int_equal(run_x(66, &d, "02 02 04 06 08"), 0);
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* An array value must carry exactly its type's length (Go: "length
 * mismatch in ignoreArray"); a negative length can't be defined. */
static void gob_decode_rejects_array_length_mismatch(void **state)
{
    (void)state;
    kk_buf d = defs_new(), m = body_new();
    th_def_array(&m, 66, 2, 3);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, "03 00 0a 0b"), 0);
    assert_int_equal(run_x(66, &d, "02 00 0a"), KK_EPROTO);
    assert_int_equal(run_x(66, &d, "04 00 0a 0b 0c"), KK_EPROTO);
    kk_buf_reset(&d);
    th_def_array(&m, 66, 2, -1);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, NULL), KK_ETYPE);
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* Field deltas past the struct's last field are KK_EPROTO, at the top and
 * in nested structs, including deltas near 2^64. */
static void gob_decode_rejects_field_number_out_of_range(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 2, "ReqIdentifier", (int64_t)2, "MsgIncr", (int64_t)6);
    th_msg(&f, &m);
    size_t def_len = f.len;
    th_hex(&f, "05 ff82 03 2a 00");
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "0d ff82 f8ffffffffffffffff 2a 00");
    assert_int_equal(dec(&f), KK_EPROTO);
    f.len = def_len;
    th_hex(&f, "07 ff82 01 2a 01 2a 00"); /* second delta 1 → field 1, a string */
    assert_int_equal(dec(&f), KK_EPROTO); /* string of 42 bytes past the end */
    kk_buf_free(&f);
    kk_buf d = defs_new();
    th_def_struct(&m, 66, "In", 1, "A", (int64_t)2);
    th_msg(&d, &m);
    assert_int_equal(run_x(66, &d, "01 02 00"), 0);
    assert_int_equal(run_x(66, &d, "02 02 00"), KK_EPROTO);
    kk_buf_free(&d);
    kk_buf_free(&m);
}

/* Runs a frame whose one extra definition body is the hex given. */
static int run_def_hex(const char *def_hex)
{
    kk_buf d = defs_new(), m = th_from_hex(def_hex);
    th_msg(&d, &m);
    int rc = run_x(66, &d, NULL);
    kk_buf_free(&d);
    kk_buf_free(&m);
    return rc;
}

/* A wireType must set exactly one known kind, and its parts only their
 * known fields; a struct field must have a name. Else KK_ETYPE. */
static void gob_decode_rejects_malformed_wire_types(void **state)
{
    (void)state;
    assert_int_equal(run_def_hex("ff83 02 01 01 01 73 01 ff84 00 01 04 00 00"), 0); /* []int */
    assert_int_equal(run_def_hex("ff83 00"), KK_ETYPE);                           /* no kind */
    assert_int_equal(run_def_hex("ff83 02 01 02 ff84 00 01 04 00 01 00 00"), KK_ETYPE);  /* slice+struct */
    assert_int_equal(run_def_hex("ff83 08 00 00"), KK_ETYPE);                     /* field 7 */
    assert_int_equal(run_def_hex("ff83 02 03 04 00 00"), KK_ETYPE);               /* sliceType field 2 */
    assert_int_equal(run_def_hex("ff83 02 01 03 00 00 00"), KK_ETYPE);            /* CommonType field 2 */
    assert_int_equal(run_def_hex("ff83 02 01 02 fbffffffffff 00 01 04 00 00"), KK_ETYPE); /* Id > int32 */
    /* struct{ "" int }: Go says "empty name for remote field" */
    assert_int_equal(run_def_hex("ff83 03 01 01 01 54 00 01 01 02 04 00 00 00"), KK_ETYPE);
    assert_int_equal(run_def_hex("ff83 03 01 01 01 54 00 01 01 01 00 01 04 00 00 00"), KK_ETYPE);
    /* struct{ X } with no type id: id 0 is undefined */
    assert_int_equal(run_def_hex("ff83 03 01 01 01 54 00 01 01 01 01 58 00 00 00"), KK_ETYPE);
    /* field count over the bytes left */
    assert_int_equal(run_def_hex("ff83 03 01 01 01 54 00 01 7f 00 00"), KK_EPROTO);
    /* bytes after the definition: Go's "extra data in buffer" */
    assert_int_equal(run_def_hex("ff83 02 01 01 01 73 01 ff84 00 01 04 00 00 00"), KK_EPROTO);
    /* cut inside a complete message */
    assert_int_equal(run_def_hex("ff83 02 01 01 01 73 01 ff84"), KK_EPROTO);
}

/* Unknown fields of every built-in type are skipped, and so are
 * GobEncoder, BinaryMarshaler and TextMarshaler types (byte slices). */
static void gob_decode_skips_unknown_fields_of_every_kind(void **state)
{
    (void)state;
    assert_int_equal(run_x(1, NULL, "01"), 0);                   /* bool */
    assert_int_equal(run_x(3, NULL, "fb 0100000000"), 0);        /* uint 1<<32 */
    assert_int_equal(run_x(4, NULL, "fe 3140"), 0);              /* float 17.0 */
    assert_int_equal(run_x(5, NULL, "03 00ff01"), 0);            /* []byte */
    assert_int_equal(run_x(6, NULL, "02 c3a9"), 0);              /* string */
    assert_int_equal(run_x(7, NULL, "fe f03f fe f0bf"), 0);      /* complex 1-1i */
    assert_int_equal(run_x(7, NULL, "fe f03f"), KK_EPROTO);      /* half a complex */
    /* A nil interface is an empty name and nothing else (doc.go). Go 1.19's
     * ignoreInterface forgets that case and reads on; Go's encoder only
     * writes one inside slices or maps, never for a struct field. */
    assert_int_equal(run_x(8, NULL, "00"), 0);
    for (unsigned k = 4; k <= 6; k++) {
        kk_buf d = defs_new(), m = body_new();
        th_def_marshaler(&m, 66, k);
        th_msg(&d, &m);
        assert_int_equal(run_x(66, &d, "03 aabbcc"), 0);
        assert_int_equal(run_x(66, &d, "05 aabbcc"), KK_EPROTO);
        kk_buf_free(&d);
        kk_buf_free(&m);
    }
}

/* Interface values with hostile parts: a name or value length past the
 * end (KK_EPROTO), an undefined concrete type or a redefinition (KK_ETYPE),
 * a type sequence that needs a message the frame lacks (KK_EAGAIN). */
static void gob_decode_rejects_hostile_interface_values(void **state)
{
    (void)state;
    /* "T", concrete int (04), value length 2: singleton 42 */
    assert_int_equal(run_x(8, NULL, "01 54 04 02 00 54"), 0);
    assert_int_equal(run_x(8, NULL, "09 54"), KK_EPROTO);
    assert_int_equal(run_x(8, NULL, "01 54 04 09 00 54"), KK_EPROTO);
    assert_int_equal(run_x(8, NULL, "01 54 ff8c 02 00 54"), KK_ETYPE); /* 70: undefined */
    assert_int_equal(run_x(8, NULL, "01 54 12 02 00 54"), KK_ETYPE);   /* 9: reserved */
    /* defines 66 = []int inside, then uses it: legal */
    assert_int_equal(run_x(8, NULL, "01 54 ff83 02 01 01 01 73 01 ff84 00 01 04 00 00"
                                    " 09 ff84 03 00 01 02"), 0);
    /* redefines 65 (R) inside */
    assert_int_equal(run_x(8, NULL, "01 54 ff81 02 01 01 01 73 01 ff84 00 01 04 00 00"
                                    " 09 ff82 03 00 00"), KK_ETYPE);
    /* defines 66 = []70, 70 never defined */
    assert_int_equal(run_x(8, NULL, "01 54 ff83 02 01 01 01 73 01 ff84 00 01 ff8c 00 00"
                                    " 09 ff84 03 00 00"), KK_ETYPE);
}

/* Go splits a value over messages when an interface defines types: the
 * type sequence continues in the next message. Missing → KK_EAGAIN. */
static void gob_decode_follows_interface_types_into_next_message(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 3, "ReqIdentifier", (int64_t)2, "X", (int64_t)8, "MsgIncr",
                  (int64_t)6);
    th_msg(&f, &m);
    /* value part 1: ReqIdentifier 21, X = "T" + definition of 66 = []int */
    th_hex(&m, "ff82 01 2a 01 01 54 ff83 02 01 01 01 73 01 ff84 00 01 04 00 00");
    th_msg(&f, &m);
    size_t cut = f.len;
    /* part 2: concrete id 66, value length 3, value, then MsgIncr "z" */
    th_hex(&m, "ff84 03 00 01 02 01 01 7a 00");
    th_msg(&f, &m);
    codec_resp r;
    assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), 0);
    assert_int_equal(r.req_identifier, 21);
    th_view_eq(r.msg_incr, "z");
    assert_int_equal(codec_gob_decode_resp(f.p, cut, &r), KK_EAGAIN);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* Types defined inside interfaces count toward CODEC_GOB_MAX_TYPES. */
static void gob_decode_counts_interface_types_toward_max_types(void **state)
{
    (void)state;
    for (int n = CODEC_GOB_MAX_TYPES - 1; n <= CODEC_GOB_MAX_TYPES; n++) {
        kk_buf xv = defs_new(), m = body_new();
        th_hex(&xv, "01 54");
        for (int i = 0; i < n; i++) {
            th_def_slice(&m, 66 + i, 2);
            assert_int_equal(kk_buf_append(&xv, m.p, m.len), 0);
            kk_buf_reset(&m);
            th_byte(&xv, 0); /* the count Go ignores after a definition */
        }
        th_hex(&xv, "04 02 00 02"); /* concrete int, singleton value 1 */
        kk_buf f = th_frame_with_x(8, NULL, &xv);
        assert_int_equal(dec(&f), n + 1 > CODEC_GOB_MAX_TYPES ? KK_ETOOBIG : 0);
        kk_buf_free(&f);
        kk_buf_free(&xv);
        kk_buf_free(&m);
    }
}

/* Fields match by name whatever the type's id, name and field order; a
 * struct may be defined after the one that refers to it. */
static void gob_decode_matches_by_name_with_any_type_id(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 1000, "Whatever", 4, "Extra", (int64_t)1001, "ErrMsg", (int64_t)6, "Data",
                  (int64_t)5, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    th_def_slice(&m, 1001, 1000);
    th_msg(&f, &m);
    th_int(&m, 1000);
    th_hex(&m, "01 01 00"); /* Extra: one empty Whatever */
    th_hex(&m, "01 02 6f6b 01 01 ff 01 fe0fa4 00");
    th_msg(&f, &m);
    codec_resp r;
    assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), 0);
    assert_int_equal(r.req_identifier, 2002);
    th_view_eq(r.err_msg, "ok");
    th_view_eq(r.data, "\xff");
    th_view_eq(r.msg_incr, "");
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* A known name with a gob type Go would not assign is KK_ETYPE, even when
 * the value leaves the field out: int32 takes only int, strings only
 * string, Data only []byte (not a []uint slice type). */
static void gob_decode_rejects_known_field_of_wrong_type(void **state)
{
    (void)state;
    static const struct { const char *name; int64_t id; } bad[] = {
        { "ReqIdentifier", 3 }, { "ReqIdentifier", 4 }, { "ReqIdentifier", 8 }, { "ErrCode", 6 },
        { "MsgIncr", 5 }, { "OperationID", 2 }, { "Data", 6 }, { "Data", 66 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kk_buf f = defs_new(), m = body_new();
        th_def_struct(&m, 65, "R", 2, "MsgIncr", (int64_t)6, bad[i].name, bad[i].id);
        th_msg(&f, &m);
        th_def_slice(&m, 66, 3);
        th_msg(&f, &m);
        th_hex(&f, "05 ff82 01 01 61 00");
        codec_resp r;
        assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), KK_ETYPE);
        kk_buf_free(&f);
        kk_buf_free(&m);
    }
}

/* Go reads ints into int32 only when they fit: KK_EOVERFLOW; ErrCode
 * takes all of int64. The output is zeroed even after fields were read. */
static void gob_decode_rejects_req_identifier_over_int32(void **state)
{
    (void)state;
    kk_buf f = defs_new(), m = body_new();
    th_def_struct(&m, 65, "R", 2, "MsgIncr", (int64_t)6, "ReqIdentifier", (int64_t)2);
    th_msg(&f, &m);
    size_t def_len = f.len;
    th_int(&m, 65);
    th_hex(&m, "01 01 61 01");
    th_int(&m, (int64_t)INT32_MAX + 1);
    th_byte(&m, 0);
    th_msg(&f, &m);
    codec_resp r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), KK_EOVERFLOW);
    assert_null(r.msg_incr.p);
    assert_int_equal(r.msg_incr.len, 0);
    f.len = def_len;
    th_int(&m, 65);
    th_hex(&m, "02");
    th_int(&m, INT32_MIN);
    th_byte(&m, 0);
    th_msg(&f, &m);
    assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), 0);
    assert_int_equal(r.req_identifier, INT32_MIN);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

/* Go accepts non-minimal integers and a struct type without fields; so
 * do we. Duplicate wire names both land in our field, the last wins. */
static void gob_decode_accepts_what_go_accepts(void **state)
{
    (void)state;
    assert_int_equal(run_x(2, NULL, "fe 0000"), 0);
    kk_buf f = th_from_hex("0d ff81 03 01 01 01 45 01 ff82 00 00 00 03 ff82 00");
    assert_int_equal(dec(&f), 0);
    kk_buf_free(&f);
    f = defs_new();
    kk_buf m = body_new();
    th_def_struct(&m, 65, "R", 3, "MsgIncr", (int64_t)6, "MsgIncr", (int64_t)6, "ReqIdentifier",
                  (int64_t)2);
    th_msg(&f, &m);
    th_hex(&f, "0d ff82 01 01 61 01 01 62 01 fe0000 00");
    codec_resp r;
    assert_int_equal(codec_gob_decode_resp(f.p, f.len, &r), 0);
    th_view_eq(r.msg_incr, "b");
    assert_int_equal(r.req_identifier, 0);
    kk_buf_free(&f);
    kk_buf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gob_decode_returns_eagain_without_a_value_message),
        cmocka_unit_test(gob_decode_rejects_value_of_undefined_or_non_struct_type),
        cmocka_unit_test(gob_decode_rejects_duplicate_type_definition),
        cmocka_unit_test(gob_decode_rejects_definition_of_reserved_ids),
        cmocka_unit_test(gob_decode_rejects_references_to_undefined_or_reserved_ids),
        cmocka_unit_test(gob_decode_rejects_more_than_max_types),
        cmocka_unit_test(gob_decode_rejects_more_than_max_fields),
        cmocka_unit_test(gob_decode_rejects_value_nested_over_max_depth),
        cmocka_unit_test(gob_decode_stops_array_of_itself_at_depth_limit),
        cmocka_unit_test(gob_decode_skips_mutually_recursive_structs),
        cmocka_unit_test(gob_decode_rejects_trailing_bytes_and_missing_terminator),
        cmocka_unit_test(gob_decode_bounds_message_lengths),
        cmocka_unit_test(gob_decode_bounds_lengths_and_counts_inside_messages),
        cmocka_unit_test(gob_decode_rejects_array_length_mismatch),
        cmocka_unit_test(gob_decode_rejects_field_number_out_of_range),
        cmocka_unit_test(gob_decode_rejects_malformed_wire_types),
        cmocka_unit_test(gob_decode_skips_unknown_fields_of_every_kind),
        cmocka_unit_test(gob_decode_rejects_hostile_interface_values),
        cmocka_unit_test(gob_decode_follows_interface_types_into_next_message),
        cmocka_unit_test(gob_decode_counts_interface_types_toward_max_types),
        cmocka_unit_test(gob_decode_matches_by_name_with_any_type_id),
        cmocka_unit_test(gob_decode_rejects_known_field_of_wrong_type),
        cmocka_unit_test(gob_decode_rejects_req_identifier_over_int32),
        cmocka_unit_test(gob_decode_accepts_what_go_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
