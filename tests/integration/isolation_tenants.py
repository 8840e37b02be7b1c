"""isolation_tenants.py BUILD_DIR — two tenants, two Redis ACL users.

Redis users `ia` and `ib` may touch only `kkim:{ia}*` and `kkim:{ib}*`; each
tenant's "redis" names its own user, so the relay holds one connection per
tenant. Checks:
  - with redis-cli as each user: its own keys are readable and writable, the
    other's are refused (NOPERM) for reads and writes;
  - both tenants log in and archive through their own connection (no NOPERM
    in the relay's log);
  - a flood into tenant ia (fast async injection) while tenant ib gets one
    message every 50 ms: ib's append latency (inject → entry in
    kkim:{ib}:msgs) before and during the flood is printed; asserted: every
    ib message arrives, exactly once;
  - ia's Redis user is disabled (its connection drops and cannot AUTH):
    ib keeps archiving every message meanwhile.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SECRET = "kkim-gatewaysim-secret"
check = kkit.Checks()


def cli(port, user, pw, *args):
    """redis-cli as an ACL user; returns its output (errors included)."""
    p = subprocess.run(["redis-cli", "-p", str(port), "--user", user, "--pass", pw, "--no-auth-warning"]
                       + list(args), capture_output=True, text=True, timeout=10)
    return (p.stdout + p.stderr).strip()


def online(admin, tenant):
    with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions?tenant=%s&state=online" % (admin, tenant),
                                timeout=2) as r:
        return len(json.loads(r.read())["sessions"])


class Watcher:
    """Follows kkim:{ib}:msgs and stamps each seq's arrival time."""

    def __init__(self, port):
        self.r = kkit.Redis(port)
        self.r.cmd("AUTH", "ib", "pb")
        self.seen = {}
        self.dups = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        last = "0"
        while not self.stop:
            rep = self.r.cmd("XREAD", "COUNT", 1000, "BLOCK", 100, "STREAMS", "kkim:{ib}:msgs", last)
            if not rep:
                continue
            now = time.time()
            for eid, kv in rep[0][1]:
                last = eid.decode()
                f = dict(zip(kv[0::2], kv[1::2]))
                seq = int(f[b"seq"])
                if seq in self.seen:
                    self.dups += 1
                else:
                    self.seen[seq] = now


def drive_b(env, watcher, n, period):
    """Injects n messages to ib1, one per period; returns (seq, sent_at)."""
    out = []
    for i in range(n):
        t = time.time()
        r = env.sim("/inject", {"sendID": "xb", "recvID": "ib1", "text": "b%d" % i})
        out.append((r["sent"][0]["seq"], t))
        time.sleep(max(0, period - (time.time() - t)))
    return out


