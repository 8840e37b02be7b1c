#!/usr/bin/python3
"""relay_bad_gateway.py BUILD_DIR — bad input from the gateway.

The simulator sends one login (alice: sdkType=go, gzip) garbage, a 17 MiB
frame, an undecodable gob frame, a frame with an unknown reqIdentifier, an
answer with a msgIncr nobody asked for, and text that is not JSON. Frames
that cannot be decoded reset that session with a logged reason; frames that
decode but mean nothing are logged and ignored. The other logins (bob: js,
carol: go) keep their connections, the relay never crashes, and messages
sent afterwards to all three still land exactly once.
"""
import base64
import gzip
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
USERS = ["alice", "bob", "carol"]
check = kkit.Checks()


def sessions(admin):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions" % admin, timeout=3) as r:
        return {s["user"]: s for s in json.loads(r.read())["sessions"]}


def wait_state(admin, user, state, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if sessions(admin).get(user, {}).get("state") == state:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def conn_ids(env):
    """The simulator's connection ID per user (a reconnect changes it)."""
    out = {}
    for c in env.sim("/conns") or []:
        out[c.get("userID")] = c.get("connID", c.get("id"))
    return out


def log_has(env, event, user=None, **fields):
    with open(env.log("relay"), errors="replace") as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("event") != event or (user and o.get("user") != user):
                continue
            if all(o.get(k) == v for k, v in fields.items()):
                return True
    return False


def main():
    kkit.run_driver("relay_bad_gateway", BUILD, run, check)


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, USERS + ["dave"])
    toks = env.sim("/tokens", {"userIDs": USERS, "platformID": 7})["tokens"]
    with open(os.path.join(env.dir, "t.tokens"), "w") as f:
        for u in USERS:
            f.write("%s 7 %s\n" % (u, toks[u]))
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "compression": "gzip", "platformID": 7},
                        "users": ["alice", {"userID": "bob", "sdkType": "js"},
                                  {"userID": "carol", "sdkType": "go"}]}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    # carol's connection is plain (no gzip) only if configured so; all use gzip here.
    env.start_relay(path)
    kkit.wait_port(admin)
    check(all(wait_state(admin, u, "online") for u in USERS), "three logins online")
    before = conn_ids(env)

    def raw(**kw):
        return env.sim("/raw", dict(kw, userID="alice"))

    def b64(frame):
        return base64.b64encode(gzip.compress(frame)).decode()

    # 1. decodes but means nothing: logged and ignored, the connection stays
    raw(kind="b64", dataB64=b64(kkit.gob_resp(9999)))
    raw(kind="b64", dataB64=b64(kkit.gob_resp(1001, "424242", b"")))
    raw(kind="text", text="this is not json")
    time.sleep(1.0)
    now = conn_ids(env)
    check(now.get("alice") == before.get("alice"),
          "unknown reqIdentifier, unmatched msgIncr and non-JSON text keep the connection")
    check(log_has(env, "unmatched_response", "alice"), "the unmatched msgIncr is logged")
    check(log_has(env, "unexpected_text", "alice"), "the non-JSON text is logged")

    # 2. undecodable: the session resets with a logged reason
    cases = [("garbage", dict(kind="garbage", size=64), "bad_frame"),
             ("gob without a type definition",
              dict(kind="b64", dataB64=b64(bytes.fromhex("07ff8201fe0fa400"))), "bad_frame"),
             ("17 MiB frame", dict(kind="oversize", size=17 << 20), "frame_too_big")]
    for name, kw, event in cases:
        old = conn_ids(env).get("alice")
        raw(**kw)
        end = time.time() + 15
        while time.time() < end and (conn_ids(env).get("alice") in (old, None)):
            time.sleep(0.1)
        check(conn_ids(env).get("alice") not in (old, None), "%s resets alice's session" % name)
        check(log_has(env, event, "alice"), "%s is logged as %s" % (name, event))
        check(wait_state(admin, "alice", "online"), "alice is online again after %s" % name)
    check(log_has(env, "state", "alice", to="backoff", reason="protocol"),
          "the reset's reason is 'protocol'")
    after = conn_ids(env)
    check(after.get("bob") == before.get("bob") and after.get("carol") == before.get("carol"),
          "bob's and carol's connections are untouched")

    # 3. messages still flow to everyone, exactly once
    for u in USERS:
        env.sim("/inject", {"sendID": "dave", "recvID": u, "sessionType": 1, "contentType": 101,
                            "text": "after", "count": 20})
    r = kkit.Redis(rp)
    truth = {}
    for conv, seq in env.seqlog():
        truth.setdefault(conv, set()).add(seq)
    end = time.time() + 20
    while True:
        problems, st = kkit.check_streams(r, "t", truth)
        if st["missing"] == 0 or time.time() > end:
            break
        time.sleep(0.5)
    check(st["missing"] == 0 and st["dups"] == 0, "60 messages after the bad input land once (%s)" % st)
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=3) as resp:
        metrics = resp.read().decode()
    check('kkim_reconnects_total{tenant="t",reason="protocol"} 3' in metrics,
          "/metrics counts the 3 protocol resets")
    check('kkim_sessions{tenant="t",state="online"} 3' in metrics, "/metrics shows 3 logins online")
    check('kkim_messages_appended_total{tenant="t"} 60' in metrics, "/metrics counts 60 appended")
    rc = env.stop("relay", signal.SIGTERM)
    check(rc == 0, "relay exits 0 (no crash, no sanitizer abort; rc=%s)" % rc)
    with open(env.log("relay"), errors="replace") as f:
        text = f.read()
    check("Sanitizer" not in text and "runtime error" not in text, "no sanitizer report")


if __name__ == "__main__":
    main()
