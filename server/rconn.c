/* rconn.c — async Redis connection with resolve, timeouts, AUTH, SELECT,
 * backoff (see rconn.h). */
#include "rconn.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>
#include <async.h>
#include <adapters/libuv.h>

#include "kk_err.h"
#include "log.h"
#include "rclus.h"
#include "rsent.h"

enum rc_state { RC_IDLE, RC_RESOLVING, RC_CONNECTING, RC_HANDSHAKE, RC_UP, RC_BACKOFF, RC_CLOSING };

/* One command in flight; freed when hiredis is done with it. */
typedef struct rc_req {
    struct rc_req *next;         /* FIFO of requests, oldest first */
    rconn *rc;
    rconn_reply_fn cb;
    void *ud;
    uint64_t deadline;           /* uv_now ms */
    uint64_t sent_ns;            /* uv_hrtime at send, for the RTT observer */
    bool done;                   /* user callback already ran */
} rc_req;

struct rconn {
    uv_loop_t *loop;
    rurl url;
    char *name;
    uint64_t connect_to, cmd_to, bo_min, bo_max;
    rconn_state_fn on_state;
    void *ud;
    enum rc_state st;
    redisAsyncContext *ac;
    uv_timer_t timer;            /* connect timeout / backoff */
    uv_timer_t cmd_timer;        /* oldest command's deadline */
    uv_getaddrinfo_t gai;
    bool gai_pending;
    int handles_open;
    unsigned attempt;
    uint64_t rng;
    rc_req *head, *tail;
    size_t inflight;
    char reason[256];            /* why the current attempt failed */
    char ip[64];
    kk_log_ctx log;
    void (*closed_cb)(void *);
    void *closed_ud;
    void (*on_rtt)(void *ud, double seconds);
    void *rtt_ud;
    rclus *cl;                   /* ?cluster=1: every call goes there */
    rsent *sent;                 /* redis-sentinel://: asked before each attempt */
};

static void rc_schedule_reconnect(rconn *rc);
static void rc_connect_ip(rconn *rc);
static void rc_cmd_timeout(uv_timer_t *t);
static void rc_maybe_free(rconn *rc);

/* xorshift64: per-connection jitter, no global state. */
static uint64_t rc_rand(rconn *rc)
{
    rc->rng ^= rc->rng << 13;
    rc->rng ^= rc->rng >> 7;
    rc->rng ^= rc->rng << 17;
    return rc->rng;
}

/* Creates the object. */
int rconn_new(uv_loop_t *loop, const rconn_opts *o, rconn_state_fn on_state, void *ud,
              rconn **out)
{
    *out = NULL;
    if (!loop || !o || !o->url)
        return KK_EINVAL;
    rconn *rc = calloc(1, sizeof *rc);
    if (!rc)
        return KK_ENOMEM;
    rc->name = strdup(o->name ? o->name : "redis");
    if (!rc->name || rurl_copy(&rc->url, o->url) != 0) {
        free(rc->name);
        free(rc);
        return KK_ENOMEM;
    }
    rc->loop = loop;
    rc->connect_to = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
    rc->cmd_to = o->cmd_timeout_ms ? o->cmd_timeout_ms : 5000;
    rc->bo_min = o->backoff_min_ms ? o->backoff_min_ms : 200;
    rc->bo_max = o->backoff_max_ms ? o->backoff_max_ms : 30000;
    rc->on_state = on_state;
    rc->ud = ud;
    rc->rng = uv_hrtime() | 1;
    rc->log = (kk_log_ctx){ .mod = "rconn", .tenant = rc->name };
    uv_timer_init(loop, &rc->timer);
    uv_timer_init(loop, &rc->cmd_timer);
    rc->timer.data = rc->cmd_timer.data = rc;
    rc->handles_open = 2;
    if (rc->url.cluster) {
        rconn_opts co = *o;
        co.url = &rc->url;
        int r = rclus_new(loop, &co, on_state, ud, &rc->cl);
        if (r != 0) {
            rconn_close(rc, NULL, NULL);
            return r;
        }
        rc->handles_open++;
    }
    if (rc->url.nsentinels) {
        int r = rsent_new(loop, &rc->url, rc->connect_to, rc->name, &rc->sent);
        if (r != 0) {
            rconn_close(rc, NULL, NULL);
            return r;
        }
        rc->handles_open++;
    }
    *out = rc;
    return 0;
}

