#!/usr/bin/python3
"""calls_chromium.py BUILD_DIR — a recorded call end to end (issue 6, design §7).

The gateway simulator, Redis and the relay with user `agent` ("record":
"auto"); headless Chromium with fake devices (tests/calls/caller.html) is the
caller `cust`, logged in to the simulator over WebSocket (JSON sdk). Cases:
  cancel   cust invites agent and cancels while the simulator holds its
           pushes: kkim:{t}:calls has `invited` then an ending (ended/cancel,
           or failed/call_not_found when the accept came first), and no
           recording;
  call     cust invites, gets the accept push, offers (110), applies the
           answer and candidates from 110 pushes, streams 6 s, sends hungUp:
           the stream has invited, accepted, media_started, ended(hungup);
           the file is at <rec>/t/YYYY/MM/DD/<roomID>-cust.webm with VP8 +
           Opus (ffprobe), its duration within ±10 % of the streaming time,
           the audio not silent (volumedetect), the sidecar has the design
           §7 keys and its sha256 is the file's; an invite from cust2
           pushed mid-call is rejected as busy (invited, ended(busy)) and
           the recording is unharmed;
  own offer  the caller sends no offer: 3 s after its accept the relay
           sends its own (110), the page answers it: the same events and
           checks as `call`;
  glare    the page gets the relay's offer, ignores it and offers anyway:
           the relay rolls its offer back and answers (logged once);
  ssrc switch  halfway, the page replaces its video transceiver and
           renegotiates (new m-line, new SSRC): the relay answers, the file
           plays on without a hole or decode error, the sidecar names the
           new SSRC;
  sigterm  a call still streaming when the relay gets SIGTERM: the relay
           exits 0, the stream has ended(shutdown) with a valid file.
"""
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkbrowser  # noqa: E402
import kkgw  # noqa: E402
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGE = os.path.join(ROOT, "tests", "calls", "caller.html")
check = kkit.Checks()
EVENTS = []  # (time, line) posted by the page


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(PAGE, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        EVENTS.append((time.time(), self.rfile.read(n).decode(errors="replace")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def wait_event(prefix, timeout, since=0):
    end = time.time() + timeout
    while time.time() < end:
        for i, (t, line) in enumerate(EVENTS[since:]):
            if line.startswith(prefix) or line.startswith("error"):
                return t, line, since + i
        time.sleep(0.05)
    return None, None, since


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name,codec_type:format=duration", "-of", "json", path],
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout or "{}")


def max_volume(path):
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-i", path, "-vn", "-af",
                          "volumedetect", "-f", "null", "-"], capture_output=True, text=True,
                         timeout=60)
    m = re.search(r"max_volume: (-?[0-9.]+|-inf) dB", out.stderr)
    return float(m.group(1)) if m and m.group(1) != "-inf" else -1000.0


def check_file(env, ev, label, want_secs=None):
    """Checks a finished call's recording and sidecar from its calls event."""
    path = ev.get("file", "")
    today = datetime.datetime.now(datetime.timezone.utc)
    want = os.path.join(env.dir, "rec", "t", "%04d" % today.year, "%02d" % today.month,
                        "%02d" % today.day, "%s-cust.webm" % ev["roomID"])
    check(path == want and os.path.exists(path), "%s: file at the design §7 path (%s)" % (label, path))
    if not os.path.exists(path):
        return
    p = probe(path)
    codecs = sorted(s["codec_name"] for s in p.get("streams", []))
    check(codecs == ["opus", "vp8"], "%s: streams VP8 + Opus (%s)" % (label, codecs))
    dur = float(p.get("format", {}).get("duration", 0) or 0)
    if want_secs:
        check(abs(dur - want_secs) <= 0.1 * want_secs,
              "%s: duration %.2f s within 10%% of the %.2f s streamed" % (label, dur, want_secs))
    else:
        check(dur >= 2.0, "%s: duration %.2f s >= 2 s" % (label, dur))
    mv = max_volume(path)
    check(mv > -30.0, "%s: audio not silent (max_volume %.1f dB)" % (label, mv))
    side = ev.get("sidecar", "")
    ok = os.path.exists(side)
    check(ok and side == path[:-5] + ".json", "%s: sidecar beside the file" % label)
    if ok:
        with open(side) as f:
            sc = json.load(f)
        keys = ["tenant", "roomID", "caller", "callee", "startedAt", "endedAt", "endReason",
                "tracks", "sha256"]
        check(all(k in sc for k in keys), "%s: sidecar keys %s" % (label, sorted(sc)))
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        check(sc.get("sha256") == digest and ev.get("sha256") == digest,
              "%s: sidecar and event sha256 match the file" % label)
        check(sc.get("roomID") == ev["roomID"] and sc.get("caller") == "cust"
              and sc.get("callee") == "agent", "%s: sidecar names the room and parties" % label)


