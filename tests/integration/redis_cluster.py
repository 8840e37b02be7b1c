#!/usr/bin/python3
"""redis_cluster.py BUILD_DIR [TOTAL] — exactly once on a Redis Cluster.

A local 3-master Redis Cluster (redis-server --cluster-enabled, created
with redis-cli --cluster create), the relay on it (redis://...?cluster=1)
with two tenants of 8 stream partitions each, so one tenant's keys land on
several masters. While TOTAL messages (default 20 000) are injected the
driver migrates, one after the other, the slots of live partition keys
(and of a tenant's {T} keys) to another master the way redis-cli does:
SETSLOT IMPORTING on the target, SETSLOT MIGRATING on the source, MIGRATE
key by key with pauses (the relay meanwhile gets ASK and TRYAGAIN), then
SETSLOT NODE everywhere (the relay's map is then stale: MOVED).

Then every partition stream together must hold each (conversationID, seq)
of the simulator's log exactly once, in order, each conversation in its
partition crc32(conversationID) mod 8; the targets must have seen ASKING
(the relay followed ASK) and the relay must have answered MOVED by asking
for the map again (CLUSTER SLOTS calls counted on the nodes).

Then kkimctl send and users add/rm run through a node that does not serve
the tenant's slot (MOVED), users add into a migrating slot (MOVED, then
ASK); and every slot is moved off one master, which is forgotten and
stopped: each of the relay's routers logs cluster_node_dropped, none
connects to its port afterwards, and messages injected meanwhile are all
appended exactly once.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402
import relay_completeness as rcmp  # noqa: E402  (users, message shapes, config)

BUILD = os.path.abspath(sys.argv[1])
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
PARTITIONS = 8
check = kkit.Checks()


def main():
    kkit.run_driver("redis_cluster", BUILD, run, check, logs=("relay",))


def cmdstat(port, name):
    """Calls of one command on a node (INFO commandstats), 0 when none."""
    info = kkit.Redis(port).cmd("INFO", "commandstats").decode()
    for line in info.splitlines():
        if line.startswith("cmdstat_%s:calls=" % name):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def migrate(ports, key, log):
    """Moves the slot of key to the next master, key by key, pausing
    between keys so that the relay writes into a half-moved slot."""
    r = {p: kkit.Redis(p) for p in ports}
    slot = r[ports[0]].cmd("CLUSTER", "KEYSLOT", key)
    src = kkit.slot_owner(ports[0], key)
    dst = ports[(ports.index(src) + 1) % len(ports)]
    ids = {p: r[p].cmd("CLUSTER", "MYID").decode() for p in ports}
    r[dst].cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    r[src].cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    moved = 0
    while True:
        keys = r[src].cmd("CLUSTER", "GETKEYSINSLOT", slot, 10)
        if not keys:
            break
        for k in keys:
            r[src].cmd("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", k)
            moved += 1
            time.sleep(0.3)
    for p in [dst, src] + [p for p in ports if p not in (src, dst)]:
        r[p].cmd("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    for c in r.values():
        c.close()
    log.append("slot %d of %s: %d keys %d -> %d" % (slot, key, moved, src, dst))


def migrator(ports, keys, stop, log, errors):
    """Migrates the slots of keys one after the other until stop is set."""
    try:
        i = 0
        while not stop.is_set():
            migrate(ports, keys[i % len(keys)], log)
            i += 1
            stop.wait(0.5)
    except Exception as e:  # reported as a failed check by run()
        errors.append(repr(e))


def live_keys(env):
    """The keys whose slots are moved: the msgs streams of alpha's three
    busiest partitions and of beta's busiest (from the simulator's log so
    far), and beta's {T} keys (events, synced, ...)."""
    count = {}
    for conv, _ in env.seqlog():
        t = rcmp.tenant_of(conv)
        if t and not conv.startswith("n_"):
            key = "kkim:{%s:%d}:msgs" % (t, zlib.crc32(conv.encode()) % PARTITIONS)
            count[key] = count.get(key, 0) + 1
    busiest = sorted(count, key=lambda k: -count[k])
    alpha = [k for k in busiest if k.startswith("kkim:{alpha:")][:3]
    beta = [k for k in busiest if k.startswith("kkim:{beta:")][:1]
    return alpha + beta + ["kkim:{beta}:events"]


