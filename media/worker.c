/* worker.c — the media pool: N media threads, each a GLib main context,
 * and the public media_* entry points, which only post messages.
 */
#include <stdlib.h>
#include <string.h>

#include "media_call.h"

/* A message to a call on its media thread; owns a call reference. */
typedef struct mmsg {
    media_call *call;
    void (*fn)(media_call *, void *);
    void *arg;
} mmsg;

/* Runs a posted message on the media thread. */
static gboolean run_msg(gpointer data)
{
    mmsg *m = data;
    m->fn(m->call, m->arg);
    return G_SOURCE_REMOVE;
}

/* Frees a message after it ran (or when its context is destroyed). */
static void free_msg(gpointer data)
{
    mmsg *m = data;
    g_free(m->arg);
    mcall_unref(m->call);
    g_free(m);
}

/* Posts fn to the call's thread; ownership of arg moves with the message. */
void mworker_post(media_call *call, void (*fn)(media_call *, void *), void *arg)
{
    mmsg *m = g_new0(mmsg, 1);
    mcall_ref(call);
    m->call = call;
    m->fn = fn;
    m->arg = arg;
    /* An idle source, never g_main_context_invoke: that would run fn inline
     * when the poster is the media thread itself (a callback calling back). */
    GSource *s = g_idle_source_new();
    g_source_set_priority(s, G_PRIORITY_DEFAULT);
    g_source_set_callback(s, run_msg, m, free_msg);
    g_source_attach(s, call->w->ctx);
    g_source_unref(s);
}

/* Takes a reference. */
void mcall_ref(media_call *call) { g_atomic_int_inc(&call->refs); }

/* Drops a reference; the last one frees the (already finished) call. */
void mcall_unref(media_call *call)
{
    if (!call || !g_atomic_int_dec_and_test(&call->refs))
        return;
    free(call->offer);
    free(call->tenant);
    free(call->room_id);
    free(call->caller);
    free(call->callee);
    g_free(call->sdp);
    free(call);
}

/* Batching of media thread wake-ups, in microseconds. GLib polls every fd of
 * the context and walks every source on each wake-up: O(calls) work per
 * packet when each packet wakes the thread (58 % of the relay's CPU at 200
 * calls was poll() and that walk). Polling at most once per window lets one
 * wake-up serve every packet that arrived meanwhile (libnice reads a socket
 * until it would block); the price is up to this much added latency, small
 * beside the jitter buffer's wait and RTCP's timers. */
#define MWORKER_BATCH_US 5000

/* When this thread's last poll returned (GPollFunc has no user data, and
 * each media thread runs exactly one context). */
static _Thread_local gint64 mworker_last_poll_us;

/* The media threads' GPollFunc: g_poll, but not sooner than
 * MWORKER_BATCH_US after the previous poll returned. */
static gint batched_poll(GPollFD *fds, guint nfds, gint timeout_ms)
{
    gint64 wait = mworker_last_poll_us + MWORKER_BATCH_US - g_get_monotonic_time();
    if (wait > 0) {
        g_usleep((gulong)wait);
        if (timeout_ms > 0)
            timeout_ms = timeout_ms > wait / 1000 ? timeout_ms - (gint)(wait / 1000) : 0;
    }
    gint rc = g_poll(fds, nfds, timeout_ms);
    mworker_last_poll_us = g_get_monotonic_time();
    return rc;
}

