package gw

// One client connection: a reader goroutine that handles requests strictly
// in arrival order, and a writer goroutine draining a bounded queue (a full
// queue drops the connection, as the gateway does with slow readers).
// Timers and heartbeats follow NOTES.md §4.1–4.3.

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// frame kinds in the send queue.
const (
	fBinary = iota
	fText
	fRaw // bytes written as-is as one binary message (garbage injection)
	fPre // whole WebSocket frames, built in advance, written as-is (replay)
)

// outFrame is one queued write.
type outFrame struct {
	kind       int
	data       []byte
	push       bool
	closeAfter bool // TCP close after writing (kick, 2003 reply)
	frames     int  // fPre: push frames in data
}

// ConnStats are per-connection counters (atomic).
type ConnStats struct {
	FramesIn, FramesOut, BytesIn, BytesOut, Pushes, Requests int64
}

// Conn is a registered connection.
type Conn struct {
	id       int64
	srv      *Server
	ws       *websocket.Conn
	user     string
	platform int
	token    string
	codec    Codec
	remote   string
	since    time.Time
	out      chan outFrame
	done     chan struct{}
	once     sync.Once
	stats    ConnStats
	held     *outFrame // a push held back by a reorder fault (under srv.mu)
	bg       bool      // SetBackgroundStatus
}

// newConn wraps an upgraded socket.
func newConn(s *Server, ws *websocket.Conn, a *connArgs, remote string) *Conn {
	return &Conn{srv: s, ws: ws, user: a.user, platform: a.platform, token: a.token,
		codec: a.codec, remote: remote, since: time.Now(),
		out: make(chan outFrame, s.cfg.QueueLen), done: make(chan struct{})}
}

// run serves the connection until it closes; it returns when the reader
// stops (the writer exits on done).
func (c *Conn) run() {
	go c.writeLoop()
	c.readLoop()
	c.abort()
	c.srv.unregister(c)
}

// deadline renews the read deadline: every inbound frame, ping or pong
// included, counts (NOTES.md §4.1).
func (c *Conn) deadline() {
	_ = c.ws.SetReadDeadline(time.Now().Add(c.srv.cfg.ReadTimeout))
}

// readLoop reads frames until an error or a frame that closes the
// connection (NOTES.md §4.3).
func (c *Conn) readLoop() {
	c.ws.SetReadLimit(MaxInbound)
	c.deadline()
	c.ws.SetPingHandler(func(p string) error {
		c.deadline()
		c.countIn(len(p))
		err := c.ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(c.srv.cfg.WriteTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	c.ws.SetPongHandler(func(string) error { c.deadline(); return nil })
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.deadline()
		c.countIn(len(data))
		if mt == websocket.TextMessage {
			if !c.heartbeat(data) {
				return
			}
			continue
		}
		req, err := DecodeReq(c.codec, data)
		if err != nil {
			c.srv.logf("conn %d (%s): undecodable frame: %v", c.id, c.user, err)
			return
		}
		atomic.AddInt64(&c.stats.Requests, 1)
		if !c.srv.handle(c, req) {
			return
		}
	}
}

// heartbeat answers a text frame: {"type":"ping"} gets a pong echoing the
// body, {"type":"pong"} is accepted; anything else closes (false).
func (c *Conn) heartbeat(data []byte) bool {
	var hb struct {
		Type string          `json:"type"`
		Body json.RawMessage `json:"body"`
	}
	if json.Unmarshal(data, &hb) != nil {
		return false
	}
	switch hb.Type {
	case "ping":
		body := hb.Body
		if len(body) == 0 {
			body = json.RawMessage("null")
		}
		b, _ := json.Marshal(struct {
			Type string          `json:"type"`
			Body json.RawMessage `json:"body"`
		}{"pong", body})
		return c.enqueue(outFrame{kind: fText, data: b})
	case "pong":
		return true
	}
	return false
}

// countIn adds one inbound frame to the counters.
func (c *Conn) countIn(n int) {
	atomic.AddInt64(&c.stats.FramesIn, 1)
	atomic.AddInt64(&c.stats.BytesIn, int64(n))
	atomic.AddInt64(&c.srv.stats.FramesIn, 1)
	atomic.AddInt64(&c.srv.stats.BytesIn, int64(n))
}

// enqueue queues f without blocking; a full queue drops the connection
// (false).
func (c *Conn) enqueue(f outFrame) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- f:
		return true
	default:
		atomic.AddInt64(&c.srv.stats.Dropped, 1)
		c.srv.logf("conn %d (%s): send queue full, dropping", c.id, c.user)
		c.abort()
		return false
	}
}

