"""isolation_tenants.py BUILD_DIR — two tenants, two Redis ACL users.

Redis users `ia` and `ib` may touch only `kkim:{ia}*` and `kkim:{ib}*`; each
tenant's "redis" names its own user, so the relay holds one connection per
tenant. Tenant ia has limits.maxMsgsPerSec 3000 and file tokens. Checks:
  - with redis-cli as each user: its own keys are readable and writable, the
    other's are refused (NOPERM) for reads and writes;
  - both tenants log in and archive through their own connection (no NOPERM
    in the relay's log);
  - a flood of 10 000 msgs/s into ia (two logins, 6 s) while ib gets one
    message every 50 ms: ia's archive grows by at most its budget over the
    flood, ia was throttled and ib never, every ib message arrives exactly
    once, all of ia's flood lands later (exactly once, in order) and ia's
    logins never reconnect; ib's append latency (inject → entry in
    kkim:{ib}:msgs) before and during the flood is printed;
  - ia's Redis user is disabled for 13 s (its connection drops and cannot
    AUTH): ib keeps archiving every message, ia's logins stay connected
    although their requests' answers wait unread longer than the request
    timeout, and ia's messages of that time land once it is back;
  - ia's tokens are revoked at the gateway (its logins park): ib keeps
    archiving every message; with new tokens and a reload, ia's messages of
    that time land.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SECRET = "kkim-gatewaysim-secret"
# Tenant ia's ingest budget and the flood it gets: two logins, FLOOD_RATE
# msgs/s each for FLOOD_MS, over three times the budget.
A_LIMIT = 3000
LIMITS_A = {"maxMsgsPerSec": A_LIMIT}
FLOOD_RATE = 5000
FLOOD_MS = 6000
# ia resyncs every RESYNC_A, so that while its reads are stopped (budget
# spent, Redis down) answers to its requests wait unread.
RESYNC_A = "1s"
# How long ia's Redis user stays off (more than the request timeout).
OUTAGE_S = 13
# Messages that may still arrive after reads stop: a push frame carries one,
# and lws hands over what it already read (a 4 KiB buffer per login).
OVERSHOOT = 200
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
        self.send_ms = {}  # seq → the simulator's sendTime
        self.eid_ms = {}   # seq → the ms part of the entry ID (when Redis ran the XADD)
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
                    self.send_ms[seq] = int(f[b"sendTime"])
                    self.eid_ms[seq] = int(last.split("-")[0])


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


def post(admin, path):
    """POST path at the admin API; returns the decoded JSON answer."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (admin, path), data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


