#!/usr/bin/python3
"""chromium_record.py — records a call from headless Chromium through the
media harness and checks the file with ffprobe/ffmpeg.

  chromium_record.py BUILD_DIR CASE [CASE...]

CASE is one of: vp8, vp9, h264, audio (audio-only), badfp (wrong DTLS
fingerprint → bad_fingerprint), timeout (the page stops ending the call → the
media timeout ends it after Chromium is killed), maxdur (max duration ends it),
sigkill (the harness is SIGKILLed mid-call: the partial file must play).
Prints one ok/FAIL line per check; exits 1 if any failed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAILS = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else "  (" + str(detail) + ")"), flush=True)
    if not cond:
        FAILS.append(name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_chromium(url, profile):
    args = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--user-data-dir=" + profile, "--no-first-run", "--remote-debugging-port=0", url]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc):
    if proc and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # Chromium's own process group only
        except ProcessLookupError:
            pass
        proc.wait()


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


def run_case(build, case):
    tmp = tempfile.mkdtemp(prefix="kkmedia-")
    rec = os.path.join(tmp, "rec")
    os.makedirs(rec)
    port = free_port()
    harness = os.path.join(build, "tests", "media", "media_harness")
    secs = 6
    query = {"vp8": "codec=VP8", "vp9": "codec=VP9", "h264": "codec=H264", "audio": "audio=only",
             "badfp": "codec=VP8&fp=bad", "timeout": "codec=VP8&end=none", "maxdur": "codec=VP8&end=none",
             "sigkill": "codec=VP8&end=none", "loss": "codec=VP8"}[case]
    hargs = [harness, str(port), HERE, rec]
    if case == "maxdur":
        hargs += ["4000"]
    if case == "timeout":
        hargs += ["0", "2000"]
    env = dict(os.environ)
    if case == "loss":  # 5 % loss and 5 % reordering of received RTP
        env["KK_MEDIA_TEST_DROP"] = "50"
        env["KK_MEDIA_TEST_REORDER"] = "50"
        secs = 8
    hlog = open(os.path.join(tmp, "harness.log"), "w")
    h = subprocess.Popen(hargs, stdout=subprocess.PIPE, stderr=hlog, text=True, env=env)
    time.sleep(0.3)
    chrome = start_chromium("http://127.0.0.1:%d/page.html?%s&secs=%d" % (port, query, secs),
                            os.path.join(tmp, "profile"))
    result = None
    try:
        if case == "sigkill":
            started = wait_log(os.path.join(tmp, "harness.log"), "media_started", 20)
            check("sigkill: media started", started)
            time.sleep(4)  # 4 s of media, then kill
            h.send_signal(signal.SIGKILL)
            h.wait()
            stop(chrome)
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
        if case == "timeout":
            # Wait until connected and media flowed, then kill the caller.
            time.sleep(4)
            stop(chrome)
            chrome = None
            # The harness needs a /result request to return.
        out_deadline = time.time() + secs + 40
        if case in ("timeout", "maxdur"):
            # Ask for the result (blocks until the call finished by itself).
            time.sleep(0.5)
            import urllib.request
            body = urllib.request.urlopen("http://127.0.0.1:%d/result" % port, timeout=40).read()
            result = json.loads(body)
        out, _ = h.communicate(timeout=max(1, out_deadline - time.time()))
        if result is None:
            result = json.loads(out.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001 — report and clean up
        check(case + ": harness finished", False, repr(e))
        return
    finally:
        stop(chrome)
        if h.poll() is None:
            h.kill()
            h.wait()
        hlog.close()
    if case == "badfp":
        check("badfp: call failed with bad_fingerprint", result["reason"] == "bad_fingerprint" and result["failed"],
              result)
        check("badfp: no media file", result["file"] == "", result)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    want = {"vp8": "vp8", "vp9": "vp9", "h264": "h264", "audio": None, "timeout": "vp8", "maxdur": "vp8",
            "loss": "vp8"}[case]
    reason = {"timeout": "media_timeout", "maxdur": "max_duration"}.get(case, "hungup")
    check(case + ": ended with " + reason, result.get("reason") == reason, result)
    path = result.get("file")
    check(case + ": file written", bool(path) and os.path.exists(path), result)
    if not path or not os.path.exists(path):
        return
    want_ext = ".mkv" if case == "h264" else ".webm"
    check(case + ": file is " + want_ext, path.endswith(want_ext), path)
    expect = {"timeout": None, "maxdur": 4.0}.get(case, result.get("connectedSecs"))
    check_file(case, path, want, expect)
    side = json.load(open(result["sidecar"]))
    import hashlib
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    check(case + ": sidecar sha256 matches the file", side.get("sha256") == digest, side.get("sha256"))
    if case == "loss":
        v = [t for t in side["tracks"] if t["kind"] == "video"][0]
        check("loss: NACK/RTX recovered packets (%d)" % v["packetsRecovered"], v["packetsRecovered"] >= 3, v)
        unrec = v["packetsLost"] / max(1, v["packetsReceived"] + v["packetsLost"])
        check("loss: unrecovered video loss %.3f%% < 0.5%%" % (100 * unrec), unrec < 0.005, v)
    check(case + ": sidecar names the call", side.get("roomID") == "room1" and side.get("caller") == "caller1"
          and side.get("endReason") == reason, side)
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    build = sys.argv[1]
    for case in sys.argv[2:]:
        run_case(build, case)
    print("media: %d failed" % len(FAILS))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
