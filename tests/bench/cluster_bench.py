#!/usr/bin/python3
"""cluster_bench.py BUILD [TOTAL] [ROUNDS] — push → Redis throughput of the
relay on a 3-master Redis Cluster (8 partitions) against the same relay on
one standalone Redis, in the same run.

BUILD is a Release tree with server/kkim-relay and sim/kkim-gatewaysim
(scripts/bench-relay.sh builds one). Each round runs both set-ups, one
after the other, with the push → Redis procedure of relay_bench.py tput:
16 logins, pushes paused in the simulator, TOTAL (default 100 000)
single-chat messages injected into 128 conversations, then /pushes/resume;
the time runs from the resume call until the message streams (all 8
partitions on the cluster) hold every message. Prints "figure:" lines:
msgs/s and relay CPU per message for each, and the ratio cluster /
standalone.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.argv[2:] = ["tput"] + sys.argv[2:]  # relay_bench reads BUILD MODE ARGS at import
import kkit  # noqa: E402
import relay_bench as rb  # noqa: E402  (Sim, relay_config, start_relay, sim_online, cpu_s)

TOTAL = int(rb.ARGS[0]) if rb.ARGS else 100000
ROUNDS = int(rb.ARGS[1]) if len(rb.ARGS) > 1 else 1
PARTITIONS = 8
NUSERS = 16


def counter(ports, cluster):
    """A function returning how many entries the message streams hold:
    kkim:{b}:msgs, or the 8 partition streams each read on its master."""
    keys = kkit.stream_keys("b", "msgs", PARTITIONS if cluster else 1)
    conns = {}
    where = []
    for k in keys:
        port = ports[0]
        if cluster:
            slot = kkit.Redis(ports[0]).cmd("CLUSTER", "KEYSLOT", k)
            port = next(int(m[1]) for first, last, m, *_ in kkit.Redis(ports[0]).cmd("CLUSTER", "SLOTS")
                        if first <= slot <= last)
        conns.setdefault(port, kkit.Redis(port))
        where.append((conns[port], k))
    return lambda: sum(c.cmd("XLEN", k) for c, k in where)


def one(build_env, cluster):
    """One measurement; returns (msgs/s, relay CPU-s, entries)."""
    env = kkit.Env(build_env, "cluster_bench")
    try:
        ports = [kkit.free_port() for _ in range(3 if cluster else 1)]
        if cluster:
            env.start_cluster(ports)
        else:
            env.start_redis(ports[0], aof=False)
        users = ["u%d" % i for i in range(1, NUSERS + 1)]
        senders = ["s%d" % i for i in range(1, 9)]
        sim = rb.Sim(env, "sim", ["-queue", str(TOTAL + 1000)])
        sim.api("/users", {"userIDs": users + senders})
        sim.token_file(users, 3, os.path.join(env.dir, "relay.tokens"))
        uf = os.path.join(env.dir, "users.txt")
        with open(uf, "w") as f:
            f.write("\n".join(users) + "\n")
        admin = kkit.free_port()
        extra = {"resyncInterval": "600s"}
        if cluster:
            extra["streams"] = {"partitions": PARTITIONS}
        path = rb.relay_config(env, sim, ports[0], admin, uf, extra)
        if cluster:
            with open(path) as f:
                cfg = json.load(f)
            cfg["redis"]["url"] = "redis://127.0.0.1:%d?cluster=1" % ports[0]
            with open(path, "w") as f:
                json.dump(cfg, f)
        relay = rb.start_relay(env, path)
        kkit.wait_port(admin)
        if rb.sim_online(sim, NUSERS, 60) < NUSERS:
            raise RuntimeError("logins not online")
        count = counter(ports, cluster)
        sim.api("/pushes/pause", {})
        per = TOTAL // (NUSERS * len(senders))
        for u in users:
            for s in senders:
                res = sim.api("/inject", {"sendID": s, "recvID": u, "count": per,
                                          "text": "bench message %s" % s})
                if res.get("errCode"):
                    raise RuntimeError("inject: %r" % res)
        want = per * NUSERS * len(senders)
        c0 = rb.cpu_s(relay.pid)
        t0 = time.time()
        sim.api("/pushes/resume", {})
        n = 0
        while time.time() - t0 < 600:
            n = count()
            if n >= want:
                break
            time.sleep(0.01)
        dt = time.time() - t0
        return n / dt, rb.cpu_s(relay.pid) - c0, n
    finally:
        env.close()


def main():
    print("date %s load %s cpus %d" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                      " ".join(open("/proc/loadavg").read().split()[:3]),
                                      os.cpu_count()), flush=True)
    for r in range(1, ROUNDS + 1):
        s_rate, s_cpu, s_n = one(rb.BUILD, False)
        c_rate, c_cpu, c_n = one(rb.BUILD, True)
        rb.figure("round %d standalone" % r, "%.0f msgs/s, relay %.2f CPU-s (%.0f msgs per CPU-s), %d msgs" %
                  (s_rate, s_cpu, s_n / max(s_cpu, 1e-9), s_n))
        rb.figure("round %d cluster (3 masters, 8 partitions)" % r,
                  "%.0f msgs/s, relay %.2f CPU-s (%.0f msgs per CPU-s), %d msgs" %
                  (c_rate, c_cpu, c_n / max(c_cpu, 1e-9), c_n))
        rb.figure("round %d ratio cluster / standalone" % r, "%.2f msgs/s, %.2f CPU per msg" %
                  (c_rate / s_rate, (c_cpu / c_n) / (s_cpu / s_n)))


if __name__ == "__main__":
    main()
