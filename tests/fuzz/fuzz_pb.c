/* fuzz_pb.c — fuzz target over the protobuf payloads the relay decodes.
 * The first byte picks the type: PushMessages, PullMessageBySeqsResp,
 * GetMaxSeqResp, SendMsgResp (field-4 rule, pbwire), SignalResp, SignalReq,
 * MsgData; the rest is the payload. Oracles:
 *  - pbjson: decode → encode → decode gives the same JSON, and encoding that
 *    JSON again gives the same bytes;
 *  - when protobuf-c also accepts the input, nothing was merged (its merge
 *    of repeated singular messages differs from protobuf's) and no string
 *    holds a NUL (protobuf-c cuts C strings there), its message converted to
 *    JSON equals ours;
 *  - SendMsgResp: re-encoding the decoded fields canonically decodes to the
 *    same fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "pbwire.h"
#include "rtc.pb-c.h"
#include "sdkws.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding for libFuzzer) when an oracle fails. */
#define ORACLE(c) do { if (!(c)) abort(); } while (0)

/* The selector's types; index 3 is the SendMsgResp rule. */
static const ProtobufCMessageDescriptor *const types[] = {
    &kkim__push_messages__descriptor, &kkim__pull_message_by_seqs_resp__descriptor,
    &kkim__get_max_seq_resp__descriptor, NULL, &kkim__signal_resp__descriptor,
    &kkim__signal_req__descriptor, &kkim__msg_data__descriptor,
};

/* True when two views hold the same bytes. */
static bool view_eq(kk_view a, kk_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* SendMsgResp: decode, write the fields back canonically, decode again. */
static void check_send_resp(const uint8_t *p, size_t n)
{
    pbwire_send_resp a, b;
    if (pbwire_send_resp_decode(p, n, &a) < 0)
        return;
    kk_buf out;
    kk_buf_init(&out, n + 64);
    ORACLE(pbwire_put_len(&out, 1, a.server_msg_id.p, a.server_msg_id.len) == 0);
    ORACLE(pbwire_put_len(&out, 2, a.client_msg_id.p, a.client_msg_id.len) == 0);
    ORACLE(pbwire_put_tag(&out, 3, PBWIRE_VARINT) == 0);
    ORACLE(pbwire_put_varint(&out, (uint64_t)a.send_time) == 0);
    if (a.seq_from == PBWIRE_SEQ_VARINT) {
        ORACLE(pbwire_put_tag(&out, 4, PBWIRE_VARINT) == 0);
        ORACLE(pbwire_put_varint(&out, (uint64_t)a.seq) == 0);
    } else if (a.seq_from == PBWIRE_SEQ_MSGDATA) {
        ORACLE(pbwire_put_len(&out, 4, a.msg_data.p, a.msg_data.len) == 0);
    }
    ORACLE(pbwire_send_resp_decode(out.p, out.len, &b) == 0);
    ORACLE(view_eq(a.server_msg_id, b.server_msg_id) && view_eq(a.client_msg_id, b.client_msg_id));
    ORACLE(a.send_time == b.send_time && a.seq_from == b.seq_from && a.seq == b.seq);
    ORACLE(view_eq(a.msg_data, b.msg_data));
    kk_buf_free(&out);
}

/* True when some string or object key in j holds a NUL: protobuf-c keeps
 * strings as C strings, so it packs them cut at the NUL (Go and pbjson keep
 * them). */
static bool has_nul_string(const json_t *j)
{
    const char *key;
    size_t klen, i;
    json_t *v;
    if (json_is_string(j))
        return strlen(json_string_value(j)) != json_string_length(j);
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            if (has_nul_string(v))
                return true;
    }
    if (json_is_object(j)) {
        json_object_keylen_foreach((json_t *)j, key, klen, v)
            if (strlen(key) != klen || has_nul_string(v))
                return true;
    }
    return false;
}

/* json_equal, but for keys holding a NUL too (jansson's own json_equal
 * looks keys up as C strings and calls two equal such objects different). */
static bool json_same(const json_t *a, const json_t *b)
{
    const char *key;
    size_t klen, i;
    json_t *v;
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach(a, i, v)
            if (!json_same(v, json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_keylen_foreach((json_t *)a, key, klen, v)
            if (!json_same(v, json_object_getn(b, key, klen)))
                return false;
        return true;
    }
    return a && b && json_equal(a, b);
}

/* pbjson round trip, and agreement with protobuf-c. */
static void check_pbjson(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    json_t *j1 = NULL, *j2 = NULL, *j3 = NULL;
    pbjson_opts o = { 0 };
    pbjson_err err;
    if (pbjson_decode(d, p, n, &o, &j1, &err) < 0)
        return;
    kk_buf e1, e2;
    kk_buf_init(&e1, 4 * n + 4096);
    kk_buf_init(&e2, 4 * n + 4096);
    ORACLE(pbjson_encode(d, j1, NULL, &e1, &err) == 0);
    ORACLE(pbjson_decode(d, e1.p, e1.len, NULL, &j2, &err) == 0);
    ORACLE(json_same(j1, j2));
    ORACLE(pbjson_encode(d, j2, NULL, &e2, &err) == 0);
    ORACLE(e1.len == e2.len && (e1.len == 0 || memcmp(e1.p, e2.p, e1.len) == 0));
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, p);
    if (m && o.merges == 0 && !has_nul_string(j1)) {
        ORACLE(pbjson_from_message(m, NULL, &j3, &err) == 0);
        ORACLE(json_same(j1, j3));
    }
    protobuf_c_message_free_unpacked(m, NULL);
    json_decref(j1);
    json_decref(j2);
    json_decref(j3);
    kk_buf_free(&e1);
    kk_buf_free(&e2);
}

/* Picks the type by the first byte and runs its oracles. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    size_t sel = data[0] % (sizeof types / sizeof types[0]);
    if (types[sel])
        check_pbjson(types[sel], data + 1, size - 1);
    else
        check_send_resp(data + 1, size - 1);
    return 0;
}
