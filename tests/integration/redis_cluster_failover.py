#!/usr/bin/python3
"""redis_cluster_failover.py BUILD_DIR [TOTAL] — a Cluster master goes away.

A local Redis Cluster of 3 masters with one replica each (6 nodes), the
relay on it (?cluster=1, 8 partitions per tenant). Half of TOTAL messages
(default 6 000) are injected; once the relay appended them and every
replica holds what its master wrote (nothing in flight, so asynchronous
replication loses nothing), the master serving alpha's busiest partition
is SIGKILLed and the rest is injected at once. The cluster promotes that
master's replica (node timeout 5 s); the relay's connection to the dead
node fails, it asks for the slot map again until the map names the new
master, and appends there. Every (conversationID, seq) must be archived
exactly once, in order, in its partition.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402
import relay_completeness as rcmp  # noqa: E402  (users, message shapes, config, inject)

BUILD = os.path.abspath(sys.argv[1])
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
PARTITIONS = 8
check = kkit.Checks()


def main():
    kkit.run_driver("redis_cluster_failover", BUILD, run, check, logs=("relay",))


def replica_of(ports, master):
    """The port of the replica of the master at port master."""
    lines = kkit.Redis(master).cmd("CLUSTER", "NODES").decode().splitlines()
    mid = next(ln.split()[0] for ln in lines if "myself" in ln.split()[2])
    for ln in lines:
        f = ln.split()
        if "slave" in f[2] and f[3] == mid:
            return int(f[1].split("@")[0].rsplit(":", 1)[1])
    raise RuntimeError("master %d has no replica" % master)


def in_sync(ports):
    """Whether every replica's offset equals its master's."""
    for p in ports:
        if kkit.info_field(p, "replication", "role") != "slave":
            continue
        mport = int(kkit.info_field(p, "replication", "master_port"))
        if kkit.info_field(p, "replication", "slave_repl_offset") != \
                kkit.info_field(mport, "replication", "master_repl_offset"):
            return False
    return True


def archived(cr, tenants):
    """Entries in every partition stream of the tenants."""
    return sum(cr.cmd("XLEN", k) for t in tenants for s in ("msgs", "notifications")
               for k in kkit.stream_keys(t, s, PARTITIONS))


def run(env):
    ports = [kkit.free_port() for _ in range(6)]
    ws, ctl, admin = (kkit.free_port() for _ in range(3))
    env.start_cluster(ports, replicas=1)
    seed = ports[0]
    path = rcmp.prepare(env, ws, ctl, seed, admin,
                        redis_url="redis://127.0.0.1:%d?cluster=1" % seed, partitions=PARTITIONS)
    rcmp.start_online(env, path, admin, check, "over the cluster")

    shapes = rcmp.injections()
    sent = rcmp.inject(env, shapes, TOTAL // 2, "before")
    cr = kkit.ClusterRedis(seed)
    # the first half is archived (nothing else in flight), and replicated
    kkit.wait_for("the first half archived", lambda: archived(cr, ("alpha", "beta")) >= sent,
                  timeout=120)
    kkit.wait_for("every replica in sync", lambda: in_sync(ports))
    key = "kkim:{alpha:%d}:msgs" % max(range(PARTITIONS), key=lambda p: cr.cmd(
        "XLEN", "kkim:{alpha:%d}:msgs" % p))
    victim = kkit.slot_owner(seed, key)
    heir = replica_of(ports, victim)
    before = cr.cmd("XLEN", key)
    alive = next(p for p in ports if p not in (victim, heir))
    env.stop("redis-%d" % victim, signal.SIGKILL)
    t_kill = time.time()
    print("killed master %d (serving %s, %d entries); its replica is %d" % (victim, key, before, heir),
          flush=True)
    sent += rcmp.inject(env, shapes, TOTAL - sent, "after")
    kkit.wait_for("the replica promoted", lambda: kkit.slot_owner(alive, key) == heir, timeout=60)
    print("failover: replica %d serves the slot %.1f s after the kill" % (heir, time.time() - t_kill),
          flush=True)
    cr.close()
    cr = kkit.ClusterRedis(alive)
    kkit.check_completeness(env, cr, ("alpha", "beta"), rcmp.tenant_of, check, sent, PARTITIONS)
    after = cr.cmd("XLEN", key)
    check(after > before, "%s grew on the promoted replica (%d -> %d entries)" % (key, before, after))
    cr.close()
    rc = env.stop("relay", signal.SIGTERM)
    check(rc == 0, "relay exits 0 on SIGTERM (rc=%s)" % rc)


if __name__ == "__main__":
    main()
