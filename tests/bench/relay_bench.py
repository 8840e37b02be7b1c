#!/usr/bin/python3
"""relay_bench.py BUILD_DIR MODE [ARGS] — the relay core's benchmarks (design §9).

Modes (each prints "figure:" lines; docs/benchmarks.md "Relay core"):
  logins N [IDLE_S]   N idle logins held by kkim-relay and, in the same run, by
                      a minimal Go client fleet (relay-gofleet fleet), each
                      against its own simulator process (fd cap 20 000 per
                      process). RSS (VmRSS) of the relay with 1 login (its own
                      run, the baseline) and with N; of the fleet before and
                      after dialling; CPU of both over the same IDLE_S s of
                      idleness (utime+stime, /proc/PID/stat). KK_BENCH_LPS sets
                      loginsPerSecond (400: 2000 crashes the relay, see docs).
  tput N [USERS]      push -> Redis throughput: N single-chat messages over
                      USERS logins x 8 senders, stored and pre-built as push
                      frames by the simulator (/replay/prepare) before the
                      clock; time from /replay/start (flat out, 64 frames a
                      write) until every entry is in kkim:{b}:msgs, then
                      relay-gofleet verify checks count and seq order per
                      conversation. Then redis-benchmark runs append.lua
                      (EVALSHA, same entry bytes, the relay's mean batch size,
                      -P 64) on the same Redis.
  scale N USERS INST  tput's drain with INST relays (--shard i/INST), the
                      aggregate figure of several instances (no peer).
  lat RATE SECONDS    push -> visible in stream latency at RATE msgs/s: the
                      simulator replays pre-built frames at RATE in 1 ms ticks
                      and stamps each clientMsgID with its send time;
                      relay-gofleet lat reads the stream with XREAD BLOCK and
                      subtracts the stamp from its arrival time; a Go login,
                      relay-gofleet pushlat, times the same pushes at the
                      gateway side. The stream is verified as in tput.
BUILD_DIR holds server/kkim-relay, go/relay-gofleet and sim/kkim-gatewaysim
(scripts/bench-relay.sh builds them).
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
MODE = sys.argv[2]
ARGS = sys.argv[3:]


def figure(name, value):
    print("figure: %s = %s" % (name, value), flush=True)


class Sim:
    """One simulator process with its own control client."""

    def __init__(self, env, name, extra=()):
        self.env = env
        self.name = name
        self.ws, self.ctl = kkit.free_port(), kkit.free_port()
        env.start(name, [os.path.join(BUILD, "sim", "kkim-gatewaysim"),
                         "-listen", "127.0.0.1:%d" % self.ws,
                         "-control", "127.0.0.1:%d" % self.ctl, "-quiet"] + list(extra))
        kkit.wait_port(self.ctl)

    def api(self, path, body=None, timeout=600):
        url = "http://127.0.0.1:%d%s" % (self.ctl, path)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def token_file(self, users, platform, path):
        toks = self.api("/tokens", {"userIDs": users, "platformID": platform, "ttlSec": 86400})["tokens"]
        with open(path, "w") as f:
            for u in users:
                f.write("%s %d %s\n" % (u, platform, toks[u]))


def relay_config(env, sim, redis_port, admin, users_file, extra_tenant=None, name="relay"):
    t = {"id": "b",
         "gateway": {"url": "ws://127.0.0.1:%d" % sim.ws, "sdkType": "go", "compression": "none",
                     "platformID": 3},
         "tokens": {"source": "file", "path": os.path.join(env.dir, "relay.tokens")},
         "usersFile": users_file, "backfill": "none",
         "limits": {"loginsPerSecond": 2000, "maxLogins": 100000}}
    t.update(extra_tenant or {})
    cfg = {"instance": {"id": "bench-" + name, "drainTimeout": "5s"},
           "admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "warn"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % redis_port}, "tenants": [t]}
    path = os.path.join(env.dir, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def start_relay(env, cfg):
    return env.start("relay", [os.path.join(BUILD, "server", "kkim-relay"), "-c", cfg])


def sim_online(sim, n, timeout):
    """Waits until sim holds n connections that each had their reply to a
    request (framesOut >= n: the relay's post-login 1001); returns conns."""
    end = time.time() + timeout
    conns = 0
    while time.time() < end:
        g = sim.api("/stats")["global"]
        conns = g["conns"]
        if conns >= n and g["framesOut"] >= n:
            return conns
        time.sleep(1)
    return conns


def mode_logins(env):
    n = int(ARGS[0]) if ARGS else 18000
    idle = float(ARGS[1]) if len(ARGS) > 1 else 60
    lps = float(os.environ.get("KK_BENCH_LPS", "400"))
    users = ["u%d" % i for i in range(1, n + 1)]
    rp, admin = kkit.free_port(), kkit.free_port()
    env.start_redis(rp, aof=False)
    sa = Sim(env, "sim_relay")
    sb = Sim(env, "sim_go")
    for s in (sa, sb):
        s.api("/users", {"prefix": "u", "count": n})
    sa.token_file(users, 3, os.path.join(env.dir, "relay.tokens"))
    sb.token_file(users, 3, os.path.join(env.dir, "go.tokens"))
    one = os.path.join(env.dir, "users1.txt")
    alln = os.path.join(env.dir, "users.txt")
    with open(one, "w") as f:
        f.write("u%d\n" % n)
    with open(alln, "w") as f:
        f.write("\n".join(users) + "\n")
    lim = {"limits": {"loginsPerSecond": lps, "maxLogins": 100000}}
    # Baseline: the same relay and config with 1 login, once online.
    cfg = relay_config(env, sa, rp, admin, one, lim)
    relay = start_relay(env, cfg)
    kkit.wait_port(admin)
    sim_online(sa, 1, 30)
    time.sleep(3)
    r0 = kkit.rss_kib(relay.pid)
    env.stop("relay")
    time.sleep(1)
    cfg = relay_config(env, sa, rp, admin, alln, lim)
    t0 = time.time()
    relay = start_relay(env, cfg)
    got = sim_online(sa, n, 300)
    ramp = time.time() - t0
    time.sleep(3)
    r1 = kkit.rss_kib(relay.pid)
    print("relay: %d online (of %d) after %.1f s at %g logins/s; VmRSS 1 login %d KiB, %d logins %d KiB"
          % (got, n, ramp, lps, r0, n, r1), flush=True)

    fl = env.start("gofleet", [os.path.join(BUILD, "go", "relay-gofleet"), "fleet",
                               "-url", "ws://127.0.0.1:%d/" % sb.ws,
                               "-tokens", os.path.join(env.dir, "go.tokens"), "-delay", "3s"])
    time.sleep(2)
    g0 = kkit.rss_kib(fl.pid)
    end = time.time() + 300
    line = ""
    while time.time() < end:
        line = open(env.log("gofleet")).read()
        if "online" in line:
            break
        time.sleep(1)
    time.sleep(3)
    g1 = kkit.rss_kib(fl.pid)
    print("gofleet: %s; VmRSS %d KiB -> %d KiB" % (line.strip().replace("\n", "; "), g0, g1),
          flush=True)
    gon = int(re.search(r"online (\d+)", line).group(1)) if "online" in line else 0

    # Idle CPU, both in the same window.
    time.sleep(5)
    c0 = (kkit.cpu_s(relay.pid), kkit.cpu_s(fl.pid), kkit.cpu_s(sa.env.procs["sim_relay"].pid),
          kkit.cpu_s(sb.env.procs["sim_go"].pid))
    w0 = time.time()
    time.sleep(idle)
    c1 = (kkit.cpu_s(relay.pid), kkit.cpu_s(fl.pid), kkit.cpu_s(sa.env.procs["sim_relay"].pid),
          kkit.cpu_s(sb.env.procs["sim_go"].pid))
    wall = time.time() - w0
    still = sa.api("/stats")["global"]["conns"] if relay.poll() is None else 0
    r2, g2 = kkit.rss_kib(relay.pid), kkit.rss_kib(fl.pid)
    print("load average after: %s" % open("/proc/loadavg").read().strip())
    figure("relay logins online", "%d / %d (still connected after idle: %d)" % (got, n, still))
    figure("relay login ramp", "%.1f s (loginsPerSecond %g)" % (ramp, lps))
    figure("relay RSS per login", "%.2f KiB ((%d - %d) KiB / %d)" % ((r1 - r0) / (n - 1), r1, r0, n - 1))
    figure("relay RSS after idle", "%d KiB" % r2)
    figure("gofleet logins online", "%d / %d" % (gon, n))
    figure("gofleet RSS per login", "%.2f KiB ((%d - %d) KiB / %d)" % ((g1 - g0) / max(gon, 1), g1, g0, gon))
    figure("gofleet RSS after idle", "%d KiB" % g2)
    figure("relay idle CPU", "%.2f %% of a core over %.0f s" % (100 * (c1[0] - c0[0]) / wall, wall))
    figure("gofleet idle CPU", "%.2f %% of a core over %.0f s" % (100 * (c1[1] - c0[1]) / wall, wall))
    figure("sim (relay side) idle CPU", "%.2f %%" % (100 * (c1[2] - c0[2]) / wall))
    figure("sim (go side) idle CPU", "%.2f %%" % (100 * (c1[3] - c0[3]) / wall))
    figure("RSS ratio gofleet / relay per login", "%.2f" % (((g1 - g0) / max(gon, 1)) / ((r1 - r0) / (n - 1))))
    env.stop("gofleet")
    print(open(env.log("gofleet")).read().strip())


def xlen(r, key):
    return r.cmd("XLEN", key)


def commandstats(r):
    info = r.cmd("INFO", "commandstats").decode()
    out = {}
    for ln in info.splitlines():
        m = re.match(r"cmdstat_(\w+):calls=(\d+)", ln)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def replay_prepare(sim, users, senders, per, text):
    """Stores per messages in each (sender, user) single chat and pre-builds
    their push frames in the simulator (/replay/prepare); prints its cost."""
    pairs = [{"sendID": s, "recvID": u} for u in users for s in senders]
    res = sim.api("/replay/prepare", {"pairs": pairs, "count": per, "text": text})
    print("replay prepared: %d messages, %d frames (%d bytes) for %d connections in %d ms"
          % (res["messages"], res["frames"], res["bytes"], res["conns"], res["ms"]), flush=True)
    return len(pairs)


def verify(env, rp, convs, per):
    """relay-gofleet verify: the stream holds exactly convs x per messages,
    seqs 1..per in order in each conversation; raises if not."""
    out = subprocess.run([os.path.join(BUILD, "go", "relay-gofleet"), "verify", "-redis",
                          "127.0.0.1:%d" % rp, "-stream", "kkim:{b}:msgs", "-convs", str(convs),
                          "-per", str(per)], capture_output=True, text=True)
    figure("completeness", out.stdout.strip() + ("" if out.returncode == 0 else " FAILED"))
    if out.returncode != 0:
        raise RuntimeError("stream incomplete: %s %s" % (out.stdout, out.stderr))


def drain(env, total, nusers, ninst):
    """ninst relays (static shards i/ninst) with nusers logins in all; the
    simulator replays total messages flat out over nusers x 8 single chats.
    Returns (msgs/s, mean batch, redis port, stream key)."""
    users = ["u%d" % i for i in range(1, nusers + 1)]
    senders = ["s%d" % i for i in range(1, 9)]
    rp = kkit.free_port()
    env.start_redis(rp, aof=False)
    sim = Sim(env, "sim", ["-queue", "100000"])
    sim.api("/users", {"userIDs": users + senders})
    sim.token_file(users, 3, os.path.join(env.dir, "relay.tokens"))
    uf = os.path.join(env.dir, "users.txt")
    with open(uf, "w") as f:
        f.write("\n".join(users) + "\n")
    relays = []
    for i in range(ninst):
        admin = kkit.free_port()
        cfg = relay_config(env, sim, rp, admin, uf, {"resyncInterval": "600s"}, name="r%d" % i)
        argv = [os.path.join(BUILD, "server", "kkim-relay"), "-c", cfg]
        if ninst > 1:
            argv += ["--shard", "%d/%d" % (i, ninst)]
        relays.append(env.start("relay%d" % i, argv))
        kkit.wait_port(admin)
    if sim_online(sim, nusers, 60) < nusers:
        raise RuntimeError("logins not online")
    r = kkit.Redis(rp)
    key = "kkim:{b}:msgs"
    per = total // (nusers * len(senders))
    convs = replay_prepare(sim, users, senders, per, "bench message")
    want = per * convs
    st0 = commandstats(r)
    rpid, spid = env.procs["redis"].pid, env.procs["sim"].pid
    c0 = [kkit.cpu_s(p.pid) for p in relays]
    rc0, sc0 = kkit.cpu_s(rpid), kkit.cpu_s(spid)
    t0 = time.time()
    sim.api("/replay/start", {"batch": 64})
    n = 0
    while time.time() - t0 < 600:
        n = xlen(r, key)
        if n >= want:
            break
        time.sleep(0.002)
    dt = time.time() - t0
    c1 = [kkit.cpu_s(p.pid) for p in relays]
    rc1, sc1 = kkit.cpu_s(rpid), kkit.cpu_s(spid)
    st1 = commandstats(r)
    calls = st1.get("evalsha", 0) - st0.get("evalsha", 0) + st1.get("eval", 0) - st0.get("eval", 0)
    batch = n / calls if calls else 0
    rcpu = sum(b - a for a, b in zip(c0, c1))
    figure("relay push->Redis (%d instance%s)" % (ninst, "s" if ninst > 1 else ""),
           "%.0f msgs/s (%d msgs, %.3f s, %d script calls, mean batch %.1f)" % (n / dt, n, dt, calls, batch))
    figure("relay CPU during drain", "%.2f s (%s) = %.0f msgs per CPU-second" %
           (rcpu, " + ".join("%.2f" % (b - a) for a, b in zip(c0, c1)), n / max(rcpu, 1e-9)))
    figure("redis-server / simulator CPU during drain", "%.2f s / %.2f s (wall %.2f s)" % (rc1 - rc0, sc1 - sc0, dt))
    verify(env, rp, convs, per)
    return n / dt, batch, r, key, rp, rc1 - rc0


def mode_tput(env):
    total = int(ARGS[0]) if ARGS else 200000
    nusers = int(ARGS[1]) if len(ARGS) > 1 else 16
    ours, batch, r, key, rp, rcpu = drain(env, total, nusers, 1)
    # Peer: redis-benchmark with the same script, the same entry bytes and
    # the relay's mean batch size, on a fresh conversation per call.
    ent = r.cmd("XRANGE", key, "-", "+", "COUNT", 1)[0][1]
    sha = r.cmd("SCRIPT", "LOAD", open(os.path.join(HERE, "..", "..", "server", "lua", "append.lua")).read())
    b = max(1, int(round(batch)))
    argv = ["redis-benchmark", "-p", str(rp), "-c", "1", "-P", "64", "-r", "1000000000",
            "-n", str(max(1000, 200000 // b)), "-q",
            "EVALSHA", sha.decode() if isinstance(sha, bytes) else sha, "2", "kkim:{rb}:msgs", "kkim:{rb}:hw",
            "rb__rand_int__", "", ""]
    for i in range(b):
        argv += [str(i + 1), str(len(ent))] + [x.decode("utf-8", "surrogateescape") for x in ent]
    before = xlen(r, "kkim:{rb}:msgs")
    rpid = env.procs["redis"].pid
    rc0 = kkit.cpu_s(rpid)
    t0 = time.time()
    out = subprocess.run(argv, capture_output=True, text=True, errors="surrogateescape").stdout
    dt = time.time() - t0
    rc1 = kkit.cpu_s(rpid)
    got = xlen(r, "kkim:{rb}:msgs") - before
    m = re.findall(r"([\d.]+) requests per second", out)
    rps = float(m[-1]) if m else 0
    print("redis-benchmark: %s" % out.strip().splitlines()[-1] if out.strip() else "redis-benchmark: no output")
    figure("redis-benchmark same script", "%.0f msgs/s (%.0f calls/s x batch %d; %d entries written in %.2f s)" %
           (rps * b, rps, b, got, dt))
    figure("ratio relay / redis-benchmark", "%.2f" % (ours / (rps * b) if rps else 0))
    # Wall time on a shared box follows the neighbours; Redis's CPU per entry
    # does not: entries per Redis CPU-second under each client.
    ours_cpu = xlen(r, key) / max(rcpu, 1e-9)
    peer_cpu = got / max(rc1 - rc0, 1e-9)
    figure("redis-server entries per CPU-second", "relay's calls %.0f, redis-benchmark's %.0f (ratio %.2f)" %
           (ours_cpu, peer_cpu, ours_cpu / peer_cpu))


def mode_scale(env):
    total = int(ARGS[0]) if ARGS else 200000
    nusers = int(ARGS[1]) if len(ARGS) > 1 else 48
    ninst = int(ARGS[2]) if len(ARGS) > 2 else 1
    drain(env, total, nusers, ninst)


def mode_lat(env):
    rate = float(ARGS[0]) if ARGS else 10000
    secs = float(ARGS[1]) if len(ARGS) > 1 else 20
    nusers = 16
    users = ["u%d" % i for i in range(1, nusers + 1)]
    senders = ["s1", "s2", "s3", "s4"]
    rp, admin = kkit.free_port(), kkit.free_port()
    env.start_redis(rp, aof=False)
    sim = Sim(env, "sim", ["-queue", "100000"])
    sim.api("/users", {"userIDs": users + senders})
    sim.token_file(users, 3, os.path.join(env.dir, "relay.tokens"))
    uf = os.path.join(env.dir, "users.txt")
    with open(uf, "w") as f:
        f.write("\n".join(users) + "\n")
    cfg = relay_config(env, sim, rp, admin, uf, {"resyncInterval": "600s"})
    relay = start_relay(env, cfg)
    kkit.wait_port(admin)
    if sim_online(sim, nusers, 60) < nusers:
        raise RuntimeError("logins not online")
    # A Go login of u1 on platform 5 times the same pushes at the gateway's
    # side: the feeder's and the scheduler's share.
    tok = sim.api("/tokens", {"userID": "u1", "platformID": 5, "ttlSec": 3600})["token"]
    pl = env.start("pushlat", [os.path.join(BUILD, "go", "relay-gofleet"), "pushlat",
                               "-url", "ws://127.0.0.1:%d/" % sim.ws, "-user", "u1", "-platform", "5",
                               "-token", tok, "-seconds", str(secs + 3), "-warmup", "3"])
    end = time.time() + 30
    while sim.api("/stats")["global"]["conns"] < nusers + 1:
        if time.time() > end:
            raise RuntimeError("pushlat login not online")
        time.sleep(0.1)
    # 64 single chats (16 users x 4 senders), pre-built; the feeder paces
    # them at RATE and stamps each clientMsgID when it hands it over.
    per = int(rate * secs) // (nusers * len(senders))
    convs = replay_prepare(sim, users, senders, per, "latency message")
    rd = env.start("lat", [os.path.join(BUILD, "go", "relay-gofleet"), "lat", "-redis",
                           "127.0.0.1:%d" % rp, "-stream", "kkim:{b}:msgs",
                           "-seconds", str(secs + 2), "-warmup", "2"])
    time.sleep(0.5)
    c0 = kkit.cpu_s(relay.pid)
    sim.api("/replay/start", {"rate": rate})
    time.sleep(secs + 3)
    rd.wait(30)
    pl.wait(30)
    c1 = kkit.cpu_s(relay.pid)
    out = open(env.log("lat")).read().strip()
    pout = open(env.log("pushlat")).read().strip()
    print(pout)
    print(out)
    figure("offered", "%.0f msgs/s for %.0f s (%d messages)" % (rate, secs, per * convs))
    figure("relay CPU", "%.0f %% of a core" % (100 * (c1 - c0) / (secs + 3)))
    m = re.search(r"p50 ([\d.]+) ms p90 ([\d.]+) ms p99 ([\d.]+) ms p99.9 ([\d.]+) ms max ([\d.]+)", out)
    if m:
        figure("latency send->visible in stream (all 16 logins)", "p50 %s ms, p90 %s, p99 %s, p99.9 %s, max %s ms" % m.groups())
    m = re.search(r"p50 ([\d.]+) ms p90 ([\d.]+) ms p99 ([\d.]+) ms p99.9 ([\d.]+) ms max ([\d.]+)", pout)
    if m:
        figure("latency send->push received by a Go login (u1 only)", "p50 %s ms, p90 %s, p99 %s, p99.9 %s, max %s ms" % m.groups())
    verify(env, rp, convs, per)


def main():
    env = kkit.Env(BUILD, "bench_" + MODE)
    try:
        {"logins": mode_logins, "tput": mode_tput, "lat": mode_lat, "scale": mode_scale}[MODE](env)
    finally:
        env.close()
        print("logs in %s" % env.dir)


if __name__ == "__main__":
    main()