/* Sets the observer of each answered command's round-trip time. */
void rconn_set_rtt_observer(rconn *rc, void (*fn)(void *ud, double seconds), void *ud)
{
    rc->on_rtt = fn;
    rc->rtt_ud = ud;
    if (rc->cl)
        rclus_set_rtt_observer(rc->cl, fn, ud);
}

/* Reports a state change to the owner. */
static void rc_report(rconn *rc, bool up, const char *reason)
{
    if (rc->on_state && rc->st != RC_CLOSING)
        rc->on_state(rc->ud, up, reason);
}

/* Records why the attempt failed (first reason wins): what + detail. */
static void rc_fail_reason(rconn *rc, const char *what, const char *detail)
{
    if (!rc->reason[0])
        snprintf(rc->reason, sizeof rc->reason, "%s%s%s", what, detail && detail[0] ? ": " : "",
                 detail ? detail : "");
}

/* Completes req once with status; the struct stays until hiredis is done. */
static void rc_req_finish(rc_req *req, int status, const redisReply *reply)
{
    if (req->done)
        return;
    req->done = true;
    req->rc->inflight--;
    if (status == 0 && req->rc->on_rtt)
        req->rc->on_rtt(req->rc->rtt_ud, (double)(uv_hrtime() - req->sent_ns) / 1e9);
    req->cb(req->ud, status, (const struct redisReply *)reply);
}

/* Unlinks req from the FIFO. */
static void rc_req_unlink(rconn *rc, rc_req *req)
{
    rc_req **pp = &rc->head, *prev = NULL;
    while (*pp && *pp != req) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = req->next;
    if (rc->tail == req)
        rc->tail = prev;
}

/* Re-arms the command timer on the oldest pending request. */
static void rc_arm_cmd_timer(rconn *rc)
{
    rc_req *r = rc->head;
    while (r && r->done)
        r = r->next;
    if (!r || rc->st == RC_CLOSING) {
        uv_timer_stop(&rc->cmd_timer);
        return;
    }
    uint64_t now = uv_now(rc->loop);
    uv_timer_start(&rc->cmd_timer, rc_cmd_timeout, r->deadline > now ? r->deadline - now : 0, 0);
}

/* hiredis reply callback for user commands. A NULL reply means the context
 * is going away (platform-notes §5). */
static void rc_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    rc_req *req = privdata;
    rconn *rc = req->rc;
    redisReply *reply = r;
    if (reply)
        rc_req_finish(req, 0, reply);
    else
        rc_req_finish(req, rc->st == RC_CLOSING ? KK_ECANCELED : KK_EIO, NULL);
    rc_req_unlink(rc, req);
    free(req);
    rc_arm_cmd_timer(rc);
}

/* Drops the hiredis context now (not from inside a hiredis callback):
 * pending callbacks run with NULL replies. */
