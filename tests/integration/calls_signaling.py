#!/usr/bin/python3
"""calls_signaling.py BUILD_DIR — the relay's call signaling against the
gateway simulator over real WebSockets, without media (NOTES §6.5–§6.8).

The relay records user `agent` (gob sdk, platform 7). The callers are
kkgw.Client logins (JSON sdk): `cust`, and `agent` itself on platform 5 as
the user's other device. Cases:
  drops      signals for no call of the user: a 1601 accept for an unknown
             room, unsolicited 1004 SignalResp accept and hungUp frames, a
             110 offer for an unknown room, a 1601 with garbage content —
             each a logged drop, no calls entry; an invite for a room the
             gateway does not know: invited, then failed(call_not_found);
then, under each simulator variant (bare, wrapped, ex hint, stored with a
seq, unsolicited 1004 SignalResp; switched with /variants):
  accept     cust invites, gets agent's accept (1601 push, and the 1004
             frame in that variant), hangs up: exactly invited, accepted,
             ended(hungup);
  other      pushes held, cust invites, agent's other device accepts (or
             rejects, alternately), pushes released: the relay's accept is
             moot and the call ends: exactly invited, ended(other_device).
"""
import base64
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkgw  # noqa: E402
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
check = kkit.Checks()
VARIANTS = [("bare", {}), ("wrapped", {"signalWrapped": True}), ("ex", {"signalEx": True}),
            ("stored", {"signalStored": True}), ("resp1004", {"signalResp1004": True})]


def relay_log(env):
    with open(env.log("relay"), errors="replace") as f:
        return f.read()


def wait_log(env, text, since, timeout=10):
    """True once text appears in the relay's log after offset since."""
    end = time.time() + timeout
    while time.time() < end:
        if text in relay_log(env)[since:]:
            return True
        time.sleep(0.1)
    return False


def inject_1601(env, body, ex=""):
    """Pushes a 1601 from cust to agent with content body (push-only)."""
    env.sim("/inject", {"sendID": "cust", "recvID": "agent", "contentType": 1601,
                        "contentB64": base64.b64encode(body).decode(), "pushOnly": True, "ex": ex})


def drops(env, redis):
    t0 = int(time.time() * 1000)
    n0 = len(relay_log(env))
    inv = kkgw.invitation("cust", ["agent"], "room_nobody", t0=t0)
    inject_1601(env, kkgw.signal_body("accept", inv, "cust"))
    check(wait_log(env, '"event":"signal_dropped"', n0), "drops: a 1601 accept for an unknown room is a logged drop")
    n0 = len(relay_log(env))
    env.sim("/raw", {"userID": "agent", "platformID": 7, "kind": "b64",
                     "dataB64": base64.b64encode(kkit.gob_resp(1004, "", b"\x22\x00")).decode()})
    check(wait_log(env, '"event":"signal_resp_dropped"', n0),
          "drops: an unsolicited 1004 SignalResp.accept is a logged drop")
    n0 = len(relay_log(env))
    env.sim("/raw", {"userID": "agent", "platformID": 7, "kind": "b64",
                     "dataB64": base64.b64encode(kkit.gob_resp(1004, "", b"\x2a\x00")).decode()})
    check(wait_log(env, '"detail":"no call of this user"', n0),
          "drops: an unsolicited 1004 hungUp without a call is a logged drop")
    n0 = len(relay_log(env))
    offer = b'{"type":"webrtc_signal","signalType":"offer","roomID":"room_nobody","data":{"type":"offer","sdp":"v=0"}}'
    env.sim("/inject", {"sendID": "cust", "recvID": "agent", "contentType": 110,
                        "contentB64": base64.b64encode(offer).decode(), "pushOnly": True})
    check(wait_log(env, '"event":"signal_ignored"', n0), "drops: a 110 offer for an unknown room is a logged drop")
    n0 = len(relay_log(env))
    inject_1601(env, b"\x0a\x05garbage-not-a-signal")
    check(wait_log(env, '"event":"bad_signal"', n0), "drops: a 1601 with garbage content is a logged drop")
    check(kkgw.calls_of(redis, "room_nobody") == [], "drops: no calls entry for any of them")
    inv = kkgw.invitation("cust", ["agent"], "room_unknown", t0=t0)
    inject_1601(env, kkgw.signal_body("invite", inv, "cust"))
    evs = kkgw.wait_calls(redis, "room_unknown", ("failed", "ended"), 10)
    got = [(e["type"], e.get("reason", "")) for e in evs]
    check(got == [("invited", ""), ("failed", "call_not_found")],
          "drops: an invite for a room the gateway does not know: %s" % got)
    check(env.procs["relay"].poll() is None, "drops: the relay is still running")


