#!/usr/bin/env bash
# test.sh — the one command that runs every test of kkim-relay (README,
# command 2). Installs its Debian packages, builds with ASan+UBSan and
# -Werror, then runs: cmocka unit tests and fuzz-corpus replays (ctest), a
# libFuzzer smoke of every fuzz target, the Go<->C codec conformance suite,
# the gateway simulator's own tests and the integration drivers (real
# redis-server, real WebSockets). Each suite is one line of the summary; the
# last line is "tests: N passed, M failed" and the exit status is non-zero
# when anything failed.
#
# Environment: FUZZ_SECONDS (default 15) per fuzz target; KK_BUILD (default
# build/) for build trees.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/deps.sh" || { echo "test: dependency install failed"; exit 1; }

BUILD=${KK_BUILD:-$ROOT/build}
ASAN=$BUILD/asan
FUZZ=$BUILD/fuzz
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=()

# Runs one suite: NAME then the command. Output goes to a log file, shown in
# full when the suite fails.
suite() {
  local name=$1; shift
  local log="$LOGS/$name.log"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS  $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL  $name ($((SECONDS - t0)) s) — log follows"
    tail -n 150 "$log" | sed 's/^/    | /'
  fi
}

build_asan() {
  cmake -S "$ROOT" -B "$ASAN" -DCMAKE_BUILD_TYPE=Debug -DKK_SANITIZE=ON -DKK_WERROR=ON &&
  cmake --build "$ASAN" -j2
}

# -O2 finds warnings (maybe-uninitialized, format-truncation, use-after-free)
# that the -O0 sanitizer build does not: the release tree builds with -Werror too.
build_release() {
  cmake -S "$ROOT" -B "$BUILD/release-werror" -DCMAKE_BUILD_TYPE=Release -DKK_WERROR=ON &&
  cmake --build "$BUILD/release-werror" -j2
}

unit_tests() {
  cd "$ASAN" && ctest --output-on-failure --timeout 300
}

build_fuzz() {
  CC=clang-14 cmake -S "$ROOT" -B "$FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKK_FUZZ=ON -DKK_TESTS=OFF &&
  cmake --build "$FUZZ" -j2
}

# Runs every libFuzzer target for FUZZ_SECONDS on a scratch copy of its corpus.
fuzz_smoke() {
  local rc=0 t name work
  for t in "$FUZZ"/tests/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    work=$(mktemp -d)
    if [ -d "$ROOT/tests/fuzz/corpus/$name" ]; then cp -r "$ROOT/tests/fuzz/corpus/$name/." "$work/"; fi
    echo "== $name"
    # libFuzzer exits non-zero on a crash, leak, timeout or OOM and writes the
    # input as crash-*/leak-*/... into its working directory.
    if ! (cd "$work" && "$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 "$work" >"$work.log" 2>&1); then
      echo "$name: FINDING"; tail -n 60 "$work.log"; rc=1
    fi
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work.log" || true; rm -f "$work.log"
    rm -rf "$work"
  done
  return $rc
}

suite build-asan build_asan
if [ $failed -eq 0 ]; then
  suite unit-and-corpus unit_tests
fi
suite build-release-werror build_release
suite build-fuzz build_fuzz
if [ -d "$FUZZ/tests" ]; then
  suite fuzz-smoke fuzz_smoke
fi
if [ -x "$ROOT/tests/conformance/run.sh" ]; then
  suite go-c-conformance "$ROOT/tests/conformance/run.sh" "$ASAN"
fi
if [ -x "$ROOT/tests/gatewaysim/test.sh" ]; then
  suite gatewaysim "$ROOT/tests/gatewaysim/test.sh" "$BUILD/sim"
fi
for t in "$ROOT"/tests/integration/*.sh; do
  [ -e "$t" ] || continue
  suite "integration-$(basename "$t" .sh)" bash "$t" "$ASAN"
done

echo
if [ $failed -ne 0 ]; then echo "failed suites: ${failures[*]}"; fi
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ]
