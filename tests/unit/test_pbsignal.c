/* test_pbsignal.c — the 1601 content classifier (NOTES.md §6.5): the two
 * vectors of the notes, the look-alikes, layout classes and the ex hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbsignal.h"
#include "test_pb_util.h"

/* InvitationInfo of NOTES.md §6.5 (23 bytes): inviter "a", invitees ["b"],
 * roomID "r1", timeout 60, mediaType "audio", platformID 5, sessionType 1. */
#define INV "0a0161 120162 2a027231 303c 3a05617564696f 4005 4801"

/* Classifies the hex content with MsgData.ex = ex. */
static int classify(const char *hex, const char *ex, pbsig_info *out, uint8_t *buf, size_t cap)
{
    size_t n = unhex(hex, buf, cap);
    return pbsig_classify(buf, n, kk_view_str(ex), out);
}

/* Asserts that a view holds exactly the text s. */
static void assert_view(kk_view v, const char *s)
{
    assert_int_equal(v.len, strlen(s));
    if (v.len)
        assert_memory_equal(v.p, s, v.len);
}

/* Asserts the invitation fields of INV. */
static void assert_inv(const pbsig_info *si)
{
    assert_view(si->room_id, "r1");
    assert_view(si->inviter_id, "a");
    assert_view(si->group_id, "");
    assert_int_equal(si->timeout, 60);
    assert_int_equal(si->session_type, 1);
    assert_int_equal(si->invitation.len, 23);
}

static void signal_notes_bare_vector_is_bare_invite_class(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    assert_int_equal(classify("0a17" INV "220161", "", &si, b, sizeof b), 0);
    assert_int_equal(si.form, PBSIG_FORM_BARE);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    assert_int_equal(si.kind, PBSIG_KIND_UNKNOWN);
    assert_int_equal(si.ex_kind, PBSIG_KIND_UNKNOWN);
    assert_ptr_equal(si.payload.p, b);
    assert_int_equal(si.payload.len, 28);
    assert_ptr_equal(si.invitation.p, b + 2);
    assert_inv(&si);
    assert_view(si.user_id, "a");
    assert_false(si.has_op_platform);
}

static void signal_notes_wrapped_vector_is_wrapped_invite(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    assert_int_equal(classify("0a1c 0a17" INV "220161", "", &si, b, sizeof b), 0);
    assert_int_equal(si.form, PBSIG_FORM_WRAPPED);
    assert_int_equal(si.kind, PBSIG_KIND_INVITE);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    assert_ptr_equal(si.payload.p, b + 2);
    assert_int_equal(si.payload.len, 28);
    assert_ptr_equal(si.invitation.p, b + 4);
    assert_inv(&si);
    assert_view(si.user_id, "a");
}

static void signal_bare_holding_only_its_invitation_is_not_wrapped(void **state)
{
    (void)state;
    /* one field 1 like a wrapper, but its payload is an InvitationInfo:
     * field 6 (timeout) is not a Signal*Req field */
    uint8_t b[128];
    pbsig_info si;
    assert_int_equal(classify("0a17" INV, "", &si, b, sizeof b), 0);
    assert_int_equal(si.form, PBSIG_FORM_BARE);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    assert_view(si.user_id, "");
    /* an invitation of fields 1–5 only still fails: its field 1 is the
     * inviter's ID as text, not an InvitationInfo */
    assert_int_equal(classify("0a0a 0a0161 120162 2a027231", "", &si, b, sizeof b), 0);
    assert_int_equal(si.form, PBSIG_FORM_BARE);
    assert_view(si.room_id, "r1");
}

