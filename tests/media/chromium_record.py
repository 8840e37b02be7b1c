#!/usr/bin/python3
"""chromium_record.py — records a call from headless Chromium through the
media harness and checks the file with ffprobe/ffmpeg.

  chromium_record.py BUILD_DIR CASE [CASE...]

CASE is one of: vp8, vp9, h264, audio (audio-only), badfp (wrong DTLS
fingerprint → bad_fingerprint), timeout (the page stops ending the call → the
media timeout ends it after Chromium is killed), maxdur (max duration ends it),
sigkill (the harness is SIGKILLed mid-call: the partial file must play),
sigterm (the file is finalized), resize (the sender halves its resolution
mid-call: frames of both sizes decode), consent (caller vanishes: RFC 7675 consent
loss, ~30 s), loss, lossh264, lossvp9 (5 % drop + 5 % reordering: NACK/RTX), avsync (a WebM made
with ffmpeg whose flash and beep are in sync, played by a <video> and captured:
the recording's median audio-minus-video offset is the one of what Chromium
sent, its own MediaRecorder copy, within 80 ms; the offset against the file
is printed: Chromium's capture skews the sent stream, see docs/media.md), multi
(three calls at once, the middle one with a wrong fingerprint: the other two
record normally).
Prints one ok/FAIL line per check; exits 1 if any failed.
"""
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kkbrowser  # noqa: E402
import kkit  # noqa: E402

FAILS = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else "  (" + str(detail) + ")"), flush=True)
    if not cond:
        FAILS.append(name)


def wait_log(path, text, timeout):
    end = time.time() + timeout
    while time.time() < end:
        with open(path) as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                         capture_output=True, text=True)
    return json.loads(out.stdout or "{}"), out.stderr


def audio_levels(path):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-i", path, "-map", "0:a", "-af", "volumedetect",
                        "-f", "null", "-"], capture_output=True, text=True)
    mean = maxv = None
    for line in r.stderr.splitlines():
        if "mean_volume:" in line:
            mean = float(line.split("mean_volume:")[1].split()[0])
        if "max_volume:" in line:
            maxv = float(line.split("max_volume:")[1].split()[0])
    return mean, maxv


def video_decode_errors(path):
    # Decode every frame without muxing: ffmpeg's null muxer would complain
    # about capture-time jitter (two frames closer than its guessed frame rate).
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames", "-of", "csv=p=0", path], capture_output=True, text=True)
    return r.stderr.strip()