static void rc_drop_context(rconn *rc)
{
    redisAsyncContext *ac = rc->ac;
    rc->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

/* The oldest command passed its deadline: Redis is not answering. Fail it,
 * drop the connection (the others fail with KK_EIO) and reconnect. */
static void rc_cmd_timeout(uv_timer_t *t)
{
    rconn *rc = t->data;
    rc_req *r = rc->head;
    while (r && r->done)
        r = r->next;
    if (!r)
        return;
    if (r->deadline > uv_now(rc->loop)) {
        rc_arm_cmd_timer(rc);
        return;
    }
    rc_req_finish(r, KK_EIO, NULL);
    bool was_up = rc->st == RC_UP;
    rc->reason[0] = '\0';
    rc_fail_reason(rc, "command timeout", NULL);
    rc_drop_context(rc);
    if (was_up)
        rc_report(rc, false, rc->reason);
    rc_schedule_reconnect(rc);
}

/* Backoff timer fired: resolve and connect again. */
static void rc_on_backoff(uv_timer_t *t)
{
    rconn_start(t->data);
}

/* Schedules the next attempt: min * 2^attempt capped at max, then a random
 * point in its upper half (jitter spreads many relays apart). */
static void rc_schedule_reconnect(rconn *rc)
{
    if (rc->st == RC_CLOSING)
        return;
    if (rc->st != RC_UP && rc->reason[0])
        rc_report(rc, false, rc->reason);
    rc->st = RC_BACKOFF;
    uint64_t d = rc->bo_min;
    for (unsigned i = 0; i < rc->attempt && d < rc->bo_max; i++)
        d *= 2;
    if (d > rc->bo_max)
        d = rc->bo_max;
    d = d / 2 + rc_rand(rc) % (d / 2 + 1);
    if (rc->attempt < 32)
        rc->attempt++;
    uv_timer_start(&rc->timer, rc_on_backoff, d, 0);
}

/* hiredis disconnect callback: the context is freed by hiredis after it. */
static void rc_on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn *rc = ac->data;
    if (!rc || rc->ac != ac)
        return;
    rc->ac = NULL;
    if (rc->st == RC_CLOSING)
        return;
    bool was_up = rc->st == RC_UP;
    if (status != REDIS_OK)
        rc_fail_reason(rc, "connection lost", ac->errstr);
    else
        rc_fail_reason(rc, "disconnected", NULL);
    if (was_up)
        rc_report(rc, false, rc->reason);
    rc_schedule_reconnect(rc);
}

/* Handshake step reply (AUTH, SELECT, PING). privdata is the step name. */
static void rc_on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    rconn *rc = ac->data;
    redisReply *reply = r;
    if (!rc || !reply || rc->ac != ac || rc->st != RC_HANDSHAKE)
        return;
    const char *step = privdata;
    if (reply->type == REDIS_REPLY_ERROR) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s failed: %.*s", step,
                 (int)(reply->len < 150 ? reply->len : 150), reply->str);
        rc_fail_reason(rc, msg, NULL);
        redisAsyncDisconnect(ac); /* safe inside a callback; disconnect cb follows */
        return;
    }
    if (strcmp(step, "ROLE") == 0 &&
        !(reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
          reply->element[0]->type == REDIS_REPLY_STRING &&
          strcmp(reply->element[0]->str, "master") == 0)) {
        rc_fail_reason(rc, "not a master (a stale Sentinel answer)", NULL);
        redisAsyncDisconnect(ac);
        return;
    }
    if (strcmp(step, "PING") != 0)
        return;
    uv_timer_stop(&rc->timer);
    rc->st = RC_UP;
    rc->attempt = 0;
    rc->reason[0] = '\0';
    rc_report(rc, true, "connected");
}

/* hiredis connect callback: start the handshake or fail the attempt. */
static void rc_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    rconn *rc = ac->data;
    if (!rc || rc->ac != ac)
        return;
    if (status != REDIS_OK) {
        rc->ac = NULL; /* hiredis frees it after this callback */
        uv_timer_stop(&rc->timer);
        rc_fail_reason(rc, "connect failed", ac->errstr);
        rc_schedule_reconnect(rc);
        return;
    }
    rc->st = RC_HANDSHAKE;
    const kk_secret *pw = rc->url.password;
    if (pw) {
        const char *argv[3] = { "AUTH", rc->url.username, kk_secret_reveal(pw) };
        size_t lens[3] = { 4, rc->url.username ? strlen(rc->url.username) : 0, kk_secret_len(pw) };
        if (rc->url.username)
            redisAsyncCommandArgv(ac, rc_on_handshake, "AUTH", 3, argv, lens);
        else
            redisAsyncCommandArgv(ac, rc_on_handshake, "AUTH", 2, (const char *[]){ argv[0], argv[2] },
                                  (size_t[]){ 4, lens[2] });
    }
    if (rc->url.db != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", rc->url.db);
        redisAsyncCommandArgv(ac, rc_on_handshake, "SELECT", 2, (const char *[]){ "SELECT", db },
                              (size_t[]){ 6, (size_t)n });
    }
    if (rc->sent) /* a master just demoted by a failover must not be used */
        redisAsyncCommandArgv(ac, rc_on_handshake, "ROLE", 1, (const char *[]){ "ROLE" },
                              (size_t[]){ 4 });
    redisAsyncCommandArgv(ac, rc_on_handshake, "PING", 1, (const char *[]){ "PING" },
                          (size_t[]){ 4 });
}

