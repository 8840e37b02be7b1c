#!/usr/bin/python3
"""outbox_entries.py BUILD_DIR [KKIMCTL] — each kind of outbox entry gets its one result.

One tenant (users alice, bob, carol, dave; dave has no valid token so he
never comes online) on the gateway simulator, one relay, one Redis. The
driver XADDs to kkim:{acme}:outbox and checks kkim:{acme}:results field by
field against what the simulator stored (its /seqlog is the ground truth):

  - a text to a user, a group message, a notification-chat message, an
    entry with its own clientMsgID, options and ex: `sent` with the
    serverMsgID/seq the simulator assigned, the clientMsgID derived from
    the entry ID (kkr_<id>) when absent;
  - malformed entries (missing sendID, unknown sendID, bad sessionType, bad
    contentType, missing recvID, missing groupID, bad options, a field over
    64 KiB, content that makes the frame exceed 51 200 bytes): `rejected`
    with errCode 0 and the reason, nothing reaches the gateway;
  - gateway refusals: unknown recipient (1003), sender = receiver (1004),
    empty content (1101), not a group member (1203): `rejected` with
    the gateway's errCode;
  - a sender that is never online: `failed` after the 30 s deadline;
  - kkimctl send (when KKIMCTL is given): exit 0 and the result printed;
    exit 1 for a rejected one;
  - every entry has exactly one result and the group has nothing pending.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
KKIMCTL = sys.argv[2] if len(sys.argv) > 2 else os.path.join(BUILD, "tools", "kkimctl")
USERS = ["alice", "bob", "carol"]
check = kkit.Checks()


def write_setup(env, ws, rp, admin):
    toks = env.sim("/tokens", {"userIDs": USERS, "platformID": 7})["tokens"]
    with open(os.path.join(env.dir, "acme.tokens"), "w") as f:
        for u in USERS:
            f.write("%s 7 %s\n" % (u, toks[u]))
        f.write("dave 7 not-a-token\n")
    cfg = {"instance": {"id": "ob1", "drainTimeout": "5s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "acme",
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 7},
                        "tokens": {"source": "file", "path": "acme.tokens"},
                        "users": USERS + [{"userID": "dave", "sdkType": "js"}],
                        "limits": {"sendsPerSecond": 500}}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def results_by_id(r):
    out = {}
    for eid, kv in r.stream("kkim:{acme}:results"):
        d = {k.decode(): v.decode() for k, v in kv.items()}
        out.setdefault(d["outboxID"], []).append(d)
    return out


def wait_results(r, ids, timeout):
    end = time.time() + timeout
    while time.time() < end:
        got = results_by_id(r)
        if all(i in got for i in ids):
            return got
        time.sleep(0.2)
    return results_by_id(r)


def xadd(r, **fields):
    args = []
    for k, v in fields.items():
        args += [k, v]
    return r.cmd("XADD", "kkim:{acme}:outbox", "*", *args).decode()


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, USERS + ["dave", "erin"])
    env.sim("/groups", {"groupID": "g1", "members": ["alice", "bob", "erin"]})
    env.sim("/groups", {"groupID": "g2", "members": ["bob", "erin"]})
    cfg = write_setup(env, ws, rp, admin)
    env.start_relay(cfg)
    kkit.wait_port(admin)
    r = kkit.Redis(rp)
    end = time.time() + 20
    while time.time() < end:
        st = json.loads(urlget(admin, "/v1/sessions?state=online"))
        if len(st["sessions"]) >= 3:
            break
        time.sleep(0.2)
    check(len(st["sessions"]) == 3, "alice, bob and carol are online (dave is not)")

    good = {
        "text": xadd(r, sendID="alice", recvID="bob", content='{"text":"hi bob"}'),
        "group": xadd(r, sendID="alice", groupID="g1", sessionType="3", contentType="101",
                      content='{"text":"hi group"}'),
        "notif": xadd(r, sendID="bob", recvID="carol", sessionType="4", contentType="1400",
                      content='{"detail":"{}"}'),
        "own": xadd(r, sendID="carol", recvID="alice", clientMsgID="svc-42", ex="x1",
                    options='{"offlinePush":false}', content='{"text":"own id"}'),
    }
    big = "x" * 70000
    frame_big = '{"text":"%s"}' % ("y" * 52000)
    bad = {
        "missing sendID": xadd(r, recvID="bob", content='{"text":"a"}'),
        "unknown sendID": xadd(r, sendID="zed", recvID="bob", content='{"text":"a"}'),
        "bad sessionType": xadd(r, sendID="alice", recvID="bob", sessionType="2", content="{}"),
        "bad contentType": xadd(r, sendID="alice", recvID="bob", contentType="text", content="{}"),
        "missing recvID": xadd(r, sendID="alice", content='{"text":"a"}'),
        "missing groupID": xadd(r, sendID="alice", sessionType="3", content='{"text":"a"}'),
        "bad options": xadd(r, sendID="alice", recvID="bob", options='{"a":1}', content="{}"),
        "oversize": xadd(r, sendID="alice", recvID="bob", content=big),
        "oversize: the encoded frame exceeds 51200 bytes":
            xadd(r, sendID="alice", recvID="bob", content=frame_big),
    }
    gw = {
        1003: xadd(r, sendID="alice", recvID="nobody", content='{"text":"a"}'),
        1004: xadd(r, sendID="alice", recvID="alice", content='{"text":"a"}'),
        1101: xadd(r, sendID="alice", recvID="bob", content=""),
        1203: xadd(r, sendID="alice", groupID="g2", sessionType="3", content='{"text":"a"}'),
    }
    t0 = time.time()
    offline = xadd(r, sendID="dave", recvID="bob", content='{"text":"never"}')
    ids = list(good.values()) + list(bad.values()) + list(gw.values())
    got = wait_results(r, ids, 20)
    truth = {e["clientMsgID"]: e for e in seqlog_full(env)}

    for name, eid in good.items():
        res = got.get(eid, [])
        ok = len(res) == 1 and res[0]["status"] == "sent"
        cm = "svc-42" if name == "own" else "kkr_" + eid
        t = truth.get(cm)
        ok = ok and t is not None and res[0]["clientMsgID"] == cm and \
            res[0]["serverMsgID"] == t["serverMsgID"] and res[0]["seq"] == str(t["seq"]) and \
            res[0]["errCode"] == "0" and int(res[0]["sendTime"]) > 0
        check(ok, "%s entry: one `sent` result matching the gateway's serverMsgID/seq (%s)" %
              (name, res))
    msgs = env.sim("/messages?conversationID=si_alice_carol")
    own = [m for m in msgs if m.get("clientMsgID") == "svc-42"]
    check(len(own) == 1 and own[0].get("ex") == "x1" and own[0].get("options") == {"offlinePush": False}
          and own[0].get("msgFrom") == 100 and own[0].get("senderPlatformID") == 7 and
          own[0].get("createTime", 0) > 0,
          "the gateway stored ex, options, msgFrom 100, senderPlatformID 7 and a createTime (%s)" %
          (own[:1],))
    for why, eid in bad.items():
        res = got.get(eid, [])
        check(len(res) == 1 and res[0]["status"] == "rejected" and res[0]["errCode"] == "0" and
              res[0]["errMsg"] == why and res[0]["serverMsgID"] == "",
              "malformed entry -> rejected with reason %r (%s)" % (why, [x["errMsg"] for x in res]))
    for code, eid in gw.items():
        res = got.get(eid, [])
        check(len(res) == 1 and res[0]["status"] == "rejected" and res[0]["errCode"] == str(code),
              "gateway refusal -> rejected with errCode %d (%s)" % (code, res))
    cms = {"kkr_" + e for e in list(bad.values()) + list(gw.values())}
    check(not (cms & set(truth)), "no malformed or refused entry was stored by the gateway")

    got = wait_results(r, [offline], 45)
    res = got.get(offline, [])
    waited = time.time() - t0
    check(len(res) == 1 and res[0]["status"] == "failed" and
          res[0]["errMsg"] == "sender offline past the deadline" and 29 <= waited <= 40,
          "an offline sender -> failed after the 30 s deadline (%.1f s, %s)" % (waited, res))

    if os.path.exists(KKIMCTL):
        url = "redis://127.0.0.1:%d/0" % rp
        p = subprocess.run([KKIMCTL, "send", "--redis", url, "acme", "--as", "bob", "--to", "alice",
                            "hello from kkimctl"], capture_output=True, text=True, timeout=30)
        out = p.stdout.strip()
        cm = out.split("clientMsgID=")[1].split()[0] if "clientMsgID=" in out else ""
        t = {e["clientMsgID"]: e for e in seqlog_full(env)}.get(cm)
        check(p.returncode == 0 and out.startswith("sent ") and t is not None and
              ("seq=%d" % t["seq"]) in out,
              "kkimctl send: exit 0, prints the `sent` result of the stored message (%r %r)" %
              (out, p.stderr[-300:]))
        p = subprocess.run([KKIMCTL, "send", "--redis", url, "acme", "--as", "bob", "--group", "g9",
                            "nobody hears"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and p.stdout.startswith("rejected ") and "errCode=1201" in p.stdout,
              "kkimctl send to an unknown group: exit 1, prints `rejected` errCode=1201 (%r)" %
              p.stdout.strip())

    all_res = results_by_id(r)
    outbox = r.stream("kkim:{acme}:outbox")
    check(len(all_res) == len(outbox) and all(len(v) == 1 for v in all_res.values()),
          "every outbox entry has exactly one result (%d entries, %d results)" %
          (len(outbox), sum(len(v) for v in all_res.values())))
    pend = r.cmd("XPENDING", "kkim:{acme}:outbox", "kkim-relay")
    check(pend[0] == 0, "nothing pending in the group (%s)" % pend[0])
    admin_api(env, admin, r, all_res)
    code = env.stop("relay")
    check(code == 0, "the relay stops cleanly on SIGTERM (exit %s)" % code)


def http(port, path, method="GET"):
    import urllib.error
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def admin_api(env, admin, r, all_res):
    """GET /v1/tenants, POST .../reconnect, POST /v1/reload."""
    st, body = http(admin, "/v1/tenants")
    t = body["tenants"][0] if st == 200 and body.get("tenants") else {}
    want = {}
    for v in all_res.values():
        want[v[0]["status"]] = want.get(v[0]["status"], 0) + 1
    ob = t.get("outbox", {})
    check(st == 200 and t.get("id") == "acme" and t.get("users") == 4 and
          t.get("sessions", {}).get("online") == 3 and t.get("sessions", {}).get("parked") == 1 and
          ob.get("sent") == want.get("sent") and ob.get("rejected") == want.get("rejected") and
          ob.get("failed") == want.get("failed") and ob.get("inflight") == 0,
          "GET /v1/tenants: sessions by state and outbox counters match the results stream (%s)"
          % json.dumps(t))
    logins = lambda: sum(1 for _, kv in r.stream("kkim:{acme}:events")  # noqa: E731
                         if kv.get(b"type") == b"login" and kv.get(b"user") == b"alice")
    before = logins()
    st, body = http(admin, "/v1/sessions/acme/alice/reconnect", "POST")
    end = time.time() + 10
    while time.time() < end and logins() == before:
        time.sleep(0.1)
    check(st == 202 and body.get("reconnecting") == 1 and logins() == before + 1,
          "POST /v1/sessions/acme/alice/reconnect: 202, alice logs in again (%s %s)" % (st, body))
    st1, _ = http(admin, "/v1/sessions/acme/nobody/reconnect", "POST")
    st2, _ = http(admin, "/v1/sessions/acme/alice/reconnect", "GET")
    st3, _ = http(admin, "/v1/sessions/acme/alice/bogus", "POST")
    check((st1, st2, st3) == (404, 405, 404),
          "reconnect: unknown user 404, GET 405, unknown verb 404 (%s %s %s)" % (st1, st2, st3))
    st, body = http(admin, "/v1/reload", "POST")
    end = time.time() + 5
    seen = False
    while time.time() < end and not seen:
        seen = any('"event":"reload"' in line for line in open(env.log("relay")))
        time.sleep(0.1)
    check(st == 202 and body == {"reload": "requested"} and seen,
          "POST /v1/reload: 202 and the relay reloads as on SIGHUP (%s %s)" % (st, body))


def urlget(port, path):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as resp:
        return resp.read()


def seqlog_full(env):
    out, since = [], 0
    while True:
        rr = env.sim("/seqlog?since=%d&max=50000" % since)
        ents = rr.get("entries") or []
        out += ents
        if not ents:
            return out
        since = rr["next"]


def main():
    kkit.run_driver("outbox_entries", BUILD, run, check)


main()
