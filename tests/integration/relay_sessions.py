#!/usr/bin/python3
"""relay_sessions.py BUILD_DIR — the session policy against the simulator.

Handshake verdicts as the gateway delivers them (HTTP 200 + JSON body):
  1001 token expired  → the token file is re-read; online once it is fixed;
  1002 token revoked  → re-read once, then parked (event "parked");
  1003 unknown user   → parked at once.
Kicks (2002): a kicked login logs in again, until kicked more than
limits.maxKicks times within limits.kickWindow: then it is parked and
never fights the other login.
Logout (2003) parks the login. A gateway that is down gives connect
failures with growing backoff, and everything comes online when it
returns. No token ever appears in the relay's log.
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
USERS = ["ann", "ben", "cat", "dan", "eve", "ghost"]  # ghost does not exist at the gateway
check = kkit.Checks()


state = kkit.session_state
wait_state = kkit.wait_session_state


def events(rp, tenant="t"):
    r = kkit.Redis(rp)
    out = [{k.decode(): v.decode() for k, v in f.items()} for _, f in r.stream("kkim:{%s}:events" % tenant)]
    r.close()
    return out


def main():
    kkit.run_driver("relay_sessions", BUILD, run, check)


def write_tokens(env, toks):
    with open(os.path.join(env.dir, "t.tokens.tmp"), "w") as f:
        for u, t in toks.items():
            f.write("%s 7 %s\n" % (u, t))
    os.replace(os.path.join(env.dir, "t.tokens.tmp"), os.path.join(env.dir, "t.tokens"))


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, USERS[:-1] + ["zed"])
    toks = env.sim("/tokens", {"userIDs": USERS[:-1], "platformID": 7})["tokens"]
    # ann starts with an already expired token; ghost gets a well-signed token
    # for a user the gateway does not know.
    toks["ann"] = env.sim("/tokens", {"userID": "ann", "platformID": 7, "ttlSec": -60})["token"]
    toks["ghost"] = env.sim("/tokens", {"userID": "ghost", "platformID": 7})["token"]
    write_tokens(env, toks)
    # ben's token is revoked before the relay starts
    env.sim("/tokens/revoke", {"token": toks["ben"]})
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 7},
                        "users": USERS, "limits": {"maxKicks": 1, "kickWindow": "10m"}}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env.start_relay(path)
    kkit.wait_port(admin)

    check(wait_state(admin, "cat", "online"), "a login with a good token comes online")
    check(wait_state(admin, "ghost", "parked"), "1003 (unknown user) parks the login")
    check(wait_state(admin, "ben", "parked"), "1002 (revoked) parks the login after one re-read")
    time.sleep(1)
    check(state(admin, "ann") in ("backoff", "connecting"), "1001 (expired) keeps retrying")
    toks["ann"] = env.sim("/tokens", {"userID": "ann", "platformID": 7})["token"]
    write_tokens(env, toks)
    check(wait_state(admin, "ann", "online", 30), "after the token file is fixed, ann comes online")
    ev = events(rp)
    reasons = {(e.get("user"), e.get("type"), e.get("reason")) for e in ev}
    check(("ann", "auth_failed", "token_expired") in reasons, "event auth_failed/token_expired for ann")
    check(("ben", "parked", "token_invalid") in reasons, "event parked/token_invalid for ben")
    check(("ghost", "parked", "no_user") in reasons, "event parked/no_user for ghost")

    # kicks: a kick invalidates every token of dan issued so far, so right
    # after each kick the file gets a new one (the relay's first retry with
    # the old token gets 1002 and re-reads the file once)
    for i in range(5):
        if not wait_state(admin, "dan", "online", 20):
            break
        env.sim("/kick", {"userID": "dan", "platformID": 7})
        toks["dan"] = env.sim("/tokens", {"userID": "dan", "platformID": 7})["token"]
        write_tokens(env, toks)
        time.sleep(0.5)
        if state(admin, "dan") == "parked":
            break
    check(wait_state(admin, "dan", "parked", 20), "more than limits.maxKicks (1) kicks in kickWindow park the login")
    kicks = sum(1 for e in events(rp) if e.get("user") == "dan" and e.get("type") == "kicked")
    check(kicks == 2, "dan was kicked twice before parking (%d)" % kicks)

    env.sim("/kick", {"userID": "eve", "reqIdentifier": 2003})
    check(wait_state(admin, "eve", "parked"), "an unsolicited 2003 logout parks the login")

    # the gateway goes away and comes back
    env.stop("sim", signal.SIGTERM)
    check(wait_state(admin, "cat", "backoff", 20), "gateway down: the login backs off")
    time.sleep(4)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=3) as r:
        metrics = r.read().decode()
    fails = [l for l in metrics.splitlines() if 'reason="connect_failed"' in l]
    check(fails and float(fails[0].rsplit(" ", 1)[1]) >= 2,
          "connect failures are counted while the gateway is down (%s)" % fails)
    env.start_sim(ws, ctl, USERS[:-1] + ["zed"])
    check(wait_state(admin, "cat", "online", 90), "the login comes back when the gateway returns")

    env.stop("relay", signal.SIGTERM)
    with open(env.log("relay"), errors="replace") as f:
        text = f.read()
    leaked = [u for u, t in toks.items() if t and t in text]
    check(not leaked, "no token appears in the relay's log (checked %d)" % len(toks))
    check('"errCode":1001' in text and '"errCode":1002' in text and '"errCode":1003' in text,
          "each verdict is logged with its errCode")


if __name__ == "__main__":
    main()
