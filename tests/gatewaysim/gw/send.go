package gw

// SendMsg (1003): validation and error codes, conversation IDs, per-
// conversation seqs, and the push fan-out with its fault injection (pause,
// drop, duplicate, reorder). NOTES.md §3.5, §3.6, §3.9.

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// pushJob is one stored or push-only message on its way to connections.
type pushJob struct {
	convID  string
	opID    string
	msg     *pb.MsgData
	users   []string // every connection of these users
	exclude int64    // connection not to push to (0 = none)
	others  []*Conn  // extra connections (a signaling actor's other devices)
}

// Fault alters selected pushes; a zero field matches anything.
type Fault struct {
	ID             int64  `json:"id"`
	Action         string `json:"action"` // drop, dup, reorder
	ConversationID string `json:"conversationID,omitempty"`
	Seq            int64  `json:"seq,omitempty"`
	UserID         string `json:"userID,omitempty"`
	ConnID         int64  `json:"connID,omitempty"`
	Count          int    `json:"count"` // applications left; <0 = unlimited
}

// matches tells whether f applies to msg pushed to c in conversation id.
func (f *Fault) matches(id string, msg *pb.MsgData, c *Conn) bool {
	return f.Count != 0 && (f.ConversationID == "" || f.ConversationID == id) &&
		(f.Seq == 0 || f.Seq == msg.Seq) && (f.UserID == "" || f.UserID == c.user) &&
		(f.ConnID == 0 || f.ConnID == c.id)
}

// convIDFor computes the conversation ID of m (NOTES.md §3.9) and the pair
// of users that may read it ("" group for pairs).
func convIDFor(m *pb.MsgData) (id string, users []string, group string) {
	notif := false
	if v, ok := m.Options["isNotNotification"]; ok && !v {
		notif = true
	}
	switch m.SessionType {
	case 3:
		if notif {
			return "n_" + m.GroupID, nil, m.GroupID
		}
		return "sg_" + m.GroupID, nil, m.GroupID
	case 4:
		users = []string{m.SendID, m.RecvID}
		if notif {
			return "n_" + pairID(m.SendID, m.RecvID), users, ""
		}
		return "sn_" + pairID(m.SendID, m.RecvID), users, ""
	default:
		users = []string{m.SendID, m.RecvID}
		if notif {
			return "n_" + pairID(m.SendID, m.RecvID), users, ""
		}
		return "si_" + pairID(m.SendID, m.RecvID), users, ""
	}
}

// checkMsgLocked applies SendMsg's checks (NOTES.md §3.6) to m.
func (s *Server) checkMsgLocked(m *pb.MsgData) (int, string) {
	switch m.SessionType {
	case 1, 3, 4:
	default:
		return ErrServer, "unknown sessionType"
	}
	if len(m.Content) == 0 {
		return ErrEmpty, "message content is empty"
	}
	if len(m.Content) > MaxInbound {
		return ErrTooBig, "message content is too large"
	}
	if s.st.Users[m.SendID] == nil {
		return ErrNoUser, "sender does not exist"
	}
	if m.SessionType == 3 {
		g := s.st.Groups[m.GroupID]
		switch {
		case g == nil:
			return ErrNoGroup, "group not found"
		case g.Dismissed:
			return ErrDismissed, "group dismissed"
		case !g.Members[m.SendID]:
			return ErrNotMember, "sender is not in the group"
		case g.Muted:
			return ErrGroupMuted, "group is muted"
		case g.MutedMembers[m.SendID]:
			return ErrMemberMuted, "member is muted"
		}
		return 0, ""
	}
	if m.RecvID == m.SendID {
		return ErrSelf, "sender equals receiver"
	}
	if s.st.Users[m.RecvID] == nil {
		return ErrNoUser, "recipient does not exist"
	}
	return 0, ""
}

// storeLocked assigns m the next seq of its conversation, the server fields
// and status 2, stores a copy and logs the (conversationID, seq) pair.
func (s *Server) storeLocked(m *pb.MsgData) string {
	id, users, group := convIDFor(m)
	cv := s.st.conv(id, users, group)
	s.fillServerFieldsLocked(m)
	m.Seq = cv.MaxSeq() + 1
	cv.Msgs = append(cv.Msgs, proto.Clone(m).(*pb.MsgData))
	e := SeqEntry{Index: int64(len(s.st.SeqLog)) + 1, ConversationID: id, Seq: m.Seq,
		ServerMsgID: m.ServerMsgID, ClientMsgID: m.ClientMsgID, SendID: m.SendID, ContentType: m.ContentType}
	s.st.SeqLog = append(s.st.SeqLog, e)
	if s.seqLog != nil {
		s.seqLog.write(e)
	}
	return id
}

// fillServerFieldsLocked sets serverMsgID, sendTime (only if 0) and status.
func (s *Server) fillServerFieldsLocked(m *pb.MsgData) {
	m.ServerMsgID = s.randHexLocked(32)
	if m.SendTime == 0 {
		m.SendTime = time.Now().UnixMilli()
	}
	m.Status = 2
}

// recipientsOf lists the users a message of m's session type is pushed to.
func (s *Server) recipientsLocked(m *pb.MsgData) []string {
	if m.SessionType == 3 {
		g := s.st.Groups[m.GroupID]
		users := make([]string, 0, len(g.Members))
		for u := range g.Members {
			users = append(users, u)
		}
		return users
	}
	users := []string{m.RecvID}
	if v, ok := m.Options["senderSync"]; !ok || v {
		users = append(users, m.SendID)
	}
	return users
}

