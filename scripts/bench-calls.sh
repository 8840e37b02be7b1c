#!/bin/sh
# bench-calls.sh N[,N...] DURATION: concurrent recorded calls, kkim-relay vs
# Janus 1.1 record_play in the same run (issue 6; results in
# docs/benchmarks.md "Call recording"). Builds a Release relay into
# build-benchcalls, the Pion load caller
# (tests/bench/callload) next to it, then for each N runs
# tests/bench/call_bench.py: N calls streaming VP8 + Opus for DURATION s
# after all are connected, first to the relay, then to Janus. Needs the
# Debian packages golang-github-pion-webrtc.v3-dev and janus (installed here
# with apt-get when missing). KK_BENCH_CALL_RATE: calls started per second
# (20). Prints "figure:" lines; exits non-zero if a run fails.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: $0 N[,N...] DURATION" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/build-benchcalls"
if ! dpkg -s golang-github-pion-webrtc.v3-dev janus >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y golang-github-pion-webrtc.v3-dev janus >/dev/null
fi
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_TESTS=OFF >/dev/null
cmake --build "$B" -j2 --target kkim-relay >/dev/null
"$ROOT/tests/bench/callload/build.sh" "$B/cl" >/dev/null
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ) cpus $(nproc) $(janus --version 2>/dev/null | head -n 1)"
for n in $(echo "$1" | tr ',' ' '); do
	echo "== $n calls"
	/usr/bin/python3 "$ROOT/tests/bench/call_bench.py" "$B" "$n" "$2" both
done
