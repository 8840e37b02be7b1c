/* outbox_int.h — private to the outbox module (outbox.c: stream, results,
 * timer; outbox_send.c: entries, 1003 sends and settling by pull). */
#ifndef KK_OUTBOX_INT_H
#define KK_OUTBOX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "rconn.h"
#include "sess.h"

/* Entries held at once (read, not yet resulted): bounds memory; reading
 * stops until results free room. */
#define OUTBOX_MAX_INFLIGHT 512
/* Entries asked for per XREADGROUP / XAUTOCLAIM / XCLAIM. */
#define OUTBOX_READ_COUNT 128
/* BLOCK of the XREADGROUP on the dedicated connection. */
#define OUTBOX_BLOCK_MS 1000
/* Timer period: rate-limit refill and retries need ~20 ms granularity. */
#define OUTBOX_TICK_MS 20
/* A fate-unknown send is settled no earlier than this after it became
 * unknown (or after start for pending entries): the gateway stores a send
 * before it answers, but a real OpenIM pipeline is asynchronous. */
#define OUTBOX_SETTLE_GRACE_MS 3000
/* Settling pulls pages of this many seqs, newest first, at most this many
 * pages, and stops at a page whose oldest message was sent this long
 * before the entry was created (clock skew between Redis and gateway). */
#define OUTBOX_SETTLE_PAGE 100
#define OUTBOX_SETTLE_MAX_PAGES 50
#define OUTBOX_SETTLE_SKEW_MS (5u * 60 * 1000)
/* XAUTOCLAIM scan and own-entry refresh period. */
#define OUTBOX_CLAIM_EVERY_MS 5000
/* kkim:{T}:outbox:done keeps entry IDs this long (by the entry's time). */
#define OUTBOX_DONE_KEEP_MS (7ull * 24 * 3600 * 1000)
/* 1003 and 1002 request timeouts (NOTES §2.6: 10 s, 30 s for pulls). */
#define OUTBOX_SEND_TIMEOUT_MS 10000
#define OUTBOX_PULL_TIMEOUT_MS 30000
/* Largest field value accepted from an entry: anything near it cannot fit
 * the gateway's 51 200-byte frame anyway; this bounds memory per entry. */
#define OUTBOX_FIELD_MAX (64u * 1024)
/* Longest clientMsgID accepted (OpenIM stores at most 64; room to spare). */
#define OUTBOX_CLIENT_MSG_ID_MAX 128
/* Longest consumer name of another instance (lease.h's instance IDs). */
#define OUTBOX_HOLDER_MAX 192
/* Retry delay of a result the shared connection could not write. */
#define OUTBOX_RESULT_RETRY_MS 500

/* Where an entry is. */
typedef enum obe_state {
    OBE_CHECK = 0, /* redelivered: ask kkim:{T}:outbox:done first */
    OBE_CHECKING,  /* ZSCORE in flight */
    OBE_READY,     /* valid, waiting for its sender online and the rate limit */
    OBE_SENDING,   /* 1003 in flight */
    OBE_UNKNOWN,   /* fate unknown: settle once online after not_before */
    OBE_SETTLING,  /* 1002 in flight */
    OBE_RESULT,    /* result decided, to write */
    OBE_WRITING,   /* result script in flight */
    OBE_HANDOVER,  /* XCLAIM to the sender's holder in flight (leases) */
} obe_state;

typedef struct obx_entry {
    struct obx_entry *prev, *next;
    struct outbox *ob;
    obe_state st;
    char id[48];          /* stream entry ID */
    uint64_t id_ms;       /* its millisecond part */
    uint64_t wait_since;  /* loop ms: start of the offline deadline */
    uint64_t not_before;  /* loop ms: no work before */
    /* the entry, validated (NULL fields absent) */
    char *send_id, *recv_id, *group_id, *client_msg_id, *ex;
    char *options;        /* JSON object of booleans */
    char *content;
    size_t content_len;
    int32_t session_type, content_type;
    /* settling */
    int64_t settle_hi;
    unsigned settle_pages;
    /* the result */
    const char *status;   /* "sent", "rejected", "failed" (static) */
    int64_t err_code;
    char err_msg[256];
    char server_msg_id[80];
    int64_t seq, send_time;
} obx_entry;

struct outbox {
    uv_loop_t *loop;
    rconn *shared;        /* borrowed */
    rconn *rd;            /* ours: blocking reads */
    char *tenant, *consumer;
    char key_outbox[160], key_results[160], key_done[160];
    double rate, bucket;
    uint64_t bucket_ms;
    uint64_t deadline_ms, results_maxlen, claim_idle_ms;
    sess *(*session_of)(void *ud, const char *user);
    int (*route)(void *ud, const char *user, char *holder, size_t cap);
    void *ud;
    kk_log_ctx log;
    uv_timer_t timer;
    /* reading state on rd */
    bool rd_busy;         /* a command is in flight on rd */
    bool group_ready;     /* XGROUP CREATE done since rd came up */
    bool recovering;      /* reading our own pending entries from rec_from */
    char rec_from[48];
    char claim_cursor[48];
    uint64_t next_claim_ms;
    bool refreshed;       /* this claim round refreshed our own entries */
    uint64_t rd_not_before; /* retry delay after an error reply */
    /* entries */
    obx_entry *head, *tail;
    size_t n;
    /* lifetime: memory goes when closing and refs reaches 0 (timer, rd,
     * shared commands and gateway requests in flight) */
    bool closing;
    unsigned refs;
    outbox_stats stats;
    metric_series *m_results[3];
    metric_series *m_settled[2];
};

/* outbox.c */
void outbox__unref(struct outbox *ob);
void outbox__entry_free(obx_entry *e);
void outbox__result(obx_entry *e, const char *status, int64_t code, const char *msg);
uint64_t outbox__wall_ms(void);

/* outbox_send.c */
obx_entry *outbox__entry_new(struct outbox *ob, const char *id, const struct redisReply *fields,
                             bool redelivered);
void outbox__entry_step(obx_entry *e, uint64_t now);

#endif
