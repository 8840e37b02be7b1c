#!/usr/bin/env bash
# demo.sh — README command 1: the whole relay on this machine.
#
# Installs its Debian packages, builds (Release) into build/release and the
# gateway simulator into build/sim, then starts, all on loopback:
#   - a private redis-server (port 16379, data in build/demo/),
#   - the KKIM gateway simulator (WebSocket 10001, control API 10002),
#   - kkim-relay on config/demo.json (tenant "demo": alice (go+gzip),
#     bob (js+gzip), carol (go+gzip)), with tokens minted by the simulator,
#   - and a conversation injected through the simulator: a single chat, a
#     group chat and a notification, then one message a second,
#   - and a recorded call: dave, a headless Chromium with a fake camera and
#     microphone (tests/calls/caller.html), calls carol, whom the relay
#     answers and records (config: "record": "auto") for 8 seconds,
# and shows the messages arriving in Redis with `kkimctl tail demo msgs`,
# the call's events from `kkimctl tail demo calls`, and the recording.
# Ctrl-C stops everything it started. --duration N stops after N seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS]" >&2; exit 2 ;;
  esac
done

"$ROOT/scripts/deps.sh"
B=$ROOT/build/release
echo "demo: building (Release) ..."
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_TESTS=OFF >/dev/null
cmake --build "$B" -j2 >/dev/null
"$ROOT/tests/gatewaysim/build.sh" "$ROOT/build/sim" >/dev/null

RUN=$ROOT/build/demo
rm -rf "$RUN"
mkdir -p "$RUN"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped (logs in $RUN)"
}
trap cleanup EXIT INT TERM

# wait_port PORT: waits up to 10 s for a TCP listener on 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo: nothing listens on port $1" >&2
  return 1
}

redis-server --port 16379 --bind 127.0.0.1 --dir "$RUN" --appendonly yes --save '' \
  >"$RUN/redis.log" 2>&1 &
PIDS+=($!)
"$ROOT/build/sim/kkim-gatewaysim" -listen 127.0.0.1:10001 -control 127.0.0.1:10002 \
  -users alice,bob,carol,dave,erin -quiet >"$RUN/gatewaysim.log" 2>&1 &
PIDS+=($!)
wait_port 16379
wait_port 10002

CTL=http://127.0.0.1:10002
post() { curl -sf -XPOST "$CTL$1" -d "$2"; }
for u in alice bob carol; do
  tok=$(post /tokens "{\"userID\":\"$u\",\"platformID\":7}" |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  echo "$u 7 $tok" >>"$RUN/demo.tokens"
done
cp "$ROOT/config/demo.json" "$RUN/demo.json"

"$B/server/kkim-relay" -c "$RUN/demo.json" >"$RUN/relay.log" 2>&1 &
PIDS+=($!)
wait_port 9540
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:9540/readyz >/dev/null && break
  sleep 0.2
done
echo "demo: relay ready: $(curl -s http://127.0.0.1:9540/v1/sessions)"

export KKIM_REDIS_URL=redis://127.0.0.1:16379/0
"$B/tools/kkimctl" tail demo msgs --from 0 &
PIDS+=($!)
sleep 0.5

post /groups '{"groupID":"support","members":["alice","bob","dave","erin"]}' >/dev/null
post /inject '{"sendID":"dave","recvID":"alice","sessionType":1,"contentType":101,"text":"hi alice, it is dave"}' >/dev/null
post /inject '{"sendID":"erin","groupID":"support","sessionType":3,"contentType":101,"text":"team, the build is green"}' >/dev/null
post /inject '{"sendID":"dave","recvID":"bob","sessionType":4,"contentType":1400,"content":"{\"detail\":\"{\\\"notice\\\":\\\"maintenance at 22:00\\\"}\"}"}' >/dev/null

# The call: the page logs in to the simulator as dave, invites carol, sends
# its offer once the relay accepts, streams 8 s and hangs up.
tokd=$(post /tokens '{"userID":"dave","platformID":5}' |
       /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
/usr/bin/python3 -m http.server 10003 --bind 127.0.0.1 --directory "$ROOT/tests/calls" \
  >"$RUN/pages.log" 2>&1 &
PIDS+=($!)
wait_port 10003
"$B/tools/kkimctl" tail demo calls --from 0 &
PIDS+=($!)
chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
  --disable-features=WebRtcHideLocalIpsWithMdns --user-data-dir="$RUN/chromium" \
  "http://127.0.0.1:10003/caller.html?ws=127.0.0.1:10001&token=$tokd&user=dave&callee=carol&secs=8" \
  >"$RUN/chromium.log" 2>&1 &
PIDS+=($!)
(
  # When the call has ended, show what was recorded.
  for _ in $(seq 120); do
    f=$(redis-cli -p 16379 --raw XREVRANGE 'kkim:{demo}:calls' + - COUNT 20 2>/dev/null |
        /usr/bin/python3 -c 'import sys
lines = sys.stdin.read().split("\n")
for i, l in enumerate(lines):
    if l == "file" and i + 1 < len(lines) and lines[i + 1]:
        print(lines[i + 1]); break')
    if [ -n "$f" ] && [ -f "$f" ]; then
      echo "demo: recorded call: $f"
      ffprobe -v error -show_entries stream=codec_name,codec_type:format=duration -of compact "$f"
      exit 0
    fi
    sleep 1
  done
) &
PIDS+=($!)

start=$SECONDS
i=0
while [ "$DURATION" -eq 0 ] || [ $((SECONDS - start)) -lt "$DURATION" ]; do
  i=$((i + 1))
  post /inject "{\"sendID\":\"dave\",\"groupID\":\"support\",\"sessionType\":3,\"contentType\":101,\"text\":\"tick $i\"}" >/dev/null
  sleep 1
done
echo "demo: $(redis-cli -p 16379 XLEN 'kkim:{demo}:msgs') messages in kkim:{demo}:msgs"
