package gw

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// replayPairs is the /replay/prepare body for pairs c->a, d->a and c->b.
func replayPairs(count int) map[string]interface{} {
	pairs := []map[string]string{{"sendID": "c", "recvID": "a"}, {"sendID": "d", "recvID": "a"},
		{"sendID": "c", "recvID": "b"}}
	return map[string]interface{}{"pairs": pairs, "count": count, "text": "r"}
}

// A flat-out replay pushes every prepared message once, in seq order per
// conversation, to gob and JSON+gzip logins alike; 1001 and 1002 answer
// the replayed conversations from the store.
func TestReplayFlatPushesEveryMessageInSeqOrder(t *testing.T) {
	ts := start(t, Config{QueueLen: 4})
	a := ts.dial("a", 3, "")
	b := ts.dial("b", 3, "sdkType=js&compression=gzip")
	var prep map[string]int
	if st := ts.post("/replay/prepare", replayPairs(50), &prep); st != 200 || prep["messages"] != 150 ||
		prep["frames"] != 150 || prep["conns"] != 2 {
		t.Fatal(st, prep)
	}
	var max pb.GetMaxSeqResp
	if r := a.call(1001, &pb.GetMaxSeqReq{UserID: "a"}); proto.Unmarshal(r.Data, &max) != nil || r.ErrCode != 0 {
		t.Fatal(r)
	}
	if max.MaxSeqs["si_a_c"] != 50 || max.MaxSeqs["si_a_d"] != 50 || len(max.MaxSeqs) != 2 {
		t.Fatal(max.MaxSeqs)
	}
	if st := ts.post("/replay/start", map[string]int{"batch": 7}, nil); st != 200 {
		t.Fatal(st)
	}
	next := map[string]int64{}
	for i := 0; i < 100; i++ {
		id, m, _ := a.push()
		if m.Seq != next[id]+1 || !strings.HasPrefix(m.ClientMsgID, "inj_") {
			t.Fatalf("a: %s seq %d after %d (%s)", id, m.Seq, next[id], m.ClientMsgID)
		}
		next[id] = m.Seq
	}
	for s := int64(1); s <= 50; s++ {
		if id, m, _ := b.push(); id != "si_b_c" || m.Seq != s {
			t.Fatalf("b: %s seq %d, want %d", id, m.Seq, s)
		}
	}
	a.quiet(100 * time.Millisecond)
	var st map[string]map[string]int64
	ts.get("/stats", &st)
	if st["global"]["pushes"] != 150 {
		t.Fatal(st["global"])
	}
	if st := ts.post("/replay/start", map[string]int{}, nil); st != 400 {
		t.Fatal("a second start without prepare:", st)
	}
}

// A paced replay stamps each clientMsgID with the time it was sent (not
// prepared) and spreads the messages over count/rate seconds.
func TestReplayPacedStampsSendTime(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	ts.post("/replay/prepare", replayPairs(10), nil)
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	ts.post("/replay/start", map[string]float64{"rate": 100}, nil)
	var last int64
	for i := 0; i < 20; i++ {
		_, m, _ := a.push()
		parts := strings.Split(m.ClientMsgID, "_")
		st, err := strconv.ParseInt(parts[1], 36, 64)
		if err != nil || len(parts[1]) != stampLen || st < t0.UnixNano() || st > time.Now().UnixNano() || st < last {
			t.Fatalf("stamp %q of message %d: %v (start %d)", m.ClientMsgID, i, err, t0.UnixNano())
		}
		last = st
	}
	// 30 messages at 100/s: a's 20th is the ~29th overall, sent ~0.28 s in.
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Fatal("paced replay too fast:", d)
	}
}