def busy_invite(env):
    """A second invite while agent records (a gateway whose view of who is
    free differs): rejected as busy, the recording goes on."""
    inv2 = kkgw.invitation("cust2", ["agent"], "room_second")
    env.sim("/inject", {"sendID": "cust2", "recvID": "agent", "contentType": 1601, "pushOnly": True,
                        "contentB64": base64.b64encode(kkgw.signal_body("invite", inv2, "cust2")).decode()})


def check_ssrc_switch(label, fin, lines):
    """The video sender changed SSRC halfway: the file keeps playing across
    the change (no decode error, no hole in the video), the sidecar names
    the new SSRC and counts the change as a gap."""
    sw = next((l.split() for l in lines if l.startswith("switched ")), None)
    check(sw is not None and sw[1] != sw[2] and "?" not in sw, "%s: the page switched SSRC (%s)" % (label, sw))
    path = fin.get("file", "")
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                        "-of", "csv=p=0", path], capture_output=True, text=True, timeout=60)
    pts = sorted(float(x) for x in r.stdout.split() if x.strip() not in ("", "N/A"))
    gap = max((b - a for a, b in zip(pts, pts[1:])), default=99.0)
    check(len(pts) > 60 and gap < 0.5, "%s: %d video frames, largest gap %.3f s (< 0.5 s)" % (label, len(pts), gap))
    # Decoded without a muxer: ffmpeg's null muxer would flag capture-time
    # jitter (two frames closer than the frame rate it guesses) as an error.
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames", "-of", "csv=p=0", path], capture_output=True, text=True, timeout=60)
    check(r.stderr.strip() == "" and r.stdout.strip() == str(len(pts)),
          "%s: all %s video frames decode without errors (%s)" % (label, r.stdout.strip(), r.stderr.strip()[:200]))
    with open(fin.get("sidecar", "")) as f:
        video = [t for t in json.load(f)["tracks"] if t["kind"] == "video"]
    check(sw is not None and len(video) == 1 and str(video[0]["ssrc"]) == sw[2] and video[0]["gaps"] >= 1,
          "%s: sidecar video track has the new SSRC and a gap (%s)" % (label, video))


