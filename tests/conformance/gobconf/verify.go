// verify.go — the C → Go direction: Go decodes every frame conf_c encoded,
// into OpenIM's struct and into the SDK's, and compares with the canonical
// envelope; C's gob must equal Go's fresh-encoder bytes (canon).
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// runCanon gob-encodes the canonical envelopes of one kind in this process.
// No other gob type may be encoded before, so the type gets id 65 exactly as
// in the gateway, whose only gob type is Resp (NOTES.md §2.4).
func runCanon(dir, kind string) error {
	if kind != "req" && kind != "resp" {
		return usage()
	}
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	for _, e := range m.Encode {
		if e.Kind != kind {
			continue
		}
		var v interface{}
		if kind == "req" {
			r, err := hexToReq(&e.Env)
			if err != nil {
				return err
			}
			v = r
		} else {
			r, err := hexToResp(&e.Env)
			if err != nil {
				return err
			}
			v = r
		}
		if err := writeFile(dir, "gocanon/"+e.Name+".gob", gobOf(v)); err != nil {
			return err
		}
	}
	return nil
}

// reporter prints PASS/FAIL lines and counts failures.
type reporter struct{ failed int }

// check prints PASS for a nil err, FAIL with the reason otherwise.
func (r *reporter) check(what string, err error) {
	if err != nil {
		r.failed++
		fmt.Printf("FAIL c->go %s: %v\n", what, err)
		return
	}
	fmt.Printf("PASS c->go %s\n", what)
}

// gobInto decodes one gob frame into v with a fresh decoder; nothing may follow.
func gobInto(b []byte, v interface{}) error {
	br := bytes.NewReader(b)
	if err := gob.NewDecoder(br).Decode(v); err != nil {
		return err
	}
	if br.Len() != 0 {
		return fmt.Errorf("%d bytes after the value", br.Len())
	}
	return nil
}

// decodeBoth reads a frame as the canonical struct and as the SDK struct and
// returns both as canonical values (SDK ints must fit the canonical ones).
func decodeBoth(kind string, js bool, b []byte) (canon, sdk interface{}, err error) {
	into := gobInto
	if js {
		into = json.Unmarshal
	}
	if kind == "req" {
		var r Req
		var s GeneralWsReq
		if err = into(b, &r); err != nil {
			return nil, nil, fmt.Errorf("as Req: %v", err)
		}
		if err = into(b, &s); err != nil {
			return nil, nil, fmt.Errorf("as GeneralWsReq: %v", err)
		}
		return r, Req{int32(s.ReqIdentifier), s.Token, s.SendID, s.OperationID, s.MsgIncr, s.Data}, nil
	}
	var r Resp
	var s GeneralWsResp
	if err = into(b, &r); err != nil {
		return nil, nil, fmt.Errorf("as Resp: %v", err)
	}
	if err = into(b, &s); err != nil {
		return nil, nil, fmt.Errorf("as GeneralWsResp: %v", err)
	}
	return r, Resp{int32(s.ReqIdentifier), s.MsgIncr, s.OperationID, s.ErrCode, s.ErrMsg, s.Data}, nil
}

// sameEnv compares two envelopes field by field; nil and empty Data are equal
// (gob cannot tell them apart, NOTES.md §2.4).
func sameEnv(got, want interface{}) error {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < g.NumField(); i++ {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gb, ok := gf.([]byte); ok {
			if !bytes.Equal(gb, wf.([]byte)) {
				return fmt.Errorf("%s: got %x want %x", g.Type().Field(i).Name, short(gb), short(wf.([]byte)))
			}
			continue
		}
		if gf != wf {
			return fmt.Errorf("%s: got %q want %q", g.Type().Field(i).Name, fmt.Sprint(gf), fmt.Sprint(wf))
		}
	}
	return nil
}

// short is at most the first 32 bytes of b, for messages.
func short(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// jsonShape checks the key order (OpenIM's, as Go writes it) and the form of
// data: a base64 string, or a number array when asArray.
func jsonShape(kind string, b []byte, asArray bool) error {
	want := "reqIdentifier,token,sendID,operationID,msgIncr,data"
	if kind == "resp" {
		want = "reqIdentifier,msgIncr,operationID,errCode,errMsg,data"
	}
	var obj []string
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		obj = append(obj, key)
		if key == "data" && len(raw) > 0 {
			switch {
			case raw[0] == 'n' || string(raw) == `""` || string(raw) == "[]":
			case asArray && raw[0] != '[':
				return fmt.Errorf("data is %.20s, want a number array", raw)
			case !asArray && raw[0] != '"':
				return fmt.Errorf("data is %.20s, want a base64 string", raw)
			}
		}
	}
	if got := strings.Join(obj, ","); got != want {
		return fmt.Errorf("keys %s, want %s", got, want)
	}
	return nil
}

// jsonMeaning is what a Go peer reads back from Go's own JSON of canon: the
// meaning C's JSON must have (invalid UTF-8 becomes U+FFFD either way).
func jsonMeaning(kind string, canon interface{}) interface{} {
	b, err := json.Marshal(canon)
	if err != nil {
		panic(err)
	}
	c, _, err := decodeBoth(kind, true, b)
	if err != nil {
		panic(err)
	}
	return c
}

// verifyOne checks every file C wrote for one canonical envelope.
func verifyOne(dir string, e *encodeEntry, rep *reporter) error {
	var canon interface{}
	var err error
	if e.Kind == "req" {
		canon, err = hexToReq(&e.Env)
	} else {
		canon, err = hexToResp(&e.Env)
	}
	if err != nil {
		return err
	}
	for _, ext := range []string{".gob", ".gob.gz", ".json", ".json.gz", ".jsonarr", ".jsonarr.gz"} {
		rel := "c/" + e.Name + ext
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err == nil && strings.HasSuffix(ext, ".gz") {
			b, err = gunzip(b)
		}
		js := strings.HasPrefix(ext, ".json")
		if err == nil && js {
			err = jsonShape(e.Kind, b, strings.HasPrefix(ext, ".jsonarr"))
		}
		var got, gotSDK interface{}
		if err == nil {
			got, gotSDK, err = decodeBoth(e.Kind, js, b)
		}
		want := canon
		if err == nil && js {
			want = jsonMeaning(e.Kind, canon)
		}
		if err == nil {
			if err = sameEnv(got, want); err == nil {
				err = sameEnv(gotSDK, want)
			}
		}
		rep.check(rel, err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, "c/"+e.Name+".gob"))
	if err == nil {
		var gb []byte
		if gb, err = os.ReadFile(filepath.Join(dir, "gocanon/"+e.Name+".gob")); err == nil && !bytes.Equal(cb, gb) {
			i := 0
			for i < len(cb) && i < len(gb) && cb[i] == gb[i] {
				i++
			}
			err = fmt.Errorf("C's %d bytes differ from Go's %d at byte %d: C [%x] Go [%x]",
				len(cb), len(gb), i, short(cb[i:]), short(gb[i:]))
		}
	}
	rep.check("c/"+e.Name+".gob byte-identical to Go", err)
	return nil
}

// runVerify checks every envelope of the manifest; returns the failure count.
func runVerify(dir string) (int, error) {
	m, err := readManifest(dir)
	if err != nil {
		return 0, err
	}
	rep := &reporter{}
	for i := range m.Encode {
		if err := verifyOne(dir, &m.Encode[i], rep); err != nil {
			return rep.failed, err
		}
	}
	return rep.failed, nil
}
