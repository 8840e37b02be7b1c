// Command kkim-simbench measures the gateway simulator: how many concurrent
// connections it holds and how many pushes per second it delivers. It is a
// separate process from the simulator (each process here is limited to
// 20 000 file descriptors), creates its users, group and tokens through the
// control API, logs every user in over real WebSockets and counts what
// arrives. Results are printed as JSON lines.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"kkim/sim/gw"
)

// bench holds the run's parameters and counters.
type bench struct {
	ws, ctl  string
	prefix   string
	codec    gw.Codec
	pushes   int64 // binary frames received by all clients (atomic)
	conns    []*websocket.Conn
	connsMu  sync.Mutex
	failures int64
}

// post calls the control API.
func (b *bench) post(path string, in, out interface{}) {
	body, _ := json.Marshal(in)
	resp, err := http.Post("http://"+b.ctl+path, "application/json", bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Fatalf("%s: HTTP %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			log.Fatal(err)
		}
	}
}

// report prints one result line.
func report(kv map[string]interface{}) {
	kv["date"] = time.Now().Format("2006-01-02T15:04:05")
	b, _ := json.Marshal(kv)
	fmt.Println(string(b))
}

// dialAll logs n users in with par parallel dialers.
func (b *bench) dialAll(n, par int, tokens map[string]string) time.Duration {
	start := time.Now()
	next := int64(0)
	var wg sync.WaitGroup
	q := ""
	if b.codec.JSON {
		q += "&sdkType=js"
	}
	if b.codec.Gzip {
		q += "&compression=gzip"
	}
	d := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second}
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i > int64(n) {
					return
				}
				u := b.prefix + strconv.FormatInt(i, 10)
				ws, _, err := d.Dial("ws://"+b.ws+"/?sendID="+u+"&platformID=3&operationID=bench&token="+
					url.QueryEscape(tokens[u])+q, nil)
				if err != nil {
					atomic.AddInt64(&b.failures, 1)
					continue
				}
				b.connsMu.Lock()
				b.conns = append(b.conns, ws)
				b.connsMu.Unlock()
				go b.read(ws)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// read counts the binary frames of one connection.
func (b *bench) read(ws *websocket.Conn) {
	for {
		mt, r, err := ws.NextReader()
		if err != nil {
			return
		}
		if mt == websocket.BinaryMessage {
			atomic.AddInt64(&b.pushes, 1)
		}
		_ = r
	}
}

// pinger keeps every connection inside the 30 s read deadline.
func (b *bench) pinger(stop chan struct{}) {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.connsMu.Lock()
			cs := append([]*websocket.Conn(nil), b.conns...)
			b.connsMu.Unlock()
			for _, c := range cs {
				_ = c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			}
		}
	}
}

// waitPushes waits until want frames arrived or timeout; it returns the
// time of the last increase.
func (b *bench) waitPushes(want int64, start time.Time, timeout time.Duration) (int64, time.Duration) {
	last, lastT := int64(-1), time.Since(start)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n := atomic.LoadInt64(&b.pushes)
		if n != last {
			last, lastT = n, time.Since(start)
		}
		if n >= want {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return last, lastT
}

// rss reads a process's resident memory in MiB from /proc.
func rss(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// main runs: setup, connect, then group fan-out pushes at a given rate.
func main() {
	var (
		wsAddr  = flag.String("ws", "127.0.0.1:10001", "simulator WebSocket address")
		ctl     = flag.String("control", "127.0.0.1:10002", "simulator control address")
		n       = flag.Int("conns", 1000, "connections (one user each)")
		par     = flag.Int("dialers", 32, "parallel dialers")
		prefix  = flag.String("prefix", "bench", "user ID prefix")
		msgs    = flag.Int("msgs", 10, "group messages to inject (each is pushed to every connection)")
		rate    = flag.Float64("rate", 20, "group messages per second")
		sdk     = flag.String("sdk", "go", "sdkType of the clients: go or js")
		gz      = flag.Bool("gzip", false, "compression=gzip")
		simPID  = flag.Int("sim-pid", 0, "simulator PID, to report its RSS")
		hold    = flag.Duration("hold", 0, "keep the connections open this long after the run")
		timeout = flag.Duration("timeout", 120*time.Second, "give up waiting for pushes after this")
	)
	flag.Parse()
	b := &bench{ws: *wsAddr, ctl: *ctl, prefix: *prefix, codec: gw.Codec{JSON: *sdk == "js", Gzip: *gz}}
	users := make([]string, *n)
	for i := range users {
		users[i] = *prefix + strconv.Itoa(i+1)
	}
	b.post("/users", map[string]interface{}{"prefix": *prefix, "count": *n}, nil)
	b.post("/groups", map[string]interface{}{"groupID": *prefix + "_g", "members": users}, nil)
	var toks struct {
		Tokens map[string]string `json:"tokens"`
	}
	b.post("/tokens", map[string]interface{}{"userIDs": users, "platformID": 3}, &toks)
	stop := make(chan struct{})
	go b.pinger(stop)
	d := b.dialAll(*n, *par, toks.Tokens)
	var st struct {
		Global map[string]int64 `json:"global"`
	}
	getStats := func() {
		resp, err := http.Get("http://" + b.ctl + "/stats")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
	}
	getStats()
	report(map[string]interface{}{"phase": "connect", "conns": len(b.conns), "failures": b.failures,
		"serverConns": st.Global["conns"], "seconds": d.Seconds(), "connsPerSec": float64(len(b.conns)) / d.Seconds(),
		"simRSSMiB": rss(*simPID), "sdk": *sdk, "gzip": *gz})
	// Group fan-out: every message is pushed to every connection.
	atomic.StoreInt64(&b.pushes, 0)
	getStats()
	before := st.Global["pushes"]
	want := int64(*msgs) * int64(len(b.conns))
	start := time.Now()
	dur := int64(float64(*msgs)/(*rate)*1000) + 1
	go b.post("/inject", map[string]interface{}{"sendID": users[0], "groupID": *prefix + "_g", "sessionType": 3,
		"text": "benchmark message", "rate": *rate, "durationMs": dur}, nil)
	got, last := b.waitPushes(want, start, *timeout)
	getStats()
	report(map[string]interface{}{"phase": "group-fanout", "conns": len(b.conns), "messages": *msgs,
		"pushesWanted": want, "pushesReceived": got, "serverPushes": st.Global["pushes"] - before,
		"dropped": st.Global["dropped"], "seconds": last.Seconds(), "pushesPerSec": float64(got) / last.Seconds(),
		"simRSSMiB": rss(*simPID)})
	if *hold > 0 {
		time.Sleep(*hold)
	}
	close(stop)
	for _, c := range b.conns {
		c.Close()
	}
}
