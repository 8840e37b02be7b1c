/* gob_int.h — private to the gob codec (gob_enc.c, gob_dec.c); not part of
 * the codec contract.
 *
 * What it holds: the gob built-in type ids, the descriptions of OpenIM's
 * `Req` and `Resp` structs (field names, gob types, where each field lives in
 * codec_req / codec_resp), shared by the encoder (which writes the type
 * definition from them) and the decoder (which matches wire fields by these
 * names), and the decoder's private limits. Constant data only.
 */
#ifndef KK_GOB_INT_H
#define KK_GOB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* Built-in gob type ids (encoding/gob doc.go). 9..15 are reserved, 16..23
 * describe gob's own wireType; user types start at 65 (NOTES.md §2.4). */
enum gob_builtin {
    GOB_T_BOOL = 1,
    GOB_T_INT = 2,
    GOB_T_UINT = 3,
    GOB_T_FLOAT = 4,
    GOB_T_BYTES = 5,
    GOB_T_STRING = 6,
    GOB_T_COMPLEX = 7,
    GOB_T_INTERFACE = 8,
    GOB_FIRST_USER_ID = 65,
};

/* A gob message length at or over this is hostile, not truncated: Go's
 * encoder refuses to write one (its `tooBig` on 32-bit hosts). */
#define GOB_MAX_MSG (1u << 30)
/* Fields of all struct definitions of one frame together. The gateway sends
 * 6; a Go SDK struct a few dozen. The decoder keeps one slot per field on
 * the stack so that skipping a struct value is O(1) per field. */
#define GOB_MAX_FIELDS 1024

/* How one envelope field is held in C. */
enum gob_fkind {
    GOB_F_INT32 = 0,  /* Go int32 / int: gob int, must fit int32 */
    GOB_F_INT64 = 1,  /* Go int (64-bit): gob int */
    GOB_F_STRING = 2, /* Go string: gob string (id 6) only */
    GOB_F_BYTES = 3,  /* Go []byte: gob []byte (id 5) only */
};

/* One exported field of a Go struct, in definition order. */
typedef struct gob_field {
    const char *name;
    uint8_t name_len;
    uint8_t kind;     /* enum gob_fkind */
    uint16_t off;     /* offset of the int32_t/int64_t/kk_view in the C struct */
} gob_field;

/* A Go struct as the relay writes it (OpenIM's names and order). def is
 * the first message Go's fresh encoder writes for it: the definition as
 * type 65, length prefix included. The encoder copies it; the decoder takes
 * a frame that starts with it down a fast path. def and fields describe the
 * same struct; the tests check both against frames written by Go. */
typedef struct gob_struct {
    const uint8_t *def;
    size_t def_len;
    uint8_t nfields;
    size_t size;      /* sizeof the C struct, zeroed on failure */
    const gob_field *fields;
} gob_struct;

/* OpenIM's `Req` over codec_req and `Resp` over codec_resp (NOTES.md §2.2).
 * Defined in gob_enc.c. */
extern const gob_struct codec__gob_req;
extern const gob_struct codec__gob_resp;

/* Returns the gob type id a field of kind k is written as. */
static inline int32_t codec__gob_kind_id(uint8_t k)
{
    return k == GOB_F_STRING ? GOB_T_STRING : k == GOB_F_BYTES ? GOB_T_BYTES : GOB_T_INT;
}

#endif
