package gw

// The server: configuration, variant flags, the WebSocket handshake with
// its checks in the gateway's order (NOTES.md §1.2) and failure delivery
// (§1.3), connection registry and multi-login kick (§4.4).

import (
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Error codes of NOTES.md §1.4.
const (
	ErrServer      = 500
	ErrExpired     = 1001 // handshake: token expired; OpenIM request: ArgsError
	ErrNoPerm      = 1002 // handshake: token invalid; request: NoPermission
	ErrNoUser      = 1003
	ErrSelf        = 1004
	ErrEmpty       = 1101
	ErrTooBig      = 1102
	ErrNoGroup     = 1201
	ErrNotMember   = 1203
	ErrDismissed   = 1204
	ErrMemberMuted = 1402
	ErrGroupMuted  = 1403
	ErrTooMany     = 1601
	ErrConnArgs    = 1602
)

// MaxInbound is the gateway's inbound frame limit, counted on the wire.
const MaxInbound = 51200

// Variants select the behaviours NOTES.md §6–7 says a client must tolerate.
type Variants struct {
	SignalEx       bool   `json:"signalEx"`       // ex hint ("invite", "accept", ...) in 1601 pushes
	SignalResp1004 bool   `json:"signalResp1004"` // unsolicited 1004 SignalResp to the other party
	SignalStored   bool   `json:"signalStored"`   // 1601 pushes stored with a seq (else seq 0)
	SignalWrapped  bool   `json:"signalWrapped"`  // 1601 content is SignalReq (else the bare Signal*Req)
	SendRespSeq    string `json:"sendRespSeq"`    // SendMsgResp field 4: "seq", "none" or "msgdata"
	PushToSender   bool   `json:"pushToSender"`   // push back to the sending connection
	DataArray      bool   `json:"dataArray"`      // JSON data as number array (else base64)
}

// DefaultVariants is OpenIM v3 with the KKIM seq extension and bare 1601s.
func DefaultVariants() Variants {
	return Variants{SendRespSeq: "seq", PushToSender: true}
}

// Config is given to New; zero values take the gateway's defaults.
type Config struct {
	Secret       []byte        // HS256 key of tokens
	MaxConns     int           // handshake step 1 (default 100 000)
	ReadTimeout  time.Duration // pongWait, default 30 s
	PingInterval time.Duration // pings to platform 5, default 27 s
	WriteTimeout time.Duration // default 10 s
	QueueLen     int           // per-connection send queue, default 1024 frames
	StateDir     string        // persistence directory ("" = none)
	SeqLogFile   string        // append every assigned (conversationID, seq) here
	Variants     Variants
	Logf         func(format string, args ...interface{})
}

// Server is one simulated gateway.
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu       sync.Mutex // guards everything below
	st       *State
	v        Variants
	conns    map[string][]*Conn // by user
	byID     map[int64]*Conn
	paused   bool
	pending  []pushJob    // pushes held while paused
	replay   *replayState // prepared by /replay/prepare, taken by /replay/start
	faults   []*Fault
	calls    map[string]*call
	inCall   map[string]string // user -> roomID
	seqLog   *seqLogFile
	rngState uint64

	nextID  int64
	nconns  int64 // atomic: open connections, for handshake step 1
	stats   globalStats
	wsLn    net.Listener
	wsAddr  string
	wsSrv   *http.Server
	stopped chan struct{}
}

// globalStats are counters read by the control API (atomic).
type globalStats struct {
	Accepted, Rejected, FramesIn, FramesOut, BytesIn, BytesOut int64
	Pushes, Sends, Kicks, Dropped, Closed                      int64
}

