package gw

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// A send is answered with serverMsgID, clientMsgID, sendTime and seq, and pushed to the recipient, in every codec.
func TestSendAndPushInEveryCodec(t *testing.T) {
	for _, q := range []string{"", "sdkType=go", "sdkType=js", "compression=gzip", "sdkType=js&compression=gzip"} {
		ts := start(t, Config{})
		a := ts.dial("a", 3, q)
		b := ts.dial("b", 3, q)
		r := a.call(1003, text("a", "b", "cm1", "hi"))
		sr := sendResp(t, r)
		if len(sr.ServerMsgID) != 32 || sr.ClientMsgID != "cm1" || sr.SendTime == 0 || sr.Seq != 1 {
			t.Fatalf("%s: %+v", q, sr)
		}
		id, m, notif := b.push()
		if id != "si_a_b" || notif || m.Seq != 1 || m.Status != 2 || m.ServerMsgID != sr.ServerMsgID ||
			m.SendTime != sr.SendTime || m.ClientMsgID != "cm1" || string(m.Content) != `{"text":"hi"}` ||
			m.SendID != "a" || m.RecvID != "b" || m.CreateTime != 1700000000000 {
			t.Fatalf("%s: %s %+v", q, id, m)
		}
		// The sending connection gets its own push (OpenIM v3 default), after the reply.
		if id, m, _ := a.push(); id != "si_a_b" || m.Seq != 1 {
			t.Fatalf("%s: echo %s %+v", q, id, m)
		}
	}
}

// A client-set sendTime is kept; seqs count from 1 per conversation.
func TestSeqsArePerConversationFromOne(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	want := map[string][]int64{}
	for i, to := range []string{"b", "c", "b", "b", "c"} {
		m := text("a", to, "x"+string(rune('0'+i)), "m")
		m.SendTime = 42
		sr := sendResp(t, a.call(1003, m))
		id, pm, _ := a.push()
		if pm.SendTime != 42 || sr.SendTime != 42 || pm.Seq != sr.Seq {
			t.Fatalf("%+v %+v", sr, pm)
		}
		want[id] = append(want[id], sr.Seq)
	}
	if got := want["si_a_b"]; len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatal(want)
	}
	if got := want["si_a_c"]; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatal(want)
	}
}

// Conversation IDs: si_ sorted pair, sg_ group, sn_ notification, n_ when isNotNotification is false.
func TestConversationIDs(t *testing.T) {
	ts := start(t, Config{})
	ts.s.AddUsers([]User{{UserID: "B"}, {UserID: "a_1"}})
	ts.s.SetGroup(&Group{GroupID: "g1", Members: map[string]bool{"c": true, "a": true}})
	c := ts.dial("c", 3, "")
	m1 := text("c", "B", "1", "x")
	m2 := text("c", "a_1", "2", "x")
	m3 := &pb.MsgData{SendID: "c", GroupID: "g1", ClientMsgID: "3", SessionType: 3, ContentType: 101, Content: []byte("{}")}
	m4 := text("c", "a", "4", "x")
	m4.SessionType = 4
	m5 := text("c", "a", "5", "x")
	m5.Options = map[string]bool{"isNotNotification": false}
	m6 := &pb.MsgData{SendID: "c", GroupID: "g1", ClientMsgID: "6", SessionType: 3, ContentType: 101,
		Content: []byte("{}"), Options: map[string]bool{"isNotNotification": false}}
	want := []struct {
		id    string
		notif bool
	}{{"si_B_c", false}, {"si_a_1_c", false}, {"sg_g1", false}, {"sn_a_c", false}, {"n_a_c", true}, {"n_g1", true}}
	for i, m := range []*pb.MsgData{m1, m2, m3, m4, m5, m6} {
		sendResp(t, c.call(1003, m))
		id, pm, notif := c.push()
		if id != want[i].id || notif != want[i].notif || pm.Seq != 1 {
			t.Fatalf("%d: %s %v %d", i, id, notif, pm.Seq)
		}
	}
}

