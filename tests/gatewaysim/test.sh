#!/bin/sh
# test.sh [BUILDDIR]: build the simulator (build.sh) and run its Go tests
# against real WebSockets. Exits non-zero on any failure. Extra go test
# flags may be given in GOTESTFLAGS (e.g. "-run Signal -v").
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build-gatewaysim}
"$HERE/build.sh" "$OUT"
OUT=$(cd "$OUT" && pwd)
export GOPATH="$OUT/gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$OUT/gocache}"
cd "$OUT/gopath/src/kkim/sim"
go vet ./gw ./cmd/...
# shellcheck disable=SC2086
go test -count=1 -timeout 120s ${GOTESTFLAGS:-} ./gw
