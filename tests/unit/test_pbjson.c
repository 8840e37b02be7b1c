/* test_pbjson.c — protobuf ↔ JSON by reflection (proto/pbjson.h): exact
 * JSON text and exact wire bytes both ways, error paths, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pbjson.h"
#include "rtc.pb-c.h"
#include "sdkws.pb-c.h"
#include "test_pb_util.h"

/* Decodes hex as type name and returns the compact JSON text (caller frees),
 * or NULL with *rc set. */
static char *dec_text(const char *type, const char *hex, int *rc, pbjson_err *err)
{
    uint8_t *b = malloc(4096);
    size_t n = unhex(hex, b, 4096);
    json_t *j = NULL;
    pbjson_err e;
    *rc = pbjson_decode(pbjson_find(type), b, n, NULL, &j, err ? err : &e);
    free(b);
    if (*rc < 0)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Asserts that hex decodes as type to exactly the JSON text want. */
static void assert_decodes(const char *type, const char *hex, const char *want)
{
    int rc;
    char *s = dec_text(type, hex, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(s, want);
    free(s);
}

/* Encodes the JSON text as type; returns the rc and the bytes in *out. */
static int enc_json(const char *type, const char *json, kk_buf *out, pbjson_opts *o,
                    pbjson_err *err)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    kk_buf_init(out, 1 << 20);
    int rc = pbjson_encode(pbjson_find(type), j, o, out, err);
    json_decref(j);
    return rc;
}

/* Asserts that the JSON text encodes as type to exactly the hex bytes. */
static void assert_encodes(const char *type, const char *json, const char *hex)
{
    kk_buf out;
    pbjson_err err;
    uint8_t want[512];
    size_t n = unhex(hex, want, sizeof want);
    assert_int_equal(enc_json(type, json, &out, NULL, &err), 0);
    assert_int_equal(out.len, n);
    if (n)
        assert_memory_equal(out.p, want, n);
    kk_buf_free(&out);
}

/* Asserts that encoding fails with code and the "path: what" text. */
static void assert_encode_fails(const char *type, const char *json, int code, const char *text)
{
    kk_buf out;
    pbjson_err err;
    char buf[400];
    assert_int_equal(enc_json(type, json, &out, NULL, &err), code);
    assert_int_equal(out.len, 0);
    assert_string_equal(pbjson_err_text(&err, buf, sizeof buf), text);
    kk_buf_free(&out);
}

#define MSGDATA_A_JSON                                                                       \
    "{\"sendID\":\"a\",\"recvID\":\"\",\"groupID\":\"\",\"clientMsgID\":\"\","              \
    "\"serverMsgID\":\"\",\"senderPlatformID\":0,\"senderNickname\":\"\","                 \
    "\"senderFaceURL\":\"\",\"sessionType\":0,\"msgFrom\":0,\"contentType\":0,"              \
    "\"content\":\"aGk=\",\"seq\":5,\"sendTime\":0,\"createTime\":0,\"status\":0,"           \
    "\"isRead\":false,\"options\":{\"history\":false},\"atUserIDList\":[],"                \
    "\"attachedInfo\":\"\",\"ex\":\"\"}"

static void pbjson_decode_shows_every_field_in_number_order(void **state)
{
    (void)state;
    /* wire order differs from field order: 1, 14, 12, 19 */
    assert_decodes("kkim.MsgData", "0a0161 7005 6202 6869 9a010b 0a07 686973746f7279 1000",
                   MSGDATA_A_JSON);
}

static void pbjson_encode_writes_go_bytes_in_field_order(void **state)
{
    (void)state;
    /* fields by number; the map entry keeps its false value, as Go's
     * marshaling writes both key and value of every entry */
    assert_encodes("MsgData", MSGDATA_A_JSON, "0a0161 6202 6869 7005 9a010b 0a07 686973746f7279 1000");
    assert_encodes("MsgData", "{}", "");
    assert_encodes("MsgData", "null", "");
}

static void pbjson_negative_ints_are_sign_extended_varints(void **state)
{
    (void)state;
    assert_encodes("MsgData", "{\"senderPlatformID\":-1,\"seq\":-2}",
                   "30 ffffffffffffffffff01  70 feffffffffffffffff01");
    int rc;
    char *s = dec_text("MsgData", "30 ffffffffffffffffff01  70 feffffffffffffffff01", &rc, NULL);
    assert_non_null(strstr(s, "\"senderPlatformID\":-1,"));
    assert_non_null(strstr(s, "\"seq\":-2,"));
    free(s);
    /* int64 extremes stay exact */
    assert_encodes("MsgData", "{\"sendTime\":9223372036854775807}", "78 ffffffffffffffff7f");
}

static void pbjson_encode_error_names_the_json_path(void **state)
{
    (void)state;
    assert_encode_fails("PushMessages", "{\"msgs\":{\"si_a_b\":{\"Msgs\":[{},{\"seq\":\"x\"}]}}}",
                        KK_EJSON, "msgs.si_a_b.Msgs[1].seq: expected integer");
    assert_encode_fails("MsgData", "{\"sessionType\":2147483648}", KK_EJSON,
                        "sessionType: integer 2147483648 out of range for int32");
    assert_encode_fails("MsgData", "{\"content\":\"QR==\"}", KK_EJSON,
                        "content: expected base64 string");
    assert_encode_fails("MsgData", "{\"isRead\":1}", KK_EJSON, "isRead: expected boolean");
    assert_encode_fails("MsgData", "{\"atUserIDList\":\"a\"}", KK_EJSON, "atUserIDList: expected array");
    assert_encode_fails("MsgData", "{\"options\":{\"x\":\"yes\"}}", KK_EJSON,
                        "options.x: expected boolean");
    assert_encode_fails("MsgData", "{\"sendId\":\"a\"}", KK_EJSON,
                        "sendId: unknown field of kkim.MsgData");
    assert_encode_fails("MsgData", "[]", KK_EJSON, "expected object (kkim.MsgData)");
}

static void pbjson_decode_error_names_path_and_offset(void **state)
{
    (void)state;
    int rc;
    pbjson_err err;
    char buf[400];
    /* PushMessages{msgs{"si_a_b": PullMsgs{Msgs[0]: MsgData{seq: <truncated>}}}} */
    char *s = dec_text("PushMessages", "0a0e 0a06 73695f615f62 1204 0a02 70ff", &rc, &err);
    assert_null(s);
    assert_int_equal(rc, KK_EPROTO);
    assert_string_equal(pbjson_err_text(&err, buf, sizeof buf),
                        "msgs.si_a_b.Msgs[0]: malformed varint at offset 15");
    /* a known field with another wire type */
    s = dec_text("MsgData", "0a0161 7200", &rc, &err);
    assert_int_equal(rc, KK_EPROTO);
    assert_string_equal(pbjson_err_text(&err, buf, sizeof buf),
                        "seq: wire type 2 for a int64 field (expected 0) at offset 3");
    /* proto3 strings must be UTF-8 (Go rejects them too) */
    s = dec_text("MsgData", "0a02c328", &rc, &err);
    assert_int_equal(rc, KK_EPROTO);
    assert_string_equal(pbjson_err_text(&err, buf, sizeof buf),
                        "sendID: string is not valid UTF-8 at offset 0");
    /* groups are rejected */
    s = dec_text("MsgData", "0b0c", &rc, &err);
    assert_int_equal(rc, KK_EPROTO);
    assert_string_equal(pbjson_err_text(&err, buf, sizeof buf),
                        "group wire type (3/4) not supported at offset 0");
}

static void pbjson_skips_unknown_fields_of_every_wire_type(void **state)
{
    (void)state;
    int rc;
    char *plain = dec_text("MsgData", "0a0161", &rc, NULL);
    char *with = dec_text("MsgData", "c901 0102030405060708  0a0161  cd01 01020304  c801 07  ca01 00",
                          &rc, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(with, plain);
    free(plain);
    free(with);
}

static void pbjson_repeated_scalars_decode_packed_or_not(void **state)
{
    (void)state;
    const char *want = "{\"conversationID\":\"c\",\"seqs\":[1,2,300]}";
    assert_decodes("ConversationSeqs", "1201 63  1a04 0102ac02", want);
    assert_decodes("ConversationSeqs", "1201 63  1801 1802 18ac02", want);
    assert_decodes("ConversationSeqs", "1a01 01  1201 63  1802 1a02 ac02", want);
    assert_encodes("ConversationSeqs", want, "1201 63 1a04 0102ac02");
    assert_encodes("ConversationSeqs", "{\"seqs\":[]}", "");
}

static void pbjson_oneof_shows_and_writes_only_the_set_member(void **state)
{
    (void)state;
    assert_decodes("SignalResp", "2a00", "{\"hungUp\":{}}");
    assert_decodes("SignalResp", "2207 0a0174 12027231",
                   "{\"accept\":{\"token\":\"t\",\"roomID\":\"r1\",\"liveURL\":\"\"}}");
    /* a later member replaces an earlier one */
    assert_decodes("SignalResp", "1a00 2a00", "{\"hungUp\":{}}");
    assert_decodes("SignalResp", "", "{}");
    /* a set member is written even when empty (NOTES.md §6.1) */
    assert_encodes("SignalResp", "{\"hungUp\":{}}", "2a00");
    assert_encodes("SignalResp", "{\"cancel\":{}}", "1a00");
    assert_encodes("SignalResp", "{\"reject\":{}}", "3200");
    assert_encodes("SignalResp", "{\"hungUp\":null,\"cancel\":{}}", "1a00");
    assert_encode_fails("SignalResp", "{\"hungUp\":{},\"cancel\":{}}", KK_EJSON,
                        "both hungUp and cancel set in one oneof");
}

static void pbjson_merges_a_singular_message_given_twice(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = unhex("a20103 0a0161  0a0178  a20103 120162", b, sizeof b);
    pbjson_opts o = { 0 };
    pbjson_err err;
    json_t *j;
    assert_int_equal(pbjson_decode(&kkim__msg_data__descriptor, b, n, &o, &j, &err), 0);
    assert_int_equal(o.merges, 1);
    char *s = json_dumps(json_object_get(j, "offlinePushInfo"), JSON_COMPACT);
    assert_string_equal(s, "{\"title\":\"a\",\"desc\":\"b\",\"ex\":\"\",\"iOSPushSound\":\"\","
                           "\"iOSBadgeCount\":false,\"signalInfo\":\"\"}");
    assert_string_equal(json_string_value(json_object_get(j, "sendID")), "x");
    free(s);
    json_decref(j);
}

static void pbjson_maps_write_key_and_value_and_default_missing_ones(void **state)
{
    (void)state;
    assert_encodes("GetMaxSeqResp", "{\"maxSeqs\":{\"si_a_b\":7}}", "0a0a 0a06 73695f615f62 1007");
    assert_encodes("GetMaxSeqResp", "{\"maxSeqs\":{\"x\":0}}", "0a05 0a0178 1000");
    assert_decodes("GetMaxSeqResp", "0a03 0a0178", "{\"maxSeqs\":{\"x\":0},\"minSeqs\":{}}");
    assert_decodes("GetMaxSeqResp", "0a02 1007", "{\"maxSeqs\":{\"\":7},\"minSeqs\":{}}");
    /* the same key twice: the last entry wins */
    assert_decodes("GetMaxSeqResp", "0a05 0a0178 1001 0a05 0a0178 1002",
                   "{\"maxSeqs\":{\"x\":2},\"minSeqs\":{}}");
    /* a message value that is missing is an empty message */
    assert_decodes("GetConversationsHasReadAndMaxSeqResp", "0a03 0a0178",
                   "{\"seqs\":{\"x\":{\"maxSeq\":0,\"hasReadSeq\":0,\"maxSeqTime\":0}}}");
}

static void pbjson_map_keys_and_strings_may_hold_nul(void **state)
{
    (void)state;
    /* Go allows NUL in strings; keys "a\0b" and "a\0c" stay distinct */
    const char *hex = "0a07 0a03 610062 1001  0a07 0a03 610063 1002";
    uint8_t b[64];
    size_t n = unhex(hex, b, sizeof b);
    json_t *j;
    pbjson_err err;
    assert_int_equal(pbjson_decode(&kkim__get_max_seq_resp__descriptor, b, n, NULL, &j, &err), 0);
    assert_int_equal(json_object_size(json_object_get(j, "maxSeqs")), 2);
    kk_buf out;
    kk_buf_init(&out, 256);
    assert_int_equal(pbjson_encode(&kkim__get_max_seq_resp__descriptor, j, NULL, &out, &err), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, b, n);
    kk_buf_free(&out);
    json_decref(j);
    /* a field name followed by a NUL names no field */
    json_t *bad = json_object();
    json_object_setn_new(bad, "sendID\0x", 8, json_string("a"));
    kk_buf_init(&out, 256);
    assert_int_equal(pbjson_encode(&kkim__msg_data__descriptor, bad, NULL, &out, &err), KK_EJSON);
    assert_string_equal(err.path, "sendID?x");
    kk_buf_free(&out);
    json_decref(bad);
}

static void pbjson_enums_are_numbers_and_accept_names(void **state)
{
    (void)state;
    assert_decodes("PullMessageBySeqsReq", "1801", "{\"userID\":\"\",\"seqRanges\":[],\"order\":1}");
    assert_encodes("PullMessageBySeqsReq", "{\"order\":\"PullOrderDesc\"}", "1801");
    assert_encodes("PullMessageBySeqsReq", "{\"order\":1}", "1801");
    assert_encode_fails("PullMessageBySeqsReq", "{\"order\":\"Desc\"}", KK_EJSON,
                        "order: unknown enum name \"Desc\"");
}

static void pbjson_decode_stops_at_the_value_budget(void **state)
{
    (void)state;
    /* 40 000 empty MsgData (2 bytes each) would make ~960 000 JSON values */
    size_t count = 40000, n = count * 2;
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < count; i++) {
        b[2 * i] = 0x0a;
        b[2 * i + 1] = 0x00;
    }
    json_t *j = NULL;
    pbjson_err err;
    assert_int_equal(pbjson_decode(&kkim__pull_msgs__descriptor, b, n, NULL, &j, &err), KK_ETOOBIG);
    assert_null(j);
    /* 1 000 of them are fine */
    assert_int_equal(pbjson_decode(&kkim__pull_msgs__descriptor, b, 2000, NULL, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "Msgs")), 1000);
    json_decref(j);
    free(b);
}

