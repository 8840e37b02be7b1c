/* pbsignal.c — the strict 1601 content classifier of NOTES.md §6.5.
 * Contract in pbsignal.h. Everything here is a flat pbwire walk: no
 * allocation, no recursion beyond the fixed nesting of the schema
 * (Signal*Req → InvitationInfo / OfflinePushInfo / ParticipantMetaData →
 * PublicUserInfo). */
#include <string.h>

#include "pbsignal.h"
#include "pbwire.h"

/* Bit of each layout in a mask of layouts still possible. */
#define LAYOUT_BIT(l) (1u << (l))
#define ALL_LAYOUTS \
    (LAYOUT_BIT(PBSIG_LAYOUT_INVITE) | LAYOUT_BIT(PBSIG_LAYOUT_ACCEPT) | \
     LAYOUT_BIT(PBSIG_LAYOUT_HUNGUP))

/* ---- leaf checks ------------------------------------------------------- */

/* True when f is a LEN field holding valid UTF-8. */
static bool is_string(const pbwire_field *f)
{
    return f->wtype == PBWIRE_LEN && pbwire_utf8_valid(f->bytes.p, f->bytes.len);
}

/* True when v is a flat message of fields numbered 1..max_num, each a
 * VARINT when its bit is set in varint_fields and a UTF-8 string otherwise.
 * PublicUserInfo: strings 1..4. OfflinePushInfo (NOTES.md §3.2): title=1,
 * desc=2, ex=3, iOSPushSound=4 strings, iOSBadgeCount=5 bool, signalInfo=6. */
static bool strict_flat_msg(kk_view v, uint32_t max_num, uint32_t varint_fields)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    pbwire_reader_init(&r, v.p, v.len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        if (f.num > max_num)
            return false;
        if ((varint_fields >> f.num) & 1 ? f.wtype != PBWIRE_VARINT : !is_string(&f))
            return false;
    }
    return rc == 0;
}

#define PUBLIC_USER_INFO_FIELDS 4u
#define OFFLINE_PUSH_INFO_FIELDS 6u
#define OFFLINE_PUSH_INFO_VARINTS (1u << 5)

/* ParticipantMetaData: groupInfo=1, groupMemberInfo=2 (OpenIM messages with
 * many more fields than we declare, so only wire-checked), userInfo=3 (a
 * PublicUserInfo: strings 1..4). */
static bool strict_participant(kk_view v)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    pbwire_reader_init(&r, v.p, v.len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        if (f.num > 3 || f.wtype != PBWIRE_LEN)
            return false;
        if (f.num == 3 ? !strict_flat_msg(f.bytes, PUBLIC_USER_INFO_FIELDS, 0)
                        : pbwire_check(f.bytes.p, f.bytes.len) < 0)
            return false;
    }
    return rc == 0;
}

/* Checks an InvitationInfo strictly (fields 1–11 with the wire types of
 * NOTES.md §6.2, strings valid UTF-8, non-empty roomID) and copies what the
 * caller needs into out. Returns true when it passes. */
static bool strict_invitation(kk_view v, pbsig_info *out)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    pbsig_info tmp;
    memset(&tmp, 0, sizeof tmp);
    pbwire_reader_init(&r, v.p, v.len);
    while ((rc = pbwire_next(&r, &f)) == 1) {
        switch (f.num) {
        case 6: case 8: case 9: case 10: /* timeout, platformID, sessionType, initiateTime */
            if (f.wtype != PBWIRE_VARINT)
                return false;
            if (f.num == 6)
                tmp.timeout = (int32_t)(uint32_t)f.u;
            else if (f.num == 9)
                tmp.session_type = (int32_t)(uint32_t)f.u;
            else if (f.num == 10)
                tmp.initiate_time = (int64_t)f.u;
            break;
        case 1: case 2: case 3: case 4: case 5: case 7: case 11:
            if (!is_string(&f))
                return false;
            if (f.num == 1)
                tmp.inviter_id = f.bytes;
            else if (f.num == 4)
                tmp.group_id = f.bytes;
            else if (f.num == 5)
                tmp.room_id = f.bytes;
            break;
        default:
            return false;
        }
    }
    if (rc < 0 || tmp.room_id.len == 0)
        return false;
    out->invitation = v;
    out->inviter_id = tmp.inviter_id;
    out->group_id = tmp.group_id;
    out->room_id = tmp.room_id;
    out->timeout = tmp.timeout;
    out->session_type = tmp.session_type;
    out->initiate_time = tmp.initiate_time;
    return true;
}

/* ---- Signal*Req -------------------------------------------------------- */

