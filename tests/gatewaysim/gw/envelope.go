// Package gw is the KKIM gateway simulator: an independent, server-side
// implementation of ../../shared/spec/NOTES.md on Go's own encoding/gob,
// encoding/json and compress/gzip. It must never share code with the relay's
// C codec: its purpose is to catch that codec's bugs.
//
// This file holds the frame envelope (NOTES.md §2): OpenIM's Req and Resp
// structs, encoded with a fresh gob encoder per frame (sdkType=go) or JSON
// (sdkType=js), optionally gzip-compressed.
package gw

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// Req is OpenIM's request envelope, field order and types exactly as the
// gateway declares them (NOTES.md §2.2).
type Req struct {
	ReqIdentifier int32  `json:"reqIdentifier" validate:"required"`
	Token         string `json:"token"`
	SendID        string `json:"sendID" validate:"required"`
	OperationID   string `json:"operationID" validate:"required"`
	MsgIncr       string `json:"msgIncr" validate:"required"`
	Data          []byte `json:"data"`
}

// Resp is OpenIM's response envelope (NOTES.md §2.2).
type Resp struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	MsgIncr       string `json:"msgIncr"`
	OperationID   string `json:"operationID"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          []byte `json:"data"`
}

// respArray is Resp with data written as a JSON number array (variant
// DataArray, NOTES.md §7 rule 1).
type respArray struct {
	ReqIdentifier int32           `json:"reqIdentifier"`
	MsgIncr       string          `json:"msgIncr"`
	OperationID   string          `json:"operationID"`
	ErrCode       int             `json:"errCode"`
	ErrMsg        string          `json:"errMsg"`
	Data          json.RawMessage `json:"data"`
}

// The gateway gob-encodes no type but Resp, so Resp must hold the first user
// type id (65) in this process, whatever else (tests, the bench client)
// registers later.
func init() {
	_ = gob.NewEncoder(io.Discard).Encode(Resp{})
}

// Codec describes how one connection's frames are encoded.
type Codec struct {
	JSON      bool // sdkType=js
	Gzip      bool // compression=gzip
	DataArray bool // JSON data as a number array instead of base64
}

// ErrInflate is returned when a frame does not gunzip.
var ErrInflate = errors.New("gzip: bad frame")

// maxInflated bounds a decompressed inbound frame: a gzip bomb must not
// exhaust memory. The relay's content limit is 51 200 bytes; JSON base64
// inflates it by 4/3 plus the envelope.
const maxInflated = 1 << 20

// EncodeResp returns the wire bytes of r for codec c: a complete gob stream
// from a fresh encoder, or JSON, then gzip if asked.
func EncodeResp(c Codec, r *Resp) ([]byte, error) {
	var raw []byte
	if c.JSON {
		var err error
		if c.DataArray {
			raw, err = json.Marshal(toArray(r))
		} else {
			raw, err = json.Marshal(r)
		}
		if err != nil {
			return nil, err
		}
	} else {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(r); err != nil {
			return nil, err
		}
		raw = b.Bytes()
	}
	if !c.Gzip {
		return raw, nil
	}
	return Gzip(raw), nil
}

// toArray converts r for the number-array variant; nil data stays null.
func toArray(r *Resp) *respArray {
	a := &respArray{r.ReqIdentifier, r.MsgIncr, r.OperationID, r.ErrCode, r.ErrMsg, nil}
	if r.Data == nil {
		a.Data = json.RawMessage("null")
		return a
	}
	buf := make([]byte, 0, 2+4*len(r.Data))
	buf = append(buf, '[')
	for i, v := range r.Data {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendUint(buf, uint64(v), 10)
	}
	a.Data = append(buf, ']')
	return a
}

// DecodeReq parses one inbound binary frame into a Req. Any error means the
// gateway closes the connection (NOTES.md §4.3).
func DecodeReq(c Codec, frame []byte) (*Req, error) {
	raw := frame
	if c.Gzip {
		var err error
		if raw, err = Gunzip(frame, maxInflated); err != nil {
			return nil, err
		}
	}
	var r Req
	if c.JSON {
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return &r, nil
	}
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncodeReq is the client side, used by tests and the bench client.
func EncodeReq(c Codec, r *Req) ([]byte, error) {
	var raw []byte
	if c.JSON {
		var err error
		if raw, err = json.Marshal(r); err != nil {
			return nil, err
		}
	} else {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(r); err != nil {
			return nil, err
		}
		raw = b.Bytes()
	}
	if c.Gzip {
		return Gzip(raw), nil
	}
	return raw, nil
}

// DecodeResp is the client side of EncodeResp (tests, bench client). Number
// arrays in JSON data decode too: encoding/json fills a []byte from either.
func DecodeResp(c Codec, frame []byte) (*Resp, error) {
	raw := frame
	if c.Gzip {
		var err error
		if raw, err = Gunzip(frame, 64<<20); err != nil {
			return nil, err
		}
	}
	var r Resp
	if c.JSON {
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return &r, nil
	}
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Gzip compresses b as one complete gzip member (NOTES.md §2.5).
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

// Gunzip inflates one gzip member, failing past limit bytes.
func Gunzip(b []byte, limit int64) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, ErrInflate
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil || int64(len(out)) > limit {
		return nil, ErrInflate
	}
	return out, nil
}
