#!/usr/bin/python3
"""relay_redis_outage.py BUILD_DIR — backpressure instead of buffering.

Messages flow at a steady rate while Redis is stopped for several seconds.
During the outage the relay must stop reading from the gateway (metric
kkim_backpressure 1) and its ordering buffer must stay small; its RSS is
sampled and printed. When Redis returns, resync pulls what the gateway
could not deliver meanwhile: every (conversationID, seq) of the
simulator's log lands exactly once, in order.
"""
import json
import os
import signal
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
USERS = ["u1", "u2", "u3", "u4"]
check = kkit.Checks()


def metric(admin, name):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=3) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
    except OSError:
        return None
    return None


def main():
    kkit.run_driver("relay_redis_outage", BUILD, run, check)


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp)
    env.start_sim(ws, ctl, USERS + ["ext"])
    toks = env.sim("/tokens", {"userIDs": USERS, "platformID": 7})["tokens"]
    with open(os.path.join(env.dir, "t.tokens"), "w") as f:
        for u in USERS:
            f.write("%s 7 %s\n" % (u, toks[u]))
    env.sim("/groups", {"groupID": "g", "members": USERS + ["ext"]})
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 7},
                        "users": USERS, "resyncInterval": "2s"}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    relay = env.start_relay(path)
    kkit.wait_port(admin)
    time.sleep(1.5)

    stop = threading.Event()

    def inject():
        i = 0
        while not stop.is_set():
            i += 1
            env.sim("/inject", {"sendID": "ext", "groupID": "g", "sessionType": 3,
                                "contentType": 101, "text": "x" * 200, "count": 50})
            env.sim("/inject", {"sendID": "ext", "recvID": USERS[i % 4], "sessionType": 1,
                                "contentType": 101, "text": "y", "count": 20})
            time.sleep(0.05)

    th = threading.Thread(target=inject)
    th.start()
    time.sleep(2)
    rss_before = kkit.rss_kib(relay.pid)
    env.stop("redis", signal.SIGTERM)
    samples, bp, buffered = [], [], []
    for _ in range(12):
        time.sleep(0.5)
        samples.append(kkit.rss_kib(relay.pid))
        bp.append(metric(admin, "kkim_backpressure"))
        buffered.append(metric(admin, "kkim_buffered_bytes"))
    env.start_redis(rp)
    time.sleep(2)
    stop.set()
    th.join()
    print("RSS before outage %d kB; during outage (every 0.5 s): %s kB" % (rss_before, samples))
    print("buffered bytes during outage: %s" % buffered)
    check(any(v == 1 for v in bp), "backpressure turns on while Redis is down (%s)" % bp)
    check(all(v is not None and v <= 48 * 1024 * 1024 for v in buffered),
          "the ordering buffer stays under its 48 MiB high mark")
    check(max(samples) - samples[2] < 64 * 1024,
          "RSS stops growing once reading stopped (growth after 1 s: %d kB)" % (max(samples) - samples[2]))

    truth = {}
    for conv, seq in env.seqlog():
        truth.setdefault(conv, set()).add(seq)
    r = kkit.Redis(rp)
    problems, st = kkit.wait_streams(r, "t", truth)
    want = sum(len(v) for v in truth.values())
    print("truth %d seqs; streams %s" % (want, st))
    for p in problems[:5]:
        print("   ", p)
    check(st["missing"] == 0, "after Redis returns, 0 lost")
    check(st["dups"] == 0 and st["disorder"] == 0, "0 duplicated, in order")
    check(env.stop("relay", signal.SIGTERM) == 0, "relay exits 0")


if __name__ == "__main__":
    main()
