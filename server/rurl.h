/* rurl.h — parse redis://[user[:password]@]host[:port][/db] URLs.
 *
 * The password moves straight into a kk_secret; the parser never copies the
 * URL into an error, and rurl_redacted() gives a loggable form with the
 * password replaced by "***". user and password may be percent-encoded.
 * IPv6 hosts go in brackets: redis://[::1]:6379/0. Pure: no I/O, no DNS.
 */
#ifndef KK_RURL_H
#define KK_RURL_H

#include "secret.h"

/* Hostnames longer than this are rejected (DNS limit is 253). */
#define RURL_HOST_MAX 256

typedef struct rurl {
    char host[RURL_HOST_MAX]; /* without brackets */
    int port;                 /* default 6379 */
    int db;                   /* default 0, 0..65535 */
    char *username;           /* NULL when absent; owned */
    kk_secret *password;      /* NULL when absent; owned */
} rurl;

/* Parses url into *out (zeroed first). Returns 0 or KK_EINVAL (message
 * via *why, a static text that never contains the URL); KK_ENOMEM. */
int rurl_parse(const char *url, rurl *out, const char **why);

/* Frees the owned fields and zeroes *u; NULL is a no-op. */
void rurl_free(rurl *u);

/* Copies src into dst (deep). Returns 0 or KK_ENOMEM (dst zeroed). */
int rurl_copy(rurl *dst, const rurl *src);

/* Writes "redis://user:***@host:port/db" into buf (cap bytes). */
void rurl_redacted(const rurl *u, char *buf, size_t cap);

#endif