/* extra_key hook: accepts contentJSON on MsgData only. */
static bool accept_content_json(void *ud, const ProtobufCMessageDescriptor *d, const char *key)
{
    (void)ud;
    return d == &kkim__msg_data__descriptor && strcmp(key, "contentJSON") == 0;
}

static void pbjson_extra_key_hook_lets_decorations_through(void **state)
{
    (void)state;
    kk_buf out;
    pbjson_err err;
    pbjson_opts o = { .extra_key = accept_content_json };
    assert_int_equal(enc_json("MsgData", "{\"sendID\":\"a\",\"contentJSON\":{\"text\":\"x\"}}", &out, &o, &err), 0);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.p, "\x0a\x01" "a", 3);
    kk_buf_free(&out);
    assert_int_equal(enc_json("OfflinePushInfo", "{\"contentJSON\":1}", &out, &o, &err), KK_EJSON);
    assert_string_equal(err.path, "contentJSON");
    kk_buf_free(&out);
}

/* decorate hook: counts MsgData objects, tags them, fails on the 2nd when
 * *ud is negative. */
static int count_msgdata(void *ud, const ProtobufCMessageDescriptor *d, json_t *obj, pbjson_err *err)
{
    int *n = ud;
    if (d != &kkim__msg_data__descriptor)
        return 0;
    if (*n < 0) {
        snprintf(err->what, sizeof err->what, "refused");
        return KK_EINVAL;
    }
    (*n)++;
    return json_object_set_new(obj, "tag", json_integer(*n));
}

