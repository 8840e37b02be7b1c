"""kkgw.py — a KKIM gateway client for the integration drivers (stdlib only).

A user logged in to the gateway simulator over a real WebSocket (RFC 6455,
client frames masked) with the JSON sdk (NOTES §2.3: base64 `data`), plus
the little protobuf needed to speak RTC signaling (NOTES §6): invitations,
1004 Signal*Req, 1601/110 pushes. A reader thread collects every pushed
MsgData and every unsolicited frame; requests wait for their msgIncr.
"""
import base64
import json
import os
import queue
import socket
import struct
import threading
import time
import urllib.parse
import urllib.request


# --- protobuf ------------------------------------------------------------------

def _varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v > 127:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_str(num, s):
    """A LEN field (str or bytes); empty values are left out, as proto3 does."""
    b = s.encode() if isinstance(s, str) else bytes(s)
    return _varint(num << 3 | 2) + _varint(len(b)) + b if b else b""


def pb_int(num, v):
    """A VARINT field; 0 is left out."""
    return _varint(num << 3) + _varint(v) if v else b""


def pb_read(buf):
    """{field: [values]}: ints for VARINT, bytes for LEN (strict enough for tests)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        r = s = 0
        while True:
            c = buf[i]
            i += 1
            r |= (c & 127) << s
            s += 7
            if c < 128:
                return r
    while i < len(buf):
        tag = varint()
        f, w = tag >> 3, tag & 7
        if w == 0:
            v = varint()
        elif w == 2:
            n = varint()
            v = bytes(buf[i:i + n])
            i += n
        elif w in (1, 5):
            n = 8 if w == 1 else 4
            v = bytes(buf[i:i + n])
            i += n
        else:
            raise ValueError("wire type %d" % w)
        out.setdefault(f, []).append(v)
    return out


def invitation(inviter, invitees, room, media="video", platform=5, t0=None, timeout=60):
    """InvitationInfo bytes (NOTES §6.2)."""
    b = pb_str(1, inviter)
    for u in invitees:
        b += pb_str(2, u)
    return (b + pb_str(5, room) + pb_int(6, timeout) + pb_str(7, media) + pb_int(8, platform)
            + pb_int(9, 1) + pb_int(10, t0 if t0 is not None else int(time.time() * 1000)))


def participant(user):
    """ParticipantMetaData{userInfo{userID, nickname}} as the KKIM doc fills it."""
    return pb_str(3, pb_str(1, user) + pb_str(2, user))


SIGNAL_MEMBER = {"invite": 1, "inviteInGroup": 2, "cancel": 3, "accept": 4, "hungUp": 5, "reject": 6}


def signal_body(kind, inv, user, platform=5):
    """The bare Signal*Req of kind in the KKIM numbering (NOTES §6.2)."""
    b = pb_str(1, inv)
    if kind in ("invite", "inviteInGroup", "cancel"):
        return b + pb_str(3, participant(user)) + pb_str(4, user)
    if kind in ("accept", "reject"):
        return b + pb_str(3, participant(user)) + pb_int(4, platform) + pb_str(5, user)
    return b + pb_str(3, user)  # hungUp


def signal_req(kind, inv, user, platform=5):
    """SignalReq{kind: Signal*Req} (the 1004 request body)."""
    return pb_str(SIGNAL_MEMBER[kind], signal_body(kind, inv, user, platform))


def msg_fields(md):
    """A MsgData's fields of interest as a dict."""
    f = pb_read(md)
    s = lambda n: f.get(n, [b""])[0].decode(errors="replace")  # noqa: E731
    return {"sendID": s(1), "recvID": s(2), "clientMsgID": s(4), "contentType": f.get(11, [0])[0],
            "content": f.get(12, [b""])[0], "seq": f.get(14, [0])[0], "ex": s(23)}


# --- WebSocket + JSON sdk ----------------------------------------------------------

