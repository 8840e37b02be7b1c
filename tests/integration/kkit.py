"""kkit.py — helpers for the relay's integration drivers (stdlib only).

Starts and stops the real parts (redis-server, the Go gateway simulator,
kkim-relay) on free loopback ports, talks RESP to Redis and JSON to the
simulator's control API, and reads the relay's streams back. Every process
started is killed by Env.close(), also on failure.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import zlib


def free_port():
    """A free loopback TCP port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    """Waits until something listens on 127.0.0.1:port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def rss_kib(pid):
    """VmRSS of a process in KiB (0 if the line is missing)."""
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def cpu_s(pid):
    """utime + stime of a process (all its threads) in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Redis:
    """A minimal RESP2 client: enough for XRANGE, HGETALL and friends."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        self.buf = bytearray()
        self.pos = 0  # parse position in buf: no re-slicing per token

    def close(self):
        self.sock.close()

    def _fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis closed")
        self.buf += chunk

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad RESP: %r" % line)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()

    def stream(self, key):
        """All entries of a stream as (id, {field: value}) with bytes values."""
        out, start = [], "-"
        while True:
            batch = self.cmd("XRANGE", key, start, "+", "COUNT", 10000)
            if not batch:
                return out
            for eid, kv in batch:
                out.append((eid, dict(zip(kv[0::2], kv[1::2]))))
            last = batch[-1][0].decode()
            ms, sq = last.split("-")
            start = "%s-%d" % (ms, int(sq) + 1)


class Env:
    """Processes of one test run, in a private directory."""

    def __init__(self, build, name):
        self.build = build
        self.root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        self.dir = tempfile.mkdtemp(prefix="kk_%s." % name)
        self.procs = {}

    def log(self, name):
        return os.path.join(self.dir, name + ".log")

    def start(self, name, argv, env=None):
        f = open(self.log(name), "ab")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, cwd=self.dir,
                             env=dict(os.environ, **(env or {})))
        self.procs[name] = p
        return p

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        p = self.procs.pop(name, None)
        if not p:
            return None
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise RuntimeError("%s did not stop within %ds" % (name, timeout))

    def close(self):
        for name in list(self.procs):
            try:
                self.stop(name, signal.SIGKILL)
            except RuntimeError:
                pass

    # --- redis ---------------------------------------------------------
    def start_redis(self, port, aof=True, name="redis", extra=()):
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--daemonize", "no"]
        if aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.start(name, args + list(extra))
        wait_port(port)
        # The port opens before the AOF is loaded: wait for a real PONG.
        end = time.time() + 30
        while True:
            try:
                r = Redis(port)
                ok = r.cmd("PING") == "PONG"
                r.close()
                if ok:
                    return
            except (RuntimeError, OSError):
                pass
            if time.time() > end:
                raise RuntimeError("redis on port %d never answered PONG" % port)
            time.sleep(0.05)

    def start_cluster(self, ports, replicas=0):
        """A Redis Cluster on len(ports) nodes (no AOF), one process
        "redis-<port>" each, with `replicas` replicas per master (so
        len(ports) / (1 + replicas) masters); returns once every node says ok."""
        for p in ports:
            self.start_redis(p, aof=False, name="redis-%d" % p,
                             extra=("--cluster-enabled", "yes",
                                    "--cluster-config-file", "nodes-%d.conf" % p,
                                    "--cluster-port", str(free_port()),
                                    "--cluster-node-timeout", "5000"))
        subprocess.run(["redis-cli", "--cluster", "create"] +
                       ["127.0.0.1:%d" % p for p in ports] +
                       ["--cluster-replicas", str(replicas), "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=60)
        end = time.time() + 30
        while not all(b"cluster_state:ok" in Redis(p).cmd("CLUSTER", "INFO") for p in ports):
            if time.time() > end:
                raise RuntimeError("the cluster never reached cluster_state:ok")
            time.sleep(0.1)

    # --- gateway simulator ----------------------------------------------
    def sim_binary(self):
        """The simulator binary, (re)built when missing or older than any of
        its sources (a stale one lacks newer control endpoints)."""
        path = os.path.join(self.root, "build", "sim", "kkim-gatewaysim")
        src = os.path.join(self.root, "tests", "gatewaysim")
        newest = max(os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs)
        if not os.path.exists(path) or os.path.getmtime(path) < newest:
            subprocess.check_call([os.path.join(self.root, "tests", "gatewaysim", "build.sh"),
                                   os.path.join(self.root, "build", "sim")])
        return path

    def start_sim(self, ws_port, ctl_port, users, extra=()):
        state = os.path.join(self.dir, "simstate")
        os.makedirs(state, exist_ok=True)
        self.start("sim", [self.sim_binary(), "-listen", "127.0.0.1:%d" % ws_port,
                           "-control", "127.0.0.1:%d" % ctl_port, "-users", ",".join(users),
                           "-state", state, "-quiet"] + list(extra))
        wait_port(ctl_port)
        self.ctl_port = ctl_port

    def sim(self, path, body=None, timeout=120):
        url = "http://127.0.0.1:%d%s" % (self.ctl_port, path)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def mint_tokens(self, name, users, platform=7):
        """Mints a token per user at the simulator and writes <dir>/<name>.tokens
        ("userID platformID token" lines) atomically, as a token file source
        reads it. Returns {user: token}."""
        toks = self.sim("/tokens", {"userIDs": users, "platformID": platform})["tokens"]
        path = os.path.join(self.dir, name + ".tokens")
        with open(path + ".tmp", "w") as f:
            for u in users:
                f.write("%s %d %s\n" % (u, platform, toks[u]))
        os.replace(path + ".tmp", path)
        return toks

    def seqlog(self):
        """Every (conversationID, seq) the simulator assigned."""
        out, since = [], 0
        while True:
            r = self.sim("/seqlog?since=%d&max=50000" % since)
            ents = r.get("entries") or []
            out += [(e["conversationID"], e["seq"]) for e in ents]
            if not ents:
                return out
            since = r["next"]

    # --- relay -----------------------------------------------------------
    def start_relay(self, config_path, name="relay"):
        return self.start(name, [os.path.join(self.build, "server", "kkim-relay"), "-c", config_path],
                          env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"})


class ClusterRedis:
    """Commands to a Redis Cluster, each sent to the master of its key
    (args[1]), the slot asked of the cluster itself (CLUSTER KEYSLOT);
    a MOVED answer reloads the map. Enough for check_streams."""

    def __init__(self, port):
        self.seed = Redis(port)
        self.conns = {}
        self.load()

    def load(self):
        self.owner = []
        for first, last, master, *_ in self.seed.cmd("CLUSTER", "SLOTS"):
            self.owner.append((first, last, int(master[1])))

    def node_of(self, key):
        slot = self.seed.cmd("CLUSTER", "KEYSLOT", key)
        port = next(p for first, last, p in self.owner if first <= slot <= last)
        if port not in self.conns:
            self.conns[port] = Redis(port)
        return self.conns[port]

    def cmd(self, *args):
        for _ in range(5):
            try:
                return self.node_of(args[1]).cmd(*args)
            except RuntimeError as e:
                if "MOVED" not in str(e):
                    raise
                self.load()
        raise RuntimeError("redis: too many MOVED for %r" % (args[1],))

    stream = Redis.stream

    def close(self):
        for c in list(self.conns.values()) + [self.seed]:
            c.close()


def wait_for(what, fn, timeout=30):
    """Polls fn() every 0.1 s until it is true (an OSError or RuntimeError
    counts as false); raises naming `what` after timeout s."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if fn():
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def info_field(port, section, field):
    """One field of INFO <section> of the Redis at port (str), or None."""
    text = Redis(port).cmd("INFO", section).decode()
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def slot_owner(port, key):
    """The port of the master serving key's slot, asked of the node at port."""
    r = Redis(port)
    slot = r.cmd("CLUSTER", "KEYSLOT", key)
    for first, last, master, *_ in r.cmd("CLUSTER", "SLOTS"):
        if first <= slot <= last:
            return int(master[1])
    raise RuntimeError("slot %d has no master" % slot)


