#!/usr/bin/python3
"""relay_heartbeat.py BUILD_DIR — heartbeats against the simulator (NOTES §4.1, §4.2).

The gateway drops a connection after 30 s without an inbound frame. An idle
login stays on the same connection past that, and the only frames it sends
in the meantime are empty WebSocket pings: exactly one in the 32 s watched
(the relay pings every 25 s). A gateway that stops answering (SIGSTOP) is
declared dead after 30 s of silence (event logout/dead), and the login comes
back on a new connection once the gateway runs again.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
check = kkit.Checks()


def conns(env, user):
    return [c for c in env.sim("/conns") if c["userID"] == user]


def main():
    kkit.run_driver("relay_heartbeat", BUILD, run, check)


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["ann", "bob"])
    env.mint_tokens("t", ["ann"])
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 7},
                        "users": ["ann"], "resyncInterval": "10m"}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env.start_relay(path)
    kkit.wait_port(admin)
    if not check(kkit.wait_session_state(admin, "ann", "online", 30), "ann comes online"):
        return
    time.sleep(3)  # the login's sync requests are answered
    c0 = conns(env, "ann")
    time.sleep(32)
    c1 = conns(env, "ann")
    check(len(c0) == 1 and len(c1) == 1 and c0[0]["connID"] == c1[0]["connID"],
          "ann stays on the same connection for 32 s of idleness (%s -> %s)"
          % ([c["connID"] for c in c0], [c["connID"] for c in c1]))
    if len(c0) == 1 and len(c1) == 1:
        frames = c1[0]["stats"]["FramesIn"] - c0[0]["stats"]["FramesIn"]
        nbytes = c1[0]["stats"]["BytesIn"] - c0[0]["stats"]["BytesIn"]
        check(frames == 1 and nbytes == 0,
              "one empty ping reached the gateway in 32 s (frames %d, bytes %d)" % (frames, nbytes))

    sim = env.procs["sim"]
    sim.send_signal(signal.SIGSTOP)
    t0 = time.time()
    try:
        dead = kkit.wait_session_state(admin, "ann", "backoff", 45)
        silent = time.time() - t0
    finally:
        sim.send_signal(signal.SIGCONT)
    check(dead, "a gateway that stops answering is declared dead (after %.1f s)" % silent)
    text = open(env.log("relay")).read()
    check('"event":"dead"' in text, "the relay logs the dead connection")
    r = kkit.Redis(rp)
    evs = [{k.decode(): v.decode() for k, v in f.items()} for _, f in r.stream("kkim:{t}:events")]
    r.close()
    check(any(e.get("type") == "logout" and e.get("reason") == "dead" for e in evs),
          "event logout/dead for ann")
    check(kkit.wait_session_state(admin, "ann", "online", 60), "ann comes back once the gateway runs again")
    c2 = conns(env, "ann")
    check(len(c2) == 1 and c2[0]["connID"] != c1[0]["connID"], "on a new connection")


if __name__ == "__main__":
    main()
