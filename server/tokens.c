/* tokens.c — static and file token sources, the store's dispatch and
 * cache for the fetched and minted sources (tok_fetch.c), and the JWT exp
 * reader. Contract: tokens.h. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "tok_int.h"

/* Largest token file read; a token is ~300 bytes, so this is ~100k logins. */
#define TOK_FILE_MAX (32u * 1024 * 1024)

/* Frees the entries of a table. */
static void entries_free(tok_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].user);
        kk_secret_free(v[i].token);
    }
    free(v);
}

/* Adds one entry to (v, n), growing as needed. */
static int entries_add(tok_entry **v, size_t *n, size_t *cap, const char *user, int platform,
                       const char *tok, size_t toklen)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        tok_entry *nv = realloc(*v, ncap * sizeof *nv);
        if (!nv)
            return KK_ENOMEM;
        *v = nv;
        *cap = ncap;
    }
    tok_entry *e = &(*v)[*n];
    e->user = strdup(user);
    e->platform = platform;
    e->token = kk_secret_new(tok, toklen);
    if (!e->user || !e->token) {
        free(e->user);
        kk_secret_free(e->token);
        return KK_ENOMEM;
    }
    (*n)++;
    return 0;
}

/* Parses a token file: "userID platformID token" per line, '#' comments.
 * Errors name the line, never its token. */
