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

/* Parses host[:port] in [s, e). */
static int parse_hostport(const char *s, const char *e, rurl *out, const char **why)
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
        if (*c == '@' || *c == '/' || *c == ' ' || (unsigned char)*c < 0x21) {
            *why = "bad character in the host";
            return KK_EINVAL;
        }
    }
    out->port = 6379;
    if (p < e) {
        if (*p != ':' || parse_small(p + 1, e, 65535, &out->port) != 0 || out->port == 0) {
            *why = "bad port";
            return KK_EINVAL;
        }
    }
    return 0;
}

/* Parses a Redis URL. */
int rurl_parse(const char *url, rurl *out, const char **why)
{
    static const char scheme[] = "redis://";
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);
    *why = "";
    if (!url || strncmp(url, scheme, sizeof scheme - 1) != 0) {
        *why = "must start with redis://";
        return KK_EINVAL;
    }
    const char *s = url + sizeof scheme - 1;
    const char *slash = strchr(s, '/');
    const char *auth_end = s + strlen(s);
    if (slash)
        auth_end = slash;
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
        rc = parse_hostport(s, auth_end, out, why);
    if (rc == 0 && slash && slash[1] != '\0' &&
        parse_small(slash + 1, slash + strlen(slash), 65535, &out->db) != 0) {
        *why = "bad database number";
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

/* Loggable form of the URL. */
void rurl_redacted(const rurl *u, char *buf, size_t cap)
{
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(buf, cap, "redis://%s%s%s%s%s%s:%d/%d", u->username ? u->username : "",
             u->password ? ":***" : "", (u->username || u->password) ? "@" : "",
             v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->db);
}
