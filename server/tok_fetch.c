/* tok_fetch.c — the token sources that fetch or mint: `redis` (HMGET on the
 * tenant's connection), `http` (OpenIM admin API over tok_http.c) and `jwt`
 * (HS256 with OpenSSL's HMAC). Every fetch is asynchronous and lands in the
 * store's cache; tok_store_want() polls it. Contract: tokens.h. */
#include <hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kk_err.h"
#include "rconn.h"
#include "tok_int.h"

/* Milliseconds of a monotonic clock (the loop's clock may be stale). */
static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* Seconds since the epoch. */
static int64_t wall_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- requests ------------------------------------------------------------ */

/* Creates and links a request for (user, platform). */
static tok_req *req_new(tok_store *ts, const char *user, int platform, bool admin)
{
    size_t ul = strlen(user);
    tok_req *r = calloc(1, sizeof *r + ul + 1);
    if (!r)
        return NULL;
    memcpy(r->user, user, ul + 1);
    r->platform = platform;
    r->admin = admin;
    r->ts = ts;
    r->next = ts->reqs;
    if (ts->reqs)
        ts->reqs->prev = r;
    ts->reqs = r;
    ts->inflight++;
    return r;
}

/* Unlinks a finished request and frees it. */
static void req_done(tok_req *r)
{
    tok_store *ts = r->ts;
    if (ts) {
        if (r->prev)
            r->prev->next = r->next;
        else
            ts->reqs = r->next;
        if (r->next)
            r->next->prev = r->prev;
        ts->inflight--;
    }
    free(r);
}

/* Cancels every request at free: http ones are abandoned (their callbacks
 * never fire), redis ones are orphaned (their callback frees them). */
void tok__reqs_cancel(tok_store *ts)
{
    for (tok_req *r = ts->reqs, *next; r; r = next) {
        next = r->next;
        r->ts = NULL;
        if (r->http) {
            tok_http_cancel(r->http);
            free(r);
        } else if (r->waiting) {
            free(r);
        }
    }
    ts->reqs = NULL;
    ts->inflight = 0;
}

/* ---- outcomes -------------------------------------------------------------- */

/* The entry an answer for (user, platform) goes to (recreated if dropped). */
static tok_cent *answer_entry(tok_store *ts, const char *user, int platform)
{
    tok_cent *e = tok__cache_find(ts, user, platform);
    return e ? e : tok__cache_add(ts, user, platform);
}

/* Stores a fetched token. */
static void got_token(tok_store *ts, const char *user, int platform, const char *tok, size_t len)
{
    tok_cent *e = answer_entry(ts, user, platform);
    if (!e)
        return;
    kk_secret *s = kk_secret_new(tok, len);
    if (!s)
        return;
    kk_secret_free(e->tok);
    e->tok = s;
    e->exp = tok_jwt_exp(kk_secret_reveal(s));
    e->state = TOK_C_OK;
    e->refreshing = false;
    e->fetched_ms = mono_ms();
    e->fails = 0;
}

/* Records a failed fetch: retry later with backoff. A refresh that fails
 * keeps the old token while it is still usable. */
static void fetch_failed(tok_store *ts, const char *user, int platform, const char *why)
{
    ts->stats.failures++;
    tok_cent *e = answer_entry(ts, user, platform);
    if (!e)
        return;
    uint64_t delay = TOK_RETRY_MIN_MS;
    for (unsigned i = 0; i < e->fails && delay < TOK_RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > TOK_RETRY_MAX_MS)
        delay = TOK_RETRY_MAX_MS;
    e->fails++;
    e->retry_ms = mono_ms() + delay;
    e->refreshing = false;
    if (e->state != TOK_C_OK || !e->tok || (e->exp && e->exp <= wall_s() + TOK_USABLE_S))
        e->state = TOK_C_FAILED;
    KK_LOG_WARN(&ts->log, "token_fetch_failed", KK_S("user", user), KK_I("platform", platform),
                KK_S("detail", why), KK_U("retryMs", delay));
}

