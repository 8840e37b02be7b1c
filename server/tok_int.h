/* tok_int.h — private to the tokens module (tokens.c, tok_fetch.c). */
#ifndef KK_TOK_INT_H
#define KK_TOK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "log.h"
#include "tok_http.h"
#include "tokens.h"

/* A cached token is refreshed when it expires within this many seconds
 * (NOTES §1.5: refresh before exp), but not more often than every
 * TOK_REFETCH_MIN_MS (a source that only has a short-lived token). */
#define TOK_REFRESH_AHEAD_S 300
#define TOK_REFETCH_MIN_MS 30000u
/* A cached token still valid this long is used while a refresh runs. */
#define TOK_USABLE_S 30
/* Failed fetches retry with exponential backoff between these bounds. */
#define TOK_RETRY_MIN_MS 1000u
#define TOK_RETRY_MAX_MS 30000u
/* http source: requests in flight per tenant, and each one's deadline. */
#define TOK_HTTP_PARALLEL 8
#define TOK_HTTP_TIMEOUT_MS 5000u

typedef struct tok_entry {
    char *user;
    int platform; /* 0 = any */
    kk_secret *token;
} tok_entry;

enum tok_cstate { TOK_C_FETCHING = 0, TOK_C_OK, TOK_C_FAILED, TOK_C_MISSING };

/* One cached login token of a fetched or minted source. */
typedef struct tok_cent {
    struct tok_cent *next; /* hash chain */
    int platform;
    uint8_t state;         /* enum tok_cstate */
    bool refreshing;       /* a fetch runs while an OK token is kept */
    kk_secret *tok;
    int64_t exp;           /* seconds since the epoch, 0 unknown */
    uint64_t fetched_ms;
    uint64_t retry_ms;     /* FAILED: not before */
    unsigned fails;
    char user[];
} tok_cent;

/* One fetch in flight (redis HMGET or an http call). */
typedef struct tok_req {
    struct tok_req *next, *prev;
    struct tok_store *ts;  /* NULL once the store is gone (redis replies) */
    tok_http *http;
    bool admin;            /* http: the admin-token call */
    bool waiting;          /* http: waits for the admin token */
    int platform;
    char user[];
} tok_req;

struct tok_store {
    enum cfg_token_source source;
    char *path;
    tok_entry *v;
    size_t n;
    /* fetched and minted sources */
    uv_loop_t *loop;
    struct rconn *redis;
    kk_log_ctx log;
    char *tenant;
    char *redis_key;
    tok_url url;
    char *admin_user;
    kk_secret *secret;
    uint64_t ttl_ms;
    tok_cent **buckets;
    size_t nbuckets, ncached;
    tok_req *reqs;         /* in flight */
    size_t inflight;
    kk_secret *admin_tok;  /* http */
    int64_t admin_exp;
    bool admin_pending;
    uint64_t admin_retry_ms;
    unsigned admin_fails;
    unsigned op_counter;
    tok_stats stats;
};

/* tokens.c: the cache */
tok_cent *tok__cache_find(tok_store *ts, const char *user, int platform);
tok_cent *tok__cache_add(tok_store *ts, const char *user, int platform);
void tok__cache_drop(tok_store *ts, const char *user, int platform);
void tok__cache_free(tok_store *ts);

/* tok_fetch.c */
int tok__want_fetched(tok_store *ts, const char *user, int platform, const kk_secret **tok);
int tok__want_jwt(tok_store *ts, const char *user, int platform, const kk_secret **tok);
void tok__reqs_cancel(tok_store *ts);

#endif
