#!/usr/bin/env bash
# media_chromium.sh BUILD_DIR — records calls from headless Chromium (fake
# audio/video devices) through tests/media/media_harness and checks each
# file with ffprobe/ffmpeg: VP8, VP9 and H264 with Opus, audio only, a
# resolution change, 5 % loss + reordering for each video codec (NACK/RTX),
# a wrong DTLS fingerprint (alone, and as one of three concurrent calls
# whose other two must record normally), the media timeout,
# max duration, SIGTERM (file finalized), SIGKILL mid-call (the partial file
# must play), consent loss after the caller vanishes (~30 s) and A/V sync
# (avsync: the recording's offset is the sent stream's within 80 ms). The
# driver kills only the processes it started (Chromium by its own process
# group).
set -u
BUILD=${1:?usage: media_chromium.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
H=$BUILD/tests/media/media_harness
[ -x "$H" ] || { echo "FAIL - $H not built"; exit 1; }
command -v chromium >/dev/null || { echo "FAIL - chromium not installed (scripts/deps.sh)"; exit 1; }
exec /usr/bin/python3 "$ROOT/tests/media/chromium_record.py" "$BUILD" \
    vp8 vp9 h264 audio resize loss lossh264 lossvp9 badfp multi maxdur timeout sigterm sigkill \
    consent avsync