def metric(admin, name, tenant):
    """The value of name{tenant="..."} in GET /metrics, 0 when absent."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=2) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and 'tenant="%s"' % tenant in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_landed(env, r, tenant, users, timeout):
    """Waits until every message the simulator assigned in the conversations
    of users is in the tenant's streams; returns (ok, check_streams stats)."""
    end = time.time() + timeout
    while True:
        truth = {}
        for conv, seq in env.seqlog():
            if any(u in conv.split("_") for u in users):
                truth.setdefault(conv, set()).add(seq)
        problems, stats = kkit.check_streams(r, tenant, truth)
        if not problems or time.time() > end:
            return not problems, stats
        time.sleep(0.5)


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def write_config(env, ws, rp, admin, limits_a=None, tokens_a=None, own_redis=True, resync_a=None):
    """Writes the relay's config: tenants ia and ib, each on its own Redis ACL
    user (without own_redis: both on the global "redis"); limits_a (a dict)
    becomes ia's "limits", tokens_a its "tokens" (default: jwt), resync_a
    its resyncInterval. Returns its path."""
    def tenant(tid, users, pw, tokens=None):
        t = {"id": tid, "gateway": {"url": "ws://127.0.0.1:%d" % ws, "platformID": 7},
             "tokens": tokens or {"source": "jwt", "secret": SECRET}, "users": users, "backfill": "none"}
        if own_redis:
            t["redis"] = {"url": "redis://127.0.0.1:%d/0" % rp, "username": tid, "password": pw}
        return t
    ta = tenant("ia", ["ia1", "ia2"], "pa", tokens_a)
    if limits_a:
        ta["limits"] = limits_a
    if resync_a:
        ta["resyncInterval"] = resync_a
    cfg = {"instance": {"id": "it"}, "admin": {"listen": "127.0.0.1:%d" % admin},
           "log": {"level": "info"}, "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [ta, tenant("ib", ["ib1", "ib2"], "pb")]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def wait_online(admin):
    """Waits up to 15 s for both logins of both tenants; checks they are online."""
    kkit.wait_port(admin)
    end = time.time() + 15
    while time.time() < end and (online(admin, "ia") < 2 or online(admin, "ib") < 2):
        time.sleep(0.1)
    check(online(admin, "ia") == 2 and online(admin, "ib") == 2, "both tenants online")


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    # A send queue deep enough for the whole flood: a throttled login leaves
    # the data in TCP and the simulator's queue, as with a slow reader.
    env.start_sim(ws, ctl, ["ia1", "ia2", "ib1", "ib2", "xa", "xb"], ["-secret", SECRET, "-queue", "100000"])
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
    env.mint_tokens("ia", ["ia1", "ia2"])
    path = write_config(env, ws, rp, admin, LIMITS_A, resync_a=RESYNC_A,
                        tokens_a={"source": "file", "path": os.path.join(env.dir, "ia.tokens")})
    env.start_relay(path)
    wait_online(admin)
    watcher = Watcher(rp)
    try:
        base = drive_b(env, watcher, 40, 0.05)
        lat0, miss0 = latencies(watcher, base)
        # --- flood tenant ia above its limits.maxMsgsPerSec -------------------
        n0 = int(r.cmd("XLEN", "kkim:{ia}:msgs"))
        t0 = time.time()
        for u in ("ia1", "ia2"):
            env.sim("/inject", {"sendID": "xa", "recvID": u, "rate": FLOOD_RATE, "durationMs": FLOOD_MS,
                                "async": True})
        time.sleep(0.5)
        during = drive_b(env, watcher, 100, 0.05)
        n1, t1 = int(r.cmd("XLEN", "kkim:{ia}:msgs")), time.time()
        lat1, miss1 = latencies(watcher, during)
        print("     ib append latency ms  before flood: p50 %.1f p99 %.1f max %.1f (n=%d)"
              % (pct(lat0, 0.5), pct(lat0, 0.99), lat0[-1] if lat0 else -1, len(lat0)))
        print("     ib append latency ms  during flood: p50 %.1f p99 %.1f max %.1f (n=%d)"
              % (pct(lat1, 0.5), pct(lat1, 0.99), lat1[-1] if lat1 else -1, len(lat1)))
        # Ingest is at most limit * W + burst (limit / 10) + the overshoot of
        # the frames already being delivered when reads stopped (ingest.h);
        # W starts up to one 20 ms tick (plus loop lag: 50 ms) before t0, at
        # the last refill.
        bound = A_LIMIT * (t1 - t0 + 0.05) + A_LIMIT / 10 + OVERSHOOT
        print("     ia archived %d messages in %.2f s (%.0f/s; offered %d/s; bound %d)"
              % (n1 - n0, t1 - t0, (n1 - n0) / (t1 - t0), 2 * FLOOD_RATE, bound))
        check(n1 - n0 > 0 and n1 - n0 <= bound,
              "ia's archive grew by at most its limit over the flood (%d <= %d)" % (n1 - n0, bound))
        check(miss0 == 0 and miss1 == 0 and watcher.dups == 0,
              "every ib message arrived exactly once before and during the flood (missing %d/%d, dups %d)"
              % (miss0, miss1, watcher.dups))
        thr = metric(admin, "kkim_throttled_seconds_total", "ia")
        check(thr > 0 and metric(admin, "kkim_throttled_seconds_total", "ib") == 0,
              "ia was throttled (%.2f s), ib never" % thr)
        ok, stats = wait_landed(env, r, "ia", ("ia1", "ia2"), 90)
        check(ok, "all of ia's flood landed, exactly once and in order (%s)" % stats)
        check(metric(admin, "kkim_reconnects_total", "ia") == 0,
              "ia's logins stayed connected through the throttling (no reconnect)")
        # --- ia's Redis user disabled: ib goes on ---------------------------
        rec0 = metric(admin, "kkim_reconnects_total", "ia")
        r.cmd("ACL", "SETUSER", "ia", "off")
        r.cmd("CLIENT", "KILL", "USER", "ia")
        off_at = time.time()
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
        # Longer than the 10 s request timeout: ia's resyncs (every RESYNC_A)
        # have answers waiting unread while its reads are stopped.
        time.sleep(max(0, OUTAGE_S - (time.time() - off_at)))
        check(metric(admin, "kkim_reconnects_total", "ia") == rec0,
              "ia's logins stay connected through %d s of stopped reads (no request timeout)" % OUTAGE_S)
        r.cmd("ACL", "SETUSER", "ia", "on")
        ok, stats = wait_landed(env, r, "ia", ("ia1", "ia2"), 30)
        check(ok, "after ia's Redis user is back, ia's messages of the outage land (%s)" % stats)
        # --- ia's tokens revoked at the gateway: ib goes on -------------------
        for u in ("ia1", "ia2"):
            env.sim("/tokens/revoke", {"userID": u, "platformID": 7})
            env.sim("/close", {"userID": u})
        end = time.time() + 20
        while time.time() < end and online(admin, "ia") > 0:
            time.sleep(0.1)
        check(online(admin, "ia") == 0 and online(admin, "ib") == 2,
              "with revoked tokens ia has no login online, ib keeps both")
        env.sim("/inject", {"sendID": "xa", "recvID": "ia2", "count": 50})
        badtok = drive_b(env, watcher, 40, 0.05)
        lat3, miss3 = latencies(watcher, badtok)
        print("     ib append latency ms  while ia's tokens are refused: p50 %.1f max %.1f (n=%d)"
              % (pct(lat3, 0.5), lat3[-1] if lat3 else -1, len(lat3)))
        check(miss3 == 0 and watcher.dups == 0,
              "ia's tokens refused: every ib message still arrived once (missing %d)" % miss3)
        env.mint_tokens("ia", ["ia1", "ia2"])  # new tokens in ia's token file
        env.procs["relay"].send_signal(signal.SIGHUP)  # parked logins try again
        ok, stats = wait_landed(env, r, "ia", ("ia1", "ia2"), 45)
        check(ok, "with its tokens fixed, ia's messages of that time land (%s)" % stats)
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