// sendResp encodes r for this connection and queues it.
func (c *Conn) sendResp(r *Resp, push, closeAfter bool) bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.sendRespLocked(r, push, closeAfter)
}

// sendRespLocked is sendResp for callers holding srv.mu.
func (c *Conn) sendRespLocked(r *Resp, push, closeAfter bool) bool {
	codec := c.codec
	codec.DataArray = c.srv.v.DataArray
	b, err := EncodeResp(codec, r)
	if err != nil {
		return false
	}
	return c.enqueue(outFrame{kind: fBinary, data: b, push: push, closeAfter: closeAfter})
}

// sendKick queues a 2002 and the close after it. Called under srv.mu.
func (c *Conn) sendKick() {
	codec := c.codec
	codec.DataArray = c.srv.v.DataArray
	b, _ := EncodeResp(codec, &Resp{ReqIdentifier: 2002})
	c.enqueue(outFrame{kind: fBinary, data: b, closeAfter: true})
}

// writeLoop drains the queue, sends the gateway's pings to platform 5
// connections, and closes the socket after a closeAfter frame.
func (c *Conn) writeLoop() {
	var tick <-chan time.Time
	if c.platform == 5 {
		t := time.NewTicker(c.srv.cfg.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.done:
			return
		case <-tick:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.srv.cfg.WriteTimeout)) != nil {
				c.abort()
				return
			}
		case f := <-c.out:
			if !c.write(f) || f.closeAfter {
				c.abort()
				return
			}
		}
	}
}

// write puts one frame on the wire under the write deadline.
func (c *Conn) write(f outFrame) bool {
	if f.kind == fPre {
		return c.writePre(f)
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	mt := websocket.BinaryMessage
	if f.kind == fText {
		mt = websocket.TextMessage
	}
	if err := c.ws.WriteMessage(mt, f.data); err != nil {
		return false
	}
	pushes := int64(0)
	if f.push {
		pushes = 1
	}
	c.countOut(1, int64(len(f.data)), pushes)
	return true
}

// writePre writes pre-built WebSocket frames in one write on the socket
// itself (a net.Conn write is never interleaved with gorilla's own).
func (c *Conn) writePre(f outFrame) bool {
	nc := c.ws.UnderlyingConn()
	_ = nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if _, err := nc.Write(f.data); err != nil {
		return false
	}
	c.countOut(int64(f.frames), int64(len(f.data)), int64(f.frames))
	return true
}

// countOut adds written frames, bytes and pushes to the counters.
func (c *Conn) countOut(frames, bytes, pushes int64) {
	atomic.AddInt64(&c.stats.FramesOut, frames)
	atomic.AddInt64(&c.stats.BytesOut, bytes)
	atomic.AddInt64(&c.srv.stats.FramesOut, frames)
	atomic.AddInt64(&c.srv.stats.BytesOut, bytes)
	atomic.AddInt64(&c.stats.Pushes, pushes)
	atomic.AddInt64(&c.srv.stats.Pushes, pushes)
}

// abort closes the TCP connection without a close frame; idempotent.
func (c *Conn) abort() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.UnderlyingConn().Close()
	})
}

// Info is the control API's view of a connection.
type Info struct {
	ID         int64     `json:"connID"`
	UserID     string    `json:"userID"`
	PlatformID int       `json:"platformID"`
	SdkType    string    `json:"sdkType"`
	Gzip       bool      `json:"gzip"`
	Remote     string    `json:"remote"`
	Since      time.Time `json:"since"`
	Queued     int       `json:"queued"`
	Stats      ConnStats `json:"stats"`
}

// info snapshots c.
func (c *Conn) info() Info {
	sdk := "go"
	if c.codec.JSON {
		sdk = "js"
	}
	return Info{ID: c.id, UserID: c.user, PlatformID: c.platform, SdkType: sdk, Gzip: c.codec.Gzip,
		Remote: c.remote, Since: c.since, Queued: len(c.out), Stats: ConnStats{
			FramesIn: atomic.LoadInt64(&c.stats.FramesIn), FramesOut: atomic.LoadInt64(&c.stats.FramesOut),
			BytesIn: atomic.LoadInt64(&c.stats.BytesIn), BytesOut: atomic.LoadInt64(&c.stats.BytesOut),
			Pushes: atomic.LoadInt64(&c.stats.Pushes), Requests: atomic.LoadInt64(&c.stats.Requests)}}
}
