// gen.go — writes Go's frames for every case and what Go decodes from each.
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"kkim/tests/conformance/gobconf/wide"
)

// goDecode is what the gateway (Go) makes of one frame: the envelope, or why
// it refuses the frame. Gob streams must end after the value: Go's Decoder
// would leave trailing bytes unread, but codec.h makes them an error (a
// fresh-encoder frame never has any), so that is the expectation.
func goDecode(kind, sdk string, raw []byte) (*hexEnv, string) {
	var h hexEnv
	var err error
	if sdk == "go" {
		br := bytes.NewReader(raw)
		dec := gob.NewDecoder(br)
		if kind == "req" {
			var r Req
			if err = dec.Decode(&r); err == nil {
				h = reqToHex(&r)
			}
		} else {
			var r Resp
			if err = dec.Decode(&r); err == nil {
				h = respToHex(&r)
			}
		}
		if err == nil && br.Len() != 0 {
			return nil, fmt.Sprintf("contract (codec.h): %d bytes after the value", br.Len())
		}
	} else {
		if kind == "req" {
			var r Req
			if err = json.Unmarshal(raw, &r); err == nil {
				h = reqToHex(&r)
			}
		} else {
			var r Resp
			if err = json.Unmarshal(raw, &r); err == nil {
				h = respToHex(&r)
			}
		}
	}
	if err != nil {
		return nil, "go: " + err.Error()
	}
	return &h, ""
}

