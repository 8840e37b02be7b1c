// Command kkim-gatewaysim runs the KKIM gateway simulator: the WebSocket
// gateway port and the loopback control API (docs/gatewaysim.md).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"kkim/sim/gw"
)

// main parses flags, starts both ports, and on SIGTERM/SIGINT saves the
// state (when -state is set) before exiting.
func main() {
	def := gw.DefaultVariants()
	var (
		wsAddr   = flag.String("listen", "127.0.0.1:10001", "gateway WebSocket address")
		ctlAddr  = flag.String("control", "127.0.0.1:10002", "control API address (loopback only)")
		secret   = flag.String("secret", "kkim-gatewaysim-secret", "HS256 token secret")
		stateDir = flag.String("state", "", "state directory (loaded at start, saved on SIGTERM and /save)")
		seqLog   = flag.String("seqlog", "", "append every assigned (conversationID, seq) to this file")
		maxConns = flag.Int("max-conns", 100000, "connection limit (handshake 1601 above it)")
		readTO   = flag.Duration("read-timeout", 30*time.Second, "read deadline (pongWait)")
		pingIv   = flag.Duration("ping-interval", 27*time.Second, "gateway pings to platformID 5")
		writeTO  = flag.Duration("write-timeout", 10*time.Second, "write deadline per frame")
		queue    = flag.Int("queue", 1024, "per-connection send queue (frames); full = drop")
		users    = flag.String("users", "", "comma-separated users to create at start")
		quiet    = flag.Bool("quiet", false, "no per-connection logs")
		sigEx    = flag.Bool("signal-ex", def.SignalEx, "variant: ex hint in 1601 pushes")
		sig1004  = flag.Bool("signal-resp-1004", def.SignalResp1004, "variant: unsolicited 1004 SignalResp to the other party")
		sigStore = flag.Bool("signal-stored", def.SignalStored, "variant: 1601 pushes stored with a seq")
		sigWrap  = flag.Bool("signal-wrapped", def.SignalWrapped, "variant: 1601 content is the wrapped SignalReq")
		respSeq  = flag.String("sendresp-seq", def.SendRespSeq, "variant: SendMsgResp field 4: seq, none or msgdata")
		toSender = flag.Bool("push-to-sender", def.PushToSender, "variant: push back to the sending connection")
		dataArr  = flag.Bool("data-array", def.DataArray, "variant: JSON data as number array")
	)
	flag.Parse()
	cfg := gw.Config{Secret: []byte(*secret), MaxConns: *maxConns, ReadTimeout: *readTO,
		PingInterval: *pingIv, WriteTimeout: *writeTO, QueueLen: *queue, StateDir: *stateDir,
		SeqLogFile: *seqLog, Variants: gw.Variants{SignalEx: *sigEx, SignalResp1004: *sig1004,
			SignalStored: *sigStore, SignalWrapped: *sigWrap, SendRespSeq: *respSeq,
			PushToSender: *toSender, DataArray: *dataArr}}
	if *quiet {
		cfg.Logf = func(string, ...interface{}) {}
	}
	s, err := gw.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if *users != "" {
		var us []gw.User
		for _, u := range strings.Split(*users, ",") {
			us = append(us, gw.User{UserID: u})
		}
		s.AddUsers(us)
	}
	ws, err := s.ListenWS(*wsAddr)
	if err != nil {
		log.Fatal(err)
	}
	ctl, err := s.ListenControl(*ctlAddr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("{\"event\":\"listening\",\"ws\":%q,\"control\":%q}\n", ws, ctl)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	if *stateDir != "" {
		if err := s.Save(); err != nil {
			log.Fatal(err)
		}
	}
	s.Close()
}
