/* rurl.c — Redis URL parser (see rurl.h). */
#include "rurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

/* Value of a hex digit or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes of s into a new string (*outlen its length).
 * Returns NULL on ENOMEM or a bad escape (*bad set). */
static char *pct_decode(const char *s, size_t n, size_t *outlen, int *bad)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) {
                free(o);
                *bad = 1;
                return NULL;
            }
            o[k++] = (char)(h * 16 + l);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* Parses a decimal number of at most 5 digits in [s, e) into *v. */
static int parse_small(const char *s, const char *e, int max, int *v)
{
    if (s == e || e - s > 5)
        return KK_EINVAL;
    int x = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return KK_EINVAL;
        x = x * 10 + (*s - '0');
    }
    if (x > max)
        return KK_EINVAL;
    *v = x;
    return 0;
}

/* Splits the userinfo part into username and password. */
static int parse_userinfo(const char *s, const char *e, rurl *out, const char **why)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    const char *ue = colon ? colon : e;
    int bad = 0;
    size_t n;
    if (ue > s) {
        out->username = pct_decode(s, (size_t)(ue - s), &n, &bad);
        if (!out->username) {
            *why = bad ? "bad percent-escape in the user name" : "out of memory";
            return bad ? KK_EINVAL : KK_ENOMEM;
        }
    }
    if (colon) {
        char *pw = pct_decode(colon + 1, (size_t)(e - colon - 1), &n, &bad);
        if (!pw) {
            *why = bad ? "bad percent-escape in the password" : "out of memory";
            return bad ? KK_EINVAL : KK_ENOMEM;
        }
        out->password = kk_secret_new(pw, n);
        memset(pw, 0, n);
        free(pw);
        if (!out->password) {
            *why = "out of memory";
            return KK_ENOMEM;
        }
    }
    return 0;
}

/* Parses host[:port] in [s, e); dport when the port is absent. */
static int parse_hostport(const char *s, const char *e, int dport, rurl *out, const char **why)
{
    const char *hs = s, *he, *p;
    if (s < e && *s == '[') {
        he = memchr(s, ']', (size_t)(e - s));
        if (!he) {
            *why = "unclosed '[' in the host";
            return KK_EINVAL;
        }
        hs = s + 1;
        p = he + 1;
    } else {
        he = memchr(s, ':', (size_t)(e - s));
        if (!he)
            he = e;
        p = he;
    }
    if (he == hs || (size_t)(he - hs) >= RURL_HOST_MAX) {
        *why = "missing or too long host";
        return KK_EINVAL;
    }
    memcpy(out->host, hs, (size_t)(he - hs));
    out->host[he - hs] = '\0';
    for (const char *c = out->host; *c; c++) {
        if (*c == '@' || *c == '/' || *c == ' ' || *c == ',' || (unsigned char)*c < 0x21) {
            *why = "bad character in the host";
            return KK_EINVAL;
        }
    }
    out->port = dport;
    if (p < e) {
        if (*p != ':' || parse_small(p + 1, e, 65535, &out->port) != 0 || out->port == 0) {
            *why = "bad port";
            return KK_EINVAL;
        }
    }
    return 0;
}

/* Parses the comma-separated Sentinel list in [s, e) into out->sentinels;
 * host/port start as the first one. */
static int parse_sentinels(const char *s, const char *e, rurl *out, const char **why)
{
    while (s <= e) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *pe = comma ? comma : e;
        if (out->nsentinels == RURL_SENTINELS_MAX) {
            *why = "too many Sentinels";
            return KK_EINVAL;
        }
        int rc = parse_hostport(s, pe, 26379, out, why);
        if (rc != 0)
            return rc;
        rurl_hostport *hp = &out->sentinels[out->nsentinels++];
        memcpy(hp->host, out->host, sizeof hp->host);
        hp->port = out->port;
        s = pe + 1;
    }
    memcpy(out->host, out->sentinels[0].host, sizeof out->host);
    out->port = out->sentinels[0].port;
    return 0;
}

/* Parses the query [s, e) (after '?'): only cluster=1|true|0|false. */
static int parse_query(const char *s, const char *e, rurl *out, const char **why)
{
    static const char key[] = "cluster=";
    size_t n = (size_t)(e - s), k = sizeof key - 1;
    if (n > k && memcmp(s, key, k) == 0) {
        const char *v = s + k;
        size_t vn = n - k;
        if ((vn == 1 && (*v == '1' || *v == '0')) || (vn == 4 && memcmp(v, "true", 4) == 0) ||
            (vn == 5 && memcmp(v, "false", 5) == 0)) {
            out->cluster = *v == '1' || *v == 't';
            return 0;
        }
    }
    *why = "bad query: only ?cluster=1 (or 0, true, false) is known";
    return KK_EINVAL;
}

