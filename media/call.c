/* call.c — one call's life on its media thread: offer → answer (theirs →
 * ours, or ours → theirs), ICE with libnice (full ICE, UDP only; controlled
 * when answering, controlling when offering: RFC 8445 §6.1.1), DTLS start
 * when ICE is ready, and the single finish path that finalizes the file and
 * sidecar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nice/interfaces.h>

#include "media_call.h"

#define MCALL_ANSWER_CAP 16384 /* our answers are ~2 KiB */
#define MCALL_MAX_LOCAL_CANDS 16
#define MCALL_EARLY_DTLS 8     /* DTLS datagrams kept before ICE is ready: one flight */

/* Sends a datagram on the call's only component. */
void mcall_send(media_call *call, const uint8_t *p, size_t len)
{
    if (call->agent && call->ice_ready)
        nice_agent_send(call->agent, call->stream_id, 1, (guint)len, (const gchar *)p);
}

/* DTLS output: straight onto ICE. */
static void dtls_out(void *ud, const uint8_t *p, size_t len) { mcall_send(ud, p, len); }

/* Formats a local candidate as an SDP attribute value ("candidate:..."),
 * advertising cfg.public_ip for host candidates when set (1:1 NAT). */
static void fmt_cand(const media_call *call, const NiceCandidate *c, char *out, size_t cap)
{
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    char ip[NICE_ADDRESS_STRING_LEN], rip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, ip);
    const char *pub = call->w->pool->cfg.public_ip;
    const char *adv = (pub && c->type == NICE_CANDIDATE_TYPE_HOST &&
                       strcmp(ip, "127.0.0.1") != 0) ? pub : ip;
    int n = snprintf(out, cap, "candidate:%s 1 udp %u %s %u typ %s", c->foundation, c->priority,
                     adv, nice_address_get_port(&c->addr),
                     types[c->type <= NICE_CANDIDATE_TYPE_RELAYED ? c->type : 0]);
    if (c->type != NICE_CANDIDATE_TYPE_HOST && n > 0 && (size_t)n < cap) {
        nice_address_to_string(&c->base_addr, rip);
        snprintf(out + n, cap - (size_t)n, " raddr %s rport %u", rip,
                 nice_address_get_port(&c->base_addr));
    }
}

/* Our description with every local candidate in cands (*n of them): our
 * own offer, or the answer to call->sdp. Returns it (malloc'd), or NULL. */
static char *build_desc(media_call *call, char cands[][MEDIA_MAX_CANDIDATE_LEN], int *n_out)
{
    NiceAgent *agent = call->agent;
    guint sid = call->stream_id;
    GSList *lc = nice_agent_get_local_candidates(agent, sid, 1);
    const char *ptrs[MCALL_MAX_LOCAL_CANDS];
    int n = 0;
    for (GSList *i = lc; i && n < MCALL_MAX_LOCAL_CANDS; i = i->next) {
        NiceCandidate *c = i->data;
        if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP)
            continue;
        fmt_cand(call, c, cands[n], sizeof(cands[n]));
        ptrs[n] = cands[n];
        n++;
    }
    g_slist_free_full(lc, (GDestroyNotify)nice_candidate_free);
    gchar *ufrag = NULL, *pwd = NULL;
    nice_agent_get_local_credentials(agent, sid, &ufrag, &pwd);
    if (!call->sess_id)
        call->sess_id = g_random_int() | 1u;
    msdp_local l = {.ufrag = ufrag, .pwd = pwd, .cands = ptrs, .ncands = n,
                    .fingerprint = mdtls_ctx_fingerprint(call->w->pool->dtls),
                    .sess_id = call->sess_id};
    char *desc = malloc(MCALL_ANSWER_CAP);
    int rc = !desc           ? KK_ENOMEM
             : call->offerer ? msdp_write_offer(&l, call->offer_video, desc, MCALL_ANSWER_CAP)
                             : msdp_answer(call->sdp, &call->ch, &l, desc, MCALL_ANSWER_CAP);
    g_free(ufrag);
    g_free(pwd);
    *n_out = n;
    if (rc < 0) {
        free(desc);
        return NULL;
    }
    return desc;
}

/* Frees the parsed remote description (96 KiB of fixed arrays) once it is
 * applied and answered; a renegotiation compares its ICE credentials and
 * fingerprint, kept here. */
