// gobbench — the Go peer of the codec benchmark (scripts/bench-codec.sh).
//
//	gobbench gen DIR req|resp   wraps the payloads bench_codec wrote
//	                            (DIR/*.pb) into frames: DIR/<frame>.gob with a
//	                            fresh encoder (one type per process, so the
//	                            type id is 65 as in the gateway and the SDK)
//	                            and DIR/<frame>.json with encoding/json
//	gobbench run DIR [SECS [FRAME CODEC]]
//	                            times Go on the same frame files (or one)
//
// run prints "RESULT frame codec op bytes frames_per_s MB_per_s
// frames_per_cpu_s" lines like bench_codec: the median of 5 runs of about
// SECS seconds each, by the wall clock and by the process's CPU time. Gob decode
// uses a fresh Decoder per frame and gob encode a fresh Encoder per frame,
// as every gateway client must (NOTES.md §2.4); JSON uses json.Unmarshal and
// json.Marshal. Standard library only.
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Req is OpenIM msggateway's request envelope (NOTES.md §2.2).
type Req struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	Token         string `json:"token"`
	SendID        string `json:"sendID"`
	OperationID   string `json:"operationID"`
	MsgIncr       string `json:"msgIncr"`
	Data          []byte `json:"data"`
}

// Resp is OpenIM msggateway's response envelope.
type Resp struct {
	ReqIdentifier int32  `json:"reqIdentifier"`
	MsgIncr       string `json:"msgIncr"`
	OperationID   string `json:"operationID"`
	ErrCode       int    `json:"errCode"`
	ErrMsg        string `json:"errMsg"`
	Data          []byte `json:"data"`
}

const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJVc2VySUQiOiJ1XzM3NDgyOTEwMjMiLCJQbGF0Zm9ybUlEIjo3LCJleHAiOjE3" +
	"OTU3Mzc2MDAsIm5iZiI6MTc2NDIwMTU0MCwiaWF0IjoxNzY0MjAxNjAwfQ.qX7b1kz9S3m2dJ0dYB6o0t1nW2v6r0nq3XbJ0hO4Z9y8"

// frameNames are the measured frames; "send" is a request, the rest pushes.
var frameNames = []string{"push1", "push10", "push100", "send"}

// envelope wraps the payload of frame name the way the gateway (push, 2001)
// or the relay (send, 1003) fills the envelope.
func envelope(name string, data []byte) interface{} {
	if name == "send" {
		return &Req{1003, jwt, "u_3748291023", "c4f1a9d2e7b84f0a9e3d5c6b7a8f9e0d", "u_3748291023_1764201600123_17", data}
	}
	return &Resp{ReqIdentifier: 2001, OperationID: "5f0c3e1a9b7d4c2e8f6a1b3c5d7e9f0a", Data: data}
}

// runGen writes the gob and JSON frames of one envelope kind.
func runGen(dir, kind string) error {
	for _, name := range frameNames {
		if (name == "send") != (kind == "req") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name+".pb"))
		if err != nil {
			return err
		}
		env := envelope(name, data)
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(env); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".gob"), b.Bytes(), 0o644); err != nil {
			return err
		}
		js, err := json.Marshal(env)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), js, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ops returns the decode and encode operations for one frame file. The
// encode operation encodes the envelope decoded from the file.
func ops(name, codec string, frame []byte) (dec, enc func() error, err error) {
	isReq := name == "send"
	fresh := func() interface{} {
		if isReq {
			return &Req{}
		}
		return &Resp{}
	}
	var buf bytes.Buffer
	if codec == "gob" {
		dec = func() error { return gob.NewDecoder(bytes.NewReader(frame)).Decode(fresh()) }
	} else {
		dec = func() error { return json.Unmarshal(frame, fresh()) }
	}
	env := fresh()
	if codec == "gob" {
		err = gob.NewDecoder(bytes.NewReader(frame)).Decode(env)
		enc = func() error { buf.Reset(); return gob.NewEncoder(&buf).Encode(env) }
	} else {
		err = json.Unmarshal(frame, env)
		enc = func() error { _, e := json.Marshal(env); return e }
	}
	return dec, enc, err
}

// cpuSeconds is the CPU time of the whole process (every thread, so Go's
// garbage collector counts), user plus system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// runN runs op n times and returns the elapsed wall and CPU seconds.
func runN(op func() error, n int) (wall, cpu float64, err error) {
	c0, t0 := cpuSeconds(), time.Now()
	for i := 0; i < n; i++ {
		if err := op(); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(t0).Seconds(), cpuSeconds() - c0, nil
}

// measure calibrates an iteration count for about secs seconds and returns
// the median frames per wall second and per CPU second of 5 runs.
func measure(op func() error, secs float64) (fps, cpuFps float64, err error) {
	n := 1
	var t, c float64
	for {
		if t, _, err = runN(op, n); err != nil {
			return 0, 0, err
		}
		if t >= 0.1 {
			break
		}
		n *= 2
	}
	n = int(float64(n)*secs/t) + 1
	wall, cpu := make([]float64, 5), make([]float64, 5)
	for i := range wall {
		if t, c, err = runN(op, n); err != nil {
			return 0, 0, err
		}
		wall[i] = float64(n) / t
		if c > 0 {
			cpu[i] = float64(n) / c
		}
	}
	sort.Float64s(wall)
	sort.Float64s(cpu)
	return wall[2], cpu[2], nil
}

// runBench measures every frame file in both codecs, or only the one named
// by only ("FRAME CODEC") when it is not empty.
func runBench(dir string, secs float64, only string) error {
	ran := 0
	for _, name := range frameNames {
		for _, codec := range []string{"gob", "json"} {
			if only != "" && only != name+" "+codec {
				continue
			}
			ran++
			frame, err := os.ReadFile(filepath.Join(dir, name+"."+codec))
			if err != nil {
				return err
			}
			dec, enc, err := ops(name, codec, frame)
			if err != nil {
				return fmt.Errorf("%s.%s: %v", name, codec, err)
			}
			for _, m := range []struct {
				op string
				fn func() error
			}{{"decode", dec}, {"encode", enc}} {
				fps, cpuFps, err := measure(m.fn, secs)
				if err != nil {
					return fmt.Errorf("%s.%s %s: %v", name, codec, m.op, err)
				}
				fmt.Printf("RESULT %s %s %s %d %.0f %.1f %.0f\n", name, codec, m.op, len(frame), fps,
					fps*float64(len(frame))/1e6, cpuFps)
			}
		}
	}
	if ran == 0 {
		return fmt.Errorf("no frame named %q", only)
	}
	return nil
}

// main dispatches gen and run.
func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "gen":
		err = runGen(os.Args[2], os.Args[3])
	case (len(os.Args) == 3 || len(os.Args) == 4 || len(os.Args) == 6) && os.Args[1] == "run":
		secs := 1.0
		if len(os.Args) >= 4 {
			if s, perr := strconv.ParseFloat(os.Args[3], 64); perr == nil && s > 0 && s < 60 {
				secs = s
			}
		}
		only := ""
		if len(os.Args) == 6 {
			only = os.Args[4] + " " + os.Args[5]
		}
		err = runBench(os.Args[2], secs, only)
	default:
		err = fmt.Errorf("usage: gobbench gen DIR req|resp | run DIR [SECONDS [FRAME CODEC]]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobbench:", err)
		os.Exit(1)
	}
}