// SendMsg checks give their exact error codes and keep the connection.
func TestSendErrorCodes(t *testing.T) {
	ts := start(t, Config{})
	ts.s.SetGroup(&Group{GroupID: "gd", Members: map[string]bool{"a": true}, Dismissed: true})
	ts.s.SetGroup(&Group{GroupID: "gm", Members: map[string]bool{"a": true}, Muted: true})
	ts.s.SetGroup(&Group{GroupID: "gmm", Members: map[string]bool{"a": true}, MutedMembers: map[string]bool{"a": true}})
	a := ts.dial("a", 3, "sdkType=js")
	grp := func(g string) *pb.MsgData {
		return &pb.MsgData{SendID: "a", GroupID: g, ClientMsgID: "g", SessionType: 3, ContentType: 101, Content: []byte("x")}
	}
	mod := func(f func(m *pb.MsgData)) *pb.MsgData { m := text("a", "b", "c1", "x"); f(m); return m }
	cases := []struct {
		m    *pb.MsgData
		code int
		msg  string
	}{
		{mod(func(m *pb.MsgData) { m.SendID = "b" }), 1002, "no permission: sendID is not the connection's user"},
		{mod(func(m *pb.MsgData) { m.SessionType = 2 }), 500, "unknown sessionType"},
		{mod(func(m *pb.MsgData) { m.SessionType = 9 }), 500, "unknown sessionType"},
		{mod(func(m *pb.MsgData) { m.Content = nil }), 1101, "message content is empty"},
		{mod(func(m *pb.MsgData) { m.RecvID = "a" }), 1004, "sender equals receiver"},
		{mod(func(m *pb.MsgData) { m.RecvID = "nobody" }), 1003, "recipient does not exist"},
		{grp("nog"), 1201, "group not found"},
		{grp("gd"), 1204, "group dismissed"},
		{grp("g1x"), 1201, "group not found"},
		{grp("gm"), 1403, "group is muted"},
		{grp("gmm"), 1402, "member is muted"},
	}
	ts.s.SetGroup(&Group{GroupID: "g2", Members: map[string]bool{"b": true}})
	cases = append(cases, struct {
		m    *pb.MsgData
		code int
		msg  string
	}{grp("g2"), 1203, "sender is not in the group"})
	for i, tc := range cases {
		r := a.call(1003, tc.m)
		if r.ErrCode != tc.code || r.ErrMsg != tc.msg || r.Data != nil {
			t.Fatalf("%d: %+v", i, r)
		}
	}
	// Undecodable protobuf: 500, connection stays.
	incr := "99"
	a.sendReq(&Req{ReqIdentifier: 1003, SendID: "a", OperationID: "o", MsgIncr: incr, Data: []byte{0x0a, 0x05}})
	if r := a.next(); r.ErrCode != 500 || !strings.HasPrefix(r.ErrMsg, "proto: ") || r.MsgIncr != incr {
		t.Fatalf("%+v", r)
	}
	sendResp(t, a.call(1003, text("a", "b", "ok", "x")))
}

// Content over 51 200 bytes (it fits the frame limit thanks to gzip) is 1102.
func TestSendOversizeContentIs1102(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "compression=gzip")
	m := text("a", "b", "big", "x")
	m.Content = bytes.Repeat([]byte("a"), MaxInbound+1)
	r := a.call(1003, m)
	if r.ErrCode != 1102 || r.ErrMsg != "message content is too large" {
		t.Fatalf("%+v", r)
	}
}

// SendMsgResp field 4 follows the variant: seq (VARINT), absent, or MsgData (LEN).
func TestSendRespSeqVariants(t *testing.T) {
	for _, mode := range []string{"seq", "none", "msgdata"} {
		v := DefaultVariants()
		v.SendRespSeq = mode
		ts := start(t, Config{Variants: v})
		a := ts.dial("a", 3, "")
		r := a.call(1003, text("a", "b", "c", "x"))
		f4 := []byte(nil)
		typ := protowire.Type(-1)
		for b := r.Data; len(b) > 0; {
			num, tp, n := protowire.ConsumeTag(b)
			b = b[n:]
			m := protowire.ConsumeFieldValue(num, tp, b)
			if num == 4 {
				f4, typ = b[:m], tp
			}
			b = b[m:]
		}
		switch mode {
		case "seq":
			if typ != protowire.VarintType || !bytes.Equal(f4, []byte{1}) {
				t.Fatalf("seq: %x", r.Data)
			}
		case "none":
			if f4 != nil {
				t.Fatalf("none: %x", r.Data)
			}
		case "msgdata":
			md, _ := protowire.ConsumeBytes(f4)
			var m pb.MsgData
			if typ != protowire.BytesType || proto.Unmarshal(md, &m) != nil || m.Seq != 1 || m.ClientMsgID != "c" {
				t.Fatalf("msgdata: %x", r.Data)
			}
		}
	}
}

