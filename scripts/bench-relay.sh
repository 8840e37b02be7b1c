#!/bin/sh
# bench-relay.sh [BENCH...]: the relay core's benchmarks (design §9; results in
# docs/benchmarks.md "Relay core"). Builds a Release relay into build-bench4,
# the simulator and the Go peers (tests/bench/relay_gofleet) next to it, then
# runs tests/bench/relay_bench.py for each BENCH (default: all four). The
# simulator feeds tput, lat and scale from pre-built push frames (replay).
#   logins   18 000 idle logins: relay vs a minimal Go fleet (RSS, idle CPU)
#   tput     push -> Redis throughput vs redis-benchmark on append.lua
#   lat      push -> visible in stream latency at 10 000 msgs/s
#   scale    aggregate push -> Redis with 1, 2 and 3 instances (--shard i/n)
# Environment: KK_BENCH_LOGINS (18000), KK_BENCH_IDLE (60 s), KK_BENCH_LPS
# (logins/s, 400), KK_BENCH_MSGS (200000), KK_BENCH_RATE (10000),
# KK_BENCH_SECONDS (20). Prints "figure:" lines; exits non-zero if a run fails.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/build-bench4"
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_TESTS=OFF >/dev/null
cmake --build "$B" -j2 --target kkim-relay >/dev/null
"$ROOT/tests/gatewaysim/build.sh" "$B/sim" >/dev/null
"$ROOT/tests/bench/relay_gofleet/build.sh" "$B/go" >/dev/null
[ $# -gt 0 ] || set -- logins tput lat scale
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ) load $(cut -d' ' -f1-3 /proc/loadavg) cpus $(nproc)"
for b in "$@"; do
	echo "== $b"
	case $b in
	logins) /usr/bin/python3 "$ROOT/tests/bench/relay_bench.py" "$B" logins \
		"${KK_BENCH_LOGINS:-18000}" "${KK_BENCH_IDLE:-60}" ;;
	tput) /usr/bin/python3 "$ROOT/tests/bench/relay_bench.py" "$B" tput "${KK_BENCH_MSGS:-200000}" 16 ;;
	lat) /usr/bin/python3 "$ROOT/tests/bench/relay_bench.py" "$B" lat \
		"${KK_BENCH_RATE:-10000}" "${KK_BENCH_SECONDS:-20}" ;;
	scale) for n in 1 2 3; do
		/usr/bin/python3 "$ROOT/tests/bench/relay_bench.py" "$B" scale "${KK_BENCH_MSGS:-200000}" 48 $n
	done ;;
	*) echo "unknown benchmark $b" >&2; exit 2 ;;
	esac
done
