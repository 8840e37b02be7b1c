package gw

// Server-side actions behind the control API: users, groups, tokens, kick,
// abrupt close, garbage frames, push pause/resume, faults, save and restart.

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"kkim/sim/pb"
)

// seqLogFile appends ground-truth entries as JSON lines.
type seqLogFile struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// openSeqLog opens (appending) the ground-truth log file.
func openSeqLog(path string) (*seqLogFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &seqLogFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// write appends one entry; Flush makes it visible.
func (l *seqLogFile) write(e SeqEntry) {
	b, _ := json.Marshal(e)
	l.mu.Lock()
	l.w.Write(append(b, '\n'))
	l.mu.Unlock()
}

// flush pushes buffered entries to the file.
func (l *seqLogFile) flush() {
	l.mu.Lock()
	l.w.Flush()
	l.mu.Unlock()
}

// AddUsers registers users (existing ones are kept).
func (s *Server) AddUsers(users []User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range users {
		u := users[i]
		if s.st.Users[u.UserID] == nil {
			s.st.Users[u.UserID] = &u
		}
	}
}

// SetGroup creates or replaces a group.
func (s *Server) SetGroup(g *Group) {
	if g.Members == nil {
		g.Members = map[string]bool{}
	}
	s.mu.Lock()
	s.st.Groups[g.GroupID] = g
	s.mu.Unlock()
}

// IssueToken signs a token for (user, platform) valid for ttl.
func (s *Server) IssueToken(user string, platform int, ttl time.Duration) string {
	c := NewClaims(user, platform, ttl, time.Now())
	s.mu.Lock()
	c.Jti = s.randHexLocked(16)
	tok := SignToken(s.cfg.Secret, c)
	s.st.Tokens[tok] = &TokenInfo{UserID: user, PlatformID: platform}
	s.mu.Unlock()
	return tok
}

// SetTokenState marks tok (or every token of user/platform when tok is "")
// as "expired" or "revoked"; it returns how many tokens changed.
func (s *Server) SetTokenState(tok, user string, platform int, state string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if tok != "" {
		ti := s.st.Tokens[tok]
		if ti == nil {
			c, err := VerifyToken(s.cfg.Secret, tok, time.Now())
			if err != nil && !errors.Is(err, ErrTokenExpired) {
				return 0
			}
			ti = &TokenInfo{UserID: c.UserID, PlatformID: c.PlatformID}
			s.st.Tokens[tok] = ti
		}
		ti.State = state
		return 1
	}
	for _, ti := range s.st.Tokens {
		if ti.UserID == user && (platform == 0 || ti.PlatformID == platform) {
			ti.State = state
			n++
		}
	}
	return n
}

// connsMatching lists the connections of user (all if ""), optionally one
// platform or one connection ID.
func (s *Server) connsMatchingLocked(user string, platform int, id int64) []*Conn {
	var out []*Conn
	for _, c := range s.byID {
		if (user == "" || c.user == user) && (platform == 0 || c.platform == platform) && (id == 0 || c.id == id) {
			out = append(out, c)
		}
	}
	return out
}

// Kick sends 2002 (or, with ident 2003, an unsolicited logout) to the
// matching connections, closes them and invalidates their tokens.
func (s *Server) Kick(user string, platform int, ident int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.connsMatchingLocked(user, platform, 0)
	for _, c := range cs {
		if ident == 2003 {
			codec := c.codec
			codec.DataArray = s.v.DataArray
			b, _ := EncodeResp(codec, &Resp{ReqIdentifier: 2003})
			c.enqueue(outFrame{kind: fBinary, data: b, closeAfter: true})
			continue
		}
		c.sendKick()
		atomic.AddInt64(&s.stats.Kicks, 1)
		s.invalidateTokensLocked(c.user, c.platform, "")
	}
	return len(cs)
}

// CloseConns drops matching connections abruptly (TCP close, no close frame).
func (s *Server) CloseConns(user string, platform int, id int64) int {
	s.mu.Lock()
	cs := s.connsMatchingLocked(user, platform, id)
	s.mu.Unlock()
	for _, c := range cs {
		c.abort()
	}
	return len(cs)
}

// SendRaw queues raw bytes as one frame (binary unless text) on matching
// connections: garbage, oversize or hand-made frames.
func (s *Server) SendRaw(user string, platform int, id int64, data []byte, text bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.connsMatchingLocked(user, platform, id)
	kind := fRaw
	if text {
		kind = fText
	}
	for _, c := range cs {
		c.enqueue(outFrame{kind: kind, data: data})
	}
	return len(cs)
}

// PausePushes holds every push until ResumePushes.
func (s *Server) PausePushes() {
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
}

// ResumePushes delivers the held pushes in order and resumes; it returns
// how many were held.
func (s *Server) ResumePushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = false
	n := len(s.pending)
	for _, j := range s.pending {
		s.deliverLocked(j)
	}
	s.pending = nil
	return n
}

