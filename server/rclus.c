/* rclus.c — Redis Cluster client over one rconn per master (see rclus.h). */
#include "rclus.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "kk_err.h"
#include "log.h"

/* Period of the housekeeping timer (parked commands, map refresh). */
#define RCL_TICK_MS 10
/* Least time between two CLUSTER SLOTS requests. */
#define RCL_REFRESH_GAP_MS 100
/* While a master in the map is down: ask for the map this often (a
 * failover promotes a replica; the map says so once it is done). */
#define RCL_DOWN_REFRESH_MS 1000
/* Longest host in a slot map or a redirect (IPv6 literal plus margin). */
#define RCL_HOST_MAX 64

/* One master: its connection and how many slots it owns now. */
typedef struct rcl_node {
    struct rcl_node *next;
    rclus *cl;
    rconn *rc;
    char host[RCL_HOST_MAX];
    int port;
    bool up;
    int owns;
    char name[RCL_HOST_MAX + 8]; /* "host:port" for logs */
} rcl_node;

/* One caller command, with a copy of its argv for resending. */
typedef struct rcl_req {
    struct rcl_req *next;   /* parked list */
    rclus *cl;
    rconn_reply_fn cb;
    void *ud;
    int slot;               /* -1: keyless */
    int redirects;
    rcl_node *ask;          /* send ASKING + the command there, once */
    uint64_t deadline;      /* while parked: give up with KK_EIO */
    uint64_t not_before;    /* TRYAGAIN: not before this loop time */
    int argc;
    const char **argv;
    size_t *lens;
} rcl_req;

struct rclus {
    uv_loop_t *loop;
    rurl url;               /* the seed's; each node copies it */
    char *name;
    rconn_opts opts;        /* timeouts for the node connections */
    rconn_state_fn on_state;
    void *ud;
    rcl_node *nodes;
    rcl_node *slots[RCLUS_SLOTS];
    bool have_map, up, refreshing, refresh_wanted, started, closing;
    bool prune_wanted;      /* a new map: drop the nodes it does not name */
    uint64_t last_refresh;
    uv_timer_t timer;
    rcl_req *park_head, *park_tail;
    size_t inflight;
    int open;               /* node connections + the timer not yet closed */
    kk_log_ctx log;
    void (*on_rtt)(void *ud, double seconds);
    void *rtt_ud;
    void (*closed_cb)(void *);
    void *closed_ud;
};

static void rcl_node_state(void *ud, bool up, const char *reason);
static void rcl_send(rcl_req *q);
static void rcl_tick(uv_timer_t *t);
static void rcl_arm(rclus *cl);
static void rcl_closed_one(rclus *cl);

/* Creates the router with the seed node from the URL. */
int rclus_new(uv_loop_t *loop, const rconn_opts *o, rconn_state_fn on_state, void *ud,
              rclus **out)
{
    *out = NULL;
    if (!loop || !o || !o->url || !o->url->cluster)
        return KK_EINVAL;
    rclus *cl = calloc(1, sizeof *cl);
    if (!cl)
        return KK_ENOMEM;
    cl->name = strdup(o->name ? o->name : "redis");
    if (!cl->name || rurl_copy(&cl->url, o->url) != 0) {
        free(cl->name);
        free(cl);
        return KK_ENOMEM;
    }
    cl->url.cluster = false;
    cl->loop = loop;
    cl->opts = *o;
    cl->opts.url = &cl->url;
    cl->opts.name = cl->name;
    cl->on_state = on_state;
    cl->ud = ud;
    cl->log = (kk_log_ctx){ .mod = "rclus", .tenant = cl->name };
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    cl->open = 1;
    *out = cl;
    return 0;
}

/* The node host:port, created (and started once the router runs) when
 * new. NULL on ENOMEM. */
