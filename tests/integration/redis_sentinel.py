#!/usr/bin/python3
"""redis_sentinel.py BUILD_DIR [TOTAL] — the relay follows a Sentinel failover.

A master and its replica, two real Sentinels (redis-sentinel, quorum 1)
watching it, and the relay on redis-sentinel://<dead>,<s1>,<s2>/kkmaster:
the first Sentinel listed does not exist, so every lookup passes to the
next. Half of TOTAL messages (default 10 000) are injected; once the
replica holds everything the master wrote (no write is in flight, so
Redis's asynchronous replication loses nothing), the master is SIGKILLed
and the rest is injected at once, while the Sentinels fail over. The
relay must ask the Sentinels again, connect to the promoted replica and
append there: every (conversationID, seq) exactly once and in order, on
the new master.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402
import relay_completeness as rcmp  # noqa: E402  (users, message shapes, config)

BUILD = os.path.abspath(sys.argv[1])
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
MASTER = "kkmaster"
check = kkit.Checks()


def main():
    kkit.run_driver("redis_sentinel", BUILD, run, check, logs=("relay", "sentinel-1"))


def start_sentinel(env, i, port, master_port):
    """One Sentinel on port watching the master (config file of its own:
    Sentinel rewrites it)."""
    conf = os.path.join(env.dir, "sentinel-%d.conf" % i)
    with open(conf, "w") as f:
        f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (port, env.dir))
        f.write("sentinel monitor %s 127.0.0.1 %d 1\n" % (MASTER, master_port))
        f.write("sentinel down-after-milliseconds %s 1000\n" % MASTER)
        f.write("sentinel failover-timeout %s 5000\n" % MASTER)
    env.start("sentinel-%d" % i, ["redis-sentinel", conf])
    kkit.wait_port(port)


def repl(port, field):
    """A field of INFO replication."""
    return kkit.info_field(port, "replication", field)


def run(env):
    mp, rp, s1, s2, dead, ws, ctl, admin = (kkit.free_port() for _ in range(8))
    env.start_redis(mp, aof=False, name="master")
    env.start_redis(rp, aof=False, name="replica", extra=("--replicaof", "127.0.0.1", str(mp)))
    kkit.wait_for("the replica in sync", lambda: repl(rp, "master_link_status") == "up")
    start_sentinel(env, 1, s1, mp)
    start_sentinel(env, 2, s2, mp)
    # each Sentinel must know the replica and the other Sentinel to fail over
    kkit.wait_for("the Sentinels to find the replica and each other",
                  lambda: all(len(kkit.Redis(p).cmd("SENTINEL", "replicas", MASTER)) == 1 and
                              len(kkit.Redis(p).cmd("SENTINEL", "sentinels", MASTER)) == 1
                              for p in (s1, s2)))

    url = "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/%s" % (dead, s1, s2, MASTER)
    path = rcmp.prepare(env, ws, ctl, mp, admin, redis_url=url)
    rcmp.start_online(env, path, admin, check, "via the Sentinels")

    shapes = rcmp.injections()
    sent = rcmp.inject(env, shapes, TOTAL // 2, "before")
    # nothing in flight: the relay appended everything and the replica has it
    m = kkit.Redis(mp)
    kkit.wait_for("the first half on the master",
                  lambda: sum(m.cmd("XLEN", "kkim:{%s}:%s" % (t, s)) for t in ("alpha", "beta")
                              for s in ("msgs", "notifications")) >= sent, timeout=120)
    kkit.wait_for("the replica to catch up",
                  lambda: repl(rp, "slave_repl_offset") == repl(mp, "master_repl_offset"))
    env.stop("master", signal.SIGKILL)
    t_kill = time.time()
    sent += rcmp.inject(env, shapes, TOTAL - sent, "after")
    want = [b"127.0.0.1", str(rp).encode()]
    kkit.wait_for("the Sentinels to promote the replica",
                  lambda: all(kkit.Redis(p).cmd("SENTINEL", "get-master-addr-by-name", MASTER) ==
                              want for p in (s1, s2)), timeout=60)
    print("failover: the Sentinels name the replica %.1f s after the kill" % (time.time() - t_kill),
          flush=True)
    check(repl(rp, "role") == "master", "the replica is master")

    kkit.check_completeness(env, kkit.Redis(rp), ("alpha", "beta"), rcmp.tenant_of, check, sent)
    with open(env.log("relay")) as f:
        lines = [json.loads(x) for x in f if x.startswith("{")]
    found = [x for x in lines if x.get("event") == "sentinel_master" and x.get("port") == rp]
    check(len(found) > 0, "the relay logged the new master from the Sentinels (%d lines)" % len(found))
    rc = env.stop("relay", signal.SIGTERM)
    check(rc == 0, "relay exits 0 on SIGTERM (rc=%s)" % rc)


if __name__ == "__main__":
    main()
