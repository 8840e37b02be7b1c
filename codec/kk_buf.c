/* kk_buf.c — capped growable byte buffers and byte views. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Initializes an empty buffer capped at max bytes; allocates nothing. */
void kk_buf_init(kk_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Grows capacity (doubling, capped at max) so extra more bytes fit. */
int kk_buf_reserve(kk_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return KK_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    uint8_t *np = realloc(b->p, ncap);
    if (!np)
        return KK_ENOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

/* Appends n bytes; the buffer is unchanged on failure. */
int kk_buf_append(kk_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    int rc = kk_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

/* Drops the contents but keeps the allocation for reuse. */
void kk_buf_reset(kk_buf *b)
{
    b->len = 0;
}

/* Frees the allocation; the buffer stays usable (empty, same cap limit). */
void kk_buf_free(kk_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Views a C string (without its NUL); NULL gives the empty view. */
kk_view kk_view_str(const char *s)
{
    kk_view v = { (const uint8_t *)s, s ? strlen(s) : 0 };
    return v;
}