static void pbjson_decorate_hook_sees_each_message_once(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = unhex("0a10 0a06 73695f615f62 1206 0a02 7001 0a00", b, sizeof b);
    int count = 0;
    pbjson_opts o = { .decorate = count_msgdata, .ud = &count };
    pbjson_err err;
    json_t *j;
    assert_int_equal(pbjson_decode(&kkim__push_messages__descriptor, b, n, &o, &j, &err), 0);
    assert_int_equal(count, 2);
    json_t *msgs = json_object_get(json_object_get(json_object_get(j, "msgs"), "si_a_b"), "Msgs");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(msgs, 0), "tag")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(msgs, 0), "seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(msgs, 1), "tag")), 2);
    json_decref(j);
    count = -1;
    assert_int_equal(pbjson_decode(&kkim__push_messages__descriptor, b, n, &o, &j, &err), KK_EINVAL);
    assert_string_equal(err.path, "msgs.si_a_b.Msgs[0]");
    assert_string_equal(err.what, "refused");
}

static void pbjson_converts_protobuf_c_messages_both_ways(void **state)
{
    (void)state;
    Kkim__MsgData m = KKIM__MSG_DATA__INIT;
    m.sendid = "alice";
    m.seq = 9;
    char *at[] = { "bob", "carol" };
    m.n_atuseridlist = 2;
    m.atuseridlist = at;
    json_t *j;
    pbjson_err err;
    assert_int_equal(pbjson_from_message(&m.base, NULL, &j, &err), 0);
    assert_string_equal(json_string_value(json_object_get(j, "sendID")), "alice");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 9);
    assert_int_equal(json_array_size(json_object_get(j, "atUserIDList")), 2);
    ProtobufCMessage *pm;
    assert_int_equal(pbjson_to_message(&kkim__msg_data__descriptor, j, NULL, &pm, &err), 0);
    Kkim__MsgData *back = (Kkim__MsgData *)pm;
    assert_string_equal(back->sendid, "alice");
    assert_int_equal(back->seq, 9);
    assert_int_equal(back->n_atuseridlist, 2);
    assert_string_equal(back->atuseridlist[1], "carol");
    protobuf_c_message_free_unpacked(pm, NULL);
    json_decref(j);
}

