/* calls_int.h — private to the calls module (calls.c, calls_sig.c). */
#ifndef KK_CALLS_INT_H
#define KK_CALLS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "calls.h"
#include "media.h"

enum call_state {
    CALL_ACCEPTING = 0, /* accept sent, no answer yet */
    CALL_WAIT_OFFER,    /* accepted, waiting for the caller's offer */
    CALL_MEDIA,         /* media call created */
    CALL_ENDING,        /* ending: waiting for on_finished and/or the hungUp answer */
};

/* One call of one user (loop thread). */
typedef struct call {
    struct call *next;
    calls *c;
    int refs;             /* list, media, each gateway request in flight */
    bool listed;
    enum call_state st;
    char *user;
    int platform;
    char *room;
    char *caller;
    uint8_t *inv;         /* InvitationInfo bytes as received */
    size_t inv_len;
    media_call *mc;       /* set while the media call lives */
    bool video;           /* the invitation's mediaType is not audio */
    bool offered;         /* mc made our own offer (NOTES §6.7) */
    char *rollback_sdp;   /* glare: the peer's offer, answered once mc is gone */
    bool media_done;      /* on_finished handled */
    bool hangup_pending;  /* hungUp or reject sent, answer not yet in */
    bool signaled_end;    /* the peer ended it (no hungUp from us) */
    uint64_t offer_deadline_ms;
    char *early[CALLS_EARLY_CANDIDATES];
    size_t n_early;
    unsigned seq;         /* clientMsgID counter */
} call;

/* A media-thread callback waiting for the loop. */
typedef struct calls_ev {
    struct calls_ev *next;
    call *k;
    int type;             /* 1 answer, 2 candidate, 3 state, 4 finished, 5 offer */
    int state;
    media_call_result res;
    char *s1, *s2, *s3, *s4; /* answer sdp / candidate+mid / file, sidecar, sha256 */
} calls_ev;

struct calls {
    calls_env env;
    char *tenant;
    kk_log_ctx log;
    call *list;
    size_t n_objs;        /* call objects not yet freed */
    bool dying;
    uv_async_t async;
    uv_timer_t timer;
    int handles_open;
    pthread_mutex_t mu;
    calls_ev *q, *q_tail;
    char *recent[CALLS_RECENT_ROOMS];
    size_t recent_next;
    void (*drain_done)(void *);
    void *drain_ud;
    uint64_t msg_counter;
};

/* calls_sig.c: building and sending what goes to the gateway. */
int calls__send_accept(call *k);
int calls__send_hungup(call *k);
int calls__send_reject(call *k);
int calls__send_signal(call *k, const char *signal_type, const char *sdp, const char *cand,
                       const char *mid);
/* Parses a 110 content; returns 0 and the signal's type, room and the
 * strings it carries (malloc'd, caller frees), or KK_EPROTO. */
int calls__parse_signal(const uint8_t *p, size_t len, char **type, char **room, char **sdp,
                        char **cand);

/* calls.c */
void calls__unref(call *k);
void calls__event(call *k, const char *type, const char *const *kv, size_t npairs);
void calls__hangup_done(call *k);
void calls__accept_done(call *k, int rc, int64_t err_code, const char *msg);

#endif