/* What one walk over a candidate Signal*Req saw. */
typedef struct sigreq_scan {
    unsigned mask;      /* layouts the fields so far fit */
    bool has_inv;       /* a field 1 was present */
    bool f3, f3_pmd;    /* field 3 present / last one is a strict PMD */
    kk_view f3_bytes;
    bool f4_varint, f4_len;
    uint64_t f4_u;
    kk_view f4_bytes;
    bool f5;
    kk_view f5_bytes;
} sigreq_scan;

/* Narrows sc->mask by one field of a candidate Signal*Req (NOTES.md §6.2
 * table) and remembers what the layout rule needs. Returns false when the
 * field fits no layout or the invitation fails. */
static bool scan_field(sigreq_scan *sc, const pbwire_field *f, pbsig_info *out)
{
    switch (f->num) {
    case 1:
        if (f->wtype != PBWIRE_LEN || !strict_invitation(f->bytes, out))
            return false;
        sc->has_inv = true;
        break;
    case 2:
        if (f->wtype != PBWIRE_LEN ||
            !strict_flat_msg(f->bytes, OFFLINE_PUSH_INFO_FIELDS, OFFLINE_PUSH_INFO_VARINTS))
            return false;
        break;
    case 3: {
        /* participant (invite/accept layouts) or userID (hungUp) */
        bool pmd = f->wtype == PBWIRE_LEN && strict_participant(f->bytes);
        if (!pmd)
            sc->mask &= ~(LAYOUT_BIT(PBSIG_LAYOUT_INVITE) | LAYOUT_BIT(PBSIG_LAYOUT_ACCEPT));
        if (!is_string(f))
            sc->mask &= ~LAYOUT_BIT(PBSIG_LAYOUT_HUNGUP);
        sc->f3 = true;
        sc->f3_pmd = pmd;
        sc->f3_bytes = f->bytes;
        break;
    }
    case 4:
        /* userID (invite layout) or opUserPlatformID (accept layout) */
        sc->mask &= ~LAYOUT_BIT(PBSIG_LAYOUT_HUNGUP);
        if (f->wtype == PBWIRE_VARINT) {
            sc->mask &= ~LAYOUT_BIT(PBSIG_LAYOUT_INVITE);
            sc->f4_varint = true;
            sc->f4_u = f->u;
        } else if (is_string(f)) {
            sc->mask &= ~LAYOUT_BIT(PBSIG_LAYOUT_ACCEPT);
            sc->f4_len = true;
            sc->f4_bytes = f->bytes;
        } else {
            return false;
        }
        break;
    case 5:
        /* userID of the accept layout only */
        if (!is_string(f))
            return false;
        sc->mask &= LAYOUT_BIT(PBSIG_LAYOUT_ACCEPT);
        sc->f5 = true;
        sc->f5_bytes = f->bytes;
        break;
    default:
        return false;
    }
    return sc->mask != 0;
}

/* Strictly walks v as a Signal*Req. Returns the mask of layouts it fits
 * (0 when none) and fills sc and the invitation part of out. */
static unsigned scan_sigreq(kk_view v, sigreq_scan *sc, pbsig_info *out)
{
    pbwire_reader r;
    pbwire_field f;
    int rc;
    memset(sc, 0, sizeof *sc);
    sc->mask = ALL_LAYOUTS;
    pbwire_reader_init(&r, v.p, v.len);
    while ((rc = pbwire_next(&r, &f)) == 1)
        if (!scan_field(sc, &f, out))
            return 0;
    if (rc < 0 || !sc->has_inv)
        return 0;
    return sc->mask;
}

/* The layout class of a bare payload (NOTES.md §6.5): field 4 VARINT or a
 * field 5 → accept/reject; a field 3 that is not a strict
 * ParticipantMetaData and no field 4/5 → hungUp; otherwise invite. */
static int layout_rule(const sigreq_scan *sc)
{
    if (sc->f4_varint || sc->f5)
        return PBSIG_LAYOUT_ACCEPT;
    if (sc->f3 && !sc->f3_pmd && !sc->f4_len)
        return PBSIG_LAYOUT_HUNGUP;
    return PBSIG_LAYOUT_INVITE;
}

/* Fills the actor fields of out for layout from what the scan saw. */
static void fill_actor(const sigreq_scan *sc, int layout, pbsig_info *out)
{
    out->layout = layout;
    if (layout == PBSIG_LAYOUT_INVITE && sc->f4_len) {
        out->user_id = sc->f4_bytes;
    } else if (layout == PBSIG_LAYOUT_ACCEPT) {
        if (sc->f5)
            out->user_id = sc->f5_bytes;
        out->has_op_platform = sc->f4_varint;
        out->op_platform_id = (int32_t)(uint32_t)sc->f4_u;
    } else if (layout == PBSIG_LAYOUT_HUNGUP && sc->f3) {
        out->user_id = sc->f3_bytes;
    }
}

