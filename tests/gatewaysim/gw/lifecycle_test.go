package gw

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"kkim/sim/pb"
)

// A second login on the same platform kicks the first with 2002 and invalidates its token; other platforms stay.
func TestMultiLoginKickSamePlatform(t *testing.T) {
	ts := start(t, Config{})
	tok1 := ts.token("a", 3)
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("a", 3, tok1, "sdkType=js"), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := newClient(t, ws, "a", Codec{JSON: true})
	waitConns(ts.s, "a", 3)
	other := ts.dial("a", 5, "")
	ts.dial("a", 3, "")
	_, raw := first.raw()
	if string(raw) != `{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}` {
		t.Fatal(string(raw))
	}
	noCloseFrame(t, first.closed())
	_, _, body := hsFail(t, ts.url("a", 3, tok1, ""), nil)
	if body != `{"errCode":1002,"errMsg":"token has been kicked","errDlt":""}` {
		t.Fatal(body)
	}
	other.call(1001, &pb.GetMaxSeqReq{UserID: "a"})
	// A fresh token logs in again and kicks the second connection in turn.
	ts.dial("a", 3, "")
	var st map[string]map[string]int64
	ts.get("/stats", &st)
	if st["global"]["kicks"] != 2 {
		t.Fatal(st)
	}
}

// WebSocket pings are answered with pongs echoing the payload and renew the read deadline.
func TestWebSocketPingPongRenewsDeadline(t *testing.T) {
	ts := start(t, Config{ReadTimeout: 300 * time.Millisecond})
	pongs := make(chan string, 10)
	a := ts.dialWith("a", 3, "", func(ws *websocket.Conn) {
		ws.SetPongHandler(func(p string) error { pongs <- p; return nil })
	})
	for i := 0; i < 5; i++ {
		if err := a.ws.WriteControl(websocket.PingMessage, []byte{byte('0' + i)}, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-pongs:
			if p != string(rune('0'+i)) {
				t.Fatal(p)
			}
		case <-time.After(time.Second):
			t.Fatal("no pong")
		}
		time.Sleep(150 * time.Millisecond)
	}
	a.call(1001, &pb.GetMaxSeqReq{UserID: "a"}) // still open after 750 ms
}

// A text ping gets {"type":"pong","body":...}; a text pong is accepted silently.
func TestTextPingPong(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "")
	for in, want := range map[string]string{
		`{"type":"ping"}`:                `{"type":"pong","body":null}`,
		`{"type":"ping","body":{"n":1}}`: `{"type":"pong","body":{"n":1}}`,
	} {
		a.ws.WriteMessage(websocket.TextMessage, []byte(in))
		if mt, b := a.raw(); mt != websocket.TextMessage || string(b) != want {
			t.Fatalf("%s: %d %s", in, mt, b)
		}
	}
	a.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
	a.quiet(100 * time.Millisecond)
	a.call(1001, &pb.GetMaxSeqReq{UserID: "a"})
}

// Without any inbound frame the connection is closed after the read deadline.
func TestReadDeadlineClosesSilentConnection(t *testing.T) {
	ts := start(t, Config{ReadTimeout: 200 * time.Millisecond})
	a := ts.dial("a", 3, "")
	t0 := time.Now()
	noCloseFrame(t, a.closed())
	if d := time.Since(t0); d < 150*time.Millisecond || d > time.Second {
		t.Fatal(d)
	}
}

// The gateway pings platformID 5 connections only; answering keeps them alive.
func TestGatewayPingsOnlyWebPlatform(t *testing.T) {
	ts := start(t, Config{ReadTimeout: 300 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	pings := make(chan bool, 100)
	web := ts.dialWith("a", 5, "sdkType=js", func(ws *websocket.Conn) {
		ws.SetPingHandler(func(p string) error {
			pings <- true
			return ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(time.Second))
		})
	})
	win := ts.dial("b", 3, "")
	noCloseFrame(t, win.closed())
	time.Sleep(500 * time.Millisecond)
	if len(pings) < 3 {
		t.Fatalf("%d pings", len(pings))
	}
	web.call(1001, &pb.GetMaxSeqReq{UserID: "a"})
}

// Frames that close the connection: each kind, with no error response first.
func TestFramesThatCloseTheConnection(t *testing.T) {
	ts := start(t, Config{})
	cases := map[string]func(c *client){
		"bad gob":    func(c *client) { c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}) },
		"bad json":   func(c *client) { c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"reqIdentifier":`)) },
		"bad gzip":   func(c *client) { c.ws.WriteMessage(websocket.BinaryMessage, []byte("not gzip")) },
		"sendID":     func(c *client) { c.sendReq(&Req{ReqIdentifier: 1001, SendID: "b", MsgIncr: "1"}) },
		"unknown id": func(c *client) { c.sendReq(&Req{ReqIdentifier: 1008, SendID: "a", MsgIncr: "1"}) },
		"id 2005":    func(c *client) { c.sendReq(&Req{ReqIdentifier: 2005, SendID: "a", MsgIncr: "1"}) },
		"text req":   func(c *client) { c.ws.WriteMessage(websocket.TextMessage, []byte(`{"reqIdentifier":1001}`)) },
		"text junk":  func(c *client) { c.ws.WriteMessage(websocket.TextMessage, []byte(`ping`)) },
		"client close": func(c *client) {
			c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
		},
	}
	for name, f := range cases {
		q := ""
		switch name {
		case "bad json":
			q = "sdkType=js"
		case "bad gzip":
			q = "compression=gzip"
		}
		c := ts.dial("a", 3, q)
		f(c)
		err := c.closed()
		if name == "client close" {
			if !websocket.IsCloseError(err, 1000) {
				t.Fatalf("%s: close not answered: %v", name, err)
			}
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// An inbound message over 51 200 bytes closes with 1009; exactly 51 200 is accepted.
func TestOversizeInboundFrameCloses1009(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 3, "sdkType=js")
	pad := func(n int) []byte {
		head := []byte(`{"reqIdentifier":1001,"sendID":"a","msgIncr":"1","operationID":"`)
		tail := []byte(`","data":"CgFh"}`)
		return append(append(head, bytes.Repeat([]byte("x"), n-len(head)-len(tail))...), tail...)
	}
	a.ws.WriteMessage(websocket.BinaryMessage, pad(MaxInbound))
	if r := a.next(); r.ReqIdentifier != 1001 || r.ErrCode != 0 {
		t.Fatalf("%+v", r)
	}
	a.ws.WriteMessage(websocket.BinaryMessage, pad(MaxInbound+1))
	if err := a.closed(); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatal(err)
	}
}
