package gw

// Replay: a feeder for benchmarks of the relay alone. /replay/prepare stores
// the messages of many single chats (so 1001 and 1002 answer them exactly,
// like any injection) and builds every 2001 push as a complete WebSocket
// frame for each target connection, before any clock starts. /replay/start
// writes them flat out (many frames per write syscall) or at a fixed rate;
// at a rate, each frame's clientMsgID ("inj_<13 base36 digits>_<n>", the
// UnixNano stamp relay-gofleet lat reads) is patched with the time it is
// handed to the writer, so latency counts from the send.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// stampLen is the width of the base36 stamp in a replayed clientMsgID.
const stampLen = 13

// replayConn is one target connection's frames, back to back in buf.
type replayConn struct {
	c      *Conn
	buf    []byte
	ends   []int // end offset in buf of frame k
	stamps []int // offset in buf of frame k's stamp; -1 when not in clear (JSON, gzip)
	sent   int   // frames handed to the writer
}

// replayUnit is frame k of connection conn, carrying message msg.
type replayUnit struct {
	msg, conn, k int
}

// replayState is a prepared replay: units in message order.
type replayState struct {
	conns []*replayConn
	units []replayUnit
	msgs  int
}

// replayPrep is the body of /replay/prepare.
type replayPrep struct {
	Pairs []struct {
		SendID string `json:"sendID"`
		RecvID string `json:"recvID"`
	} `json:"pairs"`
	Count int    `json:"count"` // messages per pair, interleaved round robin
	Text  string `json:"text"`
}

// replayStart is the body of /replay/start.
type replayStart struct {
	Rate  float64 `json:"rate"`  // messages per second; 0 = flat out
	Batch int     `json:"batch"` // flat out: frames per write (default 64)
}

// wsHeader appends the header of one unmasked binary WebSocket frame of n
// payload bytes (RFC 6455 §5.2).
func wsHeader(b []byte, n int) []byte {
	b = append(b, 0x82)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126)
		return binary.BigEndian.AppendUint16(b, uint16(n))
	}
	b = append(b, 127)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// putStamp writes t in base36, zero-padded to stampLen digits, into dst.
func putStamp(dst []byte, t int64) {
	var tmp [stampLen]byte
	d := strconv.AppendInt(tmp[:0], t, 36)
	pad := stampLen - len(d)
	for i := 0; i < pad; i++ {
		dst[i] = '0'
	}
	copy(dst[pad:], d)
}

// ctlReplayPrepare stores and pre-encodes a replay (replacing any previous).
func (s *Server) ctlReplayPrepare(r *http.Request) (interface{}, error) {
	in := &replayPrep{}
	if err := body(r, in); err != nil {
		return nil, err
	}
	if len(in.Pairs) == 0 || in.Count <= 0 {
		return nil, errors.New("replay: pairs and count are required")
	}
	t0 := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := &replayState{}
	byConn := map[*Conn]int{}
	stamp := make([]byte, stampLen)
	putStamp(stamp, t0.UnixNano())
	bytesOut := 0
	for i := 1; i <= in.Count; i++ {
		for _, p := range in.Pairs {
			m, err := (&injectReq{SendID: p.SendID, RecvID: p.RecvID, Text: in.Text}).msg(i)
			if err != nil {
				return nil, err
			}
			m.ClientMsgID = "inj_" + string(stamp) + "_" + strconv.Itoa(rs.msgs+1)
			if code, msg := s.checkMsgLocked(m); code != 0 {
				return nil, errors.New("replay: " + msg)
			}
			job := pushJob{convID: s.storeLocked(m), opID: "replay", msg: m, users: s.recipientsLocked(m)}
			resp := pushResp(job)
			var enc [8][]byte
			for _, u := range job.users {
				for _, c := range s.conns[u] {
					ci, ok := byConn[c]
					if !ok {
						ci = len(rs.conns)
						byConn[c] = ci
						rs.conns = append(rs.conns, &replayConn{c: c})
					}
					rc := rs.conns[ci]
					frame := s.encodeOnceLocked(c, resp, &enc)
					rc.buf = wsHeader(rc.buf, len(frame))
					at := bytes.Index(frame, []byte(m.ClientMsgID))
					if at >= 0 {
						at += len(rc.buf) + 4
					}
					rc.buf = append(rc.buf, frame...)
					rs.units = append(rs.units, replayUnit{msg: rs.msgs, conn: ci, k: len(rc.ends)})
					rc.ends = append(rc.ends, len(rc.buf))
					rc.stamps = append(rc.stamps, at)
					bytesOut += len(frame)
				}
			}
			rs.msgs++
		}
	}
	s.replay = rs
	return map[string]interface{}{"messages": rs.msgs, "frames": len(rs.units), "conns": len(rs.conns),
		"bytes": bytesOut, "ms": time.Since(t0).Milliseconds()}, nil
}

// ctlReplayStart starts writing the prepared replay and returns at once.
func (s *Server) ctlReplayStart(r *http.Request) (interface{}, error) {
	in := &replayStart{}
	if err := body(r, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	rs := s.replay
	s.replay = nil
	s.mu.Unlock()
	if rs == nil {
		return nil, errors.New("replay: nothing prepared")
	}
	if in.Rate > 0 {
		go rs.paced(in.Rate)
	} else {
		if in.Batch <= 0 {
			in.Batch = 64
		}
		for _, rc := range rs.conns {
			go rc.flat(in.Batch)
		}
	}
	return map[string]int{"messages": rs.msgs, "frames": len(rs.units)}, nil
}

// flat hands the connection's frames to its writer, batch frames a write,
// waiting whenever its queue is full.
func (rc *replayConn) flat(batch int) {
	for rc.sent < len(rc.ends) {
		upto := rc.sent + batch
		if upto > len(rc.ends) {
			upto = len(rc.ends)
		}
		if !rc.hand(upto, 0) {
			return
		}
	}
}

// hand stamps frames [sent, upto) with now (if non-zero) and queues them as
// one write; false when the connection is gone.
func (rc *replayConn) hand(upto int, now int64) bool {
	from := 0
	if rc.sent > 0 {
		from = rc.ends[rc.sent-1]
	}
	if now != 0 {
		for k := rc.sent; k < upto; k++ {
			if rc.stamps[k] >= 0 {
				putStamp(rc.buf[rc.stamps[k]:], now)
			}
		}
	}
	f := outFrame{kind: fPre, data: rc.buf[from:rc.ends[upto-1]], push: true, frames: upto - rc.sent}
	rc.sent = upto
	select {
	case rc.c.out <- f:
		return true
	case <-rc.c.done:
		return false
	}
}

// paced hands messages to the writers at rate per second in 1 ms ticks;
// the frames of one tick and connection go out in one write.
func (rs *replayState) paced(rate float64) {
	start := time.Now()
	upto := make([]int, len(rs.conns))
	u := 0
	for u < len(rs.units) {
		due := int(rate*time.Since(start).Seconds()) + 1
		for ; u < len(rs.units) && rs.units[u].msg < due; u++ {
			upto[rs.units[u].conn] = rs.units[u].k + 1
		}
		now := time.Now().UnixNano()
		for ci, rc := range rs.conns {
			if upto[ci] > rc.sent {
				rc.hand(upto[ci], now) // a closed connection takes nothing
			}
		}
		time.Sleep(time.Millisecond)
	}
}