def stream_keys(tenant, name, partitions=1):
    """The keys of one stream of a tenant: kkim:{T}:name, or one per
    partition kkim:{T:p}:name (design §5)."""
    if partitions <= 1:
        return ["kkim:{%s}:%s" % (tenant, name)]
    return ["kkim:{%s:%d}:%s" % (tenant, p, name) for p in range(partitions)]


def check_streams(redis, tenant, truth, partitions=1):
    """Compares kkim:{tenant}:msgs + :notifications (every partition's)
    with the ground truth.

    truth: {conversationID: set(seqs)}. Returns (problems, stats): each
    conversation must hold its seqs exactly once, in ascending order, in
    the partition crc32(conversationID) mod partitions.
    """
    seen = {}
    problems = []
    entries = 0
    misplaced = 0
    keys = stream_keys(tenant, "msgs", partitions) + stream_keys(tenant, "notifications", partitions)
    for key in keys:
        for eid, f in redis.stream(key):
            conv = f[b"conversationID"].decode()
            seq = int(f[b"seq"])
            entries += 1
            if partitions > 1 and key.split("}")[0] != "kkim:{%s:%d" % (
                    tenant, zlib.crc32(conv.encode()) % partitions):
                misplaced += 1
            if seq == 0:
                continue
            seen.setdefault(conv, []).append(seq)
    dups = missing = disorder = extra = 0
    for conv, seqs in seen.items():
        if conv not in truth:
            extra += len(seqs)
            if len(problems) < 20:
                problems.append("%s: conversation not in the ground truth" % conv)
            continue
        if seqs != sorted(seqs):
            disorder += 1
            problems.append("%s: out of order" % conv)
        d = len(seqs) - len(set(seqs))
        if d:
            dups += d
            problems.append("%s: %d duplicates" % (conv, d))
    for conv, want in truth.items():
        got = set(seen.get(conv, []))
        miss = want - got
        if miss:
            missing += len(miss)
            if len(problems) < 20:
                problems.append("%s: missing %d seqs (e.g. %s)" % (conv, len(miss), sorted(miss)[:5]))
    return problems, {"entries": entries, "conversations": len(seen), "dups": dups,
                      "missing": missing, "disorder": disorder, "extra": extra,
                      "misplaced": misplaced}


