/* gob_dec.c — reads one Go encoding/gob stream written by a fresh encoder
 * (NOTES.md §2.4) into codec_req / codec_resp, as Go's own decoder would.
 *
 * A frame is a sequence of messages (uint length, int type id, payload):
 * definitions (negative id, a wireType value) then the value message. When
 * an interface field carries type definitions, Go ends the value message
 * after the first one and the value goes on in further messages (see
 * skip_iface). The decoder keeps the definitions in a fixed table on the
 * stack (no malloc), resolves every type reference once a type sequence is
 * complete (types may refer to ids defined later in the same sequence: Go
 * sends the outer type first), matches the value's struct fields to ours
 * by name and skips the others whatever their type. Views point into the
 * input. Frames that start with exactly our own definition of the struct
 * (every frame of the gateway) take a short fast path, decode_canonical.
 *
 * Error codes: KK_EAGAIN when the input ends inside a message or before the
 * value message (a frame of definitions only is treated as truncated: Go's
 * decoder says ErrUnexpectedEOF there too); KK_EPROTO for bytes that break
 * the format inside a complete message (bad integer, length or count over
 * the bytes left, field number out of range, array length mismatch, a
 * missing struct terminator, trailing bytes); KK_ETYPE for bad, duplicate,
 * undefined or mismatched types; KK_ETOOBIG past CODEC_GOB_MAX_TYPES,
 * GOB_MAX_FIELDS or GOB_MAX_MSG; KK_EDEPTH past CODEC_GOB_MAX_DEPTH;
 * KK_EOVERFLOW for an int over int32.
 *
 * Stricter than Go, on purpose: ids below 65 cannot be defined (Go allows
 * 64), a wireType must set exactly one kind, array lengths must not be
 * negative, field types may not be gob's internal ids 16..23, and interface
 * values must name a defined concrete type even when skipped.
 *
 * Termination: every recursive step consumes at least one input byte and
 * recursion is cut at CODEC_GOB_MAX_DEPTH, so self-referential types (legal
 * in Go: type Node struct{ Next *Node }) cannot make the walk run away.
 */
#include <string.h>

#include "gob_int.h"

/* wireType field numbers; a definition sets exactly one of them. */
enum gob_kind {
    GK_ARRAY = 0,
    GK_SLICE = 1,
    GK_STRUCT = 2,
    GK_MAP = 3,
    GK_GOBENC = 4,
    GK_BINARY = 5,
    GK_TEXT = 6,
};

/* A resolved type reference: 1..8 is a built-in id, GOB_REF_USER + i is the
 * i-th type defined in this frame. */
#define GOB_REF_USER 64

/* One user type definition. Ids in elem/key/field slots are wire ids until
 * the type is validated, then references. */
typedef struct gob_type {
    int32_t id;
    uint8_t kind;          /* enum gob_kind */
    int32_t elem;          /* array, slice, map */
    int32_t key;           /* map */
    int64_t len;           /* array */
    uint32_t first;        /* struct: its first slot in gob_dec.field */
    uint32_t nfields;      /* struct */
    const uint8_t *fdefs;  /* struct: the encoded fieldType list (names) */
    const uint8_t *fdefs_end;
} gob_type;

/* A bounded reader over one message (or the frame). */
typedef struct gob_rd {
    const uint8_t *p;
    const uint8_t *end;
} gob_rd;

/* Per-frame decoder state, on the caller's stack; only counters are set up. */
typedef struct gob_dec {
    gob_rd frame;      /* the messages not read yet */
    uint32_t ntypes;   /* types defined so far */
    uint32_t nvalid;   /* types [0, nvalid) have resolved references */
    uint32_t nfields;  /* field slots used */
    gob_type type[CODEC_GOB_MAX_TYPES];
    int32_t field[GOB_MAX_FIELDS]; /* type of each struct field */
    int8_t role[GOB_MAX_FIELDS];   /* top-level struct: our field index or -1 */
} gob_dec;

static int skip_value(gob_dec *d, gob_rd *r, int32_t ref, unsigned depth);

/* Reads a gob unsigned integer: one byte below 0x80, else the negated byte
 * count (at most 8) and big-endian bytes. Non-minimal forms are accepted, as
 * Go does. short_rc when the bytes end first; KK_EPROTO for a count over 8. */
