package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// janusCall is one call recorded by Janus's record_play plugin over the
// HTTP transport (janus.transport.http).
type janusCall struct {
	base, file string
	session    string
	handle     string
	txn        int64
	events     chan map[string]interface{}
	done       chan struct{}
}

// janusHTTP is shared by every call: keep-alive connections, no timeouts
// beyond the long poll's.
var janusHTTP = &http.Client{Timeout: 60 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}

// newJanusCall prepares a call recorded under file name file.
func newJanusCall(base, file string) *janusCall {
	return &janusCall{base: base, file: file, events: make(chan map[string]interface{}, 16),
		done: make(chan struct{})}
}

func (j *janusCall) name() string { return j.file }
func (j *janusCall) room() string { return j.session }

// post sends one Janus request to path and returns the decoded reply; a
// "janus":"error" reply is an error.
func (j *janusCall) post(path string, body map[string]interface{}) (map[string]interface{}, error) {
	body["transaction"] = strconv.FormatInt(atomic.AddInt64(&j.txn, 1), 10)
	b, _ := json.Marshal(body)
	resp, err := janusHTTP.Post(j.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]interface{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out["janus"] == "error" {
		return nil, fmt.Errorf("janus error %v", out["error"])
	}
	return out, nil
}

// id returns data.id of a create/attach reply as a string.
func id(r map[string]interface{}) (string, error) {
	d, _ := r["data"].(map[string]interface{})
	f, ok := d["id"].(float64)
	if !ok {
		return "", errors.New("no data.id in the reply")
	}
	return strconv.FormatUint(uint64(f), 10), nil
}

// poll long-polls the session's events (which also keeps it alive) until
// stop.
func (j *janusCall) poll() {
	for {
		select {
		case <-j.done:
			return
		default:
		}
		resp, err := janusHTTP.Get(j.base + "/" + j.session + "?maxev=5")
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		var evs []map[string]interface{}
		raw := new(bytes.Buffer)
		_, _ = raw.ReadFrom(resp.Body)
		resp.Body.Close()
		if json.Unmarshal(raw.Bytes(), &evs) != nil { // maxev=1 or a single event
			var one map[string]interface{}
			if json.Unmarshal(raw.Bytes(), &one) == nil {
				evs = append(evs, one)
			}
		}
		for _, e := range evs {
			if e["janus"] == "event" {
				select {
				case j.events <- e:
				default:
				}
			}
		}
	}
}

// start creates a session, attaches record_play and sends "record" with an
// offer that carries every candidate; the answer comes as an event.
func (j *janusCall) start(p *peer) error {
	r, err := j.post("", map[string]interface{}{"janus": "create"})
	if err == nil {
		j.session, err = id(r)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	go j.poll()
	r, err = j.post("/"+j.session, map[string]interface{}{"janus": "attach", "plugin": "janus.plugin.recordplay"})
	if err == nil {
		j.handle, err = id(r)
	}
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	ld := p.pc.LocalDescription()
	if _, err := j.post("/"+j.session+"/"+j.handle, map[string]interface{}{"janus": "message",
		"body": map[string]interface{}{"request": "record", "name": j.file, "filename": j.file},
		"jsep": map[string]interface{}{"type": "offer", "sdp": ld.SDP}}); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-j.events:
			js, _ := e["jsep"].(map[string]interface{})
			sdp, _ := js["sdp"].(string)
			if sdp == "" {
				if pd, _ := e["plugindata"].(map[string]interface{}); pd != nil {
					if d, _ := pd["data"].(map[string]interface{}); d != nil && d["error"] != nil {
						return fmt.Errorf("record: %v", d["error"])
					}
				}
				continue
			}
			return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
		case <-deadline:
			return errors.New("no answer within 30 s")
		}
	}
}

// stop asks record_play to stop (it closes the .mjr files) and destroys
// the session.
func (j *janusCall) stop() {
	if j.handle != "" {
		_, _ = j.post("/"+j.session+"/"+j.handle, map[string]interface{}{"janus": "message",
			"body": map[string]interface{}{"request": "stop"}})
	}
	if j.session != "" {
		_, _ = j.post("/"+j.session, map[string]interface{}{"janus": "destroy"})
		close(j.done)
	}
}
