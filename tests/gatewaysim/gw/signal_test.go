package gw

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// invitation is a complete 1:1 invitation from a to b with a client roomID the gateway replaces.
func invitation(from string, to ...string) *pb.InvitationInfo {
	return &pb.InvitationInfo{InviterUserID: from, InviteeUserIDList: to, RoomID: "client-room",
		Timeout: 30, MediaType: "audio", PlatformID: 5, SessionType: 1, InitiateTime: 1700000000000}
}

// sig sends a SignalReq and decodes the SignalResp (nil on error, with the Resp).
func sig(t *testing.T, c *client, sr *pb.SignalReq) (*pb.SignalResp, *Resp) {
	t.Helper()
	r := c.call(1004, sr)
	if r.ErrCode != 0 {
		return nil, r
	}
	var out pb.SignalResp
	if err := proto.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return &out, r
}

// push1601 reads a push that must be a 1601 notification and returns it.
func push1601(t *testing.T, c *client) (string, *pb.MsgData) {
	t.Helper()
	id, m, _ := c.push()
	if m.ContentType != 1601 || m.SessionType != 1 || m.MsgFrom != 200 || m.Status != 2 {
		t.Fatalf("%s: not a 1601 push: %+v", c.user, m)
	}
	return id, m
}

// invite runs a's invite of b and returns the roomID and b's pushed MsgData.
func invite(t *testing.T, a, b *client) (string, *pb.MsgData) {
	t.Helper()
	out, r := sig(t, a, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{
		Invitation: invitation(a.user, b.user), Participant: &pb.ParticipantMetaData{UserInfo: &pb.PublicUserInfo{UserID: a.user, Nickname: "A"}}}}})
	if out == nil {
		t.Fatalf("invite: %+v", r)
	}
	inv := out.GetInvite()
	if inv == nil || !strings.HasPrefix(inv.RoomID, "room_") || len(inv.RoomID) != 21 || inv.Token != "rtc-"+inv.RoomID || inv.LiveURL == "" {
		t.Fatalf("invite resp %+v", out)
	}
	id, m := push1601(t, b)
	if id != "si_"+pairID(a.user, b.user) || m.SendID != a.user || m.RecvID != b.user || m.Seq != 0 {
		t.Fatalf("invite push %s %+v", id, m)
	}
	return inv.RoomID, m
}

// The whole 1:1 flow: invite, accept, hungUp with SignalResp answers and bare 1601 pushes.
func TestSignalInviteAcceptHungUp(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 5, "sdkType=js")
	b := ts.dial("b", 3, "")
	room, m := invite(t, a, b)
	var inv pb.SignalInviteReq
	if err := proto.Unmarshal(m.Content, &inv); err != nil || inv.Invitation.RoomID != room || inv.UserID != "a" ||
		inv.Invitation.InviteeUserIDList[0] != "b" || inv.Participant.UserInfo.Nickname != "A" || m.Ex != "" {
		t.Fatalf("bare invite %+v %v", &inv, err)
	}
	in := invitation("a", "b")
	in.RoomID = room
	out, _ := sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: in}}})
	if acc := out.GetAccept(); acc == nil || acc.RoomID != room || acc.Token != "rtc-"+room {
		t.Fatalf("%+v", out)
	}
	_, m = push1601(t, a)
	var acc pb.SignalAcceptReq
	if err := proto.Unmarshal(m.Content, &acc); err != nil || acc.UserID != "b" || acc.OpUserPlatformID != 3 || acc.Invitation.RoomID != room {
		t.Fatalf("accept push %+v", &acc)
	}
	a.quiet(50 * time.Millisecond) // no unsolicited 1004 by default
	_, r := sig(t, a, &pb.SignalReq{Payload: &pb.SignalReq_HungUp{HungUp: &pb.SignalHungUpReq{Invitation: in}}})
	if !bytes.Equal(r.Data, []byte{0x2a, 0x00}) {
		t.Fatalf("hungUp resp %x", r.Data)
	}
	_, m = push1601(t, b)
	var h pb.SignalHungUpReq
	if err := proto.Unmarshal(m.Content, &h); err != nil || h.UserID != "a" {
		t.Fatalf("%+v", &h)
	}
	// The call is over: a second hungUp finds nothing.
	if _, r := sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_HungUp{HungUp: &pb.SignalHungUpReq{Invitation: in}}}); r.ErrCode != 500 || r.ErrMsg != "call not found" {
		t.Fatalf("%+v", r)
	}
}

