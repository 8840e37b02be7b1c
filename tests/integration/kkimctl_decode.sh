#!/usr/bin/env bash
# kkimctl_decode.sh BUILD_DIR — kkimctl decode/encode against frames made by
# Go's own encoders (tests/data/README.md): a 2001 push holding a text
# message and a bare 1601 invite for go, go+gzip, js and js+gzip; a wrapped
# 1601 accept; a 1003 send with its two answer forms; kicks; bad inputs
# (exit 2, one exact line on stderr). Decoded values are checked field by
# field with /usr/bin/python3; decode → encode must give Go's bytes back.
# Prints one line per check; exits non-zero when any check fails.
set -u
BUILD=${1:?usage: kkimctl_decode.sh BUILD_DIR}
K=$BUILD/tools/kkimctl
DATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)
PY=/usr/bin/python3
[ -x "$K" ] || { echo "FAIL - $K not built"; exit 1; }
WORK=$(mktemp -d /tmp/kk_kkimctl.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0

ok()    { echo "ok   - $*"; }
fail()  { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# pycheck FILE CODE: runs CODE with d = the JSON in FILE; asserts inside.
pycheck() {
    "$PY" - "$1" <<EOF
import base64, json, sys
d = json.load(open(sys.argv[1]))
$2
EOF
}

# dec OUT ARGS... < input: kkimctl decode into OUT; stderr to OUT.err.
dec() { local out=$1; shift; "$K" decode "$@" >"$out" 2>"$out.err"; }

# The push: envelope, the text message and the bare invite, field by field.
PUSH_CHECK='
assert d["kind"] == "resp" and d["reqIdentifier"] == 2001, d["kind"]
assert d["msgIncr"] == "" and d["operationID"] == "op-push-1"
assert d["errCode"] == 0 and d["errMsg"] == ""
assert d["payloadType"] == "kkim.PushMessages"
p = d["payload"]
assert list(p["msgs"]) == ["si_alice_bob"] and p["notificationMsgs"] == {}
pm = p["msgs"]["si_alice_bob"]
assert pm["isEnd"] is False and pm["endSeq"] == 0 and len(pm["Msgs"]) == 2
t, i = pm["Msgs"]
assert (t["sendID"], t["recvID"], t["groupID"]) == ("alice", "bob", "")
assert t["clientMsgID"] == "alice_1766630084632_1"
assert t["serverMsgID"] == "4fabe2535b79129cb0078c1d0dddf155"
assert (t["senderPlatformID"], t["senderNickname"], t["senderFaceURL"]) == (5, "Alice", "")
assert (t["sessionType"], t["msgFrom"], t["contentType"]) == (1, 100, 101)
assert base64.b64decode(t["content"]) == b"{\"text\":\"hello, bob <3\"}"
assert t["contentJSON"] == {"text": "hello, bob <3"}
assert (t["seq"], t["sendTime"], t["createTime"]) == (7, 1766630084691, 1766630084632)
assert (t["status"], t["isRead"], t["options"]) == (2, False, {"history": True})
assert (t["atUserIDList"], t["attachedInfo"], t["ex"]) == ([], "", "")
assert "offlinePushInfo" not in t and "contentSignal" not in t
assert (i["sendID"], i["recvID"], i["contentType"], i["msgFrom"]) == ("alice", "bob", 1601, 200)
assert (i["seq"], i["sendTime"], i["status"], i["ex"]) == (0, 1766630090012, 2, "")
assert i["clientMsgID"] == "alice_rtc_1766630090000_2" and "contentJSON" not in i
s = i["contentSignal"]
assert (s["form"], s["kind"], s["layout"], s["exHint"]) == ("bare", None, "invite", None), s
assert (s["roomID"], s["inviterUserID"], s["userID"]) == ("room-42", "alice", "alice")
assert s["signalType"] == "kkim.SignalInviteReq"
inv = s["signal"]["invitation"]
assert (inv["inviterUserID"], inv["inviteeUserIDList"], inv["roomID"]) == ("alice", ["bob"], "room-42")
assert (inv["timeout"], inv["mediaType"], inv["platformID"]) == (60, "video", 5)
assert (inv["sessionType"], inv["initiateTime"], inv["groupID"]) == (1, 1766630090000, "")
assert s["signal"]["participant"] == {"userInfo": {"userID": "alice", "nickname": "Alice", "faceURL": "", "ex": ""}}
assert s["signal"]["userID"] == "alice" and "offlinePushInfo" not in s["signal"]
'

for v in "go::push_go.bin" "go:--gzip:push_go_gzip.bin" "js::push_js.json" "js:--gzip:push_js_gzip.bin"; do
    IFS=: read -r sdk gz file <<<"$v"
    out=$WORK/$file.json
    if dec "$out" --sdk "$sdk" $gz <"$DATA/$file"; then
        gzb=False; [ -n "$gz" ] && gzb=True
        check "decode 2001 push, sdk $sdk${gz:+ +gzip}: envelope, text message, bare invite" \
            pycheck "$out" "assert d['sdk'] == '$sdk' and d['gzip'] is $gzb
$PUSH_CHECK"
    else
        fail "decode 2001 push, sdk $sdk${gz:+ +gzip}: $(cat "$out.err")"
    fi
done

same_payload() {
    "$PY" -c 'import json,sys
a=[json.load(open(f)) for f in sys.argv[1:]]
assert all(x["payload"] == a[0]["payload"] and x["data"] == a[0]["data"] for x in a)' "$@"
}
check "the four push frames carry the same data and payload" \
    same_payload "$WORK/push_go.bin.json" "$WORK/push_go_gzip.bin.json" "$WORK/push_js.json.json" "$WORK/push_js_gzip.bin.json"
check "data equals the base64 Go's encoding/json wrote" \
    pycheck "$WORK/push_go.bin.json" "assert d['data'] == json.load(open('$DATA/push_js.json'))['data']"

# Same frame through --in hex and --in base64, and with an explicit --kind.
od -An -v -tx1 <"$DATA/push_go.bin" >"$WORK/push.hex"
base64 -w 76 <"$DATA/push_go.bin" >"$WORK/push.b64"
dec "$WORK/hex.json" --sdk go --in hex <"$WORK/push.hex"
dec "$WORK/b64.json" --sdk go --in base64 <"$WORK/push.b64"
dec "$WORK/kind.json" --sdk go --kind resp <"$DATA/push_go.bin"
check "--in hex, --in base64 and --kind resp decode the same" \
    cmp -s "$WORK/hex.json" "$WORK/push_go.bin.json"
check "--in base64 decodes the same" cmp -s "$WORK/b64.json" "$WORK/push_go.bin.json"
check "--kind resp decodes the same as auto" cmp -s "$WORK/kind.json" "$WORK/push_go.bin.json"

dec "$WORK/acc.json" --sdk go <"$DATA/push_wrapped_accept_go.bin"
check "decode wrapped 1601 accept: kind from the field number, ex hint, actor" pycheck "$WORK/acc.json" '
m = d["payload"]["msgs"]["si_alice_bob"]["Msgs"][0]
assert (m["sendID"], m["recvID"], m["contentType"], m["ex"]) == ("bob", "alice", 1601, "accept")
s = m["contentSignal"]
assert (s["form"], s["kind"], s["layout"], s["exHint"]) == ("wrapped", "accept", "accept", "accept"), s
assert (s["roomID"], s["userID"], s["opUserPlatformID"]) == ("room-42", "bob", 7)
assert s["signalType"] == "kkim.SignalReq" and list(s["signal"]) == ["accept"]
a = s["signal"]["accept"]
assert (a["opUserPlatformID"], a["userID"], a["invitation"]["roomID"]) == (7, "bob", "room-42")'

dec "$WORK/sreq.json" --sdk go <"$DATA/send_req_go.bin"
check "decode 1003 send request (gob): envelope and MsgData" pycheck "$WORK/sreq.json" '
assert (d["kind"], d["reqIdentifier"], d["payloadType"]) == ("req", 1003, "kkim.MsgData")
assert (d["token"], d["sendID"]) == ("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "alice")
assert (d["operationID"], d["msgIncr"]) == ("op-send-1", "alice_1")
m = d["payload"]
assert (m["sendID"], m["recvID"], m["clientMsgID"]) == ("alice", "bob", "alice_1766630084632_1")
assert (m["serverMsgID"], m["seq"], m["sendTime"], m["status"]) == ("", 0, 0, 0)
assert (m["createTime"], m["contentType"], m["options"]) == (1766630084632, 101, {})
assert m["contentJSON"] == {"text": "hello, bob <3"}'

dec "$WORK/sreq66.json" --sdk go <"$DATA/send_req_typeid66_go.bin"
check "a Req whose gob type id is 66 decodes the same" \
    "$PY" -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a == b' \
    "$WORK/sreq.json" "$WORK/sreq66.json"

dec "$WORK/sresp.json" --sdk js <"$DATA/send_resp_js.json"
check "decode 1003 answer (js), field 4 VARINT: seq 8" pycheck "$WORK/sresp.json" '
assert (d["kind"], d["reqIdentifier"], d["msgIncr"], d["payloadType"]) == ("resp", 1003, "alice_1", "kkim.SendMsgResp")
assert d["payload"] == {"serverMsgID": "4fabe2535b79129cb0078c1d0dddf155",
    "clientMsgID": "alice_1766630084632_1", "sendTime": 1766630084691, "seq": 8, "seqFrom": "varint"}, d["payload"]'

dec "$WORK/smod.json" --sdk go <"$DATA/send_resp_modify_go.bin"
check "decode 1003 answer (gob), field 4 LEN MsgData: its seq 9 wins" pycheck "$WORK/smod.json" '
p = d["payload"]
assert (p["seq"], p["seqFrom"], p["sendTime"]) == (9, "msgData", 1766630084691)
assert (p["msgData"]["seq"], p["msgData"]["clientMsgID"]) == (9, "alice_1766630084632_1")
assert p["msgData"]["contentJSON"] == {"text": "hello, bob (edited by a hook)"}'

for v in "go:kick_go.bin" "js:kick_js.json"; do
    IFS=: read -r sdk file <<<"$v"
    dec "$WORK/$file.json" --sdk "$sdk" <"$DATA/$file"
    check "decode 2002 kick, sdk $sdk: no payload" pycheck "$WORK/$file.json" '
assert (d["kind"], d["reqIdentifier"], d["errCode"], d["data"]) == ("resp", 2002, 0, "")
assert d["payloadType"] is None and d["payload"] is None and d["operationID"] == ""'
done

# decode → encode gives Go's exact bytes back (payload re-encoded by pbjson,
# envelope by codec); gzip output differs from Go's deflate, so those are
# compared after decoding again.
for v in "go:push_go.bin" "js:push_js.json" "go:send_req_go.bin" "js:send_resp_js.json" \
         "go:send_resp_modify_go.bin" "go:kick_go.bin" "js:kick_js.json" "go:push_wrapped_accept_go.bin"; do
    IFS=: read -r sdk file <<<"$v"
    "$K" decode --sdk "$sdk" <"$DATA/$file" | "$K" encode >"$WORK/re_$file" 2>"$WORK/re.err"
    check "decode | encode reproduces Go's bytes: $file" cmp -s "$WORK/re_$file" "$DATA/$file"
done
"$K" decode --sdk go --gzip <"$DATA/push_go_gzip.bin" | "$K" encode >"$WORK/re_gz.bin"
dec "$WORK/re_gz.json" --sdk go --gzip <"$WORK/re_gz.bin"
check "decode | encode | decode of a gzip frame is stable" cmp -s "$WORK/re_gz.json" "$WORK/push_go_gzip.bin.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["payload"]; print(json.dumps(d))' \
    "$WORK/push_js.json.json" | "$K" encode --sdk js --out hex >"$WORK/data_only.hex"
check "encode from data (base64) without payload, --out hex" \
    test "$(cat "$WORK/data_only.hex")" = "$(od -An -v -tx1 <"$DATA/push_js.json" | tr -d ' \n')"

# Bad input: exit status 2, nothing on stdout, exactly one line on stderr.
bad() {
    local what=$1 want=$2; shift 2
    "$K" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
    local rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$WORK/bad.out" ] && [ "$(wc -l <"$WORK/bad.err")" -eq 1 ] &&
       [ "$(cat "$WORK/bad.err")" = "$want" ]; then
        ok "$what"
    else
        fail "$what: rc=$rc stderr=$(cat "$WORK/bad.err")"
    fi
}
bad "truncated gob frame" "kkimctl: decode: not a valid gob stream: input truncated (gob envelope)" \
    decode --sdk go <"$DATA/bad_truncated_go.bin"
bad "corrupt gzip" "kkimctl: decode: corrupt gzip data (gzip)" decode --sdk go --gzip <"$DATA/bad_gzip.bin"
bad "gzip frame without --gzip" \
    "kkimctl: decode: the frame is gzip-compressed (starts with 1f 8b); add --gzip (gzip)" \
    decode --sdk go <"$DATA/push_go_gzip.bin"
bad "truncated protobuf payload" "kkimctl: decode: length past end at offset 3 (payload kkim.PushMessages)" \
    decode --sdk js <"$DATA/bad_payload_js.json"
bad "bad hex digit" "kkimctl: decode: invalid hex digit 'z' (hex input at offset 3)" \
    decode --sdk go --in hex <<<"0a zz"
bad "odd hex digits" "kkimctl: decode: odd number of hex digits (hex input at offset 4)" \
    decode --sdk go --in hex <<<"0a0"
bad "bad base64" "kkimctl: decode: unexpected base64 character '*' (base64 input at offset 2)" \
    decode --sdk go --in base64 <<<"Aa*="
printf '{"reqIdentifier":2001,\n "msgIncr":}' >"$WORK/syntax.json"
bad "JSON envelope syntax error" \
    "kkimctl: decode: unexpected token near '}' (JSON envelope line 2 column 12)" \
    decode --sdk js <"$WORK/syntax.json"
bad "gob frame read as js" "kkimctl: decode: '[' or '{' expected near '\`' (JSON envelope line 1 column 1)" \
    decode --sdk js <"$DATA/kick_go.bin"
bad "empty input" "kkimctl: decode: empty frame (input)" decode --sdk go </dev/null
bad "encode: payload field of the wrong type" \
    "kkimctl: encode: msgs.si_a.Msgs[0].seq: expected integer (payload kkim.PushMessages)" \
    encode --sdk go <<<'{"reqIdentifier":2001,"errCode":0,"payload":{"msgs":{"si_a":{"Msgs":[{"seq":"7"}]}}}}'

"$K" decode >/dev/null 2>"$WORK/usage.err"
rc=$?
check "decode without --sdk: usage, exit 2" test $rc -eq 2 -a -n "$(grep -c '^usage: kkimctl decode' "$WORK/usage.err")"
"$K" decode --sdk rust </dev/null >/dev/null 2>"$WORK/usage.err"
rc=$?
check "unknown --sdk value: usage, exit 2" test $rc -eq 2 -a "$(head -1 "$WORK/usage.err")" = "kkimctl: decode: bad option --sdk rust"

if [ $FAILS -gt 0 ]; then
    echo "kkimctl_decode: $FAILS check(s) failed"
    exit 1
fi
echo "kkimctl_decode: all checks passed"
