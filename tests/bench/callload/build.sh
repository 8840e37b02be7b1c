#!/bin/sh
# build.sh OUTDIR: builds OUTDIR/callload (the recording benchmark's load
# caller, scripts/bench-calls.sh) in GOPATH mode against Debian's
# golang-github-pion-webrtc.v3-dev, gorilla/websocket and
# google.golang.org/protobuf under /usr/share/gocode; the protobuf Go code is
# generated from proto/*.proto into a private GOPATH (as the simulator's
# build.sh does). No module proxy, nothing generated is committed.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
GP="$OUT/gopath"
SRC="$GP/src/kkim/callload"
rm -rf "$SRC" "$GP/src/kkim/sim"
mkdir -p "$SRC"
protoc -I"$ROOT/proto" --go_out="$GP/src" "$ROOT/proto/sdkws.proto" "$ROOT/proto/rtc.proto"
cp "$HERE"/*.go "$HERE/go.mod" "$SRC/"
export GOPATH="$GP:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$OUT/gocache}"
cd "$SRC" && go build -o "$OUT/callload" .
