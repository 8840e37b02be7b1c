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
    def start_redis(self, port, aof=True):
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--daemonize", "no"]
        if aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.start("redis", args)
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

    # --- gateway simulator ----------------------------------------------
    def sim_binary(self):
        path = os.path.join(self.root, "build", "sim", "kkim-gatewaysim")
        if not os.path.exists(path):
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


def check_streams(redis, tenant, truth):
    """Compares kkim:{tenant}:msgs + :notifications with the ground truth.

    truth: {conversationID: set(seqs)}. Returns (problems, stats): each
    conversation must hold its seqs exactly once, in ascending order.
    """
    seen = {}
    problems = []
    entries = 0
    for stream in ("msgs", "notifications"):
        for eid, f in redis.stream("kkim:{%s}:%s" % (tenant, stream)):
            conv = f[b"conversationID"].decode()
            seq = int(f[b"seq"])
            entries += 1
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
                      "missing": missing, "disorder": disorder, "extra": extra}


def wait_streams(redis, tenant, truth, timeout=60):
    """check_streams every second until nothing is missing or timeout s."""
    end = time.time() + timeout
    while True:
        problems, st = check_streams(redis, tenant, truth)
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
