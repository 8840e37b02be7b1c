// cases.go — the conformance cases. Each case is a Go value (gob- and
// JSON-encoded by Go), a hand-written JSON text, or hand-made gob or gzip
// bytes. What C must get from each is decided by Go (gen.go), never here.
package main

import (
	"bytes"
	"encoding/gob"
	"math"
	"math/rand"
	"strings"
	"time"
)

type gcase struct {
	name    string
	kind    string      // "req" or "resp": the envelope C decodes into
	value   interface{} // encoded by encoding/gob and encoding/json
	rawJSON string      // a hand-written JSON frame
	rawGob  []byte      // hand-made gob bytes
	rawGz   []byte      // hand-made gzip member (gob inside)
	// knownJS names a documented divergence of the C JSON decoder from Go
	// (codec/json.c, top comment) that this case's JSON frames hit.
	knownJS string
}

// Documented divergences of codec/json.c from encoding/json, for forms the
// gateway never writes.
const (
	knownBigInt = "codec/json.c: integers outside int64 are rejected anywhere, Go ignores them in unknown keys"
	knownDupKey = "codec/json.c: exactly repeated keys are rejected, Go takes the last"
)

// bytesOf returns n deterministic pseudo-random bytes for seed.
func bytesOf(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// unixTime is a UTC time at sec seconds.
func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

const (
	jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJVc2VySUQiOiJ1X2FsaWNlIiwiUGxhdGZvcm1JRCI6NywiZXhwIjox" +
		"Nzk1NzM3NjAwLCJuYmYiOjE3NjQyMDE1NDAsImlhdCI6MTc2NDIwMTYwMH0.Yt5kq1S3m2dJ0dYB6o0t1nW2v6r0nq3XbJ0hO4Z9y8Q"
	opID      = "0f6c1d2e-3b4a-4c5d-9e8f-7a6b5c4d3e2f"
	nonASCII1 = "用户😀 Ünïcödé"
	nonASCII2 = "ключ-é\u0301-\u200d-مرحبا"
	escapes   = "<&>\"\\/\n\t\r\b\f\x00\x01\x1f\x7f\u2028\u2029"
	badUTF8   = "a\xff\xfeb\xc3\xed\xa0\x80z"
)

// envelopeCases are OpenIM's own Req and Resp at their edges.
func envelopeCases() []gcase {
	return []gcase{
		{name: "req_zero", kind: "req", value: Req{}},
		{name: "req_notes_vector", kind: "req", value: Req{1003, "t", "u1", "op", "1", []byte{1, 2}}},
		{name: "req_send_typical", kind: "req", value: Req{1003, jwt, "u_alice", opID, "u_alice_1764201600123_17", bytesOf(1, 240)}},
		{name: "req_data_empty", kind: "req", value: Req{ReqIdentifier: 1003, MsgIncr: "1", Data: []byte{}}},
		{name: "req_data_51200", kind: "req", value: Req{1003, "t", "u", "op", "2", bytesOf(2, 51200)}},
		{name: "req_data_51200_zeros", kind: "req", value: Req{ReqIdentifier: 1003, MsgIncr: "3", Data: make([]byte, 51200)}},
		{name: "req_len_boundaries", kind: "req", value: Req{1003, strings.Repeat("t", 256), strings.Repeat("s", 127),
			strings.Repeat("o", 128), strings.Repeat("m", 255), bytesOf(3, 128)}},
		{name: "req_ident_min", kind: "req", value: Req{ReqIdentifier: math.MinInt32, MsgIncr: "4"}},
		{name: "req_ident_max", kind: "req", value: Req{ReqIdentifier: math.MaxInt32, MsgIncr: "5"}},
		{name: "req_ident_neg1", kind: "req", value: Req{ReqIdentifier: -1}},
		{name: "req_ident_64", kind: "req", value: Req{ReqIdentifier: 64}},
		{name: "req_ident_neg65", kind: "req", value: Req{ReqIdentifier: -65}},
		{name: "req_nonascii", kind: "req", value: Req{2003, nonASCII2, nonASCII1, "é", "😀", []byte("ü")}},
		{name: "req_json_escapes", kind: "req", value: Req{1003, escapes, "<u>", "a&b", escapes, []byte{0}}},
		{name: "req_invalid_utf8", kind: "req", value: Req{1003, badUTF8, "\xff", "op", "\xc0\xaf", nil}},
		{name: "req_only_data", kind: "req", value: Req{Data: []byte{0}}},
		{name: "req_only_token", kind: "req", value: Req{Token: "t"}},
		{name: "resp_zero", kind: "resp", value: Resp{}},
		{name: "resp_kick", kind: "resp", value: Resp{ReqIdentifier: 2002}},
		{name: "resp_notes_vector", kind: "resp", value: Resp{1003, "1", "op", 0, "", []byte{0x0a}}},
		{name: "resp_push_typical", kind: "resp", value: Resp{2001, "", opID, 0, "", bytesOf(4, 600)}},
		{name: "resp_error", kind: "resp", value: Resp{1003, "18", opID, 1004, "sender equals receiver", nil}},
		{name: "resp_errcode_min", kind: "resp", value: Resp{ReqIdentifier: 1001, ErrCode: math.MinInt64}},
		{name: "resp_errcode_max", kind: "resp", value: Resp{ReqIdentifier: 1001, ErrCode: math.MaxInt64}},
		{name: "resp_errcode_neg1", kind: "resp", value: Resp{ReqIdentifier: 1001, ErrCode: -1, ErrMsg: "x"}},
		{name: "resp_errcode_2p31", kind: "resp", value: Resp{ReqIdentifier: 1001, ErrCode: 1 << 31}},
		{name: "resp_ident_min", kind: "resp", value: Resp{ReqIdentifier: math.MinInt32}},
		{name: "resp_ident_max", kind: "resp", value: Resp{ReqIdentifier: math.MaxInt32}},
		{name: "resp_data_empty", kind: "resp", value: Resp{ReqIdentifier: 2004, MsgIncr: "9", Data: []byte{}}},
		{name: "resp_data_51200", kind: "resp", value: Resp{1002, "10", "op", 0, "", bytesOf(5, 51200)}},
		{name: "resp_data_1mib", kind: "resp", value: Resp{1002, "11", "op", 0, "", bytesOf(6, 1<<20)}},
		{name: "resp_nonascii", kind: "resp", value: Resp{1003, nonASCII1, nonASCII2, 500, "错误: " + nonASCII2, []byte("é")}},
		{name: "resp_json_escapes", kind: "resp", value: Resp{1003, escapes, "<&>", 500, escapes, nil}},
		{name: "resp_invalid_utf8", kind: "resp", value: Resp{1003, "\xff", badUTF8, 1, "\xed\xa0\x80", []byte{0xff}}},
		{name: "cross_req_as_resp", kind: "resp", value: Req{1003, "t", "u1", "op", "1", []byte{1, 2}}},
		{name: "cross_resp_as_req", kind: "req", value: Resp{1003, "1", "op", 5, "m", []byte{1}}},
	}
}

// shapeCases are other Go structs carrying the envelope: the SDK's, other
// field orders and widths, unknown fields, decoys and mistyped fields.
func shapeCases() []gcase {
	inner := Inner{A: -7, B: "inner", Deep: &Innermost{X: []float64{1.5, -2.25, math.MaxFloat64},
		Y: map[int]string{1: "one", -2: "минус два"}}}
	when := time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)
	return []gcase{
		{name: "sdk_req_typical", kind: "req", value: GeneralWsReq{1003, "", "u_alice", opID, "u_alice_6f1c2b", bytesOf(7, 300)}},
		{name: "sdk_req_logout", kind: "req", value: GeneralWsReq{ReqIdentifier: 2003, SendID: "u", MsgIncr: "u_1"}},
		{name: "sdk_req_overflow", kind: "req", value: GeneralWsReq{ReqIdentifier: 1 << 40, SendID: "u"}},
		{name: "sdk_req_overflow_min", kind: "req", value: GeneralWsReq{ReqIdentifier: math.MinInt32 - 1}},
		{name: "sdk_resp_typical", kind: "resp", value: GeneralWsResp{2001, 0, "", "", opID, bytesOf(8, 400)}},
		{name: "sdk_resp_error", kind: "resp", value: GeneralWsResp{1004, 500, "call not found", "u_17", opID, nil}},
		{name: "sdk_resp_overflow", kind: "resp", value: GeneralWsResp{ReqIdentifier: 1 << 33, ErrCode: 1}},
		{name: "reversed_req", kind: "req", value: ReqReversed{[]byte{9, 8}, "mi", "op", "u", "tok", 1003}},
		{name: "reversed_req_overflow", kind: "req", value: ReqReversed{ReqIdentifier: math.MaxInt32 + 1}},
		{name: "reversed_resp", kind: "resp", value: RespReversed{[]byte{7}, "bad", -5, "op", "mi", 1003}},
		{name: "extra_req_known_only", kind: "req", value: ReqExtra{ReqIdentifier: 1003, Token: "t",
			SendID: "u1", OperationID: "op", MsgIncr: "1", Data: []byte{1, 2}}},
		{name: "extra_req_full", kind: "req", knownJS: knownBigInt, value: ReqExtra{Pre: inner, ReqIdentifier: 1003, Flag: true, Token: "tok",
			Tags: map[string]int{"a": 1, "b": -2}, SendID: "u1", List: []string{"x", "", "ÿ"}, OperationID: "op",
			Arr: [3]int16{-1, 0, 32767}, Any: inner, MsgIncr: "m", Ratio: -0.125, Cplx: complex(1.5, -2),
			Data: bytesOf(9, 70), Count: math.MaxUint64, When: when, Custom: Stamp{when},
			Structs: []Inner{{A: 1}, {B: "two", Deep: &Innermost{}}}, Nested: map[string][]Inner{"k": {inner}, "": nil},
			Matrix: [][]byte{{1, 2}, {}, {3}}, Ptr: &Inner{A: 3}, Fn: func() {}, Post: Inner{B: "post"}}},
		{name: "extra_req_full_int64", kind: "req", value: ReqExtra{Pre: inner, ReqIdentifier: 1002, Flag: true,
			Tags: map[string]int{"z": math.MinInt64}, SendID: "u2", List: []string{"y"}, Arr: [3]int16{-32768, 1, 2},
			Any: Inner{B: "in interface"}, MsgIncr: "m2", Ratio: 1e300, Data: bytesOf(11, 33), Count: math.MaxInt64,
			When: when, Structs: []Inner{inner}, Matrix: [][]byte{{0}}, Post: inner}},
		{name: "extra_req_iface_string", kind: "req", value: ReqExtra{ReqIdentifier: 1001, Any: "just a string", Flag: true}},
		{name: "extra_req_iface_slice", kind: "req", value: ReqExtra{ReqIdentifier: 1001, Any: []int8{-1, 2}, SendID: "u"}},
		{name: "extra_resp_known_only", kind: "resp", value: RespExtra{ReqIdentifier: 1003, MsgIncr: "1", OperationID: "op",
			ErrCode: 3, ErrMsg: "e", Data: []byte{1}}},
		{name: "extra_resp_full", kind: "resp", knownJS: knownBigInt, value: RespExtra{Before: map[Inner2Key]bool{{"k", 1}: true, {"", 0}: false},
			Small: 0.5, Neg: -3, ReqIdentifier: 2001, MsgIncr: "", Any2: map[string]float64{"pi": 3.14159, "e": 2.71828},
			OperationID: "op", ErrCode: -77, Words: [2]string{"α", "β"}, ErrMsg: "m", Data: bytesOf(10, 90),
			Bits: []bool{true, false, true}, Big: math.MaxUint64, Trail: inner}},
		{name: "extra_resp_full_int64", kind: "resp", value: RespExtra{Small: -1.25, Neg: 127, ReqIdentifier: 2001,
			Any2: "text in interface", OperationID: "op", ErrCode: math.MaxInt64, Words: [2]string{"", "ω"},
			Data: bytesOf(12, 44), Bits: []bool{false}, Big: math.MaxInt64, Trail: inner}},
		{name: "decoy_req", kind: "req", value: ReqDecoy{1003, "tok", "u1", "op", "7", []byte{9}, 5}},
		{name: "wide_req_ok", kind: "req", value: ReqWide{1001, "u"}},
		{name: "wide_req_overflow", kind: "req", value: ReqWide{1 << 31, "u"}},
		{name: "mistyped_resp_errcode_uint", kind: "resp", value: RespWideUint{1003, 7}},
		{name: "mistyped_req_data_string", kind: "req", value: ReqDataString{1003, "abc"}},
		{name: "mistyped_req_data_string_b64", kind: "req", value: ReqDataString{1003, "AQI="}},
		{name: "mistyped_req_ident_uint", kind: "req", value: ReqIdentUint{1003, "u"}},
		{name: "mistyped_req_struct", kind: "req", value: ReqStructField{1003, Inner{A: 1}}},
		{name: "mistyped_resp_errcode_float", kind: "resp", value: RespErrFloat{1003, 1.5}},
		{name: "mistyped_resp_errcode_float_int", kind: "resp", value: RespErrFloat{1003, 2}},
		{name: "mistyped_resp_data_ints", kind: "resp", value: RespDataInts{1003, []int{1, 2, 255}}},
		{name: "mistyped_resp_data_ints_300", kind: "resp", value: RespDataInts{1003, []int{1, 300}}},
		{name: "unrelated_req", kind: "req", value: Unrelated{5, "x"}},
		{name: "unrelated_resp", kind: "resp", value: Unrelated{Bar: "only bar"}},
		{name: "nonstruct_int_req", kind: "req", value: 1003},
		{name: "nonstruct_map_req", kind: "req", value: map[string]string{"SendID": "u"}},
		{name: "nonstruct_string_resp", kind: "resp", value: "hello"},
		{name: "nonstruct_bytes_resp", kind: "resp", value: []byte{1, 2}},
	}
}

