/* rclus.h — Redis Cluster routing under rconn (hiredis 0.14 has no
 * cluster client, platform-notes §5). rconn hands every call to this
 * module when its URL says ?cluster=1, so callers keep rconn's contract.
 *
 * The slot map comes from CLUSTER SLOTS, asked of the seed node (the URL's
 * host) or any node that is up. Each master gets one rconn (standalone,
 * same user/password). A command goes to the master of the CRC16 slot of
 * its first key (rclus_cmd_key: {...} hash tags honoured, EVAL/EVALSHA's
 * first key after numkeys, XREAD/XREADGROUP's first stream after STREAMS);
 * keyless commands (SCRIPT LOAD, PING) go to any master that is up.
 * Replies: "MOVED slot host:port" updates the slot, asks for a new map and
 * resends there; "ASK slot host:port" sends ASKING + the command to that
 * node, once; "TRYAGAIN" (a multi-key command during a migration) resends
 * after RCLUS_TRYAGAIN_MS until the command timeout. None of these ran the
 * command, so resending keeps exactly-once. At most RCLUS_REDIRECTS_MAX
 * MOVED/ASK redirections, then the error reply is handed to the caller. A node whose connection fails makes
 * the map be asked for again; the commands it had complete with KK_EIO, as
 * with a single connection (the caller cannot know whether they ran); while
 * a master of the map is down the map is asked for every second, so a
 * replica promoted by the cluster's failover takes over. After each new
 * map, a node that owns no slot, has nothing in flight and no ASK waiting
 * is closed and forgotten (log cluster_node_dropped), so a node removed
 * from the cluster is not retried; a later MOVED or ASK to it reconnects.
 *
 * Up: the map is known and every master in it is up. Thread: loop only.
 */
#ifndef KK_RCLUS_H
#define KK_RCLUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rconn.h"

#define RCLUS_SLOTS 16384
#define RCLUS_REDIRECTS_MAX 8
#define RCLUS_TRYAGAIN_MS 20

typedef struct rclus rclus;

/* CRC16-XMODEM of buf (Redis Cluster's key hash; "123456789" → 0x31C3). */
uint16_t rclus_crc16(const void *buf, size_t len);

/* The slot of key: CRC16 of the part between the first '{' and the next
 * '}' when that part is not empty, else of the whole key; mod 16384. */
int rclus_slot(const char *key, size_t len);

/* Index in argv of the command's first key, or -1 when it has none
 * (SCRIPT, PING, INFO, CLUSTER, ...; EVAL with numkeys 0) or the command
 * is malformed (EVAL without keys after numkeys, XREADGROUP without
 * STREAMS). The command name is matched without regard to case. */
int rclus_cmd_key(int argc, const char *const *argv, const size_t *argvlen);

/* Calls fn(ud, first, last, host, port) for each slot range of a CLUSTER
 * SLOTS reply, with its master. host "" means "the node asked". Returns
 * the number of ranges, or KK_EPROTO at the first malformed element
 * (ranges before it were reported; nothing after it). */
int rclus_slots_walk(const struct redisReply *r,
                     void (*fn)(void *ud, int first, int last, const char *host, int port),
                     void *ud);

/* Parses "MOVED 3999 127.0.0.1:6381" or "ASK ..." (len bytes) into slot,
 * host (cap bytes) and port. Returns 1 for MOVED, 2 for ASK, 0 otherwise. */
int rclus_redirect_parse(const char *s, size_t len, int *slot, char *host, size_t cap,
                         int *port);

/* Same contract as rconn_new/_start/_cmd/_set_rtt_observer/_is_up/
 * _inflight/_close (rconn.h); opts->url must have cluster set. */
int rclus_new(uv_loop_t *loop, const rconn_opts *opts, rconn_state_fn on_state, void *ud,
              rclus **out);
int rclus_start(rclus *cl);
int rclus_cmd(rclus *cl, int argc, const char **argv, const size_t *argvlen, rconn_reply_fn cb,
              void *ud);
void rclus_set_rtt_observer(rclus *cl, void (*fn)(void *ud, double seconds), void *ud);
bool rclus_is_up(const rclus *cl);
size_t rclus_inflight(const rclus *cl);
void rclus_close(rclus *cl, void (*closed_cb)(void *ud), void *ud);

#endif
