#!/usr/bin/python3
"""leases_redis_down.py BUILD_DIR — leases when Redis stops answering.

Two relays with "leases": {"shards": 16, "ttlMs": 3000} share 600 users of
one tenant. Redis is frozen with SIGSTOP (connections stay open, nothing is
answered: the hardest case, no error arrives). Checks:
  - every login is closed at the simulator within one lease TTL of the
    freeze: no renewal is confirmed, every lease is lost at its deadline
    (ttl - ttl/4 after the last confirmed renewal) and its logins are
    parked, before the keys could expire and another instance log them in;
  - both relays report the losses (kkim_lease_losses_total > 0);
  - after SIGCONT every user is online again within 10 s;
  - the simulator counted 0 kicks; both relays exit 0 on SIGTERM.
"""
import os
import signal
import sys
import time
import urllib.request
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
USERS = ["u%d" % i for i in range(1, 601)]
TTL_MS = 3000
checks = kkit.Checks()


def online(env):
    return {c["userID"] for c in env.sim("/conns")}


def losses(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines()
               if l.startswith("kkim_lease_losses_total{"))


def run(env):
    ws, ctl, rp = (kkit.free_port() for _ in range(3))
    ports = [kkit.free_port() for _ in range(2)]
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["ext"])
    env.sim("/users", {"userIDs": USERS})
    env.mint_tokens("t", USERS)
    for i in range(2):
        cfg = {"instance": {"id": "down%d" % i}, "admin": {"listen": "127.0.0.1:%d" % ports[i]},
               "log": {"level": "warn"}, "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
               "leases": {"shards": 16, "ttlMs": TTL_MS},
               "tenants": [{"id": "t", "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                                    "platformID": 7},
                            "tokens": {"source": "file", "path": "t.tokens"}, "users": USERS,
                            "limits": {"loginsPerSecond": 2000}}]}
        path = os.path.join(env.dir, "r%d.json" % i)
        with open(path, "w") as f:
            json.dump(cfg, f)
        env.start_relay(path, "relay%d" % i)
    for p in ports:
        kkit.wait_port(p, 30)
    everyone = set(USERS)
    t0 = time.time()
    while online(env) != everyone and time.time() - t0 < 30:
        time.sleep(0.1)
    checks(online(env) == everyone, "all %d users online on two relays" % len(USERS))
    time.sleep(TTL_MS / 1000.0)  # a few renewals

    pid = env.procs["redis"].pid
    os.kill(pid, signal.SIGSTOP)
    t0 = time.time()
    while online(env) and time.time() - t0 < 3 * TTL_MS / 1000.0:
        time.sleep(0.02)
    gone = time.time() - t0
    left = len(online(env))
    checks(left == 0 and gone < TTL_MS / 1000.0,
           "Redis frozen: every login closed within one lease TTL (%.2f s < %.1f s, %d left)"
           % (gone, TTL_MS / 1000.0, left))
    lost = [losses(p) for p in ports]
    checks(all(n > 0 for n in lost), "both relays count lost leases (%s)" % lost)
    os.kill(pid, signal.SIGCONT)
    t0 = time.time()
    while online(env) != everyone and time.time() - t0 < 30:
        time.sleep(0.05)
    back = time.time() - t0
    checks(online(env) == everyone and back <= 10,
           "Redis answering again: every user online within 10 s (%.2f s)" % back)
    kicks = env.sim("/stats").get("global", {}).get("kicks")
    checks(kicks == 0, "the simulator counted 0 kicks (got %s)" % kicks)
    for i in range(2):
        rc = env.stop("relay%d" % i, signal.SIGTERM, timeout=30)
        checks(rc == 0, "relay %d exits 0 on SIGTERM (rc=%s)" % (i, rc))


if __name__ == "__main__":
    kkit.run_driver("leases_redis_down", BUILD, run, checks, logs=("relay0", "relay1"))
