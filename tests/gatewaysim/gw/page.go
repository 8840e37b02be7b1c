package gw

// clientPage is served at /client.html on the control port. It runs the
// KKIM doc's JavaScript client code paths (§7.5 login, JSON framing with
// data as a number array, text ping, send, push decoding; §10.5 invite and
// accept with base64 data and a hand-written protobuf codec like §10.5.3 /
// §10.5.5) against the simulator, in a browser. Query: ws=HOST:PORT,
// ta=alice's token, tb=bob's token (users alice and bob, platformID 5).
// The verdict is written into <p id=result>: "PASS ..." or "FAIL: ...".
// The image from /hold delays the load event (and so chromium's --dump-dom)
// by 3 s of real time, long enough for the exchange to finish.
const clientPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>KKIM JS client check</title></head>
<body><p id="result">running</p><pre id="log"></pre>
<img src="/hold?ms=3000" alt="">
<script>
"use strict";
const q = new URLSearchParams(location.search);
const log = (s) => { document.getElementById("log").textContent += s + "\n"; };
const done = (s) => { document.getElementById("result").textContent = s; };

// ---- protobuf writer (KKIM doc §10.5.3 style) ----
class PbWriter {
  constructor() { this.b = []; }
  varint(v) { v = BigInt(v); if (v < 0n) v += 1n << 64n;
    while (v > 127n) { this.b.push(Number(v & 127n) | 128); v >>= 7n; } this.b.push(Number(v)); }
  tag(f, w) { this.varint((f << 3) | w); }
  int(f, v) { if (v) { this.tag(f, 0); this.varint(v); } }
  bytes(f, arr) { if (arr && arr.length) { this.tag(f, 2); this.varint(arr.length); for (const x of arr) this.b.push(x); } }
  string(f, s) { if (s) this.bytes(f, new TextEncoder().encode(s)); }
  msg(f, w) { this.tag(f, 2); this.varint(w.b.length); for (const x of w.b) this.b.push(x); }
  finish() { return new Uint8Array(this.b); }
}

// ---- protobuf reader (KKIM doc §10.5.5 style, skipping every wire type) ----
function pbRead(buf) {
  const out = {}; let i = 0;
  const varint = () => { let r = 0n, s = 0n; for (;;) { const c = buf[i++]; r |= BigInt(c & 127) << s; s += 7n; if (c < 128) return r; } };
  while (i < buf.length) {
    const t = Number(varint()), f = t >> 3, w = t & 7; let v;
    if (w === 0) v = varint();
    else if (w === 2) { const n = Number(varint()); v = buf.subarray(i, i + n); i += n; }
    else if (w === 1) { v = buf.subarray(i, i + 8); i += 8; }
    else if (w === 5) { v = buf.subarray(i, i + 4); i += 4; }
    else throw new Error("wire type " + w);
    (out[f] = out[f] || []).push(v);
  }
  return out;
}
const str = (b) => b ? new TextDecoder().decode(b) : "";
const b64 = (u8) => btoa(String.fromCharCode(...u8));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// ---- KKIMWebSocket, reduced to the doc's code paths ----
class KKIMWebSocket {
  constructor(userID, token) { this.userID = userID; this.token = token; this.incr = 0;
    this.pending = new Map(); this.onPush = null; this.onText = null; }
  connect() {
    return new Promise((resolve, reject) => {
      const url = "ws://" + q.get("ws") + "/?sendID=" + this.userID + "&platformID=5&token=" +
        encodeURIComponent(this.token) + "&sdkType=js&operationID=" + Date.now();
      this.ws = new WebSocket(url);
      this.ws.binaryType = "arraybuffer";
      this.ws.onopen = () => resolve();
      this.ws.onerror = (e) => reject(new Error("ws error"));
      this.ws.onmessage = (ev) => this.handleMessage(ev.data);
    });
  }
  handleMessage(data) {
    if (!(data instanceof ArrayBuffer)) { if (this.onText) this.onText(JSON.parse(data)); return; }
    const m = JSON.parse(new TextDecoder().decode(data));
    const bytes = m.data ? unb64(m.data) : new Uint8Array(0);
    if (m.reqIdentifier === 2001) { if (this.onPush) this.onPush(bytes); return; }
    const p = this.pending.get(m.msgIncr);
    if (p) { this.pending.delete(m.msgIncr); p(m, bytes); }
  }
  // §7.5 sends data as a number array; §10.5.7 as base64.
  sendRequest(id, proto, asBase64) {
    return new Promise((resolve) => {
      const msgIncr = String(++this.incr);
      this.pending.set(msgIncr, (m, bytes) => resolve({ m, bytes }));
      const req = { reqIdentifier: id, token: this.token, sendID: this.userID,
        operationID: this.userID + "_" + Date.now(), msgIncr,
        data: asBase64 ? b64(proto) : Array.from(proto) };
      this.ws.send(new TextEncoder().encode(JSON.stringify(req)));
    });
  }
  sendText(recvID, text) {
    const w = new PbWriter();
    w.string(1, this.userID); w.string(2, recvID); w.string(4, this.userID + "_" + Date.now() + "_1");
    w.int(6, 5); w.int(9, 1); w.int(10, 100); w.int(11, 101);
    w.bytes(12, new TextEncoder().encode(JSON.stringify({ text })));
    w.int(16, Date.now());
    return this.sendRequest(1003, w.finish(), false);
  }
}

