package gw

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"kkim/sim/pb"
)

// Users, groups and tokens created through the API work for logins and sends.
func TestControlUsersGroupsTokens(t *testing.T) {
	ts := start(t, Config{})
	var u map[string]int
	ts.post("/users", map[string]interface{}{"userIDs": []string{"x1"}, "prefix": "bench", "count": 3}, &u)
	if u["users"] != 8 {
		t.Fatal(u)
	}
	if st := ts.post("/groups", map[string]interface{}{"groupID": "gx", "members": []string{"x1", "bench2"}}, nil); st != 200 {
		t.Fatal(st)
	}
	var tok map[string]string
	ts.post("/tokens", map[string]interface{}{"userID": "x1", "platformID": 7, "ttlSec": 60}, &tok)
	c, err := VerifyToken(ts.s.cfg.Secret, tok["token"], time.Now())
	if err != nil || c.UserID != "x1" || c.PlatformID != 7 || c.Exp-c.Iat != 60 {
		t.Fatal(c, err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("x1", 7, tok["token"], ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := newClient(t, ws, "x1", Codec{})
	sendResp(t, x.call(1003, &pb.MsgData{SendID: "x1", GroupID: "gx", SessionType: 3, ContentType: 101, Content: []byte("x")}))
	var many map[string]map[string]string
	ts.post("/tokens", map[string]interface{}{"userIDs": []string{"bench1", "bench2"}, "platformID": 3}, &many)
	if len(many["tokens"]) != 2 {
		t.Fatal(many)
	}
	var rv map[string]int
	ts.post("/tokens/revoke", map[string]interface{}{"userID": "bench1", "platformID": 3}, &rv)
	if rv["changed"] != 1 {
		t.Fatal(rv)
	}
	if _, _, body := hsFail(t, ts.url("bench1", 3, many["tokens"]["bench1"], ""), nil); body != `{"errCode":1002,"errMsg":"token has been revoked","errDlt":""}` {
		t.Fatal(body)
	}
}

// Inject: one, bulk, at a rate; single, group and notification; the seqs come back and are pushed.
func TestControlInject(t *testing.T) {
	ts := start(t, Config{})
	b := ts.dial("b", 3, "")
	var out struct {
		ErrCode int        `json:"errCode"`
		Sent    []injected `json:"sent"`
	}
	ts.post("/inject", map[string]interface{}{"sendID": "a", "recvID": "b", "text": "hello"}, &out)
	if out.ErrCode != 0 || len(out.Sent) != 1 || out.Sent[0] != (injected{"si_a_b", 1}) {
		t.Fatal(out)
	}
	if _, m, _ := b.push(); string(m.Content) != `{"text":"hello"}` || m.SendID != "a" {
		t.Fatal(m)
	}
	ts.post("/inject", map[string]interface{}{"sendID": "c", "groupID": "g1", "sessionType": 3, "count": 5}, &out)
	if len(out.Sent) != 5 || out.Sent[4] != (injected{"sg_g1", 5}) {
		t.Fatal(out)
	}
	ts.post("/inject", map[string]interface{}{"sendID": "d", "recvID": "b", "sessionType": 4, "contentType": 1400, "content": `{"detail":"{}"}`}, &out)
	if out.Sent[0] != (injected{"sn_b_d", 1}) {
		t.Fatal(out)
	}
	ts.post("/inject", map[string]interface{}{"sendID": "nobody", "recvID": "b"}, &out)
	if out.ErrCode != 1003 {
		t.Fatal(out)
	}
	for i := 1; i <= 5; i++ {
		if id, m, _ := b.push(); id != "sg_g1" || m.Seq != int64(i) {
			t.Fatal(id, m.Seq)
		}
	}
	if id, m, _ := b.push(); id != "sn_b_d" || m.MsgFrom != 200 || m.ContentType != 1400 {
		t.Fatal(id, m)
	}
	var rate map[string]int
	t0 := time.Now()
	ts.post("/inject", map[string]interface{}{"sendID": "a", "recvID": "b", "rate": 1000, "durationMs": 200}, &rate)
	if d := time.Since(t0); rate["sent"] != 200 || d < 190*time.Millisecond {
		t.Fatal(rate, d)
	}
	for i := 0; i < rate["sent"]; i++ {
		if _, m, _ := b.push(); m.Seq != int64(i+2) {
			t.Fatal(i, m.Seq)
		}
	}
	ts.post("/inject", map[string]interface{}{"sendID": "a", "recvID": "b", "pushOnly": true}, &out)
	if _, m, _ := b.push(); m.Seq != 0 || out.Sent[0].Seq != 0 {
		t.Fatal(m)
	}
}

// The ground-truth log lists every assigned (conversationID, seq), over the API and in the file.
func TestControlSeqLogAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "seq.log")
	ts := start(t, Config{SeqLogFile: file, StateDir: t.TempDir()})
	seed(t, ts, 3)
	ts.s.Inject(&pb.MsgData{SendID: "a", GroupID: "g1", SessionType: 3, ContentType: 101, Content: []byte("x")}, "", false)
	var out struct {
		Entries []SeqEntry `json:"entries"`
		Next    int64      `json:"next"`
	}
	ts.get("/seqlog?since=1&max=2", &out)
	if len(out.Entries) != 2 || out.Next != 3 || out.Entries[0].Seq != 2 || out.Entries[1].ConversationID != "si_a_b" || out.Entries[1].Seq != 3 {
		t.Fatal(out)
	}
	ts.get("/seqlog?since=3", &out)
	if len(out.Entries) != 1 || out.Entries[0].ConversationID != "sg_g1" || out.Entries[0].Index != 4 {
		t.Fatal(out)
	}
	ts.post("/save", nil, nil)
	f, _ := os.Open(file)
	defer f.Close()
	var lines []SeqEntry
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var e SeqEntry
		json.Unmarshal(sc.Bytes(), &e)
		lines = append(lines, e)
	}
	if len(lines) != 4 || lines[3].ConversationID != "sg_g1" || lines[0].Seq != 1 || lines[0].ServerMsgID == "" {
		t.Fatal(lines)
	}
}

