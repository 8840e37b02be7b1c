/* calls.c — the call life cycle of one tenant (NOTES §6.5–§6.8, design §7):
 * pushed 1601 signals, pushed 110 WebRTC signals, media callbacks handed
 * over from the media threads, endings and the kkim:{T}:calls events.
 * Contract: calls.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "calls_int.h"
#include "pbsignal.h"
#include "pbwire.h"
#include "rsink.h"

/* Longest roomID or user ID taken from a signal. */
#define CALLS_ID_MAX 256

/* Wall clock in ms (invite freshness). */
static int64_t now_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Copies a view into a NUL-terminated string; NULL when too long or empty. */
static char *view_dup(kk_view v)
{
    if (!v.len || v.len > CALLS_ID_MAX)
        return NULL;
    char *s = malloc(v.len + 1);
    if (s) {
        memcpy(s, v.p, v.len);
        s[v.len] = 0;
    }
    return s;
}

/* Equality of a view and a string. */
static bool view_is(kk_view v, const char *s)
{
    return s && v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* True when an InvitationInfo's mediaType (field 7) is "audio". */
static bool invitation_is_audio(kk_view inv)
{
    pbwire_reader r;
    pbwire_field f;
    bool audio = false;
    pbwire_reader_init(&r, inv.p, inv.len);
    while (pbwire_next(&r, &f) == 1)
        if (f.num == 7 && f.wtype == PBWIRE_LEN)
            audio = view_is(f.bytes, "audio");
    return audio;
}

/* The listed call of user in room; room NULL: the user's call that is not
 * already ending (the one a roomless signal means). */
static call *find(calls *c, const char *user, const char *room)
{
    for (call *k = c->list; k; k = k->next)
        if (strcmp(k->user, user) == 0 &&
            (room ? strcmp(k->room, room) == 0 : k->st != CALL_ENDING))
            return k;
    return NULL;
}

/* True when room ended recently (repeated and late signals are dropped). */
static bool recent(const calls *c, const char *room)
{
    for (size_t i = 0; i < CALLS_RECENT_ROOMS; i++)
        if (c->recent[i] && strcmp(c->recent[i], room) == 0)
            return true;
    return false;
}

/* Remembers an ended room. */
static void remember(calls *c, const char *room)
{
    if (recent(c, room))
        return;
    char *s = strdup(room);
    if (!s)
        return;
    free(c->recent[c->recent_next]);
    c->recent[c->recent_next] = s;
    c->recent_next = (c->recent_next + 1) % CALLS_RECENT_ROOMS;
}

/* Closes the handles and frees c once nothing refers to it any more. */
static void maybe_close(calls *c);

/* Frees a call whose last reference went. */
static void call_free(call *k)
{
    calls *c = k->c;
    for (size_t i = 0; i < k->n_early; i++)
        free(k->early[i]);
    free(k->user);
    free(k->room);
    free(k->caller);
    free(k->inv);
    free(k->rollback_sdp);
    free(k);
    c->n_objs--;
    maybe_close(c);
}

/* Drops one reference of k. */
void calls__unref(call *k)
{
    if (--k->refs == 0)
        call_free(k);
}

/* Takes k off the list (its life as a call is over) and drops the list's
 * reference; a drain finishes (on the next loop turn) when it was the last. */
static void unlist(call *k)
{
    calls *c = k->c;
    if (!k->listed)
        return;
    k->listed = false;
    remember(c, k->room);
    for (call **pp = &c->list; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    if (!c->list && c->drain_done)
        uv_async_send(&c->async); /* done() from the loop, not inside a sess callback */
    calls__unref(k);
}

/* XADD kkim:{T}:calls type <type> roomID user caller + kv (design §7). */
void calls__event(call *k, const char *type, const char *const *kv, size_t npairs)
{
    calls *c = k->c;
    if (c->dying || !c->env.rs)
        return;
    const char *all[2 * 12];
    size_t n = 0;
    all[n++] = "roomID";
    all[n++] = k->room;
    all[n++] = "user";
    all[n++] = k->user;
    all[n++] = "caller";
    all[n++] = k->caller;
    for (size_t i = 0; i < 2 * npairs && n < sizeof all / sizeof all[0]; i++)
        all[n++] = kv[i];
    (void)rsink_call_event(c->env.rs, type, all, n / 2, NULL, NULL);
    KK_LOG_INFO(&c->log, "call_event", KK_S("type", type), KK_S("roomID", k->room),
                KK_S("user", k->user));
}

/* Ends k. from_peer: the peer ended it (no hungUp from us). With a media
 * call the rest happens in on_finished; otherwise the event is written here
 * (reason, or why's name) and hungUp sent when it is ours to send. */
static void end_call(call *k, media_end_reason why, bool from_peer, const char *reason,
                     bool failed)
{
    calls *c = k->c;
    if (k->st == CALL_ENDING)
        return;
    k->signaled_end = from_peer;
    k->st = CALL_ENDING;
    if (k->mc) {
        media_call_end(k->mc, why);
        return;
    }
    const char *kv[2] = { "reason", reason ? reason : media_end_reason_name(why) };
    calls__event(k, failed ? "failed" : "ended", kv, 1);
    if (!from_peer && !c->dying && calls__send_hungup(k) == 0) {
        k->hangup_pending = true;
        return;
    }
    unlist(k);
}

/* The hungUp we sent was answered (or cancelled): the call is gone. */
void calls__hangup_done(call *k)
{
    k->hangup_pending = false;
    unlist(k);
    calls__unref(k);
}

/* The verdict on our accept (NOTES §6.4, §6.8). */
void calls__accept_done(call *k, int rc, int64_t err_code, const char *msg)
{
    calls *c = k->c;
    if (k->st == CALL_ACCEPTING && !c->dying) {
        if (rc == 0 && err_code == 0) {
            k->st = CALL_WAIT_OFFER;
            k->offer_deadline_ms = uv_now(c->env.loop) + CALLS_OFFER_WAIT_MS;
            calls__event(k, "accepted", NULL, 0);
        } else {
            char code[24];
            snprintf(code, sizeof code, "%lld", (long long)(rc < 0 ? rc : err_code));
            bool gone = strcasestr(msg, "call not found") != NULL;
            const char *kv[6] = { "reason", gone ? "call_not_found" : "accept_error", "errCode",
                                  code, "errMsg", msg };
            k->st = CALL_ENDING;
            calls__event(k, "failed", kv, 3);
            unlist(k);
        }
    } else if (k->st == CALL_MEDIA && rc == 0 && err_code == 0) {
        calls__event(k, "accepted", NULL, 0); /* the offer came first (§6.7) */
    }
    calls__unref(k);
}

/* ---- media callbacks (media thread) → the loop ------------------------- */

/* Queues e for the loop. */
static void post(call *k, calls_ev *e)
{
    calls *c = k->c;
    e->k = k;
    pthread_mutex_lock(&c->mu);
    if (c->q_tail)
        c->q_tail->next = e;
    else
        c->q = e;
    c->q_tail = e;
    pthread_mutex_unlock(&c->mu);
    uv_async_send(&c->async);
}

/* Duplicates s (NULL stays NULL). */
static char *sdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Posts our description (type 1 answer, 5 offer) for the loop to send. */
static void post_sdp(void *ud, int type, const char *sdp)
{
    calls_ev *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->type = type;
    e->s1 = sdup(sdp);
    post(ud, e);
}

/* media: our answer. */
static void m_answer(void *ud, const char *sdp) { post_sdp(ud, 1, sdp); }

/* media: our own offer (we offered: NOTES §6.7). */
static void m_offer(void *ud, const char *sdp) { post_sdp(ud, 5, sdp); }

/* media: one local candidate (NULL: gathering done). */
static void m_candidate(void *ud, const char *cand, const char *mid)
{
    calls_ev *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->type = 2;
    e->s1 = sdup(cand);
    e->s2 = sdup(mid);
    post(ud, e);
}

/* media: connected / media started. */
static void m_state(void *ud, media_call_state st)
{
    calls_ev *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->type = 3;
    e->state = (int)st;
    post(ud, e);
}

/* media: the call is over (always delivered; a lost allocation here would
 * leak the call, so the event is static-size and retried). */
static void m_finished(void *ud, const media_call_result *res)
{
    calls_ev *e;
    while (!(e = calloc(1, sizeof *e)))
        ;
    e->type = 4;
    e->res = *res;
    e->s1 = sdup(res->file);
    e->s2 = sdup(res->sidecar);
    e->s3 = sdup(res->sha256);
    post(ud, e);
}

static void start_media(call *k, const char *sdp);

/* on_finished on the loop: the calls event, then hungUp when it is ours.
 * A media call rolled back for the peer's offer (glare, NOTES §6.7) ends
 * silently and the peer's offer is answered by a new one. */
static void media_finished(call *k, const calls_ev *e)
{
    calls *c = k->c;
    media_call_release(k->mc);
    k->mc = NULL;
    if (k->rollback_sdp && k->st == CALL_MEDIA && !c->dying) {
        char *sdp = k->rollback_sdp;
        k->rollback_sdp = NULL;
        k->offered = false;
        start_media(k, sdp);
        free(sdp);
        calls__unref(k); /* the old media reference */
        return;
    }
    char dur[24];
    snprintf(dur, sizeof dur, "%lld", (long long)e->res.duration_ms);
    const char *kv[10] = { "reason", media_end_reason_name(e->res.reason),
                           "file", e->s1 ? e->s1 : "",
                           "sidecar", e->s2 ? e->s2 : "",
                           "sha256", e->s3 ? e->s3 : "",
                           "durationMs", dur };
    calls__event(k, e->res.failed ? "failed" : "ended", kv, 5);
    k->st = CALL_ENDING;
    if (!c->dying && !k->signaled_end && calls__send_hungup(k) == 0)
        k->hangup_pending = true;
    else
        unlist(k);
    calls__unref(k); /* the media reference */
}

/* Handles one media event on the loop. */
static void handle_ev(calls_ev *e)
{
    call *k = e->k;
    calls *c = k->c;
    bool live = k->st == CALL_MEDIA && !c->dying;
    if ((e->type == 1 || e->type == 5) && live) {
        (void)calls__send_signal(k, e->type == 1 ? "answer" : "offer", e->s1, NULL, NULL);
    } else if (e->type == 2 && live) {
        (void)calls__send_signal(k, "candidate", NULL, e->s1 ? e->s1 : "", e->s2);
    } else if (e->type == 3 && e->state == MEDIA_STATE_MEDIA_STARTED) {
        calls__event(k, "media_started", NULL, 0);
    } else if (e->type == 4) {
        media_finished(k, e);
    }
}

/* Drains the queue of media events. */
static void drain_queue(calls *c)
{
    pthread_mutex_lock(&c->mu);
    calls_ev *e = c->q;
    c->q = c->q_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (e) {
        calls_ev *next = e->next;
        handle_ev(e);
        free(e->s1);
        free(e->s2);
        free(e->s3);
        free(e);
        e = next;
    }
}

/* uv_async_t callback: media events, then the end of a drain (done may
 * free the tenant and so call calls_free: nothing of c is touched after). */
static void on_async(uv_async_t *a)
{
    calls *c = a->data;
    drain_queue(c);
    if (!c->list && c->drain_done && !c->dying) {
        void (*done)(void *) = c->drain_done;
        c->drain_done = NULL;
        done(c->drain_ud);
    }
}

/* ---- signals from the gateway ---------------------------------------- */

/* Starts the media call of k: answering the caller's offer sdp, or, with
 * sdp NULL, making our own (receive-only, video when the invitation's
 * mediaType is not audio). */
static void start_media(call *k, const char *sdp)
{
    calls *c = k->c;
    media_call_cfg mc = { .offer_sdp = sdp, .video = k->video, .tenant = c->tenant,
                          .room_id = k->room, .caller = k->caller, .callee = k->user };
    media_call_cbs cb = { .ud = k, .on_answer = m_answer, .on_offer = m_offer,
                          .on_candidate = m_candidate, .on_state = m_state,
                          .on_finished = m_finished };
    int rc = media_call_new(c->env.pool, &mc, &cb, &k->mc);
    if (rc < 0) {
        k->mc = NULL;
        KK_LOG_WARN(&c->log, "media_call_failed", KK_S("roomID", k->room), KK_ERR(rc));
        end_call(k, MEDIA_END_BAD_OFFER, false, "bad_offer", true);
        return;
    }
    k->refs++;
    k->st = CALL_MEDIA;
    k->offered = sdp == NULL;
    for (size_t i = 0; i < k->n_early; i++) {
        media_call_add_remote_candidate(k->mc, k->early[i]);
        free(k->early[i]);
    }
    k->n_early = 0;
}

/* A pushed 110 message: the caller's offer or candidates (NOTES §6.7). */
static void on_110(calls *c, const char *user, const Kkim__MsgData *md)
{
    if (!md->sendid || strcmp(md->sendid, user) == 0)
        return; /* our own echo */
    char *type, *room, *sdp, *cand;
    if (calls__parse_signal(md->content.data, md->content.len, &type, &room, &sdp, &cand) < 0)
        return;
    call *k = find(c, user, room);
    if (!k || k->st == CALL_ENDING || strcmp(md->sendid, k->caller) != 0) {
        KK_LOG_INFO(&c->log, "signal_ignored", KK_S("roomID", room), KK_S("type", type));
    } else if (strcmp(type, "offer") == 0 && sdp) {
        if (k->mc && k->offered && !k->rollback_sdp) {
            /* Glare: both offered; we are the polite side (NOTES §6.7). */
            KK_LOG_INFO(&c->log, "offer_rolled_back", KK_S("roomID", room));
            k->rollback_sdp = strdup(sdp);
            if (k->rollback_sdp)
                media_call_end(k->mc, MEDIA_END_HANGUP);
        } else if (k->mc && !k->offered) {
            /* The caller replaced a track (new m-line, new SSRC). */
            KK_LOG_INFO(&c->log, "renegotiation", KK_S("roomID", room));
            media_call_renegotiate(k->mc, sdp);
        } else if (k->mc) {
            KK_LOG_WARN(&c->log, "renegotiation_ignored", KK_S("roomID", room));
        } else {
            start_media(k, sdp);
        }
    } else if (strcmp(type, "answer") == 0 && sdp && k->mc && k->offered) {
        media_call_set_answer(k->mc, sdp);
    } else if (strcmp(type, "candidate") == 0) {
        if (k->mc && !k->rollback_sdp) { /* during a rollback: for the next media call */
            media_call_add_remote_candidate(k->mc, cand ? cand : "");
        } else if (k->n_early < CALLS_EARLY_CANDIDATES) {
            k->early[k->n_early] = strdup(cand ? cand : "");
            if (k->early[k->n_early])
                k->n_early++;
        }
    }
    free(type);
    free(room);
    free(sdp);
    free(cand);
}

/* Answers k's invitation with 1004 reject: the user is recording another
 * call (KKIM doc §10.8: a busy callee rejects). Events invited, ended(busy). */
static void reject_busy(call *k)
{
    calls *c = k->c;
    k->st = CALL_ENDING;
    const char *kv[2] = { "reason", "busy" };
    calls__event(k, "ended", kv, 1);
    KK_LOG_INFO(&c->log, "busy_reject", KK_S("roomID", k->room), KK_S("user", k->user));
    if (calls__send_reject(k) == 0)
        k->hangup_pending = true;
    else
        unlist(k);
}

/* A fresh invite for user (§6.8): accept it; while the user's held call is
 * recording, reject it as busy instead; a held call without media yet is
 * stale (the gateway only rings free users) and ends as replaced. */
static void start_call(calls *c, const char *user, int platform, const pbsig_info *pi,
                       const Kkim__MsgData *md)
{
    int64_t t0 = pi->initiate_time ? pi->initiate_time : md->sendtime;
    int64_t ring = (pi->timeout > 0 ? pi->timeout : 60) * (int64_t)1000;
    char *room = view_dup(pi->room_id);
    char *caller = pi->inviter_id.len ? view_dup(pi->inviter_id)
                                      : (md->sendid ? strdup(md->sendid) : NULL);
    if (!room || !caller || recent(c, room) || find(c, user, room)) {
        free(room);
        free(caller);
        return; /* repeated, or unusable IDs */
    }
    if (t0 && now_wall_ms() > t0 + ring + CALLS_SKEW_MS) {
        KK_LOG_INFO(&c->log, "stale_invite", KK_S("roomID", room), KK_S("user", user));
        free(room);
        free(caller);
        return;
    }
    call *old = find(c, user, NULL);
    bool busy = old && old->st == CALL_MEDIA;
    if (old && !busy)
        end_call(old, MEDIA_END_HANGUP, false, "replaced", false);
    call *k = calloc(1, sizeof *k);
    uint8_t *inv = malloc(pi->invitation.len ? pi->invitation.len : 1);
    char *u = strdup(user);
    if (!k || !inv || !u) {
        free(k);
        free(inv);
        free(u);
        free(room);
        free(caller);
        return;
    }
    memcpy(inv, pi->invitation.p, pi->invitation.len);
    *k = (call){ .c = c, .refs = 1, .listed = true, .st = CALL_ACCEPTING, .user = u,
                 .platform = platform, .room = room, .caller = caller, .inv = inv,
                 .inv_len = pi->invitation.len, .video = !invitation_is_audio(pi->invitation) };
    k->next = c->list;
    c->list = k;
    c->n_objs++;
    calls__event(k, "invited", NULL, 0);
    if (busy) {
        reject_busy(k);
        return;
    }
    int rc = calls__send_accept(k);
    if (rc < 0) {
        KK_LOG_WARN(&c->log, "accept_not_sent", KK_S("roomID", room), KK_ERR(rc));
        k->st = CALL_ENDING;
        const char *kv[2] = { "reason", "offline" };
        calls__event(k, "failed", kv, 1);
        unlist(k);
    }
}

/* The kind of a bare signal without an ex hint (NOTES §6.5 inference). */
static int infer_kind(const call *k, const char *user, int platform, const pbsig_info *pi,
                      const Kkim__MsgData *md)
{
    if (!k)
        return pi->layout == PBSIG_LAYOUT_INVITE && pbsig_invitee_has(pi->invitation, (kk_view){
                   (const uint8_t *)user, strlen(user) })
                   ? (pi->group_id.len || pi->session_type != 1 ? PBSIG_KIND_INVITE_IN_GROUP
                                                                : PBSIG_KIND_INVITE)
                   : PBSIG_KIND_UNKNOWN;
    if (pi->layout == PBSIG_LAYOUT_ACCEPT) {
        bool own = pi->user_id.len ? view_is(pi->user_id, user)
                                   : (md->sendid && strcmp(md->sendid, user) == 0);
        return own && pi->has_op_platform && pi->op_platform_id != platform ? PBSIG_KIND_REJECT
                                                                            : PBSIG_KIND_UNKNOWN;
    }
    if (pi->layout == PBSIG_LAYOUT_HUNGUP)
        return PBSIG_KIND_HUNGUP;
    return k->mc ? PBSIG_KIND_HUNGUP : PBSIG_KIND_CANCEL;
}

/* A pushed 1601 signal (NOTES §6.5). */
static void on_1601(calls *c, const char *user, int platform, const Kkim__MsgData *md)
{
    pbsig_info pi;
    kk_view ex = { (const uint8_t *)(md->ex ? md->ex : ""), md->ex ? strlen(md->ex) : 0 };
    if (pbsig_classify(md->content.data, md->content.len, ex, &pi) < 0) {
        KK_LOG_WARN(&c->log, "bad_signal", KK_S("user", user), KK_U("len", md->content.len));
        return;
    }
    char *room = view_dup(pi.room_id);
    if (!room)
        return;
    call *k = find(c, user, room);
    int kind = pi.form == PBSIG_FORM_WRAPPED ? pi.kind : pi.ex_kind;
    if (!kind)
        kind = infer_kind(k, user, platform, &pi, md);
    kk_view uv = { (const uint8_t *)user, strlen(user) };
    if (kind == PBSIG_KIND_INVITE || kind == PBSIG_KIND_INVITE_IN_GROUP) {
        if (!k && pbsig_invitee_has(pi.invitation, uv))
            start_call(c, user, platform, &pi, md);
    } else if (!k) {
        KK_LOG_INFO(&c->log, "signal_dropped", KK_S("roomID", room), KK_S("user", user),
                    KK_I("kind", kind), KK_S("detail", "no call of this user in this room"));
    } else if (k && kind == PBSIG_KIND_CANCEL) {
        end_call(k, MEDIA_END_CANCEL, true, NULL, false);
    } else if (k && kind == PBSIG_KIND_HUNGUP) {
        end_call(k, MEDIA_END_HANGUP, true, NULL, false);
    } else if (k && (kind == PBSIG_KIND_REJECT || kind == PBSIG_KIND_ACCEPT)) {
        /* Only our user's other device settles our call (§6.5 step 4). */
        bool own = pi.user_id.len ? view_is(pi.user_id, user)
                                  : (md->sendid && strcmp(md->sendid, user) == 0);
        if (own && pi.has_op_platform && pi.op_platform_id != platform)
            end_call(k, MEDIA_END_REJECT, true, "other_device", false);
    }
    free(room);
}

/* The pushed MsgData entry point (calls.h). */
void calls_on_push(calls *c, const char *user, int platform, const Kkim__MsgData *md)
{
    if (!c || c->dying || !md || !user || !c->env.pool)
        return;
    if (md->contenttype == 1601)
        on_1601(c, user, platform, md);
    else if (md->contenttype == 110)
        on_110(c, user, md);
}

/* Unsolicited 1004 SignalResp: cancel/hungUp/reject end the user's single
 * call (NOTES §6.6; they carry no roomID). */
void calls_on_signal_resp(calls *c, const char *user, kk_view data)
{
    if (!c || c->dying || !user)
        return;
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, data.p, data.len);
    if (pbwire_next(&r, &f) != 1 || f.wtype != PBWIRE_LEN)
        return;
    call *k = find(c, user, NULL);
    if (!k || f.num < 3 || f.num > 6 || f.num == 4) {
        /* accept/invite answers name the caller's side of a call: the
         * relay is always the callee, so they are never for it. */
        KK_LOG_INFO(&c->log, "signal_resp_dropped", KK_S("user", user), KK_U("member", f.num),
                    KK_S("detail", k ? "not an ending" : "no call of this user"));
        return;
    }
    if (f.num == 3)
        end_call(k, MEDIA_END_CANCEL, true, NULL, false);
    else if (f.num == 5)
        end_call(k, MEDIA_END_HANGUP, true, NULL, false);
    else if (f.num == 6)
        end_call(k, MEDIA_END_REJECT, true, NULL, false);
}

/* ---- timers, life cycle ---------------------------------------------- */

/* Ticks (CALLS_TICK_MS): a call whose caller sent no offer within
 * CALLS_OFFER_WAIT_MS of our accept gets our own offer (NOTES §6.7); the
 * media call's connect timeout ends it if no answer comes. */
static void on_timer(uv_timer_t *tm)
{
    calls *c = tm->data;
    uint64_t now = uv_now(c->env.loop);
    for (call *k = c->list, *next; k; k = next) {
        next = k->next;
        if (k->st == CALL_WAIT_OFFER && now >= k->offer_deadline_ms) {
            KK_LOG_INFO(&c->log, "own_offer", KK_S("roomID", k->room));
            start_media(k, NULL);
        }
    }
}

/* Creates the calls of a tenant (calls.h). */
calls *calls_new(const calls_env *env)
{
    calls *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->env = *env;
    c->tenant = strdup(env->tenant ? env->tenant : "");
    if (!c->tenant || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->tenant);
        free(c);
        return NULL;
    }
    c->log.mod = "calls";
    c->log.tenant = c->tenant;
    uv_async_init(env->loop, &c->async, on_async);
    c->async.data = c;
    uv_timer_init(env->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_timer, CALLS_TICK_MS, CALLS_TICK_MS);
    c->handles_open = 2;
    return c;
}

