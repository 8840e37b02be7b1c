#!/bin/sh
# run.sh BUILD_DIR — Go ⇄ C conformance of the frame envelope (gob and JSON,
# gzip on and off). BUILD_DIR is a CMake build of kkim-relay with tests on
# (it holds tests/conf_c).
#
#   1. gobconf gen      Go writes its frames of every case and what Go decodes
#                       from each (or that it refuses them) into manifest.json
#   2. gobconf canon    Go re-encodes the canonical envelopes in fresh
#                       processes, one per type, so the type id is 65
#   3. conf_c           C decodes every Go frame and compares field by field;
#                       C encodes every canonical envelope into c/
#   4. gobconf verify   Go decodes C's frames into OpenIM's and the SDK's
#                       structs, and checks C's gob is byte-identical to Go's
#
# Prints one line per frame and direction and, last, "conformance: N passed,
# M failed". Exits 0 only when nothing failed and every step ran to its end.
# XFAIL lines are frames the case table marks as hitting a divergence the
# codec documents (codec/json.c); they are counted apart, never as passes.
# Needs only the Go standard library (offline).
set -u
BUILD=${1:?usage: run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$BUILD" && pwd)
CONF_C=$BUILD/tests/conf_c
WORK=$BUILD/conformance
DATA=$WORK/data

if [ ! -x "$CONF_C" ]; then
    echo "run.sh: $CONF_C not built (cmake --build $BUILD)" >&2
    echo "conformance: 0 passed, 1 failed"
    exit 1
fi
rm -rf "$WORK"
mkdir -p "$DATA"
if ! (cd "$HERE/gobconf" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$WORK/gobconf" .); then
    echo "run.sh: cannot build gobconf" >&2
    echo "conformance: 0 passed, 1 failed"
    exit 1
fi

broken=0
# step NAME CMD...: runs a step whose stdout holds result lines; a status
# other than 0 or 1 (1 = some case failed) means the step itself broke.
step() {
    name=$1
    shift
    "$@" >"$WORK/$name.out"
    st=$?
    cat "$WORK/$name.out"
    if [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; then
        echo "FAIL step $name: exit status $st" | tee -a "$WORK/$name.out"
        broken=1
    fi
}

step gen "$WORK/gobconf" gen "$DATA"
step canon-req "$WORK/gobconf" canon "$DATA" req
step canon-resp "$WORK/gobconf" canon "$DATA" resp
step conf_c "$CONF_C" "$DATA"
step verify "$WORK/gobconf" verify "$DATA"

passed=$(cat "$WORK"/*.out | grep -c '^PASS ')
failed=$(cat "$WORK"/*.out | grep -c '^FAIL ')
known=$(cat "$WORK"/*.out | grep -c '^XFAIL ')
if [ "$known" -gt 0 ]; then
    echo "known divergences documented in the codec (XFAIL lines, not counted): $known"
fi
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$passed" -gt 0 ]