static void drop_remote(media_call *call)
{
    if (!call->sdp)
        return;
    g_strlcpy(call->remote_ufrag, call->sdp->ufrag, sizeof(call->remote_ufrag));
    g_strlcpy(call->remote_pwd, call->sdp->pwd, sizeof(call->remote_pwd));
    g_strlcpy(call->remote_fp, call->sdp->fingerprint, sizeof(call->remote_fp));
    g_free(call->sdp);
    call->sdp = NULL;
}

/* Gathering done: build and deliver our description (the answer, or our
 * own offer), then trickle our candidates. */
static void on_gathered(NiceAgent *agent, guint sid, gpointer data)
{
    (void)agent, (void)sid;
    media_call *call = data;
    if (call->finished || call->answered)
        return;
    call->answered = true;
    char cands[MCALL_MAX_LOCAL_CANDS][MEDIA_MAX_CANDIDATE_LEN];
    int n = 0;
    char *desc = build_desc(call, cands, &n);
    if (!desc) {
        mcall_finish(call, MEDIA_END_INTERNAL);
        return;
    }
    void (*deliver)(void *, const char *) = call->offerer ? call->cbs.on_offer : call->cbs.on_answer;
    if (deliver)
        deliver(call->cbs.ud, desc);
    free(desc);
    const char *mid = call->offerer ? "0"
                      : call->sdp->m[call->ch.audio_m >= 0 ? call->ch.audio_m : call->ch.video_m].mid;
    for (int i = 0; i < n && call->cbs.on_candidate && !call->finished; i++)
        call->cbs.on_candidate(call->cbs.ud, cands[i], mid);
    if (call->cbs.on_candidate && !call->finished)
        call->cbs.on_candidate(call->cbs.ud, NULL, mid);
    if (call->remote_done)
        drop_remote(call);
}

/* ICE state: READY starts DTLS; FAILED ends the call (consent loss when it
 * had been connected: libnice reports consent expiry as FAILED). */
static void on_state(NiceAgent *agent, guint sid, guint cid, guint state, gpointer data)
{
    (void)agent, (void)sid, (void)cid;
    media_call *call = data;
    if (call->finished)
        return;
    if (state == NICE_COMPONENT_STATE_READY || state == NICE_COMPONENT_STATE_CONNECTED) {
        bool first = !call->ice_ready;
        call->ice_ready = call->ever_ready = true;
        if (first && (!call->dtls || mdtls_start(call->dtls) < 0)) {
            mcall_finish(call, MEDIA_END_DTLS_FAILED);
            return;
        }
        for (guint i = 0; first && call->early_dtls && i < call->early_dtls->len; i++) {
            GBytes *b = g_ptr_array_index(call->early_dtls, i);
            gsize n;
            const guint8 *p = g_bytes_get_data(b, &n);
            if (!call->finished)
                mcall_recv(call, (uint8_t *)p, n);
        }
        if (call->early_dtls) {
            g_ptr_array_free(call->early_dtls, TRUE);
            call->early_dtls = NULL;
        }
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        mcall_finish(call, call->ever_ready ? MEDIA_END_CONSENT_LOST : MEDIA_END_ICE_FAILED);
    }
}

/* Datagrams from ICE (STUN is consumed by libnice). DTLS that comes before
 * our side of ICE is ready (the peer's ClientHello when we offered and are
 * the server: its ICE may be up before its answer reaches us) is kept and
 * fed at READY, when replies can go out; else the peer would retransmit
 * only after its 1 s DTLS timer. */
static void on_recv(NiceAgent *agent, guint sid, guint cid, guint len, gchar *buf, gpointer data)
{
    (void)agent, (void)sid, (void)cid;
    media_call *call = data;
    if (call->finished)
        return;
    if (call->ice_ready && call->dtls) {
        mcall_recv(call, (uint8_t *)buf, len);
    } else if (mrtp_classify((const uint8_t *)buf, len) == MRTP_DTLS) {
        if (!call->early_dtls)
            call->early_dtls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
        if (call->early_dtls->len < MCALL_EARLY_DTLS)
            g_ptr_array_add(call->early_dtls, g_bytes_new(buf, len));
    }
}

/* Adds every local interface address (and 127.0.0.1 when configured):
 * once one address is added, libnice stops enumerating by itself. */
static void add_addresses(media_call *call)
{
    GList *ips = nice_interfaces_get_local_ips(FALSE);
    for (GList *i = ips; i; i = i->next) {
        NiceAddress a;
        if (nice_address_set_from_string(&a, i->data))
            nice_agent_add_local_address(call->agent, &a);
    }
    g_list_free_full(ips, g_free);
    NiceAddress lo;
    nice_address_set_from_string(&lo, "127.0.0.1");
    nice_agent_add_local_address(call->agent, &lo);
}

