/* rsent.c — Sentinel master lookup over short-lived rconns (see rsent.h). */
#include "rsent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "kk_err.h"
#include "rconn.h"

struct rsent {
    uv_loop_t *loop;
    rurl url;
    char *name;
    uint64_t timeout;
    rconn *rc;              /* the Sentinel asked now, or NULL */
    int next;               /* index of the next Sentinel to ask */
    rsent_fn cb;
    void *ud;
    bool asking, step_pending, got, closing;
    uv_timer_t timer;       /* moves to the next step outside hiredis callbacks */
    int open;               /* the timer + a closing child */
    char host[RURL_HOST_MAX];
    int port;
    char reason[200];
    void (*closed_cb)(void *);
    void *closed_ud;
};

static void rs_step(rsent *s);

/* Creates the asker. */
int rsent_new(uv_loop_t *loop, const rurl *url, uint64_t timeout_ms, const char *name, rsent **out)
{
    *out = NULL;
    if (!loop || !url || url->nsentinels < 1)
        return KK_EINVAL;
    rsent *s = calloc(1, sizeof *s);
    if (!s)
        return KK_ENOMEM;
    s->name = strdup(name ? name : "redis");
    if (!s->name || rurl_copy(&s->url, url) != 0) {
        free(s->name);
        free(s);
        return KK_ENOMEM;
    }
    s->loop = loop;
    s->timeout = timeout_ms ? timeout_ms : 5000;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->open = 1;
    *out = s;
    return 0;
}

/* Frees once the timer and every child closed. */
static void rs_maybe_free(rsent *s)
{
    if (--s->open > 0)
        return;
    void (*cb)(void *) = s->closed_cb;
    void *ud = s->closed_ud;
    rurl_free(&s->url);
    free(s->name);
    free(s);
    if (cb)
        cb(ud);
}

/* rconn_close callback of a child. */
static void rs_on_child_closed(void *ud)
{
    rs_maybe_free(ud);
}

/* Answer of SENTINEL get-master-addr-by-name: [host, port] or nil. */
static void rs_on_reply(void *ud, int status, const struct redisReply *r)
{
    rsent *s = ud;
    const redisReply *reply = (const redisReply *)r;
    if (s->closing)
        return;
    if (status == 0 && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[0]->len < sizeof s->host && reply->element[1]->type == REDIS_REPLY_STRING) {
        int port = atoi(reply->element[1]->str);
        if (port > 0 && port <= 65535) {
            memcpy(s->host, reply->element[0]->str, reply->element[0]->len + 1);
            s->port = port;
            s->got = true;
        }
    }
    const rurl_hostport *hp = &s->url.sentinels[s->next - 1];
    if (!s->got)
        snprintf(s->reason, sizeof s->reason, "Sentinel %.64s:%d %s master %.64s", hp->host,
                 hp->port, status == 0 ? "does not know" : "gave no answer about", s->url.master);
    rs_step(s);
}

/* State of the child: ask once it is up; a failed attempt ends its turn. */
static void rs_on_child_state(void *ud, bool up, const char *reason)
{
    rsent *s = ud;
    if (s->closing || s->step_pending)
        return;
    if (up) {
        const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", s->url.master };
        size_t lens[3] = { 8, 23, strlen(s->url.master) };
        if (rconn_cmd(s->rc, 3, argv, lens, rs_on_reply, s) == 0)
            return;
        reason = "cannot send the question";
    }
    const rurl_hostport *hp = &s->url.sentinels[s->next - 1];
    snprintf(s->reason, sizeof s->reason, "Sentinel %.64s:%d: %.100s", hp->host, hp->port,
             reason ? reason : "down");
    rs_step(s);
}

/* Asks Sentinel number s->next, or reports that none answered. */
static void rs_try_next(rsent *s)
{
    if (s->next >= s->url.nsentinels) {
        s->asking = false;
        s->cb(s->ud, KK_EIO, NULL, 0, s->reason[0] ? s->reason : "no Sentinel answered");
        return;
    }
    const rurl_hostport *hp = &s->url.sentinels[s->next++];
    rurl u = { .port = hp->port };
    memcpy(u.host, hp->host, sizeof u.host);
    /* a long backoff: the child is closed after its first failure */
    rconn_opts o = { .url = &u, .connect_timeout_ms = s->timeout, .cmd_timeout_ms = s->timeout,
                     .backoff_min_ms = 60000, .name = s->name };
    if (rconn_new(s->loop, &o, rs_on_child_state, s, &s->rc) != 0) {
        snprintf(s->reason, sizeof s->reason, "out of memory");
        rs_try_next(s);
        return;
    }
    s->open++;
    rconn_start(s->rc);
}

/* Timer: close the child, then report the answer or ask the next one. */
static void rs_on_step(uv_timer_t *t)
{
    rsent *s = t->data;
    s->step_pending = false;
    rconn_close(s->rc, rs_on_child_closed, s);
    s->rc = NULL;
    if (s->got) {
        s->asking = false;
        s->cb(s->ud, 0, s->host, s->port, "");
    } else {
        rs_try_next(s);
    }
}

/* Ends the current child's turn outside the hiredis callback it came from. */
static void rs_step(rsent *s)
{
    s->step_pending = true;
    uv_timer_start(&s->timer, rs_on_step, 0, 0);
}

/* Starts one ask. */
int rsent_ask(rsent *s, rsent_fn cb, void *ud)
{
    if (!s || !cb || s->closing)
        return KK_EINVAL;
    if (s->asking)
        return KK_EAGAIN;
    s->asking = true;
    s->got = false;
    s->next = 0;
    s->reason[0] = '\0';
    s->cb = cb;
    s->ud = ud;
    rs_try_next(s);
    return 0;
}

/* uv_close callback of the timer. */
static void rs_on_timer_closed(uv_handle_t *h)
{
    rs_maybe_free(h->data);
}

/* Closes; an ask in progress ends without its callback. */
void rsent_close(rsent *s, void (*closed_cb)(void *ud), void *ud)
{
    if (!s)
        return;
    s->closing = true;
    s->closed_cb = closed_cb;
    s->closed_ud = ud;
    if (s->rc)
        rconn_close(s->rc, rs_on_child_closed, s);
    s->rc = NULL;
    uv_close((uv_handle_t *)&s->timer, rs_on_timer_closed);
}