// New builds a server, loading state from cfg.StateDir if present.
func New(cfg Config) (*Server, error) {
	if len(cfg.Secret) == 0 {
		cfg.Secret = []byte("kkim-gatewaysim-secret")
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 100000
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 27 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 1024
	}
	if cfg.Variants.SendRespSeq == "" {
		cfg.Variants.SendRespSeq = "seq"
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	s := &Server{cfg: cfg, v: cfg.Variants, conns: map[string][]*Conn{},
		byID: map[int64]*Conn{}, calls: map[string]*call{}, inCall: map[string]string{},
		rngState: uint64(time.Now().UnixNano()) | 1}
	s.upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{}, HandshakeTimeout: 10 * time.Second,
		CheckOrigin: func(*http.Request) bool { return true }}
	st := newState()
	if cfg.StateDir != "" {
		var err error
		if st, err = LoadState(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	s.st = st
	if cfg.SeqLogFile != "" {
		f, err := openSeqLog(cfg.SeqLogFile)
		if err != nil {
			return nil, err
		}
		s.seqLog = f
	}
	return s, nil
}

// ListenWS starts the gateway's WebSocket port on addr ("127.0.0.1:0" for
// any port) and returns the bound address.
func (s *Server) ListenWS(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.wsLn, s.wsAddr, s.wsSrv = ln, ln.Addr().String(), srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// Close stops the WebSocket port and drops every connection abruptly.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.wsSrv
	s.wsSrv, s.wsLn = nil, nil
	var all []*Conn
	for _, c := range s.byID {
		all = append(all, c)
	}
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	for _, c := range all {
		c.abort()
	}
}

// hsError is a handshake verdict body (NOTES.md §1.3).
type hsError struct {
	ErrCode int    `json:"errCode"`
	ErrMsg  string `json:"errMsg"`
	ErrDlt  string `json:"errDlt"`
}

// writeHSError answers a failed handshake the default way: HTTP 200 with a
// JSON body and no upgrade.
func writeHSError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(hsError{code, msg, ""})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// connArgs are the parsed query parameters of a connect URL.
type connArgs struct {
	user, token, opID string
	platform          int
	codec             Codec
	msgResp           bool
}

// parseArgs performs handshake step 2 (1602 on failure).
func parseArgs(r *http.Request) (*connArgs, string) {
	q := r.URL.Query()
	a := &connArgs{user: q.Get("sendID"), token: q.Get("token"), opID: q.Get("operationID")}
	if a.token == "" {
		return nil, "token is empty"
	}
	if a.user == "" {
		return nil, "sendID is empty"
	}
	ps := q.Get("platformID")
	if ps == "" {
		return nil, "platformID is empty"
	}
	p, err := strconv.Atoi(ps)
	if err != nil {
		return nil, "platformID is not int"
	}
	a.platform = p
	switch q.Get("sdkType") {
	case "", "go":
	case "js":
		a.codec.JSON = true
	default:
		return nil, "sdkType is not go or js"
	}
	a.codec.Gzip = q.Get("compression") == "gzip" || r.Header.Get("compression") == "gzip"
	a.msgResp = q.Get("isMsgResp") == "true"
	return a, ""
}

// checkToken performs handshake step 3 under s.mu: signature, expiry,
// revocation, kick invalidation and the user's existence.
func (s *Server) checkToken(tok string) (Claims, int, string) {
	c, err := VerifyToken(s.cfg.Secret, tok, time.Now())
	switch {
	case errors.Is(err, ErrTokenExpired):
		return c, ErrExpired, "token has expired"
	case err != nil:
		return c, ErrNoPerm, "token is invalid: " + err.Error()
	}
	if ti := s.st.Tokens[tok]; ti != nil {
		switch ti.State {
		case "expired":
			return c, ErrExpired, "token has expired"
		case "revoked":
			return c, ErrNoPerm, "token has been revoked"
		case "kicked":
			return c, ErrNoPerm, "token has been kicked"
		}
	}
	if s.st.Users[c.UserID] == nil {
		return c, ErrNoUser, "user does not exist"
	}
	return c, 0, ""
}

// serveWS runs the handshake for one connect request.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if atomic.LoadInt64(&s.nconns) >= int64(s.cfg.MaxConns) {
		atomic.AddInt64(&s.stats.Rejected, 1)
		writeHSError(w, ErrTooMany, "too many connections")
		return
	}
	a, msg := parseArgs(r)
	if a == nil {
		atomic.AddInt64(&s.stats.Rejected, 1)
		writeHSError(w, ErrConnArgs, msg)
		return
	}
	s.mu.Lock()
	claims, code, msg := s.checkToken(a.token)
	s.mu.Unlock()
	if code != 0 && !a.msgResp {
		atomic.AddInt64(&s.stats.Rejected, 1)
		writeHSError(w, code, msg)
		return
	}
	if code == 0 && (claims.UserID != a.user || claims.PlatformID != a.platform) {
		atomic.AddInt64(&s.stats.Rejected, 1)
		writeHSError(w, ErrNoPerm, "token does not match sendID or platformID")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if a.msgResp {
		if code != 0 {
			// Verdict as one text frame, then a TCP close without a close frame.
			atomic.AddInt64(&s.stats.Rejected, 1)
			b, _ := json.Marshal(hsError{code, msg, ""})
			_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			_ = ws.WriteMessage(websocket.TextMessage, b)
			_ = ws.UnderlyingConn().Close()
			return
		}
		b, _ := json.Marshal(hsError{0, "", ""})
		_ = ws.WriteMessage(websocket.TextMessage, b)
	}
	s.register(ws, a, r)
}

// register adds an upgraded connection (step 6): older connections of the
// same user and platform are kicked with 2002 and their tokens invalidated.
func (s *Server) register(ws *websocket.Conn, a *connArgs, r *http.Request) {
	c := newConn(s, ws, a, r.RemoteAddr)
	s.mu.Lock()
	s.nextID++
	c.id = s.nextID
	var kicked []*Conn
	keep := s.conns[a.user][:0:0]
	for _, o := range s.conns[a.user] {
		if o.platform == a.platform {
			kicked = append(kicked, o)
			delete(s.byID, o.id)
		} else {
			keep = append(keep, o)
		}
	}
	if len(kicked) > 0 {
		s.invalidateTokensLocked(a.user, a.platform, a.token)
	}
	if ti := s.st.Tokens[a.token]; ti == nil {
		s.st.Tokens[a.token] = &TokenInfo{UserID: a.user, PlatformID: a.platform}
	}
	s.conns[a.user] = append(keep, c)
	s.byID[c.id] = c
	for _, o := range kicked {
		o.sendKick()
	}
	// Counted before the connection is visible, so stats never lag it.
	atomic.AddInt64(&s.nconns, 1)
	atomic.AddInt64(&s.stats.Accepted, 1)
	atomic.AddInt64(&s.stats.Kicks, int64(len(kicked)))
	s.mu.Unlock()
	c.run()
}

// invalidateTokensLocked marks every known token of (user, platform) other
// than keep as kicked (NOTES.md §4.4).
func (s *Server) invalidateTokensLocked(user string, platform int, keep string) {
	for tok, ti := range s.st.Tokens {
		if tok != keep && ti.UserID == user && ti.PlatformID == platform && ti.State == "" {
			ti.State = "kicked"
		}
	}
}

// unregister removes c from the registry once it has closed.
func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	if s.byID[c.id] == c {
		delete(s.byID, c.id)
		list := s.conns[c.user]
		for i, o := range list {
			if o == c {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.conns, c.user)
		} else {
			s.conns[c.user] = list
		}
	}
	s.mu.Unlock()
	atomic.AddInt64(&s.nconns, -1)
	atomic.AddInt64(&s.stats.Closed, 1)
}

// randHex returns n random hex characters (xorshift under s.mu; IDs need
// uniqueness, not secrecy).
func (s *Server) randHexLocked(n int) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		s.rngState ^= s.rngState << 13
		s.rngState ^= s.rngState >> 7
		s.rngState ^= s.rngState << 17
		b[i] = hexd[s.rngState&15]
	}
	return string(b)
}

// WSAddr is the bound WebSocket address.
func (s *Server) WSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsAddr
}

// logf logs one line through the configured sink.
func (s *Server) logf(format string, args ...interface{}) {
	s.cfg.Logf("gatewaysim: "+format, args...)
}