/* Media thread body. */
static gpointer worker_main(gpointer data)
{
    mworker *w = data;
    g_main_context_set_poll_func(w->ctx, batched_poll);
    g_main_context_push_thread_default(w->ctx);
    g_main_loop_run(w->loop);
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

/* Duplicates an optional string; false on allocation failure. */
static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

/* Starts the pool; see media.h. */
int media_pool_new(const media_cfg *cfg, media_pool **out)
{
    if (!cfg || !cfg->recordings)
        return KK_EINVAL;
    int rc = msrtp_global_init();
    if (rc < 0)
        return rc;
    media_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return KK_ENOMEM;
    p->cfg = *cfg;
    if (!dup_opt(cfg->public_ip, &p->public_ip) || !dup_opt(cfg->stun_host, &p->stun_host) ||
        !dup_opt(cfg->turn_host, &p->turn_host) || !dup_opt(cfg->turn_user, &p->turn_user) ||
        !dup_opt(cfg->turn_pass, &p->turn_pass) || !dup_opt(cfg->recordings, &p->recordings)) {
        media_pool_free(p);
        return KK_ENOMEM;
    }
    p->cfg.public_ip = p->public_ip;
    p->cfg.stun_host = p->stun_host;
    p->cfg.turn_host = p->turn_host;
    p->cfg.turn_user = p->turn_user;
    p->cfg.turn_pass = p->turn_pass;
    p->cfg.recordings = p->recordings;
    if (p->cfg.media_timeout_ms <= 0)
        p->cfg.media_timeout_ms = 10000;
    if (p->cfg.connect_timeout_ms <= 0)
        p->cfg.connect_timeout_ms = 20000;
    if ((rc = mdtls_ctx_new(&p->dtls)) < 0) {
        media_pool_free(p);
        return rc;
    }
    int n = cfg->threads > 0 ? cfg->threads : 1;
    p->workers = calloc((size_t)n, sizeof(mworker));
    if (!p->workers) {
        media_pool_free(p);
        return KK_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        mworker *w = &p->workers[i];
        w->pool = p;
        w->ctx = g_main_context_new();
        w->loop = g_main_loop_new(w->ctx, FALSE);
        w->thread = g_thread_new("kk-media", worker_main, w);
        p->nworkers++;
    }
    *out = p;
    return 0;
}

/* Ends every call of a worker (SHUTDOWN) and stops its loop. */
static gboolean worker_stop(gpointer data)
{
    mworker *w = data;
    w->stopping = true; /* a call whose start is still queued ends at once */
    while (w->calls) {
        media_call *c = w->calls->data;
        mcall_finish(c, MEDIA_END_SHUTDOWN); /* removes c from w->calls */
    }
    g_main_loop_quit(w->loop);
    return G_SOURCE_REMOVE;
}

/* Stops the pool; see media.h. */
void media_pool_free(media_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nworkers; i++) {
        mworker *w = &p->workers[i];
        GSource *s = g_idle_source_new();
        g_source_set_priority(s, G_PRIORITY_DEFAULT);
        g_source_set_callback(s, worker_stop, w, NULL);
        g_source_attach(s, w->ctx);
        g_source_unref(s);
        g_thread_join(w->thread);
        /* Drain messages posted after the stop (they find finished calls). */
        while (g_main_context_iteration(w->ctx, FALSE))
            ;
        g_main_loop_unref(w->loop);
        g_main_context_unref(w->ctx);
    }
    free(p->workers);
    mdtls_ctx_free(p->dtls);
    free(p->public_ip);
    free(p->stun_host);
    free(p->turn_host);
    free(p->turn_user);
    free(p->turn_pass);
    free(p->recordings);
    free(p);
}

/* Our certificate's fingerprint. */
const char *media_pool_fingerprint(const media_pool *p) { return mdtls_ctx_fingerprint(p->dtls); }

/* Creates a call on the least loaded worker; see media.h. */
int media_call_new(media_pool *pool, const media_call_cfg *cfg, const media_call_cbs *cbs,
                   media_call **out)
{
    if (!pool || !cfg || !cbs || !cbs->on_finished || (!cfg->offer_sdp && !cbs->on_offer))
        return KK_EINVAL;
    if (cfg->offer_sdp && strlen(cfg->offer_sdp) > MEDIA_MAX_SDP_LEN)
        return KK_ETOOBIG;
    media_call *c = calloc(1, sizeof(*c));
    if (!c)
        return KK_ENOMEM;
    c->refs = 2; /* the caller's and the media thread's (dropped at finish) */
    c->cbs = *cbs;
    c->offerer = !cfg->offer_sdp;
    c->offer_video = cfg->video;
    c->offer = strdup(cfg->offer_sdp ? cfg->offer_sdp : "");
    c->tenant = strdup(cfg->tenant ? cfg->tenant : "");
    c->room_id = strdup(cfg->room_id ? cfg->room_id : "");
    c->caller = strdup(cfg->caller ? cfg->caller : "");
    c->callee = strdup(cfg->callee ? cfg->callee : "");
    if (!c->offer || !c->tenant || !c->room_id || !c->caller || !c->callee) {
        c->refs = 1;
        mcall_unref(c);
        return KK_ENOMEM;
    }
    mworker *best = &pool->workers[0];
    for (int i = 1; i < pool->nworkers; i++)
        if (g_atomic_int_get(&pool->workers[i].ncalls) < g_atomic_int_get(&best->ncalls))
            best = &pool->workers[i];
    g_atomic_int_inc(&best->ncalls);
    c->w = best;
    mworker_post(c, mcall_start, NULL);
    *out = c;
    return 0;
}

