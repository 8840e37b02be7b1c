"""tokens_sources.py BUILD_DIR — every token source against real peers.

One relay, one gateway simulator, one Redis, five tenants:
  tj  jwt  — tokens minted with the simulator's secret (HS256, OpenIM claims);
  tr  redis — HSET kkim:{tr}:tokens "tr1:7" (exact field) and "tr2" (fallback
        field); tr3 has no token → parked with a no_token event;
  th  http — an OpenIM-shaped admin API (a real HTTP server in this process:
        /auth/get_admin_token with the secret, then /auth/get_user_token with
        header `token` and `operationID`), user tokens minted by the simulator;
  tt  http — the same API, but every call hangs (longer than the relay's 5 s
        deadline) until the test releases it;
  tg  http — the same API answering garbage (not JSON, no errCode, HTTP 500,
        a body cut short) until the test heals it.
Checks: tj, tr, th log in while tt and tg are still failing (a failing
source touches only its tenant); the relay logs token_fetch_failed for tt
and tg; after release/heal, tt and tg log in (retries with backoff).
"""
import http.server
import json
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SIM_SECRET = "kkim-gatewaysim-secret"
ADMIN_SECRET = "openim-admin-secret"
USERS = {"tj": ["tj1", "tj2", "tj3"], "tr": ["tr1", "tr2", "tr3"], "th": ["th1", "th2"],
         "tt": ["tt1", "tt2"], "tg": ["tg1", "tg2"]}
check = kkit.Checks()


