#!/usr/bin/python3
"""takeover_bench.py BUILD USERS RUNS TTL_MS — takeover time after SIGKILL.

One Redis, one gateway simulator, three relays of BUILD sharing USERS users
of one tenant. Per run: SIGKILL one relay, time until every user is online
at the simulator again (its /conns, polled every 20 ms), then start the
killed relay again and wait until the set is balanced before the next run.

  leases  "leases": {"shards": 64, "ttlMs": TTL_MS}: the survivors take the
          dead relay's shards once its leases expire;
  static  the peer, same run: --shard i/3 and the killed relay restarted at
          once (what systemd or a StatefulSet does); no other relay helps.

Prints each takeover, then p50/p99 per mode and their ratio ("figure:" lines).
"""
import json
import os
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import kkit  # noqa: E402

BUILD, USERS, RUNS, TTL = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
N = 3


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def online(env):
    return {c["userID"] for c in env.sim("/conns")}


def wait_online(env, want, limit=120):
    t0 = time.time()
    while time.time() - t0 < limit:
        if online(env) >= want:
            return time.time()
        time.sleep(0.02)
    raise RuntimeError("users not online within %d s" % limit)


def held(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/tenants" % port, timeout=5) as r:
            return len(json.loads(r.read())["tenants"][0]["leases"]["heldShards"])
    except (OSError, ValueError, KeyError, IndexError):
        return -1


def run_mode(env, mode, ws, rp, users):
    ports = [kkit.free_port() for _ in range(N)]
    cfgs = []
    for i in range(N):
        cfg = {"instance": {"id": "%s%d" % (mode, i), "drainTimeout": "10s"},
               "admin": {"listen": "127.0.0.1:%d" % ports[i]}, "log": {"level": "warn"},
               "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
               "tenants": [{"id": "tk", "gateway": {"url": "ws://127.0.0.1:%d" % ws,
                                                     "sdkType": "go", "platformID": 7},
                            "tokens": {"source": "file", "path": "tk.tokens"}, "users": users,
                            "backfill": "none", "limits": {"loginsPerSecond": 5000}}]}
        if mode == "leases":
            cfg["leases"] = {"shards": 64, "ttlMs": TTL}
        path = os.path.join(env.dir, "%s%d.json" % (mode, i))
        with open(path, "w") as f:
            json.dump(cfg, f)
        cfgs.append(path)

    def start(i):
        argv = [os.path.join(BUILD, "server", "kkim-relay"), "-c", cfgs[i]]
        if mode == "static":
            argv += ["--shard", "%d/%d" % (i, N)]
        env.start("%s%d" % (mode, i), argv)
        kkit.wait_port(ports[i], 30)

    for i in range(N):
        start(i)
    want = set(users)
    wait_online(env, want)
    out = []
    for k in range(RUNS):
        victim = k % N
        if mode == "leases":  # balanced first: each holds its share
            end = time.time() + 30
            while not all(0 < held(p) <= -(-64 // N) for p in ports) and time.time() < end:
                time.sleep(0.1)
        t0 = time.time()
        env.stop("%s%d" % (mode, victim), signal.SIGKILL)
        if mode == "static":
            start(victim)
        t1 = wait_online(env, want)
        out.append(t1 - t0)
        print("  %s run %d: SIGKILL of relay %d -> all %d users online %.2f s"
              % (mode, k + 1, victim, len(want), t1 - t0), flush=True)
        if mode == "leases":
            start(victim)
    for i in range(N):
        env.stop("%s%d" % (mode, i), signal.SIGTERM, timeout=30)
    return out


def main():
    env = kkit.Env(os.path.abspath(BUILD), "takeover")
    try:
        ws, ctl, rp = (kkit.free_port() for _ in range(3))
        env.start_redis(rp, aof=False)
        users = ["u%d" % i for i in range(1, USERS + 1)]
        env.start_sim(ws, ctl, users)
        env.mint_tokens("tk", users)
        res = {m: run_mode(env, m, ws, rp, users) for m in ("leases", "static")}
    finally:
        env.close()
    for m, v in res.items():
        print("figure: takeover %s users=%d runs=%d p50=%.2fs p99=%.2fs min=%.2fs max=%.2fs"
              % (m, USERS, len(v), pct(v, 50), pct(v, 99), min(v), max(v)))
    print("figure: takeover leases(ttlMs=%d)/static-restart p50 ratio %.2f"
          % (TTL, pct(res["leases"], 50) / pct(res["static"], 50)))


if __name__ == "__main__":
    main()