// sendMsg handles 1003 and always keeps the connection.
func (s *Server) sendMsg(c *Conn, req *Req, r *Resp) bool {
	var m pb.MsgData
	if err := proto.Unmarshal(req.Data, &m); err != nil {
		r.ErrCode, r.ErrMsg = ErrServer, "proto: "+err.Error()
		return c.sendResp(r, false, false)
	}
	if m.SendID != c.user {
		r.ErrCode, r.ErrMsg = ErrNoPerm, "no permission: sendID is not the connection's user"
		return c.sendResp(r, false, false)
	}
	s.mu.Lock()
	if code, msg := s.checkMsgLocked(&m); code != 0 {
		s.mu.Unlock()
		r.ErrCode, r.ErrMsg = code, msg
		return c.sendResp(r, false, false)
	}
	id := s.storeLocked(&m)
	r.Data = s.sendRespLocked(&m)
	atomic.AddInt64(&s.stats.Sends, 1)
	// The reply is queued before the pushes: both in one critical section,
	// so every connection sees pushes of a conversation in seq order.
	ok := c.sendRespLocked(r, false, false)
	job := pushJob{convID: id, opID: req.OperationID, msg: &m, users: s.recipientsLocked(&m)}
	if !s.v.PushToSender {
		job.exclude = c.id
	}
	s.pushLocked(job)
	s.mu.Unlock()
	return ok
}

// sendRespLocked encodes SendMsgResp per the SendRespSeq variant: field 4
// as the seq (KKIM), absent (OpenIM v3) or a whole MsgData (newer OpenIM).
func (s *Server) sendRespLocked(m *pb.MsgData) []byte {
	out := &pb.SendMsgResp{ServerMsgID: m.ServerMsgID, ClientMsgID: m.ClientMsgID, SendTime: m.SendTime}
	if s.v.SendRespSeq == "seq" {
		out.Seq = m.Seq
	}
	b, _ := proto.Marshal(out)
	if s.v.SendRespSeq == "msgdata" {
		md, _ := proto.Marshal(m)
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, md)
	}
	return nonNil(b)
}

// pushLocked delivers job now, or holds it while pushes are paused.
func (s *Server) pushLocked(job pushJob) {
	if s.paused {
		s.pending = append(s.pending, job)
		return
	}
	s.deliverLocked(job)
}

// deliverLocked encodes job once per codec and queues it on every target
// connection, applying the faults that match.
func (s *Server) deliverLocked(job pushJob) {
	resp := pushResp(job)
	var enc [8][]byte // by codec bits: json, gzip, array
	targets := append([]*Conn(nil), job.others...)
	for _, u := range job.users {
		for _, c := range s.conns[u] {
			if c.id != job.exclude && !(c.bg && c.platform == 1) {
				targets = append(targets, c)
			}
		}
	}
	for _, c := range targets {
		s.queuePushLocked(c, job, s.encodeOnceLocked(c, resp, &enc))
	}
}

// pushResp is the 2001 envelope of job's message.
func pushResp(job pushJob) *Resp {
	pm := &pb.PushMessages{Msgs: map[string]*pb.PullMsgs{}, NotificationMsgs: map[string]*pb.PullMsgs{}}
	placeMsgs(pm.Msgs, pm.NotificationMsgs, job.convID, &pb.PullMsgs{Msgs: []*pb.MsgData{job.msg}})
	data, _ := proto.Marshal(pm)
	return &Resp{ReqIdentifier: 2001, OperationID: job.opID, Data: data}
}

// encodeOnceLocked returns resp encoded for c's codec, encoding it at most
// once per codec variant (enc is indexed by the bits json, gzip, array).
func (s *Server) encodeOnceLocked(c *Conn, resp *Resp, enc *[8][]byte) []byte {
	k := 0
	if c.codec.JSON {
		k |= 1
	}
	if c.codec.Gzip {
		k |= 2
	}
	if s.v.DataArray && c.codec.JSON {
		k |= 4
	}
	if enc[k] == nil {
		cd := c.codec
		cd.DataArray = k&4 != 0
		enc[k], _ = EncodeResp(cd, resp)
	}
	return enc[k]
}

// queuePushLocked queues one encoded push on c through the fault rules.
func (s *Server) queuePushLocked(c *Conn, job pushJob, b []byte) {
	f := outFrame{kind: fBinary, data: b, push: true}
	copies := 1
	for _, ft := range s.faults {
		if !ft.matches(job.convID, job.msg, c) {
			continue
		}
		if ft.Count > 0 {
			ft.Count--
		}
		switch ft.Action {
		case "drop":
			copies = 0
		case "dup":
			copies = 2
		case "reorder":
			if c.held == nil {
				c.held = &f
				return
			}
		}
		break
	}
	for i := 0; i < copies; i++ {
		c.enqueue(f)
	}
	if c.held != nil {
		h := *c.held
		c.held = nil
		c.enqueue(h)
	}
}

// Inject stores (or, with pushOnly, just pushes) a message as if its sender
// had sent it, and returns its conversation ID and seq.
func (s *Server) Inject(m *pb.MsgData, opID string, pushOnly bool) (string, int64, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, msg := s.checkMsgLocked(m); code != 0 {
		return "", 0, code, msg
	}
	var id string
	if pushOnly {
		id, _, _ = convIDFor(m)
		s.fillServerFieldsLocked(m)
	} else {
		id = s.storeLocked(m)
	}
	s.pushLocked(pushJob{convID: id, opID: opID, msg: m, users: s.recipientsLocked(m)})
	return id, m.Seq, 0, ""
}

// textContent builds the {"text":...} body of a 101 message.
func textContent(t string) []byte {
	b, _ := json.Marshal(map[string]string{"text": t})
	return b
}
