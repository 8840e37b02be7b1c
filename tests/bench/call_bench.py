#!/usr/bin/python3
"""call_bench.py BUILD_DIR N SECS [relay|janus|both] — concurrent recorded calls (issue 6).

N Pion callers (tests/bench/callload, BUILD_DIR/cl/callload) stream the same
pre-encoded VP8 IVF + Opus OGG (BUILD_DIR/cl/media, made once with ffmpeg)
in real time, first to kkim-relay (BUILD_DIR/server/kkim-relay, Release)
through the gateway simulator (N relay users with "record": "auto"), then to
Janus 1.1's record_play plugin over its HTTP API, each in the same run on the
same machine. Prints "figure:" lines per peer:
  established  calls connected (ICE + DTLS) of N
  recorded     relay: `ended` events whose sidecar exists with both tracks;
               janus: calls with both .mjr files holding packets
  cpu          utime+stime of the recorder process over the steady window
               (every call streaming, from 2 s after the last connected),
               % of one core, total, per call and per 1000 packets/s sent
               by the callers in that window
  rss          VmRSS mean over the window minus the process's RSS before the
               first call (N idle logins for the relay), per call
  loss         unrecovered loss: packets the callers sent (highest minus
               first RTP sequence number + 1, per track) minus packets the
               recorder kept — relay: sidecar packetsReceived (unique,
               retransmissions filled in); janus: distinct RTP sequence
               numbers in its .mjr files — over packets sent
and "ratio: relay/janus cpu per call" when both ran. One relay recording is
probed (codecs, duration, ffmpeg decode errors). The run's directory
(recordings included) is removed at the end unless KK_BENCH_KEEP is set.
"""
import glob
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
N = int(sys.argv[2])
SECS = float(sys.argv[3])
WHICH = sys.argv[4] if len(sys.argv) > 4 else "both"
CALLLOAD = os.path.join(BUILD, "cl", "callload")
MEDIA = os.path.join(BUILD, "cl", "media")
RATE = float(os.environ.get("KK_BENCH_CALL_RATE", "20"))


def make_media():
    """Encodes 30 s of testsrc (VP8, 640x360, 25 fps, 400 kbit/s) and a sine
    (Opus, 20 ms pages) once."""
    ivf, ogg = os.path.join(MEDIA, "v.ivf"), os.path.join(MEDIA, "a.ogg")
    if not (os.path.exists(ivf) and os.path.exists(ogg)):
        os.makedirs(MEDIA, exist_ok=True)
        ff = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi"]
        subprocess.check_call(ff + ["-i", "testsrc=size=640x360:rate=25", "-t", "30", "-c:v",
                                    "libvpx", "-b:v", "400k", "-g", "50", "-auto-alt-ref", "0",
                                    "-lag-in-frames", "0", "-deadline", "realtime",
                                    "-cpu-used", "8", ivf + ".tmp.ivf"])
        subprocess.check_call(ff + ["-i", "sine=frequency=440:sample_rate=48000", "-t", "30",
                                    "-c:a", "libopus", "-b:a", "32k", "-page_duration", "20000",
                                    ogg + ".tmp.ogg"])
        os.replace(ivf + ".tmp.ivf", ivf)
        os.replace(ogg + ".tmp.ogg", ogg)
    return ivf, ogg


def drive(env, pid, argv):
    """Runs callload with argv, samples pid's CPU and RSS over the steady
    window (callload's "window" to "ending" lines) and returns
    (connected, calls, cpu_seconds, window_seconds, rss_samples,
    packets_sent_in_window)."""
    lines = queue.Queue()
    with open(env.log("callload-err"), "ab") as err:
        p = subprocess.Popen([CALLLOAD] + argv, stdout=subprocess.PIPE, stderr=err, text=True,
                             cwd=env.dir)
    threading.Thread(target=lambda: [lines.put(ln) for ln in p.stdout] + [lines.put(None)],
                     daemon=True).start()
    connected, calls, rss = 0, [], []
    c0 = t0 = c1 = t1 = s0 = s1 = None
    deadline = time.time() + N / RATE + 180 + SECS
    while time.time() < deadline:
        try:
            ln = lines.get(timeout=1.0)
        except queue.Empty:
            ln = ""
        if ln is None:
            break
        if ln.startswith("steady "):
            connected = int(ln.split()[1])
            print("  steady: %d connected, %d failed" % (connected, int(ln.split()[2])), flush=True)
        elif ln.startswith("window "):
            c0, t0, s0 = kkit.cpu_s(pid), time.time(), int(ln.split()[1])
        elif ln.startswith("ending "):
            c1, t1, s1 = kkit.cpu_s(pid), time.time(), int(ln.split()[1])
        elif ln.startswith("call "):
            calls.append(json.loads(ln[5:]))
        if c0 is not None and c1 is None and (not rss or time.time() - rss[-1][0] >= 1):
            rss.append((time.time(), kkit.rss_kib(pid)))
    if p.poll() is None:
        p.kill()
    p.wait()
    if c0 is None or c1 is None:
        raise RuntimeError("callload never reached its steady window (see %s)" % env.log("callload-err"))
    return connected, calls, c1 - c0, t1 - t0, [r for _, r in rss], s1 - s0