// reject and cancel answer with empty members and push 1601 to the other side.
func TestSignalRejectAndCancel(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 5, "")
	b := ts.dial("b", 5, "compression=gzip")
	room, _ := invite(t, a, b)
	in := invitation("a", "b")
	in.RoomID = room
	_, r := sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_Reject{Reject: &pb.SignalRejectReq{Invitation: in}}})
	if !bytes.Equal(r.Data, []byte{0x32, 0x00}) {
		t.Fatalf("%x", r.Data)
	}
	push1601(t, a)
	room, _ = invite(t, a, b) // both free again
	in.RoomID = room
	_, r = sig(t, a, &pb.SignalReq{Payload: &pb.SignalReq_Cancel{Cancel: &pb.SignalCancelReq{Invitation: in}}})
	if !bytes.Equal(r.Data, []byte{0x1a, 0x00}) {
		t.Fatalf("%x", r.Data)
	}
	_, m := push1601(t, b)
	var cn pb.SignalCancelReq
	if proto.Unmarshal(m.Content, &cn) != nil || cn.UserID != "a" || cn.Invitation.RoomID != room {
		t.Fatalf("%+v", &cn)
	}
	// After the cancel, accepting finds no call.
	if _, r = sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: in}}}); r.ErrMsg != "call not found" {
		t.Fatalf("%+v", r)
	}
}

// Busy users, self invites, unknown invitees, stale rooms and the wrong actor get their errors.
func TestSignalErrors(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 5, "")
	b := ts.dial("b", 5, "")
	c := ts.dial("c", 5, "")
	room, _ := invite(t, a, b)
	cases := []struct {
		c    *client
		sr   *pb.SignalReq
		code int
		msg  string
	}{
		{c, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{Invitation: invitation("c", "b")}}}, 500, "user is already in a call"},
		{a, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{Invitation: invitation("a", "c")}}}, 500, "user is already in a call"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{Invitation: invitation("c", "c")}}}, 1004, "cannot invite oneself"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{Invitation: invitation("c", "zz")}}}, 1003, "invitee does not exist"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: &pb.InvitationInfo{RoomID: "room_stale"}}}}, 500, "call not found"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: &pb.InvitationInfo{RoomID: room}}}}, 500, "call not found"},
		{b, &pb.SignalReq{Payload: &pb.SignalReq_Cancel{Cancel: &pb.SignalCancelReq{Invitation: &pb.InvitationInfo{RoomID: room}}}}, 500, "call not found"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_InviteInGroup{InviteInGroup: &pb.SignalInviteInGroupReq{Invitation: &pb.InvitationInfo{GroupID: "nog", InviteeUserIDList: []string{"d"}}}}}, 1201, "group not found"},
		{c, &pb.SignalReq{Payload: &pb.SignalReq_InviteInGroup{InviteInGroup: &pb.SignalInviteInGroupReq{Invitation: &pb.InvitationInfo{GroupID: "g1", InviteeUserIDList: []string{"d"}}}}}, 1203, "invitee is not in the group"},
	}
	for i, tc := range cases {
		if out, r := sig(t, tc.c, tc.sr); out != nil || r.ErrCode != tc.code || r.ErrMsg != tc.msg || r.Data != nil {
			t.Fatalf("%d: %+v", i, r)
		}
	}
	// A plain-OpenIM style empty SignalReq is an error too, and undecodable data is 500.
	if _, r := sig(t, c, &pb.SignalReq{}); r.ErrCode != 500 {
		t.Fatalf("%+v", r)
	}
}

// inviteInGroup reaches every invitee; the ring timeout ends the call without a push.
func TestSignalInviteInGroupAndRingTimeout(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial("c", 5, "")
	a := ts.dial("a", 5, "")
	b := ts.dial("b", 5, "")
	in := &pb.InvitationInfo{InviterUserID: "c", InviteeUserIDList: []string{"a", "b"}, GroupID: "g1",
		Timeout: 1, MediaType: "video", SessionType: 3, PlatformID: 5}
	out, r := sig(t, c, &pb.SignalReq{Payload: &pb.SignalReq_InviteInGroup{InviteInGroup: &pb.SignalInviteInGroupReq{Invitation: in}}})
	if out == nil || out.GetInviteInGroup() == nil {
		t.Fatalf("%+v", r)
	}
	room := out.GetInviteInGroup().RoomID
	for _, cl := range []*client{a, b} {
		_, m := push1601(t, cl)
		var g pb.SignalInviteInGroupReq
		if proto.Unmarshal(m.Content, &g) != nil || g.Invitation.RoomID != room || g.Invitation.GroupID != "g1" {
			t.Fatal(&g)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	a.quiet(10 * time.Millisecond)
	c.quiet(10 * time.Millisecond)
	in.RoomID = room
	if _, r := sig(t, a, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: in}}}); r.ErrMsg != "call not found" {
		t.Fatalf("%+v", r)
	}
}

