package gw

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// seed stores n text messages a->b and returns a's client.
func seed(t *testing.T, ts *tsrv, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if _, _, code, msg := ts.s.Inject(text("a", "b", "s"+string(rune('0'+i)), "m"), "seed", false); code != 0 {
			t.Fatal(msg)
		}
	}
}

// 1001 lists maxSeqs of every readable conversation, n_ included, and minSeqs only above 1.
func TestGetNewestSeqListsReadableConversations(t *testing.T) {
	ts := start(t, Config{})
	seed(t, ts, 3)
	ts.s.Inject(&pb.MsgData{SendID: "c", GroupID: "g1", SessionType: 3, ContentType: 101, Content: []byte("x")}, "", false)
	n := text("c", "a", "n", "x")
	n.Options = map[string]bool{"isNotNotification": false}
	ts.s.Inject(n, "", false)
	ts.s.Inject(text("c", "d", "cd", "x"), "", false)
	ts.s.DeleteMsgs("si_a_b", nil, 2)
	a := ts.dial("a", 3, "sdkType=js")
	r := a.call(1001, &pb.GetMaxSeqReq{UserID: "a"})
	var out pb.GetMaxSeqResp
	if err := proto.Unmarshal(r.Data, &out); err != nil || r.ErrCode != 0 {
		t.Fatal(err, r)
	}
	want := map[string]int64{"si_a_b": 3, "sg_g1": 1, "n_a_c": 1}
	if len(out.MaxSeqs) != 3 || out.MaxSeqs["si_a_b"] != 3 || out.MaxSeqs["sg_g1"] != 1 || out.MaxSeqs["n_a_c"] != 1 {
		t.Fatalf("got %v want %v", out.MaxSeqs, want)
	}
	if len(out.MinSeqs) != 1 || out.MinSeqs["si_a_b"] != 2 {
		t.Fatal(out.MinSeqs)
	}
	if r := a.call(1001, &pb.GetMaxSeqReq{UserID: "b"}); r.ErrCode != 1002 || r.Data != nil {
		t.Fatalf("%+v", r)
	}
}

// pull runs one 1002 range and returns the PullMsgs of the conversation (nil if left out).
func pull(t *testing.T, c *client, id string, begin, end, num int64, order pb.PullOrder) (*pb.PullMsgs, bool) {
	t.Helper()
	r := c.call(1002, &pb.PullMessageBySeqsReq{UserID: c.user, Order: order,
		SeqRanges: []*pb.SeqRange{{ConversationID: id, Begin: begin, End: end, Num: num}}})
	var out pb.PullMessageBySeqsResp
	if err := proto.Unmarshal(r.Data, &out); err != nil || r.ErrCode != 0 {
		t.Fatal(err, r)
	}
	if pm := out.NotificationMsgs[id]; pm != nil {
		return pm, true
	}
	return out.Msgs[id], false
}

// seqsOf lists the seqs of pm.
func seqsOf(pm *pb.PullMsgs) []int64 {
	var s []int64
	for _, m := range pm.Msgs {
		s = append(s, m.Seq)
	}
	return s
}

// 1002 clamps to [minSeq, maxSeq], returns the LAST num seqs, placeholders status 4, isEnd per order.
func TestPullBySeqListSemantics(t *testing.T) {
	ts := start(t, Config{})
	seed(t, ts, 10)
	ts.s.DeleteMsgs("si_a_b", []int64{5}, 3)
	a := ts.dial("a", 3, "")
	eq := func(pm *pb.PullMsgs, end bool, seqs ...int64) {
		t.Helper()
		got := seqsOf(pm)
		if pm.IsEnd != end || len(got) != len(seqs) {
			t.Fatalf("got %v isEnd %v, want %v %v", got, pm.IsEnd, seqs, end)
		}
		for i := range seqs {
			if got[i] != seqs[i] {
				t.Fatalf("got %v want %v", got, seqs)
			}
		}
	}
	pm, _ := pull(t, a, "si_a_b", 1, 100, 100, 0)
	eq(pm, true, 3, 4, 5, 6, 7, 8, 9, 10)
	if m := pm.Msgs[2]; m.Status != 4 || m.ClientMsgID != "" || m.Content != nil || m.Seq != 5 {
		t.Fatalf("placeholder %+v", m)
	}
	if pm.Msgs[0].Status != 2 || string(pm.Msgs[0].Content) != `{"text":"m"}` {
		t.Fatalf("%+v", pm.Msgs[0])
	}
	pm, _ = pull(t, a, "si_a_b", 1, 9, 2, 0)
	eq(pm, false, 8, 9)
	pm, _ = pull(t, a, "si_a_b", 4, 6, 10, 1)
	eq(pm, false, 6, 5, 4)
	pm, _ = pull(t, a, "si_a_b", 0, 6, 10, 1)
	eq(pm, true, 6, 5, 4, 3)
	if pm, _ = pull(t, a, "si_a_b", 1, 5, 0, 0); pm != nil {
		t.Fatal("num 0 must return nothing")
	}
	if pm, _ = pull(t, a, "si_a_b", 11, 20, 10, 0); pm != nil {
		t.Fatal("beyond maxSeq must be left out")
	}
	c := ts.dial("c", 3, "")
	if pm, _ = pull(t, c, "si_a_b", 1, 10, 10, 0); pm != nil {
		t.Fatal("non-member must get nothing")
	}
	n := text("c", "a", "n", "x")
	n.Options = map[string]bool{"isNotNotification": false}
	ts.s.Inject(n, "", false)
	a.push()
	pm, notif := pull(t, a, "n_a_c", 1, 1, 1, 0)
	if !notif {
		t.Fatal("n_ conversation must come in notificationMsgs")
	}
	eq(pm, true, 1)
}