/* Records "the source has no token for this login". */
static void fetch_missing(tok_store *ts, const char *user, int platform, const char *why)
{
    ts->stats.missing++;
    tok_cent *e = answer_entry(ts, user, platform);
    if (!e)
        return;
    e->state = TOK_C_MISSING;
    e->refreshing = false;
    KK_LOG_WARN(&ts->log, "token_missing", KK_S("user", user), KK_I("platform", platform),
                KK_S("detail", why));
}

/* ---- redis ------------------------------------------------------------------- */

/* HMGET answer: the first non-nil field wins. */
static void on_redis_reply(void *ud, int status, const redisReply *rep)
{
    tok_req *r = ud;
    tok_store *ts = r->ts;
    if (ts) {
        if (status < 0 || !rep || rep->type != REDIS_REPLY_ARRAY) {
            fetch_failed(ts, r->user, r->platform,
                         status < 0 ? kk_strerror(status) : "unexpected reply to HMGET");
        } else {
            const redisReply *hit = NULL;
            for (size_t i = 0; i < rep->elements && !hit; i++)
                if (rep->element[i]->type == REDIS_REPLY_STRING && rep->element[i]->len > 0)
                    hit = rep->element[i];
            if (hit)
                got_token(ts, r->user, r->platform, hit->str, hit->len);
            else
                fetch_missing(ts, r->user, r->platform, "no field in the tokens hash");
        }
    }
    req_done(r);
}

/* Starts HMGET key "user:platform" "user". */
static void start_redis(tok_store *ts, const char *user, int platform)
{
    char field[CFG_USER_MAX + 16];
    snprintf(field, sizeof field, "%s:%d", user, platform);
    tok_req *r = req_new(ts, user, platform, false);
    if (!r)
        return;
    const char *argv[4] = { "HMGET", ts->redis_key, field, user };
    size_t lens[4] = { 5, strlen(ts->redis_key), strlen(field), strlen(user) };
    ts->stats.fetches++;
    int rc = rconn_cmd(ts->redis, 4, argv, lens, on_redis_reply, r);
    if (rc < 0) {
        req_done(r);
        fetch_failed(ts, user, platform, rc == KK_EAGAIN ? "redis is down" : kk_strerror(rc));
    }
}

/* ---- http ---------------------------------------------------------------------- */

static void start_user_call(tok_store *ts, tok_req *r);

/* Reads {"errCode":0,"data":{"token":...}}: 0 and the token, the errCode
 * (> 0) when the API refused, or KK_EJSON for garbage. */
static int parse_token_answer(const char *body, size_t len, const char **tok, size_t *tlen,
                              json_t **keep)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    *keep = j;
    if (!json_is_object(j))
        return KK_EJSON;
    json_t *ec = json_object_get(j, "errCode");
    if (!json_is_integer(ec))
        return KK_EJSON;
    if (json_integer_value(ec) != 0) {
        json_int_t v = json_integer_value(ec);
        return v > 0 && v < 1000000 ? (int)v : KK_EJSON;
    }
    json_t *t = json_object_get(json_object_get(j, "data"), "token");
    if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 8192)
        return KK_EJSON;
    *tok = json_string_value(t);
    *tlen = json_string_length(t);
    return 0;
}

/* A short reason for a failed http call. */
static void http_why(char *buf, size_t cap, int status, int http_status, int api)
{
    if (status < 0)
        snprintf(buf, cap, "%s", status == KK_EAGAIN ? "timeout" : kk_strerror(status));
    else if (http_status != 200)
        snprintf(buf, cap, "HTTP status %d", http_status);
    else if (api == KK_EJSON)
        snprintf(buf, cap, "malformed answer");
    else
        snprintf(buf, cap, "errCode %d", api);
}

/* Fails every request waiting for the admin token. */
static void admin_waiters_fail(tok_store *ts, const char *why)
{
    for (tok_req *r = ts->reqs, *next; r; r = next) {
        next = r->next;
        if (!r->waiting)
            continue;
        fetch_failed(ts, r->user, r->platform, why);
        req_done(r);
    }
}