// Accepting on one device pushes the accept to the user's other devices too.
func TestSignalAcceptReachesActorsOtherDevices(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 5, "")
	b := ts.dial("b", 5, "")
	b2 := ts.dial("b", 2, "")
	room, _ := invite(t, a, b)
	push1601(t, b2)
	in := invitation("a", "b")
	in.RoomID = room
	sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: in}}})
	push1601(t, a)
	_, m := push1601(t, b2)
	var acc pb.SignalAcceptReq
	if proto.Unmarshal(m.Content, &acc) != nil || acc.OpUserPlatformID != 5 || acc.UserID != "b" {
		t.Fatal(&acc)
	}
}

// Variants: wrapped content, ex hint, stored with a seq, unsolicited 1004 to the other party.
func TestSignalVariants(t *testing.T) {
	v := DefaultVariants()
	v.SignalWrapped, v.SignalEx, v.SignalStored, v.SignalResp1004 = true, true, true, true
	ts := start(t, Config{Variants: v})
	a := ts.dial("a", 5, "sdkType=js")
	b := ts.dial("b", 5, "")
	out, _ := sig(t, a, &pb.SignalReq{Payload: &pb.SignalReq_Invite{Invite: &pb.SignalInviteReq{Invitation: invitation("a", "b")}}})
	room := out.GetInvite().RoomID
	id, m := push1601(t, b)
	var w pb.SignalReq
	if id != "si_a_b" || m.Ex != "invite" || m.Seq != 1 || proto.Unmarshal(m.Content, &w) != nil ||
		w.GetInvite().GetInvitation().GetRoomID() != room || m.Content[0] != 0x0a {
		t.Fatalf("%s %+v", id, m)
	}
	in := invitation("a", "b")
	in.RoomID = room
	sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_Accept{Accept: &pb.SignalAcceptReq{Invitation: in}}})
	_, m = push1601(t, a)
	if m.Ex != "accept" || m.Seq != 2 || proto.Unmarshal(m.Content, &w) != nil || w.GetAccept() == nil {
		t.Fatalf("%+v", m)
	}
	r := a.next()
	var sr pb.SignalResp
	if r.ReqIdentifier != 1004 || r.MsgIncr != "" || proto.Unmarshal(r.Data, &sr) != nil || sr.GetAccept().GetRoomID() != room {
		t.Fatalf("unsolicited %+v", r)
	}
	sig(t, b, &pb.SignalReq{Payload: &pb.SignalReq_HungUp{HungUp: &pb.SignalHungUpReq{Invitation: in}}})
	_, m = push1601(t, a)
	if m.Ex != "hungUp" || m.Seq != 3 {
		t.Fatalf("%+v", m)
	}
	if r := a.next(); r.ReqIdentifier != 1004 || !bytes.Equal(r.Data, []byte{0x2a, 0}) {
		t.Fatalf("%+v", r)
	}
	if got := len(ts.s.Messages("si_a_b")); got != 3 {
		t.Fatal(got)
	}
}

// WebRTC offers are custom messages (110) routed like any other message.
func TestWebRTCSignalsRouteAsCustomMessages(t *testing.T) {
	ts := start(t, Config{})
	a := ts.dial("a", 5, "sdkType=js")
	b := ts.dial("b", 5, "")
	body := `{"type":"webrtc_signal","signalType":"offer","roomID":"room_1","data":{"type":"offer","sdp":"v=0\r\n"}}`
	m := text("a", "b", "a_rtc_1", "")
	m.ContentType, m.Content = 110, []byte(body)
	sendResp(t, a.call(1003, m))
	_, pm, _ := b.push()
	if pm.ContentType != 110 || string(pm.Content) != body || pm.Seq != 1 {
		t.Fatalf("%+v", pm)
	}
}