class AdminAPI:
    """An OpenIM-shaped admin API on a free port; mode: good, hang, garbage."""

    def __init__(self, env, mode):
        self.env, self.mode = env, mode
        self.calls = []
        self.released = threading.Event()
        self.garbage_i = 0
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                api.calls.append((self.path, dict(self.headers), body))
                if api.mode == "hang":
                    api.released.wait(8)
                    if not api.released.is_set():
                        return  # the relay gave up already (5 s)
                if api.mode == "garbage":
                    return api.garbage(self)
                out = api.answer(self.path, self.headers, body)
                data = json.dumps(out).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # a released call whose client gave up long ago

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def answer(self, path, headers, body):
        if not headers.get("operationID"):
            return {"errCode": 1001, "errMsg": "ArgsError: operationID"}
        if path == "/api/auth/get_admin_token":
            if body.get("secret") != ADMIN_SECRET or body.get("userID") != "imAdmin":
                return {"errCode": 1002, "errMsg": "NoPermissionError"}
            return {"errCode": 0, "errMsg": "", "data": {"token": "ADMIN-TOKEN", "expireTimeSeconds": 86400}}
        if path == "/api/auth/get_user_token":
            if headers.get("token") != "ADMIN-TOKEN":
                return {"errCode": 1502, "errMsg": "TokenInvalidError"}
            tok = self.env.sim("/tokens", {"userID": body["userID"], "platformID": body["platformID"]})
            return {"errCode": 0, "errMsg": "", "data": {"token": tok["token"], "expireTimeSeconds": 86400}}
        return {"errCode": 404, "errMsg": "no route"}

    def garbage(self, h):
        kinds = [(200, b"<html>not json</html>", None), (200, b'{"data":{"token":"x"}}', None),
                 (500, b'{"errCode":0,"data":{"token":"x"}}', None), (200, b'{"errCode":0,"da', 400)]
        st, data, clen = kinds[self.garbage_i % len(kinds)]
        self.garbage_i += 1
        h.send_response(st)
        h.send_header("Content-Length", str(clen or len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True

    def close(self):
        self.released.set()
        self.srv.shutdown()


def write_config(env, ws, rp, admin, apis):
    def tenant(tid, tokens):
        return {"id": tid, "gateway": {"url": "ws://127.0.0.1:%d" % ws, "platformID": 7},
                "tokens": tokens, "users": USERS[tid], "backfill": "none"}
    http_tok = lambda api: {"source": "http", "url": "http://127.0.0.1:%d/api" % api.port,
                            "secret": ADMIN_SECRET}
    cfg = {"instance": {"id": "it"}, "admin": {"listen": "127.0.0.1:%d" % admin},
           "log": {"level": "info"}, "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [tenant("tj", {"source": "jwt", "secret": SIM_SECRET, "ttl": "1h"}),
                       tenant("tr", {"source": "redis"}),
                       tenant("th", http_tok(apis["th"])),
                       tenant("tt", http_tok(apis["tt"])),
                       tenant("tg", http_tok(apis["tg"]))]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def online(admin, tenant):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions?tenant=%s&state=online"
                                    % (admin, tenant), timeout=2) as r:
            return sorted(s["user"] for s in json.loads(r.read())["sessions"])
    except OSError:
        return []


def wait_users(admin, tenant, want, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if online(admin, tenant) == sorted(want):
            return True
        time.sleep(0.1)
    return False


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, [u for us in USERS.values() for u in us], ["-secret", SIM_SECRET])
    r = kkit.Redis(rp)
    toks = env.sim("/tokens", {"userIDs": ["tr1", "tr2"], "platformID": 7})["tokens"]
    r.cmd("HSET", "kkim:{tr}:tokens", "tr1:7", toks["tr1"], "tr2", toks["tr2"], "tr3:8", "wrong-platform")
    apis = {"th": AdminAPI(env, "good"), "tt": AdminAPI(env, "hang"), "tg": AdminAPI(env, "garbage")}
    try:
        env.start_relay(write_config(env, ws, rp, admin, apis))
        kkit.wait_port(admin)
        t0 = time.time()
        check(wait_users(admin, "tj", USERS["tj"], 15), "jwt: tj1..tj3 online with minted tokens")
        check(wait_users(admin, "tr", ["tr1", "tr2"], 15),
              "redis: tr1 (field user:platform) and tr2 (field user) online")
        check(wait_users(admin, "th", USERS["th"], 15), "http: th1, th2 online via the admin API")
        print("     good sources online after %.2f s" % (time.time() - t0))
        paths = [c[0] for c in apis["th"].calls]
        check(paths.count("/api/auth/get_admin_token") == 1 and paths.count("/api/auth/get_user_token") == 2,
              "http: one admin-token call, one user-token call per login (%s)" % paths)
        check(all(c[1].get("operationID") for c in apis["th"].calls), "http: every call has operationID")
        ev = [dict((k.decode(), v.decode()) for k, v in kv.items()) for _, kv in r.stream("kkim:{tr}:events")]
        check(any(e.get("type") == "parked" and e.get("user") == "tr3" and e.get("reason") == "no_token"
                  for e in ev), "redis: tr3 (no field for its platform) parked with reason no_token")
        check(online(admin, "tt") == [] and online(admin, "tg") == [],
              "timeout and garbage tenants have no login yet")
        time.sleep(6)  # past the 5 s deadline of the hanging calls
        log = open(env.log("relay"), errors="replace").read()
        fails = [json.loads(l) for l in log.splitlines() if '"token_fetch_failed"' in l]
        check(any(f.get("tenant") == "tt" and f.get("detail", "").endswith("timeout") for f in fails),
              "timeout: token_fetch_failed detail=timeout for tt")
        details = sorted(set(f.get("detail") for f in fails if f.get("tenant") == "tg"))
        check(any("malformed" in d for d in details) and any("HTTP status 500" in d for d in details),
              "garbage: tg failures name the cause %s" % details)
        check(ADMIN_SECRET not in log and "ADMIN-TOKEN" not in log and toks["tr1"] not in log,
              "no secret or token in the relay's log")
        check(online(admin, "tj") == USERS["tj"] and online(admin, "th") == USERS["th"],
              "other tenants stayed online while tt/tg failed")
        apis["tt"].released.set()
        apis["tg"].mode = "good"
        t1 = time.time()
        ok_t = wait_users(admin, "tt", USERS["tt"], 45)
        ok_g = wait_users(admin, "tg", USERS["tg"], 45)
        check(ok_t and ok_g, "after release/heal, tt and tg log in by retrying (%.1f s)" % (time.time() - t1))
        rc = env.stop("relay")
        check(rc == 0, "relay exits 0 on SIGTERM, no sanitizer report (rc=%s)" % rc)
    finally:
        for a in apis.values():
            a.close()
        r.close()


def main():
    kkit.run_driver("tokens_sources", BUILD, run, check, logs=("relay",))


if __name__ == "__main__":
    main()
