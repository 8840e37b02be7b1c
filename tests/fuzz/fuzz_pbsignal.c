/* fuzz_pbsignal.c — fuzz target over the 1601 content classifier
 * (NOTES.md §6.5). The first byte picks MsgData.ex (none, one of the six
 * kinds, or junk); the rest is the content. Oracles:
 *  - every view lies inside the content and the roomID is never empty;
 *  - a bare payload wrapped under its layout's field number classifies as
 *    wrapped with the same roomID and actor, and a wrapped payload taken on
 *    its own still classifies (its layout is always reachable);
 *  - when pbjson (an independent, schema-driven walker) decodes the signal
 *    too, its invitation.roomID is the classifier's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "pbsignal.h"
#include "pbwire.h"
#include "rtc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORACLE(c) do { if (!(c)) abort(); } while (0)

static const char *const ex_hints[] = { "", "invite", "inviteInGroup", "cancel", "accept",
                                        "hungUp", "reject", "Accept" };

/* True when v is empty or lies within p[0..n). */
static bool inside(kk_view v, const uint8_t *p, size_t n)
{
    return v.len == 0 || (v.p >= p && v.len <= n && (size_t)(v.p - p) <= n - v.len);
}

/* True when two views hold the same bytes. */
static bool view_eq(kk_view a, kk_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The roomID pbjson finds in a decoded Signal*Req object (or NULL). */
static json_t *room_of(json_t *sigreq)
{
    return json_object_get(json_object_get(sigreq, "invitation"), "roomID");
}

/* Cross-checks the roomID against a pbjson decode of the same bytes. */
static void check_with_pbjson(const pbsig_info *si, const uint8_t *p, size_t n)
{
    const ProtobufCMessageDescriptor *d =
        si->form == PBSIG_FORM_WRAPPED ? &kkim__signal_req__descriptor
        : si->layout == PBSIG_LAYOUT_ACCEPT ? &kkim__signal_accept_req__descriptor
        : si->layout == PBSIG_LAYOUT_HUNGUP ? &kkim__signal_hung_up_req__descriptor
                                            : &kkim__signal_invite_req__descriptor;
    json_t *j;
    pbjson_err err;
    if (pbjson_decode(d, p, n, NULL, &j, &err) < 0)
        return; /* pbjson is stricter in places (UTF-8 of GroupInfo names) */
    json_t *sig = j;
    if (si->form == PBSIG_FORM_WRAPPED)
        sig = json_object_get(j, pbsig_kind_name(si->kind));
    json_t *room = room_of(sig);
    ORACLE(json_is_string(room));
    ORACLE(json_string_length(room) == si->room_id.len &&
           memcmp(json_string_value(room), si->room_id.p, si->room_id.len) == 0);
    json_decref(j);
}

/* Classifies the content, then checks the oracles above. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    kk_view ex = kk_view_str(ex_hints[data[0] % (sizeof ex_hints / sizeof ex_hints[0])]);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    pbsig_info si, again;
    if (pbsig_classify(p, n, ex, &si) < 0)
        return 0;
    ORACLE(si.room_id.len > 0);
    ORACLE(inside(si.payload, p, n) && inside(si.invitation, p, n) && inside(si.room_id, p, n));
    ORACLE(inside(si.user_id, p, n) && inside(si.inviter_id, p, n) && inside(si.group_id, p, n));
    ORACLE(si.layout >= PBSIG_LAYOUT_INVITE && si.layout <= PBSIG_LAYOUT_HUNGUP);
    ORACLE(si.kind == 0 || pbsig_kind_layout(si.kind) == si.layout);
    if (si.form == PBSIG_FORM_BARE) {
        static const uint32_t wrap_num[] = { 0, PBSIG_KIND_INVITE, PBSIG_KIND_ACCEPT, PBSIG_KIND_HUNGUP };
        kk_buf w;
        kk_buf_init(&w, n + 16);
        ORACLE(pbwire_put_len(&w, wrap_num[si.layout], si.payload.p, si.payload.len) == 0);
        ORACLE(pbsig_classify(w.p, w.len, kk_view_str(""), &again) == 0);
        ORACLE(again.form == PBSIG_FORM_WRAPPED && again.kind == (int)wrap_num[si.layout]);
        ORACLE(view_eq(again.room_id, si.room_id));
        ORACLE(view_eq(again.user_id, si.user_id));
        kk_buf_free(&w);
    } else {
        ORACLE(si.kind >= PBSIG_KIND_INVITE && si.kind <= PBSIG_KIND_REJECT);
        ORACLE(pbsig_classify(si.payload.p, si.payload.len, kk_view_str(""), &again) == 0);
    }
    check_with_pbjson(&si, p, n);
    return 0;
}
