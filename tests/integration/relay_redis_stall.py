#!/usr/bin/python3
"""relay_redis_stall.py BUILD_DIR — a Redis stall mid-backlog loses nothing.

The simulator replays a backlog of 32 single chats flat out; Redis is
frozen (SIGSTOP) for longer than the relay's 5 s command timeout while
append batches are in flight, then thawed. The failed batches become holes
that only hole pulls (1002) can fill — the periodic resync is 10 minutes
away — and backpressure is on meanwhile. Every message must land exactly
once and in order, with every hole filled and none given up as a gap.
"""
import json
import os
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
USERS = ["u1", "u2", "u3", "u4"]
SENDERS = ["s%d" % i for i in range(1, 9)]
PER = 500
check = kkit.Checks()


def metrics(admin):
    """The relay's metrics as {name{labels}: value}."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5) as r:
        lines = r.read().decode().splitlines()
    return {ln.rsplit(" ", 1)[0]: float(ln.rsplit(" ", 1)[1]) for ln in lines if ln and ln[0] != "#"}


def main():
    kkit.run_driver("relay_redis_stall", BUILD, run, check)


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, USERS + SENDERS, ["-queue", "100000"])
    toks = env.sim("/tokens", {"userIDs": USERS, "platformID": 3})["tokens"]
    with open(os.path.join(env.dir, "t.tokens"), "w") as f:
        for u in USERS:
            f.write("%s 3 %s\n" % (u, toks[u]))
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 3},
                        "users": USERS, "backfill": "none", "resyncInterval": "600s"}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env.start_relay(path)
    kkit.wait_port(admin)
    end = time.time() + 30
    while env.sim("/stats")["global"]["framesOut"] < len(USERS) and time.time() < end:
        time.sleep(0.2)  # every login had its post-login 1001 answered
    pairs = [{"sendID": s, "recvID": u} for u in USERS for s in SENDERS]
    env.sim("/replay/prepare", {"pairs": pairs, "count": PER, "text": "stall"})
    r = kkit.Redis(rp)
    redis = env.procs["redis"]
    env.sim("/replay/start", {"batch": 64})
    while r.cmd("XLEN", "kkim:{t}:msgs") == 0:
        time.sleep(0.01)
    redis.send_signal(signal.SIGSTOP)
    time.sleep(7)
    redis.send_signal(signal.SIGCONT)

    truth = {}
    for conv, seq in env.seqlog():
        truth.setdefault(conv, set()).add(seq)
    problems, st = kkit.wait_streams(r, "t", truth)
    m = metrics(admin)
    print("truth %d seqs; streams %s" % (sum(len(v) for v in truth.values()), st))
    for p in problems[:5]:
        print("   ", p)
    check(len(truth) == len(pairs) and all(len(v) == PER for v in truth.values()),
          "the simulator assigned %d x %d seqs" % (len(pairs), PER))
    check(m.get("kkim_redis_down_total", 0) >= 1, "the stall timed a command out (Redis marked down)")
    check(st["missing"] == 0, "after the stall, 0 lost")
    check(st["dups"] == 0 and st["disorder"] == 0, "0 duplicated, in order")
    holes = m.get('kkim_holes_total{tenant="t"}', 0)
    check(holes > 0 and m.get('kkim_holes_filled_total{tenant="t"}', 0) == holes,
          "every hole of the failed batches is filled by a pull (%d holes)" % holes)
    check(m.get('kkim_gaps_total{tenant="t"}', -1) == 0, "no hole is given up as a gap")
    check(env.stop("relay", signal.SIGTERM) == 0, "relay exits 0")


if __name__ == "__main__":
    main()
