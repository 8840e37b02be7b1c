package gw

// Request dispatch and the read-side operations: 1001 GetNewestSeq, 1002
// PullMsgBySeqList, 1005 PullMsg, 1006 GetConvMaxReadSeq, 1007
// PullConvLastMessage, 2003 Logout, 2004 SetBackgroundStatus (NOTES.md §3).

import (
	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// handle runs one request; false closes the connection (sendID mismatch,
// unknown reqIdentifier, NOTES.md §4.3).
func (s *Server) handle(c *Conn, req *Req) bool {
	if req.SendID != c.user {
		s.logf("conn %d (%s): sendID %q mismatch, closing", c.id, c.user, req.SendID)
		return false
	}
	r := &Resp{ReqIdentifier: req.ReqIdentifier, MsgIncr: req.MsgIncr, OperationID: req.OperationID}
	var out proto.Message
	code, msg := 0, ""
	switch req.ReqIdentifier {
	case 1001:
		out, code, msg = s.getNewestSeq(c, req.Data)
	case 1002:
		out, code, msg = s.pullBySeqList(c, req.Data)
	case 1003:
		return s.sendMsg(c, req, r)
	case 1004:
		return s.signal(c, req, r)
	case 1005:
		out, code, msg = s.pullBySeqs(c, req.Data)
	case 1006:
		out, code, msg = s.getConvMaxReadSeq(c, req.Data)
	case 1007:
		out, code, msg = s.pullLastMessage(c, req.Data)
	case 2003:
		return s.logout(c, req, r)
	case 2004:
		var bg pb.SetAppBackgroundStatusReq
		if err := proto.Unmarshal(req.Data, &bg); err != nil {
			code, msg = ErrServer, "proto: "+err.Error()
			break
		}
		s.mu.Lock()
		c.bg = bg.IsBackground
		s.mu.Unlock()
		// The gateway answers 2004 with null data.
	default:
		s.logf("conn %d (%s): unknown reqIdentifier %d, closing", c.id, c.user, req.ReqIdentifier)
		return false
	}
	r.ErrCode, r.ErrMsg = code, msg
	if code == 0 && out != nil {
		b, err := proto.Marshal(out)
		if err != nil {
			r.ErrCode, r.ErrMsg = ErrServer, err.Error()
		} else {
			r.Data = nonNil(b)
		}
	}
	return c.sendResp(r, false, false)
}

// nonNil turns an empty protobuf encoding into "" rather than null in JSON.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// getNewestSeq answers 1001: maxSeqs of every readable conversation with
// messages; minSeqs only where above 1 (OpenIM leaves it empty).
func (s *Server) getNewestSeq(c *Conn, data []byte) (proto.Message, int, string) {
	var in pb.GetMaxSeqReq
	if err := proto.Unmarshal(data, &in); err != nil {
		return nil, ErrServer, "proto: " + err.Error()
	}
	if in.UserID != c.user {
		return nil, ErrNoPerm, "no permission: userID is not the connection's user"
	}
	out := &pb.GetMaxSeqResp{MaxSeqs: map[string]int64{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.st.convsOf(c.user) {
		cv := s.st.Convs[id]
		if cv.MaxSeq() == 0 {
			continue
		}
		out.MaxSeqs[id] = cv.MaxSeq()
		if cv.MinSeq > 1 {
			if out.MinSeqs == nil {
				out.MinSeqs = map[string]int64{}
			}
			out.MinSeqs[id] = cv.MinSeq
		}
	}
	return out, 0, ""
}

// msgAt returns seq's message as it is pulled: a copy, or the status-4
// placeholder for a deleted message.
func msgAt(cv *Conv, seq int64) *pb.MsgData {
	m := cv.Msgs[seq-1]
	if m == nil {
		return &pb.MsgData{Seq: seq, Status: 4}
	}
	return proto.Clone(m).(*pb.MsgData)
}

// placeMsgs puts msgs of conversation id into the msgs or notificationMsgs
// map by its prefix.
func placeMsgs(msgs, notif map[string]*pb.PullMsgs, id string, pm *pb.PullMsgs) {
	if len(id) >= 2 && id[:2] == "n_" {
		notif[id] = pm
	} else {
		msgs[id] = pm
	}
}

// pullBySeqList answers 1002: per range, clamp to [minSeq, maxSeq] and return
// the LAST num seqs; isEnd = maxSeq <= end (asc) or begin <= minSeq (desc).
func (s *Server) pullBySeqList(c *Conn, data []byte) (proto.Message, int, string) {
	var in pb.PullMessageBySeqsReq
	if err := proto.Unmarshal(data, &in); err != nil {
		return nil, ErrServer, "proto: " + err.Error()
	}
	if in.UserID != c.user {
		return nil, ErrNoPerm, "no permission: userID is not the connection's user"
	}
	out := &pb.PullMessageBySeqsResp{Msgs: map[string]*pb.PullMsgs{}, NotificationMsgs: map[string]*pb.PullMsgs{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rg := range in.SeqRanges {
		cv := s.st.Convs[rg.ConversationID]
		if cv == nil || !s.st.canRead(c.user, cv) || rg.Num <= 0 {
			continue
		}
		minSeq, maxSeq := cv.MinSeq, cv.MaxSeq()
		if minSeq < 1 {
			minSeq = 1
		}
		begin, end := rg.Begin, rg.End
		if begin < minSeq {
			begin = minSeq
		}
		if end > maxSeq {
			end = maxSeq
		}
		if begin > end {
			continue
		}
		if end-begin+1 > rg.Num {
			begin = end - rg.Num + 1
		}
		pm := &pb.PullMsgs{}
		for seq := begin; seq <= end; seq++ {
			pm.Msgs = append(pm.Msgs, msgAt(cv, seq))
		}
		if in.Order == pb.PullOrder_PullOrderDesc {
			for i, j := 0, len(pm.Msgs)-1; i < j; i, j = i+1, j-1 {
				pm.Msgs[i], pm.Msgs[j] = pm.Msgs[j], pm.Msgs[i]
			}
			pm.IsEnd = rg.Begin <= minSeq
		} else {
			pm.IsEnd = maxSeq <= rg.End
		}
		placeMsgs(out.Msgs, out.NotificationMsgs, cv.ID, pm)
	}
	return out, 0, ""
}

// pullBySeqs answers 1005: exact seqs per conversation, same placement.
func (s *Server) pullBySeqs(c *Conn, data []byte) (proto.Message, int, string) {
	var in pb.GetSeqMessageReq
	if err := proto.Unmarshal(data, &in); err != nil {
		return nil, ErrServer, "proto: " + err.Error()
	}
	if in.UserID != c.user {
		return nil, ErrNoPerm, "no permission: userID is not the connection's user"
	}
	out := &pb.GetSeqMessageResp{Msgs: map[string]*pb.PullMsgs{}, NotificationMsgs: map[string]*pb.PullMsgs{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cs := range in.Conversations {
		cv := s.st.Convs[cs.ConversationID]
		if cv == nil || !s.st.canRead(c.user, cv) {
			continue
		}
		pm := &pb.PullMsgs{}
		for _, seq := range cs.Seqs {
			if seq >= 1 && seq <= cv.MaxSeq() && seq >= cv.MinSeq {
				pm.Msgs = append(pm.Msgs, msgAt(cv, seq))
			}
		}
		if len(pm.Msgs) == 0 {
			continue
		}
		if in.Order == pb.PullOrder_PullOrderDesc {
			for i, j := 0, len(pm.Msgs)-1; i < j; i, j = i+1, j-1 {
				pm.Msgs[i], pm.Msgs[j] = pm.Msgs[j], pm.Msgs[i]
			}
		}
		pm.IsEnd = true
		placeMsgs(out.Msgs, out.NotificationMsgs, cv.ID, pm)
	}
	return out, 0, ""
}

// getConvMaxReadSeq answers 1006; hasReadSeq is not tracked (0).
func (s *Server) getConvMaxReadSeq(c *Conn, data []byte) (proto.Message, int, string) {
	var in pb.GetConversationsHasReadAndMaxSeqReq
	if err := proto.Unmarshal(data, &in); err != nil {
		return nil, ErrServer, "proto: " + err.Error()
	}
	if in.UserID != c.user {
		return nil, ErrNoPerm, "no permission: userID is not the connection's user"
	}
	out := &pb.GetConversationsHasReadAndMaxSeqResp{Seqs: map[string]*pb.Seqs{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := in.ConversationIDs
	if len(ids) == 0 {
		ids = s.st.convsOf(c.user)
	}
	for _, id := range ids {
		cv := s.st.Convs[id]
		if cv == nil || !s.st.canRead(c.user, cv) || cv.MaxSeq() == 0 {
			continue
		}
		sq := &pb.Seqs{MaxSeq: cv.MaxSeq()}
		if m := cv.Msgs[cv.MaxSeq()-1]; m != nil {
			sq.MaxSeqTime = m.SendTime
		}
		out.Seqs[id] = sq
	}
	return out, 0, ""
}

// pullLastMessage answers 1007: the newest message of each conversation.
func (s *Server) pullLastMessage(c *Conn, data []byte) (proto.Message, int, string) {
	var in pb.GetLastMessageReq
	if err := proto.Unmarshal(data, &in); err != nil {
		return nil, ErrServer, "proto: " + err.Error()
	}
	if in.UserID != c.user {
		return nil, ErrNoPerm, "no permission: userID is not the connection's user"
	}
	out := &pb.GetLastMessageResp{Msgs: map[string]*pb.MsgData{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.ConversationIDs {
		cv := s.st.Convs[id]
		if cv == nil || !s.st.canRead(c.user, cv) || cv.MaxSeq() == 0 {
			continue
		}
		out.Msgs[id] = msgAt(cv, cv.MaxSeq())
	}
	return out, 0, ""
}

// logout answers 2003 with empty data and closes the connection after it.
func (s *Server) logout(c *Conn, req *Req, r *Resp) bool {
	var in pb.DelUserPushTokenReq
	if err := proto.Unmarshal(req.Data, &in); err != nil {
		r.ErrCode, r.ErrMsg = ErrServer, "proto: "+err.Error()
		return c.sendResp(r, false, false)
	}
	r.Data = nil
	c.sendResp(r, false, true)
	return true
}
