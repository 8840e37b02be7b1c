/* rurl.h — parse redis://[user[:password]@]host[:port][/db][?cluster=1]
 * and redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/master[/db]
 * URLs.
 *
 * ?cluster=1 (or =true; =0/=false off) marks a Redis Cluster seed node:
 * rconn then routes by slot (rclus.h); the database must be 0 there.
 * redis-sentinel:// lists 1..RURL_SENTINELS_MAX Sentinels (default port
 * 26379) and the master's name; rconn asks them for the master's address
 * before each connection attempt. user/password are the master's (the
 * Sentinels are asked without AUTH). host/port then hold the master
 * resolved last (the first Sentinel until one answered).
 *
 * The password moves straight into a kk_secret; the parser never copies the
 * URL into an error, and rurl_redacted() gives a loggable form with the
 * password replaced by "***". user and password may be percent-encoded.
 * IPv6 hosts go in brackets: redis://[::1]:6379/0. Pure: no I/O, no DNS.
 */
#ifndef KK_RURL_H
#define KK_RURL_H

#include <stdbool.h>

#include "secret.h"

/* Hostnames longer than this are rejected (DNS limit is 253). */
#define RURL_HOST_MAX 256
/* Sentinels one URL may list, and the longest master name. */
#define RURL_SENTINELS_MAX 8
#define RURL_MASTER_MAX 128

typedef struct rurl_hostport {
    char host[RURL_HOST_MAX];
    int port;
} rurl_hostport;

typedef struct rurl {
    char host[RURL_HOST_MAX]; /* without brackets */
    int port;                 /* default 6379 */
    int db;                   /* default 0, 0..65535 */
    char *username;           /* NULL when absent; owned */
    kk_secret *password;      /* NULL when absent; owned */
    bool cluster;             /* ?cluster=1 */
    int nsentinels;           /* > 0 for redis-sentinel:// */
    rurl_hostport sentinels[RURL_SENTINELS_MAX];
    char master[RURL_MASTER_MAX]; /* Sentinel master name */
} rurl;

/* Parses url into *out (zeroed first). Returns 0 or KK_EINVAL (message
 * via *why, a static text that never contains the URL); KK_ENOMEM. */
int rurl_parse(const char *url, rurl *out, const char **why);

/* Frees the owned fields and zeroes *u; NULL is a no-op. */
void rurl_free(rurl *u);

/* Copies src into dst (deep). Returns 0 or KK_ENOMEM (dst zeroed). */
int rurl_copy(rurl *dst, const rurl *src);

/* Writes "redis://user:***@host:port/db" (plus "?cluster=1", or the
 * redis-sentinel:// form) into buf (cap bytes). */
void rurl_redacted(const rurl *u, char *buf, size_t cap);

#endif