// jsonCases are hand-written JSON frames: key case, data forms, unknown keys
// of every JSON type, escapes, and inputs Go refuses.
func jsonCases() []gcase {
	deep := strings.Repeat("[", 20) + "1" + strings.Repeat("]", 20)
	r := func(name, text string) gcase { return gcase{name: name, kind: "req", rawJSON: text} }
	p := func(name, text string) gcase { return gcase{name: name, kind: "resp", rawJSON: text} }
	return []gcase{
		r("json_req_keys_any_case", `{"DATA":"AQI=","msgincr":"1","SendId":"u1","reqidentifier":1003,"Token":"t","OPERATIONID":"op"}`),
		r("json_req_data_array", `{"reqIdentifier":1003,"sendID":"u1","msgIncr":"2","data":[1,2,255,0]}`),
		r("json_req_data_array_empty", `{"reqIdentifier":1003,"data":[]}`),
		r("json_req_data_null", `{"reqIdentifier":1003,"msgIncr":"3","data":null}`),
		r("json_req_data_absent", `{"reqIdentifier":1003,"msgIncr":"4"}`),
		r("json_req_data_emptystr", `{"reqIdentifier":1003,"data":""}`),
		r("json_req_unknown_keys", `{"x":{"a":[1,{"b":null}],"c":"d"},"reqIdentifier":1001,"y":[true,false,null,1.5e-3,-0,"s"],`+
			`"sendID":"u","z":-9223372036854775808,"w":"\u00e9\"}","msgIncr":"5","v":{},"deep":`+deep+`}`),
		{name: "json_req_unknown_bigint", kind: "req", knownJS: knownBigInt,
			rawJSON: `{"reqIdentifier":1003,"z":12345678901234567890,"msgIncr":"5"}`},
		r("json_req_whitespace", " \t\n{ \"reqIdentifier\" :\r\n 1002 , \"msgIncr\" : \"6\" ,\"data\":\t\"AA==\" }\n "),
		r("json_req_escapes", `{"reqIdentifier":1003,"token":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t\u0000","sendID":"\u7528\u6237","msgIncr":"7"}`),
		r("json_req_escaped_key", `{"reqIdentifier":1003,"msg\u0049ncr":"8","send\u0049D":"u"}`),
		r("json_req_folded_keys_last_wins", `{"reqIdentifier":1003,"msgIncr":"first","MSGINCR":"second","MsgIncr":"third"}`),
		{name: "json_req_duplicate_key", kind: "req", knownJS: knownDupKey,
			rawJSON: `{"reqIdentifier":1003,"msgIncr":"first","msgIncr":"second","MSGINCR":"third"}`},
		r("json_req_ident_min", `{"reqIdentifier":-2147483648}`),
		r("json_req_ident_overflow", `{"reqIdentifier":2147483648}`),
		r("json_req_ident_float", `{"reqIdentifier":1003.0}`),
		r("json_req_ident_exp", `{"reqIdentifier":1e3}`),
		r("json_req_ident_string", `{"reqIdentifier":"1003"}`),
		r("json_req_msgincr_number", `{"reqIdentifier":1003,"msgIncr":17}`),
		r("json_req_data_unpadded", `{"data":"AQI"}`),
		r("json_req_data_urlsafe", `{"data":"-_8="}`),
		r("json_req_data_array_256", `{"data":[1,256]}`),
		r("json_req_data_array_neg", `{"data":[-1]}`),
		r("json_req_trailing_garbage", `{"reqIdentifier":1} x`),
		r("json_req_truncated", `{"reqIdentifier":1003,"msgIncr":"1"`),
		r("json_req_top_array", `[1003]`),
		r("json_req_bad_escape", `{"msgIncr":"\x"}`),
		p("json_resp_gateway_push", `{"reqIdentifier":2001,"msgIncr":"","operationID":"op1","errCode":0,"errMsg":"","data":"CgVhbGljZQ=="}`),
		p("json_resp_error_null_data", `{"reqIdentifier":1003,"msgIncr":"18","operationID":"77aa","errCode":1004,"errMsg":"sender equals receiver","data":null}`),
		p("json_resp_kick", `{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}`),
		p("json_resp_data_emptystr", `{"reqIdentifier":1003,"msgIncr":"1","errCode":0,"data":""}`),
		p("json_resp_errcode_min", `{"reqIdentifier":1,"errCode":-9223372036854775808}`),
		p("json_resp_errcode_max", `{"reqIdentifier":1,"errCode":9223372036854775807}`),
		p("json_resp_errcode_overflow", `{"reqIdentifier":1,"errCode":9223372036854775808}`),
		p("json_resp_errmsg_go_escapes", `{"reqIdentifier":1003,"errCode":500,"errMsg":"rpc error: \u003cnil\u003e \u0026 \ufffd \u2028 \ud83d\ude00"}`),
		p("json_resp_data_array", `{"reqIdentifier":1003,"data":[10, 0 ,255]}`),
	}
}

