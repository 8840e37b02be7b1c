package gw

// RTC signaling (reqIdentifier 1004, NOTES.md §6): invite, inviteInGroup,
// accept, reject, cancel and hungUp with their SignalResp answers, the
// contentType-1601 notification pushes (bare or wrapped, with or without
// the ex hint, push-only or stored) and the unsolicited 1004 variant.

import (
	"time"

	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// Signaling error texts: clients match them (NOTES.md §6.4).
const (
	msgCallNotFound = "call not found"
	msgBusy         = "user is already in a call"
)

// call is one ringing or active call.
type call struct {
	roomID   string
	inviter  string
	inv      *pb.InvitationInfo
	pending  map[string]bool // invitees still ringing
	accepted map[string]bool
	timer    *time.Timer
}

// parties lists everyone still in the call.
func (cl *call) parties() []string {
	out := []string{cl.inviter}
	for _, u := range cl.inv.InviteeUserIDList {
		if cl.pending[u] || cl.accepted[u] {
			out = append(out, u)
		}
	}
	return out
}

// sigErr is a failed signaling request.
type sigErr struct {
	code int
	msg  string
}

// signal handles one 1004 request; the connection always stays.
func (s *Server) signal(c *Conn, req *Req, r *Resp) bool {
	var sr pb.SignalReq
	if err := proto.Unmarshal(req.Data, &sr); err != nil {
		r.ErrCode, r.ErrMsg = ErrServer, "proto: "+err.Error()
		return c.sendResp(r, false, false)
	}
	s.mu.Lock()
	out, e := s.signalLocked(c, req.OperationID, &sr)
	s.mu.Unlock()
	if e != nil {
		r.ErrCode, r.ErrMsg = e.code, e.msg
		return c.sendResp(r, false, false)
	}
	b, _ := proto.Marshal(out)
	r.Data = nonNil(b)
	return c.sendResp(r, false, false)
}

// signalLocked dispatches on the SignalReq member.
func (s *Server) signalLocked(c *Conn, opID string, sr *pb.SignalReq) (*pb.SignalResp, *sigErr) {
	switch p := sr.Payload.(type) {
	case *pb.SignalReq_Invite:
		if p.Invite == nil {
			return nil, &sigErr{ErrServer, "invite is nil"}
		}
		p.Invite.UserID = c.user
		room, e := s.inviteLocked(c, opID, sr, p.Invite.Invitation, false)
		if e != nil {
			return nil, e
		}
		return &pb.SignalResp{Payload: &pb.SignalResp_Invite{Invite: &pb.SignalInviteResp{
			Token: s.rtcToken(room), RoomID: room, LiveURL: liveURL(room)}}}, nil
	case *pb.SignalReq_InviteInGroup:
		if p.InviteInGroup == nil {
			return nil, &sigErr{ErrServer, "inviteInGroup is nil"}
		}
		p.InviteInGroup.UserID = c.user
		room, e := s.inviteLocked(c, opID, sr, p.InviteInGroup.Invitation, true)
		if e != nil {
			return nil, e
		}
		return &pb.SignalResp{Payload: &pb.SignalResp_InviteInGroup{InviteInGroup: &pb.SignalInviteInGroupResp{
			Token: s.rtcToken(room), RoomID: room, LiveURL: liveURL(room)}}}, nil
	case *pb.SignalReq_Cancel:
		if p.Cancel == nil {
			return nil, &sigErr{ErrServer, "cancel is nil"}
		}
		p.Cancel.UserID = c.user
		return s.answerLocked(c, opID, sr, p.Cancel.Invitation, "cancel")
	case *pb.SignalReq_Accept:
		if p.Accept == nil {
			return nil, &sigErr{ErrServer, "accept is nil"}
		}
		p.Accept.UserID, p.Accept.OpUserPlatformID = c.user, int32(c.platform)
		return s.answerLocked(c, opID, sr, p.Accept.Invitation, "accept")
	case *pb.SignalReq_Reject:
		if p.Reject == nil {
			return nil, &sigErr{ErrServer, "reject is nil"}
		}
		p.Reject.UserID, p.Reject.OpUserPlatformID = c.user, int32(c.platform)
		return s.answerLocked(c, opID, sr, p.Reject.Invitation, "reject")
	case *pb.SignalReq_HungUp:
		if p.HungUp == nil {
			return nil, &sigErr{ErrServer, "hungUp is nil"}
		}
		p.HungUp.UserID = c.user
		return s.answerLocked(c, opID, sr, p.HungUp.Invitation, "hungUp")
	}
	return nil, &sigErr{ErrServer, "unsupported signal"}
}

// rtcToken and liveURL are the SFU credentials of OpenIM's design; the
// KKIM peer-to-peer flow ignores them, so they only need to be stable.
func (s *Server) rtcToken(room string) string { return "rtc-" + room }

// liveURL names the (nonexistent) SFU of room.
func liveURL(room string) string { return "wss://sim.invalid/live/" + room }

// inviteLocked validates an invitation, creates the call with a fresh
// roomID and pushes the invite to every invitee.
func (s *Server) inviteLocked(c *Conn, opID string, sr *pb.SignalReq, inv *pb.InvitationInfo, group bool) (string, *sigErr) {
	if inv == nil {
		return "", &sigErr{ErrServer, "invitation is nil"}
	}
	if inv.InviterUserID == "" {
		inv.InviterUserID = c.user
	}
	if inv.InviterUserID != c.user {
		return "", &sigErr{ErrNoPerm, "inviter is not the connection's user"}
	}
	if len(inv.InviteeUserIDList) == 0 {
		return "", &sigErr{ErrServer, "invitee list is empty"}
	}
	var g *Group
	if group {
		if g = s.st.Groups[inv.GroupID]; g == nil || g.Dismissed {
			return "", &sigErr{ErrNoGroup, "group not found"}
		}
		if !g.Members[c.user] {
			return "", &sigErr{ErrNotMember, "user is not in the group"}
		}
	}
	for _, u := range inv.InviteeUserIDList {
		switch {
		case u == c.user:
			return "", &sigErr{ErrSelf, "cannot invite oneself"}
		case s.st.Users[u] == nil:
			return "", &sigErr{ErrNoUser, "invitee does not exist"}
		case g != nil && !g.Members[u]:
			return "", &sigErr{ErrNotMember, "invitee is not in the group"}
		}
	}
	for _, u := range append([]string{c.user}, inv.InviteeUserIDList...) {
		if s.inCall[u] != "" {
			return "", &sigErr{ErrServer, msgBusy}
		}
	}
	room := "room_" + s.randHexLocked(16)
	inv.RoomID = room
	if inv.Timeout <= 0 {
		inv.Timeout = 60
	}
	cl := &call{roomID: room, inviter: c.user, inv: proto.Clone(inv).(*pb.InvitationInfo),
		pending: map[string]bool{}, accepted: map[string]bool{}}
	s.inCall[c.user] = room
	for _, u := range inv.InviteeUserIDList {
		cl.pending[u] = true
		s.inCall[u] = room
	}
	cl.timer = time.AfterFunc(time.Duration(inv.Timeout)*time.Second, func() { s.ringTimeout(room) })
	s.calls[room] = cl
	kind := "invite"
	if group {
		kind = "inviteInGroup"
	}
	for _, u := range inv.InviteeUserIDList {
		s.push1601Locked(c, opID, sr, kind, u, nil)
	}
	return room, nil
}

// ringTimeout ends the invitations of room still unanswered, without any
// push (NOTES.md §6.3).
func (s *Server) ringTimeout(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.calls[room]
	if cl == nil {
		return
	}
	for u := range cl.pending {
		delete(cl.pending, u)
		s.leaveLocked(u, room)
	}
	if len(cl.accepted) == 0 {
		s.endCallLocked(cl)
	}
}

// leaveLocked frees user from room.
func (s *Server) leaveLocked(user, room string) {
	if s.inCall[user] == room {
		delete(s.inCall, user)
	}
}

// endCallLocked removes the call and frees all its parties.
func (s *Server) endCallLocked(cl *call) {
	if cl.timer != nil {
		cl.timer.Stop()
	}
	delete(s.calls, cl.roomID)
	s.leaveLocked(cl.inviter, cl.roomID)
	for _, u := range cl.inv.InviteeUserIDList {
		s.leaveLocked(u, cl.roomID)
	}
}

// answerLocked runs cancel, accept, reject and hungUp on a known call.
func (s *Server) answerLocked(c *Conn, opID string, sr *pb.SignalReq, inv *pb.InvitationInfo, kind string) (*pb.SignalResp, *sigErr) {
	if inv == nil {
		return nil, &sigErr{ErrServer, "invitation is nil"}
	}
	cl := s.calls[inv.RoomID]
	if cl == nil {
		return nil, &sigErr{ErrServer, msgCallNotFound}
	}
	var targets []string
	var others []*Conn
	var resp *pb.SignalResp
	switch kind {
	case "cancel":
		if c.user != cl.inviter || len(cl.accepted) > 0 {
			return nil, &sigErr{ErrServer, msgCallNotFound}
		}
		for u := range cl.pending {
			targets = append(targets, u)
		}
		s.endCallLocked(cl)
		resp = &pb.SignalResp{Payload: &pb.SignalResp_Cancel{Cancel: &pb.SignalCancelResp{}}}
	case "accept", "reject":
		if !cl.pending[c.user] {
			return nil, &sigErr{ErrServer, msgCallNotFound}
		}
		delete(cl.pending, c.user)
		targets = []string{cl.inviter}
		for u := range cl.accepted {
			targets = append(targets, u)
		}
		for _, o := range s.conns[c.user] {
			if o != c {
				others = append(others, o)
			}
		}
		if kind == "accept" {
			cl.accepted[c.user] = true
			resp = &pb.SignalResp{Payload: &pb.SignalResp_Accept{Accept: &pb.SignalAcceptResp{
				Token: s.rtcToken(cl.roomID), RoomID: cl.roomID, LiveURL: liveURL(cl.roomID)}}}
		} else {
			s.leaveLocked(c.user, cl.roomID)
			if len(cl.pending) == 0 && len(cl.accepted) == 0 {
				s.endCallLocked(cl)
			}
			resp = &pb.SignalResp{Payload: &pb.SignalResp_Reject{Reject: &pb.SignalRejectResp{}}}
		}
	case "hungUp":
		if c.user != cl.inviter && !cl.accepted[c.user] {
			return nil, &sigErr{ErrServer, msgCallNotFound}
		}
		for _, u := range cl.parties() {
			if u != c.user {
				targets = append(targets, u)
			}
		}
		if c.user == cl.inviter || len(cl.accepted) <= 1 {
			s.endCallLocked(cl)
		} else {
			delete(cl.accepted, c.user)
			s.leaveLocked(c.user, cl.roomID)
		}
		resp = &pb.SignalResp{Payload: &pb.SignalResp_HungUp{HungUp: &pb.SignalHungUpResp{}}}
	}
	// The pushed invitation carries the gateway's roomID as the call knows it.
	inv.RoomID = cl.roomID
	for i, u := range targets {
		var extra []*Conn
		if i == 0 {
			extra = others
		}
		s.push1601Locked(c, opID, sr, kind, u, extra)
		if s.v.SignalResp1004 {
			s.unsolicitedLocked(u, resp)
		}
	}
	return resp, nil
}

// unsolicitedLocked sends SignalResp as a 1004 frame with an empty msgIncr
// to every connection of user (NOTES.md §6.6 item 2).
func (s *Server) unsolicitedLocked(user string, resp *pb.SignalResp) {
	b, _ := proto.Marshal(resp)
	for _, c := range s.conns[user] {
		codec := c.codec
		codec.DataArray = s.v.DataArray
		f, err := EncodeResp(codec, &Resp{ReqIdentifier: 1004, Data: nonNil(b)})
		if err == nil {
			c.enqueue(outFrame{kind: fBinary, data: f, push: true})
		}
	}
}

// signalContent returns the 1601 content: the bare Signal*Req or the whole
// SignalReq, per the SignalWrapped variant.
func (s *Server) signalContent(sr *pb.SignalReq) []byte {
	var m proto.Message = sr
	if !s.v.SignalWrapped {
		switch p := sr.Payload.(type) {
		case *pb.SignalReq_Invite:
			m = p.Invite
		case *pb.SignalReq_InviteInGroup:
			m = p.InviteInGroup
		case *pb.SignalReq_Cancel:
			m = p.Cancel
		case *pb.SignalReq_Accept:
			m = p.Accept
		case *pb.SignalReq_Reject:
			m = p.Reject
		case *pb.SignalReq_HungUp:
			m = p.HungUp
		}
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	return b
}

// push1601Locked pushes one signaling notification from c's user to target
// (and to extra connections: the actor's other devices).
func (s *Server) push1601Locked(c *Conn, opID string, sr *pb.SignalReq, kind, target string, extra []*Conn) {
	m := &pb.MsgData{SendID: c.user, RecvID: target, ClientMsgID: s.randHexLocked(32),
		SenderPlatformID: int32(c.platform), SessionType: 1, MsgFrom: 200, ContentType: 1601,
		Content: s.signalContent(sr), CreateTime: time.Now().UnixMilli()}
	if s.v.SignalEx {
		m.Ex = kind
	}
	var id string
	if s.v.SignalStored {
		id = s.storeLocked(m)
	} else {
		id, _, _ = convIDFor(m)
		s.fillServerFieldsLocked(m)
	}
	s.pushLocked(pushJob{convID: id, opID: opID, msg: m, users: []string{target}, others: extra})
}