def video_frames(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames", "-of", "csv=p=0", path], capture_output=True, text=True)
    try:
        return int(r.stdout.strip().split(",")[0])
    except ValueError:
        return 0


def check_file(case, path, want_video, expect_secs, tol=0.10):
    info, err = ffprobe(path)
    streams = info.get("streams", [])
    codecs = sorted(s.get("codec_name") for s in streams)
    want = sorted(["opus"] + ([want_video] if want_video else []))
    check(case + ": streams are " + "+".join(want), codecs == want, codecs)
    dur = float(info.get("format", {}).get("duration", 0) or 0)
    if expect_secs:
        check(case + ": duration %.2fs within 10%% of %.2fs" % (dur, expect_secs),
              abs(dur - expect_secs) <= tol * expect_secs, dur)
    mean, maxv = audio_levels(path)
    check(case + ": audio not silent (max %s dB)" % maxv, maxv is not None and maxv > -30, (mean, maxv))
    if want_video:
        errs = video_decode_errors(path)
        check(case + ": video decodes without errors", errs == "", errs[:300])
        n = video_frames(path)
        check(case + ": video has frames (%d)" % n, n > 10, n)
    return info


def onsets(times, values, thr):
    """Times where values rise through thr after having been below it."""
    out, low = [], True
    for t, v in zip(times, values):
        if low and v > thr:
            out.append(t)
            low = False
        elif v < thr / 2:
            low = True
    return out


def avsync_median(label, path):
    """Flash onsets (video luma) against beep onsets (audio level): checks
    that there are at least 5 pairs and returns the median audio-minus-video
    offset in seconds (None without pairs)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i", "movie=%s,signalstats" % path,
                        "-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
                       capture_output=True, text=True)
    vt, vy = [], []
    for line in r.stdout.split():
        parts = line.split(",")
        if len(parts) == 2 and parts[0] not in ("", "N/A"):
            vt.append(float(parts[0]))
            vy.append(float(parts[1]))
    flashes = onsets(vt, vy, 120.0)
    rate = 8000
    pcm = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a", "-ac", "1", "-ar", str(rate),
                          "-f", "s16le", "-"], capture_output=True).stdout
    import array
    a = array.array("h")
    a.frombytes(pcm[: len(pcm) // 2 * 2])
    win = rate // 200  # 5 ms windows
    at, av = [], []
    for i in range(0, len(a) - win, win):
        at.append(i / rate)
        av.append(max(abs(x) for x in a[i:i + win]))
    # the audio stream's start in the file (its first pts) offsets the samples
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=start_time",
                        "-of", "csv=p=0", path], capture_output=True, text=True)
    try:
        a0 = float(r.stdout.strip())
    except ValueError:
        a0 = 0.0
    beeps = [t + a0 for t in onsets(at, av, 8000)]
    diffs = []
    for f in flashes:
        near = min(beeps, key=lambda b: abs(b - f), default=None)
        if near is not None and abs(near - f) < 0.5:
            diffs.append(near - f)
    check("avsync: %s has >= 5 flash/beep pairs (%d flashes, %d beeps)" % (label, len(flashes), len(beeps)),
          len(diffs) >= 5, (flashes, beeps))
    if not diffs:
        return None
    print("     avsync %s offsets (ms): %s" % (label, [round(1000 * d) for d in diffs]))
    return sorted(diffs)[len(diffs) // 2]


def make_sync_source(path):
    """A 14 s WebM whose white flash and 1 kHz beep (100 ms each, every
    second at +0.5 s) are in sync by construction: the avsync source."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30:d=14",
                    "-f", "lavfi", "-i", "color=c=white:s=320x240:r=30:d=14",
                    "-f", "lavfi", "-i", "sine=f=1000:r=48000:d=14", "-filter_complex",
                    "[0][1]overlay=enable='between(mod(t,1),0.5,0.6)'[v];"
                    "[2]aeval='val(0)*6*between(mod(t,1),0.5,0.6)':c=same[a]",
                    "-map", "[v]", "-map", "[a]", "-c:v", "libvpx", "-b:v", "300k", "-g", "30",
                    "-c:a", "libopus", "-b:a", "64k", path], check=True, timeout=60)


def check_avsync(path, source, ref):
    """What the relay adds to A/V sync: the recording's offset equals the
    offset of what the sender sent (Chromium's own MediaRecorder copy of the
    stream) within 80 ms. Chromium's capture of the <video> already skews it
    by ~100 ms against the source file (in sync by construction), which is
    printed beside it (docs/media.md)."""
    src = avsync_median("source file", source)
    mr = avsync_median("Chromium's MediaRecorder", ref)
    rec = avsync_median("recording", path)
    if src is not None and rec is not None and mr is not None:
        check("avsync: recorded A/V offset %+.0f ms is the sent stream's %+.0f ms within 80 ms "
              "(relay adds %+.0f ms; audio minus video, medians; vs the source file: %+.0f ms, "
              "the source's own %+.0f ms)"
              % (1000 * rec, 1000 * mr, 1000 * (rec - mr), 1000 * (rec - src), 1000 * src),
              abs(rec - mr) <= 0.080, (rec, mr, src))


