package gw

import (
	"bytes"
	"testing"

	"github.com/gorilla/websocket"
)

// notesKick is NOTES.md §2.4's Resp{ReqIdentifier:2002} vector.
const notesKick = `60 ff81 03 01 01 04 52657370 01 ff82 00 01 06
   01 0d 5265714964656e746966696572 01 04 00   01 07 4d7367496e6372 01 0c 00
   01 0b 4f7065726174696f6e4944 01 0c 00      01 07 457272436f6465 01 04 00
   01 06 4572724d7367 01 0c 00                01 04 44617461 01 0a 00   00 00
07 ff82 01 fe0fa4 00`

// The gob Resp of a kick equals the NOTES.md vector byte for byte.
func TestGobKickFrameMatchesNotesVector(t *testing.T) {
	b, err := EncodeResp(Codec{}, &Resp{ReqIdentifier: 2002})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, notesKick); !bytes.Equal(b, want) {
		t.Fatalf("got  %x\nwant %x", b, want)
	}
}

// The value message of a 1003 response matches NOTES.md (delta 3 skips the zero ErrCode, ErrMsg).
func TestGobSendRespValueMatchesNotesVector(t *testing.T) {
	b, _ := EncodeResp(Codec{}, &Resp{ReqIdentifier: 1003, MsgIncr: "1", OperationID: "op", Data: []byte{0x0a}})
	want := unhex(t, "11 ff82 01 fe07d6 01 01 31 01 02 6f70 03 01 0a 00")
	if !bytes.HasSuffix(b, want) || len(b) != 0x61+len(want) {
		t.Fatalf("got %x", b)
	}
}

// The gateway decodes NOTES.md's Req vector (a Go SDK-style request with type id 65).
func TestGobReqNotesVectorDecodes(t *testing.T) {
	v := unhex(t, `5d ff81 03 01 01 03 526571 01 ff82 00 01 06
   01 0d 5265714964656e746966696572 01 04 00   01 05 546f6b656e 01 0c 00
   01 06 53656e644944 01 0c 00                01 0b 4f7065726174696f6e4944 01 0c 00
   01 07 4d7367496e6372 01 0c 00              01 04 44617461 01 0a 00   00 00
19 ff82 01 fe07d6 01 01 74 01 02 7531 01 02 6f70 01 01 31 01 02 0102 00`)
	r, err := DecodeReq(Codec{}, v)
	if err != nil {
		t.Fatal(err)
	}
	if r.ReqIdentifier != 1003 || r.Token != "t" || r.SendID != "u1" || r.OperationID != "op" ||
		r.MsgIncr != "1" || !bytes.Equal(r.Data, []byte{1, 2}) {
		t.Fatalf("got %+v", r)
	}
}

// JSON responses keep OpenIM's key order, base64 data, null for nil and "" for empty.
func TestJSONRespKeyOrderAndData(t *testing.T) {
	cases := []struct {
		r    Resp
		arr  bool
		want string
	}{
		{Resp{1003, "17", "op<1>", 0, "", []byte{1, 2, 255}}, false,
			`{"reqIdentifier":1003,"msgIncr":"17","operationID":"op\u003c1\u003e","errCode":0,"errMsg":"","data":"AQL/"}`},
		{Resp{1003, "18", "x", 1004, "self", nil}, false,
			`{"reqIdentifier":1003,"msgIncr":"18","operationID":"x","errCode":1004,"errMsg":"self","data":null}`},
		{Resp{1004, "", "", 0, "", []byte{}}, false,
			`{"reqIdentifier":1004,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":""}`},
		{Resp{2001, "", "o", 0, "", []byte{1, 2, 255}}, true,
			`{"reqIdentifier":2001,"msgIncr":"","operationID":"o","errCode":0,"errMsg":"","data":[1,2,255]}`},
	}
	for _, tc := range cases {
		b, err := EncodeResp(Codec{JSON: true, DataArray: tc.arr}, &tc.r)
		if err != nil || string(b) != tc.want {
			t.Fatalf("got %s want %s (%v)", b, tc.want, err)
		}
	}
}

// JSON requests accept data as base64, number array, null or absent, and keys case-insensitively.
func TestJSONReqAcceptsEveryDataForm(t *testing.T) {
	for in, want := range map[string]string{
		`{"reqIdentifier":1001,"sendID":"a","msgIncr":"1","data":"AQI="}`:  "\x01\x02",
		`{"reqIdentifier":1001,"sendID":"a","msgIncr":"1","data":[1,2]}`:   "\x01\x02",
		`{"reqIdentifier":1001,"sendID":"a","msgIncr":"1","data":null}`:    "",
		`{"ReqIdentifier":1001,"SENDID":"a","msgIncr":"1","unknown":true}`: "",
	} {
		r, err := DecodeReq(Codec{JSON: true}, []byte(in))
		if err != nil || r.ReqIdentifier != 1001 || r.SendID != "a" || string(r.Data) != want {
			t.Fatalf("%s: %+v %v", in, r, err)
		}
	}
	if _, err := DecodeReq(Codec{JSON: true}, []byte(`{"reqIdentifier":1001,"sendID":5}`)); err == nil {
		t.Fatal("number sendID must not decode")
	}
}

// Over a real socket, a gob+gzip kick frame gunzips to the NOTES.md bytes.
func TestKickFrameOnTheWireIsGzippedNotesVector(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial("a", 3, "compression=gzip")
	ts.dial("a", 3, "")
	mt, b := c.raw()
	raw, err := Gunzip(b, 1<<20)
	if mt != websocket.BinaryMessage || err != nil || !bytes.Equal(raw, unhex(t, notesKick)) {
		t.Fatalf("type %d err %v bytes %x", mt, err, raw)
	}
	c.closed()
}
