/* tokens.c — static and file token sources, and the JWT exp reader. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "tokens.h"

/* Largest token file read; a token is ~300 bytes, so this is ~100k logins. */
#define TOK_FILE_MAX (32u * 1024 * 1024)

typedef struct tok_entry {
    char *user;
    int platform; /* 0 = any */
    kk_secret *token;
} tok_entry;

struct tok_store {
    enum cfg_token_source source;
    char *path;
    tok_entry *v;
    size_t n;
};

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

/* Creates a store and loads its source. */
tok_store *tok_store_new(const cfg_tenant *tc, char *err, size_t errlen)
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
    snprintf(err, errlen, "token source not supported yet by this build");
    tok_store_free(ts);
    return NULL;
}

/* Re-reads a file source; keeps the old table on failure. */
int tok_store_reload(tok_store *ts, char *err, size_t errlen)
{
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
    entries_free(ts->v, ts->n);
    free(ts->path);
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
    return ts->n;
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