/* Creates the libnice agent and starts gathering; KK_EIO on failure. */
static int ice_init(media_call *call)
{
    const media_cfg *cfg = &call->w->pool->cfg;
    call->agent = nice_agent_new_full(call->w->ctx, NICE_COMPATIBILITY_RFC5245,
                                      NICE_AGENT_OPTION_ICE_TRICKLE |
                                          NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!call->agent)
        return KK_EIO;
    g_object_set(call->agent, "ice-tcp", FALSE, "ice-udp", TRUE, "upnp", FALSE,
                 "controlling-mode", (gboolean)call->offerer, NULL);
    if (cfg->stun_host)
        g_object_set(call->agent, "stun-server", cfg->stun_host, "stun-server-port",
                     (guint)cfg->stun_port, NULL);
    if (cfg->add_loopback)
        add_addresses(call);
    call->stream_id = nice_agent_add_stream(call->agent, 1);
    if (!call->stream_id)
        return KK_EIO;
    if (cfg->port_min || cfg->port_max)
        nice_agent_set_port_range(call->agent, call->stream_id, 1, cfg->port_min, cfg->port_max);
    if (cfg->turn_host)
        nice_agent_set_relay_info(call->agent, call->stream_id, 1, cfg->turn_host, cfg->turn_port,
                                  cfg->turn_user ? cfg->turn_user : "",
                                  cfg->turn_pass ? cfg->turn_pass : "",
                                  NICE_RELAY_TYPE_TURN_UDP);
    g_signal_connect(call->agent, "candidate-gathering-done", G_CALLBACK(on_gathered), call);
    g_signal_connect(call->agent, "component-state-changed", G_CALLBACK(on_state), call);
    nice_agent_attach_recv(call->agent, call->stream_id, 1, call->w->ctx, on_recv, call);
    if (!nice_agent_gather_candidates(call->agent, call->stream_id))
        return KK_EIO;
    return 0;
}

/* The remote description's media and DTLS side: tracks for the chosen
 * codecs, the DTLS endpoint in the role the description leaves us. Answering,
 * this precedes gathering: its end builds the answer from the choice.
 * Returns a reason to end the call with, or MEDIA_END_NONE. */
static media_end_reason media_remote(media_call *call)
{
    if (msdp_choose(call->sdp, &call->ch) < 0)
        return MEDIA_END_NO_CODEC;
    mcall_media_init(call);
    if (mdtls_new(call->w->pool->dtls, call->sdp->fingerprint, dtls_out, call, &call->dtls) < 0)
        return MEDIA_END_BAD_OFFER;
    if (call->offerer && strcmp(call->sdp->setup, "active") == 0)
        mdtls_set_server(call->dtls);
    return MEDIA_END_NONE;
}

/* The remote description's ICE side: credentials, then its candidates. */
static media_end_reason ice_remote(media_call *call)
{
    if (!nice_agent_set_remote_credentials(call->agent, call->stream_id, call->sdp->ufrag,
                                           call->sdp->pwd))
        return MEDIA_END_BAD_OFFER;
    for (int i = 0; i < call->sdp->ncands && !call->finished; i++)
        mcall_add_candidate(call, call->sdp->cands[i]);
    return MEDIA_END_NONE;
}

/* The peer's answer to our offer (media_call_set_answer), then the
 * candidates that came before it. */
void mcall_set_answer(media_call *call, void *arg)
{
    const char *sdp = arg;
    if (call->finished || !call->offerer || call->have_answer || !call->agent)
        return;
    call->have_answer = true;
    call->sdp = g_new0(msdp_offer, 1);
    media_end_reason why = msdp_parse_answer(sdp, strlen(sdp), call->sdp) < 0
                               ? MEDIA_END_BAD_OFFER
                               : media_remote(call);
    if (why == MEDIA_END_NONE)
        why = ice_remote(call);
    if (why != MEDIA_END_NONE) {
        mcall_finish(call, why);
        return;
    }
    drop_remote(call);
    for (guint i = 0; call->early_cands && i < call->early_cands->len && !call->finished; i++)
        mcall_add_candidate(call, g_ptr_array_index(call->early_cands, i));
}

/* A new offer from the peer mid-call (media_call_renegotiate): the same
 * ICE and DTLS, the same codecs, maybe other m-lines (a replaced track:
 * new mid, new SSRC). Answered with the same credentials; the tracks take
 * the new payload types. An offer that changes ICE credentials, the
 * fingerprint or a codec is not answered (the file cannot switch codecs):
 * the peer keeps its old description. */
