/* pbsignal.h — the strict classifier of contentType-1601 contents (contract).
 *
 * What it does: decides, as NOTES.md §6.5 steps 1–4 say, whether the content
 * of a 1601 MsgData is a wrapped SignalReq (one LEN field 1–6 holding a
 * Signal*Req) or a bare Signal*Req, using strict wire parsing (pbwire.h):
 * the Signal*Req may only hold fields 1–5 with the wire types of §6.2, and
 * its field 1 must be an InvitationInfo with only fields 1–11 of the right
 * wire types, valid UTF-8 strings and a non-empty roomID. For a wrapped
 * content the field number is the kind; for a bare one it reports the layout
 * class (invite / accept-reject / hungUp) and the kind named by the
 * MsgData.ex hint, if any. Inferring a bare kind from call state (§6.5 steps
 * 2–4 of the second list) is the caller's job.
 *
 * What it never does: allocate, log, or look at call state.
 *
 * Ownership: every kk_view in pbsig_info points into the content buffer.
 */
#ifndef KK_PBSIGNAL_H
#define KK_PBSIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* The SignalReq oneof members (field numbers, NOTES.md §6.1). */
enum pbsig_kind {
    PBSIG_KIND_UNKNOWN = 0,
    PBSIG_KIND_INVITE = 1,
    PBSIG_KIND_INVITE_IN_GROUP = 2,
    PBSIG_KIND_CANCEL = 3,
    PBSIG_KIND_ACCEPT = 4,
    PBSIG_KIND_HUNGUP = 5,
    PBSIG_KIND_REJECT = 6,
};

/* How the content carries the signal. */
enum pbsig_form {
    PBSIG_FORM_WRAPPED = 1, /* the whole SignalReq (OpenIM v2 SDK) */
    PBSIG_FORM_BARE = 2,    /* the Signal*Req alone (KKIM doc §10.5.15) */
};

/* Field layouts shared by several kinds (NOTES.md §6.2). */
enum pbsig_layout {
    PBSIG_LAYOUT_INVITE = 1, /* invite, inviteInGroup, cancel: 4 = userID */
    PBSIG_LAYOUT_ACCEPT = 2, /* accept, reject: 4 = opUserPlatformID, 5 = userID */
    PBSIG_LAYOUT_HUNGUP = 3, /* hungUp: 3 = userID */
};

/* What the classifier found. */
typedef struct pbsig_info {
    int form;           /* enum pbsig_form */
    int kind;           /* wrapped: the field number; bare: ex_kind (may be 0) */
    int layout;         /* enum pbsig_layout (for wrapped: the kind's layout) */
    int ex_kind;        /* kind named by MsgData.ex, 0 when ex names none */
    kk_view payload;    /* the Signal*Req bytes */
    kk_view invitation; /* its field 1, the InvitationInfo bytes */
    kk_view room_id;        /* InvitationInfo.roomID (never empty) */
    kk_view inviter_id;     /* InvitationInfo.inviterUserID */
    kk_view group_id;       /* InvitationInfo.groupID */
    int32_t session_type;   /* InvitationInfo.sessionType */
    int32_t timeout;        /* InvitationInfo.timeout (seconds, 0 = unset) */
    int64_t initiate_time;  /* InvitationInfo.initiateTime (ms) */
    kk_view user_id;        /* the payload's userID (the actor), may be empty */
    bool has_op_platform;   /* accept layout with field 4 present */
    int32_t op_platform_id; /* SignalAccept/RejectReq.opUserPlatformID */
} pbsig_info;

/* Classifies a 1601 content (NOTES.md §6.5). ex is MsgData.ex (may be empty).
 * Returns 0 and fills *out, or KK_EPROTO when the content is neither wrapped
 * nor bare (step 4: drop and log); *out is then zeroed. */
int pbsig_classify(const uint8_t *content, size_t len, kk_view ex, pbsig_info *out);

/* Returns true when the invitation's inviteeUserIDList (field 2) holds
 * user_id. invitation must have passed pbsig_classify. */
bool pbsig_invitee_has(kk_view invitation, kk_view user_id);

/* The oneof member name of a kind ("invite", "inviteInGroup", "cancel",
 * "accept", "hungUp", "reject"), or NULL. */
const char *pbsig_kind_name(int kind);
/* The kind named exactly by name[0..len), or PBSIG_KIND_UNKNOWN. */
int pbsig_kind_from_name(const uint8_t *name, size_t len);
/* "invite", "accept" or "hungUp" for a layout class, or NULL. */
const char *pbsig_layout_name(int layout);
/* The layout of a kind (PBSIG_LAYOUT_*), or 0 for an unknown kind. */
int pbsig_kind_layout(int kind);

#endif
