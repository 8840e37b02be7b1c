/* tokens.h — where a tenant's login tokens come from (design §4, §8.1).
 *
 * A token store maps (userID, platformID) to the current token of that
 * login. This file covers the sources that need no network: `static` (the
 * config's "tokens" object) and `file` (lines "userID platformID token",
 * '#' comments, re-read on reload and after a token-expired handshake).
 * Values are kk_secrets: they never reach logs, metrics or errors.
 *
 * tok_store_open() adds the sources that need the loop: `redis` (HMGET of
 * kkim:{T}:tokens fields "userID:platformID", then "userID"), `http`
 * (OpenIM's admin API: /auth/get_admin_token with the secret, then
 * /auth/get_user_token per login; tok_http.h) and `jwt` (HS256 minted
 * with the secret, OpenIM's claims UserID, PlatformID, exp, nbf, iat).
 * Their tokens are cached per login and fetched asynchronously: the caller
 * polls tok_store_want() (the tenant's login pacer does, every tick), which
 * never blocks. Failures retry with backoff (1 s → 30 s) and touch only the
 * store's own tenant. A cached token expiring within 5 minutes is
 * refreshed at the next want (the next reconnect): a live connection is
 * never dropped for it (NOTES §1.5).
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

struct rconn;
typedef struct uv_loop_s uv_loop_t;
typedef struct tok_store tok_store;

/* Counters of a store (status, tests). */
typedef struct tok_stats {
    uint64_t fetches;   /* redis/http fetches started */
    uint64_t failures;  /* fetches that failed (timeouts, garbage, errors) */
    uint64_t missing;   /* answers "no token for this login" */
    uint64_t minted;    /* jwt tokens minted */
} tok_stats;

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
/* Number of tokens held (cached ones for fetched and minted sources). */
size_t tok_store_count(const tok_store *ts);

/* Creates a store for any source. loop is needed by redis, http and jwt;
 * redis (borrowed, must outlive the store) by the redis source. Same
 * failure rules as tok_store_new. */
tok_store *tok_store_open(const cfg_tenant *tc, uv_loop_t *loop, struct rconn *redis, char *err,
                          size_t errlen);
/* The token to log in (user, platform) with, without blocking:
 * 0 and *tok (valid until the next call into the store) — use it now;
 * KK_EAGAIN — a fetch runs or waits for its retry time: ask again later;
 * KK_ENOTFOUND — the source has no token for this login (park it). */
int tok_store_want(tok_store *ts, const char *user, int platform, const kk_secret **tok);
/* After the gateway refused (user, platform)'s token: a file source is
 * re-read, a cached token is forgotten (the next want fetches or mints a
 * new one). Returns 0 or a negative kk_err (file unreadable: err says why,
 * the old tokens stay). */
int tok_store_refresh(tok_store *ts, const char *user, int platform, char *err, size_t errlen);
/* The store's counters. */
tok_stats tok_store_stats(const tok_store *ts);

/* Mints an HS256 JWT with OpenIM's claims {"UserID","PlatformID","exp",
 * "nbf","iat"} (nbf = now - 60 s, as OpenIM) signed with key. Returns a new
 * secret or NULL (no memory). */
kk_secret *tok_jwt_mint(const kk_secret *key, const char *user, int platform, int64_t now_s,
                        int64_t ttl_s);

/* The `exp` claim (seconds since the epoch) of a JWT, read without
 * verifying the signature; 0 when absent or unreadable. */
int64_t tok_jwt_exp(const char *jwt);

#endif
