/* posidx.h — a position index over JSON text: maps each value's JSON path
 * ("/tenants/0/gateway/url", RFC 6901 escaping) to the line and column of the
 * value and, for object members, of the key.
 *
 * jansson reports positions only for syntax errors; the config loader uses
 * this index to give every semantic error (unknown key, bad value) a
 * FILE:LINE:COL. Lines and columns are 1-based; columns count bytes.
 * The scanner is bounded (POSIDX_MAX_DEPTH) and never reads past len; on
 * malformed input it stops and keeps what it indexed so far.
 * No I/O, no globals; the caller owns the index (posidx_free).
 */
#ifndef KK_POSIDX_H
#define KK_POSIDX_H

#include <stdbool.h>
#include <stddef.h>

/* Deeper nesting is not indexed (config files are shallow; this bounds
 * the scanner's recursion on hostile input). */
#define POSIDX_MAX_DEPTH 64
/* Longest JSON path kept; longer paths are not indexed. */
#define POSIDX_MAX_PATH 512

typedef struct posidx posidx;

/* Scans text and returns a new index in *out. Returns 0, KK_ENOMEM, or
 * KK_EJSON when the text is malformed (the partial index is still returned
 * and must be freed). */
int posidx_build(const char *text, size_t len, posidx **out);

/* Frees the index; NULL is a no-op. */
void posidx_free(posidx *idx);

/* Looks up path; when it is absent, its nearest indexed ancestor is used.
 * want_key selects the member's key position (falls back to the value's).
 * Always sets line and col (1:1 for the root or an empty index). */
void posidx_find(const posidx *idx, const char *path, bool want_key, int *line, int *col);

/* Appends a slash + the RFC 6901 escaped segment to path (cap bytes).
 * Returns false when it would not fit (path unchanged). */
bool posidx_path_push(char *path, size_t cap, const char *seg);

#endif