// 1005 returns exact seqs, placeholders included.
func TestPullBySeqsExact(t *testing.T) {
	ts := start(t, Config{})
	seed(t, ts, 5)
	ts.s.DeleteMsgs("si_a_b", []int64{2}, 0)
	a := ts.dial("a", 3, "compression=gzip")
	r := a.call(1005, &pb.GetSeqMessageReq{UserID: "a", Conversations: []*pb.ConversationSeqs{
		{ConversationID: "si_a_b", Seqs: []int64{4, 2, 9}}, {ConversationID: "si_x_y", Seqs: []int64{1}}}})
	var out pb.GetSeqMessageResp
	if err := proto.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	pm := out.Msgs["si_a_b"]
	if len(out.Msgs) != 1 || len(pm.Msgs) != 2 || pm.Msgs[0].Seq != 4 || pm.Msgs[1].Seq != 2 || pm.Msgs[1].Status != 4 {
		t.Fatalf("%v", out.Msgs)
	}
}

// 1006 gives maxSeq and maxSeqTime per conversation; 1007 the newest message.
func TestConvMaxReadSeqAndLastMessage(t *testing.T) {
	ts := start(t, Config{})
	seed(t, ts, 4)
	a := ts.dial("a", 3, "sdkType=js")
	r := a.call(1006, &pb.GetConversationsHasReadAndMaxSeqReq{UserID: "a"})
	var s6 pb.GetConversationsHasReadAndMaxSeqResp
	if err := proto.Unmarshal(r.Data, &s6); err != nil {
		t.Fatal(err)
	}
	last := ts.s.Messages("si_a_b")[3]
	if q := s6.Seqs["si_a_b"]; len(s6.Seqs) != 1 || q.MaxSeq != 4 || q.HasReadSeq != 0 || q.MaxSeqTime != last.SendTime {
		t.Fatal(s6.Seqs)
	}
	r = a.call(1007, &pb.GetLastMessageReq{UserID: "a", ConversationIDs: []string{"si_a_b", "si_b_c"}})
	var s7 pb.GetLastMessageResp
	if err := proto.Unmarshal(r.Data, &s7); err != nil {
		t.Fatal(err)
	}
	if m := s7.Msgs["si_a_b"]; len(s7.Msgs) != 1 || m.Seq != 4 || m.ClientMsgID != last.ClientMsgID {
		t.Fatal(s7.Msgs)
	}
}

// 2003 is answered with empty data, then the connection is closed.
func TestLogoutRepliesThenCloses(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "sdkType=js")
	a.send(2003, &pb.DelUserPushTokenReq{UserID: "a", PlatformID: 3})
	_, raw := a.raw()
	if string(raw) != `{"reqIdentifier":2003,"msgIncr":"1","operationID":"op1","errCode":0,"errMsg":"","data":null}` {
		t.Fatal(string(raw))
	}
	noCloseFrame(t, a.closed())
}

// 2004 is answered with null data and the connection stays.
func TestSetBackgroundStatusNullData(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 1, "")
	r := a.call(2004, &pb.SetAppBackgroundStatusReq{UserID: "a", IsBackground: true})
	if r.ErrCode != 0 || r.Data != nil {
		t.Fatalf("%+v", r)
	}
	// An iOS connection in background gets no pushes.
	seed(t, ts, 1)
	a.quiet(100e6)
	a.call(2004, &pb.SetAppBackgroundStatusReq{UserID: "a"})
	seed(t, ts, 1)
	if _, m, _ := a.push(); m.Seq != 2 {
		t.Fatal(m.Seq)
	}
}
