"""isolation_bench.py BUILD_DIR [A_LIMIT] — tenant B's latency alone and during a
flood of tenant A, in one run (docs/benchmarks.md "Tenant isolation").

Two tenants on one relay, each with its own Redis ACL user (so its own Redis
connection), on one redis-server and one simulator. Phase 1: B alone gets
KK_BENCH_B_MSGS (200) messages at 20/s. Phase 2 ("ghost"): the same while
two users that no tenant logs in get KK_BENCH_A_RATE (20 000) msgs/s each:
the simulator's and the machine's share alone. Phase 3 ("flood"): the same
while tenant A's two logins get that flood. With A_LIMIT
(> 0) tenant A gets "limits": {"maxMsgsPerSec": A_LIMIT}. With
KK_BENCH_SHARED_REDIS=1 neither tenant has its own "redis": both use the
global connection.

With KK_BENCH_SPLIT=1 only the relay is shared: each tenant has its own
simulator and its own redis-server, pinned with taskset (A's simulator and
Redis on CPU 1; the relay, B's simulator, B's Redis and this process's
reader and injector on CPU 0), so A's flood reaches B only through the relay.
Its phases: B alone; B during A's flood with no limit on A; B during A's
flood with A at A_LIMIT (default 3000, applied by a reload in the same run).

For each of B's messages, per stage (all clocks are this machine's):
  inject   the test's HTTP call → the simulator's sendTime
  relay    sendTime → the Redis stream entry ID (the ms Redis ran the XADD)
  read     entry ID → the test's XREAD saw it
and the total; plus CPU% of the relay, the simulator and Redis in each phase,
and tenant A's archive rate (its stream's growth) during the flood.
Prints "figure:" lines.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import kkit  # noqa: E402
import isolation_tenants as it  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SPLIT = os.environ.get("KK_BENCH_SPLIT") == "1"
A_LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else 3000 if SPLIT else 0
B_MSGS = int(os.environ.get("KK_BENCH_B_MSGS", "200"))
A_RATE = int(os.environ.get("KK_BENCH_A_RATE", "20000"))
SHARED = os.environ.get("KK_BENCH_SHARED_REDIS") == "1"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])


class Cpu:
    """CPU% of the processes of pids ({name: pid}) between start() and stop()."""

    def __init__(self, pids):
        self.pids = pids

    def start(self):
        self.t0, self.c0 = time.time(), {n: cpu_ticks(p) for n, p in self.pids.items()}

    def stop(self):
        dt = time.time() - self.t0
        return {n: 100.0 * (cpu_ticks(p) - self.c0[n]) / TICK / dt for n, p in self.pids.items()}


def stages(watcher, sent):
    """Per-stage latency lists (ms) of B's messages."""
    out = {"inject": [], "relay": [], "read": [], "total": []}
    for seq, t in sent:
        if seq not in watcher.seen:
            continue
        seen, stime, eid_ms = watcher.seen[seq], watcher.send_ms[seq], watcher.eid_ms[seq]
        out["inject"].append(stime - t * 1000)
        out["relay"].append(eid_ms - stime)
        out["read"].append(seen * 1000 - eid_ms)
        out["total"].append((seen - t) * 1000)
    return {k: sorted(v) for k, v in out.items()}


def report(phase, st, cpu):
    for k in ("total", "inject", "relay", "read"):
        v = st[k]
        print("figure: %s B %-6s p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms (n=%d)"
              % (phase, k, it.pct(v, 0.5), it.pct(v, 0.9), it.pct(v, 0.99), v[-1] if v else -1, len(v)))
    print("figure: %s cpu%% %s load %s" % (phase, " ".join("%s %.0f" % kv for kv in cpu.items()),
                                            " ".join(open("/proc/loadavg").read().split()[:3])))


def flood(env, users, secs):
    """Starts an async flood of A_RATE msgs/s into each of users for secs."""
    for u in users:
        env.sim("/inject", {"sendID": "xa", "recvID": u, "rate": A_RATE, "durationMs": int(secs * 1000),
                            "async": True})


class Inflight:
    """Samples tenant A's Redis calls in flight (kkim_redis_inflight) every
    100 ms while B is driven: the queue B's appends wait behind when both
    tenants share one connection."""

    def __init__(self, admin):
        self.admin, self.v, self.stop = admin, [], False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.v.append(it.metric(self.admin, "kkim_redis_inflight", "ia"))
            time.sleep(0.1)

    def done(self):
        self.stop = True
        self.t.join(2)
        return max(self.v or [0]), sum(self.v) / max(1, len(self.v))


