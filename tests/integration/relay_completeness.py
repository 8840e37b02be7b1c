#!/usr/bin/python3
"""relay_completeness.py BUILD_DIR [TOTAL] — every message lands exactly once.

Two tenants (alpha*, beta* users) on one gateway simulator, one relay, one
Redis with AOF. While TOTAL messages (default 100 000) are injected across
single chats, groups, notification chats and n_ conversations, the test:
drops, duplicates and reorders pushes in the simulator; SIGKILLs the relay
and restarts it; restarts the simulator (state kept on disk); restarts
Redis; expires a token (handshake 1001, then the file gets a new one);
kicks a login (2002; the file already has a new token).

Then kkim:{T}:msgs + kkim:{T}:notifications must hold every (conversationID,
seq) of the simulator's log for that tenant exactly once and in order, and
nothing of the other tenant. Prints one line per check and a summary.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
ALPHA = ["alpha%d" % i for i in range(1, 7)]
BETA = ["beta%d" % i for i in range(1, 5)]
EXT = ["ext%d" % i for i in range(1, 4)]
check = kkit.Checks()


def tenant_of(conv):
    if "alpha" in conv or conv.endswith("_ga1") or conv.endswith("_ga2"):
        return "alpha"
    if "beta" in conv or conv.endswith("_gb1"):
        return "beta"
    return None


def write_config(env, ws, redis_port, admin):
    def tenant(tid, users, sdk):
        return {"id": tid,
                "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": sdk, "compression": "gzip",
                            "platformID": 7},
                "tokens": {"source": "file", "path": tid + ".tokens"},
                "users": [u if i % 2 else {"userID": u, "sdkType": "js"} for i, u in enumerate(users)],
                "backfill": "none", "resyncInterval": "2s",
                "limits": {"loginsPerSecond": 100}}
    cfg = {"instance": {"id": "it", "drainTimeout": "5s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % redis_port},
           "tenants": [tenant("alpha", ALPHA, "go"), tenant("beta", BETA, "go")]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def wait_online(env, admin, n, timeout=30):
    import urllib.request
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions?state=online" % admin, timeout=2) as r:
                if len(json.loads(r.read())["sessions"]) >= n:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def injections():
    """Message shapes cycled through by the injector."""
    shapes = []
    for i, u in enumerate(ALPHA + BETA):
        shapes.append({"sendID": EXT[i % 3], "recvID": u, "sessionType": 1, "contentType": 101})
    shapes.append({"sendID": "alpha1", "recvID": "alpha2", "sessionType": 1, "contentType": 101})
    shapes.append({"sendID": "beta1", "recvID": "beta2", "sessionType": 1, "contentType": 101})
    shapes.append({"sendID": "ext1", "groupID": "ga1", "sessionType": 3, "contentType": 101})
    shapes.append({"sendID": "alpha3", "groupID": "ga2", "sessionType": 3, "contentType": 101})
    shapes.append({"sendID": "ext2", "groupID": "gb1", "sessionType": 3, "contentType": 101})
    shapes.append({"sendID": "ext3", "recvID": "alpha4", "sessionType": 4, "contentType": 1400,
                   "content": "{\"detail\":\"{}\"}"})
    shapes.append({"sendID": "ext1", "recvID": "beta3", "sessionType": 1, "contentType": 101,
                   "options": {"isNotNotification": False}})
    return shapes


def start_online(env, path, admin, check, how=""):
    """Starts the relay on config path and checks that every login of both
    tenants comes online (admin API); `how` ends the check's name."""
    env.start_relay(path)
    kkit.wait_port(admin)
    n = len(ALPHA) + len(BETA)
    check(wait_online(env, admin, n), ("all %d logins online " % n + how).strip())