class Client:
    """One login (user, platform) at ws://127.0.0.1:port with sdkType=js."""

    def __init__(self, port, user, platform, token):
        self.user, self.platform, self.token = user, platform, token
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        q = urllib.parse.urlencode({"sendID": user, "platformID": platform, "token": token,
                                    "sdkType": "js", "operationID": "%s_%d" % (user, time.time())})
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (q, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("gateway closed during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError("handshake refused: %r" % (head + self.buf)[:300])
        self.sock.settimeout(None)
        self.lock = threading.Lock()
        self.incr = 0
        self.waiting = {}      # msgIncr -> Queue
        self.pushes = []       # MsgData dicts, in arrival order
        self.unsolicited = []  # (reqIdentifier, data bytes) without a known msgIncr
        self.closed = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        b0, b1 = self._exact(2)
        n = b1 & 127
        if n == 126:
            n = struct.unpack(">H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exact(8))[0]
        return b0 & 15, self._exact(n)

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        with self.lock:
            self.sock.sendall(head + mask + body)

    def _reader(self):
        try:
            while True:
                op, data = self._frame()
                if op == 9:
                    self._send_frame(10, data)
                elif op == 8:
                    break
                elif op == 2:
                    self._dispatch(data)
        except (OSError, ConnectionError, ValueError):
            pass
        self.closed = True

    def _dispatch(self, frame):
        try:
            m = json.loads(frame)
        except ValueError:
            return  # not a JSON frame (e.g. raw bytes a test sent on purpose)
        data = base64.b64decode(m.get("data") or "")
        if m.get("reqIdentifier") == 2001:
            pm = pb_read(data)
            for f in (1, 2):
                for ent in pm.get(f, []):
                    for pull in pb_read(ent).get(2, []):
                        for md in pb_read(pull).get(1, []):
                            self.pushes.append(msg_fields(md))
            return
        w = self.waiting.pop(m.get("msgIncr") or "", None)
        if w:
            w.put((m.get("errCode", 0), m.get("errMsg", ""), data))
        else:
            self.unsolicited.append((m.get("reqIdentifier"), data))

    def request(self, req_identifier, data, timeout=10):
        """Sends a request; returns (errCode, errMsg, data bytes) of its answer."""
        self.incr += 1
        incr = str(self.incr)
        w = queue.Queue()
        self.waiting[incr] = w
        self._send_frame(2, json.dumps({
            "reqIdentifier": req_identifier, "token": self.token, "sendID": self.user,
            "operationID": "%s_%d" % (self.user, self.incr), "msgIncr": incr,
            "data": base64.b64encode(data).decode()}).encode())
        return w.get(timeout=timeout)

    def invite(self, callee, media="video"):
        """1004 invite; returns (errCode, errMsg, roomID, invitation bytes with it)."""
        t0 = int(time.time() * 1000)
        inv = invitation(self.user, [callee], self.user + "_%d" % t0, media, self.platform, t0)
        code, msg, data = self.request(1004, signal_req("invite", inv, self.user, self.platform))
        room = pb_read(pb_read(data)[1][0]).get(2, [b""])[0].decode() if code == 0 else ""
        return code, msg, room, invitation(self.user, [callee], room, media, self.platform, t0)

    def signal(self, kind, inv):
        """1004 cancel/accept/reject/hungUp with inv; returns (errCode, errMsg)."""
        code, msg, _ = self.request(1004, signal_req(kind, inv, self.user, self.platform))
        return code, msg

    def wait_push(self, pred, timeout=10, since=0):
        """The first push (index >= since) matching pred, or None."""
        end = time.time() + timeout
        while time.time() < end:
            for p in self.pushes[since:]:
                if pred(p):
                    return p
            time.sleep(0.05)
        return None

    def close(self):
        try:
            self._send_frame(8, b"\x03\xe8")
        except OSError:
            pass
        self.sock.close()


# --- the relay's side of a call ------------------------------------------------------

def calls_of(redis, room=None, tenant="t"):
    """kkim:{tenant}:calls entries (of room, when given) as str dicts, in order."""
    out = []
    for _, f in redis.stream("kkim:{%s}:calls" % tenant):
        d = {k.decode(): v.decode() for k, v in f.items()}
        if room is None or d.get("roomID") == room:
            out.append(d)
    return out


def wait_calls(redis, room, types, timeout):
    """The calls entries of room once one of them has a type in types (or at timeout)."""
    end = time.time() + timeout
    while time.time() < end:
        evs = calls_of(redis, room)
        if any(e["type"] in types for e in evs):
            return evs
        time.sleep(0.1)
    return calls_of(redis, room)


def session_online(admin, user):
    """True when the relay's /v1/sessions shows user online."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions" % admin, timeout=5) as r:
            for s in json.loads(r.read())["sessions"]:
                if s.get("user") == user and s.get("state") == "online":
                    return True
    except OSError:
        pass
    return False


def start_recording_relay(env, ws, redis_port, admin, user="agent", platform=7):
    """Starts the relay with tenant t whose one user records every call
    ("record": "auto", gob sdk) and waits until it is online. Returns the
    relay's Popen, or None when the user never came online."""
    tok = env.sim("/tokens", {"userID": user, "platformID": platform})["token"]
    with open(os.path.join(env.dir, "t.tokens"), "w") as f:
        f.write("%s %d %s\n" % (user, platform, tok))
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "info"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % redis_port},
           "recordings": {"dir": os.path.join(env.dir, "rec")},
           "media": {"threads": 1},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": platform},
                        "users": [{"userID": user, "record": "auto"}]}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    relay = env.start_relay(path)
    end = time.time() + 20
    while time.time() < end and not session_online(admin, user):
        time.sleep(0.1)
    return relay if session_online(admin, user) else None