static int parse_file(const char *path, tok_entry **out, size_t *nout, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open token file %s: %s", path, strerror(errno));
        return KK_EIO;
    }
    tok_entry *v = NULL;
    size_t n = 0, cap = 0, lineno = 0, total = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        total += (size_t)len;
        if (total > TOK_FILE_MAX) {
            snprintf(err, errlen, "token file %s is larger than %u bytes", path, TOK_FILE_MAX);
            rc = KK_ETOOBIG;
            break;
        }
        char *save = NULL;
        char *user = strtok_r(line, " \t\r\n", &save);
        if (!user || user[0] == '#')
            continue;
        char *plat = strtok_r(NULL, " \t\r\n", &save);
        char *tok = strtok_r(NULL, " \t\r\n", &save);
        char *end = NULL;
        long p = plat ? strtol(plat, &end, 10) : -1;
        if (!tok || !end || *end || p < 0 || p > 10000) {
            snprintf(err, errlen, "%s:%zu: expected \"userID platformID token\"", path, lineno);
            rc = KK_EPROTO;
            break;
        }
        rc = entries_add(&v, &n, &cap, user, (int)p, tok, strlen(tok));
        memset(tok, 0, strlen(tok));
        if (rc < 0)
            break;
    }
    if (line) {
        memset(line, 0, lcap);
        free(line);
    }
    fclose(f);
    if (rc < 0) {
        entries_free(v, n);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Copies the settings of a fetched or minted source; 0 or a reason. */
static const char *open_remote(tok_store *ts, const cfg_tenant *tc, uv_loop_t *loop,
                               struct rconn *redis)
{
    ts->loop = loop;
    ts->redis = redis;
    ts->tenant = strdup(tc->id ? tc->id : "");
    ts->log.mod = "tokens";
    ts->log.tenant = ts->tenant;
    ts->nbuckets = 1024;
    ts->buckets = calloc(ts->nbuckets, sizeof *ts->buckets);
    if (!ts->tenant || !ts->buckets)
        return "out of memory";
    switch (ts->source) {
    case CFG_TOK_REDIS:
        if (!loop || !redis)
            return "token source redis needs the loop and a Redis connection";
        ts->redis_key = strdup(tc->tokens.redis_key ? tc->tokens.redis_key : "");
        return ts->redis_key ? NULL : "out of memory";
    case CFG_TOK_HTTP:
        if (!loop)
            return "token source http needs the loop";
        if (!tc->tokens.url || tok_url_parse(tc->tokens.url, &ts->url) < 0)
            return "token source http: url must be http://host[:port][/prefix]";
        ts->admin_user = strdup(tc->tokens.admin_user_id ? tc->tokens.admin_user_id : "imAdmin");
        ts->secret = tc->tokens.secret ? kk_secret_dup(tc->tokens.secret) : NULL;
        return ts->admin_user && ts->secret ? NULL : "token source http: no secret";
    case CFG_TOK_JWT:
        ts->secret = tc->tokens.secret ? kk_secret_dup(tc->tokens.secret) : NULL;
        ts->ttl_ms = tc->tokens.ttl_ms ? tc->tokens.ttl_ms : 24ull * 3600 * 1000;
        return ts->secret ? NULL : "token source jwt: no secret";
    default:
        return "token source not supported by this build";
    }
}

/* Creates a store for any source (tokens.h). */
tok_store *tok_store_open(const cfg_tenant *tc, uv_loop_t *loop, struct rconn *redis, char *err,
                          size_t errlen)
{
    tok_store *ts = calloc(1, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ts->source = tc->tokens.source;
    if (ts->source == CFG_TOK_STATIC) {
        size_t cap = 0;
        for (size_t i = 0; i < tc->tokens.n_statics; i++) {
            const cfg_static_token *st = &tc->tokens.statics[i];
            if (entries_add(&ts->v, &ts->n, &cap, st->user_id, 0, kk_secret_reveal(st->token),
                            kk_secret_len(st->token)) < 0) {
                snprintf(err, errlen, "out of memory");
                tok_store_free(ts);
                return NULL;
            }
        }
        return ts;
    }
    if (ts->source == CFG_TOK_FILE) {
        ts->path = strdup(tc->tokens.path ? tc->tokens.path : "");
        if (!ts->path) {
            snprintf(err, errlen, "out of memory");
            tok_store_free(ts);
            return NULL;
        }
        /* A missing or bad file is not fatal: the logins wait (parked, "no
         * token") until a reload or a token-expired retry reads it again. */
        (void)tok_store_reload(ts, err, errlen);
        return ts;
    }
    const char *why = open_remote(ts, tc, loop, redis);
    if (why) {
        snprintf(err, errlen, "%s", why);
        tok_store_free(ts);
        return NULL;
    }
    return ts;
}

/* Creates a store for a source that needs no loop (static, file, jwt). */
tok_store *tok_store_new(const cfg_tenant *tc, char *err, size_t errlen)
{
    return tok_store_open(tc, NULL, NULL, err, errlen);
}

/* Re-reads a file source (keeps the old table on failure); a fetched
 * source forgets its cache, so every next login fetches afresh. */
int tok_store_reload(tok_store *ts, char *err, size_t errlen)
{
    if (ts->source == CFG_TOK_REDIS || ts->source == CFG_TOK_HTTP) {
        tok__cache_free(ts);
        return 0;
    }
    if (ts->source != CFG_TOK_FILE)
        return 0;
    tok_entry *v = NULL;
    size_t n = 0;
    int rc = parse_file(ts->path, &v, &n, err, errlen);
    if (rc < 0)
        return rc;
    entries_free(ts->v, ts->n);
    ts->v = v;
    ts->n = n;
    return 0;
}

/* Frees the store; secrets wipe themselves. */
void tok_store_free(tok_store *ts)
{
    if (!ts)
        return;
    tok__reqs_cancel(ts);
    tok__cache_free(ts);
    free(ts->buckets);
    entries_free(ts->v, ts->n);
    free(ts->path);
    free(ts->tenant);
    free(ts->redis_key);
    free(ts->admin_user);
    kk_secret_free(ts->secret);
    kk_secret_free(ts->admin_tok);
    free(ts);
}

/* Exact (user, platform) first, then an entry for any platform. */
const kk_secret *tok_store_get(const tok_store *ts, const char *user, int platform)
{
    const kk_secret *any = NULL;
    for (size_t i = 0; i < ts->n; i++) {
        if (strcmp(ts->v[i].user, user) != 0)
            continue;
        if (ts->v[i].platform == platform)
            return ts->v[i].token;
        if (ts->v[i].platform == 0)
            any = ts->v[i].token;
    }
    return any;
}

/* Number of tokens held. */
size_t tok_store_count(const tok_store *ts)
{
    return ts->buckets ? ts->ncached : ts->n;
}

/* The store's counters. */
tok_stats tok_store_stats(const tok_store *ts)
{
    return ts->stats;
}

/* Dispatches a want to the source (tokens.h). */
int tok_store_want(tok_store *ts, const char *user, int platform, const kk_secret **tok)
{
    switch (ts->source) {
    case CFG_TOK_REDIS:
    case CFG_TOK_HTTP:
        return tok__want_fetched(ts, user, platform, tok);
    case CFG_TOK_JWT:
        return tok__want_jwt(ts, user, platform, tok);
    default:
        *tok = tok_store_get(ts, user, platform);
        return *tok ? 0 : KK_ENOTFOUND;
    }
}

/* Forgets a refused token (tokens.h). */
int tok_store_refresh(tok_store *ts, const char *user, int platform, char *err, size_t errlen)
{
    if (ts->source == CFG_TOK_FILE)
        return tok_store_reload(ts, err, errlen);
    if (ts->buckets)
        tok__cache_drop(ts, user, platform);
    return 0;
}

/* FNV-1a of user and platform: the cache's bucket. */
static size_t cache_hash(const tok_store *ts, const char *user, int platform)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = user; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ (unsigned)platform) * 1099511628211ull;
    return (size_t)(h % ts->nbuckets);
}