def latencies(watcher, sent, timeout=15):
    end = time.time() + timeout
    while time.time() < end and not all(s in watcher.seen for s, _ in sent):
        time.sleep(0.05)
    lat = sorted((watcher.seen[s] - t) * 1000 for s, t in sent if s in watcher.seen)
    missing = sum(1 for s, _ in sent if s not in watcher.seen)
    return lat, missing


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["ia1", "ia2", "ib1", "ib2", "xa", "xb"], ["-secret", SECRET])
    r = kkit.Redis(rp)
    for u, pw in (("ia", "pa"), ("ib", "pb")):
        r.cmd("ACL", "SETUSER", u, "on", ">" + pw, "~kkim:{%s}*" % u, "resetchannels", "+@all", "-@admin")
    # --- redis-cli as each user ---------------------------------------------
    check(cli(rp, "ia", "pa", "SET", "kkim:{ia}:probe", "1") == "OK", "ia writes kkim:{ia}:probe")
    check(cli(rp, "ib", "pb", "SET", "kkim:{ib}:probe", "1") == "OK", "ib writes kkim:{ib}:probe")
    for me, pw, other in (("ia", "pa", "ib"), ("ib", "pb", "ia")):
        rd = cli(rp, me, pw, "GET", "kkim:{%s}:probe" % other)
        wr = cli(rp, me, pw, "XADD", "kkim:{%s}:msgs" % other, "*", "f", "v")
        hs = cli(rp, me, pw, "HGETALL", "kkim:{%s}:hw" % other)
        check("NOPERM" in rd and "NOPERM" in wr and "NOPERM" in hs,
              "%s cannot read or write kkim:{%s}* (GET/XADD/HGETALL → NOPERM)" % (me, other))
        check(cli(rp, me, pw, "GET", "kkim:{%s}:probe" % me) == "1", "%s reads its own key" % me)
    # --- the relay, one connection per tenant --------------------------------
    def tenant(tid, users, pw):
        return {"id": tid, "gateway": {"url": "ws://127.0.0.1:%d" % ws, "platformID": 7},
                "tokens": {"source": "jwt", "secret": SECRET}, "users": users, "backfill": "none",
                "redis": {"url": "redis://127.0.0.1:%d/0" % rp, "username": tid, "password": pw}}
    cfg = {"instance": {"id": "it"}, "admin": {"listen": "127.0.0.1:%d" % admin},
           "log": {"level": "info"}, "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [tenant("ia", ["ia1", "ia2"], "pa"), tenant("ib", ["ib1", "ib2"], "pb")]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env.start_relay(path)
    kkit.wait_port(admin)
    end = time.time() + 15
    while time.time() < end and (online(admin, "ia") < 2 or online(admin, "ib") < 2):
        time.sleep(0.1)
    check(online(admin, "ia") == 2 and online(admin, "ib") == 2, "both tenants online")
    watcher = Watcher(rp)
    try:
        base = drive_b(env, watcher, 40, 0.05)
        lat0, miss0 = latencies(watcher, base)
        # flood tenant ia
        t0 = time.time()
        flood = env.sim("/inject", {"sendID": "xa", "recvID": "ia1", "rate": 20000, "durationMs": 6000,
                                    "async": True})
        env.sim("/inject", {"sendID": "xa", "recvID": "ia2", "rate": 20000, "durationMs": 6000, "async": True})
        time.sleep(0.5)
        during = drive_b(env, watcher, 80, 0.05)
        lat1, miss1 = latencies(watcher, during)
        print("     ib append latency ms  before flood: p50 %.1f p99 %.1f max %.1f (n=%d)"
              % (pct(lat0, 0.5), pct(lat0, 0.99), lat0[-1] if lat0 else -1, len(lat0)))
        print("     ib append latency ms  during flood: p50 %.1f p99 %.1f max %.1f (n=%d)"
              % (pct(lat1, 0.5), pct(lat1, 0.99), lat1[-1] if lat1 else -1, len(lat1)))
        time.sleep(max(0, 7 - (time.time() - t0)))
        na = int(r.cmd("XLEN", "kkim:{ia}:msgs"))
        print("     ia flood: %s; kkim:{ia}:msgs has %d entries" % (flood, na))
        check(na > 1000, "the flood reached tenant ia (%d entries)" % na)
        check(miss0 == 0 and miss1 == 0 and watcher.dups == 0,
              "every ib message arrived exactly once before and during the flood (missing %d/%d, dups %d)"
              % (miss0, miss1, watcher.dups))
        # --- ia's Redis user disabled: ib goes on ---------------------------
        r.cmd("ACL", "SETUSER", "ia", "off")
        r.cmd("CLIENT", "KILL", "USER", "ia")
        time.sleep(1)
        env.sim("/inject", {"sendID": "xa", "recvID": "ia1", "count": 50})
        outage = drive_b(env, watcher, 40, 0.05)
        lat2, miss2 = latencies(watcher, outage)
        print("     ib append latency ms  while ia's Redis user is off: p50 %.1f max %.1f (n=%d)"
              % (pct(lat2, 0.5), lat2[-1] if lat2 else -1, len(lat2)))
        check(miss2 == 0, "ia's Redis refused: every ib message still arrived (missing %d)" % miss2)
        log = open(env.log("relay"), errors="replace").read()
        check('"tenant_redis_down"' in log and '"tenant":"ia"' in log, "relay logged tenant_redis_down for ia")
        check("pa" not in [w.strip('"') for w in log.replace(",", " ").split()],
              "ia's password is not in the log")
        r.cmd("ACL", "SETUSER", "ia", "on")
    finally:
        watcher.stop = True
        watcher.t.join(2)
    log = open(env.log("relay"), errors="replace").read()
    before_off = log.split('"tenant_redis_down"')[0]
    check("NOPERM" not in before_off, "no NOPERM in the relay's log (each tenant stays in its keys)")
    r.close()
    rc = env.stop("relay")
    check(rc == 0, "relay exits 0 on SIGTERM, no sanitizer report (rc=%s)" % rc)


def main():
    kkit.run_driver("isolation_tenants", BUILD, run, check, logs=("relay",))


if __name__ == "__main__":
    main()
