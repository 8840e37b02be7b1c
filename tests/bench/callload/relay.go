package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v3"
	"google.golang.org/protobuf/proto"

	"kkim/sim/pb"
)

// cred is one caller login: "userID platformID token".
type cred struct {
	user     string
	platform int
	token    string
}

// readTokens reads a token file (kkit.Env.mint_tokens format).
func readTokens(path string) ([]cred, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cred
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 {
			continue
		}
		pl, err := strconv.Atoi(fl[1])
		if err != nil {
			return nil, fmt.Errorf("%s: bad platformID %q", path, fl[1])
		}
		out = append(out, cred{fl[0], pl, fl[2]})
	}
	return out, sc.Err()
}

// jsonReq and jsonResp are the gateway envelopes with sdkType=js (data is
// base64 through encoding/json's []byte).
type jsonReq struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"`
	OperationID   string `json:"operationID"`
	MsgIncr       string `json:"msgIncr"`
	Data          []byte `json:"data"`
}

type jsonResp struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	MsgIncr       string `json:"msgIncr"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          []byte `json:"data"`
}

// rtcSignal is a contentType-110 body (NOTES §6.7).
type rtcSignal struct {
	Type       string          `json:"type"`
	SignalType string          `json:"signalType"`
	RoomID     string          `json:"roomID"`
	Data       json.RawMessage `json:"data"`
}

// simCall is one call from a simulator login to a relay-held user.
type simCall struct {
	ws, callee string
	c          cred
	conn       *websocket.Conn
	wmu        sync.Mutex
	mu         sync.Mutex
	incr       int
	counter    int
	pending    map[string]chan jsonResp
	roomID     string
	inv        *pb.InvitationInfo
	accepted   chan struct{}
	acceptOnce sync.Once
	p          *peer
	answered   bool
	early      []webrtc.ICECandidateInit
	answer     chan error
}

// newSimCall prepares a call from login c to callee.
func newSimCall(ws string, c cred, callee string) *simCall {
	return &simCall{ws: ws, c: c, callee: callee, pending: map[string]chan jsonResp{},
		accepted: make(chan struct{}), answer: make(chan error, 1)}
}

func (s *simCall) name() string { return s.c.user }

func (s *simCall) room() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomID
}

// start logs in, invites, waits for the accept, offers and waits for the
// answer (see the package comment).
func (s *simCall) start(p *peer) error {
	s.p = p
	q := url.Values{"sendID": {s.c.user}, "platformID": {strconv.Itoa(s.c.platform)},
		"token": {s.c.token}, "sdkType": {"js"}, "operationID": {s.c.user + "_login"}}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.ws+"/?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	s.conn = conn
	go s.readLoop()
	t0 := time.Now().UnixMilli()
	inv := &pb.InvitationInfo{InviterUserID: s.c.user, InviteeUserIDList: []string{s.callee},
		RoomID: fmt.Sprintf("%s_%d", s.c.user, t0), Timeout: 60, MediaType: "video",
		PlatformID: int32(s.c.platform), SessionType: 1, InitiateTime: t0}
	r, err := s.request(1004, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{
		Invitation: inv, UserID: s.c.user}}})
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	var sr pb.SignalResp
	if err := proto.Unmarshal(r.Data, &sr); err != nil || sr.GetInvite() == nil {
		return errors.New("invite: no SignalResp.invite")
	}
	s.mu.Lock()
	inv.RoomID = sr.GetInvite().RoomID
	s.roomID, s.inv = inv.RoomID, inv
	s.mu.Unlock()
	select {
	case <-s.accepted:
	case <-time.After(30 * time.Second):
		return errors.New("no accept within 30 s")
	}
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		init := webrtc.ICECandidateInit{Candidate: ""}
		if c != nil {
			init = c.ToJSON()
		}
		if err := s.send110("candidate", init); err != nil {
			fmt.Fprintln(os.Stderr, s.c.user, "candidate:", err)
		}
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	if err := s.send110("offer", offer); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	select {
	case err := <-s.answer:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("no answer within 30 s")
	}
}

// stop sends hungUp and closes the login.
func (s *simCall) stop() {
	if s.conn == nil {
		return
	}
	s.mu.Lock()
	inv := s.inv
	s.mu.Unlock()
	if inv != nil {
		if _, err := s.request(1004, &pb.SignalReq{Payload: &pb.SignalReq_HungUp{HungUp: &pb.SignalHungUpReq{
			Invitation: inv, UserID: s.c.user}}}); err != nil {
			fmt.Fprintln(os.Stderr, s.c.user, "hungUp:", err)
		}
	}
	_ = s.conn.Close()
}

// request sends one envelope and waits for its answer (errCode checked).
func (s *simCall) request(id int32, m proto.Message) (jsonResp, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return jsonResp{}, err
	}
	s.mu.Lock()
	s.incr++
	incr := strconv.Itoa(s.incr)
	ch := make(chan jsonResp, 1)
	s.pending[incr] = ch
	s.mu.Unlock()
	b, _ := json.Marshal(jsonReq{ReqIdentifier: id, Token: s.c.token, SendID: s.c.user,
		OperationID: s.c.user + "_" + incr, MsgIncr: incr, Data: data})
	s.wmu.Lock()
	err = s.conn.WriteMessage(websocket.BinaryMessage, b)
	s.wmu.Unlock()
	if err != nil {
		return jsonResp{}, err
	}
	select {
	case r := <-ch:
		if r.ErrCode != 0 {
			return r, fmt.Errorf("errCode %d %s", r.ErrCode, r.ErrMsg)
		}
		return r, nil
	case <-time.After(30 * time.Second):
		return jsonResp{}, errors.New("no answer within 30 s")
	}
}

// send110 sends a webrtc_signal custom message to the callee.
func (s *simCall) send110(kind string, data interface{}) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	room := s.roomID
	s.counter++
	cid := fmt.Sprintf("%s_rtc_%d_%d", s.c.user, time.Now().UnixMilli(), s.counter)
	s.mu.Unlock()
	body, _ := json.Marshal(rtcSignal{Type: "webrtc_signal", SignalType: kind, RoomID: room, Data: raw})
	_, err = s.request(1003, &pb.MsgData{SendID: s.c.user, RecvID: s.callee, ClientMsgID: cid,
		SenderPlatformID: int32(s.c.platform), SessionType: 1, MsgFrom: 100, ContentType: 110,
		Content: body, CreateTime: time.Now().UnixMilli()})
	return err
}

// readLoop dispatches answers to requests and pushes to onPush until the
// connection closes.
func (s *simCall) readLoop() {
	for {
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		var r jsonResp
		if json.Unmarshal(b, &r) != nil {
			continue // text heartbeats
		}
		if r.ReqIdentifier == 2001 {
			var pm pb.PushMessages
			if proto.Unmarshal(r.Data, &pm) == nil {
				for _, m := range [](map[string]*pb.PullMsgs){pm.Msgs, pm.NotificationMsgs} {
					for _, pl := range m {
						for _, md := range pl.Msgs {
							s.onPush(md)
						}
					}
				}
			}
			continue
		}
		s.mu.Lock()
		ch := s.pending[r.MsgIncr]
		delete(s.pending, r.MsgIncr)
		s.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// onPush handles the callee's 1601 (accept) and 110 (answer, candidates).
func (s *simCall) onPush(md *pb.MsgData) {
	if md.SendID != s.callee {
		return
	}
	switch md.ContentType {
	case 1601:
		s.acceptOnce.Do(func() { close(s.accepted) })
	case 110:
		var sig rtcSignal
		if json.Unmarshal(md.Content, &sig) != nil || sig.Type != "webrtc_signal" || sig.RoomID != s.room() {
			return
		}
		s.onSignal(sig)
	}
}

// onSignal applies the relay's answer and candidates (buffered until the
// answer is set).
func (s *simCall) onSignal(sig rtcSignal) {
	switch sig.SignalType {
	case "answer":
		var d webrtc.SessionDescription
		err := json.Unmarshal(sig.Data, &d)
		if err == nil {
			err = s.p.pc.SetRemoteDescription(d)
		}
		s.mu.Lock()
		s.answered = err == nil
		early := s.early
		s.early = nil
		s.mu.Unlock()
		for _, c := range early {
			_ = s.p.pc.AddICECandidate(c)
		}
		select { // a second answer is ignored
		case s.answer <- err:
		default:
		}
	case "candidate":
		var c webrtc.ICECandidateInit
		if json.Unmarshal(sig.Data, &c) != nil || c.Candidate == "" {
			return
		}
		s.mu.Lock()
		if !s.answered {
			s.early = append(s.early, c)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		_ = s.p.pc.AddICECandidate(c)
	}
}