class RefUpload(http.server.BaseHTTPRequestHandler):
    """Takes the page's MediaRecorder file (POST /ref) into self.server.path."""

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        with open(self.server.path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(self.server.path + ".tmp", self.server.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def check_multi(results):
    """Three calls at once, the middle one with a wrong fingerprint."""
    check("multi: three results", len(results) == 3, results)
    if len(results) != 3:
        return
    bad = results[1]
    check("multi: call 1 failed with bad_fingerprint", bad["reason"] == "bad_fingerprint" and bad["failed"], bad)
    files = set()
    for k in (0, 2):
        r = results[k]
        check("multi: call %d ended with hungup" % k, r["reason"] == "hungup", r)
        if r["file"] and os.path.exists(r["file"]):
            files.add(r["file"])
            check_file("multi: call %d" % k, r["file"], "vp8", r["connectedSecs"])
    check("multi: two distinct files", len(files) == 2, files)


def run_case(build, case):
    """Runs one case in its own temp dir; keeps the dir only when it failed."""
    tmp = tempfile.mkdtemp(prefix="kkmedia-")
    before = len(FAILS)
    try:
        run_case_in(build, case, tmp)
    finally:
        log = os.path.join(tmp, "harness.log")
        if case != "sigkill" and os.path.exists(log):
            text = open(log, errors="replace").read()
            bad = [m for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if m in text]
            check(case + ": no sanitizer report from the harness", not bad, bad)
        if len(FAILS) == before:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("     (kept %s)" % tmp, flush=True)


def run_case_in(build, case, tmp):
    rec = os.path.join(tmp, "rec")
    os.makedirs(rec)
    port = kkit.free_port()
    harness = os.path.join(build, "tests", "media", "media_harness")
    secs = 6
    query = {"vp8": "codec=VP8", "vp9": "codec=VP9", "h264": "codec=H264", "audio": "audio=only",
             "badfp": "codec=VP8&fp=bad", "timeout": "codec=VP8&end=none", "maxdur": "codec=VP8&end=none",
             "sigkill": "codec=VP8&end=none", "loss": "codec=VP8", "sigterm": "codec=VP8&end=none",
             "consent": "codec=VP8&end=none", "avsync": "codec=VP8&src=file",
             "resize": "codec=VP8&resize=1", "lossh264": "codec=H264", "lossvp9": "codec=VP9",
             "multi": "codec=VP8&calls=3&bad=1"}[case]
    pages = HERE
    ref = None
    if case == "avsync":  # the page beside its generated source file
        pages = os.path.join(tmp, "pages")
        os.makedirs(pages)
        shutil.copy(os.path.join(HERE, "page.html"), pages)
        make_sync_source(os.path.join(pages, "sync.webm"))
        ref = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefUpload)
        ref.path = os.path.join(tmp, "ref.webm")
        threading.Thread(target=ref.serve_forever, daemon=True).start()
        query += "&ref=%d" % ref.server_address[1]
    hargs = [harness, str(port), pages, rec]
    if case == "maxdur":
        hargs += ["4000"]
    if case == "timeout":
        hargs += ["0", "2000"]
    if case == "consent":  # no media timeout: only RFC 7675 consent can end it
        hargs += ["0", "120000"]
    env = dict(os.environ)
    if case in ("avsync", "resize"):
        secs = 10
    if case in ("loss", "lossh264", "lossvp9"):  # 5 % loss and 5 % reordering of received RTP
        env["KK_MEDIA_TEST_DROP"] = "50"
        env["KK_MEDIA_TEST_REORDER"] = "50"
        secs = 8
    hlog = open(os.path.join(tmp, "harness.log"), "w")
    h = subprocess.Popen(hargs, stdout=subprocess.PIPE, stderr=hlog, text=True, env=env)
    time.sleep(0.3)
    chrome = kkbrowser.start("http://127.0.0.1:%d/page.html?%s&secs=%d" % (port, query, secs),
                            os.path.join(tmp, "profile"))
    result = None
    try:
        if case == "sigkill":
            started = wait_log(os.path.join(tmp, "harness.log"), "media_started", 20)
            check("sigkill: media started", started)
            time.sleep(4)  # 4 s of media, then kill
            h.send_signal(signal.SIGKILL)
            h.wait()
            kkbrowser.stop(chrome)
            files = [os.path.join(dp, f) for dp, _, fs in os.walk(rec) for f in fs if f.endswith(".webm")]
            check("sigkill: a partial file exists", len(files) == 1, files)
            if files:
                info, _ = ffprobe(files[0])
                dur = float(info.get("format", {}).get("duration", 0) or 0)
                check("sigkill: partial file probes with both streams",
                      len(info.get("streams", [])) == 2, info.get("streams"))
                frames = video_frames(files[0])
                # 4 s at 20 fps; the open cluster (<= 1 s) and the muxer's
                # interleaving window (0.5 s) may be lost.
                check("sigkill: partial file plays %d video frames (>= 40)" % frames, frames >= 40, frames)
                # The Segment's duration is only written at the end; the
                # packets carry the time.
                r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                    "packet=pts_time", "-of", "csv=p=0", files[0]], capture_output=True, text=True)
                pts = [float(x) for x in r.stdout.split() if x.strip()]
                last = max(pts) if pts else 0.0
                check("sigkill: partial video reaches %.2fs (>= 3.0)" % last, last >= 3.0, (dur, last))
                mean, maxv = audio_levels(files[0])
                check("sigkill: partial audio not silent", maxv is not None and maxv > -30, maxv)
            return
        if case == "sigterm":
            check("sigterm: media started", wait_log(os.path.join(tmp, "harness.log"), "media_started", 20))
            time.sleep(3)
            h.send_signal(signal.SIGTERM)
        if case in ("timeout", "consent"):
            # Wait until connected and media flowed, then kill the caller.
            time.sleep(4)
            kkbrowser.stop(chrome)
            chrome = None
            # The harness needs a /result request to return.
        out_deadline = time.time() + secs + 40 + (40 if case == "consent" else 0)
        if case in ("timeout", "maxdur", "consent"):
            # Ask for the result (blocks until the call finished by itself).
            time.sleep(0.5)
            import urllib.request
            body = urllib.request.urlopen("http://127.0.0.1:%d/result" % port, timeout=80).read()
            result = json.loads(body)
        out, _ = h.communicate(timeout=max(1, out_deadline - time.time()))
        if case == "multi":
            results = [json.loads(x) for x in out.strip().splitlines()]
            check_multi(results)
            return
        if result is None:
            result = json.loads(out.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001 — report and clean up
        check(case + ": harness finished", False, repr(e))
        return
    finally:
        kkbrowser.stop(chrome)
        if h.poll() is None:
            h.kill()
            h.wait()
        hlog.close()
    if case == "badfp":
        check("badfp: call failed with bad_fingerprint", result["reason"] == "bad_fingerprint" and result["failed"],
              result)
        check("badfp: no media file", result["file"] == "", result)
        return
    want = {"vp8": "vp8", "vp9": "vp9", "h264": "h264", "audio": None, "timeout": "vp8", "maxdur": "vp8",
            "loss": "vp8", "sigterm": "vp8", "consent": "vp8", "avsync": "vp8", "resize": "vp8",
            "lossh264": "h264", "lossvp9": "vp9"}[case]
    reason = {"timeout": "media_timeout", "maxdur": "max_duration", "sigterm": "shutdown",
              "consent": "consent_lost"}.get(case, "hungup")
    check(case + ": ended with " + reason, result.get("reason") == reason, result)
    path = result.get("file")
    check(case + ": file written", bool(path) and os.path.exists(path), result)
    if not path or not os.path.exists(path):
        return
    want_ext = ".mkv" if want == "h264" else ".webm"
    check(case + ": file is " + want_ext, path.endswith(want_ext), path)
    expect = {"timeout": None, "maxdur": 4.0, "consent": None}.get(case, result.get("connectedSecs"))
    if case == "avsync":
        ref.shutdown()
        check("avsync: the page uploaded Chromium's own recording", os.path.exists(ref.path))
        if os.path.exists(ref.path):
            check_avsync(path, os.path.join(tmp, "pages", "sync.webm"), ref.path)
        return
    check_file(case, path, want, expect)
    if case == "resize":
        r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=width,height", "-of", "csv=p=0", path], capture_output=True, text=True)
        sizes = sorted(set(r.stdout.split()))
        check("resize: frames decode at 640x480 and then 320x240 %s" % sizes,
              "640,480" in sizes and "320,240" in sizes, sizes)
    side = json.load(open(result["sidecar"]))
    import hashlib
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    check(case + ": sidecar sha256 matches the file", side.get("sha256") == digest, side.get("sha256"))
    if case in ("loss", "lossh264", "lossvp9"):
        v = [t for t in side["tracks"] if t["kind"] == "video"][0]
        check(case + ": NACK/RTX recovered packets (%d)" % v["packetsRecovered"], v["packetsRecovered"] >= 3, v)
        unrec = v["packetsLost"] / max(1, v["packetsReceived"] + v["packetsLost"])
        check(case + ": unrecovered video loss %.3f%% < 0.5%%" % (100 * unrec), unrec < 0.005, v)
    check(case + ": sidecar names the call", side.get("roomID") == "room1" and side.get("caller") == "caller1"
          and side.get("endReason") == reason, side)


def main():
    build = sys.argv[1]
    for case in sys.argv[2:]:
        run_case(build, case)
    print("media: %d failed" % len(FAILS))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