def check_completeness(env, redis, tenants, tenant_of, check, expect, partitions=1, timeout=120):
    """The ground truth from the simulator's log (conversations sorted to
    tenants by tenant_of(conv), None = nobody's), then check_streams per
    tenant until nothing is missing or timeout s passed, with one check
    each: the log holds `expect` seqs; 0 lost, 0 duplicated, in order, no
    other tenant's conversation, every conversation in its partition."""
    truth = {t: {} for t in tenants}
    log = env.seqlog()
    for conv, seq in log:
        t = tenant_of(conv)
        if t:
            truth[t].setdefault(conv, set()).add(seq)
    check(len(log) == expect, "simulator log holds %d seqs (%d injected)" % (len(log), expect))
    for t, st in wait_tenants(redis, truth, timeout, partitions).items():
        check(st["missing"] == 0, "%s: 0 lost" % t)
        check(st["dups"] == 0, "%s: 0 duplicated" % t)
        check(st["disorder"] == 0, "%s: in order per conversation" % t)
        check(st["extra"] == 0, "%s: no conversation of another tenant" % t)
        check(st["misplaced"] == 0, "%s: every conversation in its partition" % t)


def wait_streams(redis, tenant, truth, timeout=60, partitions=1):
    """check_streams every second until nothing is missing or timeout s."""
    end = time.time() + timeout
    while True:
        problems, st = check_streams(redis, tenant, truth, partitions)
        if st["missing"] == 0 or time.time() > end:
            return problems, st
        time.sleep(1)