def inject(env, shapes, total, tag):
    """Injects total messages over the shapes, in rounds; returns the count."""
    per = max(1, total // 10 // len(shapes))
    sent = 0
    while sent < total:
        for s in shapes:
            k = min(per, total - sent)
            if k <= 0:
                break
            r = env.sim("/inject", dict(s, count=k, text=tag))
            if r.get("errCode"):
                raise RuntimeError("inject failed: %r" % r)
            sent += k
    return sent


def main():
    kkit.run_driver("relay_completeness", BUILD, run, check, logs=("relay", "sim"))


def prepare(env, ws, ctl, redis_port, admin, redis_url=None, partitions=None):
    """Starts the simulator with the users and groups, writes both token
    files and the relay config (redis.url and streams.partitions replaced
    when given); returns the config path. Shared with the Redis Cluster and
    Sentinel drivers."""
    env.start_sim(ws, ctl, ALPHA + BETA + EXT)
    env.sim("/groups", {"groupID": "ga1", "members": ["alpha1", "alpha2", "alpha5", "ext1"]})
    env.sim("/groups", {"groupID": "ga2", "members": ["alpha3", "alpha6", "ext2"]})
    env.sim("/groups", {"groupID": "gb1", "members": ["beta1", "beta2", "beta4", "ext2"]})
    env.mint_tokens("alpha", ALPHA)
    env.mint_tokens("beta", BETA)
    path = write_config(env, ws, redis_port, admin)
    if redis_url or partitions:
        with open(path) as f:
            cfg = json.load(f)
        if redis_url:
            cfg["redis"]["url"] = redis_url
        for t in cfg["tenants"] if partitions else ():
            t["streams"] = {"partitions": partitions}
        with open(path, "w") as f:
            json.dump(cfg, f)
    return path


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp)
    cfg = prepare(env, ws, ctl, rp, admin)
    start_online(env, cfg, admin, check)

    shapes = injections()
    chunk = max(1, TOTAL // 20)
    per_shape = max(1, chunk // len(shapes))
    sent = 0
    step = 0
    t0 = time.time()
    while sent < TOTAL:
        step += 1
        chaos(env, step, cfg, admin)
        for s in shapes:
            if sent >= TOTAL:
                break
            n = min(per_shape, TOTAL - sent)
            body = dict(s, count=n, text="m%d" % step)
            r = env.sim("/inject", body)
            if r.get("errCode"):
                raise RuntimeError("inject failed: %r" % r)
            sent += n
    inject_s = time.time() - t0
    env.sim("/faults/clear", {})
    print("injected %d messages in %.1f s" % (sent, inject_s), flush=True)

    kkit.check_completeness(env, kkit.Redis(rp), ("alpha", "beta"), tenant_of, check, TOTAL)
    rc = env.stop("relay", signal.SIGTERM)
    check(rc == 0, "relay exits 0 on SIGTERM (rc=%s)" % rc)


def chaos(env, step, cfg, admin):
    """One disturbance per injection chunk."""
    kind = step % 8
    if kind == 1:
        env.sim("/faults", {"action": "drop", "count": 40})
        env.sim("/faults", {"action": "dup", "count": 40})
        print("chaos: drop 40 and duplicate 40 pushes", flush=True)
    elif kind == 2:
        env.sim("/faults", {"action": "reorder", "count": 40})
        print("chaos: reorder 40 pushes", flush=True)
    elif kind == 3:
        env.stop("relay", signal.SIGKILL)
        time.sleep(0.3)
        env.start_relay(cfg)
        print("chaos: SIGKILL relay, restart", flush=True)
    elif kind == 4:
        env.sim("/restart", {"downMs": 800})
        print("chaos: restart gateway simulator (state on disk)", flush=True)
    elif kind == 5:
        port = int(env.procs["redis"].args[2])
        env.stop("redis", signal.SIGTERM)
        time.sleep(0.5)
        env.start_redis(port)
        print("chaos: restart Redis (AOF)", flush=True)
    elif kind == 6:
        old = open(os.path.join(env.dir, "alpha.tokens")).read().split()
        env.sim("/tokens/expire", {"token": old[2]})
        env.sim("/close", {"userID": "alpha1"})
        time.sleep(1.5)
        env.mint_tokens("alpha", ALPHA)
        print("chaos: expire alpha1's token, close it, new token file", flush=True)
    elif kind == 7:
        # a kick invalidates every token issued so far: the file gets a new
        # one right after it (the relay's first retry gets 1002, re-reads)
        env.sim("/kick", {"userID": "beta2", "platformID": 7})
        env.mint_tokens("beta", BETA)
        print("chaos: kick beta2, then a new token in the file", flush=True)


if __name__ == "__main__":
    main()