/* Starts the user calls that waited for the admin token. */
static void admin_waiters_go(tok_store *ts)
{
    for (tok_req *r = ts->reqs, *next; r; r = next) {
        next = r->next;
        if (r->waiting)
            start_user_call(ts, r);
    }
}

/* Answer of /auth/get_admin_token. */
static void on_admin_answer(void *ud, int status, int http_status, const char *body, size_t len)
{
    tok_req *r = ud;
    tok_store *ts = r->ts;
    r->http = NULL;
    req_done(r);
    ts->admin_pending = false;
    const char *tok = NULL;
    size_t tlen = 0;
    json_t *keep = NULL;
    int api = status == 0 && http_status == 200 ? parse_token_answer(body, len, &tok, &tlen, &keep)
                                                : KK_EIO;
    if (api == 0) {
        kk_secret_free(ts->admin_tok);
        ts->admin_tok = kk_secret_new(tok, tlen);
        ts->admin_exp = ts->admin_tok ? tok_jwt_exp(kk_secret_reveal(ts->admin_tok)) : 0;
        ts->admin_fails = 0;
        json_decref(keep);
        admin_waiters_go(ts);
        return;
    }
    json_decref(keep);
    char why[96];
    http_why(why, sizeof why, status, http_status, api);
    char full[128];
    snprintf(full, sizeof full, "admin token: %s", why);
    uint64_t delay = TOK_RETRY_MIN_MS << (ts->admin_fails < 5 ? ts->admin_fails : 5);
    ts->admin_fails++;
    ts->admin_retry_ms = mono_ms() + (delay > TOK_RETRY_MAX_MS ? TOK_RETRY_MAX_MS : delay);
    admin_waiters_fail(ts, full);
}

/* Answer of /auth/get_user_token. OpenIM's token errors (1501..1507) mean
 * the admin token went bad: forget it and retry; another errCode means no
 * token for this user. */
static void on_user_answer(void *ud, int status, int http_status, const char *body, size_t len)
{
    tok_req *r = ud;
    tok_store *ts = r->ts;
    r->http = NULL;
    const char *tok = NULL;
    size_t tlen = 0;
    json_t *keep = NULL;
    int api = status == 0 && http_status == 200 ? parse_token_answer(body, len, &tok, &tlen, &keep)
                                                : KK_EIO;
    char why[96];
    http_why(why, sizeof why, status, http_status, api);
    if (api == 0) {
        got_token(ts, r->user, r->platform, tok, tlen);
    } else if (api >= 1501 && api <= 1507) {
        kk_secret_free(ts->admin_tok);
        ts->admin_tok = NULL;
        fetch_failed(ts, r->user, r->platform, why);
    } else if (api > 0) {
        fetch_missing(ts, r->user, r->platform, why);
    } else {
        fetch_failed(ts, r->user, r->platform, why);
    }
    json_decref(keep);
    req_done(r);
}

/* The operationID header OpenIM v3 wants on every call. */
static void op_header(tok_store *ts, char *buf, size_t cap, const char *admin_tok)
{
    unsigned n = ++ts->op_counter;
    if (admin_tok)
        snprintf(buf, cap, "operationID: kkim-relay-%s-%u\r\ntoken: %s\r\n", ts->tenant, n,
                 admin_tok);
    else
        snprintf(buf, cap, "operationID: kkim-relay-%s-%u\r\n", ts->tenant, n);
}

/* Starts POST /auth/get_user_token for r (the admin token is held). */
static void start_user_call(tok_store *ts, tok_req *r)
{
    r->waiting = false;
    json_t *b = json_pack("{s:s,s:i}", "userID", r->user, "platformID", r->platform);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    size_t hcap = kk_secret_len(ts->admin_tok) + 200;
    char *hdr = malloc(hcap);
    int rc = KK_ENOMEM;
    if (body && hdr) {
        op_header(ts, hdr, hcap, kk_secret_reveal(ts->admin_tok));
        rc = tok_http_post(ts->loop, &ts->url, "/auth/get_user_token", hdr, body,
                           TOK_HTTP_TIMEOUT_MS, on_user_answer, r, &r->http);
        memset(hdr, 0, hcap);
    }
    free(hdr);
    free(body);
    if (rc < 0) {
        fetch_failed(ts, r->user, r->platform, kk_strerror(rc));
        req_done(r);
    }
}

