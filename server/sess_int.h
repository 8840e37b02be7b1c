/* sess_int.h — private to the sess module (sess.c, sess_lws.c). */
#ifndef KK_SESS_INT_H
#define KK_SESS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "log.h"
#include "sess.h"

/* One outgoing WebSocket message; bytes has LWS_PRE bytes of headroom. */
typedef struct sess_frame {
    struct sess_frame *next;
    size_t len;
    uint8_t bytes[];
} sess_frame;

/* One request waiting for its answer (matched by msgIncr). */
typedef struct sess_pending_req {
    struct sess_pending_req *next;
    uint64_t incr;
    int32_t req_identifier;
    uint64_t deadline_ms;
    sess_done_fn done;
    void *ud;
} sess_pending_req;

struct sess {
    uv_loop_t *loop;
    struct lws_context *lws;
    struct lws *wsi;   /* the WebSocket, while connecting or online */
    struct lws *probe; /* the plain GET reading a handshake verdict */
    sess_cfg cfg;      /* strings below replace cfg's borrowed ones */
    codec_cfg out_codec;
    sess_hooks hooks;
    void *owner;
    void *data;
    char *tenant, *user, *host, *path;
    char *token; /* owned, wiped on free; never logged */
    char id[16];
    kk_log_ctx log;

    sess_state state;
    sess_reason last_reason;
    unsigned attempts;
    bool handshake_failed;
    bool rx_paused;
    uint64_t rx_paused_ms; /* when reads stopped: deadlines move by the pause */
    uint32_t rng;
    unsigned backoff_step_ms;
    uint64_t retry_at_ms;
    uint64_t online_since_ms;
    uint64_t last_rx_ms;
    uint64_t last_ping_ms;
    bool ping_due; /* a ping waits for the writeable callback (behind outq or lws's rest) */

    kk_buf rx;         /* reassembly of a fragmented message */
    kk_buf probe_body; /* verdict probe body */
    int probe_status;
    codec_scratch scratch;

    sess_frame *outq, *outq_tail;
    size_t outq_bytes;
    sess_pending_req *pending, *pending_tail;
    unsigned npending;
    uint64_t next_incr;

    uint64_t frames_in, frames_out;
};

void sess__set_state(sess *s, sess_state to, sess_reason why);
void sess__drop_conn(sess *s, sess_reason why);
void sess__end(sess *s, sess_state to, sess_reason why);
struct lws *sess__open(sess *s, bool probe);
int sess__write_ping(sess *s, struct lws *wsi);
int sess__build_path(const sess *s, const char *token, kk_buf *b);
sess_pending_req *sess__take_pending(sess *s, kk_view incr);

#endif