static inline int rd_uint_rc(gob_rd *r, uint64_t *v, int short_rc)
{
    if (r->p >= r->end)
        return short_rc;
    unsigned b = *r->p;
    if (b < 0x80) {
        r->p++;
        *v = b;
        return 0;
    }
    size_t n = 256u - b;
    if (n > 8)
        return KK_EPROTO;
    if ((size_t)(r->end - r->p) - 1 < n)
        return short_rc;
    uint64_t x = 0;
    for (size_t i = 1; i <= n; i++)
        x = x << 8 | r->p[i];
    r->p += n + 1;
    *v = x;
    return 0;
}

/* Reads an unsigned integer inside a complete message. */
static inline int rd_uint(gob_rd *r, uint64_t *v)
{
    return rd_uint_rc(r, v, KK_EPROTO);
}

/* Reads a signed integer: bit 0 of the unsigned form means "complement". */
static inline int rd_int(gob_rd *r, int64_t *v)
{
    uint64_t u;
    int rc = rd_uint(r, &u);
    if (rc < 0)
        return rc;
    *v = (u & 1u) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
    return 0;
}

/* Reads a string or []byte: a length then that many bytes, viewed in place.
 * KK_EPROTO when the length passes the end of the message. */
static inline int rd_bytes(gob_rd *r, kk_view *v)
{
    uint64_t n;
    int rc = rd_uint(r, &n);
    if (rc < 0)
        return rc;
    if (n > (uint64_t)(r->end - r->p))
        return KK_EPROTO;
    v->p = r->p;
    v->len = (size_t)n;
    r->p += n;
    return 0;
}

/* Reads the next field delta of a struct value. Returns 1 with *fn moved
 * on, 0 at the terminating 0 delta, bad_rc for a field number past last. */
static inline int rd_field(gob_rd *r, int64_t *fn, int64_t last, int bad_rc)
{
    uint64_t delta;
    int rc = rd_uint(r, &delta);
    if (rc < 0)
        return rc;
    if (delta == 0)
        return 0;
    if (delta > (uint64_t)(last - *fn))
        return bad_rc;
    *fn += (int64_t)delta;
    return 1;
}

/* Reads a type id inside a definition; Go's typeId is int32. */
static int rd_typeid(gob_rd *r, int32_t *id)
{
    int64_t v;
    int rc = rd_int(r, &v);
    if (rc < 0)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return KK_ETYPE;
    *id = (int32_t)v;
    return 0;
}

/* Starts the next message of the frame fr in m: KK_EAGAIN when the frame
 * ends first (truncated), KK_ETOOBIG for a length no encoder writes,
 * KK_EPROTO for an empty message (it cannot even hold a type id). */
static int next_msg(gob_rd *fr, gob_rd *m)
{
    if (fr->p == fr->end)
        return KK_EAGAIN;
    uint64_t n;
    int rc = rd_uint_rc(fr, &n, KK_EAGAIN);
    if (rc < 0)
        return rc;
    if (n >= GOB_MAX_MSG)
        return KK_ETOOBIG;
    if (n > (uint64_t)(fr->end - fr->p))
        return KK_EAGAIN;
    if (n == 0)
        return KK_EPROTO;
    m->p = fr->p;
    m->end = fr->p + n;
    fr->p += n;
    return 0;
}

/* Parses CommonType{Name string; Id int}. Go uses both only in its error
 * messages; here they are checked for form and dropped. */
static int def_common(gob_rd *r)
{
    int64_t fn = -1;
    for (;;) {
        int rc = rd_field(r, &fn, 1, KK_ETYPE);
        if (rc <= 0)
            return rc;
        kk_view name;
        int32_t id;
        rc = fn == 0 ? rd_bytes(r, &name) : rd_typeid(r, &id);
        if (rc < 0)
            return rc;
    }
}

/* Parses one fieldType{Name string; Id int}. A field without a name is
 * KK_ETYPE (Go: "empty name for remote field"). */
