#!/bin/sh
# bench-takeover.sh: takeover time after SIGKILL (docs/benchmarks.md
# "Leases", docs/scaling.md §4). Builds a Release relay into build/rel-takeover
# and the simulator, then runs tests/bench/takeover_bench.py: three relays,
# KK_BENCH_USERS users (3000) of one tenant, KK_BENCH_RUNS kills (10), with
# leases (ttlMs KK_BENCH_TTL, 6000) and, as the peer in the same run, static
# shards with the killed relay restarted at once. Prints "figure:" lines
# (p50/p99 per mode and their ratio); exits non-zero if a run fails.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/build/rel-takeover"
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_TESTS=OFF >/dev/null
cmake --build "$B" -j2 --target kkim-relay >/dev/null
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ) load $(cut -d' ' -f1-3 /proc/loadavg) cpus $(nproc)"
exec /usr/bin/python3 "$ROOT/tests/bench/takeover_bench.py" "$B" "${KK_BENCH_USERS:-3000}" \
	"${KK_BENCH_RUNS:-10}" "${KK_BENCH_TTL:-6000}"