/* Posts a remote candidate; see media.h. */
void media_call_add_remote_candidate(media_call *call, const char *cand)
{
    if (!call)
        return;
    mworker_post(call, mcall_add_candidate, g_strdup(cand ? cand : ""));
}

/* Posts the answer to our offer; see media.h. */
void media_call_set_answer(media_call *call, const char *sdp)
{
    if (!call || !sdp)
        return;
    if (strlen(sdp) > MEDIA_MAX_SDP_LEN) {
        media_call_end(call, MEDIA_END_BAD_OFFER);
        return;
    }
    mworker_post(call, mcall_set_answer, g_strdup(sdp));
}

/* Posts a renegotiation offer; see media.h. */
void media_call_renegotiate(media_call *call, const char *sdp)
{
    if (call && sdp && strlen(sdp) <= MEDIA_MAX_SDP_LEN)
        mworker_post(call, mcall_renegotiate, g_strdup(sdp));
}

/* Posts the end of a call; see media.h. */
void media_call_end(media_call *call, media_end_reason reason)
{
    if (!call)
        return;
    media_end_reason *r = g_new(media_end_reason, 1);
    *r = reason;
    mworker_post(call, mcall_end_msg, r);
}

/* Drops the caller's reference. */
void media_call_release(media_call *call) { mcall_unref(call); }

/* Stable names of the end reasons (also the `reason` of calls events). */
const char *media_end_reason_name(media_end_reason r)
{
    switch (r) {
    case MEDIA_END_NONE: return "none";
    case MEDIA_END_HANGUP: return "hungup";
    case MEDIA_END_CANCEL: return "cancel";
    case MEDIA_END_REJECT: return "reject";
    case MEDIA_END_SHUTDOWN: return "shutdown";
    case MEDIA_END_MAX_DURATION: return "max_duration";
    case MEDIA_END_MEDIA_TIMEOUT: return "media_timeout";
    case MEDIA_END_ICE_FAILED: return "ice_failed";
    case MEDIA_END_CONSENT_LOST: return "consent_lost";
    case MEDIA_END_DTLS_FAILED: return "dtls_failed";
    case MEDIA_END_BAD_FINGERPRINT: return "bad_fingerprint";
    case MEDIA_END_BAD_OFFER: return "bad_offer";
    case MEDIA_END_NO_CODEC: return "no_codec";
    case MEDIA_END_CANDIDATE_FLOOD: return "candidate_flood";
    case MEDIA_END_INTERNAL: return "internal";
    }
    return "unknown";
}

/* Failure reasons: the call did not end the way a call normally ends. */
bool media_end_is_failure(media_end_reason r)
{
    switch (r) {
    case MEDIA_END_NONE:
    case MEDIA_END_HANGUP:
    case MEDIA_END_CANCEL:
    case MEDIA_END_REJECT:
    case MEDIA_END_SHUTDOWN:
    case MEDIA_END_MAX_DURATION:
    case MEDIA_END_MEDIA_TIMEOUT:
        return false;
    case MEDIA_END_ICE_FAILED:
    case MEDIA_END_CONSENT_LOST:
    case MEDIA_END_DTLS_FAILED:
    case MEDIA_END_BAD_FINGERPRINT:
    case MEDIA_END_BAD_OFFER:
    case MEDIA_END_NO_CODEC:
    case MEDIA_END_CANDIDATE_FLOOD:
    case MEDIA_END_INTERNAL:
        return true;
    }
    return true;
}