static void signal_wrapped_kind_is_the_field_number(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    /* accept: opUserPlatformID 5, userID "b" */
    assert_int_equal(classify("221e 0a17" INV "2005 2a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.form, PBSIG_FORM_WRAPPED);
    assert_int_equal(si.kind, PBSIG_KIND_ACCEPT);
    assert_int_equal(si.layout, PBSIG_LAYOUT_ACCEPT);
    assert_view(si.user_id, "b");
    assert_true(si.has_op_platform);
    assert_int_equal(si.op_platform_id, 5);
    /* reject: the same layout under field 6 */
    assert_int_equal(classify("321e 0a17" INV "2005 2a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_REJECT);
    /* hungUp: userID in field 3 */
    assert_int_equal(classify("2a1c 0a17" INV "1a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_HUNGUP);
    assert_int_equal(si.layout, PBSIG_LAYOUT_HUNGUP);
    assert_view(si.user_id, "b");
    /* cancel and inviteInGroup share the invite layout */
    assert_int_equal(classify("1a1c 0a17" INV "220161", "", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_CANCEL);
    assert_int_equal(classify("121c 0a17" INV "220161", "", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_INVITE_IN_GROUP);
}

static void signal_bare_layout_classes_follow_the_rule(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    /* field 4 VARINT → accept/reject class */
    assert_int_equal(classify("0a17" INV "2005", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_ACCEPT);
    assert_int_equal(si.op_platform_id, 5);
    assert_view(si.user_id, "");
    /* a field 5 alone → accept/reject class */
    assert_int_equal(classify("0a17" INV "2a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_ACCEPT);
    assert_false(si.has_op_platform);
    assert_view(si.user_id, "b");
    /* field 3 text (not a strict ParticipantMetaData) → hungUp class */
    assert_int_equal(classify("0a17" INV "1a03626f62", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_HUNGUP);
    assert_view(si.user_id, "bob");
    /* field 3 a strict ParticipantMetaData{userInfo{userID "b"}} → invite */
    assert_int_equal(classify("0a17" INV "1a05 1a03 0a0162  220161", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    assert_view(si.user_id, "a");
    /* ... also without a userID: a PMD field 3 (which is valid UTF-8 text
     * too) keeps the invite class */
    assert_int_equal(classify("0a17" INV "1a05 1a03 0a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    assert_view(si.user_id, "");
    /* offlinePushInfo is allowed in every layout */
    assert_int_equal(classify("0a17" INV "1204 0a027469 1a0162", "", &si, b, sizeof b), 0);
    assert_int_equal(si.layout, PBSIG_LAYOUT_HUNGUP);
}

static void signal_ex_hint_names_the_bare_kind(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    assert_int_equal(classify("0a17" INV "2005 2a0162", "reject", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_REJECT);
    assert_int_equal(si.ex_kind, PBSIG_KIND_REJECT);
    assert_int_equal(classify("0a17" INV "2005 2a0162", "accept", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_ACCEPT);
    assert_int_equal(classify("0a17" INV "220161", "cancel", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_CANCEL);
    /* only invitation: every layout fits, so "hungUp" is taken */
    assert_int_equal(classify("0a17" INV, "hungUp", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_HUNGUP);
    assert_int_equal(si.layout, PBSIG_LAYOUT_HUNGUP);
}

static void signal_ex_hint_contradicting_the_bytes_is_not_taken(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    /* invite layout (field 4 text) cannot be an accept */
    assert_int_equal(classify("0a17" INV "220161", "accept", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_UNKNOWN);
    assert_int_equal(si.ex_kind, PBSIG_KIND_ACCEPT);
    assert_int_equal(si.layout, PBSIG_LAYOUT_INVITE);
    /* names match exactly: case and padding count */
    assert_int_equal(classify("0a17" INV "220161", "Invite", &si, b, sizeof b), 0);
    assert_int_equal(si.ex_kind, PBSIG_KIND_UNKNOWN);
    assert_int_equal(classify("0a17" INV "220161", "invite ", &si, b, sizeof b), 0);
    assert_int_equal(si.ex_kind, PBSIG_KIND_UNKNOWN);
    /* wrapped: the bytes decide, ex is only reported */
    assert_int_equal(classify("0a1c 0a17" INV "220161", "hungUp", &si, b, sizeof b), 0);
    assert_int_equal(si.kind, PBSIG_KIND_INVITE);
    assert_int_equal(si.ex_kind, PBSIG_KIND_HUNGUP);
}

static void signal_rejects_what_is_neither_wrapped_nor_bare(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    const char *bad[] = {
        "",                                   /* empty */
        "3a1c 0a17" INV "220161",             /* member 7 (getTokenByRoomID) */
        "0a01 61 1217" INV,                   /* OpenIM v2 numbering: opUserID=1 */
        "0a0f 0a0161 120162 303c 3a05617564696f", /* no roomID */
        "0a05 0a0161 2a00",                   /* empty roomID */
        "0a07 0a0161 2a02 72ff",              /* roomID not UTF-8 */
        "0a17" INV "3201 00",                 /* field 6 in a Signal*Req */
        "0a17" INV "2005 220161",             /* field 4 both VARINT and LEN */
        "0a17" INV "1a02 ffff",               /* field 3 neither PMD nor text */
        "0a0a 0a0161 2a027231 3201 3c",       /* timeout as LEN inside the invitation */
        "0a17" INV "0b0c",                    /* a group */
        "0a17" INV "1203 2a0161",             /* offlinePushInfo.iOSBadgeCount as LEN */
        "0a17" INV "1203 3a0161",             /* offlinePushInfo field 7 */
        "0a1c 0a17" INV "220161 1200",        /* wrapper + second field, and bare fails */
        "1203 0a0161",                        /* no invitation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&si, 0x55, sizeof si);
        assert_int_equal(classify(bad[i], "invite", &si, b, sizeof b), KK_EPROTO);
        assert_int_equal(si.form, 0);
        assert_null(si.room_id.p);
    }
}

static void signal_every_prefix_of_the_wrapped_vector_is_safe(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = unhex("0a1c 0a17" INV "220161", b, sizeof b);
    for (size_t cut = 0; cut < n; cut++) {
        pbsig_info si;
        /* no proper prefix is a valid wrapped or bare signal: the wrapper's
         * length runs past the end */
        assert_int_equal(pbsig_classify(b, cut, kk_view_str(""), &si), KK_EPROTO);
    }
}

static void signal_invitee_lookup_matches_whole_ids(void **state)
{
    (void)state;
    uint8_t b[128];
    pbsig_info si;
    assert_int_equal(classify("0a12 0a0161 120162 1202626f 2a027231 303c 4801", "", &si, b, sizeof b), 0);
    assert_true(pbsig_invitee_has(si.invitation, kk_view_str("b")));
    assert_true(pbsig_invitee_has(si.invitation, kk_view_str("bo")));
    assert_false(pbsig_invitee_has(si.invitation, kk_view_str("a")));
    assert_false(pbsig_invitee_has(si.invitation, kk_view_str("bob")));
}

static void signal_kind_names_round_trip(void **state)
{
    (void)state;
    for (int k = PBSIG_KIND_INVITE; k <= PBSIG_KIND_REJECT; k++) {
        const char *n = pbsig_kind_name(k);
        assert_non_null(n);
        assert_int_equal(pbsig_kind_from_name((const uint8_t *)n, strlen(n)), k);
    }
    assert_null(pbsig_kind_name(0));
    assert_null(pbsig_kind_name(7));
    assert_string_equal(pbsig_kind_name(PBSIG_KIND_HUNGUP), "hungUp");
    assert_string_equal(pbsig_layout_name(PBSIG_LAYOUT_ACCEPT), "accept");
    assert_int_equal(pbsig_kind_layout(PBSIG_KIND_REJECT), PBSIG_LAYOUT_ACCEPT);
    assert_int_equal(pbsig_kind_layout(PBSIG_KIND_CANCEL), PBSIG_LAYOUT_INVITE);
    assert_int_equal(pbsig_kind_from_name(NULL, 0), PBSIG_KIND_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_notes_bare_vector_is_bare_invite_class),
        cmocka_unit_test(signal_notes_wrapped_vector_is_wrapped_invite),
        cmocka_unit_test(signal_bare_holding_only_its_invitation_is_not_wrapped),
        cmocka_unit_test(signal_wrapped_kind_is_the_field_number),
        cmocka_unit_test(signal_bare_layout_classes_follow_the_rule),
        cmocka_unit_test(signal_ex_hint_names_the_bare_kind),
        cmocka_unit_test(signal_ex_hint_contradicting_the_bytes_is_not_taken),
        cmocka_unit_test(signal_rejects_what_is_neither_wrapped_nor_bare),
        cmocka_unit_test(signal_every_prefix_of_the_wrapped_vector_is_safe),
        cmocka_unit_test(signal_invitee_lookup_matches_whole_ids),
        cmocka_unit_test(signal_kind_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
