#!/usr/bin/python3
"""shard_static.py BUILD_DIR — two relays split the logins with --shard i/2.

One gateway simulator, one Redis, two tenants (alpha: 24 users, beta: 16;
40 config users) plus 4 run-time users (SADD kkim:{alpha}:users). Relay 0
runs with --shard 0/2, relay 1 with --shard 1/2. Checks:
  - each relay's /v1/sessions holds exactly the users whose
    crc32(tenant "/" user) mod 2 is its index (shard.h), all online; every
    user online on exactly one relay; the run-time users too;
  - messages to every user (single chats, groups whose members sit on both
    shards, notifications) land exactly once, in order, in the tenant's
    streams (the simulator's seqlog is the truth);
  - SIGKILL + immediate restart of relay 1 (what Kubernetes does to a
    StatefulSet pod): prints the takeover time, from the kill to all its
    users online again, and messages injected while it was down land too;
  - the simulator counted 0 kicks (no user was logged in twice).
"""
import json
import os
import signal
import sys
import time
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
ALPHA = ["alpha%02d" % i for i in range(1, 25)]
BETA = ["beta%02d" % i for i in range(1, 17)]
RUNTIME = ["alpha_rt%d" % i for i in range(1, 5)]
EXT = ["ext1", "ext2"]
N = 2
FAILS = []
CHECKS = [0]


def check(ok, what):
    CHECKS[0] += 1
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        FAILS.append(what)


def shard(tenant, user):
    """The documented hash (server/shard.h)."""
    return zlib.crc32(("%s/%s" % (tenant, user)).encode()) % N


def tenant_of(conv):
    if "alpha" in conv or conv.endswith("_ga"):
        return "alpha"
    if "beta" in conv or conv.endswith("_gb"):
        return "beta"
    return None


