// gobconf — the Go side of the Go ⇄ C envelope conformance test.
//
//	gobconf gen DIR          writes Go's frames (DIR/go/), the manifest of
//	                         expectations (DIR/manifest.json) for conf_c
//	gobconf canon DIR KIND   re-encodes the canonical cases of KIND (req or
//	                         resp) with a fresh encoder in a fresh process, so
//	                         the type gets id 65 as in the gateway (DIR/gocanon/)
//	gobconf verify DIR       decodes what conf_c encoded (DIR/c/) and compares
//	gobconf wide65 KIND      (used by gen) prints frames of a 64-bit twin of
//	                         Req or Resp whose definition equals OpenIM's
//
// Every expectation is what Go itself does: a case's frame is decoded by
// encoding/gob or encoding/json into OpenIM's Req or Resp, and the result (or
// the fact that Go refuses the frame) is what C must reproduce. Output: one
// line per file and direction, "PASS ..." or "FAIL ...: reason"; run.sh counts
// them. Standard library only; builds offline.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// hexEnv is an envelope in the manifest: both kinds' fields, strings and
// data as hex so that C compares raw bytes without unescaping anything.
type hexEnv struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"`
	OperationID   string `json:"operationID"`
	MsgIncr       string `json:"msgIncr"`
	ErrCode       int64  `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          string `json:"data"`
}

// decodeEntry tells conf_c to decode File and what Go got from it.
type decodeEntry struct {
	File string `json:"file"`
	Case string `json:"case"`
	Kind string `json:"kind"` // "req" or "resp"
	SDK  string `json:"sdk"`  // "go" (gob) or "js" (JSON)
	Gzip bool   `json:"gzip"`
	OK   bool   `json:"ok"`
	Why  string `json:"why,omitempty"` // Go's error, or the contract rule
	// CErr lists the kk_err names that say the same thing as Why
	// (codec/kk_err.h); empty when any refusal will do.
	CErr []string `json:"cerr,omitempty"`
	// Known names a documented divergence: a mismatch prints XFAIL.
	Known string  `json:"known,omitempty"`
	Env   *hexEnv `json:"env,omitempty"`
}

// encodeEntry tells conf_c to encode Env into DIR/c/Name.*.
type encodeEntry struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Env  hexEnv `json:"env"`
}

type manifest struct {
	Decode []decodeEntry `json:"decode"`
	Encode []encodeEntry `json:"encode"`
}

// reqToHex converts a decoded Req for the manifest.
func reqToHex(r *Req) hexEnv {
	return hexEnv{ReqIdentifier: r.ReqIdentifier, Token: hx(r.Token), SendID: hx(r.SendID),
		OperationID: hx(r.OperationID), MsgIncr: hx(r.MsgIncr), Data: hex.EncodeToString(r.Data)}
}

// respToHex converts a decoded Resp for the manifest.
func respToHex(r *Resp) hexEnv {
	return hexEnv{ReqIdentifier: r.ReqIdentifier, MsgIncr: hx(r.MsgIncr),
		OperationID: hx(r.OperationID), ErrCode: int64(r.ErrCode), ErrMsg: hx(r.ErrMsg),
		Data: hex.EncodeToString(r.Data)}
}

// hexToReq is reqToHex's inverse.
func hexToReq(h *hexEnv) (Req, error) {
	var r Req
	var err error
	r.ReqIdentifier = h.ReqIdentifier
	fields := []struct {
		dst *string
		src string
	}{{&r.Token, h.Token}, {&r.SendID, h.SendID}, {&r.OperationID, h.OperationID}, {&r.MsgIncr, h.MsgIncr}}
	for _, f := range fields {
		if *f.dst, err = unhx(f.src); err != nil {
			return r, err
		}
	}
	r.Data, err = hex.DecodeString(h.Data)
	return r, err
}

// hexToResp is respToHex's inverse.
func hexToResp(h *hexEnv) (Resp, error) {
	var r Resp
	var err error
	r.ReqIdentifier = h.ReqIdentifier
	r.ErrCode = int(h.ErrCode)
	fields := []struct {
		dst *string
		src string
	}{{&r.MsgIncr, h.MsgIncr}, {&r.OperationID, h.OperationID}, {&r.ErrMsg, h.ErrMsg}}
	for _, f := range fields {
		if *f.dst, err = unhx(f.src); err != nil {
			return r, err
		}
	}
	r.Data, err = hex.DecodeString(h.Data)
	return r, err
}

// hx is the hex of a string's bytes.
func hx(s string) string { return hex.EncodeToString([]byte(s)) }

// unhx is hx's inverse.
func unhx(s string) (string, error) {
	b, err := hex.DecodeString(s)
	return string(b), err
}

// gunzip inflates exactly one gzip member and rejects trailing bytes, the
// codec contract's rule (codec.h, codec_gzip_inflate).
func gunzip(in []byte) ([]byte, error) {
	br := bytes.NewReader(in)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the gzip member", br.Len())
	}
	return out, nil
}

// gzipLevel compresses in as one member; variant picks the level and whether
// the optional header fields (name, comment, extra, mtime) are present.
func gzipLevel(in []byte, variant int) []byte {
	levels := []int{gzip.DefaultCompression, gzip.BestSpeed, gzip.BestCompression,
		gzip.NoCompression, gzip.HuffmanOnly}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, levels[variant%len(levels)])
	if err != nil {
		panic(err)
	}
	if variant%3 == 1 {
		zw.Name = "frame.gob"
		zw.Comment = "kkim conformance"
		zw.Extra = []byte{'K', 'K', 2, 0, 1, 2}
		zw.ModTime = unixTime(1764201600)
	}
	if _, err := zw.Write(in); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// readManifest loads DIR/manifest.json.
func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// writeFile writes DIR/rel, creating its directory.
func writeFile(dir, rel string, b []byte) error {
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// usage is the error for a bad command line.
func usage() error {
	return errors.New("usage: gobconf gen DIR | canon DIR req|resp | verify DIR")
}

// main dispatches the subcommands; exit 1 = some case failed, 2 = broken.
func main() {
	var err error
	failed := 0
	switch {
	case len(os.Args) == 3 && os.Args[1] == "gen":
		err = runGen(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "wide65":
		err = runWide65(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "canon":
		err = runCanon(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "verify":
		failed, err = runVerify(os.Args[2])
	default:
		err = usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobconf:", err)
		os.Exit(2)
	}
	if failed > 0 {
		os.Exit(1)
	}
}
