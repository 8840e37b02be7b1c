package gw

// Test harness: an in-process simulator on real loopback sockets and a
// gorilla WebSocket client speaking the gateway protocol.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// tsrv is a running simulator with its control API.
type tsrv struct {
	t   *testing.T
	s   *Server
	ws  string
	ctl *httptest.Server
}

// start runs a simulator with users a, b, c, d and group g1 {a, b, c}.
func start(t *testing.T, cfg Config) *tsrv {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...interface{}) {}
	}
	if cfg.Variants.SendRespSeq == "" {
		cfg.Variants = DefaultVariants()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.ListenWS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &tsrv{t: t, s: s, ws: addr, ctl: httptest.NewServer(s.ControlHandler())}
	t.Cleanup(func() { s.Close(); ts.ctl.Close() })
	s.AddUsers([]User{{UserID: "a"}, {UserID: "b"}, {UserID: "c"}, {UserID: "d"}})
	s.SetGroup(&Group{GroupID: "g1", Members: map[string]bool{"a": true, "b": true, "c": true}})
	return ts
}

// post calls a control endpoint and decodes the JSON answer into out.
func (ts *tsrv) post(path string, in, out interface{}) int {
	ts.t.Helper()
	b, _ := json.Marshal(in)
	resp, err := http.Post(ts.ctl.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			ts.t.Fatalf("%s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// get calls a control endpoint with GET.
func (ts *tsrv) get(path string, out interface{}) {
	ts.t.Helper()
	resp, err := http.Get(ts.ctl.URL + path)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		ts.t.Fatalf("%s: %v", path, err)
	}
}

// token issues a day-long token.
func (ts *tsrv) token(user string, platform int) string {
	return ts.s.IssueToken(user, platform, 24*time.Hour)
}

// url builds a connect URL.
func (ts *tsrv) url(user string, platform int, tok, extra string) string {
	u := "ws://" + ts.ws + "/?sendID=" + url.QueryEscape(user) + "&platformID=" + strconv.Itoa(platform) +
		"&token=" + url.QueryEscape(tok) + "&operationID=op"
	if extra != "" {
		u += "&" + extra
	}
	return u
}

// client is a test WebSocket client.
type client struct {
	t     *testing.T
	ws    *websocket.Conn
	codec Codec
	user  string
	n     int
	in    chan inFrame
}

// inFrame is one read result of the client's reader goroutine.
type inFrame struct {
	mt   int
	data []byte
	err  error
}

// newClient wraps ws and starts its reader goroutine (so that waiting for
// silence never breaks the connection with a read deadline).
func newClient(t *testing.T, ws *websocket.Conn, user string, codec Codec) *client {
	c := &client{t: t, ws: ws, user: user, codec: codec, in: make(chan inFrame, 4096)}
	go func() {
		for {
			mt, b, err := ws.ReadMessage()
			c.in <- inFrame{mt, b, err}
			if err != nil {
				close(c.in)
				return
			}
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return c
}

// dial logs user in on platform; extra is appended to the query
// ("sdkType=js&compression=gzip").
func (ts *tsrv) dial(user string, platform int, extra string) *client {
	ts.t.Helper()
	return ts.dialWith(user, platform, extra, nil)
}

// dialWith is dial with a hook run on the socket before its reader starts
// (ping/pong handlers).
func (ts *tsrv) dialWith(user string, platform int, extra string, setup func(*websocket.Conn)) *client {
	ts.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(ts.url(user, platform, ts.token(user, platform), extra), nil)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
		}
		ts.t.Fatalf("dial %s: %v %s", user, err, body)
	}
	if setup != nil {
		setup(ws)
	}
	c := newClient(ts.t, ws, user, Codec{JSON: strings.Contains(extra, "sdkType=js"),
		Gzip: strings.Contains(extra, "compression=gzip")})
	waitConns(ts.s, user, platform)
	return c
}

// waitConns waits until the server has registered user on platform.
func waitConns(s *Server, user string, platform int) {
	for i := 0; i < 200; i++ {
		s.mu.Lock()
		n := len(s.connsMatchingLocked(user, platform, 0))
		s.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send writes a request with payload m (nil = no data).
func (c *client) send(id int32, m proto.Message) string {
	c.t.Helper()
	c.n++
	var data []byte
	if m != nil {
		var err error
		if data, err = proto.Marshal(m); err != nil {
			c.t.Fatal(err)
		}
	}
	incr := strconv.Itoa(c.n)
	c.sendReq(&Req{ReqIdentifier: id, Token: "t", SendID: c.user, OperationID: "op" + incr, MsgIncr: incr, Data: data})
	return incr
}

// sendReq writes one Req frame as is.
func (c *client) sendReq(r *Req) {
	c.t.Helper()
	b, err := EncodeReq(c.codec, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

// raw reads the next message as is (2 s timeout).
func (c *client) raw() (int, []byte) {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if !ok || f.err != nil {
			c.t.Fatalf("%s: read: %v", c.user, f.err)
		}
		return f.mt, f.data
	case <-time.After(2 * time.Second):
		c.t.Fatalf("%s: read: timeout", c.user)
	}
	return 0, nil
}

// next reads and decodes the next binary frame.
func (c *client) next() *Resp {
	c.t.Helper()
	mt, b := c.raw()
	if mt != websocket.BinaryMessage {
		c.t.Fatalf("%s: got text frame %s", c.user, b)
	}
	r, err := DecodeResp(c.codec, b)
	if err != nil {
		c.t.Fatalf("%s: decode: %v", c.user, err)
	}
	return r
}

// call sends a request and returns its response; frames before it fail.
func (c *client) call(id int32, m proto.Message) *Resp {
	c.t.Helper()
	incr := c.send(id, m)
	r := c.next()
	if r.ReqIdentifier != id || r.MsgIncr != incr || r.OperationID != "op"+incr {
		c.t.Fatalf("%s: want response %d/%s, got %+v", c.user, id, incr, r)
	}
	return r
}

// push reads the next frame, which must be a 2001 push of one message, and
// returns its conversation ID and message.
func (c *client) push() (string, *pb.MsgData, bool) {
	c.t.Helper()
	r := c.next()
	if r.ReqIdentifier != 2001 || r.MsgIncr != "" || r.ErrCode != 0 {
		c.t.Fatalf("%s: want push, got %+v", c.user, r)
	}
	var pm pb.PushMessages
	if err := proto.Unmarshal(r.Data, &pm); err != nil {
		c.t.Fatal(err)
	}
	for id, m := range pm.Msgs {
		return id, m.Msgs[0], false
	}
	for id, m := range pm.NotificationMsgs {
		return id, m.Msgs[0], true
	}
	c.t.Fatalf("%s: empty push", c.user)
	return "", nil, false
}

// quiet asserts that nothing arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if ok && f.err == nil {
			c.t.Fatalf("%s: unexpected frame type %d: %q", c.user, f.mt, f.data)
		}
		c.t.Fatalf("%s: unexpected close: %v", c.user, f.err)
	case <-time.After(d):
	}
}

// closed asserts that the server closes the connection within 2 s and
// returns the read error.
func (c *client) closed() error {
	c.t.Helper()
	return c.closedWithin(2 * time.Second)
}

// closedWithin is closed with a chosen timeout; frames before the close are skipped.
func (c *client) closedWithin(d time.Duration) error {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.in:
			if !ok {
				c.t.Fatalf("%s: already closed", c.user)
			}
			if f.err != nil {
				return f.err
			}
		case <-deadline:
			c.t.Fatalf("%s: connection not closed", c.user)
			return nil
		}
	}
}

// text sends a (single chat) text message from c to recv and returns it.
func text(from, to, clientID, body string) *pb.MsgData {
	return &pb.MsgData{SendID: from, RecvID: to, ClientMsgID: clientID, SenderPlatformID: 3,
		SessionType: 1, MsgFrom: 100, ContentType: 101, Content: textContent(body), CreateTime: 1700000000000}
}

// unhex decodes spaced hex.
func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendResp decodes a SendMsgResp.
func sendResp(t *testing.T, r *Resp) *pb.SendMsgResp {
	t.Helper()
	if r.ErrCode != 0 {
		t.Fatalf("send failed: %d %s", r.ErrCode, r.ErrMsg)
	}
	var out pb.SendMsgResp
	if err := proto.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// noCloseFrame asserts that err is a TCP close without a close frame
// (gorilla reports it as 1006).
func noCloseFrame(t *testing.T, err error) {
	t.Helper()
	if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
		t.Fatalf("want a TCP close without close frame, got %v", err)
	}
}
