package gw

// The control API: HTTP + JSON on loopback, for tests and benchmarks. Every
// endpoint is documented with curl examples in docs/gatewaysim.md.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"kkim/sim/pb"
)

// ListenControl serves the control API on addr, refusing non-loopback
// addresses, and returns the bound address.
func (s *Server) ListenControl(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", errors.New("control API must listen on loopback")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	go func() { _ = http.Serve(ln, s.ControlHandler()) }()
	return ln.Addr().String(), nil
}

// ControlHandler returns the control API's routes.
func (s *Server) ControlHandler() http.Handler {
	m := http.NewServeMux()
	route := func(path string, h func(r *http.Request) (interface{}, error)) {
		m.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			out, err := h(r)
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				out = map[string]string{"error": err.Error()}
			}
			_ = json.NewEncoder(w).Encode(out)
		})
	}
	route("/users", s.ctlUsers)
	route("/groups", s.ctlGroups)
	route("/tokens", s.ctlTokens)
	route("/tokens/expire", func(r *http.Request) (interface{}, error) { return s.ctlTokenState(r, "expired") })
	route("/tokens/revoke", func(r *http.Request) (interface{}, error) { return s.ctlTokenState(r, "revoked") })
	route("/inject", s.ctlInject)
	route("/kick", s.ctlKick)
	route("/close", s.ctlClose)
	route("/raw", s.ctlRaw)
	route("/pushes/pause", func(*http.Request) (interface{}, error) { s.PausePushes(); return ok(), nil })
	route("/pushes/resume", func(*http.Request) (interface{}, error) {
		return map[string]int{"released": s.ResumePushes()}, nil
	})
	route("/replay/prepare", s.ctlReplayPrepare)
	route("/replay/start", s.ctlReplayStart)
	route("/faults", s.ctlFaults)
	route("/faults/clear", func(*http.Request) (interface{}, error) { s.ClearFaults(); return ok(), nil })
	route("/save", func(*http.Request) (interface{}, error) { return ok(), s.Save() })
	route("/restart", s.ctlRestart)
	route("/seqlog", s.ctlSeqLog)
	route("/messages", s.ctlMessages)
	route("/messages/delete", s.ctlDelete)
	route("/variants", s.ctlVariants)
	route("/stats", s.ctlStats)
	route("/conns", func(*http.Request) (interface{}, error) { return s.ConnInfos(), nil })
	m.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		if ms > 30000 {
			ms = 30000
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	})
	m.HandleFunc("/client.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(clientPage))
	})
	return m
}

// ok is the body of a successful action without a result.
func ok() map[string]bool { return map[string]bool{"ok": true} }

// body decodes a POSTed JSON body into v; GET and empty bodies are allowed.
func body(r *http.Request, v interface{}) error {
	if r.Method != http.MethodPost {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<20))
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		return err
	}
	return nil
}