/* Parses the path [s, e) (after the first '/'): "db" for redis://,
 * "master[/db]" for redis-sentinel://. */
static int parse_path(const char *s, const char *e, rurl *out, const char **why)
{
    if (out->nsentinels) {
        const char *slash = memchr(s, '/', (size_t)(e - s));
        const char *me = slash ? slash : e;
        if (me == s || (size_t)(me - s) >= RURL_MASTER_MAX) {
            *why = "missing or too long Sentinel master name";
            return KK_EINVAL;
        }
        memcpy(out->master, s, (size_t)(me - s));
        out->master[me - s] = '\0';
        s = slash ? slash + 1 : e;
    }
    if (s < e && parse_small(s, e, 65535, &out->db) != 0) {
        *why = "bad database number";
        return KK_EINVAL;
    }
    return 0;
}

/* Parses a Redis URL. */
int rurl_parse(const char *url, rurl *out, const char **why)
{
    static const char scheme[] = "redis://", sscheme[] = "redis-sentinel://";
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);
    *why = "";
    bool sentinel = url && strncmp(url, sscheme, sizeof sscheme - 1) == 0;
    if (!url || (!sentinel && strncmp(url, scheme, sizeof scheme - 1) != 0)) {
        *why = "must start with redis:// or redis-sentinel://";
        return KK_EINVAL;
    }
    const char *s = url + (sentinel ? sizeof sscheme : sizeof scheme) - 1;
    const char *end = s + strlen(s);
    const char *query = strchr(s, '?');
    if (query)
        end = query;
    const char *slash = memchr(s, '/', (size_t)(end - s));
    const char *auth_end = slash ? slash : end;
    /* The last '@' before the path ends the userinfo (passwords may hold '@'
     * only percent-encoded, but be lenient). */
    const char *at = NULL;
    for (const char *c = s; c < auth_end; c++)
        if (*c == '@')
            at = c;
    int rc = 0;
    if (at) {
        rc = parse_userinfo(s, at, out, why);
        s = at + 1;
    }
    if (rc == 0)
        rc = sentinel ? parse_sentinels(s, auth_end, out, why)
                      : parse_hostport(s, auth_end, 6379, out, why);
    if (rc == 0 && sentinel && !slash) {
        *why = "missing or too long Sentinel master name";
        rc = KK_EINVAL;
    }
    if (rc == 0 && slash)
        rc = parse_path(slash + 1, end, out, why);
    if (rc == 0 && query)
        rc = parse_query(query + 1, query + strlen(query), out, why);
    if (rc == 0 && out->cluster && (out->db != 0 || sentinel)) {
        *why = "a Redis Cluster has database 0 only and no Sentinels";
        rc = KK_EINVAL;
    }
    if (rc != 0)
        rurl_free(out);
    return rc;
}

/* Frees owned fields. */
void rurl_free(rurl *u)
{
    if (!u)
        return;
    free(u->username);
    kk_secret_free(u->password);
    memset(u, 0, sizeof *u);
}

/* Deep copy. */
int rurl_copy(rurl *dst, const rurl *src)
{
    *dst = *src;
    dst->username = NULL;
    dst->password = NULL;
    if (src->username && !(dst->username = strdup(src->username)))
        goto fail;
    if (src->password && !(dst->password = kk_secret_dup(src->password)))
        goto fail;
    return 0;
fail:
    rurl_free(dst);
    return KK_ENOMEM;
}

/* Appends host:port (IPv6 in brackets) to buf at *at. */
static void red_hostport(char *buf, size_t cap, size_t *at, const char *host, int port)
{
    bool v6 = strchr(host, ':') != NULL;
    if (*at < cap)
        *at += (size_t)snprintf(buf + *at, cap - *at, "%s%s%s:%d", v6 ? "[" : "", host,
                                v6 ? "]" : "", port);
}

/* Loggable form of the URL. */
void rurl_redacted(const rurl *u, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "%s%s%s%s",
                                 u->nsentinels ? "redis-sentinel://" : "redis://",
                                 u->username ? u->username : "", u->password ? ":***" : "",
                                 (u->username || u->password) ? "@" : "");
    if (!u->nsentinels)
        red_hostport(buf, cap, &at, u->host, u->port);
    for (int i = 0; i < u->nsentinels; i++) {
        if (i && at < cap)
            at += (size_t)snprintf(buf + at, cap - at, ",");
        red_hostport(buf, cap, &at, u->sentinels[i].host, u->sentinels[i].port);
    }
    if (at < cap)
        snprintf(buf + at, cap - at, "/%s%s%d%s", u->master, u->nsentinels ? "/" : "", u->db,
                 u->cluster ? "?cluster=1" : "");
}
