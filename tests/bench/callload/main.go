// Command callload: the load caller of the call-recording benchmark
// (scripts/bench-calls.sh, docs/benchmarks.md "Call recording").
//
//	callload relay -ws H:P -tokens FILE -callee-prefix P -ivf F -ogg F -secs S [-rate R]
//	    One simulator login per line of the token file ("userID platformID
//	    token", JSON sdk over gorilla/websocket); line i invites
//	    <prefix><i+1> with 1004, waits for the accept push (1601), offers
//	    over contentType-110 messages, trickles its candidates, applies the
//	    answer and candidates from 110 pushes (NOTES §6.7).
//	callload janus -url http://H:P/janus -n N -ivf F -ogg F -secs S [-rate R]
//	    N Janus HTTP sessions, each attached to janus.plugin.recordplay and
//	    sending {"request":"record"} with its offer (candidates inline).
//
// Every call is one Pion PeerConnection (VP8 + Opus, NACK responder, RTCP
// sender reports) streaming the same pre-encoded IVF and OGG files in real
// time once connected. Calls start at -rate per second; once every call is
// connected or has failed the program prints "steady CONNECTED FAILED",
// 2 s later "window SENT" (packets sent so far by all calls), after -secs
// in all "ending SENT", then stops the media, ends each
// call (hungUp / stop), prints one "call {json}" line per call (packets
// sent per track: highest minus first RTP sequence number, plus one) and
// "done".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

// callResult is what a call reports at its end (one "call" line).
type callResult struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Room      string `json:"room,omitempty"`
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
	Audio     sent   `json:"audio"`
	Video     sent   `json:"video"`
}

// signaler sets up and ends one call through a signaling service.
type signaler interface {
	// start signals the call for pc (offer out, answer in) and returns once
	// the remote description is set, or an error.
	start(p *peer) error
	// stop ends the call at the service (hungUp, stop) and releases it.
	stop()
	// name identifies the call in results (caller user, Janus file name).
	name() string
	// room is the service's identity of the call, if any.
	room() string
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: callload relay|janus [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	ivf := fs.String("ivf", "", "VP8 IVF file")
	ogg := fs.String("ogg", "", "Opus OGG file (one packet per page)")
	secs := fs.Float64("secs", 60, "seconds of streaming after all calls settled")
	rate := fs.Float64("rate", 10, "calls started per second")
	connectWait := fs.Duration("connect-wait", 60*time.Second, "per call, from its start to connected")
	ws := fs.String("ws", "127.0.0.1:10001", "relay mode: simulator WebSocket address")
	tokens := fs.String("tokens", "", "relay mode: caller token file")
	prefix := fs.String("callee-prefix", "rec", "relay mode: callee i is PREFIX<i+1>")
	janusURL := fs.String("url", "http://127.0.0.1:8088/janus", "janus mode: HTTP API base")
	n := fs.Int("n", 1, "janus mode: calls")
	_ = fs.Parse(os.Args[2:])

	media, err := loadMedia(*ivf, *ogg)
	if err != nil {
		fatal(err)
	}
	var sigs []signaler
	switch os.Args[1] {
	case "relay":
		creds, err := readTokens(*tokens)
		if err != nil {
			fatal(err)
		}
		for i, c := range creds {
			sigs = append(sigs, newSimCall(*ws, c, fmt.Sprintf("%s%d", *prefix, i+1)))
		}
	case "janus":
		for i := 0; i < *n; i++ {
			sigs = append(sigs, newJanusCall(*janusURL, fmt.Sprintf("call%d", i+1)))
		}
	default:
		fatal(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
	run(sigs, media, *rate, *connectWait, time.Duration(*secs*float64(time.Second)))
}

// warmup is the time between "steady" and "window": the recorders settle.
const warmup = 2 * time.Second

// totalSent sums the packets sent by every call so far.
func totalSent(peers []*peer) uint64 {
	var n uint64
	for _, p := range peers {
		if p != nil {
			a, v := p.counts()
			n += a.Packets + v.Packets
		}
	}
	return n
}

// run starts every call, streams, ends them and prints the results.
func run(sigs []signaler, media *mediaFiles, rate float64, connectWait, streamFor time.Duration) {
	peers := make([]*peer, len(sigs))
	errs := make([]string, len(sigs))
	var wg sync.WaitGroup
	tick := time.Duration(float64(time.Second) / rate)
	for i, s := range sigs {
		wg.Add(1)
		go func(i int, s signaler) {
			defer wg.Done()
			p, err := newPeer(media)
			if err == nil {
				peers[i] = p
				err = s.start(p)
			}
			if err == nil {
				err = p.waitConnected(connectWait)
			}
			if err != nil {
				errs[i] = err.Error()
			}
		}(i, s)
		time.Sleep(tick)
	}
	wg.Wait()
	connected := 0
	for _, e := range errs {
		if e == "" {
			connected++
		}
	}
	fmt.Printf("steady %d %d\n", connected, len(sigs)-connected)
	time.Sleep(warmup)
	fmt.Printf("window %d\n", totalSent(peers))
	time.Sleep(streamFor - warmup)
	fmt.Printf("ending %d\n", totalSent(peers))
	for _, p := range peers {
		if p != nil {
			p.stopMedia()
		}
	}
	time.Sleep(time.Second) // last retransmissions and packets in flight
	enc := json.NewEncoder(os.Stdout)
	for i, s := range sigs {
		wg.Add(1)
		go func(s signaler) { defer wg.Done(); s.stop() }(s)
		r := callResult{ID: i + 1, Name: s.name(), Room: s.room(), Connected: errs[i] == "", Error: errs[i]}
		if p := peers[i]; p != nil {
			r.Audio, r.Video = p.counts()
		}
		fmt.Print("call ")
		_ = enc.Encode(r)
		if len(sigs) > 50 {
			time.Sleep(20 * time.Millisecond) // do not end every call in the same instant
		}
	}
	wg.Wait()
	for _, p := range peers {
		if p != nil {
			p.close()
		}
	}
	fmt.Println("done")
}

// fatal prints err and exits 1.
func fatal(err error) {
	fmt.Fprintln(os.Stderr, "callload:", err)
	os.Exit(1)
}