static int def_field(gob_rd *r, kk_view *name, int32_t *id)
{
    /* Go's own form first: 01 <len> name 01 <id> 00 with a short name. */
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (left >= 6 && p[0] == 1 && p[1] >= 1 && p[1] < 0x80 && (size_t)p[1] + 5 <= left &&
        p[2 + p[1]] == 1) {
        gob_rd t = { p + 3 + p[1], r->end };
        if (rd_typeid(&t, id) == 0 && t.p < t.end && *t.p == 0) {
            name->p = p + 2;
            name->len = p[1];
            r->p = t.p + 1;
            return 0;
        }
    }
    int64_t fn = -1;
    name->p = NULL;
    name->len = 0;
    *id = 0;
    for (;;) {
        int rc = rd_field(r, &fn, 1, KK_ETYPE);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return name->len ? 0 : KK_ETYPE;
        rc = fn == 0 ? rd_bytes(r, name) : rd_typeid(r, id);
        if (rc < 0)
            return rc;
    }
}

/* Parses structType.Field ([]*fieldType): a count, then the fields. Their
 * type ids go to field slots; names stay in the input for matching. */
static int def_fields(gob_dec *d, gob_rd *r, gob_type *t)
{
    uint64_t n;
    int rc = rd_uint(r, &n);
    if (rc < 0)
        return rc;
    if (n > (uint64_t)(r->end - r->p))
        return KK_EPROTO; /* each field takes at least one byte */
    if (n > GOB_MAX_FIELDS - d->nfields)
        return KK_ETOOBIG;
    t->first = d->nfields;
    t->nfields = (uint32_t)n;
    t->fdefs = r->p;
    for (uint64_t i = 0; i < n; i++) {
        kk_view name;
        rc = def_field(r, &name, &d->field[d->nfields]);
        if (rc < 0)
            return rc;
        d->nfields++;
    }
    t->fdefs_end = r->p;
    return 0;
}

/* Parses the arrayType/sliceType/structType/mapType/gobEncoderType value
 * that the wireType field t->kind points to. Field 0 is always CommonType. */
static int def_kind(gob_dec *d, gob_rd *r, gob_type *t)
{
    static const int8_t last_field[] = { 2, 1, 1, 2, 0, 0, 0 };
    int64_t fn = -1;
    for (;;) {
        int rc = rd_field(r, &fn, last_field[t->kind], KK_ETYPE);
        if (rc <= 0)
            return rc;
        if (fn == 0) {
            rc = def_common(r);
        } else if (t->kind == GK_STRUCT) {
            rc = def_fields(d, r, t);
        } else if (t->kind == GK_ARRAY && fn == 2) {
            rc = rd_int(r, &t->len);
            if (rc == 0 && t->len < 0)
                rc = KK_ETYPE;
        } else if (t->kind == GK_MAP && fn == 1) {
            rc = rd_typeid(r, &t->key);
        } else {
            rc = rd_typeid(r, &t->elem); /* array, slice, map: Elem */
        }
        if (rc < 0)
            return rc;
    }
}

/* Adds the definition of type id read from r (a wireType value). Ids below
 * 65 and ids already defined are KK_ETYPE (Go: "duplicate type received"),
 * a full table KK_ETOOBIG; the wireType must set exactly one kind. */
static int define_type(gob_dec *d, gob_rd *r, int64_t id)
{
    if (id < GOB_FIRST_USER_ID || id > INT32_MAX)
        return KK_ETYPE;
    for (uint32_t i = 0; i < d->ntypes; i++)
        if (d->type[i].id == id)
            return KK_ETYPE;
    if (d->ntypes == CODEC_GOB_MAX_TYPES)
        return KK_ETOOBIG;
    gob_type *t = &d->type[d->ntypes];
    memset(t, 0, sizeof *t);
    t->id = (int32_t)id;
    int64_t fn = -1;
    int kinds = 0;
    for (;;) {
        int rc = rd_field(r, &fn, GK_TEXT, KK_ETYPE);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        if (kinds++)
            return KK_ETYPE; /* two kinds in one definition */
        t->kind = (uint8_t)fn;
        rc = def_kind(d, r, t);
        if (rc < 0)
            return rc;
    }
    if (!kinds)
        return KK_ETYPE;
    d->ntypes++;
    return 0;
}

/* Turns a wire type id into a reference: built-ins 1..8 (bool ... interface)
 * or a type defined in this frame. 0, the reserved and gob-internal ids
 * 9..64 and undefined ids are KK_ETYPE. */
