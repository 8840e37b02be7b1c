#!/usr/bin/python3
"""outbox_crash.py BUILD_DIR [TOTAL] — outbox sends survive SIGKILL: one result, one message each.

One tenant with 8 users (and a group) on the gateway simulator, one relay,
one Redis with AOF. TOTAL entries (default 50 000) go into kkim:{acme}:outbox
across single chats, a group and notification chats, while the relay is
SIGKILLed twice mid-stream and restarted (same instance ID, so it finds its
own pending entries and settles each by pulling the conversation).

Ground truth is the simulator's /seqlog (every message it stored with its
clientMsgID). Checks: every entry has exactly one result, all `sent`; the
gateway stored each entry's clientMsgID (kkr_<entryID>) exactly once and
nothing else; each result's serverMsgID and seq are the stored ones; the
group has nothing pending; kkim:{acme}:outbox:done holds every entry ID.
Prints one ok/FAIL line per check.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
USERS = ["u%d" % i for i in range(1, 9)]
check = kkit.Checks()


def setup(env, ws, rp, admin):
    toks = env.sim("/tokens", {"userIDs": USERS, "platformID": 7})["tokens"]
    with open(os.path.join(env.dir, "acme.tokens"), "w") as f:
        for u in USERS:
            f.write("%s 7 %s\n" % (u, toks[u]))
    cfg = {"instance": {"id": "crash1", "drainTimeout": "5s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "acme",
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "compression": "gzip", "platformID": 7},
                        "tokens": {"source": "file", "path": "acme.tokens"},
                        "users": [u if i % 2 else {"userID": u, "sdkType": "js"}
                                  for i, u in enumerate(USERS)],
                        "limits": {"sendsPerSecond": 100000}}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def shape(i):
    """Entry i's fields: single chats, a group, notification chats."""
    a = USERS[i % 8]
    k = i % 10
    if k == 8:
        return ["sendID", a, "groupID", "g1", "sessionType", "3", "content", '{"text":"g%d"}' % i]
    if k == 9:
        return ["sendID", a, "recvID", USERS[(i + 3) % 8], "sessionType", "4", "contentType",
                "1400", "content", '{"detail":"{\\"n\\":%d}"}' % i]
    return ["sendID", a, "recvID", USERS[(i + 1 + k % 7) % 8], "content", '{"text":"m%d"}' % i]


def pipeline_xadd(r, start, n):
    """XADDs entries start..start+n-1 in one round trip; returns their IDs."""
    out = b""
    for i in range(start, start + n):
        args = ["XADD", "kkim:{acme}:outbox", "*"] + shape(i)
        out += b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
    r.sock.sendall(out)
    return [r._reply().decode() for _ in range(n)]


def wait_online(admin, n, timeout=30):
    import urllib.request
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions?state=online" % admin,
                                        timeout=2) as resp:
                if len(json.loads(resp.read())["sessions"]) >= n:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def seqlog_full(env):
    out, since = [], 0
    while True:
        rr = env.sim("/seqlog?since=%d&max=50000" % since)
        ents = rr.get("entries") or []
        out += ents
        if not ents:
            return out
        since = rr["next"]


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp)
    env.start_sim(ws, ctl, USERS)
    env.sim("/groups", {"groupID": "g1", "members": USERS})
    cfg = setup(env, ws, rp, admin)
    r = kkit.Redis(rp)
    env.start_relay(cfg, "relay0")
    check(wait_online(admin, 8), "8 logins online")
    ids = []
    kills = [TOTAL * 3 // 10, TOTAL * 6 // 10]
    batch = 500
    t0 = time.time()
    restarts = 0
    while len(ids) < TOTAL:
        n = min(batch, TOTAL - len(ids))
        ids += pipeline_xadd(r, len(ids), n)
        # keep the outbox a few thousand ahead so a kill hits sends in flight
        while r.cmd("XLEN", "kkim:{acme}:results") + 3000 < len(ids):
            time.sleep(0.05)
        if kills and r.cmd("XLEN", "kkim:{acme}:results") >= kills[0]:
            kills.pop(0)
            name = "relay%d" % restarts
            env.stop(name, signal.SIGKILL)
            restarts += 1
            print("# SIGKILL at %d results; restarting" % r.cmd("XLEN", "kkim:{acme}:results"),
                  flush=True)
            env.start_relay(cfg, "relay%d" % restarts)
    check(restarts == 2, "the relay was SIGKILLed and restarted twice (%d)" % restarts)
    end = time.time() + 300
    while time.time() < end and r.cmd("XLEN", "kkim:{acme}:results") < TOTAL:
        time.sleep(0.5)
    took = time.time() - t0
    res = {}
    dup_results = 0
    for _, kv in r.stream("kkim:{acme}:results"):
        d = {k.decode(): v.decode() for k, v in kv.items()}
        if d["outboxID"] in res:
            dup_results += 1
        res[d["outboxID"]] = d
    print("# %d entries, %d results in %.1f s" % (len(ids), len(res), took), flush=True)
    check(len(res) == TOTAL and set(res) == set(ids) and dup_results == 0,
          "every entry has exactly one result (%d results for %d entries, %d duplicates)" %
          (len(res), TOTAL, dup_results))
    notsent = [d for d in res.values() if d["status"] != "sent"]
    check(not notsent, "every result is `sent` (%d not: %s)" % (len(notsent), notsent[:3]))
    log = seqlog_full(env)
    counts = {}
    for e in log:
        counts[e["clientMsgID"]] = counts.get(e["clientMsgID"], 0) + 1
    want = {"kkr_" + i for i in ids}
    twice = [c for c, n in counts.items() if n > 1]
    missing = want - set(counts)
    extra = set(counts) - want
    check(not twice and not missing and not extra,
          "the gateway stored each clientMsgID exactly once (%d twice, %d missing, %d extra)" %
          (len(twice), len(missing), len(extra)))
    by_cm = {e["clientMsgID"]: e for e in log}
    wrong = [d for d in res.values() if d["status"] == "sent" and
             (by_cm.get(d["clientMsgID"], {}).get("serverMsgID") != d["serverMsgID"] or
              str(by_cm.get(d["clientMsgID"], {}).get("seq")) != d["seq"])]
    check(not wrong, "each result's serverMsgID and seq are what the gateway stored (%d differ: %s)"
          % (len(wrong), wrong[:2]))
    pend = r.cmd("XPENDING", "kkim:{acme}:outbox", "kkim-relay")
    check(pend[0] == 0, "nothing pending in the group (%d)" % pend[0])
    check(r.cmd("ZCARD", "kkim:{acme}:outbox:done") == TOTAL,
          "kkim:{acme}:outbox:done marks every entry")
    settled = 0
    for i in range(restarts + 1):
        p = env.log("relay%d" % i)
        if os.path.exists(p):
            settled += sum(1 for line in open(p) if '"settled_' in line)
    print("# sends of unknown fate settled by pull: %d" % settled, flush=True)
    check(settled > 0, "the restarts found pending sends and settled them by pulling (%d)" % settled)


def main():
    kkit.run_driver("outbox_crash", BUILD, run, check, logs=("relay0", "relay1", "relay2"))


if __name__ == "__main__":
    main()