static rcl_node *rcl_node_get(rclus *cl, const char *host, int port)
{
    for (rcl_node *n = cl->nodes; n; n = n->next)
        if (n->port == port && strcmp(n->host, host) == 0)
            return n;
    rcl_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cl = cl;
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    snprintf(n->name, sizeof n->name, "%s:%d", host, port);
    rurl u = cl->url; /* shallow: rconn_new copies it */
    snprintf(u.host, sizeof u.host, "%s", host);
    u.port = port;
    rconn_opts o = cl->opts;
    o.url = &u;
    if (rconn_new(cl->loop, &o, rcl_node_state, n, &n->rc) != 0) {
        free(n);
        return NULL;
    }
    if (cl->on_rtt)
        rconn_set_rtt_observer(n->rc, cl->on_rtt, cl->rtt_ud);
    n->next = cl->nodes;
    cl->nodes = n;
    cl->open++;
    if (cl->started)
        rconn_start(n->rc);
    return n;
}

/* Starts connecting to the seed. */
int rclus_start(rclus *cl)
{
    if (!cl || cl->closing)
        return KK_EINVAL;
    cl->started = true;
    rcl_node *seed = rcl_node_get(cl, cl->url.host, cl->url.port);
    return seed ? 0 : KK_ENOMEM;
}

/* Recomputes "up" (map known, every owning master up) and reports a change. */
static void rcl_update_up(rclus *cl, const char *why)
{
    bool up = cl->have_map;
    for (rcl_node *n = cl->nodes; n && up; n = n->next)
        if (n->owns > 0 && !n->up)
            up = false;
    if (up == cl->up || cl->closing)
        return;
    cl->up = up;
    if (!up)
        rcl_arm(cl); /* the tick asks for the map until every master is up */
    if (cl->on_state)
        cl->on_state(cl->ud, up, why);
}

/* Keeps the timer running while something waits for it. */
static void rcl_arm(rclus *cl)
{
    if (!cl->closing && !uv_is_active((uv_handle_t *)&cl->timer))
        uv_timer_start(&cl->timer, rcl_tick, RCL_TICK_MS, RCL_TICK_MS);
}

/* Points slot at node n, keeping the owned-slot counts. */
static void rcl_set_slot(rclus *cl, int slot, rcl_node *n)
{
    if (cl->slots[slot])
        cl->slots[slot]->owns--;
    cl->slots[slot] = n;
    if (n)
        n->owns++;
}

/* What the slot walker needs: the router and the node asked. */
typedef struct rcl_walk {
    rclus *cl;
    rcl_node *asked;
    bool nomem;
} rcl_walk;

/* One range of CLUSTER SLOTS: its slots now belong to host:port. */
static void rcl_on_range(void *ud, int first, int last, const char *host, int port)
{
    rcl_walk *w = ud;
    rcl_node *n = rcl_node_get(w->cl, host[0] ? host : w->asked->host, port);
    if (!n) {
        w->nomem = true;
        return;
    }
    for (int s = first; s <= last; s++)
        rcl_set_slot(w->cl, s, n);
}

/* CLUSTER SLOTS reply: install the new map. */
static void rcl_on_slots(void *ud, int status, const struct redisReply *reply)
{
    rcl_node *asked = ud;
    rclus *cl = asked->cl;
    cl->refreshing = false;
    if (cl->closing)
        return;
    rcl_walk w = { cl, asked, false };
    for (int s = 0; status == 0 && reply->type == REDIS_REPLY_ARRAY && s < RCLUS_SLOTS; s++)
        rcl_set_slot(cl, s, NULL);
    int n = status == 0 ? rclus_slots_walk(reply, rcl_on_range, &w) : status;
    if (n <= 0 || w.nomem) {
        KK_LOG_WARN(&cl->log, "cluster_slots_failed", KK_S("node", asked->name),
                    KK_ERR(n < 0 ? n : KK_EPROTO));
        cl->refresh_wanted = true;
        rcl_arm(cl);
        rcl_update_up(cl, "CLUSTER SLOTS failed");
        return;
    }
    bool first = !cl->have_map;
    cl->have_map = true;
    cl->prune_wanted = true; /* in the tick: not from inside a reply */
    rcl_arm(cl);
    if (first)
        KK_LOG_INFO(&cl->log, "cluster_map", KK_S("node", asked->name), KK_I("ranges", n));
    rcl_update_up(cl, "cluster map loaded");
}