static void pbjson_every_prefix_of_a_push_decodes_or_fails_cleanly(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = unhex("0a1f 0a06 73695f615f62 1215 0a11 0a0161 120162 6207 7b2274223a317d 7007 1001 "
                     "1208 0a04 6e5f6162 1200",
                     b, sizeof b);
    size_t ok = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        json_t *j = NULL;
        pbjson_err err;
        int rc = pbjson_decode(&kkim__push_messages__descriptor, b, cut, NULL, &j, &err);
        assert_true(rc == 0 || rc == KK_EPROTO);
        assert_true((rc == 0) == (j != NULL));
        ok += rc == 0;
        json_decref(j);
    }
    assert_int_equal(ok, 3); /* empty, after the first entry, whole */
    assert_decodes("PushMessages", "1208 0a04 6e5f6162 1200",
                   "{\"msgs\":{},\"notificationMsgs\":{\"n_ab\":{\"Msgs\":[],\"isEnd\":false,\"endSeq\":0}}}");
}

static void pbjson_base64_is_go_std_encoding_strict(void **state)
{
    (void)state;
    kk_buf b;
    kk_buf_init(&b, 64);
    assert_int_equal(pbjson_b64_encode((const uint8_t *)"ab", 2, &b), 0);
    assert_int_equal(pbjson_b64_encode((const uint8_t *)"", 0, &b), 0);
    assert_int_equal(pbjson_b64_encode((const uint8_t *)"abc", 3, &b), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.p, "YWI=YWJj", 8);
    kk_buf_reset(&b);
    assert_int_equal(pbjson_b64_decode("QQ==", 4, &b), 0);
    assert_int_equal(pbjson_b64_decode("", 0, &b), 0);
    assert_int_equal(pbjson_b64_decode("+/8=", 4, &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "A\xfb\xff", 3);
    const char *bad[] = { "QR==", "QQ=", "Q===", "QQ==QQ==", "QQ=A", "-_8=", "QQ\n==", "====" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pbjson_b64_decode(bad[i], strlen(bad[i]), &b), KK_EB64);
        assert_int_equal(b.len, 3); /* unchanged */
    }
    kk_buf_free(&b);
}