def phase(env, admin, name, watcher, cpu):
    """Drives B for one phase and reports it; returns its stage lists."""
    inf = Inflight(admin)
    cpu.start()
    sent = it.drive_b(env, watcher, B_MSGS, 0.05)
    c = cpu.stop()
    imax, imean = inf.done()
    it.latencies(watcher, sent, timeout=60)
    st = stages(watcher, sent)
    report(name, st, c)
    print("figure: %s A redis calls in flight: mean %.0f max %.0f" % (name, imean, imax))
    return st


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["ia1", "ia2", "ib1", "ib2", "ig1", "ig2", "xa", "xb"],
                  ["-secret", it.SECRET, "-queue", "100000"])
    r = kkit.Redis(rp)
    for u, pw in (("ia", "pa"), ("ib", "pb")):
        r.cmd("ACL", "SETUSER", u, "on", ">" + pw, "~kkim:{%s}*" % u, "resetchannels", "+@all", "-@admin")
    path = it.write_config(env, ws, rp, admin, {"maxMsgsPerSec": A_LIMIT} if A_LIMIT else None,
                           own_redis=not SHARED)
    env.start_relay(path)
    it.wait_online(admin)
    watcher = it.Watcher(rp)
    cpu = Cpu({n: env.procs[n].pid for n in ("relay", "sim", "redis")})
    secs = B_MSGS * 0.05 + 1.0
    print("figure: A limit %s, floods of %d msgs/s x 2 users, B %d msgs at 20/s per phase, %s"
          % (A_LIMIT or "none", A_RATE, B_MSGS,
             "both tenants on the global Redis connection" if SHARED else "a Redis connection per tenant"))
    try:
        st1 = phase(env, admin, "alone ", watcher, cpu)
        # the same flood into users no tenant logs in: the simulator's share
        flood(env, ("ig1", "ig2"), secs)
        time.sleep(0.5)
        phase(env, admin, "ghost ", watcher, cpu)
        time.sleep(1.0)
        n0 = int(r.cmd("XLEN", "kkim:{ia}:msgs"))
        flood(env, ("ia1", "ia2"), secs)
        time.sleep(0.5)
        t0 = time.time()
        st2 = phase(env, admin, "flood ", watcher, cpu)
        a_rate = (int(r.cmd("XLEN", "kkim:{ia}:msgs")) - n0) / (time.time() - t0 + 0.5)
        print("figure: A archived %.0f msgs/s during the flood phase" % a_rate)
        ratios("flood", st2, st1)
    finally:
        watcher.stop = True
        watcher.t.join(2)
    r.close()
    env.stop("relay")


def ratios(name, st, alone):
    """Prints B's p50/p90/p99 of phase name over B alone."""
    print("figure: B %s/alone p50 %.1f, p90 %.1f, p99 %.1f" % ((name,) + tuple(
        it.pct(st["total"], q) / max(0.01, it.pct(alone["total"], q)) for q in (0.5, 0.9, 0.99))))