/* Asks an up node for the slot map (at most every RCL_REFRESH_GAP_MS). */
static void rcl_refresh(rclus *cl)
{
    cl->refresh_wanted = true;
    rcl_arm(cl);
    uint64_t now = uv_now(cl->loop);
    if (cl->refreshing || cl->closing ||
        (cl->last_refresh && now - cl->last_refresh < RCL_REFRESH_GAP_MS))
        return;
    for (rcl_node *n = cl->nodes; n; n = n->next) {
        if (!n->up)
            continue;
        const char *argv[2] = { "CLUSTER", "SLOTS" };
        if (rconn_cmd(n->rc, 2, argv, (const size_t[]){ 7, 5 }, rcl_on_slots, n) == 0) {
            cl->refreshing = true;
            cl->refresh_wanted = false;
            cl->last_refresh = now;
        }
        return;
    }
}

/* A node connection came up or went down. */
static void rcl_node_state(void *ud, bool up, const char *reason)
{
    rcl_node *n = ud;
    rclus *cl = n->cl;
    n->up = up;
    if (cl->closing)
        return;
    if (!up) {
        char why[256];
        snprintf(why, sizeof why, "node %s: %s", n->name, reason ? reason : "down");
        rcl_update_up(cl, why);
    }
    if (!up || !cl->have_map || cl->refresh_wanted)
        rcl_refresh(cl);
    rcl_update_up(cl, "connected");
}

/* Completes q once and frees it. */
static void rcl_finish(rcl_req *q, int status, const redisReply *reply)
{
    rclus *cl = q->cl;
    cl->inflight--;
    q->cb(q->ud, status, (const struct redisReply *)reply);
    free(q);
}

/* Queues q until its node is up, its TRYAGAIN delay passed or its
 * deadline (KK_EIO). */
static void rcl_park(rcl_req *q)
{
    rclus *cl = q->cl;
    if (!q->deadline)
        q->deadline = uv_now(cl->loop) + (cl->opts.cmd_timeout_ms ? cl->opts.cmd_timeout_ms : 5000);
    q->next = NULL;
    if (cl->park_tail)
        cl->park_tail->next = q;
    else
        cl->park_head = q;
    cl->park_tail = q;
    rcl_arm(cl);
}

/* Any master that is up (keyless commands), or NULL. */
static rcl_node *rcl_any_up(rclus *cl)
{
    for (rcl_node *n = cl->nodes; n; n = n->next)
        if (n->up && n->owns > 0)
            return n;
    return NULL;
}

/* The node q goes to now, or NULL. */
static rcl_node *rcl_target(rcl_req *q)
{
    if (q->ask)
        return q->ask;
    return q->slot < 0 ? rcl_any_up(q->cl) : q->cl->slots[q->slot];
}

/* Reply of a command: follow MOVED/ASK/TRYAGAIN, else hand it over. */
static void rcl_on_reply(void *ud, int status, const struct redisReply *r)
{
    rcl_req *q = ud;
    rclus *cl = q->cl;
    const redisReply *reply = (const redisReply *)r;
    if (status != 0) {
        rcl_finish(q, status == KK_ECANCELED && !cl->closing ? KK_EIO : status, NULL);
        return;
    }
    if (reply->type != REDIS_REPLY_ERROR || cl->closing || q->redirects >= RCLUS_REDIRECTS_MAX) {
        rcl_finish(q, 0, reply);
        return;
    }
    char host[RCL_HOST_MAX];
    int slot, port;
    int kind = rclus_redirect_parse(reply->str, reply->len, &slot, host, sizeof host, &port);
    rcl_node *n = kind ? rcl_node_get(cl, host, port) : NULL;
    if (kind && n) {
        q->redirects++;
        if (kind == 1) {
            rcl_set_slot(cl, slot, n);
            rcl_refresh(cl);
        } else {
            q->ask = n;
        }
        rcl_send(q);
        return;
    }
    if (reply->len >= 8 && memcmp(reply->str, "TRYAGAIN", 8) == 0) {
        /* a migration in progress: bounded by the deadline, not counted */
        q->not_before = uv_now(cl->loop) + RCLUS_TRYAGAIN_MS;
        rcl_park(q);
        return;
    }
    if (reply->len >= 11 && memcmp(reply->str, "CLUSTERDOWN", 11) == 0)
        rcl_refresh(cl);
    rcl_finish(q, 0, reply);
}

