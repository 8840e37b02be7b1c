// shapes.go — the Go structs whose gob and JSON encodings the C codec must
// read and write: OpenIM's envelope (the canonical shape, NOTES.md §2.2), the
// Go SDK's envelope (Go int, another field order), and shapes that add
// unknown fields of every gob kind, rename or mistype fields.
//
// The SDK structs are written here from the field list in NOTES.md §2.4, not
// copied from the SDK.
package main

import (
	"encoding/gob"
	"sync"
	"time"
)

// Req is OpenIM msggateway's request envelope: gob type name "Req".
type Req struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"`
	OperationID   string `json:"operationID"`
	MsgIncr       string `json:"msgIncr"`
	Data          []byte `json:"data"`
}

// Resp is OpenIM msggateway's response envelope: gob type name "Resp".
type Resp struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	MsgIncr       string `json:"msgIncr"`
	OperationID   string `json:"operationID"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          []byte `json:"data"`
}

// GeneralWsReq has the Go SDK's shape: Go int for the identifier.
type GeneralWsReq struct {
	ReqIdentifier int    `json:"reqIdentifier"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"`
	OperationID   string `json:"operationID"`
	MsgIncr       string `json:"msgIncr"`
	Data          []byte `json:"data"`
}

// GeneralWsResp has the Go SDK's shape: Go int, ErrCode/ErrMsg before MsgIncr.
type GeneralWsResp struct {
	ReqIdentifier int    `json:"reqIdentifier"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	MsgIncr       string `json:"msgIncr"`
	OperationID   string `json:"operationID"`
	Data          []byte `json:"data"`
}

// ReqReversed lists the request fields backwards with other integer widths.
type ReqReversed struct {
	Data          []byte
	MsgIncr       string
	OperationID   string
	SendID        string
	Token         string
	ReqIdentifier int64
}

// RespReversed lists the response fields backwards; ErrCode is an int8.
type RespReversed struct {
	Data          []byte
	ErrMsg        string
	ErrCode       int8
	OperationID   string
	MsgIncr       string
	ReqIdentifier int16
}

// Innermost is nested two levels deep inside the unknown fields.
type Innermost struct {
	X []float64
	Y map[int]string
}

// Inner is a nested struct type for the unknown fields.
type Inner struct {
	A    int
	B    string
	Deep *Innermost
}

// Stamp implements gob.GobEncoder: it travels as a GobEncoderT wire type.
type Stamp struct{ t time.Time }

// GobEncode hands gob the opaque bytes of the wrapped time.
func (s Stamp) GobEncode() ([]byte, error) { return s.t.MarshalBinary() }

// GobDecode restores the wrapped time.
func (s *Stamp) GobDecode(b []byte) error { return s.t.UnmarshalBinary(b) }

// ReqExtra interleaves the request's fields with unknown fields of every gob
// kind: struct, pointer, bool, uint, float, complex, map, slice, array,
// interface, GobEncoder, nested slices and maps of structs.
type ReqExtra struct {
	Pre           Inner
	ReqIdentifier int32
	Flag          bool
	Token         string
	Tags          map[string]int
	SendID        string
	List          []string
	OperationID   string
	Arr           [3]int16
	Any           interface{}
	MsgIncr       string
	Ratio         float64
	Cplx          complex128 `json:"-"`
	Data          []byte
	Count         uint64
	When          time.Time
	Custom        Stamp
	Structs       []Inner
	Nested        map[string][]Inner
	Matrix        [][]byte
	Ptr           *Inner
	Fn            func() `json:"-"` // never on the wire
	Post          Inner
}

// RespExtra is ReqExtra's counterpart for responses; the unknown fields come
// first and last, so the known ones sit in the middle of the value.
type RespExtra struct {
	Before        map[Inner2Key]bool `json:"-"`
	Small         float32
	Neg           int8
	ReqIdentifier int32
	MsgIncr       string
	Any2          interface{}
	OperationID   string
	ErrCode       int
	Words         [2]string
	ErrMsg        string
	Data          []byte
	Bits          []bool
	Big           uint
	Trail         Inner
}

// Inner2Key is a struct used as a map key type.
type Inner2Key struct {
	K string
	N uint8
}

// ReqDecoy carries fields whose names differ from the known ones only in
// case; gob matches exact names, so they are unknown fields.
type ReqDecoy struct {
	ReqIdentifier int32
	TOKEN         string
	Sendid        string
	OperationID   string
	Msgincr       string
	DATA          []byte
	hidden        int //nolint: unexported, never on the wire
}

// ReqWide has the request's names with an int64 identifier: values beyond
// int32 overflow the canonical field.
type ReqWide struct {
	ReqIdentifier int64
	SendID        string
}

// RespWideUint carries ErrCode as uint64, a type gob will not put into int.
type RespWideUint struct {
	ReqIdentifier int32
	ErrCode       uint64
}

// ReqDataString carries Data as a string instead of []byte.
type ReqDataString struct {
	ReqIdentifier int32
	Data          string
}

// ReqIdentUint carries ReqIdentifier as an unsigned integer.
type ReqIdentUint struct {
	ReqIdentifier uint32
	SendID        string
}

// RespErrFloat carries ErrCode as a float.
type RespErrFloat struct {
	ReqIdentifier int32
	ErrCode       float64
}

// RespDataInts carries Data as []int instead of []byte.
type RespDataInts struct {
	ReqIdentifier int32
	Data          []int
}

// ReqStructField carries SendID as a struct.
type ReqStructField struct {
	ReqIdentifier int32
	SendID        Inner
}

// Unrelated shares no field name with the envelopes.
type Unrelated struct {
	Foo int
	Bar string
}

var registerOnce sync.Once

// registerInterfaceTypes names the concrete types sent inside interface
// values. It is called by gen only: the canon subcommand must touch no gob
// type other than the one it encodes, so that the type gets id 65.
func registerInterfaceTypes() {
	registerOnce.Do(func() {
		gob.Register(Inner{})
		gob.Register(map[string]float64{})
		gob.Register([]int8{})
	})
}
