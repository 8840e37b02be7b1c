/* calls.h — one tenant's recorded calls: the signaling glue between the
 * gateway (1601 pushes, 1004 SignalReq, contentType-110 WebRTC signals) and
 * the media endpoint (media.h). Design §7, NOTES §6.
 *
 * What it does: for logins whose policy is `"record": "auto"`, a pushed
 * invite (pbsignal.h) that is fresh and names the login's user among the
 * invitees is accepted with 1004 (the invitation as received); the caller's
 * offer (a pushed 110 message) goes to media_call_new; our answer and
 * candidates go back as 110 messages sent with 1003; the caller's trickled
 * candidates go to the media call. cancel / hungUp / reject pushes end the
 * call; a media ending sends hungUp. Every step is an entry in
 * kkim:{T}:calls (invited, accepted, media_started, ended, failed).
 * One call per user at a time: a new invite while the user's call records
 * is rejected with 1004 reject (event ended, reason busy; KKIM doc §10.8);
 * a held call without media yet is stale and ends as replaced (NOTES §6.8).
 * Signals for no call of the user (1601, 110, unsolicited 1004) are dropped
 * with a log line. The user's other device accepting or rejecting ends the
 * call (reason other_device, no hungUp from us; NOTES §6.5 step 4).
 *
 * Who offers (NOTES §6.7): without the caller's offer CALLS_OFFER_WAIT_MS
 * after our accept, the relay sends its own (receive-only) offer as a 110
 * message and takes the caller's answer; a caller's offer after ours
 * (glare) rolls ours back and is answered.
 *
 * What it never does: look at pulled messages (only pushes reach it), or
 * touch Redis other than through rsink_call_event.
 *
 * Threads: loop thread only; media callbacks are handed over through a
 * mutex-guarded queue drained by a uv_async_t.
 * Ownership: calls_free may be called with calls live (they end with
 * reason shutdown); the memory goes once every media call has finished and
 * every gateway request has completed (sessions cancel theirs when freed).
 */
#ifndef KK_CALLS_H
#define KK_CALLS_H

#include <stdint.h>

#include "codec.h"
#include "log.h"
#include "sdkws.pb-c.h"

struct media_pool;
struct rsink;
struct sess;
typedef struct uv_loop_s uv_loop_t;

/* No offer this long after our accept: we offer ourselves (NOTES §6.7). */
#define CALLS_OFFER_WAIT_MS 3000
/* Timer tick of the offer wait. */
#define CALLS_TICK_MS 250
/* Remote candidates kept while no media call takes them (no offer yet, or
 * our offer being rolled back for the peer's). */
#define CALLS_EARLY_CANDIDATES 64
/* Ended rooms remembered to drop repeated or late signals. */
#define CALLS_RECENT_ROOMS 64
/* Clock skew allowed on an invite's initiateTime/sendTime + timeout. */
#define CALLS_SKEW_MS 5000

typedef struct calls calls;

typedef struct calls_env {
    uv_loop_t *loop;
    struct media_pool *pool;   /* borrowed; must outlive the calls */
    struct rsink *rs;          /* the tenant's sink: kkim:{T}:calls */
    const char *tenant;        /* copied */
    /* The login of user, or NULL (borrowed for the moment of the call). */
    struct sess *(*session_of)(void *ud, const char *user);
    void *ud;
} calls_env;

/* Creates the calls of one tenant. Returns NULL on allocation failure. */
calls *calls_new(const calls_env *env);

/* Ends live calls (reason shutdown, without events or hungUp: the tenant is
 * going away) and frees once everything in flight has finished. NULL is a
 * no-op. */
void calls_free(calls *c);

/* A MsgData pushed (2001) to the login user/platform whose policy is to
 * record; only contentType 1601 and 110 are looked at. */
void calls_on_push(calls *c, const char *user, int platform, const Kkim__MsgData *md);

/* An unsolicited 1004 frame (SignalResp) for user (NOTES §6.6). */
void calls_on_signal_resp(calls *c, const char *user, kk_view data);

/* Ends every live call with reason shutdown (events written, hungUp sent)
 * and calls done(ud) once none is left; returns 0 when none was live (done
 * is then not called), 1 when done will be called. */
int calls_drain(calls *c, void (*done)(void *ud), void *ud);

/* Live calls (for tests and /v1). */
size_t calls_live(const calls *c);

#endif