static int resolve(const gob_dec *d, int64_t id, int32_t *ref)
{
    if (id >= GOB_T_BOOL && id <= GOB_T_INTERFACE) {
        *ref = (int32_t)id;
        return 0;
    }
    if (id < GOB_FIRST_USER_ID || id > INT32_MAX)
        return KK_ETYPE;
    uint64_t guess = (uint64_t)(id - GOB_FIRST_USER_ID);
    if (guess < d->ntypes && d->type[guess].id == id) {
        *ref = GOB_REF_USER + (int32_t)guess; /* the usual 65, 66, ... order */
        return 0;
    }
    for (uint32_t i = 0; i < d->ntypes; i++) {
        if (d->type[i].id == id) {
            *ref = GOB_REF_USER + (int32_t)i;
            return 0;
        }
    }
    return KK_ETYPE;
}

/* Resolves the references of the types defined since the last call; called
 * when a type sequence ends, as every id used must be defined by then. */
static int validate(gob_dec *d)
{
    for (uint32_t i = d->nvalid; i < d->ntypes; i++) {
        gob_type *t = &d->type[i];
        int rc = 0;
        if (t->kind == GK_ARRAY || t->kind == GK_SLICE || t->kind == GK_MAP)
            rc = resolve(d, t->elem, &t->elem);
        if (rc == 0 && t->kind == GK_MAP)
            rc = resolve(d, t->key, &t->key);
        for (uint32_t f = t->first; rc == 0 && f < t->first + t->nfields; f++)
            rc = resolve(d, d->field[f], &d->field[f]);
        if (rc < 0)
            return rc;
    }
    d->nvalid = d->ntypes;
    return 0;
}

/* Skips an interface value: the concrete type's name (empty for nil), its
 * type sequence, its type id, then the value as a counted byte run.
 * Go's encoder writes the type sequence as separate messages: the current
 * message ends after the first definition and the value goes on in the
 * next messages (Go's decodeTypeSequence reads a new message whenever its
 * buffer is empty there). So r moves on to the next message here, and
 * only here; a definition followed by more bytes is followed by a count
 * that Go ignores too. */
static int skip_iface(gob_dec *d, gob_rd *r)
{
    kk_view name;
    int rc = rd_bytes(r, &name);
    if (rc < 0 || name.len == 0)
        return rc;
    int64_t id;
    for (;;) {
        if (r->p == r->end && (rc = next_msg(&d->frame, r)) < 0)
            return rc;
        rc = rd_int(r, &id);
        if (rc < 0)
            return rc;
        if (id >= 0)
            break;
        if (id < -(int64_t)INT32_MAX)
            return KK_ETYPE;
        rc = define_type(d, r, -id);
        if (rc < 0)
            return rc;
        uint64_t count;
        if (r->p < r->end && (rc = rd_uint(r, &count)) < 0)
            return rc;
    }
    int32_t ref;
    rc = validate(d);
    if (rc == 0)
        rc = resolve(d, id, &ref);
    if (rc < 0)
        return rc;
    kk_view value;
    return rd_bytes(r, &value);
}

/* Skips a struct value of type t: (delta, value) pairs up to the 0 delta. */
static int skip_struct(gob_dec *d, gob_rd *r, const gob_type *t, unsigned depth)
{
    int64_t fn = -1;
    for (;;) {
        int rc = rd_field(r, &fn, (int64_t)t->nfields - 1, KK_EPROTO);
        if (rc <= 0)
            return rc;
        rc = skip_value(d, r, d->field[t->first + (uint32_t)fn], depth + 1);
        if (rc < 0)
            return rc;
    }
}

/* Skips an array, slice or map value: a count, then the elements (key and
 * element pairs for maps). Every element takes at least one byte, so a
 * count over the bytes left is KK_EPROTO before any work is done. The
 * bytes left include the frame's later messages: elements holding
 * interfaces continue there (see skip_iface). */
static int skip_seq(gob_dec *d, gob_rd *r, const gob_type *t, unsigned depth)
{
    uint64_t n;
    int rc = rd_uint(r, &n);
    if (rc < 0)
        return rc;
    uint64_t left = (uint64_t)(r->end - r->p) + (uint64_t)(d->frame.end - d->frame.p);
    if (t->kind == GK_ARRAY && n != (uint64_t)t->len)
        return KK_EPROTO; /* Go: "length mismatch in ignoreArray" */
    if (n > (t->kind == GK_MAP ? left / 2 : left))
        return KK_EPROTO;
    for (uint64_t i = 0; i < n; i++) {
        if (t->kind == GK_MAP && (rc = skip_value(d, r, t->key, depth + 1)) < 0)
            return rc;
        if ((rc = skip_value(d, r, t->elem, depth + 1)) < 0)
            return rc;
    }
    return 0;
}