/* Starts POST /auth/get_admin_token with the secret. */
static void start_admin_call(tok_store *ts)
{
    tok_req *r = req_new(ts, ts->admin_user, 0, true);
    if (!r)
        return;
    json_t *b = json_pack("{s:s%,s:s}", "secret", kk_secret_reveal(ts->secret),
                          kk_secret_len(ts->secret), "userID", ts->admin_user);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    char hdr[200];
    op_header(ts, hdr, sizeof hdr, NULL);
    int rc = body ? tok_http_post(ts->loop, &ts->url, "/auth/get_admin_token", hdr, body,
                                  TOK_HTTP_TIMEOUT_MS, on_admin_answer, r, &r->http)
                  : KK_ENOMEM;
    if (body) {
        memset(body, 0, strlen(body));
        free(body);
    }
    if (rc < 0) {
        req_done(r);
        admin_waiters_fail(ts, "admin token: cannot start the call");
        return;
    }
    ts->admin_pending = true;
}

/* Starts an http fetch of (user, platform): directly with a usable admin
 * token, else after it. */
static void start_http(tok_store *ts, const char *user, int platform)
{
    tok_req *r = req_new(ts, user, platform, false);
    if (!r)
        return;
    ts->stats.fetches++;
    if (ts->admin_tok && (ts->admin_exp == 0 || ts->admin_exp > wall_s() + 60)) {
        start_user_call(ts, r);
        return;
    }
    r->waiting = true;
    if (ts->admin_pending)
        return;
    if (mono_ms() < ts->admin_retry_ms) {
        admin_waiters_fail(ts, "admin token: waiting to retry");
        return;
    }
    start_admin_call(ts);
}

/* ---- want --------------------------------------------------------------------- */

/* Starts a fetch of e's login on its source. */
static void start_fetch(tok_store *ts, tok_cent *e)
{
    if (e->state == TOK_C_OK)
        e->refreshing = true;
    else
        e->state = TOK_C_FETCHING;
    char user[CFG_USER_MAX + 1];
    snprintf(user, sizeof user, "%s", e->user);
    int platform = e->platform;
    /* e may be recreated by a synchronous failure: use copies. */
    if (ts->source == CFG_TOK_REDIS)
        start_redis(ts, user, platform);
    else
        start_http(ts, user, platform);
}

/* The poll of a fetched source (tokens.h: tok_store_want). */
int tok__want_fetched(tok_store *ts, const char *user, int platform, const kk_secret **tok)
{
    uint64_t now = mono_ms();
    int64_t wall = wall_s();
    tok_cent *e = tok__cache_find(ts, user, platform);
    if (!e) {
        if (ts->source == CFG_TOK_HTTP && ts->inflight >= TOK_HTTP_PARALLEL)
            return KK_EAGAIN;
        e = tok__cache_add(ts, user, platform);
        if (!e)
            return KK_EAGAIN;
        start_fetch(ts, e);
        e = tok__cache_find(ts, user, platform);
        if (!e || e->state != TOK_C_OK)
            return e && e->state == TOK_C_MISSING ? KK_ENOTFOUND : KK_EAGAIN;
    }
    switch (e->state) {
    case TOK_C_FETCHING:
        return KK_EAGAIN;
    case TOK_C_MISSING:
        /* Reported once; the next want (after a reload or re-add) asks again. */
        tok__cache_drop(ts, user, platform);
        return KK_ENOTFOUND;
    case TOK_C_FAILED:
        if (now >= e->retry_ms &&
            !(ts->source == CFG_TOK_HTTP && ts->inflight >= TOK_HTTP_PARALLEL))
            start_fetch(ts, e);
        return KK_EAGAIN;
    default:
        break;
    }
    bool soon = e->exp && e->exp <= wall + TOK_REFRESH_AHEAD_S;
    if (soon && !e->refreshing && now - e->fetched_ms >= TOK_REFETCH_MIN_MS && now >= e->retry_ms &&
        !(ts->source == CFG_TOK_HTTP && ts->inflight >= TOK_HTTP_PARALLEL)) {
        start_fetch(ts, e);
        e = tok__cache_find(ts, user, platform);
        if (!e || e->state != TOK_C_OK)
            return KK_EAGAIN;
    }
    if (e->exp && e->exp <= wall + TOK_USABLE_S && (e->refreshing || now - e->fetched_ms >= TOK_REFETCH_MIN_MS))
        return KK_EAGAIN;
    *tok = e->tok;
    return 0;
}

