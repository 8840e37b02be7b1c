// mkframes writes the frames of tests/data/ with Go's own encoders
// (encoding/gob, encoding/json, compress/gzip, google.golang.org/protobuf),
// so the C decoders are checked against Go's bytes, not against our own
// encoder. Throw-away generator; see tests/data/README.md for how to run it.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"encoding/json"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"kkim/sim/pb"
)

// OpenIM's envelope structs (internal/msggateway), field order and types as
// NOTES.md §2.2 gives them.
type Req struct {
	ReqIdentifier int32  `json:"reqIdentifier" validate:"required"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"        validate:"required"`
	OperationID   string `json:"operationID"   validate:"required"`
	MsgIncr       string `json:"msgIncr"       validate:"required"`
	Data          []byte `json:"data"`
}

type Resp struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	MsgIncr       string `json:"msgIncr"`
	OperationID   string `json:"operationID"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          []byte `json:"data"`
}

var out string

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func pbBytes(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	must(err)
	return b
}

func gobFrame(v interface{}) []byte {
	var buf bytes.Buffer
	must(gob.NewEncoder(&buf).Encode(v)) // a fresh encoder per frame
	return buf.Bytes()
}

func jsonFrame(v interface{}) []byte {
	b, err := json.Marshal(v)
	must(err)
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	must(err)
	must(w.Close())
	return buf.Bytes()
}

func write(name string, b []byte) {
	must(os.WriteFile(filepath.Join(out, name), b, 0o644))
}

func textMsg() *pb.MsgData {
	return &pb.MsgData{
		SendID: "alice", RecvID: "bob",
		ClientMsgID: "alice_1766630084632_1", ServerMsgID: "4fabe2535b79129cb0078c1d0dddf155",
		SenderPlatformID: 5, SenderNickname: "Alice",
		SessionType: 1, MsgFrom: 100, ContentType: 101,
		Content: []byte(`{"text":"hello, bob <3"}`),
		Seq:     7, SendTime: 1766630084691, CreateTime: 1766630084632, Status: 2,
		Options: map[string]bool{"history": true},
	}
}

func invitation() *pb.InvitationInfo {
	return &pb.InvitationInfo{
		InviterUserID: "alice", InviteeUserIDList: []string{"bob"},
		RoomID: "room-42", Timeout: 60, MediaType: "video",
		PlatformID: 5, SessionType: 1, InitiateTime: 1766630090000,
	}
}

// The KKIM doc's form (§10.5.15): the bare SignalInviteReq.
func inviteMsg() *pb.MsgData {
	inv := &pb.SignalInviteReq{
		Invitation:  invitation(),
		Participant: &pb.ParticipantMetaData{UserInfo: &pb.PublicUserInfo{UserID: "alice", Nickname: "Alice"}},
		UserID:      "alice",
	}
	return &pb.MsgData{
		SendID: "alice", RecvID: "bob",
		ClientMsgID: "alice_rtc_1766630090000_2", ServerMsgID: "9d5ed678fe57bcca610140957afab571",
		SenderPlatformID: 5, SessionType: 1, MsgFrom: 200, ContentType: 1601,
		Content:  pbBytes(inv),
		SendTime: 1766630090012, CreateTime: 1766630090000, Status: 2,
	}
}

// OpenIM v2's form: the whole SignalReq, here an accept from bob.
func wrappedAcceptMsg() *pb.MsgData {
	sig := &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{
		Invitation: invitation(), OpUserPlatformID: 7, UserID: "bob",
	}}}
	return &pb.MsgData{
		SendID: "bob", RecvID: "alice",
		ClientMsgID: "bob_rtc_1766630095000_1", ServerMsgID: "0b5c0d1e2f30415263748596a7b8c9da",
		SenderPlatformID: 7, SessionType: 1, MsgFrom: 200, ContentType: 1601,
		Content:  pbBytes(sig),
		SendTime: 1766630095004, CreateTime: 1766630095000, Status: 2, Ex: "accept",
	}
}

// The 1003 request of the send, as a gob frame.
func sendReqFrame() []byte {
	send := textMsg()
	send.ServerMsgID, send.Seq, send.SendTime, send.Status, send.Options = "", 0, 0, 0, nil
	return gobFrame(Req{ReqIdentifier: 1003, Token: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
		SendID: "alice", OperationID: "op-send-1", MsgIncr: "alice_1", Data: pbBytes(send)})
}

func main() {
	out = os.Args[1]
	if len(os.Args) > 2 && os.Args[2] == "req" {
		// A process that encodes only Req, as a client does: type id 65.
		write("send_req_go.bin", sendReqFrame())
		return
	}

	push := pbBytes(&pb.PushMessages{Msgs: map[string]*pb.PullMsgs{
		"si_alice_bob": {Msgs: []*pb.MsgData{textMsg(), inviteMsg()}},
	}})
	pushResp := Resp{ReqIdentifier: 2001, OperationID: "op-push-1", Data: push}
	write("push_go.bin", gobFrame(pushResp))
	write("push_go_gzip.bin", gz(gobFrame(pushResp)))
	write("push_js.json", jsonFrame(pushResp))
	write("push_js_gzip.bin", gz(jsonFrame(pushResp)))

	wrapped := pbBytes(&pb.PushMessages{Msgs: map[string]*pb.PullMsgs{
		"si_alice_bob": {Msgs: []*pb.MsgData{wrappedAcceptMsg()}},
	}})
	write("push_wrapped_accept_go.bin", gobFrame(Resp{ReqIdentifier: 2001, OperationID: "op-push-2", Data: wrapped}))

	// Resp took gob type id 65 in this process, so this Req gets 66: a
	// frame whose id is not 65 (NOTES.md §2.4: read it, never assume it).
	write("send_req_typeid66_go.bin", sendReqFrame())

	// KKIM: SendMsgResp field 4 is the seq (VARINT).
	ack := pbBytes(&pb.SendMsgResp{ServerMsgID: "4fabe2535b79129cb0078c1d0dddf155",
		ClientMsgID: "alice_1766630084632_1", SendTime: 1766630084691, Seq: 8})
	write("send_resp_js.json", jsonFrame(Resp{ReqIdentifier: 1003, MsgIncr: "alice_1", OperationID: "op-send-1", Data: ack}))

	// Newer OpenIM: field 4 is the modified MsgData (LEN), hand-encoded
	// with protowire after Go's own fields 1-3.
	head := pbBytes(&pb.SendMsgResp{ServerMsgID: "4fabe2535b79129cb0078c1d0dddf155",
		ClientMsgID: "alice_1766630084632_1", SendTime: 1766630084691})
	mod := textMsg()
	mod.Seq = 9
	mod.Content = []byte(`{"text":"hello, bob (edited by a hook)"}`)
	head = protowire.AppendTag(head, 4, protowire.BytesType)
	head = protowire.AppendBytes(head, pbBytes(mod))
	write("send_resp_modify_go.bin", gobFrame(Resp{ReqIdentifier: 1003, MsgIncr: "alice_2", OperationID: "op-send-2", Data: head}))

	write("kick_go.bin", gobFrame(Resp{ReqIdentifier: 2002}))
	write("kick_js.json", jsonFrame(Resp{ReqIdentifier: 2002}))

	// Bad inputs.
	g := gobFrame(pushResp)
	write("bad_truncated_go.bin", g[:len(g)-10])
	z := gz(gobFrame(pushResp))
	z[len(z)/2] ^= 0xff
	write("bad_gzip.bin", z)
	write("bad_payload_js.json", jsonFrame(Resp{ReqIdentifier: 2001, OperationID: "op-push-3", Data: push[:len(push)-3]}))
}
