package gw

// The simulator's durable state: users, groups, tokens, conversations with
// their messages and seqs, and the ground-truth log of every assigned
// (conversationID, seq). Everything here is guarded by Server.mu; the file
// form is one JSON document written atomically (temp file + rename).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"kkim/sim/pb"
)

// User is a registered user.
type User struct {
	UserID   string `json:"userID"`
	Nickname string `json:"nickname,omitempty"`
}

// Group is a super group (sessionType 3).
type Group struct {
	GroupID      string          `json:"groupID"`
	Members      map[string]bool `json:"members"`
	Dismissed    bool            `json:"dismissed,omitempty"`
	Muted        bool            `json:"muted,omitempty"`
	MutedMembers map[string]bool `json:"mutedMembers,omitempty"`
}

// TokenInfo records an issued or seen token and why it stopped working.
type TokenInfo struct {
	UserID     string `json:"userID"`
	PlatformID int    `json:"platformID"`
	State      string `json:"state,omitempty"` // "", "revoked", "kicked", "expired"
}

// Conv is one conversation with its own seq space starting at 1.
type Conv struct {
	ID     string   `json:"id"`
	Users  []string `json:"users,omitempty"` // the pair for si_/sn_/n_ pairs
	Group  string   `json:"group,omitempty"` // for sg_/n_ group conversations
	MinSeq int64    `json:"minSeq,omitempty"`
	// Msgs[i] holds seq i+1; nil marks a deleted message (placeholder).
	Msgs []*pb.MsgData `json:"-"`
	// Raw is the persisted form of Msgs (protobuf bytes, nil = deleted).
	Raw [][]byte `json:"msgs"`
}

// MaxSeq is the highest seq assigned in c.
func (c *Conv) MaxSeq() int64 { return int64(len(c.Msgs)) }

// Notif tells whether c lives in notificationMsgs (n_ prefix).
func (c *Conv) Notif() bool { return strings.HasPrefix(c.ID, "n_") }

// SeqEntry is one line of the ground-truth log.
type SeqEntry struct {
	Index          int64  `json:"i"`
	ConversationID string `json:"conversationID"`
	Seq            int64  `json:"seq"`
	ServerMsgID    string `json:"serverMsgID"`
	ClientMsgID    string `json:"clientMsgID"`
	SendID         string `json:"sendID"`
	ContentType    int32  `json:"contentType"`
}

// State is everything the simulator persists.
type State struct {
	Users     map[string]*User      `json:"users"`
	Groups    map[string]*Group     `json:"groups"`
	Tokens    map[string]*TokenInfo `json:"tokens"`
	Convs     map[string]*Conv      `json:"convs"`
	SeqLog    []SeqEntry            `json:"seqLog"`
	UserConvs map[string][]string   `json:"-"` // rebuilt on load
}

// newState returns an empty state.
func newState() *State {
	return &State{Users: map[string]*User{}, Groups: map[string]*Group{},
		Tokens: map[string]*TokenInfo{}, Convs: map[string]*Conv{},
		UserConvs: map[string][]string{}}
}

// conv returns the conversation id, creating it with its readers.
func (st *State) conv(id string, users []string, group string) *Conv {
	c := st.Convs[id]
	if c != nil {
		return c
	}
	c = &Conv{ID: id, Users: users, Group: group}
	st.Convs[id] = c
	for _, u := range users {
		st.UserConvs[u] = append(st.UserConvs[u], id)
	}
	return c
}

// convsOf lists the conversation IDs user may read: its pair conversations
// and those of the groups it belongs to.
func (st *State) convsOf(user string) []string {
	ids := append([]string(nil), st.UserConvs[user]...)
	for _, c := range st.Convs {
		if c.Group != "" {
			if g := st.Groups[c.Group]; g != nil && g.Members[user] {
				ids = append(ids, c.ID)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// canRead tells whether user may read conversation c.
func (st *State) canRead(user string, c *Conv) bool {
	for _, u := range c.Users {
		if u == user {
			return true
		}
	}
	if c.Group != "" {
		g := st.Groups[c.Group]
		return g != nil && g.Members[user]
	}
	return false
}

// pairID joins two user IDs sorted bytewise (NOTES.md §3.9).
func pairID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + "_" + b
}

// Save writes st to dir/state.json atomically.
func (st *State) Save(dir string) error {
	for _, c := range st.Convs {
		c.Raw = make([][]byte, len(c.Msgs))
		for i, m := range c.Msgs {
			if m != nil {
				b, err := proto.Marshal(m)
				if err != nil {
					return err
				}
				c.Raw[i] = b
			}
		}
	}
	b, err := json.Marshal(st)
	for _, c := range st.Convs {
		c.Raw = nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "state-*.tmp")
	if err != nil {
		return err
	}
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, "state.json"))
}

// LoadState reads dir/state.json; a missing file gives an empty state.
func LoadState(dir string) (*State, error) {
	st := newState()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("state.json: %w", err)
	}
	if st.Users == nil {
		st.Users = map[string]*User{}
	}
	if st.Groups == nil {
		st.Groups = map[string]*Group{}
	}
	if st.Tokens == nil {
		st.Tokens = map[string]*TokenInfo{}
	}
	if st.Convs == nil {
		st.Convs = map[string]*Conv{}
	}
	st.UserConvs = map[string][]string{}
	for id, c := range st.Convs {
		c.Msgs = make([]*pb.MsgData, len(c.Raw))
		for i, raw := range c.Raw {
			if raw != nil {
				m := &pb.MsgData{}
				if err := proto.Unmarshal(raw, m); err != nil {
					return nil, fmt.Errorf("state.json: %s seq %d: %w", id, i+1, err)
				}
				c.Msgs[i] = m
			}
		}
		c.Raw = nil
		for _, u := range c.Users {
			st.UserConvs[u] = append(st.UserConvs[u], id)
		}
	}
	return st, nil
}
