/* kctl_redis.c — the Redis connection of kkimctl's online subcommands
 * (tail, send, users): parse the URL with the daemon's parser (rurl.h),
 * connect with a timeout, AUTH (ACL user or legacy password) and SELECT.
 * The password is sent with AUTH and never printed. Every command goes
 * through kctl_redis_run, which follows a Redis Cluster's redirections:
 * MOVED moves the connection to the node named, ASK sends ASKING and the
 * command to the node named on a connection of its own, once. */
#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kctl.h"
#include "rclus.h"
#include "rurl.h"

/* The URL kkimctl uses: --redis, else $KKIM_REDIS_URL, else the default. */
const char *kctl_redis_default_url(void)
{
    const char *u = getenv("KKIM_REDIS_URL");
    return u && u[0] ? u : "redis://127.0.0.1:6379/0";
}

/* Connects to url (or host:port with url's credentials when host is not
 * NULL); on failure prints one line naming the subcommand cmd (never the
 * password) and returns NULL. Free with redisFree. */
static redisContext *redis_connect_to(const char *url, const char *host, int port,
                                      const char *cmd)
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

/* Opens k on url for the subcommand cmd (both must outlive k). Returns 0,
 * or -1 after printing one line. */
int kctl_redis_open(kctl_redis *k, const char *url, const char *cmd)
{
    k->url = url;
    k->cmd = cmd;
    k->c = redis_connect_to(url, NULL, 0, cmd);
    return k->c ? 0 : -1;
}

/* Closes k's connection (k may be closed already). */
void kctl_redis_close(kctl_redis *k)
{
    redisFree(k->c);
    k->c = NULL;
}

/* Why the last command got no reply ("connection lost" text). */
const char *kctl_redis_errstr(const kctl_redis *k)
{
    return k->c ? k->c->errstr : "reconnect failed";
}

/* Sends the RESP-encoded command cmd[0..len) on c (ASKING first when
 * asking) and returns the command's reply, NULL when the connection failed. */
static redisReply *redis_send(redisContext *c, const char *cmd, size_t len, bool asking)
{
    void *r = NULL;
    if (asking && (redisAppendCommand(c, "ASKING") != REDIS_OK || redisGetReply(c, &r) != REDIS_OK))
        return NULL;
    freeReplyObject(r);
    r = NULL;
    if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK || redisGetReply(c, &r) != REDIS_OK)
        return NULL;
    return r;
}

/* Runs the RESP-encoded command on k, following MOVED and ASK at most
 * RCLUS_REDIRECTS_MAX times (then the redirection is the reply). NULL when
 * a connection failed (k->c NULL when the move to a MOVED target did:
 * already printed). */
static redisReply *kctl_redis_run(kctl_redis *k, const char *cmd, size_t len)
{
    if (!k->c)
        return NULL;
    redisContext *ask = NULL;
    redisReply *r = redis_send(k->c, cmd, len, false);
    for (int hops = 0; r && r->type == REDIS_REPLY_ERROR && hops < RCLUS_REDIRECTS_MAX; hops++) {
        char host[64];
        int slot, port;
        int kind = rclus_redirect_parse(r->str, r->len, &slot, host, sizeof host, &port);
        if (kind == 0)
            break;
        freeReplyObject(r);
        redisFree(ask);
        ask = NULL;
        redisContext *to = redis_connect_to(k->url, host, port, k->cmd);
        if (!to) {
            if (kind == 1)
                kctl_redis_close(k);
            return NULL;
        }
        if (kind == 1) {
            redisFree(k->c);
            k->c = to;
        } else {
            ask = to;
        }
        r = redis_send(to, cmd, len, kind == 2);
    }
    if (!r && ask)
        fprintf(stderr, "kkimctl: %s: Redis connection lost after ASK: %s\n", k->cmd, ask->errstr);
    redisFree(ask);
    return r;
}

/* printf-style command on k (redisCommand's format), redirections followed. */
redisReply *kctl_redis_cmd(kctl_redis *k, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    redisReply *r = len > 0 ? kctl_redis_run(k, cmd, (size_t)len) : NULL;
    redisFreeCommand(cmd);
    return r;
}

/* argv-style command on k (lens NULL: C strings), redirections followed. */
redisReply *kctl_redis_argv(kctl_redis *k, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    redisReply *r = len > 0 ? kctl_redis_run(k, cmd, (size_t)len) : NULL;
    redisFreeCommand(cmd);
    return r;
}
