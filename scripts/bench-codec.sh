#!/bin/sh
# scripts/bench-codec.sh [SECONDS] — the codec benchmark: C (kkcodec) against
# Go's encoding/gob and encoding/json on the same frame files, in one run.
#
# Builds a Release tree without sanitizers in build-bench, writes realistic
# payloads with protobuf-c (bench_codec gen), lets Go wrap them into gob and
# JSON frames (gobbench gen), then times C and Go on those files: frames/s and
# MB/s for decode and encode, the median of 5 runs of about SECONDS (default
# 1) each. Prints a Markdown table with the ratio C/Go by the wall clock and
# by process CPU time (the second holds up when the machine is shared);
# docs/benchmarks.md keeps one. Never run by ctest: it measures, it does not
# test.
set -eu
SECS=${1:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build-bench
D=$B/bench-frames

mkdir -p "$B"
if ! { cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DKK_SANITIZE=OFF -DKK_FUZZ=OFF &&
       cmake --build "$B" -j2 --target bench_codec; } >"$B/build.log" 2>&1; then
    cat "$B/build.log" >&2
    exit 1
fi
(cd "$ROOT/tests/bench/gobbench" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$B/gobbench" .)

rm -rf "$D"
mkdir -p "$D"
"$B/tests/bench_codec" gen "$D"
"$B/gobbench" gen "$D" resp
"$B/gobbench" gen "$D" req

# C and Go take turns frame by frame, so that load from elsewhere on the
# machine falls on both alike.
echo "C  : $B/tests/bench_codec run $D $SECS FRAME CODEC" >&2
echo "Go : $B/gobbench run $D $SECS FRAME CODEC ($(go version | cut -d' ' -f3))" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$B/bench-c.txt"
: >"$B/bench-go.txt"
for frame in push1 push10 push100 send; do
    for codec in gob json; do
        "$B/tests/bench_codec" run "$D" "$SECS" "$frame" "$codec" >>"$B/bench-c.txt"
        "$B/gobbench" run "$D" "$SECS" "$frame" "$codec" >>"$B/bench-go.txt"
    done
done
echo "load after : $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Join the two result files on (frame, codec, op) and print the table.
awk '
FNR == NR && $1 == "RESULT" { k = $2 " " $3 " " $4; cf[k] = $6; cm[k] = $7; cc[k] = $8; size[k] = $5; order[++n] = k; next }
$1 == "RESULT" { k = $2 " " $3 " " $4; gf[k] = $6; gm[k] = $7; gc[k] = $8 }
END {
    print "| frame | codec (Go peer) | op | bytes | C frames/s | C MB/s | Go frames/s | Go MB/s | C / Go | C / Go by CPU time |"
    print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, " ")
        peer = (p[2] == "gob") ? "encoding/gob" : "encoding/json"
        r = (gf[k] > 0) ? sprintf("%.1f×", cf[k] / gf[k]) : "n/a"
        rc = (gc[k] > 0) ? sprintf("%.1f×", cc[k] / gc[k]) : "n/a"
        printf "| %s | %s (%s) | %s | %d | %d | %.1f | %d | %.1f | %s | %s |\n", p[1], p[2], peer, p[3], size[k], cf[k], cm[k], gf[k], gm[k], r, rc
    }
}' "$B/bench-c.txt" "$B/bench-go.txt"
