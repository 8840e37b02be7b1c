#!/bin/sh
# bench-isolation.sh [A_LIMIT...]: tenant B's push -> stream latency alone and
# during a flood of tenant A, in the same run (docs/benchmarks.md "Tenant
# isolation"). Builds a Release relay into build-bench-iso and the simulator
# next to it, then runs tests/bench/isolation_bench.py once per A_LIMIT
# (tenant A's limits.maxMsgsPerSec; 0 = no limit; default: 0 5000).
# Environment: KK_BENCH_B_MSGS (B's messages per phase at 20/s, 200),
# KK_BENCH_A_RATE (flood msgs/s into each of A's two logins, 20000),
# KK_BENCH_SHARED_REDIS=1 (both tenants on the global Redis connection),
# KK_BENCH_SPLIT=1 (a simulator and a redis-server per tenant, pinned apart:
# only the relay is shared; phases alone, A unlimited, A at A_LIMIT; run it
# as `KK_BENCH_SPLIT=1 scripts/bench-isolation.sh 3000`).
# Prints "figure:" lines; exits non-zero if a run fails.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/build-bench-iso"
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_TESTS=OFF >/dev/null
cmake --build "$B" -j2 --target kkim-relay >/dev/null
[ $# -gt 0 ] || set -- 0 5000
for lim in "$@"; do
	echo "== A limit $lim; date $(date -u +%Y-%m-%dT%H:%M:%SZ) load $(cut -d' ' -f1-3 /proc/loadavg) cpus $(nproc)"
	/usr/bin/python3 "$ROOT/tests/bench/isolation_bench.py" "$B" "$lim"
done