/* Connect (plus handshake) took too long. */
static void rc_on_connect_timeout(uv_timer_t *t)
{
    rconn *rc = t->data;
    if (rc->st != RC_CONNECTING && rc->st != RC_HANDSHAKE)
        return;
    rc_fail_reason(rc, "connect timeout", NULL);
    rc_drop_context(rc);
    rc_schedule_reconnect(rc);
}

/* Starts a hiredis connection to the resolved IP. */
static void rc_connect_ip(rconn *rc)
{
    rc->st = RC_CONNECTING;
    redisAsyncContext *ac = redisAsyncConnect(rc->ip, rc->url.port);
    if (!ac || ac->err) {
        rc_fail_reason(rc, "connect failed", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        rc_schedule_reconnect(rc);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    redisLibuvAttach(ac, rc->loop);
    redisAsyncSetConnectCallback(ac, rc_on_connect);
    redisAsyncSetDisconnectCallback(ac, rc_on_disconnect);
    uv_timer_start(&rc->timer, rc_on_connect_timeout, rc->connect_to, 0);
}

/* uv_getaddrinfo finished (off the loop thread's critical path). */
static void rc_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rconn *rc = req->data;
    rc->gai_pending = false;
    if (rc->st == RC_CLOSING) {
        uv_freeaddrinfo(res);
        rc_maybe_free(rc);
        return;
    }
    if (status != 0 || !res) {
        rc_fail_reason(rc, "cannot resolve host", uv_strerror(status));
        uv_freeaddrinfo(res);
        rc_schedule_reconnect(rc);
        return;
    }
    if (res->ai_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, rc->ip, sizeof rc->ip);
    else
        uv_ip4_name((struct sockaddr_in *)res->ai_addr, rc->ip, sizeof rc->ip);
    uv_freeaddrinfo(res);
    rc_connect_ip(rc);
}

/* Resolves the host and connects: IP literals at once, names resolve
 * first (hiredis would resolve with a blocking call). */
static void rc_resolve(rconn *rc)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, rc->url.host, buf) == 1 || inet_pton(AF_INET6, rc->url.host, buf) == 1) {
        size_t n = strlen(rc->url.host); /* an IP literal: at most 45 bytes */
        memcpy(rc->ip, rc->url.host, n < sizeof rc->ip ? n + 1 : 0);
        rc->ip[sizeof rc->ip - 1] = '\0';
        rc_connect_ip(rc);
        return;
    }
    static const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    rc->st = RC_RESOLVING;
    rc->gai.data = rc;
    int r = uv_getaddrinfo(rc->loop, &rc->gai, rc_on_resolved, rc->url.host, NULL, &hints);
    if (r != 0) {
        rc_fail_reason(rc, "cannot resolve host", uv_strerror(r));
        rc_schedule_reconnect(rc);
        return;
    }
    rc->gai_pending = true;
}

/* The Sentinels' answer: connect to that master, or back off. */
static void rc_on_master(void *ud, int status, const char *host, int port, const char *reason)
{
    rconn *rc = ud;
    if (status != 0) {
        rc_fail_reason(rc, "no Sentinel answered", reason);
        rc_schedule_reconnect(rc);
        return;
    }
    if (strcmp(host, rc->url.host) != 0 || port != rc->url.port)
        KK_LOG_INFO(&rc->log, "sentinel_master", KK_S("master", rc->url.master), KK_S("host", host),
                    KK_I("port", port));
    snprintf(rc->url.host, sizeof rc->url.host, "%s", host);
    rc->url.port = port;
    rc_resolve(rc);
}

/* Starts one attempt: asks the Sentinels first with a redis-sentinel://
 * URL, then resolves and connects. */
