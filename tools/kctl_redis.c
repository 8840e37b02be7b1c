/* kctl_redis.c — the Redis connection of kkimctl's online subcommands
 * (tail, send): parse the URL with the daemon's parser (rurl.h), connect
 * with a timeout, AUTH (ACL user or legacy password) and SELECT. The
 * password is sent with AUTH and never printed. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>

#include "kctl.h"
#include "rurl.h"

/* The URL kkimctl uses: --redis, else $KKIM_REDIS_URL, else the default. */
const char *kctl_redis_default_url(void)
{
    const char *u = getenv("KKIM_REDIS_URL");
    return u && u[0] ? u : "redis://127.0.0.1:6379/0";
}

/* Connects to url; on failure prints one line naming the subcommand cmd
 * (never the password) and returns NULL. Free with redisFree. */
redisContext *kctl_redis_connect(const char *url, const char *cmd)
{
    return kctl_redis_connect_to(url, NULL, 0, cmd);
}

/* kctl_redis_connect to host:port instead of the URL's (host NULL: the
 * URL's): a Cluster's MOVED target, with the URL's user and password. */
redisContext *kctl_redis_connect_to(const char *url, const char *host, int port, const char *cmd)
{
    rurl u;
    const char *why = NULL;
    if (rurl_parse(url, &u, &why) != 0) {
        fprintf(stderr, "kkimctl: %s: bad Redis URL: %s\n", cmd, why ? why : "?");
        return NULL;
    }
    if (u.nsentinels && !host) {
        fprintf(stderr, "kkimctl: %s: redis-sentinel:// URLs are not supported here; "
                        "give the master's redis:// URL\n", cmd);
        rurl_free(&u);
        return NULL;
    }
    if (host) {
        snprintf(u.host, sizeof u.host, "%s", host);
        u.port = port;
    }
    struct timeval tv = { 5, 0 };
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        fprintf(stderr, "kkimctl: %s: cannot connect to Redis %s:%d: %s\n", cmd, u.host, u.port,
                c ? c->errstr : "out of memory");
        redisFree(c);
        rurl_free(&u);
        return NULL;
    }
    redisReply *r = NULL;
    if (u.password && u.username)
        r = redisCommand(c, "AUTH %s %s", u.username, kk_secret_reveal(u.password));
    else if (u.password)
        r = redisCommand(c, "AUTH %s", kk_secret_reveal(u.password));
    bool bad = r && r->type == REDIS_REPLY_ERROR;
    if (bad)
        fprintf(stderr, "kkimctl: %s: Redis AUTH failed: %s\n", cmd, r->str);
    freeReplyObject(r);
    if (!bad && u.db) {
        r = redisCommand(c, "SELECT %d", u.db);
        bad = !r || r->type == REDIS_REPLY_ERROR;
        if (bad)
            fprintf(stderr, "kkimctl: %s: Redis SELECT %d failed\n", cmd, u.db);
        freeReplyObject(r);
    }
    rurl_free(&u);
    if (bad) {
        redisFree(c);
        return NULL;
    }
    return c;
}