// invitationInfo encodes InvitationInfo (KKIM doc §10.3.1).
function invitation(inviter, invitee, roomID) {
  const w = new PbWriter();
  w.string(1, inviter); w.string(2, invitee); w.string(5, roomID); w.int(6, 60); w.string(7, "audio");
  w.int(8, 5); w.int(9, 1); w.int(10, Date.now());
  return w;
}

// firstMsg decodes PushMessages -> the first MsgData of msgs.
function firstMsg(bytes) {
  const pm = pbRead(bytes);
  const entry = pbRead(pm[1][0]);                 // map entry: key=1, value=2
  const pull = pbRead(entry[2][0]);               // PullMsgs: Msgs=1
  return { conv: str(entry[1][0]), msg: pbRead(pull[1][0]) };
}

function waitFor(setter) { return new Promise((r) => setter(r)); }

async function main() {
  const alice = new KKIMWebSocket("alice", q.get("ta"));
  const bob = new KKIMWebSocket("bob", q.get("tb"));
  await alice.connect(); await bob.connect(); log("connected");
  const pong = waitFor((r) => alice.onText = r);
  alice.ws.send(JSON.stringify({ type: "ping" }));
  const pg = await pong;
  if (pg.type !== "pong") throw new Error("no pong");
  log("text ping ok");
  const pushed = waitFor((r) => bob.onPush = r);
  const { m, bytes } = await alice.sendText("bob", "hello from chromium");
  if (m.errCode !== 0) throw new Error("send: " + m.errCode + " " + m.errMsg);
  const sr = pbRead(bytes);
  const seq = Number(sr[4][0]);
  const p = firstMsg(await pushed);
  const content = JSON.parse(str(p.msg[12][0]));
  if (p.conv !== "si_alice_bob" || Number(p.msg[14][0]) !== seq || content.text !== "hello from chromium")
    throw new Error("push mismatch " + p.conv);
  log("send+push ok seq=" + seq);
  // Invite (KKIM doc §10.5.8): SignalReq{invite{invitation, userID}} as base64.
  const inv = new PbWriter(); inv.msg(1, invitation("alice", "bob", "alice_" + Date.now()));
  inv.string(4, "alice");
  const sreq = new PbWriter(); sreq.msg(1, inv);
  const ring = waitFor((r) => bob.onPush = r);
  const ir = await alice.sendRequest(1004, sreq.finish(), true);
  if (ir.m.errCode !== 0) throw new Error("invite: " + ir.m.errMsg);
  const roomID = str(pbRead(pbRead(ir.bytes)[1][0])[2][0]);
  const rp = firstMsg(await ring);
  if (Number(rp.msg[11][0]) !== 1601) throw new Error("no 1601");
  const bare = pbRead(rp.msg[12][0]);              // KKIM doc §10.5.15: bare SignalInviteReq
  const pushedRoom = str(pbRead(bare[1][0])[5][0]);
  if (pushedRoom !== roomID) throw new Error("room mismatch " + pushedRoom + " " + roomID);
  log("invite ok room=" + roomID);
  // Accept (KKIM doc §10.5.9).
  const acc = new PbWriter(); acc.msg(1, invitation("alice", "bob", roomID)); acc.int(4, 5); acc.string(5, "bob");
  const areq = new PbWriter(); areq.msg(4, acc);
  const accepted = waitFor((r) => alice.onPush = r);
  const ar = await bob.sendRequest(1004, areq.finish(), true);
  if (ar.m.errCode !== 0) throw new Error("accept: " + ar.m.errMsg);
  const ap = firstMsg(await accepted);
  if (Number(ap.msg[11][0]) !== 1601) throw new Error("no accept push");
  done("PASS seq=" + seq + " room=" + roomID);
}
setTimeout(() => { if (document.getElementById("result").textContent === "running") done("FAIL: timeout"); }, 2900);
main().catch((e) => done("FAIL: " + e.message));
</script></body></html>
`