/* Skips one value of type ref at nesting depth (the top-level struct is 1).
 * Compound values past CODEC_GOB_MAX_DEPTH are KK_EDEPTH. */
static int skip_value(gob_dec *d, gob_rd *r, int32_t ref, unsigned depth)
{
    uint64_t u;
    kk_view v;
    int rc;
    switch (ref) {
    case GOB_T_BOOL:
    case GOB_T_INT:
    case GOB_T_UINT:
    case GOB_T_FLOAT: /* a float64 is sent as a byte-reversed uint */
        return rd_uint(r, &u);
    case GOB_T_COMPLEX:
        rc = rd_uint(r, &u);
        return rc < 0 ? rc : rd_uint(r, &u);
    case GOB_T_BYTES:
    case GOB_T_STRING:
        return rd_bytes(r, &v);
    case GOB_T_INTERFACE:
        return skip_iface(d, r);
    default:
        break;
    }
    if (depth > CODEC_GOB_MAX_DEPTH)
        return KK_EDEPTH;
    const gob_type *t = &d->type[ref - GOB_REF_USER];
    switch (t->kind) {
    case GK_STRUCT:
        return skip_struct(d, r, t, depth);
    case GK_ARRAY:
    case GK_SLICE:
    case GK_MAP:
        return skip_seq(d, r, t, depth);
    default: /* GobEncoder, BinaryMarshaler, TextMarshaler: a byte slice */
        return rd_bytes(r, &v);
    }
}

/* Go's compileDec for our struct s: matches every wire field of t to ours
 * by exact name, records the match in role[], and fails with KK_ETYPE when
 * a matched field's wire type is not assignable (gob: int32/int64 take only
 * int, string only string, []byte only []byte) or when t has fields and
 * none matches ("no fields matched compiling decoder"). */
static int match_fields(gob_dec *d, const gob_type *t, const gob_struct *s)
{
    gob_rd fr = { t->fdefs, t->fdefs_end };
    unsigned matched = 0;
    for (uint32_t i = 0; i < t->nfields; i++) {
        kk_view name;
        int32_t id;
        int rc = def_field(&fr, &name, &id);
        if (rc < 0)
            return rc;
        int8_t role = -1;
        for (unsigned j = 0; j < s->nfields; j++) {
            const gob_field *f = &s->fields[j];
            if (name.len == f->name_len && name.p[0] == (uint8_t)f->name[0] &&
                memcmp(name.p, f->name, name.len) == 0) {
                if (d->field[t->first + i] != codec__gob_kind_id(f->kind))
                    return KK_ETYPE;
                role = (int8_t)j;
                matched++;
                break;
            }
        }
        d->role[t->first + i] = role;
    }
    return t->nfields > 0 && matched == 0 ? KK_ETYPE : 0;
}

/* Reads the value of our field f from r into the C struct at out. */
static int read_known(gob_rd *r, const gob_field *f, void *out)
{
    uint8_t *at = (uint8_t *)out + f->off;
    int64_t i;
    kk_view v;
    int rc;
    switch (f->kind) {
    case GOB_F_INT32:
        if ((rc = rd_int(r, &i)) < 0)
            return rc;
        if (i < INT32_MIN || i > INT32_MAX)
            return KK_EOVERFLOW; /* Go: value out of range */
        int32_t i32 = (int32_t)i;
        memcpy(at, &i32, sizeof i32);
        return 0;
    case GOB_F_INT64:
        if ((rc = rd_int(r, &i)) < 0)
            return rc;
        memcpy(at, &i, sizeof i);
        return 0;
    default:
        if ((rc = rd_bytes(r, &v)) < 0)
            return rc;
        memcpy(at, &v, sizeof v);
        return 0;
    }
}

/* Decodes the top-level struct value of type t into out: our fields by
 * name, the others skipped. After match_fields each wire field is one
 * table look-up (role[]) away from its C field or its skip. */
