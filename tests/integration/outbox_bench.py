#!/usr/bin/python3
"""outbox_bench.py BUILD_DIR [N] [RATE] — outbox sends/s and result latency (docs/benchmarks.md).

One relay (use a Release build), one tenant with 8 users on the gateway
simulator, Redis without persistence. Phase 1 (throughput): N entries
(default 20 000) are XADDed up front, the relay starts, and the time from
its first result to its last gives sends/s. Phase 2 (latency): entries are
XADDed at RATE/s (default 2 000) for 10 s; each entry's latency is its
result's stream ID time minus its outbox ID time (both Redis's clock), and
p50/p99 are printed. limits.sendsPerSecond is set above both loads.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402
import outbox_crash as oc  # noqa: E402  (setup, shapes, pipelined XADD)

BUILD = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 2000


def ms(eid):
    return int(eid.split("-")[0])


def main():
    env = kkit.Env(BUILD, "outbox_bench")
    try:
        ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
        env.start_redis(rp, aof=False)
        env.start_sim(ws, ctl, oc.USERS)
        env.sim("/groups", {"groupID": "g1", "members": oc.USERS})
        cfg = oc.setup(env, ws, rp, admin)
        with open(cfg) as f:
            c = json.load(f)
        c["log"]["level"] = "warn"
        with open(cfg, "w") as f:
            json.dump(c, f)
        r = kkit.Redis(rp)
        ids = []
        while len(ids) < N:
            ids += oc.pipeline_xadd(r, len(ids), min(1000, N - len(ids)))
        relay = env.start_relay(cfg, "relay")
        sim = env.procs["sim"]
        c0, s0 = kkit.cpu_s(relay.pid), kkit.cpu_s(sim.pid)
        end = time.time() + 600
        while time.time() < end and r.cmd("XLEN", "kkim:{acme}:results") < N:
            time.sleep(0.2)
        res = r.stream("kkim:{acme}:results")
        t = [ms(e.decode() if isinstance(e, bytes) else e) for e, _ in res]
        sent = sum(1 for _, kv in res if kv[b"status"] == b"sent")
        span = (max(t) - min(t)) / 1000.0 if t else 0
        c1, s1 = kkit.cpu_s(relay.pid), kkit.cpu_s(sim.pid)
        print("throughput: %d entries, %d sent, %.2f s first->last result, %.0f sends/s; "
              "CPU s: relay %.2f (%.0f sends per relay CPU-second), simulator %.2f" %
              (len(res), sent, span, len(res) / span if span else 0, c1 - c0,
               len(res) / (c1 - c0) if c1 > c0 else 0, s1 - s0), flush=True)
        base = len(res)
        lat_ids = []
        t0 = time.time()
        k = N
        while time.time() - t0 < 10:
            tick = time.time()
            n = max(1, RATE // 50)
            lat_ids += oc.pipeline_xadd(r, k, n)
            k += n
            time.sleep(max(0, 0.02 - (time.time() - tick)))
        end = time.time() + 120
        while time.time() < end and r.cmd("XLEN", "kkim:{acme}:results") < base + len(lat_ids):
            time.sleep(0.2)
        out = {}
        for eid, kv in r.stream("kkim:{acme}:results")[base:]:
            out[kv[b"outboxID"].decode()] = ms(eid.decode() if isinstance(eid, bytes) else eid)
        lats = sorted(out[i] - ms(i) for i in lat_ids if i in out)
        if lats:
            p = lambda q: lats[min(len(lats) - 1, int(q * len(lats)))]  # noqa: E731
            print("latency at %d/s: %d results of %d, p50 %d ms, p99 %d ms, max %d ms" %
                  (len(lat_ids) / 10, len(lats), len(lat_ids), p(0.50), p(0.99), lats[-1]),
                  flush=True)
    finally:
        env.close()


main()
