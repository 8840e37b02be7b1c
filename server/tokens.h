/* tokens.h — where a tenant's login tokens come from (design §4, §8.1).
 *
 * A token store maps (userID, platformID) to the current token of that
 * login. This file covers the sources that need no network: `static` (the
 * config's "tokens" object) and `file` (lines "userID platformID token",
 * '#' comments, re-read on reload and after a token-expired handshake).
 * Values are kk_secrets: they never reach logs, metrics or errors.
 *
 * It also reads a JWT's `exp` claim from the unverified payload, to refresh
 * ahead of expiry (NOTES §1.5). Loop thread only; file reads happen at
 * start, reload and token expiry only (small files).
 */
#ifndef KK_TOKENS_H
#define KK_TOKENS_H

#include <stdint.h>

#include "config.h"
#include "secret.h"

typedef struct tok_store tok_store;

/* Creates a store for tenant tc's token source and loads it. A file that
 * cannot be read leaves the store empty and writes the reason (without
 * token text) to err; NULL only for an unsupported source or no memory. */
tok_store *tok_store_new(const cfg_tenant *tc, char *err, size_t errlen);
/* Frees the store and wipes its tokens. NULL is fine. */
void tok_store_free(tok_store *ts);
/* Re-reads a file source (static: no-op). Returns 0 or a negative kk_err;
 * on failure the previous tokens stay. */
int tok_store_reload(tok_store *ts, char *err, size_t errlen);
/* The token of (user, platform), or of (user, any platform), or NULL. */
const kk_secret *tok_store_get(const tok_store *ts, const char *user, int platform);
/* Number of tokens held. */
size_t tok_store_count(const tok_store *ts);

/* The `exp` claim (seconds since the epoch) of a JWT, read without
 * verifying the signature; 0 when absent or unreadable. */
int64_t tok_jwt_exp(const char *jwt);

#endif