/* ---- jwt -------------------------------------------------------------------------- */

/* Appends base64url (no padding) of p[0..n) to out at *pos. */
static void b64url(const unsigned char *p, size_t n, char *out, size_t *pos)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[(*pos)++] = a[v >> 18];
        out[(*pos)++] = a[(v >> 12) & 63];
        out[(*pos)++] = a[(v >> 6) & 63];
        out[(*pos)++] = a[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        out[(*pos)++] = a[v >> 18];
        out[(*pos)++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        out[(*pos)++] = a[v >> 18];
        out[(*pos)++] = a[(v >> 12) & 63];
        out[(*pos)++] = a[(v >> 6) & 63];
    }
}

/* Mints an HS256 JWT (tokens.h). */
kk_secret *tok_jwt_mint(const kk_secret *key, const char *user, int platform, int64_t now_s,
                        int64_t ttl_s)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    json_t *c = json_pack("{s:s,s:i,s:I,s:I,s:I}", "UserID", user, "PlatformID", platform, "exp",
                          (json_int_t)(now_s + ttl_s), "nbf", (json_int_t)(now_s - 60), "iat",
                          (json_int_t)now_s);
    char *claims = c ? json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(c);
    if (!claims)
        return NULL;
    size_t cl = strlen(claims);
    size_t cap = (sizeof hdr + cl + 32) * 4 / 3 + 64;
    char *out = malloc(cap);
    if (!out) {
        free(claims);
        return NULL;
    }
    size_t pos = 0;
    b64url((const unsigned char *)hdr, sizeof hdr - 1, out, &pos);
    out[pos++] = '.';
    b64url((const unsigned char *)claims, cl, out, &pos);
    free(claims);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    if (!HMAC(EVP_sha256(), kk_secret_reveal(key), (int)kk_secret_len(key),
              (const unsigned char *)out, pos, mac, &mlen)) {
        free(out);
        return NULL;
    }
    out[pos++] = '.';
    b64url(mac, mlen, out, &pos);
    kk_secret *s = kk_secret_new(out, pos);
    memset(out, 0, pos);
    free(out);
    return s;
}

/* The minted token of (user, platform): re-minted when it expires within
 * a tenth of its lifetime (at least TOK_REFRESH_AHEAD_S when the TTL
 * allows). */
int tok__want_jwt(tok_store *ts, const char *user, int platform, const kk_secret **tok)
{
    int64_t now = wall_s();
    int64_t ttl = (int64_t)(ts->ttl_ms / 1000);
    if (ttl < 60)
        ttl = 60;
    int64_t ahead = ttl / 10 > TOK_REFRESH_AHEAD_S ? TOK_REFRESH_AHEAD_S : ttl / 10;
    tok_cent *e = tok__cache_find(ts, user, platform);
    if (e && e->state == TOK_C_OK && e->exp > now + ahead) {
        *tok = e->tok;
        return 0;
    }
    kk_secret *s = tok_jwt_mint(ts->secret, user, platform, now, ttl);
    if (!s)
        return KK_EAGAIN;
    if (!e)
        e = tok__cache_add(ts, user, platform);
    if (!e) {
        kk_secret_free(s);
        return KK_EAGAIN;
    }
    ts->stats.minted++;
    kk_secret_free(e->tok);
    e->tok = s;
    e->exp = now + ttl;
    e->state = TOK_C_OK;
    *tok = e->tok;
    return 0;
}
