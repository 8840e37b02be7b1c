#!/usr/bin/python3
"""leases.py BUILD_DIR [USERS] — dynamic sharding with Redis leases (lease.h).

One gateway simulator, one Redis, two tenants (ta, tb) sharing USERS users
(default 5000, half each), "leases": {"shards": 64, "ttlMs": 3000}, and three
relay instances of the build under test. Messages flow the whole time (async
injects to 60 users spread over the shards). Changes, each followed by the
same checks:
  start   three instances;
  kill    SIGKILL instance 2 (its leases expire, the others take them);
  restart SIGTERM instance 1 (it parks and releases: drain) and start it again;
  join    start a fourth instance (the others give back their extras).
After each change: every user online at the simulator again within 10 s
(the simulator's /conns is the truth), each shard held by exactly one live
instance, and the instances' held shards add up to the tenant's 64.
At the end: 0 lost, 0 duplicated, in order (check_streams against the
simulator's seqlog), 0 kicks at the simulator (a second login of a user on
the same platform kicks the first: no user was ever logged in twice), outbox
entries whose senders sit on other instances got exactly one `sent` result
each (forwarding), and every instance exits 0 on SIGTERM. Redis outages:
leases_redis_down.sh.
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
NUSERS = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
TENANTS = {"ta": ["a%d" % i for i in range(1, NUSERS // 2 + 1)],
           "tb": ["b%d" % i for i in range(1, NUSERS - NUSERS // 2 + 1)]}
SHARDS, TTL_MS = 64, 3000
ONLINE_LIMIT_S = 10.0
checks = kkit.Checks()


def write_config(env, ws, rp, admin, idx):
    def tenant(tid, users):
        return {"id": tid,
                "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go", "platformID": 7},
                "tokens": {"source": "file", "path": tid + ".tokens"},
                "users": users, "backfill": "none", "resyncInterval": "5s",
                "limits": {"loginsPerSecond": 2000}}
    cfg = {"instance": {"id": "lease%d" % idx, "drainTimeout": "10s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": os.environ.get("KK_LOG", "warn")},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "leases": {"shards": SHARDS, "ttlMs": TTL_MS},
           "tenants": [tenant(t, u) for t, u in TENANTS.items()]}
    path = os.path.join(env.dir, "relay%d.json" % idx)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def online_at_sim(env):
    return {(c["userID"]) for c in env.sim("/conns")}


def wait_all_online(env, everyone, limit):
    """Seconds until every user has a connection at the simulator, or None."""
    t0 = time.time()
    while time.time() - t0 < limit + 20:
        if online_at_sim(env) >= everyone:
            return time.time() - t0
        time.sleep(0.1)
    return None


def held_shards(admins):
    """{tenant: {instance index: set(shards)}} from each live /v1/tenants."""
    out = {t: {} for t in TENANTS}
    for i, port in admins.items():
        doc = get("http://127.0.0.1:%d/v1/tenants" % port) or {}
        for t in doc.get("tenants", []):
            out[t["id"]][i] = set(t.get("leases", {}).get("heldShards", []))
    return out


def check_change(env, name, t0, everyone, admins):
    """After a change: the shards settle (each held once, none above
    ceil(S / live)), then every user is online at the simulator; returns
    the seconds from the change until both held."""
    deadline = time.time() + ONLINE_LIMIT_S + 20
    while True:
        held = held_shards(admins)
        fair = -(-SHARDS // len(admins))  # ceil(S / live instances)
        ok = all(sum(len(s) for s in held[t].values()) == SHARDS and
                 len(set().union(*held[t].values())) == SHARDS and
                 all(len(s) <= fair for s in held[t].values()) for t in TENANTS)
        if ok or time.time() > deadline:
            break
        time.sleep(0.1)
    checks(ok, "%s: each of the %d shards of each tenant held by exactly one instance, none above its share"
           % (name, SHARDS))
    secs = wait_all_online(env, everyone, max(1.0, deadline - time.time()))
    took = None if secs is None else time.time() - t0
    print("    %s: shards held per instance %s, kicks so far %s" % (
        name, {t: {i: len(s) for i, s in held[t].items()} for t in TENANTS},
        env.sim("/stats").get("global", {}).get("kicks")), flush=True)
    checks(took is not None and took <= ONLINE_LIMIT_S,
           "%s: all %d users online at the simulator within %.0f s of the change (%s s)"
           % (name, len(everyone), ONLINE_LIMIT_S, "%.2f" % took if took is not None else "never"))
    return took


def traffic(env, stop, users):
    """Async injects, 5 msgs/s to each of users, until stop is set."""
    while not stop.is_set():
        for u in users:
            env.sim("/inject", {"sendID": "ext", "recvID": u, "rate": 5, "durationMs": 2000,
                                "async": True})
        stop.wait(2.0)


def outbox_round(r, tenant, senders):
    ids = [r.cmd("XADD", "kkim:{%s}:outbox" % tenant, "*", "sendID", s, "recvID", "ext",
                 "content", json.dumps({"text": "from " + s})).decode() for s in senders]
    deadline = time.time() + 60
    while time.time() < deadline:
        res = r.stream("kkim:{%s}:results" % tenant)
        got = [{k.decode(): v.decode() for k, v in f.items()} for _, f in res]
        got = [f for f in got if f.get("outboxID") in ids]
        if len(got) >= len(ids):
            break
        time.sleep(0.5)
    return ids, got


def start(env, cfgs, i):
    env.start_relay(cfgs[i], "relay%d" % i)


def run(env):
    ws, ctl, rp = (kkit.free_port() for _ in range(3))
    ports = [kkit.free_port() for _ in range(4)]
    env.start_redis(rp, aof=False)
    allusers = TENANTS["ta"] + TENANTS["tb"]
    env.start_sim(ws, ctl, ["ext"])
    env.sim("/users", {"userIDs": allusers})
    for t, us in TENANTS.items():
        env.mint_tokens(t, us)
    cfgs = [write_config(env, ws, rp, ports[i], i) for i in range(4)]
    everyone = set(allusers)
    r = kkit.Redis(rp)

    live = {}
    t0 = time.time()
    for i in range(3):
        start(env, cfgs, i)
        live[i] = ports[i]
    for i in range(3):
        kkit.wait_port(ports[i], 30)
    took = {"start": check_change(env, "start", t0, everyone, live)}

    stop = threading.Event()
    hot = [TENANTS["ta"][i] for i in range(0, len(TENANTS["ta"]), max(1, len(TENANTS["ta"]) // 30))][:30]
    hot += [TENANTS["tb"][i] for i in range(0, len(TENANTS["tb"]), max(1, len(TENANTS["tb"]) // 30))][:30]
    th = threading.Thread(target=traffic, args=(env, stop, hot), daemon=True)
    th.start()

    # outbox: senders on every instance; each entry is read by one of them
    ids, got = outbox_round(r, "ta", TENANTS["ta"][:24])
    checks(len(got) == len(ids) and all(f.get("status") == "sent" for f in got),
           "outbox: %d entries whose senders sit on 3 instances: one `sent` result each (%d results, %s)"
           % (len(ids), len(got), sorted({(f.get("status"), f.get("errMsg")) for f in got})))
    checks(len({f["outboxID"] for f in got}) == len(got), "outbox: no entry has two results")
    handed = sum(t["outbox"]["handedOver"] for port in live.values()
                 for t in (get("http://127.0.0.1:%d/v1/tenants" % port) or {}).get("tenants", []))
    checks(handed > 0, "outbox: entries read by an instance not holding their sender were handed "
                       "over to the holder (%d)" % handed)

    t0 = time.time()
    env.stop("relay2", signal.SIGKILL)
    del live[2]
    took["kill"] = check_change(env, "SIGKILL of instance 2", t0, everyone, live)

    t0 = time.time()
    rc = env.stop("relay1", signal.SIGTERM)
    checks(rc == 0, "restart: instance 1 drains and exits 0 (rc=%s)" % rc)
    start(env, cfgs, 1)
    kkit.wait_port(ports[1], 30)
    took["restart"] = check_change(env, "restart of instance 1", t0, everyone, live)

    ports[3] = kkit.free_port()  # just before use: an early pick can be taken meanwhile
    cfgs[3] = write_config(env, ws, rp, ports[3], 3)
    t0 = time.time()
    start(env, cfgs, 3)
    live[3] = ports[3]
    kkit.wait_port(ports[3], 30)
    took["join"] = check_change(env, "a fourth instance joins", t0, everyone, live)
    held = held_shards(live)
    checks(all(held[t].get(3) for t in TENANTS), "the new instance holds shards of both tenants")

    ids, got = outbox_round(r, "tb", TENANTS["tb"][:24])
    checks(len(got) == len(ids) and all(f.get("status") == "sent" for f in got),
           "outbox after the changes: one `sent` result per entry (%d of %d, %s)"
           % (len(got), len(ids), sorted({(f.get("status"), f.get("errMsg")) for f in got})))

    stop.set()
    th.join()
    time.sleep(2.5)  # the last async injects end
    truth = {t: {} for t in TENANTS}
    for conv, seq in env.seqlog():
        t = "ta" if "_a" in conv else "tb" if "_b" in conv else None
        if t:
            truth[t].setdefault(conv, set()).add(seq)
    for t, st in kkit.wait_tenants(r, truth).items():
        checks(st["missing"] == 0 and sum(len(v) for v in truth[t].values()) > 0,
               "%s: 0 lost of %d messages" % (t, sum(len(v) for v in truth[t].values())))
        checks(st["dups"] == 0, "%s: 0 duplicated" % t)
        checks(st["disorder"] == 0, "%s: in order per conversation" % t)
    kicks = env.sim("/stats").get("global", {}).get("kicks")
    checks(kicks == 0, "the simulator counted 0 kicks: no user was logged in by two instances (got %s)"
           % kicks)
    print("online again after: " + ", ".join("%s %.2f s" % (k, v) for k, v in took.items()
                                             if v is not None), flush=True)
    for i in sorted(live):
        rc = env.stop("relay%d" % i, signal.SIGTERM, timeout=30)
        checks(rc == 0, "instance %d exits 0 on SIGTERM (rc=%s)" % (i, rc))


if __name__ == "__main__":
    kkit.run_driver("leases", BUILD, run, checks, logs=("relay0", "relay1", "relay2", "relay3"))