/* Reply to ASKING: the command sent right after it carries the outcome. */
static void rcl_on_ignored_asking(void *ud, int status, const struct redisReply *reply)
{
    (void)ud;
    (void)status;
    (void)reply;
}

/* Sends q to its node (ASKING first after an ASK), or parks it. */
static void rcl_send(rcl_req *q)
{
    rcl_node *n = rcl_target(q);
    if (!n || !n->up || q->not_before > uv_now(q->cl->loop)) {
        rcl_park(q);
        return;
    }
    if (q->ask) {
        static const char *const asking[1] = { "ASKING" };
        if (rconn_cmd(n->rc, 1, (const char **)asking, (const size_t[]){ 6 },
                      rcl_on_ignored_asking, NULL) != 0) {
            rcl_park(q);
            return;
        }
        q->ask = NULL;
    }
    if (rconn_cmd(n->rc, q->argc, q->argv, q->lens, rcl_on_reply, q) != 0)
        rcl_park(q);
}

/* Whether a parked command waits to be sent to n after an ASK. */
static bool rcl_asked(const rclus *cl, const rcl_node *n)
{
    for (const rcl_req *q = cl->park_head; q; q = q->next)
        if (q->ask == n)
            return true;
    return false;
}

/* rconn_close callback of a dropped node. */
static void rcl_on_dropped_closed(void *ud)
{
    rcl_node *n = ud;
    rclus *cl = n->cl;
    free(n);
    rcl_closed_one(cl);
}

/* Closes the connection of each node the slot map no longer names (it
 * owns no slot, has nothing in flight and no ASK waits for it), so a node
 * removed from the cluster is not retried. */
static void rcl_prune(rclus *cl)
{
    cl->prune_wanted = false;
    for (rcl_node **pp = &cl->nodes; *pp;) {
        rcl_node *n = *pp;
        if (n->owns > 0 || rconn_inflight(n->rc) > 0 || rcl_asked(cl, n)) {
            pp = &n->next;
            continue;
        }
        *pp = n->next;
        KK_LOG_INFO(&cl->log, "cluster_node_dropped", KK_S("node", n->name));
        rconn_close(n->rc, rcl_on_dropped_closed, n);
    }
}

/* Housekeeping: resend parked commands whose node is up, fail those past
 * their deadline, ask for the map again when wanted. Stops when idle. */
static void rcl_tick(uv_timer_t *t)
{
    rclus *cl = t->data;
    uint64_t now = uv_now(cl->loop);
    if (cl->prune_wanted)
        rcl_prune(cl);
    rcl_req *q = cl->park_head;
    cl->park_head = cl->park_tail = NULL;
    while (q) {
        rcl_req *next = q->next;
        rcl_node *n = rcl_target(q);
        if (now >= q->deadline)
            rcl_finish(q, KK_EIO, NULL);
        else if (n && n->up && now >= q->not_before)
            rcl_send(q);
        else
            rcl_park(q);
        q = next;
    }
    if (!cl->up && cl->have_map && now - cl->last_refresh >= RCL_DOWN_REFRESH_MS)
        cl->refresh_wanted = true;
    if (cl->refresh_wanted)
        rcl_refresh(cl);
    if (!cl->park_head && !cl->refresh_wanted && (cl->up || !cl->have_map))
        uv_timer_stop(&cl->timer);
}

