/* test_srv_msg.c — kk_msg: field order, value text, JSON lists/maps and the
 * raw protobuf bytes (unknown fields kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg.h"

/* Compares argv value i with the expected C string exactly. */
static void
assert_value(const kk_msg *m, const char *name, const char *want)
{
    size_t len = 0;
    const char *v = kk_msg_field(m, name, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    assert_int_equal(v[len], '\0');
}

/* Fills md with a message using every field. */
static void
fill_msg(Kkim__MsgData *md, Kkim__MsgData__OptionsEntry **opts, char **at)
{
    md->sendid = "alice";
    md->recvid = "bob";
    md->groupid = "";
    md->clientmsgid = "c-123";
    md->servermsgid = "s-456";
    md->senderplatformid = 7;
    md->sendernickname = "Al \"the\" Ice";
    md->senderfaceurl = "http://x/a.png";
    md->sessiontype = 1;
    md->msgfrom = 100;
    md->contenttype = 101;
    md->content.data = (uint8_t *)"{\"text\":\"hi\"}";
    md->content.len = 13;
    md->seq = 42;
    md->sendtime = 1700000000123;
    md->createtime = -5;
    md->status = 2;
    md->n_options = 2;
    md->options = opts;
    md->n_atuseridlist = 2;
    md->atuseridlist = at;
    md->attachedinfo = "att";
    md->ex = "x\ny";
}

static void
msg_new_writes_fields_in_contract_order(void **state)
{
    (void)state;
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    Kkim__MsgData__OptionsEntry o1 = KKIM__MSG_DATA__OPTIONS_ENTRY__INIT;
    Kkim__MsgData__OptionsEntry o2 = KKIM__MSG_DATA__OPTIONS_ENTRY__INIT;
    o1.key = "history";
    o1.value = 1;
    o2.key = "un\"read";
    o2.value = 0;
    Kkim__MsgData__OptionsEntry *opts[2] = { &o1, &o2 };
    char *at[2] = { "bob", "tab\tc\x01" };
    fill_msg(&md, opts, at);

    kk_msg *m = kk_msg_new(&md, "si_alice_bob", false, "alice:7");
    assert_non_null(m);
    static const char *const names[] = {
        "conversationID", "seq", "serverMsgID", "clientMsgID", "sendID", "recvID",
        "groupID", "sessionType", "contentType", "msgFrom", "senderPlatformID",
        "senderNickname", "senderFaceURL", "sendTime", "createTime", "status",
        "content", "ex", "atUserIDList", "options", "attachedInfo", "via", "raw",
    };
    assert_int_equal(m->argc, 46);
    for (size_t i = 0; i < 23; i++) {
        assert_string_equal(m->argv[2 * i], names[i]);
        assert_int_equal(m->argvlen[2 * i], strlen(names[i]));
    }
    assert_string_equal(m->conv, "si_alice_bob");
    assert_int_equal(m->seq, 42);
    assert_false(m->notif);
    assert_false(m->placeholder);
    assert_string_equal(m->client_msg_id, "c-123");
    assert_value(m, "conversationID", "si_alice_bob");
    assert_value(m, "seq", "42");
    assert_value(m, "serverMsgID", "s-456");
    assert_value(m, "clientMsgID", "c-123");
    assert_value(m, "sendID", "alice");
    assert_value(m, "recvID", "bob");
    assert_value(m, "groupID", "");
    assert_value(m, "sessionType", "1");
    assert_value(m, "contentType", "101");
    assert_value(m, "msgFrom", "100");
    assert_value(m, "senderPlatformID", "7");
    assert_value(m, "senderNickname", "Al \"the\" Ice");
    assert_value(m, "senderFaceURL", "http://x/a.png");
    assert_value(m, "sendTime", "1700000000123");
    assert_value(m, "createTime", "-5");
    assert_value(m, "status", "2");
    assert_value(m, "content", "{\"text\":\"hi\"}");
    assert_value(m, "ex", "x\ny");
    assert_value(m, "atUserIDList", "[\"bob\",\"tab\\tc\\u0001\"]");
    assert_value(m, "options", "{\"history\":true,\"un\\\"read\":false}");
    assert_value(m, "attachedInfo", "att");
    assert_value(m, "via", "alice:7");

    /* raw is exactly what protobuf-c packs for md. */
    size_t want_len = kkim__msg_data__get_packed_size(&md);
    uint8_t *want = malloc(want_len);
    assert_non_null(want);
    assert_int_equal(kkim__msg_data__pack(&md, want), want_len);
    size_t rawlen = 0;
    const char *raw = kk_msg_field(m, "raw", &rawlen);
    assert_int_equal(rawlen, want_len);
    assert_memory_equal(raw, want, want_len);
    free(want);
    /* bytes is the whole block: at least header + values. */
    assert_true(m->bytes > sizeof(kk_msg) + rawlen + 13);
    kk_msg_free(m);
}

static void
msg_new_renders_empty_lists_and_null_strings(void **state)
{
    (void)state;
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    md.sendid = NULL; /* hand-built messages may leave strings NULL */
    md.seq = 0;
    kk_msg *m = kk_msg_new(&md, "n_sys", true, NULL);
    assert_non_null(m);
    assert_true(m->notif);
    assert_int_equal(m->seq, 0);
    assert_value(m, "seq", "0");
    assert_value(m, "sendID", "");
    assert_value(m, "atUserIDList", "[]");
    assert_value(m, "options", "{}");
    assert_value(m, "content", "");
    assert_value(m, "via", "");
    size_t rawlen = 99;
    assert_non_null(kk_msg_field(m, "raw", &rawlen));
    assert_int_equal(rawlen, 0); /* an all-default proto3 message packs to nothing */
    assert_null(kk_msg_field(m, "nosuch", NULL));
    kk_msg_free(m);
}

static void
msg_new_keeps_unknown_fields_in_raw(void **state)
{
    (void)state;
    /* seq=9 (field 14 varint), an unknown field 30 varint 5, status=4. */
    static const uint8_t wire[] = { 0x70, 0x09, 0xf0, 0x01, 0x05, 0x88, 0x01, 0x04 };
    Kkim__MsgData *md = kkim__msg_data__unpack(NULL, sizeof wire, wire);
    assert_non_null(md);
    kk_msg *m = kk_msg_new(md, "sg_g1", false, "bob:7");
    kkim__msg_data__free_unpacked(md, NULL);
    assert_non_null(m);
    assert_int_equal(m->seq, 9);
    assert_true(m->placeholder);
    size_t rawlen = 0;
    const uint8_t *raw = (const uint8_t *)kk_msg_field(m, "raw", &rawlen);
    /* Known fields in field order, unknown ones after them. */
    static const uint8_t want[] = { 0x70, 0x09, 0x88, 0x01, 0x04, 0xf0, 0x01, 0x05 };
    assert_int_equal(rawlen, sizeof want);
    assert_memory_equal(raw, want, sizeof want);
    kk_msg_free(m);
}

static void
msg_new_rejects_bad_seq_and_conversation(void **state)
{
    (void)state;
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    md.seq = -1;
    assert_null(kk_msg_new(&md, "si_a_b", false, "a:1"));
    md.seq = 1;
    assert_null(kk_msg_new(&md, "", false, "a:1"));
    assert_null(kk_msg_new(&md, NULL, false, "a:1"));
    assert_null(kk_msg_new(NULL, "si_a_b", false, "a:1"));
    char *big = malloc(KK_MSG_CONV_MAX + 2);
    assert_non_null(big);
    memset(big, 'c', KK_MSG_CONV_MAX + 1);
    big[KK_MSG_CONV_MAX + 1] = '\0';
    assert_null(kk_msg_new(&md, big, false, "a:1"));
    big[KK_MSG_CONV_MAX] = '\0';
    kk_msg *m = kk_msg_new(&md, big, false, "a:1");
    assert_non_null(m);
    assert_int_equal(strlen(m->conv), KK_MSG_CONV_MAX);
    kk_msg_free(m);
    free(big);
    kk_msg_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(msg_new_writes_fields_in_contract_order),
        cmocka_unit_test(msg_new_renders_empty_lists_and_null_strings),
        cmocka_unit_test(msg_new_keeps_unknown_fields_in_raw),
        cmocka_unit_test(msg_new_rejects_bad_seq_and_conversation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
