/* secret.h — kk_secret: a token, password or key whose value never reaches a
 * log line, a metric or an error text.
 *
 * The type is opaque: there is no field to print by accident. The only way
 * to the bytes is kk_secret_reveal(), named so that a reviewer sees every
 * place that touches a value (the HTTP Authorization compare, the Redis AUTH
 * argv, the gateway login). The logger offers KK_SECRET() which writes the
 * length only. Memory is wiped before it is freed.
 *
 * Thread: any; an object is used by one thread at a time. Owner: whoever
 * called kk_secret_new()/kk_secret_dup(); free with kk_secret_free().
 */
#ifndef KK_SECRET_H
#define KK_SECRET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kk_secret kk_secret;

/* Copies len bytes of value into a new secret. Returns NULL on ENOMEM. */
kk_secret *kk_secret_new(const char *value, size_t len);

/* Copies a secret (NULL gives NULL). Returns NULL on ENOMEM too. */
kk_secret *kk_secret_dup(const kk_secret *s);

/* Wipes and frees; NULL is a no-op. */
void kk_secret_free(kk_secret *s);

/* Length of the value in bytes (0 for NULL). */
size_t kk_secret_len(const kk_secret *s);

/* The NUL-terminated value, for the few places that must send it.
 * Never pass the result to the logger, a metric or an error message. */
const char *kk_secret_reveal(const kk_secret *s);

/* Compares the secret with len bytes of candidate in time independent of
 * where they differ (admin bearer tokens). NULL secret never matches. */
bool kk_secret_equal(const kk_secret *s, const char *candidate, size_t len);

/* True when both are NULL or both hold the same bytes (config reload). */
bool kk_secret_same(const kk_secret *a, const kk_secret *b);

#endif
