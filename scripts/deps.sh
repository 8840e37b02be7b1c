#!/usr/bin/env bash
# deps.sh — installs every Debian 12 package kkim-relay needs to build, test
# and run its demo. Idempotent: does nothing when all are present. Needs root
# (or sudo) the first time.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang-14 libclang-rt-14-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhiredis-dev
  libprotobuf-c-dev protobuf-c-compiler libjansson-dev zlib1g-dev libssl-dev
  libnice-dev libglib2.0-dev libsrtp2-dev libavformat-dev libavcodec-dev libavutil-dev
  libcmocka-dev redis-server redis-tools redis-sentinel ffmpeg chromium curl python3
  golang-go golang-github-gorilla-websocket-dev golang-google-protobuf-dev
  protobuf-compiler protoc-gen-go
  yamllint python3-yaml systemd
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