// Kick via the API sends 2002 and closes; reqIdentifier 2003 sends an unsolicited logout.
func TestControlKickAndLogout(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "sdkType=js")
	b := ts.dial("b", 3, "sdkType=js")
	var out map[string]int
	ts.post("/kick", map[string]interface{}{"userID": "a"}, &out)
	if _, raw := a.raw(); out["kicked"] != 1 || string(raw) != `{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}` {
		t.Fatal(out, string(raw))
	}
	a.closed()
	ts.post("/kick", map[string]interface{}{"userID": "b", "reqIdentifier": 2003}, &out)
	if _, raw := b.raw(); string(raw) != `{"reqIdentifier":2003,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}` {
		t.Fatal(string(raw))
	}
	b.closed()
}

// Close drops connections abruptly, no close frame.
func TestControlCloseAbrupt(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	a2 := ts.dial("a", 5, "")
	var out map[string]int
	ts.post("/close", map[string]interface{}{"userID": "a", "platformID": 3}, &out)
	if out["closed"] != 1 {
		t.Fatal(out)
	}
	noCloseFrame(t, a.closed())
	a2.quiet(50 * time.Millisecond)
}

// Pause holds pushes; resume delivers them in seq order.
func TestControlPauseResume(t *testing.T) {
	ts := start(t, Config{})
	b := ts.dial("b", 3, "")
	ts.post("/pushes/pause", nil, nil)
	seed(t, ts, 3)
	b.quiet(100 * time.Millisecond)
	var out map[string]int
	ts.post("/pushes/resume", nil, &out)
	if out["released"] != 3 {
		t.Fatal(out)
	}
	for i := 1; i <= 3; i++ {
		if _, m, _ := b.push(); m.Seq != int64(i) {
			t.Fatal(m.Seq)
		}
	}
}

// Drop, duplicate and reorder selected pushes.
func TestControlFaultsDropDupReorder(t *testing.T) {
	ts := start(t, Config{})
	b := ts.dial("b", 3, "")
	a := ts.dial("a", 3, "")
	for _, f := range []Fault{{Action: "drop", ConversationID: "si_a_b", Seq: 2, UserID: "b"},
		{Action: "dup", Seq: 3, UserID: "b"}, {Action: "reorder", Seq: 4, UserID: "b"}} {
		var out map[string]int64
		if ts.post("/faults", f, &out); out["id"] == 0 {
			t.Fatal(out)
		}
	}
	var list []Fault
	ts.get("/faults", &list)
	if len(list) != 3 || list[2].Action != "reorder" || list[2].Count != 1 {
		t.Fatal(list)
	}
	seed(t, ts, 6)
	var got []int64
	for i := 0; i < 6; i++ {
		_, m, _ := b.push()
		got = append(got, m.Seq)
	}
	want := []int64{1, 3, 3, 5, 4, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	for i := 1; i <= 6; i++ { // a is not affected
		if _, m, _ := a.push(); m.Seq != int64(i) {
			t.Fatal(m.Seq)
		}
	}
	// A held push is released by /faults/clear.
	ts.post("/faults", Fault{Action: "reorder", UserID: "b"}, nil)
	seed(t, ts, 1)
	b.quiet(50 * time.Millisecond)
	ts.post("/faults/clear", nil, nil)
	if _, m, _ := b.push(); m.Seq != 7 {
		t.Fatal(m.Seq)
	}
}

// Garbage, oversize and text frames reach the client byte for byte.
func TestControlRawFrames(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	var out map[string]int
	ts.post("/raw", map[string]interface{}{"userID": "a", "kind": "garbage", "size": 10}, &out)
	if mt, b := a.raw(); out["sent"] != 1 || mt != websocket.BinaryMessage || len(b) != 10 {
		t.Fatal(mt, b)
	}
	ts.post("/raw", map[string]interface{}{"userID": "a", "kind": "b64", "dataB64": "AAEC"}, &out)
	if _, b := a.raw(); string(b) != "\x00\x01\x02" {
		t.Fatal(b)
	}
	ts.post("/raw", map[string]interface{}{"userID": "a", "kind": "text", "text": `{"errCode":0}`}, &out)
	if mt, b := a.raw(); mt != websocket.TextMessage || string(b) != `{"errCode":0}` {
		t.Fatal(mt, string(b))
	}
	ts.post("/raw", map[string]interface{}{"userID": "a", "kind": "oversize", "size": 17 << 20}, &out)
	if _, b := a.raw(); len(b) != 17<<20 {
		t.Fatal(len(b))
	}
}

// Stats count connections and frames; /conns lists each connection.
func TestControlStats(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "sdkType=js&compression=gzip")
	ts.dial("b", 3, "")
	a.call(1001, &pb.GetMaxSeqReq{UserID: "a"})
	seed(t, ts, 2)
	a.push()
	a.push()
	time.Sleep(20 * time.Millisecond)
	var st struct {
		Global map[string]int64 `json:"global"`
		Conns  []Info           `json:"conns"`
	}
	ts.get("/stats?conns=1", &st)
	if st.Global["conns"] != 2 || st.Global["accepted"] != 2 || st.Global["seqsAssigned"] != 2 || st.Global["pushes"] != 4 || len(st.Conns) != 2 {
		t.Fatal(st)
	}
	var conns []Info
	ts.get("/conns", &conns)
	for _, c := range conns {
		if c.UserID == "a" && (c.SdkType != "js" || !c.Gzip || c.Stats.Requests != 1 || c.Stats.Pushes != 2 || c.Stats.FramesOut != 3) {
			t.Fatal(c)
		}
	}
}

