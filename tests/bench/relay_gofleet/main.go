// Command relay-gofleet: the Go peers of the relay benchmarks
// (scripts/bench-relay.sh, docs/benchmarks.md "Relay core").
//
//	relay-gofleet fleet -url ws://H:P -tokens FILE -n N
//	    A minimal Go client fleet: one gorilla/websocket login per line of
//	    the token file ("userID platformID token"), gob envelopes decoded
//	    with a fresh encoding/gob Decoder per frame, a WebSocket ping to
//	    every login every -ping. Prints "online N" once all are up, then
//	    holds them until SIGTERM/SIGINT.
//	relay-gofleet pushlat -url ws://H:P -user U -platform P -token T -seconds S
//	    One gateway login that records, for each 2001 push carrying an
//	    injected clientMsgID, its arrival time minus the injection stamp:
//	    the gateway's (and the machine's scheduling) share of "lat".
//	relay-gofleet lat -redis H:P -stream KEY -seconds S
//	    XREAD BLOCKs the stream from its end and, for each entry whose
//	    clientMsgID is a simulator injection ("inj_<UnixNano base36>_<i>",
//	    stamped when the simulator built the message), records arrival
//	    time minus that stamp. Prints count and percentiles in ms.
//	relay-gofleet verify -redis H:P -stream KEY -convs C -per N
//	    Reads the whole stream (XRANGE) and checks that it holds exactly
//	    C conversations of N messages each, every one with seqs 1..N in
//	    stream order: no loss, no duplicate, no reordering. Exits 1 if not.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Resp is the gateway's response envelope (OpenIM msggateway Resp).
type Resp struct {
	ReqIdentifier int32
	MsgIncr       string
	OperationID   string
	ErrCode       int
	ErrMsg        string
	Data          []byte
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: relay-gofleet fleet|lat ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "fleet":
		fleet(os.Args[2:])
	case "lat":
		lat(os.Args[2:])
	case "pushlat":
		pushlat(os.Args[2:])
	case "verify":
		verify(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

type login struct {
	user, platform, token string
}

func readTokens(path string, n int) ([]login, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []login
	for _, ln := range strings.Split(string(b), "\n") {
		f := strings.Fields(ln)
		if len(f) != 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, login{f[0], f[1], f[2]})
		if n > 0 && len(out) == n {
			break
		}
	}
	return out, nil
}

// fleet holds one login per token line.
func fleet(args []string) {
	fs := flag.NewFlagSet("fleet", flag.ExitOnError)
	u := fs.String("url", "ws://127.0.0.1:10001", "gateway URL")
	tf := fs.String("tokens", "", "token file")
	n := fs.Int("n", 0, "logins (0 = every line)")
	dialers := fs.Int("dialers", 64, "parallel dialers")
	ping := fs.Duration("ping", 20*time.Second, "WebSocket ping interval per login")
	delay := fs.Duration("delay", 3*time.Second, "wait after start before dialing (baseline RSS)")
	fs.Parse(args)
	logins, err := readTokens(*tf, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second}
	var mu sync.Mutex
	conns := make([]*websocket.Conn, 0, len(logins))
	var failed, frames, closed int64
	work := make(chan login)
	var wg sync.WaitGroup
	fmt.Printf("ready %d logins\n", len(logins))
	os.Stdout.Sync()
	time.Sleep(*delay)
	t0 := time.Now()
	for i := 0; i < *dialers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range work {
				q := "?sendID=" + url.QueryEscape(l.user) + "&platformID=" + l.platform +
					"&token=" + url.QueryEscape(l.token) + "&operationID=f" + l.user + "&sdkType=go"
				c, _, err := d.Dial(*u+q, nil)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				go func(c *websocket.Conn) {
					for {
						kind, b, err := c.ReadMessage()
						if err != nil {
							atomic.AddInt64(&closed, 1)
							return
						}
						if kind == websocket.BinaryMessage {
							var r Resp
							if gob.NewDecoder(bytes.NewReader(b)).Decode(&r) == nil {
								atomic.AddInt64(&frames, 1)
							}
						}
					}
				}(c)
			}
		}()
	}
	for _, l := range logins {
		work <- l
	}
	close(work)
	wg.Wait()
	fmt.Printf("online %d failed %d in %.1f s\n", len(conns), failed, time.Since(t0).Seconds())
	os.Stdout.Sync()
	go func() {
		// One ticker for the fleet: every login is pinged once per interval,
		// spread evenly over it.
		for {
			mu.Lock()
			cs := append([]*websocket.Conn(nil), conns...)
			mu.Unlock()
			step := *ping / time.Duration(len(cs)+1)
			for _, c := range cs {
				c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
				time.Sleep(step)
			}
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Printf("frames %d closed %d\n", atomic.LoadInt64(&frames), atomic.LoadInt64(&closed))
}

// --- minimal RESP2 client --------------------------------------------------

type rclient struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (rc *rclient) send(args ...string) error {
	fmt.Fprintf(rc.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(rc.w, "$%d\r\n%s\r\n", len(a), a)
	}
	return rc.w.Flush()
}

// reply returns string, int64, nil or []interface{}.
func (rc *rclient) reply() (interface{}, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := ioReadFull(rc.r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		out := make([]interface{}, n)
		for i := range out {
			if out[i], err = rc.reply(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad RESP %q", line)
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// injStamp returns the UnixNano stamp of "inj_<base36>_<i>", or 0.
func injStamp(id string) int64 {
	if !strings.HasPrefix(id, "inj_") {
		return 0
	}
	rest := id[4:]
	k := strings.IndexByte(rest, '_')
	if k < 0 {
		return 0
	}
	v, err := strconv.ParseInt(rest[:k], 36, 64)
	if err != nil {
		return 0
	}
	return v
}

// printLat prints count and percentiles of lats (ns).
func printLat(what string, lats []int64, other int) {
	if len(lats) == 0 {
		fmt.Printf("%s: no injected entries seen\n", what)
		os.Exit(1)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))]) / 1e6 }
	fmt.Printf("%s entries %d other %d p50 %.3f ms p90 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.3f ms\n",
		what, len(lats), other, pct(0.5), pct(0.9), pct(0.99), pct(0.999), float64(lats[len(lats)-1])/1e6)
}

// pushlat holds one login and times the injected messages it is pushed.
func pushlat(args []string) {
	fs := flag.NewFlagSet("pushlat", flag.ExitOnError)
	u := fs.String("url", "ws://127.0.0.1:10001", "gateway URL")
	user := fs.String("user", "", "userID")
	plat := fs.String("platform", "5", "platformID")
	tok := fs.String("token", "", "token")
	secs := fs.Float64("seconds", 10, "how long to read")
	skip := fs.Float64("warmup", 1, "seconds of pushes ignored at the start")
	fs.Parse(args)
	q := "?sendID=" + url.QueryEscape(*user) + "&platformID=" + *plat + "&token=" + url.QueryEscape(*tok) +
		"&operationID=pl&sdkType=go"
	c, _, err := websocket.DefaultDialer.Dial(*u+q, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t0 := time.Now()
	end := t0.Add(time.Duration(*secs * float64(time.Second)))
	var lats []int64
	for time.Now().Before(end) {
		c.SetReadDeadline(end)
		kind, b, err := c.ReadMessage()
		now := time.Now().UnixNano()
		if err != nil {
			break
		}
		if kind != websocket.BinaryMessage {
			continue
		}
		var r Resp
		if gob.NewDecoder(bytes.NewReader(b)).Decode(&r) != nil || r.ReqIdentifier != 2001 {
			continue
		}
		if time.Since(t0).Seconds() < *skip {
			continue
		}
		for d := r.Data; ; {
			k := bytes.Index(d, []byte("inj_"))
			if k < 0 {
				break
			}
			e := k + 4
			for e < len(d) && d[e] != '_' {
				e++
			}
			if st := injStamp(string(d[k:minInt(e+2, len(d))])); st != 0 {
				lats = append(lats, now-st)
			}
			d = d[e:]
		}
	}
	printLat("pushlat", lats, 0)
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// mustCall sends one command and returns its reply, or exits.
func (rc *rclient) mustCall(args ...string) interface{} {
	err := rc.send(args...)
	var v interface{}
	if err == nil {
		v, err = rc.reply()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}

// dialRedis connects to Redis at addr or exits.
func dialRedis(addr string) *rclient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return &rclient{c: c, r: bufio.NewReaderSize(c, 1<<20), w: bufio.NewWriter(c)}
}

// lat reads the stream and prints latency percentiles.
func lat(args []string) {
	fs := flag.NewFlagSet("lat", flag.ExitOnError)
	addr := fs.String("redis", "127.0.0.1:6379", "Redis address")
	key := fs.String("stream", "", "stream key")
	secs := fs.Float64("seconds", 10, "how long to read")
	skip := fs.Float64("warmup", 1, "seconds of entries ignored at the start")
	fs.Parse(args)
	rc := dialRedis(*addr)
	last := "$"
	t0 := time.Now()
	end := t0.Add(time.Duration(*secs * float64(time.Second)))
	var lats []int64
	var other int
	for time.Now().Before(end) {
		v := rc.mustCall("XREAD", "COUNT", "10000", "BLOCK", "200", "STREAMS", *key, last)
		now := time.Now().UnixNano()
		if v == nil {
			continue
		}
		streams := v.([]interface{})
		ents := streams[0].([]interface{})[1].([]interface{})
		warm := time.Since(t0).Seconds() < *skip
		for _, e := range ents {
			ev := e.([]interface{})
			last = ev[0].(string)
			kv := ev[1].([]interface{})
			var st int64
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i].(string) == "clientMsgID" {
					st = injStamp(kv[i+1].(string))
					break
				}
			}
			if st == 0 {
				other++
				continue
			}
			if !warm {
				lats = append(lats, now-st)
			}
		}
	}
	printLat("latency", lats, other)
}

// verify checks a stream's completeness and per-conversation seq order.
func verify(args []string) {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	addr := fs.String("redis", "127.0.0.1:6379", "Redis address")
	key := fs.String("stream", "", "stream key")
	convs := fs.Int("convs", 0, "conversations expected")
	per := fs.Int64("per", 0, "messages expected in each")
	fs.Parse(args)
	rc := dialRedis(*addr)
	last := map[string]int64{}
	entries, bad := 0, 0
	from := "-"
	for {
		ents := rc.mustCall("XRANGE", *key, from, "+", "COUNT", "5000").([]interface{})
		for _, e := range ents {
			ev := e.([]interface{})
			kv := ev[1].([]interface{})
			var conv string
			var seq int64
			for i := 0; i+1 < len(kv); i += 2 {
				switch kv[i].(string) {
				case "conversationID":
					conv = kv[i+1].(string)
				case "seq":
					seq, _ = strconv.ParseInt(kv[i+1].(string), 10, 64)
				}
			}
			if seq != last[conv]+1 {
				bad++
			}
			last[conv] = seq
			entries++
		}
		if len(ents) < 5000 {
			break
		}
		from = "(" + ents[len(ents)-1].([]interface{})[0].(string)
	}
	short := 0
	for _, s := range last {
		if s != *per {
			short++
		}
	}
	fmt.Printf("verify entries %d convs %d out-of-order %d incomplete %d (want %d x %d)\n",
		entries, len(last), bad, short, *convs, *per)
	if bad != 0 || short != 0 || len(last) != *convs || int64(entries) != int64(*convs)**per {
		os.Exit(1)
	}
}