def accept_case(name, cust, redis):
    n0 = len(cust.pushes)
    u0 = len(cust.unsolicited)
    code, msg, room, inv = cust.invite("agent")
    check(code == 0 and room.startswith("room_"), "%s: invite answered with roomID %s (%s)" % (name, room, msg))
    acc = cust.wait_push(lambda p: p["contentType"] == 1601 and p["sendID"] == "agent", 10, n0)
    check(acc is not None, "%s: cust got agent's 1601 accept push" % name)
    if name == "resp1004":
        end = time.time() + 5
        while time.time() < end and not any(r == 1004 for r, _ in cust.unsolicited[u0:]):
            time.sleep(0.05)
        got = [d[:1] for r, d in cust.unsolicited[u0:] if r == 1004]
        check(got[:1] == [b"\x22"], "%s: cust got the unsolicited 1004 SignalResp.accept (%s)" % (name, got))
    kkgw.wait_calls(redis, room, ("accepted",), 10)
    code, msg = cust.signal("hungUp", inv)
    check(code == 0, "%s: hungUp answered (%d %s)" % (name, code, msg))
    evs = kkgw.wait_calls(redis, room, ("ended", "failed"), 10)
    got = [(e["type"], e.get("reason", "")) for e in evs]
    check(got == [("invited", ""), ("accepted", ""), ("ended", "hungup")],
          "%s: calls events %s" % (name, got))


def other_case(name, env, cust, dev, redis, kind):
    env.sim("/pushes/pause", {})
    try:
        code, msg, room, inv = cust.invite("agent")
        check(code == 0, "%s: invite answered (%s)" % (name, msg))
        code, msg = dev.signal(kind, inv)
        check(code == 0, "%s: the other device's %s answered (%d %s)" % (name, kind, code, msg))
    finally:
        env.sim("/pushes/resume", {})
    kkgw.wait_calls(redis, room, ("ended", "failed"), 10)
    time.sleep(0.5)  # the relay's own accept is answered meanwhile: nothing more may follow
    got = [(e["type"], e.get("reason", "")) for e in kkgw.calls_of(redis, room)]
    check(got == [("invited", ""), ("ended", "other_device")],
          "%s: other device %s: calls events %s" % (name, kind, got))
    if kind == "accept":
        cust.signal("hungUp", inv)  # the other device's call, not the relay's


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["agent", "cust"])
    check(kkgw.start_recording_relay(env, ws, rp, admin) is not None, "agent is online")
    redis = kkit.Redis(rp)
    cust = kkgw.Client(ws, "cust", 5, env.sim("/tokens", {"userID": "cust", "platformID": 5})["token"])
    dev = kkgw.Client(ws, "agent", 5, env.sim("/tokens", {"userID": "agent", "platformID": 5})["token"])
    drops(env, redis)
    for i, (name, v) in enumerate(VARIANTS):
        full = {"signalWrapped": False, "signalEx": False, "signalStored": False, "signalResp1004": False}
        full.update(v)
        env.sim("/variants", full)
        accept_case(name, cust, redis)
        other_case(name, env, cust, dev, redis, "accept" if i % 2 == 0 else "reject")
    check(not cust.closed and not dev.closed, "the callers' connections stayed up")
    cust.close()
    dev.close()
    redis.close()
    rc = env.stop("relay")
    check(rc == 0, "the relay exits 0 on SIGTERM (rc %s)" % rc)
    text = relay_log(env)
    check("AddressSanitizer" not in text and "LeakSanitizer" not in text and "runtime error" not in text,
          "the relay's log has no sanitizer report")


if __name__ == "__main__":
    kkit.run_driver("calls_signaling", BUILD, run, check)