// Variants are read and changed at run time.
func TestControlVariants(t *testing.T) {
	ts := start(t, Config{})
	var v Variants
	ts.post("/variants", map[string]interface{}{"signalWrapped": true, "sendRespSeq": "none"}, &v)
	if !v.SignalWrapped || v.SendRespSeq != "none" || !v.PushToSender {
		t.Fatal(v)
	}
	if st := ts.post("/variants", map[string]interface{}{"sendRespSeq": "bad"}, nil); st != 400 {
		t.Fatal(st)
	}
	a := ts.dial("a", 3, "")
	if sr := sendResp(t, a.call(1003, text("a", "b", "c", "x"))); sr.Seq != 0 || sr.ServerMsgID == "" {
		t.Fatal(sr)
	}
}

// Messages can be listed and deleted (placeholders) through the API.
func TestControlMessagesAndDelete(t *testing.T) {
	ts := start(t, Config{})
	seed(t, ts, 3)
	ts.post("/messages/delete", map[string]interface{}{"conversationID": "si_a_b", "seqs": []int64{2}}, nil)
	var msgs []map[string]interface{}
	ts.get("/messages?conversationID=si_a_b", &msgs)
	if len(msgs) != 3 || msgs[1]["status"].(float64) != 4 || msgs[2]["seq"].(float64) != 3 {
		t.Fatal(msgs)
	}
}

// Restart keeps users, tokens, groups, messages and seqs; clients reconnect and continue.
func TestControlRestartKeepsState(t *testing.T) {
	ts := start(t, Config{StateDir: t.TempDir()})
	tok := ts.token("a", 3)
	kicked := ts.token("b", 3)
	ts.s.SetTokenState(kicked, "", 0, "revoked")
	seed(t, ts, 3)
	a := ts.dial("a", 3, "")
	ts.post("/restart", map[string]interface{}{"downMs": 100}, nil)
	noCloseFrame(t, a.closed())
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("a", 3, tok, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	a = newClient(t, ws, "a", Codec{})
	if pm, _ := pull(t, a, "si_a_b", 1, 3, 3, 0); len(pm.Msgs) != 3 || pm.Msgs[2].ClientMsgID != "s3" {
		t.Fatal(pm)
	}
	if sr := sendResp(t, a.call(1003, text("a", "b", "after", "x"))); sr.Seq != 4 {
		t.Fatal(sr)
	}
	if _, _, body := hsFail(t, ts.url("b", 3, kicked, ""), nil); body != `{"errCode":1002,"errMsg":"token has been revoked","errDlt":""}` {
		t.Fatal(body)
	}
	if len(ts.s.SeqLog(0, 0)) != 4 {
		t.Fatal(ts.s.SeqLog(0, 0))
	}
}

// A new server on the same state directory (process restart after SIGTERM's save) has everything.
func TestStateSurvivesNewProcess(t *testing.T) {
	dir := t.TempDir()
	ts := start(t, Config{StateDir: dir})
	seed(t, ts, 2)
	ts.s.SetGroup(&Group{GroupID: "g9", Members: map[string]bool{"a": true}})
	if err := ts.s.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{StateDir: dir, Logf: func(string, ...interface{}) {}})
	if err != nil {
		t.Fatal(err)
	}
	if m := s2.Messages("si_a_b"); len(m) != 2 || m[1].ClientMsgID != "s2" || s2.st.Groups["g9"] == nil || len(s2.SeqLog(0, 0)) != 2 {
		t.Fatal(m)
	}
	if id, seq, _, _ := s2.Inject(text("b", "a", "x", "y"), "", false); id != "si_a_b" || seq != 3 {
		t.Fatal(id, seq)
	}
}