void mcall_renegotiate(media_call *call, void *arg)
{
    const char *sdp = arg;
    if (call->finished || call->offerer || !call->answered || !call->agent)
        return;
    msdp_offer *o = g_new0(msdp_offer, 1);
    msdp_choice ch;
    bool ok = msdp_parse(sdp, strlen(sdp), o) == 0 && msdp_choose(o, &ch) == 0 &&
              !strcmp(o->ufrag, call->remote_ufrag) && !strcmp(o->pwd, call->remote_pwd) &&
              !strcasecmp(o->fingerprint, call->remote_fp) &&
              (ch.audio_m >= 0) == call->tr[0].on && (ch.video_m >= 0) == call->tr[1].on &&
              (!call->tr[1].on || ch.video_codec == call->ch.video_codec);
    if (!ok) {
        g_free(o);
        return;
    }
    call->sdp = o;
    call->ch = ch;
    call->tr[0].pt = ch.audio_pt;
    call->tr[1].pt = ch.video_pt;
    call->tr[1].rtx_pt = ch.video_rtx_pt;
    char cands[MCALL_MAX_LOCAL_CANDS][MEDIA_MAX_CANDIDATE_LEN];
    int n = 0;
    char *desc = build_desc(call, cands, &n);
    if (desc && call->cbs.on_answer)
        call->cbs.on_answer(call->cbs.ud, desc);
    free(desc);
    g_free(call->sdp);
    call->sdp = NULL;
}

/* First message of a call: answering, parse the offer and set up media,
 * DTLS and ICE; offering, set up ICE only (the rest waits for the answer). */
void mcall_start(media_call *call, void *arg)
{
    (void)arg;
    call->w->calls = g_list_prepend(call->w->calls, call);
    call->created_ms = mcall_now_ms();
    call->started_unix_ms = g_get_real_time() / 1000;
    call->our_ssrc = g_random_int();
    if (!call->offerer)
        call->sdp = g_new0(msdp_offer, 1);
    if (call->w->stopping) { /* queued behind the pool's stop */
        mcall_finish(call, MEDIA_END_SHUTDOWN);
        return;
    }
    media_end_reason why = MEDIA_END_NONE;
    if (!call->offerer)
        why = msdp_parse(call->offer, strlen(call->offer), call->sdp) < 0 ? MEDIA_END_BAD_OFFER
                                                                          : media_remote(call);
    free(call->offer); /* parsed: only call->sdp is read from here */
    call->offer = NULL;
    if (why == MEDIA_END_NONE && ice_init(call) < 0)
        why = MEDIA_END_INTERNAL;
    if (why == MEDIA_END_NONE && !call->offerer)
        why = ice_remote(call);
    call->remote_done = !call->offerer && why == MEDIA_END_NONE;
    if (call->remote_done && call->answered) /* gathering ended inside ice_init */
        drop_remote(call);
    if (why != MEDIA_END_NONE)
        mcall_finish(call, why);
    if (call->finished)
        return;
    call->tick = g_timeout_source_new(20);
    g_source_set_callback(call->tick, mcall_tick, call, NULL);
    g_source_attach(call->tick, call->w->ctx);
}

/* Adds one remote candidate (message or from the offer). */
void mcall_add_candidate(media_call *call, void *arg)
{
    const char *cand = arg;
    if (call->finished || !call->agent)
        return;
    if (call->offerer && !call->have_answer) { /* kept until the answer comes */
        if (!call->early_cands)
            call->early_cands = g_ptr_array_new_with_free_func(g_free);
        if (call->early_cands->len >= MEDIA_MAX_REMOTE_CANDIDATES)
            mcall_finish(call, MEDIA_END_CANDIDATE_FLOOD);
        else
            g_ptr_array_add(call->early_cands, g_strdup(cand ? cand : ""));
        return;
    }
    if (!cand || !cand[0] || !strcmp(cand, "a=end-of-candidates")) {
        nice_agent_peer_candidate_gathering_done(call->agent, call->stream_id);
        return;
    }
    if (++call->nremote > MEDIA_MAX_REMOTE_CANDIDATES) {
        mcall_finish(call, MEDIA_END_CANDIDATE_FLOOD);
        return;
    }
    if (!strncmp(cand, "a=", 2))
        cand += 2;
    if (strlen(cand) > MEDIA_MAX_CANDIDATE_LEN || strstr(cand, " tcp ") || strstr(cand, " TCP "))
        return; /* ICE-TCP is off; an oversize line is ignored, not fatal */
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(call->agent, call->stream_id, cand);
    if (!c)
        return; /* unparsable candidates (mDNS names, garbage) are skipped */
    GSList one = {.data = c, .next = NULL};
    nice_agent_set_remote_candidates(call->agent, call->stream_id, 1, &one);
    nice_candidate_free(c);
}