def recorded_call(env, redis, base, label, query, during=None, after=None):
    """One call from a fresh Chromium caller with query: connected, streamed,
    hung up; checks the calls events and the recording. during(env) runs
    once the call is connected; after(label, final event, page lines) once
    the recording is checked."""
    n0 = len(EVENTS)
    chrome = kkbrowser.start(base + query, os.path.join(env.dir, "prof-" + label.replace(" ", "-")))
    try:
        t_conn, line, i = wait_event("connected", 40, n0)
        check(line == "connected", "%s: ICE connected (%s)" % (label, line))
        if during:
            during(env)
        t_hung, line, _ = wait_event("hungup", 20, i + 1)
        check(line is not None and line.startswith("hungup 0"), "%s: hungUp sent (%s)" % (label, line))
        wait_event("closed", 10, i + 1)
    finally:
        kkbrowser.stop(chrome)
    room = next((l.split()[1] for _, l in EVENTS[n0:] if l.startswith("invited ")), None)
    evs = kkgw.wait_calls(redis, room, ("ended", "failed"), 15)
    types = [e["type"] for e in evs]
    check(types == ["invited", "accepted", "media_started", "ended"],
          "%s: calls events in order (%s)" % (label, types))
    fin = evs[-1] if evs else {}
    check(fin.get("reason") == "hungup" and fin.get("user") == "agent" and fin.get("caller") == "cust",
          "%s: ended with reason hungup (%s)" % (label, fin.get("reason")))
    if fin.get("type") == "ended" and t_conn and t_hung:
        check_file(env, fin, label, t_hung - t_conn)
        check(abs(int(fin.get("durationMs", 0)) / 1000.0 - (t_hung - t_conn)) <= 0.1 * (t_hung - t_conn),
              "%s: durationMs %s matches the streaming time" % (label, fin.get("durationMs")))
        if after:
            after(label, fin, [l for _, l in EVENTS[n0:]])


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["agent", "cust", "cust2"])
    tok_cust = env.sim("/tokens", {"userID": "cust", "platformID": 5})["token"]
    check(kkgw.start_recording_relay(env, ws, rp, admin) is not None, "agent is online")
    redis = kkit.Redis(rp)
    base = "http://127.0.0.1:%d/caller.html?ws=127.0.0.1:%d&token=%s&user=cust&callee=agent" % (
        srv.server_address[1], ws, tok_cust)

    # --- cancel right after the invite -----------------------------------
    # Pushes are held until the cancel is in, so the gateway still rings
    # (else the relay's accept would win and the cancel find no call).
    n0 = len(EVENTS)
    env.sim("/pushes/pause", {})
    chrome = kkbrowser.start(base + "&cancel=1", os.path.join(env.dir, "prof1"))
    try:
        _, line, _ = wait_event("cancelled", 30, n0)
    finally:
        env.sim("/pushes/resume", {})
        kkbrowser.stop(chrome)
    check(line is not None and line.startswith("cancelled 0"), "cancel: invite and cancel sent (%s)" % line)
    room = None
    for t, l in EVENTS[n0:]:
        if l.startswith("invited "):
            room = l.split()[1]
    evs = kkgw.wait_calls(redis, room, ("ended", "failed"), 10)
    types = [e["type"] for e in evs]
    final = evs[-1] if evs else {}
    check(types[:1] == ["invited"] and (
        (final.get("type") == "ended" and final.get("reason") == "cancel") or
        (final.get("type") == "failed" and final.get("reason") == "call_not_found")),
        "cancel: calls events %s end with %s/%s" % (types, final.get("type"), final.get("reason")))
    check(not any(e.get("file") for e in evs), "cancel: no recording")

    # --- recorded calls: the caller offers; the relay offers; glare ----------
    recorded_call(env, redis, base, "call", "&secs=6", busy_invite)
    recorded_call(env, redis, base, "own offer", "&secs=4&offer=wait")
    recorded_call(env, redis, base, "glare", "&secs=4&offer=glare")
    recorded_call(env, redis, base, "ssrc switch", "&secs=6&ssrc=switch", after=check_ssrc_switch)
    with open(env.log("relay"), errors="replace") as f:
        text = f.read()
    check(text.count('"event":"own_offer"') == 2, "the relay offered in the own-offer and glare calls")
    check(text.count('"event":"offer_rolled_back"') == 1, "glare: the relay rolled its offer back once")
    busy = [(e["type"], e.get("reason", "")) for e in kkgw.calls_of(redis, "room_second")]
    check(busy == [("invited", ""), ("ended", "busy")], "call: the second invite was rejected as busy (%s)" % busy)
    check('"event":"busy_reject"' in text, "call: the relay logged its busy reject")

    # --- SIGTERM mid-call --------------------------------------------------------
    n0 = len(EVENTS)
    chrome = kkbrowser.start(base + "&end=none", os.path.join(env.dir, "prof3"))
    try:
        t_conn, line, i = wait_event("connected", 40, n0)
        check(line == "connected", "sigterm: call connected (%s)" % line)
        time.sleep(4)
        rc = env.stop("relay", signal.SIGTERM, timeout=30)
        check(rc == 0, "sigterm: the relay drained and exited 0 (rc %s)" % rc)
    finally:
        kkbrowser.stop(chrome)
    room = next((l.split()[1] for _, l in EVENTS[n0:] if l.startswith("invited ")), None)
    evs = kkgw.calls_of(redis, room)
    fin = evs[-1] if evs else {}
    check(fin.get("type") == "ended" and fin.get("reason") == "shutdown",
          "sigterm: ended with reason shutdown (%s/%s)" % (fin.get("type"), fin.get("reason")))
    if fin.get("type") == "ended":
        check_file(env, fin, "sigterm")
    with open(env.log("relay"), errors="replace") as f:
        text = f.read()
    check("AddressSanitizer" not in text and "LeakSanitizer" not in text,
          "the relay's log has no sanitizer report")
    redis.close()
    srv.shutdown()


def main():
    if not shutil.which("chromium"):
        print("calls_chromium: chromium missing")
        sys.exit(1)
    kkit.run_driver("calls_chromium", BUILD, run, check)


if __name__ == "__main__":
    main()
