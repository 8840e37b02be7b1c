// Package wide holds envelopes named exactly like OpenIM's (gob type names
// "Req" and "Resp", same field names and order) but with 64-bit integers.
// Gob does not carry integer widths, so their type definitions are
// byte-identical to OpenIM's: a decoder that recognises the canonical
// definition must still check every value against int32.
package wide

// Req has OpenIM's request fields with an int64 ReqIdentifier.
type Req struct {
	ReqIdentifier int64
	Token         string
	SendID        string
	OperationID   string
	MsgIncr       string
	Data          []byte
}

// Resp has OpenIM's response fields with an int64 ReqIdentifier.
type Resp struct {
	ReqIdentifier int64
	MsgIncr       string
	OperationID   string
	ErrCode       int64
	ErrMsg        string
	Data          []byte
}