/* Idle after finish: frees the ICE agent outside its signal handlers and
 * drops the reference that kept the call alive until then. */
static gboolean drop_agent(gpointer data)
{
    media_call *call = data;
    if (call->agent) {
        nice_agent_remove_stream(call->agent, call->stream_id);
        g_object_unref(call->agent);
        call->agent = NULL;
    }
    mcall_unref(call);
    return G_SOURCE_REMOVE;
}

/* media_call_end message. */
void mcall_end_msg(media_call *call, void *arg)
{
    if (!call->finished)
        mcall_finish(call, *(media_end_reason *)arg);
}

/* Ends the call once: closes media and ICE, finalizes the file, hashes it,
 * writes the sidecar, reports on_finished and drops the thread's reference. */
void mcall_finish(media_call *call, media_end_reason reason)
{
    if (call->finished)
        return;
    call->finished = true;
    call->w->calls = g_list_remove(call->w->calls, call);
    if (call->tick) {
        g_source_destroy(call->tick);
        g_source_unref(call->tick);
        call->tick = NULL;
    }
    call->ice_ready = false;
    /* The receive callback stays attached (it ignores a finished call):
     * detaching it leaves a readable socket that libnice no longer drains,
     * and its source then spins at default priority, starving idles. */
    if (call->agent)
        g_signal_handlers_disconnect_by_data(call->agent, call);
    /* We may be inside one of the agent's signals or the tick: free the
     * agent, and let the call's memory go, only from a later idle. */
    mcall_ref(call);
    GSource *s = g_idle_source_new();
    g_source_set_priority(s, G_PRIORITY_DEFAULT);
    g_source_set_callback(s, drop_agent, call, NULL);
    g_source_attach(s, call->w->ctx);
    g_source_unref(s);
    int64_t dur = 0;
    bool have_file = false;
    if (call->rec) {
        have_file = rec_close(call->rec, &dur) == 0;
        call->rec = NULL;
    }
    char sha[65] = "", side[4200] = "";
    if (have_file && mside_sha256_file(call->path, sha) < 0)
        sha[0] = '\0';
    if (call->path[0]) {
        const char *dot = strrchr(call->path, '.');
        snprintf(side, sizeof(side), "%.*s.json", (int)(dot - call->path), call->path);
        mside_info in = {.tenant = call->tenant, .room_id = call->room_id, .caller = call->caller,
                         .callee = call->callee, .started_ms = call->started_unix_ms,
                         .ended_ms = g_get_real_time() / 1000,
                         .end_reason = media_end_reason_name(reason),
                         .file = have_file ? call->path : NULL,
                         .sha256 = sha[0] ? sha : NULL, .duration_ms = dur};
        for (int i = 0; i < 2; i++) {
            mtrack *t = &call->tr[i];
            if (!t->on)
                continue;
            static const char *const names[] = {"none", "opus", "vp8", "vp9", "h264"};
            in.tracks[in.ntracks++] = (mside_track){
                .kind = t->kind, .codec = names[t->codec <= MSDP_CODEC_H264 ? t->codec : 0],
                .ssrc = t->ssrc, .received = t->jb.received, .lost = t->jb.lost,
                .recovered = t->jb.recovered, .gaps = t->jb.gaps, .frames = t->frames_written,
                .dropped = t->dp.dropped};
        }
        if (mside_write(side, &in) < 0)
            side[0] = '\0';
    }
    if (call->early_cands) {
        g_ptr_array_free(call->early_cands, TRUE);
        call->early_cands = NULL;
    }
    if (call->early_dtls) {
        g_ptr_array_free(call->early_dtls, TRUE);
        call->early_dtls = NULL;
    }
    mcall_media_close(call);
    mdtls_free(call->dtls);
    call->dtls = NULL;
    msrtp_free(call->srtp);
    call->srtp = NULL;
    media_call_result res = {.reason = reason, .failed = media_end_is_failure(reason),
                             .file = have_file ? call->path : NULL,
                             .sidecar = side[0] ? side : NULL, .sha256 = sha[0] ? sha : NULL,
                             .duration_ms = dur};
    call->cbs.on_finished(call->cbs.ud, &res);
    g_atomic_int_add(&call->w->ncalls, -1);
    mcall_unref(call);
}