// AddFault installs a push fault and returns its ID.
func (s *Server) AddFault(f Fault) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count == 0 {
		f.Count = 1
	}
	f.ID = int64(len(s.faults)) + 1
	for _, o := range s.faults {
		if o.ID >= f.ID {
			f.ID = o.ID + 1
		}
	}
	s.faults = append(s.faults, &f)
	return f.ID
}

// ClearFaults removes every fault and releases pushes held for reordering.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for _, c := range s.byID {
		if c.held != nil {
			h := *c.held
			c.held = nil
			c.enqueue(h)
		}
	}
}

// Faults lists the installed faults.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Fault{}
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// Save persists the state to the state directory.
func (s *Server) Save() error {
	if s.cfg.StateDir == "" {
		return errors.New("no state directory")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seqLog != nil {
		s.seqLog.flush()
	}
	return s.st.Save(s.cfg.StateDir)
}

// Restart simulates a gateway restart: save, drop every connection, stop
// listening for down, reload the state from disk and listen again on the
// same address.
func (s *Server) Restart(down time.Duration) error {
	if err := s.Save(); err != nil {
		return err
	}
	addr := s.WSAddr()
	s.Close()
	st, err := LoadState(s.cfg.StateDir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st = st
	s.calls, s.inCall = map[string]*call{}, map[string]string{}
	s.pending, s.paused = nil, false
	s.mu.Unlock()
	time.Sleep(down)
	_, err = s.ListenWS(addr)
	return err
}

// SeqLog returns ground-truth entries with index > since (at most max).
func (s *Server) SeqLog(since int64, max int) []SeqEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if since < 0 {
		since = 0
	}
	if since >= int64(len(s.st.SeqLog)) {
		return []SeqEntry{}
	}
	out := s.st.SeqLog[since:]
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return append([]SeqEntry(nil), out...)
}

// DeleteMsgs turns seqs of a conversation into placeholders and/or raises
// its minSeq; it fails for an unknown conversation.
func (s *Server) DeleteMsgs(id string, seqs []int64, minSeq int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.st.Convs[id]
	if cv == nil {
		return errors.New("no such conversation")
	}
	for _, q := range seqs {
		if q >= 1 && q <= cv.MaxSeq() {
			cv.Msgs[q-1] = nil
		}
	}
	if minSeq > 0 {
		cv.MinSeq = minSeq
	}
	return nil
}

// Messages returns copies of the stored messages of a conversation.
func (s *Server) Messages(id string) []*pb.MsgData {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.st.Convs[id]
	if cv == nil {
		return nil
	}
	out := make([]*pb.MsgData, 0, len(cv.Msgs))
	for i := range cv.Msgs {
		out = append(out, msgAt(cv, int64(i+1)))
	}
	return out
}

// SetVariants replaces the variant flags at run time.
func (s *Server) SetVariants(v Variants) {
	s.mu.Lock()
	s.v = v
	s.mu.Unlock()
}

// GetVariants returns the current variant flags.
func (s *Server) GetVariants() Variants {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

// ConnInfos snapshots every connection.
func (s *Server) ConnInfos() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c.info())
	}
	return out
}