def check_tail(env, cr, ports):
    """kkimctl tail --partition on a node that does not hold the stream:
    it follows MOVED and prints every entry of that partition."""
    key = kkit.stream_keys("alpha", "msgs", PARTITIONS)[2]
    want = cr.cmd("XLEN", key)
    far = next(p for p in ports if p != kkit.slot_owner(ports[0], key))
    out = subprocess.run([os.path.join(BUILD, "tools", "kkimctl"), "tail", "alpha", "msgs",
                          "--partition", "2", "--from", "0", "--timeout", "1",
                          "--redis", "redis://127.0.0.1:%d?cluster=1" % far],
                         capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    check(out.returncode == 0 and want > 0 and len(lines) == want and
          all(json.loads(x)["conversationID"] for x in lines),
          "kkimctl tail --partition 2 via a far node prints its %d entries (got %d, rc %d)" % (
              want, len(lines), out.returncode))


def check_outbox(cr):
    """Sending as users works over the cluster too (XGROUP, XREADGROUP
    BLOCK, the result script): three outbox entries, three "sent" results."""
    ids = [cr.cmd("XADD", "kkim:{beta}:outbox", "*", "sendID", "beta%d" % i, "recvID", "ext1",
                  "content", '{"text":"over the cluster"}').decode() for i in (1, 2, 3)]
    end = time.time() + 30
    while True:
        got = {}
        for _, kv in cr.stream("kkim:{beta}:results"):
            got.setdefault(kv[b"outboxID"].decode(), []).append(kv[b"status"].decode())
        if all(i in got for i in ids) or time.time() > end:
            break
        time.sleep(0.2)
    check(all(got.get(i) == ["sent"] for i in ids),
          "3 outbox entries on the cluster, 3 results \"sent\" (%s)" % [got.get(i) for i in ids])


def kkimctl(far, *args):
    """Runs kkimctl with --redis naming the node at port far."""
    return subprocess.run([os.path.join(BUILD, "tools", "kkimctl")] + list(args) +
                          ["--redis", "redis://127.0.0.1:%d?cluster=1" % far],
                          capture_output=True, text=True, timeout=60)


def check_kkimctl(cr, ports):
    """kkimctl send and users through a node that does not serve the
    tenant's slot (they follow MOVED), and users add into a slot being
    migrated (MOVED to the source, then ASK to the target)."""
    far = next(p for p in ports if p != kkit.slot_owner(ports[0], "kkim:{beta}:outbox"))
    out = kkimctl(far, "send", "beta", "--as", "beta1", "--to", "ext1", "--timeout", "30",
                  "via a far node")
    check(out.returncode == 0 and out.stdout.startswith("sent outboxID="),
          "kkimctl send via a far node: exit 0, `sent` (rc %d, %r %r)" % (
              out.returncode, out.stdout.strip(), out.stderr.strip()))
    add = kkimctl(far, "users", "add", "beta", "clpol1", "clpol2")
    had = sorted(x.decode() for x in cr.cmd("SMEMBERS", "kkim:{beta}:users"))
    rm = kkimctl(far, "users", "rm", "beta", "clpol1", "clpol2")
    left = sorted(x.decode() for x in cr.cmd("SMEMBERS", "kkim:{beta}:users"))
    check(add.stdout == "added 2\n" and rm.stdout == "removed 2\n" and
          {"clpol1", "clpol2"} <= set(had) and not {"clpol1", "clpol2"} & set(left),
          "kkimctl users add/rm via a far node (%r %r %r %r)" % (
              add.stdout, add.stderr, rm.stdout, rm.stderr))

    key = "kkim:{clpol}:users"
    r = {p: kkit.Redis(p) for p in ports}
    slot = r[ports[0]].cmd("CLUSTER", "KEYSLOT", key)
    src = kkit.slot_owner(ports[0], key)
    dst = ports[(ports.index(src) + 1) % len(ports)]
    third = next(p for p in ports if p not in (src, dst))
    ids = {p: r[p].cmd("CLUSTER", "MYID").decode() for p in ports}
    asking0 = cmdstat(dst, "asking")
    r[dst].cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    r[src].cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    add = kkimctl(third, "users", "add", "clpol", "u1")
    asking = cmdstat(dst, "asking") - asking0
    for p in ports:
        r[p].cmd("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    members = r[dst].cmd("SMEMBERS", key)
    check(add.returncode == 0 and add.stdout == "added 1\n" and asking == 1 and
          members == [b"u1"],
          "kkimctl users add into a migrating slot follows MOVED then ASK (rc %d %r %r, "
          "%d ASKING, %r)" % (add.returncode, add.stdout, add.stderr, asking, members))
    for c in r.values():
        c.close()


def inject_round(env, shapes, per_shape, left, step):
    """Injects up to per_shape messages of each shape, left at most in all;
    returns how many."""
    sent = 0
    for s in shapes:
        k = min(per_shape, left - sent)
        if k <= 0:
            break
        r = env.sim("/inject", dict(s, count=k, text="m%d" % step))
        if r.get("errCode"):
            raise RuntimeError("inject failed: %r" % r)
        sent += k
    return sent


def connections_to(port, seconds):
    """Listens on port (a stopped node's) for seconds; how many
    connections came in."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    srv.settimeout(0.2)
    n, end = 0, time.time() + seconds
    while time.time() < end:
        try:
            c, _ = srv.accept()
            c.close()
            n += 1
        except socket.timeout:
            pass
    srv.close()
    return n


def check_node_removal(env, ports, sent):
    """Every slot moved off one master (redis-cli --cluster rebalance,
    weight 0), the master forgotten by the others and stopped: the relay
    drops it after its next map (log cluster_node_dropped), never connects
    to it again, and keeps appending. Returns the messages injected."""
    gone = ports[2]
    ids = {p: kkit.Redis(p).cmd("CLUSTER", "MYID").decode() for p in ports}
    subprocess.run(["redis-cli", "--cluster", "rebalance", "127.0.0.1:%d" % ports[0],
                    "--cluster-weight", "%s=0" % ids[gone], "--cluster-yes"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=300)
    owners = {int(r[2][1]) for r in kkit.Redis(ports[0]).cmd("CLUSTER", "SLOTS")}
    check(owners == set(ports[:2]), "every slot moved off 127.0.0.1:%d (owners %s)" % (gone, owners))
    shapes, step = rcmp.injections(), 1000
    want = "127.0.0.1:%d" % gone

    def routers(event):
        """The relay's cluster routers (log "tenant") that logged event."""
        with open(env.log("relay"), errors="replace") as f:
            evs = [json.loads(x) for x in f if '"mod":"rclus"' in x]
        return {e["tenant"] for e in evs
                if e["event"] == event and (event == "cluster_map" or e["node"] == want)}
    end = time.time() + 60
    while not routers("cluster_node_dropped") and time.time() < end:
        step += 1  # MOVED on live keys: a new map, without the node
        sent += inject_round(env, shapes, 5, 10 ** 9, step)
        time.sleep(0.5)
    check(routers("cluster_node_dropped"), "a new map drops %s before it stops (%s)" % (
        want, routers("cluster_node_dropped")))
    for p in ports[:2]:
        kkit.Redis(p).cmd("CLUSTER", "FORGET", ids[gone])
    env.stop("redis-%d" % gone)
    # idle routers learn it when its connection fails (one retry may race)
    kkit.wait_for("every router dropping " + want,
                  lambda: routers("cluster_node_dropped") == routers("cluster_map"))
    n = connections_to(gone, 5)
    check(n == 0, "no router (%s) connects to the removed node in 5 s (%d connections)" % (
        sorted(routers("cluster_map")), n))
    for _ in range(10):
        step += 1
        sent += inject_round(env, shapes, 10, 10 ** 9, step)
    return sent


def run(env):
    ports = [kkit.free_port() for _ in range(3)]
    ws, ctl, admin = (kkit.free_port() for _ in range(3))
    env.start_cluster(ports)
    path = rcmp.prepare(env, ws, ctl, ports[0], admin,
                        redis_url="redis://127.0.0.1:%d?cluster=1" % ports[0], partitions=PARTITIONS)
    rcmp.start_online(env, path, admin, check, "over the cluster")

    spread = {kkit.slot_owner(ports[0], k) for k in kkit.stream_keys("alpha", "msgs", PARTITIONS)}
    check(len(spread) >= 2, "alpha's %d msgs partitions live on %d masters" % (PARTITIONS, len(spread)))

    slots_calls0 = sum(cmdstat(p, "cluster|slots") for p in ports)
    stop, log, errors, keys = threading.Event(), [], [], []
    th = None
    shapes = rcmp.injections()
    per_shape = max(1, TOTAL // 40 // len(shapes))
    sent, step, t0 = 0, 0, time.time()
    try:
        while sent < TOTAL:
            step += 1
            sent += inject_round(env, shapes, per_shape, TOTAL - sent, step)
            if th is None:
                keys = live_keys(env)
                th = threading.Thread(target=migrator, args=(ports, keys, stop, log, errors))
                th.start()
            time.sleep(0.25)
        # keep migrating until every key's slot moved at least once
        while len(log) < len(keys) and th.is_alive():
            time.sleep(0.2)
    finally:
        stop.set()
        if th:
            th.join()
    print("injected %d messages in %.1f s" % (sent, time.time() - t0), flush=True)
    for line in log:
        print("migrated:", line, flush=True)
    check(not errors, "migrations ran without error %s" % errors)
    check(len(log) >= len(keys), "%d slot migrations during the injection" % len(log))

    cr = kkit.ClusterRedis(ports[0])
    kkit.check_completeness(env, cr, ("alpha", "beta"), rcmp.tenant_of, check, TOTAL, PARTITIONS)
    check_tail(env, cr, ports)
    check_outbox(cr)
    check_kkimctl(cr, ports)
    cr.close()
    asking = sum(cmdstat(p, "asking") for p in ports)
    check(asking > 0, "the relay followed ASK (%d ASKING on the targets)" % asking)
    slots_calls = sum(cmdstat(p, "cluster|slots") for p in ports) - slots_calls0
    check(slots_calls > 0, "the relay reloaded the slot map after MOVED (%d CLUSTER SLOTS)" % slots_calls)
    sent += 3 + 1  # check_outbox's entries and check_kkimctl's send are messages too
    sent = check_node_removal(env, ports, sent)
    cr = kkit.ClusterRedis(ports[0])
    kkit.check_completeness(env, cr, ("alpha", "beta"), rcmp.tenant_of, check, sent, PARTITIONS)
    cr.close()
    rc = env.stop("relay", signal.SIGTERM)
    check(rc == 0, "relay exits 0 on SIGTERM (rc=%s)" % rc)


if __name__ == "__main__":
    main()
