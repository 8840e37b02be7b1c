/* rsent.h — asks Redis Sentinels where a master is, for rconn's
 * redis-sentinel:// URLs (rurl.h).
 *
 * rsent_ask() tries the URL's Sentinels in order, each over a short-lived
 * standalone rconn (no AUTH: Sentinels are asked without a password),
 * with SENTINEL get-master-addr-by-name <master>; the first answer wins.
 * A Sentinel that cannot be reached within the timeout, or that does not
 * know the master, passes to the next. cb fires once per ask: status 0
 * with host and port, or KK_EIO when none answered (reason says why, for
 * logs; it never holds a password: none is sent).
 *
 * Thread: the loop thread only. Lifetime: rsent_new → rsent_ask (one at a
 * time) → rsent_close (asynchronous: an ask in progress ends without its
 * callback, then closed_cb runs once every handle closed).
 */
#ifndef KK_RSENT_H
#define KK_RSENT_H

#include <stdint.h>
#include <uv.h>

#include "rurl.h"

typedef struct rsent rsent;

/* Answer of one ask; host and reason are valid during the call only. */
typedef void (*rsent_fn)(void *ud, int status, const char *host, int port, const char *reason);

/* Creates the asker for url's Sentinels (url copied; nsentinels > 0).
 * timeout_ms bounds each Sentinel's connect and answer. Returns 0,
 * KK_EINVAL or KK_ENOMEM. */
int rsent_new(uv_loop_t *loop, const rurl *url, uint64_t timeout_ms, const char *name, rsent **out);

/* Starts one ask. Returns 0 (cb fires once), KK_EAGAIN when one is in
 * progress, KK_EINVAL. */
int rsent_ask(rsent *s, rsent_fn cb, void *ud);

/* Closes (see the lifetime above). NULL is a no-op. */
void rsent_close(rsent *s, void (*closed_cb)(void *ud), void *ud);

#endif