def report(name, n, connected, recorded, load, rss, base_rss, sent, kept):
    """Prints one peer's figure lines; returns CPU % per call."""
    cpu, window, wsent = load
    per = 100.0 * cpu / window / max(connected, 1)
    mean = sum(rss) / len(rss)
    loss = 100.0 * (sent - kept) / sent if sent else float("nan")
    print("figure: %s calls=%d established=%d recorded=%d" % (name, n, connected, recorded))
    print("figure: %s cpu=%.1f%% of a core over %.0f s, %.3f%% per call; "
          "%.0f packets/s in, %.2f%% of a core per 1000 packets/s" % (
              name, 100.0 * cpu / window, window, per, wsent / window,
              100.0 * cpu / wsent * 1000))
    print("figure: %s rss=%.1f MiB (idle %.1f MiB), %.0f KiB per call" % (
        name, mean / 1024, base_rss / 1024, (mean - base_rss) / max(connected, 1)))
    print("figure: %s loss=%.4f%% unrecovered (%d of %d packets)" % (name, loss, sent - kept, sent),
          flush=True)
    return per


def sent_of(c):
    return c["audio"]["packets"] + c["video"]["packets"]


def run_relay(env):
    """The relay with N recorded users; returns CPU % per call."""
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, [], ["-queue", "8192"])
    recs = ["rec%d" % (i + 1) for i in range(N)]
    custs = ["cust%d" % (i + 1) for i in range(N)]
    env.sim("/users", {"userIDs": recs + custs})
    env.mint_tokens("t", recs, 7)
    env.mint_tokens("callers", custs, 5)
    cfg = {"admin": {"listen": "127.0.0.1:%d" % admin}, "log": {"level": "warn"},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "recordings": {"dir": os.path.join(env.dir, "rec")},
           "media": {"threads": os.cpu_count()},
           "tenants": [{"id": "t", "tokens": {"source": "file", "path": "t.tokens"},
                        "gateway": {"url": "ws://127.0.0.1:%d" % ws, "sdkType": "go",
                                    "platformID": 7},
                        "users": [{"userID": u, "record": "auto"} for u in recs]}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    relay = env.start_relay(path)
    kkit.wait_port(admin)
    end = time.time() + 60
    while time.time() < end:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions" % admin, timeout=5) as r:
            online = sum(1 for s in json.loads(r.read())["sessions"] if s.get("state") == "online")
        if online == N:
            break
        time.sleep(0.5)
    time.sleep(2)
    base = kkit.rss_kib(relay.pid)
    ivf, ogg = make_media()
    connected, calls, cpu, window, rss, wsent = drive(env, relay.pid, [
        "relay", "-ws", "127.0.0.1:%d" % ws, "-tokens", os.path.join(env.dir, "callers.tokens"),
        "-callee-prefix", "rec", "-ivf", ivf, "-ogg", ogg, "-secs", str(SECS), "-rate", str(RATE)])
    redis = kkit.Redis(rp)
    rooms = {c["room"]: c for c in calls if c["connected"]}
    ended = {}
    end = time.time() + 60
    while time.time() < end and len(ended) < len(rooms):
        for _, f in redis.stream("kkim:{t}:calls"):
            d = {k.decode(): v.decode() for k, v in f.items()}
            if d.get("type") == "ended" and d.get("roomID") in rooms:
                ended[d["roomID"]] = d
        time.sleep(0.5)
    redis.close()
    sent = kept = recorded = 0
    for room, c in rooms.items():
        sent += sent_of(c)
        ev = ended.get(room)
        if not ev or not os.path.exists(ev.get("sidecar", "")):
            continue
        with open(ev["sidecar"]) as f:
            tracks = json.load(f).get("tracks", [])
        got = sum(t.get("packetsReceived", 0) for t in tracks)
        kept += got
        if len(tracks) == 2 and all(t.get("packetsReceived", 0) > 0 for t in tracks):
            recorded += 1
    sample = next((e["file"] for e in ended.values() if os.path.exists(e.get("file", ""))), None)
    if sample:
        print("  sample recording: %s" % probe(sample), flush=True)
    rc = env.stop("relay")
    if rc != 0:
        print("  relay exited %s" % rc)
    env.stop("sim")
    env.stop("redis")
    return report("relay", N, connected, recorded, (cpu, window, wsent), rss, base, sent, kept)


def probe(path):
    """Codecs, duration and decode errors of one recording (ffprobe, ffmpeg)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name:format=duration", "-of", "json", path],
                         capture_output=True, text=True, timeout=120)
    p = json.loads(out.stdout or "{}")
    dec = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=300)
    return "%s, %.1f s, %d decode error lines" % (
        "+".join(sorted(st["codec_name"] for st in p.get("streams", []))),
        float(p.get("format", {}).get("duration", 0) or 0), len(dec.stderr.splitlines()))


def mjr_packets(path):
    """Distinct RTP sequence numbers in a Janus .mjr recording ("MJR00002",
    a 2-byte length + JSON header, then "MEET" + 4-byte time + 2-byte
    length + RTP packet per frame)."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"MJR00002":
        return 0
    (hl,) = struct.unpack(">H", b[8:10])
    i, seqs = 10 + hl, set()
    while i + 10 <= len(b) and b[i:i + 4] == b"MEET":
        (ln,) = struct.unpack(">H", b[i + 8:i + 10])
        pkt = b[i + 10:i + 10 + ln]
        if len(pkt) >= 12:
            seqs.add(struct.unpack(">H", pkt[2:4])[0])
        i += 10 + ln
    return len(seqs)


def run_janus(env):
    """Janus 1.1 record_play with the same load; returns CPU % per call."""
    conf = os.path.join(env.dir, "janus")
    rec = os.path.join(env.dir, "janus-rec")
    os.makedirs(conf)
    os.makedirs(rec)
    port = kkit.free_port()
    lib = "/usr/lib/x86_64-linux-gnu/janus"
    plugins = ",".join(os.path.basename(p) for p in glob.glob(lib + "/plugins/*.so")
                       if "recordplay" not in p)
    transports = ",".join(os.path.basename(p) for p in glob.glob(lib + "/transports/*.so")
                          if "http" not in p)
    with open(os.path.join(conf, "janus.jcfg"), "w") as f:
        f.write('general: {\n configs_folder = "%s"\n plugins_folder = "%s/plugins"\n'
                ' transports_folder = "%s/transports"\n events_folder = "%s/events"\n'
                ' loggers_folder = "%s/loggers"\n debug_level = 3\n}\n'
                'nat: {\n nice_debug = false\n}\n'
                'plugins: {\n disable = "%s"\n}\ntransports: {\n disable = "%s"\n}\n'
                'events: {\n broadcast = false\n}\n' % (conf, lib, lib, lib, lib, plugins, transports))
    with open(os.path.join(conf, "janus.transport.http.jcfg"), "w") as f:
        f.write('general: {\n json = "plain"\n base_path = "/janus"\n http = true\n port = %d\n'
                ' ip = "127.0.0.1"\n https = false\n}\nadmin: {\n admin_http = false\n}\n' % port)
    with open(os.path.join(conf, "janus.plugin.recordplay.jcfg"), "w") as f:
        f.write('general: {\n path = "%s"\n}\n' % rec)
    janus = env.start("janus", ["janus", "-F", conf, "-C", os.path.join(conf, "janus.jcfg"), "-o"])
    kkit.wait_port(port)
    time.sleep(1)
    base = kkit.rss_kib(janus.pid)
    ivf, ogg = make_media()
    connected, calls, cpu, window, rss, wsent = drive(env, janus.pid, [
        "janus", "-url", "http://127.0.0.1:%d/janus" % port, "-n", str(N), "-ivf", ivf,
        "-ogg", ogg, "-secs", str(SECS), "-rate", str(RATE)])
    time.sleep(2)
    sent = kept = recorded = 0
    for c in calls:
        if not c["connected"]:
            continue
        sent += sent_of(c)
        files = glob.glob(os.path.join(rec, c["name"] + "-*.mjr"))
        counts = [mjr_packets(p) for p in files]
        kept += sum(counts)
        if len(counts) == 2 and all(counts):
            recorded += 1
    env.stop("janus")
    return report("janus", N, connected, recorded, (cpu, window, wsent), rss, base, sent, kept)


def main():
    env = kkit.Env(BUILD, "callbench")
    try:
        print("calls %d secs %.0f load %s" % (N, SECS, open("/proc/loadavg").read().strip()),
              flush=True)
        r = run_relay(env) if WHICH in ("relay", "both") else None
        j = run_janus(env) if WHICH in ("janus", "both") else None
        if r and j:
            print("ratio: relay/janus cpu per call %.2f" % (r / j))
        print("load after: %s" % open("/proc/loadavg").read().strip())
    finally:
        env.close()
        if not os.environ.get("KK_BENCH_KEEP"):  # N x SECS of recordings, twice
            shutil.rmtree(env.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
