"""kkbrowser.py — the headless Chromium launcher of the WebRTC drivers
(tests/integration/calls_*.py, tests/media/chromium_record.py; stdlib only).

Flags as docs/../platform-notes §9 found them to work as root on this box:
fake camera and microphone (a 640x480 frame and a 400 Hz beep every 500 ms),
no permission prompt, loopback ICE candidates, no mDNS hiding of host
addresses. Each browser runs in its own process group so stop() kills it and
its children only.
"""
import os
import signal
import subprocess

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         "--disable-features=WebRtcHideLocalIpsWithMdns", "--no-first-run",
         "--remote-debugging-port=0"]


def start(url, profile):
    """Starts headless Chromium on url with a fresh profile directory; returns the Popen."""
    return subprocess.Popen(["chromium"] + FLAGS + ["--user-data-dir=" + profile, url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc):
    """Kills a browser from start() (its own process group only) and reaps it."""
    if proc and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