static int decode_top(gob_dec *d, gob_rd *r, const gob_type *t, const gob_struct *s, void *out)
{
    int rc = match_fields(d, t, s);
    if (rc < 0)
        return rc;
    int64_t fn = -1;
    for (;;) {
        rc = rd_field(r, &fn, (int64_t)t->nfields - 1, KK_EPROTO);
        if (rc <= 0)
            return rc;
        uint32_t slot = t->first + (uint32_t)fn;
        if (d->role[slot] >= 0)
            rc = read_known(r, &s->fields[d->role[slot]], out);
        else
            rc = skip_value(d, r, d->field[slot], 2);
        if (rc < 0)
            return rc;
    }
}

/* Walks the messages of a frame: definitions, then the value, which must
 * end the frame. A frame that ends before the value (nothing, or
 * definitions only) is KK_EAGAIN: the value is still to come. */
static int decode_frame(gob_dec *d, const gob_struct *s, void *out)
{
    for (;;) {
        gob_rd m;
        int64_t id;
        int rc = next_msg(&d->frame, &m);
        if (rc < 0)
            return rc;
        if ((rc = rd_int(&m, &id)) < 0)
            return rc;
        if (id < 0) {
            if (id < -(int64_t)INT32_MAX)
                return KK_ETYPE;
            if ((rc = define_type(d, &m, -id)) < 0)
                return rc;
            if (m.p != m.end)
                return KK_EPROTO; /* Go: "extra data in buffer" */
            continue;
        }
        int32_t ref;
        if ((rc = validate(d)) < 0 || (rc = resolve(d, id, &ref)) < 0)
            return rc;
        if (ref < GOB_REF_USER || d->type[ref - GOB_REF_USER].kind != GK_STRUCT)
            return KK_ETYPE; /* Go: "want struct type; got non-struct" */
        if ((rc = decode_top(d, &m, &d->type[ref - GOB_REF_USER], s, out)) < 0)
            return rc;
        return m.p == m.end && d->frame.p == d->frame.end ? 0 : KK_EPROTO;
    }
}

/* The common case, every frame of the gateway: the frame starts with the
 * very definition our encoder writes for s, then the value of type 65 ends
 * it. The wire fields are then ours, in order, so the value goes straight
 * into out. Returns 1 when the frame has another shape (the general path
 * decides), else 0 or the code the general path would return as well. */
static int decode_canonical(const gob_struct *s, const uint8_t *in, size_t len, void *out)
{
    if (len <= s->def_len || memcmp(in, s->def, s->def_len) != 0)
        return 1;
    gob_rd fr = { in + s->def_len, in + len }, m;
    int rc = next_msg(&fr, &m);
    if (rc < 0)
        return rc;
    if (m.end - m.p < 2 || m.p[0] != 0xff || m.p[1] != 0x82)
        return 1; /* not the value of 65: more definitions, or another id */
    m.p += 2;
    int64_t fn = -1;
    while ((rc = rd_field(&m, &fn, s->nfields - 1, KK_EPROTO)) > 0)
        if ((rc = read_known(&m, &s->fields[fn], out)) < 0)
            return rc;
    if (rc < 0)
        return rc;
    return m.p == m.end && fr.p == fr.end ? 0 : KK_EPROTO;
}

/* Decodes a frame into out (a C struct described by s); on failure out is
 * zeroed. The decoder state lives on this stack frame (about 8 KiB). */
static int gob_decode(const gob_struct *s, const uint8_t *in, size_t len, void *out)
{
    if (!out)
        return KK_EINVAL;
    memset(out, 0, s->size);
    if (len == 0)
        return KK_EAGAIN;
    if (!in)
        return KK_EINVAL;
    int rc = decode_canonical(s, in, len, out);
    if (rc <= 0) {
        if (rc < 0)
            memset(out, 0, s->size);
        return rc;
    }
    gob_dec d;
    d.frame.p = in;
    d.frame.end = in + len;
    d.ntypes = d.nvalid = d.nfields = 0;
    rc = decode_frame(&d, s, out);
    if (rc < 0)
        memset(out, 0, s->size);
    return rc;
}

/* Decodes a Req-shaped gob frame (client → gateway; tools and tests). */
int codec_gob_decode_req(const uint8_t *in, size_t len, codec_req *out)
{
    return gob_decode(&codec__gob_req, in, len, out);
}

/* Decodes a Resp-shaped gob frame from the gateway. */
int codec_gob_decode_resp(const uint8_t *in, size_t len, codec_resp *out)
{
    return gob_decode(&codec__gob_resp, in, len, out);
}