# --- hand-made gateway frames (for bad-input tests) --------------------------

def _gob_uint(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([256 - len(b)]) + b


def _gob_int(i):
    return _gob_uint(2 * i if i >= 0 else 2 * (-i - 1) + 1)


# OpenIM's Resp type definition as Go's fresh encoder writes it (NOTES §2.4).
_RESP_DEF = bytes.fromhex(
    "60ff81030101045265737001ff8200010601" "0d5265714964656e746966696572010400"
    "01074d7367496e637201" "0c0001" "0b4f7065726174696f6e494401" "0c0001"
    "07457272436f646501" "040001" "064572724d736701" "0c0001" "0444617461010a00" "0000")


def gob_resp(req_identifier, msg_incr="", data=b""):
    """A complete gob Resp frame (definition + value), as the gateway sends."""
    body = b"\xff\x82" + b"\x01" + _gob_int(req_identifier)
    delta = 1
    if msg_incr:
        body += bytes([delta]) + _gob_uint(len(msg_incr)) + msg_incr.encode()
        delta = 4
    else:
        delta = 5
    if data:
        body += bytes([delta]) + _gob_uint(len(data)) + data
    body += b"\x00"
    return _RESP_DEF + _gob_uint(len(body)) + body


# --- driver scaffolding ----------------------------------------------------------

class Checks:
    """Counts named checks: check(ok, what) prints "ok   - what" or "FAIL - what"."""

    def __init__(self):
        self.n = 0
        self.failed = []

    def __call__(self, ok, what):
        self.n += 1
        print(("ok   - " if ok else "FAIL - ") + what, flush=True)
        if not ok:
            self.failed.append(what)
        return ok


def run_driver(name, build, body, checks, logs=("relay",)):
    """Runs body(env) in a fresh Env, always cleaning up, then prints
    "<name>: N passed, M failed" (the suite's closing line), the tail of
    each log in logs when something failed, and exits 0 or 1. An exception
    in body counts as a failed check."""
    env = Env(build, name)
    try:
        body(env)
    except Exception as e:  # a crashed driver is a failed check, not a pass
        checks(False, "driver raised %r" % e)
    finally:
        env.close()
    print("%s: %d passed, %d failed" % (name, checks.n - len(checks.failed), len(checks.failed)))
    if checks.failed:
        for log in logs:
            path = env.log(log)
            if os.path.exists(path):
                print("--- tail of %s" % path)
                os.system("grep -v '\"level\":\"debug\"' %s | tail -n 30" % path)
    raise SystemExit(1 if checks.failed else 0)


def wait_tenants(redis, truth, timeout=60, partitions=1):
    """wait_streams for each tenant of truth ({tenant: {conv: seqs}}) within
    one timeout; prints each tenant's stats and first problems and returns
    {tenant: stats}."""
    end = time.time() + timeout
    out = {}
    for t in truth:
        problems, out[t] = wait_streams(redis, t, truth[t], max(0.0, end - time.time()), partitions)
        print("%s: %s" % (t, json.dumps(out[t])), flush=True)
        for p in problems[:10]:
            print("   ", p)
    return out


def session_state(admin, user):
    """The state of user's login from the relay's /v1/sessions, or None."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions" % admin, timeout=3) as r:
            for s in json.loads(r.read())["sessions"]:
                if s["user"] == user:
                    return s["state"]
    except OSError:
        return None
    return None


def wait_session_state(admin, user, want, timeout=20):
    """Polls session_state until it is want (True) or timeout seconds pass."""
    end = time.time() + timeout
    while time.time() < end:
        if session_state(admin, user) == want:
            return True
        time.sleep(0.1)
    return False