/* Routes one command; see rclus.h. */
int rclus_cmd(rclus *cl, int argc, const char **argv, const size_t *argvlen, rconn_reply_fn cb,
              void *ud)
{
    if (!cl || !cb || argc < 1 || cl->closing)
        return KK_EINVAL;
    if (!cl->have_map)
        return KK_EAGAIN;
    int k = rclus_cmd_key(argc, (const char *const *)argv, argvlen);
    int slot = k < 0 ? -1 : rclus_slot(argv[k], argvlen[k]);
    rcl_node *n = slot < 0 ? rcl_any_up(cl) : cl->slots[slot];
    if (!n || !n->up)
        return KK_EAGAIN;
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argvlen[i];
    size_t head = sizeof(rcl_req) + (size_t)argc * (sizeof(char *) + sizeof(size_t));
    rcl_req *q = calloc(1, head + bytes);
    if (!q)
        return KK_ENOMEM;
    *q = (rcl_req){ .cl = cl, .cb = cb, .ud = ud, .slot = slot, .argc = argc };
    q->argv = (const char **)(q + 1);
    q->lens = (size_t *)(q->argv + argc);
    char *p = (char *)(q->lens + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], argvlen[i]);
        q->argv[i] = p;
        q->lens[i] = argvlen[i];
        p += argvlen[i];
    }
    if (rconn_cmd(n->rc, argc, q->argv, q->lens, rcl_on_reply, q) != 0) {
        free(q);
        return KK_EAGAIN;
    }
    cl->inflight++;
    return 0;
}

/* Sets the RTT observer on every node, present and future. */
void rclus_set_rtt_observer(rclus *cl, void (*fn)(void *ud, double seconds), void *ud)
{
    cl->on_rtt = fn;
    cl->rtt_ud = ud;
    for (rcl_node *n = cl->nodes; n; n = n->next)
        rconn_set_rtt_observer(n->rc, fn, ud);
}

/* Map known and every owning master up. */
bool rclus_is_up(const rclus *cl)
{
    return cl && cl->up;
}

/* Commands whose callback has not fired. */
size_t rclus_inflight(const rclus *cl)
{
    return cl ? cl->inflight : 0;
}

/* One node connection or the timer finished closing; the last frees. */
static void rcl_closed_one(rclus *cl)
{
    if (--cl->open > 0)
        return;
    void (*cb)(void *) = cl->closed_cb;
    void *ud = cl->closed_ud;
    while (cl->nodes) {
        rcl_node *n = cl->nodes;
        cl->nodes = n->next;
        free(n);
    }
    rurl_free(&cl->url);
    free(cl->name);
    free(cl);
    if (cb)
        cb(ud);
}

/* rconn_close callback of a node. */
static void rcl_on_node_closed(void *ud)
{
    rcl_closed_one(((rcl_node *)ud)->cl);
}

/* uv_close callback of the timer. */
static void rcl_on_timer_closed(uv_handle_t *h)
{
    rcl_closed_one(h->data);
}

/* Closes every node; pending and parked commands get KK_ECANCELED. */
void rclus_close(rclus *cl, void (*closed_cb)(void *ud), void *ud)
{
    if (!cl)
        return;
    cl->closing = true;
    cl->closed_cb = closed_cb;
    cl->closed_ud = ud;
    while (cl->park_head) {
        rcl_req *q = cl->park_head;
        cl->park_head = q->next;
        rcl_finish(q, KK_ECANCELED, NULL);
    }
    cl->park_tail = NULL;
    for (rcl_node *n = cl->nodes; n; n = n->next)
        rconn_close(n->rc, rcl_on_node_closed, n);
    uv_close((uv_handle_t *)&cl->timer, rcl_on_timer_closed);
}