// gobOf is a fresh encoder's stream for each value in turn.
func gobOf(values ...interface{}) []byte {
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// rawCases are hand-made gob and gzip inputs: trailing values, truncations,
// empty input, corrupt or concatenated gzip members.
func rawCases() []gcase {
	vec := gobOf(Req{1003, "t", "u1", "op", "1", []byte{1, 2}})
	def := vec[:int(vec[0])+1] // the type definition message alone
	gz := gzipLevel(vec, 0)
	badCRC := append([]byte(nil), gz...)
	badCRC[len(badCRC)-8] ^= 0x01
	badMagic := append([]byte(nil), gz...)
	badMagic[0] = 0x1e
	return []gcase{
		{name: "gob_req_trailing_value", kind: "req", rawGob: gobOf(Req{ReqIdentifier: 1}, Req{ReqIdentifier: 2})},
		{name: "gob_req_trailing_byte", kind: "req", rawGob: append(append([]byte(nil), vec...), 0)},
		{name: "gob_req_typedef_only", kind: "req", rawGob: def},
		{name: "gob_req_cut_in_typedef", kind: "req", rawGob: vec[:10]},
		{name: "gob_req_cut_in_value", kind: "req", rawGob: vec[:len(vec)-3]},
		{name: "gob_req_cut_last_byte", kind: "req", rawGob: vec[:len(vec)-1]},
		{name: "gob_req_empty", kind: "req", rawGob: []byte{}},
		{name: "gob_resp_nested_typedefs", kind: "resp", rawGob: gobOf(RespExtra{ReqIdentifier: 7,
			Trail: Inner{Deep: &Innermost{Y: map[int]string{0: ""}}}})},
		{name: "gz_req_ok_member", kind: "req", rawGz: gz},
		{name: "gz_req_truncated", kind: "req", rawGz: gz[:len(gz)-4]},
		{name: "gz_req_bad_crc", kind: "req", rawGz: badCRC},
		{name: "gz_req_bad_magic", kind: "req", rawGz: badMagic},
		{name: "gz_req_two_members", kind: "req", rawGz: append(append([]byte(nil), gz...), gz...)},
		{name: "gz_req_trailing_zero", kind: "req", rawGz: append(append([]byte(nil), gz...), 0)},
		{name: "gz_req_empty_member", kind: "req", rawGz: gzipLevel(nil, 0)},
	}
}

// allCases is every case, in the order of the manifest.
func allCases() []gcase {
	var cs []gcase
	cs = append(cs, envelopeCases()...)
	cs = append(cs, shapeCases()...)
	cs = append(cs, jsonCases()...)
	return append(cs, rawCases()...)
}