def pin(proc, cpu):
    """Pins every thread of proc (a Popen) to cpu; threads it starts later inherit it."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(proc.pid)], check=True,
                   stdout=subprocess.DEVNULL)


def start_tenant(env, cpu, tenant, pw, users):
    """Starts a tenant's own redis-server (with its ACL user) and simulator in
    env, pinned to cpu; returns (ws port, redis port, Redis client as admin)."""
    ws, ctl, rp = (kkit.free_port() for _ in range(3))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, users, ["-secret", it.SECRET, "-queue", "100000"])
    for name in ("redis", "sim"):
        pin(env.procs[name], cpu)
    r = kkit.Redis(rp)
    r.cmd("ACL", "SETUSER", tenant, "on", ">" + pw, "~kkim:{%s}*" % tenant, "resetchannels", "+@all", "-@admin")
    return ws, rp, r


def split_config(path, ws_a, rp_a, limit):
    """Points tenant ia of the config at path to its own simulator (ws_a) and
    Redis (rp_a), with maxMsgsPerSec limit (0: none); rewrites it atomically."""
    with open(path) as f:
        cfg = json.load(f)
    ta = cfg["tenants"][0]
    ta["gateway"]["url"] = "ws://127.0.0.1:%d" % ws_a
    ta["redis"]["url"] = "redis://127.0.0.1:%d/0" % rp_a
    ta.pop("limits", None)
    if limit:
        ta["limits"] = {"maxMsgsPerSec": limit}
    with open(path + ".tmp", "w") as f:
        json.dump(cfg, f)
    os.replace(path + ".tmp", path)


def reloads(admin):
    """kkim_config_reloads_total{result="ok"}."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=2) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("kkim_config_reloads_total{") and 'result="ok"' in line)


def drained(r, key, timeout=60):
    """Waits until the stream key stops growing for a second (A's backlog landed)."""
    n, end = -1, time.time() + timeout
    while time.time() < end:
        m = int(r.cmd("XLEN", key))
        if m == n:
            return
        n = m
        time.sleep(1.0)


def flood_phase(env, env_a, ra, admin, name, watcher, cpu, secs):
    """B's phase during A's flood; prints A's archive rate; returns B's stages."""
    n0, i0 = int(ra.cmd("XLEN", "kkim:{ia}:msgs")), it.metric(admin, "kkim_messages_ingested_total", "ia")
    flood(env_a, ("ia1", "ia2"), secs)
    time.sleep(0.5)
    t0 = time.time()
    st = phase(env, admin, name, watcher, cpu)
    dt = time.time() - t0 + 0.5
    print("figure: %s A archived %.0f msgs/s, ingested %.0f msgs/s, throttled %.0f s in all, backpressure %d"
          % (name, (int(ra.cmd("XLEN", "kkim:{ia}:msgs")) - n0) / dt,
             (it.metric(admin, "kkim_messages_ingested_total", "ia") - i0) / dt,
             it.metric(admin, "kkim_throttled_seconds_total", "ia"), it.metric(admin, "kkim_backpressure", "ia")))
    print("figure: %s A in all: holes pulled %.0f, gaps %.0f, bytes waiting for order %.0f"
          % (name, it.metric(admin, "kkim_holes_pulled_total", "ia"), it.metric(admin, "kkim_gaps_total", "ia"),
             it.metric(admin, "kkim_buffered_bytes", "ia")))
    return st


def run_split(env):
    """The KK_BENCH_SPLIT mode: only the relay is shared between the tenants."""
    os.sched_setaffinity(0, {0})  # this thread; the reader thread inherits it
    env_a = kkit.Env(BUILD, "isolation_bench_a")
    try:
        ws_a, rp_a, ra = start_tenant(env_a, 1, "ia", "pa", ["ia1", "ia2", "xa"])
        ws, rp, rb = start_tenant(env, 0, "ib", "pb", ["ib1", "ib2", "xb"])
        admin = kkit.free_port()
        path = it.write_config(env, ws, rp, admin)
        split_config(path, ws_a, rp_a, 0)
        pin(env.start_relay(path), 0)
        it.wait_online(admin)
        watcher = it.Watcher(rp)
        cpu = Cpu({"relay": env.procs["relay"].pid, "simB": env.procs["sim"].pid,
                   "redisB": env.procs["redis"].pid, "simA": env_a.procs["sim"].pid,
                   "redisA": env_a.procs["redis"].pid})
        secs = B_MSGS * 0.05 + 1.0
        print("figure: split: own simulator and redis per tenant; CPU 0 relay+B, CPU 1 A; floods of %d msgs/s"
              " x 2 users, B %d msgs at 20/s per phase, A's limit in phase 3: %d" % (A_RATE, B_MSGS, A_LIMIT))
        try:
            alone = phase(env, admin, "alone ", watcher, cpu)
            st = flood_phase(env, env_a, ra, admin, "flood-nolimit", watcher, cpu, secs)
            ratios("flood-nolimit", st, alone)
            drained(ra, "kkim:{ia}:msgs")
            n = reloads(admin)
            split_config(path, ws_a, rp_a, A_LIMIT)
            env.procs["relay"].send_signal(signal.SIGHUP)
            end = time.time() + 15
            while reloads(admin) <= n and time.time() < end:
                time.sleep(0.1)
            it.check(reloads(admin) > n, "the reload with A's limit applied")
            st = flood_phase(env, env_a, ra, admin, "flood-limit%d" % A_LIMIT, watcher, cpu, secs)
            ratios("flood-limit%d" % A_LIMIT, st, alone)
            it.check(not watcher.dups, "B got no duplicates")
        finally:
            watcher.stop = True
            watcher.t.join(2)
        env.stop("relay")
    finally:
        env_a.close()


def main():
    kkit.run_driver("isolation_bench", BUILD, run_split if SPLIT else run, it.check if SPLIT else kkit.Checks(),
                    logs=("relay",))


if __name__ == "__main__":
    main()
