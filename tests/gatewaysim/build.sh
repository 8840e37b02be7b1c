#!/bin/sh
# build.sh OUTDIR: generate the Go protobuf code from proto/*.proto into a
# private GOPATH under OUTDIR, copy the simulator's sources next to it and
# build OUTDIR/kkim-gatewaysim and OUTDIR/kkim-simbench. GOPATH mode only
# (Debian's golang-go, gorilla/websocket and google.golang.org/protobuf from
# /usr/share/gocode); no module proxy, nothing generated is committed.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
GP="$OUT/gopath"
SRC="$GP/src/kkim/sim"

rm -rf "$SRC"
mkdir -p "$SRC/pb"
protoc -I"$ROOT/proto" --go_out="$GP/src" "$ROOT/proto/sdkws.proto" "$ROOT/proto/rtc.proto"
cp -R "$HERE/gw" "$SRC/gw"
cp -R "$HERE/cmd" "$SRC/cmd"

export GOPATH="$GP:/usr/share/gocode"
export GO111MODULE=off
export GOFLAGS=
export GOPROXY=off
export GOCACHE="${GOCACHE:-$OUT/gocache}"
cd "$SRC"
go build -o "$OUT/kkim-gatewaysim" kkim/sim/cmd/kkim-gatewaysim
go build -o "$OUT/kkim-simbench" kkim/sim/cmd/kkim-simbench
