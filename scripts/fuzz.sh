#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] — long libFuzzer runs (docs/fuzzing.md).
#
# Builds the clang-14 fuzz tree in build/fuzz, then runs each target (all
# tests/fuzz/fuzz_*.c by default) for SECONDS (default 600) on a working
# copy of its committed corpus, with -jobs=1. Prints each target's executed
# units, peak RSS and whether it found anything; inputs that crash are
# left in build/fuzz-out/<target>/ (add them to the corpus once fixed).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${1:-600}
shift || true
"$ROOT/scripts/deps.sh"
F=$ROOT/build/fuzz
CC=clang-14 cmake -S "$ROOT" -B "$F" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKK_FUZZ=ON -DKK_TESTS=OFF >/dev/null
cmake --build "$F" -j2 >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$F"/tests/fuzz_*; do [ -x "$t" ] && targets+=("$(basename "$t")"); done
fi
status=0
for name in "${targets[@]}"; do
  out=$ROOT/build/fuzz-out/$name
  rm -rf "$out"; mkdir -p "$out/corpus"
  [ -d "$ROOT/tests/fuzz/corpus/$name" ] && cp -r "$ROOT/tests/fuzz/corpus/$name/." "$out/corpus/"
  if (cd "$out" && "$F/tests/$name" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 corpus >"$out/log" 2>&1); then
    result=clean
  else
    result="FINDING (see $out)"; status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/log" | grep -o '[0-9]*$' || echo '?')
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$out/log" | grep -o '[0-9]*$' || echo '?')
  echo "$name: $execs execs in ${SECS}s, peak RSS ${rss} MB, $result"
done
exit $status
