/* rconn.h — one asynchronous Redis connection on the libuv loop, with what
 * hiredis 0.14 lacks (platform-notes §5): name resolution off the loop
 * (uv_getaddrinfo; IP literals skip it), a connect timeout and a command
 * timeout (uv timers), AUTH (ACL "AUTH user pass" or legacy "AUTH pass"),
 * SELECT, reconnect with exponential backoff and jitter, and a state
 * callback with a reason. The password is a kk_secret and no reason, log
 * line or error text ever contains it.
 *
 * Commands: rconn_cmd() takes an argv (redisAsyncCommandArgv, binary-safe)
 * and a completion callback that fires EXACTLY ONCE: status 0 with the
 * reply (which may be a Redis error reply: check reply->type), KK_EIO when
 * the connection failed or the command timed out (the connection is then
 * dropped and re-established: a Redis that stops answering is treated as
 * down), KK_ECANCELED when rconn_close() ran first. If rconn_cmd() itself
 * fails (not up: KK_EAGAIN; ENOMEM) the callback is never called.
 * rconn_inflight() counts commands whose callback has not fired yet, for
 * backpressure: the sink stops reading sessions above its window.
 *
 * Thread: the loop thread only. Lifetime: rconn_new → rconn_start →
 * rconn_close (asynchronous; memory is freed after every handle closed,
 * then closed_cb runs). The loop must keep running after rconn_close until
 * then (hiredis's adapter closes its uv_poll_t later too).
 *
 * Redis Cluster: a URL with ?cluster=1 makes the same object a router
 * (rclus.h) over one connection per master, each command sent to the
 * master of its first key's slot; the contract above holds unchanged.
 * Sentinel: with a redis-sentinel:// URL every connection attempt first
 * asks the Sentinels for the master's address (rsent.h).
 */
#ifndef KK_RCONN_H
#define KK_RCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rurl.h"

struct redisReply;
typedef struct rconn rconn;

/* State changes: up=true once AUTH/SELECT/PING succeeded; up=false on each
 * failed attempt and on loss of an up connection, with a reason such as
 * "connect timeout", "AUTH failed: WRONGPASS ..." (never the password). */
typedef void (*rconn_state_fn)(void *ud, bool up, const char *reason);
/* Completion of one command; reply is valid only during the call. */
typedef void (*rconn_reply_fn)(void *ud, int status, const struct redisReply *reply);

typedef struct rconn_opts {
    const rurl *url;             /* copied */
    uint64_t connect_timeout_ms; /* 0 → 5000 */
    uint64_t cmd_timeout_ms;     /* 0 → 5000 */
    uint64_t backoff_min_ms;     /* 0 → 200 */
    uint64_t backoff_max_ms;     /* 0 → 30000 */
    const char *name;            /* for logs: "global", a tenant ID; copied */
} rconn_opts;

/* Creates a connection object (nothing happens until rconn_start).
 * Returns 0, KK_EINVAL or KK_ENOMEM. */
int rconn_new(uv_loop_t *loop, const rconn_opts *opts, rconn_state_fn on_state, void *ud,
              rconn **out);

/* Starts connecting (and reconnecting forever until closed). */
int rconn_start(rconn *rc);

/* Sends a command. Returns 0 (cb will fire once), KK_EAGAIN when the
 * connection is not up, KK_EINVAL, KK_ENOMEM (cb never fires then). */
int rconn_cmd(rconn *rc, int argc, const char **argv, const size_t *argvlen,
              rconn_reply_fn cb, void *ud);

/* Calls fn(ud, seconds) with the round-trip time of every command answered
 * (metrics: the Redis RTT histogram). fn NULL turns it off. */
void rconn_set_rtt_observer(rconn *rc, void (*fn)(void *ud, double seconds), void *ud);

/* True while the connection is up. */
bool rconn_is_up(const rconn *rc);

/* Commands sent whose callback has not fired. */
size_t rconn_inflight(const rconn *rc);

/* The URL the connection was made with (for a second connection to the
 * same server, e.g. the outbox's blocking reads). */
const rurl *rconn_url(const rconn *rc);

/* Closes: pending commands complete with KK_ECANCELED, timers and the
 * hiredis context close, then closed_cb(ud) runs and the memory is freed.
 * NULL is a no-op. Never call twice. */
void rconn_close(rconn *rc, void (*closed_cb)(void *ud), void *ud);

#endif