static void pbjson_find_knows_full_and_short_names(void **state)
{
    (void)state;
    assert_ptr_equal(pbjson_find("kkim.PushMessages"), &kkim__push_messages__descriptor);
    assert_ptr_equal(pbjson_find("SignalReq"), &kkim__signal_req__descriptor);
    assert_null(pbjson_find("kkim.Nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pbjson_decode_shows_every_field_in_number_order),
        cmocka_unit_test(pbjson_encode_writes_go_bytes_in_field_order),
        cmocka_unit_test(pbjson_negative_ints_are_sign_extended_varints),
        cmocka_unit_test(pbjson_encode_error_names_the_json_path),
        cmocka_unit_test(pbjson_decode_error_names_path_and_offset),
        cmocka_unit_test(pbjson_skips_unknown_fields_of_every_wire_type),
        cmocka_unit_test(pbjson_repeated_scalars_decode_packed_or_not),
        cmocka_unit_test(pbjson_oneof_shows_and_writes_only_the_set_member),
        cmocka_unit_test(pbjson_merges_a_singular_message_given_twice),
        cmocka_unit_test(pbjson_maps_write_key_and_value_and_default_missing_ones),
        cmocka_unit_test(pbjson_map_keys_and_strings_may_hold_nul),
        cmocka_unit_test(pbjson_enums_are_numbers_and_accept_names),
        cmocka_unit_test(pbjson_decode_stops_at_the_value_budget),
        cmocka_unit_test(pbjson_extra_key_hook_lets_decorations_through),
        cmocka_unit_test(pbjson_decorate_hook_sees_each_message_once),
        cmocka_unit_test(pbjson_converts_protobuf_c_messages_both_ways),
        cmocka_unit_test(pbjson_every_prefix_of_a_push_decodes_or_fails_cleanly),
        cmocka_unit_test(pbjson_base64_is_go_std_encoding_strict),
        cmocka_unit_test(pbjson_find_knows_full_and_short_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