// Pushes go to every connection of the recipient and the sender's other connections, in seq order.
func TestPushFanOutToAllConnectionsInSeqOrder(t *testing.T) {
	ts := start(t, Config{})
	a3 := ts.dial("a", 3, "")
	a5 := ts.dial("a", 5, "sdkType=js")
	b2 := ts.dial("b", 2, "compression=gzip")
	b7 := ts.dial("b", 7, "sdkType=js&compression=gzip")
	c := ts.dial("c", 3, "")
	for i := 0; i < 20; i++ {
		a3.send(1003, text("a", "b", "m"+string(rune('a'+i)), "x"))
	}
	for i := 0; i < 20; i++ {
		sendResp(t, a3.next())
		if _, m, _ := a3.push(); m.Seq != int64(i+1) {
			t.Fatalf("a3 %d: %d", i, m.Seq)
		}
	}
	for _, cl := range []*client{a5, b2, b7} {
		for i := 0; i < 20; i++ {
			if id, m, _ := cl.push(); id != "si_a_b" || m.Seq != int64(i+1) {
				t.Fatalf("%s: %d: %s %d", cl.user, i, id, m.Seq)
			}
		}
	}
	c.quiet(100 * time.Millisecond)
	// Group: every member's connections, the sender included.
	sendResp(t, c.call(1003, &pb.MsgData{SendID: "c", GroupID: "g1", ClientMsgID: "g", SessionType: 3, ContentType: 101, Content: []byte("x")}))
	for _, cl := range []*client{c, a3, a5, b2, b7} {
		if id, m, _ := cl.push(); id != "sg_g1" || m.Seq != 1 {
			t.Fatalf("%s: %s", cl.user, id)
		}
	}
}

// senderSync=false keeps the message off all of the sender's connections.
func TestSenderSyncFalseSkipsSender(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	a2 := ts.dial("a", 5, "")
	b := ts.dial("b", 3, "")
	m := text("a", "b", "c", "x")
	m.Options = map[string]bool{"senderSync": false}
	sendResp(t, a.call(1003, m))
	if id, _, _ := b.push(); id != "si_a_b" {
		t.Fatal(id)
	}
	a.quiet(100 * time.Millisecond)
	a2.quiet(10 * time.Millisecond)
}

// Variant pushToSender=false: the sending connection gets no push, the sender's others do.
func TestPushToSenderVariantOff(t *testing.T) {
	v := DefaultVariants()
	v.PushToSender = false
	ts := start(t, Config{Variants: v})
	a := ts.dial("a", 3, "")
	a2 := ts.dial("a", 5, "")
	b := ts.dial("b", 3, "")
	sendResp(t, a.call(1003, text("a", "b", "c", "x")))
	b.push()
	a2.push()
	a.quiet(100 * time.Millisecond)
}

// Variant dataArray: JSON data comes as a number array of the same bytes.
func TestDataArrayVariant(t *testing.T) {
	v := DefaultVariants()
	v.DataArray = true
	ts := start(t, Config{Variants: v})
	a := ts.dial("a", 3, "sdkType=js")
	a.send(1003, text("a", "b", "c", "x"))
	_, raw := a.raw()
	if !strings.HasPrefix(string(raw), `{"reqIdentifier":1003,"msgIncr":"1","operationID":"op1","errCode":0,"errMsg":"","data":[10,32,`) {
		t.Fatal(string(raw))
	}
	r, _ := DecodeResp(Codec{JSON: true}, raw)
	if sr := sendResp(t, r); sr.Seq != 1 {
		t.Fatal(sr)
	}
}