// ctlUsers: POST {"users":[{"userID":..}]} or {"userIDs":[..],"prefix":"u","count":N}; GET lists.
func (s *Server) ctlUsers(r *http.Request) (interface{}, error) {
	var in struct {
		Users   []User   `json:"users"`
		UserIDs []string `json:"userIDs"`
		Prefix  string   `json:"prefix"`
		Count   int      `json:"count"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	for _, id := range in.UserIDs {
		in.Users = append(in.Users, User{UserID: id})
	}
	for i := 1; i <= in.Count; i++ {
		in.Users = append(in.Users, User{UserID: in.Prefix + strconv.Itoa(i)})
	}
	s.AddUsers(in.Users)
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]int{"users": len(s.st.Users)}, nil
}

// ctlGroups: POST a Group ({"groupID","members":[..],"dismissed","muted","mutedMembers":[..]}).
func (s *Server) ctlGroups(r *http.Request) (interface{}, error) {
	var in struct {
		GroupID      string   `json:"groupID"`
		Members      []string `json:"members"`
		Dismissed    bool     `json:"dismissed"`
		Muted        bool     `json:"muted"`
		MutedMembers []string `json:"mutedMembers"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	if r.Method != http.MethodPost {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.st.Groups, nil
	}
	if in.GroupID == "" {
		return nil, errors.New("groupID is required")
	}
	g := &Group{GroupID: in.GroupID, Members: map[string]bool{}, Dismissed: in.Dismissed, Muted: in.Muted}
	for _, u := range in.Members {
		g.Members[u] = true
	}
	if len(in.MutedMembers) > 0 {
		g.MutedMembers = map[string]bool{}
		for _, u := range in.MutedMembers {
			g.MutedMembers[u] = true
		}
	}
	s.SetGroup(g)
	return ok(), nil
}

// ctlTokens: POST {"userID","platformID","ttlSec"} -> {"token"}; ttlSec <0 gives an expired token.
func (s *Server) ctlTokens(r *http.Request) (interface{}, error) {
	var in struct {
		UserID     string   `json:"userID"`
		UserIDs    []string `json:"userIDs"`
		PlatformID int      `json:"platformID"`
		TTLSec     int64    `json:"ttlSec"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	if in.TTLSec == 0 {
		in.TTLSec = 86400
	}
	ttl := time.Duration(in.TTLSec) * time.Second
	if len(in.UserIDs) > 0 {
		out := map[string]string{}
		for _, u := range in.UserIDs {
			out[u] = s.IssueToken(u, in.PlatformID, ttl)
		}
		return map[string]interface{}{"tokens": out}, nil
	}
	if in.UserID == "" {
		return nil, errors.New("userID is required")
	}
	return map[string]string{"token": s.IssueToken(in.UserID, in.PlatformID, ttl)}, nil
}

// ctlTokenState: POST {"token"} or {"userID","platformID"} to expire or revoke.
func (s *Server) ctlTokenState(r *http.Request, state string) (interface{}, error) {
	var in struct {
		Token      string `json:"token"`
		UserID     string `json:"userID"`
		PlatformID int    `json:"platformID"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	return map[string]int{"changed": s.SetTokenState(in.Token, in.UserID, in.PlatformID, state)}, nil
}

// injectReq describes messages to inject.
type injectReq struct {
	SendID      string          `json:"sendID"`
	RecvID      string          `json:"recvID"`
	GroupID     string          `json:"groupID"`
	SessionType int32           `json:"sessionType"`
	ContentType int32           `json:"contentType"`
	Text        string          `json:"text"`       // content {"text":...}
	Content     string          `json:"content"`    // raw content (UTF-8)
	ContentB64  string          `json:"contentB64"` // raw content (base64)
	Options     map[string]bool `json:"options"`
	Ex          string          `json:"ex"`
	PushOnly    bool            `json:"pushOnly"` // seq 0, not stored
	Count       int             `json:"count"`    // messages (default 1)
	Rate        float64         `json:"rate"`     // messages per second, with durationMs
	DurationMs  int64           `json:"durationMs"`
	Async       bool            `json:"async"` // return at once (rate mode)
}

// msg builds the i-th message of an injection.
func (in *injectReq) msg(i int) (*pb.MsgData, error) {
	m := &pb.MsgData{SendID: in.SendID, RecvID: in.RecvID, GroupID: in.GroupID,
		SessionType: in.SessionType, ContentType: in.ContentType, MsgFrom: 100,
		Options: in.Options, Ex: in.Ex, CreateTime: time.Now().UnixMilli(),
		ClientMsgID: "inj_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "_" + strconv.Itoa(i)}
	switch {
	case in.ContentB64 != "":
		b, err := base64.StdEncoding.DecodeString(in.ContentB64)
		if err != nil {
			return nil, err
		}
		m.Content = b
	case in.Content != "":
		m.Content = []byte(in.Content)
	default:
		t := in.Text
		if t == "" {
			t = "msg " + strconv.Itoa(i)
		}
		m.Content = textContent(t)
	}
	if m.ContentType == 0 {
		m.ContentType = 101
	}
	if m.SessionType == 0 {
		m.SessionType = 1
	}
	if m.SessionType == 4 {
		m.MsgFrom = 200
	}
	return m, nil
}

// injected is one injected message's place.
type injected struct {
	ConversationID string `json:"conversationID"`
	Seq            int64  `json:"seq"`
}

// ctlInject: POST injectReq. Count mode returns every (conversationID, seq);
// rate mode sends rate/s for durationMs and returns the count.
func (s *Server) ctlInject(r *http.Request) (interface{}, error) {
	in := &injectReq{}
	if err := body(r, in); err != nil {
		return nil, err
	}
	if in.Rate > 0 {
		run := func() (int, error) { return s.injectRate(in) }
		if in.Async {
			go run()
			return map[string]bool{"started": true}, nil
		}
		n, err := run()
		return map[string]int{"sent": n}, err
	}
	if in.Count <= 0 {
		in.Count = 1
	}
	out := make([]injected, 0, in.Count)
	for i := 1; i <= in.Count; i++ {
		m, err := in.msg(i)
		if err != nil {
			return nil, err
		}
		id, seq, code, msg := s.Inject(m, "inject", in.PushOnly)
		if code != 0 {
			return map[string]interface{}{"errCode": code, "errMsg": msg, "sent": out}, nil
		}
		out = append(out, injected{id, seq})
	}
	return map[string]interface{}{"errCode": 0, "sent": out}, nil
}

// injectRate injects round(rate * durationMs) messages evenly over
// durationMs, in 1 ms ticks.
func (s *Server) injectRate(in *injectReq) (int, error) {
	start := time.Now()
	total := int(in.Rate*float64(in.DurationMs)/1000 + 0.5)
	n := 0
	for n < total {
		due := int(in.Rate*time.Since(start).Seconds()) + 1
		if due > total {
			due = total
		}
		for ; n < due; n++ {
			m, err := in.msg(n + 1)
			if err != nil {
				return n, err
			}
			if _, _, code, msg := s.Inject(m, "inject", in.PushOnly); code != 0 {
				return n, errors.New(msg)
			}
		}
		time.Sleep(time.Millisecond)
	}
	return n, nil
}

// connSel selects connections in kick/close/raw.
type connSel struct {
	UserID        string `json:"userID"`
	PlatformID    int    `json:"platformID"`
	ConnID        int64  `json:"connID"`
	ReqIdentifier int32  `json:"reqIdentifier"`
	Kind          string `json:"kind"` // raw: garbage, oversize, text, b64
	Size          int    `json:"size"`
	DataB64       string `json:"dataB64"`
	Text          string `json:"text"`
}

// ctlKick: POST {"userID","platformID"[,"reqIdentifier":2003]}.
func (s *Server) ctlKick(r *http.Request) (interface{}, error) {
	var in connSel
	if err := body(r, &in); err != nil {
		return nil, err
	}
	if in.UserID == "" {
		return nil, errors.New("userID is required")
	}
	return map[string]int{"kicked": s.Kick(in.UserID, in.PlatformID, in.ReqIdentifier)}, nil
}

// ctlClose: POST {"userID"|"connID"[,"platformID"]}; {} closes every connection.
func (s *Server) ctlClose(r *http.Request) (interface{}, error) {
	var in connSel
	if err := body(r, &in); err != nil {
		return nil, err
	}
	return map[string]int{"closed": s.CloseConns(in.UserID, in.PlatformID, in.ConnID)}, nil
}

// ctlRaw: POST {"userID"|"connID","kind":"garbage|oversize|text|b64","size","dataB64","text"}.
func (s *Server) ctlRaw(r *http.Request) (interface{}, error) {
	var in connSel
	if err := body(r, &in); err != nil {
		return nil, err
	}
	var data []byte
	text := false
	switch in.Kind {
	case "garbage", "oversize":
		if in.Size <= 0 {
			in.Size = 64
			if in.Kind == "oversize" {
				in.Size = 17 << 20
			}
		}
		data = make([]byte, in.Size)
		x := uint32(2463534242)
		for i := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[i] = byte(x)
		}
	case "text":
		data, text = []byte(in.Text), true
	case "b64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(in.DataB64); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("kind must be garbage, oversize, text or b64")
	}
	return map[string]int{"sent": s.SendRaw(in.UserID, in.PlatformID, in.ConnID, data, text)}, nil
}

// ctlFaults: POST a Fault to add it, GET to list.
func (s *Server) ctlFaults(r *http.Request) (interface{}, error) {
	if r.Method != http.MethodPost {
		return s.Faults(), nil
	}
	var f Fault
	if err := body(r, &f); err != nil {
		return nil, err
	}
	switch f.Action {
	case "drop", "dup", "reorder":
	default:
		return nil, errors.New("action must be drop, dup or reorder")
	}
	return map[string]int64{"id": s.AddFault(f)}, nil
}

// ctlRestart: POST {"downMs"}: save, drop all, reload, listen again.
func (s *Server) ctlRestart(r *http.Request) (interface{}, error) {
	var in struct {
		DownMs int64 `json:"downMs"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	return ok(), s.Restart(time.Duration(in.DownMs) * time.Millisecond)
}

// ctlSeqLog: GET ?since=N&max=M -> {"entries":[..],"next":N}.
func (s *Server) ctlSeqLog(r *http.Request) (interface{}, error) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	max, _ := strconv.Atoi(r.URL.Query().Get("max"))
	e := s.SeqLog(since, max)
	next := since
	if len(e) > 0 {
		next = e[len(e)-1].Index
	}
	return map[string]interface{}{"entries": e, "next": next}, nil
}

// ctlMessages: GET ?conversationID=ID -> stored messages (protobuf JSON names).
func (s *Server) ctlMessages(r *http.Request) (interface{}, error) {
	id := r.URL.Query().Get("conversationID")
	msgs := s.Messages(id)
	if msgs == nil {
		return nil, errors.New("no such conversation")
	}
	return msgs, nil
}

// ctlDelete: POST {"conversationID","seqs":[..],"minSeq"}.
func (s *Server) ctlDelete(r *http.Request) (interface{}, error) {
	var in struct {
		ConversationID string  `json:"conversationID"`
		Seqs           []int64 `json:"seqs"`
		MinSeq         int64   `json:"minSeq"`
	}
	if err := body(r, &in); err != nil {
		return nil, err
	}
	return ok(), s.DeleteMsgs(in.ConversationID, in.Seqs, in.MinSeq)
}

// ctlVariants: GET the flags; POST a partial object to change some.
func (s *Server) ctlVariants(r *http.Request) (interface{}, error) {
	v := s.GetVariants()
	if r.Method == http.MethodPost {
		if err := body(r, &v); err != nil {
			return nil, err
		}
		switch v.SendRespSeq {
		case "seq", "none", "msgdata":
		default:
			return nil, errors.New("sendRespSeq must be seq, none or msgdata")
		}
		s.SetVariants(v)
	}
	return v, nil
}

// ctlStats: global counters; ?conns=1 adds per-connection stats.
func (s *Server) ctlStats(r *http.Request) (interface{}, error) {
	g := map[string]int64{
		"conns":     atomic.LoadInt64(&s.nconns),
		"accepted":  atomic.LoadInt64(&s.stats.Accepted),
		"rejected":  atomic.LoadInt64(&s.stats.Rejected),
		"framesIn":  atomic.LoadInt64(&s.stats.FramesIn),
		"framesOut": atomic.LoadInt64(&s.stats.FramesOut),
		"bytesIn":   atomic.LoadInt64(&s.stats.BytesIn),
		"bytesOut":  atomic.LoadInt64(&s.stats.BytesOut),
		"pushes":    atomic.LoadInt64(&s.stats.Pushes),
		"sends":     atomic.LoadInt64(&s.stats.Sends),
		"kicks":     atomic.LoadInt64(&s.stats.Kicks),
		"dropped":   atomic.LoadInt64(&s.stats.Dropped),
		"closed":    atomic.LoadInt64(&s.stats.Closed),
	}
	s.mu.Lock()
	g["seqsAssigned"] = int64(len(s.st.SeqLog))
	g["pendingPushes"] = int64(len(s.pending))
	g["calls"] = int64(len(s.calls))
	s.mu.Unlock()
	if r.URL.Query().Get("conns") != "" {
		return map[string]interface{}{"global": g, "conns": s.ConnInfos()}, nil
	}
	return map[string]interface{}{"global": g}, nil
}