def write_config(env, ws, redis_port, admin, idx):
    def tenant(tid, users):
        return {"id": tid,
                "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go", "platformID": 7},
                "tokens": {"source": "file", "path": tid + ".tokens"},
                "users": users, "backfill": "none", "resyncInterval": "2s",
                "limits": {"loginsPerSecond": 200}}
    cfg = {"instance": {"id": "shard%d" % idx, "drainTimeout": "5s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % redis_port},
           "tenants": [tenant("alpha", ALPHA), tenant("beta", BETA)]}
    path = os.path.join(env.dir, "relay%d.json" % idx)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def sessions(admin, state=None):
    url = "http://127.0.0.1:%d/v1/sessions" % admin + ("?state=" + state if state else "")
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return {(s["tenant"], s["user"]) for s in json.loads(r.read())["sessions"]}
    except OSError:
        return None


def wait_online(admin, want, timeout=30):
    """Waits until the online set equals want; returns (ok, seconds, last set)."""
    t0 = time.time()
    got = None
    while time.time() - t0 < timeout:
        got = sessions(admin, "online")
        if got == want:
            return True, time.time() - t0, got
        time.sleep(0.05)
    return False, time.time() - t0, got


def start_relay(env, cfg, idx):
    return env.start("relay%d" % idx, [os.path.join(BUILD, "server", "kkim-relay"), "-c", cfg,
                                       "--shard", "%d/%d" % (idx, N)],
                     env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"})


def inject_round(env, tag):
    """Messages to every user, to groups spanning both shards and a
    notification chat; returns the number injected."""
    sent = 0
    shapes = [{"sendID": EXT[i % 2], "recvID": u, "sessionType": 1, "count": 20}
              for i, u in enumerate(ALPHA + BETA + RUNTIME)]
    shapes += [{"sendID": "ext1", "groupID": "ga", "sessionType": 3, "count": 50},
               {"sendID": "alpha01", "groupID": "ga", "sessionType": 3, "count": 50},
               {"sendID": "ext2", "groupID": "gb", "sessionType": 3, "count": 50},
               {"sendID": "alpha02", "recvID": "alpha03", "sessionType": 1, "count": 30},
               {"sendID": "ext2", "recvID": "beta04", "sessionType": 4, "contentType": 1400,
                "content": "{\"detail\":\"{}\"}", "count": 10}]
    for s in shapes:
        r = env.sim("/inject", dict(s, text=tag))
        if r.get("errCode"):
            raise RuntimeError("inject failed: %r" % r)
        sent += s["count"]
    return sent


def run(env):
    ws, ctl, rp = (kkit.free_port() for _ in range(3))
    admins = [kkit.free_port() for _ in range(N)]
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ALPHA + BETA + RUNTIME + EXT)
    env.sim("/groups", {"groupID": "ga", "members": ALPHA[:12] + ["ext1"]})
    env.sim("/groups", {"groupID": "gb", "members": BETA + ["ext2"]})
    env.mint_tokens("alpha", ALPHA + RUNTIME)
    env.mint_tokens("beta", BETA)
    cfgs = [write_config(env, ws, rp, admins[i], i) for i in range(N)]

    everyone = {("alpha", u) for u in ALPHA + RUNTIME} | {("beta", u) for u in BETA}
    want = [{(t, u) for (t, u) in everyone if shard(t, u) == i} for i in range(N)]
    print("shard sizes: %s" % [len(w) for w in want], flush=True)
    check(all(0 < len(w) < len(everyone) for w in want), "the hash splits the 44 users across both shards")

    for i in range(N):
        start_relay(env, cfgs[i], i)
    for i in range(N):
        kkit.wait_port(admins[i])
    r = kkit.Redis(rp)
    r.cmd("SADD", "kkim:{alpha}:users", *RUNTIME)
    for i in range(N):
        ok, secs, got = wait_online(admins[i], want[i])
        check(ok, "relay %d (--shard %d/%d) holds exactly its %d users, all online (%.1f s)"
              % (i, i, N, len(want[i]), secs))
        if not ok:
            print("    missing %s extra %s" % (sorted(want[i] - (got or set()))[:5],
                                              sorted((got or set()) - want[i])[:5]))
        listed = sessions(admins[i])
        check(listed == want[i], "relay %d lists no session of the other shard" % i)
    sets = [sessions(a, "online") or set() for a in admins]
    check(not (sets[0] & sets[1]) and (sets[0] | sets[1]) == everyone,
          "every user (config and run-time) is online on exactly one relay")

    sent = inject_round(env, "before")

    # StatefulSet-style failover of one shard: kill, restart at once.
    t0 = time.time()
    env.stop("relay1", signal.SIGKILL)
    sent += inject_round(env, "while-down")
    t1 = time.time()
    start_relay(env, cfgs[1], 1)
    kkit.wait_port(admins[1])
    ok, _, _ = wait_online(admins[1], want[1])
    t2 = time.time()
    check(ok, "relay 1 after SIGKILL + restart: its %d users online again" % len(want[1]))
    print("takeover: shard 1/2 (%d users): restart -> all online %.2f s; SIGKILL -> all online %.2f s "
          "(%.2f s of it down while messages were injected)"
          % (len(want[1]), t2 - t1, t2 - t0, t1 - t0), flush=True)
    check(sessions(admins[0], "online") == want[0], "relay 0 kept its users through the restart")
    sent += inject_round(env, "after")

    kkit.check_completeness(env, r, ("alpha", "beta"), tenant_of, check, sent, timeout=60)
    st = env.sim("/stats")
    kicks = st.get("global", {}).get("kicks")
    check(kicks == 0, "the simulator counted 0 kicks (no user logged in twice; got %s)" % kicks)
    for i in range(N):
        rc = env.stop("relay%d" % i, signal.SIGTERM)
        check(rc == 0, "relay %d exits 0 on SIGTERM (rc=%s)" % (i, rc))


def main():
    env = kkit.Env(BUILD, "shard")
    try:
        run(env)
    except Exception as e:  # a crash of the driver is a failure too
        check(False, "driver: %r" % e)
    finally:
        env.close()
    print("shard_static: %d passed, %d failed" % (CHECKS[0] - len(FAILS), len(FAILS)))
    if FAILS:
        for name in ("relay0", "relay1", "sim"):
            p = env.log(name)
            if os.path.exists(p):
                print("--- tail of %s" % p)
                os.system("tail -n 30 %s" % p)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
