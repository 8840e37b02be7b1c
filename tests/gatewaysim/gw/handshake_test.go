package gw

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hsFail dials u and returns the status, content type and body of the failed handshake.
func hsFail(t *testing.T, u string, hdr http.Header) (int, string, string) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(u, hdr)
	if err == nil {
		ws.Close()
		t.Fatalf("%s: handshake succeeded", u)
	}
	if resp == nil {
		t.Fatalf("%s: %v", u, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// Every handshake failure is HTTP 200 with the exact JSON verdict and no upgrade.
func TestHandshakeFailuresAnswerHTTP200JSON(t *testing.T) {
	ts := start(t, Config{})
	good := ts.token("a", 3)
	expired := ts.s.IssueToken("a", 3, -time.Minute)
	ghost := ts.s.IssueToken("ghost", 3, time.Hour)
	forged := SignToken([]byte("other secret"), NewClaims("a", 3, time.Hour, time.Now()))
	revoked := ts.token("a", 3)
	ts.s.SetTokenState(revoked, "", 0, "revoked")
	cases := []struct{ name, url, want string }{
		{"no token", "ws://" + ts.ws + "/?sendID=a&platformID=3", `{"errCode":1602,"errMsg":"token is empty","errDlt":""}`},
		{"no sendID", "ws://" + ts.ws + "/?platformID=3&token=" + good, `{"errCode":1602,"errMsg":"sendID is empty","errDlt":""}`},
		{"no platform", "ws://" + ts.ws + "/?sendID=a&token=" + good, `{"errCode":1602,"errMsg":"platformID is empty","errDlt":""}`},
		{"platform not int", "ws://" + ts.ws + "/?sendID=a&platformID=x&token=" + good, `{"errCode":1602,"errMsg":"platformID is not int","errDlt":""}`},
		{"bad sdkType", ts.url("a", 3, good, "sdkType=JS"), `{"errCode":1602,"errMsg":"sdkType is not go or js","errDlt":""}`},
		{"expired", ts.url("a", 3, expired, ""), `{"errCode":1001,"errMsg":"token has expired","errDlt":""}`},
		{"forged", ts.url("a", 3, forged, ""), `{"errCode":1002,"errMsg":"token is invalid: token signature invalid","errDlt":""}`},
		{"garbage", ts.url("a", 3, "abc", ""), `{"errCode":1002,"errMsg":"token is invalid: token malformed","errDlt":""}`},
		{"revoked", ts.url("a", 3, revoked, ""), `{"errCode":1002,"errMsg":"token has been revoked","errDlt":""}`},
		{"no user", ts.url("ghost", 3, ghost, ""), `{"errCode":1003,"errMsg":"user does not exist","errDlt":""}`},
		{"user mismatch", ts.url("b", 3, good, ""), `{"errCode":1002,"errMsg":"token does not match sendID or platformID","errDlt":""}`},
		{"platform mismatch", ts.url("a", 5, good, ""), `{"errCode":1002,"errMsg":"token does not match sendID or platformID","errDlt":""}`},
	}
	for _, tc := range cases {
		st, ct, body := hsFail(t, tc.url, nil)
		if st != 200 || ct != "application/json; charset=utf-8" || body != tc.want {
			t.Errorf("%s: %d %q %s", tc.name, st, ct, body)
		}
	}
}

// A token expired through the control API fails with 1001.
func TestHandshakeControlExpiredTokenIs1001(t *testing.T) {
	ts := start(t, Config{})
	tok := ts.token("a", 3)
	var out map[string]int
	ts.post("/tokens/expire", map[string]string{"token": tok}, &out)
	_, _, body := hsFail(t, ts.url("a", 3, tok, ""), nil)
	if out["changed"] != 1 || body != `{"errCode":1001,"errMsg":"token has expired","errDlt":""}` {
		t.Fatalf("%v %s", out, body)
	}
}

// Above the connection limit the handshake answers 1601.
func TestHandshakeConnectionLimitIs1601(t *testing.T) {
	ts := start(t, Config{MaxConns: 1})
	ts.dial("a", 3, "")
	_, _, body := hsFail(t, ts.url("b", 3, ts.token("b", 3), ""), nil)
	if body != `{"errCode":1601,"errMsg":"too many connections","errDlt":""}` {
		t.Fatal(body)
	}
}

// With isMsgResp=true a token failure is a text frame after the upgrade, then a TCP close.
func TestHandshakeIsMsgRespFailureIsTextFrameThenClose(t *testing.T) {
	ts := start(t, Config{})
	tok := ts.s.IssueToken("a", 3, -time.Minute)
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("a", 3, tok, "isMsgResp=true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := newClient(t, ws, "a", Codec{})
	mt, b := c.raw()
	if mt != websocket.TextMessage || string(b) != `{"errCode":1001,"errMsg":"token has expired","errDlt":""}` {
		t.Fatalf("%d %s", mt, b)
	}
	noCloseFrame(t, c.closed())
	// Argument errors still use the HTTP route.
	_, _, body := hsFail(t, "ws://"+ts.ws+"/?sendID=a&platformID=3&isMsgResp=true", nil)
	if body != `{"errCode":1602,"errMsg":"token is empty","errDlt":""}` {
		t.Fatal(body)
	}
}

// With isMsgResp=true a success is announced by a first text frame with errCode 0.
func TestHandshakeIsMsgRespSuccessFirstTextFrame(t *testing.T) {
	ts := start(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("a", 5, ts.token("a", 5), "isMsgResp=true&sdkType=js"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := newClient(t, ws, "a", Codec{JSON: true})
	mt, b := c.raw()
	if mt != websocket.TextMessage || string(b) != `{"errCode":0,"errMsg":"","errDlt":""}` {
		t.Fatalf("%d %s", mt, b)
	}
	if r := c.call(1001, nil); r.ErrCode != 1002 {
		t.Fatalf("connection unusable: %+v", r)
	}
}

// The compression header turns gzip on like the query parameter.
func TestHandshakeCompressionHeaderEnablesGzip(t *testing.T) {
	ts := start(t, Config{})
	hdr := http.Header{"Compression": {"gzip"}}
	ws, _, err := websocket.DefaultDialer.Dial(ts.url("a", 3, ts.token("a", 3), ""), hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := newClient(t, ws, "a", Codec{Gzip: true})
	r := c.call(1001, nil)
	if r.ErrCode != 1002 || r.ErrMsg != "no permission: userID is not the connection's user" {
		t.Fatalf("%+v", r)
	}
}