/* Tries §6.5 step 2: content is exactly one LEN field numbered 1–6 whose
 * payload fits that kind's layout. Returns true and fills out when so. */
static bool try_wrapped(const uint8_t *content, size_t len, pbsig_info *out)
{
    pbwire_reader r;
    pbwire_field f, second;
    pbwire_reader_init(&r, content, len);
    if (pbwire_next(&r, &f) != 1 || pbwire_next(&r, &second) != 0)
        return false;
    int layout = pbsig_kind_layout((int)f.num);
    if (f.wtype != PBWIRE_LEN || layout == 0)
        return false;
    sigreq_scan sc;
    if (!(scan_sigreq(f.bytes, &sc, out) & LAYOUT_BIT(layout)))
        return false;
    out->form = PBSIG_FORM_WRAPPED;
    out->kind = (int)f.num;
    out->payload = f.bytes;
    fill_actor(&sc, layout, out);
    return true;
}

/* Classifies a 1601 content; see pbsignal.h. */
int pbsig_classify(const uint8_t *content, size_t len, kk_view ex, pbsig_info *out)
{
    memset(out, 0, sizeof *out);
    int ex_kind = pbsig_kind_from_name(ex.p, ex.len);
    if (try_wrapped(content, len, out)) {
        out->ex_kind = ex_kind;
        return 0;
    }
    memset(out, 0, sizeof *out);
    sigreq_scan sc;
    kk_view v = { content, len };
    unsigned mask = scan_sigreq(v, &sc, out);
    int layout = layout_rule(&sc);
    if (!(mask & LAYOUT_BIT(layout))) {
        memset(out, 0, sizeof *out);
        return KK_EPROTO; /* step 4: neither wrapped nor bare */
    }
    out->form = PBSIG_FORM_BARE;
    out->payload = v;
    out->ex_kind = ex_kind;
    /* Step 1 of the inference: the ex hint names the kind, provided the
     * bytes fit that kind's layout (a hint contradicting the bytes is
     * reported in ex_kind but not taken). */
    int ex_layout = pbsig_kind_layout(ex_kind);
    if (ex_layout && (mask & LAYOUT_BIT(ex_layout))) {
        out->kind = ex_kind;
        layout = ex_layout;
    }
    fill_actor(&sc, layout, out);
    return 0;
}

/* Looks for user_id in the invitation's inviteeUserIDList; see pbsignal.h. */
bool pbsig_invitee_has(kk_view invitation, kk_view user_id)
{
    pbwire_reader r;
    pbwire_field f;
    pbwire_reader_init(&r, invitation.p, invitation.len);
    while (pbwire_next(&r, &f) == 1)
        if (f.num == 2 && f.wtype == PBWIRE_LEN && f.bytes.len == user_id.len &&
            (user_id.len == 0 || memcmp(f.bytes.p, user_id.p, user_id.len) == 0))
            return true;
    return false;
}

/* ---- names ------------------------------------------------------------- */

/* Oneof member names, indexed by kind (field number). */
static const char *const kind_names[] = {
    NULL, "invite", "inviteInGroup", "cancel", "accept", "hungUp", "reject",
};

/* Returns the member name of a kind, or NULL. */
const char *pbsig_kind_name(int kind)
{
    if (kind < PBSIG_KIND_INVITE || kind > PBSIG_KIND_REJECT)
        return NULL;
    return kind_names[kind];
}

/* Maps an exact member name to its kind (case-sensitive, as §6.5 says). */
int pbsig_kind_from_name(const uint8_t *name, size_t len)
{
    for (int k = PBSIG_KIND_INVITE; k <= PBSIG_KIND_REJECT; k++)
        if (strlen(kind_names[k]) == len && len > 0 && memcmp(kind_names[k], name, len) == 0)
            return k;
    return PBSIG_KIND_UNKNOWN;
}

/* Returns the name of a layout class, or NULL. */
const char *pbsig_layout_name(int layout)
{
    switch (layout) {
    case PBSIG_LAYOUT_INVITE: return "invite";
    case PBSIG_LAYOUT_ACCEPT: return "accept";
    case PBSIG_LAYOUT_HUNGUP: return "hungUp";
    }
    return NULL;
}

/* Returns the layout shared by a kind, or 0. */
int pbsig_kind_layout(int kind)
{
    switch (kind) {
    case PBSIG_KIND_INVITE:
    case PBSIG_KIND_INVITE_IN_GROUP:
    case PBSIG_KIND_CANCEL:
        return PBSIG_LAYOUT_INVITE;
    case PBSIG_KIND_ACCEPT:
    case PBSIG_KIND_REJECT:
        return PBSIG_LAYOUT_ACCEPT;
    case PBSIG_KIND_HUNGUP:
        return PBSIG_LAYOUT_HUNGUP;
    }
    return 0;
}
