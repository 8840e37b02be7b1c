/* secret.c — opaque secret values (see secret.h). */
#include "secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct kk_secret {
    size_t len;
    char value[]; /* len bytes + NUL */
};

/* Overwrites n bytes through a volatile pointer so the store is kept. */
static void secret_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* Allocates a secret holding a copy of value; NULL on ENOMEM. */
kk_secret *kk_secret_new(const char *value, size_t len)
{
    if (len > SIZE_MAX - sizeof(kk_secret) - 1)
        return NULL;
    kk_secret *s = malloc(sizeof *s + len + 1);
    if (!s)
        return NULL;
    s->len = len;
    if (len)
        memcpy(s->value, value, len);
    s->value[len] = '\0';
    return s;
}

/* Duplicates s; NULL in gives NULL out. */
kk_secret *kk_secret_dup(const kk_secret *s)
{
    return s ? kk_secret_new(s->value, s->len) : NULL;
}

/* Wipes the value, then frees. */
void kk_secret_free(kk_secret *s)
{
    if (!s)
        return;
    secret_wipe(s->value, s->len);
    free(s);
}

/* Returns the length, 0 for NULL. */
size_t kk_secret_len(const kk_secret *s)
{
    return s ? s->len : 0;
}

/* Returns the value ("" for NULL). */
const char *kk_secret_reveal(const kk_secret *s)
{
    return s ? s->value : "";
}

/* Constant-time compare: the loop always runs over the secret's length and
 * the length difference is folded into the result, never branched on. */
bool kk_secret_equal(const kk_secret *s, const char *candidate, size_t len)
{
    if (!s || !candidate)
        return false;
    unsigned diff = (unsigned)(s->len != len);
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = i < len ? (unsigned char)candidate[i] : 0;
        diff |= (unsigned)((unsigned char)s->value[i] ^ c);
    }
    return diff == 0;
}

/* Equality for config diffs (not timing sensitive). */
bool kk_secret_same(const kk_secret *a, const kk_secret *b)
{
    if (!a || !b)
        return a == b;
    return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}