int rconn_start(rconn *rc)
{
    if (!rc || rc->st == RC_CLOSING)
        return KK_EINVAL;
    if (rc->cl)
        return rclus_start(rc->cl);
    rc->reason[0] = '\0';
    if (rc->sent) {
        rc->st = RC_RESOLVING;
        if (rsent_ask(rc->sent, rc_on_master, rc) != 0) {
            rc_fail_reason(rc, "cannot ask the Sentinels", NULL);
            rc_schedule_reconnect(rc);
        }
        return 0;
    }
    rc_resolve(rc);
    return 0;
}

/* Sends one command. */
int rconn_cmd(rconn *rc, int argc, const char **argv, const size_t *argvlen,
              rconn_reply_fn cb, void *ud)
{
    if (!rc || !cb || argc < 1)
        return KK_EINVAL;
    if (rc->cl)
        return rclus_cmd(rc->cl, argc, argv, argvlen, cb, ud);
    if (rc->st != RC_UP || !rc->ac)
        return KK_EAGAIN;
    rc_req *req = calloc(1, sizeof *req);
    if (!req)
        return KK_ENOMEM;
    *req = (rc_req){ .rc = rc, .cb = cb, .ud = ud,
                     .deadline = uv_now(rc->loop) + rc->cmd_to,
                     .sent_ns = uv_hrtime() };
    if (redisAsyncCommandArgv(rc->ac, rc_on_reply, req, argc, argv, argvlen) != REDIS_OK) {
        free(req);
        return KK_ENOMEM;
    }
    if (rc->tail)
        rc->tail->next = req;
    else
        rc->head = req;
    rc->tail = req;
    rc->inflight++;
    if (!uv_is_active((uv_handle_t *)&rc->cmd_timer))
        rc_arm_cmd_timer(rc);
    return 0;
}

/* True while up. */
bool rconn_is_up(const rconn *rc)
{
    return rc && (rc->cl ? rclus_is_up(rc->cl) : rc->st == RC_UP);
}

/* The connection's URL (rconn.h). */
const rurl *rconn_url(const rconn *rc)
{
    return &rc->url;
}

/* Commands pending. */
size_t rconn_inflight(const rconn *rc)
{
    return rc ? (rc->cl ? rclus_inflight(rc->cl) : rc->inflight) : 0;
}

/* Frees once every handle closed and no resolve is pending. */
static void rc_maybe_free(rconn *rc)
{
    if (rc->handles_open > 0 || rc->gai_pending)
        return;
    void (*cb)(void *) = rc->closed_cb;
    void *ud = rc->closed_ud;
    rurl_free(&rc->url);
    free(rc->name);
    free(rc);
    if (cb)
        cb(ud);
}

/* Close callback of our two timers. */
static void rc_on_handle_closed(uv_handle_t *h)
{
    rconn *rc = h->data;
    rc->handles_open--;
    rc_maybe_free(rc);
}

/* The cluster router or the Sentinel asker finished closing. */
static void rc_on_part_closed(void *ud)
{
    rconn *rc = ud;
    rc->handles_open--;
    rc_maybe_free(rc);
}

/* Closes everything; pending commands get KK_ECANCELED. */
void rconn_close(rconn *rc, void (*closed_cb)(void *ud), void *ud)
{
    if (!rc)
        return;
    rc->st = RC_CLOSING;
    rc->closed_cb = closed_cb;
    rc->closed_ud = ud;
    if (rc->cl)
        rclus_close(rc->cl, rc_on_part_closed, rc);
    if (rc->sent)
        rsent_close(rc->sent, rc_on_part_closed, rc);
    rc_drop_context(rc); /* runs rc_on_reply(NULL) → KK_ECANCELED for each */
    for (rc_req *r = rc->head; r; r = r->next)
        rc_req_finish(r, KK_ECANCELED, NULL);
    if (rc->gai_pending)
        uv_cancel((uv_req_t *)&rc->gai);
    uv_close((uv_handle_t *)&rc->timer, rc_on_handle_closed);
    uv_close((uv_handle_t *)&rc->cmd_timer, rc_on_handle_closed);
}
