/* pbjson_int.h — helpers shared by pbjson.c (decode) and pbjson_enc.c
 * (encode). Private to the pbjson module; not a contract. */
#ifndef KK_PBJSON_INT_H
#define KK_PBJSON_INT_H

#include "pbjson.h"
#include "pbwire.h"

/* A JSON path being built while descending ("msgs.si_a_b.Msgs[0]"). */
typedef struct pbjson__path {
    char s[PBJSON_PATH_MAX];
    size_t len;
} pbjson__path;

/* Appends ".name" (no dot at the root) and returns the old length, which
 * pbjson__path_pop restores. Too long a path ends in "...". */
size_t pbjson__path_field(pbjson__path *p, const char *name);
/* Appends ".key" for a map key of klen bytes (NULs and control characters
 * shown as '?'); returns the mark. */
size_t pbjson__path_key(pbjson__path *p, const char *key, size_t klen);
/* Appends "[i]". */
size_t pbjson__path_index(pbjson__path *p, size_t i);
/* Restores the path to an earlier length. */
void pbjson__path_pop(pbjson__path *p, size_t mark);

/* Fills err (when not NULL) with the path, the text and an optional
 * offset (has_off false = none); returns code. */
int pbjson__fail(pbjson_err *err, const pbjson__path *p, int code, bool has_off,
                 size_t off, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* True when fd is a map field: a repeated message whose type is the
 * synthesized nested *Entry message with key = 1 and value = 2. */
bool pbjson__is_map(const ProtobufCFieldDescriptor *fd);
/* True for scalar types that proto3 packs when repeated. */
bool pbjson__packable(ProtobufCType t);
/* The wire type a protobuf-c type travels as. */
enum pbwire_type pbjson__wire_type(ProtobufCType t);
/* The short name of a type for messages ("int64", "string", ...). */
const char *pbjson__type_name(ProtobufCType t);

#endif