/* A handle of c closed: free c after the last. */
static void on_close(uv_handle_t *h)
{
    calls *c = h->data;
    if (--c->handles_open > 0)
        return;
    for (size_t i = 0; i < CALLS_RECENT_ROOMS; i++)
        free(c->recent[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->tenant);
    free(c);
}

/* Closes the handles once c is dying and holds no call object. */
static void maybe_close(calls *c)
{
    if (!c->dying || c->n_objs || c->handles_open != 2 || uv_is_closing((uv_handle_t *)&c->async))
        return;
    uv_close((uv_handle_t *)&c->async, on_close);
    uv_close((uv_handle_t *)&c->timer, on_close);
}

/* Frees (calls.h): live calls end without events or hungUp. */
void calls_free(calls *c)
{
    if (!c)
        return;
    c->dying = true;
    c->drain_done = NULL;
    uv_timer_stop(&c->timer);
    drain_queue(c); /* on_finished already delivered (pool freed first) */
    for (call *k = c->list, *next; k; k = next) {
        next = k->next;
        if (k->mc)
            end_call(k, MEDIA_END_SHUTDOWN, false, NULL, false);
        else
            unlist(k);
    }
    maybe_close(c);
}

/* Ends every live call for a drain (calls.h). */
int calls_drain(calls *c, void (*done)(void *ud), void *ud)
{
    if (!c || !c->list)
        return 0;
    c->drain_done = done;
    c->drain_ud = ud;
    for (call *k = c->list, *next; k; k = next) {
        next = k->next;
        end_call(k, MEDIA_END_SHUTDOWN, false, NULL, false);
    }
    if (!c->list)
        uv_async_send(&c->async);
    return 1; /* done comes from the loop */
}

/* Number of listed calls. */
size_t calls_live(const calls *c)
{
    size_t n = 0;
    for (const call *k = c ? c->list : NULL; k; k = k->next)
        n++;
    return n;
}
