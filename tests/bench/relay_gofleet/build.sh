#!/bin/sh
# build.sh OUTDIR: builds OUTDIR/relay-gofleet in GOPATH mode with Debian's
# gorilla/websocket (/usr/share/gocode); no module proxy.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SRC="$OUT/gopath/src/kkim/relaybench"
rm -rf "$SRC"
mkdir -p "$SRC"
cp "$HERE/main.go" "$SRC/"
export GOPATH="$OUT/gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$OUT/gocache}"
cd "$SRC" && go build -o "$OUT/relay-gofleet" .
