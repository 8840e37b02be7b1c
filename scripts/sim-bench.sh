#!/bin/sh
# sim-bench.sh [CONNS] [MSGS] [RATE] [SDK] [GZIP]: build the gateway simulator, start it
# on loopback ports 19001/19002 and run kkim-simbench against it from a second process
# (each process here may hold only 20 000 file descriptors). Prints the JSON result lines.
# Example: scripts/sim-bench.sh 19900 50 10 go false
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build-gatewaysim"
CONNS=${1:-19900} MSGS=${2:-50} RATE=${3:-10} SDK=${4:-go} GZ=${5:-false}
"$ROOT/tests/gatewaysim/build.sh" "$OUT" >/dev/null
"$OUT/kkim-gatewaysim" -quiet -listen 127.0.0.1:19001 -control 127.0.0.1:19002 >"$OUT/sim-bench.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT INT TERM
sleep 0.5
"$OUT/kkim-simbench" -ws 127.0.0.1:19001 -control 127.0.0.1:19002 -conns "$CONNS" -dialers 64 \
	-msgs "$MSGS" -rate "$RATE" -sdk "$SDK" -gzip="$GZ" -sim-pid "$SIM" -timeout 120s