/* The cached entry of (user, platform), or NULL. */
tok_cent *tok__cache_find(tok_store *ts, const char *user, int platform)
{
    for (tok_cent *e = ts->buckets[cache_hash(ts, user, platform)]; e; e = e->next)
        if (e->platform == platform && strcmp(e->user, user) == 0)
            return e;
    return NULL;
}

/* Doubles the bucket array when the chains get long (no-op on ENOMEM). */
static void cache_grow(tok_store *ts)
{
    size_t nb = ts->nbuckets * 2;
    tok_cent **nv = calloc(nb, sizeof *nv);
    if (!nv)
        return;
    tok_cent **old = ts->buckets;
    size_t ob = ts->nbuckets;
    ts->buckets = nv;
    ts->nbuckets = nb;
    for (size_t i = 0; i < ob; i++) {
        for (tok_cent *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t b = cache_hash(ts, e->user, e->platform);
            e->next = nv[b];
            nv[b] = e;
        }
    }
    free(old);
}

/* Adds an empty (FETCHING) entry; NULL on ENOMEM. */
tok_cent *tok__cache_add(tok_store *ts, const char *user, int platform)
{
    if (ts->ncached > ts->nbuckets * 2)
        cache_grow(ts);
    size_t ul = strlen(user);
    tok_cent *e = calloc(1, sizeof *e + ul + 1);
    if (!e)
        return NULL;
    memcpy(e->user, user, ul + 1);
    e->platform = platform;
    size_t b = cache_hash(ts, user, platform);
    e->next = ts->buckets[b];
    ts->buckets[b] = e;
    ts->ncached++;
    return e;
}

/* Removes (user, platform)'s entry; a fetch in flight finds none and
 * creates a fresh one with its answer. */
void tok__cache_drop(tok_store *ts, const char *user, int platform)
{
    for (tok_cent **pp = &ts->buckets[cache_hash(ts, user, platform)]; *pp; pp = &(*pp)->next) {
        tok_cent *e = *pp;
        if (e->platform == platform && strcmp(e->user, user) == 0) {
            *pp = e->next;
            kk_secret_free(e->tok);
            free(e);
            ts->ncached--;
            return;
        }
    }
}

/* Frees every cached entry (the buckets stay). */
void tok__cache_free(tok_store *ts)
{
    if (!ts->buckets)
        return;
    for (size_t i = 0; i < ts->nbuckets; i++) {
        for (tok_cent *e = ts->buckets[i], *next; e; e = next) {
            next = e->next;
            kk_secret_free(e->tok);
            free(e);
        }
        ts->buckets[i] = NULL;
    }
    ts->ncached = 0;
}

/* Decodes base64url (no padding needed) into out; returns length or -1. */
static long b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    unsigned acc = 0, bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-' || c == '+') v = 62;
        else if (c == '_' || c == '/') v = 63;
        else if (c == '=') break;
        else return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* Reads exp from the JWT's middle part; the signature is not checked (the
 * gateway checks it: we only schedule a refresh). */
int64_t tok_jwt_exp(const char *jwt)
{
    const char *a = strchr(jwt, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    if (!b || b - a - 1 > 4096)
        return 0;
    unsigned char buf[3072];
    long n = b64url_decode(a + 1, (size_t)(b - a - 1), buf, sizeof buf);
    if (n <= 0)
        return 0;
    json_t *j = json_loadb((const char *)buf, (size_t)n, 0, NULL);
    json_t *e = j ? json_object_get(j, "exp") : NULL;
    int64_t exp = 0;
    if (json_is_integer(e))
        exp = (int64_t)json_integer_value(e);
    else if (json_is_real(e))
        exp = (int64_t)json_real_value(e);
    json_decref(j);
    return exp;
}