// refusalCodes maps Go's reason for refusing a frame to the kk_err codes
// that mean the same (codec/kk_err.h), where the reason is unambiguous.
func refusalCodes(sdk, why string) []string {
	has := func(sub ...string) bool {
		for _, s := range sub {
			if strings.Contains(why, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("after the gzip member", "after the value"):
		return []string{"KK_EPROTO"}
	case has("invalid checksum", "invalid header"):
		return []string{"KK_EGZIP"}
	case sdk == "go" && has("EOF"):
		return []string{"KK_EAGAIN"}
	case sdk == "go" && has("out of range"):
		return []string{"KK_EOVERFLOW"}
	case sdk == "go" && has("wrong type", "type mismatch"):
		return []string{"KK_ETYPE"}
	case sdk == "js" && has("illegal base64"):
		return []string{"KK_EB64"}
	case sdk == "js" && intOverflow.MatchString(why):
		return []string{"KK_EOVERFLOW"}
	case sdk == "js" && has("unexpected end"):
		return []string{"KK_EJSON", "KK_EAGAIN"}
	case sdk == "js" && has("uint8"):
		return []string{"KK_EJSON", "KK_EOVERFLOW"}
	case sdk == "js":
		return []string{"KK_EJSON"}
	}
	return nil
}

// intOverflow matches Go's refusal of an integer literal too big for an int field.
var intOverflow = regexp.MustCompile(`cannot unmarshal number -?[0-9]+ into Go struct field \S+ of type int`)

// generator accumulates the manifest while writing frames.
type generator struct {
	dir  string
	m    manifest
	seen map[string]bool // canonical envelopes already listed for encoding
}

// add writes one frame of case c (plain and gzip'd, unless it is a gzip
// member already) and records Go's reading of it.
func (g *generator) add(c gcase, idx int, sdk string, raw []byte, isGz bool) error {
	ext := map[string]string{"go": ".gob", "js": ".json"}[sdk]
	plain := raw
	why := ""
	if isGz {
		var err error
		if plain, err = gunzip(raw); err != nil {
			why = "gunzip: " + err.Error()
		}
	}
	var env *hexEnv
	if why == "" {
		env, why = goDecode(c.kind, sdk, plain)
	}
	files := []struct {
		rel  string
		data []byte
		gz   bool
	}{{"go/" + c.name + ext + ".gz", raw, true}}
	if !isGz {
		files = []struct {
			rel  string
			data []byte
			gz   bool
		}{{"go/" + c.name + ext, raw, false}, {"go/" + c.name + ext + ".gz", gzipLevel(raw, idx), true}}
	}
	known := ""
	if sdk == "js" {
		known = c.knownJS
	}
	for _, f := range files {
		if err := writeFile(g.dir, f.rel, f.data); err != nil {
			return err
		}
		g.m.Decode = append(g.m.Decode, decodeEntry{File: f.rel, Case: c.name, Kind: c.kind, SDK: sdk,
			Gzip: f.gz, OK: env != nil, Why: why, CErr: refusalCodes(sdk, why), Known: known, Env: env})
	}
	if env != nil {
		key, _ := json.Marshal(struct {
			K string
			E *hexEnv
		}{c.kind, env})
		if !g.seen[string(key)] {
			g.seen[string(key)] = true
			name := c.name
			if sdk == "js" && !isGz && c.value != nil {
				name += "_js"
			}
			g.m.Encode = append(g.m.Encode, encodeEntry{Name: name, Kind: c.kind, Env: *env})
		}
	}
	return nil
}

// runWide65 prints, one per line as "name hex", frames of wide.Req or
// wide.Resp (kind) encoded in this fresh process, where the type gets id 65:
// their bytes up to the value are those of OpenIM's canonical frames.
func runWide65(kind string) error {
	var frames []struct {
		name string
		v    interface{}
	}
	add := func(name string, v interface{}) {
		frames = append(frames, struct {
			name string
			v    interface{}
		}{name, v})
	}
	switch kind {
	case "req":
		add("wide65_req_ok", wide.Req{ReqIdentifier: 1003, SendID: "u1", MsgIncr: "1", Data: []byte{1}})
		add("wide65_req_overflow", wide.Req{ReqIdentifier: 1 << 40, SendID: "u1"})
		add("wide65_req_overflow_min", wide.Req{ReqIdentifier: math.MinInt32 - 1})
	case "resp":
		add("wide65_resp_ok", wide.Resp{ReqIdentifier: 2001, ErrCode: math.MinInt64, Data: []byte{2}})
		add("wide65_resp_overflow", wide.Resp{ReqIdentifier: -(1 << 35), MsgIncr: "9"})
	default:
		return usage()
	}
	for _, f := range frames {
		fmt.Printf("%s %x\n", f.name, gobOf(f.v))
	}
	return nil
}

// wide65Cases runs this program twice more (wide65 req, wide65 resp) and
// turns what they print into raw gob cases.
func wide65Cases() ([]gcase, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cs []gcase
	for _, kind := range []string{"req", "resp"} {
		out, err := exec.Command(self, "wide65", kind).Output()
		if err != nil {
			return nil, fmt.Errorf("wide65 %s: %v", kind, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var name, hx string
			if _, err := fmt.Sscan(line, &name, &hx); err != nil {
				return nil, err
			}
			b, err := hex.DecodeString(hx)
			if err != nil {
				return nil, err
			}
			cs = append(cs, gcase{name: name, kind: kind, rawGob: b})
		}
	}
	return cs, nil
}

// runGen writes DIR/go/* and DIR/manifest.json.
func runGen(dir string) error {
	registerInterfaceTypes()
	g := &generator{dir: dir, seen: map[string]bool{}}
	extra, err := wide65Cases()
	if err != nil {
		return err
	}
	for i, c := range append(allCases(), extra...) {
		var err error
		switch {
		case c.value != nil:
			if err = g.add(c, i, "go", gobOf(c.value), false); err != nil {
				return err
			}
			js, jerr := json.Marshal(c.value)
			if jerr != nil {
				return fmt.Errorf("%s: %v", c.name, jerr)
			}
			err = g.add(c, i, "js", js, false)
		case c.rawJSON != "":
			err = g.add(c, i, "js", []byte(c.rawJSON), false)
		case c.rawGob != nil:
			err = g.add(c, i, "go", c.rawGob, false)
		case c.rawGz != nil:
			err = g.add(c, i, "go", c.rawGz, true)
		}
		if err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(&g.m, "", " ")
	if err != nil {
		return err
	}
	if err := writeFile(dir, "manifest.json", b); err != nil {
		return err
	}
	ok := 0
	for _, e := range g.m.Decode {
		if e.OK {
			ok++
		}
	}
	fmt.Printf("gen: %d Go frames (%d decodable, %d refused by Go), %d envelopes for C to encode, in %s\n",
		len(g.m.Decode), ok, len(g.m.Decode)-ok, len(g.m.Encode), filepath.Clean(dir))
	return nil
}
